/* Fault `memory-exhaustion`: shrink a cgroup's memory limit, turn its swap off
 * and/or run a balloon inside it that allocates memory at a given rate, while
 * the kernel's OOM kills, usage and PSI pressure are observed into the timeline.
 *
 * Target: a sandbox host (its cgroup) or a host-mode service, which is moved
 * into a cgroup of its own (ash-<run>-<service>) for the fault and moved back on
 * revert. Percentages (`limit: 50%`, `balloon.size: 95%`) are of the target
 * cgroup's memory limit in effect at that moment (for the balloon: after
 * `limit` was applied), or of MemTotal when the cgroup is unlimited. */
#include "kinds.h"
#include "env/target.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "sys/balloon.h"
#include "sys/cgroup.h"
#include "sys/clock.h"
#include "sys/fs.h"
#include "sys/journal.h"
#include "sys/memwatch.h"
#include "sys/objname.h"
#include "sys/proc.h"
#include "sys/seccomp_notify.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The target is a sandbox host or a service; these name it by type (NULL for the other). */
#define TARGET_HOST(c) ash_target_name_if(&(c)->target, ASH_TARGET_HOST)
#define TARGET_SERVICE(c) ash_target_name_if(&(c)->target, ASH_TARGET_SERVICE)

#define MIB (1024.0 * 1024.0)

static const char *const swap_names[] = {"keep", "off", NULL};

struct balloon_conf {
    bool set;
    struct ash_size size;
    char *rate; /* "20MiB/s"; absent: as fast as the kernel lets it */
};

struct mem_conf {
    struct ash_target_ref target;
    struct ash_size limit;
    struct ash_size revert_limit; /* the fix: the revert sets this limit instead of the old one */
    struct balloon_conf balloon;
    int swap;
    bool enomem;
    int64_t sample_every_ns;
};

static const struct ash_field balloon_fields[] = {
    {"size", ASH_F_SIZE, offsetof(struct balloon_conf, size), ASH_FIELD_REQUIRED,
     "how much the balloon allocates and touches: 200MiB, or 95% of the target's limit (MemTotal if unlimited)"},
    {"rate", ASH_F_STRING, offsetof(struct balloon_conf, rate), 0,
     "allocation rate, a size per second: 20MiB/s (default: as fast as possible)"},
    {NULL}};

static const struct ash_field mem_fields[] = {
    {"target", ASH_F_TARGET, offsetof(struct mem_conf, target), ASH_FIELD_REQUIRED,
     "host:NAME (a sandbox host's cgroup is squeezed), service:NAME (a host-mode service, moved into a cgroup of "
     "its own, ash-<run>-<service>, for the fault), or the cgroup of a container:NAME, process:pid=N or "
     "cgroup:PATH (its own limit, the engine's included, is restored exactly)",
     .needs = ASH_CAP_CGROUP | ASH_CAP_LIMIT},
    ASH_TARGET_OLD_HOST_FIELD(struct mem_conf, target),
    ASH_TARGET_OLD_SERVICE_FIELD(struct mem_conf, target),
    {"limit", ASH_F_SIZE, offsetof(struct mem_conf, limit), 0,
     "new memory limit: 64MiB, or 50% of the current limit (of MemTotal when unlimited); revert restores the old "
     "value"},
    {"revert_limit", ASH_F_SIZE, offsetof(struct mem_conf, revert_limit), 0,
     "on revert, set the limit to this instead of restoring the old value: a fix that added memory beyond the "
     "original allocation (host:NAME only, above its 'memory:'; the cgroup goes with the run)"},
    {"balloon", ASH_F_MAP, offsetof(struct mem_conf, balloon), 0,
     "a helper process in the target's cgroup allocating memory at a rate (a leak), freed on revert", NULL,
     balloon_fields},
    {"swap", ASH_F_ENUM, offsetof(struct mem_conf, swap), 0,
     "off: forbid swap (v2 memory.swap.max 0; v1 memory.memsw.limit_in_bytes = limit)", swap_names},
    {"enomem", ASH_F_BOOL, offsetof(struct mem_conf, enomem), 0,
     "mmap and brk of the target's services fail with ENOMEM while the fault is in effect (seccomp)"},
    {"sample_every", ASH_F_DURATION, offsetof(struct mem_conf, sample_every_ns), 0,
     "how often usage and PSI pressure are sampled into the timeline (default 500ms)"},
    {NULL}};

static void mem_defaults(void *conf)
{
    struct mem_conf *c = conf;
    c->sample_every_ns = 500 * ASH_NS_PER_MS;
}

