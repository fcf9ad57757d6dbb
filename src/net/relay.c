/* The userspace link relay: AF_PACKET frames held until their release time, inserted on a host's bridge port. */
#include "net/relay.h"
#include "net/csum.h"
#include "sys/gil.h"
#include "sys/clock.h"
#include "sys/netlink.h"
#include "sys/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define VNET 10 /* sizeof(struct virtio_net_hdr) */
#define FRAME_MAX (VNET + 65536 + 64)
#define QUEUE_MAX_FRAMES 65536
#define QUEUE_MAX_BYTES (64u << 20)

struct frame {
    int64_t release;
    uint64_t seq;
    int out; /* fd to send on */
    uint32_t len;
    unsigned char data[];
};

struct relay {
    const struct ash_relay_opts *o;
    int fd_host, fd_bridge;
    struct frame **heap;
    size_t n;
    size_t bytes;
    uint64_t seq, rng;
};

static uint64_t rnd(struct relay *r)
{
    /* xorshift64*: fast and good enough for drop/duplicate decisions. */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 0x2545F4914F6CDD1DULL;
}

static double unit(struct relay *r)
{
    return (double)(rnd(r) >> 11) / 9007199254740992.0;
}

static bool earlier(const struct frame *a, const struct frame *b)
{
    return a->release < b->release || (a->release == b->release && a->seq < b->seq);
}

static void heap_push(struct relay *r, struct frame *f)
{
    size_t i = r->n++;
    r->heap[i] = f;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!earlier(r->heap[i], r->heap[p]))
            break;
        struct frame *t = r->heap[p];
        r->heap[p] = r->heap[i];
        r->heap[i] = t;
        i = p;
    }
}

static struct frame *heap_pop(struct relay *r)
{
    struct frame *top = r->heap[0];
    r->heap[0] = r->heap[--r->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < r->n && earlier(r->heap[l], r->heap[m]))
            m = l;
        if (l + 1 < r->n && earlier(r->heap[l + 1], r->heap[m]))
            m = l + 1;
        if (m == i)
            break;
        struct frame *t = r->heap[m];
        r->heap[m] = r->heap[i];
        r->heap[i] = t;
        i = m;
    }
    return top;
}

/* Does the frame (after its vnet header) match the filter? egress: sent by the host. */
static bool matches(const struct ash_relay_filter *f, const unsigned char *p, size_t len, bool egress)
{
    if (len < 14 + 20 || p[12] != 0x08 || p[13] != 0x00)
        return false; /* effects apply to IPv4 only; ARP and the rest pass */
    const unsigned char *ip = p + 14;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (f->peer) {
        uint32_t a;
        memcpy(&a, ip + (egress ? 16 : 12), 4);
        if (a != f->peer)
            return false;
    }
    if (f->protocol && ip[9] != f->protocol)
        return false;
    if (f->port) {
        bool first_fragment = (((ip[6] & 0x1f) << 8) | ip[7]) == 0;
        if ((ip[9] != IPPROTO_TCP && ip[9] != IPPROTO_UDP) || !first_fragment || len < 14 + ihl + 4)
            return false;
        uint16_t sp = (uint16_t)(ip[ihl] << 8 | ip[ihl + 1]), dp = (uint16_t)(ip[ihl + 2] << 8 | ip[ihl + 3]);
        if (sp != f->port && dp != f->port)
            return false;
    }
    return true;
}

/* Flip one bit after the Ethernet header, as netem does. A frame whose
 * checksum the kernel left to be finished (NEEDS_CSUM) is finished first, so
 * the damage is caught by the receiver's checksum like on a real wire. GSO
 * super-frames are left alone (their checksums are per segment). */
static void corrupt(struct relay *r, unsigned char *buf, size_t len)
{
    struct virtio_net_hdr *h = (struct virtio_net_hdr *)buf;
    if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE || len <= VNET + 14)
        return;
    unsigned char *p = buf + VNET;
    size_t plen = len - VNET;
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        ash_inet_csum_finish(p, plen, h->csum_start, h->csum_offset);
        h->flags = 0;
    }
    h->flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
    size_t byte = 14 + (size_t)(rnd(r) % (plen - 14));
    p[byte] ^= (unsigned char)(1u << (rnd(r) % 8));
}

