/* Known answers for the measurement functions (impact, recovery window, percentiles). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/measure.h"
#include "sys/mapped_array.h"
#include "test_run.h"

#define MS(x) ((int64_t)(x)*1000000)

/* A probe sampled every `every` ms from 0 to `end` ms, failing in [fail_from, fail_to). */
static struct ash_point *bufs[16];
static size_t nbufs;

static void free_all(void)
{
    while (nbufs)
        free(bufs[--nbufs]);
}

static struct ash_series make(int64_t every, int64_t end, int64_t fail_from, int64_t fail_to)
{
    size_t n = (size_t)(end / every);
    struct ash_point *s = calloc(n, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        int64_t t = (int64_t)i * every;
        s[i].start = MS(t);
        s[i].end = MS(t) + MS(1);
        s[i].ok = !(t >= fail_from && t < fail_to);
    }
    bufs[nbufs++] = s;
    return (struct ash_series){s, n};
}

START_TEST(impact_first_failure_after_inject)
{
    struct ash_series p = make(10, 1000, 300, 500);
    ck_assert_int_eq(ash_measure_impact(&p, 1, MS(250)), MS(300));
    /* failures that began before t_inject are not this fault's impact if none follow */
    ck_assert_int_eq(ash_measure_impact(&p, 1, MS(600)), -1);
}
END_TEST

START_TEST(recovery_waits_for_stable_window)
{
    struct ash_series p = make(10, 3000, 300, 500);
    /* stable_for 1 s: recovered at the answer (1 ms after its start) of the
     * first ok sample after the outage */
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(1000), MS(3000)), MS(501));
    /* window not yet observed */
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(1000), MS(1200)), -1);
}
END_TEST

START_TEST(recovery_flap_restarts_window)
{
    /* failing 300-500, ok 500-700, failing 700-800, ok after: with stable_for 300 ms
     * the 500 ms window is broken by the flap; recovery is at the answer of the
     * sample sent at 800. */
    struct ash_series p = make(10, 3000, 300, 500);
    struct ash_point *s = bufs[nbufs - 1];
    for (size_t i = 70; i < 80; i++)
        s[i].ok = false;
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(300), MS(3000)), MS(801));
}
END_TEST

START_TEST(recovery_needs_every_probe)
{
    struct ash_series p[2] = {make(10, 3000, 300, 500), make(50, 3000, 300, 900)};
    ck_assert_int_eq(ash_measure_recovery(p, 2, MS(300), MS(500), MS(3000)), MS(901));
}
END_TEST

START_TEST(recovery_from_clamps_to_from)
{
    /* healthy all along after `from`: the window starts at `from` itself */
    struct ash_series p = make(10, 3000, 300, 500);
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(1234), MS(500), MS(3000)), MS(1234));
}
END_TEST

/* Issue 15.1: a lock held until 1501.7 ms, probe every 20 ms. The sample sent
 * at 1420 (and the later ones) block on the lock and succeed when it is
 * released: their answer (at 1501.7) is the first proof of health, not the
 * start of the first of them. Samples sent from 300 to 1400 failed. */
START_TEST(long_ok_sample_proves_health_at_its_answer)
{
    struct ash_series p = make(20, 4000, 300, 1420);
    struct ash_point *s = bufs[nbufs - 1];
    for (size_t i = 71; i <= 75; i++) /* sent at 1420..1500, all answered at 1501.7 */
        s[i].end = MS(1501) + 700000;
    ck_assert(s[71].ok);
    int64_t rec = ash_measure_recovery(&p, 1, MS(300), MS(500), MS(4000));
    ck_assert_int_eq(rec, MS(1501) + 700000);
    /* and the error against the release is 0 here, within interval + slow */
}
END_TEST

/* A sample that fails after a long wait (a timeout sent before the recovery,
 * failing after it) proves ill health when it was sent, not when it gave up:
 * it does not break a window that opened after it was sent. One that is sent
 * inside the window does. */
