/* A container's log stream through the engine's API, inside the event loop (curl multi).
 *
 * GET /containers/ID/logs?follow=1&stdout=1&stderr=1&since=NOW: the engine sends what
 * the container writes from now on. Without a tty each chunk is framed (8 bytes: the
 * stream, three zeros, a big-endian length, then that many bytes); with one it is the
 * raw output. With timestamps=1 the engine puts its own stamp before each line
 * (RFC 3339 with nanoseconds, "2026-12-06T05:22:41.123456789Z "): when dockerd read
 * the line from the container's stdout/stderr, before it was stored and sent on. That
 * is the line's time here, not when it arrived (a busy engine or a late event loop
 * delays arrival, never the stamp). The stamp is wall-clock time: it is put on the
 * run's CLOCK_MONOTONIC through the two clocks read back to back as the chunk that
 * carries it arrives, so the only error is a step of the wall clock between the
 * engine's stamp and that arrival (and, for an engine on another machine, the
 * difference of the two machines' clocks: a stamp later than its arrival, which no
 * engine on this machine can give, is taken as its arrival). A line without a stamp
 * the parser reads keeps its arrival time. When the container stops the stream ends;
 * it is followed again once the container runs (a restart by a fault, a remediation
 * or its restart policy), from just after the last line it sent. */
#include "detect/container_log.h"
#include "detect/webhook_body.h"
#include "env/docker.h"
#include "env/target.h"
#include "probes/curl_loop.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_BYTES 4096            /* a longer line is matched in pieces of this size */
#define RETRY_NS (200 * ASH_NS_PER_MS) /* how often a stopped container is asked whether it runs again */

struct ash_clog {
    struct ash_ctx *ctx;
    ash_curl_loop *cl;
    CURL *easy;
    bool running;
    bool framed;
    ash_clog_line_fn fn;
    void *arg;
    char name[256];
    char id[80];
    char *endpoint;
    ash_timer *retry;
    /* Where the next stream starts (wall clock): just after the last line (its engine
     * stamp, or its arrival when it had none), else where this one started. Not when
     * this one was seen to end: that can be noticed late (a busy loop), and the lines
     * the container printed meanwhile (its start-up after a restart) would be skipped. */
    struct timespec from;
    uint8_t hdr[8];
    size_t hdr_len;
    uint32_t left; /* payload bytes of the current frame still to come */
    char line[LINE_MAX_BYTES + 1];
    size_t line_len;
    bool cont;                        /* the line so far was cut at LINE_MAX_BYTES: no stamp before this piece */
    int64_t stamp;                    /* the current line's engine stamp on CLOCK_MONOTONIC, or -1 */
    int64_t anchor_wall, anchor_mono; /* the two clocks as the last chunk arrived */
};

/* The next stream starts just after wall (ns, CLOCK_REALTIME): what came before is read. */
static void start_after(struct ash_clog *l, int64_t wall)
{
    l->from = (struct timespec){.tv_sec = (wall + 1) / ASH_NS_PER_S, .tv_nsec = (wall + 1) % ASH_NS_PER_S};
}

/* "2026-12-06T05:22:41.123456789Z " at the start of the line: the engine's stamp on
 * CLOCK_MONOTONIC (never later than arrived), and where the line itself starts. */
static size_t engine_stamp(struct ash_clog *l, int64_t arrived, int64_t *stamp)
{
    const char *sp = memchr(l->line, ' ', l->line_len < 40 ? l->line_len : 40);
    char s[41];
    int64_t wall, prec;
    if (!sp)
        return 0;
    memcpy(s, l->line, (size_t)(sp - l->line));
    s[sp - l->line] = '\0';
    if (!ash_wh_rfc3339(s, &wall, &prec))
        return 0;
    start_after(l, wall);
    int64_t t = l->anchor_mono + (wall - l->anchor_wall);
    *stamp = t < arrived ? t : arrived;
    return (size_t)(sp - l->line) + 1;
}

