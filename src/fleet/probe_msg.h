/* The probe messages of the fleet protocol (docs/fleet.md, "Probes from a node"): the
 * coordinator starts and stops a probe on an agent; the agent streams its samples
 * back with its own CLOCK_MONOTONIC times. Encoding and checking in one place, so
 * both ends agree and a bad message is refused with a reason. */
#ifndef ASH_FLEET_PROBE_MSG_H
#define ASH_FLEET_PROBE_MSG_H

#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The longest detail a sample carries (struct ash_sample's, with its NUL). */
#define ASH_PROBE_MSG_DETAIL 120
/* Sampling intervals an agent takes: what a scenario's `every` may say. */
#define ASH_PROBE_MSG_EVERY_MIN (INT64_C(1) * 1000000)       /* 1 ms */
#define ASH_PROBE_MSG_EVERY_MAX (INT64_C(3600) * 1000000000) /* 1 h */

/* Coordinator -> agent: run the scenario's probe `probe` every `every_ns`, from
 * `from` on the node ("container:NAME" or "process:SELECTOR"; NULL: the node itself). */
struct ash_probe_start {
    const char *probe;
    const char *from;
    int64_t every_ns;
};

/* Agent -> coordinator: one sample, its times on the agent's clock. */
struct ash_fleet_sample {
    const char *probe;
    int64_t start, end;
    bool ok;
    const char *detail;
    int64_t late; /* how late its tick started against its schedule, ns; -1: not said (an older agent) */
};

/* The fields of a `probe` request (type and id are the request's). NULL: no memory. */
json_t *ash_probe_msg_start(const struct ash_probe_start *s);
/* Read a `probe` request (borrowed strings, valid while msg lives). */
int ash_probe_msg_start_parse(const json_t *msg, struct ash_probe_start *out, ash_error_t *err);
/* A whole `sample` message (detail cut to ASH_PROBE_MSG_DETAIL - 1 bytes). NULL: no memory. */
json_t *ash_probe_msg_sample(const struct ash_fleet_sample *s);
/* Read a `sample` message: a probe name, integer times with 0 < start <= end, a
 * boolean ok, a string detail (borrowed strings), an optional integer late >= 0. */
int ash_probe_msg_sample_parse(const json_t *msg, struct ash_fleet_sample *out, ash_error_t *err);
/* The fields of a `probe-stop` message. */
json_t *ash_probe_msg_stop(const char *probe);

#endif
