/* Fault `process`: kill, stop (SIGSTOP until revert), restart or signal one service. */
#include "kinds.h"
#include "env/env.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum process_action { PA_KILL, PA_STOP, PA_RESTART, PA_SIGNAL };
static const char *const action_names[] = {"kill", "stop", "restart", "signal", NULL};

struct process_conf {
    char *target;
    int action;
    char *signal;
};

static const struct ash_field process_fields[] = {
    {"target", ASH_F_STRING, offsetof(struct process_conf, target), ASH_FIELD_REQUIRED, "service to harm"},
    {"action", ASH_F_ENUM, offsetof(struct process_conf, action), 0,
     "kill (SIGKILL) | stop (SIGSTOP, SIGCONT on revert) | restart | signal", action_names},
    {"signal", ASH_F_STRING, offsetof(struct process_conf, signal), 0, "signal name for action: signal (e.g. SIGTERM)"},
    {NULL}};

static int process_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct process_conf *c = conf;
    if (!ash_scenario_service(sc, c->target)) {
        ash_node v = ash_map_get(node, "target");
        return ash_node_fail(&v, err, "no service named '%s' in this scenario", c->target);
    }
    if (c->action == PA_SIGNAL) {
        ash_node v = ash_map_get(node, "signal");
        if (!c->signal)
            return ash_node_fail(node, err, "action: signal needs 'signal: NAME'");
        if (ash_signal_parse(c->signal) < 0)
            return ash_node_fail(&v, err, "unknown signal '%s'", c->signal);
    } else if (c->signal) {
        ash_node v = ash_map_get(node, "signal");
        return ash_node_fail(&v, err, "'signal' only goes with action: signal");
    }
    return 0;
}

struct process_state {
    bool killed;
    pid_t pid;
    uint64_t start;
    uint64_t journal_id;
    bool stopped;
};

static int process_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    struct process_conf *c = f->conf;
    struct ash_service *svc = ash_env_service(ctx->env, c->target);
    if (!svc || !ash_service_running(svc))
        return ash_error(err, ESRCH, "service '%s' is not running", c->target);
    struct process_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "process fault");
    st->pid = ash_service_pid(svc);
    st->start = ash_service_start_time(svc);
    if (st->start == 0) {
        /* Without its start time a later signal (SIGCONT on revert, recover) could
         * not tell the service from a process that reused its pid. */
        free(st);
        return ash_error(err, ESRCH,
                         "service '%s' (pid %d): its start time is unknown, so aftershock cannot "
                         "tell it from a process that reuses its pid; refusing to signal it",
                         c->target, (int)ash_service_pid(svc));
    }
    int sig = 0;
    switch ((enum process_action)c->action) {
    case PA_KILL:
        sig = SIGKILL;
        break;
    case PA_STOP: {
        json_t *d =
            json_pack("{s:i, s:I, s:s}", "pid", (int)st->pid, "start", (json_int_t)st->start, "service", c->target);
        int r = ash_journal_append(ctx->journal, "proc.sigcont", d, &st->journal_id, err);
        json_decref(d);
        if (r < 0)
            goto fail;
        sig = SIGSTOP;
        break;
    }
    case PA_RESTART:
        if (ash_service_restart(ctx->env, svc, err) < 0)
            goto fail;
        *state = st;
        return 0;
    case PA_SIGNAL:
        sig = ash_signal_parse(c->signal);
        break;
    }
    if (ash_proc_signal_checked(st->pid, st->start, sig) < 0) {
        ash_error(err, errno, "cannot send %s to service '%s' (pid %d)", ash_signal_name(sig), c->target, (int)st->pid);
        if (st->journal_id)
            ash_journal_done(ctx->journal, st->journal_id, NULL);
        goto fail;
    }
    st->stopped = sig == SIGSTOP;
    st->killed = sig == SIGKILL;
    *state = st;
    return 0;
fail:
    free(st);
    return -1;
}

static int process_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    struct process_state *st = state;
    struct process_conf *c = f->conf;
    int ret = 0;
    if (st && st->killed) {
        /* The harm of a kill is a service that is down: bring it back unless its
         * restart policy already did. */
        struct ash_service *svc = ash_env_service(ctx->env, c->target);
        if (svc && !ash_service_running(svc))
            ret = ash_service_start(ctx->env, svc, err);
    }
    if (st && st->stopped) {
        if (ash_proc_signal_checked(st->pid, st->start, SIGCONT) < 0 && errno != ESRCH)
            ret = ash_error(err, errno, "cannot continue pid %d", (int)st->pid);
        else if (st->journal_id)
            ash_journal_done(ctx->journal, st->journal_id, NULL); /* a failed mark: the engine warns */
    }
    free(st);
    return ret;
}

static int undo_sigcont(json_t *rec, ash_error_t *err)
{
    pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "pid"));
    uint64_t start = (uint64_t)json_integer_value(json_object_get(rec, "start"));
    /* start 0 would skip the identity check: never signal a pid we cannot identify. */
    if (pid <= 0 || start == 0)
        return ash_error(err, EINVAL, "proc.sigcont record without a pid and start time: not signalling it");
    if (ash_proc_signal_checked(pid, start, SIGCONT) < 0 && errno != ESRCH)
        return ash_error(err, errno, "cannot continue pid %d", (int)pid);
    return 0;
}

static const struct ash_undo_op process_undo[] = {{"proc.sigcont", undo_sigcont}, {NULL, NULL}};

const struct ash_fault_kind ash_fault_process = {
    .c = {.name = "process",
          .summary = "kill, stop (SIGSTOP until revert), restart or signal one service",
          .fields = process_fields,
          .conf_size = sizeof(struct process_conf),
          .validate = process_validate},
    .inject = process_inject,
    .revert = process_revert,
    .undo_ops = process_undo,
};
