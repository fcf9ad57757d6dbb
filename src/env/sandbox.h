/* The sandbox: each scenario host as a network namespace (veth on a per-run
 * bridge, private /24), a cgroup (memory/cpu limits, freeze, kill), a mount
 * namespace with generated /etc/hosts and /etc/resolv.conf, and a UTS
 * namespace with its own hostname. Built over netlink in-process, every
 * object journaled before it is made.
 *
 * The bridge is not in the caller's (root) network namespace but in a hub
 * namespace of the run (/run/netns/ash-<run>): each host's veth is a port of
 * it there, and one veth joins it to the root, whose end there (the gateway
 * link) carries the gateway address. The root namespace keeps only that link
 * and the egress guard table on it: the teardown deletes one link and drops
 * the namespaces, instead of deleting a bridge in the root (whose
 * unregistration held the RTNL lock for tens of ms, docs/performance.md). */
#ifndef ASH_ENV_SANDBOX_H
#define ASH_ENV_SANDBOX_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env/sandbox_overlay.h"
#include "scenario/scenario.h"
#include "sys/journal.h"

struct ash_sandbox;
struct ash_host;

/* Every run on the machine takes this lock to choose its sandbox's /24 and
 * put the gateway's address on it, and holds it for nothing else. */
#define ASH_SANDBOX_SUBNET_LOCK ASH_DEFAULT_STATE_DIR "/sandbox-subnet.lock"

/* The machine's nsswitch.conf, read once per sandbox: where its hosts line
 * names a source besides files and dns, every host gets a copy with the
 * line "hosts: files dns" bound over it (env/nss.h). A variable so that
 * tests can point it at a file of their own. */
extern const char *ash_sandbox_nsswitch;
/* nscd's directory (glibc asks the daemon behind its socket before its own
 * lookups, and nscd answers with the machine's resolver): where it exists,
 * every host gets an empty directory bound over it. A variable for tests. */
extern const char *ash_sandbox_nscd_dir;

/* The names a run with this id gives its sandbox and the host at `index` of sc->hosts:
 * one place for them, so `aftershock plan` shows what a run will make. */
struct ash_sandbox_names {
    char bridge[16];        /* "ash-<run>": the bridge (in the hub), and the egress guard's nftables table (root) */
    char hub[128];          /* "ash-<run>": the hub network namespace holding the bridge (under /run/netns) */
    char gateway_link[16];  /* "ash<run, 8 chars>g": the root's end of the hub's uplink, the gateway address on it */
    char uplink[16];        /* "ash<run, 8 chars>u": its peer in the hub, a port of the bridge */
    char veth_prefix[16];   /* "ash<run, 8 chars>v" */
    char netns[128];        /* "ash-<run>-<host>" (also under /run/netns) */
    char veth[16];          /* hub-side end of the host's link (a bridge port): veth_prefix + index */
    char parent_cgroup[32]; /* "ash-<run>", relative to each cgroup hierarchy */
    char cgroup[128];       /* "ash-<run>/<host>" */
};
void ash_sandbox_names(const char *run_id, size_t index, const char *host, struct ash_sandbox_names *out);

/* Build every host of sc->hosts. run_id: [A-Za-z0-9]{1,11} (the first 8
 * characters name the veths, so keep ids unique in 8). Generated files go to
 * /run/aftershock/sandbox-<run_id>/hosts/<host>/etc/. On failure everything
 * made so far is torn down and its journal records marked done. */
int ash_sandbox_create(const struct ash_scenario *sc, const char *run_id, struct ash_journal *j,
                       struct ash_sandbox **out, ash_error_t *err);
/* Same, generated files under <run_dir>/sandbox-<run_id>/hosts/<host>/etc/. */
int ash_sandbox_create_in(const struct ash_scenario *sc, const char *run_id, const char *run_dir, struct ash_journal *j,
                          struct ash_sandbox **out, ash_error_t *err);
/* fleet: the part of a scenario's sandbox one machine builds. */
struct ash_sandbox_part {
    const char *node; /* the hosts fleet.hosts places on this node; NULL: the hosts placed on none */
    uint32_t subnet;  /* the coordinator's /24 (network byte order), whose gateway (.1) serves every
                       * machine: the bridge here gets no address; 0: choose a /24 here, bridge at .1 */
};
/* ash_sandbox_create_in for the hosts `part` names (NULL: the whole scenario's hosts
 * not placed on a node). Every host keeps the address of its place in the scenario,
 * and every host's /etc/hosts lists every host of the scenario. */
int ash_sandbox_create_part(const struct ash_scenario *sc, const char *run_id, const char *run_dir,
                            struct ash_journal *j, const struct ash_sandbox_part *part, struct ash_sandbox **out,
                            ash_error_t *err);
/* Every host of the scenario, built here or by a node's agent (fleet.hosts): its
 * name, and its address in *addr; NULL past the end. */
