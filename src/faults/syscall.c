/* Fault `syscall`: chosen syscalls of a service fail with an errno or are
 * delayed, with a probability and a path (or fd path) filter, only while the
 * fault is in effect. The service runs under the seccomp launcher (marked at
 * validation), whose filter notifies exactly the syscalls named by the
 * scenario's syscall faults; everything else runs at native speed. */
#include "env/env.h"
#include "kinds.h"
#include "sys/clock.h"
#include "sys/seccomp_notify.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sc_conf {
    struct ash_target_ref target; /* a service */
    struct ash_strlist syscalls;
    char *errno_name;
    int64_t delay_ns;
    double probability;
    char *path;
    char *fd_path;
};

static const struct ash_field sc_fields[] = {
    {"target", ASH_F_TARGET, offsetof(struct sc_conf, target), ASH_FIELD_REQUIRED,
     "service whose syscalls are hit (service:NAME; started under the seccomp launcher)", .needs = ASH_CAP_LAUNCHED},
    ASH_TARGET_OLD_SERVICE_FIELD(struct sc_conf, target),
    {"syscalls", ASH_F_STRLIST, offsetof(struct sc_conf, syscalls), ASH_FIELD_REQUIRED,
     "syscall names: [openat, write, fsync]; only these are filtered"},
    {"errno", ASH_F_STRING, offsetof(struct sc_conf, errno_name), 0,
     "fail with this errno: EIO | ENOSPC | ENOMEM | ECONNREFUSED | ..."},
    {"delay", ASH_F_DURATION, offsetof(struct sc_conf, delay_ns), 0, "delay the call this long, then let it run"},
    {"probability", ASH_F_PERCENT, offsetof(struct sc_conf, probability), 0,
     "share of matching calls hit, e.g. 10% (default 100%)"},
    {"path", ASH_F_STRING, offsetof(struct sc_conf, path), 0,
     "glob on the path argument (open, openat, unlink, stat, ...): only these calls are hit"},
    {"fd_path", ASH_F_STRING, offsetof(struct sc_conf, fd_path), 0,
     "glob on what the fd argument refers to (read, write, fsync, ...): /data/*.db"},
    {NULL}};

/* Which argument holds the path. */
static const struct {
    const char *name;
    int arg;
} path_args[] = {{"open", 0},     {"openat", 1},    {"openat2", 1},   {"creat", 0},      {"unlink", 0},
                 {"unlinkat", 1}, {"mkdir", 0},     {"mkdirat", 1},   {"rmdir", 0},      {"rename", 0},
                 {"renameat", 1}, {"renameat2", 1}, {"stat", 0},      {"lstat", 0},      {"newfstatat", 1},
                 {"statx", 1},    {"access", 0},    {"faccessat", 1}, {"faccessat2", 1}, {"truncate", 0},
                 {"chmod", 0},    {"chown", 0},     {"readlink", 0},  {"readlinkat", 1}, {"execve", 0},
                 {"link", 0},     {"symlink", 1},   {"chdir", 0},     {"statfs", 0}};
/* Syscalls whose first argument is a file descriptor. */
static const char *const fd_calls[] = {
    "read",    "write",     "pread64",   "pwrite64", "readv",     "writev",          "preadv",   "pwritev",
    "fsync",   "fdatasync", "ftruncate", "fstat",    "close",     "sendto",          "recvfrom", "sendmsg",
    "recvmsg", "connect",   "accept",    "accept4",  "fallocate", "sync_file_range", "lseek",    "getdents64",
    "fchmod",  "fchown",    "flock",     "fcntl",    "ioctl",     "splice",          NULL};

static int path_arg(const char *name)
{
    for (size_t i = 0; i < sizeof path_args / sizeof path_args[0]; i++)
        if (strcmp(path_args[i].name, name) == 0)
            return path_args[i].arg;
    return -1;
}

static bool is_fd_call(const char *name)
{
    for (size_t i = 0; fd_calls[i]; i++)
        if (strcmp(fd_calls[i], name) == 0)
            return true;
    return false;
}

static void sc_defaults(void *conf)
{
    struct sc_conf *c = conf;
    c->probability = 1.0;
    c->delay_ns = -1;
}

/* Add names to the service's launcher list (no duplicates). */
/* The target service starts under the seccomp launcher, its filter notifying these syscalls. */
static int sc_prepare(const void *conf, struct ash_prepare *p, ash_error_t *err)
{
    const struct sc_conf *c = conf;
    return ash_prepare_seccomp(p, &c->target, (const char *const *)c->syscalls.v, c->syscalls.n, err);
}

