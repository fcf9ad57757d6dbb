/* aftershock agent: serve one fleet run on this node (src/fleet/agent.c does the work). */
#include "cli.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>

static const char usage[] = "usage: aftershock agent --connect HOST:PORT --key-file FILE --node NAME\n"
                            "                        [--lease DURATION] [--state-dir DIR] [--no-guardian]\n\n"
                            "Serve one fleet run on this node: connect out to the coordinator (this node\n"
                            "opens no port), prove the run's key in a TLS 1.3 handshake, say hello with\n"
                            "this node's name and the containers its engine has ($DOCKER_HOST, else the\n"
                            "default socket; none said without one), take the scenario, and inject and\n"
                            "revert the faults the coordinator names, through the same fault kinds as a\n"
                            "local run. Targets are resolved on this node (container:, pod:, process:,\n"
                            "cgroup:). Each change is journalled in the state directory first, and\n"
                            "timeline events go back to the coordinator with this node's clock, which the\n"
                            "coordinator maps onto its own.\n\n"
                            "The lease is a dead-man switch: when the coordinator says nothing for that\n"
                            "long, or the connection drops, or SIGTERM/SIGINT arrives, every fault applied\n"
                            "here is reverted and the agent exits 1 saying why. If the agent itself is\n"
                            "killed, its guardian reverts (or 'aftershock recover --state-dir DIR').\n"
                            "See docs/fleet.md.\n\n"
                            "Options:\n"
                            "  --connect HOST:PORT  the coordinator ([IPV6]:PORT for an IPv6 address)\n"
                            "  --key-file FILE      the run's fleet key (64 hex digits; a Swarm or Kubernetes\n"
                            "                       secret mounts it as a file)\n"
                            "  --node NAME          this node's name (1-127 bytes), as the coordinator knows it\n"
                            "                       (default: $AFTERSHOCK_NODE, which a Swarm service sets)\n"
                            "  --lease DURATION     revert everything after this long without a word (default 3s)\n"
                            "  --state-dir DIR      undo journal location (default /run/aftershock)\n"
                            "  --no-guardian        do not start the guardian that reverts if the agent is killed\n\n"
                            "Exit status: 0 the coordinator ended the run (everything reverted); 1 the agent\n"
                            "left on its own (lease lapsed, connection lost, signal, handshake refused: said\n"
                            "on stderr; everything reverted unless it says otherwise); 2 bad usage or key file.\n";

static int agent_main(int argc, char **argv)
{
    static const struct option opts[] = {{"connect", required_argument, NULL, 'c'},
                                         {"key-file", required_argument, NULL, 'k'},
                                         {"node", required_argument, NULL, 'n'},
                                         {"lease", required_argument, NULL, 'l'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"no-guardian", no_argument, NULL, 'G'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ash_agent_opts o = {0};
    bool guardian = true;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.connect = optarg;
            break;
        case 'k':
            o.key_file = optarg;
            break;
        case 'n':
            o.node = optarg;
            break;
        case 'l':
            if (ash_parse_duration(optarg, &o.lease_ns) < 0 || o.lease_ns <= 0) {
                fprintf(stderr, "aftershock agent: --lease '%s' is not a duration above zero (3s, 500ms)\n", optarg);
                return ASH_EXIT_USAGE;
            }
            break;
        case 's':
            o.state_dir = optarg;
            break;
        case 'G':
            guardian = false;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return ASH_EXIT_USAGE;
        }
    }
    /* A Swarm service names each task's node only through a template in its
     * environment (templates do not expand in arguments): docs/fleet.md. */
    if (!o.node && getenv("AFTERSHOCK_NODE") && *getenv("AFTERSHOCK_NODE"))
        o.node = getenv("AFTERSHOCK_NODE");
    if (optind != argc || !o.connect || !o.key_file || !o.node) {
        fprintf(stderr, "aftershock agent: --connect, --key-file and --node are required\n\n%s", usage);
        return ASH_EXIT_USAGE;
    }
    char exe[PATH_MAX];
    if (guardian)
        o.guardian_exe = ash_cli_self_exe(exe, sizeof exe);
    ash_error_t err = {0};
    if (ash_agent_run(&o, &err) < 0) {
        ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock agent: %s\n", err.msg);
        return err.klass == ASH_ERR_USAGE ? ASH_EXIT_USAGE : ASH_EXIT_FAIL;
    }
    return 0;
}

const struct ash_cmd ash_cmd_agent = {"agent", "serve a fleet run on this node (connects out to the coordinator)",
                                      usage, agent_main};
