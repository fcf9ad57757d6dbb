/* `aftershock run` as a fleet coordinator (fleet_run.h, docs/fleet.md). */
#include "engine/fleet_run.h"
#include "engine/measure.h"
#include "env/env.h"
#include "fleet/coord.h"
#include "fleet/deploy.h"
#include "env/sandbox.h"
#include "env/sandbox_overlay.h"
#include "fleet/hello_targets.h"
#include "fleet/hosts_msg.h"
#include "fleet/probe_msg.h"
#include "fleet/proto.h"
#include "fleet/psk.h"
#include "fleet/kube.h"
#include "fleet/swarm_tasks.h"
#include "kinds.h"
#include "sys/clock.h"
#include "sys/fs.h"
#include "sys/gil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* How long one inject or revert may take on its node before the run gives up on the
 * answer (a silent agent is lost sooner: fleet.lease). */
#define FLEET_ANSWER_NS (60 * ASH_NS_PER_S)
#define FLEET_CLOCK_NS (10 * ASH_NS_PER_S)
/* How long a node may take to build its hosts (namespaces, cgroups, links). */
#define FLEET_HOSTS_NS (30 * ASH_NS_PER_S)
#define FLEET_PROGRESS_NS (5 * ASH_NS_PER_S)

/* One request's answer. It lives as long as the run (a late answer to a request
 * given up on lands here, harmlessly). */
struct slot {
    bool done, cancelled;
    int ok;
    ash_error_t err;
    struct ash_fleet_time when;
    struct ash_fleet_run *fr;
};

/* A fault on one node. A fault on a swarm service's tasks has one per task. */
struct remote {
    const struct ash_fault_spec *f;
    const char *node;
    struct slot inject, revert;
    struct ash_swarm_task task; /* the task it harms (swarm_service targets), else zeros */
    struct ash_kube_target pod; /* the pod it harms (pods targets), else zeros */
    char resolved[600];         /* what its agent is told its target is ("" : the scenario's) */
};

/* A probe its node's agent samples (`from: NODE[/CONTAINER]`). */
struct rprobe {
    const struct ash_probe_spec *p;
    ash_fleet_sample_fn cb;
    void *arg;
    bool active; /* started, not stopped: its samples are taken */
    struct slot start;
    size_t n;         /* samples taken */
    int64_t last_end; /* the latest sample's end, on this clock */
    int64_t bound;    /* the largest clock bound of its samples */
    char lost[400];   /* why its samples stopped before the run stopped them, "" if they did not */
    /* Staleness (its agent connected, its samples not coming): see stale_tick. */
    int64_t since;      /* when it was started, on this clock */
    int64_t heard;      /* when its last sample arrived (or it was started) */
    bool stale;         /* silent now for longer than stale_after */
    size_t n_stale;     /* how many times it went stale */
    int64_t stale_from; /* what was known of it when it first went stale; -1: never */
    int64_t *late;      /* per sample whose agent said it: how late its tick started there */
    size_t n_late, cap_late;
};

struct ash_fleet_run {
    struct ash_fleet_run_opts o;
    struct ash_fleet_spec fl; /* the scenario's, its coordinator-side paths' placeholders substituted */
    struct ash_coord *coord;
    struct ash_psk key;
    char key_path[4200];
    char reach[400]; /* ADDRESS:PORT the agents connect to: the bound port, not fleet.listen's :0 */
    pthread_t loop_thread;
    int efd; /* the loop wakes a waiting worker */
    struct remote *faults;
    size_t n_faults, cap_faults;
    struct rprobe *probes;
    size_t n_probes;
    int64_t bound;                        /* the largest clock bound of a remote inject or revert time */
    int64_t probe_bound;                  /* the largest clock bound of a remote probe's sample time */
    bool ending;                          /* bye was said: agents leaving is the plan */
    const struct ash_fleet_deployer *dep; /* fleet.engine deploys the agents; NULL: someone else does */
    void *deployed;                       /* what dep made, removed at the end */
    int64_t next_check;                   /* when the wait next asks the engine whether it gave up on an agent */
    ash_timer *stale_timer;
    int64_t unknown_from; /* from here on the remote probes' samples are not all known: INT64_MAX when they are */
    struct ash_overlay *overlay; /* fleet.hosts: this machine's end of the hosts' VXLAN */
};

static const struct ash_fleet_spec *spec(const struct ash_fleet_run *fr)
{
    return &fr->fl;
}

/* key_file and kubeconfig are paths on this machine, like every other path field:
 * {scenario_dir}, {run_dir}, {run_id}, ... substituted. The copy shares the rest
 * with the scenario, which outlives the run. */
static int substitute_paths(struct ash_fleet_run *fr, ash_error_t *err)
{
    const struct ash_fleet_spec *sc = &fr->o.sc->fleet;
    const char *sdir = fr->o.sc->dir;
    fr->fl = *sc;
    fr->fl.key_file = fr->fl.kubeconfig = NULL;
    if ((sc->key_file && !(fr->fl.key_file = ash_env_substitute(sc->key_file, sdir, fr->o.run_dir))) ||
        (sc->kubeconfig && !(fr->fl.kubeconfig = ash_env_substitute(sc->kubeconfig, sdir, fr->o.run_dir))))
        return ash_error(err, ENOMEM, "fleet: key_file, kubeconfig");
    return 0;
}

