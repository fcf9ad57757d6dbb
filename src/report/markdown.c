/* report.md: the run's figures, the incident comparison and the event log, to paste into a ticket;
 * reports/comparison.md: the variants against their as-it-was replays, from the stored reports. */
#include "report/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void cell(FILE *f, const char *s)
{
    fputs(" ", f);
    ash_report_put_md_cell(f, s && *s ? s : "-");
    fputs(" |", f);
}

static void cell_dur(FILE *f, const json_t *obj, const char *key, const char *absent)
{
    char buf[64];
    cell(f, ash_report_fmt_dur_or(buf, sizeof buf, obj, key, absent));
}

static void cell_rel(FILE *f, bool present, double v)
{
    char buf[64];
    cell(f, ash_report_fmt_rel(buf, sizeof buf, present, v));
}

static const char *upper_verdict(const char *v)
{
    if (strcmp(v, "pass") == 0)
        return "PASS";
    if (strcmp(v, "fail") == 0)
        return "FAIL";
    if (strcmp(v, "aborted") == 0)
        return "ABORTED";
    if (strcmp(v, "error") == 0)
        return "ERROR";
    if (strcmp(v, "unfinished") == 0) /* killed before it wrote its report (engine/api.c) */
        return "UNFINISHED";
    return "UNKNOWN";
}

/* "**TTD 3.01 s** (incident: 12 min → 12.0 s at 60x; limit 15.0 s: met)", the median over repeat runs. */
static void key_figure(FILE *f, const json_t *report, const char *which, const char *label, const char *limit_name)
{
    const json_t *runs = json_object_get(report, "runs");
    size_t n = json_array_size(runs);
    if (!n)
        return;
    char key[32], buf[160];
    snprintf(key, sizeof key, "%s_ms", which);
    json_t *sum = ash_report_summary_of(report);
    double v;
    bool ok = ash_report_get_ms(json_object_get(sum, key), "median", &v);
    json_decref(sum);
    fprintf(f, "- **%s %s**", label, ok ? ash_report_fmt_dur(buf, sizeof buf, v) : ash_report_absent_text(which));
    const char *sep = " (";
    if (ok && n > 1) {
        fprintf(f, " (median of %zu runs", n);
        sep = "; ";
    }
    if (json_is_object(json_object_get(report, "incident"))) {
        fprintf(f, "%sincident: ", sep);
        enum ash_report_basis b = ash_report_incident_basis(report, which);
        ash_report_put_md_cell(f, b == ASH_BASIS_UNKNOWN ? "unknown"
                                                         : ash_report_fmt_incident(buf, sizeof buf, report, which));
        sep = "; ";
    }
    struct ash_report_limit l = ash_report_limit_of(report, limit_name);
    if (l.runs) {
        fprintf(f, "%slimit %s: ", sep, l.has_limit ? ash_report_fmt_dur(buf, sizeof buf, l.limit_ms) : "-");
        if (l.runs > 1)
            fprintf(f, "met in %zu of %zu runs", l.met, l.runs);
        else
            fputs(l.met ? "met" : "**missed**", f);
        sep = "; ";
    }
    fputs(strcmp(sep, "; ") == 0 ? ")\n" : "\n", f);
}

