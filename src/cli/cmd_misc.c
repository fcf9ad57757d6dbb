/* aftershock validate | list | recover | report | schema: the small subcommands. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char validate_usage[] = "usage: aftershock validate [--resolve] SCENARIO...\n\n"
                                     "Parse and check scenarios without running anything. Errors are printed as\n"
                                     "file:line:column: message; unknown keys name the nearest valid key.\n\n"
                                     "  --resolve  also look up the targets that select what already runs\n"
                                     "             (container:, pod:, process:, cgroup:) as `run` would before it\n"
                                     "             starts: the engine socket, the container, the process must be\n"
                                     "             there now, and offer what each fault needs of it (sch_netem for a\n"
                                     "             delay, an eth0 for a qdisc). Prints what each resolved to, and\n"
                                     "             every problem, not only the first. Without it validate needs no\n"
                                     "             engine and runs anywhere.\n\n"
                                     "Exit 0 when all are valid, 2 when one is not, 3 when --resolve cannot find\n"
                                     "a target here or it lacks what its fault needs (each named with its\n"
                                     "file:line:column).\n";

static int validate_main(int argc, char **argv)
{
    bool resolve = argc > 1 && strcmp(argv[1], "--resolve") == 0;
    int first = resolve ? 2 : 1;
    if (argc <= first || argv[first][0] == '-') {
        fputs(validate_usage, stderr);
        return ASH_EXIT_USAGE;
    }
    int status = 0;
    for (int i = first; i < argc; i++) {
        ash_error_t err = {0};
        if (ash_validate_file_resolve(argv[i], resolve, &err) < 0) {
            ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "%s\n", err.msg);
            /* Invalid is 2; only a target --resolve cannot find here is the environment's (3). */
            int st = err.klass == ASH_ERR_ENVIRONMENT ? ASH_EXIT_ENV : ASH_EXIT_USAGE;
            if (st > status)
                status = st;
        } else {
            ash_text_fprintf(stdout, ASH_TEXT_KEEP_NEWLINE, "%s: ok\n", argv[i]);
        }
    }
    return status;
}

static const char list_usage[] = "usage: aftershock list [-v]\n\n"
                                 "List the fault, probe, detector and remediation kinds, one line each, and\n"
                                 "why a kind is unavailable on this machine. -v also lists each kind's keys.\n";

static int list_main(int argc, char **argv)
{
    bool verbose = argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--verbose") == 0);
    if (argc > 2 || (argc == 2 && !verbose)) {
        fputs(list_usage, stderr);
        return ASH_EXIT_USAGE;
    }
    ash_list_kinds(stdout, verbose);
    return 0;
}

static const char recover_usage[] = "usage: aftershock recover [--state-dir DIR] [-v|--records]\n\n"
                                    "Revert whatever a killed run left behind (stopped processes, services,\n"
                                    "namespaces, qdiscs, cgroups, ...) by replaying the undo journals in the state\n"
                                    "directory (default /run/aftershock), one line per record saying what was done\n"
                                    "(\"removed nftables table ash-1a2b3c in network namespace ash-1a2b3c-web\",\n"
                                    "\"thawed cgroup ... of container web (id 3f2a9c01b7e4)\", \"restored\n"
                                    ".../memory.limit_in_bytes to 67108864\"). -v (--records) also prints each\n"
                                    "record as journaled under its line (\"    undone OP {JSON}\", what recover\n"
                                    "printed before; for scripts). Journals of runs still alive are left\n"
                                    "alone. Journals are instructions run as root, so the state directory must\n"
                                    "be a real directory owned by you and writable by nobody else, each journal a\n"
                                    "file you own; a command is run only if the journal's header committed to it\n"
                                    "when the run began, and a directory is removed only if it carries the\n"
                                    "marker of the run that made it. Exit 0 when everything was undone, 1 if\n"
                                    "anything could not be, 2 if a --state-dir named does not exist, 3 if the\n"
                                    "state directory is refused.\n";