static void event(struct ash_fleet_run *fr, int64_t t, const char *ev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void event(struct ash_fleet_run *fr, int64_t t, const char *ev, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (fr->o.event)
        fr->o.event(fr->o.arg, t, ev, detail);
}

/* A lost agent's probes stop: said on the timeline and in the report, never a probe
 * that looks healthy because nothing more came. `names` gets "'p', 'q'". */
static void probes_lost(struct ash_fleet_run *fr, const char *node, const char *why, char *names, size_t len)
{
    names[0] = '\0';
    for (size_t i = 0; i < fr->n_probes; i++) {
        struct rprobe *rp = &fr->probes[i];
        if (!rp->active || strcmp(rp->p->node, node) != 0)
            continue;
        rp->active = false;
        snprintf(rp->lost, sizeof rp->lost, "node %s's agent was lost: %s", node, why);
        event(fr, ash_now_ns(), "probe-lost",
              "probe '%s' on node %s: stopped after %zu samples (its agent was lost: %s)", rp->p->name, node, rp->n,
              why);
        size_t at = strlen(names);
        snprintf(names + at, len - at, "%s'%s'", at ? ", " : "", rp->p->name);
    }
}

static bool expected(struct ash_fleet_run *fr, const char *node)
{
    for (size_t i = 0; i < spec(fr)->nodes.n; i++)
        if (strcmp(spec(fr)->nodes.v[i], node) == 0)
            return true;
    return false;
}

static void on_agent(struct ash_coord *c, const char *node, bool up, const char *why, void *data)
{
    (void)c;
    struct ash_fleet_run *fr = data;
    /* An engine deploys an agent on every node it runs; those not in fleet.nodes
     * get nothing to do, and their going harms nothing of this run. */
    if (!up && !expected(fr, node)) {
        event(fr, ash_now_ns(), "fleet-agent", "node %s (not in fleet.nodes): agent left (%s)", node, why);
        return;
    }
    char probes[300] = "";
    if (!up && !fr->ending)
        probes_lost(fr, node, why, probes, sizeof probes);
    if (up)
        event(fr, ash_now_ns(), "fleet-agent", "node %s: agent connected", node);
    else if (fr->ending)
        event(fr, ash_now_ns(), "fleet-agent", "node %s: agent left after bye (%s)", node, why);
    else
        event(fr, ash_now_ns(), "fleet-agent-lost",
              "node %s: %s (its agent reverts what it applied; if it was killed, its guardian)", node, why);
    if (!up && !fr->ending && fr->o.lost) {
        char msg[600];
        snprintf(msg, sizeof msg, "fleet: lost the agent of node %s: %s%s%s%s", node, why,
                 probes[0] ? " (probe(s) " : "", probes, probes[0] ? " sampled there: they stopped)" : "");
        fr->o.lost(fr->o.arg, msg);
    }
}

/* An agent's timeline event, on this clock, with its bound in the detail. */
static void on_event(struct ash_coord *c, const struct ash_fleet_event *ev, void *data)
{
    (void)c;
    struct ash_fleet_run *fr = data;
    if (ev->when.bound < 0)
        event(fr, ev->when.t, ev->event, "node %s (its clock not mapped yet): %s", ev->node, ev->detail);
    else
        event(fr, ev->when.t, ev->event, "node %s (±%.3f ms): %s", ev->node, ash_ns_to_ms(ev->when.bound), ev->detail);
}

/* A sample of a probe on a node, onto this clock and into the run's series. */
static void on_sample(struct ash_coord *c, const struct ash_fleet_probe_sample *s, void *data)
{
    (void)c;
    struct ash_fleet_run *fr = data;
    for (size_t i = 0; i < fr->n_probes; i++) {
        struct rprobe *rp = &fr->probes[i];
        if (strcmp(rp->p->name, s->probe) != 0 || strcmp(rp->p->node, s->node) != 0)
            continue;
        if (!rp->active || s->start.bound < 0)
            return; /* stopped (a late one), or before the clock was mapped (never: the start waits for it) */
        rp->heard = ash_now_ns();
        if (rp->stale) {
            rp->stale = false;
            event(fr, rp->heard, "probe-fresh",
                  "probe '%s' on node %s: samples again; what it did not sample while silent stays unknown",
                  rp->p->name, s->node);
        }
        struct ash_sample smp = {.start = s->start.t, .end = s->end.t, .ok = s->ok};
        snprintf(smp.detail, sizeof smp.detail, "%s", s->detail);
        int64_t b = s->start.bound > s->end.bound ? s->start.bound : s->end.bound;
        if (b > rp->bound)
            rp->bound = b;
        if (b > fr->probe_bound)
            fr->probe_bound = b;
        rp->n++;
        /* The agent's schedule, as a local probe's (kept only when memory allows: not a figure). */
        if (s->late >= 0 && ash_grow(&rp->late, &rp->cap_late, rp->n_late + 1, sizeof *rp->late, 256) == 0)
            rp->late[rp->n_late++] = s->late;
        if (smp.end > rp->last_end)
            rp->last_end = smp.end;
        rp->cb(rp->arg, &smp);
        return;
    }
}

static void missing_nodes(struct ash_fleet_run *fr, char *missing, size_t mlen, char *have, size_t hlen)
{
    missing[0] = have[0] = '\0';
    const struct ash_strlist *nodes = &spec(fr)->nodes;
    for (size_t i = 0; i < nodes->n; i++) {
        bool up = ash_coord_hello(fr->coord, nodes->v[i]) != NULL;
        char *buf = up ? have : missing;
        size_t len = up ? hlen : mlen, at = strlen(buf);
        snprintf(buf + at, len - at, "%s%s", at ? ", " : "", nodes->v[i]);
    }
}

/* Until every node of fleet.nodes has an agent, saying now and then who is missing. */
static int wait_nodes(struct ash_fleet_run *fr, ash_error_t *err)
{
    int64_t start = ash_now_ns(), deadline = start + spec(fr)->wait_ns, next_note = start + FLEET_PROGRESS_NS;
    char missing[1024], have[1024];
    for (;;) {
        missing_nodes(fr, missing, sizeof missing, have, sizeof have);
        if (!missing[0])
            return 0;
        int64_t now = ash_now_ns();
        if (fr->o.stop && *fr->o.stop)
            return ash_error(err, EINTR, "fleet: stopped while waiting for the agents of node(s) %s", missing);
        if (fr->dep && now >= fr->next_check) {
            /* The engine gave up on an agent (an image a node lacks, a refused
             * task): no use waiting for it. */
            char why[1200];
            int f = fr->dep->failed(fr->deployed, why, sizeof why, err);
            if (f < 0 || f > 0) {
                err->klass = ASH_ERR_ENVIRONMENT;
                if (f > 0)
                    return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                                           "fleet: no agent for node(s) %s (connected: %s): %s; nothing was harmed",
                                           missing, have[0] ? have : "none", why);
                return ash_error_wrap(err, "fleet: while waiting for the agents of node(s) %s", missing);
            }
            fr->next_check = now + 500 * ASH_NS_PER_MS;
        }
        if (now >= deadline && fr->dep) {
            char states[1500];
            fr->dep->states(fr->deployed, states, sizeof states);
            const char *refused = ash_coord_last_refusal(fr->coord);
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, ETIMEDOUT,
                                   "fleet: no agent for node(s) %s connected within %gs (connected: %s); the %s "
                                   "agents' tasks: %s; does each node have the image and reach %s? nothing was "
                                   "harmed%s%s",
                                   missing, (double)spec(fr)->wait_ns / 1e9, have[0] ? have : "none", fr->dep->engine,
                                   states, fr->reach, refused[0] ? "; last refused connection: " : "", refused);
        }
        if (now >= deadline) {
            const char *refused = ash_coord_last_refusal(fr->coord);
            return ash_error_class(
                err, ASH_ERR_ENVIRONMENT, ETIMEDOUT,
                "fleet: no agent for node(s) %s connected to %s within %gs (connected: %s); start `aftershock "
                "agent --connect %s --key-file KEY --node NAME` on each node, or raise fleet.wait; nothing was "
                "harmed%s%s",
                missing, fr->reach, (double)spec(fr)->wait_ns / 1e9, have[0] ? have : "none", fr->reach,
                refused[0] ? "; last refused connection: " : "", refused);
        }
        if (now >= next_note && fr->o.log) {
            fprintf(fr->o.log, "fleet: waiting for node(s) %s (connected: %s), %.0fs of %.0fs\n", missing,
                    have[0] ? have : "none", (double)(now - start) / 1e9, (double)spec(fr)->wait_ns / 1e9);
            next_note = now + FLEET_PROGRESS_NS;
        }
        bool never = false;
        int64_t turn = now + 50 * ASH_NS_PER_MS < deadline ? now + 50 * ASH_NS_PER_MS : deadline;
        if (ash_loop_run_until(fr->o.loop, &never, turn, err) < 0)
            return -1;
    }
}

