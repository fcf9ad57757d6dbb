/* aftershock plan: what a run would do and touch, in order, without doing any of it. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
    "usage: aftershock plan [--format text|json] [--run-id ID] [--state-dir DIR] [--report-dir DIR] SCENARIO...\n\n"
    "Print, without starting, building or injecting anything, what 'aftershock run'\n"
    "would do and touch, in order: the sandbox it would build (network namespaces,\n"
    "links, cgroups and nftables tables, by the names the run would give them), the\n"
    "services it would start (command, host, readiness check), the probes and\n"
    "detectors, each fault at its offset with its mechanism (qdisc or nftables\n"
    "table on which interface, cgroup file and value, syscalls, database lock, DNS\n"
    "answers, crash mode), the remediations, expectations, the expected duration\n"
    "and what the undo journal would hold. 'run --dry-run' prints the same.\n\n"
    "Options:\n"
    "  --format FORMAT    text (default) or json (an aftershock/plan-v1 document)\n"
    "  --run-id ID        name objects as a run with this id would (1-11 letters or\n"
    "                     digits); default: the pattern, with <run> for the id\n"
    "  --state-dir DIR    where the run's journal would be (default /run/aftershock)\n"
    "  --report-dir DIR   parent of the run directory (default: reports)\n"
    "  -h, --help         this help\n\n"
    "Its containers, processes and cgroups are looked up as 'run' looks them up before\n"
    "it starts, and each fault is asked what it needs of its target (sch_netem for a\n"
    "delay, an eth0 for a qdisc); every problem is listed.\n\n"
    "Exit status: 0 the plan was printed and this machine can run it; 2 bad usage or\n"
    "an invalid scenario (what 'validate' rejects); 3 printed, but this machine cannot\n"
    "run it (missing privilege, kernel feature, user, engine socket, container, process\n"
    "or cgroup, or what a fault needs of one; each named).\n";

int ash_cli_plan(const char *const *files, size_t n, const struct ash_plan_options *po, bool json, FILE *out)
{
    int status = ASH_EXIT_PASS;
    for (size_t i = 0; i < n; i++) {
        json_t *plan = NULL;
        ash_error_t err = {0};
        if (ash_plan_file(files[i], po, &plan, &err) < 0) {
            int st = ash_cli_fail(&err);
            if (st > status)
                status = st;
            continue;
        }
        if (json) {
            json_dumpf(plan, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', out);
        } else {
            if (i)
                fputc('\n', out);
            ash_plan_print(out, plan);
        }
        if (!json_is_true(json_object_get(json_object_get(plan, "environment"), "ok")) && status < ASH_EXIT_ENV)
            status = status == ASH_EXIT_USAGE ? status : ASH_EXIT_ENV;
        json_decref(plan);
    }
    return status;
}

static int plan_main(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"run-id", required_argument, NULL, 'i'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"report-dir", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ash_plan_options po = {0};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "text") != 0) {
                fprintf(stderr, "aftershock plan: --format is text or json, not '%s'\n", optarg);
                return ASH_EXIT_USAGE;
            }
            break;
        case 'i':
            po.run_id = optarg;
            break;
        case 's':
            po.state_dir = optarg;
            break;
        case 'r':
            po.report_dir = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return ASH_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "aftershock plan: no scenario given\n\n%s", usage);
        return ASH_EXIT_USAGE;
    }
    return ash_cli_plan((const char *const *)argv + optind, (size_t)(argc - optind), &po, json, stdout);
}

const struct ash_cmd ash_cmd_plan = {"plan", "print what a run would do and touch, without doing it", usage, plan_main};
