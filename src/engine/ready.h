/* Service readiness checks run as one-off probe samples (the env's ready hook). */
#ifndef ASH_ENGINE_READY_H
#define ASH_ENGINE_READY_H

#include <stdbool.h>

#include "kinds.h"

/* ash_env_hooks.ready with arg = the run's struct ash_ctx. */
int ash_engine_ready_check(void *ctx, const struct ash_service_spec *svc,
                           void (*done)(void *done_arg, bool ok, const char *why), void *done_arg);

#endif
