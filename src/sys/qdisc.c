/* Traffic-control qdiscs over libnl-route-3: tbf, htb class + bfifo leaf, netem, root delete/query, netem detection. */
#include "sys/qdisc.h"
#include "sys/netns.h"

#include <errno.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/fifo.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ash_tc {
    struct nl_sock *sk;
};

static int nle_errno(int nle)
{
    switch (nle < 0 ? -nle : nle) {
    case NLE_EXIST:
        return EEXIST;
    case NLE_NODEV:
        return ENODEV;
    case NLE_OBJ_NOTFOUND:
        return ENOENT;
    case NLE_PERM:
        return EPERM;
    case NLE_NOMEM:
        return ENOMEM;
    case NLE_INVAL:
        return EINVAL;
    case NLE_OPNOTSUPP:
        return EOPNOTSUPP;
    case NLE_RANGE:
        return ERANGE;
    default:
        return EIO;
    }
}

__attribute__((format(printf, 3, 4))) static int tcfail(ash_error_t *err, int nle, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int e = nle_errno(nle);
    if (err) {
        ash_error(err, 0, "%s: %s (netlink)", what, nl_geterror(nle));
        err->code = e;
    }
    errno = e;
    return -1;
}

static int open_here(void *arg)
{
    struct ash_tc *tc = arg;
    tc->sk = nl_socket_alloc();
    if (!tc->sk)
        return -ENOMEM;
    int r = nl_connect(tc->sk, NETLINK_ROUTE);
    if (r < 0) {
        nl_socket_free(tc->sk);
        tc->sk = NULL;
    }
    return r;
}

int ash_tc_open(int netns_fd, struct ash_tc **out, ash_error_t *err)
{
    struct ash_tc *tc = calloc(1, sizeof *tc);
    if (!tc)
        return ash_error(err, ENOMEM, "tc socket");
    int r = netns_fd < 0 ? open_here(tc) : ash_ns_run(netns_fd, CLONE_NEWNET, open_here, tc);
    if (r == -1 && !tc->sk && errno) {
        int e = errno;
        free(tc);
        return ash_error(err, e, "cannot enter the network namespace for tc");
    }
    if (r < 0) {
        free(tc);
        return r == -ENOMEM ? ash_error(err, ENOMEM, "tc socket") : tcfail(err, r, "cannot open an rtnetlink socket");
    }
    *out = tc;
    return 0;
}

void ash_tc_close(struct ash_tc *tc)
{
    if (!tc)
        return;
    nl_socket_free(tc->sk);
    free(tc);
}

int ash_tc_ifindex(struct ash_tc *tc, const char *ifname, int *ifindex, ash_error_t *err)
{
    struct rtnl_link *link = NULL;
    int r = rtnl_link_get_kernel(tc->sk, 0, ifname, &link);
    if (r < 0)
        return tcfail(err, r == -NLE_OBJ_NOTFOUND ? -NLE_NODEV : r, "no interface %s", ifname);
    *ifindex = rtnl_link_get_ifindex(link);
    rtnl_link_put(link);
    return 0;
}

/* Rates in libnl's tbf/htb setters are int/uint32 bytes per second. */
static int rate_bytes(uint64_t rate_bits, ash_error_t *err)
{
    uint64_t b = rate_bits / 8;
    if (b == 0 || b > INT32_MAX)
        return ash_error(err, ERANGE, "rate %llu bit/s is outside 8 bit/s .. 17 Gbit/s", (unsigned long long)rate_bits);
    return (int)b;
}

int ash_tc_tbf_add(struct ash_tc *tc, int ifindex, uint32_t parent, uint32_t handle, uint64_t rate_bits,
                   uint32_t burst_bytes, uint32_t limit_bytes, ash_error_t *err)
{
    int rate = rate_bytes(rate_bits, err);
    if (rate < 0)
        return -1;
    struct rtnl_qdisc *q = rtnl_qdisc_alloc();
    if (!q)
        return ash_error(err, ENOMEM, "qdisc");
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), parent ? parent : TC_H_ROOT);
    rtnl_tc_set_handle(TC_CAST(q), handle);
    int r = rtnl_tc_set_kind(TC_CAST(q), "tbf");
    if (r == 0) {
        rtnl_qdisc_tbf_set_rate(q, rate, (int)burst_bytes, 0);
        rtnl_qdisc_tbf_set_limit(q, (int)limit_bytes);
        r = rtnl_qdisc_add(tc->sk, q, NLM_F_CREATE | NLM_F_EXCL);
    }
    rtnl_qdisc_put(q);
    if (r < 0)
        return tcfail(err, r, "cannot add tbf qdisc on interface %d", ifindex);
    return 0;
}

