/* `aftershock run` as a fleet coordinator: a scenario with `fleet:` (docs/fleet.md).
 *
 * The run listens for an agent per node, waits until every node of fleet.nodes has
 * one and its clock is mapped onto this one, sends the scenario, and hands each fault
 * whose target names a node to that node's agent. Its agents' results and events land
 * on the run's timeline in this clock, each with its error bound; the largest bound of
 * a time a figure is counted from goes into that figure's resolution. */
#ifndef ASH_ENGINE_FLEET_RUN_H
#define ASH_ENGINE_FLEET_RUN_H

#include "scenario/scenario.h"
#include "sys/journal.h"
#include "sys/loop.h"

#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ash_fleet_run;
/* fleet.hosts: join the sandbox's bridge (this run's hosts) to the nodes that hold
 * placed hosts by a VXLAN (journaled), then have each of those nodes' agents build its
 * hosts in the same /24. Nothing is harmed on failure (class ASH_ERR_ENVIRONMENT). */
struct ash_sandbox;
int ash_fleet_run_hosts(struct ash_fleet_run *fr, struct ash_sandbox *sb, ash_error_t *err);
struct ash_sample;

struct ash_fleet_run_opts {
    ash_loop *loop;
    const struct ash_scenario *sc;
    const char *run_dir; /* the key file is written here when the scenario names none */
    const char *run_id;
    struct ash_journal *journal; /* the run's: an engine's agents (fleet.engine) are journaled before they are made */
    FILE *log;                   /* progress while waiting for agents (NULL: none) */
    const bool *stop;            /* the run was stopped (a signal): stop waiting */
    /* A timeline event, on this machine's clock (the run's add_event). */
    void (*event)(void *arg, int64_t t, const char *event, const char *detail);
    /* An agent was lost (closed, or silent for fleet.lease) before the run said bye:
     * the faults on its node ended with it (its lease or guardian reverts them). */
    void (*lost)(void *arg, const char *why);
    void *arg;
};

/* Listen, deploy the agents when fleet.engine is one that does (fleet/deploy.h), wait
 * (opts.sc->fleet.wait) for every node's agent and its clock, send the scenario to each. Nothing is harmed on any path:
 * on failure err says which node is missing (class ASH_ERR_ENVIRONMENT, exit 3) and every agent that came is sent away.
 */
int ash_fleet_run_start(const struct ash_fleet_run_opts *o, struct ash_fleet_run **out, ash_error_t *err);

/* Inject / revert fault f on its node (ash_fault_node(f)). From the offloop worker the
 * call waits (the run lock let go) for the answer the loop collects; from the loop
 * thread it turns the loop until the answer comes. *t: when the agent had done it, on
 * this clock; where: " on node B (clock ±X ms)" for the timeline. */
int ash_fleet_run_inject(struct ash_fleet_run *fr, const struct ash_fault_spec *f, int64_t *t, char *where, size_t len,
                         ash_error_t *err);
int ash_fleet_run_revert(struct ash_fleet_run *fr, const struct ash_fault_spec *f, int64_t *t, char *where, size_t len,
                         ash_error_t *err);

/* A sample of a probe its node's agent runs, on this clock. */
typedef void (*ash_fleet_sample_fn)(void *arg, const struct ash_sample *s);
/* Start probe p (p->node set) on its node's agent (loop thread; turns the loop until
 * the agent answers): its samples come to cb, times mapped onto this clock, until
 * ash_fleet_run_probes_stop or its agent is lost (on the timeline as probe-lost,
 * in the report, and in the lost callback's reason). */
int ash_fleet_run_probe_start(struct ash_fleet_run *fr, const struct ash_probe_spec *p, ash_fleet_sample_fn cb,
                              void *arg, ash_error_t *err);
/* Up to when (this clock) the remote probes' samples are all known: the earliest of
 * each one's latest sample end and of where one went stale (its agent connected, no
 * sample for max(3 x every, timeout + every, fleet.lease): `probe-stale` on the
 * timeline). A figure counted past it would count silence as health. INT64_MAX: no
 * remote probe (fr NULL too). */
int64_t ash_fleet_run_known_until(const struct ash_fleet_run *fr);

/* Stop taking every remote probe's samples and tell their agents to stop them. */
void ash_fleet_run_probes_stop(struct ash_fleet_run *fr);

/* The run is ending: a worker waiting for an answer stops waiting (loop thread, before
 * the offloop is drained; the loop no longer turns to collect it). What that agent did
 * is undone by its `bye`. */
void ash_fleet_run_cancel(struct ash_fleet_run *fr);

/* What the clocks add to a figure's error (ns): the largest bound of an inject or revert
 * time the run used plus the largest of a remote probe's sample, 0 if none. */
int64_t ash_fleet_run_bound(const struct ash_fleet_run *fr);

/* The schedule's lateness of the probes on nodes, per node ({"a": {ticks, p50, p99, max,
 * over_1ms}}, ms), as each agent measured its ticks; NULL when no probe is on a node. */
json_t *ash_fleet_run_lateness_json(const struct ash_fleet_run *fr);

/* The report's "fleet": each node's clock mapping, each remote fault's bounds. */
json_t *ash_fleet_run_json(const struct ash_fleet_run *fr, int64_t t_start);

/* Tell every agent `bye` (each reverts everything on its node and leaves), wait a
 * little for them to go, stop listening, remove what the engine deployed, free.
 * NULL: nothing. */
void ash_fleet_run_end(struct ash_fleet_run *fr);

#endif
