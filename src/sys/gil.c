/* The run lock and its busy spans (see gil.h for why a run needs one). */
#include "sys/gil.h"

#include "sys/clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#define RING 512

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool enabled;

/* Written only by the thread holding the lock. */
static struct ash_gil_busy ring[RING];
static size_t ring_next, ring_len;

static _Thread_local bool held, yielding;
static _Thread_local unsigned blocking_depth;
static _Thread_local bool blocking_let_go;
static _Thread_local int64_t span_t0, waited;
static _Thread_local const char *span_what, *span_name;

/* The current span ends at `now`: kept when long enough (the lock is held). */
static void span_close(int64_t now)
{
    if (now - span_t0 >= ASH_GIL_SPAN_MIN_NS) {
        struct ash_gil_busy *b = &ring[ring_next];
        b->t0 = span_t0;
        b->t1 = now;
        const char *what = span_what ? span_what : "run code";
        if (span_name)
            snprintf(b->what, sizeof b->what, "%s '%s'", what, span_name);
        else
            snprintf(b->what, sizeof b->what, "%s", what);
        ring_next = (ring_next + 1) % RING;
        if (ring_len < RING)
            ring_len++;
    }
    span_t0 = now;
}

void ash_gil_enable(void)
{
    pthread_mutex_lock(&lock);
    ring_next = ring_len = 0;
    held = true;
    span_t0 = ash_now_ns();
    atomic_store(&enabled, true);
}

void ash_gil_disable(void)
{
    if (!atomic_load(&enabled))
        return;
    atomic_store(&enabled, false);
    if (held) {
        held = false;
        pthread_mutex_unlock(&lock);
    }
}

bool ash_gil_enabled(void)
{
    return atomic_load(&enabled);
}

void ash_gil_acquire(void)
{
    if (!atomic_load(&enabled) || held)
        return;
    int64_t t0 = yielding ? ash_now_ns() : 0;
    pthread_mutex_lock(&lock);
    held = true;
    span_t0 = ash_now_ns();
    if (yielding)
        waited += span_t0 - t0;
}

int64_t ash_gil_waited_ns(void)
{
    return waited;
}

void ash_gil_release(void)
{
    if (!held)
        return;
    span_close(ash_now_ns());
    held = false;
    pthread_mutex_unlock(&lock);
}

void ash_gil_set_yielding(bool yields)
{
    yielding = yields;
}

void ash_gil_blocking_begin(void)
{
    if (!yielding)
        return;
    if (blocking_depth++ == 0) {
        blocking_let_go = held;
        ash_gil_release();
    }
}

void ash_gil_blocking_end(void)
{
    if (!yielding || blocking_depth == 0 || --blocking_depth > 0)
        return;
    if (blocking_let_go)
        ash_gil_acquire();
    blocking_let_go = false;
}

bool ash_gil_idle_begin(void)
{
    bool was = held;
    ash_gil_release();
    return was;
}

void ash_gil_idle_end(bool was_held)
{
    if (was_held)
        ash_gil_acquire();
}

void ash_gil_what(const char *what, const char *name)
{
    if (held)
        span_close(ash_now_ns());
    span_what = what;
    span_name = name;
}

int ash_gil_busy_in(int64_t from, int64_t to, struct ash_gil_busy *out, int64_t *total)
{
    int64_t best = 0, sum = 0;
    for (size_t i = 0; i < ring_len; i++) {
        const struct ash_gil_busy *b = &ring[i];
        int64_t lo = b->t0 > from ? b->t0 : from, hi = b->t1 < to ? b->t1 : to;
        if (hi <= lo)
            continue;
        sum += hi - lo;
        if (hi - lo > best) {
            best = hi - lo;
            *out = *b;
        }
    }
    if (total)
        *total = sum;
    return best > 0;
}
