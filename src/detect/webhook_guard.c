/* Detector `webhook`: admission control. The guard, not libmicrohttpd, accepts
 * the receiver's connections and hands them over with MHD_add_connection, so it
 * decides who stays when the receiver is full:
 *
 * - every request has a whole-request deadline (headers and body) counted from
 *   the accept or from the previous answer on a kept-alive connection; an idle
 *   or slowloris connection is shut down when it passes, whatever it sends;
 * - one source address holds at most `per_client` connections: over that, its
 *   own oldest connection gives way, never another client's;
 * - beyond `max_connections - reserve` open connections, a new one evicts the
 *   oldest unanswered connection of the client holding the most. A new
 *   connection is never refused while an older one could give way: on
 *   loopback every client shares one address, and a real alert is one of its
 *   connections. Only when every slot is answering a complete request is a
 *   new one refused;
 * - a connection younger than its grace (an eighth of the request deadline,
 *   at most 250 ms) is not judged yet: a real alert's request may not have
 *   arrived in the moment after its connect (a busy machine descheduled the
 *   sender), and a burst of the flood's reconnects in that moment would make
 *   it the oldest "idle" one of its address. Over a limit, only connections
 *   past their grace give way; the excess of young ones is shed as each
 *   passes its grace. Only at max_connections itself, or when one client
 *   holds twice its cap, does a young one go;
 * - what was shed is counted and reported as one `webhook-saturated` line at
 *   most once a second, so a flood cannot flood the timeline as well.
 *
 * libmicrohttpd's own MHD_OPTION_CONNECTION_LIMIT and PER_IP_CONNECTION_LIMIT
 * refuse the *new* connection (or leave it in the listen backlog), which is
 * exactly how 64 slowloris clients starved the real alert; its
 * CONNECTION_TIMEOUT is an idle timeout that one byte a second resets.
 *
 * A connection is closed by shutdown(2) of its socket: libmicrohttpd sees the
 * end of the stream on its next run and closes it itself (it owns the fd), so
 * a slot stays "closing" until its NOTIFY_CLOSED. */
#include "detect/webhook_guard.h"
#include "sys/clock.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections accepted per wake-up before libmicrohttpd runs: bounds the
 * slots waiting for libmicrohttpd to close what was shed. */
#define ACCEPT_BATCH 16
#define REPORT_EVERY_NS ASH_NS_PER_S
/* The first report of a burst waits this long to gather its counts. */
#define REPORT_GATHER_NS (100 * ASH_NS_PER_MS)
/* Out of file descriptors with nothing to evict: accepting pauses this long. */
#define FD_PAUSE_NS (100 * ASH_NS_PER_MS)
/* The longest grace a new connection gets before it can be judged idle. */
#define GRACE_MAX_NS (250 * ASH_NS_PER_MS)

struct client {
    unsigned char addr[16];
    unsigned char len;
    unsigned open;
};

struct slot {
    int fd; /* -1: free */
    struct MHD_Connection *conn;
    size_t client;
    int64_t since;     /* start of the current request window */
    uint64_t rx_since; /* bytes received when it started */
    bool has_bytes;    /* known to have received some of a request in this window */
    bool answering;    /* the whole request is in */
    bool closing;      /* shut down, waiting for libmicrohttpd to close it */
    unsigned served;   /* requests answered on it (a kept-alive connection) */
    struct ash_wh_guard *g;
};

/* Counts since the last report. */
struct shed {
    unsigned long long idle;            /* closed with no byte of a request in its window */
    unsigned long long slow_deadline;   /* closed mid-request at the deadline */
    unsigned long long slow_evicted;    /* closed mid-request to make room */
    unsigned long long for_reserve;     /* evicted to keep slots free for new clients */
    unsigned long long at_limit;        /* evicted at max_connections, young or not */
    unsigned long long over_per_client; /* evicted: its client opened more than per_client */
    unsigned long long refused_busy;    /* new connection refused: every slot answering */
    unsigned long long refused_fds;     /* accept failed for want of file descriptors */
};

enum why { WHY_DEADLINE, WHY_RESERVE, WHY_PER_CLIENT, WHY_LIMIT };

