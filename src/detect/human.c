/* Detector `human`: a person noticed. Someone runs `aftershock mark detected` (from
 * another terminal, over the run's control socket) and the mark's send time is the
 * detection: a game day's TTD is when the on-call engineer said so. */
#include "kinds.h"

#include <stdlib.h>
#include <string.h>

struct human_conf {
    char *who;
};

static const struct ash_field human_fields[] = {{"who", ASH_F_STRING, offsetof(struct human_conf, who), 0,
                                                 "who is expected to notice (shown in the report), e.g. \"on-call\""},
                                                {NULL}};

static int human_start(struct ash_ctx *ctx, const struct ash_detector_spec *d, void **state, ash_error_t *err)
{
    (void)ctx;
    (void)d;
    (void)err;
    *state = NULL;
    return 0;
}

static void human_stop(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state)
{
    (void)ctx;
    (void)d;
    (void)state;
}

static void human_on_event(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state, const char *event,
                           const char *detail, int64_t t)
{
    (void)state;
    if (strcmp(event, "mark-detected") != 0)
        return;
    const struct human_conf *c = d->conf;
    char what[300];
    snprintf(what, sizeof what, "marked detected%s%s (%s)", c->who ? " by " : "", c->who ? c->who : "",
             detail ? detail : "");
    ctx->detect(ctx, d, t, what);
}

const struct ash_detector_kind ash_detector_human = {
    .c = {.name = "human",
          .summary = "a person runs 'aftershock mark detected' from another terminal; TTD is the mark",
          .fields = human_fields,
          .conf_size = sizeof(struct human_conf),
          .shorthand = "who"},
    .start = human_start,
    .stop = human_stop,
    .on_event = human_on_event,
};
