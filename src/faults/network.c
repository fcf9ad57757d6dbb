/* Fault `network`: bandwidth cap with a deep queue (tbf/htb), delay/jitter/duplicate/corrupt/reorder
 * (netem, or the userspace relay where the kernel has no sch_netem), loss and partitions (nftables),
 * and cross traffic, on a sandbox host or on the link between two hosts. */
#include "faults/network.h"
#include "kinds.h"
#include "env/target.h"
#include "env/target_netns.h"
#include "sys/doctor_line.h"
#include "env/sandbox.h"
#include "net/cross_traffic.h"
#include "net/offload.h"
#include "net/relay.h"
#include "sys/clock.h"
#include "sys/netns.h"
#include "sys/nft.h"
#include "sys/objname.h"
#include "sys/qdisc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { DIR_BOTH, DIR_EGRESS, DIR_INGRESS };
static const char *const dir_names[] = {"both", "egress", "ingress", NULL};
enum { PROTO_ALL, PROTO_TCP, PROTO_UDP, PROTO_ICMP };
static const char *const proto_names[] = {"all", "tcp", "udp", "icmp", NULL};
static const char *const xproto_names[] = {"tcp", "udp", NULL};
enum { MECH_AUTO, MECH_NETEM, MECH_RELAY };
static const char *const mech_names[] = {"auto", "netem", "relay", NULL};

#define HTB_CLASS 0x10 /* 1:10, the capped class when the cap is filtered (tc and nft handles are hex) */

struct net_cross {
    bool set;
    char *from, *to, *rate;
    int protocol;
    long long port;
};

struct net_conf {
    struct ash_target_ref target; /* a host, or none with between */
    struct ash_strlist between;
    char *peer; /* a container or process target: only traffic with this address or container */
    int direction;
    long long port;
    int protocol;
    uint64_t bandwidth; /* bit/s, 0: none */
    char *queue;
    int64_t delay_ns, jitter_ns;
    double loss, duplicate, corrupt, reorder;
    bool partition;
    struct net_cross cross;
    int mechanism;
    /* Derived by validate. */
    int64_t queue_ns;
    uint64_t queue_bytes;
    uint64_t cross_rate;
};

static const struct ash_field cross_fields[] = {
    {"from", ASH_F_STRING, offsetof(struct net_cross, from), ASH_FIELD_REQUIRED, "sandbox host that sends"},
    {"to", ASH_F_STRING, offsetof(struct net_cross, to), ASH_FIELD_REQUIRED, "sandbox host that receives"},
    {"rate", ASH_F_STRING, offsetof(struct net_cross, rate), 0, "sending rate (\"50mbit\") or \"max\" (default)"},
    {"protocol", ASH_F_ENUM, offsetof(struct net_cross, protocol), 0, "tcp (default) | udp", xproto_names},
    {"port", ASH_F_INT, offsetof(struct net_cross, port), 0, "sink port on the receiving host (default 5201)", NULL,
     NULL, 1, 65535},
    {NULL}};

static const struct ash_field net_fields[] = {
    {"target", ASH_F_TARGET, offsetof(struct net_conf, target), 0,
     "whose traffic is harmed: host:NAME, container:NAME or process:... (or between)", .needs = ASH_CAP_NETNS},
    ASH_TARGET_OLD_HOST_FIELD(struct net_conf, target),
    {"between", ASH_F_STRLIST, offsetof(struct net_conf, between), 0,
     "[a, b]: only traffic between these two hosts, applied on a's link"},
    {"peer", ASH_F_STRING, offsetof(struct net_conf, peer), 0,
     "on a container or process: only its traffic with this IPv4 address or container (container:NAME)"},
    {"direction", ASH_F_ENUM, offsetof(struct net_conf, direction), 0,
     "both (default) | egress (what the host sends) | ingress (what it receives)", dir_names},
    {"port", ASH_F_INT, offsetof(struct net_conf, port), 0, "only packets with this source or destination port", NULL,
     NULL, 1, 65535},
    {"protocol", ASH_F_ENUM, offsetof(struct net_conf, protocol), 0, "all (default) | tcp | udp | icmp", proto_names},
    {"bandwidth", ASH_F_RATE, offsetof(struct net_conf, bandwidth), 0, "token-bucket cap (\"1mbit\")"},
    {"queue", ASH_F_STRING, offsetof(struct net_conf, queue), 0,
     "queue behind the cap, as a time at the cap (\"200ms\", default) or a size (\"64KiB\")"},
    {"delay", ASH_F_DURATION, offsetof(struct net_conf, delay_ns), 0, "added one-way delay, per direction"},
    {"jitter", ASH_F_DURATION, offsetof(struct net_conf, jitter_ns), 0, "delay varies uniformly by +- this"},
    {"loss", ASH_F_PERCENT, offsetof(struct net_conf, loss), 0, "fraction of packets dropped (\"5%\")"},
    {"duplicate", ASH_F_PERCENT, offsetof(struct net_conf, duplicate), 0, "fraction of packets sent twice"},
    {"corrupt", ASH_F_PERCENT, offsetof(struct net_conf, corrupt), 0, "fraction of packets with one bit flipped"},
    {"reorder", ASH_F_PERCENT, offsetof(struct net_conf, reorder), 0,
     "fraction of packets sent without the delay, overtaking others (needs delay)"},
    {"partition", ASH_F_BOOL, offsetof(struct net_conf, partition), 0, "drop everything on the target"},
    {"cross_traffic", ASH_F_MAP, offsetof(struct net_conf, cross), 0,
     "competing traffic inside the sandbox: {from, to, rate, protocol, port}", NULL, cross_fields},
    {"mechanism", ASH_F_ENUM, offsetof(struct net_conf, mechanism), 0,
     "auto (default: netem where the kernel has it, else the relay) | netem | relay", mech_names},
    {NULL}};

static void net_defaults(void *conf)
{
    struct net_conf *c = conf;
    c->cross.port = 5201;
}

static bool needs_delay_path(const struct net_conf *c)
{
    return c->delay_ns > 0 || c->jitter_ns > 0 || c->duplicate > 0 || c->corrupt > 0 || c->reorder > 0;
}

static bool filtered(const struct net_conf *c)
{
    return c->between.n > 0 || c->peer || c->protocol != PROTO_ALL || c->port;
}

static int fail_at(const ash_node *node, const char *key, ash_error_t *err, const char *msg)
{
    ash_node v = ash_map_get(node, key);
    return ash_node_fail(ash_node_ok(&v) ? &v : node, err, "%s", msg);
}

/* Inside a container's (or process's) own namespace everything is placed on its eth0
 * and its own nftables table, never on the machine's side of its link: what it sends can
 * be capped and delayed (qdiscs on eth0), what it sends and receives can be dropped
 * (nftables input and output). The relay and cross traffic live on sandbox links. */
static int net_validate_own_ns(const struct net_conf *c, const ash_node *node, ash_error_t *err)
{
    if (c->cross.set)
        return fail_at(node, "cross_traffic", err,
                       "cross traffic runs between sandbox hosts; on a container, use 'bandwidth' to cap its link");
    if (c->mechanism == MECH_RELAY)
        return fail_at(node, "mechanism", err,
                       "the userspace relay sits on a sandbox host's link; a container is delayed with netem");
    if ((c->bandwidth || needs_delay_path(c)) && c->direction != DIR_EGRESS)
        return fail_at(node, c->bandwidth ? "bandwidth" : "delay", err,
                       "on a container, bandwidth and delay act on what it sends (a qdisc on its eth0, inside its "
                       "namespace): write 'direction: egress' (to slow both ways, add the same fault on its peer)");
    if (needs_delay_path(c) && filtered(c))
        return fail_at(node,
                       c->peer   ? "peer"
                       : c->port ? "port"
                                 : "protocol",
                       err,
                       "on a container, delay (netem) acts on everything it sends: it cannot be filtered by peer, port "
                       "or protocol");
    if (c->peer) {
        struct in_addr a;
        char msg[300];
        struct ash_target_ref ref = {0};
        bool ok = inet_pton(AF_INET, c->peer, &a) == 1;
        if (!ok && ash_target_ref_parse(c->peer, &ref, msg, sizeof msg) == 0)
            ok =
                ref.type == ASH_TARGET_CONTAINER && ash_target_selector_check(ref.type, ref.name, msg, sizeof msg) == 0;
        ash_target_ref_clear(&ref);
        if (!ok)
            return fail_at(node, "peer", err, "'peer' is an IPv4 address or container:NAME");
    }
    return 0;
}

