/* Live targets: sandbox hosts and the run's services as ops tables; resolution of every
 * type and the checked operations. */
#include "env/target.h"
#include "sys/fs.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "sys/proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sandbox hosts ---- */

static int host_netns_fd(const struct ash_target *t)
{
    return ash_host_netns_fd(t->host);
}

static int host_run_in_netns(const struct ash_target *t, int (*fn)(void *), void *arg, ash_error_t *err)
{
    if (ash_host_run_in_netns(t->host, fn, arg) < 0)
        return ash_error(err, errno, "cannot enter the network namespace of host '%s'", t->name);
    return 0;
}

static struct ash_cgroup *host_cgroup(const struct ash_target *t)
{
    return ash_host_cgroup(t->host);
}

static int host_freeze(const struct ash_target *t, ash_error_t *err)
{
    return ash_host_freeze(t->host, err);
}

static int host_thaw(const struct ash_target *t, ash_error_t *err)
{
    return ash_host_thaw(t->host, err);
}

/* A host's processes, as far as signals go, are its services' main processes. */
static int host_procs(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err)
{
    *out = NULL;
    *n = 0;
    if (!t->env)
        return 0;
    size_t cap = 0;
    for (size_t i = 0;; i++) {
        struct ash_service *s = ash_env_service_at(t->env, i);
        if (!s)
            break;
        const char *host = ash_service_host(s);
        if (!host || strcmp(host, t->name) != 0 || !ash_service_running(s))
            continue;
        if (ash_grow(out, &cap, *n + 1, sizeof **out, 8) < 0) {
            free(*out);
            *out = NULL;
            return ash_error(err, ENOMEM, "target '%s'", t->name);
        }
        (*out)[(*n)++] = (struct ash_target_proc){ash_service_pid(s), ash_service_start_time(s)};
    }
    return 0;
}

static const struct ash_target_ops host_ops = {
    .netns_fd = host_netns_fd,
    .run_in_netns = host_run_in_netns,
    .cgroup = host_cgroup,
    .procs = host_procs,
    .freeze = host_freeze,
    .thaw = host_thaw,
};

/* ---- services the run starts ---- */

static int svc_procs(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err)
{
    *out = NULL;
    *n = 0;
    if (!ash_service_running(t->svc))
        return 0;
    if (!(*out = malloc(sizeof **out)))
        return ash_error(err, ENOMEM, "target '%s'", t->name);
    (*out)[0] = (struct ash_target_proc){ash_service_pid(t->svc), ash_service_start_time(t->svc)};
    *n = 1;
    return 0;
}

static int svc_restart(const struct ash_target *t, ash_error_t *err)
{
    if (ash_service_running(t->svc))
        return ash_service_restart(t->env, t->svc, err);
    return ash_service_start(t->env, t->svc, err);
}

static const struct ash_target_ops service_ops = {
    .procs = svc_procs,
    .restart = svc_restart,
};

/* ---- resolution and the checked operations ---- */

int ash_target_resolve(struct ash_sandbox *sb, struct ash_env *env, const struct ash_target_ref *ref,
                       struct ash_target *out, ash_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->type = ref->type;
    out->caps = ash_target_caps(ref->type);
    out->env = env;
    snprintf(out->name, sizeof out->name, "%s", ref->name ? ref->name : "");
    switch (ref->type) {
    case ASH_TARGET_HOST:
        out->ops = &host_ops;
        if (!sb || !(out->host = ash_sandbox_host(sb, out->name)))
            return ash_error(err, ESRCH, "no sandbox host named '%s' in this run", out->name);
        return 0;
    case ASH_TARGET_SERVICE:
        out->ops = &service_ops;
        if (!env || !(out->svc = ash_env_service(env, out->name)))
            return ash_error(err, ESRCH, "no service named '%s' in this run", out->name);
        return 0;
    case ASH_TARGET_CONTAINER:
    case ASH_TARGET_PROCESS:
    case ASH_TARGET_CGROUP:
    case ASH_TARGET_POD: {
        int r = ref->type == ASH_TARGET_CONTAINER ? ash_target_container_resolve(ref, out, err)
                : ref->type == ASH_TARGET_PROCESS ? ash_target_process_resolve(ref, out, err)
                : ref->type == ASH_TARGET_POD     ? ash_target_pod_resolve(ref, out, err)
                                                  : ash_target_cgroup_resolve(ref, out, err);
        if (r < 0)
            ash_target_release(out); /* a failed resolve holds nothing */
        return r;
    }
    }
    return ash_error(err, EINVAL, "target '%s' was not resolved by the scenario", out->name);
}