int ash_tc_htb_capped_add(struct ash_tc *tc, int ifindex, uint16_t minor, uint64_t rate_bits, uint32_t limit_bytes,
                          ash_error_t *err)
{
    int rate = rate_bytes(rate_bits, err);
    if (rate < 0)
        return -1;
    int r;
    struct rtnl_qdisc *q = rtnl_qdisc_alloc(), *leaf = rtnl_qdisc_alloc();
    struct rtnl_class *cl = rtnl_class_alloc();
    if (!q || !leaf || !cl) {
        r = ash_error(err, ENOMEM, "qdisc");
        goto out;
    }
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
    rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(1u << 16, 0));
    if ((r = rtnl_tc_set_kind(TC_CAST(q), "htb")) < 0)
        goto nlerr;
    /* defcls 0: unclassified packets bypass shaping (htb's direct queue). */
    rtnl_htb_set_defcls(q, 0);
    if ((r = rtnl_qdisc_add(tc->sk, q, NLM_F_CREATE | NLM_F_EXCL)) < 0)
        goto nlerr;
    rtnl_tc_set_ifindex(TC_CAST(cl), ifindex);
    rtnl_tc_set_parent(TC_CAST(cl), TC_H_MAKE(1u << 16, 0));
    rtnl_tc_set_handle(TC_CAST(cl), TC_H_MAKE(1u << 16, minor));
    if ((r = rtnl_tc_set_kind(TC_CAST(cl), "htb")) < 0)
        goto nlerr;
    rtnl_htb_set_rate(cl, (uint32_t)rate);
    rtnl_htb_set_ceil(cl, (uint32_t)rate);
    if ((r = rtnl_class_add(tc->sk, cl, NLM_F_CREATE)) < 0)
        goto nlerr;
    rtnl_tc_set_ifindex(TC_CAST(leaf), ifindex);
    rtnl_tc_set_parent(TC_CAST(leaf), TC_H_MAKE(1u << 16, minor));
    rtnl_tc_set_handle(TC_CAST(leaf), TC_H_MAKE((uint32_t)minor << 16, 0));
    if ((r = rtnl_tc_set_kind(TC_CAST(leaf), "bfifo")) < 0)
        goto nlerr;
    rtnl_qdisc_fifo_set_limit(leaf, (int)limit_bytes);
    if ((r = rtnl_qdisc_add(tc->sk, leaf, NLM_F_CREATE | NLM_F_EXCL)) < 0)
        goto nlerr;
    r = 0;
    goto out;
nlerr:
    r = tcfail(err, r, "cannot add htb cap on interface %d", ifindex);
out:
    if (q)
        rtnl_qdisc_put(q);
    if (leaf)
        rtnl_qdisc_put(leaf);
    if (cl)
        rtnl_class_put(cl);
    return r;
}

/* netem probabilities are fractions of UINT32_MAX; times are microseconds. */
static int prob(double f)
{
    return f >= 1.0 ? -1 /* 0xffffffff */ : (int)(uint32_t)(f * 4294967295.0);
}