static void header(FILE *f, const json_t *report)
{
    const char *scenario = ash_report_get_str(report, "scenario", "unnamed");
    const char *title = ash_report_get_str(report, "title", NULL);
    fputs("# aftershock: ", f);
    ash_report_put_md_cell(f, title ? title : scenario);
    fputs("\n\n", f);
    fprintf(f, "**Verdict: %s**\n\n", upper_verdict(ash_report_get_str(report, "verdict", "")));
    key_figure(f, report, "ttd", "TTD", "detect_within");
    key_figure(f, report, "ttr", "TTR", "recover_within");
    if (json_array_size(json_object_get(report, "runs")))
        fputs("\n", f);
    fputs("- scenario: `", f);
    ash_report_put_md_cell(f, scenario);
    fputs("`\n", f);
    const char *file = ash_report_get_str(report, "file", NULL);
    if (file) {
        fputs("- file: `", f);
        ash_report_put_md_cell(f, file);
        fputs("`\n", f);
    }
    fputs("- started: ", f);
    ash_report_put_md_cell(f, ash_report_get_str(report, "started_at", "-"));
    fputs(" (UTC)\n", f);
    fprintf(f, "- runs: %zu\n", json_array_size(json_object_get(report, "runs")));
    const char *version = ash_report_get_str(report, "aftershock_version", NULL);
    if (version) {
        fputs("- aftershock: ", f);
        ash_report_put_md_cell(f, version);
        fputs("\n", f);
    }
    const char *error = ash_report_get_str(report, "error", NULL);
    if (error) {
        fputs("- error: ", f);
        ash_report_put_md_cell(f, error);
        fputs("\n", f);
    }
    fputs("\nImpact, TTD and TTR count from t_inject, the moment the first fault was in effect. Durations are "
          "rounded for reading; report.json has the exact figures (ms).\n\n",
          f);
}

