/* Baselines: the allowed-regression formula, comparison of fixture reports
 * against a stored baseline (regressions, noise under the floors, figures
 * lost or gained, unknown scenarios), loading reports and bad files, and
 * saving (merge, failed runs not saved). */
#include "report/report.h"
#include "test_run.h"

#include <aftershock/aftershock.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ash-baseline-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *path_of(const char *name)
{
    static char p[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A report-v1 document with runs of the given figures (negative = null), resolution 50 ms, TTD resolution 0. */
static json_t *report(const char *scenario, const char *verdict, const double *ttd, const double *ttr, size_t n)
{
    json_t *runs = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(runs, json_pack("{s:o, s:o, s:f, s:{s:f, s:f}}", "ttd_ms",
                                              ttd[i] < 0 ? json_null() : json_real(ttd[i]), "ttr_ms",
                                              ttr[i] < 0 ? json_null() : json_real(ttr[i]), "resolution_ms", 50.0,
                                              "resolution", "ttd_ms", 0.0, "ttr_ms", 50.0));
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "schema", "aftershock/report-v1", "scenario", scenario, "verdict",
                     verdict, "started_at", "2026-01-01T00:00:00.000Z", "runs", runs);
}

static json_t *baseline_of(const char *text)
{
    write_file("b.json", text);
    json_t *b = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_baseline_load(path_of("b.json"), &b, &err) == 0, "%s", err.msg);
    return b;
}

static const json_t *finding(const json_t *findings, const char *scenario, const char *figure)
{
    size_t i;
    json_t *f;
    json_array_foreach(findings, i,
                       f) if (strcmp(json_string_value(json_object_get(f, "scenario")), scenario) == 0 &&
                              strcmp(json_string_value(json_object_get(f, "figure")), figure) == 0) return f;
    ck_abort_msg("no finding for %s %s", scenario, figure);
    return NULL;
}

static bool regressed(const json_t *findings, const char *scenario, const char *figure)
{
    return json_is_true(json_object_get(finding(findings, scenario, figure), "regressed"));
}

START_TEST(allowed_formula)
{
    ck_assert_double_eq_tol(ash_baseline_allowed_ms(1000, 50, 0.2), 200, 1e-9);               /* tolerance wins */
    ck_assert_double_eq_tol(ash_baseline_allowed_ms(100, 50, 0.2), 100, 1e-9);                /* 2 x resolution wins */
    ck_assert_double_eq_tol(ash_baseline_allowed_ms(2, 0, 0.2), ASH_BASELINE_FLOOR_MS, 1e-9); /* floor */
    ck_assert_double_eq_tol(ash_baseline_allowed_ms(1000, 0, 0), ASH_BASELINE_FLOOR_MS, 1e-9);
}
END_TEST

static const char base_text[] =
    "{\"schema\":\"aftershock/baseline-v1\",\"scenarios\":{"
    "\"lock\":{\"ttd_ms\":1000,\"ttr_ms\":10000,\"resolution\":{\"ttd_ms\":0,\"ttr_ms\":50}},"
    "\"tiny\":{\"ttd_ms\":2,\"ttr_ms\":null,\"resolution\":{\"ttd_ms\":0,\"ttr_ms\":50}}}}";