/* "20MiB/s" -> bytes per second. */
static int parse_byte_rate(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n < 3 || strcmp(s + n - 2, "/s") != 0)
        return -1;
    char buf[64];
    if (n - 2 >= sizeof buf)
        return -1;
    memcpy(buf, s, n - 2);
    buf[n - 2] = '\0';
    struct ash_size sz;
    if (ash_parse_size(buf, &sz) < 0 || sz.is_percent || sz.bytes == 0)
        return -1;
    *out = sz.bytes;
    return 0;
}

/* The launcher of s notifies mmap and brk too (keeping what syscall faults added). */
/* enomem: the target's services (a service, or every service of the host) start under
 * the seccomp launcher with mmap and brk notified. */
static int mem_prepare(const void *conf, struct ash_prepare *p, ash_error_t *err)
{
    const struct mem_conf *c = conf;
    static const char *const names[] = {"mmap", "brk"};
    return c->enomem ? ash_prepare_seccomp(p, &c->target, names, 2, err) : 0;
}

static int mem_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct mem_conf *c = conf;
    /* The target was resolved and checked by the scenario. */
    if (c->enomem && c->target.type != ASH_TARGET_HOST && c->target.type != ASH_TARGET_SERVICE) {
        ash_node v = ash_map_get(node, "enomem");
        return ash_node_fail(&v, err,
                             "'enomem' needs processes started under aftershock's seccomp launcher (a host or a "
                             "service); %s '%s' was started by something else",
                             ash_target_type_names[c->target.type], c->target.name);
    }
    if (!c->limit.set && !c->balloon.set && c->swap == 0 && !c->enomem)
        return ash_node_fail(node, err,
                             "memory-exhaustion does nothing: give 'limit', 'balloon', 'swap: off' or 'enomem'");
    if (c->limit.set && (c->limit.is_percent ? c->limit.fraction <= 0 : c->limit.bytes == 0)) {
        ash_node v = ash_map_get(node, "limit");
        return ash_node_fail(&v, err, "a memory limit of zero would kill everything at once; give a positive size");
    }
    const struct ash_host_spec *h = TARGET_HOST(c) ? ash_scenario_host(sc, TARGET_HOST(c)) : NULL;
    if (c->revert_limit.set) {
        /* The raised limit is left in place by the revert: only a cgroup that goes
         * with the run may keep it (a sandbox host's), and it must be a raise. */
        ash_node v = ash_map_get(node, "revert_limit");
        if (c->target.type != ASH_TARGET_HOST)
            return ash_node_fail(&v, err,
                                 "'revert_limit' leaves the raised limit in place after the revert: only a sandbox "
                                 "host's cgroup (target: host:NAME), removed with the run, may keep it; %s '%s' "
                                 "would keep it after the run",
                                 ash_target_type_names[c->target.type], c->target.name);
        if (c->revert_limit.is_percent || c->revert_limit.bytes == 0)
            return ash_node_fail(&v, err, "'revert_limit' needs a size (e.g. 128MiB), not a percentage or zero");
        if (!h || !h->memory.set || h->memory.is_percent || c->revert_limit.bytes <= h->memory.bytes)
            return ash_node_fail(&v, err,
                                 "'revert_limit' must be above host '%s''s own 'memory:' limit, which the revert "
                                 "would restore anyway: give the host a 'memory:' size and a bigger revert_limit",
                                 c->target.name);
    }
    uint64_t rate;
    if (c->balloon.set && c->balloon.rate && parse_byte_rate(c->balloon.rate, &rate) < 0) {
        ash_node b = ash_map_get(node, "balloon");
        ash_node v = ash_map_get(&b, "rate");
        return ash_node_fail(&v, err, "'%s' is not a rate: write a size per second, e.g. 20MiB/s", c->balloon.rate);
    }
    /* A balloon in a cgroup without a memory limit fills the whole machine: the
     * kernel's global OOM killer then picks any process on it, not the target. A
     * host-mode service's cgroup is made for the fault, so it is unlimited unless
     * 'limit' is given; a sandbox host may have its own 'memory:'. */
    if (c->balloon.set && !c->limit.set && !(h && h->memory.set)) {
        ash_node v = ash_map_get(node, "balloon");
        return ash_node_fail(&v, err,
                             "a balloon needs a memory limit around it: give 'limit'%s; without one it would "
                             "exhaust the whole machine's memory and the kernel could OOM-kill any process on it",
                             TARGET_HOST(c) ? " (or the host a 'memory:' limit)" : "");
    }
    if (c->sample_every_ns <= 0) {
        ash_node v = ash_map_get(node, "sample_every");
        return ash_node_fail(&v, err, "'sample_every' must be positive");
    }
    return 0;
}

