/* Deploying a fleet run's agents through the engine the nodes already run (`fleet.engine`).
 *
 * One small interface per engine, so `aftershock run` (engine/fleet_run.c) does not know
 * which one it drives: deploy the agents (the run's key in the engine's secret
 * mechanism, one agent per node), say while waiting whether the engine gave up on
 * one, say each agent's state when the wait times out, remove everything on every
 * exit path. Each object is journaled before it is made, so `aftershock recover`
 * removes what a killed coordinator left. Built with the engine layer (above env's
 * swarm.c and fleet's kube.c). */
#ifndef ASH_FLEET_DEPLOY_H
#define ASH_FLEET_DEPLOY_H

#include "scenario/scenario.h"
#include "sys/journal.h"

#include <aftershock/error.h>
#include <stddef.h>

struct ash_fleet_deploy_opts {
    const struct ash_fleet_spec *fl;
    const char *run_id;
    const char *connect; /* ADDRESS:PORT the agents reach the coordinator at */
    const char *key_hex; /* the run's key (64 hex digits) */
    struct ash_journal *journal;
};

struct ash_fleet_deployer {
    const char *engine; /* as in fleet.engine */
    /* Make the agents; on failure nothing is left (records marked done). */
    int (*deploy)(const struct ash_fleet_deploy_opts *o, void **state, ash_error_t *err);
    /* While waiting: 1 and why into msg when the engine gave up on an agent (a task
     * failed or was refused), 0 when none did, -1 when the engine could not say. */
    int (*failed)(void *state, char *msg, size_t len, ash_error_t *err);
    /* What deploy made, for people ("service aftershock-agent-RUN, secret aftershock-key-RUN"). */
    void (*describe)(void *state, char *msg, size_t len);
    /* For a timeout: each agent's state as the engine sees it ("w2: preparing"). */
    void (*states)(void *state, char *msg, size_t len);
    /* Remove what deploy made and free state; a failure says how to remove it by hand,
     * and the records stay in the journal for recover. NULL state: nothing. */
    int (*remove)(void *state, ash_error_t *err);
};

/* The deployer of a fleet.engine, NULL for `agents` (someone else starts them). */
const struct ash_fleet_deployer *ash_fleet_deployer(int engine);

extern const struct ash_fleet_deployer ash_fleet_deploy_swarm;
extern const struct ash_fleet_deployer ash_fleet_deploy_kube;

#endif
