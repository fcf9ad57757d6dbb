/* The fleet agent (agent.h): a channel to the coordinator, a lease, and the fault kinds driven through its own ctx. */
#include "fleet/agent.h"
#include "fleet/agent_hosts.h"
#include "fleet/cgroup_find.h"
#include "engine/fault_revert.h"
#include "engine/guardian.h"
#include "env/docker.h"
#include "env/target.h"
#include "fleet/hello_targets.h"
#include "fleet/channel.h"
#include "fleet/probe_msg.h"
#include "fleet/proto.h"
#include "kinds.h"
#include "sys/pid1.h"
#include "sys/clock.h"

#include <aftershock/aftershock.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A probe of the scenario this node samples (`from: NODE[/CONTAINER]`). */
struct agent_probe {
    struct agent *a;
    struct ash_probe_spec local; /* the scenario's, sampling from node_from on this node */
    void *state;
    bool open;
    ash_timer *timer;
    /* The ticks whose samples are in flight: their start and lateness (sent with the sample). */
    struct {
        int64_t start, late;
    } fly[16];
    size_t n_fly;
};

struct agent {
    const struct ash_agent_opts *o;
    ash_loop *loop;
    struct ash_channel *ch;
    struct ash_psk key;
    struct ash_scenario *sc;
    char run_id[64];
    char run_dir[4096];
    struct ash_journal *journal;
    bool guardian;
    struct ash_ctx ctx;
    void **state;                  /* per fault of the scenario */
    bool *applied;                 /* per fault: injected and not yet reverted */
    uint64_t *seq;                 /* per fault: when it was injected (a count), so the newest is reverted first */
    struct agent_probe *probes;    /* per probe of the scenario */
    struct ash_agent_hosts *hosts; /* fleet.hosts' hosts of this node, once the coordinator says where */
    ash_timer *hosts_timer;        /* starts their services, off the channel's message callback */
    json_t *hosts_id;              /* the hosts request, answered once they are ready */
    uint64_t injects;
    ash_timer *lease;
    int64_t last_word; /* when the coordinator last said anything */
    bool opened;       /* the handshake finished once */
    bool done;
    int status; /* 0: bye; -1: `why` */
    ash_error_t why;
};

static void send_msg(struct agent *a, json_t *msg)
{
    ash_error_t e = {0};
    if (msg && ash_channel_is_open(a->ch))
        ash_channel_send(a->ch, msg, &e); /* a failed send closes the channel: its callback ends the run */
    json_decref(msg);
}

static void leave(struct agent *a, int code, const char *fmt, const char *detail)
{
    if (a->done)
        return;
    a->done = true;
    a->status = -1;
    ash_error(&a->why, 0, fmt, detail); /* the message says it all; the code is for the caller */
    a->why.code = code;
    ash_loop_stop(a->loop);
}

/* ---- what the kinds see (struct ash_ctx) ---- */

static struct agent *of(struct ash_ctx *ctx)
{
    return ctx->engine;
}

/* A timeline event at t (this node's clock), for the coordinator's timeline. */
static void send_event(void *arg, int64_t t, const char *event, const char *detail)
{
    send_msg(arg, json_pack("{s:s, s:I, s:s, s:s}", "type", ASH_MSG_EVENT, "t", (json_int_t)t, "event", event, "detail",
                            detail ? detail : ""));
}

static void ctx_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    send_event(of(ctx), t, event, detail);
}

static void ctx_no_effect(struct ash_ctx *ctx, const char *fault, const char *why)
{
    send_msg(of(ctx), json_pack("{s:s, s:I, s:s, s:s}", "type", ASH_MSG_NO_EFFECT, "t", (json_int_t)ash_now_ns(),
                                "fault", fault, "why", why ? why : ""));
}

/* Targets resolve against this node: containers, processes and cgroups it can
 * see. Hosts and services belong to a local run's sandbox and services, which
 * an agent does not start. */