static char *read_all(const char *path, ash_error_t *err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        ash_error(err, errno, "fleet: cannot read the scenario %s to send it to the agents", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = (cap ? cap * 2 : 8192));
            if (!nb) {
                free(buf);
                fclose(f);
                ash_error(err, ENOMEM, "fleet: the scenario's text");
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static int setup_key(struct ash_fleet_run *fr, ash_error_t *err)
{
    const struct ash_fleet_spec *fl = spec(fr);
    if (fl->key_file) {
        snprintf(fr->key_path, sizeof fr->key_path, "%s", fl->key_file);
        if (ash_psk_read(fl->key_file, &fr->key, err) < 0)
            return ash_error_wrap(err, "fleet.key_file");
        return 0;
    }
    if (ash_psk_generate(&fr->key, err) < 0)
        return -1;
    /* An engine that deploys the agents carries the key in its own secret: no copy
     * on disk here (and each run of a --repeat has its own). */
    if (ash_fleet_deployer(fl->engine)) {
        snprintf(fr->key_path, sizeof fr->key_path, "in the %s secret only", ash_fleet_engine_names[fl->engine]);
        return 0;
    }
    /* One key per run, in the run's directory, 0600: hand it to the agents. */
    snprintf(fr->key_path, sizeof fr->key_path, "%s/fleet.key", fr->o.run_dir);
    return ash_psk_write(fr->key_path, &fr->key, err);
}

/* Where the agents reach the coordinator: fleet.connect's host, or
 * fleet.listen's, with the port the coordinator is bound to. */
static void set_reach(struct ash_fleet_run *fr, const struct ash_fleet_spec *fl)
{
    char host[300];
    if (fl->connect)
        snprintf(host, sizeof host, "%s", fl->connect);
    else {
        /* listen is ADDRESS:PORT or [V6]:PORT (checked by the parser). */
        const char *colon = strrchr(fl->listen, ':');
        size_t n = colon ? (size_t)(colon - fl->listen) : strlen(fl->listen);
        snprintf(host, sizeof host, "%.*s", (int)n, fl->listen);
    }
    bool v6 = strchr(host, ':') && host[0] != '[';
    snprintf(fr->reach, sizeof fr->reach, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", ash_coord_port(fr->coord));
}

/* fleet.engine deploys the agents: they reach this run at connect (default: listen's
 * address) on the port it listens on (listen's, or the one picked for port 0). */
static int deploy(struct ash_fleet_run *fr, ash_error_t *err)
{
    const struct ash_fleet_spec *fl = spec(fr);
    fr->dep = ash_fleet_deployer(fl->engine);
    if (!fr->dep)
        return 0;
    char hex[2 * ASH_PSK_BYTES + 2];
    ash_psk_hex(&fr->key, hex, sizeof hex);
    hex[strcspn(hex, "\n")] = '\0'; /* the 64 digits alone, not the key file's line */
    struct ash_fleet_deploy_opts o = {
        .fl = fl, .run_id = fr->o.run_id, .connect = fr->reach, .key_hex = hex, .journal = fr->o.journal};
    int r = fr->dep->deploy(&o, &fr->deployed, err);
    memset(hex, 0, sizeof hex);
    if (r < 0) {
        fr->dep = NULL;
        return ash_error_wrap(err, "fleet: cannot deploy the agents (engine %s)", ash_fleet_engine_names[fl->engine]);
    }
    char what[600];
    fr->dep->describe(fr->deployed, what, sizeof what);
    if (fr->o.log)
        fprintf(fr->o.log, "fleet: deployed the agents through %s (%s); they connect to %s\n",
                ash_fleet_engine_names[fl->engine], what, fr->reach);
    event(fr, ash_now_ns(), "fleet-deploy", "engine %s: agents deployed (%s), connecting to %s",
          ash_fleet_engine_names[fl->engine], what, fr->reach);
    return 0;
}

/* One container a fault or probe of the scenario names on `node`, against what its
 * agent's hello listed. Absent from a whole list: exit 3, nothing harmed. */
static int check_container(struct ash_fleet_run *fr, const char *node, const char *endpoint, const char *name,
                           const char *what, const char *who, ash_error_t *err)
{
    const json_t *hello = ash_coord_hello(fr->coord, node);
    if (ash_hello_targets_has(hello, endpoint, name) != 0)
        return 0; /* there, or this list cannot tell: the agent checks it when the scenario comes */
    char seen[600];
    ash_hello_targets_names(hello, seen, sizeof seen);
    const char *engine = json_string_value(json_object_get(json_object_get(hello, "targets"), "engine"));
    ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                    "fleet: node %s has no container '%s' (%s '%s'): its agent's engine %s lists %s; nothing was "
                    "harmed",
                    node, name, what, who, engine ? engine : "?", seen[0] ? seen : "none");
    err->code = ENOENT; /* the message says it all: no strerror after it */
    return -1;
}

/* Every fault's and node probe's node/container against its node's hello. */
static int check_targets(struct ash_fleet_run *fr, ash_error_t *err)
{
    for (size_t i = 0; i < fr->n_faults; i++) {
        const struct ash_fault_spec *f = fr->faults[i].f;
        for (const struct ash_field *fl = f->kind->c.fields; fl && fl->key; fl++) {
            if (fl->type != ASH_F_TARGET || (fl->flags & ASH_FIELD_DEPRECATED))
                continue;
            const struct ash_target_ref *ref = (const void *)((const char *)f->conf + fl->offset);
            const char *name = ref->swarm ? fr->faults[i].task.container : ref->name;
            if (name && ref->type == ASH_TARGET_CONTAINER && (ref->swarm || !ref->all) &&
                check_container(fr, fr->faults[i].node, ref->endpoint, name, "fault", f->name, err) < 0)
                return -1;
        }
    }
    for (size_t i = 0; i < fr->n_probes; i++) {
        const struct ash_probe_spec *p = fr->probes[i].p;
        if (p->node_from && strncmp(p->node_from, "container:", 10) == 0 &&
            check_container(fr, p->node, fr->o.sc->runtime.docker_host, p->node_from + 10, "probe", p->name, err) < 0)
            return -1;
    }
    return 0;
}

/* What the agent of node is told of the swarm tasks it harms: {FAULT: CONTAINER_ID}. */
static json_t *resolved_for(const struct ash_fleet_run *fr, const char *node)
{
    json_t *r = json_object();
    for (size_t i = 0; r && i < fr->n_faults; i++)
        if (fr->faults[i].resolved[0] && strcmp(fr->faults[i].node, node) == 0)
            json_object_set_new(r, fr->faults[i].f->name, json_string(fr->faults[i].resolved));
    return r;
}

static int start(struct ash_fleet_run *fr, ash_error_t *err)
{
    const struct ash_fleet_spec *fl = spec(fr);
    if (setup_key(fr, err) < 0)
        return -1;
    int64_t ping = fl->lease_ns / 4 < 250 * ASH_NS_PER_MS ? fl->lease_ns / 4 : 250 * ASH_NS_PER_MS;
    struct ash_coord_opts co = {.listen = fl->listen,
                                .key = &fr->key,
                                .run_id = fr->o.run_id,
                                .ping_every_ns = ping,
                                .silence_ns = fl->lease_ns,
                                .on_agent = on_agent,
                                .on_event = on_event,
                                .on_sample = on_sample,
                                .data = fr};
    if (ash_coord_new(fr->o.loop, &co, &fr->coord, err) < 0) {
        if (err->klass != ASH_ERR_USAGE)
            err->klass = ASH_ERR_ENVIRONMENT;
        return -1;
    }
    set_reach(fr, fl);
    if (fr->o.log)
        fprintf(fr->o.log, "fleet: listening on %s (port %d) for the agents of %zu node(s) (key: %s)\n", fl->listen,
                ash_coord_port(fr->coord), fl->nodes.n, fr->key_path);
    if (deploy(fr, err) < 0)
        return -1;
    if (wait_nodes(fr, err) < 0)
        return -1;
    /* Each clock mapped before anything is harmed: every remote time needs it. */
    for (size_t i = 0; i < fl->nodes.n; i++) {
        struct ash_clock_map m;
        if (ash_coord_wait_clock(fr->coord, fl->nodes.v[i], FLEET_CLOCK_NS, err) < 0 ||
            !ash_coord_clock(fr->coord, fl->nodes.v[i], &m)) {
            err->klass = ASH_ERR_ENVIRONMENT;
            return ash_error_wrap(err, "fleet: node %s", fl->nodes.v[i]);
        }
        event(fr, ash_now_ns(), "fleet-clock", "node %s: offset %.3f ms, ±%.3f ms (smallest round trip %.3f ms)",
              fl->nodes.v[i], ash_ns_to_ms(m.offset), ash_ns_to_ms(m.bound), ash_ns_to_ms(m.rtt));
    }
    if (check_targets(fr, err) < 0)
        return -1;
    char *text = read_all(fr->o.sc->file, err);
    if (!text)
        return -1;
    const char *base = strrchr(fr->o.sc->file, '/');
    base = base ? base + 1 : fr->o.sc->file;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < fl->nodes.n; i++)
        if ((rc = ash_coord_send_scenario_resolved(fr->coord, fl->nodes.v[i], base, text,
                                                   resolved_for(fr, fl->nodes.v[i]), FLEET_CLOCK_NS, err)) < 0) {
            /* A target missing on its node, a kind it cannot run: nothing was harmed (exit 3). */
            ash_error_wrap(err, "fleet: node %s did not take the scenario; nothing was harmed", fl->nodes.v[i]);
            err->klass = ASH_ERR_ENVIRONMENT;
        }
    free(text);
    return rc;
}

/* Room for one more remote (fr->faults moves: nothing points into it yet). */
static struct remote *new_remote(struct ash_fleet_run *fr, ash_error_t *err)
{
    if (fr->n_faults == fr->cap_faults) {
        struct remote *nf = realloc(fr->faults, 2 * fr->cap_faults * sizeof *nf);
        if (!nf) {
            ash_error(err, ENOMEM, "fleet: the faults' targets");
            return NULL;
        }
        fr->faults = nf;
        fr->cap_faults *= 2;
    }
    return &fr->faults[fr->n_faults++];
}

/* fleet.nodes' own string for node, NULL when it is not one. */
static const char *listed(const struct ash_fleet_run *fr, const char *node)
{
    for (size_t k = 0; k < spec(fr)->nodes.n; k++)
        if (strcmp(spec(fr)->nodes.v[k], node) == 0)
            return spec(fr)->nodes.v[k];
    return NULL;
}

/* "task abc123456789 (slot 1) on node w1: running, container 0123456789ab; ..." */
static void tasks_text(const struct ash_swarm_task *t, size_t n, bool running_only, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < len; i++) {
        if (running_only && strcmp(t[i].state, "running") != 0)
            continue;
        at += (size_t)snprintf(buf + at, len - at, "%stask %.12s (slot %ld) on node %s: %s%s%.12s", at ? "; " : "",
                               t[i].id, t[i].slot, t[i].node, t[i].state, t[i].container[0] ? ", container " : "",
                               t[i].container);
    }
}

