/* The kernel's table of listening TCP sockets (sock_diag netlink), by port. */
#ifndef ASH_SYS_SOCKDIAG_H
#define ASH_SYS_SOCKDIAG_H

#include <aftershock/error.h>
#include <stddef.h>
#include <stdint.h>

struct ash_listener {
    uint64_t inode; /* the socket's inode: /proc/PID/fd/N links to "socket:[inode]" */
    int family;     /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint16_t port; /* host order */
};

/* TCP sockets in LISTEN on `port` (IPv4 and IPv6, any address) in network
 * namespace netns_fd (-1: the caller's). Fills at most max; *n is how many. */
int ash_tcp_listeners(int netns_fd, uint16_t port, struct ash_listener *out, size_t max, size_t *n, ash_error_t *err);

#endif
