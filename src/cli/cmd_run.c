/* aftershock run: replay scenarios, print a summary, write reports. */
#include "cli.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "usage: aftershock run [OPTIONS] SCENARIO...\n\n"
                            "Replay each scenario: start its services, verify the steady state, inject\n"
                            "the faults on their timeline, run the remediations, observe until the system\n"
                            "recovers and stays stable (or the scenario's timeout), revert everything in\n"
                            "reverse order, and write reports to a run directory.\n\n"
                            "Options:\n"
                            "  --report-dir DIR   parent of run directories (default: reports)\n"
                            "  --repeat N         run each scenario N times; figures per run and min/median/p95/max\n"
                            "  --timescale X      override the scenario's timescale (1 s replay = X s incident)\n"
                            "                     used to compare with the incident's own timeline\n"
                            "  --junit FILE       also write one JUnit XML file covering every scenario\n"
                            "  --metrics FILE     also write TTD/TTR/impact per scenario and run as Prometheus\n"
                            "                     text (node exporter textfile collector); a directory: FILE/\n"
                            "                     aftershock.prom\n"
                            "  --annotate grafana=URL  after the runs, post Grafana annotations to\n"
                            "                     URL/api/annotations: each fault window (a region), each\n"
                            "                     detection and the recovery, tagged aftershock, scenario:NAME,\n"
                            "                     run:ID, variant:V; the token from $GRAFANA_TOKEN (sent as\n"
                            "                     'Authorization: Bearer'); a Grafana that fails or does not\n"
                            "                     answer (3 s) is a warning in the report, not a failed run\n"
                            "  --state-dir DIR    undo journal location (default /run/aftershock; a private\n"
                            "                     directory of yours: not root? use --state-dir \"$(mktemp -d)\")\n"
                            "  --baseline FILE    compare each scenario's median TTD/TTR with FILE (from\n"
                            "                     --save-baseline, or a report.json); exit 1 on a regression\n"
                            "  --tolerance PCT    allowed regression (default 20%; also \"0.2\"); never less than\n"
                            "                     2x the figure's resolution or 5 ms (see docs/ci.md)\n"
                            "  --save-baseline FILE  write the passing scenarios' medians to FILE (merged\n"
                            "                     into it when it exists; after --baseline's comparison)\n"
                            "  --no-guardian      do not start the guardian process that reverts if this\n"
                            "                     process is killed (SIGKILL, OOM)\n"
                            "  --dry-run          print what the run would do and touch, in order, and do\n"
                            "                     none of it (the same as 'aftershock plan'); exit 0, or\n"
                            "                     2 invalid, 3 this machine cannot run it\n"
                            "  --live             on a terminal, a full-screen live view for the room: the\n"
                            "                     timeline so far, each probe's recent samples as a sparkline,\n"
                            "                     faults in effect with time left, detections, guardrails and\n"
                            "                     their margins; keys d/m/r mark detected/mitigated/recovered,\n"
                            "                     n types a note, a aborts (asks y first). Needs stdin and\n"
                            "                     stderr on a terminal of at least 60x16: otherwise the status\n"
                            "                     line (small terminal) or log lines (not a terminal);\n"
                            "                     --quiet wins (docs/gameday.md)\n"
                            "  -q, --quiet        print only the summary\n"
                            "  -h, --help         this help\n\n"
                            "Ctrl-C, 'aftershock abort' from another terminal, or a tripped guardrail\n"
                            "abort: every fault is reverted, services stopped, the report written\n"
                            "with verdict 'aborted'; 'aftershock mark' puts marks on the timeline. Every\n"
                            "run directory gets gameday.md and gameday.html: the people's marks, the\n"
                            "machine's figures and the incident's side by side, for the retro. A\n"
                            "fault whose revert failed makes the verdict 'error' (exit 1): its harm may\n"
                            "still be there; run 'aftershock recover'. Scenario\n"
                            "files are code: they run the commands they name with aftershock's\n"
                            "privileges; review them as you review scripts. In host mode (no 'hosts:') a\n"
                            "run touches only the services it starts, the ash-* cgroups it makes for them\n"
                            "and the databases or files a fault names; a scenario reaching for anything\n"
                            "else is refused before anything starts (exit 2).\n\n"
                            "Commands, env, paths and URLs in a scenario may use placeholders:\n"
                            "{scenario_dir}, {run_dir}, {services_dir}, {run_id} (also ASH_RUN_ID in every\n"
                            "command's environment) and a webhook detector's {webhook_url} / {webhook_port}\n"
                            "(it listens on a free loopback port unless 'listen:' says otherwise; a port\n"
                            "someone else holds is exit 3, naming the holder's pid). Alert detections are\n"
                            "reported per alert: fired (startsAt), notified (TTD) and resolved; the\n"
                            "detection floor the monitoring config implies is printed when stated.\n\n"
                            "A scenario with 'fleet:' makes the run a coordinator: it listens on\n"
                            "fleet.listen, waits for an 'aftershock agent' of every node in fleet.nodes\n"
                            "(none after fleet.wait: exit 3, nothing harmed), and each fault whose target\n"
                            "names a node ({node: b, container: web}) is applied by that node's agent;\n"
                            "its times carry the agent's clock bound (docs/fleet.md). fleet.hosts\n"
                            "({office: a}) maps sandbox hosts to nodes: each node's agent builds its hosts\n"
                            "(same addresses, joined to this run's by a VXLAN), starts their services,\n"
                            "samples the probes from them and applies the faults on them. With fleet.engine\n"
                            "swarm the run deploys the agents itself (a Swarm secret with the run's key\n"
                            "and a global service, over fleet.docker_host), with kubernetes as a Secret\n"
                            "and a DaemonSet, and removes them on every exit path; after a SIGKILL,\n"
                            "'aftershock recover' removes them.\n";