START_TEST(long_failed_sample_counts_at_its_start)
{
    struct ash_series p = make(10, 3000, 300, 500);
    struct ash_point *s = bufs[nbufs - 1];
    s[49].end = MS(490) + MS(100); /* sent at 490, timed out at 590 */
    ck_assert(!s[49].ok);
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(300), MS(3000)), MS(501));
    /* sent at 700, inside the window, failing late: the window starts again
     * at the next answer sent after it (710, answered 711) */
    s[70].ok = false;
    s[70].end = MS(700) + MS(250);
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(300), MS(3000)), MS(711));
    /* what is still in flight is not observed: with observation up to 699 the
     * window [501, 801] is not complete yet, whatever comes later */
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(300), MS(699)), -1);
}
END_TEST

/* An answer to a request sent before a failed one does not end the outage. */
START_TEST(answer_to_earlier_request_does_not_count)
{
    struct ash_series p = make(10, 3000, 300, 500);
    struct ash_point *s = bufs[nbufs - 1];
    s[48].ok = true; /* sent at 480, healthy, answered late at 515 */
    s[48].end = MS(515);
    /* 490 failed after 480 was sent: 480's answer proves nothing; 500's (at
     * 501) is the first from a request sent after the last failure */
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(300), MS(3000)), MS(501));
}
END_TEST

START_TEST(slow_answer_is_a_failure)
{
    struct ash_sample s = {.start = MS(100), .end = MS(194), .ok = true};
    ash_sample_judge(&s, MS(50));
    ck_assert(!s.ok);
    ck_assert_msg(strncmp(s.detail, "slow: 94 ms", 11) == 0, "detail '%s'", s.detail);
    struct ash_sample fast = {.start = MS(100), .end = MS(150), .ok = true};
    ash_sample_judge(&fast, MS(50)); /* at the threshold: still healthy */
    ck_assert(fast.ok);
    struct ash_sample failed = {.start = MS(100), .end = MS(101), .ok = false, .detail = "HTTP 503"};
    ash_sample_judge(&failed, MS(50));
    ck_assert_str_eq(failed.detail, "HTTP 503");
    /* no threshold (not derived yet): nothing is judged slow */
    struct ash_sample early = {.start = 0, .end = MS(5000), .ok = true};
    ash_sample_judge(&early, -1);
    ck_assert(early.ok);
}
END_TEST

/* Latency-only impact: every answer is a success, but from 400 ms they take
 * 300 ms. Judged against 50 ms they are failures: impact at 400 and recovery
 * at the answer of the first fast sample sent after the last slow one. */
START_TEST(latency_only_impact_is_impact)
{
    struct ash_series p = make(10, 3000, -1, -1);
    struct ash_point *s = bufs[nbufs - 1];
    ck_assert_int_eq(ash_measure_impact(&p, 1, MS(300)), -1);
    for (size_t i = 40; i < 80; i++) {
        /* Judged as the engine does before it keeps a sample. */
        struct ash_sample one = {.start = s[i].start, .end = s[i].start + MS(300), .ok = s[i].ok};
        ash_sample_judge(&one, MS(50));
        s[i] = (struct ash_point){.start = one.start, .end = one.end, .ok = one.ok};
    }
    ck_assert_int_eq(ash_measure_impact(&p, 1, MS(300)), MS(400));
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(400), MS(300), MS(3000)), MS(801));
}
END_TEST

START_TEST(slow_default_from_warmup)
{
    int64_t lat[100];
    for (size_t i = 0; i < 100; i++)
        lat[i] = 300000; /* 0.3 ms: 10 x p99 is 3 ms, under the floor */
    ck_assert_int_eq(ash_slow_default(lat, 100), ASH_SLOW_FLOOR_NS);
    lat[99] = MS(4); /* p99 of 100 is the 99th value: still 0.3 ms */
    ck_assert_int_eq(ash_slow_default(lat, 100), ASH_SLOW_FLOOR_NS);
    lat[98] = MS(4);
    ck_assert_int_eq(ash_slow_default(lat, 100), MS(40));
    ck_assert_int_eq(ash_slow_default(lat, 0), ASH_SLOW_FLOOR_NS);
}
END_TEST

/* A run keeps every sample in 16 bytes in arrays grown by mremap (issue 19):
 * every time and verdict survives the packing and every growth. */
