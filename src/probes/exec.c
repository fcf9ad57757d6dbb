/* Probe `exec`: run a command per sample; ok when it exits 0 within the timeout. */
#include "env/env.h"
#include "kinds.h"
#include "probes/probe_confs.h"
#include "probes/probe_socket.h"
#include "sys/clock.h"
#include "sys/proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct ash_field exec_probe_fields[] = {
    {"command", ASH_F_ARGV, offsetof(struct ash_exec_probe_conf, command), ASH_FIELD_REQUIRED, "command; exit 0 = ok"},
    {NULL}};

struct exec_sample;

struct exec_state {
    const struct ash_probe_spec *p;
    ash_loop *loop;
    struct ash_probe_from *from; /* NULL: the harness; else inside this host (or container netns) */
    char **argv;                 /* the command with {run_dir} and {scenario_dir} substituted */
    struct exec_sample *inflight;
};

struct exec_sample {
    struct exec_state *st;
    struct ash_child ch; /* ch.pid <= 0: nothing running (spawn failed or reaped) */
    ash_timer *timer;    /* the timeout, or the deferred delivery of a spawn failure */
    bool finished;
    bool reported; /* timed out and reported; still waiting for the killed leader to be reaped */
    struct ash_sample result;
    ash_sample_done_fn done;
    void *arg;
    struct exec_sample *prev, *next;
};

static void unlink_sample(struct exec_sample *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->st->inflight = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

/* Kill the whole process group while its leader is still unreaped (running or a
 * zombie): the leader's pid, and so the group id, cannot be reused until it is
 * reaped, so the signal cannot reach an unrelated group. Leftovers a command
 * put in the background die with it: a probe must not leave processes behind.
 * Then reap the leader, waiting at most wait_ms for it: a process in
 * uninterruptible sleep (or in a v1-frozen cgroup) dies only later, and the
 * loop must not block on it. Returns true when reaped. */
static bool kill_and_reap(struct exec_sample *s, int *status, int wait_ms)
{
    if (s->ch.pid <= 0)
        return true;
    kill(-s->ch.pid, SIGKILL);
    int st = 0;
    pid_t r = waitpid(s->ch.pid, &st, WNOHANG);
    if (r == 0 && wait_ms > 0 && s->ch.pidfd >= 0) {
        struct pollfd pfd = {.fd = s->ch.pidfd, .events = POLLIN};
        while (poll(&pfd, 1, wait_ms) < 0 && errno == EINTR)
            ;
        r = waitpid(s->ch.pid, &st, WNOHANG);
    }
    if (r == 0)
        return false;
    if (status)
        *status = st;
    s->ch.pid = -1;
    return true;
}

static void release(struct exec_sample *s)
{
    if (s->timer)
        ash_loop_cancel_timer(s->st->loop, s->timer);
    /* close() with the command still running: give it a moment to die, no more
     * (a leader that outlives this stays our zombie until the harness exits). */
    kill_and_reap(s, NULL, 1000);
    if (s->ch.pidfd >= 0) {
        ash_loop_del_fd(s->st->loop, s->ch.pidfd);
        ash_child_close(&s->ch);
    }
    unlink_sample(s);
    free(s);
}

/* Free first, report last: done may close the probe. */
static void deliver(struct exec_sample *s)
{
    struct ash_sample out = s->result;
    ash_sample_done_fn done = s->done;
    void *arg = s->arg;
    release(s);
    done(arg, &out);
}

static void on_exit_ready(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct exec_sample *s = data;
    if (s->reported) {
        release(s); /* the leader we killed on timeout has exited: reap it, quietly */
        return;
    }
    s->result.end = ash_now_ns();
    int status = 0;
    kill_and_reap(s, &status, 1000); /* exited already: pidfd said so */
    s->result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) != 0)
            snprintf(s->result.detail, sizeof s->result.detail, "exit %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(s->result.detail, sizeof s->result.detail, "killed by %s", ash_signal_name(WTERMSIG(status)));
    } else {
        snprintf(s->result.detail, sizeof s->result.detail, "wait status 0x%x", status);
    }
    s->finished = true;
    deliver(s);
}

