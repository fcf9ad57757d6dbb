/* Probe `tcp`: a non-blocking connect per sample; ok when the handshake completes. */
#include "env/env.h"
#include "kinds.h"
#include "probes/inflight.h"
#include "probes/probe_confs.h"
#include "probes/probe_resolve.h"
#include "probes/probe_socket.h"
#include "sys/clock.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct ash_field tcp_fields[] = {
    {"address", ASH_F_STRING, offsetof(struct ash_tcp_conf, address), ASH_FIELD_REQUIRED, "host:port to connect to"},
    {NULL}};

struct tcp_sample;

struct tcp_state {
    const struct ash_probe_spec *p;
    ash_loop *loop;
    struct ash_probe_from *from; /* NULL: the harness */
    struct ash_dns *dns;         /* the run's DNS server: how `from` resolves names */
    char *host, *port;
    struct addrinfo *ai; /* from the harness: NULL until a resolution succeeds, then kept */
    struct ash_inflight inflight;
};

struct tcp_sample {
    struct ash_inflight_sample b; /* first: the list, the timer, the result */
    struct tcp_state *st;
    int fd;
    struct ash_probe_lookup *lookup; /* its name's query to a container's nameserver, in flight */
};

static void clear(struct ash_inflight_sample *b)
{
    struct tcp_sample *s = (struct tcp_sample *)b;
    ash_probe_lookup_cancel(s->lookup);
    s->lookup = NULL;
    if (s->fd >= 0) {
        ash_loop_del_fd(s->st->loop, s->fd);
        close(s->fd);
        s->fd = -1;
    }
}

static int64_t on_timer(ash_loop *loop, int64_t now, void *data)
{
    struct tcp_sample *s = data;
    s->b.timer = NULL; /* freed by the loop when we return */
    ash_inflight_timed_out(&s->b, s->st->p->timeout_ns);
    ash_inflight_deliver(&s->b);
    return ASH_TIMER_DONE;
}

static void on_writable(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct tcp_sample *s = data;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    s->b.result.end = ash_now_ns();
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr == 0 && (events & (EPOLLERR | EPOLLHUP)))
        soerr = ECONNRESET;
    s->b.result.ok = soerr == 0;
    if (soerr)
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "connect: %s", strerror(soerr));
    s->b.finished = true;
    ash_inflight_deliver(&s->b);
}

/* Start the handshake to ai. A result known at once (refused, no socket) finishes the
 * sample; -1 only when the loop cannot watch the socket (err). */
static int start_connect(struct tcp_sample *s, const struct addrinfo *ai, ash_error_t *err)
{
    struct ash_sample *res = &s->b.result;
    s->fd = ash_probe_socket(s->st->from, ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
    if (s->fd < 0) {
        snprintf(res->detail, sizeof res->detail, "socket: %s", strerror(errno));
        s->b.finished = true;
    } else if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        res->ok = true;
        s->b.finished = true;
    } else if (errno != EINPROGRESS) {
        snprintf(res->detail, sizeof res->detail, "connect: %s", strerror(errno));
        s->b.finished = true;
    } else if (ash_loop_add_fd(s->st->loop, s->fd, EPOLLOUT, on_writable, s, err) < 0) {
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    return 0;
}

/* When the sample times out (none: -1). */
static int64_t deadline_of(const struct tcp_sample *s)
{
    int64_t t = s->st->p->timeout_ns;
    return t > 0 ? s->b.result.start + t : -1;
}

/* The name's answer from the container's nameserver: connect, or fail the sample with
 * why. Already on the loop, so a result known now is delivered now. */
static void on_resolved(void *arg, struct addrinfo *ai, const char *why)
{
    struct tcp_sample *s = arg;
    s->lookup = NULL;
    ash_error_t err = {0};
    if (!ai) {
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "%s", why);
        s->b.finished = true;
    } else if (start_connect(s, ai, &err) < 0) {
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "%s", err.msg);
        s->b.finished = true;
    }
    if (ai && !s->st->from && !s->st->ai)
        s->st->ai = ai; /* the harness's answer is kept */
    else if (ai)
        freeaddrinfo(ai);
    int64_t deadline = deadline_of(s);
    if (!s->b.finished && deadline >= 0 && !(s->b.timer = ash_loop_add_timer(s->st->loop, deadline, on_timer, s))) {
        clear(&s->b);
        snprintf(s->b.result.detail, sizeof s->b.result.detail, "no memory for the sample's timer");
        s->b.finished = true;
    }
    if (s->b.finished) {
        s->b.result.end = ash_now_ns();
        ash_inflight_deliver(&s->b);
    }
}

