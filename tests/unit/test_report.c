/* Report renderers against hand-written report.json fixtures: stats, JSON, JUnit, Markdown, HTML/SVG, index,
 * terminal, and the variants against their as-it-was replays. */
#include "report/report.h"
#include "test_skip.h"
#include "test_run.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const fixture_names[] = {"pass", "fail", "aborted", "repeat3", "nulls", "setup_error"};
#define N_FIXTURES (sizeof fixture_names / sizeof fixture_names[0])

static char fixture_dir[4096];

static void find_fixtures(void)
{
    const char *src = getenv("ASH_SOURCE_DIR");
    if (src) {
        snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/fixtures/reports", src);
        return;
    }
    /* Run by hand outside ctest: the fixtures sit next to this file's directory. */
    snprintf(fixture_dir, sizeof fixture_dir, "%s", __FILE__);
    char *slash = strrchr(fixture_dir, '/');
    if (slash)
        *slash = '\0';
    strncat(fixture_dir, "/../fixtures/reports", sizeof fixture_dir - strlen(fixture_dir) - 1);
}

static json_t *load_fixture(const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.json", fixture_dir, name);
    json_t *doc = NULL;
    ash_error_t err = {0};
    int ret = ash_report_load(path, &doc, &err);
    ck_assert_msg(ret == 0, "cannot load fixture %s: %s", path, err.msg);
    return doc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Every test writes into its own temporary directory. A failed assertion ends
 * the forked test before its checked teardown, so the per-test directories
 * live under one parent that an unchecked fixture (run in the parent
 * process, failures or not) removes. */
static char parentdir[256];
static char tmpdir[300];

static void setup_parent(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(parentdir, sizeof parentdir, "%s/ash-report-test-XXXXXX", base);
    if (!mkdtemp(parentdir)) {
        perror("test_report: mkdtemp");
        exit(EXIT_FAILURE);
    }
}

static void teardown_parent(void)
{
    if (parentdir[0])
        nftw(parentdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    parentdir[0] = '\0';
}

static void setup_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/t-XXXXXX", parentdir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
    if (tmpdir[0])
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static char *render(const char *fixture, int (*writer)(const json_t *, const char *, ash_error_t *), const char *file,
                    char *path_out, size_t path_len)
{
    json_t *doc = load_fixture(fixture);
    char path[512];
    snprintf(path, sizeof path, "%s/%s-%s", tmpdir, fixture, file);
    ash_error_t err = {0};
    ck_assert_msg(writer(doc, path, &err) == 0, "rendering %s: %s", fixture, err.msg);
    json_decref(doc);
    if (path_out)
        snprintf(path_out, path_len, "%s", path);
    return slurp(path);
}

/* A real XML parser must accept the file; skipped (with the reason) without python3. */
static void assert_well_formed(const char *path)
{
    if (system("command -v python3 >/dev/null 2>&1") != 0) {
        ash_test_skip("well-formedness of %s: python3 is not installed", path);
        return;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' '%s'", path);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "%s is not well-formed XML (python3 xml.etree said so above)", path);
}

static double num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

/* ---- stats ---- */

static void check_stats(const double *v, size_t n, double min, double med, double p95, double max)
{
    json_t *st = NULL;
    ck_assert_int_eq(ash_report_stats(v, n, &st), 0);
    ck_assert_double_eq(num(st, "min"), min);
    ck_assert_double_eq(num(st, "median"), med);
    ck_assert_double_eq(num(st, "p95"), p95);
    ck_assert_double_eq(num(st, "max"), max);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "n")), (json_int_t)n);
    json_decref(st);
}

/* faults[].targets: what each fault was placed in (the container a label chose) is a
 * column of the fault tables; a fault with none (never injected, an older report) shows "-". */
START_TEST(fault_tables_name_the_container)
{
    char *md = render("pass", ash_report_write_markdown, "report.md", NULL, 0);
    ck_assert_ptr_nonnull(strstr(md, "| placed in |"));
    ck_assert_msg(strstr(md, "| maintenance-lock | table-lock | container tel-db-1 (3f2a9c01b7e4) |"), "%s", md);
    free(md);
    char *html = render("pass", ash_report_write_html, "report.html", NULL, 0);
    ck_assert_ptr_nonnull(strstr(html, "<th>placed in</th>"));
    ck_assert_ptr_nonnull(strstr(html, "<td>container tel-db-1 (3f2a9c01b7e4)</td>"));
    free(html);
    md = render("setup_error", ash_report_write_markdown, "report.md", NULL, 0);
    ck_assert_msg(!strstr(md, "container tel-db-1"), "%s", md);
    free(md);
    json_t *none = json_pack("{s:[]}", "targets"),
           *two =
               json_pack("{s:[{s:s, s:s, s:s, s:s}, {s:s, s:s}]}", "targets", "type", "container", "name",
                         "label=app=web", "container", "web-1", "id", "3f2a9c01b7e4", "type", "service", "name", "api");
    char buf[256];
    ck_assert_str_eq(ash_report_fmt_targets(buf, sizeof buf, none), "-");
    ck_assert_str_eq(ash_report_fmt_targets(buf, sizeof buf, two), "container web-1 (3f2a9c01b7e4), service api");
    json_decref(none);
    json_decref(two);
}
END_TEST

START_TEST(stats_known_answers)
{
    const double odd[] = {5, 1, 3};
    check_stats(odd, 3, 1, 3, 5, 5);
    const double even[] = {4, 1, 3, 2};
    check_stats(even, 4, 1, 2.5, 4, 4);
    const double one[] = {7.125};
    check_stats(one, 1, 7.125, 7.125, 7.125, 7.125);
    double twenty[20], hundred[100], hundred1[101];
    for (int i = 0; i < 20; i++)
        twenty[i] = 20 - i; /* unsorted on purpose */
    /* Nearest rank: ceil(0.95 * 20) = 19th value. */
    check_stats(twenty, 20, 1, 10.5, 19, 20);
    for (int i = 0; i < 100; i++)
        hundred[i] = i + 1;
    check_stats(hundred, 100, 1, 50.5, 95, 100);
    for (int i = 0; i < 101; i++)
        hundred1[i] = i + 1;
    /* ceil(95.95) = 96 */
    check_stats(hundred1, 101, 1, 51, 96, 101);
    const double ms[] = {3012.345, 18234.5};
    check_stats(ms, 2, 3012.345, 10623.4225, 18234.5, 18234.5);
}
END_TEST

START_TEST(stats_empty_is_null)
{
    json_t *st = NULL;
    ck_assert_int_eq(ash_report_stats(NULL, 0, &st), 0);
    ck_assert(json_is_null(json_object_get(st, "min")));
    ck_assert(json_is_null(json_object_get(st, "median")));
    ck_assert(json_is_null(json_object_get(st, "p95")));
    ck_assert(json_is_null(json_object_get(st, "max")));
    ck_assert_int_eq(json_integer_value(json_object_get(st, "n")), 0);
    json_decref(st);
}
END_TEST

START_TEST(summarize_repeat_runs)
{
    json_t *doc = load_fixture("repeat3");
    json_object_del(doc, "summary");
    ck_assert_int_eq(ash_report_summarize(doc), 0);
    const json_t *sum = json_object_get(doc, "summary");
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "runs")), 3);
    const json_t *ttd = json_object_get(sum, "ttd_ms");
    ck_assert_double_eq(num(ttd, "min"), 3900.0);
    ck_assert_double_eq(num(ttd, "median"), 4100.5);
    ck_assert_double_eq(num(ttd, "p95"), 4500.25);
    ck_assert_double_eq(num(ttd, "max"), 4500.25);
    const json_t *ttr = json_object_get(sum, "ttr_ms");
    ck_assert_double_eq(num(ttr, "median"), 9800.25);
    const json_t *imp = json_object_get(sum, "impact_ms");
    ck_assert_double_eq(num(imp, "min"), 190.5);
    ck_assert_double_eq(num(imp, "max"), 250.125);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(sum, "revert_to_recover_ms"), "n")), 3);
    json_decref(doc);

    /* Runs that never reached a figure leave it null, not zero. */
    doc = load_fixture("nulls");
    ck_assert_int_eq(ash_report_summarize(doc), 0);
    ttd = json_object_get(json_object_get(doc, "summary"), "ttd_ms");
    ck_assert(json_is_null(json_object_get(ttd, "median")));
    ck_assert_int_eq(json_integer_value(json_object_get(ttd, "n")), 0);
    json_decref(doc);
}
END_TEST

/* ---- JSON in and out ---- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(json_round_trip_is_atomic)
{
    json_t *doc = load_fixture("fail");
    char path[512];
    snprintf(path, sizeof path, "%s/report.json", tmpdir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_json(doc, path, &err) == 0, "%s", err.msg);
    json_t *back = NULL;
    ck_assert_msg(ash_report_load(path, &back, &err) == 0, "%s", err.msg);
    ck_assert(json_equal(doc, back));
    char *text = slurp(path);
    /* Pretty-printed, figures without float noise. */
    ck_assert_ptr_nonnull(strstr(text, "\n  \"scenario\": \"telephony-table-lock\""));
    ck_assert_ptr_nonnull(strstr(text, "\"ttd_ms\": 18234.5,"));
    ck_assert_ptr_null(strstr(text, "00000000"));
    free(text);
    /* Nothing but the report is left behind. */
    size_t nfiles = 0;
    FILE *ls;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s'", tmpdir);
    ls = popen(cmd, "r");
    char line[512];
    while (fgets(line, sizeof line, ls))
        nfiles++;
    pclose(ls);
    ck_assert_uint_eq(nfiles, 1);
    json_decref(doc);
    json_decref(back);
}
END_TEST

/* report.json is streamed to disk, not built as one string (issue 19): the
 * text must stay byte for byte what jansson's json_dumps gives, past the
 * writer's 64 KiB buffer too, and a failed write leaves nothing behind. */
