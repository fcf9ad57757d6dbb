/* Action `exec: [cmd...]`: run a runbook command to completion (bounded). */
#include "env/env.h"
#include "kinds.h"
#include "sys/clock.h"
#include "sys/proc.h"

#include <errno.h>

struct exec_action_conf {
    struct ash_strlist command;
    int64_t timeout_ns;
};

static const struct ash_field exec_action_fields[] = {
    {"command", ASH_F_ARGV, offsetof(struct exec_action_conf, command), ASH_FIELD_REQUIRED, "command to run"},
    {"timeout", ASH_F_DURATION, offsetof(struct exec_action_conf, timeout_ns), 0, "limit (default 30s)"},
    {NULL}};

static void exec_action_defaults(void *conf)
{
    ((struct exec_action_conf *)conf)->timeout_ns = 30 * ASH_NS_PER_S;
}

static int exec_action_run(struct ash_ctx *ctx, const struct ash_remediation_spec *r, ash_error_t *err)
{
    const struct exec_action_conf *c = r->conf;
    char **argv = ash_env_argv(&c->command, ctx->scenario->dir, ctx->run_dir);
    if (!argv)
        return ash_error(err, ENOMEM, "exec");
    int ret = ash_run_command(argv, c->timeout_ns, err);
    ash_argv_free(argv);
    return ret;
}

const struct ash_action_kind ash_action_exec = {
    .c = {.name = "exec",
          .summary = "run a command",
          .fields = exec_action_fields,
          .conf_size = sizeof(struct exec_action_conf),
          .defaults = exec_action_defaults,
          .shorthand = "command"},
    .run = exec_action_run,
};
