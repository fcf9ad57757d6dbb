/* `aftershock plan` / `run --dry-run`: what a run of a scenario will do and touch, in
 * order, assembled from the scenario and each kind's describe hook, without starting,
 * building or injecting anything. */
#include <aftershock/aftershock.h>

#include "engine/preflight.h"
#include "engine/guardrail.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "kinds.h"
#include "scenario/scenario.h"
#include "sys/cgroup.h"
#include "sys/journal.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PLAN_RUN_PLACEHOLDER "<run>"

static json_t *ms(int64_t ns)
{
    return ns < 0 ? json_null() : json_real((double)ns / 1e6);
}

static json_t *argv_json(const struct ash_strlist *cmd, const struct ash_scenario *sc, const char *run_dir)
{
    char **v = ash_env_argv(cmd, sc->dir, run_dir);
    json_t *a = json_array();
    for (size_t i = 0; a && v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    ash_argv_free(v);
    return a;
}

/* A kind's parsed configuration, from its field table: what the plan shows of probes,
 * detectors and remediation actions (their own keys, as the parser understood them). */
static json_t *conf_json(const struct ash_field *fields, const void *conf)
{
    json_t *o = json_object();
    for (const struct ash_field *f = fields; o && conf && f && f->key; f++) {
        if (f->flags & ASH_FIELD_DEPRECATED)
            continue;
        const char *p = (const char *)conf + f->offset;
        json_t *v = NULL;
        switch (f->type) {
        case ASH_F_STRING: {
            const char *s = *(char *const *)p;
            v = s ? json_string(s) : NULL;
            break;
        }
        case ASH_F_STRLIST:
        case ASH_F_ARGV: {
            const struct ash_strlist *l = (const struct ash_strlist *)p;
            if (l->n) {
                v = json_array();
                for (size_t i = 0; v && i < l->n; i++)
                    json_array_append_new(v, json_string(l->v[i]));
            }
            break;
        }
        case ASH_F_DURATION: {
            int64_t ns = *(const int64_t *)p;
            v = ns > 0 ? json_sprintf("%gms", (double)ns / 1e6) : NULL;
            break;
        }
        case ASH_F_SIZE: {
            const struct ash_size *z = (const struct ash_size *)p;
            if (z->set)
                v = z->is_percent ? json_sprintf("%g%%", z->fraction * 100) : json_integer((json_int_t)z->bytes);
            break;
        }
        case ASH_F_RATE: {
            uint64_t r = *(const uint64_t *)p;
            v = r ? json_sprintf("%" PRIu64 "bit", r) : NULL;
            break;
        }
        case ASH_F_BOOL:
            v = *(const bool *)p ? json_true() : NULL;
            break;
        case ASH_F_INT: {
            long long n = *(const long long *)p;
            v = n ? json_integer(n) : NULL;
            break;
        }
        case ASH_F_DOUBLE:
            v = *(const double *)p != 0 ? json_real(*(const double *)p) : NULL;
            break;
        case ASH_F_PERCENT:
            v = *(const double *)p != 0 ? json_sprintf("%g%%", *(const double *)p * 100) : NULL;
            break;
        case ASH_F_ENUM: {
            int i = *(const int *)p;
            size_t n = 0;
            while (f->choices && f->choices[n])
                n++;
            v = i >= 0 && (size_t)i < n ? json_string(f->choices[i]) : NULL;
            break;
        }
        case ASH_F_MAP:
            if (*(const bool *)p)
                v = conf_json(f->sub, p);
            break;
        case ASH_F_NODE: {
            const ash_node *nd = (const ash_node *)p;
            const char *t = ash_node_ok(nd) && ash_node_is_scalar(nd) ? ash_node_text(nd) : NULL;
            v = t ? json_string(t) : NULL;
            break;
        }
        case ASH_F_TARGET: {
            const struct ash_target_ref *r = (const struct ash_target_ref *)p;
            char buf[300];
            v = r->name ? json_string(ash_target_ref_str(r, buf, sizeof buf)) : NULL;
            break;
        }
        }
        if (v)
            json_object_set_new(o, f->key, v);
    }
    return o;
}

static void problem(json_t *problems, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(json_t *problems, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(problems, json_string(buf));
}

static void journal_op(json_t *ops, const char *op)
{
    size_t i;
    json_t *v;
    json_array_foreach(ops, i, v) if (strcmp(json_string_value(v), op) == 0) return;
    json_array_append_new(ops, json_string(op));
}

static bool valid_run_id(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > 11)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static json_t *sandbox_json(const struct ash_scenario *sc, const char *run_id, const char *run_dir, json_t *ops)
{
    struct ash_cgroup_sys sys;
    bool cg_known = ash_cgroup_detect(NULL, &sys, NULL) == 0;
    struct ash_sandbox_names nm;
    ash_sandbox_names(run_id, 0, "", &nm);
    json_t *cgs = json_array();
    struct ash_cgroup cg;
    if (cg_known) {
        ash_cgroup_init(&cg, &sys, nm.parent_cgroup, true);
        const char *paths[] = {cg.v2, cg.memory, cg.cpu, cg.freezer};
        for (size_t i = 0; i < 4; i++)
            if (paths[i][0])
                json_array_append_new(cgs, json_string(paths[i]));
    } else {
        json_array_append_new(cgs, json_string(nm.parent_cgroup));
    }
    json_t *sb =
        json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "bridge", nm.bridge, "subnet",
                  "a free 10.x.y.0/24, chosen when the run starts", "egress_guard_nft_table", nm.bridge, "cgroup", cgs,
                  "files", "", "cgroup_mode", cg_known ? ash_cgroup_mode_name(sys.mode) : "unknown");
    json_object_set_new(sb, "files", json_sprintf("%s/sandbox-%s", run_dir, run_id));
    /* The bridge is in the hub namespace; the root keeps the gateway link (and the guard table on it). */
    json_object_set_new(sb, "hub_netns", json_string(nm.hub));
    json_object_set_new(sb, "gateway_link", json_string(nm.gateway_link));
    json_object_set_new(sb, "uplink", json_string(nm.uplink));
    json_t *hosts = json_array();
    for (size_t i = 0; i < sc->n_hosts; i++) {
        const struct ash_host_spec *h = &sc->hosts[i];
        ash_sandbox_names(run_id, i, h->name, &nm);
        json_t *hc = json_array();
        if (cg_known) {
            ash_cgroup_init(&cg, &sys, nm.cgroup, h->cpu > 0);
            const char *paths[] = {cg.v2, cg.memory, cg.cpu, cg.freezer};
            for (size_t k = 0; k < 4; k++)
                if (paths[k][0])
                    json_array_append_new(hc, json_string(paths[k]));
        } else {
            json_array_append_new(hc, json_string(nm.cgroup));
        }
        json_t *svcs = json_array();
        for (size_t k = 0; k < h->n_services; k++)
            json_array_append_new(svcs, json_string(h->services[k].name));
        json_t *hj = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", h->name, "netns", nm.netns, "veth", nm.veth,
                               "netns_link", "eth0", "cgroup", hc, "services", svcs);
        if (h->memory.set)
            json_object_set_new(hj, "memory",
                                h->memory.is_percent ? json_sprintf("%g%%", h->memory.fraction * 100)
                                                     : json_integer((json_int_t)h->memory.bytes));
        if (h->cpu > 0)
            json_object_set_new(hj, "cpu", json_real(h->cpu));
        json_object_set_new(hj, "files", json_sprintf("%s/sandbox-%s/hosts/%s/etc", run_dir, run_id, h->name));
        /* fleet.hosts: its node's agent builds it (the names there are the node's sandbox's). */
        json_object_set_new(hj, "node", h->node ? json_string(h->node) : json_null());
        json_array_append_new(hosts, hj);
    }
    json_object_set_new(sb, "hosts", hosts);
    static const char *const sb_ops[] = {"sandbox.files", "sandbox.cgroup", "sandbox.hub", "sandbox.fw",
                                         "sandbox.netns"};
    for (size_t i = 0; i < sizeof sb_ops / sizeof sb_ops[0]; i++)
        journal_op(ops, sb_ops[i]);
    return sb;
}