START_TEST(json_streamed_is_the_same_text)
{
    json_t *doc = load_fixture("fail");
    json_t *probe = json_array_get(json_object_get(json_array_get(json_object_get(doc, "runs"), 0), "probes"), 0);
    ck_assert_ptr_nonnull(probe);
    json_t *series = json_array();
    for (int i = 0; i < 20000; i++)
        json_array_append_new(series, json_pack("[f, f, i]", i * 10.001 + 0.5, 1.0 / (i + 3), i % 7 != 0));
    json_object_set_new(probe, "series", series);
    char path[512];
    snprintf(path, sizeof path, "%s/report.json", tmpdir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_json(doc, path, &err) == 0, "%s", err.msg);
    char *want = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    char *got = slurp(path);
    ck_assert_uint_gt(strlen(want), 256 * 1024);
    ck_assert_uint_eq(strlen(got), strlen(want) + 1);
    ck_assert(strncmp(got, want, strlen(want)) == 0);
    ck_assert_int_eq(got[strlen(want)], '\n');
    free(want);
    free(got);

    snprintf(path, sizeof path, "%s/no/such/dir/report.json", tmpdir);
    ck_assert_int_eq(ash_report_write_json(doc, path, &err), -1);
    ck_assert_msg(strstr(err.msg, "no/such/dir/report.json") != NULL, "%s", err.msg);
    json_decref(doc);
}
END_TEST

/* The engine keeps a run's series packed, 16 bytes a sample, not as jansson
 * nodes (issue 19): written out and drawn, a packed series must give the
 * same report.json bytes and the same pages as the array it stands for. */
struct fake_samples {
    int n;
};

static void fake_sample(void *arg, size_t i, int64_t *t_ns, int64_t *lat_ns, bool *ok)
{
    (void)arg;
    *t_ns = (int64_t)i * 10000731 + 123457;
    *lat_ns = i % 11 == 0 ? 0 : (int64_t)(1000000000 / (i + 3)) + 7;
    *ok = i % 7 != 0;
}

static json_t *with_series(bool pack, int n)
{
    json_t *doc = load_fixture("fail");
    json_t *probe = json_array_get(json_object_get(json_array_get(json_object_get(doc, "runs"), 0), "probes"), 0);
    ck_assert_ptr_nonnull(probe);
    json_t *series = NULL;
    struct fake_samples fs = {n};
    if (pack) {
        series = ash_report_series_pack((size_t)n, fake_sample, &fs);
        ck_assert(ash_report_series_is_packed(series));
        ck_assert_uint_eq(ash_report_series_len(series), (size_t)n);
    } else {
        series = json_array();
        for (int i = 0; i < n; i++) {
            int64_t t, lat;
            bool ok;
            fake_sample(&fs, (size_t)i, &t, &lat, &ok);
            json_array_append_new(series, json_pack("[f, f, i]", (double)t / 1e6, (double)lat / 1e6, ok ? 1 : 0));
        }
    }
    json_object_set_new(probe, "series", series);
    return doc;
}

START_TEST(packed_series_is_the_same_report)
{
    char path[512], dir[512];
    ash_error_t err = {0};
    char *text[2], *html[2];
    for (int pack = 0; pack < 2; pack++) {
        json_t *doc = with_series(pack, 9000);
        snprintf(dir, sizeof dir, "%s/r%d", tmpdir, pack);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        snprintf(path, sizeof path, "%s/report.json", dir);
        ck_assert_msg(ash_report_write_json(doc, path, &err) == 0, "%s", err.msg);
        text[pack] = slurp(path);
        ck_assert_msg(ash_report_render_all(doc, dir, &err) == 0, "%s", err.msg);
        snprintf(path, sizeof path, "%s/report.html", dir);
        html[pack] = slurp(path);
        json_decref(doc);
    }
    ck_assert_uint_gt(strlen(text[0]), 256 * 1024);
    ck_assert_msg(strcmp(text[0], text[1]) == 0, "report.json differs with a packed series");
    ck_assert_msg(strstr(html[0], "class=\"bad\"") != NULL, "no failed sample drawn");
    ck_assert_msg(strcmp(html[0], html[1]) == 0, "report.html differs with a packed series");
    /* What was written reads back as the array, sample for sample. */
    json_t *back = NULL, *packed = with_series(true, 9000);
    snprintf(path, sizeof path, "%s/r1/report.json", tmpdir);
    ck_assert_msg(ash_report_load(path, &back, &err) == 0, "%s", err.msg);
    const json_t *a = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(back, "runs"), 0), "probes"), 0), "series");
    const json_t *b = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(packed, "runs"), 0), "probes"), 0), "series");
    ck_assert_uint_eq(ash_report_series_len(a), ash_report_series_len(b));
    struct ash_report_sample x, y;
    for (size_t i = 0; ash_report_series_at(b, i, &y); i++) {
        ck_assert(ash_report_series_at(a, i, &x));
        ck_assert(x.t_ms == y.t_ms && x.latency_ms == y.latency_ms && x.ok == y.ok);
    }
    ck_assert(!ash_report_series_at(b, 9000, &y));
    /* A packed series is no text: json_dumps refuses it rather than write garbage. */
    char *dumped = json_dumps(packed, JSON_INDENT(2));
    ck_assert_ptr_null(dumped);
    json_decref(back);
    json_decref(packed);
    for (int k = 0; k < 2; k++) {
        free(text[k]);
        free(html[k]);
    }
}
END_TEST

START_TEST(load_rejects_what_is_not_a_report)
{
    char path[512];
    json_t *doc = NULL;
    ash_error_t err = {0};

    snprintf(path, sizeof path, "%s/noschema.json", tmpdir);
    write_text(path, "{\"scenario\": \"x\"}");
    ck_assert_int_eq(ash_report_load(path, &doc, &err), -1);
    ck_assert_msg(strstr(err.msg, "no \"schema\"") && strstr(err.msg, "aftershock/report-v1"), "%s", err.msg);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);

    snprintf(path, sizeof path, "%s/v9.json", tmpdir);
    write_text(path, "{\"schema\": \"aftershock/report-v9\"}");
    ck_assert_int_eq(ash_report_load(path, &doc, &err), -1);
    ck_assert_msg(strstr(err.msg, "unsupported report schema \"aftershock/report-v9\""), "%s", err.msg);

    snprintf(path, sizeof path, "%s/broken.json", tmpdir);
    write_text(path, "{\n  \"schema\": \"aftershock/report-v1\",\n  oops\n}");
    ck_assert_int_eq(ash_report_load(path, &doc, &err), -1);
    ck_assert_msg(strstr(err.msg, "broken.json:3:") != NULL, "%s", err.msg);

    snprintf(path, sizeof path, "%s/array.json", tmpdir);
    write_text(path, "[1, 2]");
    ck_assert_int_eq(ash_report_load(path, &doc, &err), -1);
    ck_assert_msg(strstr(err.msg, "not an aftershock report"), "%s", err.msg);

    snprintf(path, sizeof path, "%s/missing.json", tmpdir);
    ck_assert_int_eq(ash_report_load(path, &doc, &err), -1);
    ck_assert_msg(strstr(err.msg, "missing.json"), "%s", err.msg);
}
END_TEST

/* ---- formats shared by the renderers ---- */

START_TEST(formats)
{
    char buf[128];
    ck_assert_str_eq(ash_report_fmt_human(buf, sizeof buf, 720000.0), "12m00s");
    ck_assert_str_eq(ash_report_fmt_human(buf, sizeof buf, 3723000.0), "1h02m03s");
    ck_assert_str_eq(ash_report_fmt_human(buf, sizeof buf, 45500.0), "45.500s");
    ck_assert_str_eq(ash_report_fmt_ms_value(buf, sizeof buf, true, 1234.5675), "1234.568");
    ck_assert_str_eq(ash_report_fmt_ms_value(buf, sizeof buf, false, 0), "-");
    json_t *doc = load_fixture("pass");
    ck_assert_str_eq(ash_report_fmt_incident(buf, sizeof buf, doc, "ttd"), "12 min \u2192 12.0 s at 60x");
    ck_assert_str_eq(ash_report_fmt_incident(buf, sizeof buf, doc, "ttr"), "22 min \u2192 22.0 s at 60x");
    /* Human units: zero is zero, precision follows the magnitude, no carry into "1000 ms" or "60.0 s". */
    static const struct {
        double ms;
        const char *want;
    } durs[] = {{0, "0 ms"},       {0.041, "0.041 ms"},   {0.187, "0.19 ms"},      {4.25, "4.2 ms"},
                {48.731, "49 ms"}, {999.6, "1.00 s"},     {3012.345, "3.01 s"},    {12231.0, "12.2 s"},
                {59960, "1 min"},  {720000, "12 min"},    {750000, "12 min 30 s"}, {3723000, "1 h 02 min"},
                {7200000, "2 h"},  {-2150.412, "-2.15 s"}};
    for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++)
        ck_assert_str_eq(ash_report_fmt_dur(buf, sizeof buf, durs[i].ms), durs[i].want);
    ck_assert_str_eq(ash_report_fmt_rel(buf, sizeof buf, true, 0), "0");
    ck_assert_str_eq(ash_report_fmt_rel(buf, sizeof buf, true, 3012.345), "+3.01 s");
    ck_assert_str_eq(ash_report_fmt_rel(buf, sizeof buf, false, 1), "-");
    json_decref(doc);
    doc = load_fixture("nulls");
    ck_assert_str_eq(ash_report_fmt_incident(buf, sizeof buf, doc, "ttd"), "-");
    json_decref(doc);

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ash_report_put_xml(f, "a<b>&\"c'\x01\n");
    fclose(f);
    ck_assert_str_eq(out, "a&lt;b&gt;&amp;&quot;c&#39;\xef\xbf\xbd&#10;");
    free(out);
    f = open_memstream(&out, &len);
    ash_report_put_md_cell(f, "a|b\n<c>");
    fclose(f);
    ck_assert_str_eq(out, "a\\|b &lt;c&gt;");
    free(out);
}
END_TEST

/* ---- JUnit ---- */