static void figures(FILE *f, const json_t *report)
{
    const json_t *runs = json_object_get(report, "runs");
    size_t i;
    const json_t *run;
    fputs("## Figures per run\n\n", f);
    fputs("| run | verdict | impact | TTD | detected by | TTR | revert to recover | resolution | t_inject |\n", f);
    fputs("|---:|---|---:|---:|---|---:|---:|---:|---:|\n", f);
    json_array_foreach(runs, i, run)
    {
        fprintf(f, "| %zu |", i + 1);
        cell(f, ash_report_get_str(run, "verdict", "-"));
        cell_dur(f, run, "impact_ms", "none seen");
        cell_dur(f, run, "ttd_ms", "not detected");
        cell(f, ash_report_get_str(run, "detected_by", "-"));
        cell_dur(f, run, "ttr_ms", "not recovered");
        cell_dur(f, run, "revert_to_recover_ms", "not measured");
        cell_dur(f, run, "resolution_ms", "-");
        cell_dur(f, run, "t_inject_ms", "-");
        fputs("\n", f);
    }
    fputs("\n", f);
    /* The people's marks beside the machine's figures: when they saw it, against the detectors. */
    json_array_foreach(runs, i, run)
    {
        char marks[1600];
        if (!ash_report_marks_text(run, marks, sizeof marks))
            continue;
        fprintf(f, "- run %zu, the people (`aftershock mark`): ", i + 1);
        ash_report_put_md_cell(f, marks);
        fputs("\n", f);
    }
    /* A run's own error says why that run, not the whole report, went wrong. */
    json_array_foreach(runs, i, run)
    {
        const char *error = ash_report_get_str(run, "error", NULL);
        if (!error)
            continue;
        fprintf(f, "- run %zu error: ", i + 1);
        ash_report_put_md_cell(f, error);
        fputs("\n", f);
    }
    /* A guardrail that stopped a run: its condition and how fast the harm was taken away. */
    json_array_foreach(runs, i, run)
    {
        const json_t *g = json_object_get(run, "guardrail");
        double lat;
        if (!json_is_object(g))
            continue;
        fprintf(f, "- run %zu stopped by guardrail ", i + 1);
        ash_report_put_md_cell(f, ash_report_get_str(g, "name", "?"));
        fputs(" (", f);
        ash_report_put_md_cell(f, ash_report_get_str(g, "condition", ""));
        fputs("): ", f);
        ash_report_put_md_cell(f, ash_report_get_str(g, "observed", ""));
        if (ash_report_get_ms(g, "stop_latency_ms", &lat))
            fprintf(f, "; every fault reverted %.3f ms after (stop latency)", lat);
        fputs("\n", f);
    }
    bool any_lateness = false;
    json_array_foreach(runs, i, run) any_lateness |= json_is_object(json_object_get(run, "schedule_lateness_ms"));
    if (any_lateness) {
        fputs("\nHarness precision (how late probe samples started against their schedule):\n\n"
              "| run | samples | p50 | p99 | max |\n|---:|---:|---:|---:|---:|\n",
              f);
        json_array_foreach(runs, i, run)
        {
            const json_t *late = json_object_get(run, "schedule_lateness_ms");
            if (!json_is_object(late))
                continue;
            fprintf(f, "| %zu | %lld |", i + 1, (long long)json_integer_value(json_object_get(late, "ticks")));
            cell_dur(f, late, "p50", "-");
            cell_dur(f, late, "p99", "-");
            cell_dur(f, late, "max", "-");
            fputs("\n", f);
            /* fleet: the probes on nodes, as each node's agent measured its ticks. */
            const char *node;
            const json_t *nl;
            json_object_foreach((json_t *)json_object_get(late, "nodes"), node, nl)
            {
                fprintf(f, "| %zu, node ", i + 1);
                ash_report_put_md_cell(f, node);
                fprintf(f, " | %lld |", (long long)json_integer_value(json_object_get(nl, "ticks")));
                cell_dur(f, nl, "p50", "-");
                cell_dur(f, nl, "p99", "-");
                cell_dur(f, nl, "max", "-");
                fputs("\n", f);
            }
        }
        /* Each tick over 1 ms late with what held the loop: the harness explains itself. */
        json_array_foreach(runs, i, run)
        {
            const json_t *late = json_object_get(run, "schedule_lateness_ms");
            const json_t *ticks = json_object_get(late, "late_ticks");
            if (!json_array_size(ticks))
                continue;
            fprintf(f, "\nRun %zu: %lld probe ticks started over 1 ms late", i + 1,
                    (long long)json_integer_value(json_object_get(late, "over_1ms")));
            fprintf(f, json_array_size(ticks) > ASH_REPORT_LATE_TICKS_SHOWN ? " (the first %d):\n\n" : ":\n\n",
                    ASH_REPORT_LATE_TICKS_SHOWN);
            ash_report_put_late_ticks(f, late, "- ", "\n", ash_report_put_md_cell);
        }
    }
    fputs("\n", f);

    /* A median over one run is that run's figure: no summary for it. */
    if (json_array_size(runs) < 2)
        return;
    json_t *sum = ash_report_summary_of(report);
    if (!sum)
        return;
    fputs("## Summary\n\n| figure | min | median | p95 | max | runs reaching it |\n|---|---:|---:|---:|---:|---:|\n",
          f);
    static const char *const figs[][2] = {
        {"impact_ms", "impact"}, {"ttd_ms", "TTD"}, {"ttr_ms", "TTR"}, {"revert_to_recover_ms", "revert to recover"}};
    for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++) {
        const json_t *st = json_object_get(sum, figs[k][0]);
        fprintf(f, "| %s |", figs[k][1]);
        cell_dur(f, st, "min", "-");
        cell_dur(f, st, "median", "-");
        cell_dur(f, st, "p95", "-");
        cell_dur(f, st, "max", "-");
        const json_t *n = json_object_get(st, "n");
        fprintf(f, " %lld / %zu |\n", json_is_integer(n) ? (long long)json_integer_value(n) : 0LL,
                json_array_size(runs));
    }
    fputs("\n", f);
    json_decref(sum);
}

