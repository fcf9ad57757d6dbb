/* Container targets: a Docker (or Podman) container, resolved through the engine's API
 * to its init process, network namespace and cgroup; restarted through the API. */
#include "env/docker.h"
#include "env/target_impl.h"
#include "scenario/node.h"
#include "sys/clock.h"
#include "sys/proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct container {
    struct ash_target_pin pinned; /* first: the shared operations (ash_pin_*) see it as the impl */
    struct ash_docker *docker;
    char id[80];
    char name[256]; /* the engine's, without its leading '/' */
    char ip[64];    /* the first network's IPAddress ("" when none) */
    int64_t memory; /* HostConfig.Memory (0: no limit set by the engine) */
};

/* A dir is the container's own when its path names the container's id: cgroupfs
 * (docker/<id>), systemd (docker-<id>.scope), podman (libpod-<id>). On a hybrid machine
 * the v2 line is often its runtime's cgroup (or the machine's root): freezing that would
 * freeze dockerd, or everything, so such a hierarchy is dropped. */
static void keep_own(char *dir, const char *id)
{
    if (dir[0] && !strstr(dir, id))
        dir[0] = '\0';
}

/* A name the engine does not know: what does run, and the one that was probably meant
 * (the engine's "404 No such container" tells the user nothing to do). */
static int not_found(struct ash_docker *d, const char *name, ash_error_t *err)
{
    json_t *list = NULL;
    ash_error_t e = {0};
    char running[600] = "";
    const char *near = NULL;
    const char *names[64] = {0};
    size_t n = 0;
    if (ash_docker_call(d, "GET", "/containers/json", NULL, &list, &e) == 0) {
        size_t off = 0, i;
        json_t *one;
        json_array_foreach(list, i, one)
        {
            const char *nm = json_string_value(json_array_get(json_object_get(one, "Names"), 0));
            if (!nm)
                continue;
            nm += nm[0] == '/';
            if (n < sizeof names / sizeof *names - 1)
                names[n++] = nm;
            int w =
                off < sizeof running ? snprintf(running + off, sizeof running - off, "%s%s", off ? ", " : "", nm) : 0;
            off += w > 0 ? (size_t)w : 0;
        }
        near = ash_nearest_word(name, names, NULL);
    }
    /* Said in full: the errno's text ("No such process") would only blur it. */
    int ret;
    if (near)
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "no container named '%s' (running: %s; did you mean '%s'?)",
                              name, running, near);
    else if (running[0])
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "no container named '%s' (running: %s)", name, running);
    else
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "no container named '%s' (%s)", name,
                              list ? "no container is running" : e.msg);
    if (err)
        err->code = ESRCH;
    json_decref(list);
    return ret;
}

static int inspect(const struct ash_target *t, struct container *c, const char *ref, ash_error_t *err)
{
    char path[400];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/containers/%s/json", ref);
    ash_error_t e = {0};
    if (ash_docker_call(c->docker, "GET", path, NULL, &j, &e) < 0) {
        if (e.code == ENOENT)
            return not_found(c->docker, ref, err);
        if (err)
            *err = e;
        return ash_error_wrap(err, "container '%s'", t->name);
    }
    const char *id = json_string_value(json_object_get(j, "Id"));
    const char *name = json_string_value(json_object_get(j, "Name"));
    json_t *state = json_object_get(j, "State");
    json_t *hc = json_object_get(j, "HostConfig");
    int ret = 0;
    if (!id || strlen(id) >= sizeof c->id || !json_is_object(state)) {
        ret = ash_error(err, EPROTO, "container '%s': the engine's answer has no Id or State", t->name);
        goto out;
    }
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->name, sizeof c->name, "%s", name ? (name[0] == '/' ? name + 1 : name) : id);
    if (!json_is_true(json_object_get(state, "Running"))) {
        const char *st = json_string_value(json_object_get(state, "Status"));
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH, "container '%s' is not running (%s)", t->name,
                              st ? st : "stopped");
        goto out;
    }
    if (json_is_true(json_object_get(state, "Paused"))) {
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, EBUSY,
                              "container '%s' is paused (docker pause): its cgroup is frozen by the engine", t->name);
        goto out;
    }
    c->pinned.pid = (pid_t)json_integer_value(json_object_get(state, "Pid"));
    c->memory = (int64_t)json_integer_value(json_object_get(hc, "Memory"));
    c->ip[0] = '\0';
    const char *key;
    json_t *net;
    json_object_foreach(json_object_get(json_object_get(j, "NetworkSettings"), "Networks"), key, net)
    {
        const char *ip = json_string_value(json_object_get(net, "IPAddress"));
        if (ip && *ip && !c->ip[0])
            snprintf(c->ip, sizeof c->ip, "%s", ip);
    }
    if (c->pinned.pid <= 1) {
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH,
                              "container '%s': the engine reports no init pid (is it in another pid namespace?)",
                              t->name);
        goto out;
    }
