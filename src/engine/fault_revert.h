/* The revert contract between the engine and a fault kind (kinds.h, `revert`). */
#ifndef ASH_ENGINE_FAULT_REVERT_H
#define ASH_ENGINE_FAULT_REVERT_H

#include "kinds.h"

#include <stdbool.h>

/* Revert f's state by the contract: one retry for a kind that keeps its state on
 * failure, then discard. The state is gone on return, whatever it returns. 0 when
 * undone; -1 with err (the last failure) when something is left for the journal's
 * undo records. *retried (optional) says a first attempt failed. */
int ash_fault_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, bool *retried, ash_error_t *err);

/* Inject f: its kind's inject, or, when its target is a label with all: true, the
 * kind's inject once per running container with the label (ctx->target_member set to
 * each; the first failure reverts those already harmed). The state is then the
 * engine's own: only ash_fault_revert may take it. */
int ash_fault_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err);
/* f's target selects every container with a label (its state is not the kind's own). */
bool ash_fault_is_all(const struct ash_fault_spec *f);

#endif