START_TEST(junit_fail_names_missed_expectations)
{
    char path[512];
    char *x = render("fail", ash_report_write_junit, "junit.xml", path, sizeof path);
    /* One suite per run; one testcase for the run, one per expectation. */
    ck_assert_ptr_nonnull(
        strstr(x, "<testsuite name=\"telephony-table-lock\" tests=\"3\" failures=\"2\" errors=\"0\""));
    ck_assert_ptr_nonnull(strstr(x, "<testcase classname=\"aftershock.telephony-table-lock\" name=\"run\""));
    ck_assert_ptr_nonnull(strstr(x, "<testcase classname=\"aftershock.telephony-table-lock\" name=\"detect_within\" "
                                    "time=\"0.000\">\n      <failure type=\"expectation\" message=\"detect_within: "
                                    "18.2 s, over the limit of 15.0 s\">"));
    ck_assert_ptr_nonnull(strstr(x, "<failure type=\"expectation\" message=\"recover_within: not recovered (limit "
                                    "30.0 s)\">"));
    ck_assert_uint_eq(count_of(x, "<failure "), 2);
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"ttd_ms\" value=\"18234.500\"/>"));
    /* Not reached: no number, and never the string "null". */
    ck_assert_ptr_null(strstr(x, "<property name=\"ttr_ms\""));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"ttr.status\" value=\"not recovered\"/>"));
    ck_assert_ptr_null(strstr(x, "\"null\""));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"impact_ms\" value=\"51.500\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"detected_by\" value=\"noc-webhook\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"resolution_ms\" value=\"100.000\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"incident.ttd.basis\" value=\"stated\"/>"));
    /* The title and the alert text carry <&>" and must come out escaped. */
    ck_assert_ptr_nonnull(strstr(x, "value=\"Calls &amp; &lt;records&gt; &quot;locked&quot;\""));
    ck_assert_ptr_nonnull(strstr(x, "alert &quot;QueueBacklog&quot; &lt;critical&gt; &amp; paging | ops"));
    ck_assert_ptr_null(strstr(x, "<critical>"));
    ck_assert_ptr_null(strstr(x, "<records>"));
    free(x);
    assert_well_formed(path);
}
END_TEST

START_TEST(junit_pass_aborted_nulls)
{
    char path[512];
    char *x = render("pass", ash_report_write_junit, "junit.xml", path, sizeof path);
    ck_assert_ptr_nonnull(strstr(x, "tests=\"3\" failures=\"0\" errors=\"0\""));
    ck_assert_ptr_null(strstr(x, "<failure"));
    ck_assert_ptr_null(strstr(x, "<error"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"ttd_ms\" value=\"3012.345\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"ttr_ms\" value=\"12231.000\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"detected_by\" value=\"backlog-alert\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"incident.scaled_ttd_ms\" value=\"12000.000\"/>"));
    /* No error: no error property at all. */
    ck_assert_ptr_null(strstr(x, "error\" value="));
    ck_assert_ptr_nonnull(strstr(x, " timestamp=\"2025-03-14T09:30:02\">"));
    free(x);
    assert_well_formed(path);

    x = render("aborted", ash_report_write_junit, "junit.xml", path, sizeof path);
    ck_assert_ptr_nonnull(strstr(x, "tests=\"3\" failures=\"2\" errors=\"1\""));
    ck_assert_ptr_nonnull(strstr(x, "<error type=\"aborted\" message=\"run aborted: interrupted by SIGINT\">"));
    free(x);
    assert_well_formed(path);

    x = render("nulls", ash_report_write_junit, "junit.xml", path, sizeof path);
    ck_assert_ptr_nonnull(strstr(x, "tests=\"2\" failures=\"1\" errors=\"1\""));
    ck_assert_ptr_null(strstr(x, "<property name=\"ttd_ms\""));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"ttd.status\" value=\"not detected\"/>"));
    ck_assert_ptr_null(strstr(x, "<property name=\"detected_by\""));
    ck_assert_ptr_nonnull(strstr(x, "fault cut-core: sch_netem is not available in this kernel"));
    free(x);
    assert_well_formed(path);

    /* A run that could not be set up carries only index, verdict and its own error. */
    x = render("setup_error", ash_report_write_junit, "junit.xml", path, sizeof path);
    ck_assert_ptr_nonnull(strstr(x, "tests=\"1\" failures=\"0\" errors=\"1\""));
    ck_assert_ptr_nonnull(strstr(x, "<error type=\"error\" message=\"run error: cannot create network namespace "
                                    "ash-1f2e: Operation not permitted (run as root)\">"));
    /* The incident gives no TTD: unknown, said as such. */
    ck_assert_ptr_null(strstr(x, "<property name=\"incident.ttd_ms\""));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"incident.ttd.basis\" value=\"unknown\"/>"));
    free(x);
    assert_well_formed(path);

    x = render("repeat3", ash_report_write_junit, "junit.xml", path, sizeof path);
    ck_assert_uint_eq(count_of(x, "<testsuite "), 3);
    ck_assert_uint_eq(count_of(x, "tests=\"3\" failures=\"0\" errors=\"0\""), 3);
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"schedule_lateness_p99_ms\" value=\"0.187\"/>"));
    ck_assert_uint_eq(count_of(x, "<testcase "), 9);
    ck_assert_ptr_nonnull(strstr(x, "<testsuite name=\"portal-memory-exhaustion (run 3 of 3)\""));
    free(x);
}
END_TEST

/* Issue 16: the people's marks stand beside the machine's figures in report.md, report.html
 * and junit.xml (gameday.json: marks by two people, a human detector repeating the first). */
START_TEST(marks_beside_the_figures)
{
    const char *line = "marked detected at +5.00 s (09:30:09 UTC) (uid 1000 pid 4242); marked mitigated at +9.50 s "
                       "(09:30:13 UTC) (key in the live view (pid 777)); marked recovered at +12.8 s (09:30:17 UTC) "
                       "(key in the live view (pid 777)). TTD by the people 5.00 s, by the machine 3.01 s "
                       "(backlog-alert)";
    char want[2048], path[512];
    char *md = render("gameday", ash_report_write_markdown, "report.md", NULL, 0);
    snprintf(want, sizeof want, "- run 1, the people (`aftershock mark`): %s\n", line);
    ck_assert_msg(strstr(md, want), "report.md:\n%s", md);
    /* right under the figures table, before the next section */
    ck_assert_ptr_nonnull(strstr(md, "## Figures per run"));
    ck_assert(strstr(md, want) < strstr(md, "## Figures per run") + 2000);
    ck_assert_ptr_null(strstr(md, "- run 2, the people")); /* run 2: nobody marked */
    free(md);

    char *html = render("gameday", ash_report_write_html, "report.html", NULL, 0);
    snprintf(want, sizeof want, "<p class=\"marks\">The people (<code>aftershock mark</code>): %s.</p>", line);
    ck_assert_msg(strstr(html, want), "report.html lacks %s", want);
    ck_assert_uint_eq(count_of(html, "<p class=\"marks\">"), 1);
    free(html);

    char *x = render("gameday", ash_report_write_junit, "junit.xml", path, sizeof path);
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"mark.detected_ms\" value=\"5000.000\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"mark.detected.by\" value=\"uid 1000 pid 4242\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"mark.mitigated_ms\" value=\"9500.000\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"mark.recovered_ms\" value=\"12850.000\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"ttd_people_ms\" value=\"5000.000\"/>"));
    /* the machine's own first detection, not the human detector's repeat of the mark */
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"ttd_machine_ms\" value=\"3012.345\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<property name=\"ttd_machine.by\" value=\"backlog-alert\"/>"));
    ck_assert_uint_eq(count_of(x, "<property name=\"marks\""), 1);
    free(x);
    assert_well_formed(path);

    /* No marks, no mark lines or properties. */
    md = render("pass", ash_report_write_markdown, "report.md", NULL, 0);
    ck_assert_ptr_null(strstr(md, "the people"));
    free(md);
    x = render("pass", ash_report_write_junit, "junit.xml", NULL, 0);
    ck_assert_ptr_null(strstr(x, "mark"));
    free(x);
}
END_TEST

/* Each verify check is a testcase of its own, failing when its outcome was not the expected one;
 * a "fail" verdict nothing else explains fails the run's own testcase. */
START_TEST(junit_verify_checks_and_unexplained_fail)
{
    json_t *doc = load_fixture("pass");
    json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
    json_object_set_new(run, "verify",
                        json_pack("[{s:s, s:s, s:s, s:b, s:f, s:s}, {s:s, s:s, s:s, s:b, s:f, s:s}]", "name",
                                  "profiles-intact", "expect", "pass", "outcome", "fail", "met", 0, "duration_ms", 12.5,
                                  "output", "3 profiles corrupted", "name", "db-answers", "expect", "pass", "outcome",
                                  "pass", "met", 1, "duration_ms", 4.0, "output", ""));
    char path[512];
    snprintf(path, sizeof path, "%s/verify.xml", tmpdir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_junit(doc, path, &err) == 0, "%s", err.msg);
    char *x = slurp(path);
    ck_assert_ptr_nonnull(strstr(x, "tests=\"5\" failures=\"1\" errors=\"0\""));
    ck_assert_ptr_nonnull(strstr(x, "name=\"verify: profiles-intact\" time=\"0.013\">\n      <failure type=\"verify\" "
                                    "message=\"expected pass, got fail\"/>\n      <system-out>3 profiles corrupted"));
    ck_assert_ptr_nonnull(strstr(x, "name=\"verify: db-answers\" time=\"0.004\">\n    </testcase>"));
    free(x);
    assert_well_formed(path);

    json_object_set_new(run, "verify", json_array());
    json_object_set_new(run, "verdict", json_string("fail"));
    json_object_set_new(run, "error", json_string("stopped by a guardrail"));
    ck_assert_msg(ash_report_write_junit(doc, path, &err) == 0, "%s", err.msg);
    x = slurp(path);
    ck_assert_ptr_nonnull(strstr(x, "tests=\"3\" failures=\"1\" errors=\"0\""));
    ck_assert_ptr_nonnull(strstr(x, "name=\"run\" time=\"16.381\">\n      <failure type=\"verdict\" message=\"run "
                                    "failed: stopped by a guardrail\"/>"));
    free(x);
    json_decref(doc);
}
END_TEST

