/* rtnetlink over libnl-route-3, in-process: veth pairs, bridges, addresses,
 * routes, link state. One struct ash_nl is one socket bound in one network
 * namespace (a socket stays in the namespace it was created in). */
#ifndef ASH_SYS_NETLINK_H
#define ASH_SYS_NETLINK_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ash_nl;

/* A socket in the calling thread's current network namespace. */
int ash_nl_open(struct ash_nl **out, ash_error_t *err);
/* A socket inside the namespace netns_fd (the thread switches in and back). */
int ash_nl_open_in(int netns_fd, struct ash_nl **out, ash_error_t *err);
void ash_nl_close(struct ash_nl *nl);

/* Interface index of `name`; 0 with no error when absent. */
int ash_nl_link_index(struct ash_nl *nl, const char *name, int *ifindex, ash_error_t *err);
int ash_nl_bridge_add(struct ash_nl *nl, const char *name, bool up, int *ifindex, ash_error_t *err);
/* One request: `name` here (a port of master_ifindex when > 0), its peer named
 * peer_name created directly inside peer_netns_fd (-1: here). `up`: our end only; bring
 * the peer up from inside its namespace. */
int ash_nl_veth_add(struct ash_nl *nl, const char *name, const char *peer_name, int peer_netns_fd, int master_ifindex,
                    bool up, ash_error_t *err);
/* Set the link's MAC address to the one it has: a bridge's then stays when a port
 * with a lower one joins (else its address, and every neighbour's entry for it, changes). */
int ash_nl_link_pin_addr(struct ash_nl *nl, int ifindex, ash_error_t *err);
/* A VXLAN link `name` (up, VNI vni, UDP 4789 from local, learning), made
 * inside netns_fd (-1: here) and a port of master_ifindex there when > 0; its
 * UDP socket stays here, in nl's namespace (the underlay). ash_nl_vxlan_peer_add,
 * through a socket where the link is, gives it a peer that every flood (ARP,
 * unknown unicast) is sent to: one all-zero FDB entry per peer. */
int ash_nl_vxlan_add(struct ash_nl *nl, const char *name, uint32_t vni, uint32_t local, int master_ifindex,
                     int netns_fd, ash_error_t *err);
int ash_nl_vxlan_peer_add(struct ash_nl *nl, int ifindex, uint32_t peer, ash_error_t *err);
int ash_nl_link_set_up(struct ash_nl *nl, int ifindex, bool up, ash_error_t *err);
/* The link's own IPv4 forwarding flag (net.ipv4.conf.LINK.forwarding), set over
 * rtnetlink (IFLA_INET_CONF): it works where /proc/sys is read-only (a container). */
int ash_nl_link_forwarding4(struct ash_nl *nl, int ifindex, bool on, ash_error_t *err);
/* No IPv6 address of the link's own, not even a link-local one (IPv6 address
 * generation mode "none", IFLA_INET6_ADDR_GEN_MODE); EAFNOSUPPORT without IPv6. */
int ash_nl_link_ipv6_noaddr(struct ash_nl *nl, int ifindex, ash_error_t *err);
/* Move a link into another namespace. */
int ash_nl_link_set_netns(struct ash_nl *nl, int ifindex, int netns_fd, ash_error_t *err);
int ash_nl_link_set_master(struct ash_nl *nl, int ifindex, int master_ifindex, ash_error_t *err);
/* Delete by index (ENODEV is not an error: it is gone already). */
int ash_nl_link_delete(struct ash_nl *nl, int ifindex, ash_error_t *err);
int ash_nl_link_delete_name(struct ash_nl *nl, const char *name, ash_error_t *err);
/* Names of links starting with prefix (caller frees each and the array). */
int ash_nl_link_names(struct ash_nl *nl, const char *prefix, char ***names, size_t *n, ash_error_t *err);
/* A socket that hears when a link is removed here (rtnetlink's link group),
 * for waiting on the kernel without polling. Open it before looking at what
 * is left: a removal after the look is then never missed. */
int ash_nl_watch_links(struct ash_nl **out, ash_error_t *err);
/* Wait up to timeout_ns on a watch socket: 1 when a link was removed (or news
 * were lost: look again), 0 when nothing was removed in time. */
int ash_nl_watch_wait(struct ash_nl *watch, int64_t timeout_ns, ash_error_t *err);

/* IPv4, addresses in network byte order. */
int ash_nl_addr4_add(struct ash_nl *nl, int ifindex, uint32_t addr, int prefixlen, ash_error_t *err);
/* Default route via gw (on-link through ifindex when ifindex > 0). */
int ash_nl_route4_default(struct ash_nl *nl, uint32_t gw, int ifindex, ash_error_t *err);

struct ash_ipv4_prefix {
    uint32_t addr; /* network byte order */
    int len;
};
/* Every IPv4 prefix in use here: addresses (with their prefix) and route
 * destinations other than the default route. */
int ash_nl_ipv4_in_use(struct ash_nl *nl, struct ash_ipv4_prefix **out, size_t *n, ash_error_t *err);
/* True when a/alen and b/blen overlap. */
bool ash_ipv4_overlap(uint32_t a, int alen, uint32_t b, int blen);

#endif
