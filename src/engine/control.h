/* The run's control socket (engine side): `aftershock abort` and `aftershock mark` from
 * another terminal reach the running harness through it. */
#ifndef ASH_ENGINE_CONTROL_H
#define ASH_ENGINE_CONTROL_H

#include <aftershock/error.h>
#include <stdint.h>

#include "sys/loop.h"

struct ash_control;

/* A command arrived from a peer of the same user: "abort", "detected", "mitigated",
 * "recovered" or "note"; `text` the note (or ""), `t` when the peer sent it
 * (CLOCK_MONOTONIC ns, no later than its arrival), `who` "uid U pid P". */
typedef void (*ash_control_fn)(void *arg, const char *what, const char *text, int64_t t, const char *who);

/* Listen on STATE_DIR/RUN_ID.sock (0600; the state directory is the user's own, 0700). */
int ash_control_open(ash_loop *loop, const char *state_dir, const char *run_id, ash_control_fn fn, void *arg,
                     struct ash_control **out, ash_error_t *err);
/* Stop listening and remove the socket. */
void ash_control_close(struct ash_control *c);
/* A killed run's socket file stays behind: remove JOURNAL's sibling RUN.sock if nobody
 * listens on it (recover and the guardian, after replaying that journal). */
void ash_control_remove_stale_for(const char *journal_path);
/* Remove every *.sock in state_dir nobody listens on; returns how many. */
size_t ash_control_sweep(const char *state_dir);

#endif
