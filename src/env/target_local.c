/* Process and cgroup targets: an existing process (pid, pidfile, exe) or an existing
 * cgroup, resolved from /proc and the cgroup filesystem; plus the helpers every type
 * that selects what already runs shares (env/target_impl.h). */
#include "env/target_impl.h"
#include "sys/clock.h"
#include "sys/netns.h"
#include "sys/proc.h"
#include "sys/procsock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared helpers ---- */

int ash_target_open_netns(pid_t pid, int *fd, bool *own, ash_error_t *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    struct stat mine, theirs;
    if (stat("/proc/self/ns/net", &mine) < 0)
        return ash_error(err, errno, "cannot stat /proc/self/ns/net");
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 || fstat(*fd, &theirs) < 0) {
        int e = errno;
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return ash_error(err, e, "cannot open %s", path);
    }
    *own = theirs.st_ino != mine.st_ino || theirs.st_dev != mine.st_dev;
    return 0;
}

int ash_target_ns_run(int nsfd, const char *what, int (*fn)(void *), void *arg, ash_error_t *err)
{
    int r = ash_ns_run(nsfd, CLONE_NEWNET, fn, arg);
    if (r < 0 && errno)
        return ash_error(err, errno, "in the network namespace of '%s'", what);
    return r;
}

static int cmp_proc(const void *a, const void *b)
{
    const struct ash_target_proc *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

int ash_target_cgroup_procs(const struct ash_cgroup *cg, pid_t first, struct ash_target_proc **out, size_t *n,
                            ash_error_t *err)
{
    *out = NULL;
    *n = 0;
    pid_t *pids;
    size_t np;
    if (ash_cgroup_pids(cg, &pids, &np, err) < 0)
        return -1;
    if (np == 0) {
        free(pids);
        return 0;
    }
    struct ash_target_proc *p = calloc(np, sizeof *p);
    if (!p) {
        free(pids);
        return ash_error(err, ENOMEM, "target processes");
    }
    size_t k = 0;
    for (size_t i = 0; i < np; i++) {
        uint64_t st = ash_proc_start_time(pids[i]);
        if (st) /* gone since the list was read */
            p[k++] = (struct ash_target_proc){pids[i], st};
    }
    free(pids);
    qsort(p, k, sizeof *p, cmp_proc);
    /* The main process first: kinds that act on one process take the first. */
    for (size_t i = 0; first > 0 && i < k; i++)
        if (p[i].pid == first) {
            struct ash_target_proc m = p[i];
            memmove(p + 1, p, i * sizeof *p);
            p[0] = m;
            break;
        }
    *out = p;
    *n = k;
    return 0;
}

static bool member(const struct ash_cgroup *cg, pid_t pid)
{
    pid_t *pids;
    size_t n;
    if (ash_cgroup_pids(cg, &pids, &n, NULL) < 0)
        return false;
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = pids[i] == pid;
    free(pids);
    return found;
}

/* dir is at or above mine: freezing it freezes me. */
static bool contains(const char *dir, const char *mine)
{
    size_t l = strlen(dir);
    return l && mine[0] && strncmp(dir, mine, l) == 0 && (mine[l] == '/' || mine[l] == '\0');
}

int ash_target_check_not_self(const struct ash_cgroup *cg, const char *what, ash_error_t *err)
{
    /* The harness's own cgroup, or one below the target's: a freeze reaches every
     * descendant cgroup too. */
    struct ash_cgroup_sys sys;
    struct ash_cgroup self;
    bool below = false;
    if (ash_cgroup_detect(NULL, &sys, NULL) == 0 && ash_cgroup_of_pid(&self, &sys, getpid(), NULL) == 0)
        below = cg->v2[0] ? contains(cg->v2, self.v2) : contains(cg->freezer, self.freezer);
    if (below || member(cg, getpid()))
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EDEADLK,
                               "'%s': aftershock itself runs in its cgroup (%s): freezing it would freeze the "
                               "harness, which could then never thaw it",
                               what, cg->v2[0] ? cg->v2 : cg->freezer);
    return 0;
}