/* Unknown reads as unknown, assumed as assumed, zero as zero, in every output. */
START_TEST(incident_unknown_assumed_zero_everywhere)
{
    json_t *doc = load_fixture("pass");
    json_t *inc = json_pack("{s:s, s:s, s:f, s:n, s:f, s:f, s:n, s:s, s:s, s:s, s:s, s:n, s:s, s:[s]}", "source",
                            "000_c77ba6c079faf663.txt", "title", "AskCody: Management Portal degraded", "ttd_ms", 0.0,
                            "ttr_ms", "timescale", 600.0, "scaled_ttd_ms", 0.0, "scaled_ttr_ms", "ttd_basis", "assumed",
                            "ttr_basis", "unknown", "fault_at", "16:43", "detected_at", "16:43", "recovered_at",
                            "mitigated_at", "18:50", "assumed", "fault_at");
    json_object_set_new(doc, "incident", inc);
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/inc", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_render_all(doc, dir, &err) == 0, "%s", err.msg);

    char buf[200];
    ck_assert_str_eq(ash_report_fmt_incident(buf, sizeof buf, doc, "ttd"), "0 ms (assumed)");
    ck_assert_str_eq(ash_report_fmt_incident(buf, sizeof buf, doc, "ttr"), "unknown");
    ck_assert_int_eq(ash_report_incident_basis(doc, "ttd"), ASH_BASIS_ASSUMED);
    ck_assert_int_eq(ash_report_incident_basis(doc, "ttr"), ASH_BASIS_UNKNOWN);

    snprintf(path, sizeof path, "%s/report.html", dir);
    char *h = slurp(path);
    ck_assert_ptr_nonnull(strstr(h, "<span class=\"assumed\">0 ms (assumed)</span>"));
    ck_assert_ptr_nonnull(strstr(h, "<span class=\"unknown\">unknown (the postmortem does not give it)</span>"));
    ck_assert_ptr_nonnull(strstr(h, "replays the incident \u201cAskCody: Management Portal degraded\u201d"));
    /* Its own clock on the timeline: 16:43 at t_inject, 1 s = 10 min. */
    ck_assert_ptr_nonnull(strstr(h, ">incident clock</text>"));
    ck_assert_ptr_nonnull(strstr(h, ">1 s = 10 min</text>"));
    ck_assert_ptr_nonnull(strstr(h, ">incident mitigated 18:50 (assumed)</text>"));
    ck_assert_ptr_nonnull(strstr(h, ">incident detected 16:43 (assumed)</text>"));
    ck_assert_ptr_null(strstr(h, "0.000"));
    free(h);
    assert_well_formed(path);

    snprintf(path, sizeof path, "%s/report.md", dir);
    h = slurp(path);
    ck_assert_ptr_nonnull(strstr(h, "| TTD | 0 ms (assumed) | *assumed* | 3.01 s | - |"));
    ck_assert_ptr_nonnull(strstr(h, "| TTR | unknown (the postmortem does not give it) | unknown | 12.2 s | - |"));
    ck_assert_ptr_nonnull(strstr(h, "Incident: AskCody: Management Portal degraded (`000_c77ba6c079faf663.txt`)"));
    free(h);

    snprintf(path, sizeof path, "%s/junit.xml", dir);
    h = slurp(path);
    ck_assert_ptr_nonnull(strstr(h, "<property name=\"incident.ttd_ms\" value=\"0.000\"/>"));
    ck_assert_ptr_nonnull(strstr(h, "<property name=\"incident.ttd.basis\" value=\"assumed\"/>"));
    ck_assert_ptr_null(strstr(h, "<property name=\"incident.ttr_ms\""));
    ck_assert_ptr_nonnull(strstr(h, "<property name=\"incident.ttr.basis\" value=\"unknown\"/>"));
    ck_assert_ptr_nonnull(
        strstr(h, "<property name=\"incident.title\" value=\"AskCody: Management Portal degraded\"/>"));
    free(h);

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ash_report_print_summary(f, (const json_t *const *)&doc, 1, false);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(out, "0 ms (assumed)"));
    ck_assert_ptr_nonnull(strstr(out, "unknown"));
    ck_assert_ptr_null(strstr(out, "0.000"));
    free(out);
    json_decref(doc);
}
END_TEST

/* The causal chain: memory samples (by default) and what the scenario plots, as lanes. */
START_TEST(timeline_series_lanes)
{
    json_t *doc = load_fixture("pass");
    json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
    json_t *tl = json_object_get(run, "timeline");
    for (int i = 0; i < 20; i++)
        json_array_append_new(
            tl, json_pack("{s:f, s:s, s:s}", "t_ms", 2000.0 + 500.0 * i, "event", "memory-usage", "detail",
                          i % 2 ? "host portal: 30.5 MiB of 40.0 MiB"
                                : "host portal: 9.8 MiB of 40.0 MiB, pressure some 0.00% full 0.00%"));
    char path[600];
    snprintf(path, sizeof path, "%s/series.html", tmpdir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_html(doc, path, &err) == 0, "%s", err.msg);
    char *h = slurp(path);
    ck_assert_uint_eq(count_of(h, "<g class=\"series\""), 1);
    ck_assert_ptr_nonnull(strstr(h, "data-series=\"memory, host portal\""));
    ck_assert_ptr_nonnull(strstr(h, ">max 30.5 MiB of 40</text>"));
    ck_assert_ptr_nonnull(strstr(h, "<line class=\"series-limit\""));
    free(h);
    assert_well_formed(path);

    /* The scenario's own choice replaces the default. */
    json_object_set_new(doc, "plot", json_pack("[s, s]", "latency:register", "latency:no-such-probe"));
    ck_assert_msg(ash_report_write_html(doc, path, &err) == 0, "%s", err.msg);
    h = slurp(path);
    ck_assert_uint_eq(count_of(h, "<g class=\"series\""), 1);
    ck_assert_ptr_nonnull(strstr(h, "data-series=\"latency, register\""));
    ck_assert_ptr_nonnull(strstr(h, ">max 300 ms</text>"));
    free(h);
    json_object_set_new(doc, "plot", json_array());
    ck_assert_msg(ash_report_write_html(doc, path, &err) == 0, "%s", err.msg);
    h = slurp(path);
    ck_assert_ptr_null(strstr(h, "<g class=\"series\""));
    free(h);
    json_decref(doc);
}
END_TEST

START_TEST(junit_many_in_one_file)
{
    json_t *docs[N_FIXTURES];
    for (size_t i = 0; i < N_FIXTURES; i++)
        docs[i] = load_fixture(fixture_names[i]);
    char path[512];
    snprintf(path, sizeof path, "%s/all.xml", tmpdir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_junit_many((const json_t *const *)docs, N_FIXTURES, path, &err) == 0, "%s", err.msg);
    char *x = slurp(path);
    /* pass 3 + fail 3 + aborted 3 + repeat 3x3 + nulls 2 + setup_error 1 */
    ck_assert_ptr_nonnull(strstr(x, "<testsuites name=\"aftershock\" tests=\"21\" failures=\"5\" errors=\"3\""));
    ck_assert_uint_eq(count_of(x, "<testsuite "), N_FIXTURES + 2);
    ck_assert_uint_eq(count_of(x, "<testcase "), 21);
    free(x);
    assert_well_formed(path);
    for (size_t i = 0; i < N_FIXTURES; i++)
        json_decref(docs[i]);
}
END_TEST

/* ---- Markdown ---- */

START_TEST(markdown_has_the_figures)
{
    char *md = render("pass", ash_report_write_markdown, "report.md", NULL, 0);
    ck_assert_ptr_nonnull(strstr(md, "**Verdict: PASS**\n\n- **TTD 3.01 s** (incident: 12 min \u2192 12.0 s at 60x; "
                                     "limit 15.0 s: met)\n- **TTR 12.2 s** (incident: 22 min \u2192 22.0 s at 60x; "
                                     "limit 30.0 s: met)\n"));
    ck_assert_ptr_nonnull(strstr(md, "| 1 | pass | 49 ms | 3.01 s | backlog-alert | 12.2 s | 211 ms | 100 ms |"));
    ck_assert_ptr_nonnull(strstr(md, "| TTD | 12 min \u2192 12.0 s at 60x | stated | 3.01 s | 0.25 |"));
    ck_assert_ptr_nonnull(strstr(md, "| TTR | 22 min \u2192 22.0 s at 60x | stated | 12.2 s | 0.56 |"));
    ck_assert_ptr_nonnull(strstr(md, "| 1 | detect_within | 15.0 s | 3.01 s | yes |"));
    ck_assert_ptr_nonnull(strstr(md, "## Event log"));
    ck_assert_ptr_nonnull(strstr(md, "| 0 | +2.15 s | t_inject | maintenance-lock in effect |"));
    ck_assert_ptr_nonnull(strstr(md, "| 1 | 230 | 0.041 ms | 0.19 ms | 0.91 ms |"));
    /* One run: no "median" summary over it. */
    ck_assert_ptr_null(strstr(md, "## Summary"));
    ck_assert_ptr_nonnull(strstr(md, "- aftershock: 0.1.0"));
    free(md);

    md = render("fail", ash_report_write_markdown, "report.md", NULL, 0);
    ck_assert_ptr_nonnull(strstr(md, "**Verdict: FAIL**"));
    ck_assert_ptr_nonnull(strstr(md, "- **TTR not recovered** (incident: 22 min \u2192 22.0 s at 60x; limit 30.0 s: "
                                     "**missed**)\n"));
    ck_assert_ptr_nonnull(strstr(md, "| 1 | recover_within | 30.0 s | not recovered | **NO** |"));
    /* A pipe in a detail must not split the table row. */
    ck_assert_ptr_nonnull(strstr(md, "&lt;critical&gt; & paging \\| ops"));
    free(md);

    md = render("repeat3", ash_report_write_markdown, "report.md", NULL, 0);
    ck_assert_ptr_nonnull(strstr(md, "| TTD | 3.90 s | 4.10 s | 4.50 s | 4.50 s | 3 / 3 |"));
    ck_assert_ptr_nonnull(strstr(md, "## Event log, run 3"));
    ck_assert_ptr_nonnull(strstr(md, "replayed at 120x"));
    free(md);

    /* Without a "summary" (an engine that did not call ash_report_summarize) the figures are computed. */
    json_t *doc = load_fixture("repeat3");
    json_object_del(doc, "summary");
    char path[600];
    snprintf(path, sizeof path, "%s/nosummary.md", tmpdir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_markdown(doc, path, &err) == 0, "%s", err.msg);
    json_decref(doc);
    md = slurp(path);
    ck_assert_ptr_nonnull(strstr(md, "| TTD | 3.90 s | 4.10 s | 4.50 s | 4.50 s | 3 / 3 |"));
    free(md);

    md = render("nulls", ash_report_write_markdown, "report.md", NULL, 0);
    ck_assert_ptr_nonnull(strstr(md, "**Verdict: ERROR**"));
    ck_assert_ptr_nonnull(strstr(md, "- error: cannot create network namespace: Operation not permitted"));
    ck_assert_ptr_nonnull(
        strstr(md, "| 1 | error | none seen | not detected | - | not recovered | not measured | - | - |"));
    free(md);
}
END_TEST

