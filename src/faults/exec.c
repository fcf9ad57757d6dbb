/* Fault `exec`: run a command to inject and another to revert (escape hatch for anything else). */
#include "env/env.h"
#include "kinds.h"
#include "sys/clock.h"
#include "sys/fs.h"
#include "sys/journal.h"
#include "sys/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct exec_conf {
    struct ash_strlist inject;
    struct ash_strlist revert;
    int64_t timeout_ns;
};

static const struct ash_field exec_fields[] = {
    {"inject", ASH_F_ARGV, offsetof(struct exec_conf, inject), ASH_FIELD_REQUIRED, "command that applies the fault"},
    {"revert", ASH_F_ARGV, offsetof(struct exec_conf, revert), 0, "command that undoes it (journaled for recover)"},
    {"timeout", ASH_F_DURATION, offsetof(struct exec_conf, timeout_ns), 0, "limit for each command (default 10s)"},
    {NULL}};

static void exec_defaults(void *conf)
{
    ((struct exec_conf *)conf)->timeout_ns = 10 * ASH_NS_PER_S;
}

struct exec_state {
    uint64_t journal_id;
    char **inject, **revert; /* with {run_dir} and {scenario_dir} substituted */
    int out_fd;              /* RUN_DIR/logs/faults/NAME.log, -1 if it could not be opened */
};

static void exec_state_free(struct exec_state *st)
{
    if (!st)
        return;
    ash_argv_free(st->inject);
    ash_argv_free(st->revert);
    if (st->out_fd >= 0)
        close(st->out_fd);
    free(st);
}

/* The commands' output goes where services' does, under the run directory (a
 * subdirectory, so a fault and a service of the same name do not share a file).
 * Not having it is no reason to refuse the fault: say so in the timeline. */
static int open_output(struct ash_ctx *ctx, const struct ash_fault_spec *f)
{
    if (!ctx->run_dir)
        return -1;
    char path[4096];
    ash_error_t e = {0};
    snprintf(path, sizeof path, "%s/logs/faults", ctx->run_dir);
    int fd = -1;
    if (ash_mkdir_p(path, 0755, &e) == 0) {
        if (snprintf(path, sizeof path, "%s/logs/faults/%s.log", ctx->run_dir, f->name) >= (int)sizeof path)
            errno = ENAMETOOLONG;
        else
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            ash_error(&e, errno, "cannot open %s", path);
    }
    if (fd < 0)
        ash_ctx_eventf(ctx, ash_now_ns(), "warning", "%s: the exec fault's output is not saved: %s", f->name, e.msg);
    return fd;
}

/* One command's run in the output file, framed so inject and revert output can be told apart. */
static int run_logged(struct exec_state *st, const char *what, char **argv, int64_t timeout_ns, ash_error_t *err)
{
    if (st->out_fd >= 0) {
        char stamp[40];
        ash_format_iso8601(ash_wall_ns(), stamp, sizeof stamp);
        dprintf(st->out_fd, "--- %s %s:", stamp, what);
        for (size_t i = 0; argv[i]; i++)
            dprintf(st->out_fd, " %s", argv[i]);
        dprintf(st->out_fd, "\n");
    }
    ash_error_t e = {0};
    int ret = ash_run_command_out(argv, timeout_ns, st->out_fd, &e);
    if (st->out_fd >= 0)
        dprintf(st->out_fd, "--- %s: %s\n", what, ret < 0 ? e.msg : "exited 0");
    if (ret < 0 && err)
        *err = e;
    return ret;
}

/* The exec.revert record for this revert command; inject journals it and commit promises it
 * in the journal header, so both must build it the same way. */
static json_t *revert_record(const struct exec_conf *c, char **revert)
{
    json_t *argv = json_array();
    for (size_t i = 0; argv && revert[i]; i++)
        json_array_append_new(argv, json_string(revert[i]));
    return json_pack("{s:o, s:I}", "argv", argv, "timeout_ns", (json_int_t)c->timeout_ns);
}

static int exec_commit(const struct ash_fault_spec *f, const char *scenario_dir, const char *run_dir, json_t *commit,
                       ash_error_t *err)
{
    const struct exec_conf *c = f->conf;
    if (!c->revert.n)
        return 0;
    char **revert = ash_env_argv(&c->revert, scenario_dir, run_dir);
    json_t *d = revert ? revert_record(c, revert) : NULL;
    ash_argv_free(revert);
    if (!d || json_array_append_new(commit, json_pack("{s:s, s:o}", "op", "exec.revert", "data", d)) < 0)
        return ash_error(err, ENOMEM, "exec fault");
    return 0;
}