size_t ash_sandbox_n_names(const struct ash_sandbox *sb);
const char *ash_sandbox_name_at(const struct ash_sandbox *sb, size_t i, const char **addr);
/* The address of the scenario's host `name`, wherever it is built; NULL if none. */
const char *ash_sandbox_address(const struct ash_sandbox *sb, const char *name);
/* The sandbox's /24 (network byte order). */
uint32_t ash_sandbox_subnet_addr(const struct ash_sandbox *sb);
/* Kill every host process, release namespaces (the kernel removes the veths
 * and the hub's bridge in one batch), delete the gateway link and cgroups,
 * mark journal records done. */
void ash_sandbox_destroy(struct ash_sandbox *sb);

struct ash_host *ash_sandbox_host(struct ash_sandbox *sb, const char *name);
size_t ash_sandbox_n_hosts(const struct ash_sandbox *sb);
struct ash_host *ash_sandbox_host_at(struct ash_sandbox *sb, size_t i);
const char *ash_sandbox_bridge(const struct ash_sandbox *sb);  /* "ash-<run>", in the hub namespace */
const char *ash_sandbox_gateway(const struct ash_sandbox *sb); /* gateway address (on the gateway link), dotted quad */
/* The hub network namespace (the bridge, the hosts' veths, the uplink): its
 * name under /run/netns and an fd to it (the sandbox's: do not close). */
const char *ash_sandbox_hub_netns(const struct ash_sandbox *sb);
int ash_sandbox_hub_fd(const struct ash_sandbox *sb);
/* The hub as the fleet overlay takes it (its bridge, name and fd). */
struct ash_overlay_hub ash_sandbox_overlay_hub(const struct ash_sandbox *sb);
/* The gateway link: the root namespace's end of the hub's uplink. */
const char *ash_sandbox_gateway_link(const struct ash_sandbox *sb);
const char *ash_sandbox_subnet(const struct ash_sandbox *sb); /* "10.x.y.0/24" */

/* What each host's /etc/hosts lists besides localhost and its own name:
 * all = true (the default after create) every sandbox host and "aftershock",
 * for runs with no resolver; false: nothing else, names come from the run's
 * DNS server (src/dns/), so DNS faults reach every client. Rewrites the
 * files in place (the bind mounts see the change at once). */
int ash_sandbox_set_hosts_table(struct ash_sandbox *sb, bool all, ash_error_t *err);

const char *ash_host_name(const struct ash_host *h);
/* Directory of the host's generated hosts and resolv.conf (bind-mounted over /etc/...). */
const char *ash_host_etc_dir(const struct ash_host *h);
const char *ash_host_address(const struct ash_host *h); /* dotted quad */
const char *ash_host_netns_name(const struct ash_host *h);
const char *ash_host_veth(const struct ash_host *h); /* hub-side end of its link (a bridge port, in the hub) */
int ash_host_netns_fd(const struct ash_host *h);
/* Address of `name` from the sandbox's own table of hosts (what /etc/hosts
 * lists with the full table, and what the run's DNS server answers when no
 * fault is in force; a thread cannot enter a mount namespace). NULL if unknown. */
const char *ash_host_lookup(const struct ash_host *h, const char *name);
/* The host's cgroup (for memory faults and the like). */
struct ash_cgroup *ash_host_cgroup(struct ash_host *h);

/* ASYNC-SIGNAL-SAFE, for a forked child before exec: join the host's cgroups
 * (pre-opened cgroup.procs fds), then its network, UTS and mount namespaces.
 * The working directory is kept. No allocation. */
int ash_host_enter(const struct ash_host *h);
/* Run fn on the calling thread inside the host's network namespace, then
 * switch back: sockets fn creates belong to the host. */
int ash_host_run_in_netns(const struct ash_host *h, int (*fn)(void *), void *arg);

/* Both ends of the host's link down/up (up also restores its default route). */
int ash_host_links_down(struct ash_host *h, ash_error_t *err);
int ash_host_links_up(struct ash_host *h, ash_error_t *err);
bool ash_host_links_are_down(const struct ash_host *h);
/* cgroup freeze (waits until the kernel reports it) / thaw. */
int ash_host_freeze(struct ash_host *h, ash_error_t *err);
int ash_host_thaw(struct ash_host *h, ash_error_t *err);
/* SIGKILL every process of the host and wait until they are gone. */
int ash_host_kill_all(struct ash_host *h, ash_error_t *err);

/* Undo ops for `recover`: sandbox.netns, sandbox.hub, sandbox.link (a bridge in
 * the root: journals of runs before the hub), sandbox.fw, sandbox.cgroup,
 * sandbox.files, sandbox.overlay. */
extern const struct ash_undo_op ash_sandbox_undo_ops[];

#endif
