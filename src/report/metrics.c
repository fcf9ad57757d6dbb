/* OpenMetrics / Prometheus text exposition of the reports' figures, for the node
 * exporter's textfile collector: one gauge family per figure, in seconds, labelled
 * by scenario, incident (the postmortem file) and variant, per run and as the median
 * over a scenario's runs. A figure never reached (null) has no sample. */
#include <aftershock/aftershock.h>

#include "report/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct family {
    const char *name, *help, *key; /* key: the run's field in ms */
};

static const struct family families[] = {
    {"aftershock_ttd_seconds", "Time to detect: first detector signal after the first fault was in effect.", "ttd_ms"},
    {"aftershock_ttr_seconds",
     "Time to recover: start of the first window after the impact in which the steady state held for stable_for.",
     "ttr_ms"},
    {"aftershock_impact_seconds", "First failed probe sample after the first fault was in effect.", "impact_ms"},
    {"aftershock_revert_to_recover_seconds", "Recovery counted from the last fault's revert.", "revert_to_recover_ms"},
    {"aftershock_resolution_seconds", "What bounds the error of the run's figures.", "resolution_ms"},
};

/* A label value, escaped as the exposition format wants (backslash, quote, newline). */
static void label(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
}

static void labels(FILE *f, const json_t *rep, const char *variant, const char *run)
{
    fputs("{scenario=\"", f);
    label(f, ash_report_get_str(rep, "scenario", "unnamed"));
    fputs("\",incident=\"", f);
    label(f, ash_report_source_of(rep) ? ash_report_source_of(rep) : "");
    fputs("\",variant=\"", f);
    label(f, variant);
    fputs("\",run=\"", f);
    label(f, run);
    fputs("\"}", f);
}

const char *ash_report_variant_label(const json_t *const *reports, size_t n, size_t i)
{
    long b = ash_report_base_of(reports, n, i);
    if (b >= 0) {
        const char *base = ash_report_get_str(reports[b], "scenario", "");
        return ash_report_get_str(reports[i], "scenario", "") + strlen(base) + 1;
    }
    for (size_t k = 0; k < n; k++)
        if (k != i && ash_report_base_of(reports, n, k) == (long)i)
            return "as-it-was";
    return "";
}

/* Of several reports of one scenario, the newest (started_at is ISO 8601 UTC: it sorts). */
static bool newest_of_its_scenario(const json_t *const *reports, size_t n, size_t i)
{
    const char *name = ash_report_get_str(reports[i], "scenario", "");
    const char *at = ash_report_get_str(reports[i], "started_at", "");
    for (size_t k = 0; k < n; k++) {
        if (k == i || strcmp(ash_report_get_str(reports[k], "scenario", ""), name) != 0)
            continue;
        int c = strcmp(ash_report_get_str(reports[k], "started_at", ""), at);
        if (c > 0 || (c == 0 && k < i))
            return false;
    }
    return true;
}

static void sample(FILE *f, const char *family, const json_t *rep, const char *variant, const char *run, double v)
{
    fputs(family, f);
    labels(f, rep, variant, run);
    fprintf(f, " %.6f\n", v);
}

static void write_all(FILE *f, const json_t *const *reports, size_t n, const bool *keep, const char **variant)
{
    char run[32];
    double v;
    for (size_t fi = 0; fi < sizeof families / sizeof families[0]; fi++) {
        const struct family *fam = &families[fi];
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", fam->name, fam->help, fam->name);
        for (size_t i = 0; i < n; i++) {
            if (!keep[i])
                continue;
            const json_t *runs = json_object_get(reports[i], "runs");
            for (size_t j = 0; j < json_array_size(runs); j++) {
                snprintf(run, sizeof run, "%zu", j + 1);
                if (ash_report_get_ms(json_array_get(runs, j), fam->key, &v))
                    sample(f, fam->name, reports[i], variant[i], run, v / 1000.0);
            }
            if (json_array_size(runs) > 1 && ash_report_median(reports[i], fam->key, &v))
                sample(f, fam->name, reports[i], variant[i], "median", v / 1000.0);
        }
    }
    /* The incident's own figures (unscaled), to put the replay beside. */
    static const struct family incident[] = {
        {"aftershock_incident_ttd_seconds", "Time to detect in the incident itself (from its postmortem).", "ttd_ms"},
        {"aftershock_incident_ttr_seconds", "Time to recover in the incident itself (from its postmortem).", "ttr_ms"}};
    for (size_t fi = 0; fi < 2; fi++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", incident[fi].name, incident[fi].help, incident[fi].name);
        for (size_t i = 0; i < n; i++)
            if (keep[i] && ash_report_get_ms(json_object_get(reports[i], "incident"), incident[fi].key, &v))
                sample(f, incident[fi].name, reports[i], variant[i], "incident", v / 1000.0);
    }
    fputs("# HELP aftershock_expectations_met 1 when the run's verdict is pass, else 0.\n"
          "# TYPE aftershock_expectations_met gauge\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const json_t *runs = json_object_get(reports[i], "runs");
        for (size_t j = 0; keep[i] && j < json_array_size(runs); j++) {
            snprintf(run, sizeof run, "%zu", j + 1);
            const char *verdict = ash_report_get_str(json_array_get(runs, j), "verdict", "");
            sample(f, "aftershock_expectations_met", reports[i], variant[i], run, strcmp(verdict, "pass") == 0);
        }
    }
    fputs("# HELP aftershock_guardrail_stop_latency_seconds From a guardrail's condition being true to every fault "
          "reverted.\n# TYPE aftershock_guardrail_stop_latency_seconds gauge\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const json_t *runs = json_object_get(reports[i], "runs");
        for (size_t j = 0; keep[i] && j < json_array_size(runs); j++) {
            snprintf(run, sizeof run, "%zu", j + 1);
            if (ash_report_get_ms(json_object_get(json_array_get(runs, j), "guardrail"), "stop_latency_ms", &v))
                sample(f, "aftershock_guardrail_stop_latency_seconds", reports[i], variant[i], run, v / 1000.0);
        }
    }
}

int ash_report_write_metrics(const char *path, const json_t *const *reports, size_t n, ash_error_t *err)
{
    char file[4200];
    struct stat st;
    /* A directory (the textfile collector's): aftershock.prom in it. */
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(file, sizeof file, "%s/aftershock.prom", path);
    else
        snprintf(file, sizeof file, "%s", path);
    bool *keep = calloc(n ? n : 1, sizeof *keep);
    const char **variant = calloc(n ? n : 1, sizeof *variant);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = keep && variant ? open_memstream(&buf, &len) : NULL;
    if (!f) {
        free(keep);
        free(variant);
        return ash_error(err, ENOMEM, "metrics");
    }
    for (size_t i = 0; i < n; i++) {
        keep[i] = newest_of_its_scenario(reports, n, i);
        variant[i] = ash_report_variant_label(reports, n, i);
    }
    write_all(f, reports, n, keep, variant);
    int ret = fclose(f) == 0 ? 0 : ash_error(err, errno, "metrics");
    /* Whole or not at all: the collector may read it at any moment. */
    if (ret == 0)
        ret = ash_report_write_atomic(file, buf, len, err);
    free(buf);
    free(keep);
    free(variant);
    return ret;
}
