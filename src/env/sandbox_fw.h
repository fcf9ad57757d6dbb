/* The sandbox's egress guard: an nftables table `ash-<run>` in the root
 * namespace that drops anything forwarded from the run's gateway link (the
 * root's end of the veth to its hub, where the bridge is: the one way sandbox
 * traffic is routed anywhere) to an address outside its subnet (and into it
 * from outside), whatever ip_forward says. The hub itself routes nothing (no
 * address, no route, forwarding off on its bridge).
 * In-process through libnftables; ip_forward itself is never touched. */
#ifndef ASH_ENV_SANDBOX_FW_H
#define ASH_ENV_SANDBOX_FW_H

#include <aftershock/error.h>

/* Create table inet <table> guarding link `link` (the gateway link; a bridge in
 * runs before the hub) for subnet "a.b.c.d/len" in the calling thread's network
 * namespace. Replaces a same-named leftover. */
int ash_sandbox_fw_add(const char *table, const char *link, const char *subnet, ash_error_t *err);
/* Delete table inet <table>; a missing one is fine. */
int ash_sandbox_fw_delete(const char *table, ash_error_t *err);
/* Can nftables be used here? Makes and deletes a guard table in the calling
 * thread's namespace (call it in a throw-away one). */
int ash_sandbox_fw_probe(ash_error_t *err);

#endif
