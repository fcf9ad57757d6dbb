/* The "hosts" message (coordinator -> agent): build the sandbox hosts that
 * fleet.hosts places on your node, in this /24, joined to the others by a
 * VXLAN with this VNI flooding to these machines (docs/fleet.md, "Hosts on nodes"). */
#ifndef ASH_FLEET_HOSTS_MSG_H
#define ASH_FLEET_HOSTS_MSG_H

#include <aftershock/error.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ASH_HOSTS_MSG_PEERS 64 /* the coordinator and the nodes with hosts, at most */

struct ash_hosts_msg {
    uint32_t subnet;                     /* network byte order, a /24; its .1 is the coordinator's gateway */
    uint32_t vni;                        /* 1..2^24-1 */
    uint32_t peers[ASH_HOSTS_MSG_PEERS]; /* IPv4, network byte order: every machine of the overlay */
    size_t n_peers;
};

/* The sandbox id node's part of run run_id is built under ("n" + 10 hex digits):
 * its namespaces are ash-ID-HOST, its bridge ash-ID, its cgroups ash-ID/HOST. */
void ash_hosts_sandbox_id(const char *run_id, const char *node, char *buf, size_t len);
json_t *ash_hosts_msg(const struct ash_hosts_msg *m);
int ash_hosts_msg_parse(const json_t *msg, struct ash_hosts_msg *out, ash_error_t *err);

#endif
