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
    struct ash_target_ref one;
    char id[128];
    if (ref->all && ctx->target_member) {
        snprintf(id, sizeof id, "%s", ctx->target_member); /* a container id */
        one = *ref;
        one.all = false;
        one.name = id;
        ref = &one;
    }
    if (ctx->target)
        return ctx->target(ctx, ref, out, err);
    /* No resolver of its own (a unit test's ctx): what the ctx itself holds. */
    return ash_target_resolve(ctx->sandbox, ctx->env, ref, out, err);
}

void ash_describe_object(json_t *out, const char *type, const char *name, const char *where, const char *journal,
                         const char *fmt, ...)
{
    char detail[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    json_t *objs = json_object_get(out, "objects");
    if (!objs) {
        objs = json_array();
        if (!objs || json_object_set_new(out, "objects", objs) < 0)
            return;
    }
    json_array_append_new(objs, json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", type, "name", name, "where",
                                          where ? where : "root", "detail", detail, "journal",
                                          journal ? json_string(journal) : json_null()));
}

const char *ash_describe_join(char *buf, size_t len, const struct ash_strlist *l, const char *sep)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; l && i < l->n && n < len; i++) {
        int w = snprintf(buf + n, len - n, "%s%s", i ? sep : "", l->v[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return buf;
}
