/* Probe `tcp`: a non-blocking connect per sample; ok when the handshake completes. */
#include "env/env.h"
#include "kinds.h"
#include "probes/probe_confs.h"
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
    struct addrinfo *ai; /* NULL until a resolution succeeds */
    struct tcp_sample *inflight;
};

struct tcp_sample {
    struct tcp_state *st;
    int fd;
    ash_timer *timer; /* the timeout, or the deferred delivery of a result known at once */
    bool finished;    /* result below is final, waiting for delivery */
    struct ash_sample result;
    ash_sample_done_fn done;
    void *arg;
    struct tcp_sample *prev, *next;
};

static void unlink_sample(struct tcp_sample *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->st->inflight = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

static void release(struct tcp_sample *s)
{
    if (s->timer)
        ash_loop_cancel_timer(s->st->loop, s->timer);
    if (s->fd >= 0) {
        ash_loop_del_fd(s->st->loop, s->fd);
        close(s->fd);
    }
    unlink_sample(s);
    free(s);
}

/* Free first, report last: done may close the probe. */
static void deliver(struct tcp_sample *s)
{
    struct ash_sample out = s->result;
    ash_sample_done_fn done = s->done;
    void *arg = s->arg;
    release(s);
    done(arg, &out);
}

static int64_t on_timer(ash_loop *loop, int64_t now, void *data)
{
    struct tcp_sample *s = data;
    s->timer = NULL; /* freed by the loop when we return */
    if (!s->finished) {
        s->result.end = ash_now_ns();
        s->result.ok = false;
        int64_t t = s->st->p->timeout_ns;
        if (t % ASH_NS_PER_MS == 0)
            snprintf(s->result.detail, sizeof s->result.detail, "timeout after %lld ms",
                     (long long)(t / ASH_NS_PER_MS));
        else
            snprintf(s->result.detail, sizeof s->result.detail, "timeout after %.3f ms", ash_ns_to_ms(t));
    }
    deliver(s);
    return ASH_TIMER_DONE;
}

static void on_writable(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct tcp_sample *s = data;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    s->result.end = ash_now_ns();
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr == 0 && (events & (EPOLLERR | EPOLLHUP)))
        soerr = ECONNRESET;
    s->result.ok = soerr == 0;
    if (soerr)
        snprintf(s->result.detail, sizeof s->result.detail, "connect: %s", strerror(soerr));
    s->finished = true;
    deliver(s);
}

/* From the harness a resolved name is kept; from a sandbox host it is looked
 * up per sample (a table lookup), so a changed answer reaches the next sample. */
static int resolve(struct tcp_state *st, char *why, size_t len)
{
    if (st->ai && !st->from)
        return 0;
    if (st->ai) {
        freeaddrinfo(st->ai);
        st->ai = NULL;
    }
    return ash_probe_resolve(st->from, st->dns, st->host, st->port, SOCK_STREAM, &st->ai, why, len);
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
    /* Resolve once now; a name that does not resolve yet is retried per sample
     * and counts as a failed sample, not as an error of the run. */
    char ignored[160];
    resolve(st, ignored, sizeof ignored);
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
    *s = (struct tcp_sample){.st = st, .fd = -1, .done = done, .arg = arg, .result = {.start = start}};
    s->next = st->inflight;
    if (s->next)
        s->next->prev = s;
    st->inflight = s;

    int64_t deadline = p->timeout_ns > 0 ? start + p->timeout_ns : -1;
    if (resolve(st, s->result.detail, sizeof s->result.detail) < 0) {
        s->finished = true;
    } else {
        s->fd = ash_probe_socket(st->from, st->ai->ai_family, st->ai->ai_socktype | SOCK_NONBLOCK, st->ai->ai_protocol);
        if (s->fd < 0) {
            snprintf(s->result.detail, sizeof s->result.detail, "socket: %s", strerror(errno));
            s->finished = true;
        } else if (connect(s->fd, st->ai->ai_addr, st->ai->ai_addrlen) == 0) {
            s->result.ok = true;
            s->finished = true;
        } else if (errno != EINPROGRESS) {
            snprintf(s->result.detail, sizeof s->result.detail, "connect: %s", strerror(errno));
            s->finished = true;
        } else if (ash_loop_add_fd(st->loop, s->fd, EPOLLOUT, on_writable, s, err) < 0) {
            close(s->fd);
            s->fd = -1;
            release(s);
            return ash_error_wrap(err, "probe '%s'", p->name);
        }
    }
    if (s->finished) {
        /* Known already; still reported from the loop, as the interface promises. */
        s->result.end = ash_now_ns();
        deadline = 0;
    }
    if (deadline >= 0) {
        s->timer = ash_loop_add_timer(st->loop, deadline, on_timer, s);
        if (!s->timer) {
            release(s);
            return ash_error(err, ENOMEM, "probe '%s': timer", p->name);
        }
    }
    return 0;
}

static void tcp_close(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state)
{
    struct tcp_state *st = state;
    if (!st)
        return;
    while (st->inflight)
        release(st->inflight);
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