static void enqueue(struct relay *r, int out, const unsigned char *buf, size_t len, int64_t release)
{
    if (r->n >= QUEUE_MAX_FRAMES || r->bytes + len > QUEUE_MAX_BYTES)
        return; /* tail drop, like a full qdisc */
    struct frame *f = malloc(sizeof *f + len);
    if (!f)
        return;
    f->release = release;
    f->seq = r->seq++;
    f->out = out;
    f->len = (uint32_t)len;
    memcpy(f->data, buf, len);
    r->bytes += len;
    heap_push(r, f);
}

static void handle(struct relay *r, unsigned char *buf, size_t len, bool egress, int64_t now)
{
    const struct ash_relay_effects *e = egress ? &r->o->egress : &r->o->ingress;
    int out = egress ? r->fd_bridge : r->fd_host;
    if (!e->on || !matches(&r->o->filter, buf + VNET, len - VNET, egress)) {
        /* Through the queue all the same when frames of this link wait there:
         * unfiltered traffic must not overtake itself. */
        if (r->n == 0) {
            send(out, buf, len, MSG_DONTWAIT);
            return;
        }
        enqueue(r, out, buf, len, now);
        return;
    }
    int64_t d = e->delay_ns;
    if (e->jitter_ns > 0)
        d += (int64_t)((unit(r) * 2.0 - 1.0) * (double)e->jitter_ns);
    if (d < 0)
        d = 0;
    if (e->reorder > 0 && unit(r) < e->reorder)
        d = 0;
    if (e->corrupt > 0 && unit(r) < e->corrupt)
        corrupt(r, buf, len);
    enqueue(r, out, buf, len, now + d);
    if (e->duplicate > 0 && unit(r) < e->duplicate)
        enqueue(r, out, buf, len, now + d);
}