/* A fault on `{swarm_service: S}`: ask the manager where S's tasks run, and make a
 * remote per running task (all: true) or for its only one. Refused, nothing harmed:
 * no such service, no running task, more than one without all, a task starting or on a
 * node not in fleet.nodes. */
static int resolve_swarm(struct ash_fleet_run *fr, const struct ash_fault_spec *f, ash_error_t *err)
{
    const char *svc = ash_fault_swarm_service(f);
    bool all = ash_fault_run_resolved(f)->all;
    struct ash_swarm_task *t = NULL;
    size_t n = 0, running = 0;
    char list[2000];
    if (ash_swarm_service_tasks(spec(fr)->docker_host, svc, &t, &n, err) < 0) {
        err->klass = ASH_ERR_ENVIRONMENT;
        return ash_error_wrap(err, "fleet: fault '%s'", f->name);
    }
    tasks_text(t, n, false, list, sizeof list);
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        bool up = strcmp(t[i].state, "running") == 0 && t[i].container[0];
        running += up;
        /* A service still converging would be harmed in part: refuse, say which. */
        if (!up && all) {
            ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                            "fleet: fault '%s': swarm service '%s' is not settled: task %.12s on node %s is %s, "
                            "not running (its tasks: %s); run again once `docker service ps %s` shows every task "
                            "running; nothing was harmed",
                            f->name, svc, t[i].id, t[i].node, t[i].state, list, svc);
            goto cleanup;
        }
    }
    if (running == 0 || (!all && running > 1)) {
        ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                        running ? "fleet: fault '%s': swarm service '%s' has %zu running tasks (%s): give `all: true` "
                                  "to harm every one, or name one as {node: NODE, container: ID}; nothing was harmed"
                                : "fleet: fault '%s': swarm service '%s' has %zu running tasks (its tasks: %s); "
                                  "nothing was harmed",
                        f->name, svc, running, n ? list : "none");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].state, "running") != 0 || !t[i].container[0])
            continue;
        if (!listed(fr, t[i].node)) {
            char nodes[600] = "";
            for (size_t k = 0; k < spec(fr)->nodes.n; k++)
                snprintf(nodes + strlen(nodes), sizeof nodes - strlen(nodes), "%s%s", k ? ", " : "",
                         spec(fr)->nodes.v[k]);
            ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                            "fleet: fault '%s': task %.12s of swarm service '%s' runs on node %s, which is not in "
                            "fleet.nodes (%s): list it there; nothing was harmed (its tasks: %s)",
                            f->name, t[i].id, svc, t[i].node, nodes, list);
            goto cleanup;
        }
        struct remote *rf = new_remote(fr, err);
        if (!rf)
            goto cleanup;
        /* fleet.nodes' own string: fr->faults moves as it grows. */
        *rf = (struct remote){.f = f, .task = t[i], .node = listed(fr, t[i].node)};
        snprintf(rf->resolved, sizeof rf->resolved, "%s", t[i].container);
        rf->inject.fr = rf->revert.fr = fr;
    }
    tasks_text(t, n, true, list, sizeof list);
    event(fr, ash_now_ns(), "fleet-resolve", "fault '%s': swarm service '%s' -> %s", f->name, svc, list);
    if (fr->o.log)
        fprintf(fr->o.log, "fleet: fault '%s': swarm service '%s' -> %s\n", f->name, svc, list);
    rc = 0;
cleanup:
    free(t);
    return rc;
}

/* A fault on `{pods: {...}}`: the running pods the API lists for its selector, each on
 * its node, as resolve_swarm does for a service's tasks (exit 3, nothing deployed: no
 * pod, more than one without all, a pod on a node not in fleet.nodes). */
