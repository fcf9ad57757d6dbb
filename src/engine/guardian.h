/* The guardian: a separate process that reverts a dead harness's journal. */
#ifndef ASH_ENGINE_GUARDIAN_H
#define ASH_ENGINE_GUARDIAN_H

#include <aftershock/error.h>

/* Start `exe __guardian JOURNAL PID START` in its own session. */
int ash_guardian_start(const char *exe, const char *journal, ash_error_t *err);
/* End the guardian of the current run (the run ended normally). */
void ash_guardian_stop(void);

#endif