static int open_packet(const char *ifname, char *msg, size_t mlen)
{
    unsigned idx = if_nametoindex(ifname);
    if (!idx) {
        snprintf(msg, mlen, "no interface %s: %s", ifname, strerror(errno));
        return -1;
    }
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (fd < 0) {
        snprintf(msg, mlen, "AF_PACKET socket: %s", strerror(errno));
        return -1;
    }
    int one = 1, buf = 8 << 20;
    /* vnet headers carry checksum-offload and GSO state across userspace:
     * without them relayed TCP segments arrive with partial checksums. */
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
        snprintf(msg, mlen, "packet socket options on %s: %s", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
        snprintf(msg, mlen, "bind to %s: %s", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void drain(struct relay *r, int fd, bool egress, unsigned char *buf)
{
    for (int i = 0; i < 256; i++) {
        ssize_t n = recv(fd, buf, FRAME_MAX, MSG_DONTWAIT);
        if (n <= VNET)
            return;
        handle(r, buf, (size_t)n, egress, ash_now_ns());
    }
}

/* The relay process body (runs in the forked helper, never returns). */
static void relay_main(const void *arg, int status)
{
    const struct ash_relay_opts *o = arg;
    char msg[256] = "";
    struct relay r = {.o = o, .rng = o->seed | 1};
    /* 1 us timer slack instead of the default 50 us: release times are the point. */
    prctl(PR_SET_TIMERSLACK, 1UL);
    setpriority(PRIO_PROCESS, 0, -10);
    /* Where the bridge is (the sandbox's hub): packet sockets bind to an index there. */
    if (o->netns_fd >= 0 && setns(o->netns_fd, CLONE_NEWNET) < 0) {
        snprintf(msg, sizeof msg, "cannot enter the namespace %s: %s", o->netns ? o->netns : "", strerror(errno));
        goto fail;
    }
    r.heap = calloc(QUEUE_MAX_FRAMES, sizeof *r.heap);
    unsigned char *buf = malloc(FRAME_MAX);
    if (!r.heap || !buf) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    r.fd_host = open_packet(o->host_veth, msg, sizeof msg);
    if (r.fd_host < 0)
        goto fail;
    r.fd_bridge = open_packet(o->relay_p, msg, sizeof msg);
    if (r.fd_bridge < 0)
        goto fail;
    if (write(status, "", 1) != 1)
        _exit(1);
    close(status);
    struct pollfd p[2] = {{.fd = r.fd_host, .events = POLLIN}, {.fd = r.fd_bridge, .events = POLLIN}};
    for (;;) {
        int64_t now = ash_now_ns();
        while (r.n > 0 && r.heap[0]->release <= now) {
            struct frame *f = heap_pop(&r);
            r.bytes -= f->len;
            send(f->out, f->data, f->len, MSG_DONTWAIT);
            free(f);
        }
        struct timespec ts, *tsp = NULL;
        if (r.n > 0) {
            int64_t wait = r.heap[0]->release - now;
            ts.tv_sec = (time_t)(wait / ASH_NS_PER_S);
            ts.tv_nsec = (long)(wait % ASH_NS_PER_S);
            tsp = &ts;
        }
        int n = ppoll(p, 2, tsp, NULL);
        if (n < 0 && errno != EINTR)
            _exit(2);
        if (n > 0) {
            if (p[0].revents & POLLIN)
                drain(&r, r.fd_host, true, buf);
            if (p[1].revents & POLLIN)
                drain(&r, r.fd_bridge, false, buf);
        }
    }
fail:
    if (write(status, msg, strlen(msg)) < 0)
        _exit(1);
    _exit(1);
}

/* ---- insertion into the sandbox link ---- */

static int relink(struct ash_nl *nl, const char *bridge, const char *host_veth, const char *relay_b, ash_error_t *err)
{
    /* The pair first: deleting it flushes the bridge's FDB entries for the
     * host's MAC on the relay port, so traffic finds the host veth again. */
    if (ash_nl_link_delete_name(nl, relay_b, err) < 0)
        return -1;
    int br = 0, hv = 0;
    if (ash_nl_link_index(nl, bridge, &br, err) < 0 || ash_nl_link_index(nl, host_veth, &hv, err) < 0)
        return -1;
    if (br > 0 && hv > 0 && ash_nl_link_set_master(nl, hv, br, err) < 0)
        return -1;
    return 0;
}

/* A socket in the named namespace ("" or NULL: here). */
static int open_nl(const char *netns, struct ash_nl **nl, ash_error_t *err)
{
    if (!netns || !*netns)
        return ash_nl_open(nl, err);
    int fd = ash_netns_open(netns, err);
    if (fd < 0)
        return -1;
    int r = ash_nl_open_in(fd, nl, err);
    close(fd);
    return r;
}

int ash_relay_undo_link(json_t *rec, ash_error_t *err)
{
    const char *bridge = json_string_value(json_object_get(rec, "bridge"));
    const char *hv = json_string_value(json_object_get(rec, "host_veth"));
    const char *rb = json_string_value(json_object_get(rec, "relay_b"));
    if (!bridge || !hv || !rb || strncmp(bridge, "ash", 3) || strncmp(hv, "ash", 3) || strncmp(rb, "ash", 3))
        return ash_error(err, EINVAL, "network.relay-link record without ash- link names");
    /* "netns": the sandbox's hub; absent or "" (runs before the hub): here. */
    const char *ns = json_string_value(json_object_get(rec, "netns"));
    if (ns && *ns && (strncmp(ns, "ash-", 4) != 0 || strchr(ns, '/')))
        return ash_error(err, EINVAL, "network.relay-link record names a namespace that is not aftershock's: %s", ns);
    if (ns && *ns && !ash_netns_exists(ns))
        return 0; /* gone, and its links with it */
    struct ash_nl *nl;
    if (open_nl(ns, &nl, err) < 0)
        return -1;
    int r = relink(nl, bridge, hv, rb, err);
    ash_nl_close(nl);
    return r;
}

int ash_relay_insert(const struct ash_relay_opts *o, struct ash_journal *j, struct ash_relay *out, ash_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->pidfd = -1;
    snprintf(out->bridge, sizeof out->bridge, "%s", o->bridge);
    snprintf(out->host_veth, sizeof out->host_veth, "%s", o->host_veth);
    snprintf(out->relay_b, sizeof out->relay_b, "%s", o->relay_b);
    snprintf(out->netns, sizeof out->netns, "%s", o->netns ? o->netns : "");
    struct ash_nl *nl = NULL;
    if ((o->netns_fd >= 0 ? ash_nl_open_in(o->netns_fd, &nl, err) : ash_nl_open(&nl, err)) < 0)
        return -1;
    int br = 0, hv = 0, rp = 0;
    if (ash_nl_link_index(nl, o->bridge, &br, err) < 0 || ash_nl_link_index(nl, o->host_veth, &hv, err) < 0)
        goto fail;
    if (br <= 0 || hv <= 0) {
        ash_error(err, ENODEV, "relay: bridge %s or host link %s is missing", o->bridge, o->host_veth);
        goto fail;
    }
    json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "bridge", o->bridge, "host_veth", o->host_veth, "relay_b", o->relay_b,
                          "netns", out->netns);
    int jr = d && j ? ash_journal_append(j, "network.relay-link", d, &out->j_link, err) : 0;
    json_decref(d);
    if (!d) {
        ash_error(err, ENOMEM, "journal record");
        goto fail;
    }
    if (jr < 0)
        goto fail;
    if (ash_nl_veth_add(nl, o->relay_b, o->relay_p, -1, br, true, err) < 0)
        goto undo;
    if (ash_nl_link_index(nl, o->relay_p, &rp, err) < 0 || ash_nl_link_set_up(nl, rp, true, err) < 0)
        goto undo;
    /* Off the bridge before the relay forwards: both paths at once would loop frames. */
    if (ash_nl_link_set_master(nl, hv, 0, err) < 0)
        goto undo;
    struct ash_net_helper h;
    if (ash_net_helper_spawn(j, false, o->netns_fd, relay_main, o, &h, err) < 0)
        goto undo;
    out->pid = h.pid;
    out->pidfd = h.pidfd;
    out->start = h.start;
    out->j_proc = h.j_id;
    ash_nl_close(nl);
    return 0;
undo:;
    ash_error_t e2 = {0};
    relink(nl, o->bridge, o->host_veth, o->relay_b, &e2);
    if (j && out->j_link)
        ash_journal_done(j, out->j_link, NULL);
    out->j_link = 0;
fail:
    ash_nl_close(nl);
    return ash_error_wrap(err, "cannot insert the relay on %s", o->host_veth);
}

int ash_relay_remove(struct ash_relay *r, struct ash_journal *j, ash_error_t *err)
{
    struct ash_net_helper h = {.pid = r->pid, .pidfd = r->pidfd, .start = r->start, .j_id = r->j_proc};
    if (h.pid > 0)
        ash_net_helper_kill(&h, j);
    r->pid = 0;
    r->pidfd = -1;
    r->j_proc = 0;
    if (!r->j_link)
        return 0;
    /* Its own netlink socket and a veth delete that waits for the kernel's RCU
     * (about 20 ms): nothing shared, so the probes need not wait for it. */
    ash_gil_blocking_begin();
    struct ash_nl *nl;
    bool opened = open_nl(r->netns, &nl, err) == 0;
    int ret = opened ? relink(nl, r->bridge, r->host_veth, r->relay_b, err) : -1;
    if (opened)
        ash_nl_close(nl);
    ash_gil_blocking_end();
    if (!opened)
        return -1;
    if (ret < 0)
        return ash_error_wrap(err, "cannot remove the relay on %s", r->host_veth);
    if (j)
        ash_journal_done(j, r->j_link, NULL);
    r->j_link = 0;
    return 0;
}