static int exec_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    struct exec_conf *c = f->conf;
    struct exec_state *st = calloc(1, sizeof *st);
    if (st)
        st->out_fd = -1;
    if (!st || !(st->inject = ash_env_argv(&c->inject, ctx->scenario->dir, ctx->run_dir)) ||
        (c->revert.n && !(st->revert = ash_env_argv(&c->revert, ctx->scenario->dir, ctx->run_dir)))) {
        exec_state_free(st);
        return ash_error(err, ENOMEM, "exec fault");
    }
    if (st->revert) {
        json_t *d = revert_record(c, st->revert);
        int r = d ? 0 : ash_error(err, ENOMEM, "exec fault");
        if (r == 0)
            r = ash_journal_append(ctx->journal, "exec.revert", d, &st->journal_id, err);
        json_decref(d);
        if (r < 0) {
            exec_state_free(st);
            return -1;
        }
    }
    st->out_fd = open_output(ctx, f);
    if (run_logged(st, "inject", st->inject, c->timeout_ns, err) < 0) {
        /* The inject command may have half-applied: run the revert command as well. */
        if (st->revert)
            run_logged(st, "revert", st->revert, c->timeout_ns, NULL);
        if (st->journal_id)
            ash_journal_done(ctx->journal, st->journal_id, NULL);
        exec_state_free(st);
        return ash_error_wrap(err, "inject command");
    }
    *state = st;
    return 0;
}

static int exec_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    struct exec_conf *c = f->conf;
    struct exec_state *st = state;
    int ret = 0;
    if (st && st->revert) {
        ret = run_logged(st, "revert", st->revert, c->timeout_ns, err);
        if (ret < 0)
            ash_error_wrap(err, "revert command");
        else if (st->journal_id)
            ash_journal_done(ctx->journal, st->journal_id, NULL); /* a failed mark: the engine warns */
    }
    exec_state_free(st);
    return ret;
}

static int undo_exec(json_t *rec, ash_error_t *err)
{
    json_t *argv = json_object_get(rec, "argv");
    size_t n = json_array_size(argv);
    if (n == 0)
        return 0;
    char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return ash_error(err, ENOMEM, "exec undo");
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++)
        if (!(v[i] = strdup(json_string_value(json_array_get(argv, i)) ?: "")))
            ret = ash_error(err, ENOMEM, "exec undo");
    int64_t timeout = (int64_t)json_integer_value(json_object_get(rec, "timeout_ns"));
    if (ret == 0)
        ret = ash_run_command(v, timeout > 0 ? timeout : 10 * ASH_NS_PER_S, err);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return ret;
}

static const char *exec_no_revert(const struct ash_fault_spec *f)
{
    const struct exec_conf *c = f->conf;
    return c->revert.n ? NULL : "it has no 'revert:' command";
}

static json_t *argv_json(char **v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static int exec_describe(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out, ash_error_t *err)
{
    const struct exec_conf *c = f->conf;
    char **inject = ash_env_argv(&c->inject, d->scenario->dir, d->run_dir);
    char **revert = c->revert.n ? ash_env_argv(&c->revert, d->scenario->dir, d->run_dir) : NULL;
    if (!inject || (c->revert.n && !revert)) {
        ash_argv_free(inject);
        ash_argv_free(revert);
        return ash_error(err, ENOMEM, "exec fault");
    }
    char a[512], b[512];
    struct ash_strlist li = {inject, c->inject.n}, lr = {revert, c->revert.n};
    ash_describe_join(a, sizeof a, &li, " ");
    ash_describe_join(b, sizeof b, &lr, " ");
    json_object_set_new(
        out, "mechanism",
        revert
            ? json_sprintf("run `%s`; revert: `%s` (each within %.0f ms)", a, b, (double)c->timeout_ns / 1e6)
            : json_sprintf("run `%s` (within %.0f ms); one-shot: no revert command", a, (double)c->timeout_ns / 1e6));
    json_object_set_new(
        out, "commands",
        json_pack("{s:o, s:o}", "inject", argv_json(inject), "revert", revert ? argv_json(revert) : json_null()));
    char log[4200];
    snprintf(log, sizeof log, "%s/logs/faults/%s.log", d->run_dir, f->name);
    ash_describe_object(out, "file", log, "root", revert ? "exec.revert" : NULL, "the commands' output");
    ash_argv_free(inject);
    ash_argv_free(revert);
    return 0;
}

static const struct ash_undo_op exec_undo[] = {
    {"exec.revert", undo_exec, true, "ran the fault's revert command: {argv}"}, {NULL, NULL, false, NULL}};

const struct ash_fault_kind ash_fault_exec = {
    .c = {.name = "exec",
          .summary = "run a command to inject and another to revert",
          .fields = exec_fields,
          .conf_size = sizeof(struct exec_conf),
          .defaults = exec_defaults},
    .inject = exec_inject,
    .revert = exec_revert,
    .undo_ops = exec_undo,
    .commit = exec_commit,
    .no_revert = exec_no_revert,
    .describe = exec_describe,
};