int ash_tc_netem_add(struct ash_tc *tc, int ifindex, uint32_t parent, uint32_t handle, const struct ash_netem *n,
                     ash_error_t *err)
{
    struct rtnl_qdisc *q = rtnl_qdisc_alloc();
    if (!q)
        return ash_error(err, ENOMEM, "qdisc");
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), parent ? parent : TC_H_ROOT);
    rtnl_tc_set_handle(TC_CAST(q), handle);
    int r = rtnl_tc_set_kind(TC_CAST(q), "netem");
    if (r == 0) {
        rtnl_netem_set_limit(q, n->limit_packets ? (int)n->limit_packets : 10000);
        if (n->delay_ns > 0)
            rtnl_netem_set_delay(q, (int)(n->delay_ns / 1000));
        if (n->jitter_ns > 0)
            rtnl_netem_set_jitter(q, (int)(n->jitter_ns / 1000));
        if (n->loss > 0)
            rtnl_netem_set_loss(q, prob(n->loss));
        if (n->duplicate > 0)
            rtnl_netem_set_duplicate(q, prob(n->duplicate));
        if (n->corrupt > 0)
            rtnl_netem_set_corruption_probability(q, prob(n->corrupt));
        if (n->reorder > 0) {
            rtnl_netem_set_reorder_probability(q, prob(n->reorder));
            rtnl_netem_set_gap(q, 1);
        }
        r = rtnl_qdisc_add(tc->sk, q, NLM_F_CREATE | NLM_F_EXCL);
    }
    rtnl_qdisc_put(q);
    if (r < 0)
        return tcfail(err, r, "cannot add netem qdisc on interface %d", ifindex);
    return 0;
}

int ash_tc_root_delete(struct ash_tc *tc, int ifindex, ash_error_t *err)
{
    struct rtnl_qdisc *q = rtnl_qdisc_alloc();
    if (!q)
        return ash_error(err, ENOMEM, "qdisc");
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
    int r = rtnl_qdisc_delete(tc->sk, q);
    rtnl_qdisc_put(q);
    /* ENOENT/EINVAL: only the default qdisc is left (nothing of ours); ENODEV: the link is gone. */
    if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV && r != -NLE_INVAL && r != -NLE_NOADDR)
        return tcfail(err, r, "cannot delete the root qdisc of interface %d", ifindex);
    return 0;
}

int ash_tc_root_kind(struct ash_tc *tc, int ifindex, char *kind, size_t len, ash_error_t *err)
{
    struct nl_cache *cache = NULL;
    int r = rtnl_qdisc_alloc_cache(tc->sk, &cache);
    if (r < 0)
        return tcfail(err, r, "cannot list qdiscs");
    kind[0] = '\0';
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_tc *t = (struct rtnl_tc *)o;
        if (rtnl_tc_get_ifindex(t) == ifindex && rtnl_tc_get_parent(t) == TC_H_ROOT) {
            snprintf(kind, len, "%s", rtnl_tc_get_kind(t) ? rtnl_tc_get_kind(t) : "");
            break;
        }
    }
    nl_cache_free(cache);
    return 0;
}

/* ---- netem detection ---- */

static int netem_try(void *arg)
{
    int *result = arg;
    struct ash_tc *tc = NULL;
    ash_error_t e = {0};
    if (ash_tc_open(-1, &tc, &e) < 0)
        return -1;
    /* Loopback exists in every new namespace: no link needs to be made. */
    struct ash_netem n = {.delay_ns = 1000000};
    int r = ash_tc_netem_add(tc, 1, 0, TC_H_MAKE(1u << 16, 0), &n, &e);
    *result = r == 0 ? 1 : (e.code == ENOENT || e.code == EOPNOTSUPP) ? 0 : -1;
    ash_tc_close(tc);
    return 0;
}

bool ash_tc_netem_available(const char **why)
{
    static int cached = -1; /* -1 unknown, 0 no, 1 yes */
    static const char *reason = "";
    if (cached < 0) {
        if (geteuid() != 0) {
            if (why)
                *why = "unknown: probing for sch_netem needs root (a qdisc in a throw-away namespace)";
            return false;
        }
        char name[64];
        snprintf(name, sizeof name, "ash-netemprobe-%d", (int)getpid());
        int fd = -1, result = -1;
        ash_error_t e = {0};
        if (ash_netns_create(name, &fd, &e) == 0) {
            if (ash_ns_run(fd, CLONE_NEWNET, netem_try, &result) < 0)
                result = -1;
            close(fd);
            ash_netns_delete(name, NULL);
        }
        if (result == 1) {
            cached = 1;
            reason = "sch_netem accepted a qdisc on a throw-away namespace's loopback";
        } else if (result == 0) {
            cached = 0;
            reason = "the kernel refused a netem qdisc (sch_netem is not built or not loadable)";
        } else {
            if (why)
                *why = "unknown: the netem probe could not run (no throw-away namespace)";
            return false;
        }
    }
    if (why)
        *why = reason;
    return cached == 1;
}
