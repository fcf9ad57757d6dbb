/* Waiting until the swarm's agents are connected (swarm_wait.h). Above both the
 * coordinator (fleet layer) and the deploy (env layer): built with the agent layer. */
#include "fleet/swarm_wait.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdio.h>

/* How often the engine is asked whether a task failed while waiting. */
#define POLL_NS 500000000LL

int ash_swarm_wait_agents(struct ash_swarm *s, struct ash_coord *c, int64_t timeout_ns, json_t **nodes,
                          ash_error_t *err)
{
    if (nodes)
        *nodes = NULL;
    json_t *names = NULL, *n;
    if (ash_swarm_nodes(s, &names, err) < 0)
        return -1;
    int64_t deadline = ash_now_ns() + timeout_ns;
    size_t i;
    int ret = 0;
    json_array_foreach(names, i, n)
    {
        const char *node = json_string_value(n);
        while (!ash_coord_hello(c, node)) {
            char why[1024];
            int f = ash_swarm_failed_task(s, why, sizeof why, err);
            if (f < 0) {
                ret = -1;
                goto out;
            }
            if (f > 0) {
                ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "swarm service %s: %s", ash_swarm_service(s), why);
                goto out;
            }
            int64_t left = deadline - ash_now_ns();
            if (left <= 0) {
                ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, ETIMEDOUT,
                                      "swarm service %s: no agent from node %s within %.1fs (does the node have the "
                                      "image, and can it reach the coordinator's address?)",
                                      ash_swarm_service(s), node, (double)timeout_ns / 1e9);
                goto out;
            }
            ash_error_t e = {0};
            ash_coord_wait_agent(c, node, left < POLL_NS ? left : POLL_NS, &e); /* a timeout here: ask again */
        }
    }
out:
    if (ret == 0 && nodes)
        *nodes = names;
    else
        json_decref(names);
    return ret;
}
