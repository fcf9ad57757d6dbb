/* The measured times, as pure functions over samples and signals (unit-tested alone). */
#ifndef ASH_ENGINE_MEASURE_H
#define ASH_ENGINE_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kinds.h"

/* A sample as kept for the figures and the report: its times and verdict.
 * Not its detail: a run keeps every sample (1 000 a second for 10 probes at
 * 10 ms), and the 120-byte detail, empty when healthy, was most of their
 * memory (issue 19); the engine keeps the detail of the latest failure. */
struct ash_point {
    int64_t start;
    /* 16 bytes rather than 24: the verdict takes the end's top bit (a
     * monotonic time fits in 62 bits for 146 years), a third less of what
     * grows with the run's length (issue 19). */
    int64_t end : 63;
    bool ok : 1;
};

_Static_assert(sizeof(struct ash_point) == 16, "struct ash_point packs into 16 bytes");

/* One probe's samples, in start order. */
struct ash_series {
    const struct ash_point *s;
    size_t n;
};

/* First failed sample starting at or after t_inject: its start, or -1. */
int64_t ash_measure_impact(const struct ash_series *probes, size_t np, int64_t t_inject);

/* Start of the first window, beginning at or after `from`, in which every probe
 * is healthy and stays healthy for stable_for. The rule (README, "The measured
 * times"): a sample proves health when its answer came back, so a healthy
 * sample counts at its end; a failed sample (an error, a timeout, or an answer
 * slower than the probe's `slow` threshold, see ash_sample_judge) proves ill
 * health when it was sent, so it counts at its start. A probe is healthy from
 * the answer of a sample sent after its last failed one; the window opens when
 * every probe is, and holds while no failed sample is sent in it. Against a
 * target healthy from R on, this gives a value in [R, R + interval + slow].
 * The window must be fully observed: `observed_until` bounds what is known
 * (no sample sent before it is still in flight). -1 if none. */
int64_t ash_measure_recovery(const struct ash_series *probes, size_t np, int64_t from, int64_t stable_for,
                             int64_t observed_until);

/* The default `slow` threshold: ASH_SLOW_FACTOR times the warm-up's p99
 * latency, at least ASH_SLOW_FLOOR_NS. */
#define ASH_SLOW_FACTOR 10
#define ASH_SLOW_FLOOR_NS ((int64_t)20 * 1000000)
int64_t ash_slow_default(const int64_t *warmup_latencies, size_t n);

/* A successful sample whose latency exceeds slow_ns (> 0) becomes a failed one
 * with the detail "slow: 94 ms (threshold 50 ms)". */
void ash_sample_judge(struct ash_sample *s, int64_t slow_ns);

/* Percentiles over latencies (ns): nearest rank. Works on a copy. */
int64_t ash_percentile(const int64_t *v, size_t n, double p);
/* The same without a copy: v is reordered. */
int64_t ash_percentile_inplace(int64_t *v, size_t n, double p);

#endif