static json_t *ready_json(const struct ash_ready_spec *r, const struct ash_scenario *sc, const char *run_dir)
{
    if (!r->set)
        return json_null();
    json_t *j = json_object();
    if (r->tcp)
        json_object_set_new(j, "tcp", json_string(r->tcp));
    if (r->http)
        json_object_set_new(j, "http", json_string(r->http));
    if (r->exec.n)
        json_object_set_new(j, "exec", argv_json(&r->exec, sc, run_dir));
    json_object_set_new(j, "timeout_ms", ms(r->timeout_ns));
    return j;
}

static int services_json(const struct ash_scenario *sc, const char *run_dir, json_t *problems, json_t **out,
                         ash_error_t *err)
{
    size_t n = sc->n_services;
    for (size_t h = 0; h < sc->n_hosts; h++)
        n += sc->hosts[h].n_services;
    const struct ash_service_spec **specs = calloc(n ? n : 1, sizeof *specs);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    if (!specs || !order) {
        free(specs);
        free(order);
        return ash_error(err, ENOMEM, "plan");
    }
    size_t k = 0;
    for (size_t i = 0; i < sc->n_services; i++)
        specs[k++] = &sc->services[i];
    for (size_t h = 0; h < sc->n_hosts; h++)
        for (size_t i = 0; i < sc->hosts[h].n_services; i++)
            specs[k++] = &sc->hosts[h].services[i];
    if (ash_env_order(specs, n, order, err) < 0) {
        free(specs);
        free(order);
        return -1;
    }
    static const char *const restart_names[] = {"never", "on-failure", "always"};
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const struct ash_service_spec *s = specs[order[i]];
        json_t *deps = json_array();
        for (size_t d = 0; d < s->depends_on.n; d++)
            json_array_append_new(deps, json_string(s->depends_on.v[d]));
        json_t *env = json_array();
        for (size_t e = 0; e < s->env.n; e++)
            json_array_append_new(env, json_string(s->env.v[e]));
        json_t *sj = json_pack(
            "{s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:b}", "name", s->name, "host",
            s->host ? json_string(s->host) : json_null(), "command", argv_json(&s->command, sc, run_dir), "env", env,
            "ready", ready_json(&s->ready, sc, run_dir), "restart", restart_names[s->restart], "depends_on", deps,
            "user", s->user ? json_string(s->user) : json_null(), "seccomp_launcher", s->seccomp);
        if (s->seccomp)
            json_object_set_new(sj, "seccomp_syscalls", json_string(s->seccomp_syscalls));
        json_array_append_new(a, sj);
        struct passwd *pw = s->user ? getpwnam(s->user) : NULL;
        if (s->user && !pw)
            problem(problems, "service '%s': no user '%s' on this machine", s->name, s->user);
        else if (s->user && geteuid() != 0 && pw->pw_uid != geteuid())
            problem(problems, "service '%s': running as user '%s' needs root", s->name, s->user);
    }
    free(specs);
    free(order);
    *out = a;
    return 0;
}

