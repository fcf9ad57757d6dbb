/* Impact and recovery from probe samples: one pass over samples merged by start time. */
#include "engine/measure.h"

#include <stdlib.h>
#include <string.h>

/* First index whose sample starts at or after t (series are in start order). */
static size_t lower_bound(const struct ash_series *s, int64_t t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->s[mid].start < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int64_t ash_measure_impact(const struct ash_series *probes, size_t np, int64_t t_inject)
{
    int64_t first = -1;
    for (size_t p = 0; p < np; p++)
        for (size_t i = lower_bound(&probes[p], t_inject); i < probes[p].n; i++) {
            const struct ash_sample *s = &probes[p].s[i];
            if (s->start >= t_inject && !s->ok) {
                if (first < 0 || s->start < first)
                    first = s->start;
                break;
            }
        }
    return first;
}

int64_t ash_measure_recovery(const struct ash_series *probes, size_t np, int64_t from, int64_t stable_for,
                             int64_t observed_until)
{
    if (np == 0)
        return -1;
    size_t *idx = calloc(np, sizeof *idx);
    signed char *state = calloc(np, 1); /* -1 unknown, 0 failing, 1 ok */
    if (!idx || !state) {
        free(idx);
        free(state);
        return -1;
    }
    memset(state, -1, np);
    /* Start one sample before `from` on each probe: that sample is the probe's
     * state when the window may open; older ones cannot matter. Keeps the cost
     * proportional to what happened since `from`, not to the whole run. */
    for (size_t p = 0; p < np; p++) {
        size_t i = lower_bound(&probes[p], from);
        idx[p] = i > 0 ? i - 1 : 0;
    }
    size_t n_ok = 0;
    int64_t candidate = -1; /* when every probe last became ok */
    int64_t result = -1;
    for (;;) {
        /* Next sample by start time across probes (a k-way merge; np is small). */
        size_t best = np;
        for (size_t p = 0; p < np; p++)
            if (idx[p] < probes[p].n && (best == np || probes[p].s[idx[p]].start < probes[best].s[idx[best]].start))
                best = p;
        if (best == np)
            break;
        const struct ash_sample *s = &probes[best].s[idx[best]++];
        if (s->start > observed_until)
            break; /* not observed yet */
        /* A window that was already whole before this sample began is our answer. */
        if (candidate >= 0 && s->start > candidate + stable_for) {
            result = candidate;
            break;
        }
        if (s->ok) {
            if (state[best] != 1) {
                state[best] = 1;
                n_ok++;
                if (n_ok == np && candidate < 0)
                    candidate = s->start > from ? s->start : from;
            }
        } else {
            if (state[best] == 1)
                n_ok--;
            state[best] = 0;
            candidate = -1;
        }
        if (candidate >= 0 && candidate < from)
            candidate = from;
    }
    if (result < 0 && candidate >= 0 && candidate + stable_for <= observed_until)
        result = candidate;
    free(idx);
    free(state);
    return result;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t ash_percentile(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    int64_t *c = malloc(n * sizeof *c);
    if (!c)
        return -1;
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_i64);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    int64_t r = c[rank - 1];
    free(c);
    return r;
}
