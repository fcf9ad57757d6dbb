/* Service supervisor: start in depends_on order, wait for ready, capture output
 * through a pseudo-terminal, restart per policy, stop in reverse order.
 *
 * Output goes through a pty rather than a pipe: C programs (and most runtimes)
 * line-buffer stdout on a terminal but block-buffer it on a pipe, and a log
 * detector reading a pipe would see lines late by up to a buffer's worth. The
 * pty is put in raw mode so bytes pass unchanged (no \r\n translation). */
#include "env/env.h"
#include "env/sandbox.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/proc.h"
#include "sys/seccomp_notify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define ASH_RUN_ENV "ASH_RUN_ID"

struct ash_service {
    const struct ash_service_spec *spec;
    struct ash_env *env;
    char **argv;
    struct ash_child child;
    bool running;
    bool hold;
    bool stopping;
    int ptm; /* pty master, -1 when closed */
    int logfd;
    char line[8192];
    size_t linelen;
    unsigned restarts;
    unsigned exits;        /* unplanned exits (not stop/restart by the harness) */
    char last_exit[64];    /* the newest one: "exited 1", "killed by SIGSEGV" */
    int64_t last_exit_ran; /* how long it had run then */
    int64_t started_at;
    ash_timer *restart_timer;
    struct ash_seccomp_listener *notify; /* spec->seccomp: the launcher's listener */
    bool as_user;                        /* spec->user: drop to uid/gid before exec */
    uid_t uid;
    gid_t gid;
};

struct ash_env {
    struct ash_env_opts o;
    struct ash_service *svcs;
    size_t n;
    size_t *order; /* dependency order: dependencies first */
    char run_env[96];
    bool journaled;
    uint64_t journal_id;
};

static void read_output(ash_loop *loop, int fd, uint32_t events, void *data);

/* Runs in the forked child, before exec (async-signal-safe only): join the
 * host's cgroups and namespaces, then drop to the service's user. Everything
 * it needs was looked up before the fork. */
struct child_setup {
    const struct ash_host *host;
    bool as_user;
    uid_t uid;
    gid_t gid;
};

static int setup_child(void *arg)
{
    const struct child_setup *c = arg;
    if (c->host && ash_host_enter(c->host) < 0)
        return -1;
    if (c->as_user && (setgroups(1, &c->gid) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0))
        return -1;
    return 0;
}

static void child_exited(ash_loop *loop, int fd, uint32_t events, void *data);

/* Where the demo services the bundled scenarios use were built: $ASH_SERVICES_DIR,
 * else services/ beside the running aftershock binary (any build directory),
 * else the README's build/services next to the scenarios. */
static const char *services_dir(const char *scenario_dir, char *buf, size_t len)
{
    const char *env = getenv("ASH_SERVICES_DIR");
    if (env && *env)
        return env;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, len, "%s/services", exe);
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    snprintf(buf, len, "%s/../build/services", scenario_dir ? scenario_dir : ".");
    return buf;
}

/* Placeholders the run defines once it knows their values ({run_id}, a webhook
 * detector's {webhook_url}): one run at a time per process, so one table. */
static struct {
    char *name, *value;
} run_vars[64];
static size_t n_run_vars;

int ash_env_define(const char *name, const char *value)
{
    for (size_t i = 0; i < n_run_vars; i++)
        if (strcmp(run_vars[i].name, name) == 0) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free(run_vars[i].value);
            run_vars[i].value = v;
            return 0;
        }
    if (n_run_vars == sizeof run_vars / sizeof *run_vars)
        return -1;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    run_vars[n_run_vars].name = n;
    run_vars[n_run_vars++].value = v;
    return 0;
}

void ash_env_undefine_all(void)
{
    for (size_t i = 0; i < n_run_vars; i++) {
        free(run_vars[i].name);
        free(run_vars[i].value);
    }
    n_run_vars = 0;
}

