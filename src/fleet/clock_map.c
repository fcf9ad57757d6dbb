/* The NTP-style clock mapping of clock_map.h: keep the smallest RTT of each round. */
#include "fleet/clock_map.h"

bool ash_clock_map_add(struct ash_clock_map *m, int64_t t_send, int64_t t_agent, int64_t t_recv)
{
    if (t_recv < t_send)
        return false;
    int64_t rtt = t_recv - t_send;
    /* The midpoint without overflow: t_send + rtt / 2 (rtt is small and positive). */
    int64_t offset = t_agent - (t_send + rtt / 2);
    if (m->n == 0 || rtt < m->best_rtt) {
        m->best_rtt = rtt;
        m->best_offset = offset;
    }
    if (++m->n < ASH_CLOCK_ROUND)
        return false;
    m->valid = true;
    m->offset = m->best_offset;
    m->rtt = m->best_rtt;
    m->bound = (m->best_rtt + 1) / 2; /* rounded up: the bound never understates */
    m->rounds++;
    m->n = 0;
    return true;
}

int64_t ash_clock_map_to_local(const struct ash_clock_map *m, int64_t t_agent)
{
    return t_agent - m->offset;
}
