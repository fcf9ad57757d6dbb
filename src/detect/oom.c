/* Detector `oom`: the kernel OOM-killed a process of a host's or a service's
 * cgroup, as a memory-exhaustion fault observed it (the "oom-kill" timeline
 * event, stamped when the kernel's notification became readable). */
#include "kinds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oom_conf {
    char *host;
    char *service;
};

static const struct ash_field oom_fields[] = {
    {"host", ASH_F_STRING, offsetof(struct oom_conf, host), 0, "sandbox host whose cgroup is watched"},
    {"service", ASH_F_STRING, offsetof(struct oom_conf, service), 0, "service whose cgroup is watched"},
    {NULL}};

static int oom_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct oom_conf *c = conf;
    if (!c->host == !c->service)
        return ash_node_fail(node, err, "oom needs exactly one of 'host' or 'service'");
    if (c->host && sc->n_hosts == 0) {
        ash_node v = ash_map_get(node, "host");
        return ash_node_fail(&v, err,
                             "'host' needs sandbox mode: this scenario has no 'hosts:' (in host mode name a "
                             "'service' of the scenario)");
    }
    if (c->host && !ash_scenario_host(sc, c->host)) {
        ash_node v = ash_map_get(node, "host");
        return ash_node_fail(&v, err, "no host named '%s' in this scenario", c->host);
    }
    if (c->service && !ash_scenario_service(sc, c->service)) {
        ash_node v = ash_map_get(node, "service");
        return ash_node_fail(&v, err, "no service named '%s' in this scenario", c->service);
    }
    return 0;
}

struct oom_state {
    char prefix[160]; /* "host NAME:" as memory-exhaustion writes its details */
};

static int oom_start(struct ash_ctx *ctx, const struct ash_detector_spec *d, void **state, ash_error_t *err)
{
    (void)ctx;
    const struct oom_conf *c = d->conf;
    struct oom_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "detector");
    snprintf(st->prefix, sizeof st->prefix, "%s %s:", c->host ? "host" : "service", c->host ? c->host : c->service);
    *state = st;
    return 0;
}

static void oom_stop(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state)
{
    (void)ctx;
    (void)d;
    free(state);
}

static void oom_event(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state, const char *event,
                      const char *detail, int64_t t)
{
    struct oom_state *st = state;
    if (strcmp(event, "oom-kill") == 0 && detail && strncmp(detail, st->prefix, strlen(st->prefix)) == 0)
        ctx->detect(ctx, d, t, detail);
}

const struct ash_detector_kind ash_detector_oom = {
    .c = {.name = "oom",
          .summary = "the kernel OOM-killed a process of a host or service (observed by memory-exhaustion)",
          .fields = oom_fields,
          .conf_size = sizeof(struct oom_conf),
          .validate = oom_validate},
    .start = oom_start,
    .stop = oom_stop,
    .on_event = oom_event,
};
