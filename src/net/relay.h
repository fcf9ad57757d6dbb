/* The userspace link relay: the no-netem path for delay, jitter, duplicate,
 * corrupt and reorder. A host's hub-side veth is taken off the bridge and a
 * helper process moves its frames (AF_PACKET, PACKET_VNET_HDR so checksum
 * offload and GSO survive) to a second veth pair whose other end is the
 * bridge port, holding each frame until its release time:
 *
 *   host eth0 <-veth-> <host veth>  ==relay process==  <relay p> <-veth-> <relay b> on the bridge
 *
 * Accuracy: the relay sleeps in ppoll() until the earliest release time with
 * its timer slack set to 1 us, so a frame leaves at its release time plus the
 * scheduler's wake-up latency (tens of microseconds on an idle machine; the
 * benchmark bench_network prints what this machine delivers), plus the copy
 * through the socket (a few microseconds per frame). */
#ifndef ASH_NET_RELAY_H
#define ASH_NET_RELAY_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sys/journal.h"

struct ash_relay_effects {
    bool on;
    int64_t delay_ns, jitter_ns; /* release = arrival + delay + uniform(-jitter, +jitter), never negative */
    double duplicate;            /* fraction of frames sent twice */
    double corrupt;              /* fraction with one bit flipped after the Ethernet header */
    double reorder;              /* fraction sent at once, overtaking delayed ones (needs a delay) */
};

/* Which IPv4 frames the effects apply to; the rest pass at once. */
struct ash_relay_filter {
    uint32_t peer; /* network byte order; 0: any. Egress matches daddr, ingress saddr */
    int protocol;  /* IPPROTO_*; 0: any */
    uint16_t port; /* source or destination port; 0: any */
};

struct ash_relay_opts {
    const char *netns;     /* the namespace of the bridge: the sandbox's hub ("" or NULL: the caller's) */
    int netns_fd;          /* an fd to it (-1: the caller's) */
    const char *bridge;    /* the sandbox bridge */
    const char *host_veth; /* the host's veth there (a bridge port until the relay goes in) */
    const char *relay_b;   /* new veth end made a bridge port */
    const char *relay_p;   /* its peer, the relay's second socket */
    struct ash_relay_effects egress, ingress;
    struct ash_relay_filter filter;
    uint64_t seed;
};

struct ash_relay {
    pid_t pid;
    int pidfd;
    uint64_t start;
    char netns[128]; /* "": the caller's */
    char bridge[16], host_veth[16], relay_b[16];
    uint64_t j_link, j_proc; /* journal records still owed */
};

/* Insert: journal, make the relay pair, start the relay process, take the host
 * veth off the bridge, let the relay go. Undone on failure. */
int ash_relay_insert(const struct ash_relay_opts *o, struct ash_journal *j, struct ash_relay *out, ash_error_t *err);
/* Kill the relay, delete its pair, put the host veth back on the bridge. Idempotent. */
int ash_relay_remove(struct ash_relay *r, struct ash_journal *j, ash_error_t *err);

/* Undo ops: "network.relay-link" (pair deleted, host veth back on the bridge)
 * and "network.proc" (a helper process killed if it is still the same one). */
int ash_relay_undo_link(json_t *rec, ash_error_t *err);
int ash_net_undo_proc(json_t *rec, ash_error_t *err);

/* Fork a helper (die_with_parent: SIGKILL when the harness dies), journal it
 * as "network.proc", then let it run: it closes every inherited fd but keep_fd (-1: none) and calls
 * fn(arg, status_fd). fn writes one 0 byte to status_fd once it works, or an
 * error message, and never returns. Spawn returns once that arrived (3 s at most). */
struct ash_net_helper {
    pid_t pid;
    int pidfd;
    uint64_t start;
    uint64_t j_id;
};
int ash_net_helper_spawn(struct ash_journal *j, bool die_with_parent, int keep_fd, void (*fn)(const void *, int),
                         const void *arg, struct ash_net_helper *out, ash_error_t *err);
void ash_net_helper_kill(struct ash_net_helper *h, struct ash_journal *j);

#endif
