/* A container's own cgroup on this node, found by its id in a directory's name.
 *
 * An agent in a Swarm task has no host PID namespace: a container's init pid from
 * the engine is not visible to it, so the usual way to its cgroup (/proc/PID/cgroup)
 * is closed. The node's /sys/fs/cgroup is bound in, and the engine names each
 * container's cgroup by its id (cgroupfs: docker/ID, systemd: docker-ID.scope,
 * podman: libpod-ID.scope): that directory, relative to its hierarchy's root, is
 * what a `cgroup:` target names (docs/fleet.md). */
#ifndef ASH_FLEET_CGROUP_FIND_H
#define ASH_FLEET_CGROUP_FIND_H

#include <aftershock/error.h>
#include <stddef.h>

/* Into rel: the cgroup of container id (64 hex digits) below the v2 hierarchy's root,
 * else below the v1 freezer's. ENOENT when neither has it. root: NULL for
 * /sys/fs/cgroup (tests give a fixture). */
int ash_cgroup_find_container(const char *root, const char *id, char *rel, size_t len, ash_error_t *err);

#endif