static int net_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct net_conf *c = conf;
    /* A pod's container is harmed in the pod's namespace, exactly as a Docker container. */
    bool own_ns = c->target.name && (c->target.type == ASH_TARGET_CONTAINER || c->target.type == ASH_TARGET_PROCESS ||
                                     c->target.type == ASH_TARGET_POD);
    if (sc->n_hosts == 0 && !own_ns)
        return ash_node_fail(node, err,
                             "network faults need sandbox mode (a scenario with 'hosts:') or a target with its own "
                             "network namespace (container:NAME, pod:NS/POD/CONTAINER, process:...)");
    if (!c->target.name == !c->between.n)
        return ash_node_fail(node, err,
                             "say which traffic to harm: 'target: host:NAME' or 'between: [a, b]' (one of them)");
    if (c->between.n && (c->between.n != 2 || strcmp(c->between.v[0], c->between.v[1]) == 0))
        return fail_at(node, "between", err, "'between' takes two different hosts: [a, b]");
    /* A sandbox host's link is aftershock's own; a container or a process is harmed
     * inside its own network namespace; a service or a cgroup has none to harm. */
    if (c->target.name && c->target.type != ASH_TARGET_HOST && !own_ns) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "network faults act on a sandbox host's link or inside a container's or process's own network "
                 "namespace; %s '%s' has neither",
                 ash_target_type_names[c->target.type], c->target.name);
        return fail_at(node, "target", err, msg);
    }
    if (own_ns && net_validate_own_ns(c, node, err) < 0)
        return -1;
    if (c->peer && !own_ns)
        return fail_at(node, "peer", err,
                       "'peer' goes with a container or process target; sandbox hosts use 'between'");
    for (size_t i = 0; i < (c->target.name && !own_ns ? 1 : c->between.n); i++) {
        const char *h = c->target.name ? c->target.name : c->between.v[i];
        if (!ash_scenario_host(sc, h)) {
            ash_node v = ash_map_get(node, "between");
            return ash_node_fail(&v, err, "no host named '%s' in this scenario", h);
        }
        if (ash_scenario_host_node(sc, h))
            return ash_node_fail(node, err, "%s", ash_placed_refusal(sc, h, "a network fault"));
    }
    if (!c->bandwidth && !needs_delay_path(c) && c->loss <= 0 && !c->partition && !c->cross.set)
        return ash_node_fail(node, err,
                             "a network fault needs an effect: bandwidth, delay, jitter, loss, duplicate, "
                             "corrupt, reorder, partition or cross_traffic");
    if (c->jitter_ns > 0 && c->delay_ns <= 0)
        return fail_at(node, "jitter", err, "'jitter' varies a delay: give 'delay' too");
    if (c->jitter_ns > c->delay_ns)
        return fail_at(node, "jitter", err, "'jitter' larger than 'delay' would ask for negative delays");
    if (c->reorder > 0 && c->delay_ns <= 0)
        return fail_at(node, "reorder", err, "'reorder' sends some packets without the delay: give 'delay' too");
    if (c->port && c->protocol == PROTO_ICMP)
        return fail_at(node, "port", err, "'port' does not go with protocol icmp");
    if (c->queue && !c->bandwidth)
        return fail_at(node, "queue", err, "'queue' is the queue behind a cap: give 'bandwidth' too");
    c->queue_ns = 200 * ASH_NS_PER_MS;
    c->queue_bytes = 0;
    if (c->queue) {
        struct ash_size sz;
        if (ash_parse_duration(c->queue, &c->queue_ns) == 0 && c->queue_ns > 0)
            ;
        else if (ash_parse_size(c->queue, &sz) == 0 && !sz.is_percent && sz.bytes > 0)
            c->queue_bytes = sz.bytes, c->queue_ns = 0;
        else
            return fail_at(node, "queue", err, "'queue' is a time (\"200ms\") or a size (\"64KiB\")");
    }
    if (c->bandwidth && c->between.n == 0 && (c->protocol != PROTO_ALL || c->port) && c->direction != DIR_EGRESS)
        return fail_at(node, "bandwidth", err,
                       "a cap on what a host receives cannot be filtered by port or protocol; use "
                       "'between: [a, b]' or 'direction: egress'");
    if (c->cross.set) {
        ash_node x = ash_map_get(node, "cross_traffic");
        const char *hs[2] = {c->cross.from, c->cross.to};
        const char *ks[2] = {"from", "to"};
        for (int i = 0; i < 2; i++)
            if (!ash_scenario_host(sc, hs[i])) {
                ash_node v = ash_map_get(&x, ks[i]);
                return ash_node_fail(&v, err, "no host named '%s' in this scenario", hs[i]);
            }
        for (int i = 0; i < 2; i++)
            if (ash_scenario_host_node(sc, hs[i]))
                return fail_at(&x, ks[i], err, ash_placed_refusal(sc, hs[i], "cross traffic"));
        if (strcmp(c->cross.from, c->cross.to) == 0)
            return fail_at(&x, "to", err, "cross traffic goes between two different hosts");
        c->cross_rate = 0;
        if (c->cross.rate && strcmp(c->cross.rate, "max") != 0 && ash_parse_rate(c->cross.rate, &c->cross_rate) < 0)
            return fail_at(&x, "rate", err, "'rate' is a rate such as \"50mbit\", or \"max\"");
    }
    return 0;
}

/* ---- mechanism choice (also what `doctor` prints) ---- */

static const char *root_reason(void)
{
    return geteuid() == 0 ? NULL : "needs root: qdiscs, nftables tables and relay links live in sandbox namespaces";
}

static const char *net_unavailable(void)
{
    return root_reason();
}

/* netem or relay for the delay-family effects of this fault. */
static int choose_delay_mech(const struct net_conf *c, const char **why)
{
    const char *nw = NULL;
    bool netem = ash_tc_netem_available(&nw);
    if (c->mechanism == MECH_RELAY) {
        *why = "asked for (mechanism: relay)";
        return MECH_RELAY;
    }
    if (c->mechanism == MECH_NETEM) {
        *why = nw;
        return netem ? MECH_NETEM : -1;
    }
    if (!netem) {
        *why = nw;
        return MECH_RELAY;
    }
    if (filtered(c)) {
        *why = "netem cannot filter by peer, port or protocol on its own; the relay can";
        return MECH_RELAY;
    }
    *why = nw;
    return MECH_NETEM;
}

void ash_network_doctor(FILE *out)
{
    const char *why = NULL;
    bool netem = ash_tc_netem_available(&why);
    const char *root = root_reason();
    ash_doctor_line(out, "bandwidth, queue", !root, "tbf, or htb + nftables meta priority when filtered, via libnl%s%s",
                    root ? "; " : "", root ? root : "");
    ash_doctor_line(out, "loss, partition", !root,
                    "nftables (numgen random / drop), one libnftnl netlink batch in the host%s%s", root ? "; " : "",
                    root ? root : "");
    ash_doctor_line(out, "delay, jitter, reorder", !root, "%s; sch_netem %s (%s)",
                    netem ? "netem via libnl (the relay when filtered by peer, port or protocol)"
                          : "userspace relay (AF_PACKET between veth ends, 1 us timer slack)",
                    netem ? "available" : "not available", why ? why : "");
    ash_doctor_line(out, "cross traffic", !root, "TCP/UDP sender and sink inside the sandbox hosts");
}