START_TEST(compare_medians)
{
    json_t *b = baseline_of(base_text);
    json_t *findings = json_array();
    ash_error_t err = {0};
    /* Medians 1150 and 11000: within 20%. The outlier run (5000) does not move the median. */
    double ttd[] = {1100, 1150, 5000}, ttr[] = {10500, 11000, 11900};
    json_t *r = report("lock", "pass", ttd, ttr, 3);
    ck_assert_int_eq(ash_baseline_compare(b, r, 0.2, findings, &err), 0);
    ck_assert(!regressed(findings, "lock", "ttd_ms"));
    ck_assert(!regressed(findings, "lock", "ttr_ms"));
    ck_assert_double_eq_tol(json_real_value(json_object_get(finding(findings, "lock", "ttd_ms"), "current_ms")), 1150,
                            1e-9);
    json_decref(r);

    /* Median TTD 1300 > 1000 + 200. */
    json_array_clear(findings);
    double ttd2[] = {1300, 1250, 1400};
    r = report("lock", "pass", ttd2, ttr, 3);
    ck_assert_int_eq(ash_baseline_compare(b, r, 0.2, findings, &err), 1);
    ck_assert(regressed(findings, "lock", "ttd_ms"));
    ck_assert(!regressed(findings, "lock", "ttr_ms"));
    /* ...but fine with a 50% tolerance. */
    json_array_clear(findings);
    ck_assert_int_eq(ash_baseline_compare(b, r, 0.5, findings, &err), 0);
    json_decref(r);

    /* Never recovered now: a regression whatever the tolerance. */
    json_array_clear(findings);
    double ttd3[] = {900}, ttr3[] = {-1};
    r = report("lock", "fail", ttd3, ttr3, 1);
    ck_assert_int_eq(ash_baseline_compare(b, r, 10, findings, &err), 1);
    ck_assert(regressed(findings, "lock", "ttr_ms"));
    ck_assert_msg(
        strstr(json_string_value(json_object_get(finding(findings, "lock", "ttr_ms"), "note")), "no longer recovered"),
        "note");
    json_decref(r);

    /* 3 ms against 2 ms is noise under the floor; a TTR where there was none is an improvement. */
    json_array_clear(findings);
    double ttd4[] = {3}, ttr4[] = {400};
    r = report("tiny", "pass", ttd4, ttr4, 1);
    ck_assert_int_eq(ash_baseline_compare(b, r, 0.2, findings, &err), 0);
    ck_assert(!regressed(findings, "tiny", "ttd_ms"));
    ck_assert_msg(strstr(json_string_value(json_object_get(finding(findings, "tiny", "ttr_ms"), "note")), "improved"),
                  "note");
    json_decref(r);
    /* 8 ms against 2 ms is not. */
    json_array_clear(findings);
    double ttd5[] = {8};
    r = report("tiny", "pass", ttd5, ttr4, 1);
    ck_assert_int_eq(ash_baseline_compare(b, r, 0.2, findings, &err), 1);
    json_decref(r);

    /* A scenario the baseline does not know: reported, not failed. */
    json_array_clear(findings);
    r = report("new-one", "pass", ttd, ttr, 3);
    ck_assert_int_eq(ash_baseline_compare(b, r, 0.2, findings, &err), 0);
    ck_assert_msg(
        strstr(json_string_value(json_object_get(finding(findings, "new-one", "-"), "note")), "not in the baseline"),
        "note");
    json_decref(r);
    json_decref(findings);
    json_decref(b);
}
END_TEST

START_TEST(report_as_baseline)
{
    double ttd[] = {100, 300, 200}, ttr[] = {1000, 3000, 2000};
    json_t *r = report("lock", "pass", ttd, ttr, 3);
    ck_assert_int_eq(json_dump_file(r, path_of("report.json"), 0), 0);
    json_t *b = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_baseline_load(path_of("report.json"), &b, &err) == 0, "%s", err.msg);
    json_t *e = json_object_get(json_object_get(b, "scenarios"), "lock");
    ck_assert_double_eq_tol(json_number_value(json_object_get(e, "ttd_ms")), 200, 1e-9);
    ck_assert_double_eq_tol(json_number_value(json_object_get(e, "ttr_ms")), 2000, 1e-9);
    ck_assert_double_eq_tol(json_number_value(json_object_get(json_object_get(e, "resolution"), "ttr_ms")), 50, 1e-9);
    json_t *findings = json_array();
    ck_assert_int_eq(ash_baseline_compare(b, r, 0.2, findings, &err), 0);
    json_decref(findings);
    json_decref(b);
    json_decref(r);
}
END_TEST

START_TEST(bad_files)
{
    json_t *b = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_baseline_load(path_of("missing.json"), &b, &err), -1);
    ck_assert_int_eq(ash_exit_status(&err), ASH_EXIT_USAGE);
    write_file("broken.json", "{\"schema\": ");
    ck_assert_int_eq(ash_baseline_load(path_of("broken.json"), &b, &err), -1);
    ck_assert_msg(strstr(err.msg, "broken.json:1:"), "%s", err.msg);
    write_file("other.json", "{\"schema\": \"something/else\"}");
    ck_assert_int_eq(ash_baseline_load(path_of("other.json"), &b, &err), -1);
    ck_assert_msg(strstr(err.msg, "expected 'aftershock/baseline-v1'"), "%s", err.msg);
    write_file("noscen.json", "{\"schema\": \"aftershock/baseline-v1\", \"scenarios\": []}");
    ck_assert_int_eq(ash_baseline_load(path_of("noscen.json"), &b, &err), -1);
    ck_assert_ptr_null(b);
}
END_TEST