struct ash_wh_guard {
    ash_loop *loop;
    int listen_fd;
    bool listening; /* registered with the loop (not paused) */
    struct MHD_Daemon *mhd;
    struct ash_wh_limits lim;
    struct ash_wh_guard_hooks hooks;
    struct slot *slots;
    size_t n_slots;
    struct client *clients;
    unsigned open; /* neither free nor closing */
    unsigned peak;
    ash_timer *deadline_timer, *report_timer, *resume_timer, *settle_timer;
    struct shed shed;
    int64_t last_report, first_shed;
};

unsigned ash_wh_guard_mhd_limit(const struct ash_wh_limits *lim)
{
    /* Slots being closed still count for libmicrohttpd until it closes them:
     * one accept sheds at most three (its client's oldest, the reserve's and
     * the hard limit's) before libmicrohttpd runs at the end of the batch. */
    return lim->max_connections + 3 * ACCEPT_BATCH;
}

static uint64_t rx_bytes(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return UINT64_MAX; /* unknown (kernel before 4.1): never counted as idle */
    return ti.tcpi_bytes_received;
}

static bool pending(const struct shed *s)
{
    return s->idle || s->slow_deadline || s->slow_evicted || s->refused_busy || s->refused_fds;
}

/* Append ", <fmt>" (no comma right after `after`) when n is not zero. */
static void clause(char *buf, size_t len, size_t *k, size_t after, const char *fmt, unsigned long long n, ...)
{
    if (!n || *k >= len)
        return;
    char one[160];
    va_list ap;
    va_start(ap, n);
    vsnprintf(one, sizeof one, fmt, ap);
    va_end(ap);
    *k += (size_t)snprintf(buf + *k, len - *k, "%s%s", *k > after ? ", " : "", one);
}

static void report(struct ash_wh_guard *g, int64_t now)
{
    struct shed *s = &g->shed;
    if (!pending(s))
        return;
    char buf[600];
    size_t k = 0;
    double secs = (double)g->lim.request_timeout_ns / 1e9;
    if (s->idle || s->slow_deadline || s->slow_evicted)
        k = (size_t)snprintf(buf, sizeof buf, "closed ");
    size_t closed_at = k;
    clause(buf, sizeof buf, &k, closed_at, "%llu idle connection%s", s->idle, s->idle, s->idle == 1 ? "" : "s");
    clause(buf, sizeof buf, &k, closed_at, "%llu over the %g s request deadline", s->slow_deadline, s->slow_deadline,
           secs);
    clause(buf, sizeof buf, &k, closed_at, "%llu mid-request to make room", s->slow_evicted, s->slow_evicted);
    clause(buf, sizeof buf, &k, closed_at, "%llu evicted to keep %u of %u slots free for new clients", s->for_reserve,
           s->for_reserve, g->lim.reserve, g->lim.max_connections);
    clause(buf, sizeof buf, &k, closed_at, "%llu evicted at the limit of %u connections", s->at_limit, s->at_limit,
           g->lim.max_connections);
    clause(buf, sizeof buf, &k, closed_at, "%llu evicted over the per-client cap of %u", s->over_per_client,
           s->over_per_client, g->lim.per_client);
    clause(buf, sizeof buf, &k, closed_at, "refused %llu new (every slot answering)", s->refused_busy, s->refused_busy);
    clause(buf, sizeof buf, &k, closed_at, "refused %llu new (out of file descriptors: raise ulimit -n)",
           s->refused_fds, s->refused_fds);
    if (k < sizeof buf)
        snprintf(buf + k, sizeof buf - k, "; %u open, peak %u, in the last %.1f s", g->open, g->peak,
                 (double)(now - (g->last_report > g->first_shed ? g->last_report : g->first_shed)) / 1e9);
    memset(s, 0, sizeof *s);
    g->last_report = now;
    g->hooks.saturated(g->hooks.arg, now, buf);
}

static int64_t report_timer(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct ash_wh_guard *g = data;
    g->report_timer = NULL;
    report(g, now);
    return ASH_TIMER_DONE;
}

/* A timer the guard needs could not be made: said to its owner (the run stops). */
static void timer_failed(struct ash_wh_guard *g, const char *what)
{
    char why[200];
    snprintf(why, sizeof why, "webhook receiver: out of memory for the timer that would %s", what);
    if (g->hooks.failed)
        g->hooks.failed(g->hooks.arg, why);
}