/* From the harness a resolved name is kept (the first answer); from a sandbox host or a
 * container it is looked up per sample, so a changed answer reaches the next sample. Returns 0 with
 * *ai (the state's, or the caller's to free: *own), -1 with why, 1 when the answer
 * comes later (on_resolved), by start + timeout at the latest. */
static int resolve(struct tcp_sample *s, struct addrinfo **ai, bool *own, char *why, size_t len)
{
    struct tcp_state *st = s->st;
    *own = st->from != NULL;
    if (st->ai && !st->from) {
        *ai = st->ai;
        return 0;
    }
    int64_t t = st->p->timeout_ns > 0 ? st->p->timeout_ns : ASH_NS_PER_S;
    struct ash_probe_query q = {st->from, st->dns, st->host, st->port, SOCK_STREAM};
    int r = ash_probe_resolve(st->loop, &q, s->b.result.start + t, on_resolved, s, &s->lookup, ai, why, len);
    if (r == 0 && !st->from)
        st->ai = *ai;
    return r;
}

/* "host:port", "[v6addr]:port". */
static int split_address(const char *addr, char **host, char **port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1])
        return -1;
    const char *h = addr;
    size_t hlen = (size_t)(colon - addr);
    if (h[0] == '[') {
        if (hlen < 3 || h[hlen - 1] != ']')
            return -1;
        h++;
        hlen -= 2;
    }
    *host = strndup(h, hlen);
    *port = strdup(colon + 1);
    if (!*host || !*port) {
        free(*host);
        free(*port);
        return -1;
    }
    return 0;
}

static int tcp_open(struct ash_ctx *ctx, const struct ash_probe_spec *p, void **state, ash_error_t *err)
{
    const struct ash_tcp_conf *c = p->conf;
    struct ash_probe_from *from;
    if (ash_probe_origin(ctx, p, &from, err) < 0)
        return -1;
    struct tcp_state *st = calloc(1, sizeof *st);
    if (!st) {
        ash_probe_from_free(from);
        return ash_error(err, ENOMEM, "probe '%s'", p->name);
    }
    st->p = p;
    st->from = from;
    st->dns = ctx->dns;
    st->loop = ctx->loop;
    st->inflight = (struct ash_inflight){.loop = ctx->loop, .clear = clear};
    char *address = c && c->address
                        ? ash_env_substitute(c->address, ctx->scenario ? ctx->scenario->dir : NULL, ctx->run_dir)
                        : NULL;
    int split = address ? split_address(address, &st->host, &st->port) : -1;
    free(address);
    if (split < 0) {
        ash_probe_from_free(st->from);
        free(st);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "probe '%s': address '%s' is not host:port", p->name,
                               c && c->address ? c->address : "");
    }
    /* A name is resolved by the first sample (never here: the loop must not wait on a
     * resolver); one that does not resolve yet is retried per sample and counts as a
     * failed sample, not as an error of the run. */
    *state = st;
    return 0;
}

static int tcp_sample(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state, int64_t start,
                      ash_sample_done_fn done, void *arg, ash_error_t *err)
{
    struct tcp_state *st = state;
    struct tcp_sample *s = calloc(1, sizeof *s);
    if (!s)
        return ash_error(err, ENOMEM, "probe '%s': sample", p->name);
    s->st = st;
    s->fd = -1;
    ash_inflight_start(&st->inflight, &s->b, start, done, arg);
    struct ash_sample *res = &s->b.result;

    struct addrinfo *ai = NULL;
    bool own = false;
    int r = resolve(s, &ai, &own, res->detail, sizeof res->detail);
    if (r < 0) {
        s->b.finished = true;
    } else if (r == 0) {
        int c = start_connect(s, ai, err);
        if (own)
            freeaddrinfo(ai);
        if (c < 0) {
            ash_inflight_release(&s->b);
            return ash_error_wrap(err, "probe '%s'", p->name);
        }
    } else {
        return 0; /* on_resolved goes on from here, timer and all */
    }
    return ash_inflight_arm(&s->b, deadline_of(s), on_timer, p->name, err);
}

static void tcp_close(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state)
{
    struct tcp_state *st = state;
    if (!st)
        return;
    ash_inflight_close(&st->inflight);
    if (st->ai)
        freeaddrinfo(st->ai);
    free(st->host);
    free(st->port);
    ash_probe_from_free(st->from);
    free(st);
}

const struct ash_probe_kind ash_probe_tcp = {
    .c = {.name = "tcp",
          .summary = "TCP connect; ok when the handshake completes",
          .fields = tcp_fields,
          .conf_size = sizeof(struct ash_tcp_conf),
          .shorthand = "address"},
    .open = tcp_open,
    .sample = tcp_sample,
    .close = tcp_close,
};