char *ash_env_substitute(const char *s, const char *scenario_dir, const char *run_dir)
{
    static const char *const keys[] = {"{scenario_dir}", "{run_dir}", "{services_dir}"};
    char svc[4200];
    const char *vals[] = {scenario_dir ? scenario_dir : ".", run_dir ? run_dir : ".",
                          strstr(s, "{services_dir}") ? services_dir(scenario_dir, svc, sizeof svc) : ""};
    size_t longest = 4300; /* a path of up to 4200 bytes */
    for (size_t i = 0; i < n_run_vars; i++)
        if (strlen(run_vars[i].value) > longest)
            longest = strlen(run_vars[i].value);
    size_t cap = strlen(s) + 1;
    for (const char *p = s; *p; p++)
        if (*p == '{')
            cap += longest;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    while (*s) {
        bool done = false;
        for (size_t k = 0; k < 3 && !done; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(s, keys[k], kl) == 0) {
                size_t vl = strlen(vals[k]);
                memcpy(o, vals[k], vl);
                o += vl;
                s += kl;
                done = true;
            }
        }
        for (size_t k = 0; *s == '{' && k < n_run_vars && !done; k++) {
            size_t kl = strlen(run_vars[k].name);
            if (strncmp(s + 1, run_vars[k].name, kl) == 0 && s[kl + 1] == '}') {
                size_t vl = strlen(run_vars[k].value);
                memcpy(o, run_vars[k].value, vl);
                o += vl;
                s += kl + 2;
                done = true;
            }
        }
        if (!done)
            *o++ = *s++;
    }
    *o = '\0';
    return out;
}

char **ash_env_argv(const struct ash_strlist *cmd, const char *scenario_dir, const char *run_dir)
{
    char **argv = calloc(cmd->n + 1, sizeof *argv);
    for (size_t i = 0; argv && i < cmd->n; i++)
        if (!(argv[i] = ash_env_substitute(cmd->v[i], scenario_dir, run_dir))) {
            ash_argv_free(argv);
            return NULL;
        }
    return argv;
}

void ash_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static void emit(struct ash_env *env, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emit(struct ash_env *env, const char *event, const char *fmt, ...)
{
    if (!env->o.hooks.event)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    env->o.hooks.event(env->o.hooks.arg, ash_now_ns(), event, buf);
}

/* Topological order over depends_on (the parser rejected cycles already). */
int ash_env_order(const struct ash_service_spec *const *specs, size_t n, size_t *order, ash_error_t *err)
{
    bool *placed = calloc(n ? n : 1, sizeof *placed);
    if (!placed)
        return ash_error(err, ENOMEM, "env");
    size_t k = 0;
    while (k < n) {
        bool progress = false;
        for (size_t i = 0; i < n; i++) {
            if (placed[i])
                continue;
            bool ready = true;
            const struct ash_strlist *deps = &specs[i]->depends_on;
            for (size_t d = 0; d < deps->n && ready; d++) {
                const char *dep = strchr(deps->v[d], '/') ? strchr(deps->v[d], '/') + 1 : deps->v[d];
                for (size_t j = 0; j < n; j++)
                    if (!placed[j] && strcmp(specs[j]->name, dep) == 0)
                        ready = false;
            }
            if (ready) {
                placed[i] = true;
                order[k++] = i;
                progress = true;
            }
        }
        if (!progress) {
            free(placed);
            return ash_error_class(err, ASH_ERR_USAGE, 0, "services depend on each other in a cycle");
        }
    }
    free(placed);
    return 0;
}

static int order_services(struct ash_env *env, ash_error_t *err)
{
    env->order = calloc(env->n ? env->n : 1, sizeof *env->order);
    const struct ash_service_spec **specs = calloc(env->n ? env->n : 1, sizeof *specs);
    if (!env->order || !specs) {
        free(specs);
        return ash_error(err, ENOMEM, "env");
    }
    for (size_t i = 0; i < env->n; i++)
        specs[i] = env->svcs[i].spec;
    int r = ash_env_order(specs, env->n, env->order, err);
    free(specs);
    return r;
}

/* `user:` is a name or a numeric uid; looked up here, before any fork. */
static int resolve_user(struct ash_service *s, ash_error_t *err)
{
    char buf[4096];
    struct passwd pw, *res = NULL;
    char *end;
    unsigned long id = strtoul(s->spec->user, &end, 10);
    int rc = *end == '\0' ? getpwuid_r((uid_t)id, &pw, buf, sizeof buf, &res)
                          : getpwnam_r(s->spec->user, &pw, buf, sizeof buf, &res);
    if (rc != 0 || !res)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, rc, "service '%s': no user '%s' on this machine",
                               s->spec->name, s->spec->user);
    if (geteuid() != 0 && pw.pw_uid != geteuid())
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EPERM, "service '%s': running as user '%s' needs root",
                               s->spec->name, s->spec->user);
    s->as_user = true;
    s->uid = pw.pw_uid;
    s->gid = pw.pw_gid;
    return 0;
}