out:
    json_decref(j);
    return ret;
}

/* Pin what the init pid leads to: its start time, network namespace and cgroup. */
static int pin(const struct ash_target *t, unsigned *caps, struct container *c, ash_error_t *err)
{
    char what[300];
    snprintf(what, sizeof what, "container '%s'", t->name);
    return ash_target_pin_init(what, c->id, &c->pinned, caps, err);
}

int ash_target_pin_init(const char *what, const char *id, struct ash_target_pin *p, unsigned *caps, ash_error_t *err)
{
    pid_t pid = p->pid;
    if ((p->start = ash_proc_start_time(pid)) == 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH,
                               "%s: its init (pid %d) is not visible here (another pid namespace?)", what, (int)pid);
    if (p->nsfd >= 0)
        close(p->nsfd);
    p->nsfd = -1;
    if (ash_target_open_netns(pid, &p->nsfd, &p->own_netns, err) < 0)
        return ash_error_wrap(err, "%s", what);
    if (p->own_netns)
        *caps |= ASH_CAP_NETNS;
    else
        *caps &= ~ASH_CAP_NETNS; /* --network host: its network is the machine's */
    struct ash_cgroup_sys sys;
    if (ash_cgroup_detect(NULL, &sys, err) < 0 || ash_cgroup_of_pid(&p->cg, &sys, pid, err) < 0)
        return ash_error_wrap(err, "%s", what);
    keep_own(p->cg.v2, id);
    keep_own(p->cg.memory, id);
    keep_own(p->cg.cpu, id);
    keep_own(p->cg.freezer, id);
    p->cg.mem_v2 = p->cg.mem_v2 && p->cg.v2[0];
    p->cg.cpu_v2 = p->cg.cpu_v2 && p->cg.v2[0];
    p->no_cgroup = !p->cg.v2[0] && !p->cg.memory[0] && !p->cg.freezer[0];
    if (p->no_cgroup) {
        /* Rootless Podman on cgroup v1 (no delegation) leaves the container in its user's
         * cgroup, shared with whatever else that user runs: nothing there is the
         * container's to limit, freeze or kill. What is its own stays: its init (pid and
         * start time) and its network namespace, so process, network and dns faults work
         * and the others are refused at preflight (ash_target_check says why). */
        *caps &= ~(ASH_CAP_CGROUP | ASH_CAP_FREEZE);
        return 0;
    }
    /* Freezing needs a hierarchy of its own that can freeze. */
    if (!p->cg.v2[0] && !p->cg.freezer[0])
        *caps &= ~ASH_CAP_FREEZE;
    /* aftershock inside the container it harms (an agent's own task, a shell exec'd
     * into it): a memory limit there would limit the harness too. */
    if (ash_target_memory_holds_self(&p->cg))
        *caps &= ~ASH_CAP_LIMIT;
    return 0;
}

