/* libaftershock: replay incidents as fault-injection experiments and measure
 * time-to-detect and time-to-recover. The CLI and the tests call only this. */
#ifndef AFTERSHOCK_H
#define AFTERSHOCK_H

#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define ASH_EXIT_PASS 0
#define ASH_EXIT_FAIL 1
#define ASH_EXIT_USAGE 2
#define ASH_EXIT_ENV 3

enum ash_verdict { ASH_VERDICT_PASS, ASH_VERDICT_FAIL, ASH_VERDICT_ABORTED, ASH_VERDICT_ERROR };
const char *ash_verdict_name(enum ash_verdict v);

enum ash_progress_mode { ASH_PROGRESS_QUIET, ASH_PROGRESS_LINES, ASH_PROGRESS_STATUS };

struct ash_run_options {
    const char *report_dir;   /* parent of run directories; default "reports" */
    const char *run_dir;      /* exact run directory (overrides report_dir/<name>-<stamp>) */
    const char *state_dir;    /* journal location; default /run/aftershock */
    int repeat;               /* default 1 */
    double timescale;         /* > 0 overrides the scenario's (incident comparison) */
    enum ash_progress_mode progress;
    FILE *log;                /* progress output; default stderr */
    const char *guardian_exe; /* executable offering `__guardian`; NULL: no guardian */
};

struct ash_run_result {
    enum ash_verdict verdict;
    char run_dir[4096];
    json_t *report; /* report-v1 document; caller decrefs */
};

/* Load, validate and run one scenario file (all repeats), write its reports.
 * Returns 0 when the run happened (verdict in res), -1 with err when it could
 * not (err->klass says which exit status). */
int ash_run_file(const char *path, const struct ash_run_options *o, struct ash_run_result *res, ash_error_t *err);

/* Parse and validate only. */
int ash_validate_file(const char *path, ash_error_t *err);

/* Undo what dead runs left, from the journals in state_dir. Writes one line
 * per action to log. Returns the number of undo records that failed (0: clean),
 * or -1 with err. */
int ash_recover(const char *state_dir, FILE *log, ash_error_t *err);

/* The guardian: wait for pid `harness` to die, then replay `journal` if it
 * still exists. Returns the process exit status. */
int ash_guardian_main(const char *journal, int harness_pid, const char *harness_start);

/* Print the kinds, one line each, with why a kind is unavailable here. */
void ash_list_kinds(FILE *out, bool verbose);

/* `aftershock doctor`: what this machine supports (privileges, namespaces,
 * cgroups, qdiscs, nftables, seccomp, PSI), each tried for real, with yes/no and why. */
void ash_doctor(FILE *out);

/* The JSON Schema of the scenario format (generated from the kind tables). */
int ash_scenario_schema(json_t **out, ash_error_t *err);

/* Re-render junit.xml, report.md, report.html of DIR from DIR/report.json. */
int ash_report_rerender(const char *dir, ash_error_t *err);

/* Exit status for an error class. */
int ash_exit_status(const ash_error_t *err);

#endif
