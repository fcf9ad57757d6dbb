/* JUnit XML for CI, in the shape of the Ant/Jenkins junit schema (tests/fixtures/junit/junit.xsd):
 * one <testsuite> per scenario run, holding one <testcase> for the run itself (did it complete?), one per
 * expectation (detect_within, recover_within, ...) and one per verify check, so that CI lists and tracks
 * each separately. Properties carry the measured figures (exact ms) and the incident's, with where each
 * comes from: a figure that was not reached or is unknown has no *_ms property (never the string
 * "null"); its status/basis property says why. */
#include "report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum outcome { OC_PASS, OC_FAILURE, OC_ERROR };

static void attr(FILE *f, const char *s)
{
    ash_report_put_xml(f, s);
}

/* A property only when it has a value. */
static void property(FILE *f, const char *name, const char *value)
{
    if (!value)
        return;
    fputs("      <property name=\"", f);
    attr(f, name);
    fputs("\" value=\"", f);
    attr(f, value);
    fputs("\"/>\n", f);
}

static void property_ms(FILE *f, const char *name, const json_t *obj, const char *key)
{
    double v;
    char buf[64];
    if (!ash_report_get_ms(obj, key, &v))
        return;
    snprintf(buf, sizeof buf, "%.3f", v);
    property(f, name, buf);
}

/* "measured" or what its absence means ("not detected", ...). */
static void property_status(FILE *f, const char *name, const json_t *run, const char *key)
{
    property(f, name, ash_report_get_ms(run, key, NULL) ? "measured" : ash_report_absent_text(key));
}

/* Failed expectations and verify checks of a run. */
static size_t failed_checks(const json_t *run)
{
    size_t n = 0, i;
    const json_t *x;
    json_array_foreach(json_object_get(run, "expectations"), i, x) n += json_is_false(json_object_get(x, "met"));
    json_array_foreach(json_object_get(run, "verify"), i, x) n += !json_is_true(json_object_get(x, "met"));
    return n;
}

/* The testcase "run": an error when the run did not complete (aborted, error,
 * anything unknown); a failure when its verdict is fail but no expectation or
 * check says why (CI must not see green then); else it passed. */
static enum outcome run_outcome(const json_t *run)
{
    const char *v = ash_report_get_str(run, "verdict", "");
    if (strcmp(v, "pass") == 0)
        return OC_PASS;
    if (strcmp(v, "fail") == 0)
        return failed_checks(run) ? OC_PASS : OC_FAILURE;
    return OC_ERROR;
}

struct counts {
    size_t tests, failures, errors;
    double seconds;
};

static void tally(struct counts *c, enum outcome oc)
{
    c->tests++;
    c->failures += oc == OC_FAILURE;
    c->errors += oc == OC_ERROR;
}

/* Why a run went wrong: its own error, else the report's. */
static const char *run_error(const json_t *report, const json_t *run)
{
    const char *why = ash_report_get_str(run, "error", NULL);
    return why ? why : ash_report_get_str(report, "error", NULL);
}

static struct counts count_run(const json_t *run)
{
    struct counts c = {0};
    size_t i;
    const json_t *x;
    tally(&c, run_outcome(run));
    json_array_foreach(json_object_get(run, "expectations"), i, x)
        tally(&c, json_is_false(json_object_get(x, "met")) ? OC_FAILURE : OC_PASS);
    json_array_foreach(json_object_get(run, "verify"), i, x)
        tally(&c, json_is_true(json_object_get(x, "met")) ? OC_PASS : OC_FAILURE);
    ash_report_get_ms(run, "duration_ms", &c.seconds);
    c.seconds /= 1000.0;
    return c;
}

/* started_at without its fraction and zone: the schema's timestamp is a plain
 * ISO 8601 date-time, understood as UTC (as Ant writes it). */
static void put_timestamp(FILE *f, const char *iso)
{
    char ts[20];
    if (!iso || strlen(iso) < 19 || iso[4] != '-' || iso[10] != 'T')
        return;
    memcpy(ts, iso, 19);
    ts[19] = '\0';
    fputs(" timestamp=\"", f);
    attr(f, ts);
    fputs("\"", f);
}

static void case_open(FILE *f, const char *scenario, const char *name, double seconds)
{
    fputs("    <testcase classname=\"aftershock.", f);
    attr(f, scenario);
    fputs("\" name=\"", f);
    attr(f, name);
    fprintf(f, "\" time=\"%.3f\"", seconds);
}