bool ash_target_labels_match(const json_t *labels, const char *selector)
{
    for (const char *t = selector; t && *t;) {
        const char *comma = strchr(t, ',');
        size_t n = comma ? (size_t)(comma - t) : strlen(t);
        const char *eq = memchr(t, '=', n);
        size_t kn = eq ? (size_t)(eq - t) : n;
        char key[512];
        if (kn >= sizeof key)
            return false;
        memcpy(key, t, kn);
        key[kn] = '\0';
        const char *have = json_string_value(json_object_get(labels, key));
        if (!have || (eq && (strlen(have) != n - kn - 1 || strncmp(have, eq + 1, n - kn - 1) != 0)))
            return false;
        t = comma ? comma + 1 : NULL;
    }
    return true;
}

/* {"label": ["K=V", "K2"]}: the engine's filter ANDs the labels of one key. */
static json_t *label_filter(const char *labels)
{
    json_t *terms = json_array();
    for (const char *t = labels; terms && t;) {
        const char *comma = strchr(t, ',');
        size_t n = comma ? (size_t)(comma - t) : strlen(t);
        if (json_array_append_new(terms, json_stringn(t, n)) < 0) {
            json_decref(terms);
            terms = NULL;
        }
        t = comma ? comma + 1 : NULL;
    }
    return terms ? json_pack("{s:o}", "label", terms) : NULL;
}

/* The running containers with every label of "K=V[,K2=V2...]" (the engine's list, sorted by it). */
static int label_list(struct ash_docker *d, const char *label, json_t **list, ash_error_t *err)
{
    json_t *filter = label_filter(label);
    char *fs = filter ? json_dumps(filter, JSON_COMPACT) : NULL;
    char *q = fs ? ash_docker_escape(d, fs) : NULL;
    json_decref(filter);
    free(fs);
    if (!q)
        return ash_error(err, ENOMEM, "container label=%s", label);
    char path[1200];
    snprintf(path, sizeof path, "/containers/json?filters=%s", q);
    free(q);
    if (ash_docker_call(d, "GET", path, NULL, list, err) < 0)
        return ash_error_wrap(err, "container label=%s", label);
    /* Docker ANDs the labels of a filter; an engine that ORed them (or ignored one) would
     * hand back a container the scenario did not name, so each is checked here too. */
    for (size_t i = json_array_size(*list); i-- > 0;)
        if (!ash_target_labels_match(json_object_get(json_array_get(*list, i), "Labels"), label))
            json_array_remove(*list, i);
    return 0;
}

/* container:label=K=V: the one running container with that label (all: the first; the
 * engine asks ash_target_container_ids for every one). */
static int by_label(const struct ash_target *t, struct container *c, const char *label, bool all, char *id, size_t len,
                    ash_error_t *err)
{
    json_t *list = NULL;
    if (label_list(c->docker, label, &list, err) < 0)
        return -1;
    (void)t;
    int ret = 0;
    size_t n = json_array_size(list);
    bool several = strchr(label, ',') != NULL;
    if (n == 0) {
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "no running container has the label%s %s",
                              several ? "s (all of)" : "", label);
    } else if (n > 1 && !all) {
        char names[600] = "";
        size_t off = 0;
        for (size_t i = 0; i < n && off < sizeof names - 1; i++) {
            json_t *e = json_array_get(list, i);
            const char *nm = json_string_value(json_array_get(json_object_get(e, "Names"), 0));
            const char *cid = json_string_value(json_object_get(e, "Id"));
            int w = snprintf(names + off, sizeof names - off, "%s%s (%.12s)", i ? ", " : "",
                             nm ? (nm[0] == '/' ? nm + 1 : nm) : "?", cid ? cid : "?");
            off += w > 0 ? (size_t)w : 0;
        }
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                              "%zu running containers have the label%s %s: %s; name one (container:NAME), add a "
                              "label that tells them apart (container:label=%s,KEY=VALUE; e.g. "
                              "com.docker.compose.project), or harm each: {container: {label: \"%s\", all: true}}",
                              n, several ? "s" : "", label, names, label, label);
    } else {
        const char *cid = json_string_value(json_object_get(json_array_get(list, 0), "Id"));
        if (!cid)
            ret = ash_error(err, EPROTO, "container label=%s: the engine's list has no Id", label);
        else
            snprintf(id, len, "%s", cid);
    }
    json_decref(list);
    return ret;
}