static int ctx_target(struct ash_ctx *ctx, const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err)
{
    /* A host fleet.hosts places here, built when the coordinator sent `hosts`. */
    struct agent *a = of(ctx);
    const char *hn = ref->type == ASH_TARGET_HOST ? ash_scenario_host_node(a->sc, ref->name) : NULL;
    if (hn && strcmp(hn, a->o->node) == 0 && a->hosts)
        return ash_target_resolve(ash_agent_hosts_sandbox(a->hosts), ash_agent_hosts_env(a->hosts), ref, out, err);
    if (ref->type == ASH_TARGET_HOST || ref->type == ASH_TARGET_SERVICE)
        return ash_error_class(err, ASH_ERR_USAGE, 0,
                               "node %s: target '%s:%s' is a %s of a local run; an agent reaches only "
                               "container:, pod:, process: and cgroup: targets on its node",
                               of(ctx)->o->node, ash_target_type_names[ref->type], ref->name,
                               ref->type == ASH_TARGET_HOST ? "sandbox host" : "service");
    /* A swarm service's tasks: the coordinator says which container is this node's. */
    if (ref->swarm || ref->kube)
        return ash_error_class(err, ASH_ERR_USAGE, 0, "node %s: no %s '%s' was given to this node by the coordinator",
                               of(ctx)->o->node, ref->swarm ? "task of swarm service" : "pod of", ref->name);
    /* A fleet scenario names the node of each target: never harm another node's. */
    if (ref->node && strcmp(ref->node, of(ctx)->o->node) != 0)
        return ash_error_class(err, ASH_ERR_USAGE, 0, "node %s: target '%s' is on node %s, not this one",
                               of(ctx)->o->node, ref->name, ref->node);
    return ash_target_resolve(NULL, NULL, ref, out, err);
}

