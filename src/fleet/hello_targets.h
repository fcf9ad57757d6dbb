/* The targets an agent can see, as its hello lists them (docs/fleet.md, "What the
 * hello says"), and the coordinator's look-up in that list.
 *
 * The list is what the node's container engine answered when the agent said hello:
 * each container's id and names, cut to a size that keeps the hello small. An agent
 * without an engine lists nothing (no "targets"), and a cut list cannot say that a
 * container is absent: the look-up then answers "cannot tell" rather than guess. */
#ifndef ASH_FLEET_HELLO_TARGETS_H
#define ASH_FLEET_HELLO_TARGETS_H

#include <jansson.h>
#include <stddef.h>

/* The most the list may take in the hello, encoded. */
#define ASH_HELLO_TARGETS_MAX_BYTES (64u * 1024)

/* {"engine": ENGINE, "containers": [{"id": ID, "names": [NAME...]}...], "more": N}
 * from an engine's GET /containers/json answer (names without their leading '/');
 * entries past ASH_HELLO_TARGETS_MAX_BYTES are counted in "more", not listed.
 * NULL when out of memory or when `list` is not an array. */
json_t *ash_hello_targets(const char *engine, const json_t *list);

/* Whether the hello's list has container `name` (a name, or a prefix of an id of at
 * least 4 hex digits) reached through `endpoint` (the target's engine, NULL: the
 * agent's own). 1: listed; 0: not, and the list is whole; -1: cannot tell (no list,
 * a cut one, another engine, or a selector rather than a name). */
int ash_hello_targets_has(const json_t *hello, const char *endpoint, const char *name);

/* "web, db, ... (N more)" of the listed names, for a message. */
void ash_hello_targets_names(const json_t *hello, char *buf, size_t len);

#endif
