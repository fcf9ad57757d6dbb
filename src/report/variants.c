/* "Would the action items have detected it sooner, and by how much?": for
 * reports of the same incident (same incident.source), each variant's median
 * TTD and TTR next to the as-it-was replay's. The as-it-was replay is the one
 * whose scenario name the others extend (telephony-table-lock vs
 * telephony-table-lock-early-alert). The pairing and the difference text live
 * here; the terminal, reports/index.html and reports/comparison.md print them. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool ash_report_median(const json_t *report, const char *figure, double *out)
{
    json_t *sum = ash_report_summary_of(report);
    bool ok = ash_report_get_ms(json_object_get(sum, figure), "median", out);
    json_decref(sum);
    return ok;
}

const char *ash_report_source_of(const json_t *report)
{
    return ash_report_get_str(json_object_get(report, "incident"), "source", NULL);
}

/* started_at as seconds since the epoch; false when missing or not ISO 8601 UTC. */
static bool started(const json_t *report, double *out)
{
    const char *s = ash_report_get_str(report, "started_at", NULL);
    struct tm tm = {0};
    double frac = 0;
    int consumed = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec, &consumed) != 6)
        return false;
    if (s[consumed] == '.')
        frac = strtod(s + consumed, NULL);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (double)t + frac;
    return true;
}

long ash_report_base_of(const json_t *const *reports, size_t n, size_t i)
{
    const char *src = ash_report_source_of(reports[i]), *name = ash_report_get_str(reports[i], "scenario", "");
    if (!src)
        return -1;
    double t = 0, best_gap = INFINITY;
    bool has_t = started(reports[i], &t);
    long base = -1;
    size_t best = 0;
    for (size_t j = 0; j < n; j++) {
        const char *bs = ash_report_source_of(reports[j]), *bn = ash_report_get_str(reports[j], "scenario", "");
        size_t len = strlen(bn);
        if (j == i || !bs || strcmp(bs, src) != 0 || len == 0 || len >= strlen(name) || strncmp(name, bn, len) != 0 ||
            name[len] != '-' || len < best)
            continue;
        /* Several runs of the same as-it-was scenario (a reports folder keeps
         * history): the one started closest to the variant was replayed with
         * it; without stamps the first one listed stays. */
        double tj = 0, gap = INFINITY;
        if (has_t && started(reports[j], &tj))
            gap = fabs(tj - t);
        if (len == best && !(gap < best_gap))
            continue;
        base = (long)j;
        best = len;
        best_gap = gap;
    }
    return base;
}

void ash_report_delta_of(struct ash_report_delta *d, const json_t *variant, const json_t *base, const char *figure)
{
    memset(d, 0, sizeof *d);
    d->has_variant = ash_report_median(variant, figure, &d->variant_ms);
    d->has_base = ash_report_median(base, figure, &d->base_ms);
    double scale = 0;
    const json_t *inc = json_object_get(variant, "incident");
    d->timescale = ash_report_get_ms(inc, "timescale", &scale) && scale > 0 ? scale : json_is_object(inc) ? 1 : 0;
    /* The coarser resolution of the two (each report's worst run). */
    const json_t *reps[] = {variant, base};
    for (size_t k = 0; k < 2; k++) {
        size_t i;
        const json_t *run;
        double r;
        json_array_foreach(json_object_get(reps[k], "runs"), i, run) if (ash_report_get_ms(run, "resolution_ms", &r) &&
                                                                         r > d->resolution_ms) d->resolution_ms = r;
    }
}

bool ash_report_delta_same(const struct ash_report_delta *d)
{
    if (!d->has_variant || !d->has_base)
        return d->has_variant == d->has_base;
    /* Below what either report can resolve, or below what the reader sees
     * (half a unit of the shown precision), two figures are the same. */
    double mag = fabs(d->base_ms - d->variant_ms);
    char a[48], b[48];
    return mag < d->resolution_ms ||
           strcmp(ash_report_fmt_dur(a, sizeof a, d->base_ms), ash_report_fmt_dur(b, sizeof b, d->variant_ms)) == 0;
}

const char *ash_report_fmt_delta(char *buf, size_t len, const struct ash_report_delta *d)
{
    if (!d->has_variant || !d->has_base) {
        snprintf(buf, len, "%s",
                 d->has_variant ? "only with the variant (never reached as it was)"
                 : d->has_base  ? "only as it was (never reached with the variant)"
                                : "reached in neither");
        return buf;
    }
    double diff = d->base_ms - d->variant_ms, mag = fabs(diff);
    if (ash_report_delta_same(d)) {
        snprintf(buf, len, "no change");
        return buf;
    }
    char pct[32] = "", inc[96] = "", human[48], dd[48];
    if (d->base_ms > 0)
        snprintf(pct, sizeof pct, "%+.1f%%", (d->variant_ms - d->base_ms) / d->base_ms * 100.0);
    /* What the replay's seconds stand for in the incident's own time. */
    if (d->timescale > 0 && d->timescale != 1)
        snprintf(inc, sizeof inc, "%s of the incident at %gx",
                 ash_report_fmt_dur(human, sizeof human, mag * d->timescale), d->timescale);
    snprintf(buf, len, "%s %s%s%s%s%s%s", ash_report_fmt_dur(dd, sizeof dd, mag), diff > 0 ? "sooner" : "later",
             *pct || *inc ? " (" : "", pct, *pct && *inc ? "; " : "", inc, *pct || *inc ? ")" : "");
    return buf;
}