/* ---- state ---- */

struct placed {
    char netns[128]; /* "" for the root namespace (or the target's, when tgt); a host's bridge port: the hub's */
    int nsfd;        /* -1: root */
    bool tgt;        /* in the target's own namespace (a container's), not a sandbox one */
    char ifname[16];
    uint64_t jid;
};

struct net_state {
    struct placed qd[2];
    int n_qd;
    struct placed tb[2]; /* nftables tables (ifname unused) */
    struct placed *csum; /* hosts' eth0 whose TX checksum offload the relay turned off */
    size_t n_csum;
    int n_tb;
    char table[ASH_OBJNAME_MAX + 1];
    struct ash_relay relay;
    struct ash_relay_opts ropts;
    char relay_b[16], relay_p[16];
    bool relay_on;
    struct ash_cross cross;
    struct ash_cross_opts copts;
    bool cross_on;
    /* The no-effect check (README, "fault had no effect"): set once injected. */
    struct ash_ctx *ctx;
    const char *name;
    const struct net_conf *c;
    char where[64]; /* the link, for the messages */
    ash_timer *quiet;
    /* A container or process target: everything is placed in its own namespace, which
     * its journal records find again through its init (env/target_netns.h). */
    struct ash_target tgt;
    bool has_tgt;
};

#define NO_EFFECT_AFTER_NS ASH_NS_PER_S

/* Packets the fault applies to since it was injected, as the counting rules of its
 * table on the faulted host saw them (count_rules; counters start at 0), read over
 * netlink: 1 with *n set; 0 when it cannot tell (cross traffic is traffic of its own,
 * so such a fault always has an effect). */
static int packets_seen(const struct net_state *st, uint64_t *n, ash_error_t *err)
{
    *n = 0;
    if (st->cross_on || st->n_tb == 0)
        return 0;
    /* The first table is on the faulted host and holds the counting rules. */
    int r = ash_nft_table_packets(st->tb[0].nsfd, "inet", st->table, n, err);
    return r < 0 ? -1 : r;
}

static int64_t quiet_check(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct net_state *st = data;
    st->quiet = NULL;
    uint64_t n = 0;
    ash_error_t e = {0};
    if (packets_seen(st, &n, &e) == 1 && n == 0)
        ash_ctx_eventf(st->ctx, now, "warning",
                       "%s: no packet has crossed it on %s in %.0f s: the fault has had no effect so far", st->name,
                       st->where, (double)NO_EFFECT_AFTER_NS / 1e9);
    return ASH_TIMER_DONE;
}

static int journal(struct ash_ctx *ctx, const char *op, json_t *d, uint64_t *id, ash_error_t *err)
{
    if (!d)
        return ash_error(err, ENOMEM, "journal record");
    int r = ctx->journal ? ash_journal_append(ctx->journal, op, d, id, err) : 0;
    json_decref(d);
    return r;
}

/* Where p is: h's namespace, the root one (h NULL), or, for a fault on a container or
 * process target, always that target's own. */
static void placed_init(const struct net_state *st, struct placed *p, struct ash_host *h, const char *ifname)
{
    p->tgt = st->has_tgt;
    snprintf(p->netns, sizeof p->netns, "%s", h ? ash_host_netns_name(h) : "");
    p->nsfd = p->tgt ? ash_target_netns_fd(&st->tgt) : h ? ash_host_netns_fd(h) : -1;
    snprintf(p->ifname, sizeof p->ifname, "%s", ifname ? ifname : "");
}

static const char *placed_name(const struct net_state *st, struct ash_host *h)
{
    return st->has_tgt ? st->tgt.name : h ? ash_host_name(h) : "root namespace";
}

/* A journal record {key: value} and where it is: a sandbox namespace's name, or the
 * target's identity and namespace inode (no "netns" key then, so a record is never
 * read as the root namespace's), or "" and the inode of the namespace the harness
 * runs in. NULL when out of memory. */
