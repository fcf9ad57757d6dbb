/* rtnetlink through libnl-route-3: links, veth pairs, bridges, IPv4 addresses and routes. */
#include "sys/netlink.h"
#include "sys/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <linux/ip.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <linux/neighbour.h>
#include <netlink/route/route.h>

struct ash_nl {
    struct nl_sock *sk;
};

/* libnl errors are NLE_* codes; map the common ones back to errno so callers
 * can tell "exists" and "gone" apart, and keep libnl's text in the message. */
static int nle_errno(int nle)
{
    switch (nle < 0 ? -nle : nle) {
    case NLE_EXIST:
        return EEXIST;
    case NLE_NODEV:
    case NLE_OBJ_NOTFOUND:
        return ENODEV;
    case NLE_PERM:
        return EPERM;
    case NLE_BUSY:
        return EBUSY;
    case NLE_NOMEM:
        return ENOMEM;
    case NLE_INVAL:
        return EINVAL;
    case NLE_OPNOTSUPP:
        return EOPNOTSUPP;
    case NLE_NOADDR:
        return EADDRNOTAVAIL;
    case NLE_RANGE:
        return ERANGE;
    default:
        return EIO;
    }
}

__attribute__((format(printf, 3, 4))) static int nlfail(ash_error_t *err, int nle, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int e = nle_errno(nle);
    errno = e;
    if (err) {
        ash_error(err, 0, "%s: %s (netlink)", what, nl_geterror(nle));
        err->code = e;
    }
    return -1;
}

int ash_nl_open(struct ash_nl **out, ash_error_t *err)
{
    struct ash_nl *nl = calloc(1, sizeof *nl);
    if (!nl)
        return ash_error(err, ENOMEM, "netlink");
    nl->sk = nl_socket_alloc();
    if (!nl->sk) {
        free(nl);
        return ash_error(err, ENOMEM, "netlink socket");
    }
    int r = nl_connect(nl->sk, NETLINK_ROUTE);
    if (r < 0) {
        nl_socket_free(nl->sk);
        free(nl);
        return nlfail(err, r, "cannot open an rtnetlink socket");
    }
    *out = nl;
    return 0;
}

struct open_in {
    struct ash_nl **out;
    ash_error_t *err;
    bool ran;
};

static int open_in_cb(void *arg)
{
    struct open_in *o = arg;
    o->ran = true;
    return ash_nl_open(o->out, o->err);
}

int ash_nl_open_in(int netns_fd, struct ash_nl **out, ash_error_t *err)
{
    struct open_in o = {out, err, false};
    int r = ash_ns_run(netns_fd, CLONE_NEWNET, open_in_cb, &o);
    if (r < 0 && !o.ran)
        return ash_error(err, errno, "cannot enter the network namespace");
    return r;
}

void ash_nl_close(struct ash_nl *nl)
{
    if (!nl)
        return;
    nl_socket_free(nl->sk);
    free(nl);
}

int ash_nl_link_index(struct ash_nl *nl, const char *name, int *ifindex, ash_error_t *err)
{
    struct rtnl_link *link = NULL;
    *ifindex = 0;
    int r = rtnl_link_get_kernel(nl->sk, 0, name, &link);
    if (r < 0) {
        if (nle_errno(r) == ENODEV)
            return 0;
        return nlfail(err, r, "cannot look up link %s", name);
    }
    *ifindex = rtnl_link_get_ifindex(link);
    rtnl_link_put(link);
    return 0;
}

int ash_nl_bridge_add(struct ash_nl *nl, const char *name, bool up, int *ifindex, ash_error_t *err)
{
    struct rtnl_link *link = rtnl_link_bridge_alloc();
    if (!link)
        return ash_error(err, ENOMEM, "bridge");
    rtnl_link_set_name(link, name);
    if (up)
        rtnl_link_set_flags(link, IFF_UP);
    int r = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(link);
    if (r < 0)
        return nlfail(err, r, "cannot create bridge %s", name);
    if (ifindex)
        return ash_nl_link_index(nl, name, ifindex, err);
    return 0;
}

