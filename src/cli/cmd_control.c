/* aftershock abort | mark: steer a live run from another terminal (its control socket). */
#include "cli.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

static const char abort_usage[] =
    "usage: aftershock abort [--run RUN_ID] [--state-dir DIR]\n\n"
    "Abort a live run from another terminal, as Ctrl-C in its own would: every\n"
    "fault is reverted, the services stopped, the report written with verdict\n"
    "'aborted' (the timeline says who aborted it). The run is reached through its\n"
    "control socket, STATE_DIR/RUN_ID.sock (0600, in the state directory of the\n"
    "user running it; only that user or root is served). Without --run, the only\n"
    "live run in the state directory.\n\n"
    "Options:\n"
    "  --run RUN_ID       which run (report.json runs[].run_id; needed when several are live)\n"
    "  --state-dir DIR    the run's state directory (default /run/aftershock)\n\n"
    "Exit status: 0 the run took it; 1 no such live run; 2 bad usage or several live runs.\n";

static const char mark_usage[] =
    "usage: aftershock mark [--run RUN_ID] [--state-dir DIR] detected|mitigated|recovered\n"
    "       aftershock mark [--run RUN_ID] [--state-dir DIR] note TEXT\n\n"
    "Put a mark on a live run's timeline, at the moment this command sends it: the\n"
    "game day's own record of when people detected, mitigated and saw recovery, or\n"
    "a note. A scenario with a 'human' detector takes 'mark detected' as the\n"
    "detection (TTD). Marks are in report.json's timeline (mark-detected, ...) and\n"
    "in the terminal summary. Reached like 'aftershock abort' (see its --help).\n\n"
    "Options:\n"
    "  --run RUN_ID       which run (needed when several are live)\n"
    "  --state-dir DIR    the run's state directory (default /run/aftershock)\n\n"
    "Exit status: 0 the run took it; 1 no such live run; 2 bad usage or several live runs.\n";

static int parse(int argc, char **argv, const char *usage, const char **run, const char **state_dir)
{
    static const struct option opts[] = {{"run", required_argument, NULL, 'r'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            *run = optarg;
            break;
        case 's':
            *state_dir = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return ASH_EXIT_USAGE;
        }
    }
    return -1;
}

static int send_request(const char *state_dir, const char *run, const char *req, long long sent)
{
    char answer[256];
    ash_error_t err = {0};
    if (ash_control_send(state_dir, run, req, answer, sizeof answer, &err) < 0)
        return ash_cli_fail(&err);
    if (sent > 0) /* the time the run records the mark at */
        ash_text_fprintf(stdout, ASH_TEXT_KEEP_NEWLINE, "%s (sent at CLOCK_MONOTONIC %lld ns)\n", answer, sent);
    else
        ash_text_fprintf(stdout, ASH_TEXT_KEEP_NEWLINE, "%s\n", answer);
    return 0;
}

static int abort_main(int argc, char **argv)
{
    const char *run = NULL, *state_dir = NULL;
    int st = parse(argc, argv, abort_usage, &run, &state_dir);
    if (st >= 0)
        return st;
    if (optind != argc) {
        fputs(abort_usage, stderr);
        return ASH_EXIT_USAGE;
    }
    return send_request(state_dir, run, "abort\n", 0);
}

static int mark_main(int argc, char **argv)
{
    const char *run = NULL, *state_dir = NULL;
    int st = parse(argc, argv, mark_usage, &run, &state_dir);
    if (st >= 0)
        return st;
    /* The send time first: the mark means "now", not after the connection is made. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    int left = argc - optind;
    const char *what = left > 0 ? argv[optind] : "";
    char req[1024];
    if (strcmp(what, "note") == 0 && left == 2) {
        const char *text = argv[optind + 1];
        if (strchr(text, '\n') || strlen(text) > 900) {
            fprintf(stderr, "aftershock mark: a note is one line of at most 900 bytes\n");
            return ASH_EXIT_USAGE;
        }
        snprintf(req, sizeof req, "note %lld %s\n", now, text);
    } else if (left == 1 &&
               (strcmp(what, "detected") == 0 || strcmp(what, "mitigated") == 0 || strcmp(what, "recovered") == 0)) {
        snprintf(req, sizeof req, "mark %s %lld\n", what, now);
    } else {
        fputs(mark_usage, stderr);
        return ASH_EXIT_USAGE;
    }
    return send_request(state_dir, run, req, now);
}

const struct ash_cmd ash_cmd_abort = {"abort", "abort a live run from another terminal (everything reverted)",
                                      abort_usage, abort_main};
const struct ash_cmd ash_cmd_mark = {"mark", "mark detected/mitigated/recovered or a note on a live run's timeline",
                                     mark_usage, mark_main};
