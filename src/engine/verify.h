/* Post-recovery checks (`verify:`): run each command after the observation
 * phase, before teardown, and describe the outcomes for the report. */
#ifndef ASH_ENGINE_VERIFY_H
#define ASH_ENGINE_VERIFY_H

#include <jansson.h>

#include "kinds.h"

/* Run every check of ctx->scenario in order on ctx->loop (the loop keeps
 * serving probes and detectors meanwhile). Each check's output goes to
 * RUN_DIR/verify/NAME.log. Returns a JSON array, one object per check:
 * {name, command, expect, exit, outcome: pass|fail, met, duration_ms, at_ms,
 * output (the first lines), error}; `t_start` anchors at_ms. Timeline events
 * "verify" are added through ctx. NULL only when out of memory. */
json_t *ash_verify_run(struct ash_ctx *ctx, int64_t t_start);

/* True when every check in the array met its expectation. */
bool ash_verify_all_met(const json_t *results);

#endif