static const char *unavailable(const struct ash_kind_common *c)
{
    return c->unavailable ? c->unavailable() : NULL;
}

/* Faults in the order they happen (their offsets; the scenario's order breaks ties, as the
 * run's timers do). */
static int fault_cmp(const void *a, const void *b)
{
    const struct ash_fault_spec *x = *(const struct ash_fault_spec *const *)a;
    const struct ash_fault_spec *y = *(const struct ash_fault_spec *const *)b;
    if (x->at_ns != y->at_ns)
        return x->at_ns < y->at_ns ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int faults_json(const struct ash_scenario *sc, const struct ash_describe *d, json_t *problems, json_t *ops,
                       json_t **out, ash_error_t *err)
{
    const struct ash_fault_spec **v = calloc(sc->n_faults + 1, sizeof *v);
    if (!v)
        return ash_error(err, ENOMEM, "plan");
    for (size_t i = 0; i < sc->n_faults; i++)
        v[i] = &sc->faults[i];
    qsort(v, sc->n_faults, sizeof *v, fault_cmp);
    json_t *a = json_array();
    for (size_t i = 0; a && i < sc->n_faults; i++) {
        const struct ash_fault_spec *f = v[i];
        json_t *fj =
            json_pack("{s:s, s:s, s:o, s:o, s:b}", "name", f->name, "kind", f->kind->c.name, "at_ms", ms(f->at_ns),
                      "duration_ms", ms(f->duration_ns), "until_remediated", f->until_remediated);
        const char *node = ash_fault_node(f); /* fleet: its agent applies it, on that node */
        const char *svc = ash_fault_swarm_service(f);
        if (svc) /* where its tasks run is the manager's word at the run's start (docs/fleet.md) */
            json_object_set_new(fj, "node",
                                json_sprintf("(each node running a task of swarm service '%s': asked of the "
                                             "manager's /tasks and /nodes at the run's start, a task on a node not "
                                             "in fleet.nodes refused)",
                                             svc));
        else if (ash_fault_kube_pods(f))
            json_object_set_new(fj, "node",
                                json_sprintf("(each node running a pod of %s: listed through the Kubernetes API at "
                                             "the run's start, a pod on a node not in fleet.nodes refused)",
                                             ash_fault_kube_pods(f)));
        else if (node)
            json_object_set_new(fj, "node", json_string(node));
        const char *no_revert = f->kind->no_revert ? f->kind->no_revert(f) : NULL;
        json_object_set_new(fj, "revert",
                            no_revert             ? json_sprintf("none: one-shot (%s)", no_revert)
                            : f->duration_ns >= 0 ? json_sprintf("after %g ms", (double)f->duration_ns / 1e6)
                            : f->until_remediated ? json_string("by a remediation (else at the end of the run)")
                                                  : json_string("at the end of the run"));
        if (f->kind->describe) {
            if (f->kind->describe(f, d, fj, err) < 0) {
                json_decref(fj);
                json_decref(a);
                free(v);
                return ash_error_wrap(err, "fault '%s'", f->name);
            }
        } else {
            json_object_set_new(fj, "mechanism", json_string(f->kind->c.summary));
        }
        /* A node's agent journals there and checks there what its faults need. */
        json_t *objs = node ? NULL : json_object_get(fj, "objects");
        size_t k;
        json_t *o;
        json_array_foreach(objs, k, o)
        {
            const char *op = json_string_value(json_object_get(o, "journal"));
            if (op)
                journal_op(ops, op);
        }
        const char *why = node ? NULL : unavailable(&f->kind->c);
        if (why)
            problem(problems, "%s:%d:%d: fault '%s' (kind %s) cannot run here: %s", f->loc.file, f->loc.line,
                    f->loc.col, f->name, f->kind->c.name, why);
        const char *cannot = node ? NULL : json_string_value(json_object_get(fj, "cannot_run"));
        if (cannot)
            problem(problems, "%s:%d:%d: fault '%s' cannot run here: %s", f->loc.file, f->loc.line, f->loc.col, f->name,
                    cannot);
        json_array_append_new(a, fj);
    }
    free(v);
    *out = a;
    return 0;
}

/* When the run is expected to end, and the most it can take. */
static json_t *duration_json(const struct ash_scenario *sc)
{
    const struct ash_expect *e = &sc->expect;
    int64_t last = 0;
    bool waits_detection = false;
    for (size_t i = 0; i < sc->n_faults; i++) {
        const struct ash_fault_spec *f = &sc->faults[i];
        int64_t end = f->at_ns + (f->duration_ns > 0 ? f->duration_ns : 0);
        if (end > last)
            last = end;
    }
    for (size_t i = 0; i < sc->n_remediations; i++) {
        const struct ash_remediation_spec *r = &sc->remediations[i];
        if (r->when == ASH_WHEN_AT && r->at_ns > last)
            last = r->at_ns;
        if (r->when == ASH_WHEN_DETECTED || r->when == ASH_WHEN_FOLLOWS)
            waits_detection = true; /* a follower's time is known only at run time */
    }
    int64_t setup = 0, verify = 0;
    for (size_t i = 0; i < sc->n_services; i++)
        setup += sc->services[i].ready.set ? sc->services[i].ready.timeout_ns : 0;
    for (size_t h = 0; h < sc->n_hosts; h++)
        for (size_t i = 0; i < sc->hosts[h].n_services; i++)
            setup += sc->hosts[h].services[i].ready.set ? sc->hosts[h].services[i].ready.timeout_ns : 0;
    for (size_t i = 0; i < sc->n_verify; i++)
        verify += sc->verify[i].timeout_ns;
    int64_t phase = last + e->stable_for_ns;
    if (phase > e->timeout_ns)
        phase = e->timeout_ns;
    /* The steady state may take up to 10 s more than the warm-up to reach (run.c). */
    int64_t max = setup + e->warmup_ns + 10 * 1000000000LL + e->timeout_ns + verify;
    char note[300];
    snprintf(note, sizeof note,
             "warm-up + the last scheduled change (%g s)%s + stable_for, capped by the timeout; plus service start-up",
             (double)last / 1e9, waits_detection ? " or a remediation after detection" : "");
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "warmup_ms", ms(e->warmup_ns), "stable_for_ms",
                     ms(e->stable_for_ns), "timeout_ms", ms(e->timeout_ns), "last_change_ms", ms(last), "expected_ms",
                     ms(e->warmup_ns + phase), "max_ms", ms(max), "note", note);
}

