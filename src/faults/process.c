/* Fault `process`: kill, stop (SIGSTOP until revert), restart or signal the main process
 * of a target: a service, a container (its init) or an existing process. */
#include "kinds.h"
#include "env/target.h"
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
    struct ash_target_ref target;
    int action;
    char *signal;
};

static const struct ash_field process_fields[] = {
    {"target", ASH_F_TARGET, offsetof(struct process_conf, target), ASH_FIELD_REQUIRED,
     "what to harm: service:NAME, container:NAME (its init) or process:pid=N|pidfile=PATH|exe=PATH (stop and "
     "signal only: aftershock cannot start it again)",
     .needs = ASH_CAP_PROCS | ASH_CAP_MAIN},
    {"action", ASH_F_ENUM, offsetof(struct process_conf, action), 0,
     "kill (SIGKILL) | stop (SIGSTOP, SIGCONT on revert) | restart | signal", action_names},
    {"signal", ASH_F_STRING, offsetof(struct process_conf, signal), 0, "signal name for action: signal (e.g. SIGTERM)"},
    {NULL}};

static int process_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct process_conf *c = conf;
    (void)sc; /* the target was resolved and checked by the scenario */
    /* A kill is reverted by starting it again; a restart is one: both need a way to. */
    if ((c->action == PA_KILL || c->action == PA_RESTART) && !(ash_target_caps(c->target.type) & ASH_CAP_RESTART)) {
        ash_node v = ash_map_get(node, "action");
        return ash_node_fail(&v, err,
                             "action: %s needs a target aftershock can start again (a service or a container); "
                             "%s '%s' cannot be (use action: stop, or signal)",
                             action_names[c->action], ash_target_type_names[c->target.type], c->target.name);
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
    struct ash_target target;
    bool killed;
    pid_t pid;
    uint64_t start;
    uint64_t journal_id;
    bool stopped;
};

static int process_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    struct process_conf *c = f->conf;
    struct process_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "process fault");
    if (ash_ctx_target(ctx, &c->target, &st->target, err) < 0) {
        free(st);
        return -1;
    }
    char what[300];
    ash_target_describe(&st->target, what, sizeof what);
    struct ash_target_proc *procs;
    size_t n;
    if (ash_target_procs(&st->target, &procs, &n, err) < 0)
        goto fail;
    if (n == 0) {
        ash_error(err, ESRCH, "%s is not running", what);
        goto fail;
    }
    /* Its main process (a service's, a container's init): its children follow it, or
     * not, as in production. */
    st->pid = procs[0].pid;
    st->start = procs[0].start;
    free(procs);
    if (st->start == 0) {
        /* Without its start time a later signal (SIGCONT on revert, recover) could
         * not tell the service from a process that reused its pid. */
        ash_error(err, ESRCH,
                  "%s (pid %d): its start time is unknown, so aftershock cannot "
                  "tell it from a process that reuses its pid; refusing to signal it",
                  what, (int)st->pid);
        goto fail;
    }
    int sig = 0;
    switch ((enum process_action)c->action) {
    case PA_KILL:
        sig = SIGKILL;
        break;
    case PA_STOP: {
        /* pid + start time are what the undo needs; the target's identity (a container's
         * id) says what it was, for `recover`'s report. */
        json_t *d = json_pack("{s:i, s:I, s:s, s:o}", "pid", (int)st->pid, "start", (json_int_t)st->start,
                              ash_target_type_names[st->target.type], c->target.name, "target",
                              ash_target_identity(&st->target));
        int r = ash_journal_append(ctx->journal, "proc.sigcont", d, &st->journal_id, err);
        json_decref(d);
        if (r < 0)
            goto fail;
        sig = SIGSTOP;
        break;
    }
    case PA_RESTART:
        /* Down from the stop signal on, while the call waits for it to come back: the
         * fault is in effect from here (the stop is the restart's first step), not from
         * when the call returns with the target up again. */
        ash_ctx_harm_began(ctx, ash_now_ns());
        if (ash_target_restart(&st->target, err) < 0)
            goto fail;
        *state = st;
        return 0;
    case PA_SIGNAL:
        sig = ash_signal_parse(c->signal);
        break;
    }
    if (ash_proc_signal_checked(st->pid, st->start, sig) < 0) {
        ash_error(err, errno, "cannot send %s to %s (pid %d)", ash_signal_name(sig), what, (int)st->pid);
        if (st->journal_id)
            ash_journal_done(ctx->journal, st->journal_id, NULL);
        goto fail;
    }
    st->stopped = sig == SIGSTOP;
    st->killed = sig == SIGKILL;
    *state = st;
    return 0;
