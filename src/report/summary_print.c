/* The terminal table printed after a run: figures per scenario, next to the incident's own, scaled. */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

enum { COL_SCENARIO, COL_VERDICT, COL_TTD, COL_TTR, COL_IMPACT, COL_INC_TTD, COL_INC_TTR, COL_RES, NCOLS };

static const char *const headers[NCOLS] = {"scenario", "verdict",      "TTD",          "TTR",
                                           "impact",   "incident TTD", "incident TTR", "resolution"};
static const bool numeric[NCOLS] = {false, false, true, true, true, false, false, true};

#define CELL 128
struct row {
    char c[NCOLS][CELL];
    const char *verdict; /* for colour */
};

/* Terminal columns taken by a UTF-8 string (the arrow is one column, three bytes). */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static const char *colour(const char *verdict)
{
    if (strcmp(verdict, "pass") == 0)
        return "\x1b[32m";
    if (strcmp(verdict, "fail") == 0)
        return "\x1b[31m";
    if (strcmp(verdict, "aborted") == 0)
        return "\x1b[33m";
    return "\x1b[35m";
}

static void fill_figures(struct row *r, const json_t *src, const char *subkey)
{
    static const struct {
        int col;
        const char *key;
    } figs[] = {{COL_TTD, "ttd_ms"}, {COL_TTR, "ttr_ms"}, {COL_IMPACT, "impact_ms"}};
    for (size_t k = 0; k < 3; k++) {
        const json_t *obj = subkey ? json_object_get(src, figs[k].key) : src;
        ash_report_fmt_dur_or(r->c[figs[k].col], CELL, obj, subkey ? subkey : figs[k].key,
                              ash_report_absent_text(figs[k].key));
    }
}

static void print_row(FILE *out, const struct row *r, const size_t *w, bool color)
{
    for (int c = 0; c < NCOLS; c++) {
        size_t pad = w[c] - width(r->c[c]);
        bool coloured = color && c == COL_VERDICT && r->verdict;
        if (c)
            fputs("  ", out);
        if (numeric[c])
            fprintf(out, "%*s", (int)pad, "");
        if (coloured)
            fputs(colour(r->verdict), out);
        fputs(r->c[c], out);
        if (coloured)
            fputs("\x1b[0m", out);
        if (!numeric[c] && c != NCOLS - 1)
            fprintf(out, "%*s", (int)pad, "");
    }
    fputs("\n", out);
}

static size_t count_rows(const json_t *const *reports, size_t n)
{
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        size_t runs = json_array_size(json_object_get(reports[i], "runs"));
        rows += runs > 1 ? runs + 1 : 1;
    }
    return rows;
}

