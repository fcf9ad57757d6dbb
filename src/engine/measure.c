/* Impact and recovery from probe samples: evidence of health at answers, of ill health at requests. */
#include "engine/measure.h"

#include <stdint.h>
#include <stdio.h>
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
            const struct ash_point *s = &probes[p].s[i];
            if (s->start >= t_inject && !s->ok) {
                if (first < 0 || s->start < first)
                    first = s->start;
                break;
            }
        }
    return first;
}

/* One piece of evidence: a healthy answer proves health when it came back
 * (t = end), a failed sample proves ill health when it was sent (t = start). */
struct evidence {
    int64_t t;
    int64_t sent; /* the sample's start */
    uint32_t p;
    bool ok;
};

/* At the same instant a failure comes first; the probe and the send time
 * make the order total, the order glibc's stable qsort kept (evidence is
 * gathered by probe, then by send time), so any sort gives the same one. */
static bool ev_before(const struct evidence *x, const struct evidence *y)
{
    if (x->t != y->t)
        return x->t < y->t;
    if (x->ok != y->ok)
        return !x->ok;
    if (x->p != y->p)
        return x->p < y->p;
    return x->sent < y->sent;
}

static void sift_down(struct evidence *ev, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && ev_before(&ev[child], &ev[child + 1]))
            child++;
        if (!ev_before(&ev[root], &ev[child]))
            return;
        struct evidence tmp = ev[root];
        ev[root] = ev[child];
        ev[child] = tmp;
        root = child;
    }
}

/* A heap sort, in place: qsort (glibc's merge sort) allocated a second
 * array of every sample since `from`, at the end of a long run the
 * process's peak (issue 19). */
static void sort_evidence(struct evidence *ev, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(ev, i, n);
    for (size_t end = n; end-- > 1;) {
        struct evidence tmp = ev[0];
        ev[0] = ev[end];
        ev[end] = tmp;
        sift_down(ev, 0, end);
    }
}

int64_t ash_measure_recovery(const struct ash_series *probes, size_t np, int64_t from, int64_t stable_for,
                             int64_t observed_until)
{
    if (np == 0 || np > UINT32_MAX)
        return -1;
    /* Samples that started long enough before `from` (more than the series'
     * longest latency, and before the one sample preceding that point) cannot
     * place evidence at or after `from`: they only give the state there, and
     * that is also given by the last of them. So the sort covers what happened
     * since `from`, not the whole run (a linear scan finds the longest latency). */
    size_t *first = calloc(np, sizeof *first);
    size_t total = 0;
    if (!first)
        return -1;
    for (size_t p = 0; p < np; p++) {
        int64_t maxlat = 0;
        for (size_t i = 0; i < probes[p].n; i++)
            if (probes[p].s[i].end - probes[p].s[i].start > maxlat)
                maxlat = probes[p].s[i].end - probes[p].s[i].start;
        size_t i = lower_bound(&probes[p], from - maxlat);
        first[p] = i > 0 ? i - 1 : 0;
        total += probes[p].n - first[p];
    }
    struct evidence *ev = malloc((total ? total : 1) * sizeof *ev);
    int64_t *last_fail = malloc(np * sizeof *last_fail); /* start of the probe's latest failed sample */
    signed char *state = malloc(np);                     /* -1 unknown, 0 failing, 1 ok */
    if (!ev || !last_fail || !state) {
        free(first);
        free(ev);
        free(last_fail);
        free(state);
        return -1;
    }
    size_t n = 0;
    for (size_t p = 0; p < np; p++) {
        last_fail[p] = INT64_MIN;
        state[p] = -1;
        for (size_t i = first[p]; i < probes[p].n; i++) {
            const struct ash_point *s = &probes[p].s[i];
            ev[n++] =
                (struct evidence){.t = s->ok ? s->end : s->start, .sent = s->start, .p = (uint32_t)p, .ok = s->ok};
        }
    }
    sort_evidence(ev, n);

    size_t n_ok = 0;
    int64_t candidate = -1; /* when every probe last became ok */
    int64_t result = -1;
    bool opened = false; /* the stream has reached `from` */
    for (size_t k = 0; k < n; k++) {
        const struct evidence *e = &ev[k];
        if (e->t > observed_until)
            break; /* not observed yet */
        if (!opened && e->t >= from) {
            opened = true;
            if (n_ok == np)
                candidate = from; /* healthy all along: the window opens at `from` */
        }
        /* A window that was already whole before this evidence is our answer. */
        if (candidate >= 0 && e->t > candidate + stable_for) {
            result = candidate;
            break;
        }
        if (e->ok) {
            /* An answer to a request sent before a failed one proves nothing
             * about the failure: only a later request's answer does. */
            if (e->sent > last_fail[e->p] && state[e->p] != 1) {
                state[e->p] = 1;
                n_ok++;
                if (opened && n_ok == np && candidate < 0)
                    candidate = e->t > from ? e->t : from;
            }
        } else {
            if (state[e->p] == 1)
                n_ok--;
            state[e->p] = 0;
            if (e->sent > last_fail[e->p])
                last_fail[e->p] = e->sent;
            if (opened)
                candidate = -1;
        }
    }
    if (!opened && n_ok == np && from <= observed_until)
        candidate = from;
    if (result < 0 && candidate >= 0 && candidate + stable_for <= observed_until)
        result = candidate;
    free(first);
    free(ev);
    free(last_fail);
    free(state);
    return result;
}

void ash_sample_judge(struct ash_sample *s, int64_t slow_ns)
{
    int64_t lat = s->end - s->start;
    if (!s->ok || slow_ns <= 0 || lat <= slow_ns)
        return;
    s->ok = false;
    snprintf(s->detail, sizeof s->detail, "slow: %.0f ms (threshold %.0f ms)", (double)lat / 1e6,
             (double)slow_ns / 1e6);
}

int64_t ash_slow_default(const int64_t *warmup_latencies, size_t n)
{
    int64_t p99 = ash_percentile(warmup_latencies, n, 99);
    int64_t slow = p99 > 0 ? ASH_SLOW_FACTOR * p99 : 0;
    return slow > ASH_SLOW_FLOOR_NS ? slow : ASH_SLOW_FLOOR_NS;
}

/* The k-th smallest (0-based) of v[0..n), v reordered: a quickselect with a
 * three-way partition (runs of equal latencies are common), in place. Sorting
 * a copy with qsort took two more arrays of the whole run's size (glibc's
 * merge sort allocates one), the report's peak memory at the end of a long
 * run (issue 19); the value picked is the same. */
static int64_t select_kth(int64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        int64_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        int64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t lt = lo, i = lo, gt = hi; /* [lo,lt) < pivot, [lt,i) == pivot, [gt,hi) > pivot */
        while (i < gt) {
            int64_t x = v[i];
            if (x < pivot) {
                v[i++] = v[lt];
                v[lt++] = x;
            } else if (x > pivot) {
                v[i] = v[--gt];
                v[gt] = x;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return pivot;
    }
    return v[lo];
}

int64_t ash_percentile_inplace(int64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return select_kth(v, n, rank - 1);
}

int64_t ash_percentile(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    int64_t *c = malloc(n * sizeof *c);
    if (!c)
        return -1;
    memcpy(c, v, n * sizeof *c);
    int64_t r = ash_percentile_inplace(c, n, p);
    free(c);
    return r;
}