START_TEST(save_merges_and_skips_failures)
{
    write_file("b.json", base_text);
    double ttd[] = {500}, ttr[] = {5000};
    json_t *reps[2] = {report("lock", "pass", ttd, ttr, 1), report("broken", "fail", ttd, ttr, 1)};
    ash_error_t err = {0};
    char *log = NULL;
    size_t log_len = 0;
    FILE *logf = open_memstream(&log, &log_len);
    ck_assert_msg(ash_baseline_save(path_of("b.json"), (const json_t *const *)reps, 2, logf, &err) == 0, "%s", err.msg);
    fclose(logf);
    ck_assert_msg(strstr(log, "not saving 'broken': its verdict is fail"), "%s", log);
    free(log);
    json_t *b = NULL;
    ck_assert_int_eq(ash_baseline_load(path_of("b.json"), &b, &err), 0);
    json_t *sc = json_object_get(b, "scenarios");
    ck_assert_double_eq_tol(json_number_value(json_object_get(json_object_get(sc, "lock"), "ttd_ms")), 500, 1e-9);
    ck_assert_ptr_nonnull(json_object_get(sc, "tiny")); /* kept from before */
    ck_assert_ptr_null(json_object_get(sc, "broken"));
    json_decref(b);
    /* Saving into a file that is not a baseline refuses instead of clobbering it. */
    write_file("notes.txt", "my notes");
    ck_assert_int_eq(ash_baseline_save(path_of("notes.txt"), (const json_t *const *)reps, 1, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "not overwriting"), "%s", err.msg);
    json_decref(reps[0]);
    json_decref(reps[1]);
}
END_TEST

/* Variants of one incident against the as-it-was replay (report/variants.c). */
START_TEST(variants_compared)
{
    double ttd_a[] = {640}, ttr_a[] = {10000}, ttd_b[] = {120}, ttr_b[] = {10100}, ttd_c[] = {-1};
    json_t *reps[4] = {report("lock", "pass", ttd_a, ttr_a, 1), report("lock-early-alert", "pass", ttd_b, ttr_b, 1),
                       report("lock-nothing", "pass", ttd_c, ttr_b, 1), report("other", "pass", ttd_b, ttr_b, 1)};
    for (int i = 0; i < 3; i++)
        json_object_set_new(reps[i], "incident", json_pack("{s:s, s:f}", "source", "002.txt", "timescale", 60.0));
    json_object_set_new(reps[3], "incident", json_pack("{s:s, s:f}", "source", "004.txt", "timescale", 60.0));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_uint_eq(ash_report_print_variants(f, (const json_t *const *)reps, 4), 2);
    fclose(f);
    ck_assert_msg(strstr(text, "lock-early-alert vs lock (002.txt):\n  TTD: 120 ms vs 640 ms as it was: "
                               "520 ms sooner (31.2 s of the incident at 60x)"),
                  "%s", text);
    ck_assert_msg(strstr(text, "TTR: 10.1 s vs 10.0 s as it was: 100 ms later"), "%s", text);
    ck_assert_msg(strstr(text, "lock-nothing vs lock (002.txt):\n  TTD: measured only as it was"), "%s", text);
    ck_assert_ptr_null(strstr(text, "other vs"));
    free(text);
    /* No pair: nothing printed. */
    f = open_memstream(&text, &len);
    ck_assert_uint_eq(ash_report_print_variants(f, (const json_t *const *)reps + 3, 1), 0);
    fclose(f);
    ck_assert_str_eq(text, "");
    free(text);
    for (int i = 0; i < 4; i++)
        json_decref(reps[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("baseline");
    TCase *tc = tcase_create("baseline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, allowed_formula);
    tcase_add_test(tc, compare_medians);
    tcase_add_test(tc, report_as_baseline);
    tcase_add_test(tc, bad_files);
    tcase_add_test(tc, save_merges_and_skips_failures);
    tcase_add_test(tc, variants_compared);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
