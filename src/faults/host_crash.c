/* Fault `host-crash`: a sandbox host dies (kill), hangs (freeze) or drops off
 * the network (isolate); optionally comes back after a delay with its services
 * restarted in dependency, reversed or shuffled order. A container or a cgroup
 * can hang (freeze) too; a container can die (kill) and is started again. */
#include "kinds.h"
#include "env/target.h"
#include "env/docker.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "sys/cgroup.h"
#include "sys/clock.h"
#include "sys/journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum crash_mode { CM_KILL, CM_FREEZE, CM_ISOLATE };
static const char *const mode_names[] = {"kill", "freeze", "isolate", NULL};
static const char *const order_names[] = {"dependency", "reversed", "shuffled", NULL};

struct crash_conf {
    struct ash_target_ref target; /* a host */
    int mode;
    int64_t restart_after_ns; /* -1: stays down until revert */
    int restart_order;        /* 0 dependency, 1 reversed, 2 shuffled (ash_env_start_host_services) */
};

static const struct ash_field crash_fields[] = {
    {"target", ASH_F_TARGET, offsetof(struct crash_conf, target), ASH_FIELD_REQUIRED,
     "what crashes: a sandbox host (host:NAME), a container (container:NAME: freeze, kill), a cgroup "
     "(cgroup:PATH: freeze) or a process alone in its cgroup (process:pid=N: freeze)",
     .needs = ASH_CAP_FREEZE},
    ASH_TARGET_OLD_HOST_FIELD(struct crash_conf, target),
    {"mode", ASH_F_ENUM, offsetof(struct crash_conf, mode), 0,
     "kill (every process dies, links go down) | freeze (cgroup freeze: the host hangs) | isolate (links down)",
     mode_names},
    {"restart_after", ASH_F_DURATION, offsetof(struct crash_conf, restart_after_ns), 0,
     "bring the host back after this long: links up, thawed, services started again"},
    {"restart_order", ASH_F_ENUM, offsetof(struct crash_conf, restart_order), 0,
     "order services come back in: dependency | reversed | shuffled", order_names},
    {NULL}};

static void crash_defaults(void *conf)
{
    struct crash_conf *c = conf;
    c->restart_after_ns = -1;
}

static int crash_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct crash_conf *c = conf;
    (void)sc; /* the target was resolved and checked by the scenario */
    bool host = c->target.type == ASH_TARGET_HOST;
    ash_node m = ash_map_get(node, "mode");
    if (!host && c->mode == CM_ISOLATE)
        return ash_node_fail(ash_node_ok(&m) ? &m : node, err,
                             "mode: isolate takes a sandbox host's links down; %s '%s' has none aftershock made "
                             "(network faults on containers are the network kind's)",
                             ash_target_type_names[c->target.type], c->target.name);
    if (!host && c->mode == CM_KILL && !(ash_target_caps(c->target.type) & ASH_CAP_RESTART))
        return ash_node_fail(ash_node_ok(&m) ? &m : node, err,
                             "mode: kill needs a target aftershock can start again (a host or a container); "
                             "%s '%s' cannot be (use mode: freeze)",
                             ash_target_type_names[c->target.type], c->target.name);
    if (!host && c->restart_order != 0) {
        ash_node v = ash_map_get(node, "restart_order");
        return ash_node_fail(&v, err, "'restart_order' orders a sandbox host's services; %s '%s' has none",
                             ash_target_type_names[c->target.type], c->target.name);
    }
    if (c->restart_order != 0 && c->restart_after_ns < 0) {
        ash_node v = ash_map_get(node, "restart_order");
        return ash_node_fail(&v, err, "'restart_order' only goes with 'restart_after'");
    }
    return 0;
}

static const char *crash_unavailable(void)
{
    if (geteuid() != 0)
        return "needs root: sandbox hosts are namespaces, cgroups and links";
    struct ash_cgroup_sys sys;
    if (ash_cgroup_detect(NULL, &sys, NULL) < 0)
        return "no cgroup hierarchy mounted at /sys/fs/cgroup";
    if (!sys.v2[0] && !sys.freezer[0])
        return "no freezer: neither cgroup v2 nor the v1 freezer controller is mounted";
    return NULL;
}

struct crash_state {
    struct ash_ctx *ctx;
    const struct crash_conf *c;
    const char *name; /* the fault's, for ctx->fault_ended */
    struct ash_target t;
    struct ash_host *h;        /* t.host */
    bool killed, frozen, down; /* what is still harmed */
    uint64_t thaw_id;          /* journal record while frozen */
    uint64_t start_id;         /* journal record while a killed container is down */
    ash_timer *restart;
};