/* A fleet run's section (runs[].fleet) in report.md and report.html: the nodes'
 * clocks, which node applied each fault with its bound, a node's lost probe. */
START_TEST(fleet_section_in_markdown_and_html)
{
    json_t *doc = load_fixture("pass");
    json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
    json_error_t je;
    json_t *fl = json_loads(
        "{\"engine\": \"agents\", \"listen\": \"127.0.0.1:7000\", \"clock_bound_ms\": 0.75, "
        "\"fault_bound_ms\": 0.5, \"probe_bound_ms\": 0.25, "
        "\"nodes\": [{\"node\": \"edge-a\", \"connected\": true, \"offset_ms\": 12.5, \"bound_ms\": 0.25, "
        "\"rtt_ms\": 0.5, \"clock_rounds\": 8}, {\"node\": \"edge-b\", \"connected\": false, \"offset_ms\": "
        "null, \"bound_ms\": null, \"rtt_ms\": null, \"clock_rounds\": 0}], "
        "\"faults\": [{\"name\": \"stop-db\", \"node\": \"edge-a\", \"inject_bound_ms\": 0.5, "
        "\"revert_bound_ms\": null}], "
        "\"probes\": [{\"name\": \"from-b\", \"node\": \"edge-b\", \"from\": \"edge-b/web\", \"samples\": 41, "
        "\"bound_ms\": 0.25, \"lost\": \"agent <b> gone | mid-run\"}]}",
        0, &je);
    ck_assert_msg(fl, "%s", je.text);
    json_object_set_new(run, "fleet", fl);
    char md_path[600], html_path[600];
    snprintf(md_path, sizeof md_path, "%s/fleet.md", tmpdir);
    snprintf(html_path, sizeof html_path, "%s/fleet.html", tmpdir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_markdown(doc, md_path, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_report_write_html(doc, html_path, &err) == 0, "%s", err.msg);
    char *md = slurp(md_path), *h = slurp(html_path);
    ck_assert_ptr_nonnull(strstr(md, "## Fleet (run 1)"));
    ck_assert_ptr_nonnull(strstr(md, "Engine agents."));
    ck_assert_ptr_nonnull(strstr(md, "(0.50 ms) and of a node probe's sample (0.25 ms): 0.75 ms."));
    ck_assert_ptr_nonnull(strstr(md, "| edge-a | connected | 12 ms | 0.25 ms | 0.50 ms | 8 |"));
    ck_assert_ptr_nonnull(strstr(md, "| edge-b | not connected | - | - | - | 0 |"));
    ck_assert_ptr_nonnull(strstr(md, "| stop-db | edge-a | 0.50 ms | not reverted |"));
    /* A pipe in the lost reason must not split the row. */
    ck_assert_ptr_nonnull(
        strstr(md, "| from-b | edge-b | edge-b/web | 41 | 0.25 ms | agent &lt;b&gt; gone \\| mid-run |"));
    ck_assert_ptr_nonnull(strstr(h, "<h3>Fleet</h3>"));
    ck_assert_ptr_nonnull(strstr(h, "<td>edge-a</td><td>connected</td><td>12 ms</td>"));
    ck_assert_ptr_nonnull(strstr(h, "<td>agent &lt;b&gt; gone | mid-run</td>"));
    free(md);
    free(h);
    /* A run without a fleet has no such section. */
    md = render("pass", ash_report_write_markdown, "report.md", NULL, 0);
    ck_assert_ptr_null(strstr(md, "## Fleet"));
    free(md);
    json_decref(doc);
}
END_TEST

/* Each probe tick over 1 ms late is listed with what held the loop, in all three
 * formats (issue 15 item 3): the first ASH_REPORT_LATE_TICKS_SHOWN of them. */
START_TEST(late_ticks_with_their_cause)
{
    json_t *doc = load_fixture("pass");
    json_t *late = json_object_get(json_array_get(json_object_get(doc, "runs"), 0), "schedule_lateness_ms");
    ck_assert_ptr_nonnull(late);
    json_t *ticks = json_array();
    for (int i = 0; i < 12; i++)
        json_array_append_new(ticks, json_pack("{s:s, s:f, s:f, s:s}", "probe", "api|x", "due_ms", 2150.0 + 100 * i,
                                               "late_ms", 23.4, "cause",
                                               "loop busy in the revert of fault 'slow' (45.000 ms, from 20.000 ms "
                                               "before the tick was due)"));
    json_object_set_new(late, "over_1ms", json_integer(14));
    json_object_set_new(late, "late_ticks", ticks);
    struct {
        int (*writer)(const json_t *, const char *, ash_error_t *);
        const char *file, *want, *count;
    } w[] = {
        {ash_report_write_markdown, "late.md",
         "- probe 'api\\|x': the tick due at 2.15 s started 23.4 ms late: loop busy in the revert of fault 'slow'",
         "Run 1: 14 probe ticks started over 1 ms late (the first 10):"},
        {ash_report_write_html, "late.html",
         "<li>probe &#39;api|x&#39;: the tick due at 2.15 s started 23.4 ms late: loop busy in the revert of fault "
         "&#39;slow&#39;",
         "<p>14 ticks started over 1 ms late (the first ones):</p>"},
        {ash_report_write_junit, "late.xml", "<property name=\"schedule_lateness.late_tick.10\"",
         "<property name=\"schedule_lateness.over_1ms\" value=\"14\"/>"},
    };
    for (size_t k = 0; k < sizeof w / sizeof w[0]; k++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", tmpdir, w[k].file);
        ash_error_t err = {0};
        ck_assert_msg(w[k].writer(doc, path, &err) == 0, "%s", err.msg);
        char *out = slurp(path);
        ck_assert_msg(strstr(out, w[k].want) != NULL, "%s lacks %s", w[k].file, w[k].want);
        ck_assert_msg(strstr(out, w[k].count) != NULL, "%s lacks %s", w[k].file, w[k].count);
        /* Ten shown, not the eleventh. */
        ck_assert_msg(strstr(out, "3.05 s started") != NULL && strstr(out, "3.15 s started") == NULL &&
                          strstr(out, "late_tick.11") == NULL,
                      "%s does not list exactly the first 10", w[k].file);
        free(out);
    }
    json_decref(doc);
}
END_TEST

/* A fleet run's probes on nodes: each node's agent's ticks get a row (md) or a line (html) of their own (issue 20). */
START_TEST(late_per_node_in_md_and_html)
{
    json_t *doc = load_fixture("pass");
    json_t *late = json_object_get(json_array_get(json_object_get(doc, "runs"), 0), "schedule_lateness_ms");
    ck_assert_ptr_nonnull(late);
    json_object_set_new(late, "nodes",
                        json_pack("{s:{s:i, s:f, s:f, s:f, s:i}}", "node|a", "ticks", 48, "p50", 0.027, "p99", 0.162,
                                  "max", 0.162, "over_1ms", 0));
    char path[600];
    snprintf(path, sizeof path, "%s/nodes.md", tmpdir);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_markdown(doc, path, &err) == 0, "%s", err.msg);
    char *out = slurp(path);
    ck_assert_msg(strstr(out, "| 1, node node\\|a | 48 |") != NULL, "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/nodes.html", tmpdir);
    ck_assert_msg(ash_report_write_html(doc, path, &err) == 0, "%s", err.msg);
    out = slurp(path);
    ck_assert_msg(strstr(out, "<p>On node node|a, its agent's probe samples started late by p50 ") != NULL &&
                      strstr(out, "(48 samples).</p>") != NULL,
                  "html lacks the node's lateness");
    free(out);
    json_decref(doc);
}
END_TEST

/* ---- HTML ---- */

