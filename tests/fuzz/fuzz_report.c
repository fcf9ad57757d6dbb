/* libFuzzer harness: arbitrary bytes as report.json through every renderer, into a scratch directory. */
#include "report/report.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* $TMPDIR/ash-fuzz-report-XXXXXX, holding run/ (one run directory) and index.html. */
static char scratch[PATH_MAX - 64];
static char run[PATH_MAX];
static FILE *devnull;

static void remove_scratch(void)
{
    static const char *const names[] = {"run/report.json", "run/junit.xml",    "run/report.md", "run/report.html",
                                        "run/gameday.md",  "run/gameday.html", "run",           "junit-many.xml",
                                        "index.html"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, names[i]);
        if (unlink(path) < 0)
            rmdir(path);
    }
    rmdir(scratch);
}

/* Once per process: libFuzzer calls the harness millions of times. */
static int setup(void)
{
    if (devnull)
        return 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/ash-fuzz-report-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch))
        return -1;
    snprintf(run, sizeof run, "%s/run", scratch);
    if (mkdir(run, 0700) < 0 || !(devnull = fopen("/dev/null", "we"))) {
        rmdir(run);
        rmdir(scratch);
        return -1;
    }
    atexit(remove_scratch);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (setup() < 0) {
        perror("fuzz_report: cannot make a scratch directory");
        abort();
    }
    json_error_t jerr;
    json_t *report = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!report)
        return 0;
    ash_error_t err = {0};
    char path[PATH_MAX + 32];
    /* What `aftershock run` and `aftershock report DIR` do with a report. */
    if (json_is_object(report))
        ash_report_summarize(report);
    snprintf(path, sizeof path, "%s/report.json", run);
    int wrote = ash_report_write_json(report, path, &err);
    ash_report_render_all(report, run, &err);
    const json_t *const one[] = {report};
    ash_report_print_summary(devnull, one, 1, true);
    const json_t *const two[] = {report, report};
    snprintf(path, sizeof path, "%s/junit-many.xml", scratch);
    ash_report_write_junit_many(two, 2, path, &err);
    /* What was written must load back: `aftershock report DIR` reads it again.
     * A document that names this build's schema was a report on the way in, so
     * its written form must load, with the same top-level keys. */
    json_t *again = NULL;
    snprintf(path, sizeof path, "%s/report.json", run);
    const char *schema = json_string_value(json_object_get(report, "schema"));
    bool is_report = json_is_object(report) && schema && strcmp(schema, ASH_REPORT_SCHEMA) == 0;
    if (ash_report_load(path, &again, &err) == 0) {
        if (is_report && json_object_size(again) != json_object_size(report)) {
            fprintf(stderr, "fuzz_report: %s loaded back with %zu keys, written with %zu\n", path,
                    json_object_size(again), json_object_size(report));
            abort();
        }
        json_decref(again);
    } else if (is_report && wrote == 0) {
        fprintf(stderr, "fuzz_report: a written report does not load back: %s\n", err.msg);
        abort();
    }
    ash_report_write_index(scratch, &err);
    json_decref(report);
    return 0;
}
