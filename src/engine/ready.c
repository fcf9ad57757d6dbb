/* Service readiness through the probe kinds: `ready: {http|tcp|exec}` is one
 * sample of the matching probe, taken from the service's own host in sandbox
 * mode, asynchronously on the loop. Reusing the probes keeps one
 * implementation of "is this endpoint answering" and never blocks the loop.
 * An answer on a local address counts only if the service answered it: the
 * listener must belong to the service's process tree (engine/ready_owner.c),
 * or a previous run's listener on a fixed port would pass for this one's. */
#include "engine/ready.h"
#include "engine/ready_owner.h"
#include "probes/probe_confs.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check {
    struct ash_ctx *ctx;
    struct ash_probe_spec spec;
    union {
        struct ash_http_conf http;
        struct ash_tcp_conf tcp;
        struct ash_exec_probe_conf exec;
    } conf;
    void *state;
    const struct ash_service_spec *svc;
    void (*done)(void *, bool, const char *);
    void *done_arg;
};

static int64_t close_later(ash_loop *loop, int64_t now, void *data)
{
    struct check *c = data;
    c->spec.kind->close(c->ctx, &c->spec, c->state);
    free(c);
    return ASH_TIMER_DONE;
}

static void sample_done(void *arg, const struct ash_sample *s)
{
    struct check *c = arg;
    char why[300] = "";
    bool ok = s->ok;
    if (ok)
        ok = ash_ready_owner_check(c->ctx, c->svc, why, sizeof why);
    else
        snprintf(why, sizeof why, "%s", s->detail);
    c->done(c->done_arg, ok, why);
    /* Not from inside the kind's own completion: close on the next turn. */
    if (!ash_loop_add_timer(c->ctx->loop, ash_now_ns(), close_later, c))
        close_later(c->ctx->loop, 0, c);
}

int ash_engine_ready_check(void *arg, const struct ash_service_spec *svc, void (*done)(void *, bool, const char *),
                           void *done_arg)
{
    struct ash_ctx *ctx = arg;
    const struct ash_ready_spec *r = &svc->ready;
    struct check *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->ctx = ctx;
    c->svc = svc;
    c->done = done;
    c->done_arg = done_arg;
    c->spec.name = svc->name;
    c->spec.from = svc->host;
    c->spec.timeout_ns = ASH_NS_PER_S;
    c->spec.every_ns = 50 * ASH_NS_PER_MS;
    if (r->http) {
        c->spec.kind = ash_probe_kind_find("http");
        c->conf.http.url = r->http;
    } else if (r->tcp) {
        c->spec.kind = ash_probe_kind_find("tcp");
        c->conf.tcp.address = r->tcp;
    } else {
        c->spec.kind = ash_probe_kind_find("exec");
        c->conf.exec.command = r->exec;
        c->spec.timeout_ns = 5 * ASH_NS_PER_S;
    }
    c->spec.conf = &c->conf;
    ash_error_t err = {0};
    if (!c->spec.kind || c->spec.kind->open(ctx, &c->spec, &c->state, &err) < 0) {
        free(c);
        return -1;
    }
    if (c->spec.kind->sample(ctx, &c->spec, c->state, ash_now_ns(), sample_done, c, &err) < 0) {
        c->spec.kind->close(ctx, &c->spec, c->state);
        free(c);
        return -1;
    }
    return 0;
}