int ash_nl_link_pin_addr(struct ash_nl *nl, int ifindex, ash_error_t *err)
{
    struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
    int r = change ? rtnl_link_get_kernel(nl->sk, ifindex, NULL, &link) : -NLE_NOMEM;
    struct nl_addr *addr = r == 0 ? rtnl_link_get_addr(link) : NULL;
    if (r == 0 && !addr)
        r = -NLE_NOADDR;
    if (r == 0) {
        rtnl_link_set_addr(change, addr);
        r = rtnl_link_change(nl->sk, link, change, 0);
    }
    rtnl_link_put(link);
    rtnl_link_put(change);
    if (r < 0)
        return nlfail(err, r, "cannot pin the address of link %d", ifindex);
    return 0;
}

int ash_nl_vxlan_add(struct ash_nl *nl, const char *name, uint32_t vni, uint32_t local, int master_ifindex,
                     int netns_fd, ash_error_t *err)
{
    struct rtnl_link *link = rtnl_link_vxlan_alloc();
    if (!link)
        return ash_error(err, ENOMEM, "vxlan");
    struct nl_addr *la = nl_addr_build(AF_INET, &local, sizeof local);
    int r = la ? 0 : -NLE_NOMEM;
    rtnl_link_set_name(link, name);
    if (r == 0)
        r = rtnl_link_vxlan_set_id(link, vni);
    if (r == 0)
        r = rtnl_link_vxlan_set_local(link, la);
    /* The IANA port, whatever the kernel's default (8472 on Linux). */
    if (r == 0)
        r = rtnl_link_vxlan_set_port(link, 4789);
    /* The peers' MACs are learnt from what arrives; floods go to the static entries. */
    if (r == 0)
        r = rtnl_link_vxlan_set_learning(link, 1);
    /* Made there directly: the kernel keeps the requester's namespace as the
     * VXLAN's own (its socket), and looks the master up where the link is. */
    if (netns_fd >= 0)
        rtnl_link_set_ns_fd(link, netns_fd);
    if (master_ifindex > 0)
        rtnl_link_set_master(link, master_ifindex);
    rtnl_link_set_flags(link, IFF_UP);
    if (r == 0)
        r = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
    nl_addr_put(la);
    rtnl_link_put(link);
    if (r < 0)
        return nlfail(err, r, "cannot create vxlan %s (vni %u)", name, vni);
    return 0;
}

int ash_nl_vxlan_peer_add(struct ash_nl *nl, int ifindex, uint32_t peer, ash_error_t *err)
{
    static const unsigned char zero[6];
    struct rtnl_neigh *n = rtnl_neigh_alloc();
    struct nl_addr *mac = nl_addr_build(AF_LLC, zero, sizeof zero);
    struct nl_addr *dst = nl_addr_build(AF_INET, &peer, sizeof peer);
    int r = n && mac && dst ? 0 : -NLE_NOMEM;
    if (r == 0) {
        /* The IPv4 destination before the family: libnl refuses a dst of another family than the entry's. */
        r = rtnl_neigh_set_dst(n, dst);
        rtnl_neigh_set_family(n, AF_BRIDGE);
        rtnl_neigh_set_ifindex(n, ifindex);
        rtnl_neigh_set_lladdr(n, mac);
    }
    if (r == 0) {
        rtnl_neigh_set_state(n, NUD_NOARP | NUD_PERMANENT);
        rtnl_neigh_set_flags(n, NTF_SELF);
        /* APPEND: one all-zero entry per peer (head-end replication of floods). */
        r = rtnl_neigh_add(nl->sk, n, NLM_F_CREATE | NLM_F_APPEND);
    }
    nl_addr_put(mac);
    nl_addr_put(dst);
    rtnl_neigh_put(n);
    if (r < 0) {
        char buf[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &peer, buf, sizeof buf);
        return nlfail(err, r, "cannot add vxlan peer %s", buf);
    }
    return 0;
}