static int resolve_kube(struct ash_fleet_run *fr, const struct ash_fault_spec *f, ash_error_t *err)
{
    const char *name = ash_fault_kube_pods(f);
    bool all = ash_fault_run_resolved(f)->all;
    struct ash_pod_sel sel;
    char msg[300], list[2000] = "";
    if (ash_target_pod_selector(name, &sel, msg, sizeof msg) < 0)
        return ash_error(err, EINVAL, "fleet: fault '%s': %s", f->name, msg);
    struct ash_kube *k = NULL;
    struct ash_kube_target *t = NULL;
    size_t n = 0;
    int rc = -1;
    if (ash_kube_open(spec(fr)->kubeconfig, &k, err) < 0 ||
        ash_kube_list_targets(k, sel.ns, sel.pod[0] ? sel.pod : sel.labels, sel.container, &t, &n, err) < 0) {
        err->klass = ASH_ERR_ENVIRONMENT;
        ash_error_wrap(err, "fleet: fault '%s': pods %s; nothing was harmed", f->name, name);
        goto cleanup;
    }
    for (size_t i = 0, at = 0; i < n && at < sizeof list; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%spod %s/%s container %s on node %s", i ? "; " : "",
                               sel.ns, t[i].pod, t[i].container, t[i].node);
    if (!all && n > 1) {
        ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                        "fleet: fault '%s': pods %s are %zu (%s): give `all: true` to harm every one, or name one "
                        "as {node: NODE, pod: {namespace: NS, name: POD}}; nothing was harmed",
                        f->name, name, n, list);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if (!listed(fr, t[i].node)) {
            ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                            "fleet: fault '%s': pod %s/%s runs on node %s, which is not in fleet.nodes: list it "
                            "there; nothing was harmed (the pods: %s)",
                            f->name, sel.ns, t[i].pod, t[i].node, list);
            goto cleanup;
        }
        struct remote *rf = new_remote(fr, err);
        if (!rf)
            goto cleanup;
        *rf = (struct remote){.f = f, .pod = t[i], .node = listed(fr, t[i].node)};
        snprintf(rf->resolved, sizeof rf->resolved, "%s/%s/%s", sel.ns, t[i].pod, t[i].container);
        rf->inject.fr = rf->revert.fr = fr;
    }
    event(fr, ash_now_ns(), "fleet-resolve", "fault '%s': pods %s -> %s", f->name, name, list);
    if (fr->o.log)
        fprintf(fr->o.log, "fleet: fault '%s': pods %s -> %s\n", f->name, name, list);
    rc = 0;
cleanup:
    free(t);
    ash_kube_close(k);
    return rc;
}

int ash_fleet_run_start(const struct ash_fleet_run_opts *o, struct ash_fleet_run **out, ash_error_t *err)
{
    struct ash_fleet_run *fr = calloc(1, sizeof *fr);
    if (!fr)
        return ash_error(err, ENOMEM, "fleet");
    fr->o = *o;
    fr->loop_thread = pthread_self();
    fr->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fr->faults = calloc(o->sc->n_faults + 1, sizeof *fr->faults);
    fr->cap_faults = o->sc->n_faults + 1;
    fr->probes = calloc(o->sc->n_probes + 1, sizeof *fr->probes);
    if (substitute_paths(fr, err) < 0) {
        ash_fleet_run_end(fr);
        return -1;
    }
    if (fr->efd < 0 || !fr->faults || !fr->probes) {
        ash_error(err, errno ? errno : ENOMEM, "fleet");
        ash_fleet_run_end(fr);
        return -1;
    }
    for (size_t i = 0; i < o->sc->n_faults; i++) {
        const char *node = ash_fault_node(&o->sc->faults[i]);
        if (!node)
            continue;
        if (ash_fault_swarm_service(&o->sc->faults[i]) || ash_fault_kube_pods(&o->sc->faults[i])) {
            /* Before the coordinator listens or anything is deployed: a service that
             * is not there, or runs elsewhere, harms nothing. */
            if ((ash_fault_swarm_service(&o->sc->faults[i]) ? resolve_swarm : resolve_kube)(fr, &o->sc->faults[i],
                                                                                            err) < 0) {
                ash_fleet_run_end(fr);
                return -1;
            }
            continue;
        }
        struct remote *rf = &fr->faults[fr->n_faults++];
        *rf = (struct remote){.f = &o->sc->faults[i], .node = node};
        rf->inject.fr = rf->revert.fr = fr;
    }
    for (size_t i = 0; i < o->sc->n_probes; i++)
        if (o->sc->probes[i].node)
            fr->probes[fr->n_probes++] = (struct rprobe){.p = &o->sc->probes[i], .start = {.fr = fr}, .stale_from = -1};
    fr->unknown_from = INT64_MAX;
    if (start(fr, err) < 0) {
        ash_fleet_run_end(fr);
        return -1;
    }
    *out = fr;
    return 0;
}

/* The loop collected an answer: hand it to whoever waits. */
static void answered(struct ash_coord *c, const char *node, int ok, const ash_error_t *err,
                     const struct ash_fleet_time *when, void *data)
{
    (void)c;
    (void)node;
    struct slot *s = data;
    s->ok = ok;
    if (err)
        s->err = *err;
    if (when)
        s->when = *when;
    s->done = true;
    uint64_t one = 1;
    ssize_t w = write(s->fr->efd, &one, sizeof one);
    (void)w; /* fails only on overflow, and then it is readable anyway */
}

/* Wait for s: on the loop thread by turning the loop, on the worker with the run
 * lock let go (the loop thread collects the answer meanwhile). */
static void await(struct ash_fleet_run *fr, struct slot *s)
{
    int64_t deadline = ash_now_ns() + FLEET_ANSWER_NS;
    if (pthread_equal(pthread_self(), fr->loop_thread)) {
        bool stopped = false;
        while (!s->done && ash_now_ns() < deadline) {
            ash_error_t e = {0};
            if (ash_loop_run_until(fr->o.loop, &s->done, deadline, &e) < 0)
                break;
            /* Someone stopped the loop (the run finished, an abort) while this
             * waited: the stop is theirs, so it is given back once this is done. */
            stopped |= !s->done && ash_now_ns() < deadline;
        }
        if (stopped)
            ash_loop_stop(fr->o.loop);
        return;
    }
    while (!s->done && !s->cancelled) {
        int64_t now = ash_now_ns();
        if (now >= deadline)
            return;
        ash_gil_blocking_begin();
        struct pollfd p = {.fd = fr->efd, .events = POLLIN};
        int ms = (int)((deadline - now) / ASH_NS_PER_MS) + 1;
        if (poll(&p, 1, ms > 100 ? 100 : ms) > 0) {
            uint64_t v;
            ssize_t r = read(fr->efd, &v, sizeof v);
            (void)r;
        }
        ash_gil_blocking_end();
    }
}

static int gone(const struct remote *rf, bool inject, ash_error_t *err)
{
    return ash_error(err, 0,
                     "node %s's agent is gone, so this run cannot %s '%s' there: on node %s, its agent's lease "
                     "or guardian reverts it, or `aftershock recover --state-dir DIR` with the agent's directory",
                     rf->node, inject ? "inject" : "revert", rf->f->name, rf->node);
}