static const char *mem_unavailable(void)
{
    if (geteuid() != 0)
        return "needs root: it writes cgroup memory limits";
    struct ash_cgroup_sys sys;
    if (ash_cgroup_detect(NULL, &sys, NULL) < 0)
        return "no cgroup hierarchy mounted at /sys/fs/cgroup";
    if (!sys.memory[0])
        return "no memory controller: neither cgroup v2 nor v1 has it enabled";
    return NULL;
}

/* ---- live state ---- */

struct saved_file {
    struct ash_cgroup_saved s; /* the file and its value before the fault */
    uint64_t jid;
};

struct mem_state {
    struct ash_ctx *ctx;
    const struct ash_fault_spec *f;
    const struct mem_conf *c;
    struct ash_cgroup cg;
    char target[160]; /* "host backend" / "service api" */
    json_t *ident;    /* the target's identity, in every record (a container's id) */
    struct saved_file saved[4];
    size_t n_saved;
    struct ash_memwatch *watch;
    struct ash_balloon *balloon;
    uint64_t balloon_jid;
    uint64_t balloon_size, balloon_rate;
    int64_t balloon_t0;
    /* service target */
    bool own_cg;
    uint64_t own_jid;
    pid_t svc_pid;
    uint64_t svc_start;
    char back[4][600]; /* the service's original cgroup dirs */
    size_t n_back;
    /* enomem: the policy is registered under these listener tags (service names) */
    char tags[16][64];
    size_t n_tags;
    int nr_mmap, nr_brk;
    uint64_t enomem_mmap, enomem_brk;
    bool injected; /* fully in effect: a revert then is the fix (revert_limit applies) */
};

static uint64_t mem_total(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    unsigned long long kb = 0;
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024;
}

/* The limit in effect, or MemTotal when unlimited: what percentages are of. */
static uint64_t percent_base(const struct ash_cgroup *cg)
{
    struct ash_mem_sample s;
    if (ash_mem_read(cg, &s, NULL) == 0 && s.limit != UINT64_MAX)
        return s.limit;
    return mem_total();
}

/* Journal the file's current value, then write the new one. */
static int save_and_write(struct mem_state *st, const char *file, const char *value, ash_error_t *err)
{
    if (st->n_saved == sizeof st->saved / sizeof st->saved[0])
        return ash_error(err, ENOSPC, "too many saved cgroup values");
    struct saved_file *s = &st->saved[st->n_saved];
    if (ash_cgroup_save(file, &s->s, err) < 0)
        return -1;
    json_t *d = json_pack("{s:s, s:s}", "file", s->s.file, "value", s->s.value);
    if (d && st->ident)
        json_object_set(d, "target", st->ident);
    int r = ash_journal_append(st->ctx->journal, "memory.restore", d, &s->jid, err);
    json_decref(d);
    if (r < 0)
        return -1;
    st->n_saved++;
    /* v1's EBUSY (a burst in flight it cannot reclaim yet) is retried for up to a
     * second; the fault is in effect, and t_inject taken, only when the write succeeds. */
    return ash_cgroup_write_limit(file, value, ASH_NS_PER_S, err);
}

static void on_oom(void *arg, int64_t t, uint64_t n, const struct ash_mem_sample *s)
{
    struct mem_state *st = arg;
    ash_ctx_eventf(st->ctx, t, "oom-kill", "%s: %" PRIu64 " process%s OOM-killed (total %" PRIu64 ", usage %.1f MiB)",
                   st->target, n, n == 1 ? "" : "es", s->oom_kills, (double)s->usage / MIB);
}

static void on_watch_failed(void *arg, const char *why)
{
    struct mem_state *st = arg;
    ash_ctx_fail(st->ctx, "%s: %s", st->target, why);
}

static void on_sample(void *arg, int64_t t, const struct ash_mem_sample *s)
{
    struct mem_state *st = arg;
    char lim[32], psi[64] = "";
    if (s->limit == UINT64_MAX)
        snprintf(lim, sizeof lim, "unlimited");
    else
        snprintf(lim, sizeof lim, "%.1f MiB", (double)s->limit / MIB);
    if (s->has_psi)
        snprintf(psi, sizeof psi, ", pressure some %.2f%% full %.2f%%", s->psi_some10, s->psi_full10);
    ash_ctx_eventf(st->ctx, t, "memory-usage", "%s: %.1f MiB of %s%s", st->target, (double)s->usage / MIB, lim, psi);
}

static void balloon_full(void *arg, int64_t t, uint64_t bytes, int64_t took)
{
    struct mem_state *st = arg;
    double secs = (double)took / 1e9;
    if (st->balloon_rate)
        ash_ctx_eventf(st->ctx, t, "balloon-full", "%s: %.1f MiB in %.3f s: %.2f MiB/s (asked %.2f MiB/s)", st->target,
                       (double)bytes / MIB, secs, secs > 0 ? (double)bytes / MIB / secs : 0,
                       (double)st->balloon_rate / MIB);
    else
        ash_ctx_eventf(st->ctx, t, "balloon-full", "%s: %.1f MiB in %.3f s (as fast as possible)", st->target,
                       (double)bytes / MIB, secs);
}