static struct container *C(const struct ash_target *t)
{
    return t->impl;
}

/* The operations every pinned container has (Docker's, a pod's through containerd):
 * t->impl starts with its struct ash_target_pin. */
static struct ash_target_pin *P(const struct ash_target *t)
{
    return t->impl;
}

int ash_pin_netns_fd(const struct ash_target *t)
{
    return P(t)->own_netns ? P(t)->nsfd : -1;
}

int ash_pin_run_in_netns(const struct ash_target *t, int (*fn)(void *), void *arg, ash_error_t *err)
{
    if (!P(t)->own_netns)
        return ash_error(err, ENOTSUP, "%s '%s' shares the machine's network namespace", ash_target_type_names[t->type],
                         t->name);
    return ash_target_ns_run(P(t)->nsfd, t->name, fn, arg, err);
}

struct ash_cgroup *ash_pin_cgroup(const struct ash_target *t)
{
    return P(t)->no_cgroup ? NULL : &P(t)->cg;
}

int ash_pin_procs(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err)
{
    if (!P(t)->no_cgroup)
        return ash_target_cgroup_procs(&P(t)->cg, P(t)->pid, out, n, err);
    /* No cgroup of its own: its init alone, while it is still the one pinned. */
    *n = 0;
    if (!(*out = calloc(1, sizeof **out)))
        return ash_error(err, ENOMEM, "container '%s'", t->name);
    if (ash_proc_start_time(P(t)->pid) == P(t)->start)
        (*out)[(*n)++] = (struct ash_target_proc){P(t)->pid, P(t)->start};
    return 0;
}

int ash_pin_freeze(const struct ash_target *t, ash_error_t *err)
{
    if (P(t)->no_cgroup)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                               "%s '%s' has no cgroup of its own to freeze (it is in its user's cgroup)",
                               ash_target_type_names[t->type], t->name);
    if (ash_target_check_not_self(&P(t)->cg, t->name, err) < 0)
        return -1;
    return ash_cgroup_freeze(&P(t)->cg, 5 * ASH_NS_PER_S, err);
}

int ash_pin_thaw(const struct ash_target *t, ash_error_t *err)
{
    if (P(t)->no_cgroup)
        return 0; /* never frozen */
    return ash_cgroup_thaw(&P(t)->cg, err);
}

/* POST restart, then pin the new init: a restarted container has a new pid and netns. */
static int ctr_restart(const struct ash_target *t, ash_error_t *err)
{
    struct container *c = C(t);
    char path[200];
    snprintf(path, sizeof path, "/containers/%s/restart?t=2", c->id);
    if (ash_docker_call(c->docker, "POST", path, NULL, NULL, err) < 0)
        return ash_error_wrap(err, "cannot restart container '%s'", t->name);
    /* The same container comes back with the same configuration: what it offers does
     * not change, only its pid, namespace and cgroup, which live behind impl. */
    unsigned caps = t->caps;
    if (inspect(t, c, c->id, err) < 0 || pin(t, &caps, c, err) < 0)
        return -1;
    return 0;
}

static json_t *ctr_identity(const struct ash_target *t)
{
    struct container *c = C(t);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:I}", "type", "container", "name", t->name, "id", c->id,
                     "container", c->name, "pid", (int)c->pinned.pid, "start", (json_int_t)c->pinned.start, "ip", c->ip,
                     "socket", ash_docker_socket(c->docker), "memory", (json_int_t)c->memory);
}

static void ctr_release(struct ash_target *t)
{
    struct container *c = C(t);
    if (!c)
        return;
    if (c->pinned.nsfd >= 0)
        close(c->pinned.nsfd);
    ash_docker_close(c->docker);
    free(c);
    t->impl = NULL;
}

static const struct ash_target_ops container_ops = {
    .netns_fd = ash_pin_netns_fd,
    .run_in_netns = ash_pin_run_in_netns,
    .cgroup = ash_pin_cgroup,
    .procs = ash_pin_procs,
    .freeze = ash_pin_freeze,
    .thaw = ash_pin_thaw,
    .restart = ctr_restart,
    .identity = ctr_identity,
    .release = ctr_release,
};

