/* Cross traffic: competing flows generated inside the sandbox only. A sink
 * process in the receiving host's network namespace discards what arrives;
 * a sender in the sending host's namespace pushes TCP or UDP at a paced rate
 * (or as fast as it can). Both are journaled helpers, killed on revert. */
#ifndef ASH_NET_CROSS_TRAFFIC_H
#define ASH_NET_CROSS_TRAFFIC_H

#include <aftershock/error.h>
#include <stdint.h>

#include "net/relay.h"

struct ash_cross_opts {
    int from_netns_fd, to_netns_fd;
    uint32_t to_addr; /* network byte order: the sink host's sandbox address */
    uint16_t port;
    bool udp;
    uint64_t rate_bits; /* 0: as fast as possible */
};

struct ash_cross {
    struct ash_net_helper sink, sender;
};

int ash_cross_start(const struct ash_cross_opts *o, struct ash_journal *j, struct ash_cross *out, ash_error_t *err);
void ash_cross_stop(struct ash_cross *c, struct ash_journal *j);

#endif