static json_t *record(const struct net_state *st, const struct placed *p, const char *key, const char *value)
{
    json_t *d = json_pack("{s:s}", key, value);
    if (!d)
        return NULL;
    unsigned long long ino = 0;
    if (p->tgt ? ash_target_netns_record(&st->tgt, d, NULL) < 0
               : json_object_set_new(d, "netns", json_string(p->netns)) < 0 ||
                     (!p->netns[0] && (ash_netns_self_ino(&ino, NULL) < 0 ||
                                       json_object_set_new(d, "netns_ino", json_integer((json_int_t)ino)) < 0))) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* A qdisc on (h's namespace or root, ifname): journaled before it is added. */
struct qspec {
    uint64_t rate;  /* 0: no cap */
    bool htb;       /* filtered cap: htb class 1:10 */
    uint32_t limit; /* queue bytes */
    bool netem;
    struct ash_netem nm;
};

static uint32_t burst_for(uint64_t rate_bits)
{
    /* At least 10 ms of tokens (the kernel's timer granularity) and two full frames. */
    uint64_t b = rate_bits / 8 / 100;
    return (uint32_t)(b < 3200 ? 3200 : b > (16u << 20) ? (16u << 20) : b);
}

static int add_qdisc(struct ash_ctx *ctx, struct net_state *st, struct ash_host *h, const char *ifname,
                     const struct qspec *q, ash_error_t *err)
{
    struct placed *p = &st->qd[st->n_qd];
    placed_init(st, p, h, ifname);
    if (!h && !p->tgt && ctx->sandbox) { /* a host's bridge port: in the sandbox's hub namespace */
        snprintf(p->netns, sizeof p->netns, "%s", ash_sandbox_hub_netns(ctx->sandbox));
        p->nsfd = ash_sandbox_hub_fd(ctx->sandbox);
    }
    struct ash_tc *tc = NULL;
    int ifindex = 0;
    if (ash_tc_open(p->nsfd, &tc, err) < 0 || ash_tc_ifindex(tc, ifname, &ifindex, err) < 0)
        goto fail;
    if (journal(ctx, "network.qdisc", record(st, p, "ifname", ifname), &p->jid, err) < 0)
        goto fail;
    st->n_qd++;
    uint32_t root = TC_H_MAKE(1u << 16, 0);
    if (q->netem) {
        if (ash_tc_netem_add(tc, ifindex, 0, root, &q->nm, err) < 0)
            goto fail;
        if (q->rate && ash_tc_tbf_add(tc, ifindex, TC_H_MAKE(1u << 16, 1), TC_H_MAKE(10u << 16, 0), q->rate,
                                      burst_for(q->rate), q->limit, err) < 0)
            goto fail;
    } else if (q->htb) {
        if (ash_tc_htb_capped_add(tc, ifindex, HTB_CLASS, q->rate, q->limit, err) < 0)
            goto fail;
    } else if (ash_tc_tbf_add(tc, ifindex, 0, root, q->rate, burst_for(q->rate), q->limit, err) < 0) {
        goto fail;
    }
    ash_tc_close(tc);
    return 0;
fail:
    ash_tc_close(tc);
    return ash_error_wrap(err, "%s %s", placed_name(st, h), ifname);
}

/* A fault's nftables rules, as data (sys/nft_rules.h): built into one netlink batch. */
#define NFT_RULES_MAX 16

struct nft_list {
    struct ash_nft_rule v[NFT_RULES_MAX];
    size_t n;
    const char *bad_peer; /* a peer that is no IPv4 address: add_table says so */
};

/* The rules for one direction (out: the peer as destination; in: as source): one, or
 * two when a port is given (source or destination port). */
static void rules(struct nft_list *l, const struct net_conf *c, bool input, const char *peer, enum ash_nft_what what,
                  uint32_t arg)
{
    struct ash_nft_rule x = {.input = input,
                             .l4 = c->protocol == PROTO_TCP    ? ASH_NFT_L4_TCP
                                   : c->protocol == PROTO_UDP  ? ASH_NFT_L4_UDP
                                   : c->protocol == PROTO_ICMP ? ASH_NFT_L4_ICMP
                                                               : ASH_NFT_L4_ANY,
                             .port = (uint16_t)c->port,
                             .what = what,
                             .arg = arg};
    if (peer) {
        x.has_peer = inet_pton(AF_INET, peer, &x.peer) == 1;
        if (!x.has_peer)
            l->bad_peer = peer;
    }
    for (int i = 0; i < (c->port ? 2 : 1) && l->n < NFT_RULES_MAX; i++) {
        x.sport = i == 1;
        l->v[l->n++] = x;
    }
}

/* The drop rule's action: false when the fault drops nothing. */
static bool drop_what(const struct net_conf *c, enum ash_nft_what *what, uint32_t *arg)
{
    *arg = 0;
    if (c->partition || c->loss >= 1.0)
        *what = ASH_NFT_DROP;
    else if (c->loss > 0)
        *what = ASH_NFT_DROP_SOME, *arg = (uint32_t)(c->loss * 1e6 + 0.5); /* drop when random mod 1e6 < arg */
    else
        return false;
    return true;
}

/* Rules that only count the IPv4 packets the fault applies to (its direction, peer,
 * protocol, port), for the no-effect check: the host's IPv6 link-local chatter
 * (router solicitations, MLD reports) and the bridge's flooded ARP cross its link
 * too, but they are not traffic the fault could harm. */
static void count_rules(struct nft_list *l, const struct net_conf *c, bool egress, bool ingress, const char *peer)
{
    if (egress)
        rules(l, c, false, peer, ASH_NFT_COUNT_IPV4, 0);
    if (ingress)
        rules(l, c, true, peer, ASH_NFT_COUNT_IPV4, 0);
}

/* Make table `st->table` in h's namespace with these rules: journaled first, then one
 * netlink batch (all or nothing). */
static int add_table(struct ash_ctx *ctx, struct net_state *st, struct ash_host *h, const struct nft_list *l,
                     ash_error_t *err)
{
    if (l->bad_peer)
        return ash_error(err, EINVAL, "%s: peer %s is not an IPv4 address", placed_name(st, h), l->bad_peer);
    struct placed *p = &st->tb[st->n_tb];
    placed_init(st, p, h, NULL);
    if (journal(ctx, "network.nft", record(st, p, "table", st->table), &p->jid, err) < 0)
        return -1;
    st->n_tb++;
    if (ash_nft_table_add(p->nsfd, st->table, l->v, l->n, err) < 0)
        return ash_error_wrap(err, "%s", placed_name(st, h));
    return 0;
}

static int net_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err);
static void net_discard(void *state);

static uint32_t queue_limit(const struct net_conf *c)
{
    uint32_t limit = 0;
    if (c->bandwidth)
        limit = c->queue_bytes ? (uint32_t)c->queue_bytes
                               : (uint32_t)((double)c->bandwidth / 8.0 * (double)c->queue_ns / 1e9);
    if (c->bandwidth && limit < 3200)
        limit = 3200; /* two full frames, or nothing would pass */
    return limit;
}

/* drop_what's action in nft's words (for plans). */
static char *drop_action(const struct net_conf *c, char *action, size_t len)
{
    enum ash_nft_what what;
    uint32_t arg;
    if (!drop_what(c, &what, &arg))
        action[0] = '\0';
    else if (what == ASH_NFT_DROP)
        snprintf(action, len, "drop");
    else
        snprintf(action, len, "numgen random mod 1000000 < %u drop", arg);
    return action;
}

/* Interfaces a fault on a container or process acts on, inside its namespace. */
#define TARGET_IF "eth0"

/* Its eth0's root qdisc must be the one the kernel puts back when ours is deleted
 * (noqueue on a veth): one the container set up itself would be lost on revert. */
static int check_own_qdisc(const struct net_state *st, ash_error_t *err)
{
    struct ash_tc *tc = NULL;
    int ifindex = 0;
    char kind[32] = "";
    int r = ash_tc_open(ash_target_netns_fd(&st->tgt), &tc, err);
    if (r == 0)
        r = ash_tc_ifindex(tc, TARGET_IF, &ifindex, err);
    if (r == 0)
        r = ash_tc_root_kind(tc, ifindex, kind, sizeof kind, err);
    ash_tc_close(tc);
    if (r < 0)
        return ash_error_wrap(err, "%s", st->tgt.name);
    if (kind[0] && strcmp(kind, "noqueue") != 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EEXIST,
                               "%s: its %s already has a root qdisc of its own (%s); aftershock would replace it and "
                               "could not put it back",
                               st->tgt.name, TARGET_IF, kind);
    return 0;
}

/* Run in the target's namespace by net_preflight: is its eth0 there? */
static int if_present(void *arg)
{
    int *ifindex = arg;
    *ifindex = (int)if_nametoindex(TARGET_IF);
    return 0;
}

/* What inject will need of a container or process, looked at without touching it: the
 * kernel's sch_netem for a delay, an eth0 in its namespace for a qdisc (a container on
 * `--network none` has only lo), no root qdisc of its own there, a peer container that
 * runs. */
static int net_preflight(const struct ash_fault_spec *f, const struct ash_target *t, ash_error_t *err)
{
    const struct net_conf *c = f->conf;
    char d[300];
    ash_target_describe(t, d, sizeof d);
    /* Each message says it all: no errno text is appended (code 0). */
    const char *why = root_reason();
    if (why)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "%s", why);
    if (needs_delay_path(c) && !ash_tc_netem_available(&why))
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                               "delay on a container needs sch_netem (the userspace relay works on sandbox links "
                               "only): %s (aftershock doctor)",
                               why ? why : "not available");
    if (c->bandwidth || needs_delay_path(c)) {
        int ifindex = 0;
        if (ash_target_run_in_netns(t, if_present, &ifindex, err) < 0)
            return -1;
        if (ifindex == 0)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                                   "%s has no %s in its network namespace (a container on --network none has only "
                                   "lo): a bandwidth or delay qdisc has nowhere to go",
                                   d, TARGET_IF);
        struct net_state st = {.tgt = *t};
        if (check_own_qdisc(&st, err) < 0)
            return -1;
    }
    if (c->peer) {
        struct in_addr a;
        struct ash_target_ref ref = {0};
        char msg[300];
        if (inet_pton(AF_INET, c->peer, &a) == 1 || ash_target_ref_parse(c->peer, &ref, msg, sizeof msg) < 0)
            return 0;
        /* A container's peer is behind the same engine as it. */
        json_t *id = ash_target_identity(t);
        const char *sock = json_string_value(json_object_get(id, "socket"));
        int r = 0;
        if (sock && asprintf(&ref.endpoint, "unix://%s", sock) < 0) {
            ref.endpoint = NULL;
            r = ash_error(err, ENOMEM, "peer %s", c->peer);
        }
        json_decref(id);
        if (r == 0)
            r = ash_target_check(&ref, 0, err);
        ash_target_ref_clear(&ref);
        if (r < 0)
            return ash_error_wrap(err, "peer %s", c->peer);
    }
    return 0;
}