START_TEST(html_timeline_per_run_and_strip_per_probe)
{
    char path[512];
    char *h = render("pass", ash_report_write_html, "report.html", path, sizeof path);
    ck_assert_uint_eq(count_of(h, "<svg "), 1);
    ck_assert_uint_eq(count_of(h, "<g class=\"probe-strip\""), 2);
    ck_assert_ptr_nonnull(strstr(h, "data-probe=\"register\""));
    ck_assert_ptr_nonnull(strstr(h, "data-probe=\"registrar-port\""));
    /* 164 + 66 samples of the two probes (see pass.json), one rect each. */
    ck_assert_uint_eq(count_of(h, "<rect class=\"ok\"") + count_of(h, "<rect class=\"bad\""), 164 + 66);
    ck_assert_uint_eq(count_of(h, "<polyline class=\"latency\""), 2);
    ck_assert_ptr_nonnull(strstr(h, ">maintenance-lock (table-lock)</text>"));
    ck_assert_ptr_nonnull(strstr(h, "<g class=\"marker inject\">"));
    ck_assert_ptr_nonnull(strstr(h, "<g class=\"marker detect\">"));
    ck_assert_ptr_nonnull(strstr(h, "<g class=\"marker remedy\">"));
    ck_assert_ptr_nonnull(strstr(h, "<g class=\"marker recover\">"));
    ck_assert_ptr_nonnull(strstr(h, "s from t_inject"));
    ck_assert_ptr_nonnull(strstr(h, "12 min \u2192 12.0 s at 60x"));
    /* The limits and the incident's own moments are on the timeline. */
    ck_assert_ptr_nonnull(strstr(h, "<g class=\"marker limit\">"));
    ck_assert_ptr_nonnull(strstr(h, ">detect_within limit 15.0 s</text>"));
    ck_assert_ptr_nonnull(strstr(h, "<g class=\"marker incident\">"));
    /* Key figures above the fold, in human units. */
    ck_assert_ptr_nonnull(strstr(h, "<div class=\"card\" id=\"key-ttd\"><h2>Time to detect (TTD)</h2><p "
                                    "class=\"big\">3.01 s</p>"));
    ck_assert_ptr_nonnull(strstr(h, "<header class=\"banner v-pass\">"));
    /* Self-contained: nothing to run, nothing to fetch. */
    ck_assert_ptr_null(strstr(h, "<script"));
    ck_assert_ptr_null(strstr(h, "src="));
    ck_assert_ptr_null(strstr(h, "<link"));
    ck_assert_ptr_null(strstr(h, "url("));
    free(h);
    assert_well_formed(path);

    h = render("repeat3", ash_report_write_html, "report.html", path, sizeof path);
    ck_assert_uint_eq(count_of(h, "<svg "), 3);
    ck_assert_uint_eq(count_of(h, "<g class=\"probe-strip\""), 6);
    ck_assert_ptr_nonnull(strstr(h, "<table class=\"summary\">"));
    free(h);
    assert_well_formed(path);

    h = render("fail", ash_report_write_html, "report.html", path, sizeof path);
    ck_assert_ptr_nonnull(strstr(h, "<g class=\"marker remedy-failed\">"));
    ck_assert_ptr_null(strstr(h, "<g class=\"marker recover\">"));
    ck_assert_ptr_null(strstr(h, "<critical>"));
    ck_assert_ptr_nonnull(strstr(h, "<td class=\"miss\">NO</td>"));
    free(h);
    assert_well_formed(path);

    h = render("aborted", ash_report_write_html, "report.html", path, sizeof path);
    ck_assert_ptr_nonnull(strstr(h, "v-aborted"));
    free(h);
    assert_well_formed(path);

    h = render("setup_error", ash_report_write_html, "report.html", path, sizeof path);
    ck_assert_uint_eq(count_of(h, "<svg "), 1);
    ck_assert_uint_eq(count_of(h, "<g class=\"probe-strip\""), 0);
    ck_assert_ptr_nonnull(strstr(h, "no probes in this run"));
    ck_assert_ptr_nonnull(strstr(h, "<p class=\"miss\">error: cannot create network namespace ash-1f2e"));
    free(h);
    assert_well_formed(path);

    h = render("nulls", ash_report_write_html, "report.html", path, sizeof path);
    ck_assert_uint_eq(count_of(h, "<svg "), 1);
    ck_assert_uint_eq(count_of(h, "<g class=\"probe-strip\""), 1);
    ck_assert_ptr_nonnull(strstr(h, "no samples"));
    ck_assert_ptr_null(strstr(h, "nan"));
    ck_assert_ptr_null(strstr(h, "inf\""));
    free(h);
    assert_well_formed(path);
}
END_TEST

/* ---- index, terminal, render_all ---- */

static void place(const char *fixture, const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", tmpdir, dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    if (!fixture)
        return;
    json_t *doc = load_fixture(fixture);
    strncat(path, "/report.json", sizeof path - strlen(path) - 1);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_json(doc, path, &err) == 0, "%s", err.msg);
    json_decref(doc);
}

START_TEST(index_lists_newest_first)
{
    place("pass", "20250314T093000Z-telephony-table-lock");
    place("fail", "20250314T100000Z-telephony-table-lock");
    place("repeat3", "20250315T080000Z-portal memory");
    place(NULL, "not-a-run");
    place(NULL, "20250316T000000Z-broken");
    char path[600];
    snprintf(path, sizeof path, "%s/20250316T000000Z-broken/report.json", tmpdir);
    write_text(path, "{\"schema\": 42}");

    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_index(tmpdir, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/index.html", tmpdir);
    char *h = slurp(path);
    const char *rep = strstr(h, "href=\"20250315T080000Z-portal%20memory/report.html\"");
    const char *fail = strstr(h, "href=\"20250314T100000Z-telephony-table-lock/report.html\"");
    const char *pass = strstr(h, "href=\"20250314T093000Z-telephony-table-lock/report.html\"");
    ck_assert_ptr_nonnull(rep);
    ck_assert_ptr_nonnull(fail);
    ck_assert_ptr_nonnull(pass);
    ck_assert(rep < fail && fail < pass);
    ck_assert_ptr_null(strstr(h, "not-a-run"));
    ck_assert_ptr_nonnull(strstr(h, "unreadable: "));
    ck_assert_ptr_nonnull(strstr(h, "<td class=\"n\">4.10 s (median of 3)</td>"));
    ck_assert_ptr_nonnull(strstr(h, "<td class=\"n\">3.01 s</td>"));
    /* The incident's own figures show on every row, not only in the variants section. */
    ck_assert_ptr_nonnull(strstr(h, "<td class=\"n\">25 min \u2192 12.5 s at 120x</td>"));
    /* Summary cards first: verdict, title, TTD/TTR against the incident and the limits. */
    const char *cards = strstr(h, "<div class=\"cards\">");
    ck_assert_ptr_nonnull(cards);
    ck_assert(cards < strstr(h, "<table"));
    ck_assert_ptr_nonnull(strstr(cards, "<span class=\"v-other\">FAIL</span> Calls &amp; &lt;records&gt;"));
    ck_assert_ptr_nonnull(strstr(cards,
                                 "<p>TTD <b>3.01 s</b> \u00b7 incident <span class=\"stated\">12 min \u2192 "
                                 "12.0 s at 60x</span> \u00b7 limit 15.0 s <span class=\"v-pass\">met</span></p>"));
    ck_assert_ptr_nonnull(strstr(cards, "<p>TTR <b>not recovered</b>"));
    ck_assert_ptr_nonnull(strstr(cards, "limit 30.0 s <span class=\"bad\">MISSED</span>"));
    ck_assert_ptr_nonnull(strstr(cards, "<p>TTD <b>4.10 s</b> (median of 3)"));
    ck_assert_ptr_nonnull(strstr(cards, "met in 3 of 3"));
    ck_assert_ptr_nonnull(strstr(h, ">fail</td>"));
    free(h);
    assert_well_formed(path);

    snprintf(path, sizeof path, "%s/does-not-exist", tmpdir);
    ck_assert_int_eq(ash_report_write_index(path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "does-not-exist"));
    /* The engine refreshes the index best-effort, without an error sink. */
    ck_assert_int_eq(ash_report_write_index(path, NULL), -1);
}
END_TEST

/* The engine hands the index the report it just wrote (issue 19: no second
 * copy of a long run's series at the end of the run): that one is read from
 * memory, untouched, whatever its report.json on disk says. */
START_TEST(index_takes_the_known_report_from_memory)
{
    place("pass", "20250314T093000Z-telephony-table-lock");
    place(NULL, "20250316T000000Z-just-run");
    char path[600];
    snprintf(path, sizeof path, "%s/20250316T000000Z-just-run/report.json", tmpdir);
    write_text(path, "{\"schema\": 42}");
    json_t *known = load_fixture("fail");
    json_t *copy = json_deep_copy(known);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_index_with(tmpdir, "20250316T000000Z-just-run", known, &err) == 0, "%s", err.msg);
    ck_assert(json_equal(known, copy));
    ck_assert_int_eq(known->refcount, 1);
    snprintf(path, sizeof path, "%s/index.html", tmpdir);
    char *h = slurp(path);
    ck_assert_ptr_null(strstr(h, "unreadable: "));
    ck_assert_ptr_nonnull(strstr(h, "href=\"20250316T000000Z-just-run/report.html\""));
    ck_assert_ptr_nonnull(strstr(h, "href=\"20250314T093000Z-telephony-table-lock/report.html\""));
    ck_assert_ptr_nonnull(strstr(h, ">fail</td>"));
    free(h);
    /* Without it, the same folder lists that run as unreadable. */
    ck_assert_msg(ash_report_write_index(tmpdir, &err) == 0, "%s", err.msg);
    h = slurp(path);
    ck_assert_ptr_nonnull(strstr(h, "unreadable: "));
    free(h);
    json_decref(known);
    json_decref(copy);
}
END_TEST

START_TEST(terminal_summary)
{
    json_t *docs[N_FIXTURES];
    for (size_t i = 0; i < N_FIXTURES; i++)
        docs[i] = load_fixture(fixture_names[i]);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ash_report_print_summary(f, (const json_t *const *)docs, N_FIXTURES, false);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(out, "scenario"));
    ck_assert_ptr_nonnull(strstr(out, "incident TTD"));
    ck_assert_ptr_nonnull(strstr(out, "3.01 s"));
    ck_assert_ptr_nonnull(strstr(out, "not recovered"));
    ck_assert_ptr_nonnull(strstr(out, "12 min \u2192 12.0 s at 60x"));
    ck_assert_ptr_nonnull(strstr(out, "25 min \u2192 12.5 s at 120x"));
    ck_assert_ptr_nonnull(strstr(out, "portal-memory-exhaustion (median of 3)"));
    ck_assert_ptr_nonnull(strstr(out, "  run 2"));
    ck_assert_ptr_null(strstr(out, "\x1b["));
    /* header + pass + fail + aborted + (median + 3 runs) + nulls + setup_error */
    ck_assert_uint_eq(count_of(out, "\n"), 1 + 3 + 4 + 1 + 1);
    ck_assert_ptr_nonnull(strstr(out, "45 min \u2192 30.0 s at 90x"));
    /* An incident without a TTD says so; it is not a zero. */
    ck_assert_ptr_nonnull(strstr(out, "  unknown  "));
    /* Columns line up: every line has the same position for the verdict column. */
    free(out);

    f = open_memstream(&out, &len);
    ash_report_print_summary(f, (const json_t *const *)docs, 2, true);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(out, "\x1b[32mpass\x1b[0m"));
    ck_assert_ptr_nonnull(strstr(out, "\x1b[31mfail\x1b[0m"));
    free(out);
    for (size_t i = 0; i < N_FIXTURES; i++)
        json_decref(docs[i]);
}
END_TEST