static int run_main(int argc, char **argv)
{
    static const struct option opts[] = {{"report-dir", required_argument, NULL, 'r'},
                                         {"repeat", required_argument, NULL, 'n'},
                                         {"timescale", required_argument, NULL, 't'},
                                         {"junit", required_argument, NULL, 'j'},
                                         {"metrics", required_argument, NULL, 'M'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"no-guardian", no_argument, NULL, 'G'},
                                         {"baseline", required_argument, NULL, 'B'},
                                         {"save-baseline", required_argument, NULL, 'S'},
                                         {"tolerance", required_argument, NULL, 'T'},
                                         {"dry-run", no_argument, NULL, 'D'},
                                         {"live", no_argument, NULL, 'L'},
                                         {"annotate", required_argument, NULL, 'A'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ash_run_options o = {.repeat = 1, .log = stderr};
    const char *metrics = NULL;
    char grafana[2048] = "";
    const char *junit = NULL, *baseline_file = NULL, *save_baseline = NULL;
    double tolerance = ASH_BASELINE_DEFAULT_TOLERANCE;
    bool quiet = false, guardian = true, dry_run = false, live = false;
    int c;
    optind = 1;
    opterr = 0; /* getopt would quote the bad word raw: said below, escaped */
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'r':
            o.report_dir = optarg;
            break;
        case 'n': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 10000) {
                ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE,
                                 "aftershock run: --repeat needs a whole number from 1 to 10000, not '%s'\n", optarg);
                return ASH_EXIT_USAGE;
            }
            o.repeat = (int)v;
            break;
        }
        case 't':
            o.timescale = strtod(optarg, &end);
            if (*end || !(o.timescale > 0)) {
                ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE,
                                 "aftershock run: --timescale needs a number above 0, not '%s'\n", optarg);
                return ASH_EXIT_USAGE;
            }
            break;
        case 'j':
            junit = optarg;
            break;
        case 'M':
            metrics = optarg;
            break;
        case 's':
            o.state_dir = optarg;
            break;
        case 'G':
            guardian = false;
            break;
        case 'B':
            baseline_file = optarg;
            break;
        case 'S':
            save_baseline = optarg;
            break;
        case 'T':
            tolerance = strtod(optarg, &end);
            if (*end == '%' && end[1] == '\0')
                tolerance /= 100.0, end++;
            if (*end || !(tolerance >= 0) || tolerance > 100) {
                ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE,
                                 "aftershock run: --tolerance needs a percentage such as 20%% (or 0.2), not '%s'\n",
                                 optarg);
                return ASH_EXIT_USAGE;
            }
            break;
        case 'D':
            dry_run = true;
            break;
        case 'L':
            live = true;
            break;
        case 'A': {
            ash_error_t err = {0};
            if (ash_annotate_parse(optarg, grafana, sizeof grafana, &err) < 0) {
                ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock run: %s\n", err.msg);
                return ASH_EXIT_USAGE;
            }
            break;
        }
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock run: unknown option or missing value: '%s'\n\n",
                             optind > 1 && optind <= argc ? argv[optind - 1] : "?");
            fputs(usage, stderr);
            return ASH_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "aftershock run: no scenario given\n\n%s", usage);
        return ASH_EXIT_USAGE;
    }
    if (dry_run) {
        struct ash_plan_options po = {.state_dir = o.state_dir, .report_dir = o.report_dir};
        return ash_cli_plan((const char *const *)argv + optind, (size_t)(argc - optind), &po, false, stdout);
    }
    o.progress = quiet ? ASH_PROGRESS_QUIET : (isatty(2) ? ASH_PROGRESS_STATUS : ASH_PROGRESS_LINES);
    /* Opt-in: the view takes the whole terminal, which a script or a CI log must not get
     * by surprise; the engine falls back by itself when the terminal is too small. */
    if (live && !quiet && isatty(0) && isatty(2))
        o.progress = ASH_PROGRESS_LIVE;
    char exe[PATH_MAX];
    if (guardian)
        o.guardian_exe = ash_cli_self_exe(exe, sizeof exe);
    /* Ctrl-C (or SIGTERM) at any moment is an orderly abort with a report:
     * blocked from here on, the signal waits for the run's event loop (which
     * reads it through a signalfd) instead of killing the harness while it
     * sets up, or being lost when a shell started us with SIGINT ignored. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    /* Validate every scenario before running any: a typo in the third file must
     * not be found after the first two have run. */
    for (int i = optind; i < argc; i++) {
        ash_error_t err = {0};
        if (ash_validate_file(argv[i], &err) < 0)
            return ash_cli_fail(&err);
    }
    o.warned = true; /* each file's warnings, printed once by its validation above */
    /* A baseline that cannot be read is bad usage: found before anything runs. */
    json_t *baseline = NULL;
    if (baseline_file) {
        ash_error_t err = {0};
        if (ash_baseline_load(baseline_file, &baseline, &err) < 0)
            return ash_cli_fail(&err);
    }
    int status = ASH_EXIT_PASS;
    size_t nrep = 0;
    json_t **reports = calloc((size_t)(argc - optind), sizeof *reports);
    char **dirs = calloc((size_t)(argc - optind), sizeof *dirs);
    for (int i = optind; i < argc && reports && dirs; i++) {
        struct ash_run_result res;
        ash_error_t err = {0};
        if (ash_run_file(argv[i], &o, &res, &err) < 0) {
            int st = ash_cli_fail(&err);
            if (res.report) {
                dirs[nrep] = strdup(res.run_dir);
                reports[nrep++] = res.report;
            }
            if (st > status || status == ASH_EXIT_FAIL)
                status = st;
            if (st == ASH_EXIT_ENV || st == ASH_EXIT_USAGE)
                break;
            continue;
        }
        dirs[nrep] = strdup(res.run_dir);
        reports[nrep++] = res.report;
        const char *why = json_string_value(json_object_get(res.report, "error"));
        if (why && res.verdict != ASH_VERDICT_PASS)
            ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: %s: %s\n", argv[i], why);
        if (!quiet)
            ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "report: %s/report.html\n", res.run_dir);
        if (res.verdict != ASH_VERDICT_PASS && status == ASH_EXIT_PASS)
            status = ASH_EXIT_FAIL;
        if (res.verdict == ASH_VERDICT_ABORTED)
            break;
    }
    /* After every run has ended: a slow Grafana cannot touch a measurement. */
    if (grafana[0] && nrep)
        ash_report_annotate_grafana(reports, (const char *const *)dirs, nrep, grafana, getenv("GRAFANA_TOKEN"), stderr);
    if (nrep) {
        ash_report_print_summary(stdout, (const json_t *const *)reports, nrep, isatty(1));
        ash_report_print_variants(stdout, (const json_t *const *)reports, nrep);
    }
    if (junit && nrep) {
        ash_error_t err = {0};
        if (ash_report_write_junit_many((const json_t *const *)reports, nrep, junit, &err) < 0)
            status = ash_cli_fail(&err);
    }
    if (metrics && nrep) {
        ash_error_t err = {0};
        if (ash_report_write_metrics(metrics, (const json_t *const *)reports, nrep, &err) < 0)
            status = ash_cli_fail(&err);
    }
    if (baseline && nrep) {
        json_t *findings = json_array();
        int regressions = 0;
        for (size_t i = 0; i < nrep && findings; i++) {
            ash_error_t err = {0};
            int r = ash_baseline_compare(baseline, reports[i], tolerance, findings, &err);
            if (r < 0)
                status = ash_cli_fail(&err);
            else
                regressions += r;
        }
        if (findings)
            ash_baseline_print(stdout, findings);
        json_decref(findings);
        if (regressions) {
            ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE,
                             "aftershock: %d figure%s regressed against %s (tolerance %.0f%%)\n", regressions,
                             regressions == 1 ? "" : "s", baseline_file, tolerance * 100);
            if (status == ASH_EXIT_PASS)
                status = ASH_EXIT_FAIL;
        }
    }
    json_decref(baseline);
    if (save_baseline && nrep) {
        ash_error_t err = {0};
        if (ash_baseline_save(save_baseline, (const json_t *const *)reports, nrep, stderr, &err) < 0)
            status = ash_cli_fail(&err);
    }
    for (size_t i = 0; i < nrep; i++) {
        json_decref(reports[i]);
        free(dirs[i]);
    }
    free(reports);
    free(dirs);
    return status;
}

const struct ash_cmd ash_cmd_run = {"run", "replay scenarios and measure TTD/TTR", usage, run_main};