/* `peer:` as an address: a literal, or the container's (its first network's) address now. */
static int peer_address(struct ash_ctx *ctx, const char *peer, char *out, size_t len, ash_error_t *err)
{
    struct in_addr a;
    if (inet_pton(AF_INET, peer, &a) == 1) {
        snprintf(out, len, "%s", peer);
        return 0;
    }
    char msg[300];
    struct ash_target_ref ref = {0};
    struct ash_target t = {0};
    int r = ash_target_ref_parse(peer, &ref, msg, sizeof msg);
    if (r < 0)
        return ash_error(err, EINVAL, "peer %s: %s", peer, msg);
    if (ctx->scenario && ctx->scenario->runtime.docker_host)
        ref.endpoint = strdup(ctx->scenario->runtime.docker_host);
    r = ash_ctx_target(ctx, &ref, &t, err);
    ash_target_ref_clear(&ref);
    if (r < 0)
        return ash_error_wrap(err, "peer %s", peer);
    json_t *id = ash_target_identity(&t);
    const char *ip = json_string_value(json_object_get(id, "ip"));
    if (ip && inet_pton(AF_INET, ip, &a) == 1)
        snprintf(out, len, "%s", ip);
    else
        r = ash_error_class(err, ASH_ERR_ENVIRONMENT, EADDRNOTAVAIL, "peer %s has no IPv4 address", peer);
    json_decref(id);
    ash_target_release(&t);
    return r;
}

/* A container's or a process's own network namespace: a qdisc on its eth0 for what it
 * sends and a table of aftershock's own for drops both ways; the container's own qdiscs
 * and nftables tables are left as they are (checked, then not touched). */
static int net_inject_target(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    const struct net_conf *c = f->conf;
    struct net_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "network fault");
    if (ash_ctx_target(ctx, &c->target, &st->tgt, err) < 0) {
        free(st);
        return ash_error_wrap(err, "network fault '%s'", f->name);
    }
    st->has_tgt = true;
    ash_objname(st->table, ctx->run_id, f->name);
    struct nft_list rules_a = {0};
    char peer[64] = "";
    if (c->peer && peer_address(ctx, c->peer, peer, sizeof peer, err) < 0)
        goto fail;
    const char *pa = peer[0] ? peer : NULL;
    if (ash_target_netns_fd(&st->tgt) < 0) {
        char d[300];
        ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                        "%s has no network namespace of its own (it shares the machine's): harming it would harm "
                        "every process here",
                        ash_target_describe(&st->tgt, d, sizeof d));
        goto fail;
    }
    if (needs_delay_path(c)) {
        const char *why = NULL;
        if (!ash_tc_netem_available(&why)) {
            ash_error_class(err, ASH_ERR_ENVIRONMENT, EOPNOTSUPP,
                            "delay on a container needs sch_netem (the userspace relay works on sandbox links "
                            "only): %s",
                            why ? why : "not available");
            goto fail;
        }
    }
    if (c->bandwidth || needs_delay_path(c)) {
        struct qspec q = {.rate = c->bandwidth,
                          .limit = queue_limit(c),
                          .netem = needs_delay_path(c),
                          .nm = {.delay_ns = c->delay_ns,
                                 .jitter_ns = c->jitter_ns,
                                 .duplicate = c->duplicate,
                                 .corrupt = c->corrupt,
                                 .reorder = c->reorder},
                          .htb = c->bandwidth && filtered(c) && !needs_delay_path(c)};
        if (check_own_qdisc(st, err) < 0 || add_qdisc(ctx, st, NULL, TARGET_IF, &q, err) < 0)
            goto fail;
        if (q.htb)
            rules(&rules_a, c, false, pa, ASH_NFT_SET_PRIORITY, HTB_CLASS);
    }
    enum ash_nft_what what;
    uint32_t arg;
    if (drop_what(c, &what, &arg)) {
        if (c->direction != DIR_INGRESS)
            rules(&rules_a, c, false, pa, what, arg);
        if (c->direction != DIR_EGRESS)
            rules(&rules_a, c, true, pa, what, arg);
    }
    if (rules_a.n && add_table(ctx, st, NULL, &rules_a, err) < 0)
        goto fail;
    *state = st;
    return 0;
fail:;
    ash_error_t e2 = {0};
    if (net_revert(ctx, f, st, &e2) < 0)
        net_discard(st); /* its records stay pending for recover */
    return ash_error_wrap(err, "network fault '%s'", f->name);
}