static void balloon_gone(void *arg, int64_t t, uint64_t bytes, int status)
{
    struct mem_state *st = arg;
    char how[64];
    ash_wait_status_str(status, how, sizeof how);
    ash_ctx_eventf(st->ctx, t, "balloon-gone", "%s: the balloon %s holding %.1f MiB of %.1f MiB", st->target, how,
                   (double)bytes / MIB, (double)st->balloon_size / MIB);
}

/* The service's current cgroup dirs in the hierarchies st->cg lives in (to move it back). */
static int original_dirs(struct mem_state *st, const struct ash_cgroup_sys *sys, ash_error_t *err)
{
    struct ash_cgroup now;
    if (ash_cgroup_of_pid(&now, sys, st->svc_pid, err) < 0)
        return -1;
    if (st->cg.v2[0] && now.v2[0])
        snprintf(st->back[st->n_back++], sizeof st->back[0], "%s", now.v2);
    if (st->cg.memory[0] && now.memory[0])
        snprintf(st->back[st->n_back++], sizeof st->back[0], "%s", now.memory);
    return 0;
}

static json_t *own_cg_record(const struct mem_state *st)
{
    json_t *back = json_array();
    for (size_t i = 0; i < st->n_back; i++)
        json_array_append_new(back, json_string(st->back[i]));
    return json_pack("{s:o, s:i, s:I, s:o}", "cgroup", ash_cgroup_to_json(&st->cg), "pid", (int)st->svc_pid, "start",
                     (json_int_t)st->svc_start, "back", back);
}

/* Move pid back to its cgroups and remove the fault's own cgroup. */
static int undo_own_cg(json_t *rec, ash_error_t *err)
{
    struct ash_cgroup cg;
    if (ash_cgroup_from_json(json_object_get(rec, "cgroup"), &cg, err) < 0)
        return -1;
    pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "pid"));
    uint64_t start = (uint64_t)json_integer_value(json_object_get(rec, "start"));
    json_t *back = json_object_get(rec, "back"), *v;
    size_t i;
    if (ash_proc_start_time(pid) == start) {
        json_array_foreach(back, i, v)
        {
            if (ash_cgroup_join_dir(json_string_value(v), pid, err) < 0)
                return ash_error_wrap(err, "cannot move pid %d back", (int)pid);
        }
    }
    /* The service's children forked during the fault were born in its cgroup:
     * they go back with it (to where the service came from). */
    const char *dirs[2] = {cg.v2, cg.memory};
    json_array_foreach(back, i, v)
    {
        for (int k = 0; k < 2; k++)
            if (dirs[k][0] && ash_cgroup_move_all(dirs[k], json_string_value(v), err) < 0)
                return -1;
    }
    for (int k = 0; k < 2; k++)
        if (dirs[k][0] && ash_cgroup_rmdir(dirs[k]) < 0 && errno != ENOENT)
            return ash_error(err, errno, "cannot remove %s (processes left in it?)", dirs[k]);
    return 0;
}

/* A target without a cgroup of its own (a host-mode service): one is made for the fault
 * and its process moved in; revert moves it back. */
static int setup_service_cgroup(struct mem_state *st, const struct ash_target *t, ash_error_t *err)
{
    struct ash_ctx *ctx = st->ctx;
    struct ash_target_proc *procs;
    size_t n;
    if (ash_target_procs(t, &procs, &n, err) < 0)
        return -1;
    if (n == 0)
        return ash_error(err, ESRCH, "service '%s' is not running", t->name);
    st->svc_pid = procs[0].pid;
    st->svc_start = procs[0].start;
    free(procs);
    struct ash_cgroup_sys sys;
    if (ash_cgroup_detect(NULL, &sys, err) < 0)
        return -1;
    if (!ctx->run_id)
        return ash_error(err, EINVAL, "memory fault: no run id to name the service's cgroup with");
    /* ash-<run>-<service head>-<hash of the whole name>: two services whose
     * names share a long prefix must not share (and replace) one limit. */
    const char *slash = strrchr(TARGET_SERVICE(st->c), '/');
    char rel[ASH_OBJNAME_MAX + 1];
    ash_objname(rel, ctx->run_id, slash ? slash + 1 : TARGET_SERVICE(st->c));
    ash_cgroup_init(&st->cg, &sys, rel, false);
    if (original_dirs(st, &sys, err) < 0)
        return -1;
    json_t *d = own_cg_record(st);
    int r = ash_journal_append(ctx->journal, "memory.own-cgroup", d, &st->own_jid, err);
    json_decref(d);
    if (r < 0)
        return -1;
    st->own_cg = true;
    if (ash_cgroup_create(&st->cg, &sys, rel, false, err) < 0)
        return -1;
    ash_cgroup_move_charges(&st->cg); /* v1: the service's memory is counted where it goes */
    return ash_cgroup_join(&st->cg, st->svc_pid, err);
}