int ash_nl_veth_add(struct ash_nl *nl, const char *name, const char *peer_name, int peer_netns_fd, int master_ifindex,
                    bool up, ash_error_t *err)
{
    struct rtnl_link *link = rtnl_link_veth_alloc();
    if (!link)
        return ash_error(err, ENOMEM, "veth");
    struct rtnl_link *peer = rtnl_link_veth_get_peer(link);
    rtnl_link_set_name(link, name);
    rtnl_link_set_name(peer, peer_name);
    if (peer_netns_fd >= 0)
        rtnl_link_set_ns_fd(peer, peer_netns_fd);
    if (master_ifindex > 0)
        rtnl_link_set_master(link, master_ifindex);
    /* Only our end: asking for the peer up in the same request fails
     * (ENOTCONN on this 6.x kernel) when the peer goes to another namespace. */
    if (up)
        rtnl_link_set_flags(link, IFF_UP);
    int r = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(peer);
    rtnl_link_veth_release(link);
    if (r < 0)
        return nlfail(err, r, "cannot create veth pair %s/%s", name, peer_name);
    return 0;
}

/* A change request for ifindex: orig carries the index, changes the new values. */
static int link_change(struct ash_nl *nl, int ifindex, struct rtnl_link *changes, const char *what, ash_error_t *err)
{
    struct rtnl_link *orig = rtnl_link_alloc();
    if (!orig)
        return ash_error(err, ENOMEM, "link");
    rtnl_link_set_ifindex(orig, ifindex);
    int r = rtnl_link_change(nl->sk, orig, changes, 0);
    rtnl_link_put(orig);
    if (r < 0)
        return nlfail(err, r, "cannot %s link %d", what, ifindex);
    return 0;
}

int ash_nl_link_set_up(struct ash_nl *nl, int ifindex, bool up, ash_error_t *err)
{
    struct rtnl_link *ch = rtnl_link_alloc();
    if (!ch)
        return ash_error(err, ENOMEM, "link");
    if (up)
        rtnl_link_set_flags(ch, IFF_UP);
    else
        rtnl_link_unset_flags(ch, IFF_UP);
    int r = link_change(nl, ifindex, ch, up ? "bring up" : "bring down", err);
    rtnl_link_put(ch);
    return r;
}

int ash_nl_link_forwarding4(struct ash_nl *nl, int ifindex, bool on, ash_error_t *err)
{
    struct rtnl_link *ch = rtnl_link_alloc();
    if (!ch)
        return ash_error(err, ENOMEM, "link");
    int r = rtnl_link_inet_set_conf(ch, IPV4_DEVCONF_FORWARDING, on ? 1 : 0);
    if (r < 0) {
        rtnl_link_put(ch);
        return nlfail(err, r, "cannot set IPv4 forwarding of link %d", ifindex);
    }
    r = link_change(nl, ifindex, ch, on ? "turn on IPv4 forwarding of" : "turn off IPv4 forwarding of", err);
    rtnl_link_put(ch);
    return r;
}

int ash_nl_link_ipv6_noaddr(struct ash_nl *nl, int ifindex, ash_error_t *err)
{
    struct rtnl_link *ch = rtnl_link_alloc();
    if (!ch)
        return ash_error(err, ENOMEM, "link");
    int r = rtnl_link_inet6_set_addr_gen_mode(ch, IN6_ADDR_GEN_MODE_NONE);
    if (r < 0) {
        rtnl_link_put(ch);
        return nlfail(err, r, "cannot set the IPv6 address generation of link %d", ifindex);
    }
    r = link_change(nl, ifindex, ch, "stop IPv6 addresses on", err);
    rtnl_link_put(ch);
    return r;
}

int ash_nl_link_set_netns(struct ash_nl *nl, int ifindex, int netns_fd, ash_error_t *err)
{
    struct rtnl_link *ch = rtnl_link_alloc();
    if (!ch)
        return ash_error(err, ENOMEM, "link");
    rtnl_link_set_ns_fd(ch, netns_fd);
    int r = link_change(nl, ifindex, ch, "move to another namespace", err);
    rtnl_link_put(ch);
    return r;
}

int ash_nl_link_set_master(struct ash_nl *nl, int ifindex, int master_ifindex, ash_error_t *err)
{
    struct rtnl_link *ch = rtnl_link_alloc();
    if (!ch)
        return ash_error(err, ENOMEM, "link");
    rtnl_link_set_master(ch, master_ifindex);
    int r = link_change(nl, ifindex, ch, "attach to a bridge", err);
    rtnl_link_put(ch);
    return r;
}