bool ash_target_memory_holds_self(const struct ash_cgroup *cg)
{
    struct ash_cgroup_sys sys;
    struct ash_cgroup self;
    /* Where aftershock's own cgroup cannot be read, it may be this one: no limit. */
    if (ash_cgroup_detect(NULL, &sys, NULL) < 0 || ash_cgroup_of_pid(&self, &sys, getpid(), NULL) < 0)
        return true;
    const char *dir = ash_cgroup_memory_dir(cg), *mine = ash_cgroup_memory_dir(&self);
    return contains(dir, mine);
}

/* ---- processes ---- */

struct process {
    pid_t pid;
    uint64_t start;
    int nsfd;
    bool own_netns;
    struct ash_cgroup cg;
    bool has_cg;
};

static struct process *P(const struct ash_target *t)
{
    return t->impl;
}

static int proc_netns_fd(const struct ash_target *t)
{
    return P(t)->own_netns ? P(t)->nsfd : -1;
}

static int proc_run_in_netns(const struct ash_target *t, int (*fn)(void *), void *arg, ash_error_t *err)
{
    if (!P(t)->own_netns)
        return ash_error(err, ENOTSUP,
                         "process '%s' is in the machine's own network namespace: harming it would harm every "
                         "process of the machine",
                         t->name);
    return ash_target_ns_run(P(t)->nsfd, t->name, fn, arg, err);
}

static struct ash_cgroup *proc_cgroup(const struct ash_target *t)
{
    return P(t)->has_cg ? &P(t)->cg : NULL;
}

/* Just the process: its children are its own business, as in production (a signal to a
 * master process is what a supervisor would send). */
static int proc_procs(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err)
{
    *out = NULL;
    *n = 0;
    if (ash_proc_start_time(P(t)->pid) != P(t)->start)
        return 0; /* gone, or its pid reused */
    if (!(*out = malloc(sizeof **out)))
        return ash_error(err, ENOMEM, "process '%s'", t->name);
    (*out)[0] = (struct ash_target_proc){P(t)->pid, P(t)->start};
    *n = 1;
    return 0;
}

/* The freezable cgroup of p holds nothing but p and its descendants (*other: the
 * first pid that is not, 0 when none could be read). */
static bool tree_only(const struct process *p, pid_t *other, const char **dir)
{
    const char *d = p->cg.v2[0] ? p->cg.v2 : p->cg.freezer;
    if (dir)
        *dir = d;
    if (other)
        *other = 0;
    if (!d[0])
        return false;
    pid_t *pids;
    size_t n;
    if (ash_cgroup_pids(&p->cg, &pids, &n, NULL) < 0)
        return false;
    bool ok = n > 0;
    for (size_t i = 0; i < n && ok; i++)
        if (!ash_proc_in_tree(pids[i], p->pid)) {
            ok = false;
            if (other)
                *other = pids[i];
        }
    free(pids);
    return ok;
}

/* A freeze hits the whole cgroup: only when the cgroup holds nothing but this process
 * and its descendants, or it would hang whatever else shares it. Checked again here:
 * the cgroup may have gained members since it was resolved. */
static int proc_freeze(const struct ash_target *t, ash_error_t *err)
{
    struct process *p = P(t);
    if (!p->has_cg || (!p->cg.v2[0] && !p->cg.freezer[0]))
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP, "process '%s' has no cgroup aftershock can freeze",
                               t->name);
    pid_t other;
    const char *dir;
    if (!tree_only(p, &other, &dir))
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EPERM,
                               "process '%s' (pid %d): its cgroup %s also holds pid %d, which is not its "
                               "descendant: freezing it would hang that too; aim at cgroup:PATH if meant",
                               t->name, (int)p->pid, dir, (int)other);
    if (ash_target_check_not_self(&p->cg, t->name, err) < 0)
        return -1;
    return ash_cgroup_freeze(&p->cg, 5 * ASH_NS_PER_S, err);
}

static int proc_thaw(const struct ash_target *t, ash_error_t *err)
{
    return P(t)->has_cg ? ash_cgroup_thaw(&P(t)->cg, err) : 0;
}

