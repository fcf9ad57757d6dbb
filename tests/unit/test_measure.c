/* Known answers for the measurement functions (impact, recovery window, percentiles). */
#include <check.h>
#include <stdlib.h>

#include "engine/measure.h"

#define MS(x) ((int64_t)(x)*1000000)

/* A probe sampled every `every` ms from 0 to `end` ms, failing in [fail_from, fail_to). */
static struct ash_sample *bufs[16];
static size_t nbufs;

static void free_all(void)
{
    while (nbufs)
        free(bufs[--nbufs]);
}

static struct ash_series make(int64_t every, int64_t end, int64_t fail_from, int64_t fail_to)
{
    size_t n = (size_t)(end / every);
    struct ash_sample *s = calloc(n, sizeof *s);
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
    /* stable_for 1 s: recovered at the first ok sample after the outage */
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(1000), MS(3000)), MS(500));
    /* window not yet observed */
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(1000), MS(1200)), -1);
}
END_TEST

START_TEST(recovery_flap_restarts_window)
{
    /* failing 300-500, ok 500-700, failing 700-800, ok after: with stable_for 300 ms
     * the 500 ms window is broken by the flap; recovery is at 800. */
    struct ash_series p = make(10, 3000, 300, 500);
    struct ash_sample *s = bufs[nbufs - 1];
    for (size_t i = 70; i < 80; i++)
        s[i].ok = false;
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(300), MS(300), MS(3000)), MS(800));
}
END_TEST

START_TEST(recovery_needs_every_probe)
{
    struct ash_series p[2] = {make(10, 3000, 300, 500), make(50, 3000, 300, 900)};
    ck_assert_int_eq(ash_measure_recovery(p, 2, MS(300), MS(500), MS(3000)), MS(900));
}
END_TEST

START_TEST(recovery_from_clamps_to_from)
{
    /* healthy all along after `from`: the window starts at `from` itself */
    struct ash_series p = make(10, 3000, 300, 500);
    ck_assert_int_eq(ash_measure_recovery(&p, 1, MS(1234), MS(500), MS(3000)), MS(1234));
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
    tcase_add_test(tc, percentiles);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
