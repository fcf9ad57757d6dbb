/* reports/index.html: every run directory holding a report.json, newest first, linked to its report.html,
 * and the variants against their as-it-was replays (also written as reports/comparison.md). */
#include "report/report.h"
#include "sys/fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct entry {
    char *dir;
    json_t *report; /* NULL when report.json could not be read */
    char *error;
    const char *started_at;
};

static int newest_first(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    /* ISO 8601 UTC stamps sort as strings; the directory name breaks ties
     * (and orders unreadable reports, whose stamp is unknown). */
    int c = strcmp(y->started_at, x->started_at);
    return c ? c : strcmp(y->dir, x->dir);
}

static void figure(FILE *f, const json_t *report, const char *key)
{
    const json_t *runs = json_object_get(report, "runs");
    char buf[64];
    double v;
    bool ok;
    size_t n = json_array_size(runs);
    /* Repeat runs show their median, single runs their own figure. */
    if (n > 1) {
        json_t *sum = ash_report_summary_of(report);
        ok = ash_report_get_ms(json_object_get(sum, key), "median", &v);
        json_decref(sum);
    } else
        ok = ash_report_get_ms(json_array_get(runs, 0), key, &v);
    if (!ok) {
        fprintf(f, "<td class=\"n unknown\">%s</td>", n ? ash_report_absent_text(key) : "-");
        return;
    }
    fprintf(f, "<td class=\"n\">%s", ash_report_fmt_dur(buf, sizeof buf, v));
    if (n > 1)
        fprintf(f, " (median of %zu)", n);
    fputs("</td>", f);
}

/* The incident's own figure scaled to replay time, its basis visible. */
static void incident_figure(FILE *f, const json_t *report, const char *which)
{
    char buf[160];
    if (!json_is_object(json_object_get(report, "incident"))) {
        fputs("<td>-</td>", f);
        return;
    }
    enum ash_report_basis b = ash_report_incident_basis(report, which);
    fprintf(f, "<td class=\"%s\">", b == ASH_BASIS_STATED ? "n" : b == ASH_BASIS_ASSUMED ? "n assumed" : "n unknown");
    ash_report_put_xml(f, ash_report_fmt_incident(buf, sizeof buf, report, which));
    fputs("</td>", f);
}

static void row(FILE *f, const struct entry *e)
{
    fputs("<tr><td><a href=\"", f);
    ash_report_put_url_segment(f, e->dir);
    fputs("/report.html\">", f);
    ash_report_put_xml(f, e->dir);
    fputs("</a></td>", f);
    if (!e->report) {
        fputs("<td colspan=\"8\" class=\"bad\">unreadable: ", f);
        ash_report_put_xml(f, e->error);
        fputs("</td></tr>\n", f);
        return;
    }
    const char *verdict = ash_report_get_str(e->report, "verdict", "unknown");
    const json_t *inc = json_object_get(e->report, "incident");
    fputs("<td>", f);
    ash_report_put_xml(f, ash_report_get_str(e->report, "scenario", "unnamed"));
    const char *ititle = ash_report_get_str(inc, "title", NULL);
    if (ititle || ash_report_get_str(inc, "source", NULL)) {
        fputs("<br/><span class=\"dir\">incident: ", f);
        ash_report_put_xml(f, ititle ? ititle : ash_report_get_str(inc, "source", ""));
        fputs("</span>", f);
    }
    fputs("</td><td>", f);
    ash_report_put_xml(f, e->started_at);
    fprintf(f, "</td><td class=\"v-%s\">", strcmp(verdict, "pass") == 0 ? "pass" : "other");
    ash_report_put_xml(f, verdict);
    fprintf(f, "</td><td class=\"n\">%zu</td>", json_array_size(json_object_get(e->report, "runs")));
    figure(f, e->report, "ttd_ms");
    incident_figure(f, e->report, "ttd");
    figure(f, e->report, "ttr_ms");
    incident_figure(f, e->report, "ttr");
    fputs("</tr>\n", f);
}

