/* report.html: one self-contained XHTML page (inline CSS and SVG, no scripts, nothing fetched).
 *
 * Above the fold: the verdict and title, then TTD and TTR each against the incident's own figure (scaled to
 * replay time) and against the expectation's limit. Durations are shown in human units; report.json keeps
 * the exact figures. Colours are chosen for WCAG AA contrast (4.5:1 for text) on their backgrounds. */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

#ifndef ASH_VERSION
#define ASH_VERSION "unknown"
#endif

static const char *verdict_class(const char *v)
{
    static const char *const known[] = {"pass", "fail", "aborted", "error"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(v, known[i]) == 0)
            return known[i];
    if (strcmp(v, "unfinished") == 0) /* killed before it wrote its report: shown as an error */
        return "error";
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

/* A duration cell; a null figure says what its absence means. */
static void td_dur(FILE *f, const json_t *obj, const char *key, const char *absent)
{
    char buf[64];
    double v;
    if (ash_report_get_ms(obj, key, &v))
        fprintf(f, "<td class=\"n\">%s</td>", ash_report_fmt_dur(buf, sizeof buf, v));
    else {
        fputs("<td class=\"n unknown\">", f);
        put(f, absent);
        fputs("</td>", f);
    }
}

static void td_rel(FILE *f, bool present, double v)
{
    char buf[64];
    fprintf(f, "<td class=\"n\">%s</td>", ash_report_fmt_rel(buf, sizeof buf, present, v));
}

/* The incident's figure with its basis made visible: assumed in italics, unknown as the word. */
static void put_incident(FILE *f, const json_t *report, const char *which)
{
    char buf[160];
    enum ash_report_basis b = ash_report_incident_basis(report, which);
    ash_report_fmt_incident(buf, sizeof buf, report, which);
    if (b == ASH_BASIS_STATED) {
        put(f, buf);
        return;
    }
    fprintf(f, "<span class=\"%s\">", b == ASH_BASIS_ASSUMED ? "assumed" : "unknown");
    put(f, b == ASH_BASIS_UNKNOWN ? "unknown (the postmortem does not give it)" : buf);
    fputs("</span>", f);
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
    fputs(ash_report_html_css, f);
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
    const json_t *inc = json_object_get(report, "incident");
    if (json_is_object(inc)) {
        const char *ititle = ash_report_get_str(inc, "title", NULL);
        fputs("<p>replays the incident ", f);
        if (ititle) {
            fputs("\u201c", f);
            put(f, ititle);
            fputs("\u201d (", f);
        }
        fputs("<code>", f);
        put(f, ash_report_get_str(inc, "source", "-"));
        fputs(ititle ? "</code>)</p>" : "</code></p>", f);
    }
    const char *error = ash_report_get_str(report, "error", NULL);
    if (error) {
        fputs("<p class=\"error\">error: ", f);
        put(f, error);
        fputs("</p>", f);
    }
    fputs("</header>\n<main>\n", f);
}

/* One key figure (ttd, ttr): measured (median over runs), the incident's own, the limit. */
static void card(FILE *f, const json_t *report, const json_t *sum, const char *which, const char *title,
                 const char *limit_name)
{
    const json_t *runs = json_object_get(report, "runs");
    size_t nruns = json_array_size(runs);
    char key[32], buf[96];
    snprintf(key, sizeof key, "%s_ms", which);
    double m = 0;
    bool has_m = ash_report_get_ms(json_object_get(sum, key), "median", &m);
    struct ash_report_limit l = ash_report_limit_of(report, limit_name);
    size_t met = l.met, with_limit = l.runs;
    bool has_lim = l.has_limit;
    double lim = l.limit_ms;
    bool miss = with_limit && met < with_limit;
    fprintf(f, "<div class=\"card%s\" id=\"key-%s\"><h2>", miss ? " miss" : "", which);
    put(f, title);
    fputs("</h2><p class=\"big\">", f);
    put(f, has_m ? ash_report_fmt_dur(buf, sizeof buf, m) : ash_report_absent_text(which));
    fputs("</p>", f);
    if (nruns > 1)
        fprintf(f, "<p>median of %zu runs</p>", nruns);
    if (strcmp(which, "ttd") == 0 && nruns == 1) {
        const char *by = ash_report_get_str(json_array_get(runs, 0), "detected_by", NULL);
        if (by) {
            fputs("<p>detected by <code>", f);
            put(f, by);
            fputs("</code></p>", f);
        }
    }
    if (json_is_object(json_object_get(report, "incident"))) {
        fputs("<p>incident: ", f);
        put_incident(f, report, which);
        double scaled;
        char skey[40];
        snprintf(skey, sizeof skey, "scaled_%s_ms", which);
        if (has_m && ash_report_get_ms(json_object_get(report, "incident"), skey, &scaled) && scaled > 0) {
            snprintf(buf, sizeof buf, "%.2f", m / scaled);
            fputs(" (measured: ", f);
            put(f, buf);
            fputs("\u00d7 that)", f);
        }
        fputs("</p>", f);
    }
    if (with_limit) {
        fputs("<p>limit ", f);
        put(f, has_lim ? ash_report_fmt_dur(buf, sizeof buf, lim) : "-");
        fputs(": ", f);
        if (nruns > 1)
            fprintf(f, "<span class=\"%s\">met in %zu of %zu runs</span>", miss ? "miss" : "met", met, with_limit);
        else
            fprintf(f, "<span class=\"%s\">%s</span>", miss ? "miss" : "met", miss ? "MISSED" : "met");
        fputs("</p>", f);
    }
    fputs("</div>\n", f);
}

static void key_figures(FILE *f, const json_t *report)
{
    json_t *sum = ash_report_summary_of(report);
    fputs("<section class=\"key\" aria-label=\"key figures\">\n", f);
    card(f, report, sum, "ttd", "Time to detect (TTD)", "detect_within");
    card(f, report, sum, "ttr", "Time to recover (TTR)", "recover_within");
    fputs("</section>\n", f);
    json_decref(sum);
}

static const char *const figs[][2] = {
    {"impact", "impact"}, {"ttd", "TTD"}, {"ttr", "TTR"}, {"revert_to_recover", "revert to recover"}};

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
        char d[48];
        fprintf(f, "</code>) is replayed at %gx: 1 s of replay stands for %s of the incident. ", scale,
                ash_report_fmt_dur(d, sizeof d, scale * 1000.0));
        fputs("Incident figures in <span class=\"assumed\">italics</span> rest on a time the scenario assumed; "
              "<span class=\"unknown\">unknown</span> ones are not in the postmortem.",
              f);
    }
    fputs("</p>\n<div class=\"tw\"><table class=\"compare\"><tr><th>figure</th><th>measured", f);
    fputs(nruns > 1 ? " (median)" : "", f);
    fputs("</th>", f);
    if (json_is_object(inc))
        fputs("<th>incident (its own clock \u2192 scaled)</th><th>measured / scaled</th>", f);
    fputs("</tr>\n", f);
    for (size_t k = 0; k < 4; k++) {
        char key[40], skey[48];
        snprintf(key, sizeof key, "%s_ms", figs[k][0]);
        snprintf(skey, sizeof skey, "scaled_%s_ms", figs[k][0]);
        double m = 0, scaled = 0;
        bool has_m = ash_report_get_ms(json_object_get(sum, key), "median", &m);
        fprintf(f, "<tr><th>%s</th>", figs[k][1]);
        td_dur(f, json_object_get(sum, key), "median", ash_report_absent_text(figs[k][0]));
        if (json_is_object(inc)) {
            bool inc_fig = k == 1 || k == 2;
            fputs("<td>", f);
            if (inc_fig)
                put_incident(f, report, figs[k][0]);
            else
                put(f, "-");
            fputs("</td>", f);
            bool has_scaled = inc_fig && ash_report_get_ms(inc, skey, &scaled);
            if (has_m && has_scaled && scaled > 0)
                fprintf(f, "<td class=\"n\">%.2f</td>", m / scaled);
            else
                td(f, "-");
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);

    if (nruns > 1 && json_is_object(sum)) {
        fputs("<div class=\"tw\"><table class=\"summary\"><tr><th>figure</th><th>min</th><th>median</th><th>p95</th>"
              "<th>max</th><th>runs reaching it</th></tr>\n",
              f);
        for (size_t k = 0; k < 4; k++) {
            char key[40];
            snprintf(key, sizeof key, "%s_ms", figs[k][0]);
            const json_t *st = json_object_get(sum, key);
            fprintf(f, "<tr><th>%s</th>", figs[k][1]);
            td_dur(f, st, "min", "-");
            td_dur(f, st, "median", "-");
            td_dur(f, st, "p95", "-");
            td_dur(f, st, "max", "-");
            fprintf(f, "<td class=\"n\">%lld / %zu</td></tr>\n",
                    (long long)json_integer_value(json_object_get(st, "n")), nruns);
        }
        fputs("</table></div>\n", f);
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
          "<span><i class=\"sw\" style=\"background:#2e7d32\"></i>recovered (t_inject + TTR)</span>"
          "<span><i class=\"sw\" style=\"background:#6a1b9a\"></i>the incident's own moments, scaled</span>"
          "<span><i class=\"sw\" style=\"background:#555\"></i>expectation limits</span></p>\n",
          f);
}

