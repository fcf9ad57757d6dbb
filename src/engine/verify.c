/* Post-recovery checks (`verify:`): each command runs as a child watched
 * through its pidfd on the run's loop, with a kill timer for its timeout; its
 * output is kept in RUN_DIR/verify/NAME.log and the first lines go to the report. */
#include "engine/verify.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "sys/clock.h"
#include "sys/fs.h"
#include "sys/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERIFY_OUTPUT_MAX 2048 /* bytes of output kept in the report */

struct check_run {
    struct ash_child child;
    bool done, timed_out;
    int status;
};

static void on_exit_fd(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    struct check_run *c = data;
    if (!ash_child_reap(&c->child, &c->status))
        return;
    ash_loop_del_fd(loop, fd);
    c->done = true;
}

static int64_t on_timeout(ash_loop *loop, int64_t now, void *data)
{
    (void)loop, (void)now;
    struct check_run *c = data;
    if (!c->done) {
        c->timed_out = true;
        kill(-c->child.pid, SIGKILL); /* on_exit_fd reaps it */
    }
    return ASH_TIMER_DONE;
}

/* The first VERIFY_OUTPUT_MAX bytes of the log, cut at a line end when it is long. */
static json_t *read_output(const char *path)
{
    char buf[VERIFY_OUTPUT_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return json_string("");
    ssize_t n = read(fd, buf, VERIFY_OUTPUT_MAX);
    close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    if (n == VERIFY_OUTPUT_MAX) {
        char *nl = strrchr(buf, '\n');
        if (nl)
            nl[1] = '\0';
    }
    /* Invalid UTF-8 would make jansson refuse the string: keep ASCII only. */
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p >= 0x80 || ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t'))
            *p = '?';
    return json_string(buf);
}

static int enter_host(void *host)
{
    return ash_host_enter(host);
}

static json_t *run_one(struct ash_ctx *ctx, const struct ash_verify_spec *v, int64_t t_start)
{
    static const char *const expect_names[] = {"pass", "fail"};
    char dir[4096], log[4200], error[600] = "";
    json_t *cmd = json_array();
    for (size_t i = 0; i < v->command.n; i++)
        json_array_append_new(cmd, json_string(v->command.v[i]));
    snprintf(dir, sizeof dir, "%s/verify", ctx->run_dir ? ctx->run_dir : ".");
    snprintf(log, sizeof log, "%s/%s.log", dir, v->name);
    ash_error_t err = {0};
    char **argv = ash_env_argv(&v->command, ctx->scenario->dir, ctx->run_dir);
    int out = -1;
    struct check_run c = {.child = {.pid = -1, .pidfd = -1}};
    int64_t t0 = ash_now_ns(), t1 = t0;
    bool ran = false;
    if (!argv) {
        snprintf(error, sizeof error, "out of memory");
        goto report;
    }
    if (ash_mkdir_p(dir, 0755, &err) < 0 || (out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        snprintf(error, sizeof error, "cannot write %s: %s", log, err.msg[0] ? err.msg : strerror(errno));
        goto report;
    }
    ash_ctx_eventf(ctx, t0, "verify-start", "%s: %s", v->name, argv[0]);
    struct ash_spawn_opts o = {
        .argv = argv, .stdin_fd = -1, .stdout_fd = out, .stderr_fd = out, .new_pgroup = true, .cwd = ctx->run_dir};
    if (v->host) {
        /* Inside the host, as a client there: its /etc/hosts, resolver, network and cgroup. */
        struct ash_host *h = ctx->sandbox ? ash_sandbox_host(ctx->sandbox, v->host) : NULL;
        if (!h) {
            snprintf(error, sizeof error, "no sandbox host '%s' (it is gone?)", v->host);
            goto report;
        }
        o.pre_exec = enter_host;
        o.pre_exec_arg = h;
    }
    if (ash_spawn(&o, &c.child, &err) < 0) {
        snprintf(error, sizeof error, "%s", err.msg);
        goto report;
    }
    close(out);
    out = -1;
    if (ash_loop_add_fd(ctx->loop, c.child.pidfd, EPOLLIN, on_exit_fd, &c, &err) < 0) {
        ash_child_terminate(&c.child, 0, true);
        snprintf(error, sizeof error, "%s", err.msg);
        goto report_child;
    }
    ash_timer *kill_timer = ash_loop_add_timer(ctx->loop, t0 + v->timeout_ns, on_timeout, &c);
    if (!kill_timer) {
        /* Unbounded it could hang the end of the run: it does not run at all. */
        ash_loop_del_fd(ctx->loop, c.child.pidfd);
        ash_child_terminate(&c.child, 0, true);
        snprintf(error, sizeof error, "out of memory arming its time limit: not run");
        goto report_child;
    }
    /* The loop may be stopped (Ctrl-C) while we wait: then kill the check. */
    while (!c.done) {
        if (ash_loop_run_until(ctx->loop, &c.done, -1, &err) < 0 || (!c.done && ash_loop_stopped(ctx->loop))) {
            ash_loop_del_fd(ctx->loop, c.child.pidfd);
            ash_child_terminate(&c.child, 0, true);
            c.status = SIGKILL; /* reported as killed */
            snprintf(error, sizeof error, "interrupted");
            break;
        }
    }
    if (kill_timer && !c.timed_out)
        ash_loop_cancel_timer(ctx->loop, kill_timer);
    ran = !error[0];
report_child:
    ash_child_close(&c.child);
report:
    t1 = ash_now_ns();
    if (out >= 0)
        close(out);
    ash_argv_free(argv);
    int exit_code = ran && WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
    if (ran && c.timed_out)
        snprintf(error, sizeof error, "did not finish within %.0f ms (killed)", (double)v->timeout_ns / 1e6);
    else if (ran && !WIFEXITED(c.status)) {
        char how[64];
        ash_wait_status_str(c.status, how, sizeof how);
        snprintf(error, sizeof error, "%s", how);
    }
    /* A check that could not run, or was killed, never counts as either outcome. */
    const char *outcome = !ran || c.timed_out || !WIFEXITED(c.status) ? "error" : exit_code == 0 ? "pass" : "fail";
    bool met = strcmp(outcome, expect_names[v->expect]) == 0;
    json_t *output = ran ? read_output(log) : json_string("");
    /* The first line of the output says what was found: the timeline shows it. */
    char first[160] = "";
    const char *o_text = json_string_value(output);
    if (o_text) {
        size_t k = strcspn(o_text, "\n");
        snprintf(first, sizeof first, "%.*s", (int)(k < sizeof first - 1 ? k : sizeof first - 1), o_text);
    }
    ash_ctx_eventf(ctx, t1, "verify", "%s: %s (expected %s)%s%s%s%s", v->name, outcome, expect_names[v->expect],
                   first[0] ? ": " : "", first, error[0] ? "; " : "", error);
    return json_pack("{s:s, s:o, s:s, s:o, s:s, s:b, s:f, s:f, s:o, s:o, s:o}", "name", v->name, "command", cmd,
                     "expect", expect_names[v->expect], "exit", exit_code >= 0 ? json_integer(exit_code) : json_null(),
                     "outcome", outcome, "met", met, "at_ms", ash_ns_to_ms(t0 - t_start), "duration_ms",
                     ash_ns_to_ms(t1 - t0), "output", output, "error", error[0] ? json_string(error) : json_null(),
                     "host", v->host ? json_string(v->host) : json_null());
}

json_t *ash_verify_run(struct ash_ctx *ctx, int64_t t_start)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < ctx->scenario->n_verify; i++) {
        json_t *r = run_one(ctx, &ctx->scenario->verify[i], t_start);
        if (!r || json_array_append_new(arr, r) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

bool ash_verify_all_met(const json_t *results)
{
    size_t i;
    json_t *v;
    json_array_foreach(results, i, v) if (!json_is_true(json_object_get(v, "met"))) return false;
    return true;
}
