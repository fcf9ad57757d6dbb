/* aftershock doctor: what this machine supports, each item with yes/no and why. */
#include "cli.h"

#include <string.h>

static const char doctor_usage[] = "usage: aftershock doctor\n\n"
                                   "Try what aftershock needs on this machine and print, per section, each item\n"
                                   "with yes/no and the reason: privileges, namespaces and links, cgroup mode and\n"
                                   "controllers (freeze, kill), qdiscs (tbf, htb, netem), nftables, seccomp user\n"
                                   "notification, PSI. Things are tried for real inside a throw-away network\n"
                                   "namespace or cgroup, so run it as the user that runs scenarios (root for\n"
                                   "sandbox mode). Exit 0 after printing; 2 on bad usage.\n";

static int doctor_main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fputs(doctor_usage, stderr);
        return ASH_EXIT_USAGE;
    }
    ash_doctor(stdout);
    return 0;
}

const struct ash_cmd ash_cmd_doctor = {"doctor", "what this machine supports (namespaces, cgroups, qdiscs, ...)",
                                       doctor_usage, doctor_main};