int ash_env_new(const struct ash_env_opts *o, struct ash_env **out, ash_error_t *err)
{
    struct ash_env *env = calloc(1, sizeof *env);
    if (!env)
        return ash_error(err, ENOMEM, "env");
    env->o = *o;
    const struct ash_scenario *sc = o->scenario;
    size_t n = sc->n_services;
    for (size_t h = 0; h < sc->n_hosts; h++)
        n += sc->hosts[h].n_services;
    env->svcs = calloc(n ? n : 1, sizeof *env->svcs);
    if (!env->svcs) {
        free(env);
        return ash_error(err, ENOMEM, "env");
    }
    for (size_t i = 0; !o->node && i < sc->n_services; i++)
        env->svcs[env->n++].spec = &sc->services[i];
    /* Only the services of the hosts built on this machine (fleet.hosts). */
    for (size_t h = 0; h < sc->n_hosts; h++) {
        const char *node = sc->hosts[h].node;
        if (o->node ? !node || strcmp(node, o->node) != 0 : node != NULL)
            continue;
        for (size_t i = 0; i < sc->hosts[h].n_services; i++)
            env->svcs[env->n++].spec = &sc->hosts[h].services[i];
    }
    for (size_t i = 0; i < env->n; i++) {
        struct ash_service *s = &env->svcs[i];
        s->env = env;
        s->ptm = s->logfd = -1;
        s->child.pid = -1;
        s->child.pidfd = -1;
        if (!(s->argv = ash_env_argv(&s->spec->command, sc->dir, o->run_dir)))
            goto nomem;
        if (s->spec->user && resolve_user(s, err) < 0) {
            ash_env_free(env);
            return -1;
        }
    }
    if (!o->run_id || !*o->run_id) {
        ash_env_free(env);
        return ash_error(err, EINVAL, "env: no run id to tag the services with");
    }
    snprintf(env->run_env, sizeof env->run_env, ASH_RUN_ENV "=%s", o->run_id);
    if (order_services(env, err) < 0) {
        ash_env_free(env);
        return -1;
    }
    *out = env;
    return 0;
nomem:
    ash_env_free(env);
    return ash_error(err, ENOMEM, "env");
}

static int open_pty(int *master, int *slave, ash_error_t *err)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return ash_error(err, errno, "posix_openpt");
    if (grantpt(m) < 0 || unlockpt(m) < 0) {
        close(m);
        return ash_error(err, errno, "pty");
    }
    char name[64];
    if (ptsname_r(m, name, sizeof name) != 0) {
        close(m);
        return ash_error(err, errno, "ptsname");
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        close(m);
        return ash_error(err, errno, "open %s", name);
    }
    struct termios t;
    if (tcgetattr(s, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(s, TCSANOW, &t);
    }
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    *master = m;
    *slave = s;
    return 0;
}