static const char *type_name(const struct ash_target *t)
{
    return t->type > ASH_TARGET_UNRESOLVED && t->type <= ASH_TARGET_TYPE_MAX ? ash_target_type_names[t->type]
                                                                             : "target";
}

void ash_target_release(struct ash_target *t)
{
    if (t && t->ops && t->ops->release)
        t->ops->release(t);
    if (t)
        t->impl = NULL;
}

/* One target now: resolved, and offering what the kind needs. */
static int check_one(const struct ash_target_ref *ref, unsigned needs, ash_target_visit_fn visit, void *arg,
                     ash_error_t *err)
{
    struct ash_target t;
    if (ash_target_resolve(NULL, NULL, ref, &t, err) < 0)
        return -1;
    unsigned missing = needs & ~t.caps;
    int ret = 0;
    if (missing) {
        unsigned cap = missing & -missing;
        const char *why = "";
        if (cap == ASH_CAP_NETNS)
            why = ": it is in the machine's own network namespace, and harming that harms every process";
        else if ((cap == ASH_CAP_CGROUP || cap == ASH_CAP_FREEZE) && !(t.caps & ASH_CAP_CGROUP) &&
                 (t.type == ASH_TARGET_CONTAINER || t.type == ASH_TARGET_POD))
            why = ": none of its cgroups is named after its id (a rootless engine on cgroup v1, such as rootless "
                  "Podman, leaves it in its user's cgroup, shared with that user's other processes); memory, "
                  "freeze and kill faults need a cgroup of its own";
        else if (cap == ASH_CAP_LIMIT)
            why = ": aftershock itself runs in its memory cgroup (or in one below it, or its own cgroup cannot be "
                  "read from /proc/self/cgroup, so it may), so a limit there would limit the harness too, and an OOM "
                  "kill could take it before it reverts; aim at a cgroup of the target's own (cgroup:PATH), or run "
                  "aftershock outside it";
        else if (cap == ASH_CAP_FREEZE && t.type == ASH_TARGET_PROCESS)
            why = ": its cgroup holds other processes than it and its descendants (or cannot be frozen); aim at "
                  "cgroup:PATH if that is meant";
        /* A container is named as the engine names it, with its id (a member of all: true
         * was resolved by its id alone). */
        json_t *ident = t.type == ASH_TARGET_CONTAINER ? ash_target_identity(&t) : NULL;
        const char *cname = json_string_value(json_object_get(ident, "container"));
        const char *cid = json_string_value(json_object_get(ident, "id"));
        char who[400];
        if (cname && cid)
            snprintf(who, sizeof who, "container '%s' (%.12s)", cname, cid);
        else
            snprintf(who, sizeof who, "%s '%s'", type_name(&t), t.name);
        json_decref(ident);
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "%s lacks %s here%s", who, ash_target_cap_name(cap), why);
    }
    if (ret == 0 && visit)
        ret = visit(&t, arg, err);
    ash_target_release(&t);
    return ret;
}

/* all: true: the fault is injected into every match, so every match is checked (checking
 * only the first let one that lacks what the fault needs fail half-way through the
 * injection, after the others were harmed). The refusal names the one. */