static void incident(FILE *f, const json_t *report)
{
    const json_t *inc = json_object_get(report, "incident");
    if (!json_is_object(inc))
        return;
    json_t *sum = ash_report_summary_of(report);
    size_t nruns = json_array_size(json_object_get(report, "runs"));
    double scale = 1;
    char d[48];
    ash_report_get_ms(inc, "timescale", &scale);
    fputs("## Compared with the incident\n\n", f);
    const char *title = ash_report_get_str(inc, "title", NULL);
    if (title) {
        fputs("Incident: ", f);
        ash_report_put_md_cell(f, title);
        fputs(" (`", f);
    } else
        fputs("Source: `", f);
    ash_report_put_md_cell(f, ash_report_get_str(inc, "source", "-"));
    fprintf(f, "`%s, replayed at %gx (1 s of replay stands for %s of the incident).\n\n", title ? ")" : "", scale,
            ash_report_fmt_dur(d, sizeof d, scale * 1000.0));
    fprintf(f,
            "| figure | incident (its own clock \u2192 scaled) | basis | measured%s | measured / scaled |\n"
            "|---|---|---|---:|---:|\n",
            nruns > 1 ? " (median)" : "");
    static const char *const figs[][2] = {{"ttd", "TTD"}, {"ttr", "TTR"}};
    for (size_t k = 0; k < 2; k++) {
        char key[32], skey[40], buf[160];
        snprintf(key, sizeof key, "%s_ms", figs[k][0]);
        snprintf(skey, sizeof skey, "scaled_%s_ms", figs[k][0]);
        double scaled = 0, measured = 0;
        bool has_scaled = ash_report_get_ms(inc, skey, &scaled);
        bool has_measured = ash_report_get_ms(json_object_get(sum, key), "median", &measured);
        enum ash_report_basis b = ash_report_incident_basis(report, figs[k][0]);
        fprintf(f, "| %s |", figs[k][1]);
        cell(f, b == ASH_BASIS_UNKNOWN ? "unknown (the postmortem does not give it)"
                                       : ash_report_fmt_incident(buf, sizeof buf, report, figs[k][0]));
        cell(f, b == ASH_BASIS_ASSUMED ? "*assumed*" : ash_report_basis_name(b));
        cell_dur(f, json_object_get(sum, key), "median", ash_report_absent_text(figs[k][0]));
        if (has_scaled && has_measured && scaled > 0)
            snprintf(buf, sizeof buf, "%.2f", measured / scaled);
        else
            snprintf(buf, sizeof buf, "-");
        cell(f, buf);
        fputs("\n", f);
    }
    fputs("\n", f);
    json_decref(sum);
}

static void expectations(FILE *f, const json_t *runs)
{
    size_t i, j;
    const json_t *run, *exp;
    fputs("## Expectations\n\n| run | expectation | limit | value | met |\n|---:|---|---:|---:|---|\n", f);
    json_array_foreach(runs, i, run)
    {
        json_array_foreach(json_object_get(run, "expectations"), j, exp)
        {
            fprintf(f, "| %zu |", i + 1);
            cell(f, ash_report_get_str(exp, "name", "?"));
            const char *name = ash_report_get_str(exp, "name", "?");
            cell_dur(f, exp, "limit_ms", "-");
            cell_dur(f, exp, "value_ms", ash_report_absent_text(strstr(name, "detect") ? "ttd" : "ttr"));
            cell(f, json_is_true(json_object_get(exp, "met")) ? "yes" : "**NO**");
            fputs("\n", f);
        }
    }
    fputs("\n", f);
}

/* Post-recovery checks: outcome and the first line of what each found. */
static void verify_checks(FILE *f, const json_t *runs)
{
    size_t i, j, n = 0;
    const json_t *run, *x;
    json_array_foreach(runs, i, run) n += json_array_size(json_object_get(run, "verify"));
    if (!n)
        return;
    fputs("## Verify (after recovery)\n\n| run | check | expected | outcome | output |\n|---:|---|---|---|---|\n", f);
    json_array_foreach(runs, i, run)
    {
        json_array_foreach(json_object_get(run, "verify"), j, x)
        {
            char first[200];
            const char *out = ash_report_get_str(x, "output", "");
            if (!*out)
                out = ash_report_get_str(x, "error", "");
            size_t k = strcspn(out, "\n");
            snprintf(first, sizeof first, "%.*s", (int)(k < sizeof first - 1 ? k : sizeof first - 1), out);
            fprintf(f, "| %zu |", i + 1);
            cell(f, ash_report_get_str(x, "name", "?"));
            cell(f, ash_report_get_str(x, "expect", "?"));
            cell(f, ash_report_get_str(x, "outcome", "?"));
            cell(f, first);
            fputs("\n", f);
        }
    }
    fputs("\n", f);
}