static int spawn_service(struct ash_env *env, struct ash_service *s, ash_error_t *err)
{
    if (!env->journaled) {
        /* Every service carries the run id in its environment, and this record
         * is on disk before the first one starts: recover finds every process
         * of a dead run (and its descendants) by that variable. */
        json_t *d = json_pack("{s:s}", "env", env->run_env);
        int r = ash_journal_append(env->o.journal, "env.processes", d, &env->journal_id, err);
        json_decref(d);
        if (r < 0)
            return -1;
        env->journaled = true;
    }
    if (s->logfd < 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/logs", env->o.run_dir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/logs/%s.log", env->o.run_dir, s->spec->name);
        s->logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    int slave = -1;
    if (open_pty(&s->ptm, &slave, err) < 0)
        return ash_error_wrap(err, "service '%s'", s->spec->name);
    /* Substituted now, not when the run was set up: the run's placeholders
     * ({webhook_url} of a detector started since) are known by now. */
    char **argv = ash_env_argv(&s->spec->command, env->o.scenario->dir, env->o.run_dir);
    char **envv = ash_env_argv(&s->spec->env, env->o.scenario->dir, env->o.run_dir);
    if (!argv || !envv) {
        ash_argv_free(argv);
        ash_argv_free(envv);
        close(s->ptm);
        close(slave);
        s->ptm = -1;
        return ash_error(err, ENOMEM, "service '%s'", s->spec->name);
    }
    ash_argv_free(s->argv);
    s->argv = argv;
    char *extra[64];
    size_t ne = 0;
    extra[ne++] = env->run_env;
    for (size_t i = 0; i < s->spec->env.n && ne < 63; i++)
        extra[ne++] = envv[i];
    extra[ne] = NULL;
    const struct ash_host *host = NULL;
    if (s->spec->host) {
        host = env->o.sandbox ? ash_sandbox_host(env->o.sandbox, s->spec->host) : NULL;
        if (!host) {
            close(s->ptm);
            close(slave);
            s->ptm = -1;
            return ash_error(err, ENOENT, "service '%s': host '%s' does not exist", s->spec->name, s->spec->host);
        }
    }
    /* Targeted by a syscall fault: start through the seccomp launcher, which hands back its listener. */
    struct ash_seccomp_launch launch = {.parent_fd = -1, .child_fd = -1};
    if (s->spec->seccomp && ash_seccomp_launch_prepare(s->spec->seccomp_syscalls, s->argv, &launch, err) < 0) {
        close(s->ptm);
        close(slave);
        s->ptm = -1;
        return ash_error_wrap(err, "service '%s'", s->spec->name);
    }
    struct child_setup setup = {.host = host, .as_user = s->as_user, .uid = s->uid, .gid = s->gid};
    struct ash_spawn_opts o = {.argv = launch.argv ? launch.argv : s->argv,
                               .pre_exec = (host || s->as_user) ? setup_child : NULL,
                               .pre_exec_arg = &setup,
                               .envp_extra = extra,
                               .cwd = env->o.run_dir,
                               .stdin_fd = -1,
                               .stdout_fd = slave,
                               .stderr_fd = slave,
                               .new_pgroup = true};
    int r = ash_spawn(&o, &s->child, err);
    ash_argv_free(envv);
    close(slave);
    if (r == 0 && launch.argv &&
        ash_seccomp_launch_finish(&launch, env->o.loop, s->spec->name, 5 * ASH_NS_PER_S, &s->notify, err) < 0) {
        ash_child_terminate(&s->child, 0, true);
        ash_child_close(&s->child);
        r = -1;
    }
    ash_seccomp_launch_cleanup(&launch);
    if (r < 0) {
        close(s->ptm);
        s->ptm = -1;
        return ash_error_wrap(err, "service '%s'", s->spec->name);
    }
    s->running = true;
    s->stopping = false;
    s->started_at = ash_now_ns();
    s->linelen = 0;
    if (ash_loop_add_fd(env->o.loop, s->ptm, EPOLLIN, read_output, s, err) < 0 ||
        ash_loop_add_fd(env->o.loop, s->child.pidfd, EPOLLIN, child_exited, s, err) < 0)
        return -1;
    emit(env, "service-started", "%s pid %d", s->spec->name, (int)s->child.pid);
    return 0;
}

static void deliver_line(struct ash_service *s, int64_t t)
{
    s->line[s->linelen] = '\0';
    if (s->linelen && s->line[s->linelen - 1] == '\r')
        s->line[--s->linelen] = '\0';
    if (s->env->o.hooks.line)
        s->env->o.hooks.line(s->env->o.hooks.arg, s->spec->name, s->line, t);
    s->linelen = 0;
}

static void close_output(struct ash_service *s)
{
    if (s->ptm < 0)
        return;
    ash_loop_del_fd(s->env->o.loop, s->ptm);
    close(s->ptm);
    s->ptm = -1;
    if (s->linelen)
        deliver_line(s, ash_now_ns());
}

