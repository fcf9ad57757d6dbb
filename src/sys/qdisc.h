/* Traffic-control qdiscs over libnl-route-3, in-process: tbf, htb (+ class and
 * bfifo leaf), netem, root deletion and a root-kind query, inside any network
 * namespace. One struct ash_tc is one rtnetlink socket made in one namespace. */
#ifndef ASH_SYS_QDISC_H
#define ASH_SYS_QDISC_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ash_tc;

/* netns_fd < 0: the calling thread's namespace. */
int ash_tc_open(int netns_fd, struct ash_tc **out, ash_error_t *err);
void ash_tc_close(struct ash_tc *tc);

/* Interface index of ifname in the socket's namespace (ENODEV when absent). */
int ash_tc_ifindex(struct ash_tc *tc, const char *ifname, int *ifindex, ash_error_t *err);

/* Token bucket at parent (0: root) with handle (TC_H_MAKE(major << 16, 0)).
 * burst_bytes: bucket size; limit_bytes: queue in bytes (the "deep queue"). */
int ash_tc_tbf_add(struct ash_tc *tc, int ifindex, uint32_t parent, uint32_t handle, uint64_t rate_bits,
                   uint32_t burst_bytes, uint32_t limit_bytes, ash_error_t *err);
/* htb root handle 1: whose unclassified traffic is sent unshaped (no default
 * class), one class 1:minor capped at rate_bits and a bfifo leaf of limit_bytes.
 * Traffic reaches the class when skb->priority == 1:minor (nftables meta priority). */
int ash_tc_htb_capped_add(struct ash_tc *tc, int ifindex, uint16_t minor, uint64_t rate_bits, uint32_t limit_bytes,
                          ash_error_t *err);

struct ash_netem {
    int64_t delay_ns, jitter_ns;
    double loss, duplicate, corrupt, reorder; /* fractions 0..1 */
    uint32_t limit_packets;                   /* 0: 10000 */
};
int ash_tc_netem_add(struct ash_tc *tc, int ifindex, uint32_t parent, uint32_t handle, const struct ash_netem *n,
                     ash_error_t *err);

/* Delete the root qdisc (the kernel puts the default back). Absent qdisc or link: 0. */
int ash_tc_root_delete(struct ash_tc *tc, int ifindex, ash_error_t *err);
/* Kind of the root qdisc ("tbf", "htb", "noqueue", ...; "" when none is listed). */
int ash_tc_root_kind(struct ash_tc *tc, int ifindex, char *kind, size_t len, ash_error_t *err);

/* Does this kernel have sch_netem? Tried once, on a veth pair in a throw-away
 * namespace, then cached. why (optional) says how it was decided. Needs root;
 * without it the answer is false with why saying so. */
bool ash_tc_netem_available(const char **why);

#endif