static int check_each(const struct ash_target_ref *ref, unsigned needs, ash_target_visit_fn visit, void *arg,
                      ash_error_t *err)
{
    char **ids;
    size_t n;
    if (ash_target_container_ids(ref, &ids, &n, err) < 0)
        return -1;
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        struct ash_target_ref one = *ref;
        one.all = false;
        one.name = ids[i];
        ash_error_t e = {0};
        if (check_one(&one, needs, visit, arg, &e) < 0) {
            ret = ash_error_class(err, e.klass, 0, "%s (%zu of the %zu running containers with %s)", e.msg, i + 1, n,
                                  ref->name);
            if (err)
                err->code = e.code;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return ret;
}

int ash_target_check_with(const struct ash_target_ref *ref, unsigned needs, ash_target_visit_fn visit, void *arg,
                          ash_error_t *err)
{
    if (ref->all && ref->type == ASH_TARGET_CONTAINER)
        return check_each(ref, needs, visit, arg, err);
    return check_one(ref, needs, visit, arg, err);
}

int ash_target_check(const struct ash_target_ref *ref, unsigned needs, ash_error_t *err)
{
    return ash_target_check_with(ref, needs, NULL, NULL, err);
}

const char *ash_target_identity_text(const json_t *ident, char *buf, size_t len)
{
    const char *type = json_string_value(json_object_get(ident, "type"));
    const char *name = json_string_value(json_object_get(ident, "name"));
    const char *cname = json_string_value(json_object_get(ident, "container"));
    const char *id = json_string_value(json_object_get(ident, "id"));
    json_t *pid = json_object_get(ident, "pid");
    type = type ? type : "target";
    if (id && strcmp(type, "container") == 0)
        snprintf(buf, len, "container %s (id %.12s)", cname ? cname : name ? name : "?", id);
    else if (id)
        snprintf(buf, len, "%s %s (id %.12s)", type, name ? name : "?", id);
    else if (json_is_integer(pid) && strcmp(type, "process") == 0 && !(name && strncmp(name, "pid=", 4) == 0))
        snprintf(buf, len, "process %s (pid %d)", name ? name : "?", (int)json_integer_value(pid));
    else
        snprintf(buf, len, "%s %s", type, name ? name : "?");
    return buf;
}

json_t *ash_target_identity(const struct ash_target *t)
{
    if (t->ops && t->ops->identity)
        return t->ops->identity(t);
    return json_pack("{s:s, s:s}", "type", type_name(t), "name", t->name);
}

const char *ash_target_describe(const struct ash_target *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s '%s'", type_name(t), t->name);
    return buf;
}

#define NOT_SUPPORTED(t, what) ash_error(err, ENOTSUP, "%s '%s' %s", type_name(t), (t)->name, what)

int ash_target_netns_fd(const struct ash_target *t)
{
    return t->ops && t->ops->netns_fd ? t->ops->netns_fd(t) : -1;
}

int ash_target_run_in_netns(const struct ash_target *t, int (*fn)(void *), void *arg, ash_error_t *err)
{
    if (!t->ops || !t->ops->run_in_netns)
        return NOT_SUPPORTED(t, "has no network namespace of its own");
    return t->ops->run_in_netns(t, fn, arg, err);
}

struct ash_cgroup *ash_target_cgroup(const struct ash_target *t)
{
    return t->ops && t->ops->cgroup ? t->ops->cgroup(t) : NULL;
}

int ash_target_procs(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err)
{
    if (!t->ops || !t->ops->procs)
        return NOT_SUPPORTED(t, "has no processes aftershock can reach");
    return t->ops->procs(t, out, n, err);
}

int ash_target_freeze(const struct ash_target *t, ash_error_t *err)
{
    if (!t->ops || !t->ops->freeze)
        return NOT_SUPPORTED(t, "cannot be frozen");
    return t->ops->freeze(t, err);
}

int ash_target_thaw(const struct ash_target *t, ash_error_t *err)
{
    if (!t->ops || !t->ops->thaw)
        return NOT_SUPPORTED(t, "cannot be thawed");
    return t->ops->thaw(t, err);
}

int ash_target_restart(const struct ash_target *t, ash_error_t *err)
{
    if (!t->ops || !t->ops->restart)
        return NOT_SUPPORTED(t, "cannot be started again");
    return t->ops->restart(t, err);
}

int ash_target_signal(const struct ash_target *t, int sig, ash_error_t *err)
{
    struct ash_target_proc *p;
    size_t n;
    if (ash_target_procs(t, &p, &n, err) < 0)
        return -1;
    int sent = 0, ret = 0;
    for (size_t i = 0; i < n; i++) {
        /* A process that is gone, or whose pid now belongs to another, is not signalled. */
        if (p[i].start == 0)
            continue;
        if (ash_proc_signal_checked(p[i].pid, p[i].start, sig) == 0)
            sent++;
        else if (errno != ESRCH && ret == 0)
            ret = ash_error(err, errno, "cannot signal pid %d of %s '%s'", (int)p[i].pid, type_name(t), t->name);
    }
    free(p);
    return ret < 0 ? -1 : sent;
}