static void read_output(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_service *s = data;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        /* EIO: every slave fd closed (the service and its children exited). */
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            close_output(s);
        return;
    }
    int64_t t = ash_now_ns();
    if (s->logfd >= 0) {
        ssize_t w = write(s->logfd, buf, (size_t)n);
        (void)w;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            deliver_line(s, t);
        } else if (s->linelen < sizeof s->line - 1) {
            s->line[s->linelen++] = buf[i];
        } else {
            deliver_line(s, t); /* overlong line: deliver in pieces */
            s->line[s->linelen++] = buf[i];
        }
    }
}

static int64_t restart_due(ash_loop *loop, int64_t now, void *data)
{
    struct ash_service *s = data;
    s->restart_timer = NULL;
    ash_error_t err = {0};
    if (!s->running && !s->hold) {
        if (spawn_service(s->env, s, &err) < 0)
            emit(s->env, "service-restart-failed", "%s: %s", s->spec->name, err.msg);
        else
            emit(s->env, "service-restarted", "%s (restart %u)", s->spec->name, s->restarts);
    }
    return ASH_TIMER_DONE;
}

static void child_exited(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_service *s = data;
    int status = 0;
    if (!ash_child_reap(&s->child, &status))
        return;
    ash_loop_del_fd(loop, fd);
    ash_child_close(&s->child);
    ash_seccomp_listener_close(s->notify);
    s->notify = NULL;
    s->running = false;
    char how[64];
    ash_wait_status_str(status, how, sizeof how);
    if (s->stopping)
        return;
    s->exits++;
    snprintf(s->last_exit, sizeof s->last_exit, "%s", how);
    s->last_exit_ran = ash_now_ns() - s->started_at;
    emit(s->env, "service-exited", "%s %s", s->spec->name, how);
    bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bool again = s->spec->restart == ASH_RESTART_ALWAYS || (s->spec->restart == ASH_RESTART_ON_FAILURE && failed);
    if (!again || s->hold || s->restart_timer)
        return;
    /* Exponential backoff from 100 ms to 5 s; a service that ran 10 s resets it. */
    if (ash_now_ns() - s->started_at > 10 * ASH_NS_PER_S)
        s->restarts = 0;
    int64_t delay = 100 * ASH_NS_PER_MS << (s->restarts < 6 ? s->restarts : 6);
    if (delay > 5 * ASH_NS_PER_S)
        delay = 5 * ASH_NS_PER_S;
    s->restarts++;
    if (!(s->restart_timer = ash_loop_add_timer(loop, ash_now_ns() + delay, restart_due, s)))
        emit(s->env, "warning", "%s: out of memory arming its restart (restart: %s): it stays down", s->spec->name,
             s->spec->restart == ASH_RESTART_ALWAYS ? "always" : "on-failure");
}

/* ---- readiness ----
 * Checks are asynchronous and provided by the caller (the engine runs them as
 * one-off probe samples, from the service's host in sandbox mode), so waiting
 * for a service never blocks the loop: probes keep their schedule while a
 * remediation restarts a service. The check object outlives a wait that gave
 * up: its completion then only frees it. */

struct ready_check {
    struct ready_wait *w; /* NULL once the wait is over */
};

struct ready_wait {
    struct ash_service *s;
    struct ready_check *inflight;
    ash_timer *tick; /* NULL once the tick timer has finished itself */
    bool done;
    bool ok;
    bool last_asked; /* the service died before any check said why: one more was asked */
    char why[300];   /* the last failed check's reason */
};

static void ready_done(void *arg, bool ok, const char *why)
{
    struct ready_check *c = arg;
    struct ready_wait *w = c->w;
    free(c);
    if (!w)
        return;
    w->inflight = NULL;
    if (ok && w->s->running) /* a dead service is not ready, whoever answers */
        w->ok = w->done = true;
    else if (why && why[0])
        snprintf(w->why, sizeof w->why, "%s", why);
}

static int64_t ready_tick_once(struct ready_wait *w, int64_t now);

