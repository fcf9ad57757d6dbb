/* The run lock: one thread at a time runs the run's code, and where it was held long.
 *
 * A run has two threads: the event loop (probes, detectors, timers) and the
 * offloop worker (a fault's inject and revert, a remediation: engine/offloop.c).
 * Both touch the same state (the journal, the timeline, the loop's timers, the
 * DNS server's rules), so one lock serialises them, like an interpreter's global
 * lock: the loop lets go of it only inside epoll_wait, the worker only inside a
 * blocking section, a wait on something of its own (a child's exit, its own
 * netlink socket) that touches nothing shared. So a 50 ms revert command holds
 * the lock for microseconds and the probes keep their schedule.
 *
 * Disabled (the default, and in every program but a run), every call here is a
 * no-op: single-threaded users of the loop pay nothing.
 *
 * Busy spans: while enabled, each stretch the lock was held for at least
 * ASH_GIL_SPAN_MIN_NS is kept (a ring of the latest) with what the holder said it
 * was doing (ash_gil_what), so a probe tick that started late can name what held
 * the loop (README, "The measured times": schedule lateness and its cause). */
#ifndef ASH_SYS_GIL_H
#define ASH_SYS_GIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASH_GIL_SPAN_MIN_NS (200 * 1000) /* 0.2 ms: shorter ones cannot make a tick 1 ms late alone */

/* From now on the lock exists and the calling thread holds it. */
void ash_gil_enable(void);
/* The calling thread (which holds it) lets it go for good: no-ops again. */
void ash_gil_disable(void);
bool ash_gil_enabled(void);

void ash_gil_acquire(void);
void ash_gil_release(void);

/* Around a wait that touches nothing shared (sys/ mechanisms call these): on a
 * thread that yields (the offloop worker), the lock is let go and taken back
 * after; nestable. Elsewhere a no-op: the loop thread keeps the lock through a
 * callback, so no callback ever sees the worker change state under its feet. */
void ash_gil_blocking_begin(void);
void ash_gil_blocking_end(void);
/* This thread lets go of the lock in blocking sections from now on. */
void ash_gil_set_yielding(bool yields);

/* How long this thread has waited to take the lock back after its blocking sections,
 * in all (ns): a fault's inject that returns after such a wait was in effect up to
 * that much earlier than the moment it returned. */
int64_t ash_gil_waited_ns(void);

/* Around the event loop's own wait: let go of the lock if held, take it back. */
bool ash_gil_idle_begin(void);
void ash_gil_idle_end(bool was_held);

/* What this thread is doing from now on while it holds the lock, for the busy
 * spans: `what`, with ` 'name'` after it when name is not NULL. Both must stay
 * valid until the next call (literals, a spec's name). */
void ash_gil_what(const char *what, const char *name);

struct ash_gil_busy {
    int64_t t0, t1; /* CLOCK_MONOTONIC ns */
    char what[120];
};

/* Of the busy spans kept, the one overlapping [from, to] the most: 1 with *out set,
 * 0 when none overlaps. *total gets the sum of all overlaps (optional). */
int ash_gil_busy_in(int64_t from, int64_t to, struct ash_gil_busy *out, int64_t *total);

#endif
