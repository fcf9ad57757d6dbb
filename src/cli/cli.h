/* The aftershock command: one small file per subcommand, all work in libaftershock. */
#ifndef ASH_CLI_H
#define ASH_CLI_H

#include <aftershock/aftershock.h>
#include <stdio.h>

struct ash_cmd {
    const char *name;
    const char *summary;
    const char *usage; /* full help text */
    int (*main)(int argc, char **argv);
};

extern const struct ash_cmd ash_cmd_run, ash_cmd_validate, ash_cmd_list, ash_cmd_recover, ash_cmd_report,
    ash_cmd_schema, ash_cmd_doctor, ash_cmd_plan, ash_cmd_abort, ash_cmd_mark, ash_cmd_agent;

/* Print "aftershock: msg" to stderr and return the exit status for err. */
int ash_cli_fail(const ash_error_t *err);
/* Print the plan of each file (text or JSON) to out; the exit status: 0, 2 (a scenario
 * is invalid) or 3 (this machine cannot run one). `plan` and `run --dry-run`. */
int ash_cli_plan(const char *const *files, size_t n, const struct ash_plan_options *po, bool json, FILE *out);
/* This binary's path (to start the guardian), or NULL when /proc/self/exe cannot be read. */
const char *ash_cli_self_exe(char *buf, size_t len);
/* true if argv has -h/--help before "--". */
int ash_cli_wants_help(int argc, char **argv);

#endif
