/* gameday.md and gameday.html: the one-page summary a team takes to its retro. The
 * people's marks, the machine's figures and the incident's own side by side; who saw
 * it first; what happened when; the gaps. The content is written once against a tiny
 * sink (heading, paragraph, table, bullet) that has a Markdown and an XHTML side. */
#include "report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef ASH_VERSION
#define ASH_VERSION "unknown"
#endif

struct sink {
    FILE *f;
    bool html;
    bool in_list;
};

static void put(struct sink *s, const char *text)
{
    if (s->html)
        ash_report_put_xml(s->f, text);
    else
        ash_report_put_md_cell(s->f, text);
}

static void end_list(struct sink *s)
{
    if (s->in_list)
        fputs(s->html ? "</ul>\n" : "\n", s->f);
    s->in_list = false;
}

static void heading(struct sink *s, int level, const char *text)
{
    end_list(s);
    if (s->html) {
        fprintf(s->f, "<h%d>", level);
        put(s, text);
        fprintf(s->f, "</h%d>\n", level);
    } else {
        fprintf(s->f, "%.*s ", level, "####");
        put(s, text);
        fputs("\n\n", s->f);
    }
}

static void para(struct sink *s, const char *text)
{
    end_list(s);
    fputs(s->html ? "<p>" : "", s->f);
    put(s, text);
    fputs(s->html ? "</p>\n" : "\n\n", s->f);
}

static void bullet(struct sink *s, const char *text)
{
    if (!s->in_list)
        fputs(s->html ? "<ul>\n" : "", s->f);
    s->in_list = true;
    fputs(s->html ? "<li>" : "- ", s->f);
    put(s, text);
    fputs(s->html ? "</li>\n" : "\n", s->f);
}

/* A table row; header rows first. cells: n strings ("" shows as "-"). */
static void row(struct sink *s, bool header, size_t n, const char *const *cells)
{
    end_list(s);
    if (s->html) {
        fputs("<tr>", s->f);
        for (size_t i = 0; i < n; i++) {
            fputs(header ? "<th>" : "<td>", s->f);
            put(s, cells[i] && *cells[i] ? cells[i] : "-");
            fputs(header ? "</th>" : "</td>", s->f);
        }
        fputs("</tr>\n", s->f);
        return;
    }
    fputs("|", s->f);
    for (size_t i = 0; i < n; i++) {
        fputc(' ', s->f);
        put(s, cells[i] && *cells[i] ? cells[i] : "-");
        fputs(" |", s->f);
    }
    fputc('\n', s->f);
    if (header) {
        fputs("|", s->f);
        for (size_t i = 0; i < n; i++)
            fputs("---|", s->f);
        fputc('\n', s->f);
    }
}

static void table_begin(struct sink *s)
{
    end_list(s);
    if (s->html)
        fputs("<div class=\"tw\"><table>\n", s->f);
}

static void table_end(struct sink *s)
{
    fputs(s->html ? "</table></div>\n" : "\n", s->f);
}

/* ---- what the report says ---- */

/* "HH:MM" -> minutes, or -1. */
static int clock_min(const char *s)
{
    int h, m;
    if (!s || sscanf(s, "%d:%d", &h, &m) != 2)
        return -1;
    return h * 60 + m;
}

/* The incident's own time of `key` (detected_at, mitigated_at, recovered_at) against its fault. */
static void incident_at(char *buf, size_t len, const json_t *report, const char *key, const char *figure)
{
    const json_t *inc = json_object_get(report, "incident");
    const char *at = ash_report_get_str(inc, key, NULL);
    const char *fault = ash_report_get_str(inc, "fault_at", NULL);
    char fig[160] = "";
    if (figure)
        ash_report_fmt_incident(fig, sizeof fig, report, figure);
    if (!json_is_object(inc)) {
        snprintf(buf, len, "-");
    } else if (at && fault && clock_min(at) >= 0 && clock_min(fault) >= 0) {
        char d[48];
        ash_report_fmt_dur(d, sizeof d, (clock_min(at) - clock_min(fault)) * 60000.0);
        snprintf(buf, len, "%s, %s after the fault at %s%s%s", at, d, fault, figure && strcmp(fig, "-") ? "; " : "",
                 figure && strcmp(fig, "-") ? fig : "");
    } else {
        snprintf(buf, len, "%s", figure && strcmp(fig, "-") ? fig : "not in the postmortem");
    }
}