/* One node's answer to a request sent (or 0 when none was sent: sent false). */
static int answer(struct ash_fleet_run *fr, struct remote *rf, bool inject, ash_error_t *err)
{
    struct slot *s = inject ? &rf->inject : &rf->revert;
    const char *type = inject ? "inject" : "revert";
    await(fr, s);
    if (!s->done) {
        if (s->cancelled)
            return ash_error(err, ECANCELED,
                             "the run ended before node %s answered the %s of '%s' (its agent undoes it on bye)",
                             rf->node, type, rf->f->name);
        return ash_error(err, ETIMEDOUT, "node %s did not answer the %s of '%s' within %.0fs", rf->node, type,
                         rf->f->name, (double)FLEET_ANSWER_NS / 1e9);
    }
    if (!s->ok) {
        *err = s->err;
        return -1;
    }
    if (s->when.bound > fr->bound)
        fr->bound = s->when.bound;
    return 0;
}

/* Inject or revert f on its node, or on every node of its swarm tasks at once (each
 * asked before any answer is awaited). Its time is the latest node's: in effect
 * everywhere (inject), undone everywhere (revert). A revert reaches every node it
 * can even when one fails; an inject sends nothing unless every agent is there. */
static int request(struct ash_fleet_run *fr, const struct ash_fault_spec *f, bool inject, int64_t *t, char *where,
                   size_t len, ash_error_t *err)
{
    const char *type = inject ? "inject" : "revert";
    size_t n = 0;
    for (size_t i = 0; i < fr->n_faults; i++)
        if (fr->faults[i].f == f) {
            n++;
            if (inject && !ash_coord_hello(fr->coord, fr->faults[i].node))
                return gone(&fr->faults[i], inject, err);
        }
    if (!n)
        return ash_error(err, ENOENT, "fault '%s' is not on a fleet node", f->name);
    bool *sent = calloc(fr->n_faults, sizeof *sent);
    if (!sent)
        return ash_error(err, ENOMEM, "fleet: %s of '%s'", type, f->name);
    int rc = 0;
    for (size_t i = 0; i < fr->n_faults; i++) {
        struct remote *rf = &fr->faults[i];
        if (rf->f != f || (!inject && rc < 0))
            continue;
        ash_error_t e = {0};
        struct slot *s = inject ? &rf->inject : &rf->revert;
        *s = (struct slot){.fr = fr};
        if (!ash_coord_hello(fr->coord, rf->node))
            rc = rc < 0 ? rc : gone(rf, inject, err);
        else if (ash_coord_request_async(fr->coord, rf->node, type, json_pack("{s:s}", "fault", f->name), answered, s,
                                         &e) < 0)
            rc = rc < 0 ? rc : (*err = e, ash_error_wrap(err, "node %s", rf->node));
        else
            sent[i] = true;
        if (inject && rc < 0)
            break; /* what was sent is awaited below; its agent undoes it on bye */
    }
    int64_t latest = INT64_MIN, bound = 0;
    size_t at = 0;
    where[0] = '\0';
    for (size_t i = 0; i < fr->n_faults; i++) {
        if (!sent[i])
            continue;
        struct remote *rf = &fr->faults[i];
        ash_error_t e = {0};
        if (answer(fr, rf, inject, &e) < 0) {
            rc = rc < 0 ? rc : (*err = e, -1);
            continue;
        }
        const struct slot *s = inject ? &rf->inject : &rf->revert;
        if (s->when.t > latest)
            latest = s->when.t;
        if (s->when.bound > bound)
            bound = s->when.bound;
        at += (size_t)snprintf(where + at, at < len ? len - at : 0, "%s%s", at ? ", " : "", rf->node);
    }
    free(sent);
    if (rc < 0)
        return -1;
    *t = latest;
    char nodes[160];
    snprintf(nodes, sizeof nodes, "%s", where);
    if (n == 1)
        snprintf(where, len, " on node %s (its clock ±%.3f ms)", nodes, ash_ns_to_ms(bound));
    else
        snprintf(where, len, " on nodes %s, the latest's time (their clocks ±%.3f ms at most)", nodes,
                 ash_ns_to_ms(bound));
    return 0;
}

int ash_fleet_run_inject(struct ash_fleet_run *fr, const struct ash_fault_spec *f, int64_t *t, char *where, size_t len,
                         ash_error_t *err)
{
    return request(fr, f, true, t, where, len, err);
}

int ash_fleet_run_revert(struct ash_fleet_run *fr, const struct ash_fault_spec *f, int64_t *t, char *where, size_t len,
                         ash_error_t *err)
{
    return request(fr, f, false, t, where, len, err);
}

static struct rprobe *rprobe_of(struct ash_fleet_run *fr, const struct ash_probe_spec *p)
{
    for (size_t i = 0; i < fr->n_probes; i++)
        if (fr->probes[i].p == p)
            return &fr->probes[i];
    return NULL;
}

/* What its samples tell, on this clock: up to its latest sample's end (from its start
 * when it has none yet). Beyond that, nothing is known of it. */
static int64_t rprobe_known(const struct rprobe *rp)
{
    return rp->last_end > rp->since ? rp->last_end : rp->since;
}

/* The rule: a probe whose agent is connected but whose samples stop is stale after
 * max(3 x every, timeout + every, fleet.lease) without one: three missed ticks, a
 * sample that may take its whole timeout, and the agent's own silence bound (an agent
 * silent that long is lost, not stale). */
static int64_t stale_after(const struct ash_fleet_run *fr, const struct ash_probe_spec *p)
{
    int64_t t = 3 * p->every_ns;
    if (p->timeout_ns + p->every_ns > t)
        t = p->timeout_ns + p->every_ns;
    return spec(fr)->lease_ns > t ? spec(fr)->lease_ns : t;
}

/* A stale probe's missing samples are unknown, not healthy: from what was known of it
 * when it went stale, no figure may count on the run's probes (ash_fleet_run_known_until),
 * even once its samples come back (a recovery window across the silence is not seen). */
static int64_t stale_tick(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct ash_fleet_run *fr = data;
    int64_t next = now + 500 * ASH_NS_PER_MS;
    for (size_t i = 0; i < fr->n_probes; i++) {
        struct rprobe *rp = &fr->probes[i];
        if (!rp->active)
            continue;
        /* Looked at twice an interval (10 ms at most often, 500 ms at least). */
        int64_t after = stale_after(fr, rp->p), look = rp->p->every_ns / 2;
        if (look < 10 * ASH_NS_PER_MS)
            look = 10 * ASH_NS_PER_MS;
        if (now + look < next)
            next = now + look;
        if (rp->stale || now - rp->heard <= after)
            continue;
        rp->stale = true;
        rp->n_stale++;
        int64_t known = rprobe_known(rp);
        if (rp->stale_from < 0)
            rp->stale_from = known;
        if (known < fr->unknown_from)
            fr->unknown_from = known;
        event(fr, now, "probe-stale",
              "probe '%s' on node %s: no sample for %.0f ms while its agent is connected (every %.0f ms; stale "
              "after max(3 x every, timeout + every, fleet.lease) = %.0f ms): its samples from %.0f ms ago on "
              "are unknown, not healthy, and no recovery is counted across them",
              rp->p->name, rp->p->node, ash_ns_to_ms(now - rp->heard), ash_ns_to_ms(rp->p->every_ns),
              ash_ns_to_ms(after), ash_ns_to_ms(now - known));
    }
    return next;
}