static int64_t ready_tick(ash_loop *loop, int64_t now, void *data)
{
    struct ready_wait *w = data;
    int64_t next = ready_tick_once(w, now);
    if (next == ASH_TIMER_DONE)
        w->tick = NULL;
    return next;
}

static int64_t ready_tick_once(struct ready_wait *w, int64_t now)
{
    if (w->done)
        return ASH_TIMER_DONE;
    const struct ash_env_hooks *h = &w->s->env->o.hooks;
    if (!w->s->running) {
        /* Died before a check could say why (it could not bind a port another
         * process holds): one last check names who answers there instead. */
        const struct ash_ready_spec *r = &w->s->spec->ready;
        if (!w->last_asked && !w->inflight && !w->why[0] && r->set && (r->tcp || r->http) && h->ready) {
            w->last_asked = true;
            struct ready_check *c = calloc(1, sizeof *c);
            if (c) {
                c->w = w;
                w->inflight = c;
                if (h->ready(h->ready_arg, w->s->spec, ready_done, c) == 0)
                    return now + 10 * ASH_NS_PER_MS;
                w->inflight = NULL;
                free(c);
            }
        }
        if (w->inflight)
            return now + 10 * ASH_NS_PER_MS;
        w->done = true;
        return ASH_TIMER_DONE;
    }
    if (!w->s->spec->ready.set || !h->ready) {
        w->ok = w->done = true; /* nothing to check: started is ready */
        return ASH_TIMER_DONE;
    }
    if (!w->inflight) {
        struct ready_check *c = calloc(1, sizeof *c);
        if (c) {
            c->w = w;
            w->inflight = c;
            if (h->ready(h->ready_arg, w->s->spec, ready_done, c) < 0) {
                w->inflight = NULL;
                free(c);
            }
        }
    }
    return w->done ? ASH_TIMER_DONE : now + 50 * ASH_NS_PER_MS;
}

static void log_tail(struct ash_service *s, char *buf, size_t len)
{
    buf[0] = '\0';
    char path[4096];
    snprintf(path, sizeof path, "%s/logs/%s.log", s->env->o.run_dir, s->spec->name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)(len - 1) ? size - (off_t)(len - 1) : 0;
    ssize_t n = pread(fd, buf, len - 1, from);
    close(fd);
    if (n > 0) {
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        /* Started mid-file: begin at a whole line, not mid-word. */
        char *nl = from > 0 ? strchr(buf, '\n') : NULL;
        if (nl)
            memmove(buf, nl + 1, strlen(nl + 1) + 1);
    }
}

static int wait_ready(struct ash_env *env, struct ash_service *s, ash_error_t *err)
{
    int64_t timeout = s->spec->ready.timeout_ns > 0 ? s->spec->ready.timeout_ns : 10 * ASH_NS_PER_S;
    struct ready_wait w = {.s = s};
    w.tick = ash_loop_add_timer(env->o.loop, ash_now_ns(), ready_tick, &w);
    if (!w.tick)
        return ash_error(err, ENOMEM, "timer");
    int64_t deadline = ash_now_ns() + timeout;
    int r = ash_loop_run_until(env->o.loop, &w.done, deadline, err);
    /* The check may have finished the wait between ticks: the timer lives on. */
    if (w.tick)
        ash_loop_cancel_timer(env->o.loop, w.tick);
    if (w.inflight)
        w.inflight->w = NULL; /* a check still running reports to nobody */
    if (r < 0)
        return -1;
    if (w.ok) {
        emit(env, "service-ready", "%s", s->spec->name);
        return 0;
    }
    char tail[512];
    log_tail(s, tail, sizeof tail);
    if (!s->running)
        return ash_error(err, 0, "service '%s' %s before it was ready%s%s%s%s", s->spec->name,
                         s->last_exit[0] ? s->last_exit : "exited", w.why[0] ? "; ready check: " : "", w.why,
                         tail[0] ? "; last output: " : "", tail);
    if (ash_loop_stopped(env->o.loop))
        return ash_error(err, EINTR, "interrupted while waiting for service '%s'", s->spec->name);
    return ash_error(err, ETIMEDOUT, "service '%s' not ready within %lld ms%s%s%s%s", s->spec->name,
                     (long long)(timeout / ASH_NS_PER_MS), w.why[0] ? "; ready check: " : "", w.why,
                     tail[0] ? "; last output: " : "", tail);
}