static int sc_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct sc_conf *c = conf;
    const struct ash_service_spec *s = ash_scenario_service(sc, c->target.name);
    if (!s)
        return ash_node_fail(node, err, "no service named '%s' in this scenario", c->target.name);
    ash_node list = ash_map_get(node, "syscalls");
    if (c->syscalls.n == 0)
        return ash_node_fail(&list, err, "name at least one syscall");
    for (size_t i = 0; i < c->syscalls.n; i++) {
        ash_node v = ash_seq_len(&list) > i ? ash_seq_at(&list, i) : list;
        if (ash_syscall_nr(c->syscalls.v[i]) < 0)
            return ash_node_fail(&v, err, "'%s' is not a syscall on this architecture", c->syscalls.v[i]);
        if (strcmp(c->syscalls.v[i], "sendmsg") == 0 || strcmp(c->syscalls.v[i], "exit_group") == 0)
            return ash_node_fail(&v, err, "'%s' cannot be filtered: the launcher needs it to hand over the filter",
                                 c->syscalls.v[i]);
        if (c->path && path_arg(c->syscalls.v[i]) < 0)
            return ash_node_fail(&v, err, "'path' needs path-taking syscalls; '%s' takes none (use 'fd_path'?)",
                                 c->syscalls.v[i]);
        if (c->fd_path && !is_fd_call(c->syscalls.v[i]))
            return ash_node_fail(&v, err,
                                 "'fd_path' needs syscalls whose first argument is a file descriptor; '%s' is not one",
                                 c->syscalls.v[i]);
    }
    if (!c->errno_name == (c->delay_ns < 0))
        return ash_node_fail(node, err, "give exactly one of 'errno' or 'delay'");
    if (c->errno_name && ash_errno_parse(c->errno_name) < 0) {
        ash_node v = ash_map_get(node, "errno");
        return ash_node_fail(&v, err, "'%s' is not an errno name this build knows (EIO, ENOSPC, ENOMEM, ...)",
                             c->errno_name);
    }
    if (c->path && c->fd_path)
        return ash_node_fail(node, err, "give 'path' or 'fd_path', not both");
    return 0;
}

/* A fault whose filter has matched no call this long gets a timeline warning. */
#define NO_EFFECT_AFTER_NS ASH_NS_PER_S

struct sc_state {
    struct ash_ctx *ctx;
    const struct sc_conf *c;
    const char *name;
    char *path, *fd_path; /* the globs with the run's placeholders ({run_dir}) substituted */
    ash_timer *quiet;
    int nrs[32];
    int pathargs[32];
    size_t n;
    int error;
    uint64_t rng;
    uint64_t matched, hit;
};

static uint64_t next_rand(struct sc_state *st)
{
    /* xorshift64*: a decision per notification must cost nothing. */
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * 0x2545F4914F6CDD1DULL;
}

static void decide(void *arg, const struct ash_seccomp_call *call, struct ash_seccomp_decision *d)
{
    struct sc_state *st = arg;
    size_t i;
    for (i = 0; i < st->n && st->nrs[i] != call->nr; i++)
        ;
    if (i == st->n)
        return;
    char buf[4096];
    if (st->path) {
        if (ash_seccomp_read_string(call, call->args[st->pathargs[i]], buf, sizeof buf) < 0 ||
            fnmatch(st->path, buf, 0) != 0)
            return;
    } else if (st->fd_path) {
        if (ash_seccomp_fd_path(call, (int)call->args[0], buf, sizeof buf) < 0 || fnmatch(st->fd_path, buf, 0) != 0)
            return;
    }
    st->matched++;
    if (st->c->probability < 1.0 && (double)(next_rand(st) >> 11) / 9007199254740992.0 >= st->c->probability)
        return;
    st->hit++;
    if (st->c->errno_name) {
        d->verdict = ASH_SC_ERRNO;
        d->error = st->error;
    } else {
        d->verdict = ASH_SC_DELAY;
        d->delay_ns = st->c->delay_ns;
    }
}

static const char *bare(const char *service)
{
    const char *slash = strchr(service, '/');
    return slash ? slash + 1 : service;
}

/* What the filter waits for, for messages: "openat on '/srv/db/x*'" (a glob). */
static void describe(const struct sc_state *st, char *buf, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < st->c->syscalls.n && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? "/" : "", st->c->syscalls.v[i]);
    if (k < len && (st->path || st->fd_path))
        snprintf(buf + k, len - k, " on %s'%s'", st->path ? "" : "an fd of ", st->path ? st->path : st->fd_path);
}

static int64_t quiet_check(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct sc_state *st = data;
    st->quiet = NULL;
    if (st->matched == 0 && st->ctx->event) {
        char what[300];
        describe(st, what, sizeof what);
        ash_ctx_eventf(st->ctx, now, "warning",
                       "%s: no call has matched in %.0f s (%s): the fault has had no effect so far", st->name,
                       (double)NO_EFFECT_AFTER_NS / 1e9, what);
    }
    return ASH_TIMER_DONE;
}

static void free_state(struct sc_state *st)
{
    free(st->path);
    free(st->fd_path);
    free(st);
}

