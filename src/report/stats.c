/* Figures over repeat runs: min / median / p95 / max, and the report's "summary". */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int ash_report_stats(const double *values, size_t n, json_t **out)
{
    json_t *o = json_object();
    if (!o)
        return -1;
    if (n == 0) {
        int r = json_object_set_new(o, "min", json_null()) | json_object_set_new(o, "median", json_null()) |
                json_object_set_new(o, "p95", json_null()) | json_object_set_new(o, "max", json_null()) |
                json_object_set_new(o, "n", json_integer(0));
        if (r) {
            json_decref(o);
            return -1;
        }
        *out = o;
        return 0;
    }
    double *v = malloc(n * sizeof *v);
    if (!v) {
        json_decref(o);
        return -1;
    }
    memcpy(v, values, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    double median = (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
    /* Nearest rank: the smallest value with at least 95% of values at or
     * below it; integer arithmetic avoids ceil(0.95 * n) rounding up wrongly. */
    size_t rank = (95 * n + 99) / 100;
    int r = json_object_set_new(o, "min", json_real(v[0])) | json_object_set_new(o, "median", json_real(median)) |
            json_object_set_new(o, "p95", json_real(v[rank - 1])) | json_object_set_new(o, "max", json_real(v[n - 1])) |
            json_object_set_new(o, "n", json_integer((json_int_t)n));
    free(v);
    if (r) {
        json_decref(o);
        return -1;
    }
    *out = o;
    return 0;
}

static const char *const summarized[] = {"ttd_ms", "ttr_ms", "impact_ms", "revert_to_recover_ms"};

static json_t *build_summary(const json_t *report)
{
    const json_t *runs = json_object_get(report, "runs");
    size_t n = json_array_size(runs);
    json_t *summary = json_object();
    double *vals = malloc((n ? n : 1) * sizeof *vals);
    if (!summary || !vals)
        goto fail;
    if (json_object_set_new(summary, "runs", json_integer((json_int_t)n)))
        goto fail;
    for (size_t k = 0; k < sizeof summarized / sizeof summarized[0]; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            double d;
            if (ash_report_get_ms(json_array_get(runs, i), summarized[k], &d))
                vals[m++] = d;
        }
        json_t *st = NULL;
        if (ash_report_stats(vals, m, &st) < 0 || json_object_set_new(summary, summarized[k], st))
            goto fail;
    }
    free(vals);
    return summary;
fail:
    free(vals);
    json_decref(summary);
    return NULL;
}

int ash_report_summarize(json_t *report)
{
    json_t *summary = build_summary(report);
    if (!summary)
        return -1;
    return json_object_set_new(report, "summary", summary) ? -1 : 0;
}

json_t *ash_report_summary_of(const json_t *report)
{
    json_t *summary = json_object_get(report, "summary");
    if (json_is_object(summary))
        return json_incref(summary);
    return build_summary(report);
}