/* The person a mark came from, as the run recorded it ("uid 1000 pid 4242", "key in the live view"). */
static const char *who_of(const char *detail)
{
    return detail && *detail ? detail : "";
}

struct point {
    double t;
    char who[24];
    char what[600];
};

static int by_time(const void *a, const void *b)
{
    double x = ((const struct point *)a)->t, y = ((const struct point *)b)->t;
    return x < y ? -1 : x > y;
}

/* What happened when: faults, impact, detections, marks, notes, remediations, guardrail, recovery. */
static size_t timeline_points(const json_t *run, struct point *pts, size_t cap)
{
    size_t n = 0, i;
    const json_t *e;
    json_array_foreach(json_object_get(run, "timeline"), i, e)
    {
        const char *ev = ash_report_get_str(e, "event", "");
        const char *who = NULL;
        if (strcmp(ev, "fault-injected") == 0 || strcmp(ev, "fault-reverted") == 0 ||
            strcmp(ev, "fault-not-reverted") == 0 || strcmp(ev, "revert-failed") == 0)
            who = "aftershock";
        else if (strcmp(ev, "detected") == 0 || strcmp(ev, "alert-firing") == 0 || strcmp(ev, "alert-resolved") == 0)
            who = "monitoring";
        else if (strncmp(ev, "mark-", 5) == 0)
            who = "people";
        else if (strncmp(ev, "remediation", 11) == 0)
            who = "runbook";
        else if (strcmp(ev, "abort") == 0 || strcmp(ev, "timeout") == 0)
            who = "aftershock";
        double t;
        if (!who || n >= cap || !ash_report_get_ms(e, "t_ms", &t))
            continue;
        /* A human detector's detection repeats the mark it came from: the mark says it. */
        if (strcmp(ev, "detected") == 0 && strstr(ash_report_get_str(e, "detail", ""), "marked detected"))
            continue;
        pts[n].t = t;
        snprintf(pts[n].who, sizeof pts[n].who, "%s", who);
        snprintf(pts[n].what, sizeof pts[n].what, "%s: %s", ev, ash_report_get_str(e, "detail", ""));
        n++;
    }
    double inject, fig;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &inject);
    if (has_inject && ash_report_get_ms(run, "impact_ms", &fig) && n < cap) {
        pts[n] = (struct point){.t = inject + fig, .who = "users"};
        snprintf(pts[n].what, sizeof pts[n].what, "impact: the first failed probe sample");
        n++;
    }
    if (has_inject && ash_report_get_ms(run, "ttr_ms", &fig) && n < cap) {
        pts[n] = (struct point){.t = inject + fig, .who = "users"};
        snprintf(pts[n].what, sizeof pts[n].what, "recovered: every probe healthy and stable from here (TTR)");
        n++;
    }
    qsort(pts, n, sizeof *pts, by_time);
    return n;
}