fail:
    ash_target_release(&st->target);
    free(st);
    return -1;
}

static int process_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    (void)ctx;
    (void)f;
    struct process_state *st = state;
    int ret = 0;
    if (st && st->killed) {
        /* The harm of a kill is a service that is down: bring it back unless its
         * restart policy already did. */
        struct ash_target_proc *procs = NULL;
        size_t n = 0;
        if (ash_target_procs(&st->target, &procs, &n, err) < 0)
            ret = -1;
        else if (n == 0)
            ret = ash_target_restart(&st->target, err);
        free(procs);
    }
    if (st && st->stopped) {
        if (ash_proc_signal_checked(st->pid, st->start, SIGCONT) < 0 && errno != ESRCH)
            ret = ash_error(err, errno, "cannot continue pid %d", (int)st->pid);
        else if (st->journal_id)
            ash_journal_done(ctx->journal, st->journal_id, NULL); /* a failed mark: the engine warns */
    }
    if (st)
        ash_target_release(&st->target);
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

static const struct ash_undo_op process_undo[] = {
    {"proc.sigcont", undo_sigcont, false, "continued {target} (pid {pid}) with SIGCONT"}, {NULL, NULL, false, NULL}};

/* What is signalled, as the target is: a service's main process, a container's init. */
static const char *victim(const struct ash_target_ref *ref, char *buf, size_t len)
{
    const char *type = ref->type > ASH_TARGET_UNRESOLVED && ref->type <= ASH_TARGET_TYPE_MAX
                           ? ash_target_type_names[ref->type]
                           : "target";
    if (ref->type == ASH_TARGET_SERVICE || ref->type == ASH_TARGET_UNRESOLVED)
        snprintf(buf, len, "service %s (pidfd", ref->name);
    else if (ref->type == ASH_TARGET_CONTAINER || ref->type == ASH_TARGET_POD)
        snprintf(buf, len, "%s %s's init (its pid, resolved at run start", type, ref->name);
    else
        snprintf(buf, len, "%s %s (its pid, resolved at run start", type, ref->name);
    return buf;
}

static int process_describe(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out, ash_error_t *err)
{
    (void)d;
    (void)err;
    const struct process_conf *c = f->conf;
    const char *t = c->target.name;
    const char *type = c->target.type > ASH_TARGET_UNRESOLVED && c->target.type <= ASH_TARGET_TYPE_MAX
                           ? ash_target_type_names[c->target.type]
                           : "service";
    char v[400];
    victim(&c->target, v, sizeof v);
    switch ((enum process_action)c->action) {
    case PA_KILL:
        json_object_set_new(out, "mechanism", json_sprintf("SIGKILL to %s, start time checked)", v));
        break;
    case PA_STOP:
        json_object_set_new(out, "mechanism", json_sprintf("SIGSTOP to %s); SIGCONT on revert", v));
        ash_describe_object(out, "process", t, type, "proc.sigcont", "stopped until revert");
        break;
    case PA_RESTART:
        if (c->target.type == ASH_TARGET_CONTAINER)
            json_object_set_new(
                out, "mechanism",
                json_sprintf("restart container %s through its engine (POST /containers/ID/restart)", t));
        else
            json_object_set_new(
                out, "mechanism",
                json_sprintf("restart %s %s (SIGTERM, then SIGKILL; started again, waited ready)", type, t));
        break;
    case PA_SIGNAL:
        json_object_set_new(out, "mechanism", json_sprintf("%s to %s)", c->signal ? c->signal : "a signal", v));
        break;
    }
    return 0;
}

const struct ash_fault_kind ash_fault_process = {
    .c = {.name = "process",
          .summary = "kill, stop (SIGSTOP until revert), restart or signal a service, container or process",
          .fields = process_fields,
          .conf_size = sizeof(struct process_conf),
          .validate = process_validate},
    .inject = process_inject,
    .revert = process_revert,
    .undo_ops = process_undo,
    .describe = process_describe,
    .on_loop = true, /* a service restarted waits for its ready check on the loop */
};
