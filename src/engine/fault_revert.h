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

#endif