static void figures(struct sink *s, const json_t *report, const json_t *run)
{
    char people[3][300], machine[5][300], incident[3][300], b[64], w[96];
    for (int k = 0; k < 3; k++) {
        double t;
        const char *d;
        if (ash_report_first_event(run, ash_report_mark_events[k], &t, &d)) {
            ash_report_when(w, sizeof w, run, t);
            snprintf(people[k], sizeof people[k], "marked %s (%s)", w, who_of(d));
        } else {
            snprintf(people[k], sizeof people[k], "not marked");
        }
    }
    double v;
    const char *by = ash_report_get_str(run, "detected_by", NULL);
    if (ash_report_get_ms(run, "ttd_ms", &v))
        snprintf(machine[0], sizeof machine[0], "TTD %s, by %s", ash_report_fmt_dur(b, sizeof b, v), by ? by : "?");
    else
        snprintf(machine[0], sizeof machine[0], "not detected");
    /* Mitigation by the machine: the runbook's first remediation that worked. */
    snprintf(machine[1], sizeof machine[1], "no remediation ran");
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(run, "remediations"), i, m)
    {
        double at;
        if (json_is_true(json_object_get(m, "ok")) && ash_report_get_ms(m, "at_ms", &at)) {
            ash_report_when(w, sizeof w, run, at);
            snprintf(machine[1], sizeof machine[1], "remediation %s done %s", ash_report_get_str(m, "name", "?"), w);
            break;
        }
    }
    if (ash_report_get_ms(run, "ttr_ms", &v))
        snprintf(machine[2], sizeof machine[2], "TTR %s", ash_report_fmt_dur(b, sizeof b, v));
    else
        snprintf(machine[2], sizeof machine[2], "not recovered");
    if (ash_report_get_ms(run, "impact_ms", &v))
        snprintf(machine[3], sizeof machine[3], "first failed sample %s after the first fault",
                 ash_report_fmt_dur(b, sizeof b, v));
    else
        snprintf(machine[3], sizeof machine[3], "no impact seen");
    const json_t *g = json_object_get(run, "guardrail");
    if (json_is_object(g)) {
        char lat[64] = "not measured";
        if (ash_report_get_ms(g, "stop_latency_ms", &v))
            ash_report_fmt_dur(lat, sizeof lat, v);
        snprintf(machine[4], sizeof machine[4], "guardrail %s tripped (%s): %s; every fault reverted %s later",
                 ash_report_get_str(g, "name", "?"), ash_report_get_str(g, "condition", ""),
                 ash_report_get_str(g, "observed", ""), lat);
    } else {
        snprintf(machine[4], sizeof machine[4], "no guardrail tripped");
    }
    incident_at(incident[0], sizeof incident[0], report, "detected_at", "ttd");
    incident_at(incident[1], sizeof incident[1], report, "mitigated_at", NULL);
    incident_at(incident[2], sizeof incident[2], report, "recovered_at", "ttr");

    heading(s, 3, "Side by side");
    table_begin(s);
    const char *hdr[] = {"figure", "the people (marks)", "the machine (measured)", "the incident (postmortem)"};
    row(s, true, 4, hdr);
    const char *r1[] = {"detected", people[0], machine[0], incident[0]};
    const char *r2[] = {"mitigated", people[1], machine[1], incident[1]};
    const char *r3[] = {"recovered", people[2], machine[2], incident[2]};
    const char *r4[] = {"impact", "", machine[3], ""};
    const char *r5[] = {"guardrails", "", machine[4], ""};
    row(s, false, 4, r1);
    row(s, false, 4, r2);
    row(s, false, 4, r3);
    row(s, false, 4, r4);
    row(s, false, 4, r5);
    table_end(s);
}

/* "TTD 3.01 s against the incident's 12.0 s (scaled): faster than it was." */
static void against_incident(struct sink *s, const json_t *report, const char *figure, bool has, double v,
                             const char *scaled_key)
{
    const json_t *inc = json_object_get(report, "incident");
    double its;
    if (!has || !json_is_object(inc) || !ash_report_get_ms(inc, scaled_key, &its))
        return;
    char line[300], a[64], b[64];
    snprintf(line, sizeof line, "%s %s against the incident's %s (scaled): %s.", figure,
             ash_report_fmt_dur(a, sizeof a, v), ash_report_fmt_dur(b, sizeof b, its),
             v < its   ? "faster than it was"
             : v > its ? "slower than it was"
                       : "as it was");
    bullet(s, line);
}

