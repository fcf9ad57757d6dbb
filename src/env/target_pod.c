/* Pod targets: a container of a Kubernetes pod on this node, found through containerd's
 * state directory, pinned like a Docker container (init pid + start time, netns, cgroup).
 *
 * Why the state directory and not containerd's API: the API is gRPC over a unix socket,
 * and Debian has no well-kept C client for it (generating one from containerd's protos
 * would pin us to its internal message layout). What we need is already on disk, in a
 * form the OCI runtime spec fixes: for every running task, containerd's runtime v2
 * keeps its bundle at STATE/io.containerd.runtime.v2.task/NAMESPACE/ID/, with
 *   - config.json: the OCI spec, whose annotations the CRI plugin (what the kubelet
 *     talks to) fills with io.kubernetes.cri.container-type ("container" or "sandbox"),
 *     io.kubernetes.cri.sandbox-namespace, io.kubernetes.cri.sandbox-name (the pod)
 *     and io.kubernetes.cri.container-name;
 *   - init.pid: the task's init as the host's pid namespace sees it.
 * Kubernetes' containers live in containerd's namespace "k8s.io".
 *
 * Limits, said plainly:
 *   - pod *labels* are not in the bundle (the CRI plugin keeps them in containerd's
 *     metadata database, a bbolt file we do not read): a label selector is resolved by
 *     the coordinator through the Kubernetes API (fleet/kube.c lists pods by selector),
 *     which hands the agent the pod's name; resolved here, it is refused with that reason;
 *   - the annotation names are the CRI plugin's (containerd 1.4 to 1.7 and 2.x use
 *     these); CRI-O keeps its bundles elsewhere and is not supported;
 *   - only running tasks have a bundle: a container in CrashLoopBackOff is "not running".
 * The state directory is /run/containerd unless ASH_CONTAINERD_STATE says otherwise (an
 * agent mounts the host's, read-only; the tests run a private containerd). */
#include "env/target_impl.h"
#include "sys/proc.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CRI_NS "k8s.io"
#define TASK_DIR "io.containerd.runtime.v2.task"

struct pod_ctr {
    struct ash_target_pin pinned; /* first: the shared operations (ash_pin_*) see it as the impl */
    char id[80];
    char ns[64], pod[254], container[64];
};

static const char *state_dir(void)
{
    const char *s = getenv("ASH_CONTAINERD_STATE");
    return s && *s ? s : "/run/containerd";
}

/* One task's bundle: its CRI annotations, when it is a pod's container. */
struct bundle {
    char id[80];
    char ns[64], pod[254], container[64];
    pid_t pid;
};

static int read_bundle(const char *dir, const char *id, struct bundle *b)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/config.json", dir, id);
    json_t *spec = json_load_file(path, 0, NULL);
    json_t *a = json_object_get(spec, "annotations");
    const char *type = json_string_value(json_object_get(a, "io.kubernetes.cri.container-type"));
    const char *ns = json_string_value(json_object_get(a, "io.kubernetes.cri.sandbox-namespace"));
    const char *pod = json_string_value(json_object_get(a, "io.kubernetes.cri.sandbox-name"));
    const char *name = json_string_value(json_object_get(a, "io.kubernetes.cri.container-name"));
    int ret = -1;
    /* The sandbox ("pause") holds the pod's namespaces; harming it is not harming a container. */
    if (type && strcmp(type, "container") == 0 && ns && pod && name) {
        snprintf(b->id, sizeof b->id, "%s", id);
        snprintf(b->ns, sizeof b->ns, "%s", ns);
        snprintf(b->pod, sizeof b->pod, "%s", pod);
        snprintf(b->container, sizeof b->container, "%s", name);
        snprintf(path, sizeof path, "%s/%s/init.pid", dir, id);
        FILE *f = fopen(path, "r");
        int pid = 0;
        if (f && fscanf(f, "%d", &pid) == 1 && pid > 1) {
            b->pid = (pid_t)pid;
            ret = 0;
        }
        if (f)
            fclose(f);
    }
    json_decref(spec);
    return ret;
}

