/* Where probes sample from: the harness, or a sandbox host (`from: HOST`). The
 * one place probe sockets are created, names resolved and commands entered. */
#ifndef ASH_PROBES_PROBE_SOCKET_H
#define ASH_PROBES_PROBE_SOCKET_H

#include "kinds.h"

#include <stddef.h>

struct addrinfo;
struct ash_dns;
struct ash_host;

/* The host probe p samples from: *out = NULL for the harness. Fails (class
 * usage) when `from:` names no host of the run's sandbox. */
int ash_probe_origin(struct ash_ctx *ctx, const struct ash_probe_spec *p, struct ash_host **out, ash_error_t *err);

/* A close-on-exec socket in the network namespace of `from` (NULL: the
 * harness's). The fd keeps that namespace for life, so the loop thread can
 * connect and poll it like any other. Returns the fd, or -1 with errno set. */
int ash_probe_socket(const struct ash_host *from, int domain, int type, int protocol);

/* Resolve `name` (port `port`, socket type socktype) the way a client on
 * `from` does. NULL: the harness's resolver (getaddrinfo). A host: not
 * getaddrinfo, which reads /etc/hosts of the calling thread's *mount*
 * namespace (a thread of a multithreaded process cannot enter one), but the
 * run's DNS server `dns` asked in-process as that host (so DNS faults reach
 * the probe), or without one the sandbox's own table. Every probe resolves
 * through here. On failure fills why ("resolve 'x': NXDOMAIN") and returns
 * -1. Free *out with freeaddrinfo. */
int ash_probe_resolve(const struct ash_host *from, struct ash_dns *dns, const char *name, const char *port,
                      int socktype, struct addrinfo **out, char *why, size_t len);

/* pre_exec for ash_spawn (arg: const struct ash_host *): join the host's
 * cgroups and namespaces. Async-signal-safe. */
int ash_probe_enter_host(void *host);

#endif