/* Per alert (fingerprint): fired, notified, resolved; and the floor the
 * monitoring config implies, when the scenario states it. */
static void alerts_section(FILE *f, const json_t *runs)
{
    size_t i, j;
    const json_t *run, *x;
    bool any = false;
    json_array_foreach(runs, i, run) any = any || json_array_size(json_object_get(run, "alerts")) ||
                                           json_is_object(json_object_get(run, "detection_floor"));
    if (!any)
        return;
    fputs("\n## Alerts\n\nPer alert (fingerprint), from t_inject: when it fired (`startsAt`), was "
          "notified (the POST; TTD counts this) and resolved. An alert already firing before the fault was in "
          "effect is not a detection.\n\n| run | detector | alert | fingerprint | fired | notified | resolved | role "
          "|\n|---:|---|---|---|---:|---:|---:|---|\n",
          f);
    json_array_foreach(runs, i, run)
    {
        double t0 = 0, v;
        ash_report_get_ms(run, "t_inject_ms", &t0);
        json_array_foreach(json_object_get(run, "alerts"), j, x)
        {
            fprintf(f, "| %zu |", i + 1);
            cell(f, ash_report_get_str(x, "detector", "?"));
            cell(f, ash_report_get_str(x, "alertname", "?"));
            cell(f, ash_report_get_str(x, "fingerprint", "?"));
            cell_rel(f, ash_report_get_ms(x, "fired_ms", &v), v - t0);
            cell_rel(f, ash_report_get_ms(x, "notified_ms", &v), v - t0);
            cell_rel(f, ash_report_get_ms(x, "resolved_ms", &v), v - t0);
            cell(f, ash_report_get_str(x, "role", "?"));
            fputs("\n", f);
        }
    }
    json_array_foreach(runs, i, run)
    {
        const json_t *fl = json_object_get(run, "detection_floor");
        if (!json_is_object(fl))
            continue;
        char v[64], ttd[64], fired[64], i2d[64];
        ash_report_fmt_dur_or(v, sizeof v, fl, "ms", "unknown");
        ash_report_fmt_dur_or(ttd, sizeof ttd, run, "ttd_ms", "not detected");
        ash_report_fmt_dur_or(fired, sizeof fired, run, "ttd_fired_ms", "unknown");
        ash_report_fmt_dur_or(i2d, sizeof i2d, run, "impact_to_detect_ms", "unknown");
        fprintf(f, "\nRun %zu: the monitoring config implies a detection floor of %s (", i + 1, v);
        ash_report_put_md_cell(f, ash_report_get_str(fl, "terms", "?"));
        fputs(", detector ", f);
        ash_report_put_md_cell(f, ash_report_get_str(fl, "detector", "?"));
        fprintf(f, "); TTD %s notified, fired at %s; %s from the impact.\n", ttd, fired, i2d);
    }
}