static int net_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    const struct net_conf *c = f->conf;
    const char *why = root_reason();
    if (why)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EPERM, "network fault '%s': %s", f->name, why);
    if (c->target.name && c->target.type != ASH_TARGET_HOST)
        return net_inject_target(ctx, f, state, err);
    if (!ctx->sandbox)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "network faults need sandbox mode (a scenario with hosts:)");
    /* `between` names hosts too; the fault acts on the first one's link. */
    struct ash_target ta, tb;
    struct ash_target_ref ra = c->target, rb = {.type = ASH_TARGET_HOST};
    if (!c->target.name) {
        ra = (struct ash_target_ref){.type = ASH_TARGET_HOST, .name = c->between.v[0]};
        rb.name = c->between.v[1];
    }
    if (ash_ctx_target(ctx, &ra, &ta, err) < 0 || (rb.name && ash_ctx_target(ctx, &rb, &tb, err) < 0))
        return ash_error_wrap(err, "network fault '%s'", f->name);
    struct ash_host *a = ta.host; /* links, qdiscs and veths are a sandbox host's own */
    struct ash_host *b = rb.name ? tb.host : NULL;
    if (!a || (rb.name && !b))
        return ash_error(err, ENOENT, "network fault '%s': host not in the sandbox", f->name);
    int dmech = -1;
    const char *dwhy = "";
    if (needs_delay_path(c)) {
        dmech = choose_delay_mech(c, &dwhy);
        if (dmech < 0)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, EOPNOTSUPP,
                                   "network fault '%s': mechanism netem asked for, but %s; use 'mechanism: auto' "
                                   "or 'relay' (the userspace relay needs no kernel module)",
                                   f->name, dwhy);
    }
    struct net_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "network fault");
    /* ash-<run>-<fault head>-<hash of the whole fault name>: 'part.x' and
     * 'part_x' must not share a table (reverting one would drop the other's). */
    ash_objname(st->table, ctx->run_id, f->name);
    bool egress = c->direction != DIR_INGRESS, ingress = c->direction != DIR_EGRESS;
    const char *peer = b ? ash_host_address(b) : NULL;
    uint32_t limit = queue_limit(c);
    struct ash_netem nm = {.delay_ns = c->delay_ns,
                           .jitter_ns = c->jitter_ns,
                           .duplicate = c->duplicate,
                           .corrupt = c->corrupt,
                           .reorder = c->reorder};
    bool netem = dmech == MECH_NETEM;

    /* 1. Qdiscs: egress on the host's eth0, ingress on its bridge port in the
     *    sandbox's hub (or, for a filtered link, on the peer's eth0 toward it). */
    struct nft_list rules_a = {0}, rules_b = {0};
    if (egress && (c->bandwidth || netem)) {
        struct qspec q = {.rate = c->bandwidth,
                          .limit = limit,
                          .netem = netem,
                          .nm = nm,
                          .htb = c->bandwidth && filtered(c) && !netem};
        if (add_qdisc(ctx, st, a, "eth0", &q, err) < 0)
            goto fail;
        if (q.htb)
            rules(&rules_a, c, false, peer, ASH_NFT_SET_PRIORITY, HTB_CLASS);
    }
    if (ingress && (c->bandwidth || netem)) {
        struct qspec q = {.rate = c->bandwidth,
                          .limit = limit,
                          .netem = netem,
                          .nm = nm,
                          .htb = c->bandwidth && filtered(c) && !netem};
        if (b && q.htb) {
            if (add_qdisc(ctx, st, b, "eth0", &q, err) < 0)
                goto fail;
            rules(&rules_b, c, false, ash_host_address(a), ASH_NFT_SET_PRIORITY, HTB_CLASS);
        } else if (add_qdisc(ctx, st, NULL, ash_host_veth(a), &q, err) < 0) {
            goto fail;
        }
    }
    /* 2. nftables: partition, loss. */
    enum ash_nft_what what;
    uint32_t arg;
    if (drop_what(c, &what, &arg) && egress)
        rules(&rules_a, c, false, peer, what, arg);
    if (drop_what(c, &what, &arg) && ingress)
        rules(&rules_a, c, true, peer, what, arg);
    /* Always a table on a's side: its counting rules tell whether the fault had an effect. */
    count_rules(&rules_a, c, egress, ingress, peer);
    if (add_table(ctx, st, a, &rules_a, err) < 0)
        goto fail;
    if (rules_b.n && add_table(ctx, st, b, &rules_b, err) < 0)
        goto fail;
    /* 3. The relay for the delay family without netem. */
    if (dmech == MECH_RELAY) {
        size_t idx = 0;
        for (size_t i = 0; i < ash_sandbox_n_hosts(ctx->sandbox); i++)
            if (ash_sandbox_host_at(ctx->sandbox, i) == a)
                idx = i;
        const char *run = ctx->run_id;
        snprintf(st->relay_b, sizeof st->relay_b, "ash%.8sr%zu", run, idx);
        snprintf(st->relay_p, sizeof st->relay_p, "ash%.8sp%zu", run, idx);
        struct ash_relay_effects e = {.on = true,
                                      .delay_ns = c->delay_ns,
                                      .jitter_ns = c->jitter_ns,
                                      .duplicate = c->duplicate,
                                      .corrupt = c->corrupt,
                                      .reorder = c->reorder};
        st->ropts = (struct ash_relay_opts){.netns = ash_sandbox_hub_netns(ctx->sandbox),
                                            .netns_fd = ash_sandbox_hub_fd(ctx->sandbox),
                                            .bridge = ash_sandbox_bridge(ctx->sandbox),
                                            .host_veth = ash_host_veth(a),
                                            .relay_b = st->relay_b,
                                            .relay_p = st->relay_p,
                                            .seed = (uint64_t)ash_now_ns()};
        if (egress)
            st->ropts.egress = e;
        if (ingress)
            st->ropts.ingress = e;
        if (b)
            inet_pton(AF_INET, ash_host_address(b), &st->ropts.filter.peer);
        st->ropts.filter.protocol = c->protocol == PROTO_TCP    ? IPPROTO_TCP
                                    : c->protocol == PROTO_UDP  ? IPPROTO_UDP
                                    : c->protocol == PROTO_ICMP ? IPPROTO_ICMP
                                                                : 0;
        st->ropts.filter.port = (uint16_t)c->port;
        /* Relayed frames must carry complete checksums and fit the MTU: TX
         * checksum offload (and with it TSO) off on every host's eth0. */
        size_t nh = ash_sandbox_n_hosts(ctx->sandbox);
        st->csum = calloc(nh, sizeof *st->csum);
        if (!st->csum) {
            ash_error(err, ENOMEM, "network fault");
            goto fail;
        }
        for (size_t i = 0; i < nh; i++) {
            struct ash_host *h = ash_sandbox_host_at(ctx->sandbox, i);
            struct placed *p = &st->csum[st->n_csum];
            placed_init(st, p, h, "eth0");
            bool on = false;
            if (ash_txcsum_get(p->nsfd, "eth0", &on, err) < 0)
                goto fail;
            if (!on)
                continue;
            if (journal(ctx, "network.offload", record(st, p, "ifname", "eth0"), &p->jid, err) < 0)
                goto fail;
            st->n_csum++;
            if (ash_txcsum_set(p->nsfd, "eth0", false, err) < 0)
                goto fail;
        }
        if (ash_relay_insert(&st->ropts, ctx->journal, &st->relay, err) < 0)
            goto fail;
        st->relay_on = true;
    }
    /* 4. Cross traffic. */
    if (c->cross.set) {
        struct ash_host *from = ash_sandbox_host(ctx->sandbox, c->cross.from);
        struct ash_host *to = ash_sandbox_host(ctx->sandbox, c->cross.to);
        if (!from || !to) {
            ash_error(err, ENOENT, "cross traffic: host not in the sandbox");
            goto fail;
        }
        st->copts = (struct ash_cross_opts){.from_netns_fd = ash_host_netns_fd(from),
                                            .to_netns_fd = ash_host_netns_fd(to),
                                            .port = (uint16_t)c->cross.port,
                                            .udp = c->cross.protocol == 1,
                                            .rate_bits = c->cross_rate};
        inet_pton(AF_INET, ash_host_address(to), &st->copts.to_addr);
        if (ash_cross_start(&st->copts, ctx->journal, &st->cross, err) < 0)
            goto fail;
        st->cross_on = true;
    }
    if (needs_delay_path(c))
        ash_ctx_eventf(ctx, ash_now_ns(), "network-mechanism", "%s: delay family through %s (%s)", f->name,
                       netem ? "netem" : "the userspace relay", dwhy);
    st->ctx = ctx;
    st->name = f->name;
    st->c = c;
    if (b)
        snprintf(st->where, sizeof st->where, "the link %s-%s", ash_host_name(a), ash_host_name(b));
    else
        snprintf(st->where, sizeof st->where, "host %s's link", ash_host_name(a));
    if (ctx->loop && !(st->quiet = ash_loop_add_timer(ctx->loop, ash_now_ns() + NO_EFFECT_AFTER_NS, quiet_check, st))) {
        ash_error(err, ENOMEM, "cannot arm the check that the fault harms a packet");
        goto fail;
    }
    *state = st;
    return 0;
fail:;
    ash_error_t e2 = {0};
    if (net_revert(ctx, f, st, &e2) < 0)
        net_discard(st); /* its records stay pending for recover */
    return ash_error_wrap(err, "network fault '%s'", f->name);
}

static int net_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    (void)f;
    struct net_state *st = state;
    if (!st)
        return 0;
    int ret = 0;
    ash_error_t e = {0};
    if (st->quiet && ctx->loop)
        ash_loop_cancel_timer(ctx->loop, st->quiet);
    st->quiet = NULL;
    /* Read before anything is removed: the counters go with the qdiscs and tables. */
    uint64_t seen = 0;
    if (st->ctx && ctx->no_effect && packets_seen(st, &seen, &e) == 1 && seen == 0) {
        char why[200];
        snprintf(why, sizeof why,
                 "no packet crossed it on %s while it was in effect (the counters of its nftables table, IPv4 packets "
                 "it applies to, stayed at 0)",
                 st->where);
        ctx->no_effect(ctx, st->name, why);
    }
    st->ctx = NULL; /* once: a retried revert does not say it again */
    e = (ash_error_t){0};
    if (st->cross_on) {
        ash_cross_stop(&st->cross, ctx->journal);
        st->cross_on = false;
    }
    if (st->relay_on) {
        if (ash_relay_remove(&st->relay, ctx->journal, &e) < 0)
            ret = -1;
        else
            st->relay_on = false;
    }
    for (size_t i = st->n_csum; i-- > 0;) {
        struct placed *p = &st->csum[i];
        if (!p->jid)
            continue;
        if (ash_txcsum_set(p->nsfd, p->ifname, true, ret < 0 ? NULL : &e) < 0 && errno != ENODEV) {
            ret = -1;
            continue;
        }
        if (ctx->journal)
            ash_journal_done(ctx->journal, p->jid, NULL);
        p->jid = 0;
    }
    for (int i = st->n_tb - 1; i >= 0; i--) {
        if (!st->tb[i].jid)
            continue;
        if (ash_nft_table_delete(st->tb[i].nsfd, "inet", st->table, ret < 0 ? NULL : &e) < 0) {
            ret = -1;
            continue;
        }
        if (ctx->journal)
            ash_journal_done(ctx->journal, st->tb[i].jid, NULL);
        st->tb[i].jid = 0;
    }
    for (int i = st->n_qd - 1; i >= 0; i--) {
        struct placed *p = &st->qd[i];
        if (!p->jid)
            continue;
        struct ash_tc *tc = NULL;
        int ifindex = 0;
        int r = ash_tc_open(p->nsfd, &tc, ret < 0 ? NULL : &e);
        if (r == 0 && ash_tc_ifindex(tc, p->ifname, &ifindex, NULL) == 0)
            r = ash_tc_root_delete(tc, ifindex, ret < 0 ? NULL : &e);
        ash_tc_close(tc);
        if (r < 0) {
            ret = -1;
            continue;
        }
        if (ctx->journal)
            ash_journal_done(ctx->journal, p->jid, NULL);
        p->jid = 0;
    }
    if (ret < 0) {
        if (err)
            *err = e;
        return -1; /* state kept: the engine retries revert, then discards it */
    }
    net_discard(st);
    return 0;
}

