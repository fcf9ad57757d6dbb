/* report.html: one self-contained XHTML page (inline CSS and SVG, no scripts, nothing fetched). */
#include "report/report.h"

#include <string.h>

#ifndef ASH_VERSION
#define ASH_VERSION "unknown"
#endif

/* Kept free of '<' and '&' so that the page stays well-formed XML without CDATA. */
static const char css[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fff}"
    "main{max-width:1060px;margin:0 auto;padding:0 16px 40px}"
    ".banner{padding:18px 24px;color:#fff}.banner h1{margin:0;font-size:26px}.banner p{margin:4px 0 0}"
    ".v-pass{background:#2e7d32}.v-fail{background:#c62828}.v-aborted{background:#ef6c00}"
    ".v-error{background:#6a1b9a}.v-unknown{background:#546e7a}"
    "table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}"
    "th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "th{background:#f3f5f7}.miss{color:#c62828;font-weight:bold}.met{color:#2e7d32}"
    "h2{margin-top:28px;border-bottom:1px solid #d0d7de}code{background:#f3f5f7;padding:0 3px}"
    "svg.timeline{max-width:100%;height:auto;border:1px solid #d0d7de;background:#fff}"
    "svg text{font:11px system-ui,sans-serif;fill:#333}svg .plabel{font-weight:bold}"
    "svg .psub,svg .tick{fill:#666;font-size:10px}svg .mlabel{font-size:10px}"
    "svg .strip-bg{fill:#fafbfc;stroke:#e1e4e8}svg rect.ok{fill:#66bb6a}svg rect.bad{fill:#e53935}"
    "svg .latency{fill:none;stroke:#37474f;stroke-width:1}"
    "svg .fault rect{fill:#ffb300;fill-opacity:.16;stroke:#ffb300;stroke-opacity:.6}"
    "svg .flabel{fill:#8d5a00;font-weight:bold}svg .axis line{stroke:#666}"
    "svg .marker line{stroke-width:1.5}svg .inject line{stroke:#000;stroke-dasharray:4 3}"
    "svg .detect line{stroke:#ef6c00}svg .detect text{fill:#ef6c00}"
    "svg .remedy line{stroke:#1e63d6}svg .remedy text{fill:#1e63d6}"
    "svg .remedy-failed line{stroke:#c62828;stroke-dasharray:2 2}svg .remedy-failed text{fill:#c62828}"
    "svg .recover line{stroke:#2e7d32}svg .recover text{fill:#2e7d32}"
    ".legend span{display:inline-block;margin-right:14px;font-size:12px}"
    ".sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}"
    "footer{color:#666;font-size:12px;margin-top:32px}";

static const char *verdict_class(const char *v)
{
    static const char *const known[] = {"pass", "fail", "aborted", "error"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(v, known[i]) == 0)
            return known[i];
    return "unknown";
}

static void put(FILE *f, const char *s)
{
    ash_report_put_xml(f, s);
}

static void td(FILE *f, const char *s)
{
    fputs("<td>", f);
    put(f, s && *s ? s : "-");
    fputs("</td>", f);
}

static void td_ms(FILE *f, const json_t *obj, const char *key)
{
    char buf[48];
    fprintf(f, "<td class=\"n\">%s</td>", ash_report_fmt_ms(buf, sizeof buf, obj, key));
}

static void td_ms_value(FILE *f, bool present, double v)
{
    char buf[48];
    fprintf(f, "<td class=\"n\">%s</td>", ash_report_fmt_ms_value(buf, sizeof buf, present, v));
}

static void head(FILE *f, const json_t *report)
{
    const char *scenario = ash_report_get_str(report, "scenario", "unnamed");
    const char *title = ash_report_get_str(report, "title", NULL);
    const char *verdict = ash_report_get_str(report, "verdict", "unknown");
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\" xml:lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
          "<title>",
          f);
    put(f, scenario);
    fputs(": ", f);
    put(f, verdict);
    fputs(" (aftershock)</title>\n<style>", f);
    fputs(css, f);
    fputs("</style>\n</head>\n<body>\n", f);

    fprintf(f, "<header class=\"banner v-%s\"><h1>", verdict_class(verdict));
    for (const char *p = verdict; *p; p++)
        fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, f);
    fputs(": ", f);
    put(f, title ? title : scenario);
    fputs("</h1><p>scenario <code>", f);
    put(f, scenario);
    fputs("</code>", f);
    const char *file = ash_report_get_str(report, "file", NULL);
    if (file) {
        fputs(" from <code>", f);
        put(f, file);
        fputs("</code>", f);
    }
    fputs(", started ", f);
    put(f, ash_report_get_str(report, "started_at", "-"));
    fprintf(f, " UTC, %zu run%s</p>", json_array_size(json_object_get(report, "runs")),
            json_array_size(json_object_get(report, "runs")) == 1 ? "" : "s");
    const char *error = ash_report_get_str(report, "error", NULL);
    if (error) {
        fputs("<p class=\"error\">error: ", f);
        put(f, error);
        fputs("</p>", f);
    }
    fputs("</header>\n<main>\n", f);
}

