/* Helpers shared by the target types that select what already runs (containers,
 * processes, cgroups): network namespace and process-list mechanics. Internal to env/. */
#ifndef ASH_ENV_TARGET_IMPL_H
#define ASH_ENV_TARGET_IMPL_H

#include "env/target.h"
#include "sys/cgroup.h"

#include <stdbool.h>

/* Open /proc/PID/ns/net. *own is false when it is the harness's own namespace: that
 * is the whole machine's network (in host mode), never harmed through a target. */
int ash_target_open_netns(pid_t pid, int *fd, bool *own, ash_error_t *err);
/* Run fn inside nsfd on the calling thread; errors name what (a target's description). */
int ash_target_ns_run(int nsfd, const char *what, int (*fn)(void *), void *arg, ash_error_t *err);
/* The members of cg with their start times; `first` (if > 0 and a member) is put first. */
int ash_target_cgroup_procs(const struct ash_cgroup *cg, pid_t first, struct ash_target_proc **out, size_t *n,
                            ash_error_t *err);
/* Refuse to freeze a cgroup the harness itself is in (it would never come back to thaw it). */
int ash_target_check_not_self(const struct ash_cgroup *cg, const char *what, ash_error_t *err);
/* Is aftershock's own memory cgroup cg's or one below it, where a limit on cg would
 * limit the harness too (and its OOM kill could take the harness before it reverts)?
 * True also when aftershock's own cgroup cannot be read. Process, cgroup, container and
 * pod resolvers clear ASH_CAP_LIMIT on it. */
bool ash_target_memory_holds_self(const struct ash_cgroup *cg);

/* What a container's init leads to, pinned when it is resolved (Docker, containerd). */
struct ash_target_pin {
    pid_t pid;            /* the container's init, as this machine's pid namespace sees it */
    uint64_t start;       /* the init's start time: signals only while it matches */
    int nsfd;             /* its network namespace (-1 before pinning) */
    bool own_netns;       /* false: the machine's (host network) */
    struct ash_cgroup cg; /* only the directories named after the container's id */
    bool no_cgroup;       /* none is (rootless Podman on cgroup v1): its init alone */
};
/* Pin p->pid (the init of container id): start time, netns, cgroup; caps loses NETNS
 * (host network), FREEZE (no freezable hierarchy of its own), or CGROUP and FREEZE (no
 * cgroup named after its id: its processes are then its init alone). what names it in
 * errors. */
int ash_target_pin_init(const char *what, const char *id, struct ash_target_pin *p, unsigned *caps, ash_error_t *err);
/* The operations of a target whose impl starts with a struct ash_target_pin. */
int ash_pin_netns_fd(const struct ash_target *t);
int ash_pin_run_in_netns(const struct ash_target *t, int (*fn)(void *), void *arg, ash_error_t *err);
struct ash_cgroup *ash_pin_cgroup(const struct ash_target *t);
int ash_pin_procs(const struct ash_target *t, struct ash_target_proc **out, size_t *n, ash_error_t *err);
int ash_pin_freeze(const struct ash_target *t, ash_error_t *err);
int ash_pin_thaw(const struct ash_target *t, ash_error_t *err);

#endif
