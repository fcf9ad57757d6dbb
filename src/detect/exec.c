/* Detector `exec`: a command run on a schedule; a non-zero exit is a detection
 * (e.g. the team's own health-check script). Runs are asynchronous: the loop
 * watches the child's pidfd, never waits for it. */
#include "env/env.h"
#include "kinds.h"
#include "sys/clock.h"
#include "sys/proc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct exec_det_conf {
    struct ash_strlist command;
    int64_t every_ns;
    int64_t timeout_ns;
};

static const struct ash_field exec_det_fields[] = {
    {"command", ASH_F_ARGV, offsetof(struct exec_det_conf, command), ASH_FIELD_REQUIRED,
     "command; non-zero exit = detected"},
    {"every", ASH_F_DURATION, offsetof(struct exec_det_conf, every_ns), 0, "how often to run it (default 1s)"},
    {"timeout", ASH_F_DURATION, offsetof(struct exec_det_conf, timeout_ns), 0,
     "a run taking longer counts as non-zero (default: every)"},
    {NULL}};

static void exec_det_defaults(void *conf)
{
    struct exec_det_conf *c = conf;
    c->every_ns = ASH_NS_PER_S;
    c->timeout_ns = -1;
}

struct exec_det_state {
    struct ash_ctx *ctx;
    const struct ash_detector_spec *d;
    char **argv;
    ash_timer *tick, *kill_timer;
    struct ash_child child;
    bool running;
};

static void reap(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct exec_det_state *st = data;
    int status = 0;
    if (!ash_child_reap(&st->child, &status))
        return;
    ash_loop_del_fd(loop, fd);
    ash_child_close(&st->child);
    st->running = false;
    if (st->kill_timer) {
        ash_loop_cancel_timer(loop, st->kill_timer);
        st->kill_timer = NULL;
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char how[64], detail[160];
        ash_wait_status_str(status, how, sizeof how);
        snprintf(detail, sizeof detail, "'%s' %s", st->argv[0], how);
        st->ctx->detect(st->ctx, st->d, ash_now_ns(), detail);
    }
}

static int64_t overrun(ash_loop *loop, int64_t now, void *data)
{
    struct exec_det_state *st = data;
    st->kill_timer = NULL;
    if (st->running)
        kill(-st->child.pid, SIGKILL); /* reap() reports it as killed */
    return ASH_TIMER_DONE;
}

static int64_t tick(ash_loop *loop, int64_t now, void *data)
{
    struct exec_det_state *st = data;
    const struct exec_det_conf *c = st->d->conf;
    if (!st->running) {
        struct ash_spawn_opts o = {
            .argv = st->argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .new_pgroup = true};
        ash_error_t err = {0};
        if (ash_spawn(&o, &st->child, &err) == 0) {
            st->running = true;
            ash_loop_add_fd(loop, st->child.pidfd, EPOLLIN, reap, st, NULL);
            int64_t limit = c->timeout_ns > 0 ? c->timeout_ns : c->every_ns;
            if (!(st->kill_timer = ash_loop_add_timer(loop, now + limit, overrun, st))) {
                kill(-st->child.pid, SIGKILL); /* unbounded it could outlive the run; reap() reports it */
                ash_ctx_eventf(st->ctx, now, "warning", "detector '%s': out of memory arming its time limit",
                               st->d->name);
            }
        } else {
            ash_ctx_eventf(st->ctx, now, "warning", "detector '%s': %s", st->d->name, err.msg);
        }
    }
    return ash_timer_deadline(st->tick) + c->every_ns;
}

static void exec_det_stop(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state)
{
    struct exec_det_state *st = state;
    if (!st)
        return;
    if (st->tick)
        ash_loop_cancel_timer(ctx->loop, st->tick);
    if (st->kill_timer)
        ash_loop_cancel_timer(ctx->loop, st->kill_timer);
    if (st->running) {
        ash_loop_del_fd(ctx->loop, st->child.pidfd);
        ash_child_terminate(&st->child, 0, true);
        ash_child_close(&st->child);
    }
    ash_argv_free(st->argv);
    free(st);
}

static int exec_det_start(struct ash_ctx *ctx, const struct ash_detector_spec *d, void **state, ash_error_t *err)
{
    const struct exec_det_conf *c = d->conf;
    struct exec_det_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "detector");
    st->ctx = ctx;
    st->d = d;
    st->child.pid = st->child.pidfd = -1;
    if (!(st->argv = ash_env_argv(&c->command, ctx->scenario->dir, ctx->run_dir)))
        goto nomem;
    st->tick = ash_loop_add_timer(ctx->loop, ash_now_ns(), tick, st);
    if (!st->tick)
        goto nomem;
    *state = st;
    return 0;
nomem:
    exec_det_stop(ctx, d, st);
    return ash_error(err, ENOMEM, "detector");
}

static int64_t exec_det_resolution(const struct ash_detector_spec *d, const struct ash_scenario *sc)
{
    return ((const struct exec_det_conf *)d->conf)->every_ns;
}

const struct ash_detector_kind ash_detector_exec = {
    .c = {.name = "exec",
          .summary = "a command run on a schedule exits non-zero",
          .fields = exec_det_fields,
          .conf_size = sizeof(struct exec_det_conf),
          .defaults = exec_det_defaults,
          .shorthand = "command"},
    .start = exec_det_start,
    .stop = exec_det_stop,
    .resolution = exec_det_resolution,
};