/* Free the state, touching nothing: after a revert failed twice, what is left
 * is pending in the journal (the relay and cross traffic are stopped before
 * anything can fail, or their records are pending too). */
static void net_discard(void *state)
{
    struct net_state *st = state;
    if (!st)
        return;
    if (st->has_tgt)
        ash_target_release(&st->tgt);
    free(st->csum);
    free(st);
}

/* ---- recover ---- */

/* fd of the record's namespace: -1 root; -2 gone (so is everything in it). */
static int rec_netns(json_t *rec, ash_error_t *err)
{
    if (json_object_get(rec, "target")) {
        int fd = -1;
        const char *why = NULL;
        if (ash_target_netns_reopen(rec, &fd, &why, err) < 0)
            return -3;
        if (why) /* recover's "undone" line says why nothing was done */
            json_object_set_new(rec, "nothing_to_undo", json_string(why));
        return fd < 0 ? -2 : fd;
    }
    const char *ns = json_string_value(json_object_get(rec, "netns"));
    if (!ns)
        return ash_error(err, EINVAL, "network record without a netns"), -3;
    if (!ns[0]) {
        /* The namespace the run's harness was in. A link of the same name in another
         * one (eth0 in a container recover was started in) is not the run's: its qdisc
         * or offload is left alone and the record kept for a recover run there.
         * Records from before the inode was written have none and are undone here. */
        json_t *ino = json_object_get(rec, "netns_ino");
        unsigned long long here = 0;
        if (!ino)
            return -1;
        if (ash_netns_self_ino(&here, err) < 0)
            return -3;
        if ((json_int_t)here != json_integer_value(ino))
            return ash_error(err, 0, /* the message is the whole story: no strerror suffix */
                             "made in the network namespace the run was in (inode %lld), but recover runs in "
                             "another (inode %llu): nothing touched here; run 'aftershock recover' in the run's "
                             "namespace (nsenter --net=/proc/PID/ns/net, PID any process in it)",
                             (long long)json_integer_value(ino), here),
                   -3;
        return -1;
    }
    if (strncmp(ns, "ash-", 4) != 0)
        return ash_error(err, EINVAL, "network record names a namespace that is not aftershock's: %s", ns), -3;
    if (!ash_netns_exists(ns))
        return -2;
    int fd = ash_netns_open(ns, err);
    return fd < 0 ? -3 : fd;
}

static int undo_qdisc(json_t *rec, ash_error_t *err)
{
    const char *ifname = json_string_value(json_object_get(rec, "ifname"));
    if (!ifname)
        return ash_error(err, EINVAL, "network.qdisc record without an interface");
    int fd = rec_netns(rec, err);
    if (fd == -2)
        return 0;
    if (fd == -3)
        return -1;
    struct ash_tc *tc = NULL;
    int ifindex = 0, r = ash_tc_open(fd, &tc, err);
    if (r == 0 && ash_tc_ifindex(tc, ifname, &ifindex, NULL) == 0)
        r = ash_tc_root_delete(tc, ifindex, err);
    else if (r == 0) /* recover says so rather than "removed" */
        json_object_set_new(rec, "nothing_to_undo",
                            json_string("no such interface here any more: its qdisc went with it"));
    ash_tc_close(tc);
    if (fd >= 0)
        close(fd);
    return r;
}

static int undo_nft(json_t *rec, ash_error_t *err)
{
    const char *table = json_string_value(json_object_get(rec, "table"));
    if (!table || strncmp(table, "ash-", 4) != 0)
        return ash_error(err, EINVAL, "network.nft record without an ash- table");
    int fd = rec_netns(rec, err);
    if (fd == -2)
        return 0;
    if (fd == -3)
        return -1;
    int r = ash_nft_table_delete(fd, "inet", table, err);
    if (fd >= 0) {
        ash_nft_forget(fd); /* recovery: keep no left-over namespace alive */
        close(fd);
    }
    return r;
}

static int undo_offload(json_t *rec, ash_error_t *err)
{
    const char *ifname = json_string_value(json_object_get(rec, "ifname"));
    if (!ifname)
        return ash_error(err, EINVAL, "network.offload record without an interface");
    int fd = rec_netns(rec, err);
    if (fd == -2)
        return 0;
    if (fd == -3)
        return -1;
    int r = ash_txcsum_set(fd, ifname, true, err);
    if (r < 0 && err && err->code == ENODEV)
        r = 0;
    if (fd >= 0)
        close(fd);
    return r;
}

/* ---- plan ---- */

static size_t host_index(const struct ash_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->n_hosts; i++)
        if (strcmp(sc->hosts[i].name, name) == 0)
            return i;
    return 0;
}

static void fmt_rate(char *buf, size_t len, uint64_t bits)
{
    if (bits >= 1000000000 && bits % 1000000000 == 0)
        snprintf(buf, len, "%" PRIu64 "gbit", bits / 1000000000);
    else if (bits >= 1000000 && bits % 1000000 == 0)
        snprintf(buf, len, "%" PRIu64 "mbit", bits / 1000000);
    else if (bits >= 1000 && bits % 1000 == 0)
        snprintf(buf, len, "%" PRIu64 "kbit", bits / 1000);
    else
        snprintf(buf, len, "%" PRIu64 "bit", bits);
}

/* What net_inject_target would place inside a container's or process's namespace. */
static int net_describe_target(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out)
{
    const struct net_conf *c = f->conf;
    char table[ASH_OBJNAME_MAX + 1], tname[ASH_OBJNAME_MAX + 8], where[300], rate[32] = "", action[96];
    ash_objname(table, d->run_id, f->name);
    snprintf(tname, sizeof tname, "inet %s", table);
    snprintf(where, sizeof where, "%s:%s (its network namespace)", ash_target_type_names[c->target.type],
             c->target.name);
    bool htb = c->bandwidth && filtered(c) && !needs_delay_path(c);
    if (c->bandwidth)
        fmt_rate(rate, sizeof rate, c->bandwidth);
    if (c->bandwidth || needs_delay_path(c))
        ash_describe_object(out, "qdisc", TARGET_IF, where, "network.qdisc", "%s%s%s%s (what it sends)",
                            needs_delay_path(c) ? "netem" : "", needs_delay_path(c) && c->bandwidth ? " + " : "",
                            c->bandwidth ? (htb ? "htb class 1:10 " : "tbf ") : "", rate);
    drop_action(c, action, sizeof action);
    if (action[0] || htb)
        ash_describe_object(out, "nft-table", tname, where, "network.nft", "%s%s%s",
                            htb ? "meta priority set 1:10" : "", htb && action[0] ? "; " : "", action);
    char line[400];
    snprintf(line, sizeof line, "%s %s, inside its own network namespace:%s%s%s%s%s",
             ash_target_type_names[c->target.type], c->target.name, c->bandwidth ? " cap " : "", rate,
             needs_delay_path(c) ? " delay via netem on eth0" : "",
             action[0] ? (c->partition ? " partition via nftables table " : " loss via nftables table ") : "",
             action[0] ? table : "");
    json_object_set_new(out, "mechanism", json_string(line));
    return 0;
}

/* What net_inject would place, in the same order and on the same interfaces, named as a
 * run with d->run_id would name them. Mirrors net_inject's decisions: keep them together. */