/* A fleet run's nodes, clocks, faults and probes on nodes (ash_report_fleet_tables). */
static void fleet_section(FILE *f, const json_t *run)
{
    char intro[512];
    json_t *tables = ash_report_fleet_tables(run, intro, sizeof intro);
    if (!tables)
        return;
    size_t j, k, l;
    const json_t *t, *r, *c;
    fputs("<h3>Fleet</h3>\n<p>", f);
    put(f, intro);
    fputs("</p>\n", f);
    json_array_foreach(tables, j, t)
    {
        fputs("<h4>", f);
        put(f, json_string_value(json_object_get(t, "title")));
        fputs("</h4>\n<div class=\"tw\"><table class=\"fleet\"><tr>", f);
        json_array_foreach(json_object_get(t, "columns"), k, c)
        {
            fputs("<th>", f);
            put(f, json_string_value(c));
            fputs("</th>", f);
        }
        fputs("</tr>\n", f);
        json_array_foreach(json_object_get(t, "rows"), k, r)
        {
            fputs("<tr>", f);
            json_array_foreach(r, l, c) td(f, json_string_value(c));
            fputs("</tr>\n", f);
        }
        fputs("</table></div>\n", f);
    }
    json_decref(tables);
}

static void run_section(FILE *f, const json_t *report, const json_t *run, size_t no)
{
    char a[64], b[64], c[64], d[64];
    double t_inject = 0, v;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &t_inject);
    fprintf(f, "<section class=\"run\" id=\"run-%zu\">\n<h2>Run %zu: ", no, no);
    put(f, ash_report_get_str(run, "verdict", "unknown"));
    fputs("</h2>\n<p>", f);
    fprintf(f, "impact %s, TTD %s", ash_report_fmt_dur_or(a, sizeof a, run, "impact_ms", "none seen"),
            ash_report_fmt_dur_or(b, sizeof b, run, "ttd_ms", "not detected"));
    const char *by = ash_report_get_str(run, "detected_by", NULL);
    if (by) {
        fputs(" (by <code>", f);
        put(f, by);
        fputs("</code>)", f);
    }
    /* An alert's two moments: TTD is its notification; when it fired is beside it. */
    if (json_is_number(json_object_get(run, "ttd_fired_ms")))
        fprintf(f, ", the alert fired at %s", ash_report_fmt_dur_or(c, sizeof c, run, "ttd_fired_ms", "?"));
    if (json_is_number(json_object_get(run, "impact_to_detect_ms")))
        fprintf(f, ", %s after the impact", ash_report_fmt_dur_or(c, sizeof c, run, "impact_to_detect_ms", "?"));
    const json_t *fl = json_object_get(run, "detection_floor");
    if (json_is_object(fl)) {
        fprintf(f, " (the monitoring's floor: %s, ", ash_report_fmt_dur_or(c, sizeof c, fl, "ms", "?"));
        put(f, ash_report_get_str(fl, "terms", "?"));
        fputs(")", f);
    }
    fprintf(f, ", TTR %s, revert to recover %s; each within %s",
            ash_report_fmt_dur_or(c, sizeof c, run, "ttr_ms", "not recovered"),
            ash_report_fmt_dur_or(d, sizeof d, run, "revert_to_recover_ms", "not measured"),
            ash_report_fmt_dur_or(a, sizeof a, run, "resolution_ms", "an unknown resolution"));
    fputs(".</p>\n", f);
    /* The people's marks right under the machine's figures. */
    char marks[1600];
    if (ash_report_marks_text(run, marks, sizeof marks)) {
        fputs("<p class=\"marks\">The people (<code>aftershock mark</code>): ", f);
        put(f, marks);
        fputs(".</p>\n", f);
    }
    const char *error = ash_report_get_str(run, "error", NULL);
    if (error) {
        fputs("<p class=\"miss\">error: ", f);
        put(f, error);
        fputs("</p>\n", f);
    }
    const json_t *late = json_object_get(run, "schedule_lateness_ms");
    if (json_is_object(late)) {
        fprintf(f, "<p>Harness precision: probe samples started late by p50 %s, p99 %s, max %s (%lld samples).</p>\n",
                ash_report_fmt_dur_or(a, sizeof a, late, "p50", "-"),
                ash_report_fmt_dur_or(b, sizeof b, late, "p99", "-"),
                ash_report_fmt_dur_or(c, sizeof c, late, "max", "-"),
                (long long)json_integer_value(json_object_get(late, "ticks")));
        /* fleet: the probes on nodes, as each node's agent measured its ticks. */
        const char *node;
        const json_t *nl;
        json_object_foreach((json_t *)json_object_get(late, "nodes"), node, nl)
        {
            fputs("<p>On node ", f);
            put(f, node);
            fprintf(f, ", its agent's probe samples started late by p50 %s, p99 %s, max %s (%lld samples).</p>\n",
                    ash_report_fmt_dur_or(a, sizeof a, nl, "p50", "-"),
                    ash_report_fmt_dur_or(b, sizeof b, nl, "p99", "-"),
                    ash_report_fmt_dur_or(c, sizeof c, nl, "max", "-"),
                    (long long)json_integer_value(json_object_get(nl, "ticks")));
        }
        const json_t *ticks = json_object_get(late, "late_ticks");
        if (json_array_size(ticks)) {
            fprintf(f, "<p>%lld ticks started over 1 ms late%s:</p>\n<ul class=\"late\">\n",
                    (long long)json_integer_value(json_object_get(late, "over_1ms")),
                    json_array_size(ticks) > ASH_REPORT_LATE_TICKS_SHOWN ? " (the first ones)" : "");
            ash_report_put_late_ticks(f, late, "<li>", "</li>\n", put);
            fputs("</ul>\n", f);
        }
    }
    fputs("<div class=\"tl\">", f);
    ash_report_put_svg_timeline(f, report, run, no);
    fputs("</div>\n", f);
    legend(f);

    size_t i;
    const json_t *x;
    const char *from = has_inject ? "from t_inject" : "from run start";
    double t0 = has_inject ? t_inject : 0;
    fprintf(f,
            "<h3>Detections and remediations</h3>\n<div class=\"tw\"><table class=\"actions\"><tr><th>%s</th>"
            "<th>what</th><th>name</th><th>detail</th></tr>\n",
            from);
    json_t *acts = ash_report_actions(run);
    json_array_foreach(acts, i, x)
    {
        bool det = strcmp(ash_report_get_str(x, "what", ""), "detection") == 0;
        bool has = ash_report_get_ms(x, "at_ms", &v);
        fputs("<tr>", f);
        td_rel(f, has, v - t0);
        td(f, det ? "detection" : "remediation");
        td(f, ash_report_get_str(x, det ? "detector" : "name", "?"));
        if (det)
            td(f, ash_report_get_str(x, "detail", NULL));
        else
            td(f, json_is_true(json_object_get(x, "ok")) ? "ok" : ash_report_get_str(x, "error", "failed"));
        fputs("</tr>\n", f);
    }
    json_decref(acts);
    fprintf(f,
            "</table></div>\n<h3>Faults</h3>\n<div class=\"tw\"><table><tr><th>fault</th><th>kind</th><th>placed "
            "in</th><th>injected (%s)</th><th>reverted (%s)</th><th>inject latency</th><th>error</th></tr>\n",
            from, from);
    json_array_foreach(json_object_get(run, "faults"), i, x)
    {
        fputs("<tr>", f);
        td(f, ash_report_get_str(x, "name", "?"));
        td(f, ash_report_get_str(x, "kind", "?"));
        char placed[1024];
        td(f, ash_report_fmt_targets(placed, sizeof placed, x));
        bool has = ash_report_get_ms(x, "injected_ms", &v);
        td_rel(f, has, v - t0);
        if (strcmp(ash_report_get_str(x, "revert", ""), "one-shot") == 0)
            td(f, "not reverted (one-shot)");
        else {
            has = ash_report_get_ms(x, "reverted_ms", &v);
            td_rel(f, has, v - t0);
        }
        td_dur(f, x, "inject_latency_ms", "-");
        td(f, ash_report_get_str(x, "error", NULL));
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n<h3>Probes</h3>\n<div class=\"tw\"><table><tr><th>probe</th><th>kind</th><th>every</th>"
          "<th>samples</th><th>failures</th><th>p50</th><th>p99</th><th>max</th></tr>\n",
          f);
    json_array_foreach(json_object_get(run, "probes"), i, x)
    {
        const json_t *lat = json_object_get(x, "latency_ms");
        fputs("<tr>", f);
        td(f, ash_report_get_str(x, "name", "?"));
        td(f, ash_report_get_str(x, "kind", "?"));
        td_dur(f, x, "every_ms", "-");
        fprintf(f, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td>",
                (long long)json_integer_value(json_object_get(x, "samples")),
                (long long)json_integer_value(json_object_get(x, "failures")));
        td_dur(f, lat, "p50", "-");
        td_dur(f, lat, "p99", "-");
        td_dur(f, lat, "max", "-");
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
    fleet_section(f, run);
    fputs("<h3>Expectations</h3>\n<div class=\"tw\"><table class=\"expectations\"><tr>"
          "<th>expectation</th><th>limit</th><th>value</th><th>met</th></tr>\n",
          f);
    json_array_foreach(json_object_get(run, "expectations"), i, x)
    {
        bool met = json_is_true(json_object_get(x, "met"));
        const char *name = ash_report_get_str(x, "name", "?");
        fputs("<tr>", f);
        td(f, name);
        td_dur(f, x, "limit_ms", "-");
        td_dur(f, x, "value_ms", ash_report_absent_text(strstr(name, "detect") ? "ttd" : "ttr"));
        fprintf(f, "<td class=\"%s\">%s</td></tr>\n", met ? "met" : "miss", met ? "yes" : "NO");
    }
    fputs("</table></div>\n", f);
    /* Post-recovery checks (verify:): what they found, not only whether it was expected. */
    if (json_array_size(json_object_get(run, "verify"))) {
        fputs("<h3>Verify (after recovery)</h3>\n<div class=\"tw\"><table class=\"verify\"><tr><th>check</th>"
              "<th>expected</th><th>outcome</th><th>exit</th><th>took</th><th>output</th></tr>\n",
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
            td_dur(f, x, "duration_ms", "-");
            fputs("<td><pre>", f);
            put(f, ash_report_get_str(x, "output", ""));
            put(f, ash_report_get_str(x, "error", ""));
            fputs("</pre></td></tr>\n", f);
        }
        fputs("</table></div>\n", f);
    }
    fprintf(f,
            "<h3>Event log</h3>\n<div class=\"tw\"><table class=\"events\"><tr><th>%s</th><th>from run start</th>"
            "<th>event</th><th>detail</th></tr>\n",
            from);
    const json_t *tl = json_object_get(run, "timeline");
    size_t *order = ash_report_time_order(tl, "t_ms");
    for (i = 0; order && i < json_array_size(tl); i++) {
        x = json_array_get(tl, order[i]);
        bool has = ash_report_get_ms(x, "t_ms", &v);
        fputs("<tr>", f);
        td_rel(f, has, v - t0);
        td_rel(f, has, v);
        td(f, ash_report_get_str(x, "event", "?"));
        td(f, ash_report_get_str(x, "detail", NULL));
        fputs("</tr>\n", f);
    }
    free(order);
    fputs("</table></div>\n</section>\n", f);
}

int ash_report_write_html(const json_t *report, const char *path, ash_error_t *err)
{
    struct ash_report_out o;
    if (ash_report_out_open(&o, path, err) < 0)
        return -1;
    head(o.f, report);
    if (json_array_size(json_object_get(report, "runs")) > 0)
        key_figures(o.f, report);
    comparison(o.f, report);
    size_t i;
    const json_t *run;
    json_array_foreach(json_object_get(report, "runs"), i, run) run_section(o.f, report, run, i + 1);
    if (json_array_size(json_object_get(report, "runs")) == 0)
        fputs("<p>No run completed: nothing was measured.</p>\n", o.f);
    ash_report_put_annotations(o.f, report, true);
    fputs("<footer>Rendered by aftershock " ASH_VERSION " from report.json (", o.f);
    put(o.f, ASH_REPORT_SCHEMA);
    const char *version = ash_report_get_str(report, "aftershock_version", NULL);
    if (version) {
        fputs(", measured by aftershock ", o.f);
        put(o.f, version);
    }
    fputs("). Exact figures (ms, three decimals) are in report.json.</footer>\n</main>\n</body>\n</html>\n", o.f);
    return ash_report_out_commit(&o, err);
}