/* One line of a summary card: "TTD 3.01 s · incident 12 min → 12.0 s at 60x · limit 15.0 s met". */
static void card_line(FILE *f, const json_t *report, const char *which, const char *label, const char *limit_name)
{
    char key[32], buf[160];
    snprintf(key, sizeof key, "%s_ms", which);
    const json_t *runs = json_object_get(report, "runs");
    size_t n = json_array_size(runs);
    double v;
    bool ok;
    if (n > 1) {
        json_t *sum = ash_report_summary_of(report);
        ok = ash_report_get_ms(json_object_get(sum, key), "median", &v);
        json_decref(sum);
    } else
        ok = ash_report_get_ms(json_array_get(runs, 0), key, &v);
    fprintf(f, "<p>%s <b>", label);
    ash_report_put_xml(f, ok ? ash_report_fmt_dur(buf, sizeof buf, v) : ash_report_absent_text(which));
    fputs("</b>", f);
    if (ok && n > 1)
        fprintf(f, " (median of %zu)", n);
    if (json_is_object(json_object_get(report, "incident"))) {
        enum ash_report_basis b = ash_report_incident_basis(report, which);
        fprintf(f, " \u00b7 incident <span class=\"%s\">",
                b == ASH_BASIS_STATED    ? "stated"
                : b == ASH_BASIS_ASSUMED ? "assumed"
                                         : "unknown");
        ash_report_put_xml(f, ash_report_fmt_incident(buf, sizeof buf, report, which));
        fputs("</span>", f);
    }
    struct ash_report_limit l = ash_report_limit_of(report, limit_name);
    if (l.runs) {
        bool miss = l.met < l.runs;
        fputs(" \u00b7 limit ", f);
        ash_report_put_xml(f, l.has_limit ? ash_report_fmt_dur(buf, sizeof buf, l.limit_ms) : "-");
        if (l.runs > 1)
            fprintf(f, " <span class=\"%s\">met in %zu of %zu</span>", miss ? "bad" : "v-pass", l.met, l.runs);
        else
            fprintf(f, " <span class=\"%s\">%s</span>", miss ? "bad" : "v-pass", miss ? "MISSED" : "met");
    }
    fputs("</p>", f);
}

/* Above the fold, one card per report: verdict, title, TTD and TTR against the incident and the limits. */
static void cards(FILE *f, const struct entry *v, size_t n)
{
    fputs("<div class=\"cards\">\n", f);
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = &v[i];
        if (!e->report)
            continue;
        const char *verdict = ash_report_get_str(e->report, "verdict", "unknown");
        bool pass = strcmp(verdict, "pass") == 0;
        fprintf(f, "<div class=\"rc %s\"><a href=\"", pass ? "rc-pass" : "rc-other");
        ash_report_put_url_segment(f, e->dir);
        fprintf(f, "/report.html\"><span class=\"%s\">", pass ? "v-pass" : "v-other");
        for (const char *p = verdict; *p; p++)
            fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, f);
        fputs("</span> ", f);
        ash_report_put_xml(f, ash_report_get_str(e->report, "title", ash_report_get_str(e->report, "scenario", "")));
        fputs("</a><br/><span class=\"dir\">", f);
        ash_report_put_xml(f, ash_report_get_str(e->report, "scenario", "unnamed"));
        const json_t *inc = json_object_get(e->report, "incident");
        const char *it = ash_report_get_str(inc, "title", ash_report_get_str(inc, "source", NULL));
        if (it) {
            fputs(" \u00b7 incident: ", f);
            ash_report_put_xml(f, it);
        }
        fputs("</span>", f);
        if (json_array_size(json_object_get(e->report, "runs"))) {
            card_line(f, e->report, "ttd", "TTD", "detect_within");
            card_line(f, e->report, "ttr", "TTR", "recover_within");
        } else {
            fputs("<p class=\"bad\">no run completed: ", f);
            ash_report_put_xml(f, ash_report_get_str(e->report, "error", "-"));
            fputs("</p>", f);
        }
        fputs("</div>\n", f);
    }
    fputs("</div>\n", f);
}

static void run_link(FILE *f, const struct entry *e)
{
    fputs("<a href=\"", f);
    ash_report_put_url_segment(f, e->dir);
    fputs("/report.html\">", f);
    ash_report_put_xml(f, ash_report_get_str(e->report, "scenario", "unnamed"));
    fputs("</a><br/><span class=\"dir\">", f);
    ash_report_put_xml(f, e->dir);
    fputs("</span>", f);
}

/* "Would the action items have helped?": per incident, each variant against
 * its as-it-was replay, from the stored reports alone. Nothing without a pair. */
