/* struct ash_probe_from, shared by the files that make sockets in it (probe_socket.c)
 * and resolve names as it does (probe_resolve.c). Internal to probes/. */
#ifndef ASH_PROBES_PROBE_FROM_H
#define ASH_PROBES_PROBE_FROM_H

#include "env/target.h"

struct ash_probe_from {
    struct ash_host *host; /* a sandbox host, or NULL */
    struct ash_target t;   /* else a container (or a process) with its own network namespace */
    int nsfd;
    int pid; /* its init: /proc/PID/root/etc is the resolv.conf and hosts it reads */
};

#endif
