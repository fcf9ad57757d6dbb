/* reports/index.html: every run directory holding a report.json, newest first, linked to its report.html. */
#include "report/report.h"

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

/* A directory name as a relative URL path segment. */
static void put_href_segment(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

static void figure(FILE *f, const json_t *report, const char *key)
{
    const json_t *runs = json_object_get(report, "runs");
    char buf[48];
    double v;
    bool ok;
    /* Repeat runs show their median, single runs their own figure. */
    if (json_array_size(runs) > 1) {
        json_t *sum = ash_report_summary_of(report);
        ok = ash_report_get_ms(json_object_get(sum, key), "median", &v);
        json_decref(sum);
    } else
        ok = ash_report_get_ms(json_array_get(runs, 0), key, &v);
    fprintf(f, "<td class=\"n\">%s%s</td>", ash_report_fmt_ms_value(buf, sizeof buf, ok, v),
            ok && json_array_size(runs) > 1 ? " (median)" : "");
}

static void row(FILE *f, const struct entry *e)
{
    fputs("<tr><td><a href=\"", f);
    put_href_segment(f, e->dir);
    fputs("/report.html\">", f);
    ash_report_put_xml(f, e->dir);
    fputs("</a></td>", f);
    if (!e->report) {
        fputs("<td colspan=\"6\" class=\"bad\">unreadable: ", f);
        ash_report_put_xml(f, e->error);
        fputs("</td></tr>\n", f);
        return;
    }
    const char *verdict = ash_report_get_str(e->report, "verdict", "unknown");
    fputs("<td>", f);
    ash_report_put_xml(f, ash_report_get_str(e->report, "scenario", "unnamed"));
    fputs("</td><td>", f);
    ash_report_put_xml(f, e->started_at);
    fprintf(f, "</td><td class=\"v-%s\">", strcmp(verdict, "pass") == 0 ? "pass" : "other");
    ash_report_put_xml(f, verdict);
    fprintf(f, "</td><td class=\"n\">%zu</td>", json_array_size(json_object_get(e->report, "runs")));
    figure(f, e->report, "ttd_ms");
    figure(f, e->report, "ttr_ms");
    fputs("</tr>\n", f);
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

int ash_report_write_index(const char *reports_dir, ash_error_t *err)
{
    DIR *d = opendir(reports_dir);
    if (!d)
        return ash_error(err, errno, "cannot list reports in %s", reports_dir);
    struct entry *v = NULL;
    size_t n = 0, cap = 0;
    int ret = -1;
    char *path = NULL;
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
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct entry *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                ash_error(err, ENOMEM, "cannot list reports in %s", reports_dir);
                goto cleanup;
            }
            v = nv;
            cap = ncap;
        }
        struct entry *e = &v[n++];
        memset(e, 0, sizeof *e);
        e->dir = strdup(de->d_name);
        ash_error_t lerr = {0};
        if (ash_report_load(path, &e->report, &lerr) < 0) {
            e->report = NULL;
            e->error = strdup(lerr.msg);
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

    if (asprintf(&path, "%s/index.html", reports_dir) < 0) {
        path = NULL;
        ash_error(err, ENOMEM, "cannot write the index of %s", reports_dir);
        goto cleanup;
    }
    if (ash_report_out_open(&o, err) < 0)
        goto cleanup;
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\" xml:lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\"/>\n<title>aftershock reports</title>\n<style>"
          "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f}"
          "table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left}"
          "th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}"
          ".v-pass{color:#2e7d32;font-weight:bold}.v-other,.bad{color:#c62828;font-weight:bold}"
          "</style>\n</head>\n<body>\n<h1>aftershock reports</h1>\n",
          o.f);
    fprintf(o.f, "<p>%zu run%s, newest first. Times in ms from t_inject.</p>\n", n, n == 1 ? "" : "s");
    fputs("<table><tr><th>run directory</th><th>scenario</th><th>started (UTC)</th><th>verdict</th><th>runs</th>"
          "<th>TTD ms</th><th>TTR ms</th></tr>\n",
          o.f);
    for (size_t i = 0; i < n; i++)
        row(o.f, &v[i]);
    fputs("</table>\n</body>\n</html>\n", o.f);
    ret = ash_report_out_commit(&o, path, err);

cleanup:
    if (o.f)
        ash_report_out_discard(&o);
    closedir(d);
    free(path);
    free_entries(v, n);
    return ret;
}
