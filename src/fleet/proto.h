/* The fleet protocol's names (docs/fleet.md describes each message). */
#ifndef ASH_FLEET_PROTO_H
#define ASH_FLEET_PROTO_H

/* Bumped when a message changes meaning; the coordinator refuses another version. */
#define ASH_FLEET_PROTO 1

/* Agent -> coordinator. */
#define ASH_MSG_HELLO "hello"         /* node, version, proto, pid, t; targets (fleet/hello_targets.h) */
#define ASH_MSG_PONG "pong"           /* id, t: the agent's clock when it answered */
#define ASH_MSG_RESULT "result"       /* id, ok, error, t */
#define ASH_MSG_EVENT "event"         /* t, event, detail */
#define ASH_MSG_NO_EFFECT "no-effect" /* t, fault, why */
#define ASH_MSG_GOODBYE "goodbye"     /* why: the agent is reverting and leaving */
/* Coordinator -> agent. Every one renews the agent's lease. */
#define ASH_MSG_PING "ping"         /* id */
#define ASH_MSG_SCENARIO "scenario" /* id, run, name, text */
#define ASH_MSG_INJECT "inject"     /* id, fault */
#define ASH_MSG_REVERT "revert"     /* id, fault */
#define ASH_MSG_BYE "bye"           /* revert everything and exit 0 */
#define ASH_MSG_HOSTS "hosts"       /* id, subnet, vni, peers: build fleet.hosts' hosts of this node (hosts_msg.h) */
#define ASH_MSG_REFUSED "refused"   /* why: this agent is not taken (a duplicate node, another version) */

/* Probes from a node (fleet/probe_msg.h builds and checks them). */
#define ASH_MSG_PROBE "probe"           /* coordinator -> agent: id, probe, from, every_ns; result answers */
#define ASH_MSG_PROBE_STOP "probe-stop" /* coordinator -> agent: probe */
#define ASH_MSG_SAMPLE "sample"         /* agent -> coordinator: probe, start, end, ok, detail, late */

#endif