/* Inside the window: an anonymous mmap fails with ENOMEM; a brk that would grow
 * the heap returns the break unchanged, which is how the kernel itself says no
 * (glibc compares the result with what it asked for). File mappings, queries
 * (brk(0)) and shrinking go through: the process runs out of memory, not of files. */
static void enomem_decide(void *arg, const struct ash_seccomp_call *call, struct ash_seccomp_decision *d)
{
    struct mem_state *st = arg;
    if (call->nr == st->nr_mmap && (call->args[3] & MAP_ANONYMOUS)) {
        d->verdict = ASH_SC_ERRNO;
        d->error = ENOMEM;
        st->enomem_mmap++;
    } else if (call->nr == st->nr_brk && call->args[0] != 0) {
        uint64_t cur;
        if (ash_seccomp_brk(call, &cur) < 0 || call->args[0] <= cur)
            return;
        d->verdict = ASH_SC_RETURN;
        d->val = (int64_t)cur;
        st->enomem_brk++;
    }
}

static const char *bare_name(const char *service)
{
    const char *slash = strrchr(service, '/');
    return slash ? slash + 1 : service;
}

static void add_tag(struct mem_state *st, const char *name)
{
    if (st->n_tags < sizeof st->tags / sizeof st->tags[0])
        snprintf(st->tags[st->n_tags++], sizeof st->tags[0], "%s", bare_name(name));
}

static int enomem_start(struct mem_state *st, ash_error_t *err)
{
    const struct ash_scenario *sc = st->ctx->scenario;
    st->nr_mmap = ash_syscall_nr("mmap");
    st->nr_brk = ash_syscall_nr("brk");
    if (TARGET_SERVICE(st->c))
        add_tag(st, TARGET_SERVICE(st->c));
    for (size_t i = 0; sc && TARGET_HOST(st->c) && i < sc->n_hosts; i++)
        if (strcmp(sc->hosts[i].name, TARGET_HOST(st->c)) == 0)
            for (size_t k = 0; k < sc->hosts[i].n_services; k++)
                add_tag(st, sc->hosts[i].services[k].name);
    size_t listening = 0;
    for (size_t i = 0; i < st->n_tags; i++)
        listening += ash_seccomp_listeners(st->tags[i]);
    if (listening == 0)
        return ash_error_class(
            err, ASH_ERR_ENVIRONMENT, ESRCH,
            "%s: enomem: no service of the target runs under the seccomp launcher (not started, or exited)",
            st->target);
    for (size_t i = 0; i < st->n_tags; i++)
        if (ash_seccomp_policy_add(st->tags[i], enomem_decide, st, err) < 0)
            return -1;
    return 0;
}

static int mem_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err);
static void mem_discard(void *state);