int64_t ash_fleet_run_known_until(const struct ash_fleet_run *fr)
{
    int64_t k = INT64_MAX;
    for (size_t i = 0; fr && i < fr->n_probes; i++) {
        const struct rprobe *rp = &fr->probes[i];
        if (rp->since > 0 && rprobe_known(rp) < k)
            k = rprobe_known(rp);
    }
    return fr && fr->unknown_from < k ? fr->unknown_from : k;
}

int ash_fleet_run_probe_start(struct ash_fleet_run *fr, const struct ash_probe_spec *p, ash_fleet_sample_fn cb,
                              void *arg, ash_error_t *err)
{
    struct rprobe *rp = rprobe_of(fr, p);
    if (!rp)
        return ash_error(err, ENOENT, "probe '%s' is not on a fleet node", p->name);
    struct ash_probe_start ps = {.probe = p->name, .from = p->node_from, .every_ns = p->every_ns};
    rp->cb = cb;
    rp->arg = arg;
    rp->start = (struct slot){.fr = fr};
    /* Taken from now: its first sample may come in the same read as the answer. */
    rp->active = true;
    rp->since = rp->heard = ash_now_ns();
    if (!fr->stale_timer && !(fr->stale_timer = ash_loop_add_timer(fr->o.loop, rp->since, stale_tick, fr))) {
        rp->active = false;
        return ash_error(err, ENOMEM, "probe '%s' on node %s: the timer that watches its samples", p->name, p->node);
    }
    if (ash_coord_request_async(fr->coord, p->node, ASH_MSG_PROBE, ash_probe_msg_start(&ps), answered, &rp->start,
                                err) < 0) {
        rp->active = false;
        return ash_error_wrap(err, "probe '%s' on node %s", p->name, p->node);
    }
    await(fr, &rp->start);
    if (rp->start.done && rp->start.ok) {
        rp->heard = ash_now_ns(); /* its silence is counted from its agent's answer */
        return 0;
    }
    rp->active = false;
    if (!rp->start.done)
        return ash_error(err, ETIMEDOUT, "node %s did not answer the start of probe '%s' within %.0fs", p->node,
                         p->name, (double)FLEET_ANSWER_NS / 1e9);
    *err = rp->start.err;
    return ash_error_wrap(err, "probe '%s' cannot sample on node %s", p->name, p->node);
}

static void stale_timer_stop(struct ash_fleet_run *fr)
{
    if (fr->stale_timer)
        ash_loop_cancel_timer(fr->o.loop, fr->stale_timer);
    fr->stale_timer = NULL;
}

void ash_fleet_run_probes_stop(struct ash_fleet_run *fr)
{
    if (fr)
        stale_timer_stop(fr);
    for (size_t i = 0; fr && i < fr->n_probes; i++) {
        struct rprobe *rp = &fr->probes[i];
        if (!rp->active)
            continue;
        rp->active = false;
        ash_error_t e = {0};
        ash_coord_send(fr->coord, rp->p->node, ASH_MSG_PROBE_STOP, ash_probe_msg_stop(rp->p->name), &e);
        /* Not sent (its agent just left): bye or its lease stops it all the same. */
    }
}

void ash_fleet_run_cancel(struct ash_fleet_run *fr)
{
    if (!fr)
        return;
    for (size_t i = 0; i < fr->n_faults; i++) {
        fr->faults[i].inject.cancelled = true;
        fr->faults[i].revert.cancelled = true;
    }
    uint64_t one = 1;
    ssize_t w = write(fr->efd, &one, sizeof one);
    (void)w;
}

int64_t ash_fleet_run_bound(const struct ash_fleet_run *fr)
{
    /* A figure is a difference of a fault's time and a sample's: each side's error adds. */
    return fr ? fr->bound + fr->probe_bound : 0;
}

static json_t *ms_or_null(bool have, int64_t ns)
{
    return have ? json_real(ash_ns_to_ms(ns)) : json_null();
}

json_t *ash_fleet_run_json(const struct ash_fleet_run *fr, int64_t t_start)
{
    const struct ash_fleet_spec *fl = spec(fr);
    json_t *nodes = json_array(), *faults = json_array();
    for (size_t i = 0; i < fl->nodes.n; i++) {
        struct ash_clock_map m = {0};
        bool up = fr->coord && ash_coord_clock(fr->coord, fl->nodes.v[i], &m);
        json_array_append_new(nodes, json_pack("{s:s, s:b, s:o, s:o, s:o, s:i}", "node", fl->nodes.v[i], "connected",
                                               up, "offset_ms", ms_or_null(m.valid, m.offset), "bound_ms",
                                               ms_or_null(m.valid, m.bound), "rtt_ms", ms_or_null(m.valid, m.rtt),
                                               "clock_rounds", m.rounds));
    }
    for (size_t i = 0; i < fr->n_faults; i++) {
        const struct remote *rf = &fr->faults[i];
        json_t *fj = json_pack("{s:s, s:s, s:o, s:o}", "name", rf->f->name, "node", rf->node, "inject_bound_ms",
                               ms_or_null(rf->inject.done && rf->inject.ok, rf->inject.when.bound), "revert_bound_ms",
                               ms_or_null(rf->revert.done && rf->revert.ok, rf->revert.when.bound));
        if (fj && rf->pod.pod[0]) /* which pod it harmed */
            json_object_set_new(fj, "kube_pod",
                                json_pack("{s:s, s:s, s:s}", "selector", ash_fault_kube_pods(rf->f), "pod", rf->pod.pod,
                                          "container", rf->pod.container));
        if (fj && rf->task.container[0]) /* which swarm task it harmed */
            json_object_set_new(fj, "swarm_task",
                                json_pack("{s:s, s:s, s:s, s:I}", "service", ash_fault_swarm_service(rf->f), "task",
                                          rf->task.id, "container", rf->task.container, "slot",
                                          (json_int_t)rf->task.slot));
        json_array_append_new(faults, fj);
    }
    json_t *probes = json_array();
    for (size_t i = 0; i < fr->n_probes; i++) {
        const struct rprobe *rp = &fr->probes[i];
        json_t *pj = json_pack("{s:s, s:s, s:o, s:I, s:o, s:o}", "name", rp->p->name, "node", rp->p->node, "from",
                               rp->p->node_from ? json_string(rp->p->node_from) : json_null(), "samples",
                               (json_int_t)rp->n, "bound_ms", ms_or_null(rp->n > 0, rp->bound), "lost",
                               rp->lost[0] ? json_string(rp->lost) : json_null());
        /* Its silences: how many, and from when (ms from the run's start) its samples are unknown. */
        json_object_set_new(pj, "stale", json_integer((json_int_t)rp->n_stale));
        json_object_set_new(pj, "unknown_from_ms", ms_or_null(rp->stale_from >= 0, rp->stale_from - t_start));
        json_array_append_new(probes, pj);
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:f, s:f, s:f}", "engine", ash_fleet_engine_names[fl->engine], "listen",
                     fl->listen, "nodes", nodes, "faults", faults, "probes", probes, "clock_bound_ms",
                     ash_ns_to_ms(fr->bound + fr->probe_bound), "fault_bound_ms", ash_ns_to_ms(fr->bound),
                     "probe_bound_ms", ash_ns_to_ms(fr->probe_bound));
}