/* A one-shot fault's harm stays after the run: said as the HTML and Markdown reports say it. */
static void fault_revert_properties(FILE *f, const json_t *run)
{
    size_t i;
    const json_t *fault;
    json_array_foreach(json_object_get(run, "faults"), i, fault)
    {
        if (strcmp(ash_report_get_str(fault, "revert", ""), "one-shot") != 0)
            continue;
        char name[512];
        snprintf(name, sizeof name, "fault.%s.revert", ash_report_get_str(fault, "name", "?"));
        property(f, name, "not reverted (one-shot)");
    }
}

/* The people's marks beside the measured figures: each mark's time from t_inject (exact ms)
 * and who marked it, the people's TTD against the machine's first detection, and the
 * whole as one line. Nothing when nobody marked anything. */
static void mark_properties(FILE *f, const json_t *run)
{
    char line[1600], name[64], buf[64];
    if (!ash_report_marks_text(run, line, sizeof line))
        return;
    property(f, "marks", line);
    double inject = 0, t;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &inject);
    for (int k = 0; k < 3; k++) {
        const char *who;
        const char *what = ash_report_mark_events[k] + strlen("mark-");
        if (!ash_report_first_event(run, ash_report_mark_events[k], &t, &who))
            continue;
        snprintf(name, sizeof name, "mark.%s_ms", what);
        snprintf(buf, sizeof buf, "%.3f", t - inject);
        property(f, name, has_inject ? buf : NULL);
        snprintf(name, sizeof name, "mark.%s.by", what);
        property(f, name, *who ? who : NULL);
    }
    if (has_inject && ash_report_first_event(run, "mark-detected", &t, NULL)) {
        snprintf(buf, sizeof buf, "%.3f", t - inject);
        property(f, "ttd_people_ms", buf);
    }
    const char *by = NULL;
    double machine = ash_report_machine_detection(run, &by);
    if (has_inject && !isnan(machine)) {
        snprintf(buf, sizeof buf, "%.3f", machine - inject);
        property(f, "ttd_machine_ms", buf);
        property(f, "ttd_machine.by", by);
    }
}

static void suite_properties(FILE *f, const json_t *report, const json_t *run)
{
    const json_t *inc = json_object_get(report, "incident");
    char buf[64];
    fputs("    <properties>\n", f);
    property(f, "title", ash_report_get_str(report, "title", NULL));
    property(f, "file", ash_report_get_str(report, "file", NULL));
    property(f, "report.verdict", ash_report_get_str(report, "verdict", NULL));
    property(f, "report.error", ash_report_get_str(report, "error", NULL));
    property(f, "aftershock_version", ash_report_get_str(report, "aftershock_version", NULL));
    if (run) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(json_object_get(run, "index")));
        property(f, "run", buf);
        property(f, "verdict", ash_report_get_str(run, "verdict", NULL));
        property(f, "run_id", ash_report_get_str(run, "run_id", NULL));
        fault_revert_properties(f, run);
        property_ms(f, "ttd_ms", run, "ttd_ms");
        property_status(f, "ttd.status", run, "ttd_ms");
        property(f, "detected_by", ash_report_get_str(run, "detected_by", NULL));
        property_ms(f, "ttr_ms", run, "ttr_ms");
        property_status(f, "ttr.status", run, "ttr_ms");
        mark_properties(f, run);
        property_ms(f, "impact_ms", run, "impact_ms");
        property_status(f, "impact.status", run, "impact_ms");
        property_ms(f, "revert_to_recover_ms", run, "revert_to_recover_ms");
        property_ms(f, "resolution_ms", run, "resolution_ms");
        static const char *const res[] = {"impact_ms", "ttd_ms", "ttr_ms", "revert_to_recover_ms"};
        for (size_t k = 0; k < 4; k++) {
            char name[64];
            snprintf(name, sizeof name, "resolution.%s", res[k]);
            property_ms(f, name, json_object_get(run, "resolution"), res[k]);
        }
        property_ms(f, "t_inject_ms", run, "t_inject_ms");
        /* The harness's own scheduling precision, so CI can watch it too. */
        const json_t *late = json_object_get(run, "schedule_lateness_ms");
        property_ms(f, "schedule_lateness_p99_ms", late, "p99");
        /* Ticks over 1 ms late, and the first ones with what held the loop. */
        if (json_is_integer(json_object_get(late, "over_1ms"))) {
            char n[32];
            snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(late, "over_1ms")));
            property(f, "schedule_lateness.over_1ms", n);
        }
        size_t k;
        const json_t *t;
        json_array_foreach(json_object_get(late, "late_ticks"), k, t)
        {
            if (k == ASH_REPORT_LATE_TICKS_SHOWN)
                break;
            char name[64], line[400];
            snprintf(name, sizeof name, "schedule_lateness.late_tick.%zu", k + 1);
            property(f, name, ash_report_fmt_late_tick(line, sizeof line, t));
        }
    }
    if (json_is_object(inc)) {
        property(f, "incident.source", ash_report_get_str(inc, "source", NULL));
        property(f, "incident.title", ash_report_get_str(inc, "title", NULL));
        property_ms(f, "incident.timescale", inc, "timescale");
        static const char *const which[] = {"ttd", "ttr"};
        for (size_t k = 0; k < 2; k++) {
            char name[64], key[40];
            snprintf(name, sizeof name, "incident.%s_ms", which[k]);
            snprintf(key, sizeof key, "%s_ms", which[k]);
            property_ms(f, name, inc, key);
            snprintf(name, sizeof name, "incident.scaled_%s_ms", which[k]);
            snprintf(key, sizeof key, "scaled_%s_ms", which[k]);
            property_ms(f, name, inc, key);
            snprintf(name, sizeof name, "incident.%s.basis", which[k]);
            property(f, name, ash_report_basis_name(ash_report_incident_basis(report, which[k])));
        }
    }
    fputs("    </properties>\n", f);
}