void ash_report_print_summary(FILE *out, const json_t *const *reports, size_t n, bool color)
{
    size_t nrows = count_rows(reports, n) + 1;
    struct row *rows = calloc(nrows, sizeof *rows);
    if (!rows) {
        fputs("aftershock: out of memory printing the summary; see the reports\n", out);
        return;
    }
    for (int c = 0; c < NCOLS; c++)
        snprintf(rows[0].c[c], CELL, "%s", headers[c]);
    size_t k = 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *rep = reports[i];
        const json_t *runs = json_object_get(rep, "runs");
        size_t nruns = json_array_size(runs);
        struct row *r = &rows[k++];
        const char *scenario = ash_report_get_str(rep, "scenario", "unnamed");
        r->verdict = ash_report_get_str(rep, "verdict", "unknown");
        snprintf(r->c[COL_VERDICT], CELL, "%s", r->verdict);
        ash_report_fmt_incident(r->c[COL_INC_TTD], CELL, rep, "ttd");
        ash_report_fmt_incident(r->c[COL_INC_TTR], CELL, rep, "ttr");
        if (nruns <= 1) {
            const json_t *run = json_array_get(runs, 0);
            snprintf(r->c[COL_SCENARIO], CELL, "%s", scenario);
            if (run)
                fill_figures(r, run, NULL);
            else
                for (int c = COL_TTD; c <= COL_IMPACT; c++)
                    snprintf(r->c[c], CELL, "-");
            ash_report_fmt_dur_or(r->c[COL_RES], CELL, run, "resolution_ms", "-");
            continue;
        }
        /* Repeat runs: the median first, then every run indented under it. */
        snprintf(r->c[COL_SCENARIO], CELL, "%s (median of %zu)", scenario, nruns);
        json_t *sum = ash_report_summary_of(rep);
        fill_figures(r, sum, "median");
        json_decref(sum);
        double worst = 0, v;
        bool any = false;
        for (size_t j = 0; j < nruns; j++) {
            const json_t *run = json_array_get(runs, j);
            if (ash_report_get_ms(run, "resolution_ms", &v) && (!any || v > worst)) {
                worst = v;
                any = true;
            }
            struct row *rr = &rows[k++];
            rr->verdict = ash_report_get_str(run, "verdict", "unknown");
            snprintf(rr->c[COL_SCENARIO], CELL, "  run %zu", j + 1);
            snprintf(rr->c[COL_VERDICT], CELL, "%s", rr->verdict);
            fill_figures(rr, run, NULL);
            ash_report_fmt_dur_or(rr->c[COL_RES], CELL, run, "resolution_ms", "-");
            snprintf(rr->c[COL_INC_TTD], CELL, "%s", "");
            snprintf(rr->c[COL_INC_TTR], CELL, "%s", "");
        }
        if (any)
            ash_report_fmt_dur(r->c[COL_RES], CELL, worst);
        else
            snprintf(r->c[COL_RES], CELL, "-");
    }

    /* Cells come from report.json (re-rendered ones too): escaped before
     * their widths are taken, so the table stays aligned and inert. */
    for (size_t i = 0; i < k; i++)
        for (int c = 0; c < NCOLS; c++) {
            char esc[CELL];
            ash_text_escape(esc, sizeof esc, rows[i].c[c], 0);
            memcpy(rows[i].c[c], esc, sizeof esc);
        }
    size_t w[NCOLS] = {0};
    for (size_t i = 0; i < k; i++)
        for (int c = 0; c < NCOLS; c++)
            if (width(rows[i].c[c]) > w[c])
                w[c] = width(rows[i].c[c]);
    for (size_t i = 0; i < k; i++)
        print_row(out, &rows[i], w, color);
    free(rows);
    /* The floor the monitoring config implies, when the scenario states it,
     * beside what the alert took: fired (startsAt) and notified (TTD). */
    for (size_t i = 0; i < n; i++) {
        const json_t *runs = json_object_get(reports[i], "runs");
        for (size_t j = 0; j < json_array_size(runs); j++) {
            const json_t *run = json_array_get(runs, j), *fl = json_object_get(run, "detection_floor");
            if (!json_is_object(fl))
                continue;
            char v[48], ttd[48], fired[48], name[CELL], terms[CELL];
            ash_report_fmt_dur_or(v, sizeof v, fl, "ms", "unknown");
            ash_report_fmt_dur_or(ttd, sizeof ttd, run, "ttd_ms", "not detected");
            ash_report_fmt_dur_or(fired, sizeof fired, run, "ttd_fired_ms", "unknown");
            ash_text_escape(name, sizeof name, ash_report_get_str(reports[i], "scenario", "unnamed"), 0);
            ash_text_escape(terms, sizeof terms, ash_report_get_str(fl, "terms", "?"), 0);
            fprintf(out, "%s run %zu: detection floor %s (%s); TTD %s notified, fired at %s\n", name, j + 1, v, terms,
                    ttd, fired);
        }
    }
    /* A run a guardrail stopped: which, what it saw, and how fast everything was reverted. */
    for (size_t i = 0; i < n; i++) {
        const json_t *runs = json_object_get(reports[i], "runs");
        for (size_t j = 0; j < json_array_size(runs); j++) {
            const json_t *g = json_object_get(json_array_get(runs, j), "guardrail");
            if (!json_is_object(g))
                continue;
            double lat;
            char l[32] = "unknown";
            if (ash_report_get_ms(g, "stop_latency_ms", &lat))
                snprintf(l, sizeof l, "%.3f ms", lat);
            ash_text_fprintf(out, ASH_TEXT_KEEP_NEWLINE,
                             "%s run %zu: aborted by guardrail '%s' (%s): %s; every fault reverted %s after\n",
                             ash_report_get_str(reports[i], "scenario", "unnamed"), j + 1,
                             ash_report_get_str(g, "name", "?"), ash_report_get_str(g, "condition", "?"),
                             ash_report_get_str(g, "observed", ""), l);
        }
    }
    /* Marks people put on the timeline (`aftershock mark`), against the first fault. */
    for (size_t i = 0; i < n; i++) {
        const json_t *runs = json_object_get(reports[i], "runs");
        for (size_t j = 0; j < json_array_size(runs); j++) {
            const json_t *run = json_array_get(runs, j);
            double inject = 0, t;
            bool has_inject = ash_report_get_ms(run, "t_inject_ms", &inject);
            size_t e;
            json_t *ev;
            json_array_foreach(json_object_get(run, "timeline"), e, ev)
            {
                const char *name = ash_report_get_str(ev, "event", "");
                if (strncmp(name, "mark-", 5) != 0 || !ash_report_get_ms(ev, "t_ms", &t))
                    continue;
                char when[64];
                if (has_inject)
                    snprintf(when, sizeof when, "%+.3f s from the first fault", (t - inject) / 1000.0);
                else
                    snprintf(when, sizeof when, "at %.3f s of the run", t / 1000.0);
                ash_text_fprintf(out, ASH_TEXT_KEEP_NEWLINE, "%s run %zu: %s %s: %s\n",
                                 ash_report_get_str(reports[i], "scenario", "unnamed"), j + 1, name + 5, when,
                                 ash_report_get_str(ev, "detail", ""));
            }
        }
    }
}