START_TEST(samples_kept_whole_as_they_grow)
{
    struct ash_point *v = NULL;
    size_t cap = 0;
    const int64_t big = ((int64_t)1 << 62) - 1;
    for (size_t i = 0; i < 200000; i++) {
        ck_assert_int_eq(ash_mapped_array_grow(&v, &cap, i + 1, sizeof *v), 0);
        ck_assert_uint_ge(cap, i + 1);
        int64_t end = i % 3 == 0 ? big - (int64_t)i : -(int64_t)i * 1000;
        v[i] = (struct ash_point){.start = (int64_t)i * 7, .end = end, .ok = i % 5 == 0};
    }
    for (size_t i = 0; i < 200000; i++) {
        ck_assert_int_eq(v[i].start, (int64_t)i * 7);
        ck_assert_int_eq(v[i].end, i % 3 == 0 ? big - (int64_t)i : -(int64_t)i * 1000);
        ck_assert(v[i].ok == (i % 5 == 0));
    }
    ck_assert_int_eq(ash_mapped_array_grow(&v, &cap, 10, sizeof *v), 0); /* already there: nothing moves */
    ash_mapped_array_free(v, cap, sizeof *v);
    v = NULL;
    cap = 0;
    ck_assert_int_eq(ash_mapped_array_grow(&v, &cap, SIZE_MAX / 4, sizeof *v), -1);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(cap, 0);
}
END_TEST

static int cmp_ref(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The in-place selection (no copy, no sort) picks what the nearest rank of a
 * sorted copy picks, on runs of equal values, sorted and reversed input too. */
START_TEST(percentile_in_place_is_the_nearest_rank)
{
    static const double ps[] = {0, 1, 25, 50, 90, 99, 99.9, 100};
    static const size_t sizes[] = {1, 2, 3, 10, 101, 1000, 20011};
    unsigned seed = 12345;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        int64_t *v = malloc(n * sizeof *v), *sorted = malloc(n * sizeof *v), *w = malloc(n * sizeof *v);
        for (int shape = 0; shape < 4; shape++) {
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                int64_t x = shape == 0   ? (int64_t)(seed >> 8) % 1000000 - 500
                            : shape == 1 ? (int64_t)(seed >> 8) % 4 /* mostly equal */
                            : shape == 2 ? (int64_t)i
                                         : (int64_t)(n - i);
                v[i] = x;
            }
            memcpy(sorted, v, n * sizeof *v);
            qsort(sorted, n, sizeof *sorted, cmp_ref);
            memcpy(w, v, n * sizeof *v);
            for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
                size_t rank = (size_t)(ps[k] / 100.0 * (double)n + 0.999999);
                rank = rank < 1 ? 1 : rank > n ? n : rank;
                ck_assert_int_eq(ash_percentile_inplace(w, n, ps[k]), sorted[rank - 1]);
                ck_assert_int_eq(ash_percentile(v, n, ps[k]), sorted[rank - 1]);
            }
        }
        free(v);
        free(sorted);
        free(w);
    }
    ck_assert_int_eq(ash_percentile_inplace(NULL, 0, 50), -1);
}
END_TEST

START_TEST(percentiles)
{
    int64_t v[] = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
    ck_assert_int_eq(ash_percentile(v, 10, 50), 5);
    ck_assert_int_eq(ash_percentile(v, 10, 99), 10);
    ck_assert_int_eq(ash_percentile(v, 10, 100), 10);
    ck_assert_int_eq(ash_percentile(v, 10, 0), 1);
    ck_assert_int_eq(ash_percentile(v, 0, 50), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("measure");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, free_all);
    tcase_add_test(tc, impact_first_failure_after_inject);
    tcase_add_test(tc, recovery_waits_for_stable_window);
    tcase_add_test(tc, recovery_flap_restarts_window);
    tcase_add_test(tc, recovery_needs_every_probe);
    tcase_add_test(tc, recovery_from_clamps_to_from);
    tcase_add_test(tc, long_ok_sample_proves_health_at_its_answer);
    tcase_add_test(tc, long_failed_sample_counts_at_its_start);
    tcase_add_test(tc, answer_to_earlier_request_does_not_count);
    tcase_add_test(tc, slow_answer_is_a_failure);
    tcase_add_test(tc, latency_only_impact_is_impact);
    tcase_add_test(tc, slow_default_from_warmup);
    tcase_add_test(tc, percentiles);
    tcase_add_test(tc, percentile_in_place_is_the_nearest_rank);
    tcase_add_test(tc, samples_kept_whole_as_they_grow);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