int ash_service_start(struct ash_env *env, struct ash_service *s, ash_error_t *err)
{
    if (s->running)
        return 0;
    if (s->restart_timer) {
        ash_loop_cancel_timer(env->o.loop, s->restart_timer);
        s->restart_timer = NULL;
    }
    if (spawn_service(env, s, err) < 0)
        return -1;
    return wait_ready(env, s, err);
}

int ash_env_start(struct ash_env *env, ash_error_t *err)
{
    for (size_t k = 0; k < env->n; k++) {
        struct ash_service *s = &env->svcs[env->order[k]];
        if (ash_service_start(env, s, err) < 0)
            return -1;
    }
    return 0;
}

int ash_env_check_alive(struct ash_env *env, ash_error_t *err)
{
    for (size_t k = 0; k < env->n; k++) {
        struct ash_service *s = &env->svcs[env->order[k]];
        if (s->running && s->exits == 0)
            continue;
        char tail[512];
        log_tail(s, tail, sizeof tail);
        if (s->exits == 0)
            return ash_error(err, 0, "service '%s' is not running", s->spec->name);
        return ash_error(err, 0, "service '%s' %s %lld ms after it started%s%s%s", s->spec->name, s->last_exit,
                         (long long)(s->last_exit_ran / ASH_NS_PER_MS), s->running ? " (restarted since)" : "",
                         tail[0] ? "; last output: " : "", tail);
    }
    return 0;
}

static void stop_service(struct ash_env *env, struct ash_service *s)
{
    if (s->restart_timer) {
        ash_loop_cancel_timer(env->o.loop, s->restart_timer);
        s->restart_timer = NULL;
    }
    if (!s->running && s->child.pid <= 0)
        return;
    s->stopping = true;
    if (s->child.pidfd >= 0)
        ash_loop_del_fd(env->o.loop, s->child.pidfd);
    ash_child_terminate(&s->child, 2 * ASH_NS_PER_S, true);
    ash_child_close(&s->child);
    ash_seccomp_listener_close(s->notify);
    s->notify = NULL;
    s->running = false;
    /* Drain what the service printed while stopping, then close the pty. */
    if (s->ptm >= 0)
        read_output(env->o.loop, s->ptm, EPOLLIN, s);
    close_output(s);
    emit(env, "service-stopped", "%s", s->spec->name);
}

int ash_service_restart(struct ash_env *env, struct ash_service *s, ash_error_t *err)
{
    stop_service(env, s);
    emit(env, "service-restarting", "%s", s->spec->name);
    return ash_service_start(env, s, err);
}

/* Kill whatever is left carrying this run's id (children a service forked off). */
static int kill_by_env(const char *needle, ash_error_t *err)
{
    DIR *d = opendir("/proc");
    if (!d)
        return ash_error(err, errno, "/proc");
    size_t nl = strlen(needle);
    struct dirent *de;
    pid_t self = getpid();
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 1 || pid == self)
            continue;
        /* The pidfd is taken before the environment is read: if the pid is
         * reused in between, the signals reach the old (gone) process, never
         * the new one whose environment was read. */
        int pfd = ash_pidfd_open((pid_t)pid);
        if (pfd < 0)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        static char buf[65536];
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
        if (fd >= 0)
            close(fd);
        if (n > 0)
            buf[n] = '\0';
        for (ssize_t off = 0; n > 0 && off < n;) {
            size_t len = strlen(buf + off);
            if (len == nl && memcmp(buf + off, needle, nl) == 0) {
                ash_pidfd_signal(pfd, SIGCONT);
                ash_pidfd_signal(pfd, SIGKILL);
                break;
            }
            off += (ssize_t)len + 1;
        }
        close(pfd);
    }
    closedir(d);
    return 0;
}

