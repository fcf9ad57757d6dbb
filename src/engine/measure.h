/* The measured times, as pure functions over samples and signals (unit-tested alone). */
#ifndef ASH_ENGINE_MEASURE_H
#define ASH_ENGINE_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kinds.h"

/* One probe's samples, in start order. */
struct ash_series {
    const struct ash_sample *s;
    size_t n;
};

/* First failed sample starting at or after t_inject: its start, or -1. */
int64_t ash_measure_impact(const struct ash_series *probes, size_t np, int64_t t_inject);

/* Start of the first window, beginning at or after `from`, in which every probe
 * is healthy (its latest sample ok) and no sample of any probe fails for
 * stable_for. The window must be fully observed: `observed_until` is the end of
 * observation (a window ending later does not count yet). -1 if none. */
int64_t ash_measure_recovery(const struct ash_series *probes, size_t np, int64_t from, int64_t stable_for,
                             int64_t observed_until);

/* Percentiles over latencies (ns): nearest rank. Sorts a copy. */
int64_t ash_percentile(const int64_t *v, size_t n, double p);

#endif