static json_t *proc_identity(const struct ash_target *t)
{
    return json_pack("{s:s, s:s, s:i, s:I}", "type", "process", "name", t->name, "pid", (int)P(t)->pid, "start",
                     (json_int_t)P(t)->start);
}

static void proc_release(struct ash_target *t)
{
    struct process *p = P(t);
    if (!p)
        return;
    if (p->nsfd >= 0)
        close(p->nsfd);
    free(p);
    t->impl = NULL;
}

static const struct ash_target_ops process_ops = {
    .netns_fd = proc_netns_fd,
    .run_in_netns = proc_run_in_netns,
    .cgroup = proc_cgroup,
    .procs = proc_procs,
    .freeze = proc_freeze,
    .thaw = proc_thaw,
    .identity = proc_identity,
    .release = proc_release,
};

/* process:exe=PATH: the one process whose /proc/PID/exe is PATH. */
static int find_exe(const char *exe, const char *name, pid_t *out, ash_error_t *err)
{
    DIR *d = opendir("/proc");
    if (!d)
        return ash_error(err, errno, "cannot list /proc");
    pid_t found[8];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == getpid())
            continue;
        char link[64], target[4096];
        snprintf(link, sizeof link, "/proc/%ld/exe", pid);
        ssize_t l = readlink(link, target, sizeof target - 1);
        if (l <= 0)
            continue; /* kernel threads, or gone */
        target[l] = '\0';
        if (strcmp(target, exe) == 0) {
            if (n < sizeof found / sizeof found[0])
                found[n] = (pid_t)pid;
            n++;
        }
    }
    closedir(d);
    if (n == 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH, "process '%s': no process runs %s", name, exe);
    if (n > 1) {
        char list[200] = "";
        size_t off = 0;
        for (size_t i = 0; i < n && i < sizeof found / sizeof found[0]; i++) {
            int w = snprintf(list + off, sizeof list - off, "%s%d", i ? ", " : "", (int)found[i]);
            off += w > 0 && (size_t)w < sizeof list - off ? (size_t)w : 0;
        }
        return ash_error_class(err, ASH_ERR_USAGE, 0, /* no errno: "File exists" told nothing */
                               "process '%s': %zu processes run %s (pids %s%s); name one with process:pid=N or "
                               "process:pidfile=PATH",
                               name, n, exe, list, n > sizeof found / sizeof found[0] ? ", ..." : "");
    }
    *out = found[0];
    return 0;
}

int ash_target_process_resolve(const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err)
{
    (void)ref;
    enum ash_proc_sel sel;
    const char *v;
    if (ash_target_proc_selector(out->name, &sel, &v) < 0)
        return ash_error(err, EINVAL, "process '%s': not a process selector", out->name);
    pid_t pid = 0;
    switch (sel) {
    case ASH_PSEL_PID:
        pid = (pid_t)atoi(v);
        break;
    case ASH_PSEL_PIDFILE: {
        FILE *f = fopen(v, "re");
        int x = 0;
        if (!f)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, errno, "process '%s': cannot read the pidfile %s",
                                   out->name, v);
        int ok = fscanf(f, "%d", &x);
        fclose(f);
        if (ok != 1 || x <= 1)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, EINVAL, "process '%s': %s holds no pid", out->name, v);
        pid = (pid_t)x;
        break;
    }
    case ASH_PSEL_EXE:
        if (find_exe(v, out->name, &pid, err) < 0)
            return -1;
        break;
    }
    if (pid <= 1 || pid == getpid())
        return ash_error_class(err, ASH_ERR_USAGE, EPERM, "process '%s' (pid %d): aftershock does not harm %s",
                               out->name, (int)pid, pid == getpid() ? "itself" : "the machine's init");
    struct process *p = calloc(1, sizeof *p);
    if (!p)
        return ash_error(err, ENOMEM, "process '%s'", out->name);
    p->nsfd = -1;
    p->pid = pid;
    out->impl = p;
    out->ops = &process_ops;
    if ((p->start = ash_proc_start_time(pid)) == 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH, "process '%s': no process %d", out->name, (int)pid);
    if (ash_target_open_netns(pid, &p->nsfd, &p->own_netns, err) < 0)
        return ash_error_wrap(err, "process '%s'", out->name);
    if (!p->own_netns)
        out->caps &= ~ASH_CAP_NETNS;
    struct ash_cgroup_sys sys;
    ash_error_t e2 = {0};
    p->has_cg = ash_cgroup_detect(NULL, &sys, &e2) == 0 && ash_cgroup_of_pid(&p->cg, &sys, pid, &e2) == 0;
    if (!p->has_cg)
        out->caps &= ~(ASH_CAP_CGROUP | ASH_CAP_LIMIT);
    else if (ash_target_memory_holds_self(&p->cg))
        out->caps &= ~ASH_CAP_LIMIT;
    /* On a hybrid machine freeze through v2 (as ash_cgroup_init does); the v1 freezer
     * only without it. */
    if (p->cg.v2[0])
        p->cg.freezer[0] = '\0';
    if (!p->has_cg || !tree_only(p, NULL, NULL))
        out->caps &= ~ASH_CAP_FREEZE;
    return 0;
}

