/* The fleet coordinator as a library: listen, accept agents, drive faults on their nodes, map their clocks.
 *
 * What `aftershock run` with a `fleet:` section builds on. Every call that
 * waits runs the caller's loop until its answer comes (the _async core under
 * them does not wait, for an engine that must keep its own loop turning). */
#ifndef ASH_FLEET_COORD_H
#define ASH_FLEET_COORD_H

#include "fleet/clock_map.h"
#include "fleet/psk.h"
#include "sys/loop.h"

#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ash_coord;

/* A time an agent reported, on the coordinator's clock. */
struct ash_fleet_time {
    int64_t t_agent; /* the agent's CLOCK_MONOTONIC */
    int64_t t;       /* the coordinator's CLOCK_MONOTONIC (t_agent - offset) */
    int64_t bound;   /* |error| of t, ns; -1 when the agent's clock was not mapped yet (t is then t_agent) */
};

/* A timeline event from an agent (ctx->event or ctx->no_effect on its node). */
struct ash_fleet_event {
    const char *node;
    const char *event; /* "fault-injected", ...; "no-effect" for ctx->no_effect */
    const char *detail;
    struct ash_fleet_time when;
};

/* A probe's sample from an agent (`from: NODE`), its times on the coordinator's clock. */
struct ash_fleet_probe_sample {
    const char *node;
    const char *probe;
    struct ash_fleet_time start, end;
    bool ok;
    const char *detail;
    int64_t late; /* how late its tick started on the agent, ns (a span: no mapping); -1: not said */
};

struct ash_coord_opts {
    const char *listen; /* ADDRESS:PORT (port 0: any; ash_coord_port says which) */
    const struct ash_psk *key;
    const char *run_id;
    int64_t ping_every_ns; /* lease renewal and clock samples; default 250ms (keep it well under the agents' lease) */
    int64_t handshake_ns;  /* default ASH_CHANNEL_HANDSHAKE_NS */
    /* An agent that says nothing for this long (no pong, no result) is lost, as a
     * closed connection is: a stopped agent or a partition that drops packets
     * without a reset shows only this way. Default 3s (the agents' default lease). */
    int64_t silence_ns;
    /* Optional: an agent said hello (up) or was lost (why says how). */
    void (*on_agent)(struct ash_coord *c, const char *node, bool up, const char *why, void *data);
    void (*on_event)(struct ash_coord *c, const struct ash_fleet_event *ev, void *data);
    /* Optional: a probe's sample (a malformed one is an on_event "warning" instead). */
    void (*on_sample)(struct ash_coord *c, const struct ash_fleet_probe_sample *s, void *data);
    void *data;
};

int ash_coord_new(ash_loop *loop, const struct ash_coord_opts *o, struct ash_coord **out, ash_error_t *err);
/* The port it listens on. */
int ash_coord_port(const struct ash_coord *c);
/* Close every agent's channel (each reverts what it applied) and stop listening. */
void ash_coord_free(struct ash_coord *c);

/* The node's hello (borrowed), NULL when no such agent is connected. */
const json_t *ash_coord_hello(struct ash_coord *c, const char *node);
/* The node's clock mapping (false when no such agent). */
bool ash_coord_clock(struct ash_coord *c, const char *node, struct ash_clock_map *out);
/* Why a refused or failed connection ended (the last one), "" when none did. */
const char *ash_coord_last_refusal(const struct ash_coord *c);

/* The answer to a request: ok, or err saying why (the agent's error, or the agent lost). */
typedef void (*ash_coord_reply_fn)(struct ash_coord *c, const char *node, int ok, const ash_error_t *err,
                                   const struct ash_fleet_time *when, void *data);
/* Send `type` with `fields` (stolen; may be NULL) to node; cb once with the result. */
int ash_coord_request_async(struct ash_coord *c, const char *node, const char *type, json_t *fields,
                            ash_coord_reply_fn cb, void *data, ash_error_t *err);

/* Waiting calls (timeout_ns bounds each). */
int ash_coord_wait_agent(struct ash_coord *c, const char *node, int64_t timeout_ns, ash_error_t *err);
/* Until the node's clock is mapped (one round of round trips). */
int ash_coord_wait_clock(struct ash_coord *c, const char *node, int64_t timeout_ns, ash_error_t *err);
int ash_coord_send_scenario(struct ash_coord *c, const char *node, const char *name, const char *text,
                            int64_t timeout_ns, ash_error_t *err);
/* The same, with "resolved": {FAULT: CONTAINER_ID} for node (taken; NULL: none): the
 * containers of `{swarm_service: S}` targets on that node (docs/fleet.md, the protocol). */
int ash_coord_send_scenario_resolved(struct ash_coord *c, const char *node, const char *name, const char *text,
                                     json_t *resolved, int64_t timeout_ns, ash_error_t *err);
/* Inject / revert the scenario's fault on node; *when (optional): when the agent had done it. */
int ash_coord_inject(struct ash_coord *c, const char *node, const char *fault, int64_t timeout_ns,
                     struct ash_fleet_time *when, ash_error_t *err);
int ash_coord_revert(struct ash_coord *c, const char *node, const char *fault, int64_t timeout_ns,
                     struct ash_fleet_time *when, ash_error_t *err);
/* Send `type` with `fields` (stolen; may be NULL) to node, no answer awaited. */
/* Send a request of `type` and wait for its result (the loop runs meanwhile). */
int ash_coord_request(struct ash_coord *c, const char *node, const char *type, json_t *fields, int64_t timeout_ns,
                      ash_error_t *err);
/* The IPv4 addresses of this end and node's agent's end of its connection; -1 when not IPv4 or no agent. */
int ash_coord_addrs4(struct ash_coord *c, const char *node, uint32_t *local, uint32_t *peer);
int ash_coord_send(struct ash_coord *c, const char *node, const char *type, json_t *fields, ash_error_t *err);
/* Tell node to revert everything and leave (no answer awaited). */
int ash_coord_bye(struct ash_coord *c, const char *node, ash_error_t *err);

#endif
