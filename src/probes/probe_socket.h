/* Where probes sample from: the harness, a sandbox host (`from: HOST`), or a container
 * (`from: container:NAME`, inside its network namespace). The one place probe sockets
 * are created and commands entered (names are resolved in probe_resolve.h). */
#ifndef ASH_PROBES_PROBE_SOCKET_H
#define ASH_PROBES_PROBE_SOCKET_H

#include "kinds.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct ash_host;
struct ash_probe_from;

/* Where probe p samples from: *out = NULL for the harness. Fails (class usage) when
 * `from:` names no host of the run's sandbox; (class environment) when the container
 * it names is not there or shares the machine's network. Free with ash_probe_from_free. */
int ash_probe_origin(struct ash_ctx *ctx, const struct ash_probe_spec *p, struct ash_probe_from **out,
                     ash_error_t *err);
void ash_probe_from_free(struct ash_probe_from *from);
/* `from:` names a container or process (container:NAME, process:...), not a sandbox host. */
static inline bool ash_probe_from_is_target(const char *from)
{
    return strncmp(from, "container:", 10) == 0 || strncmp(from, "process:", 8) == 0;
}
/* The directory holding the resolv.conf and hosts `from` reads. */
const char *ash_probe_from_etc(const struct ash_probe_from *from, char *buf, size_t len);

/* A close-on-exec socket in the network namespace of `from` (NULL: the
 * harness's). The fd keeps that namespace for life, so the loop thread can
 * connect and poll it like any other. Returns the fd, or -1 with errno set. */
int ash_probe_socket(const struct ash_probe_from *from, int domain, int type, int protocol);

/* pre_exec for ash_spawn (arg: const struct ash_probe_from *): join the host's
 * cgroups and namespaces, or the container's network namespace (the command is the
 * harness's, not one of the container's files). Async-signal-safe. */
int ash_probe_enter_host(void *host);

#endif