static int comparison(FILE *f, const struct entry *v, const json_t *const *reports, const size_t *of, size_t nr)
{
    struct ash_report_pair *pairs;
    long np = ash_report_variant_pairs(reports, nr, &pairs);
    if (np <= 0)
        return (int)np;
    fputs("<h2 id=\"variants\">Would the action items have helped?</h2>\n"
          "<p>A variant replays the incident with the postmortem's action items (new monitoring, earlier alerts) in "
          "place (a variant named \"suggested\" replays an idea that is not in the postmortem); the as-it-was replay "
          "is the scenario whose name the variant's extends. Figures are in replay time "
          "(the median where a report has several runs); the difference says how much sooner or later the variant "
          "got there, and what that stands for in the incident's own time. Each variant's newest run is compared "
          "with the as-it-was run started closest to it.</p>\n",
          f);
    for (long p = 0; p < np; p++) {
        const char *src = ash_report_source_of(reports[pairs[p].variant]);
        bool first = true;
        for (long q = 0; q < p && first; q++)
            first = strcmp(ash_report_source_of(reports[pairs[q].variant]), src) != 0;
        if (!first)
            continue;
        const json_t *base0 = reports[pairs[p].base];
        char ttd[160], ttr[160];
        const char *ititle = ash_report_get_str(json_object_get(base0, "incident"), "title", NULL);
        fputs("<h3>Incident ", f);
        if (ititle) {
            ash_report_put_xml(f, ititle);
            fputs(" (", f);
        }
        fputs("<code>", f);
        ash_report_put_xml(f, src);
        fputs(ititle ? "</code>)</h3>\n" : "</code></h3>\n", f);
        ash_report_fmt_incident(ttd, sizeof ttd, base0, "ttd");
        ash_report_fmt_incident(ttr, sizeof ttr, base0, "ttr");
        if (strcmp(ttd, "-") != 0 || strcmp(ttr, "-") != 0) {
            fputs("<p>The incident itself: TTD ", f);
            ash_report_put_xml(f, ttd);
            fputs(", TTR ", f);
            ash_report_put_xml(f, ttr);
            fputs(" (the postmortem's figures, scaled to replay time).</p>\n", f);
        }
        fputs("<div class=\"tw\"><table class=\"variants\"><tr><th>variant</th><th>as it was</th><th>TTD as it was "
              "\u2192 variant</th>"
              "<th>TTD difference</th><th>TTR as it was \u2192 variant</th><th>TTR difference</th></tr>\n",
              f);
        for (long q = p; q < np; q++) {
            if (strcmp(ash_report_source_of(reports[pairs[q].variant]), src) != 0)
                continue;
            char buf[200];
            struct ash_report_delta d;
            fputs("<tr><td>", f);
            run_link(f, &v[of[pairs[q].variant]]);
            fputs("</td><td>", f);
            run_link(f, &v[of[pairs[q].base]]);
            fputs("</td>", f);
            static const char *const figs[] = {"ttd_ms", "ttr_ms"};
            for (size_t k = 0; k < 2; k++) {
                ash_report_delta_of(&d, reports[pairs[q].variant], reports[pairs[q].base], figs[k]);
                fputs("<td class=\"n\">", f);
                ash_report_put_xml(f, ash_report_fmt_pair(buf, sizeof buf, &d));
                bool same = ash_report_delta_same(&d);
                bool better = !same && d.has_variant && (!d.has_base || d.variant_ms < d.base_ms);
                bool worse = !same && d.has_base && (!d.has_variant || d.variant_ms > d.base_ms);
                fprintf(f, "</td><td class=\"%s\">", better ? "sooner" : worse ? "later" : "same");
                ash_report_put_xml(f, ash_report_fmt_delta(buf, sizeof buf, &d));
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table></div>\n", f);
    }
    fputs("<p>The same comparison, to paste into a ticket: <a href=\"comparison.md\">comparison.md</a>.</p>\n", f);
    free(pairs);
    return 1;
}

static void free_entries(struct entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].dir);
        free(v[i].error);
        json_decref(v[i].report);
    }
    free(v);
}

/* The index reads no sample: drop each run's probe series from a loaded
 * report, so that listing a folder of long runs holds one run's series at a
 * time, not all of them (issue 19). */
static void drop_series(json_t *report)
{
    size_t i, j;
    json_t *run, *probe;
    json_array_foreach(json_object_get(report, "runs"), i, run)
        json_array_foreach(json_object_get(run, "probes"), j, probe) json_object_del(probe, "series");
}

int ash_report_write_index(const char *reports_dir, ash_error_t *err)
{
    return ash_report_write_index_with(reports_dir, NULL, NULL, err);
}