/* Undo whatever is still harmed; services come back after a kill. */
static int restore(struct crash_state *st, int64_t now, ash_error_t *err)
{
    struct ash_ctx *ctx = st->ctx;
    int ret = 0;
    bool was_harmed = st->frozen || st->down || st->killed;
    if (st->frozen) {
        if (ash_target_thaw(&st->t, err) < 0)
            return -1;
        st->frozen = false;
        if (st->thaw_id)
            ash_journal_done(ctx->journal, st->thaw_id, NULL);
        st->thaw_id = 0;
    }
    if (st->down) {
        if (ash_host_links_up(st->h, err) < 0)
            return -1;
        st->down = false;
    }
    if (st->killed && !st->h) {
        /* A container: its engine starts it again (a new init, netns and cgroup). */
        if (ash_target_restart(&st->t, err) < 0)
            return -1;
        st->killed = false;
        if (st->start_id)
            ash_journal_done(ctx->journal, st->start_id, NULL);
        st->start_id = 0;
    }
    if (st->killed) {
        st->killed = false;
        if (ctx->env)
            ret = ash_env_start_host_services(ctx->env, st->c->target.name, st->c->restart_order, err);
    }
    if (was_harmed && st->h)
        ash_ctx_eventf(ctx, now, "host-restored", "host %s back (%s order)", st->c->target.name,
                       order_names[st->c->restart_order]);
    else if (was_harmed)
        ash_ctx_eventf(ctx, now, "host-restored", "%s %s back", ash_target_type_names[st->t.type], st->c->target.name);
    return ret;
}

static int64_t restart_timer(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct crash_state *st = data;
    st->restart = NULL;
    ash_error_t err = {0};
    if (restore(st, now, &err) < 0) {
        ash_ctx_eventf(st->ctx, now, "fault-error", "host-crash restart of %s: %s", st->c->target.name, err.msg);
        return ASH_TIMER_DONE; /* still harmed: the end-of-run revert tries again */
    }
    /* The fault is over: the engine reverts it now, which frees st. */
    struct ash_ctx *ctx = st->ctx;
    if (ctx->fault_ended && ctx->fault_ended(ctx, st->name, &err) < 0)
        ash_ctx_eventf(ctx, ash_now_ns(), "fault-error", "host-crash %s: %s", st->c->target.name, err.msg);
    return ASH_TIMER_DONE;
}

static int crash_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err);

static int crash_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    struct crash_conf *c = f->conf;
    struct crash_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "host-crash");
    if (ash_ctx_target(ctx, &c->target, &st->t, err) < 0) {
        free(st);
        return -1;
    }
    /* Links and kill-all are a sandbox host's own: the target's type guarantees one. */
    struct ash_host *h = st->t.host;
    st->ctx = ctx;
    st->c = c;
    st->h = h;
    st->name = f->name;
    switch ((enum crash_mode)c->mode) {
    case CM_KILL:
        if (!h) {
            /* A container: every process dies at once (cgroup.kill, or freeze + SIGKILL);
             * the record lets recover start it again if the harness dies meanwhile. */
            struct ash_cgroup *cg = ash_target_cgroup(&st->t);
            json_t *d = ash_target_identity(&st->t);
            int r = ash_journal_append(ctx->journal, "host-crash.container-start", d, &st->start_id, err);
            json_decref(d);
            if (r < 0)
                goto fail;
            st->killed = true;
            /* In effect from the kill: the call then waits until every process is gone. */
            ash_ctx_harm_began(ctx, ash_now_ns());
            if (!cg || ash_cgroup_kill(cg, err) < 0) {
                if (!cg)
                    ash_error(err, ENOTSUP, "%s has no cgroup to kill", c->target.name);
                goto fail;
            }
            ash_cgroup_wait_empty(cg, 5 * ASH_NS_PER_S, NULL);
            break;
        }
        /* The supervisor must not restart what died with the host. */
        if (ctx->env)
            ash_env_mark_host_down(ctx->env, c->target.name);
        st->killed = true;
        ash_ctx_harm_began(ctx, ash_now_ns()); /* as above; the links go down after */
        if (ash_host_kill_all(h, err) < 0)
            goto fail;
        st->down = true;
        if (ash_host_links_down(h, err) < 0)
            goto fail;
        break;
    case CM_FREEZE: {
        json_t *d = ash_cgroup_to_json(ash_target_cgroup(&st->t));
        /* What was frozen (a container's id), beside the paths the undo needs. */
        json_object_set_new(d, "target", ash_target_identity(&st->t));
        int r = ash_journal_append(ctx->journal, "host-crash.thaw", d, &st->thaw_id, err);
        json_decref(d);
        if (r < 0)
            goto fail;
        st->frozen = true;
        /* In effect from the freeze request: the call waits until the kernel says frozen. */
        ash_ctx_harm_began(ctx, ash_now_ns());
        if (ash_target_freeze(&st->t, err) < 0)
            goto fail;
        break;
    }
    case CM_ISOLATE:
        if (!h) { /* validation refuses it: a safety net for API callers */
            ash_error(err, ENOTSUP, "isolate needs a sandbox host");
            goto fail;
        }
        st->down = true;
        if (ash_host_links_down(h, err) < 0)
            goto fail;
        break;
    }
    if (c->restart_after_ns >= 0 && ctx->loop &&
        !(st->restart = ash_loop_add_timer(ctx->loop, ash_now_ns() + c->restart_after_ns, restart_timer, st))) {
        /* Without its timer the host would stay down past restart_after: not the fault asked for. */
        ash_error(err, ENOMEM, "cannot arm the restart after %g s", (double)c->restart_after_ns / 1e9);
        goto fail;
    }
    *state = st;
    return 0;
