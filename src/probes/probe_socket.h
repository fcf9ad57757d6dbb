/* Where probe sockets are created: the one place a `from: HOST` probe will switch network namespace. */
#ifndef ASH_PROBES_PROBE_SOCKET_H
#define ASH_PROBES_PROBE_SOCKET_H

#include "kinds.h"

/* A close-on-exec socket for probe p, in the network namespace the probe
 * samples from. Returns the fd, or -1 with errno set. */
int ash_probe_socket(const struct ash_probe_spec *p, int domain, int type, int protocol);

/* NULL when probes of this spec can run here; otherwise why not (for open()). */
const char *ash_probe_from_unsupported(const struct ash_probe_spec *p);

#endif