int ash_report_write_index_with(const char *reports_dir, const char *known_name, json_t *known, ash_error_t *err)
{
    DIR *d = opendir(reports_dir);
    if (!d)
        return ash_error(err, errno, "cannot list reports in %s", reports_dir);
    struct entry *v = NULL;
    size_t n = 0, cap = 0;
    int ret = -1;
    char *path = NULL;
    const json_t **reports = NULL;
    const char **dirs = NULL;
    size_t *of = NULL, nr = 0;
    struct ash_report_out o = {0};
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (asprintf(&path, "%s/%s/report.json", reports_dir, de->d_name) < 0) {
            path = NULL;
            ash_error(err, ENOMEM, "cannot list reports in %s", reports_dir);
            goto cleanup;
        }
        struct stat st;
        /* Only run directories count; anything else in reports/ is not ours to list. */
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(path);
            path = NULL;
            continue;
        }
        if (ash_grow(&v, &cap, n + 1, sizeof *v, 16) < 0) {
            ash_error(err, ENOMEM, "cannot list reports in %s", reports_dir);
            goto cleanup;
        }
        struct entry *e = &v[n++];
        memset(e, 0, sizeof *e);
        e->dir = strdup(de->d_name);
        ash_error_t lerr = {0};
        if (known && known_name && strcmp(de->d_name, known_name) == 0) {
            /* The run just written: its report is in memory, read it there
             * instead of loading a second copy at the process's peak. */
            e->report = json_incref(known);
        } else if (ash_report_load(path, &e->report, &lerr) < 0) {
            e->report = NULL;
            e->error = strdup(lerr.msg);
        } else {
            drop_series(e->report);
        }
        if (!e->dir || (!e->report && !e->error)) {
            ash_error(err, ENOMEM, "cannot list reports in %s", reports_dir);
            goto cleanup;
        }
        e->started_at = ash_report_get_str(e->report, "started_at", "");
        free(path);
        path = NULL;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, newest_first);
    /* The readable reports, newest first, for the comparison (of: back to v). */
    reports = malloc((n ? n : 1) * sizeof *reports);
    dirs = malloc((n ? n : 1) * sizeof *dirs);
    of = malloc((n ? n : 1) * sizeof *of);
    if (!reports || !dirs || !of) {
        ash_error(err, ENOMEM, "cannot list reports in %s", reports_dir);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if (!v[i].report)
            continue;
        reports[nr] = v[i].report;
        dirs[nr] = v[i].dir;
        of[nr++] = i;
    }
    if (ash_report_write_comparison_md(reports_dir, reports, dirs, nr, err) < 0)
        goto cleanup;

    if (asprintf(&path, "%s/index.html", reports_dir) < 0) {
        path = NULL;
        ash_error(err, ENOMEM, "cannot write the index of %s", reports_dir);
        goto cleanup;
    }
    if (ash_report_out_open(&o, path, err) < 0)
        goto cleanup;
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\" xml:lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
          "<title>aftershock reports</title>\n<style>"
          "body{font:15px/1.45 system-ui,sans-serif;margin:16px;color:#1d1d1f}"
          "table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;"
          "vertical-align:top}.tw{overflow-x:auto;max-width:100%}"
          "th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}"
          ".v-pass{color:#1b5e20;font-weight:bold}.v-other,.bad{color:#b71c1c;font-weight:bold}"
          "h2{margin-top:28px}table.variants td{vertical-align:top}.dir{color:#57606a;font-size:13px}"
          "td.sooner{color:#1b5e20}td.later{color:#b71c1c}.assumed{font-style:italic;color:#7a4a00}"
          ".unknown{font-style:italic;color:#555}"
          ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:10px;margin:12px 0}"
          ".rc{border:1px solid #d0d7de;border-left:6px solid #b71c1c;border-radius:4px;padding:8px 12px;"
          "min-width:0;overflow-wrap:anywhere}.rc.rc-pass{border-left-color:#2e7d32}.rc p{margin:4px 0}"
          ".rc a{font-weight:bold;color:#1d1d1f;text-decoration:none}.rc a:hover{text-decoration:underline}"
          "@media (max-width:400px){.cards{grid-template-columns:1fr}}"
          "</style>\n</head>\n<body>\n<h1>aftershock reports</h1>\n",
          o.f);
    cards(o.f, v, n);
    int shown = comparison(o.f, v, reports, of, nr);
    if (shown < 0) {
        ash_error(err, ENOMEM, "cannot write the index of %s", reports_dir);
        goto cleanup;
    }
    if (shown)
        fputs("<h2 id=\"runs\">Runs</h2>\n", o.f);
    fprintf(o.f,
            "<p>%zu report%s, newest first. TTD and TTR count from t_inject; the incident's own figures are scaled "
            "to replay time (<span class=\"assumed\">italics</span>: resting on a time the scenario assumed).</p>\n",
            n, n == 1 ? "" : "s");
    fputs("<div class=\"tw\"><table><tr><th>run directory</th><th>scenario</th><th>started (UTC)</th><th>verdict</th>"
          "<th>runs</th><th>TTD</th><th>incident TTD</th><th>TTR</th><th>incident TTR</th></tr>\n",
          o.f);
    for (size_t i = 0; i < n; i++)
        row(o.f, &v[i]);
    fputs("</table></div>\n</body>\n</html>\n", o.f);
    ret = ash_report_out_commit(&o, err);

cleanup:
    if (o.f)
        ash_report_out_discard(&o);
    closedir(d);
    free(path);
    free(reports);
    free(dirs);
    free(of);
    free_entries(v, n);
    return ret;
}