static void event_log(FILE *f, const json_t *run)
{
    const json_t *tl = json_object_get(run, "timeline");
    if (!json_array_size(tl))
        return;
    size_t *order = ash_report_time_order(tl, "t_ms");
    if (!order)
        return;
    /* Element text keeps real newlines; only attribute values need &#10;. */
    fputs("    <system-out>event log (ms from run start)\n", f);
    for (size_t i = 0; i < json_array_size(tl); i++) {
        const json_t *ev = json_array_get(tl, order[i]);
        char t[48];
        fprintf(f, "%12s ms  ", ash_report_fmt_ms(t, sizeof t, ev, "t_ms"));
        attr(f, ash_report_get_str(ev, "event", "?"));
        fputs("  ", f);
        attr(f, ash_report_get_str(ev, "detail", ""));
        fputs("\n", f);
    }
    fputs("</system-out>\n", f);
    free(order);
}

/* The testcase "run": did the experiment complete? Its error names what broke. */
static void run_case(FILE *f, const json_t *report, const json_t *run, const char *scenario)
{
    double dur = 0;
    ash_report_get_ms(run, "duration_ms", &dur);
    case_open(f, scenario, "run", dur / 1000.0);
    enum outcome oc = run_outcome(run);
    if (oc == OC_PASS) {
        fputs("/>\n", f);
        return;
    }
    if (oc == OC_FAILURE) {
        const char *why = run_error(report, run);
        fputs(">\n      <failure type=\"verdict\" message=\"run failed", f);
        if (why) {
            fputs(": ", f);
            attr(f, why);
        }
        fputs("\"/>\n    </testcase>\n", f);
        return;
    }
    const char *verdict = ash_report_get_str(run, "verdict", "unknown");
    const char *why = run_error(report, run);
    fputs(">\n      <error type=\"", f);
    attr(f, verdict);
    fputs("\" message=\"run ", f);
    attr(f, verdict);
    if (why) {
        fputs(": ", f);
        attr(f, why);
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
        attr(f, ash_report_get_str(fault, "name", "?"));
        fputs(": ", f);
        attr(f, ferr);
        fputs("\n", f);
    }
    fputs("</error>\n    </testcase>\n", f);
}

static void expectation_case(FILE *f, const json_t *exp, const char *scenario)
{
    const char *name = ash_report_get_str(exp, "name", "?");
    case_open(f, scenario, name, 0);
    if (!json_is_false(json_object_get(exp, "met"))) {
        fputs("/>\n", f);
        return;
    }
    char lim[64], val[64], msg[200];
    double v;
    ash_report_fmt_dur_or(lim, sizeof lim, exp, "limit_ms", "-");
    if (ash_report_get_ms(exp, "value_ms", &v))
        snprintf(msg, sizeof msg, "%s: %s, over the limit of %s", name, ash_report_fmt_dur(val, sizeof val, v), lim);
    else
        snprintf(msg, sizeof msg, "%s: %s (limit %s)", name,
                 ash_report_absent_text(strstr(name, "detect") ? "ttd" : "ttr"), lim);
    fputs(">\n      <failure type=\"expectation\" message=\"", f);
    attr(f, msg);
    fputs("\">", f);
    attr(f, msg);
    char exact[160];
    snprintf(exact, sizeof exact, "\nlimit_ms %s, value_ms %s", ash_report_fmt_ms(lim, sizeof lim, exp, "limit_ms"),
             ash_report_fmt_ms(val, sizeof val, exp, "value_ms"));
    attr(f, exact);
    fputs("</failure>\n    </testcase>\n", f);
}