static int64_t on_timer(ash_loop *loop, int64_t now, void *data)
{
    struct exec_sample *s = data;
    s->timer = NULL; /* freed by the loop when we return */
    if (!s->finished) {
        s->result.end = ash_now_ns();
        s->result.ok = false;
        int64_t t = s->st->p->timeout_ns;
        if (t % ASH_NS_PER_MS == 0)
            snprintf(s->result.detail, sizeof s->result.detail, "timeout after %lld ms",
                     (long long)(t / ASH_NS_PER_MS));
        else
            snprintf(s->result.detail, sizeof s->result.detail, "timeout after %.3f ms", ash_ns_to_ms(t));
    }
    if (kill_and_reap(s, NULL, 0)) {
        deliver(s);
    } else {
        /* Report now; the pidfd stays in the loop and reaps the leader when it
         * finally dies (on_exit_ready). s must not be touched after done. */
        struct ash_sample out = s->result;
        s->reported = true;
        s->done(s->arg, &out);
    }
    return ASH_TIMER_DONE;
}

static int exec_open(struct ash_ctx *ctx, const struct ash_probe_spec *p, void **state, ash_error_t *err)
{
    const struct ash_exec_probe_conf *c = p->conf;
    struct ash_probe_from *from;
    if (ash_probe_origin(ctx, p, &from, err) < 0)
        return -1;
    if (!c || c->command.n == 0 || !c->command.v[0]) {
        ash_probe_from_free(from);
        return ash_error_class(err, ASH_ERR_USAGE, 0, "probe '%s': exec needs a command", p->name);
    }
    struct exec_state *st = calloc(1, sizeof *st);
    if (!st) {
        ash_probe_from_free(from);
        return ash_error(err, ENOMEM, "probe '%s'", p->name);
    }
    st->argv = ash_env_argv(&c->command, ctx->scenario ? ctx->scenario->dir : NULL, ctx->run_dir);
    if (!st->argv) {
        ash_probe_from_free(from);
        free(st);
        return ash_error(err, ENOMEM, "probe '%s'", p->name);
    }
    st->p = p;
    st->from = from;
    st->loop = ctx->loop;
    *state = st;
    return 0;
}

static int exec_sample(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state, int64_t start,
                       ash_sample_done_fn done, void *arg, ash_error_t *err)
{
    struct exec_state *st = state;
    struct exec_sample *s = calloc(1, sizeof *s);
    if (!s)
        return ash_error(err, ENOMEM, "probe '%s': sample", p->name);
    *s = (struct exec_sample){
        .st = st, .ch = {.pid = -1, .pidfd = -1}, .done = done, .arg = arg, .result = {.start = start}};
    s->next = st->inflight;
    if (s->next)
        s->next->prev = s;
    st->inflight = s;

    int64_t deadline = p->timeout_ns > 0 ? start + p->timeout_ns : -1;
    /* A new process group, so a timeout can kill the command and all it started. */
    struct ash_spawn_opts o = {.argv = st->argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .new_pgroup = true};
    if (st->from) {
        /* Inside the host's cgroup and namespaces, as a client there: a
         * crashed or frozen host takes the command with it. */
        o.pre_exec = ash_probe_enter_host;
        o.pre_exec_arg = st->from;
    }
    ash_error_t serr;
    if (ash_spawn(&o, &s->ch, &serr) < 0) {
        /* Counted as a failed sample: under a memory or pid fault, fork failing
         * is exactly what a user's health check would see. */
        s->ch = (struct ash_child){.pid = -1, .pidfd = -1};
        snprintf(s->result.detail, sizeof s->result.detail, "%s", serr.msg);
        s->result.end = ash_now_ns();
        s->finished = true;
        deadline = 0;
    } else if (ash_loop_add_fd(st->loop, s->ch.pidfd, EPOLLIN, on_exit_ready, s, err) < 0) {
        int saved_fd = s->ch.pidfd;
        s->ch.pidfd = -1; /* not in the loop: release must not remove it */
        release(s);
        close(saved_fd);
        return ash_error_wrap(err, "probe '%s'", p->name);
    }
    if (deadline >= 0) {
        s->timer = ash_loop_add_timer(st->loop, deadline, on_timer, s);
        if (!s->timer) {
            release(s);
            return ash_error(err, ENOMEM, "probe '%s': timer", p->name);
        }
    }
    return 0;
}

static void exec_close(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state)
{
    struct exec_state *st = state;
    if (!st)
        return;
    while (st->inflight)
        release(st->inflight);
    ash_argv_free(st->argv);
    ash_probe_from_free(st->from);
    free(st);
}

const struct ash_probe_kind ash_probe_exec = {
    .c = {.name = "exec",
          .summary = "run a command; ok when it exits 0 in time",
          .fields = exec_probe_fields,
          .conf_size = sizeof(struct ash_exec_probe_conf),
          .shorthand = "command"},
    .open = exec_open,
    .sample = exec_sample,
    .close = exec_close,
};