static void state_dir_check(const char *dir, json_t *problems)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno != ENOENT)
            problem(problems, "state directory %s: %s", dir, strerror(errno));
        return; /* made by the run (0700) */
    }
    ash_error_t e = {0};
    if (ash_journal_check_state_dir(dir, &e) < 0)
        problem(problems, "%s (use --state-dir)", e.msg);
}

int ash_plan_file(const char *path, const struct ash_plan_options *o, json_t **out, ash_error_t *err)
{
    *out = NULL;
    const char *run_id = o && o->run_id ? o->run_id : PLAN_RUN_PLACEHOLDER;
    if (o && o->run_id && !valid_run_id(o->run_id))
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "--run-id '%s': 1 to 11 letters or digits", o->run_id);
    const char *state_dir = o && o->state_dir ? o->state_dir : ASH_DEFAULT_STATE_DIR;
    struct ash_scenario *sc;
    if (ash_engine_load(path, &sc, err) < 0)
        return -1;
    char run_dir[4200];
    snprintf(run_dir, sizeof run_dir, "%s/%s-<UTC stamp>", o && o->report_dir ? o->report_dir : "reports", sc->name);
    struct ash_describe d = {.scenario = sc, .run_id = run_id, .run_dir = run_dir};
    json_t *problems = json_array(), *ops = json_array();
    json_t *plan = json_object();
    int ret = -1;
    json_object_set_new(plan, "schema", json_string("aftershock/plan-v1"));
    json_object_set_new(plan, "scenario", json_string(sc->name));
    json_object_set_new(plan, "title", json_string(sc->title ? sc->title : sc->name));
    json_object_set_new(plan, "file", json_string(path));
    json_object_set_new(plan, "mode", json_string(sc->n_hosts ? "sandbox" : "host"));
    json_object_set_new(plan, "run_id", json_string(run_id));
    json_object_set_new(plan, "run_id_is_placeholder", json_boolean(!(o && o->run_id)));
    json_object_set_new(plan, "run_dir", json_string(run_dir));
    if (sc->n_hosts) {
        json_object_set_new(plan, "sandbox", sandbox_json(sc, run_id, run_dir, ops));
        if (geteuid() != 0)
            problem(problems, "sandbox hosts need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)");
    } else {
        json_object_set_new(plan, "sandbox", json_null());
    }
    json_t *svcs = NULL;
    if (services_json(sc, run_dir, problems, &svcs, err) < 0)
        goto out;
    json_object_set_new(plan, "services", svcs);
    if (json_array_size(svcs))
        journal_op(ops, "env.processes");
    if (sc->n_hosts || sc->dns.set) {
        json_t *recs = json_array();
        for (size_t i = 0; i < sc->dns.n_records; i++)
            json_array_append_new(recs, json_pack("{s:s, s:s, s:I}", "name", sc->dns.records[i].name, "value",
                                                  sc->dns.records[i].value, "ttl", (json_int_t)sc->dns.records[i].ttl));
        json_object_set_new(
            plan, "dns",
            json_pack("{s:s, s:o}", "listen",
                      sc->n_hosts ? "the bridge's gateway, port 53" : (sc->dns.listen ? sc->dns.listen : "not started"),
                      "records", recs));
    } else {
        json_object_set_new(plan, "dns", json_null());
    }
    json_t *probes = json_array();
    for (size_t i = 0; i < sc->n_probes; i++) {
        const struct ash_probe_spec *p = &sc->probes[i];
        json_array_append_new(probes, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "name", p->name, "kind",
                                                p->kind->c.name, "from", p->from ? json_string(p->from) : json_null(),
                                                "node", p->node ? json_string(p->node) : json_null(), "every_ms",
                                                ms(p->every_ns), "timeout_ms", ms(p->timeout_ns), "slow_ms",
                                                p->slow_ns > 0 ? ms(p->slow_ns) : json_string("from the warm-up"),
                                                "config", conf_json(p->kind->c.fields, p->conf)));
        const char *why = unavailable(&p->kind->c);
        if (why)
            problem(problems, "probe '%s' (kind %s) cannot run here: %s", p->name, p->kind->c.name, why);
    }
    json_object_set_new(plan, "probes", probes);
    json_t *dets = json_array();
    for (size_t i = 0; i < sc->n_detectors; i++) {
        const struct ash_detector_spec *dt = &sc->detectors[i];
        json_array_append_new(dets,
                              json_pack("{s:s, s:s, s:s, s:o}", "name", dt->name, "kind", dt->kind->c.name, "summary",
                                        dt->kind->c.summary, "config", conf_json(dt->kind->c.fields, dt->conf)));
        const char *why = unavailable(&dt->kind->c);
        if (why)
            problem(problems, "detector '%s' (kind %s) cannot run here: %s", dt->name, dt->kind->c.name, why);
    }
    json_object_set_new(plan, "detectors", dets);
    json_t *faults = NULL;
    if (faults_json(sc, &d, problems, ops, &faults, err) < 0)
        goto out;
    json_object_set_new(plan, "faults", faults);
    if (sc->fleet.set) {
        const struct ash_fleet_spec *fl = &sc->fleet;
        json_t *nodes = json_array();
        for (size_t i = 0; i < fl->nodes.n; i++)
            json_array_append_new(nodes, json_string(fl->nodes.v[i]));
        bool deploys = fl->engine != ASH_FLEET_AGENTS;
        /* The paths the run reads, placeholders substituted as the run does (engine/fleet_run.c). */
        char *key_file = fl->key_file ? ash_env_substitute(fl->key_file, sc->dir, run_dir) : NULL;
        char *kubeconfig = fl->kubeconfig ? ash_env_substitute(fl->kubeconfig, sc->dir, run_dir) : NULL;
        json_t *fj = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o}", "engine", ash_fleet_engine_names[fl->engine], "listen",
                               fl->listen, "nodes", nodes, "key_file",
                               key_file  ? key_file
                               : deploys ? "made for the run, kept only in the engine's secret"
                                         : "RUN_DIR/fleet.key (made for the run)",
                               "lease_ms", ms(fl->lease_ns), "wait_ms", ms(fl->wait_ns));
        /* What the run makes through the engine, and where (fleet/deploy.h). */
        char dep[1200];
        if (fl->engine == ASH_FLEET_SWARM)
            snprintf(dep, sizeof dep,
                     "a Swarm secret aftershock-key-RUN and a global service aftershock-agent-RUN of image %s through "
                     "%s, removed at the end",
                     fl->image, fl->docker_host ? fl->docker_host : "$DOCKER_HOST or unix:///var/run/docker.sock");
        else if (fl->engine == ASH_FLEET_KUBERNETES)
            snprintf(dep, sizeof dep,
                     "a Secret aftershock-key-RUN and a DaemonSet aftershock-agent-RUN of image %s in namespace %s "
                     "through %s, deleted at the end",
                     fl->image, fl->k8s_namespace ? fl->k8s_namespace : "(the account's or context's)",
                     kubeconfig ? kubeconfig : "the pod's service account");
        free(key_file);
        free(kubeconfig);
        if (deploys)
            json_object_set_new(fj, "deploy", json_string(dep));
        json_object_set_new(plan, "fleet", fj);
    }
    json_t *rems = json_array();
    for (size_t i = 0; i < sc->n_remediations; i++) {
        const struct ash_remediation_spec *r = &sc->remediations[i];
        json_t *rj = json_pack("{s:s, s:s, s:s, s:o}", "name", r->name, "action", r->action->c.name, "summary",
                               r->action->c.summary, "config", conf_json(r->action->c.fields, r->conf));
        if (r->when == ASH_WHEN_AT) {
            json_object_set_new(rj, "at_ms", ms(r->at_ns));
        } else if (r->when == ASH_WHEN_FOLLOWS) {
            json_object_set_new(rj, "follows", json_string(r->follows));
            json_object_set_new(rj, "after_ms", ms(r->after_ns));
        } else {
            json_object_set_new(rj, "after_detection_ms", ms(r->after_ns));
        }
        json_array_append_new(rems, rj);
    }
    json_object_set_new(plan, "remediations", rems);
    /* A fault a remediation reverts says so where its revert is told. */
    size_t fi, ri;
    json_t *fj, *rj;
    json_array_foreach(faults, fi, fj) json_array_foreach(rems, ri, rj)
    {
        const char *target = json_string_value(json_object_get(json_object_get(rj, "config"), "fault"));
        if (strcmp(json_string_value(json_object_get(rj, "action")), "revert") != 0 || !target ||
            strcmp(target, json_string_value(json_object_get(fj, "name"))) != 0)
            continue;
        json_t *at = json_object_get(rj, "at_ms"), *follows = json_object_get(rj, "follows");
        const char *rname = json_string_value(json_object_get(rj, "name"));
        if (at)
            json_object_set_new(fj, "revert",
                                json_sprintf("by remediation %s at +%g ms (or sooner, or at the end of the run)", rname,
                                             json_number_value(at)));
        else if (follows)
            json_object_set_new(fj, "revert",
                                json_sprintf("by remediation %s, %g ms after %s succeeded (else at the end of the run)",
                                             rname, json_number_value(json_object_get(rj, "after_ms")),
                                             json_string_value(follows)));
        else
            json_object_set_new(fj, "revert",
                                json_sprintf("by remediation %s, %g ms after detection (else at the end of the run)",
                                             rname, json_number_value(json_object_get(rj, "after_detection_ms"))));
    }
    json_t *ver = json_array();
    for (size_t i = 0; i < sc->n_verify; i++) {
        const struct ash_verify_spec *v = &sc->verify[i];
        json_array_append_new(
            ver, json_pack("{s:s, s:o, s:s, s:o}", "name", v->name, "command", argv_json(&v->command, sc, run_dir),
                           "expect", v->expect == ASH_VERIFY_FAIL ? "fail" : "pass", "timeout_ms", ms(v->timeout_ns)));
    }
    json_object_set_new(plan, "verify", ver);
    json_t *guards = json_array();
    for (size_t i = 0; i < sc->n_guardrails; i++) {
        char cond[256];
        ash_guard_condition(&sc->guardrails[i], cond, sizeof cond);
        json_array_append_new(guards, json_pack("{s:s, s:s}", "name", sc->guardrails[i].name, "condition", cond));
    }
    json_object_set_new(plan, "guardrails", guards);
    const struct ash_expect *e = &sc->expect;
    json_object_set_new(plan, "expect",
                        json_pack("{s:o, s:o, s:o, s:o, s:o}", "warmup_ms", ms(e->warmup_ns), "stable_for_ms",
                                  ms(e->stable_for_ns), "detect_within_ms", ms(e->detect_within_ns),
                                  "recover_within_ms", ms(e->recover_within_ns), "timeout_ms", ms(e->timeout_ns)));
    json_object_set_new(plan, "duration", duration_json(sc));
    char jpath[4200];
    snprintf(jpath, sizeof jpath, "%s/%s.journal", state_dir, run_id);
    json_object_set_new(plan, "journal", json_pack("{s:s, s:O}", "path", jpath, "records", ops));
    snprintf(jpath, sizeof jpath, "%s/%s.sock", state_dir, run_id);
    json_object_set_new(plan, "control_socket", json_string(jpath));
    state_dir_check(state_dir, problems);
    /* The run's own preflight: every container, process and cgroup looked up, and what
     * each fault needs of it, so that "this machine can run it" is what run finds. */
    json_t *resolved = json_array();
    if (ash_preflight(sc, problems, resolved, err) < 0) {
        json_decref(resolved);
        goto out;
    }
    json_object_set_new(plan, "resolved", resolved);
    json_object_set_new(plan, "environment",
                        json_pack("{s:b, s:O}", "ok", json_array_size(problems) == 0, "problems", problems));
    *out = plan;
    plan = NULL;
    ret = 0;
out:
    json_decref(plan);
    json_decref(problems);
    json_decref(ops);
    ash_scenario_free(sc);
    return ret;
}
