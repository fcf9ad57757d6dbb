/* What kinds call on their struct ash_ctx: events, and their targets. Kept apart from
 * the registry so that one kind links with this file and not with every other kind. */
#include "kinds.h"
#include "env/target.h"

#include <stdarg.h>
#include <stdio.h>

void ash_ctx_eventf(struct ash_ctx *ctx, int64_t t, const char *event, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (ctx && ctx->event)
        ctx->event(ctx, t, event, buf);
}

int ash_ctx_target(struct ash_ctx *ctx, const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err)
{
    if (ctx->target)
        return ctx->target(ctx, ref, out, err);
    /* No resolver of its own (a unit test's ctx): what the ctx itself holds. */
    return ash_target_resolve(ctx->sandbox, ctx->env, ref, out, err);
}
