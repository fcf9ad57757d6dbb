/* Service readiness through the probe kinds: `ready: {http|tcp|exec}` is one
 * sample of the matching probe, taken from the service's own host in sandbox
 * mode, asynchronously on the loop. Reusing the probes keeps one
 * implementation of "is this endpoint answering" and never blocks the loop.
 * An answer on a local address counts only if the service answered it: the
 * listener must belong to the service's process tree (engine/ready_owner.c),
 * or a previous run's listener on a fixed port would pass for this one's. */
#include "engine/ready.h"
#include "engine/ready_owner.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check {
    struct ash_ctx *ctx;
    struct ash_probe_spec spec;
    void *conf; /* the probe kind's conf, its one field borrowed from the service's ready */
    void *state;
    const struct ash_service_spec *svc;
    void (*done)(void *, bool, const char *);
    void *done_arg;
};

static int64_t close_later(ash_loop *loop, int64_t now, void *data)
{
    struct check *c = data;
    c->spec.kind->close(c->ctx, &c->spec, c->state);
    free(c->conf);
    free(c);
    return ASH_TIMER_DONE;
}

/* The probe kind `name`'s conf with only its shorthand field (http's url, tcp's
 * address, exec's command) set to *value (borrowed, `size` bytes: a char * or a
 * struct ash_strlist), built from the kind's field table: the engine knows no
 * kind's conf struct, so a probe kind changes without touching it. NULL when the
 * kind, or a shorthand field of that size, is not there (or no memory). */
static void *shorthand_conf(const struct ash_probe_kind *k, const void *value, size_t size)
{
    if (!k || !k->c.shorthand)
        return NULL;
    for (const struct ash_field *f = k->c.fields; f && f->key; f++) {
        if (strcmp(f->key, k->c.shorthand) != 0)
            continue;
        size_t want = f->type == ASH_F_STRING                             ? sizeof(char *)
                      : f->type == ASH_F_ARGV || f->type == ASH_F_STRLIST ? sizeof(struct ash_strlist)
                                                                          : 0;
        if (want != size || f->offset + size > k->c.conf_size)
            return NULL;
        void *conf = calloc(1, k->c.conf_size);
        if (!conf)
            return NULL;
        if (k->c.defaults)
            k->c.defaults(conf);
        memcpy((char *)conf + f->offset, value, size);
        return conf;
    }
    return NULL;
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
        c->conf = shorthand_conf(c->spec.kind, &r->http, sizeof r->http);
    } else if (r->tcp) {
        c->spec.kind = ash_probe_kind_find("tcp");
        c->conf = shorthand_conf(c->spec.kind, &r->tcp, sizeof r->tcp);
    } else {
        c->spec.kind = ash_probe_kind_find("exec");
        c->conf = shorthand_conf(c->spec.kind, &r->exec, sizeof r->exec);
        c->spec.timeout_ns = 5 * ASH_NS_PER_S;
    }
    c->spec.conf = c->conf;
    ash_error_t err = {0};
    if (!c->conf || c->spec.kind->open(ctx, &c->spec, &c->state, &err) < 0) {
        free(c->conf);
        free(c);
        return -1;
    }
    if (c->spec.kind->sample(ctx, &c->spec, c->state, ash_now_ns(), sample_done, c, &err) < 0) {
        c->spec.kind->close(ctx, &c->spec, c->state);
        free(c->conf);
        free(c);
        return -1;
    }
    return 0;
}