const char *ash_report_fmt_pair(char *buf, size_t len, const struct ash_report_delta *d)
{
    char b[48] = "-", v[48] = "-";
    if (d->has_base)
        ash_report_fmt_dur(b, sizeof b, d->base_ms);
    if (d->has_variant)
        ash_report_fmt_dur(v, sizeof v, d->variant_ms);
    snprintf(buf, len, "%s \u2192 %s", b, v);
    return buf;
}

long ash_report_variant_pairs(const json_t *const *reports, size_t n, struct ash_report_pair **out)
{
    *out = NULL;
    if (!n)
        return 0;
    struct ash_report_pair *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        long base = ash_report_base_of(reports, n, i);
        if (base < 0)
            continue;
        /* Only the first listed (the newest, in a folder) run of each variant. */
        const char *name = ash_report_get_str(reports[i], "scenario", "");
        const char *src = ash_report_source_of(reports[i]);
        bool seen = false;
        for (size_t p = 0; p < k && !seen; p++)
            seen = strcmp(ash_report_get_str(reports[v[p].variant], "scenario", ""), name) == 0 &&
                   strcmp(ash_report_source_of(reports[v[p].variant]), src) == 0;
        if (seen)
            continue;
        v[k].variant = i;
        v[k].base = (size_t)base;
        k++;
    }
    if (!k) {
        free(v);
        return 0;
    }
    *out = v;
    return (long)k;
}

/* One line per figure: "TTD 120.000 ms vs 640.000 ms: 520.000 ms sooner (52m00s of the incident at 600x)". */
static void compare(FILE *out, const json_t *variant, const json_t *base, const char *figure, const char *label,
                    const char *sooner, const char *later)
{
    double v = 0, b = 0, scale = 1;
    bool hv = ash_report_median(variant, figure, &v), hb = ash_report_median(base, figure, &b);
    ash_report_get_ms(json_object_get(variant, "incident"), "timescale", &scale);
    if (!(scale > 0))
        scale = 1;
    fprintf(out, "  %s: ", label);
    if (!hv && !hb) {
        fputs("not measured in either\n", out);
        return;
    }
    if (!hv || !hb) {
        fprintf(out, "%s\n",
                hv ? "measured only with the variant (the as-it-was replay never got it)"
                   : "measured only as it was (the variant never got it)");
        return;
    }
    double d = b - v;
    char human[64], sv[48], sb[48], sd[48];
    struct ash_report_delta dl;
    ash_report_delta_of(&dl, variant, base, figure);
    ash_report_fmt_dur(human, sizeof human, (d < 0 ? -d : d) * scale);
    if (ash_report_delta_same(&dl)) {
        fprintf(out, "%s vs %s as it was: no change\n", ash_report_fmt_dur(sv, sizeof sv, v),
                ash_report_fmt_dur(sb, sizeof sb, b));
        return;
    }
    fprintf(out, "%s vs %s as it was: %s %s (%s of the incident at %gx)\n", ash_report_fmt_dur(sv, sizeof sv, v),
            ash_report_fmt_dur(sb, sizeof sb, b), ash_report_fmt_dur(sd, sizeof sd, d < 0 ? -d : d),
            d >= 0 ? sooner : later, human, scale);
}

size_t ash_report_print_variants(FILE *out, const json_t *const *reports, size_t n)
{
    size_t printed = 0;
    for (size_t i = 0; i < n; i++) {
        long base = ash_report_base_of(reports, n, i);
        if (base < 0)
            continue;
        if (!printed++)
            fputs(
                "\nvariants (the postmortem's action items; one named \"suggested\" is not in the postmortem) against "
                "the as-it-was replay:\n",
                out);
        ash_text_fprintf(out, ASH_TEXT_KEEP_NEWLINE, "%s vs %s (%s):\n", ash_report_get_str(reports[i], "scenario", ""),
                         ash_report_get_str(reports[base], "scenario", "?"), ash_report_source_of(reports[i]));
        compare(out, reports[i], reports[base], "ttd_ms", "TTD", "sooner", "later");
        compare(out, reports[i], reports[base], "ttr_ms", "TTR", "sooner", "later");
    }
    return printed;
}