/* Something was shed: report it soon, but at most once every REPORT_EVERY_NS. */
static void note_shed(struct ash_wh_guard *g)
{
    if (g->report_timer || !pending(&g->shed))
        return;
    int64_t now = ash_now_ns();
    if (g->first_shed <= g->last_report)
        g->first_shed = now;
    int64_t at = now + REPORT_GATHER_NS;
    if (g->last_report && g->last_report + REPORT_EVERY_NS > at)
        at = g->last_report + REPORT_EVERY_NS;
    g->report_timer = ash_loop_add_timer(g->loop, at, report_timer, g);
    if (!g->report_timer)
        timer_failed(g, "report what it shed");
}

/* Idle: not a byte of a request in its window. Asked of the kernel (TCP_INFO),
 * since libmicrohttpd has read whatever came; remembered once it has bytes. */
static bool idle_now(struct slot *s)
{
    if (!s->has_bytes && rx_bytes(s->fd) != s->rx_since)
        s->has_bytes = true;
    return !s->has_bytes;
}

static void shut(struct ash_wh_guard *g, struct slot *s, enum why why)
{
    bool idle = idle_now(s);
    /* A kept-alive connection that served its requests and went quiet (every
     * Alertmanager keeps one) is closed at its deadline without a word: that
     * is housekeeping, not the receiver shedding load. */
    bool housekeeping = idle && why == WHY_DEADLINE && s->served > 0;
    if (idle && !housekeeping)
        g->shed.idle++;
    else if (!idle && why == WHY_DEADLINE)
        g->shed.slow_deadline++;
    else if (!idle)
        g->shed.slow_evicted++;
    if (why == WHY_RESERVE)
        g->shed.for_reserve++;
    else if (why == WHY_LIMIT)
        g->shed.at_limit++;
    else if (why == WHY_PER_CLIENT)
        g->shed.over_per_client++;
    shutdown(s->fd, SHUT_RDWR);
    s->closing = true;
    g->open--;
    g->clients[s->client].open--;
}

static bool evictable(const struct slot *s)
{
    return s->fd >= 0 && !s->closing && !s->answering;
}

static int64_t grace_ns(const struct ash_wh_guard *g)
{
    int64_t t = g->lim.request_timeout_ns / 8;
    return t < GRACE_MAX_NS ? t : GRACE_MAX_NS;
}

static bool young(const struct ash_wh_guard *g, const struct slot *s, int64_t now)
{
    return now - s->since < grace_ns(g);
}

enum pick {
    PICK_IDLE,       /* past its grace, not a byte of a request */
    PICK_PARTIAL,    /* past its grace, part of a request in */
    PICK_YOUNG_IDLE, /* young ones included, not a byte of a request (at the hard limit only) */
    PICK_ANY_YOUNG   /* any, young ones included (at the hard limit only) */
};

static bool want_idle_pick(enum pick pick)
{
    return pick == PICK_IDLE || pick == PICK_YOUNG_IDLE;
}

static struct slot *oldest(struct ash_wh_guard *g, size_t client, enum pick pick, int64_t now)
{
    for (;;) {
        struct slot *best = NULL;
        for (size_t i = 0; i < g->n_slots; i++) {
            struct slot *s = &g->slots[i];
            bool young_ok = pick == PICK_YOUNG_IDLE || pick == PICK_ANY_YOUNG;
            bool want_idle = want_idle_pick(pick);
            if (!evictable(s) || s->client != client || (!young_ok && young(g, s, now)) || (want_idle && s->has_bytes))
                continue;
            if (!best || s->since < best->since)
                best = s;
        }
        /* Each round either answers or marks one more slot as having bytes. */
        if (!best || !want_idle_pick(pick) || idle_now(best))
            return best;
    }
}

/* Who gives way, from `client` or from the client holding the most (client ==
 * SIZE_MAX): its oldest idle connection, else its oldest mid-request one, both
 * past their grace; with `force` (the hard limit) then its oldest young one.
 * Idle first, because a real alert's request is usually in the socket before
 * libmicrohttpd has read it: not idle, it is never the one to go while a
 * flood's empty connections are there. */