int ash_nl_link_delete(struct ash_nl *nl, int ifindex, ash_error_t *err)
{
    struct rtnl_link *link = rtnl_link_alloc();
    if (!link)
        return ash_error(err, ENOMEM, "link");
    rtnl_link_set_ifindex(link, ifindex);
    int r = rtnl_link_delete(nl->sk, link);
    rtnl_link_put(link);
    if (r < 0 && nle_errno(r) != ENODEV)
        return nlfail(err, r, "cannot delete link %d", ifindex);
    return 0;
}

int ash_nl_link_delete_name(struct ash_nl *nl, const char *name, ash_error_t *err)
{
    int idx;
    if (ash_nl_link_index(nl, name, &idx, err) < 0)
        return -1;
    if (idx == 0)
        return 0;
    if (ash_nl_link_delete(nl, idx, err) < 0)
        return ash_error_wrap(err, "link %s", name);
    return 0;
}

int ash_nl_link_names(struct ash_nl *nl, const char *prefix, char ***names, size_t *n, ash_error_t *err)
{
    *names = NULL;
    *n = 0;
    struct nl_cache *cache;
    int r = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache);
    if (r < 0)
        return nlfail(err, r, "cannot list links");
    size_t plen = strlen(prefix);
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        const char *name = rtnl_link_get_name((struct rtnl_link *)o);
        if (!name || strncmp(name, prefix, plen) != 0)
            continue;
        char **v = realloc(*names, (*n + 1) * sizeof *v);
        if (!v)
            break;
        *names = v;
        v[(*n)++] = strdup(name);
    }
    nl_cache_free(cache);
    return 0;
}

int ash_nl_watch_links(struct ash_nl **out, ash_error_t *err)
{
    if (ash_nl_open(out, err) < 0)
        return -1;
    /* Room for a burst: a namespace's links go in one batch, ~1.5 KiB of news each. */
    nl_socket_set_buffer_size((*out)->sk, 1 << 20, 0);
    int r = nl_socket_add_membership((*out)->sk, RTNLGRP_LINK);
    if (r < 0) {
        ash_nl_close(*out);
        *out = NULL;
        return nlfail(err, r, "cannot listen for link changes");
    }
    return 0;
}

int ash_nl_watch_wait(struct ash_nl *watch, int64_t timeout_ns, ash_error_t *err)
{
    int fd = nl_socket_get_fd(watch->sk);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int ms = timeout_ns <= 0 ? 0 : (int)((timeout_ns + 999999) / 1000000);
    int r = poll(&p, 1, ms);
    if (r < 0)
        return errno == EINTR ? 1 : ash_error(err, errno, "waiting for link changes");
    if (r == 0)
        return 0;
    /* Drain what has come: the kernel announces a removal once the link's
     * name, addresses and routes are gone (the rest is its memory). */
    bool removed = false;
    for (;;) {
        union {
            char buf[16384];
            struct nlmsghdr align;
        } u;
        ssize_t n = recv(fd, u.buf, sizeof u.buf, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0 && errno == ENOBUFS) {
            removed = true; /* the queue overflowed: news were lost */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ash_error(err, errno, "reading link changes");
        for (size_t off = 0; off + sizeof(struct nlmsghdr) <= (size_t)n;) {
            const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)(u.buf + off);
            if (h->nlmsg_len < sizeof *h || h->nlmsg_len > (size_t)n - off)
                break;
            if (h->nlmsg_type == RTM_DELLINK)
                removed = true;
            off += NLMSG_ALIGN(h->nlmsg_len);
        }
    }
    return removed ? 1 : 0;
}

int ash_nl_addr4_add(struct ash_nl *nl, int ifindex, uint32_t addr, int prefixlen, ash_error_t *err)
{
    struct rtnl_addr *a = rtnl_addr_alloc();
    struct nl_addr *local = nl_addr_build(AF_INET, &addr, sizeof addr);
    if (!a || !local) {
        rtnl_addr_put(a);
        nl_addr_put(local);
        return ash_error(err, ENOMEM, "address");
    }
    nl_addr_set_prefixlen(local, prefixlen);
    rtnl_addr_set_ifindex(a, ifindex);
    rtnl_addr_set_family(a, AF_INET);
    rtnl_addr_set_local(a, local);
    rtnl_addr_set_prefixlen(a, prefixlen);
    int r = rtnl_addr_add(nl->sk, a, 0);
    rtnl_addr_put(a);
    nl_addr_put(local);
    if (r < 0) {
        char s[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &addr, s, sizeof s);
        return nlfail(err, r, "cannot add address %s/%d to link %d", s, prefixlen, ifindex);
    }
    return 0;
}

