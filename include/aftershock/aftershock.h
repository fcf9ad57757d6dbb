/* libaftershock: replay incidents as fault-injection experiments and measure
 * time-to-detect and time-to-recover. The CLI and the tests call only this. */
#ifndef AFTERSHOCK_H
#define AFTERSHOCK_H

#include <aftershock/error.h>
#include <aftershock/text.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define ASH_EXIT_PASS 0
#define ASH_EXIT_FAIL 1
#define ASH_EXIT_USAGE 2
#define ASH_EXIT_ENV 3

enum ash_verdict { ASH_VERDICT_PASS, ASH_VERDICT_FAIL, ASH_VERDICT_ABORTED, ASH_VERDICT_ERROR };
const char *ash_verdict_name(enum ash_verdict v);

/* LIVE: the full-screen live view (run --live) when stdin and the log are terminals of
 * at least 60x16; otherwise STATUS (a terminal) or LINES. */
enum ash_progress_mode { ASH_PROGRESS_QUIET, ASH_PROGRESS_LINES, ASH_PROGRESS_STATUS, ASH_PROGRESS_LIVE };

struct ash_run_options {
    const char *report_dir; /* parent of run directories; default "reports" */
    const char *run_dir;    /* exact run directory (overrides report_dir/<name>-<stamp>) */
    const char *state_dir;  /* journal location; default /run/aftershock */
    int repeat;             /* default 1 */
    double timescale;       /* > 0 overrides the scenario's (incident comparison) */
    enum ash_progress_mode progress;
    FILE *log;                /* progress output; default stderr */
    const char *guardian_exe; /* executable offering `__guardian`; NULL: no guardian */
    bool warned;              /* the scenario's warnings were printed already (validated first) */
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
/* ash_validate_file, and with `resolve` also look up the targets that select what
 * already runs (containers, processes, cgroups) as `run` would before starting:
 * a missing engine socket, container or process is an environment error (exit 3). */
int ash_validate_file_resolve(const char *path, bool resolve, ash_error_t *err);

/* `aftershock plan` / `run --dry-run`: what a run of the scenario would do and touch, in
 * order, without doing any of it (docs/gameday.md). */
struct ash_plan_options {
    const char *state_dir;  /* where the journal would be; default ASH_DEFAULT_STATE_DIR */
    const char *report_dir; /* parent of the run directory; default "reports" */
    const char *run_id;     /* name objects as a run with this id would; NULL: the "<run>" pattern */
};
/* *plan: an "aftershock/plan-v1" document. Returns -1 with err (class usage: exit 2) when
 * the scenario is invalid; 0 otherwise, with plan.environment.ok false and the reasons in
 * plan.environment.problems when this machine could not run it (exit 3). */
int ash_plan_file(const char *path, const struct ash_plan_options *o, json_t **plan, ash_error_t *err);
/* The plan as text, in the order the run would act. */
void ash_plan_print(FILE *out, const json_t *plan);

/* Where runs keep their undo journals unless told otherwise (--state-dir). */
#define ASH_DEFAULT_STATE_DIR "/run/aftershock"

/* Send one request to a live run's control socket in state_dir (NULL: the default):
 * "abort", "mark detected|mitigated|recovered SENT_NS" or "note SENT_NS TEXT" (SENT_NS:
 * CLOCK_MONOTONIC ns when it was sent; the run records the mark at that time). run_id
 * NULL: the only live run (an error naming them when several are). answer: "ok RUN_ID". */
int ash_control_send(const char *state_dir, const char *run_id, const char *request, char *answer, size_t len,
                     ash_error_t *err);

/* Undo what dead runs left, from the journals in state_dir. Writes one line
 * per action to log, in words ("removed nftables table ash-1a2b3c in network
 * namespace ash-1a2b3c-web"). Returns the number of undo records that failed (0: clean),
 * or -1 with err. */
int ash_recover(const char *state_dir, FILE *log, ash_error_t *err);
/* ash_recover, with flags: ASH_RECOVER_RECORDS also writes each undone record as it
 * was journaled ("    undone OP {...}", under its line in words) for scripts. */
#define ASH_RECOVER_RECORDS 1u
int ash_recover_with(const char *state_dir, FILE *log, unsigned flags, ash_error_t *err);

/* The guardian: wait for pid `harness` to die, then replay `journal` if it
 * still exists. Returns the process exit status. */
int ash_guardian_main(const char *journal, int harness_pid, const char *harness_start);

/* Hidden subcommands of the aftershock binary: processes the library starts by running
 * its own executable again. Bodies of `aftershock __lock-holder <json-spec>`,
 * `__balloon SIZE RATE` and `__seccomp-exec SOCKFD SYSCALLS -- ARGV...`; argv[0] is the
 * subcommand. A program that links libaftershock and runs the faults that start them
 * dispatches them from its main, as the CLI does. */
int ash_lockhold_main(int argc, char **argv);
int ash_balloon_main(int argc, char **argv);
int ash_seccomp_exec_main(int argc, char **argv);

/* "250ms", "1m30s", "1.5s" as nanoseconds; -1 on malformed input. */
int ash_parse_duration(const char *s, int64_t *ns);

/* `aftershock agent`: one node's end of a fleet run (docs/fleet.md). */
struct ash_kind_set;
struct ash_agent_opts {
    const char *connect;              /* the coordinator's HOST:PORT */
    const char *key_file;             /* the run's fleet key (64 hex digits) */
    const char *node;                 /* this node's name, as the coordinator knows it */
    int64_t lease_ns;                 /* revert everything after this long without a word; 0: 3 s */
    const char *state_dir;            /* the journal's directory; default ASH_DEFAULT_STATE_DIR */
    const char *guardian_exe;         /* this binary, to start the guardian; NULL: no guardian */
    const struct ash_kind_set *kinds; /* NULL: every kind this library has (tests pass their own) */
    int64_t handshake_ns;             /* 0: the channel's default */
};
/* Serve one run. 0 when the coordinator said bye; -1 with err saying why the
 * agent left (the lease lapsed, the connection dropped, a signal, a refused
 * handshake). Every fault it applied is reverted on either path; err also says
 * when one could not be (its journal is then kept for `aftershock recover`). */
int ash_agent_run(const struct ash_agent_opts *o, ash_error_t *err);

/* Print the kinds, one line each, with why a kind is unavailable here. */
void ash_list_kinds(FILE *out, bool verbose);

/* `aftershock doctor`: what this machine supports (privileges, namespaces,
 * cgroups, qdiscs, nftables, seccomp, PSI), each tried for real, with yes/no and why. */
void ash_doctor(FILE *out);

/* The JSON Schema of the scenario format (generated from the kind tables). */
int ash_scenario_schema(json_t **out, ash_error_t *err);

/* Re-render junit.xml, report.md, report.html, gameday.md, gameday.html of DIR from DIR/report.json, and
 * the index.html (and comparison.md) of DIR's folder when it has one. */
int ash_report_rerender(const char *dir, ash_error_t *err);
/* Load a report.json and check its "schema"; *out is a new reference. */
int ash_report_load(const char *path, json_t **out, ash_error_t *err);
/* JUnit XML: one <testsuite> per report, one <testcase> per run. */
int ash_report_write_junit_many(const json_t *const *reports, size_t n, const char *path, ash_error_t *err);
/* The reports' TTD, TTR, impact, revert-to-recover and resolution (per run, and the
 * median of repeats), the incident's own TTD/TTR, whether expectations were met and
 * guardrail stop latencies, as Prometheus text exposition (gauges in seconds, labels
 * scenario, incident, variant, run) for the node exporter's textfile collector; of
 * several reports of one scenario, the newest. path: a file, or a directory (then
 * path/aftershock.prom). Written atomically. */
int ash_report_write_metrics(const char *path, const json_t *const *reports, size_t n, ash_error_t *err);
/* `run --annotate grafana=URL`: check ARG and put its URL (no trailing '/') in url;
 * a bad value is a usage error (exit 2) saying what is expected. */
int ash_annotate_parse(const char *arg, char *url, size_t len, ash_error_t *err);
/* The Grafana annotation payloads of a report (POST /api/annotations bodies): per run,
 * each fault window as a region (time, timeEnd: epoch ms from the run's wall_start_ms),
 * each detection and the recovery (TTR; and people's mark-recovered) as points; tags
 * aftershock, scenario:NAME, run:ID, variant:VARIANT ("as-it-was" when empty) and
 * fault|detection|recovery; text for people. A new array. */
json_t *ash_annotate_grafana_payloads(const json_t *report, const char *variant);
/* POST every report's annotations to URL/api/annotations (Authorization: Bearer TOKEN
 * when token is set), each with a 2 s connect and 3 s total timeout, the rest skipped once
 * Grafana does not answer. The outcome goes into report["annotations"]["grafana"] (url,
 * posted, failed, warnings), warnings also to log; with dirs, DIR/report.json and its
 * pages are written again. Returns how many were not posted (never a failed run). */
int ash_report_annotate_grafana(json_t *const *reports, const char *const *dirs, size_t n, const char *url,
                                const char *token, FILE *log);
/* Terminal table of the figures of each report (ANSI colours when color). */
void ash_report_print_summary(FILE *out, const json_t *const *reports, size_t n, bool color);
/* For reports of the same incident replayed together, each variant's (a name
 * extending another's: "X-early-alert" of "X") median TTD/TTR against the
 * as-it-was replay: "would the action items have detected it sooner, and by
 * how much?". Prints nothing when there is no such pair; returns the pairs. */
size_t ash_report_print_variants(FILE *out, const json_t *const *reports, size_t n);

/* Baselines for CI (src/engine/baseline.c; docs/ci.md). A baseline file is
 * {"schema":"aftershock/baseline-v1","scenarios":{NAME:{"ttd_ms","ttr_ms",
 * "resolution":{...}}}} holding each scenario's median figures; a report.json
 * is accepted as a one-scenario baseline. A figure regresses when
 * current > baseline + ash_baseline_allowed_ms(baseline, resolution, tolerance),
 * i.e. max(tolerance x baseline, 2 x resolution, ASH_BASELINE_FLOOR_MS), or
 * when it was measured before and is null now. */
#define ASH_BASELINE_SCHEMA "aftershock/baseline-v1"
#define ASH_BASELINE_DEFAULT_TOLERANCE 0.20
#define ASH_BASELINE_FLOOR_MS 5.0
int ash_baseline_load(const char *path, json_t **out, ash_error_t *err);
/* Set (or replace) the report's scenario in baseline. */
int ash_baseline_add(json_t *baseline, const json_t *report, ash_error_t *err);
/* Write the passing reports' scenarios to path, merged into the baseline already there. */
int ash_baseline_save(const char *path, const json_t *const *reports, size_t n, FILE *log, ash_error_t *err);
/* Append one finding per figure to `findings` (a JSON array: scenario, figure,
 * baseline_ms, current_ms, allowed_ms, regressed, note). Returns the number of
 * regressions, or -1 with err. */
int ash_baseline_compare(const json_t *baseline, const json_t *report, double tolerance, json_t *findings,
                         ash_error_t *err);
double ash_baseline_allowed_ms(double baseline_ms, double resolution_ms, double tolerance);
void ash_baseline_print(FILE *out, const json_t *findings);

/* Exit status for an error class. */
int ash_exit_status(const ash_error_t *err);

#endif
