/* The live view for the room (`aftershock run --live`): a full-screen ncurses view of
 * the run redrawn from the event loop, with keys for marks and abort. */
#ifndef ASH_ENGINE_LIVE_H
#define ASH_ENGINE_LIVE_H

#include <aftershock/error.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/live_render.h"
#include "sys/loop.h"

struct ash_live;

/* Fill *s with the run as it is now (the arrays stay the caller's until the next call). */
typedef void (*ash_live_fill_fn)(void *arg, struct ash_live_snapshot *s);
/* A key asked for "detected", "mitigated", "recovered", "note" (text) or "abort", at t
 * (CLOCK_MONOTONIC ns): the same entry point as the control socket's commands. */
typedef void (*ash_live_cmd_fn)(void *arg, const char *what, const char *text, int64_t t, const char *who);

/* Take the terminal: out (a terminal) for the screen, in_fd (a terminal) for keys, both
 * watched from loop; redrawn at ASH_LIVE_HZ. Returns 0 with *live NULL and the reason in
 * why when the view cannot be shown (not a terminal, smaller than ASH_LIVE_MIN_COLS x
 * ASH_LIVE_MIN_ROWS, unknown TERM): the caller falls back to the status line. */
#define ASH_LIVE_HZ 5
int ash_live_open(ash_loop *loop, FILE *out, int in_fd, int64_t t_start, ash_live_fill_fn fill, ash_live_cmd_fn cmd,
                  void *arg, struct ash_live **live, char *why, size_t why_len);
/* Give the terminal back as it was (also done at exit if a path forgot). */
void ash_live_close(struct ash_live *live);

#endif