static struct slot *victim(struct ash_wh_guard *g, size_t client, bool force, int64_t now)
{
    if (client == SIZE_MAX) {
        unsigned most = 0;
        for (size_t i = 0; i < g->n_slots; i++)
            if (evictable(&g->slots[i]) && g->clients[g->slots[i].client].open > most) {
                most = g->clients[g->slots[i].client].open;
                client = g->slots[i].client;
            }
        if (client == SIZE_MAX)
            return NULL;
    }
    struct slot *v = oldest(g, client, PICK_IDLE, now);
    if (!v)
        v = oldest(g, client, PICK_PARTIAL, now);
    if (!v && force)
        v = oldest(g, client, PICK_YOUNG_IDLE, now);
    if (!v && force)
        v = oldest(g, client, PICK_ANY_YOUNG, now);
    return v;
}

static size_t client_of(struct ash_wh_guard *g, const struct sockaddr_storage *ss)
{
    unsigned char addr[16];
    unsigned char len;
    if (ss->ss_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        len = 16;
    } else {
        memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        len = 4;
    }
    size_t unused = SIZE_MAX;
    for (size_t i = 0; i < g->n_slots; i++) {
        struct client *c = &g->clients[i];
        if (c->len == len && memcmp(c->addr, addr, len) == 0)
            return i;
        if (unused == SIZE_MAX && c->open == 0 && !c->len)
            unused = i;
    }
    if (unused == SIZE_MAX) /* forget clients that have nothing open */
        for (size_t i = 0; i < g->n_slots && unused == SIZE_MAX; i++)
            if (g->clients[i].open == 0)
                unused = i;
    /* There are n_slots entries and at most max_connections < n_slots clients
     * with a connection open, so one is free; the fallback only keeps this total. */
    if (unused == SIZE_MAX)
        unused = 0;
    struct client *c = &g->clients[unused];
    memcpy(c->addr, addr, len);
    c->len = len;
    c->open = 0;
    return unused;
}

static int64_t deadline_timer(ash_loop *loop, int64_t now, void *data);

static void arm_deadline(struct ash_wh_guard *g)
{
    if (g->deadline_timer)
        return; /* armed for an earlier deadline: every new one is later */
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < g->n_slots; i++)
        if (evictable(&g->slots[i]) && g->slots[i].since + g->lim.request_timeout_ns < next)
            next = g->slots[i].since + g->lim.request_timeout_ns;
    if (next != INT64_MAX && !(g->deadline_timer = ash_loop_add_timer(g->loop, next, deadline_timer, g)))
        timer_failed(g, "end requests that overrun their deadline");
}

static int64_t deadline_timer(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct ash_wh_guard *g = data;
    bool shed = false;
    for (size_t i = 0; i < g->n_slots; i++) {
        struct slot *s = &g->slots[i];
        if (evictable(s) && s->since + g->lim.request_timeout_ns <= now) {
            shut(g, s, WHY_DEADLINE);
            shed = true;
        }
    }
    if (shed) {
        g->hooks.run_http(g->hooks.arg);
        note_shed(g);
    }
    /* After run_http: answers it completed opened new request windows. */
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < g->n_slots; i++)
        if (evictable(&g->slots[i]) && g->slots[i].since + g->lim.request_timeout_ns < next)
            next = g->slots[i].since + g->lim.request_timeout_ns;
    if (next == INT64_MAX) {
        g->deadline_timer = NULL;
        return ASH_TIMER_DONE;
    }
    return next;
}

static bool over_limits(const struct ash_wh_guard *g)
{
    if (g->open > g->lim.max_connections - g->lim.reserve)
        return true;
    for (size_t i = 0; i < g->n_slots; i++)
        if (g->clients[i].open > g->lim.per_client)
            return true;
    return false;
}

/* Shed what is over a limit among connections past their grace; true when any went. */
static bool settle(struct ash_wh_guard *g, int64_t now)
{
    bool shed = false;
    for (size_t c = 0; c < g->n_slots; c++)
        while (g->clients[c].open > g->lim.per_client) {
            struct slot *v = victim(g, c, false, now);
            if (!v)
                break;
            shut(g, v, WHY_PER_CLIENT);
            shed = true;
        }
    while (g->open > g->lim.max_connections - g->lim.reserve) {
        struct slot *v = victim(g, SIZE_MAX, false, now);
        if (!v)
            break;
        shut(g, v, WHY_RESERVE);
        shed = true;
    }
    return shed;
}