/* Measured figures side by side with what the incident itself took, scaled to replay time. */
static void comparison(FILE *f, const json_t *report)
{
    const json_t *inc = json_object_get(report, "incident");
    json_t *sum = ash_report_summary_of(report);
    size_t nruns = json_array_size(json_object_get(report, "runs"));
    fputs("<h2>Time to detect and to recover</h2>\n", f);
    fputs("<p>Counted from <em>t_inject</em>, the moment the first fault was in effect. ", f);
    if (json_is_object(inc)) {
        double scale = 1;
        ash_report_get_ms(inc, "timescale", &scale);
        fputs("The incident (<code>", f);
        put(f, ash_report_get_str(inc, "source", "-"));
        fprintf(f, "</code>) is replayed at %gx: its times are divided by %g.", scale, scale);
    }
    fputs("</p>\n<table class=\"compare\"><tr><th>figure</th><th>measured", f);
    fputs(nruns > 1 ? " (median)" : "", f);
    fputs(" ms</th>", f);
    if (json_is_object(inc))
        fputs("<th>incident</th><th>incident scaled ms</th><th>measured / scaled</th>", f);
    fputs("</tr>\n", f);
    static const char *const figs[][2] = {
        {"impact", "impact"}, {"ttd", "TTD"}, {"ttr", "TTR"}, {"revert_to_recover", "revert to recover"}};
    for (size_t k = 0; k < 4; k++) {
        char key[40], skey[48], human[48];
        snprintf(key, sizeof key, "%s_ms", figs[k][0]);
        snprintf(skey, sizeof skey, "scaled_%s_ms", figs[k][0]);
        double m = 0, real = 0, scaled = 0;
        bool has_m = ash_report_get_ms(json_object_get(sum, key), "median", &m);
        fprintf(f, "<tr><th>%s</th>", figs[k][1]);
        td_ms_value(f, has_m, m);
        if (json_is_object(inc)) {
            bool has_real = ash_report_get_ms(inc, key, &real);
            bool has_scaled = ash_report_get_ms(inc, skey, &scaled);
            td(f, has_real ? ash_report_fmt_human(human, sizeof human, real) : "-");
            td_ms_value(f, has_scaled, scaled);
            if (has_m && has_scaled && scaled > 0)
                fprintf(f, "<td class=\"n\">%.2f</td>", m / scaled);
            else
                td(f, "-");
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);

    if (nruns > 1 && json_is_object(sum)) {
        fputs("<table class=\"summary\"><tr><th>figure</th><th>min</th><th>median</th><th>p95</th><th>max</th>"
              "<th>runs reaching it</th></tr>\n",
              f);
        for (size_t k = 0; k < 4; k++) {
            char key[40];
            snprintf(key, sizeof key, "%s_ms", figs[k][0]);
            const json_t *st = json_object_get(sum, key);
            fprintf(f, "<tr><th>%s</th>", figs[k][1]);
            td_ms(f, st, "min");
            td_ms(f, st, "median");
            td_ms(f, st, "p95");
            td_ms(f, st, "max");
            fprintf(f, "<td class=\"n\">%lld / %zu</td></tr>\n",
                    (long long)json_integer_value(json_object_get(st, "n")), nruns);
        }
        fputs("</table>\n", f);
    }
    json_decref(sum);
}

static void legend(FILE *f)
{
    fputs("<p class=\"legend\">"
          "<span><i class=\"sw\" style=\"background:#66bb6a\"></i>probe sample ok</span>"
          "<span><i class=\"sw\" style=\"background:#e53935\"></i>probe sample failed</span>"
          "<span><i class=\"sw\" style=\"background:#37474f;height:2px\"></i>latency (scaled per probe)</span>"
          "<span><i class=\"sw\" style=\"background:#ffe7a8\"></i>fault window</span>"
          "<span><i class=\"sw\" style=\"background:#000\"></i>t_inject</span>"
          "<span><i class=\"sw\" style=\"background:#ef6c00\"></i>detection</span>"
          "<span><i class=\"sw\" style=\"background:#1e63d6\"></i>remediation</span>"
          "<span><i class=\"sw\" style=\"background:#2e7d32\"></i>recovered (t_inject + TTR)</span></p>\n",
          f);
}

static void run_section(FILE *f, const json_t *report, const json_t *run, size_t no)
{
    char a[48], b[48], c[48], d[48];
    fprintf(f, "<section class=\"run\" id=\"run-%zu\">\n<h2>Run %zu: ", no, no);
    put(f, ash_report_get_str(run, "verdict", "unknown"));
    fputs("</h2>\n<p>", f);
    fprintf(f, "impact %s ms, TTD %s ms", ash_report_fmt_ms(a, sizeof a, run, "impact_ms"),
            ash_report_fmt_ms(b, sizeof b, run, "ttd_ms"));
    const char *by = ash_report_get_str(run, "detected_by", NULL);
    if (by) {
        fputs(" (by <code>", f);
        put(f, by);
        fputs("</code>)", f);
    }
    /* An alert's two moments: TTD is its notification; when it fired is beside it. */
    if (json_is_number(json_object_get(run, "ttd_fired_ms")))
        fprintf(f, ", the alert fired at %s ms", ash_report_fmt_ms(c, sizeof c, run, "ttd_fired_ms"));
    if (json_is_number(json_object_get(run, "impact_to_detect_ms")))
        fprintf(f, ", %s ms after the impact", ash_report_fmt_ms(c, sizeof c, run, "impact_to_detect_ms"));
    const json_t *fl = json_object_get(run, "detection_floor");
    if (json_is_object(fl)) {
        fprintf(f, " (the monitoring's floor: %s ms, ", ash_report_fmt_ms(c, sizeof c, fl, "ms"));
        put(f, ash_report_get_str(fl, "terms", "?"));
        fputs(")", f);
    }
    fprintf(f, ", TTR %s ms, revert to recover %s ms; resolution %s ms", ash_report_fmt_ms(c, sizeof c, run, "ttr_ms"),
            ash_report_fmt_ms(d, sizeof d, run, "revert_to_recover_ms"),
            ash_report_fmt_ms(a, sizeof a, run, "resolution_ms"));
    if (json_is_object(json_object_get(report, "incident"))) {
        char inc[128];
        fputs(". Incident: TTD ", f);
        put(f, ash_report_fmt_incident(inc, sizeof inc, report, "ttd"));
        fputs(", TTR ", f);
        put(f, ash_report_fmt_incident(inc, sizeof inc, report, "ttr"));
    }
    fputs(".</p>\n", f);
    const char *error = ash_report_get_str(run, "error", NULL);
    if (error) {
        fputs("<p class=\"miss\">error: ", f);
        put(f, error);
        fputs("</p>\n", f);
    }
    const json_t *late = json_object_get(run, "schedule_lateness_ms");
    if (json_is_object(late)) {
        fprintf(
            f,
            "<p>Harness precision: probe samples started late by p50 %s ms, p99 %s ms, max %s ms (%lld samples).</p>\n",
            ash_report_fmt_ms(a, sizeof a, late, "p50"), ash_report_fmt_ms(b, sizeof b, late, "p99"),
            ash_report_fmt_ms(c, sizeof c, late, "max"), (long long)json_integer_value(json_object_get(late, "ticks")));
    }
    ash_report_put_svg_timeline(f, run, no);
    legend(f);

    size_t i;
    const json_t *x;
    fputs("<h3>Faults</h3>\n<table><tr><th>fault</th><th>kind</th><th>injected at ms</th><th>reverted at ms</th>"
          "<th>inject latency ms</th><th>error</th></tr>\n",
          f);
    json_array_foreach(json_object_get(run, "faults"), i, x)
    {
        fputs("<tr>", f);
        td(f, ash_report_get_str(x, "name", "?"));
        td(f, ash_report_get_str(x, "kind", "?"));
        td_ms(f, x, "injected_ms");
        if (strcmp(ash_report_get_str(x, "revert", ""), "one-shot") == 0)
            td(f, "not reverted (one-shot)");
        else
            td_ms(f, x, "reverted_ms");
        td_ms(f, x, "inject_latency_ms");
        td(f, ash_report_get_str(x, "error", NULL));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h3>Probes</h3>\n<table><tr><th>probe</th><th>kind</th><th>every ms</th><th>samples</th>"
          "<th>failures</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th></tr>\n",
          f);
    json_array_foreach(json_object_get(run, "probes"), i, x)
    {
        const json_t *lat = json_object_get(x, "latency_ms");
        fputs("<tr>", f);
        td(f, ash_report_get_str(x, "name", "?"));
        td(f, ash_report_get_str(x, "kind", "?"));
        td_ms(f, x, "every_ms");
        fprintf(f, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td>",
                (long long)json_integer_value(json_object_get(x, "samples")),
                (long long)json_integer_value(json_object_get(x, "failures")));
        td_ms(f, lat, "p50");
        td_ms(f, lat, "p99");
        td_ms(f, lat, "max");
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h3>Expectations</h3>\n<table class=\"expectations\"><tr><th>expectation</th><th>limit ms</th>"
          "<th>value ms</th><th>met</th></tr>\n",
          f);
    json_array_foreach(json_object_get(run, "expectations"), i, x)
    {
        bool met = json_is_true(json_object_get(x, "met"));
        fputs("<tr>", f);
        td(f, ash_report_get_str(x, "name", "?"));
        td_ms(f, x, "limit_ms");
        td_ms(f, x, "value_ms");
        fprintf(f, "<td class=\"%s\">%s</td></tr>\n", met ? "met" : "miss", met ? "yes" : "NO");
    }
    /* Post-recovery checks (verify:): what they found, not only whether it was expected. */
    if (json_array_size(json_object_get(run, "verify"))) {
        fputs("</table>\n<h3>Verify (after recovery)</h3>\n<table class=\"verify\"><tr><th>check</th>"
              "<th>expected</th><th>outcome</th><th>exit</th><th>ms</th><th>output</th></tr>\n",
              f);
        json_array_foreach(json_object_get(run, "verify"), i, x)
        {
            bool met = json_is_true(json_object_get(x, "met"));
            char code[24] = "-";
            if (json_is_integer(json_object_get(x, "exit")))
                snprintf(code, sizeof code, "%lld", (long long)json_integer_value(json_object_get(x, "exit")));
            fputs("<tr>", f);
            td(f, ash_report_get_str(x, "name", "?"));
            td(f, ash_report_get_str(x, "expect", "?"));
            fprintf(f, "<td class=\"%s\">", met ? "met" : "miss");
            put(f, ash_report_get_str(x, "outcome", "?"));
            fputs("</td>", f);
            td(f, code);
            td_ms(f, x, "duration_ms");
            fputs("<td><pre>", f);
            put(f, ash_report_get_str(x, "output", ""));
            put(f, ash_report_get_str(x, "error", ""));
            fputs("</pre></td></tr>\n", f);
        }
    }
    fputs("</table>\n<h3>Event log</h3>\n<table class=\"events\"><tr><th>t ms (from run start)</th><th>event</th>"
          "<th>detail</th></tr>\n",
          f);
    json_array_foreach(json_object_get(run, "timeline"), i, x)
    {
        fputs("<tr>", f);
        td_ms(f, x, "t_ms");
        td(f, ash_report_get_str(x, "event", "?"));
        td(f, ash_report_get_str(x, "detail", NULL));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
}

int ash_report_write_html(const json_t *report, const char *path, ash_error_t *err)
{
    struct ash_report_out o;
    if (ash_report_out_open(&o, err) < 0)
        return -1;
    head(o.f, report);
    comparison(o.f, report);
    size_t i;
    const json_t *run;
    json_array_foreach(json_object_get(report, "runs"), i, run) run_section(o.f, report, run, i + 1);
    if (json_array_size(json_object_get(report, "runs")) == 0)
        fputs("<p>No run completed: nothing was measured.</p>\n", o.f);
    fputs("<footer>Rendered by aftershock " ASH_VERSION " from report.json (", o.f);
    put(o.f, ASH_REPORT_SCHEMA);
    const char *version = ash_report_get_str(report, "aftershock_version", NULL);
    if (version) {
        fputs(", measured by aftershock ", o.f);
        put(o.f, version);
    }
    fputs(").</footer>\n</main>\n</body>\n</html>\n", o.f);
    return ash_report_out_commit(&o, path, err);
}
