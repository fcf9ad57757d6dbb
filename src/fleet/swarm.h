/* Deploying the fleet's agents on a Docker Swarm, over the manager's Engine API.
 *
 * One job: the run's key as a Swarm secret and the agents as a global service
 * (one task per node), each journaled before it is made, removed at the end.
 * It knows nothing of the channel: the caller's coordinator sees the agents
 * connect (fleet/swarm_wait.c waits for them). Built with the env layer (it
 * needs env/docker.c; `recover` finds its undo ops through the registry). */
#ifndef ASH_FLEET_SWARM_H
#define ASH_FLEET_SWARM_H

#include "sys/journal.h"

#include <aftershock/error.h>
#include <jansson.h>
#include <stddef.h>

struct ash_swarm;

struct ash_swarm_opts {
    const char *docker_host; /* the manager's engine: unix:///PATH; NULL: $DOCKER_HOST, else the default */
    const char *run_id;      /* names the secret and the service (letters, digits, '-', '_') */
    const char *image;       /* holds the aftershock binary at `exe` and what it links */
    const char *exe;         /* path of the binary inside the image; default /usr/bin/aftershock */
    const char *connect;     /* COORDINATOR:PORT as the agents reach it from their nodes */
    const char *key_hex;     /* the key file's content (64 hex digits) */
    const char *lease;       /* the agents' --lease ("3s"); NULL: theirs */
    /* The node's engine socket, bound into every task so the agent can resolve
     * `container:` targets (NULL: none). The same path on every node. */
    const char *engine_socket;
    /* The agents' state directory on each node (it must exist there; Swarm
     * templates such as {{.Node.Hostname}} expand in it). NULL: the node's /run
     * is bound and the agents journal in /run/aftershock, where `aftershock
     * recover` on the node looks by default. */
    const char *state_dir;
    struct ash_journal *journal; /* the run's; NULL: nothing is journaled (tests of bad input only) */
};

/* Creates the secret, then the service, each journaled first. On failure nothing
 * it made is left (and its records are marked done). */
int ash_swarm_deploy(const struct ash_swarm_opts *o, struct ash_swarm **out, ash_error_t *err);
/* The names it gave them ("aftershock-agent-RUN", "aftershock-key-RUN"). */
const char *ash_swarm_service(const struct ash_swarm *s);
const char *ash_swarm_secret(const struct ash_swarm *s);
/* The nodes a global service runs on: Ready and Active nodes' hostnames
 * (*out: a JSON array of strings, the caller's). */
int ash_swarm_nodes(struct ash_swarm *s, json_t **out, ash_error_t *err);
/* A task of the service that ended or was refused: "NODE: STATE: ERR" into msg,
 * returns 1; 0 when none did; -1 when the engine could not say. */
int ash_swarm_failed_task(struct ash_swarm *s, char *msg, size_t len, ash_error_t *err);
/* Each task's node (by hostname) and state, with the engine's word on it:
 * "m: running (started); w2: preparing (preparing)". */
int ash_swarm_task_states(struct ash_swarm *s, char *msg, size_t len, ash_error_t *err);
/* Remove the service, then the secret (each record marked done once gone), and free.
 * Every exit path calls it; a failure is said in err and the records stay for recover. */
int ash_swarm_remove(struct ash_swarm *s, ash_error_t *err);

/* Undo ops "swarm.service" and "swarm.secret" (registry.c). */
extern const struct ash_undo_op ash_swarm_undo_ops[];

#endif