static int64_t settle_timer(ash_loop *loop, int64_t now, void *data);

/* Over a limit with only young connections to give way: look again when the
 * oldest of them passes its grace. */
static void arm_settle(struct ash_wh_guard *g)
{
    if (g->settle_timer || !over_limits(g))
        return;
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < g->n_slots; i++)
        if (evictable(&g->slots[i]) && g->slots[i].since + grace_ns(g) < next)
            next = g->slots[i].since + grace_ns(g);
    if (next != INT64_MAX && !(g->settle_timer = ash_loop_add_timer(g->loop, next, settle_timer, g)))
        timer_failed(g, "give way to new connections");
}

static int64_t settle_timer(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct ash_wh_guard *g = data;
    g->settle_timer = NULL;
    if (settle(g, now)) {
        g->hooks.run_http(g->hooks.arg);
        note_shed(g);
    }
    arm_settle(g);
    return ASH_TIMER_DONE;
}

static void release(struct ash_wh_guard *g, struct slot *s)
{
    if (!s->closing) {
        g->open--;
        g->clients[s->client].open--;
    }
    *s = (struct slot){.fd = -1, .g = g};
}

static void admit(struct ash_wh_guard *g, int fd, const struct sockaddr_storage *ss, socklen_t sslen)
{
    size_t client = client_of(g, ss);
    int64_t now = ash_now_ns();
    /* Soft limits: only connections past their grace give way; the newcomer may
     * take its client (or all) over a soft limit until settle() sheds the excess. */
    if (g->clients[client].open >= g->lim.per_client) {
        /* The grace lets a client go over its cap by as much again, no more: a
         * flood of thousands would otherwise fill every slot with young
         * connections, and the receiver's work per accept with them. */
        bool flooding = g->clients[client].open >= 2 * g->lim.per_client;
        struct slot *v = victim(g, client, flooding, now);
        if (v)
            shut(g, v, WHY_PER_CLIENT);
    }
    if (g->open >= g->lim.max_connections - g->lim.reserve) {
        struct slot *v = victim(g, SIZE_MAX, false, now);
        if (v)
            shut(g, v, WHY_RESERVE);
    }
    /* The hard limit: someone goes now, young or not, from its own client first. */
    if (g->open >= g->lim.max_connections) {
        struct slot *v = victim(g, g->clients[client].open ? client : SIZE_MAX, true, now);
        if (v)
            shut(g, v, WHY_LIMIT);
    }
    struct slot *s = NULL;
    for (size_t i = 0; i < g->n_slots && !s; i++)
        if (g->slots[i].fd < 0)
            s = &g->slots[i];
    if (!s || g->open >= g->lim.max_connections) {
        g->shed.refused_busy++;
        close(fd);
        return;
    }
    *s = (struct slot){.fd = fd, .client = client, .since = now, .g = g};
    g->open++;
    g->clients[client].open++;
    if (g->open > g->peak)
        g->peak = g->open;
    /* MHD closes fd if it fails; NOTIFY_STARTED (if it came) is followed by NOTIFY_CLOSED then. */
    if (MHD_add_connection(g->mhd, fd, (const struct sockaddr *)ss, sslen) != MHD_YES) {
        if (s->fd == fd && !s->conn)
            release(g, s);
        g->shed.refused_busy++;
        return;
    }
    arm_deadline(g);
    arm_settle(g);
}

static void listen_ready(ash_loop *loop, int fd, uint32_t events, void *data);

static int64_t resume_timer(ash_loop *loop, int64_t now, void *data)
{
    (void)now;
    struct ash_wh_guard *g = data;
    ash_error_t err = {0};
    if (ash_loop_add_fd(loop, g->listen_fd, EPOLLIN, listen_ready, g, &err) < 0)
        return ash_now_ns() + FD_PAUSE_NS; /* the same timer tries again: no new one to fail to make */
    g->resume_timer = NULL;
    g->listening = true;
    return ASH_TIMER_DONE;
}

