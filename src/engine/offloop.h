/* Jobs off the event loop: faults' injects and reverts and remediations run on one
 * worker thread, in the order they were queued, so a slow one never stops the
 * probes' clock; the loop only collects each end (an eventfd). */
#ifndef ASH_ENGINE_OFFLOOP_H
#define ASH_ENGINE_OFFLOOP_H

#include "sys/loop.h"

#include <aftershock/error.h>
#include <stdbool.h>

struct ash_offloop;
typedef void (*ash_offloop_fn)(void *arg);

/* Start the worker. The caller holds the run lock (sys/gil.h, enabled) and keeps
 * it on the loop thread; the worker takes it for each job and lets go of it only
 * in blocking sections. */
int ash_offloop_new(ash_loop *loop, struct ash_offloop **out, ash_error_t *err);
/* Wait for the job in progress, drop the queued ones, stop the worker. */
void ash_offloop_free(struct ash_offloop *o);

/* Queue fn(arg) behind every job queued before it (a revert after its inject, a
 * remediation after the revert before it). on_loop: it runs on the loop thread when
 * its turn comes (a kind that runs a nested event loop: a service's readiness wait).
 * With the run lock held; -1 only when memory ran out (nothing queued). */
int ash_offloop_queue(struct ash_offloop *o, ash_offloop_fn fn, void *arg, bool on_loop);

/* True on the thread running a job right now: what the job starts is part of it and
 * runs inline (a remediation's `revert: FAULT`), in order. */
bool ash_offloop_in_job(void);

/* Wait for the job in progress to end (the run lock let go meanwhile) and drop the
 * queued ones: what an abort needs before it reverts. Loop thread, lock held. */
void ash_offloop_drain(struct ash_offloop *o);

/* Nothing running and nothing queued. */
bool ash_offloop_idle(const struct ash_offloop *o);

#endif