static int sc_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    const struct sc_conf *c = f->conf;
    if (ash_seccomp_listeners(bare(c->target.name)) == 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH,
                               "service '%s' is not running under the seccomp launcher (not started, or exited)",
                               c->target.name);
    struct sc_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "syscall fault");
    st->ctx = ctx;
    st->c = c;
    st->name = f->name;
    const char *sdir = ctx->scenario ? ctx->scenario->dir : NULL;
    if ((c->path && !(st->path = ash_env_substitute(c->path, sdir, ctx->run_dir))) ||
        (c->fd_path && !(st->fd_path = ash_env_substitute(c->fd_path, sdir, ctx->run_dir)))) {
        free_state(st);
        return ash_error(err, ENOMEM, "syscall fault");
    }
    for (size_t i = 0; i < c->syscalls.n && st->n < 32; i++) {
        st->nrs[st->n] = ash_syscall_nr(c->syscalls.v[i]);
        st->pathargs[st->n] = path_arg(c->syscalls.v[i]) < 0 ? 0 : path_arg(c->syscalls.v[i]);
        st->n++;
    }
    st->error = c->errno_name ? ash_errno_parse(c->errno_name) : 0;
    st->rng = (uint64_t)ash_now_ns() | 1;
    if (ash_seccomp_policy_add(bare(c->target.name), decide, st, err) < 0) {
        free_state(st);
        return -1;
    }
    if (ctx->loop && !(st->quiet = ash_loop_add_timer(ctx->loop, ash_now_ns() + NO_EFFECT_AFTER_NS, quiet_check, st))) {
        ash_seccomp_policy_remove(decide, st);
        free_state(st);
        return ash_error(err, ENOMEM, "cannot arm the check that the fault matches a call");
    }
    *state = st;
    return 0;
}

static int sc_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    (void)err;
    struct sc_state *st = state;
    if (!st)
        return 0;
    /* Delayed calls still waiting are continued now. */
    ash_seccomp_policy_remove(decide, st);
    if (st->quiet && ctx && ctx->loop)
        ash_loop_cancel_timer(ctx->loop, st->quiet);
    if (ctx && ctx->event)
        ash_ctx_eventf(ctx, ash_now_ns(), "syscall-summary", "%s: %llu calls matched, %llu hit", f->name,
                       (unsigned long long)st->matched, (unsigned long long)st->hit);
    if (ctx && ctx->no_effect && st->hit == 0) {
        char what[300], why[400];
        describe(st, what, sizeof what);
        if (st->matched)
            snprintf(why, sizeof why, "%llu calls matched (%s) but none was hit (probability %g)",
                     (unsigned long long)st->matched, what, st->c->probability);
        else
            snprintf(why, sizeof why, "no call matched its filter (%s)", what);
        ctx->no_effect(ctx, f->name, why);
    }
    free_state(st);
    return 0;
}

static int sc_describe(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out, ash_error_t *err)
{
    (void)d;
    (void)err;
    const struct sc_conf *c = f->conf;
    char calls[256], line[640];
    ash_describe_join(calls, sizeof calls, &c->syscalls, ", ");
    int n = snprintf(line, sizeof line, "seccomp user notification on [%s] of service %s: ", calls, c->target.name);
    if (c->errno_name)
        n += snprintf(line + n, sizeof line - (size_t)n, "fail with %s", c->errno_name);
    if (c->delay_ns > 0)
        n += snprintf(line + n, sizeof line - (size_t)n, "%sdelay %.3f ms", c->errno_name ? ", " : "",
                      (double)c->delay_ns / 1e6);
    if (c->probability < 1.0)
        n += snprintf(line + n, sizeof line - (size_t)n, ", %.4g%% of calls", c->probability * 100);
    if (c->path)
        n += snprintf(line + n, sizeof line - (size_t)n, ", path %s", c->path);
    if (c->fd_path && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, ", fd path %s", c->fd_path);
    json_object_set_new(out, "mechanism", json_string(line));
    ash_describe_object(out, "seccomp-filter", c->target.name, "service", NULL,
                        "the service starts under aftershock's seccomp launcher, notifying [%s]", calls);
    return 0;
}

/* Nothing to undo after a crash: the filter dies with the service, and a dead
 * harness closes the listener, so pending calls fail with ENOSYS instead of hanging. */
static const struct ash_undo_op sc_undo[] = {{NULL, NULL}};

const struct ash_fault_kind ash_fault_syscall = {
    .c = {.name = "syscall",
          .summary = "a service's chosen syscalls fail with an errno or are delayed (seccomp user notification)",
          .fields = sc_fields,
          .conf_size = sizeof(struct sc_conf),
          .defaults = sc_defaults,
          .validate = sc_validate},
    .inject = sc_inject,
    .revert = sc_revert,
    .undo_ops = sc_undo,
    .prepare = sc_prepare,
    .describe = sc_describe,
};