/* Who saw it first, and the gaps a retro asks about. */
static void gaps(struct sink *s, const json_t *report, const json_t *run)
{
    char line[700], a[64], b2[64];
    double inject = 0, impact, ttd, mark_d, mark_r, ttr;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &inject);
    bool has_impact = ash_report_get_ms(run, "impact_ms", &impact);
    bool has_ttd = ash_report_get_ms(run, "ttd_ms", &ttd);
    bool has_mark_d = ash_report_first_event(run, "mark-detected", &mark_d, NULL);
    bool has_mark_r = ash_report_first_event(run, "mark-recovered", &mark_r, NULL);
    bool has_ttr = ash_report_get_ms(run, "ttr_ms", &ttr);
    /* The machine's own first detection, not a person's mark through a human detector. */
    const char *machine_by = NULL;
    double machine = ash_report_machine_detection(run, &machine_by);
    heading(s, 3, "Who saw it first, and the gaps");
    if (has_inject) {
        mark_d -= inject;
        mark_r -= inject;
        machine -= inject;
    }
    if (!isnan(machine) && has_mark_d) {
        bool people_first = mark_d < machine;
        snprintf(line, sizeof line, "First: %s, %s before %s.", people_first ? "the people" : machine_by,
                 ash_report_fmt_dur(a, sizeof a, fabs(machine - mark_d)), people_first ? machine_by : "the people");
    } else if (!isnan(machine)) {
        snprintf(line, sizeof line, "First: %s at %s; nobody marked detected.", machine_by,
                 ash_report_fmt_rel(a, sizeof a, true, machine));
    } else if (has_mark_d) {
        snprintf(line, sizeof line, "First: the people at %s; the monitoring never detected it.",
                 ash_report_fmt_rel(a, sizeof a, true, mark_d));
    } else {
        snprintf(line, sizeof line, "Nobody detected it: neither the monitoring nor the people.");
    }
    bullet(s, line);
    if (has_impact && (has_ttd || has_mark_d)) {
        double first = has_ttd ? ttd : mark_d;
        if (has_mark_d && mark_d < first)
            first = mark_d;
        snprintf(line, sizeof line, "Users were hurt from %s; the first to know knew %s later.",
                 ash_report_fmt_rel(a, sizeof a, true, impact), ash_report_fmt_dur(b2, sizeof b2, first - impact));
        bullet(s, line);
    } else if (has_impact) {
        snprintf(line, sizeof line, "Users were hurt from %s and nobody knew.",
                 ash_report_fmt_rel(a, sizeof a, true, impact));
        bullet(s, line);
    }
    if (has_mark_r && has_ttr) {
        double gap = mark_r - ttr;
        snprintf(line, sizeof line, "The people marked recovered %s %s the measured recovery%s.",
                 ash_report_fmt_dur(a, sizeof a, fabs(gap)), gap < 0 ? "before" : "after",
                 gap < 0 ? " (users were still hurt: a premature all-clear?)" : "");
        bullet(s, line);
    } else if (has_ttr && !has_mark_r) {
        bullet(s, "Nobody marked recovered: when did the team know it was over?");
    } else if (has_mark_r && !has_ttr) {
        bullet(s, "The people marked recovered, but the probes never saw a stable recovery.");
    }
    against_incident(s, report, "TTD", has_ttd, ttd, "scaled_ttd_ms");
    against_incident(s, report, "TTR", has_ttr, ttr, "scaled_ttr_ms");
    const char *error = ash_report_get_str(run, "error", NULL);
    if (error && *error) {
        snprintf(line, sizeof line, "The run ended %s: %s", ash_report_get_str(run, "verdict", "?"), error);
        bullet(s, line);
    }
    end_list(s);
}

static void notes(struct sink *s, const json_t *run)
{
    size_t i;
    const json_t *e;
    bool any = false;
    json_array_foreach(json_object_get(run, "timeline"), i, e)
    {
        double t;
        if (strcmp(ash_report_get_str(e, "event", ""), "mark-note") != 0 || !ash_report_get_ms(e, "t_ms", &t))
            continue;
        if (!any)
            heading(s, 3, "Notes taken on the call");
        any = true;
        char w[96], line[800];
        ash_report_when(w, sizeof w, run, t);
        snprintf(line, sizeof line, "%s: %s", w, ash_report_get_str(e, "detail", ""));
        bullet(s, line);
    }
    end_list(s);
}