json_t *ash_fleet_run_lateness_json(const struct ash_fleet_run *fr)
{
    if (!fr || !fr->n_probes)
        return NULL;
    json_t *out = json_object();
    for (size_t n = 0; out && n < spec(fr)->nodes.n; n++) {
        const char *node = spec(fr)->nodes.v[n];
        size_t total = 0, k = 0, over = 0;
        bool any = false;
        for (size_t i = 0; i < fr->n_probes; i++)
            if (strcmp(fr->probes[i].p->node, node) == 0) {
                any = true;
                total += fr->probes[i].n_late;
            }
        int64_t *v = any ? malloc((total ? total : 1) * sizeof *v) : NULL;
        if (!v)
            continue;
        for (size_t i = 0; i < fr->n_probes; i++)
            for (size_t j = 0; strcmp(fr->probes[i].p->node, node) == 0 && j < fr->probes[i].n_late; j++) {
                v[k++] = fr->probes[i].late[j];
                over += fr->probes[i].late[j] > ASH_NS_PER_MS;
            }
        json_object_set_new(out, node,
                            json_pack("{s:I, s:o, s:o, s:o, s:I}", "ticks", (json_int_t)total, "p50",
                                      ms_or_null(total > 0, ash_percentile(v, total, 50)), "p99",
                                      ms_or_null(total > 0, ash_percentile(v, total, 99)), "max",
                                      ms_or_null(total > 0, ash_percentile(v, total, 100)), "over_1ms",
                                      (json_int_t)over));
        free(v);
    }
    return out;
}

static bool all_gone(struct ash_fleet_run *fr)
{
    for (size_t i = 0; i < spec(fr)->nodes.n; i++)
        if (ash_coord_hello(fr->coord, spec(fr)->nodes.v[i]))
            return false;
    return true;
}

/* The nodes fleet.hosts places a host on, each once, in fleet.nodes' order. */
static bool has_hosts(const struct ash_scenario *sc, const char *node)
{
    for (size_t i = 0; i < sc->n_hosts; i++)
        if (sc->hosts[i].node && strcmp(sc->hosts[i].node, node) == 0)
            return true;
    return false;
}

int ash_fleet_run_hosts(struct ash_fleet_run *fr, struct ash_sandbox *sb, ash_error_t *err)
{
    if (!fr)
        return 0;
    const struct ash_scenario *sc = fr->o.sc;
    const struct ash_strlist *nodes = &spec(fr)->nodes;
    if (!sb || sc->fleet.n_placed == 0)
        return 0;
    struct ash_hosts_msg m = {.subnet = ash_sandbox_subnet_addr(sb), .vni = ash_overlay_vni(fr->o.run_id)};
    uint32_t here = 0;
    char peers[1024] = "";
    for (size_t i = 0; i < nodes->n && m.n_peers + 1 < ASH_HOSTS_MSG_PEERS; i++) {
        uint32_t local, peer;
        if (!has_hosts(sc, nodes->v[i]))
            continue;
        if (ash_coord_addrs4(fr->coord, nodes->v[i], &local, &peer) < 0)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, EAFNOSUPPORT,
                                   "fleet: node %s's hosts join this run's over IPv4, but its agent did not connect "
                                   "over IPv4 (fleet.listen an IPv4 address); nothing was harmed",
                                   nodes->v[i]);
        if (!here)
            m.peers[m.n_peers++] = here = local;
        m.peers[m.n_peers++] = peer;
        char a[INET_ADDRSTRLEN];
        size_t l = strlen(peers);
        snprintf(peers + l, sizeof peers - l, "%s%s %s", l ? ", " : "", nodes->v[i],
                 inet_ntop(AF_INET, &peer, a, sizeof a) ? a : "?");
    }
    struct ash_overlay_hub where = ash_sandbox_overlay_hub(sb);
    if (ash_overlay_create(fr->o.run_id, &where, m.vni, here, m.peers, m.n_peers, fr->o.journal, &fr->overlay, err) <
        0) {
        err->klass = ASH_ERR_ENVIRONMENT;
        return ash_error_wrap(err, "fleet: cannot join the sandbox's bridge to the nodes' hosts");
    }
    for (size_t i = 0; i < nodes->n; i++) {
        if (!has_hosts(sc, nodes->v[i]))
            continue;
        if (ash_coord_request(fr->coord, nodes->v[i], ASH_MSG_HOSTS, ash_hosts_msg(&m), FLEET_HOSTS_NS, err) < 0) {
            err->klass = ASH_ERR_ENVIRONMENT;
            return ash_error_wrap(err, "fleet: node %s did not build its hosts; nothing was harmed", nodes->v[i]);
        }
        char names[512] = "";
        for (size_t k = 0; k < sc->n_hosts; k++)
            if (sc->hosts[k].node && strcmp(sc->hosts[k].node, nodes->v[i]) == 0) {
                size_t l = strlen(names);
                snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "", sc->hosts[k].name);
            }
        char id[16];
        ash_hosts_sandbox_id(fr->o.run_id, nodes->v[i], id, sizeof id);
        event(fr, ash_now_ns(), "fleet-hosts",
              "node %s built host(s) %s in %s (its sandbox ash-%s); the bridges of this run and of nodes %s are "
              "joined by vxlan %u",
              nodes->v[i], names, ash_sandbox_subnet(sb), id, peers, m.vni);
    }
    return 0;
}

void ash_fleet_run_end(struct ash_fleet_run *fr)
{
    if (!fr)
        return;
    fr->ending = true;
    stale_timer_stop(fr);
    if (fr->coord) {
        const struct ash_strlist *nodes = &spec(fr)->nodes;
        for (size_t i = 0; i < nodes->n; i++) {
            ash_error_t e = {0};
            if (ash_coord_hello(fr->coord, nodes->v[i]) && ash_coord_bye(fr->coord, nodes->v[i], &e) < 0)
                event(fr, ash_now_ns(), "warning", "node %s: cannot say bye (%s): its lease reverts it", nodes->v[i],
                      e.msg);
        }
        /* Each agent reverts and closes its end: wait for that (bounded by the
         * lease, after which an agent reverts on its own anyway). */
        int64_t deadline = ash_now_ns() + spec(fr)->lease_ns;
        while (!all_gone(fr) && ash_now_ns() < deadline) {
            bool never = false;
            ash_error_t e = {0};
            if (ash_loop_run_until(fr->o.loop, &never, ash_now_ns() + 20 * ASH_NS_PER_MS, &e) < 0)
                break;
        }
        ash_coord_free(fr->coord);
    }
    /* After bye: the nodes' hosts are gone or going; this end of their overlay now. */
    ash_overlay_destroy(fr->overlay);
    fr->overlay = NULL;
    if (fr->dep) {
        /* After bye: an agent the engine stops reverts too, but bye is the orderly way. */
        ash_error_t e = {0};
        if (fr->dep->remove(fr->deployed, &e) < 0) {
            event(fr, ash_now_ns(), "warning", "fleet: %s (the journal keeps it for `aftershock recover`)", e.msg);
            if (fr->o.log)
                fprintf(fr->o.log, "fleet: %s (the journal keeps it for `aftershock recover`)\n", e.msg);
        }
    }
    if (fr->efd >= 0)
        close(fr->efd);
    memset(&fr->key, 0, sizeof fr->key);
    free(fr->faults);
    for (size_t i = 0; i < fr->n_probes; i++)
        free(fr->probes[i].late);
    free(fr->probes);
    free(fr->fl.key_file);
    free(fr->fl.kubeconfig);
    free(fr);
}
