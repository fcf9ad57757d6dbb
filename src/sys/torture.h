/* Torture mode (tests only, -DASH_TORTURE=ON): make the Nth allocation or chosen syscall fail.
 *
 * The build links every program using libaftershock with -Wl,--wrap for
 * malloc, calloc, realloc, strdup, strndup, open, openat, write and fork, so
 * the library's own calls to them go through a countdown (calls made inside
 * libc and other libraries are not counted). Disarmed, the wrappers only
 * count. Armed with N, the Nth call from then on fails once (NULL/-1 with
 * ENOMEM, EIO or EAGAIN as the real call would) and every later call succeeds:
 * the test proves that each single failure ends in a clean error and a full
 * revert. After a successful fork the child is disarmed (it only execs). */
#ifndef ASH_SYS_TORTURE_H
#define ASH_SYS_TORTURE_H

#include <stdbool.h>
#include <stdint.h>

/* True in a build made with -DASH_TORTURE=ON. */
bool ash_torture_available(void);
/* Fail the nth wrapped call from now (n >= 1); 0 disarms. Resets the counters. */
void ash_torture_arm(uint64_t n);
/* Fail the nth wrapped call from now and every one after it until disarmed
 * (ash_torture_arm(0)): a failure that persists, so a retry fails too. */
void ash_torture_arm_from(uint64_t n);
/* Wrapped calls since the last arm. */
uint64_t ash_torture_calls(void);
/* Whether the armed failure happened, and in which function. */
bool ash_torture_hit(const char **what);

/* Kill points (tests only): with ASH_TORTURE_KILL=append:OP in the environment, the
 * process SIGKILLs itself right after the first journal record with that op is durable
 * (the change it undoes not yet made); with done:OP, right before that record's done
 * mark is written (the change made and already undone by the revert). Both leave a
 * pending record whose undo meets a change that is not there: `aftershock recover` must
 * then leave nothing and fail on nothing. No-ops without -DASH_TORTURE=ON. */
void ash_torture_journal_appended(const char *op, uint64_t id);
void ash_torture_journal_done(uint64_t id);

#endif