static ssize_t fault_index(const struct agent *a, const char *name)
{
    for (size_t i = 0; a->sc && i < a->sc->n_faults; i++)
        if (strcmp(a->sc->faults[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static int revert_one(struct agent *a, size_t i, ash_error_t *err)
{
    if (!a->applied[i])
        return 0;
    a->applied[i] = false;
    void *st = a->state[i];
    a->state[i] = NULL;
    /* The engine's contract: one retry for a kind that keeps its state, then discard. */
    return ash_fault_revert(&a->ctx, &a->sc->faults[i], st, NULL, err);
}

static int ctx_revert_fault(struct ash_ctx *ctx, const char *fault, ash_error_t *err)
{
    struct agent *a = of(ctx);
    ssize_t i = fault_index(a, fault);
    if (i < 0)
        return ash_error(err, ENOENT, "no fault named '%s' in the scenario", fault);
    return revert_one(a, (size_t)i, err);
}

static int ctx_fault_ended(struct ash_ctx *ctx, const char *fault, ash_error_t *err)
{
    int rc = ctx_revert_fault(ctx, fault, err);
    ash_ctx_eventf(ctx, ash_now_ns(), "fault-ended", "%s ended by itself", fault);
    return rc;
}

static void *ctx_fault_state(struct ash_ctx *ctx, const char *fault)
{
    struct agent *a = of(ctx);
    ssize_t i = fault_index(a, fault);
    return i >= 0 && a->applied[i] ? a->state[i] : NULL;
}

/* ---- the coordinator's messages ---- */

/* The answer to a command; t is when it was done (an inject: when its harm was in effect). */
static void reply_at(struct agent *a, json_t *id, int rc, const ash_error_t *err, int64_t t)
{
    send_msg(a, json_pack("{s:s, s:O, s:b, s:s, s:I}", "type", ASH_MSG_RESULT, "id", id ? id : json_null(), "ok",
                          rc == 0, "error", rc == 0 ? "" : err->msg, "t", (json_int_t)t));
}

static void reply(struct agent *a, json_t *id, int rc, const ash_error_t *err)
{
    reply_at(a, id, rc, err, ash_now_ns());
}

/* A run id names the journal file: letters, digits, '-' and '_' only. */
static bool run_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

/* This node's faults can run here and their targets are here: checked when the
 * scenario arrives, so that a missing one fails the run before anything is harmed
 * on any node (as a local run's preflight does). */
static int check_my_faults(const struct agent *a, ash_error_t *err)
{
    for (size_t i = 0; i < a->sc->n_faults; i++) {
        const struct ash_fault_spec *f = &a->sc->faults[i];
        const char *node = ash_fault_node(f);
        if (!node || strcmp(node, a->o->node) != 0)
            continue;
        const char *why = f->kind->c.unavailable ? f->kind->c.unavailable() : NULL;
        if (why)
            return ash_error(err, 0, "fault '%s' (kind %s) cannot run on this node: %s", f->name, f->kind->c.name, why);
        for (const struct ash_field *fl = f->kind->c.fields; fl && fl->key; fl++) {
            if (fl->type != ASH_F_TARGET || (fl->flags & ASH_FIELD_DEPRECATED))
                continue;
            const struct ash_target_ref *ref = (const void *)((const char *)f->conf + fl->offset);
            ash_error_t e = {0};
            /* A host of this node's (fleet.hosts) is built after this, when `hosts` comes. */
            const char *hn = ref->type == ASH_TARGET_HOST ? ash_scenario_host_node(a->sc, ref->name) : NULL;
            if (hn && strcmp(hn, a->o->node) == 0)
                continue;
            if (ref->name && ash_target_check(ref, fl->needs, &e) < 0)
                return ash_error(err, 0, "fault '%s': %s", f->name, e.msg);
        }
    }
    /* A probe from a container on this node needs the container (and its own network). */
    for (size_t i = 0; i < a->sc->n_probes; i++) {
        const struct ash_probe_spec *p = &a->sc->probes[i];
        if (!p->node || strcmp(p->node, a->o->node) != 0)
            continue;
        const char *why = p->kind->c.unavailable ? p->kind->c.unavailable() : NULL;
        if (why)
            return ash_error(err, 0, "probe '%s' (kind %s) cannot run on this node: %s", p->name, p->kind->c.name, why);
        if (!p->node_from)
            continue;
        /* A host this node builds (fleet.hosts) comes with the coordinator's hosts message. */
        if (strncmp(p->node_from, "host:", 5) == 0) {
            const char *hn = ash_scenario_host_node(a->sc, p->node_from + 5);
            if (!hn || strcmp(hn, a->o->node) != 0)
                return ash_error(err, 0, "probe '%s': host %s is not placed on node %s", p->name, p->node_from + 5,
                                 a->o->node);
            continue;
        }
        char msg[300];
        struct ash_target_ref ref = {0};
        ash_error_t e = {0};
        int r = ash_target_ref_parse(p->node_from, &ref, msg, sizeof msg) < 0 ? ash_error(&e, EINVAL, "%s", msg) : 0;
        /* The engine the scenario names, as the probe itself will ask (probes/probe_socket.c). */
        if (r == 0 && a->sc->runtime.docker_host && !(ref.endpoint = strdup(a->sc->runtime.docker_host)))
            r = ash_error(&e, ENOMEM, "its engine's address");
        if (r == 0)
            r = ash_target_check(&ref, ASH_CAP_NETNS, &e);
        ash_target_ref_clear(&ref);
        if (r < 0)
            return ash_error(err, 0, "probe '%s': from: %s: %s", p->name, p->from, e.msg);
    }
    return 0;
}

/* A task container whose init this agent cannot see (a swarm task has no host PID
 * namespace, docs/fleet.md) is reached through its own cgroup, found by its id: what
 * works through a cgroup (host-crash freeze) works; the rest is refused by the check
 * of the cgroup target, saying what it lacks. Said on the timeline either way. */
static int by_cgroup(struct agent *a, const struct ash_fault_spec *f, struct ash_target_ref *ref, unsigned needs)
{
    ash_error_t e = {0}, ce = {0};
    if (ash_target_check(ref, needs, &e) == 0)
        return 0;
    char rel[1024], msg[1400];
    if (ash_cgroup_find_container(NULL, ref->name, rel, sizeof rel, &ce) < 0)
        return 0; /* the check at the scenario says the container's own reason */
    char *dup = strdup(rel);
    if (!dup)
        return -1;
    snprintf(msg, sizeof msg, "fault '%s': container %.12s through its cgroup %s (%s)", f->name, ref->name, rel, e.msg);
    free(ref->name);
    ref->name = dup;
    ref->type = ASH_TARGET_CGROUP;
    /* Not ctx_event: the run's ctx is set up once the scenario is taken. */
    send_msg(a, json_pack("{s:s, s:I, s:s, s:s}", "type", ASH_MSG_EVENT, "t", (json_int_t)ash_now_ns(), "event",
                          "fleet-target", "detail", msg));
    return 0;
}

/* The coordinator resolved `{swarm_service: S}` targets to this node's task
 * containers ("resolved": {FAULT: CONTAINER_ID}): each becomes container:ID on
 * this node, so the rest (checks, inject, journal) is a container target's. */
static int take_resolved(struct agent *a, json_t *resolved, ash_error_t *err)
{
    const char *name;
    json_t *id;
    json_object_foreach(resolved, name, id)
    {
        ssize_t i = fault_index(a, name);
        const struct ash_fault_spec *f = i >= 0 ? &a->sc->faults[i] : NULL;
        const char *cid = json_string_value(id);
        struct ash_target_ref *ref = NULL;
        unsigned needs = 0;
        for (const struct ash_field *fl = f ? f->kind->c.fields : NULL; fl && fl->key; fl++) {
            struct ash_target_ref *r = (struct ash_target_ref *)((char *)f->conf + fl->offset);
            if (fl->type == ASH_F_TARGET && !(fl->flags & ASH_FIELD_DEPRECATED) && r->name && (r->swarm || r->kube)) {
                ref = r;
                needs = fl->needs;
            }
        }
        char msg[256];
        /* A task's container id, or a pod's NS/POD/CONTAINER. */
        if (!ref || !cid || !cid[0] ||
            (ref->swarm ? strspn(cid, "0123456789abcdef") != strlen(cid)
                        : ash_target_selector_check(ASH_TARGET_POD, cid, msg, sizeof msg) < 0))
            return ash_error(err, EINVAL,
                             "node %s: the coordinator resolved '%s', not a swarm_service or pods fault here",
                             a->o->node, name);
        bool swarm = ref->swarm;
        char *n = strdup(cid), *node = strdup(a->o->node);
        if (!n || !node) {
            free(n);
            free(node);
            return ash_error(err, ENOMEM, "resolved target");
        }
        free(ref->name);
        free(ref->node);
        ref->name = n;
        ref->node = node;
        ref->swarm = ref->kube = ref->all = false;
        if (swarm && by_cgroup(a, f, ref, needs) < 0)
            return -1;
    }
    return 0;
}

static int take_scenario(struct agent *a, json_t *msg, ash_error_t *err)
{
    const char *run = json_string_value(json_object_get(msg, "run"));
    const char *name = json_string_value(json_object_get(msg, "name"));
    json_t *text = json_object_get(msg, "text");
    if (a->sc)
        return ash_error(err, EEXIST, "node %s already has this run's scenario", a->o->node);
    if (!run_id_ok(run))
        return ash_error(err, EINVAL, "run id '%s' is not 1-63 letters, digits, '-' or '_'", run ? run : "");
    if (!json_is_string(text))
        return ash_error(err, EINVAL, "a scenario message without its text");
    if (ash_scenario_load_string_with(name ? name : "scenario.yaml", json_string_value(text), json_string_length(text),
                                      a->o->kinds, &a->sc, err) < 0)
        return ash_error_wrap(err, "node %s cannot use the scenario", a->o->node);
    if (take_resolved(a, json_object_get(msg, "resolved"), err) < 0 || check_my_faults(a, err) < 0)
        return -1;
    size_t n = a->sc->n_faults ? a->sc->n_faults : 1;
    a->state = calloc(n, sizeof *a->state);
    a->applied = calloc(n, sizeof *a->applied);
    a->seq = calloc(n, sizeof *a->seq);
    a->probes = calloc(a->sc->n_probes + 1, sizeof *a->probes);
    if (!a->state || !a->applied || !a->seq || !a->probes)
        return ash_error(err, ENOMEM, "scenario state");
    snprintf(a->run_id, sizeof a->run_id, "%s", run);
    const char *dir = a->o->state_dir;
    /* The guardian first, then the journal it watches, as a local run does. */
    if (a->o->guardian_exe) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.journal", dir, a->run_id);
        ash_error_t gerr = {0};
        if (ash_guardian_start(a->o->guardian_exe, path, &gerr) < 0)
            ctx_event(&a->ctx, ash_now_ns(), "warning", gerr.msg);
        else
            a->guardian = true;
    }
    /* Fault output (an exec fault's log) goes under STATE_DIR/RUN_ID, as under a local run's directory. */
    snprintf(a->run_dir, sizeof a->run_dir, "%s/%s", dir, a->run_id);
    /* The journal's header commits to the records of committed_only undo ops (an
     * exec fault's revert command), as a local run's does, so that recover and the
     * guardian on this node run them. */
    json_t *commit = json_array();
    for (size_t i = 0; commit && i < a->sc->n_faults; i++) {
        const struct ash_fault_spec *f = &a->sc->faults[i];
        if (f->kind->commit && f->kind->commit(f, a->sc->dir, a->run_dir, commit, err) < 0) {
            json_decref(commit);
            return ash_error_wrap(err, "node %s", a->o->node);
        }
    }
    int jr = commit ? ash_journal_open_committed(dir, a->run_id, commit, &a->journal, err)
                    : ash_error(err, ENOMEM, "journal");
    json_decref(commit);
    if (jr < 0)
        return ash_error_wrap(err, "node %s cannot open its journal", a->o->node);
    a->ctx = (struct ash_ctx){.loop = a->loop,
                              .journal = a->journal,
                              .scenario = a->sc,
                              .run_id = a->run_id,
                              .run_dir = a->run_dir,
                              .state_dir = dir,
                              .event = ctx_event,
                              .no_effect = ctx_no_effect,
                              .target = ctx_target,
                              .revert_fault = ctx_revert_fault,
                              .fault_ended = ctx_fault_ended,
                              .fault_state = ctx_fault_state,
                              .engine = a};
    return 0;
}

/* ---- probes from this node ---- */

static void probe_close(struct agent_probe *ap)
{
    if (ap->timer)
        ash_loop_cancel_timer(ap->a->loop, ap->timer);
    ap->timer = NULL;
    if (ap->open)
        ap->local.kind->close(&ap->a->ctx, &ap->local, ap->state); /* samples in flight are abandoned */
    ap->open = false;
    ap->state = NULL;
}

/* Stop every probe (bye, the lease, a lost connection: no one takes the samples). */
static void probes_close(struct agent *a)
{
    for (size_t i = 0; a->probes && a->sc && i < a->sc->n_probes; i++)
        probe_close(&a->probes[i]);
}

static void send_sample(struct agent_probe *ap, const struct ash_sample *s)
{
    struct ash_fleet_sample fs = {
        .probe = ap->local.name, .start = s->start, .end = s->end, .ok = s->ok, .detail = s->detail, .late = -1};
    for (size_t k = 0; k < ap->n_fly; k++)
        if (ap->fly[k].start == s->start) {
            fs.late = ap->fly[k].late;
            ap->fly[k] = ap->fly[--ap->n_fly];
            break;
        }
    send_msg(ap->a, ash_probe_msg_sample(&fs));
}

static void sample_done(void *arg, const struct ash_sample *s)
{
    send_sample(arg, s);
}

/* As a local run's tick (engine/run.c): on schedule, a late one skips rather than bursts. */
static int64_t probe_tick(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct agent_probe *ap = data;
    int64_t scheduled = ash_timer_deadline(ap->timer), start = ash_now_ns(), every = ap->local.every_ns;
    ash_error_t e = {0};
    /* Its lateness goes with its sample (as a local run's schedule_lateness_ms). More
     * in flight than kept: the oldest one's is not said rather than guessed. */
    if (ap->n_fly == sizeof ap->fly / sizeof *ap->fly)
        ap->fly[0] = ap->fly[--ap->n_fly];
    ap->fly[ap->n_fly].start = start;
    ap->fly[ap->n_fly++].late = start - scheduled;
    if (ap->local.kind->sample(&ap->a->ctx, &ap->local, ap->state, start, sample_done, ap, &e) < 0) {
        struct ash_sample s = {.start = start, .end = ash_now_ns(), .ok = false};
        snprintf(s.detail, sizeof s.detail, "%s", e.msg);
        send_sample(ap, &s);
    }
    int64_t next = scheduled + every;
    if (next <= now)
        next = now + every - (now - scheduled) % every;
    return next;
}

static ssize_t probe_index(const struct agent *a, const char *name)
{
    for (size_t i = 0; a->sc && i < a->sc->n_probes; i++)
        if (strcmp(a->sc->probes[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static int probe_start(struct agent *a, json_t *msg, ash_error_t *err)
{
    struct ash_probe_start ps;
    if (ash_probe_msg_start_parse(msg, &ps, err) < 0)
        return ash_error_wrap(err, "node %s", a->o->node);
    if (!a->sc)
        return ash_error(err, EINVAL, "node %s has no scenario yet", a->o->node);
    ssize_t i = probe_index(a, ps.probe);
    if (i < 0)
        return ash_error(err, ENOENT, "no probe named '%s' in the scenario", ps.probe);
    const struct ash_probe_spec *p = &a->sc->probes[i];
    struct agent_probe *ap = &a->probes[i];
    /* The scenario says where each probe samples: a message that says otherwise is
     * from another build, and this node must not sample what it was not given. */
    if (!p->node || strcmp(p->node, a->o->node) != 0)
        return ash_error(err, EINVAL, "probe '%s' is not one of node %s's (from: %s)", p->name, a->o->node,
                         p->from ? p->from : "the coordinator");
    if ((ps.from == NULL) != (p->node_from == NULL) || (ps.from && strcmp(ps.from, p->node_from) != 0))
        return ash_error(err, EINVAL, "probe '%s': the coordinator's from (%s) is not the scenario's (%s)", p->name,
                         ps.from ? ps.from : "the node", p->node_from ? p->node_from : "the node");
    if (ap->open)
        return ash_error(err, EALREADY, "probe '%s' already samples on node %s", p->name, a->o->node);
    *ap = (struct agent_probe){.a = a, .local = *p};
    ap->local.from = p->node_from; /* the same probe code as a local `from: container:NAME` */
    if (strncmp(p->node_from ? p->node_from : "", "host:", 5) == 0)
        ap->local.from = p->node_from + 5; /* a host this node built: as a local `from: HOST` */
    ap->local.node = NULL;
    ap->local.node_from = NULL;
    ap->local.every_ns = ps.every_ns;
    if (p->kind->open(&a->ctx, &ap->local, &ap->state, err) < 0)
        return ash_error_wrap(err, "node %s: probe '%s'", a->o->node, p->name);
    ap->open = true;
    ap->timer = ash_loop_add_timer(a->loop, ash_now_ns(), probe_tick, ap);
    if (!ap->timer) {
        probe_close(ap);
        return ash_error(err, ENOMEM, "node %s: probe '%s': its timer", a->o->node, p->name);
    }
    return 0;
}

static void probe_stop(struct agent *a, json_t *msg)
{
    const char *name = json_string_value(json_object_get(msg, "probe"));
    ssize_t i = name ? probe_index(a, name) : -1;
    if (i >= 0)
        probe_close(&a->probes[i]);
}

/* Forget a scenario that could not be taken whole, or the run's at its end. */
/* fleet.hosts: build this node's hosts where the coordinator says (its /24, the overlay's peers). */
static int hosts_cmd(struct agent *a, json_t *msg, ash_error_t *err)
{
    struct ash_hosts_msg m;
    uint32_t local, peer;
    if (!a->sc)
        return ash_error(err, EINVAL, "node %s has no scenario yet", a->o->node);
    if (a->hosts)
        return ash_error(err, EALREADY, "node %s has built its hosts already", a->o->node);
    if (ash_hosts_msg_parse(msg, &m, err) < 0)
        return ash_error_wrap(err, "node %s", a->o->node);
    if (ash_channel_addrs4(a->ch, &local, &peer) < 0)
        return ash_error(err, EAFNOSUPPORT,
                         "node %s: hosts on nodes join over IPv4: connect the agent to the coordinator's IPv4 address",
                         a->o->node);
    struct ash_agent_hosts_opts o = {.sc = a->sc,
                                     .node = a->o->node,
                                     .run_id = a->run_id,
                                     .run_dir = a->run_dir,
                                     .journal = a->journal,
                                     .local = local,
                                     .msg = &m,
                                     .loop = a->loop,
                                     .event = send_event, /* the services' events */
                                     .event_arg = a,
                                     .ctx = &a->ctx};
    if (ash_agent_hosts_build(&o, &a->hosts, err) < 0)
        return -1;
    a->ctx.sandbox = ash_agent_hosts_sandbox(a->hosts);
    a->ctx.env = ash_agent_hosts_env(a->hosts); /* a host-crash restarts the host's services */
    return 0;
}

/* The hosts' services start here, from a timer: awaiting their ready checks runs
 * the loop, which must not happen inside the channel's delivery of a message. */
static int64_t hosts_start(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    (void)now;
    struct agent *a = data;
    ash_error_t e = {0};
    a->hosts_timer = NULL;
    int rc = ash_agent_hosts_start(a->hosts, a->o->node, &e);
    reply(a, a->hosts_id, rc, &e);
    json_decref(a->hosts_id);
    a->hosts_id = NULL;
    return ASH_TIMER_DONE;
}

static void drop_scenario(struct agent *a)
{
    if (a->hosts_timer)
        ash_loop_cancel_timer(a->loop, a->hosts_timer);
    a->hosts_timer = NULL;
    json_decref(a->hosts_id);
    a->hosts_id = NULL;
    probes_close(a);
    free(a->probes);
    a->probes = NULL;
    /* After the probes (their sockets are in the hosts) and the faults; before the journal closes. */
    ash_agent_hosts_free(a->hosts);
    a->hosts = NULL;
    a->ctx.sandbox = NULL;
    a->ctx.env = NULL;
    if (a->journal) {
        ash_journal_close(a->journal, true);
        a->journal = NULL;
    }
    if (a->guardian) {
        ash_guardian_stop(); /* after the journal is closed: never while it has undo records */
        a->guardian = false;
    }
    ash_scenario_free(a->sc);
    a->sc = NULL;
    free(a->state);
    free(a->applied);
    free(a->seq);
    a->state = NULL;
    a->applied = NULL;
    a->seq = NULL;
}

static int fault_cmd(struct agent *a, json_t *msg, bool inject, ash_error_t *err)
{
    const char *name = json_string_value(json_object_get(msg, "fault"));
    if (!a->sc)
        return ash_error(err, EINVAL, "node %s has no scenario yet", a->o->node);
    ssize_t i = name ? fault_index(a, name) : -1;
    if (i < 0)
        return ash_error(err, ENOENT, "no fault named '%s' in the scenario", name ? name : "");
    const struct ash_fault_spec *f = &a->sc->faults[i];
    if (!inject)
        return a->applied[i] ? revert_one(a, (size_t)i, err)
                             : ash_error(err, EINVAL, "fault '%s' is not in effect on node %s", name, a->o->node);
    if (a->applied[i])
        return ash_error(err, EALREADY, "fault '%s' is already in effect on node %s", name, a->o->node);
    /* The kind journals each undo before each change, and reverts what it did when it fails. */
    if (f->kind->inject(&a->ctx, f, &a->state[i], err) < 0)
        return -1;
    a->applied[i] = true;
    a->seq[i] = ++a->injects;
    return 0;
}

static void on_message(struct ash_channel *ch, json_t *msg, void *data)
{
    (void)ch;
    struct agent *a = data;
    a->last_word = ash_now_ns(); /* any word renews the lease */
    const char *type = json_string_value(json_object_get(msg, "type"));
    json_t *id = json_object_get(msg, "id");
    ash_error_t e = {0};
    if (!type)
        return;
    if (strcmp(type, ASH_MSG_PING) == 0) {
        if (json_integer_value(id))
            send_msg(a, json_pack("{s:s, s:O, s:I}", "type", ASH_MSG_PONG, "id", id, "t", (json_int_t)ash_now_ns()));
    } else if (strcmp(type, ASH_MSG_SCENARIO) == 0) {
        bool had = a->sc != NULL;
        int rc = take_scenario(a, msg, &e);
        if (rc < 0 && !had)
            drop_scenario(a); /* nothing injected from it: the next scenario message starts clean */
        reply(a, id, rc, &e);
    } else if (strcmp(type, ASH_MSG_HOSTS) == 0) {
        /* Built now; answered when their services are ready (hosts_start). */
        if (hosts_cmd(a, msg, &e) < 0)
            reply(a, id, -1, &e);
        else if (!(a->hosts_timer = ash_loop_add_timer(a->loop, ash_now_ns(), hosts_start, a)))
            reply(a, id, ash_error(&e, ENOMEM, "node %s: a timer", a->o->node), &e);
        else
            a->hosts_id = json_incref(id);
    } else if (strcmp(type, ASH_MSG_INJECT) == 0 || strcmp(type, ASH_MSG_REVERT) == 0) {
        /* Its own stamp: another command may arrive inside this one's call (a nested loop). */
        int64_t outer = a->ctx.harm_began;
        a->ctx.harm_began = 0;
        int rc = fault_cmd(a, msg, type[0] == 'i', &e);
        int64_t done = ash_now_ns(), began = a->ctx.harm_began;
        a->ctx.harm_began = outer;
        reply_at(a, id, rc, &e, began > 0 ? began : done);
    } else if (strcmp(type, ASH_MSG_PROBE) == 0) {
        reply(a, id, probe_start(a, msg, &e), &e);
    } else if (strcmp(type, ASH_MSG_PROBE_STOP) == 0) {
        probe_stop(a, msg);
    } else if (strcmp(type, ASH_MSG_BYE) == 0) {
        a->done = true;
        a->status = 0;
        ash_loop_stop(a->loop);
    } else if (strcmp(type, ASH_MSG_REFUSED) == 0) {
        const char *why = json_string_value(json_object_get(msg, "why"));
        leave(a, EPERM, "the coordinator refused this agent: %s", why ? why : "no reason given");
    } else {
        reply(a, id,
              ash_error(&e, ENOTSUP, "node %s does not know the message '%s' (another version?)", a->o->node, type),
              &e);
    }
}

/* The containers this node's engine has (the one an unqualified container: target
 * resolves through: $DOCKER_HOST or the default socket), for the coordinator to check
 * the scenario's against before anything is harmed. NULL (nothing said) when there is
 * no engine here or it does not answer: an absent list is not an empty one. */
static json_t *visible_targets(void)
{
    struct ash_docker *d = NULL;
    json_t *list = NULL, *out = NULL;
    if (ash_docker_open(NULL, &d, NULL) == 0 &&
        ash_docker_call(d, "GET", "/containers/json?all=1", NULL, &list, NULL) == 0) {
        char engine[4200];
        snprintf(engine, sizeof engine, "unix://%s", ash_docker_socket(d));
        out = ash_hello_targets(engine, list);
    }
    json_decref(list);
    ash_docker_close(d);
    return out;
}

static void on_open(struct ash_channel *ch, void *data)
{
    (void)ch;
    struct agent *a = data;
    a->last_word = ash_now_ns();
    a->opened = true;
    json_t *targets = visible_targets();
    json_t *hello = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I}", "type", ASH_MSG_HELLO, "node", a->o->node,
                              "version", ASH_VERSION, "proto", ASH_FLEET_PROTO, "pid", (json_int_t)getpid(), "lease_ns",
                              (json_int_t)a->o->lease_ns, "t", (json_int_t)ash_now_ns());
    if (hello && targets)
        json_object_set_new(hello, "targets", targets);
    else
        json_decref(targets);
    send_msg(a, hello);
}

static void on_closed(struct ash_channel *ch, const ash_error_t *why, void *data)
{
    (void)ch;
    struct agent *a = data;
    leave(a, why->code ? why->code : ECONNRESET,
          a->opened ? "lost the coordinator: %s" : "cannot reach the coordinator: %s", why->msg);
}

static const struct ash_channel_cbs cbs = {.open = on_open, .message = on_message, .closed = on_closed};

/* The dead-man switch: without a word from the coordinator for the lease, the
 * faults on this node are reverted (a coordinator that hangs, or a network
 * that drops its packets without closing the connection, shows only this way). */
static int64_t lease_check(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct agent *a = data;
    int64_t expires = a->last_word + a->o->lease_ns;
    if (!a->last_word || now < expires)
        return a->last_word ? expires : now + a->o->lease_ns;
    a->lease = NULL;
    char lease[32];
    snprintf(lease, sizeof lease, "%.3gs", (double)a->o->lease_ns / 1e9);
    leave(a, ETIMEDOUT, "no word from the coordinator for %s (the lease): reverting this node's faults", lease);
    return ASH_TIMER_DONE;
}

static void on_signal(ash_loop *loop, int signo, void *data)
{
    (void)loop;
    leave(data, EINTR, "stopped by %s: reverting this node's faults", strsignal(signo));
}

/* Revert everything still applied, newest first (as a local run does). */
static int revert_all(struct agent *a, size_t *n_reverted, ash_error_t *err)
{
    int failed = 0;
    *n_reverted = 0;
    for (;;) {
        size_t k = SIZE_MAX;
        for (size_t i = 0; a->sc && i < a->sc->n_faults; i++)
            if (a->applied[i] && (k == SIZE_MAX || a->seq[i] > a->seq[k]))
                k = i;
        if (k == SIZE_MAX)
            break;
        ash_error_t e = {0};
        if (revert_one(a, k, &e) < 0) {
            if (!failed++)
                *err = e;
        } else {
            (*n_reverted)++;
        }
    }
    return failed ? -1 : 0;
}

static int finish(struct agent *a, ash_error_t *err)
{
    probes_close(a); /* first: nobody takes their samples any more */
    size_t n = 0;
    ash_error_t rerr = {0};
    int rc = revert_all(a, &n, &rerr);
    if (a->status < 0)
        send_msg(a, json_pack("{s:s, s:s}", "type", ASH_MSG_GOODBYE, "why", a->why.msg));
    bool served = a->sc != NULL;
    /* The journal is removed when nothing is pending; otherwise kept for `aftershock recover`. */
    drop_scenario(a);
    if (rc < 0) {
        ash_error(err, 0,
                  "%s; a fault could not be reverted: %s (its journal is kept for 'aftershock recover "
                  "--state-dir %s')",
                  a->status < 0 ? a->why.msg : "the coordinator said bye", rerr.msg, a->o->state_dir);
        err->code = rerr.code;
        return -1;
    }
    if (a->status < 0 && !served) {
        *err = a->why;
        return -1;
    }
    if (a->status < 0) {
        *err = a->why;
        char tail[64];
        snprintf(tail, sizeof tail, " (%zu reverted)", n);
        size_t l = strlen(err->msg);
        snprintf(err->msg + l, sizeof err->msg - l, "%s", tail);
        return -1;
    }
    return 0;
}

int ash_agent_run(const struct ash_agent_opts *opts, ash_error_t *err)
{
    struct ash_agent_opts o = *opts;
    if (o.lease_ns <= 0)
        o.lease_ns = ASH_AGENT_LEASE_NS;
    if (!o.state_dir)
        o.state_dir = ASH_DEFAULT_STATE_DIR;
    if (!o.kinds)
        o.kinds = &ash_kinds;
    if (!o.node || !o.node[0] || strlen(o.node) > 127)
        return ash_error_class(err, ASH_ERR_USAGE, 0, "--node NAME: 1-127 bytes naming this node");
    /* In a container (a Swarm task) the agent is PID 1: it goes on as the child
     * of a supervisor, so that its guardian outlives it (sys/pid1.h). */
    if (ash_pid1_supervise(err) < 0)
        return -1;
    struct agent a = {.o = &o};
    int rc = -1;
    if (ash_psk_read(o.key_file, &a.key, err) < 0)
        return -1;
    if (ash_loop_new(&a.loop, err) < 0)
        goto out;
    if (ash_loop_add_signal(a.loop, SIGINT, on_signal, &a, err) < 0 ||
        ash_loop_add_signal(a.loop, SIGTERM, on_signal, &a, err) < 0 ||
        ash_loop_add_signal(a.loop, SIGHUP, on_signal, &a, err) < 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    if (ash_channel_connect(a.loop, o.connect, &a.key, o.handshake_ns, &cbs, &a, &a.ch, err) < 0)
        goto out;
    a.lease = ash_loop_add_timer(a.loop, ash_now_ns() + o.lease_ns, lease_check, &a);
    if (!a.lease) {
        ash_error(err, ENOMEM, "cannot arm the lease timer");
        goto out;
    }
    if (ash_loop_run_until(a.loop, &a.done, -1, err) < 0)
        leave(&a, EIO, "the event loop failed: %s", err->msg);
    if (!a.done)
        leave(&a, EIO, "%s", "the event loop ended");
    rc = finish(&a, err);
out:
    if (a.lease)
        ash_loop_cancel_timer(a.loop, a.lease);
    ash_channel_free(a.ch);
    drop_scenario(&a);
    ash_loop_free(a.loop);
    memset(&a.key, 0, sizeof a.key);
    return rc;
}
