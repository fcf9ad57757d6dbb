/* Guardrails (`guardrails:`): conditions that end a run at once. The engine feeds them
 * samples and is called back when one trips; it then aborts (every fault reverted). */
#ifndef ASH_ENGINE_GUARDRAIL_H
#define ASH_ENGINE_GUARDRAIL_H

#include "kinds.h"

struct ash_guard;

/* A guardrail became true at t_true (CLOCK_MONOTONIC ns; the moment the harness could
 * know it): `why` says what was seen ("4 of 6 samples failed over 200 ms"). Called once. */
typedef void (*ash_guard_trip_fn)(void *arg, const struct ash_guardrail_spec *g, const char *why, int64_t t_true);

/* Arm the run's guardrails: max_duration counts from t_start; the others wait for
 * ash_guard_activate. NULL *out when the scenario has none. */
int ash_guard_new(struct ash_ctx *ctx, int64_t t_start, ash_guard_trip_fn trip, void *arg, struct ash_guard **out,
                  ash_error_t *err);
/* The fault phase began at t0: probe windows count from here, commands start running. */
void ash_guard_activate(struct ash_guard *g, int64_t t0);
/* A judged probe sample (ash_sample_judge already applied). */
void ash_guard_sample(struct ash_guard *g, const struct ash_probe_spec *p, const struct ash_sample *s);
/* A timeline event: alert guardrails watch the webhook detectors' alerts. */
void ash_guard_event(struct ash_guard *g, const char *event, const char *detail, int64_t t);
/* How close guardrail i is to tripping at `now`, for the live view: "2 of 10 samples
 * failed (20%)", "412 s left", "not arrived". */
void ash_guard_margin(const struct ash_guard *g, size_t i, int64_t now, char *buf, size_t len);
/* Stop timers and commands; free. */
void ash_guard_free(struct ash_guard *g);
/* One line for a guardrail's condition, for reports: "probe api error ratio >= 50% over 10 s". */
void ash_guard_condition(const struct ash_guardrail_spec *g, char *buf, size_t len);

#endif