/* ---- cgroups ---- */

struct cgroup_target {
    struct ash_cgroup cg;
};

static struct ash_cgroup *CG(const struct ash_target *t)
{
    return &((struct cgroup_target *)t->impl)->cg;
}

static struct ash_cgroup *cg_cgroup(const struct ash_target *t)
{
    return CG(t);
}

static int cg_procs(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err)
{
    return ash_target_cgroup_procs(CG(t), 0, out, n, err);
}

static int cg_freeze(const struct ash_target *t, ash_error_t *err)
{
    if (!CG(t)->v2[0] && !CG(t)->freezer[0])
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                               "cgroup '%s' is in no hierarchy that can freeze (cgroup v2 or the v1 freezer)", t->name);
    if (ash_target_check_not_self(CG(t), t->name, err) < 0)
        return -1;
    return ash_cgroup_freeze(CG(t), 5 * ASH_NS_PER_S, err);
}

static int cg_thaw(const struct ash_target *t, ash_error_t *err)
{
    return ash_cgroup_thaw(CG(t), err);
}

static void cg_release(struct ash_target *t)
{
    free(t->impl);
    t->impl = NULL;
}

static json_t *cg_identity(const struct ash_target *t)
{
    return json_pack("{s:s, s:s, s:o}", "type", "cgroup", "name", t->name, "cgroup", ash_cgroup_to_json(CG(t)));
}

static const struct ash_target_ops cgroup_ops = {
    .cgroup = cg_cgroup,
    .procs = cg_procs,
    .freeze = cg_freeze,
    .thaw = cg_thaw,
    .identity = cg_identity,
    .release = cg_release,
};

int ash_target_cgroup_resolve(const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err)
{
    (void)ref;
    struct cgroup_target *c = calloc(1, sizeof *c);
    if (!c)
        return ash_error(err, ENOMEM, "cgroup '%s'", out->name);
    out->impl = c;
    out->ops = &cgroup_ops;
    const char *rel = out->name;
    while (*rel == '/')
        rel++;
    struct ash_cgroup_sys sys;
    if (ash_cgroup_detect(NULL, &sys, err) < 0)
        return -1;
    if (ash_cgroup_existing(&c->cg, &sys, rel, err) < 0) {
        if (err)
            err->klass = ASH_ERR_ENVIRONMENT;
        return ash_error_wrap(err, "cgroup '%s'", out->name);
    }
    /* On a hybrid machine v2 and the v1 freezer may both have it: freeze through v2 (as
     * ash_cgroup_init does) unless only the v1 freezer has it. */
    if (c->cg.v2[0])
        c->cg.freezer[0] = '\0';
    if (!c->cg.v2[0] && !c->cg.freezer[0])
        out->caps &= ~ASH_CAP_FREEZE;
    if (ash_target_memory_holds_self(&c->cg))
        out->caps &= ~ASH_CAP_LIMIT;
    return 0;
}
