/* Detector `oom`: the kernel OOM-killed a process of a host's or a service's
 * cgroup, as a memory-exhaustion fault observed it (the "oom-kill" timeline
 * event, stamped when the kernel's notification became readable). */
#include "kinds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oom_conf {
    struct ash_target_ref target;
};

static const struct ash_field oom_fields[] = {
    {"target", ASH_F_TARGET, offsetof(struct oom_conf, target), ASH_FIELD_REQUIRED,
     "host:NAME, service:NAME, container:NAME, process:... or cgroup:PATH whose cgroup a memory-exhaustion fault "
     "watches",
     .needs = ASH_CAP_CGROUP},
    ASH_TARGET_OLD_HOST_FIELD(struct oom_conf, target),
    ASH_TARGET_OLD_SERVICE_FIELD(struct oom_conf, target),
    {NULL}};

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
    /* As memory-exhaustion names its target in its details: "TYPE NAME:". */
    snprintf(st->prefix, sizeof st->prefix, "%s %s:", ash_target_type_names[c->target.type], c->target.name);
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
          .conf_size = sizeof(struct oom_conf)}, /* the scenario checks the target */
    .start = oom_start,
    .stop = oom_stop,
    .on_event = oom_event,
};