static int net_describe(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out, ash_error_t *err)
{
    (void)err;
    const struct net_conf *c = f->conf;
    const struct ash_scenario *sc = d->scenario;
    if (c->target.name && c->target.type != ASH_TARGET_HOST)
        return net_describe_target(f, d, out);
    const char *an = c->target.name ? c->target.name : c->between.v[0];
    const char *bn = c->target.name ? NULL : c->between.v[1];
    struct ash_sandbox_names na, nb;
    ash_sandbox_names(d->run_id, host_index(sc, an), an, &na);
    if (bn)
        ash_sandbox_names(d->run_id, host_index(sc, bn), bn, &nb);
    char table[ASH_OBJNAME_MAX + 1];
    ash_objname(table, d->run_id, f->name);
    bool egress = c->direction != DIR_INGRESS, ingress = c->direction != DIR_EGRESS;
    int dmech = -1;
    const char *dwhy = "";
    if (needs_delay_path(c)) {
        dmech = choose_delay_mech(c, &dwhy);
        if (dmech < 0)
            json_object_set_new(out, "cannot_run",
                                json_sprintf("mechanism netem asked for, but %s; use 'mechanism: auto' or 'relay'",
                                             dwhy ? dwhy : "sch_netem is not available"));
    }
    bool netem = dmech == MECH_NETEM;
    bool htb = c->bandwidth && filtered(c) && !netem;
    char rate[32] = "", what[160] = "";
    if (c->bandwidth) {
        fmt_rate(rate, sizeof rate, c->bandwidth);
        if (c->queue_bytes)
            snprintf(what, sizeof what, "%s %s, queue %" PRIu64 " bytes", htb ? "htb class 1:10" : "tbf", rate,
                     c->queue_bytes);
        else
            snprintf(what, sizeof what, "%s %s, queue %.0f ms", htb ? "htb class 1:10" : "tbf", rate,
                     (double)c->queue_ns / 1e6);
    }
    if (netem)
        snprintf(what + strlen(what), sizeof what - strlen(what), "%snetem delay %.3f ms jitter %.3f ms",
                 what[0] ? " + " : "", (double)c->delay_ns / 1e6, (double)c->jitter_ns / 1e6);
    bool prio_a = false, table_b = false;
    if (egress && (c->bandwidth || netem)) {
        ash_describe_object(out, "qdisc", "eth0", na.netns, "network.qdisc", "%s (what %s sends)", what, an);
        prio_a = htb;
    }
    if (ingress && (c->bandwidth || netem)) {
        if (bn && htb) {
            ash_describe_object(out, "qdisc", "eth0", nb.netns, "network.qdisc", "%s (what %s sends to %s)", what, bn,
                                an);
            table_b = true;
        } else {
            ash_describe_object(out, "qdisc", na.veth, na.hub, "network.qdisc", "%s (what %s receives)", what, an);
        }
    }
    char action[64] = "";
    if (c->partition || c->loss >= 1.0)
        snprintf(action, sizeof action, "drop");
    else if (c->loss > 0)
        snprintf(action, sizeof action, "drop %.4g%% (numgen random)", c->loss * 100);
    char tname[ASH_OBJNAME_MAX + 8];
    snprintf(tname, sizeof tname, "inet %s", table);
    /* Always: its counting rules tell whether the fault had an effect. */
    ash_describe_object(out, "nft-table", tname, na.netns, "network.nft",
                        "%s%s%s%scounters of what the fault applies to", prio_a ? "meta priority set 1:10" : "",
                        prio_a && action[0] ? "; " : "", action, prio_a || action[0] ? "; " : "");
    if (table_b)
        ash_describe_object(out, "nft-table", tname, nb.netns, "network.nft", "meta priority set 1:10");
    if (dmech == MECH_RELAY) {
        size_t idx = host_index(sc, an);
        char rb[16], rp[16];
        snprintf(rb, sizeof rb, "ash%.8sr%zu", d->run_id, idx);
        snprintf(rp, sizeof rp, "ash%.8sp%zu", d->run_id, idx);
        for (size_t i = 0; i < sc->n_hosts; i++) {
            struct ash_sandbox_names nh;
            ash_sandbox_names(d->run_id, i, sc->hosts[i].name, &nh);
            ash_describe_object(out, "offload", "eth0", nh.netns, "network.offload", "TX checksum offload off");
        }
        ash_describe_object(out, "link", rb, na.hub, "network.relay-link",
                            "relay veth pair %s/%s between bridge %s and %s: delay %.3f ms, jitter %.3f ms", rb, rp,
                            na.bridge, na.veth, (double)c->delay_ns / 1e6, (double)c->jitter_ns / 1e6);
    }
    if (c->cross.set) {
        struct ash_sandbox_names nf, nt;
        ash_sandbox_names(d->run_id, host_index(sc, c->cross.from), c->cross.from, &nf);
        ash_sandbox_names(d->run_id, host_index(sc, c->cross.to), c->cross.to, &nt);
        ash_describe_object(out, "process", "cross-traffic sink", nt.netns, "network.proc", "%s port %lld",
                            c->cross.protocol == 1 ? "udp" : "tcp", c->cross.port);
        ash_describe_object(out, "process", "cross-traffic sender", nf.netns, "network.proc", "to %s:%lld at %s",
                            c->cross.to, c->cross.port, c->cross.rate ? c->cross.rate : "max");
    }
    char line[512];
    int n = bn ? snprintf(line, sizeof line, "link %s <-> %s:", an, bn) : snprintf(line, sizeof line, "host %s:", an);
    if (c->bandwidth)
        n += snprintf(line + n, sizeof line - (size_t)n, " cap %s (%s qdisc)", rate, htb ? "htb" : "tbf");
    if (needs_delay_path(c))
        n += snprintf(line + n, sizeof line - (size_t)n, " delay %.3f ms via %s", (double)c->delay_ns / 1e6,
                      netem       ? "netem"
                      : dmech < 0 ? "netem (not available here)"
                                  : "the userspace relay");
    if (action[0])
        n += snprintf(line + n, sizeof line - (size_t)n, " %s %s via nftables table %s",
                      c->partition ? "partition:" : "loss:", action, table);
    if (c->cross.set)
        n += snprintf(line + n, sizeof line - (size_t)n, " + %s cross traffic %s -> %s at %s",
                      c->cross.protocol == 1 ? "udp" : "tcp", c->cross.from, c->cross.to,
                      c->cross.rate ? c->cross.rate : "max");
    if (n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, "; %s",
                 egress && ingress ? "both directions"
                 : egress          ? "egress"
                                   : "ingress");
    json_object_set_new(out, "mechanism", json_string(line));
    return 0;
}

static const struct ash_undo_op net_undo[] = {
    {"network.offload", undo_offload, false, "turned transmit checksum offload back on for {ifname} in {where}"},
    {"network.qdisc", undo_qdisc, false, "removed the qdisc on {ifname} in {where}"},
    {"network.nft", undo_nft, false, "removed nftables table {table} in {where}"},
    {"network.relay-link", ash_relay_undo_link, false,
     "removed relay link {relay_b} and put {host_veth} back on bridge {bridge}"},
    {"network.proc", ash_net_undo_proc, false, "killed the fault's helper process (pid {pid}) if it still ran"},
    {NULL, NULL, false, NULL},
};

const struct ash_fault_kind ash_fault_network = {
    .c = {.name = "network",
          .summary = "bandwidth cap, delay/jitter/loss/duplicate/corrupt/reorder, partition and cross traffic on a "
                     "sandbox host or link, or inside a container's network namespace",
          .unavailable = net_unavailable,
          .fields = net_fields,
          .conf_size = sizeof(struct net_conf),
          .defaults = net_defaults,
          .validate = net_validate,
          .doctor = ash_network_doctor},
    .inject = net_inject,
    .revert = net_revert,
    .discard = net_discard,
    .undo_ops = net_undo,
    .describe = net_describe,
    .preflight = net_preflight,
};