static int mem_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    const struct mem_conf *c = f->conf;
    struct mem_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "memory-exhaustion");
    st->ctx = ctx;
    st->f = f;
    st->c = c;
    snprintf(st->target, sizeof st->target, "%s %s", ash_target_type_names[c->target.type], c->target.name);
    if (!c->limit.set && !c->balloon.set && c->swap != 1) {
        /* enomem alone touches no cgroup: the service stays where it is. */
        if (enomem_start(st, err) < 0)
            goto fail;
        *state = st;
        return 0;
    }
    struct ash_target t;
    if (ash_ctx_target(ctx, &c->target, &t, err) < 0) {
        free(st);
        return -1;
    }
    struct ash_cgroup *own = ash_target_cgroup(&t);
    if (own && !(t.caps & ASH_CAP_LIMIT)) {
        /* The preflight refuses this (exit 3); checked again here, where the limit is made. */
        ash_error_class(err, ASH_ERR_ENVIRONMENT, EDEADLK,
                        "%s: aftershock itself runs in its memory cgroup (or one below it): a limit there would "
                        "limit the harness too",
                        st->target);
        ash_target_release(&t);
        goto fail;
    }
    if (own) {
        /* The target has a cgroup of its own (a sandbox host, a container, a process's
         * or a named cgroup): squeeze that one. */
        st->cg = *own;
        st->cg.n_procs_fd = 0;
        for (int i = 0; i < 4; i++)
            st->cg.procs_fd[i] = -1;
        st->ident = ash_target_identity(&t);
        ash_target_release(&t);
    } else if (c->target.type == ASH_TARGET_SERVICE) {
        if (setup_service_cgroup(st, &t, err) < 0) {
            ash_target_release(&t);
            goto fail;
        }
        ash_target_release(&t);
    } else {
        ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOENT, "%s has no cgroup aftershock can find", st->target);
        ash_target_release(&t);
        goto fail;
    }
    if (!ash_cgroup_memory_dir(&st->cg)[0]) {
        ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP, "%s has no memory cgroup (no memory controller)",
                        st->target);
        goto fail;
    }
    if (ctx->loop && ash_memwatch_open(ctx->loop, &st->cg, c->sample_every_ns,
                                       &(struct ash_memwatch_cbs){
                                           .oom = on_oom, .sample = on_sample, .failed = on_watch_failed, .arg = st},
                                       &st->watch, err) < 0)
        goto fail;
    if (c->limit.set) {
        char path[700], val[32];
        uint64_t bytes =
            c->limit.is_percent ? (uint64_t)((double)percent_base(&st->cg) * c->limit.fraction) : c->limit.bytes;
        ash_cgroup_memory_file(&st->cg, ASH_CG_MEM_LIMIT, path, sizeof path);
        snprintf(val, sizeof val, "%" PRIu64, bytes);
        if (save_and_write(st, path, val, err) < 0)
            goto fail;
    }
    if (c->swap == 1) {
        struct ash_cgroup_saved off;
        int r = ash_cgroup_swap_off(&st->cg, &off, err);
        if (r < 0)
            goto fail;
        if (r == 1) {
            ash_ctx_eventf(ctx, ash_now_ns(), "fault-note",
                           "%s: swap: off has no effect: %s is absent (no swap accounting in this kernel)", st->target,
                           off.file);
        } else if (save_and_write(st, off.file, off.value, err) < 0) {
            goto fail;
        }
    }
    if (c->enomem && enomem_start(st, err) < 0)
        goto fail;
    if (c->balloon.set) {
        st->balloon_size = c->balloon.size.is_percent
                               ? (uint64_t)((double)percent_base(&st->cg) * c->balloon.size.fraction)
                               : c->balloon.size.bytes;
        if (c->balloon.rate)
            parse_byte_rate(c->balloon.rate, &st->balloon_rate);
        if (!ctx->loop) {
            ash_error(err, EINVAL, "the balloon needs the run's event loop");
            goto fail;
        }
        if (ash_balloon_start(ctx->loop, &st->cg, st->balloon_size, st->balloon_rate,
                              &(struct ash_balloon_cbs){.full = balloon_full, .gone = balloon_gone, .arg = st},
                              &st->balloon, err) < 0)
            goto fail;
        st->balloon_t0 = ash_now_ns();
        json_t *d = json_pack("{s:i, s:I}", "pid", (int)ash_balloon_pid(st->balloon), "start",
                              (json_int_t)ash_balloon_start_time(st->balloon));
        int r = ash_journal_append(ctx->journal, "memory.balloon", d, &st->balloon_jid, err);
        json_decref(d);
        if (r < 0)
            goto fail;
    }
    st->injected = true;
    *state = st;
    return 0;
fail:;
    ash_error_t e2 = {0};
    if (mem_revert(ctx, f, st, &e2) < 0)
        mem_discard(st); /* its records stay pending for recover */
    return -1;
}

/* revert_limit: the old limit is back; raise it past that, as the fix did. Not
 * journaled: only a sandbox host's cgroup may get it (validated), and that cgroup is
 * removed with the run (or by recover, with the sandbox). */
static int raise_limit(struct mem_state *st, ash_error_t *err)
{
    char old[64] = "";
    uint64_t bytes = st->c->revert_limit.bytes;
    if (ash_cgroup_raise_memory(&st->cg, bytes, old, sizeof old, err) < 0)
        return -1;
    ash_ctx_eventf(st->ctx, ash_now_ns(), "memory-raised", "%s: limit %.1f MiB, beyond the %.1f MiB it had before",
                   st->target, (double)bytes / MIB, (double)strtoull(old, NULL, 10) / MIB);
    return 0;
}

