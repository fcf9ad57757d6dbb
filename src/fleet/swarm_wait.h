/* Waiting for the agents a Swarm service deployed: each expected node's agent says hello to the coordinator. */
#ifndef ASH_FLEET_SWARM_WAIT_H
#define ASH_FLEET_SWARM_WAIT_H

#include "fleet/coord.h"
#include "fleet/swarm.h"

/* Until every Ready and Active node of the swarm has an agent connected to c, or
 * timeout_ns. A task the swarm failed or refused ends the wait at once with the
 * engine's reason (a bind source missing on a node, an image the node lacks).
 * *nodes (optional): the nodes waited for, a JSON array of names (the caller's). */
int ash_swarm_wait_agents(struct ash_swarm *s, struct ash_coord *c, int64_t timeout_ns, json_t **nodes,
                          ash_error_t *err);

#endif
