/* Baselines for CI: the median TTD/TTR per scenario stored from a good
 * release, and the comparison that fails a build when a figure regresses.
 *
 * File format (aftershock/baseline-v1):
 *   {"schema": "aftershock/baseline-v1",
 *    "scenarios": {"NAME": {"ttd_ms": 812.4, "ttr_ms": 9120.0,
 *                           "resolution": {"ttd_ms": 0, "ttr_ms": 50},
 *                           "runs": 5, "saved_at": "..."}}}
 * A report.json (aftershock/report-v1) is accepted as a baseline too: it
 * stands for its one scenario.
 *
 * A figure regresses when current > baseline + allowed, with
 *   allowed = max(tolerance × baseline, 2 × resolution, ASH_BASELINE_FLOOR_MS)
 * where resolution is the larger of the two sides' sampling resolution for
 * that figure. The absolute floors keep sampling and scheduling noise (3 ms
 * against 2 ms, one probe interval of phase) from failing a build. A figure
 * that was measured in the baseline and is null now (no longer detected or
 * recovered) always regresses; one that was null and is measured now is an
 * improvement. */
#include "report/report.h"
#include "sys/clock.h"

#include <aftershock/aftershock.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const figures[] = {"ttd_ms", "ttr_ms"};
#define N_FIGURES (sizeof figures / sizeof *figures)

/* The larger resolution of any run of the report for one figure (ms). */
static double report_resolution(const json_t *report, const char *figure)
{
    double best = 0, v;
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(report, "runs"), i, run)
    {
        if (ash_report_get_ms(json_object_get(run, "resolution"), figure, &v) ||
            ash_report_get_ms(run, "resolution_ms", &v))
            if (v > best)
                best = v;
    }
    return best;
}

/* One scenario's baseline entry from its report. */
static json_t *entry_of_report(const json_t *report)
{
    json_t *summary = ash_report_summary_of(report);
    if (!summary)
        return NULL;
    json_t *e = json_object();
    json_t *res = json_object();
    for (size_t k = 0; k < N_FIGURES; k++) {
        double med;
        bool have = ash_report_get_ms(json_object_get(summary, figures[k]), "median", &med);
        json_object_set_new(e, figures[k], have ? json_real(med) : json_null());
        json_object_set_new(res, figures[k], json_real(report_resolution(report, figures[k])));
    }
    json_object_set_new(e, "resolution", res);
    json_object_set_new(e, "runs", json_integer((json_int_t)json_array_size(json_object_get(report, "runs"))));
    const char *started = ash_report_get_str(report, "started_at", NULL);
    if (started)
        json_object_set_new(e, "saved_from", json_string(started));
    const char *ver = ash_report_get_str(report, "aftershock_version", NULL);
    if (ver)
        json_object_set_new(e, "aftershock_version", json_string(ver));
    json_decref(summary);
    return e;
}

static json_t *new_baseline(void)
{
    return json_pack("{s:s, s:o}", "schema", ASH_BASELINE_SCHEMA, "scenarios", json_object());
}

int ash_baseline_load(const char *path, json_t **out, ash_error_t *err)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        if (jerr.line < 1)
            return ash_error_class(err, ASH_ERR_USAGE, ENOENT, "baseline %s: %s", path, jerr.text);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "baseline %s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    }
    const char *schema = ash_report_get_str(doc, "schema", "");
    if (strcmp(schema, ASH_BASELINE_SCHEMA) == 0) {
        if (!json_is_object(json_object_get(doc, "scenarios"))) {
            json_decref(doc);
            return ash_error_class(err, ASH_ERR_USAGE, 0, "baseline %s: 'scenarios' must be an object", path);
        }
        *out = doc;
        return 0;
    }
    if (strcmp(schema, "aftershock/report-v1") == 0) {
        const char *name = ash_report_get_str(doc, "scenario", NULL);
        json_t *e = name ? entry_of_report(doc) : NULL;
        json_t *b = new_baseline();
        if (!e || !b) {
            json_decref(e);
            json_decref(b);
            json_decref(doc);
            return ash_error_class(err, ASH_ERR_USAGE, 0, "baseline %s: report without a scenario name", path);
        }
        json_object_set_new(json_object_get(b, "scenarios"), name, e);
        json_decref(doc);
        *out = b;
        return 0;
    }
    ash_error_class(err, ASH_ERR_USAGE, 0,
                    "baseline %s: schema is '%s', expected '%s' (from --save-baseline) or a report.json", path, schema,
                    ASH_BASELINE_SCHEMA);
    json_decref(doc); /* schema points into it */
    return -1;
}

int ash_baseline_add(json_t *baseline, const json_t *report, ash_error_t *err)
{
    const char *name = ash_report_get_str(report, "scenario", NULL);
    json_t *scenarios = json_object_get(baseline, "scenarios");
    if (!name || !json_is_object(scenarios))
        return ash_error(err, EINVAL, "baseline: report without a scenario name");
    json_t *e = entry_of_report(report);
    if (!e || json_object_set_new(scenarios, name, e) < 0)
        return ash_error(err, ENOMEM, "baseline");
    return 0;
}

