/* Names resolved the way a client on a probe's origin resolves them, without ever
 * blocking the loop: a container's nameserver can stop answering (Docker's embedded
 * resolver does for a killed container's name), and a wait for it on the loop thread
 * would stall every probe, fault and timer of the run. */
#ifndef ASH_PROBES_PROBE_RESOLVE_H
#define ASH_PROBES_PROBE_RESOLVE_H

#include "sys/loop.h"

#include <stddef.h>
#include <stdint.h>

struct addrinfo;
struct ash_dns;
struct ash_probe_from;
struct ash_probe_lookup;

/* What to resolve, and as whom. */
struct ash_probe_query {
    const struct ash_probe_from *from; /* NULL: the harness */
    struct ash_dns *dns;               /* the run's DNS server, or NULL */
    const char *name, *port;
    int socktype;
};

/* The answer to a query that went over the wire: ai (the callee frees it with
 * freeaddrinfo) or NULL with why ("resolve 'web' from client: no answer from
 * 127.0.0.11 within 500 ms"). Called once, from the loop. */
typedef void (*ash_probe_resolved_fn)(void *arg, struct addrinfo *ai, const char *why);

/* Resolve q->name. Returns 0 with *out when the answer is known at once, -1 with
 * why when it failed at once, 1 with *pending when a query is in flight: cb(arg, ...)
 * then comes from the loop, at `deadline` at the latest (a failure naming the
 * nameserver that did not answer), unless cancelled first.
 *   The harness: getaddrinfo. A sandbox host: not getaddrinfo, which reads /etc/hosts
 * of the calling thread's *mount* namespace (a thread of a multithreaded process
 * cannot enter one), but the run's DNS server asked in-process as that host (so DNS
 * faults reach the probe), or without one the sandbox's own table. A container (or a
 * process): its /etc/hosts, then a dns fault on it answering in-process, else one
 * query to the first nameserver of its resolv.conf on a socket made inside its network
 * namespace, read by the loop (so a redirect of its DNS answers, and a nameserver that
 * does not answer costs the sample, never the loop). Free *out with freeaddrinfo. */
int ash_probe_resolve(ash_loop *loop, const struct ash_probe_query *q, int64_t deadline, ash_probe_resolved_fn cb,
                      void *arg, struct ash_probe_lookup **pending, struct addrinfo **out, char *why, size_t len);

/* Abandon a query in flight: its socket and timer go, cb is not called. */
void ash_probe_lookup_cancel(struct ash_probe_lookup *lk);

#endif
