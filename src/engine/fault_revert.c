/* The revert contract: a kind that keeps its state on failure gets one retry, then discard (kinds.h). */
#include "engine/fault_revert.h"

int ash_fault_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, bool *retried, ash_error_t *err)
{
    const struct ash_fault_kind *k = f->kind;
    if (retried)
        *retried = false;
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