/* A fleet run's nodes, clocks, faults and probes on nodes (ash_report_fleet_tables). */
static void fleet_section(FILE *f, const json_t *runs)
{
    size_t i, j, k, l;
    const json_t *run, *t, *r, *c;
    json_array_foreach(runs, i, run)
    {
        char intro[512];
        json_t *tables = ash_report_fleet_tables(run, intro, sizeof intro);
        if (!tables)
            continue;
        fprintf(f, "## Fleet (run %zu)\n\n", i + 1);
        ash_report_put_md_cell(f, intro);
        fputs("\n", f);
        json_array_foreach(tables, j, t)
        {
            fprintf(f, "\n**%s**\n\n|", json_string_value(json_object_get(t, "title")));
            json_array_foreach(json_object_get(t, "columns"), k, c) cell(f, json_string_value(c));
            fputs("\n|", f);
            json_array_foreach(json_object_get(t, "columns"), k, c) fputs("---|", f);
            json_array_foreach(json_object_get(t, "rows"), k, r)
            {
                fputs("\n|", f);
                json_array_foreach(r, l, c) cell(f, json_string_value(c));
            }
            fputs("\n", f);
        }
        fputs("\n", f);
        json_decref(tables);
    }
}

static double t0_of(const json_t *run)
{
    double t = 0;
    ash_report_get_ms(run, "t_inject_ms", &t);
    return t;
}

static void faults_and_actions(FILE *f, const json_t *runs)
{
    size_t i, j;
    const json_t *run, *x;
    double v;
    fputs(
        "## Faults\n\n| run | fault | kind | placed in | injected (from t_inject) | reverted (from t_inject) | inject "
        "latency | error |\n|---:|---|---|---|---:|---:|---:|---|\n",
        f);
    json_array_foreach(runs, i, run)
    {
        double t0 = t0_of(run);
        json_array_foreach(json_object_get(run, "faults"), j, x)
        {
            fprintf(f, "| %zu |", i + 1);
            cell(f, ash_report_get_str(x, "name", "?"));
            cell(f, ash_report_get_str(x, "kind", "?"));
            char placed[1024];
            cell(f, ash_report_fmt_targets(placed, sizeof placed, x));
            bool has = ash_report_get_ms(x, "injected_ms", &v);
            cell_rel(f, has, v - t0);
            if (strcmp(ash_report_get_str(x, "revert", ""), "one-shot") == 0)
                cell(f, "not reverted (one-shot)");
            else {
                has = ash_report_get_ms(x, "reverted_ms", &v);
                cell_rel(f, has, v - t0);
            }
            cell_dur(f, x, "inject_latency_ms", "-");
            cell(f, ash_report_get_str(x, "error", ash_report_get_str(x, "no_effect", "-")));
            fputs("\n", f);
        }
    }
    fputs("\n## Detections and remediations\n\nIn the order they happened.\n\n| run | at (from t_inject) | what | name "
          "| detail |\n|---:|---:|---|---|---|\n",
          f);
    json_array_foreach(runs, i, run)
    {
        double t0 = t0_of(run);
        json_t *acts = ash_report_actions(run);
        json_array_foreach(acts, j, x)
        {
            bool det = strcmp(ash_report_get_str(x, "what", ""), "detection") == 0;
            fprintf(f, "| %zu |", i + 1);
            bool has = ash_report_get_ms(x, "at_ms", &v);
            cell_rel(f, has, v - t0);
            cell(f, det ? "detection" : "remediation");
            cell(f, ash_report_get_str(x, det ? "detector" : "name", "?"));
            if (det)
                cell(f, ash_report_get_str(x, "detail", "-"));
            else
                cell(f, json_is_true(json_object_get(x, "ok")) ? "ok" : ash_report_get_str(x, "error", "failed"));
            fputs("\n", f);
        }
        json_decref(acts);
    }
    alerts_section(f, runs);
    fputs("\n## Probes\n\n| run | probe | kind | every | samples | failures | p50 | p99 | max |\n"
          "|---:|---|---|---:|---:|---:|---:|---:|---:|\n",
          f);
    json_array_foreach(runs, i, run)
    {
        json_array_foreach(json_object_get(run, "probes"), j, x)
        {
            const json_t *lat = json_object_get(x, "latency_ms");
            char buf[32];
            fprintf(f, "| %zu |", i + 1);
            cell(f, ash_report_get_str(x, "name", "?"));
            cell(f, ash_report_get_str(x, "kind", "?"));
            cell_dur(f, x, "every_ms", "-");
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(json_object_get(x, "samples")));
            cell(f, buf);
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(json_object_get(x, "failures")));
            cell(f, buf);
            cell_dur(f, lat, "p50", "-");
            cell_dur(f, lat, "p99", "-");
            cell_dur(f, lat, "max", "-");
            fputs("\n", f);
        }
    }
    fputs("\n", f);
}