static void listen_ready(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    struct ash_wh_guard *g = data;
    for (int n = 0; n < ACCEPT_BATCH; n++) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        int cfd = accept4(fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            admit(g, cfd, &ss, sslen);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            g->shed.refused_fds++;
            struct slot *v = victim(g, SIZE_MAX, true, ash_now_ns());
            if (v) {
                shut(g, v, WHY_RESERVE); /* its fd is free once libmicrohttpd closed it, below */
            } else {
                /* Nothing of ours to give back: the listening socket would stay
                 * readable and spin the loop, so stop watching it for a while,
                 * only with a timer to resume it: without one (no memory), keep watching. */
                g->resume_timer = ash_loop_add_timer(loop, ash_now_ns() + FD_PAUSE_NS, resume_timer, g);
                if (g->resume_timer) {
                    ash_loop_del_fd(loop, fd);
                    g->listening = false;
                }
            }
        }
        break; /* EAGAIN, or an error worth a pause */
    }
    g->hooks.run_http(g->hooks.arg);
    note_shed(g);
}

int ash_wh_guard_new(struct ash_wh_guard **out, ash_loop *loop, int listen_fd, const struct ash_wh_limits *lim,
                     const struct ash_wh_guard_hooks *hooks, ash_error_t *err)
{
    struct ash_wh_guard *g = calloc(1, sizeof *g);
    size_t n = ash_wh_guard_mhd_limit(lim);
    if (!g || !(g->slots = calloc(n, sizeof *g->slots)) || !(g->clients = calloc(n, sizeof *g->clients))) {
        if (g)
            free(g->slots);
        free(g);
        close(listen_fd);
        return ash_error(err, ENOMEM, "webhook: %zu connection slots", n);
    }
    g->loop = loop;
    g->listen_fd = listen_fd;
    g->lim = *lim;
    g->hooks = *hooks;
    g->n_slots = n;
    for (size_t i = 0; i < n; i++)
        g->slots[i] = (struct slot){.fd = -1, .g = g};
    *out = g;
    return 0;
}

int ash_wh_guard_attach(struct ash_wh_guard *g, struct MHD_Daemon *mhd, ash_error_t *err)
{
    g->mhd = mhd;
    if (ash_loop_add_fd(g->loop, g->listen_fd, EPOLLIN, listen_ready, g, err) < 0)
        return -1;
    g->listening = true;
    return 0;
}

void ash_wh_guard_flush(struct ash_wh_guard *g)
{
    if (!g)
        return;
    if (g->report_timer) {
        ash_loop_cancel_timer(g->loop, g->report_timer);
        g->report_timer = NULL;
    }
    report(g, ash_now_ns());
}

void ash_wh_guard_free(struct ash_wh_guard *g)
{
    if (!g)
        return;
    ash_timer **timers[] = {&g->deadline_timer, &g->report_timer, &g->resume_timer, &g->settle_timer};
    for (size_t i = 0; i < sizeof timers / sizeof *timers; i++)
        if (*timers[i])
            ash_loop_cancel_timer(g->loop, *timers[i]);
    if (g->listening)
        ash_loop_del_fd(g->loop, g->listen_fd);
    close(g->listen_fd);
    free(g->slots);
    free(g->clients);
    free(g);
}

void ash_wh_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                         enum MHD_ConnectionNotificationCode code)
{
    struct ash_wh_guard *g = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        for (size_t i = 0; info && i < g->n_slots; i++)
            if (g->slots[i].fd == info->connect_fd && !g->slots[i].conn) {
                g->slots[i].conn = c;
                *socket_context = &g->slots[i];
                return;
            }
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        release(g, *socket_context);
        *socket_context = NULL;
    }
}

static struct slot *slot_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

void ash_wh_guard_request_in(struct MHD_Connection *c)
{
    struct slot *s = slot_of(c);
    if (s)
        s->answering = true;
}

void ash_wh_guard_request_done(struct MHD_Connection *c)
{
    struct slot *s = slot_of(c);
    if (!s || s->closing)
        return;
    s->answering = false;
    s->served++;
    s->has_bytes = false;
    s->since = ash_now_ns();
    s->rx_since = rx_bytes(s->fd);
    arm_deadline(s->g);
}