static void verify_case(FILE *f, const json_t *check, const char *scenario)
{
    char name[200];
    double d = 0;
    snprintf(name, sizeof name, "verify: %s", ash_report_get_str(check, "name", "?"));
    ash_report_get_ms(check, "duration_ms", &d);
    case_open(f, scenario, name, d / 1000.0);
    fputs(">\n", f);
    if (!json_is_true(json_object_get(check, "met"))) {
        fputs("      <failure type=\"verify\" message=\"expected ", f);
        attr(f, ash_report_get_str(check, "expect", "?"));
        fputs(", got ", f);
        attr(f, ash_report_get_str(check, "outcome", "?"));
        fputs("\"/>\n", f);
    }
    const char *out = ash_report_get_str(check, "output", "");
    const char *err = ash_report_get_str(check, "error", "");
    if (*out || *err) {
        fputs("      <system-out>", f);
        attr(f, out);
        attr(f, err);
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

static void suite_open(FILE *f, const json_t *report, const char *name, struct counts c, const char *started)
{
    fputs("  <testsuite name=\"", f);
    attr(f, name);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.3f\"", c.tests, c.failures,
            c.errors, c.seconds);
    put_timestamp(f, started ? started : ash_report_get_str(report, "started_at", NULL));
    fputs(">\n", f);
}

static void suites(FILE *f, const json_t *report)
{
    const char *scenario = ash_report_get_str(report, "scenario", "unnamed");
    const json_t *runs = json_object_get(report, "runs");
    size_t n = json_array_size(runs), i, j;
    const json_t *run, *x;
    if (n == 0) {
        /* No run at all (the environment could not be built): one suite, its "run" errored. */
        struct counts c = {1, 0, 1, 0};
        suite_open(f, report, scenario, c, NULL);
        suite_properties(f, report, NULL);
        case_open(f, scenario, "run", 0);
        fputs(">\n      <error type=\"", f);
        attr(f, ash_report_get_str(report, "verdict", "error"));
        fputs("\" message=\"no run completed", f);
        const char *why = ash_report_get_str(report, "error", NULL);
        if (why) {
            fputs(": ", f);
            attr(f, why);
        }
        fputs("\"/>\n    </testcase>\n  </testsuite>\n", f);
        return;
    }
    json_array_foreach(runs, i, run)
    {
        char name[300];
        if (n > 1)
            snprintf(name, sizeof name, "%s (run %zu of %zu)", scenario, i + 1, n);
        else
            snprintf(name, sizeof name, "%s", scenario);
        suite_open(f, report, name, count_run(run), ash_report_get_str(run, "started_at", NULL));
        suite_properties(f, report, run);
        run_case(f, report, run, scenario);
        json_array_foreach(json_object_get(run, "expectations"), j, x) expectation_case(f, x, scenario);
        json_array_foreach(json_object_get(run, "verify"), j, x) verify_case(f, x, scenario);
        event_log(f, run);
        fputs("  </testsuite>\n", f);
    }
}

static struct counts count(const json_t *report)
{
    struct counts c = {0};
    size_t i;
    const json_t *run;
    if (json_array_size(json_object_get(report, "runs")) == 0)
        return (struct counts){1, 0, 1, 0};
    json_array_foreach(json_object_get(report, "runs"), i, run)
    {
        struct counts r = count_run(run);
        c.tests += r.tests;
        c.failures += r.failures;
        c.errors += r.errors;
        c.seconds += r.seconds;
    }
    return c;
}

int ash_report_write_junit_many(const json_t *const *reports, size_t n, const char *path, ash_error_t *err)
{
    struct ash_report_out o;
    if (ash_report_out_open(&o, path, err) < 0)
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
        suites(o.f, reports[i]);
    fputs("</testsuites>\n", o.f);
    return ash_report_out_commit(&o, err);
}

int ash_report_write_junit(const json_t *report, const char *path, ash_error_t *err)
{
    return ash_report_write_junit_many(&report, 1, path, err);
}
