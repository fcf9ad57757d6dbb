/* "Would the action items have detected it sooner, and by how much?": for
 * reports of the same incident (same incident.source) replayed together, each
 * variant's median TTD and TTR next to the as-it-was replay's. The as-it-was
 * replay is the one whose scenario name the others extend
 * (telephony-table-lock vs telephony-table-lock-early-alert). */
#include "report/report.h"

#include <stdio.h>
#include <string.h>

static bool median(const json_t *report, const char *figure, double *out)
{
    json_t *sum = ash_report_summary_of(report);
    bool ok = ash_report_get_ms(json_object_get(sum, figure), "median", out);
    json_decref(sum);
    return ok;
}

static const char *source_of(const json_t *report)
{
    return ash_report_get_str(json_object_get(report, "incident"), "source", NULL);
}

/* One line per figure: "TTD 120.000 ms vs 640.000 ms: 520.000 ms sooner (52m00s of the incident at 600x)". */
static void compare(FILE *out, const json_t *variant, const json_t *base, const char *figure, const char *label,
                    const char *sooner, const char *later)
{
    double v = 0, b = 0, scale = 1;
    bool hv = median(variant, figure, &v), hb = median(base, figure, &b);
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
    char human[64];
    ash_report_fmt_human(human, sizeof human, (d < 0 ? -d : d) * scale);
    fprintf(out, "%.3f ms vs %.3f ms as it was: %.3f ms %s (%s of the incident at %gx)\n", v, b, d < 0 ? -d : d,
            d >= 0 ? sooner : later, human, scale);
}

size_t ash_report_print_variants(FILE *out, const json_t *const *reports, size_t n)
{
    size_t printed = 0;
    for (size_t i = 0; i < n; i++) {
        const char *src = source_of(reports[i]), *name = ash_report_get_str(reports[i], "scenario", "");
        if (!src)
            continue;
        /* The base: same incident, a name this one extends ("base-..."). */
        const json_t *base = NULL;
        size_t best = 0;
        for (size_t j = 0; j < n; j++) {
            const char *bs = source_of(reports[j]), *bn = ash_report_get_str(reports[j], "scenario", "");
            size_t len = strlen(bn);
            if (j == i || !bs || strcmp(bs, src) != 0 || len >= strlen(name) || strncmp(name, bn, len) != 0 ||
                name[len] != '-' || len <= best)
                continue;
            base = reports[j];
            best = len;
        }
        if (!base)
            continue;
        if (!printed++)
            fputs("\nvariants (the postmortem's action items) against the as-it-was replay:\n", out);
        fprintf(out, "%s vs %s (%s):\n", name, ash_report_get_str(base, "scenario", "?"), src);
        compare(out, reports[i], base, "ttd_ms", "TTD", "sooner", "later");
        compare(out, reports[i], base, "ttr_ms", "TTR", "sooner", "later");
    }
    return printed;
}