static int recover_main(int argc, char **argv)
{
    const char *dir = ASH_DEFAULT_STATE_DIR;
    bool named = false;
    unsigned flags = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--records") == 0 || strcmp(argv[i], "--verbose") == 0)
            flags |= ASH_RECOVER_RECORDS;
        else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc)
            dir = argv[++i], named = true;
        else if (strncmp(argv[i], "--state-dir=", 12) == 0)
            dir = argv[i] + 12, named = true;
        else {
            fputs(recover_usage, stderr);
            return ASH_EXIT_USAGE;
        }
    }
    ash_error_t err = {0};
    /* A state directory the user named and that is not there is most likely a
     * typo after an incident: "nothing to recover" would read as a clean
     * machine. The default one is missing on a machine no run has used. */
    struct stat st;
    if (named && stat(dir, &st) < 0 && errno == ENOENT) {
        ash_error(&err, 0,
                  "no state directory %s: nothing was checked (give the --state-dir the run used; the default is "
                  "%s)",
                  dir, ASH_DEFAULT_STATE_DIR);
        ash_cli_fail(&err);
        return ASH_EXIT_USAGE;
    }
    int failed = ash_recover_with(dir, stdout, flags, &err);
    if (failed < 0)
        return ash_cli_fail(&err);
    return failed ? ASH_EXIT_FAIL : 0;
}

static const char report_usage[] = "usage: aftershock report [--metrics FILE|DIR] DIR...\n\n"
                                   "Re-render junit.xml, report.md, report.html and gameday.md/.html of each run\n"
                                   "directory from its report.json (and the folder's index.html, when it has\n"
                                   "one), and print the summary table.\n\n"
                                   "  --metrics FILE|DIR  also write the runs' TTD/TTR/impact (per run and median),\n"
                                   "                      the incident's own TTD/TTR and expectations met as\n"
                                   "                      Prometheus text with labels scenario, incident, variant\n"
                                   "                      and run (node exporter textfile collector; a directory:\n"
                                   "                      DIR/aftershock.prom; of several runs of one scenario, the\n"
                                   "                      newest)\n";

static int report_main(int argc, char **argv)
{
    const char *metrics = NULL;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--metrics") == 0) {
        metrics = argv[2];
        first = 3;
    } else if (argc > 1 && strncmp(argv[1], "--metrics=", 10) == 0) {
        metrics = argv[1] + 10;
        first = 2;
    }
    if (argc <= first) {
        fputs(report_usage, stderr);
        return ASH_EXIT_USAGE;
    }
    int status = 0;
    json_t **all = calloc((size_t)argc, sizeof *all);
    size_t nall = 0;
    for (int i = first; i < argc; i++) {
        ash_error_t err = {0};
        char path[4200];
        json_t *rep = NULL;
        snprintf(path, sizeof path, "%s/report.json", argv[i]);
        if (ash_report_rerender(argv[i], &err) < 0 || ash_report_load(path, &rep, &err) < 0) {
            status = ash_cli_fail(&err);
            continue;
        }
        const json_t *one[] = {rep};
        ash_report_print_summary(stdout, one, 1, isatty(1));
        if (all)
            all[nall++] = rep;
        else
            json_decref(rep);
    }
    if (metrics) {
        ash_error_t err = {0};
        if (!all)
            status = ASH_EXIT_FAIL;
        else if (nall && ash_report_write_metrics(metrics, (const json_t *const *)all, nall, &err) < 0)
            status = ash_cli_fail(&err);
    }
    for (size_t i = 0; i < nall; i++)
        json_decref(all[i]);
    free(all);
    return status;
}

static const char schema_usage[] = "usage: aftershock schema\n\n"
                                   "Print the JSON Schema of the scenario format (generated from the kind\n"
                                   "tables; scenarios/schema.json is this output).\n";

static int schema_main(int argc, char **argv)
{
    if (argc > 1) {
        fputs(schema_usage, stderr);
        return ASH_EXIT_USAGE;
    }
    json_t *schema;
    ash_error_t err = {0};
    if (ash_scenario_schema(&schema, &err) < 0)
        return ash_cli_fail(&err);
    json_dumpf(schema, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(schema);
    return 0;
}

const struct ash_cmd ash_cmd_validate = {"validate", "check scenarios without running them", validate_usage,
                                         validate_main};
const struct ash_cmd ash_cmd_list = {"list", "list fault, probe, detector and remediation kinds", list_usage,
                                     list_main};
const struct ash_cmd ash_cmd_recover = {"recover", "revert what a killed run left behind", recover_usage, recover_main};
const struct ash_cmd ash_cmd_report = {"report", "re-render reports from DIR/report.json", report_usage, report_main};
const struct ash_cmd ash_cmd_schema = {"schema", "print the scenario JSON Schema", schema_usage, schema_main};