/* A line (or a LINE_MAX_BYTES piece of one) that arrived at t; whole says whether it ended. */
static void emit(struct ash_clog *l, int64_t t, bool whole)
{
    if (l->line_len && l->line[l->line_len - 1] == '\r')
        l->line_len--;
    l->line[l->line_len] = '\0';
    size_t skip = 0;
    if (!l->cont) {
        l->stamp = -1;
        skip = engine_stamp(l, t, &l->stamp);
        if (!skip) /* no stamp to go on: the next stream starts after its arrival */
            start_after(l, l->anchor_wall);
    }
    l->fn(l->arg, l->line + skip, l->stamp >= 0 ? l->stamp : t, t);
    l->line_len = 0;
    l->cont = !whole;
}

static void text(struct ash_clog *l, const char *p, size_t n, int64_t t)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            emit(l, t, true);
            continue;
        }
        l->line[l->line_len++] = p[i];
        if (l->line_len == LINE_MAX_BYTES)
            emit(l, t, false);
    }
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct ash_clog *l = arg;
    size_t n = size * nmemb;
    struct timespec wall;
    int64_t t0 = ash_now_ns();
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t t = (t0 + ash_now_ns()) / 2;
    l->anchor_mono = t;
    l->anchor_wall = (int64_t)wall.tv_sec * ASH_NS_PER_S + wall.tv_nsec;
    if (!l->framed) {
        text(l, ptr, n, t);
        return n;
    }
    for (size_t i = 0; i < n;) {
        if (l->left == 0) {
            l->hdr[l->hdr_len++] = (uint8_t)ptr[i++];
            if (l->hdr_len == 8) {
                l->left = (uint32_t)l->hdr[4] << 24 | (uint32_t)l->hdr[5] << 16 | (uint32_t)l->hdr[6] << 8 | l->hdr[7];
                l->hdr_len = 0;
            }
            continue;
        }
        size_t k = n - i < l->left ? n - i : l->left;
        text(l, ptr + i, k, t);
        i += k;
        l->left -= (uint32_t)k;
    }
    return n;
}

static int follow(struct ash_clog *l, const struct timespec *since, ash_error_t *err);

/* Stopped: is it running again? Then follow it from just after its last line. */
static int64_t retry_due(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct ash_clog *l = data;
    struct ash_docker *d = NULL;
    json_t *j = NULL;
    char path[200];
    snprintf(path, sizeof path, "/containers/%s/json", l->id);
    bool runs = ash_docker_open(l->endpoint, &d, NULL) == 0 && ash_docker_call(d, "GET", path, NULL, &j, NULL) == 0 &&
                json_is_true(json_object_get(json_object_get(j, "State"), "Running"));
    json_decref(j);
    ash_docker_close(d);
    if (!runs)
        return now + RETRY_NS;
    l->retry = NULL;
    ash_error_t e = {0};
    struct timespec from = l->from;
    if (follow(l, &from, &e) < 0) {
        ash_ctx_eventf(l->ctx, now, "warning", "log stream of container '%s' cannot be followed again: %s", l->name,
                       e.msg);
        return ASH_TIMER_DONE;
    }
    ash_ctx_eventf(l->ctx, now, "log-stream", "container '%s' runs again: its log followed from where it stopped",
                   l->name);
    return ASH_TIMER_DONE;
}

static void on_done(CURL *easy, CURLcode result, void *arg)
{
    struct ash_clog *l = arg;
    l->running = false;
    if (l->line_len)
        emit(l, ash_now_ns(), true);
    l->cont = false;
    curl_easy_cleanup(easy);
    l->easy = NULL;
    l->hdr_len = 0;
    l->left = 0;
    ash_ctx_eventf(l->ctx, ash_now_ns(), "log-stream",
                   "log stream of container '%s' ended (%s); followed again when it runs", l->name,
                   result == CURLE_OK ? "the container stopped" : curl_easy_strerror(result));
    l->retry = ash_loop_add_timer(l->ctx->loop, ash_now_ns() + RETRY_NS, retry_due, l);
    if (!l->retry) /* its log would never be followed again: a detection lost without a word */
        ash_ctx_fail(l->ctx, "log of container '%s': out of memory for the timer that follows it again", l->name);
}

