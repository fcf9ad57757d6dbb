/* aftershock: dispatch to a subcommand; --help, --version. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct ash_cmd *const commands[] = {&ash_cmd_run,     &ash_cmd_plan,   &ash_cmd_validate, &ash_cmd_list,
                                                 &ash_cmd_recover, &ash_cmd_report, &ash_cmd_schema,   &ash_cmd_doctor,
                                                 &ash_cmd_abort,   &ash_cmd_mark,   &ash_cmd_agent,    NULL};

static void usage(FILE *out)
{
    fprintf(out, "usage: aftershock COMMAND [OPTIONS] [ARGS]\n\n"
                 "Replay documented production incidents as fault-injection experiments and\n"
                 "measure how long the system under test takes to detect and recover.\n\n"
                 "Commands:\n");
    for (size_t i = 0; commands[i]; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nRun 'aftershock COMMAND --help' for a command's options.\n\n"
                 "Exit status: 0 all expectations met; 1 an expectation failed (or a run\n"
                 "failed, or a fault could not be reverted: verdict 'error'); 2 bad usage or\n"
                 "invalid scenario (nothing was injected); 3 the environment cannot run it\n"
                 "(missing privilege or kernel feature, a state directory that cannot take\n"
                 "the journal; named).\n");
}

int ash_cli_fail(const ash_error_t *err)
{
    ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: %s\n", err->msg);
    return ash_exit_status(err);
}

const char *ash_cli_self_exe(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

int ash_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return ASH_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    /* Internal entry points of the same binary (not listed). */
    if (strcmp(cmd, "__guardian") == 0) {
        if (argc != 5)
            return ASH_EXIT_USAGE;
        return ash_guardian_main(argv[2], atoi(argv[3]), argv[4]);
    }
    if (strcmp(cmd, "__lock-holder") == 0)
        return ash_lockhold_main(argc - 1, argv + 1);
    if (strcmp(cmd, "__balloon") == 0)
        return ash_balloon_main(argc - 1, argv + 1);
    if (strcmp(cmd, "__seccomp-exec") == 0)
        return ash_seccomp_exec_main(argc - 1, argv + 1);
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("aftershock %s\n", ASH_VERSION);
        return 0;
    }
    for (size_t i = 0; commands[i]; i++) {
        if (strcmp(cmd, commands[i]->name) != 0)
            continue;
        if (ash_cli_wants_help(argc - 1, argv + 1)) {
            fputs(commands[i]->usage, stdout);
            return 0;
        }
        return commands[i]->main(argc - 1, argv + 1);
    }
    ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return ASH_EXIT_USAGE;
}
