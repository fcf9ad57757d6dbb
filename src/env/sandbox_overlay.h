/* fleet: the sandbox's bridges on several machines joined into one layer-2
 * segment by a kernel VXLAN (unicast: a static flood entry per peer machine),
 * so that hosts an agent builds (fleet.hosts) reach the hosts built here, and
 * this run's gateway (its DNS server, "aftershock"), at the same addresses. */
#ifndef ASH_ENV_SANDBOX_OVERLAY_H
#define ASH_ENV_SANDBOX_OVERLAY_H

#include <aftershock/error.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/journal.h"

struct ash_overlay;

/* The VXLAN's name for sandbox run `run_id` ("ashx" + the id: 15 characters at most). */
void ash_overlay_name(const char *run_id, char *buf, size_t len);
/* The VNI every machine of one fleet run uses: from the coordinator's run id. */
uint32_t ash_overlay_vni(const char *run_id);

/* Where the sandbox's bridge is: passed in, not asked of the sandbox, because
 * the sandbox's undo table calls into this file (no call cycle between the two). */
struct ash_overlay_hub {
    const char *bridge; /* "ash-<run>" */
    const char *netns;  /* the hub's name under /run/netns */
    int fd;             /* the hub namespace (duplicated here, not taken) */
};

/* Journal, then make the VXLAN `ashx<run_id>` (vni, UDP 4789 from `local` on
 * this machine's network), a port of the hub's bridge, flooding to each of
 * peers (IPv4, network byte order). */
int ash_overlay_create(const char *run_id, const struct ash_overlay_hub *hub, uint32_t vni, uint32_t local,
                       const uint32_t *peers, size_t n_peers, struct ash_journal *j, struct ash_overlay **out,
                       ash_error_t *err);
/* Delete it (before its bridge) and mark its record done. NULL is fine. */
void ash_overlay_destroy(struct ash_overlay *o);

/* Undo op "sandbox.overlay": {"link": "ashx...", "netns": hub} (no "netns": here). */
int ash_overlay_undo(json_t *rec, ash_error_t *err);

#endif