int ash_target_container_resolve(const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err)
{
    struct container *c = calloc(1, sizeof *c);
    if (!c)
        return ash_error(err, ENOMEM, "container '%s'", out->name);
    c->pinned.nsfd = -1;
    out->impl = c;
    out->ops = &container_ops;
    if (ash_docker_open(ref->endpoint, &c->docker, err) < 0)
        return ash_error_wrap(err, "container '%s'", out->name);
    const char *label = ash_target_container_label(out->name);
    char id[80];
    snprintf(id, sizeof id, "%s", out->name[0] == '/' ? out->name + 1 : out->name);
    if (label && by_label(out, c, label, ref->all, id, sizeof id, err) < 0)
        return -1;
    if (inspect(out, c, id, err) < 0 || pin(out, &out->caps, c, err) < 0)
        return -1;
    return 0;
}

int ash_target_container_restart_stopped(const char *endpoint, const char *name, ash_error_t *err)
{
    struct ash_docker *d = NULL;
    if (ash_docker_open(endpoint, &d, err) < 0)
        return ash_error_wrap(err, "container '%s'", name);
    const char *ref = name[0] == '/' ? name + 1 : name;
    char path[400];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/containers/%s/json", ref);
    int r = ash_docker_call(d, "GET", path, NULL, &j, err);
    if (r < 0) {
        if (err && err->code == ENOENT)
            r = not_found(d, ref, err);
        else
            ash_error_wrap(err, "container '%s'", name);
        goto out;
    }
    /* Only one that is not running: a running one the resolver refused (no init
     * visible here) would be restarted again at every try and never be "back". */
    if (json_is_true(json_object_get(json_object_get(j, "State"), "Running"))) {
        r = ash_error_class(err, ASH_ERR_ENVIRONMENT, EBUSY, "container '%s' runs, but cannot be followed here", name);
        goto out;
    }
    snprintf(path, sizeof path, "/containers/%s/restart?t=2", ref);
    if ((r = ash_docker_call(d, "POST", path, NULL, NULL, err)) < 0)
        ash_error_wrap(err, "cannot restart container '%s'", name);
out:
    json_decref(j);
    ash_docker_close(d);
    return r;
}

bool ash_target_container_running(const char *endpoint, const char *name)
{
    struct ash_docker *d = NULL;
    ash_error_t e = {0};
    if (ash_docker_open(endpoint, &d, &e) < 0)
        return false;
    ash_docker_set_timeout(d, 300);
    char path[400];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/containers/%s/json", name);
    bool running = ash_docker_call(d, "GET", path, NULL, &j, &e) == 0 &&
                   json_is_true(json_object_get(json_object_get(j, "State"), "Running"));
    json_decref(j);
    ash_docker_close(d);
    return running;
}

int ash_target_container_ids(const struct ash_target_ref *ref, char ***ids, size_t *n, ash_error_t *err)
{
    *ids = NULL;
    *n = 0;
    const char *label = ash_target_container_label(ref->name);
    if (!label)
        return ash_error(err, EINVAL, "container '%s': all: true needs a label", ref->name);
    struct ash_docker *d = NULL;
    json_t *list = NULL;
    int ret = -1;
    if (ash_docker_open(ref->endpoint, &d, err) < 0 || label_list(d, label, &list, err) < 0)
        goto out;
    size_t k = json_array_size(list);
    if (k == 0) {
        ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH, "no running container has the label %s", label);
        goto out;
    }
    if (!(*ids = calloc(k, sizeof **ids))) {
        ash_error(err, ENOMEM, "container label=%s", label);
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(list, i), "Id"));
        if (!id || !((*ids)[*n] = strdup(id))) {
            ash_error(err, id ? ENOMEM : EPROTO, "container label=%s: the engine's list has no Id", label);
            goto out;
        }
        (*n)++;
    }
    ret = 0;
out:
    if (ret < 0) {
        for (size_t i = 0; i < *n; i++)
            free((*ids)[i]);
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    json_decref(list);
    ash_docker_close(d);
    return ret;
}