int ash_nl_route4_default(struct ash_nl *nl, uint32_t gw, int ifindex, ash_error_t *err)
{
    uint32_t any = 0;
    struct rtnl_route *rt = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    struct nl_addr *dst = nl_addr_build(AF_INET, &any, sizeof any);
    struct nl_addr *via = nl_addr_build(AF_INET, &gw, sizeof gw);
    if (!rt || !nh || !dst || !via) {
        rtnl_route_put(rt);
        rtnl_route_nh_free(nh);
        nl_addr_put(dst);
        nl_addr_put(via);
        return ash_error(err, ENOMEM, "route");
    }
    nl_addr_set_prefixlen(dst, 0);
    rtnl_route_set_family(rt, AF_INET);
    rtnl_route_set_table(rt, RT_TABLE_MAIN);
    rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
    rtnl_route_set_protocol(rt, RTPROT_STATIC);
    rtnl_route_set_dst(rt, dst);
    rtnl_route_nh_set_gateway(nh, via);
    if (ifindex > 0)
        rtnl_route_nh_set_ifindex(nh, ifindex);
    rtnl_route_add_nexthop(rt, nh); /* the route owns nh now */
    int r = rtnl_route_add(nl->sk, rt, NLM_F_EXCL);
    rtnl_route_put(rt);
    nl_addr_put(dst);
    nl_addr_put(via);
    if (r < 0) {
        char s[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &gw, s, sizeof s);
        return nlfail(err, r, "cannot add default route via %s", s);
    }
    return 0;
}

bool ash_ipv4_overlap(uint32_t a, int alen, uint32_t b, int blen)
{
    int len = alen < blen ? alen : blen;
    if (len <= 0)
        return true;
    uint32_t mask = len >= 32 ? 0xffffffffu : ~(0xffffffffu >> len);
    return (ntohl(a) & mask) == (ntohl(b) & mask);
}

static int push_prefix(struct ash_ipv4_prefix **out, size_t *n, struct nl_addr *a, int len)
{
    if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4)
        return 0;
    struct ash_ipv4_prefix *v = realloc(*out, (*n + 1) * sizeof *v);
    if (!v)
        return -1;
    *out = v;
    memcpy(&v[*n].addr, nl_addr_get_binary_addr(a), 4);
    v[*n].len = len;
    (*n)++;
    return 0;
}

int ash_nl_ipv4_in_use(struct ash_nl *nl, struct ash_ipv4_prefix **out, size_t *n, ash_error_t *err)
{
    *out = NULL;
    *n = 0;
    struct nl_cache *addrs = NULL, *routes = NULL;
    int r = rtnl_addr_alloc_cache(nl->sk, &addrs);
    if (r < 0)
        return nlfail(err, r, "cannot list addresses");
    for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        if (push_prefix(out, n, rtnl_addr_get_local(a), rtnl_addr_get_prefixlen(a)) < 0)
            goto nomem;
    }
    r = rtnl_route_alloc_cache(nl->sk, AF_INET, 0, &routes);
    if (r < 0) {
        nl_cache_free(addrs);
        free(*out);
        *out = NULL;
        *n = 0;
        return nlfail(err, r, "cannot list routes");
    }
    for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
        struct nl_addr *dst = rtnl_route_get_dst((struct rtnl_route *)o);
        int len = dst ? (int)nl_addr_get_prefixlen(dst) : 0;
        if (len == 0)
            continue; /* default route: it "overlaps" everything and says nothing */
        if (push_prefix(out, n, dst, len) < 0)
            goto nomem;
    }
    nl_cache_free(addrs);
    nl_cache_free(routes);
    return 0;
nomem:
    nl_cache_free(addrs);
    if (routes)
        nl_cache_free(routes);
    free(*out);
    *out = NULL;
    *n = 0;
    return ash_error(err, ENOMEM, "address list");
}