static int follow(struct ash_clog *l, const struct timespec *since, ash_error_t *err)
{
    struct ash_docker *d = NULL;
    char path[300];
    snprintf(path, sizeof path, "/containers/%s/logs?follow=1&stdout=1&stderr=1&timestamps=1&since=%lld.%09ld", l->id,
             (long long)since->tv_sec, since->tv_nsec);
    if (ash_docker_open(l->endpoint, &d, err) < 0)
        return -1;
    l->from = *since;
    l->easy = ash_docker_stream(d, path);
    ash_docker_close(d);
    if (!l->easy)
        return ash_error(err, ENOMEM, "log detector");
    curl_easy_setopt(l->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(l->easy, CURLOPT_WRITEDATA, l);
    if (ash_curl_loop_add(l->cl, l->easy, on_done, l, err) < 0) {
        curl_easy_cleanup(l->easy);
        l->easy = NULL;
        return -1;
    }
    l->running = true;
    return 0;
}

/* The container's id and whether it has a tty, from the engine. */
static int look_up(struct ash_docker *d, const struct ash_target *t, char *id, size_t len, bool *tty, ash_error_t *err)
{
    json_t *ident = ash_target_identity(t);
    snprintf(id, len, "%s", json_string_value(json_object_get(ident, "id")) ?: "");
    json_decref(ident);
    if (!id[0])
        return ash_error(err, EINVAL, "'%s' is not a container", t->name);
    char path[200];
    snprintf(path, sizeof path, "/containers/%s/json", id);
    json_t *j = NULL;
    if (ash_docker_call(d, "GET", path, NULL, &j, err) < 0)
        return ash_error_wrap(err, "container '%s'", t->name);
    *tty = json_is_true(json_object_get(json_object_get(j, "Config"), "Tty"));
    json_decref(j);
    return 0;
}

int ash_clog_start(struct ash_ctx *ctx, const struct ash_target_ref *ref, ash_clog_line_fn fn, void *arg,
                   struct ash_clog **out, ash_error_t *err)
{
    struct ash_target t = {0};
    struct ash_docker *d = NULL;
    struct ash_clog *l = calloc(1, sizeof *l);
    if (!l)
        return ash_error(err, ENOMEM, "log detector");
    *l = (struct ash_clog){.ctx = ctx, .fn = fn, .arg = arg};
    snprintf(l->name, sizeof l->name, "%s", ref->name);
    bool tty = false;
    if (ref->endpoint && !(l->endpoint = strdup(ref->endpoint))) {
        ash_error(err, ENOMEM, "log detector");
        goto fail;
    }
    if (ash_ctx_target(ctx, ref, &t, err) < 0 || ash_docker_open(ref->endpoint, &d, err) < 0 ||
        look_up(d, &t, l->id, sizeof l->id, &tty, err) < 0)
        goto fail;
    l->framed = !tty;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (ash_curl_loop_ref(ctx->loop, &l->cl, err) < 0 || follow(l, &now, err) < 0)
        goto fail;
    ash_docker_close(d);
    ash_target_release(&t);
    *out = l;
    return 0;
fail:
    ash_docker_close(d);
    ash_target_release(&t);
    ash_clog_stop(l);
    return ash_error_wrap(err, "log of container '%s'", ref->name);
}

void ash_clog_stop(struct ash_clog *l)
{
    if (!l)
        return;
    if (l->retry)
        ash_loop_cancel_timer(l->ctx->loop, l->retry);
    if (l->running)
        ash_curl_loop_remove(l->cl, l->easy);
    if (l->easy)
        curl_easy_cleanup(l->easy);
    if (l->cl)
        ash_curl_loop_unref(l->cl);
    free(l->endpoint);
    free(l);
}