static int mem_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    (void)f;
    struct mem_state *st = state;
    if (!st)
        return 0;
    int ret = 0;
    if (st->n_tags) {
        ash_seccomp_policy_remove(enomem_decide, st);
        ash_ctx_eventf(ctx, ash_now_ns(), "enomem-summary",
                       "%s: %" PRIu64 " anonymous mmap failed, %" PRIu64 " brk refused", st->target, st->enomem_mmap,
                       st->enomem_brk);
        st->n_tags = 0;
    }
    if (st->balloon) {
        ash_balloon_free(st->balloon);
        st->balloon = NULL;
    }
    if (st->balloon_jid)
        ash_journal_done(ctx->journal, st->balloon_jid, NULL);
    /* Newest first: swap limit before memory limit, so memsw >= limit holds on v1. */
    while (st->n_saved > 0) {
        struct saved_file *s = &st->saved[st->n_saved - 1];
        if (ash_cgroup_restore(&s->s, err) < 0) {
            ret = -1;
            break;
        }
        ash_journal_done(ctx->journal, s->jid, NULL);
        st->n_saved--;
    }
    if (ret == 0 && st->injected && st->c->revert_limit.set)
        ret = raise_limit(st, err);
    if (st->watch) {
        ash_memwatch_close(st->watch);
        st->watch = NULL;
    }
    if (ret == 0 && st->own_cg) {
        json_t *d = own_cg_record(st);
        ret = undo_own_cg(d, err);
        json_decref(d);
        if (ret == 0)
            ash_journal_done(ctx->journal, st->own_jid, NULL);
    }
    if (ret < 0)
        return ret; /* state kept: the engine retries revert, then discards it */
    json_decref(st->ident);
    free(st);
    return 0;
}

/* After a revert failed twice: what it could not undo is pending in the journal.
 * Everything with a loop registration or a process (enomem policy, balloon,
 * watch) is released before the first point a revert can fail. */
static void mem_discard(void *state)
{
    struct mem_state *st = state;
    if (!st)
        return;
    json_decref(st->ident);
    free(st);
}

static int undo_restore(json_t *rec, ash_error_t *err)
{
    const char *file = json_string_value(json_object_get(rec, "file"));
    const char *value = json_string_value(json_object_get(rec, "value"));
    struct ash_cgroup_saved s;
    if (!file || !value || snprintf(s.file, sizeof s.file, "%s", file) >= (int)sizeof s.file ||
        snprintf(s.value, sizeof s.value, "%s", value) >= (int)sizeof s.value)
        return ash_error(err, EINVAL, "memory.restore record without a file and value that fit");
    return ash_cgroup_restore(&s, err);
}

static int undo_balloon(json_t *rec, ash_error_t *err)
{
    pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "pid"));
    uint64_t start = (uint64_t)json_integer_value(json_object_get(rec, "start"));
    /* start 0 would skip the identity check: never kill a pid we cannot identify. */
    if (pid <= 0 || start == 0)
        return ash_error(err, EINVAL, "memory.balloon record without a pid and start time: not killing it");
    if (ash_proc_signal_checked(pid, start, SIGKILL) < 0 && errno != ESRCH)
        return ash_error(err, errno, "cannot kill balloon %d", (int)pid);
    return 0;
}

static const struct ash_undo_op mem_undo[] = {
    {"memory.restore", undo_restore, false, "restored {file} to {value}"},
    {"memory.balloon", undo_balloon, false, "killed the memory balloon (pid {pid}) if it still ran"},
    {"memory.own-cgroup", undo_own_cg, false,
     "moved pid {pid} back to its own cgroups and removed the fault's cgroup {cgroup}"},
    {NULL, NULL, false, NULL}};

static void fmt_size(char *buf, size_t len, const struct ash_size *z, const char *of)
{
    if (z->is_percent)
        snprintf(buf, len, "%.4g%% of %s", z->fraction * 100, of);
    else
        snprintf(buf, len, "%" PRIu64 " bytes (%.1f MiB)", z->bytes, (double)z->bytes / 1048576.0);
}

