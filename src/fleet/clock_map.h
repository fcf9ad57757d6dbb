/* Mapping an agent's CLOCK_MONOTONIC onto the coordinator's, NTP-style, from timed round trips.
 *
 * One round trip: the coordinator sends at t_send (its clock), the agent stamps
 * t_agent (its clock) when it answers, the coordinator receives at t_recv. The
 * agent's stamp lies somewhere between send and receive, so
 *   offset = t_agent - (t_send + t_recv) / 2,   |error| <= (t_recv - t_send) / 2.
 * The round trip with the smallest RTT of a round of N has the tightest bound
 * (the least queueing); each finished round replaces the mapping, so a clock
 * that drifts is followed. An agent time t maps to t - offset, +- bound. */
#ifndef ASH_FLEET_CLOCK_MAP_H
#define ASH_FLEET_CLOCK_MAP_H

#include <stdbool.h>
#include <stdint.h>

#define ASH_CLOCK_ROUND 8 /* round trips per round */

struct ash_clock_map {
    /* The mapping in force (valid once a round finished). */
    bool valid;
    int64_t offset; /* agent - coordinator, ns */
    int64_t bound;  /* half the RTT of the round trip it came from, ns */
    int64_t rtt;
    int rounds; /* finished rounds */
    /* The round being gathered. */
    int n;
    int64_t best_offset, best_rtt;
};

/* Add one round trip; true when it finished a round (the mapping changed). A
 * round trip that went backwards (t_recv < t_send) is ignored. */
bool ash_clock_map_add(struct ash_clock_map *m, int64_t t_send, int64_t t_agent, int64_t t_recv);
/* An agent time on the coordinator's clock (needs m->valid). */
int64_t ash_clock_map_to_local(const struct ash_clock_map *m, int64_t t_agent);

#endif