START_TEST(render_all_writes_every_file)
{
    json_t *doc = load_fixture("fail");
    ash_error_t err = {0};
    ck_assert_msg(ash_report_render_all(doc, tmpdir, &err) == 0, "%s", err.msg);
    static const char *const files[] = {"junit.xml", "report.md", "report.html", "gameday.md", "gameday.html"};
    for (size_t i = 0; i < 5; i++) {
        char path[600];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        ck_assert_msg(stat(path, &st) == 0 && st.st_size > 0, "%s missing", path);
    }
    /* Written through temporary files beside them: none is left. */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c '\\.tmp\\.'", tmpdir);
    FILE *ls = popen(cmd, "r");
    char line[64] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, ls));
    pclose(ls);
    ck_assert_str_eq(line, "0\n");
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir", tmpdir);
    ck_assert_int_eq(ash_report_render_all(doc, bad, &err), -1);
    ck_assert_msg(strstr(err.msg, "no/such/dir/junit.xml") != NULL, "%s", err.msg);
    json_decref(doc);
}
END_TEST

/* A report written by a newer or buggy engine must still render: wrong types,
 * missing keys and no runs at all degrade to "-", never to a crash or bad XML. */
START_TEST(renders_malformed_and_empty_reports)
{
    static const char *const docs[] = {
        "{\"schema\": \"aftershock/report-v1\", \"scenario\": 5, \"verdict\": [1], \"incident\": "
        "{\"ttd_ms\": \"12m\", \"timescale\": 0}, \"summary\": [], \"runs\": [\"x\", 7, {\"index\": \"one\", "
        "\"probes\": [{\"series\": [[1], \"a\", [null, null, null], [5, \"fast\", true], [-50, 1, 1]]}, 3], "
        "\"faults\": {\"a\": 1}, \"detections\": [{\"at_ms\": -10}], \"remediations\": [{}], "
        "\"expectations\": [1, {\"met\": false}], \"timeline\": [{\"t_ms\": 1e300, \"detail\": \"\\u0001\"}]}]}",
        "{\"schema\": \"aftershock/report-v1\", \"scenario\": \"no-env\", \"verdict\": \"error\", "
        "\"error\": \"cgroup v2 has no memory controller & v1 is absent\", \"runs\": []}",
    };
    for (size_t i = 0; i < 2; i++) {
        json_error_t jerr;
        json_t *doc = json_loads(docs[i], 0, &jerr);
        ck_assert_msg(doc != NULL, "test document %zu: %s", i, jerr.text);
        char dir[600];
        snprintf(dir, sizeof dir, "%s/doc%zu", tmpdir, i);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        ash_error_t err = {0};
        ck_assert_msg(ash_report_render_all(doc, dir, &err) == 0, "%s", err.msg);
        char path[700];
        snprintf(path, sizeof path, "%s/junit.xml", dir);
        assert_well_formed(path);
        char *x = slurp(path);
        /* doc 0: three runs, the third with two expectations (one malformed); doc 1: no run at all */
        ck_assert_uint_eq(count_of(x, "<testcase "), i == 0 ? 5 : 1);
        if (i == 1)
            ck_assert_ptr_nonnull(strstr(x, "message=\"no run completed: cgroup v2 has no memory controller &amp; v1"));
        free(x);
        snprintf(path, sizeof path, "%s/report.html", dir);
        assert_well_formed(path);
        x = slurp(path);
        ck_assert_ptr_null(strstr(x, "nan"));
        free(x);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        ash_report_print_summary(f, (const json_t *const *)&doc, 1, true);
        fclose(f);
        ck_assert_uint_gt(len, 0);
        free(out);
        ck_assert_int_eq(ash_report_summarize(doc), 0);
        json_decref(doc);
    }
}
END_TEST

/* ---- variants: "would the action items have helped?" ---- */

/* A variant of the "pass" fixture (telephony-table-lock, incident 002_..., 60x)
 * as the engine would store it: another scenario name, its own figures. */
static json_t *variant_of(const char *fixture, const char *name, const char *started, double ttd, double ttr,
                          const char *source)
{
    json_t *doc = load_fixture(fixture);
    json_object_set_new(doc, "scenario", json_string(name));
    json_object_set_new(doc, "started_at", json_string(started));
    json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
    json_object_set_new(run, "ttd_ms", ttd < 0 ? json_null() : json_real(ttd));
    json_object_set_new(run, "ttr_ms", ttr < 0 ? json_null() : json_real(ttr));
    if (source)
        json_object_set_new(json_object_get(doc, "incident"), "source", json_string(source));
    json_object_del(doc, "summary");
    ck_assert_int_eq(ash_report_summarize(doc), 0);
    return doc;
}

static void place_doc(json_t *doc, const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", tmpdir, dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    strncat(path, "/report.json", sizeof path - strlen(path) - 1);
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_json(doc, path, &err) == 0, "%s", err.msg);
    json_decref(doc);
}

static char *index_of_tmp(char *path, size_t len)
{
    ash_error_t err = {0};
    ck_assert_msg(ash_report_write_index(tmpdir, &err) == 0, "%s", err.msg);
    snprintf(path, len, "%s/index.html", tmpdir);
    assert_well_formed(path);
    return slurp(path);
}

static bool exists(const char *file)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", tmpdir, file);
    return stat(path, &st) == 0;
}