static int mem_describe(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out, ash_error_t *err)
{
    (void)err;
    const struct mem_conf *c = f->conf;
    const char *host = TARGET_HOST(c), *svc = TARGET_SERVICE(c);
    char rel[ASH_OBJNAME_MAX + 160], line[1536];
    int n;
    if (host) {
        struct ash_sandbox_names nm;
        ash_sandbox_names(d->run_id, 0, host, &nm);
        snprintf(rel, sizeof rel, "%s", nm.cgroup);
        n = snprintf(line, sizeof line, "host %s's cgroup %s:", host, rel);
    } else if (!svc) {
        /* A container, pod, process or named cgroup: the cgroup it is in, found
         * when the run resolves its targets (never moved). */
        snprintf(rel, sizeof rel, "<%s %s>", ash_target_type_names[c->target.type], c->target.name);
        n = snprintf(line, sizeof line, "%s %s's own cgroup (found at run start; shown here as %s):",
                     ash_target_type_names[c->target.type], c->target.name, rel);
    } else {
        const char *slash = strrchr(svc, '/');
        char own[ASH_OBJNAME_MAX + 1];
        ash_objname(own, d->run_id, slash ? slash + 1 : svc);
        snprintf(rel, sizeof rel, "%s", own);
        n = snprintf(line, sizeof line, "service %s moved into cgroup %s (moved back on revert):", svc, rel);
    }
    struct ash_cgroup_sys sys;
    struct ash_cgroup cg = {0};
    bool known = ash_cgroup_detect(NULL, &sys, NULL) == 0;
    if (known) {
        ash_cgroup_init(&cg, &sys, rel, false);
    } else { /* no cgroup file system here: named as on v2, relative */
        cg.mem_v2 = true;
        snprintf(cg.v2, sizeof cg.v2, "%s", rel);
    }
    const char *dir = ash_cgroup_memory_dir(&cg);
    if (svc && (c->limit.set || c->balloon.set || c->swap == 1)) {
        if (known && cg.v2[0])
            ash_describe_object(out, "cgroup", cg.v2, "root", "memory.own-cgroup", "made for service %s", svc);
        if (known && cg.memory[0])
            ash_describe_object(out, "cgroup", cg.memory, "root", "memory.own-cgroup", "made for service %s", svc);
    }
    if (c->limit.set) {
        char v[96], file[700];
        fmt_size(v, sizeof v, &c->limit, "the limit in effect (MemTotal when unlimited)");
        ash_cgroup_memory_file(&cg, ASH_CG_MEM_LIMIT, file, sizeof file);
        if (c->revert_limit.set) {
            /* raise_limit: the revert is the fix, so it does not leave the old value */
            char r[96];
            fmt_size(r, sizeof r, &c->revert_limit, "");
            ash_describe_object(out, "cgroup-file", file, "root", "memory.restore",
                                "%s (on revert: the old value restored, then raised to revert_limit %s)", v, r);
            n += snprintf(line + n, sizeof line - (size_t)n,
                          " %s = %s, set to revert_limit %s on revert (not the old value);", file, v, r);
        } else {
            ash_describe_object(out, "cgroup-file", file, "root", "memory.restore",
                                "%s (the old value restored on revert)", v);
            n += snprintf(line + n, sizeof line - (size_t)n, " %s = %s;", file, v);
        }
    } else if (c->revert_limit.set) {
        char r[96], file[700];
        fmt_size(r, sizeof r, &c->revert_limit, "");
        ash_cgroup_memory_file(&cg, ASH_CG_MEM_LIMIT, file, sizeof file);
        ash_describe_object(out, "cgroup-file", file, "root", NULL,
                            "raised to revert_limit %s on revert (removed with the host's cgroup)", r);
        n += snprintf(line + n, sizeof line - (size_t)n, " %s set to revert_limit %s on revert;", file, r);
    }
    if (c->swap == 1 && n > 0 && (size_t)n < sizeof line) {
        char file[700];
        ash_cgroup_memory_file(&cg, ASH_CG_MEM_SWAP, file, sizeof file);
        if (c->revert_limit.set && known && !cg.mem_v2)
            ash_describe_object(out, "cgroup-file", file, "root", "memory.restore",
                                "swap off (restored on revert, then raised to revert_limit if below it)");
        else
            ash_describe_object(out, "cgroup-file", file, "root", "memory.restore", "swap off (restored on revert)");
        n += snprintf(line + n, sizeof line - (size_t)n, " swap off (%s);", file);
    }
    if (c->balloon.set && n > 0 && (size_t)n < sizeof line) {
        char v[96];
        fmt_size(v, sizeof v, &c->balloon.size, "the limit");
        ash_describe_object(out, "process", "balloon", dir, "memory.balloon", "allocates and touches %s at %s", v,
                            c->balloon.rate ? c->balloon.rate : "full speed");
        n += snprintf(line + n, sizeof line - (size_t)n, " a balloon allocates %s at %s;", v,
                      c->balloon.rate ? c->balloon.rate : "full speed");
    }
    if (c->enomem && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " anonymous mmap and growing brk fail with ENOMEM (seccomp);");
    if (n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, " OOM kills and pressure sampled every %.0f ms",
                 (double)c->sample_every_ns / 1e6);
    json_object_set_new(out, "mechanism", json_string(line));
    return 0;
}

const struct ash_fault_kind ash_fault_memory = {
    .c = {.name = "memory-exhaustion",
          .summary = "shrink a cgroup's memory limit, turn swap off, run a balloon; OOM kills and pressure observed",
          .unavailable = mem_unavailable,
          .fields = mem_fields,
          .conf_size = sizeof(struct mem_conf),
          .defaults = mem_defaults,
          .validate = mem_validate},
    .inject = mem_inject,
    .revert = mem_revert,
    .discard = mem_discard,
    .undo_ops = mem_undo,
    .prepare = mem_prepare,
    .describe = mem_describe,
};
