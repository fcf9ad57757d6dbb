/* JUnit XML for CI: one <testsuite> per scenario report, one <testcase> per run. */
#include "report/report.h"

#include <string.h>

enum run_outcome { RUN_PASS, RUN_FAILURE, RUN_ERROR };

static bool missed(const json_t *exp)
{
    return json_is_false(json_object_get(exp, "met"));
}

static size_t count_missed(const json_t *run)
{
    size_t n = 0, i;
    const json_t *exp;
    json_array_foreach(json_object_get(run, "expectations"), i, exp) n += missed(exp);
    return n;
}

/* Aborted and errored runs are errors (the experiment did not complete), a
 * missed expectation is a failure even if the verdict field disagrees. */
static enum run_outcome outcome(const json_t *run)
{
    const char *v = ash_report_get_str(run, "verdict", "");
    if (strcmp(v, "error") == 0 || strcmp(v, "aborted") == 0)
        return RUN_ERROR;
    if (strcmp(v, "fail") == 0 || count_missed(run) > 0)
        return RUN_FAILURE;
    if (strcmp(v, "pass") == 0)
        return RUN_PASS;
    return RUN_ERROR;
}

static void put_attr_ms(FILE *f, const char *name, const json_t *obj, const char *key)
{
    char buf[64];
    double v;
    if (ash_report_get_ms(obj, key, &v))
        snprintf(buf, sizeof buf, "%.3f", v);
    else
        snprintf(buf, sizeof buf, "null");
    fprintf(f, "%s=\"%s\"", name, buf);
}

static void property(FILE *f, const char *indent, const char *name, const char *value)
{
    fprintf(f, "%s<property name=\"", indent);
    ash_report_put_xml(f, name);
    fputs("\" value=\"", f);
    ash_report_put_xml(f, value ? value : "null");
    fputs("\"/>\n", f);
}

static void property_ms(FILE *f, const char *indent, const char *name, const json_t *obj, const char *key)
{
    fprintf(f, "%s<property name=\"", indent);
    ash_report_put_xml(f, name);
    fputs("\" ", f);
    put_attr_ms(f, "value", obj, key);
    fputs("/>\n", f);
}

static void expectation_line(FILE *f, const json_t *exp)
{
    char lim[48], val[48];
    double v;
    ash_report_put_xml(f, ash_report_get_str(exp, "name", "?"));
    ash_report_fmt_ms(lim, sizeof lim, exp, "limit_ms");
    if (ash_report_get_ms(exp, "value_ms", &v))
        fprintf(f, ": %s ms &gt; limit %s ms", ash_report_fmt_ms_value(val, sizeof val, true, v), lim);
    else
        fprintf(f, ": not reached (limit %s ms)", lim);
}

static void missed_list(FILE *f, const json_t *run, const char *sep)
{
    size_t i, k = 0;
    const json_t *exp;
    json_array_foreach(json_object_get(run, "expectations"), i, exp)
    {
        if (!missed(exp))
            continue;
        if (k++)
            fputs(sep, f);
        expectation_line(f, exp);
    }
}

static void event_log(FILE *f, const json_t *run)
{
    size_t i;
    const json_t *ev;
    const json_t *tl = json_object_get(run, "timeline");
    if (!json_array_size(tl))
        return;
    /* Element text keeps real newlines; only attribute values need &#10;. */
    fputs("      <system-out>\n", f);
    json_array_foreach(tl, i, ev)
    {
        char t[48];
        fprintf(f, "%12s ms  ", ash_report_fmt_ms(t, sizeof t, ev, "t_ms"));
        ash_report_put_xml(f, ash_report_get_str(ev, "event", "?"));
        fputs("  ", f);
        ash_report_put_xml(f, ash_report_get_str(ev, "detail", ""));
        fputs("\n", f);
    }
    fputs("</system-out>\n", f);
}

/* Why a run went wrong: its own error, else the report's. */
static const char *run_error(const json_t *report, const json_t *run)
{
    const char *why = ash_report_get_str(run, "error", NULL);
    return why ? why : ash_report_get_str(report, "error", NULL);
}

/* A one-shot fault's harm stays after the run: said as the HTML and Markdown reports say it. */
static void fault_revert_properties(FILE *f, const char *ind, const json_t *run)
{
    size_t i;
    const json_t *fault;
    json_array_foreach(json_object_get(run, "faults"), i, fault)
    {
        if (strcmp(ash_report_get_str(fault, "revert", ""), "one-shot") != 0)
            continue;
        char name[512];
        snprintf(name, sizeof name, "fault.%s.revert", ash_report_get_str(fault, "name", "?"));
        property(f, ind, name, "not reverted (one-shot)");
    }
}

