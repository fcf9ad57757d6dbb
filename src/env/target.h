/* Live targets: what a fault is aimed at, resolved for this run.
 *
 * The scenario names a target (scenario/target.h: host:web, service:api); the
 * engine (or, on a fleet node, the agent) resolves the name against what runs here
 * into a struct ash_target, and kinds act on it only through its operations: its
 * network namespace, its cgroup, its processes, freeze/thaw, signal, restart, and
 * running a function inside its namespaces. A target type is one ops table, so a
 * new type (a container, a process, a cgroup) adds a table, not a copy of every
 * kind. An operation a type cannot do is NULL and fails with ENOTSUP, naming it. */
#ifndef ASH_ENV_TARGET_H
#define ASH_ENV_TARGET_H

#include "scenario/target.h"

#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ash_sandbox;
struct ash_env;
struct ash_host;
struct ash_service;
struct ash_cgroup;
struct ash_target;

/* One process of a target: a pid is acted on only while its start time matches. */
struct ash_target_proc {
    pid_t pid;
    uint64_t start;
};

struct ash_target_ops {
    /* ASH_CAP_NETNS: an fd of its network namespace (owned by the target), or -1. */
    int (*netns_fd)(const struct ash_target *t);
    /* ASH_CAP_NETNS: run fn on the calling thread inside its network namespace. */
    int (*run_in_netns)(const struct ash_target *t, int (*fn)(void *), void *arg, ash_error_t *err);
    /* ASH_CAP_CGROUP: the cgroup that holds all its processes, NULL when it has none of
     * its own yet (a host-mode service: a memory fault moves it into one). */
    struct ash_cgroup *(*cgroup)(const struct ash_target *t);
    /* ASH_CAP_PROCS: its processes now (caller frees *out). */
    int (*procs)(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err);
    /* ASH_CAP_FREEZE. */
    int (*freeze)(const struct ash_target *t, ash_error_t *err);
    int (*thaw)(const struct ash_target *t, ash_error_t *err);
    /* ASH_CAP_RESTART: start it again (stopping it first if it runs); waits until ready. */
    int (*restart)(const struct ash_target *t, ash_error_t *err);
    /* What identifies it now, for journal records and reports: {"type", "name", and
     * per type "id" (a container), "pid" + "start", "ip"} (NULL: just type and name). */
    json_t *(*identity)(const struct ash_target *t);
    /* Free what resolving it took (an open namespace fd, an engine connection). */
    void (*release)(struct ash_target *t);
};

struct ash_target {
    int type;      /* enum ash_target_type */
    unsigned caps; /* enum ash_target_cap */
    char name[256];
    const struct ash_target_ops *ops;
    /* The implementations' own data: a sandbox host, a service of the run. */
    struct ash_host *host;
    struct ash_service *svc;
    struct ash_env *env;
    /* Container, process and cgroup targets: their own state (env/target_*.c), owned
     * by the target until ash_target_release. */
    void *impl;
};

/* Resolve ref (already checked by the scenario) against this run's sandbox and
 * services. Fails with ESRCH, naming the target, when it is not there now. */
int ash_target_resolve(struct ash_sandbox *sb, struct ash_env *env, const struct ash_target_ref *ref,
                       struct ash_target *out, ash_error_t *err);

/* Free what the target holds (safe on a zeroed or already released target). Kinds call
 * it when they drop the target (their revert). */
void ash_target_release(struct ash_target *t);
/* ash_target_resolve then release: can it be reached now? (the run's preflight, so that a
 * missing engine socket or container is exit 3 before anything is injected). */
/* needs: what the kind asks of it (its field's .needs); a resolved target that offers
 * less (a process sharing its cgroup, a container on the host's network) fails too. */
int ash_target_check(const struct ash_target_ref *ref, unsigned needs, ash_error_t *err);
/* What a fault needs of a resolved target beyond its capabilities (an interface in its
 * namespace, a kernel feature), checked without changing anything. */
typedef int (*ash_target_visit_fn)(const struct ash_target *t, void *arg, ash_error_t *err);
/* ash_target_check, then visit (may be NULL) on each target resolved (every match of
 * all: true), while it is still held. */
int ash_target_check_with(const struct ash_target_ref *ref, unsigned needs, ash_target_visit_fn visit, void *arg,
                          ash_error_t *err);
/* "container web-1 (id 3f2a9c01b7e4)", "process pid 812", "cgroup system.slice/x" from an
 * identity (ash_target_identity), for the terminal and messages. */
const char *ash_target_identity_text(const json_t *ident, char *buf, size_t len);
/* Identity JSON (see ops->identity); never NULL unless out of memory. */
json_t *ash_target_identity(const struct ash_target *t);
/* "container 'web'", for messages. */
const char *ash_target_describe(const struct ash_target *t, char *buf, size_t len);

/* The implementations of the types that select what already runs (target_container.c,
 * target_local.c): fill out (type, caps, name already set) or fail, naming the target. */
int ash_target_container_resolve(const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err);
int ash_target_process_resolve(const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err);
int ash_target_cgroup_resolve(const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err);
/* target_pod.c: a container of a Kubernetes pod on this node, through containerd's state. */
int ash_target_pod_resolve(const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err);
/* How many pods' containers run here (containerd's k8s.io tasks with CRI annotations), and
 * the directory looked at (doctor); fails when that directory cannot be read. */
int ash_target_pod_scan(char *dir, size_t len, size_t *n, ash_error_t *err);
/* container:label=K=V with all: true: the ids of every running container with the label
 * (ESRCH when none); the caller frees each and the array. */
int ash_target_container_ids(const struct ash_target_ref *ref, char ***ids, size_t *n, ash_error_t *err);

/* Does a container's Labels object (the engine's {"K": "V"}) have every label of the
 * selector "K=V[,K2[=V2]...]" (K alone: the key with any value)? */
bool ash_target_labels_match(const json_t *labels, const char *selector);

/* Is a container of that name (or id) running behind endpoint (NULL: $DOCKER_HOST, the
 * default) now? Only for a hint in a message: false at once without a socket, and after
 * 300 ms when the engine does not answer. */
bool ash_target_container_running(const char *endpoint, const char *name);

/* A remediation's restart of container `name` (a name or id, not a label) that is not
 * running: it exited or was stopped, which is what a runbook's restart is for. The
 * resolver refuses such a container (nothing of it to harm), so this asks the engine
 * behind endpoint by name; its restart starts a stopped container, as `docker
 * restart` does. Fails, touching nothing, for a container that does not exist or
 * that runs (EBUSY). */
int ash_target_container_restart_stopped(const char *endpoint, const char *name, ash_error_t *err);

/* The operations, failing with ENOTSUP ("host 'web' cannot be restarted") where the
 * type has none. */
int ash_target_netns_fd(const struct ash_target *t);
int ash_target_run_in_netns(const struct ash_target *t, int (*fn)(void *), void *arg, ash_error_t *err);
struct ash_cgroup *ash_target_cgroup(const struct ash_target *t);
int ash_target_procs(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err);
int ash_target_freeze(const struct ash_target *t, ash_error_t *err);
int ash_target_thaw(const struct ash_target *t, ash_error_t *err);
int ash_target_restart(const struct ash_target *t, ash_error_t *err);
/* Send sig to each of its processes whose start time still matches; the number signalled. */
int ash_target_signal(const struct ash_target *t, int sig, ash_error_t *err);

#endif