START_TEST(variants_known_pair_in_index_and_comparison_md)
{
    /* As it was, twice (the folder keeps history); the variant ran a minute
     * after the first, so that one is its as-it-was replay, not the later "fail". */
    place("pass", "20250314T093000Z-telephony-table-lock");
    place("fail", "20250314T100000Z-telephony-table-lock");
    place_doc(
        variant_of("pass", "telephony-table-lock-early-alert", "2025-03-14T09:31:00.000Z", 1012.345, 9231.0, NULL),
        "20250314T093100Z-early&alert");
    /* An older run of the same variant: only the newest is compared. */
    place_doc(variant_of("pass", "telephony-table-lock-early-alert", "2025-03-14T09:20:00.000Z", 5.0, 5.0, NULL),
              "20250314T092000Z-early-alert-old");
    /* A malformed report and one with wrong types do not break the index. */
    place(NULL, "20250316T000000Z-broken");
    char path[700];
    snprintf(path, sizeof path, "%s/20250316T000000Z-broken/report.json", tmpdir);
    write_text(path, "{\"schema\": \"aftershock/report-v1\", \"scenario\": [1], \"incident\": \"x\", \"runs\": 3}");
    place(NULL, "20250316T000001Z-garbage");
    snprintf(path, sizeof path, "%s/20250316T000001Z-garbage/report.json", tmpdir);
    write_text(path, "{not json");

    char *h = index_of_tmp(path, sizeof path);
    const char *sec = strstr(h, "<h2 id=\"variants\">Would the action items have helped?</h2>");
    ck_assert_ptr_nonnull(sec);
    ck_assert_ptr_nonnull(strstr(sec, "<h3>Incident <code>002_54fa43d8c2608992.txt</code></h3>"));
    ck_assert_ptr_nonnull(strstr(sec, "The incident itself: TTD 12 min \u2192 12.0 s at 60x, TTR 22 min \u2192 "
                                      "22.0 s at 60x"));
    ck_assert_ptr_nonnull(strstr(sec, "<td class=\"n\">3.01 s \u2192 1.01 s</td>"
                                      "<td class=\"sooner\">2.00 s sooner (-66.4%; 2 min of the incident at "
                                      "60x)</td>"));
    ck_assert_ptr_nonnull(strstr(sec, "<td class=\"n\">12.2 s \u2192 9.23 s</td>"
                                      "<td class=\"sooner\">3.00 s sooner (-24.5%; 3 min of the incident at "
                                      "60x)</td>"));
    /* The run directories, escaped as text and as URLs. */
    ck_assert_ptr_nonnull(strstr(sec, "<a href=\"20250314T093100Z-early%26alert/report.html\">telephony-table-lock-"
                                      "early-alert</a><br/><span class=\"dir\">20250314T093100Z-early&amp;alert"));
    ck_assert_ptr_nonnull(strstr(sec, "<a href=\"20250314T093000Z-telephony-table-lock/report.html\">"));
    ck_assert_uint_eq(count_of(sec, "sooner ("), 2);
    ck_assert_ptr_null(strstr(sec, "20250314T100000Z-telephony-table-lock/report.html\">telephony"));
    ck_assert_ptr_null(strstr(h, "early-alert-old/report.html\">telephony-table-lock-early-alert</a><br/>"));
    /* The run list is still all there, the unreadable one included. */
    ck_assert_ptr_nonnull(strstr(h, "<h2 id=\"runs\">Runs</h2>"));
    ck_assert_ptr_nonnull(strstr(h, "<p>6 reports, newest first."));
    ck_assert_ptr_nonnull(strstr(h, "unreadable: "));
    free(h);

    snprintf(path, sizeof path, "%s/comparison.md", tmpdir);
    char *md = slurp(path);
    ck_assert_ptr_nonnull(strstr(md, "# Would the action items have helped?\n"));
    ck_assert_ptr_nonnull(strstr(md, "## Incident `002_54fa43d8c2608992.txt`\n"));
    /* No relative links: they break once pasted into a ticket. The folder is named once, absolutely. */
    ck_assert_ptr_nonnull(strstr(md, "| **telephony-table-lock-early-alert** (run `20250314T093100Z-early&alert`) | "
                                     "**telephony-table-lock** (run `20250314T093000Z-telephony-table-lock`) | "
                                     "3.01 s \u2192 1.01 s | 2.00 s sooner (-66.4%; 2 min of the incident at 60x) | "
                                     "12.2 s \u2192 9.23 s | 3.00 s sooner (-24.5%; 3 min of the incident at 60x) "
                                     "|\n"));
    ck_assert_ptr_null(strstr(md, "]("));
    ck_assert_ptr_nonnull(strstr(md, "Run directories are in `/"));
    ck_assert_uint_eq(count_of(md, "\n| **"), 1);
    free(md);

    /* The variant's runs leave the folder: so does the comparison. */
    snprintf(path, sizeof path, "%s/20250314T093100Z-early&alert", tmpdir);
    ck_assert_int_eq(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    snprintf(path, sizeof path, "%s/20250314T092000Z-early-alert-old", tmpdir);
    ck_assert_int_eq(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    h = index_of_tmp(path, sizeof path);
    ck_assert_ptr_null(strstr(h, "Would the action items"));
    ck_assert_ptr_null(strstr(h, "<h2"));
    free(h);
    ck_assert(!exists("comparison.md"));
}
END_TEST

START_TEST(variants_need_their_as_it_was_run_and_the_same_incident)
{
    char path[700];
    /* A variant alone. */
    place_doc(variant_of("pass", "telephony-table-lock-early-alert", "2025-03-14T09:31:00.000Z", 1000, 2000, NULL),
              "20250314T093100Z-telephony-table-lock-early-alert");
    char *h = index_of_tmp(path, sizeof path);
    ck_assert_ptr_null(strstr(h, "Would the action items"));
    ck_assert_ptr_nonnull(strstr(h, "20250314T093100Z-telephony-table-lock-early-alert/report.html"));
    free(h);
    ck_assert(!exists("comparison.md"));

    /* Its as-it-was name, but another incident; and a name that only shares a
     * prefix ("telephony-table-locks" does not extend "telephony-table-lock"). */
    place_doc(variant_of("pass", "telephony-table-lock", "2025-03-14T09:30:00.000Z", 3000, 4000, "other-incident.txt"),
              "20250314T093000Z-telephony-table-lock");
    place_doc(variant_of("fail", "telephony-table-locks", "2025-03-14T09:32:00.000Z", 3000, 4000, NULL),
              "20250314T093200Z-telephony-table-locks");
    h = index_of_tmp(path, sizeof path);
    ck_assert_ptr_null(strstr(h, "Would the action items"));
    free(h);
    ck_assert(!exists("comparison.md"));

    /* The same as-it-was name and incident: now compared. */
    place_doc(variant_of("pass", "telephony-table-lock", "2025-03-14T09:29:00.000Z", 3000, -1, NULL),
              "20250314T092900Z-telephony-table-lock");
    h = index_of_tmp(path, sizeof path);
    ck_assert_ptr_nonnull(strstr(h, "Would the action items"));
    ck_assert_ptr_nonnull(strstr(h, "<td class=\"sooner\">2.00 s sooner (-66.7%; 2 min of the incident at 60x)</td>"));
    ck_assert_ptr_nonnull(strstr(h, "<td class=\"n\">- \u2192 2.00 s</td><td class=\"sooner\">only with the "
                                    "variant (never reached as it was)</td>"));
    /* The other incident's run is listed, but not compared. */
    char *runs = strstr(h, "<h2 id=\"runs\">");
    const char *variants = strstr(h, "<h2 id=\"variants\">");
    ck_assert_ptr_nonnull(runs);
    ck_assert_ptr_nonnull(variants);
    *runs = '\0';
    ck_assert_ptr_null(strstr(variants, "other-incident.txt"));
    free(h);
    ck_assert(exists("comparison.md"));
}
END_TEST

START_TEST(variant_delta_texts)
{
    char buf[200];
    struct ash_report_delta d = {.has_variant = true, .has_base = true, .variant_ms = 4500, .base_ms = 4000};
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "500 ms later (+12.5%)");
    d.timescale = 1;
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "500 ms later (+12.5%)");
    d.timescale = 120;
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "500 ms later (+12.5%; 1 min of the incident at 120x)");
    d.variant_ms = 4000;
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "no change");
    /* An identical TTR as shown, or a difference below the resolution, is no change (never "0.000 s later"). */
    d.variant_ms = 4000.4;
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "no change");
    d.variant_ms = 4060;
    d.resolution_ms = 100;
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "no change");
    d = (struct ash_report_delta){.has_variant = true, .has_base = true, .variant_ms = 250, .base_ms = 0};
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "250 ms later");
    d.has_variant = false;
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "only as it was (never reached with the variant)");
    ck_assert_str_eq(ash_report_fmt_pair(buf, sizeof buf, &d), "0 ms \u2192 -");
    d.has_base = false;
    ck_assert_str_eq(ash_report_fmt_delta(buf, sizeof buf, &d), "reached in neither");
    /* Truncation into a small buffer stays a terminated string. */
    d = (struct ash_report_delta){
        .has_variant = true, .has_base = true, .variant_ms = 1, .base_ms = 2e6, .timescale = 60};
    ck_assert_uint_eq(strlen(ash_report_fmt_delta(buf, 8, &d)), 7);
}
END_TEST

/* Render the known variant pair into dir (its own reports folder, with its index). */
static int render_variant_pair(const char *dir, ash_error_t *err)
{
    char path[4200];
    json_t *base = NULL, *variant = NULL;
    int ret = -1;
    snprintf(path, sizeof path, "%s/pass.json", fixture_dir);
    if (ash_report_load(path, &base, err) < 0 || ash_report_load(path, &variant, err) < 0)
        goto cleanup;
    json_object_set_new(variant, "scenario", json_string("telephony-table-lock-early-alert"));
    json_object_set_new(variant, "started_at", json_string("2025-03-14T09:31:00.000Z"));
    json_object_set_new(json_array_get(json_object_get(variant, "runs"), 0), "ttd_ms", json_real(1012.345));
    json_object_del(variant, "summary");
    ash_report_summarize(variant);
    mkdir(dir, 0755);
    const json_t *docs[] = {base, variant};
    static const char *const names[] = {"20250314T093000Z-telephony-table-lock", "20250314T093100Z-early<&>alert"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        mkdir(path, 0755);
        if (ash_report_render_all(docs[i], path, err) < 0)
            goto cleanup;
        strncat(path, "/report.json", sizeof path - strlen(path) - 1);
        if (ash_report_write_json(docs[i], path, err) < 0)
            goto cleanup;
    }
    ret = ash_report_write_index(dir, err);
cleanup:
    json_decref(base);
    json_decref(variant);
    return ret;
}

/* `test_report --render DIR`: every fixture rendered into DIR/<name>/ plus
 * DIR/index.html and DIR/all-junit.xml, for tests/integration/report_xml.sh;
 * and DIR/variants/: a variant pair with its index and comparison.md. */
static int render_fixtures(const char *dir)
{
    json_t *docs[N_FIXTURES] = {0};
    ash_error_t err = {0};
    int ret = 1;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.json", fixture_dir, fixture_names[i]);
        if (ash_report_load(path, &docs[i], &err) < 0)
            goto cleanup;
        snprintf(path, sizeof path, "%s/%s", dir, fixture_names[i]);
        mkdir(path, 0755);
        if (ash_report_render_all(docs[i], path, &err) < 0)
            goto cleanup;
        strncat(path, "/report.json", sizeof path - strlen(path) - 1);
        if (ash_report_write_json(docs[i], path, &err) < 0)
            goto cleanup;
    }
    char all[4200];
    snprintf(all, sizeof all, "%s/all-junit.xml", dir);
    if (ash_report_write_junit_many((const json_t *const *)docs, N_FIXTURES, all, &err) < 0 ||
        ash_report_write_index(dir, &err) < 0)
        goto cleanup;
    ash_report_print_summary(stdout, (const json_t *const *)docs, N_FIXTURES, false);
    /* A variant and its as-it-was replay in a reports folder of their own
     * (DIR/variants/index.html), so the fixtures' index stays as it was. */
    snprintf(all, sizeof all, "%s/variants", dir);
    if (render_variant_pair(all, &err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (ret)
        fprintf(stderr, "test_report --render: %s\n", err.msg);
    for (size_t i = 0; i < N_FIXTURES; i++)
        json_decref(docs[i]);
    return ret;
}

int main(int argc, char **argv)
{
    find_fixtures();
    if (argc == 3 && strcmp(argv[1], "--render") == 0)
        return render_fixtures(argv[2]);

    Suite *s = suite_create("report");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup_parent, teardown_parent);
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, stats_known_answers);
    tcase_add_test(tc, marks_beside_the_figures);
    tcase_add_test(tc, stats_empty_is_null);
    tcase_add_test(tc, summarize_repeat_runs);
    tcase_add_test(tc, json_round_trip_is_atomic);
    tcase_add_test(tc, json_streamed_is_the_same_text);
    tcase_add_test(tc, packed_series_is_the_same_report);
    tcase_add_test(tc, load_rejects_what_is_not_a_report);
    tcase_add_test(tc, formats);
    tcase_add_test(tc, junit_fail_names_missed_expectations);
    tcase_add_test(tc, junit_pass_aborted_nulls);
    tcase_add_test(tc, junit_verify_checks_and_unexplained_fail);
    tcase_add_test(tc, junit_many_in_one_file);
    tcase_add_test(tc, timeline_series_lanes);
    tcase_add_test(tc, incident_unknown_assumed_zero_everywhere);
    tcase_add_test(tc, markdown_has_the_figures);
    tcase_add_test(tc, fleet_section_in_markdown_and_html);
    tcase_add_test(tc, late_ticks_with_their_cause);
    tcase_add_test(tc, late_per_node_in_md_and_html);
    tcase_add_test(tc, html_timeline_per_run_and_strip_per_probe);
    tcase_add_test(tc, index_lists_newest_first);
    tcase_add_test(tc, index_takes_the_known_report_from_memory);
    tcase_add_test(tc, terminal_summary);
    tcase_add_test(tc, render_all_writes_every_file);
    tcase_add_test(tc, renders_malformed_and_empty_reports);
    tcase_add_test(tc, variants_known_pair_in_index_and_comparison_md);
    tcase_add_test(tc, variants_need_their_as_it_was_run_and_the_same_incident);
    tcase_add_test(tc, variant_delta_texts);
    tcase_add_test(tc, fault_tables_name_the_container);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return ash_test_exit(failed);
}