static void testcase(FILE *f, const json_t *report, const json_t *run, size_t pos)
{
    const char *scenario = ash_report_get_str(report, "scenario", "unnamed");
    json_int_t index = json_is_integer(json_object_get(run, "index"))
                           ? json_integer_value(json_object_get(run, "index"))
                           : (json_int_t)pos + 1;
    double dur = 0;
    ash_report_get_ms(run, "duration_ms", &dur);

    fputs("    <testcase classname=\"aftershock.", f);
    ash_report_put_xml(f, scenario);
    fputs("\" name=\"", f);
    ash_report_put_xml(f, scenario);
    fprintf(f, " run %lld\" time=\"%.3f\">\n", (long long)index, dur / 1000.0);

    fputs("      <properties>\n", f);
    const char *ind = "        ";
    property_ms(f, ind, "ttd_ms", run, "ttd_ms");
    property_ms(f, ind, "ttr_ms", run, "ttr_ms");
    property_ms(f, ind, "impact_ms", run, "impact_ms");
    property(f, ind, "detected_by", ash_report_get_str(run, "detected_by", NULL));
    property_ms(f, ind, "revert_to_recover_ms", run, "revert_to_recover_ms");
    property_ms(f, ind, "resolution_ms", run, "resolution_ms");
    property_ms(f, ind, "t_inject_ms", run, "t_inject_ms");
    property(f, ind, "verdict", ash_report_get_str(run, "verdict", NULL));
    fault_revert_properties(f, ind, run);
    /* The harness's own scheduling precision, so CI can watch it too. */
    property_ms(f, ind, "schedule_lateness_p99_ms", json_object_get(run, "schedule_lateness_ms"), "p99");
    fputs("      </properties>\n", f);

    enum run_outcome oc = outcome(run);
    size_t nmissed = count_missed(run);
    if (oc == RUN_ERROR) {
        const char *verdict = ash_report_get_str(run, "verdict", "unknown");
        const char *why = run_error(report, run);
        fputs("      <error type=\"", f);
        ash_report_put_xml(f, verdict);
        fputs("\" message=\"run ", f);
        ash_report_put_xml(f, strcmp(verdict, "aborted") == 0 ? "aborted" : verdict);
        if (why) {
            fputs(": ", f);
            ash_report_put_xml(f, why);
        }
        fputs("\">", f);
        /* Faults that failed to inject or revert explain most errors. */
        size_t i;
        const json_t *fault;
        json_array_foreach(json_object_get(run, "faults"), i, fault)
        {
            const char *ferr = ash_report_get_str(fault, "error", NULL);
            if (!ferr)
                continue;
            fputs("fault ", f);
            ash_report_put_xml(f, ash_report_get_str(fault, "name", "?"));
            fputs(": ", f);
            ash_report_put_xml(f, ferr);
            fputs("\n", f);
        }
        if (nmissed) {
            fputs("expectations not met: ", f);
            missed_list(f, run, "; ");
        }
        fputs("</error>\n", f);
    } else if (oc == RUN_FAILURE) {
        fputs("      <failure type=\"expectation\" message=\"", f);
        if (nmissed) {
            fprintf(f, "%zu expectation%s missed: ", nmissed, nmissed == 1 ? "" : "s");
            missed_list(f, run, "; ");
        } else {
            fputs("run failed", f);
            const char *why = run_error(report, run);
            if (why) {
                fputs(": ", f);
                ash_report_put_xml(f, why);
            }
        }
        fputs("\">", f);
        missed_list(f, run, "\n");
        fputs("</failure>\n", f);
    }
    event_log(f, run);
    fputs("    </testcase>\n", f);
}

struct counts {
    size_t tests, failures, errors;
    double seconds;
};

static struct counts count(const json_t *report)
{
    struct counts c = {0};
    const json_t *runs = json_object_get(report, "runs");
    size_t i;
    const json_t *run;
    if (json_array_size(runs) == 0) {
        /* No run at all (the environment could not be built): one errored case. */
        c.tests = 1;
        c.errors = 1;
        return c;
    }
    json_array_foreach(runs, i, run)
    {
        double d = 0;
        c.tests++;
        enum run_outcome oc = outcome(run);
        c.failures += oc == RUN_FAILURE;
        c.errors += oc == RUN_ERROR;
        if (ash_report_get_ms(run, "duration_ms", &d))
            c.seconds += d / 1000.0;
    }
    return c;
}

