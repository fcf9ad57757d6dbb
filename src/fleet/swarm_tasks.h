/* Where a Docker Swarm service's tasks run: the manager's Engine API says, for each
 * running task, its node (by hostname, as the agents name themselves) and its
 * container's id. One job: ask and answer; which tasks a fault takes is the run's
 * (engine/fleet_run.c). Built with the env layer (it needs env/docker.c). */
#ifndef ASH_FLEET_SWARM_TASKS_H
#define ASH_FLEET_SWARM_TASKS_H

#include <aftershock/error.h>
#include <stddef.h>

struct ash_swarm_task {
    char id[80];        /* the task's id */
    char node[128];     /* its node's hostname */
    char state[32];     /* the task's state ("running", "preparing", ...) */
    char container[80]; /* its container's id; "" while it has none */
    long slot;          /* its replica's slot (0 for a global service) */
};

/* The tasks the engine wants running (desired-state running) of service, on the manager
 * at docker_host (unix:///PATH; NULL: $DOCKER_HOST, else the default socket), in slot
 * order. *out (the caller frees it) may hold tasks not running yet: look at state. No
 * such service: ENOENT, an ASH_ERR_ENVIRONMENT error naming the services there are. */
int ash_swarm_service_tasks(const char *docker_host, const char *service, struct ash_swarm_task **out, size_t *n,
                            ash_error_t *err);

#endif
