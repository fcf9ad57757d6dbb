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

#endif