fail:;
    ash_error_t e2 = {0};
    crash_revert(ctx, f, st, &e2);
    return -1;
}

static int crash_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    (void)f;
    struct crash_state *st = state;
    if (!st)
        return 0;
    if (st->restart)
        ash_loop_cancel_timer(ctx->loop, st->restart);
    st->restart = NULL;
    int ret = restore(st, ash_now_ns(), err);
    ash_target_release(&st->t);
    free(st);
    return ret;
}

static int undo_thaw(json_t *rec, ash_error_t *err)
{
    struct ash_cgroup cg;
    if (ash_cgroup_from_json(rec, &cg, err) < 0)
        return -1;
    return ash_cgroup_thaw(&cg, err);
}

/* A container killed by the fault: start it again (the engine answers 304 when it runs). */
static int undo_container_start(json_t *rec, ash_error_t *err)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *sock = json_string_value(json_object_get(rec, "socket"));
    if (!id || !sock || strspn(id, "0123456789abcdef") != strlen(id))
        return ash_error(err, EINVAL, "host-crash.container-start record without a container id and socket");
    char host[160], path[200];
    snprintf(host, sizeof host, "unix://%s", sock);
    snprintf(path, sizeof path, "/containers/%s/start", id);
    struct ash_docker *d;
    if (ash_docker_open(host, &d, err) < 0)
        return -1;
    int r = ash_docker_call(d, "POST", path, NULL, NULL, err);
    ash_docker_close(d);
    if (r < 0 && err && err->code == ENOENT)
        return 0; /* removed since: nothing left to start */
    return r;
}

static const struct ash_undo_op crash_undo[] = {
    {"host-crash.thaw", undo_thaw, false, "thawed cgroup {frozen} of {target}"},
    {"host-crash.container-start", undo_container_start, false,
     "started {target} again through its engine (unless it already ran)"},
    {NULL, NULL, false, NULL}};

/* A container, pod, process or named cgroup: its own cgroup, found when the run
 * resolves its targets, so named here by what it belongs to. */
static int crash_describe_target(const struct crash_conf *c, json_t *out)
{
    const char *type = ash_target_type_names[c->target.type], *name = c->target.name;
    char cg[600], line[1024];
    if (c->target.type == ASH_TARGET_CGROUP)
        snprintf(cg, sizeof cg, "cgroup %s (found at run start)", name);
    else
        snprintf(cg, sizeof cg, "the cgroup of %s %s (found at run start)", type, name);
    int n = 0;
    if (c->mode == CM_KILL) {
        n = snprintf(line, sizeof line,
                     "kill: every process of %s %s dies at once (cgroup.kill, or freeze + SIGKILL, in %s); started "
                     "again through its engine",
                     type, name, cg);
        ash_describe_object(out, "cgroup-file", "cgroup.kill or freezer.state", cg, "host-crash.container-start",
                            "1 / FROZEN + SIGKILL (started again on revert)");
    } else {
        n = snprintf(line, sizeof line,
                     "freeze: %s %s hangs (cgroup.freeze = 1, or the v1 freezer's freezer.state = FROZEN, in %s; "
                     "thawed on revert)",
                     type, name, cg);
        ash_describe_object(out, "cgroup-file", "cgroup.freeze or freezer.state", cg, "host-crash.thaw", "1 / FROZEN");
    }
    if (n > 0 && (size_t)n < sizeof line && c->restart_after_ns >= 0)
        snprintf(line + n, sizeof line - (size_t)n, "; back after %.3f s", c->restart_after_ns / 1e9);
    json_object_set_new(out, "mechanism", json_string(line));
    if (c->restart_after_ns >= 0)
        json_object_set_new(out, "revert",
                            json_sprintf("ends by itself after %g ms", (double)c->restart_after_ns / 1e6));
    return 0;
}