int ash_baseline_save(const char *path, const json_t *const *reports, size_t n, FILE *log, ash_error_t *err)
{
    json_t *b = NULL;
    /* Merge into an existing baseline: one file can be built up scenario by scenario. */
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        if (ash_baseline_load(path, &b, err) < 0)
            return ash_error_wrap(err, "not overwriting it");
        if (strcmp(ash_report_get_str(b, "schema", ""), ASH_BASELINE_SCHEMA) != 0) {
            json_decref(b);
            b = NULL;
        }
    }
    if (!b && !(b = new_baseline()))
        return ash_error(err, ENOMEM, "baseline");
    size_t saved = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = ash_report_get_str(reports[i], "scenario", "?");
        const char *verdict = ash_report_get_str(reports[i], "verdict", "?");
        /* A failed run must not become the standard the next release is held to. */
        if (strcmp(verdict, "pass") != 0) {
            if (log)
                ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "baseline: not saving '%s': its verdict is %s\n", name,
                                 verdict);
            continue;
        }
        if (ash_baseline_add(b, reports[i], err) < 0) {
            json_decref(b);
            return -1;
        }
        saved++;
    }
    char *text = json_dumps(b, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(b);
    if (!text)
        return ash_error(err, ENOMEM, "baseline");
    size_t len = strlen(text);
    int r = ash_report_write_atomic(path, text, len, err);
    free(text);
    if (r < 0)
        return ash_error_wrap(err, "cannot write baseline %s", path);
    if (log)
        ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "baseline: saved %zu scenario%s to %s\n", saved,
                         saved == 1 ? "" : "s", path);
    return 0;
}

static json_t *finding(const char *scenario, const char *figure, const json_t *base, const json_t *cur, double allowed,
                       bool regressed, const char *note)
{
    return json_pack("{s:s, s:s, s:O, s:O, s:o, s:b, s:s}", "scenario", scenario, "figure", figure, "baseline_ms", base,
                     "current_ms", cur, "allowed_ms", allowed >= 0 ? json_real(allowed) : json_null(), "regressed",
                     regressed, "note", note);
}

int ash_baseline_compare(const json_t *baseline, const json_t *report, double tolerance, json_t *findings,
                         ash_error_t *err)
{
    const char *name = ash_report_get_str(report, "scenario", NULL);
    if (!name || !json_is_array(findings))
        return ash_error(err, EINVAL, "baseline: report without a scenario name");
    const json_t *base = json_object_get(json_object_get(baseline, "scenarios"), name);
    if (!json_is_object(base)) {
        json_array_append_new(findings, finding(name, "-", json_null(), json_null(), -1, false,
                                                "not in the baseline (save one with --save-baseline)"));
        return 0;
    }
    json_t *cur = entry_of_report(report);
    if (!cur)
        return ash_error(err, ENOMEM, "baseline");
    int regressions = 0;
    for (size_t k = 0; k < N_FIGURES; k++) {
        const char *fig = figures[k];
        double b = 0, c = 0, rb = 0, rc = 0;
        bool hb = ash_report_get_ms(base, fig, &b), hc = ash_report_get_ms(cur, fig, &c);
        ash_report_get_ms(json_object_get(base, "resolution"), fig, &rb);
        ash_report_get_ms(json_object_get(cur, "resolution"), fig, &rc);
        json_t *jb = json_object_get(base, fig), *jc = json_object_get(cur, fig);
        if (!jb)
            jb = json_null();
        if (!hb && !hc) {
            json_array_append_new(findings, finding(name, fig, jb, jc, -1, false, "not measured in either"));
            continue;
        }
        if (!hb) {
            json_array_append_new(
                findings, finding(name, fig, jb, jc, -1, false, "improved: measured now, null in the baseline"));
            continue;
        }
        if (!hc) {
            regressions++;
            json_array_append_new(findings, finding(name, fig, jb, jc, -1, true,
                                                    strcmp(fig, "ttd_ms") == 0 ? "regressed: no longer detected"
                                                                               : "regressed: no longer recovered"));
            continue;
        }
        double allowed = ash_baseline_allowed_ms(b, rb > rc ? rb : rc, tolerance);
        bool bad = c > b + allowed;
        regressions += bad;
        char note[160];
        double pct = b > 0 ? (c - b) / b * 100.0 : 0;
        snprintf(note, sizeof note, "%s: %+.3f ms (%+.1f%%), allowed +%.3f ms", bad ? "regressed" : "ok", c - b, pct,
                 allowed);
        json_array_append_new(findings, finding(name, fig, jb, jc, allowed, bad, note));
    }
    json_decref(cur);
    return regressions;
}

double ash_baseline_allowed_ms(double baseline_ms, double resolution_ms, double tolerance)
{
    double allowed = tolerance * baseline_ms;
    if (2 * resolution_ms > allowed)
        allowed = 2 * resolution_ms;
    if (ASH_BASELINE_FLOOR_MS > allowed)
        allowed = ASH_BASELINE_FLOOR_MS;
    return allowed;
}

void ash_baseline_print(FILE *out, const json_t *findings)
{
    size_t i;
    json_t *f;
    char b[32], c[32], a[32];
    fprintf(out, "%-32s %-7s %12s %12s %12s  %s\n", "baseline: scenario", "figure", "baseline_ms", "current_ms",
            "allowed_ms", "result");
    json_array_foreach(findings, i, f)
    {
        /* The baseline file is outside input: its names are escaped. */
        ash_text_fprintf(out, ASH_TEXT_KEEP_NEWLINE, "%-32s %-7s %12s %12s %12s  %s\n",
                         ash_report_get_str(f, "scenario", "?"), ash_report_get_str(f, "figure", "?"),
                         ash_report_fmt_ms(b, sizeof b, f, "baseline_ms"),
                         ash_report_fmt_ms(c, sizeof c, f, "current_ms"),
                         ash_report_fmt_ms(a, sizeof a, f, "allowed_ms"), ash_report_get_str(f, "note", ""));
    }
}
