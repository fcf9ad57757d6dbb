/* The guardian: a separate process that reverts a dead harness's journal. */
#ifndef ASH_ENGINE_GUARDIAN_H
#define ASH_ENGINE_GUARDIAN_H

#include <aftershock/error.h>
#include <stddef.h>
#include <sys/types.h>

/* Start `exe __guardian JOURNAL PID START` in its own session. */
int ash_guardian_start(const char *exe, const char *journal, ash_error_t *err);
/* End the guardian of the current run (the run ended normally). */
void ash_guardian_stop(void);
/* The running guardian: its pid and a pidfd that turns readable when it
 * exits (the harness watches it in its event loop); -1 when there is none. */
pid_t ash_guardian_pid(void);
int ash_guardian_pidfd(void);
/* The guardian exited (its pidfd is readable): reap it, say how in `how`
 * ("killed by SIGKILL"), and start a new one for the same journal. */
int ash_guardian_replace(char *how, size_t len, ash_error_t *err);

#endif