static void suite_properties(FILE *f, const json_t *report)
{
    const char *ind = "      ";
    const json_t *inc = json_object_get(report, "incident");
    json_t *sum = ash_report_summary_of(report);
    fputs("    <properties>\n", f);
    property(f, ind, "title", ash_report_get_str(report, "title", NULL));
    property(f, ind, "file", ash_report_get_str(report, "file", NULL));
    property(f, ind, "verdict", ash_report_get_str(report, "verdict", NULL));
    property(f, ind, "error", ash_report_get_str(report, "error", NULL));
    property(f, ind, "aftershock_version", ash_report_get_str(report, "aftershock_version", NULL));
    if (json_is_object(inc)) {
        property(f, ind, "incident.source", ash_report_get_str(inc, "source", NULL));
        property_ms(f, ind, "incident.ttd_ms", inc, "ttd_ms");
        property_ms(f, ind, "incident.ttr_ms", inc, "ttr_ms");
        property_ms(f, ind, "incident.timescale", inc, "timescale");
        property_ms(f, ind, "incident.scaled_ttd_ms", inc, "scaled_ttd_ms");
        property_ms(f, ind, "incident.scaled_ttr_ms", inc, "scaled_ttr_ms");
    }
    static const char *const figs[] = {"ttd_ms", "ttr_ms", "impact_ms", "revert_to_recover_ms"};
    for (size_t k = 0; json_is_object(sum) && k < sizeof figs / sizeof figs[0]; k++) {
        char name[64];
        snprintf(name, sizeof name, "summary.%s.median", figs[k]);
        property_ms(f, ind, name, json_object_get(sum, figs[k]), "median");
        snprintf(name, sizeof name, "summary.%s.p95", figs[k]);
        property_ms(f, ind, name, json_object_get(sum, figs[k]), "p95");
    }
    fputs("    </properties>\n", f);
    json_decref(sum);
}

static void suite(FILE *f, const json_t *report)
{
    const char *scenario = ash_report_get_str(report, "scenario", "unnamed");
    struct counts c = count(report);
    fputs("  <testsuite name=\"", f);
    ash_report_put_xml(f, scenario);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.3f\"", c.tests, c.failures,
            c.errors, c.seconds);
    const char *ts = ash_report_get_str(report, "started_at", NULL);
    if (ts) {
        fputs(" timestamp=\"", f);
        ash_report_put_xml(f, ts);
        fputs("\"", f);
    }
    fputs(">\n", f);
    suite_properties(f, report);

    const json_t *runs = json_object_get(report, "runs");
    if (json_array_size(runs) == 0) {
        fputs("    <testcase classname=\"aftershock.", f);
        ash_report_put_xml(f, scenario);
        fputs("\" name=\"", f);
        ash_report_put_xml(f, scenario);
        fputs("\" time=\"0.000\">\n      <error type=\"", f);
        ash_report_put_xml(f, ash_report_get_str(report, "verdict", "error"));
        fputs("\" message=\"no run completed", f);
        const char *why = ash_report_get_str(report, "error", NULL);
        if (why) {
            fputs(": ", f);
            ash_report_put_xml(f, why);
        }
        fputs("\"/>\n    </testcase>\n", f);
    }
    size_t i;
    const json_t *run;
    json_array_foreach(runs, i, run) testcase(f, report, run, i);
    fputs("  </testsuite>\n", f);
}

int ash_report_write_junit_many(const json_t *const *reports, size_t n, const char *path, ash_error_t *err)
{
    struct ash_report_out o;
    if (ash_report_out_open(&o, err) < 0)
        return -1;
    struct counts total = {0};
    for (size_t i = 0; i < n; i++) {
        struct counts c = count(reports[i]);
        total.tests += c.tests;
        total.failures += c.failures;
        total.errors += c.errors;
        total.seconds += c.seconds;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", o.f);
    fprintf(o.f, "<testsuites name=\"aftershock\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
            total.tests, total.failures, total.errors, total.seconds);
    for (size_t i = 0; i < n; i++)
        suite(o.f, reports[i]);
    fputs("</testsuites>\n", o.f);
    return ash_report_out_commit(&o, path, err);
}

int ash_report_write_junit(const json_t *report, const char *path, ash_error_t *err)
{
    return ash_report_write_junit_many(&report, 1, path, err);
}
