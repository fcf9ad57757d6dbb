/* The revert contract: a kind that keeps its state on failure gets one retry, then discard (kinds.h);
 * and a fault on every container a label matches (all: true), injected and reverted once per container. */
#include "engine/fault_revert.h"
#include "env/target.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdlib.h>

static int revert_one(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, bool *retried, ash_error_t *err)
{
    const struct ash_fault_kind *k = f->kind;
    int ret = k->revert(ctx, f, state, err);
    if (ret == 0 || !k->discard)
        return ret;
    /* The state holds what is left: a transient failure gets a second try. */
    if (retried)
        *retried = true;
    ash_error_t again = {0};
    if (k->revert(ctx, f, state, &again) == 0)
        return 0;
    if (err)
        *err = again;
    k->discard(state);
    return -1;
}

/* all: true: one state per container, in the order they were injected. */
struct fanout {
    size_t n, injected;
    char **ids;
    void **states;
};

static const struct ash_target_ref *all_ref(const struct ash_fault_spec *f)
{
    for (const struct ash_field *fl = f->kind->c.fields; fl && fl->key; fl++) {
        if (fl->type != ASH_F_TARGET || (fl->flags & ASH_FIELD_DEPRECATED))
            continue;
        const struct ash_target_ref *ref = (const void *)((const char *)f->conf + fl->offset);
        if (ref->name && ref->all)
            return ref;
    }
    return NULL;
}

bool ash_fault_is_all(const struct ash_fault_spec *f)
{
    return all_ref(f) != NULL;
}

/* Revert each container's share, newest first; the fanout is freed. */
static int revert_all(struct ash_ctx *ctx, const struct ash_fault_spec *f, struct fanout *fo, bool *retried,
                      ash_error_t *err)
{
    int ret = 0;
    for (size_t i = fo->injected; i-- > 0;) {
        ash_error_t e = {0};
        ctx->target_member = fo->ids[i];
        if (revert_one(ctx, f, fo->states[i], retried, &e) < 0) {
            if (ret == 0 && err)
                ash_error(err, e.code, "container %.12s: %s", fo->ids[i], e.msg);
            ret = -1;
        }
        ctx->target_member = NULL;
    }
    for (size_t i = 0; i < fo->n; i++)
        free(fo->ids[i]);
    free(fo->ids);
    free(fo->states);
    free(fo);
    return ret;
}

int ash_fault_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    const struct ash_target_ref *ref = all_ref(f);
    if (!ref)
        return f->kind->inject(ctx, f, state, err);
    struct fanout *fo = calloc(1, sizeof *fo);
    if (!fo)
        return ash_error(err, ENOMEM, "fault '%s'", f->name);
    if (ash_target_container_ids(ref, &fo->ids, &fo->n, err) < 0) {
        free(fo);
        return -1;
    }
    if (!(fo->states = calloc(fo->n, sizeof *fo->states))) {
        ash_error(err, ENOMEM, "fault '%s'", f->name);
        revert_all(ctx, f, fo, NULL, NULL);
        return -1;
    }
    /* Each container as if the fault named it alone: its own records, its own state. */
    for (size_t i = 0; i < fo->n; i++) {
        ctx->target_member = fo->ids[i];
        int r = f->kind->inject(ctx, f, &fo->states[i], err);
        ctx->target_member = NULL;
        if (r < 0) {
            ash_error_wrap(err, "container %.12s (%zu of %zu with %s)", fo->ids[i], i + 1, fo->n, ref->name);
            revert_all(ctx, f, fo, NULL, NULL); /* the ones already harmed */
            return -1;
        }
        fo->injected++;
    }
    ash_ctx_eventf(ctx, ash_now_ns(), "fault-note", "%s: injected into each of the %zu running containers with %s",
                   f->name, fo->n, ref->name);
    *state = fo;
    return 0;
}

int ash_fault_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, bool *retried, ash_error_t *err)
{
    if (retried)
        *retried = false;
    if (ash_fault_is_all(f))
        return state ? revert_all(ctx, f, state, retried, err) : 0;
    return revert_one(ctx, f, state, retried, err);
}