/* The pod's running containers in dir (all of them when sel->container is ""). */
static int find(const struct ash_target *t, const char *dir, const struct ash_pod_sel *sel, struct bundle *found,
                size_t *n_found, char *names, size_t names_len, ash_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH,
                                   "pod '%s': no containerd task directory %s (is containerd running on this node, "
                                   "with its state there? set ASH_CONTAINERD_STATE)",
                                   t->name, dir);
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, errno, "pod '%s': cannot read %s", t->name, dir);
    }
    size_t n = 0, off = 0;
    names[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d))) {
        struct bundle b = {0};
        if (e->d_name[0] == '.' || read_bundle(dir, e->d_name, &b) < 0)
            continue;
        if (strcmp(b.ns, sel->ns) != 0 || strcmp(b.pod, sel->pod) != 0)
            continue;
        int w = snprintf(names + off, off < names_len ? names_len - off : 0, "%s%s", n ? ", " : "", b.container);
        off += w > 0 ? (size_t)w : 0;
        if (sel->container[0] && strcmp(b.container, sel->container) != 0)
            continue;
        if (n++ == 0)
            *found = b;
    }
    closedir(d);
    *n_found = n;
    return 0;
}

int ash_target_pod_scan(char *dir, size_t len, size_t *n, ash_error_t *err)
{
    snprintf(dir, len, "%s/" TASK_DIR "/" CRI_NS, state_dir());
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, errno, "%s", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct bundle b = {0};
        if (e->d_name[0] != '.' && read_bundle(dir, e->d_name, &b) == 0)
            (*n)++;
    }
    closedir(d);
    return 0;
}

static json_t *pod_identity(const struct ash_target *t)
{
    struct pod_ctr *c = t->impl;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s}", "type", "pod", "name", t->name, "id", c->id,
                     "namespace", c->ns, "pod", c->pod, "container", c->container, "pid", (int)c->pinned.pid, "start",
                     (json_int_t)c->pinned.start, "state", state_dir());
}

static void pod_release(struct ash_target *t)
{
    struct pod_ctr *c = t->impl;
    if (!c)
        return;
    if (c->pinned.nsfd >= 0)
        close(c->pinned.nsfd);
    free(c);
    t->impl = NULL;
}

static const struct ash_target_ops pod_ops = {
    .netns_fd = ash_pin_netns_fd,
    .run_in_netns = ash_pin_run_in_netns,
    .cgroup = ash_pin_cgroup,
    .procs = ash_pin_procs,
    .freeze = ash_pin_freeze,
    .thaw = ash_pin_thaw,
    .identity = pod_identity,
    .release = pod_release,
};

int ash_target_pod_resolve(const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err)
{
    struct ash_pod_sel sel;
    char msg[300];
    if (ash_target_pod_selector(ref->name, &sel, msg, sizeof msg) < 0)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "%s", msg);
    if (sel.labels[0])
        return ash_error_class(err, ASH_ERR_USAGE, ENOTSUP,
                               "pod '%s': a node cannot see pod labels (containerd keeps them in its metadata "
                               "database, not in the task's bundle); a fleet run resolves labels to pod names "
                               "through the Kubernetes API first; on a node, name the pod: pod:%s/POD%s%s",
                               ref->name, sel.ns, sel.container[0] ? "/" : "", sel.container);
    struct pod_ctr *c = calloc(1, sizeof *c);
    if (!c)
        return ash_error(err, ENOMEM, "pod '%s'", out->name);
    c->pinned.nsfd = -1;
    out->impl = c;
    out->ops = &pod_ops;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/" TASK_DIR "/" CRI_NS, state_dir());
    struct bundle b = {0};
    size_t n = 0;
    char names[600];
    if (find(out, dir, &sel, &b, &n, names, sizeof names, err) < 0)
        return -1;
    if (n == 0 && !names[0])
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH,
                               "pod %s/%s has no running container on this node (containerd state %s; is the pod "
                               "scheduled here? kubectl get pod -n %s %s -o wide)",
                               sel.ns, sel.pod, state_dir(), sel.ns, sel.pod);
    if (n == 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH,
                               "pod %s/%s has no running container named '%s' (its running containers: %s)", sel.ns,
                               sel.pod, sel.container, names);
    if (n > 1)
        return ash_error_class(err, ASH_ERR_USAGE, 0,
                               "pod %s/%s runs %zu containers (%s): name one, pod:%s/%s/CONTAINER or "
                               "{pod: {..., container: NAME}}",
                               sel.ns, sel.pod, n, names, sel.ns, sel.pod);
    snprintf(c->id, sizeof c->id, "%s", b.id);
    snprintf(c->ns, sizeof c->ns, "%s", b.ns);
    snprintf(c->pod, sizeof c->pod, "%s", b.pod);
    snprintf(c->container, sizeof c->container, "%s", b.container);
    c->pinned.pid = b.pid;
    char what[400];
    snprintf(what, sizeof what, "pod %s/%s container '%s'", b.ns, b.pod, b.container);
    return ash_target_pin_init(what, c->id, &c->pinned, &out->caps, err);
}