void ash_env_stop(struct ash_env *env)
{
    if (!env)
        return;
    for (size_t k = env->n; k-- > 0;)
        stop_service(env, &env->svcs[env->order[k]]);
    if (env->journaled && kill_by_env(env->run_env, NULL) == 0) {
        ash_journal_done(env->o.journal, env->journal_id, NULL);
        env->journaled = false;
    }
}

void ash_env_free(struct ash_env *env)
{
    if (!env)
        return;
    for (size_t i = 0; i < env->n; i++) {
        struct ash_service *s = &env->svcs[i];
        ash_argv_free(s->argv);
        if (s->logfd >= 0)
            close(s->logfd);
        if (s->ptm >= 0)
            close(s->ptm);
    }
    free(env->svcs);
    free(env->order);
    free(env);
}

struct ash_service *ash_env_service(struct ash_env *env, const char *name)
{
    if (!env || !name)
        return NULL;
    const char *slash = strchr(name, '/');
    const char *svc = slash ? slash + 1 : name;
    for (size_t i = 0; i < env->n; i++) {
        const struct ash_service_spec *sp = env->svcs[i].spec;
        if (strcmp(sp->name, svc) != 0)
            continue;
        if (slash &&
            (!sp->host || strncmp(sp->host, name, (size_t)(slash - name)) != 0 || sp->host[slash - name] != '\0'))
            continue;
        return &env->svcs[i];
    }
    return NULL;
}

void ash_env_mark_host_down(struct ash_env *env, const char *host)
{
    for (size_t i = 0; i < env->n; i++) {
        struct ash_service *s = &env->svcs[i];
        if (!s->spec->host || strcmp(s->spec->host, host) != 0)
            continue;
        s->hold = true; /* a dead host restarts nothing by itself */
        if (s->restart_timer) {
            ash_loop_cancel_timer(env->o.loop, s->restart_timer);
            s->restart_timer = NULL;
        }
    }
}

int ash_env_start_host_services(struct ash_env *env, const char *host, int order, ash_error_t *err)
{
    size_t idx[256], n = 0;
    for (size_t k = 0; k < env->n && n < 256; k++) {
        struct ash_service *s = &env->svcs[env->order[k]];
        if (s->spec->host && strcmp(s->spec->host, host) == 0)
            idx[n++] = env->order[k];
    }
    if (order == 1) {
        for (size_t i = 0; i < n / 2; i++) {
            size_t t = idx[i];
            idx[i] = idx[n - 1 - i];
            idx[n - 1 - i] = t;
        }
    } else if (order == 2) {
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)rand() % i, t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct ash_service *s = &env->svcs[idx[i]];
        s->hold = false;
        if (s->running) {
            /* Its processes were killed with the host: reap before starting again. */
            stop_service(env, s);
        }
        if (ash_service_start(env, s, err) < 0)
            return -1;
    }
    return 0;
}

const char *ash_service_name(const struct ash_service *s)
{
    return s->spec->name;
}
const char *ash_service_host(const struct ash_service *s)
{
    return s->spec->host;
}
struct ash_service *ash_env_service_at(struct ash_env *env, size_t i)
{
    return env && i < env->n ? &env->svcs[i] : NULL;
}
pid_t ash_service_pid(const struct ash_service *s)
{
    return s->running ? s->child.pid : -1;
}
uint64_t ash_service_start_time(const struct ash_service *s)
{
    return s->child.start;
}
bool ash_service_running(const struct ash_service *s)
{
    return s->running;
}
int ash_service_notify_fd(const struct ash_service *s)
{
    return ash_seccomp_listener_fd(s->notify);
}
void ash_service_hold(struct ash_service *s, bool hold)
{
    s->hold = hold;
}

static int undo_processes(json_t *rec, ash_error_t *err)
{
    const char *needle = json_string_value(json_object_get(rec, "env"));
    if (!needle || strncmp(needle, ASH_RUN_ENV "=", strlen(ASH_RUN_ENV) + 1) != 0)
        return ash_error(err, EINVAL, "env.processes record without a run id");
    return kill_by_env(needle, err);
}

const struct ash_undo_op ash_env_undo_ops[] = {
    {"env.processes", undo_processes, false, "killed the processes the run left (those with {env})"},
    {NULL, NULL, false, NULL}};