static void what_when(struct sink *s, const json_t *run)
{
    size_t cap = json_array_size(json_object_get(run, "timeline")) + 2;
    struct point *pts = calloc(cap, sizeof *pts);
    if (!pts)
        return;
    size_t n = timeline_points(run, pts, cap);
    heading(s, 3, "What happened when");
    table_begin(s);
    const char *hdr[] = {"when (from the first fault)", "who", "what"};
    row(s, true, 3, hdr);
    for (size_t i = 0; i < n; i++) {
        char w[96];
        ash_report_when(w, sizeof w, run, pts[i].t);
        const char *cells[] = {w, pts[i].who, pts[i].what};
        row(s, false, 3, cells);
    }
    table_end(s);
    free(pts);
}

static void annotations(struct sink *s, const json_t *report)
{
    const json_t *g = json_object_get(json_object_get(report, "annotations"), "grafana");
    if (!json_is_object(g))
        return;
    char line[400];
    heading(s, 2, "Grafana annotations");
    snprintf(line, sizeof line, "%lld posted to %s, %lld not posted.",
             (long long)json_integer_value(json_object_get(g, "posted")), ash_report_get_str(g, "url", "?"),
             (long long)json_integer_value(json_object_get(g, "failed")));
    para(s, line);
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(g, "warnings"), i, w) bullet(s, json_string_value(w));
    end_list(s);
}

void ash_report_put_annotations(FILE *f, const json_t *report, bool html)
{
    struct sink s = {.f = f, .html = html};
    annotations(&s, report);
}

static void page(struct sink *s, const json_t *report)
{
    const char *scenario = ash_report_get_str(report, "scenario", "unnamed");
    const char *title = ash_report_get_str(report, "title", scenario);
    char line[900];
    snprintf(line, sizeof line, "Game day: %s", title);
    heading(s, 1, line);
    const json_t *inc = json_object_get(report, "incident");
    snprintf(line, sizeof line, "Scenario %s, started %s, verdict %s.%s%s%s", scenario,
             ash_report_get_str(report, "started_at", "-"), ash_report_get_str(report, "verdict", "?"),
             json_is_object(inc) ? " Replays " : "",
             json_is_object(inc) ? ash_report_get_str(inc, "title", ash_report_get_str(inc, "source", "the incident"))
                                 : "",
             json_is_object(inc) ? "." : "");
    para(s, line);
    para(s, "Times are counted from the first fault in effect. The people's marks come from 'aftershock mark' and the "
            "live view's keys; the machine's figures from the probes and detectors; the incident's from the "
            "postmortem, scaled to replay time. report.html has the full timeline and every figure.");
    size_t i;
    const json_t *run;
    json_array_foreach(json_object_get(report, "runs"), i, run)
    {
        snprintf(line, sizeof line, "Run %lld (%s): %s", (long long)json_integer_value(json_object_get(run, "index")),
                 ash_report_get_str(run, "run_id", "?"), ash_report_get_str(run, "verdict", "?"));
        heading(s, 2, line);
        figures(s, report, run);
        gaps(s, report, run);
        notes(s, run);
        what_when(s, run);
    }
    annotations(s, report);
    end_list(s);
}

int ash_report_write_gameday_md(const json_t *report, const char *path, ash_error_t *err)
{
    struct ash_report_out o;
    if (ash_report_out_open(&o, path, err) < 0)
        return -1;
    struct sink s = {.f = o.f};
    page(&s, report);
    return ash_report_out_commit(&o, err);
}

int ash_report_write_gameday_html(const json_t *report, const char *path, ash_error_t *err)
{
    struct ash_report_out o;
    if (ash_report_out_open(&o, path, err) < 0)
        return -1;
    struct sink s = {.f = o.f, .html = true};
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\" xml:lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
          "<title>",
          o.f);
    ash_report_put_xml(o.f, ash_report_get_str(report, "scenario", "unnamed"));
    fputs(": game day (aftershock)</title>\n<style>", o.f);
    fputs(ash_report_html_css, o.f);
    fputs("</style>\n</head>\n<body>\n<main>\n", o.f);
    page(&s, report);
    fputs("<footer>aftershock " ASH_VERSION ": game-day summary; the full report is report.html</footer>\n"
          "</main>\n</body>\n</html>\n",
          o.f);
    return ash_report_out_commit(&o, err);
}
