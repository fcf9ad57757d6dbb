/* fleet: the sandbox hosts `fleet.hosts` places on this node, built by its agent
 * with the same sandbox code as a local run (sandbox.h), in the coordinator's /24
 * and joined to the other machines' bridges by the overlay (sandbox_overlay.h). */
#ifndef ASH_FLEET_AGENT_HOSTS_H
#define ASH_FLEET_AGENT_HOSTS_H

#include <aftershock/error.h>

#include "env/sandbox.h"
#include "sys/loop.h"

struct ash_ctx;
#include "fleet/hosts_msg.h"

struct ash_agent_hosts;

struct ash_agent_hosts_opts {
    const struct ash_scenario *sc;
    const char *node;    /* this node: its hosts are built */
    const char *run_id;  /* the coordinator's run id: names this node's sandbox with node */
    const char *run_dir; /* the generated /etc files go under it */
    struct ash_journal *journal;
    uint32_t local; /* this node's address toward the coordinator: the VXLAN's source */
    const struct ash_hosts_msg *msg;
    ash_loop *loop; /* the agent's: the services' output and exits are watched there */
    void (*event)(void *arg, int64_t t, const char *event, const char *detail); /* the services' timeline */
    void *event_arg;
    struct ash_ctx *ctx; /* the agent's (its sandbox set once built): the services' ready checks */
};

/* Journal and build every part (hosts, bridge, VXLAN); on failure what was made is undone. */
int ash_agent_hosts_build(const struct ash_agent_hosts_opts *o, struct ash_agent_hosts **out, ash_error_t *err);
/* Start the hosts' services in dependency order, each awaited until ready (runs
 * the loop: call it from a timer, never from inside a channel message). */
int ash_agent_hosts_start(struct ash_agent_hosts *h, const char *node, ash_error_t *err);
struct ash_sandbox *ash_agent_hosts_sandbox(struct ash_agent_hosts *h);
struct ash_env *ash_agent_hosts_env(struct ash_agent_hosts *h); /* their services */
/* Tear down (hosts' processes, namespaces, bridge, overlay) and mark the records done. NULL is fine. */
void ash_agent_hosts_free(struct ash_agent_hosts *h);

#endif