static void event_log(FILE *f, const json_t *runs)
{
    size_t i, j;
    const json_t *run, *ev;
    json_array_foreach(runs, i, run)
    {
        if (json_array_size(runs) > 1)
            fprintf(f, "## Event log, run %zu\n\n", i + 1);
        else
            fputs("## Event log\n\n", f);
        fputs("| from t_inject | from run start | event | detail |\n|---:|---:|---|---|\n", f);
        double t0 = t0_of(run), v;
        const json_t *tl = json_object_get(run, "timeline");
        size_t *order = ash_report_time_order(tl, "t_ms");
        for (j = 0; order && j < json_array_size(tl); j++) {
            ev = json_array_get(tl, order[j]);
            bool has = ash_report_get_ms(ev, "t_ms", &v);
            fputs("|", f);
            cell_rel(f, has, v - t0);
            cell_rel(f, has, v);
            cell(f, ash_report_get_str(ev, "event", "?"));
            cell(f, ash_report_get_str(ev, "detail", "-"));
            fputs("\n", f);
        }
        free(order);
        fputs("\n", f);
    }
}

int ash_report_write_markdown(const json_t *report, const char *path, ash_error_t *err)
{
    struct ash_report_out o;
    if (ash_report_out_open(&o, path, err) < 0)
        return -1;
    const json_t *runs = json_object_get(report, "runs");
    header(o.f, report);
    figures(o.f, report);
    incident(o.f, report);
    expectations(o.f, runs);
    verify_checks(o.f, runs);
    fleet_section(o.f, runs);
    faults_and_actions(o.f, runs);
    event_log(o.f, runs);
    ash_report_put_annotations(o.f, report, false);
    return ash_report_out_commit(&o, err);
}

/* A run named so that it still means something pasted into a ticket: the
 * scenario and its run directory (under the folder named at the top), no
 * relative link that would break there. */
static void run_link(FILE *f, const json_t *report, const char *dir)
{
    size_t n = json_array_size(json_object_get(report, "runs"));
    fputs(" **", f);
    ash_report_put_md_cell(f, ash_report_get_str(report, "scenario", "unnamed"));
    fputs("** (run `", f);
    ash_report_put_md_cell(f, dir);
    fputs("`", f);
    if (n > 1)
        fprintf(f, ", median of %zu runs", n);
    fputs(") |", f);
}

