/* Action `exec: [cmd...]`: run a runbook command to completion (bounded). */
#include "env/env.h"
#include "kinds.h"
#include "sys/clock.h"
#include "sys/proc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>

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
    char **argv = calloc(c->command.n + 1, sizeof *argv);
    int ret = -1;
    if (!argv)
        return ash_error(err, ENOMEM, "exec");
    for (size_t i = 0; i < c->command.n; i++)
        if (!(argv[i] = ash_env_substitute(c->command.v[i], ctx->scenario->dir, ctx->run_dir))) {
            ash_error(err, ENOMEM, "exec");
            goto out;
        }
    struct ash_spawn_opts o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .new_pgroup = true};
    struct ash_child ch;
    if (ash_spawn(&o, &ch, err) < 0)
        goto out;
    struct pollfd p = {.fd = ch.pidfd, .events = POLLIN};
    int status = 0;
    if (poll(&p, 1, (int)(c->timeout_ns / ASH_NS_PER_MS)) != 1 || ash_child_reap(&ch, &status) != 1) {
        ash_child_terminate(&ch, 0, true);
        ash_child_close(&ch);
        ash_error(err, ETIMEDOUT, "'%s' did not finish in time", argv[0]);
        goto out;
    }
    ash_child_close(&ch);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char how[64];
        ash_wait_status_str(status, how, sizeof how);
        ash_error(err, 0, "'%s' %s", argv[0], how);
        goto out;
    }
    ret = 0;
out:
    for (size_t i = 0; i < c->command.n; i++)
        free(argv[i]);
    free(argv);
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