static int crash_describe(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out, ash_error_t *err)
{
    (void)err;
    const struct crash_conf *c = f->conf;
    if (c->target.type != ASH_TARGET_HOST)
        return crash_describe_target(c, out);
    const char *host = c->target.name;
    size_t idx = 0;
    for (size_t i = 0; i < d->scenario->n_hosts; i++)
        if (strcmp(d->scenario->hosts[i].name, host) == 0)
            idx = i;
    struct ash_sandbox_names nm;
    ash_sandbox_names(d->run_id, idx, host, &nm);
    struct ash_cgroup_sys sys;
    struct ash_cgroup cg;
    char cgpath[600];
    if (ash_cgroup_detect(NULL, &sys, NULL) == 0) {
        ash_cgroup_init(&cg, &sys, nm.cgroup, false);
        snprintf(cgpath, sizeof cgpath, "%s", cg.v2[0] ? cg.v2 : cg.freezer);
    } else {
        snprintf(cgpath, sizeof cgpath, "%s", nm.cgroup);
        cg = (struct ash_cgroup){0};
    }
    char line[1024];
    int n = 0;
    switch ((enum crash_mode)c->mode) {
    case CM_KILL:
        n = snprintf(line, sizeof line,
                     "kill: SIGKILL every process of host %s (%s in %s), then its links down (%s, %s)", host,
                     cg.v2[0] ? "cgroup.kill" : "freeze + kill", cgpath, nm.veth, "eth0");
        ash_describe_object(out, "cgroup-file", cg.v2[0] ? "cgroup.kill" : "freezer.state", cgpath, NULL, "1");
        ash_describe_object(out, "link", nm.veth, nm.hub, NULL, "down (eth0 in %s too)", nm.netns);
        break;
    case CM_FREEZE:
        n = snprintf(line, sizeof line, "freeze: host %s hangs (%s in %s; thawed on revert)", host,
                     cg.v2[0] ? "cgroup.freeze = 1" : "freezer.state = FROZEN", cgpath);
        ash_describe_object(out, "cgroup-file", cg.v2[0] ? "cgroup.freeze" : "freezer.state", cgpath, "host-crash.thaw",
                            "%s", cg.v2[0] ? "1" : "FROZEN");
        break;
    case CM_ISOLATE:
        n = snprintf(line, sizeof line, "isolate: host %s's links down (%s, eth0 in %s); up on revert", host, nm.veth,
                     nm.netns);
        ash_describe_object(out, "link", nm.veth, nm.hub, NULL, "down (eth0 in %s too)", nm.netns);
        break;
    }
    if (n > 0 && (size_t)n < sizeof line) {
        if (c->restart_after_ns >= 0)
            snprintf(line + n, sizeof line - (size_t)n,
                     "; restart after %.3f s: links up, thawed, services started in %s order",
                     c->restart_after_ns / 1e9, order_names[c->restart_order]);
        else
            snprintf(line + n, sizeof line - (size_t)n, "; back on revert (no restart_after)");
    }
    json_object_set_new(out, "mechanism", json_string(line));
    if (c->restart_after_ns >= 0)
        json_object_set_new(
            out, "revert",
            json_sprintf("ends by itself after %g ms (the host comes back)", (double)c->restart_after_ns / 1e6));
    return 0;
}

static const char *crash_ends_itself(const struct ash_fault_spec *f)
{
    const struct crash_conf *c = f->conf;
    return c->restart_after_ns >= 0 ? "when the host comes back after restart_after" : NULL;
}

const struct ash_fault_kind ash_fault_host_crash = {
    .c = {.name = "host-crash",
          .summary = "kill, freeze or isolate a sandbox host (freeze or kill a container, freeze a cgroup); "
                     "optionally restart it after a delay",
          .unavailable = crash_unavailable,
          .fields = crash_fields,
          .conf_size = sizeof(struct crash_conf),
          .defaults = crash_defaults,
          .validate = crash_validate},
    .inject = crash_inject,
    .revert = crash_revert,
    .undo_ops = crash_undo,
    .describe = crash_describe,
    .ends_itself = crash_ends_itself,
    .on_loop = true, /* a service restarted waits for its ready check on the loop */
};