static void comparison_table(FILE *f, const json_t *const *reports, const char *const *dirs,
                             const struct ash_report_pair *pairs, long np, long p)
{
    const char *src = ash_report_source_of(reports[pairs[p].variant]);
    char ttd[160], ttr[160], buf[200];
    const char *ititle = ash_report_get_str(json_object_get(reports[pairs[p].base], "incident"), "title", NULL);
    fputs("## Incident ", f);
    if (ititle) {
        ash_report_put_md_cell(f, ititle);
        fputs(" (", f);
    }
    fputs("`", f);
    ash_report_put_md_cell(f, src);
    fputs(ititle ? "`)\n\n" : "`\n\n", f);
    ash_report_fmt_incident(ttd, sizeof ttd, reports[pairs[p].base], "ttd");
    ash_report_fmt_incident(ttr, sizeof ttr, reports[pairs[p].base], "ttr");
    if (strcmp(ttd, "-") != 0 || strcmp(ttr, "-") != 0) {
        fputs("The incident itself: TTD ", f);
        ash_report_put_md_cell(f, ttd);
        fputs(", TTR ", f);
        ash_report_put_md_cell(f, ttr);
        fputs(" (the postmortem's figures, scaled to replay time).\n\n", f);
    }
    fputs("| variant | as it was | TTD as it was \u2192 variant | TTD difference | TTR as it was \u2192 variant | TTR "
          "difference |\n|---|---|---:|---|---:|---|\n",
          f);
    for (long q = p; q < np; q++) {
        if (strcmp(ash_report_source_of(reports[pairs[q].variant]), src) != 0)
            continue;
        fputs("|", f);
        run_link(f, reports[pairs[q].variant], dirs[pairs[q].variant]);
        run_link(f, reports[pairs[q].base], dirs[pairs[q].base]);
        static const char *const figs[] = {"ttd_ms", "ttr_ms"};
        for (size_t k = 0; k < 2; k++) {
            struct ash_report_delta d;
            ash_report_delta_of(&d, reports[pairs[q].variant], reports[pairs[q].base], figs[k]);
            cell(f, ash_report_fmt_pair(buf, sizeof buf, &d));
            cell(f, ash_report_fmt_delta(buf, sizeof buf, &d));
        }
        fputs("\n", f);
    }
    fputs("\n", f);
}

int ash_report_write_comparison_md(const char *reports_dir, const json_t *const *reports, const char *const *dirs,
                                   size_t n, ash_error_t *err)
{
    struct ash_report_pair *pairs = NULL;
    struct ash_report_out o = {0};
    char *path = NULL;
    int ret = -1;
    if (asprintf(&path, "%s/comparison.md", reports_dir) < 0) {
        path = NULL;
        ash_error(err, ENOMEM, "cannot write %s/comparison.md", reports_dir);
        goto cleanup;
    }
    long np = ash_report_variant_pairs(reports, n, &pairs);
    if (np < 0) {
        ash_error(err, ENOMEM, "cannot write %s", path);
        goto cleanup;
    }
    if (np == 0) {
        /* The pairs it compared are gone from the folder: a stale file would
         * answer for runs that are no longer there. */
        if (unlink(path) < 0 && errno != ENOENT) {
            ash_error(err, errno, "cannot remove the stale %s", path);
            goto cleanup;
        }
        ret = 0;
        goto cleanup;
    }
    if (ash_report_out_open(&o, path, err) < 0)
        goto cleanup;
    fputs("# Would the action items have helped?\n\n"
          "A variant replays the incident with the postmortem's action items (new monitoring, earlier alerts) in "
          "place (a variant named \"suggested\" replays an idea that is not in the postmortem); the as-it-was replay "
          "is the scenario whose name the variant's extends. Figures are in replay time "
          "(the median where a report has several runs); the difference says how much sooner or later the variant "
          "got there (and, in %, against the as-it-was figure), and what that stands for in the incident's own time. "
          "Each variant's newest run in this folder is compared with the as-it-was run started closest to it.\n\n",
          o.f);
    {
        char *abs = realpath(reports_dir, NULL);
        fputs("Run directories are in `", o.f);
        ash_report_put_md_cell(o.f, abs ? abs : reports_dir);
        fputs("`; each holds report.md, report.html and report.json.\n\n", o.f);
        free(abs);
    }
    for (long p = 0; p < np; p++) {
        const char *src = ash_report_source_of(reports[pairs[p].variant]);
        bool first = true;
        for (long q = 0; q < p && first; q++)
            first = strcmp(ash_report_source_of(reports[pairs[q].variant]), src) != 0;
        if (first)
            comparison_table(o.f, reports, dirs, pairs, np, p);
    }
    ret = ash_report_out_commit(&o, err);

cleanup:
    if (o.f)
        ash_report_out_discard(&o);
    free(pairs);
    free(path);
    return ret;
}
