/* What kinds call on their struct ash_ctx: events, and their targets. Kept apart from
 * the registry so that one kind links with this file and not with every other kind. */
#include "kinds.h"
#include "env/target.h"
#include "sys/clock.h"

#include <stdarg.h>
#include <stdio.h>

/* To the timeline as `event`, or with fail set to ctx->fail (the run is aborted). */
static void ctx_say(struct ash_ctx *ctx, bool fail, int64_t t, const char *event, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static void ctx_say(struct ash_ctx *ctx, bool fail, int64_t t, const char *event, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (fail && ctx && ctx->fail)
        ctx->fail(ctx, buf);
    else if (ctx && ctx->event)
        ctx->event(ctx, t, event, buf);
}

void ash_ctx_harm_began(struct ash_ctx *ctx, int64_t t)
{
    if (ctx->harm_began == 0)
        ctx->harm_began = t;
}

void ash_ctx_eventf(struct ash_ctx *ctx, int64_t t, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx_say(ctx, false, t, event, fmt, ap);
    va_end(ap);
}

void ash_ctx_fail(struct ash_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx_say(ctx, true, ash_now_ns(), "error", fmt, ap);
    va_end(ap);
}

static int ctx_target_resolve(struct ash_ctx *ctx, const struct ash_target_ref *ref, struct ash_target *out,
                              ash_error_t *err);

/* Is ref one of the fault's own target fields (not a peer it only looks up)? */
static bool is_target_field(const struct ash_fault_spec *f, const struct ash_target_ref *ref)
{
    for (const struct ash_field *fl = f->kind ? f->kind->c.fields : NULL; fl && fl->key; fl++) {
        if (fl->type != ASH_F_TARGET)
            continue;
        const struct ash_target_ref *own = (const void *)((const char *)f->conf + fl->offset);
        /* The field itself, or a copy of it (a kind may resolve a copy: same name string). */
        if (own == ref || (own->name && own->name == ref->name))
            return true;
    }
    return false;
}

/* What a target is, as the report keeps it: enough to find it again by hand. */
static void record_harmed(json_t *harmed, const struct ash_target *t, const char *named)
{
    json_t *id = ash_target_identity(t);
    json_t *rec = json_object();
    const char *keys[] = {"type", "name", "container", "pod", "namespace"};
    for (size_t i = 0; id && rec && i < sizeof keys / sizeof *keys; i++)
        if (json_is_string(json_object_get(id, keys[i])))
            json_object_set(rec, keys[i], json_object_get(id, keys[i]));
    /* As the scenario named it (a member of all: true is resolved by its id alone). */
    if (rec && named)
        json_object_set_new(rec, "name", json_string(named));
    const char *cid = json_string_value(json_object_get(id, "id"));
    if (rec && cid)
        json_object_set_new(rec, "id", json_sprintf("%.12s", cid));
    json_t *pid = json_object_get(id, "pid");
    if (rec && json_is_integer(pid) && !cid)
        json_object_set(rec, "pid", pid);
    /* A kind that resolves its target twice harms it once. */
    size_t i;
    json_t *have;
    json_array_foreach(harmed, i, have) if (rec && json_equal(have, rec))
    {
        json_decref(rec);
        rec = NULL;
    }
    if (rec)
        json_array_append_new(harmed, rec);
    json_decref(id);
}

int ash_ctx_target(struct ash_ctx *ctx, const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err)
{
    bool record = ctx->harmed && ctx->injecting && is_target_field(ctx->injecting, ref);
    int r = ctx_target_resolve(ctx, ref, out, err);
    if (r == 0 && record)
        record_harmed(ctx->harmed, out, ref->name);
    return r;
}

static int ctx_target_resolve(struct ash_ctx *ctx, const struct ash_target_ref *ref, struct ash_target *out,
                              ash_error_t *err)
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
