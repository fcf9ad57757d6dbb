/* Transmit checksum offload of an interface in any namespace (SIOCETHTOOL).
 * Frames a userspace relay copies must carry complete checksums; turning TX
 * checksumming off also turns TSO off, so frames stay within the MTU. */
#ifndef ASH_NET_OFFLOAD_H
#define ASH_NET_OFFLOAD_H

#include <aftershock/error.h>
#include <stdbool.h>

int ash_txcsum_get(int netns_fd, const char *ifname, bool *on, ash_error_t *err);
int ash_txcsum_set(int netns_fd, const char *ifname, bool on, ash_error_t *err);

#endif
