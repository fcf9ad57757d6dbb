/* The fleet protocol's names (docs/fleet.md describes each message). */
#ifndef ASH_FLEET_PROTO_H
#define ASH_FLEET_PROTO_H

/* Bumped when a message changes meaning; the coordinator refuses another version. */
#define ASH_FLEET_PROTO 1

/* Agent -> coordinator. */
#define ASH_MSG_HELLO "hello"         /* node, version, proto, pid, t */
#define ASH_MSG_PONG "pong"           /* id, t: the agent's clock when it answered */
#define ASH_MSG_RESULT "result"       /* id, ok, error, t */
#define ASH_MSG_EVENT "event"         /* t, event, detail */
#define ASH_MSG_NO_EFFECT "no-effect" /* t, fault, why */
#define ASH_MSG_GOODBYE "goodbye"     /* why: the agent is reverting and leaving */
#define ASH_MSG_SAMPLE "sample"       /* probe, start, end, ok, detail: a probe's sample (fleet/probe_msg.h) */
/* Coordinator -> agent. Every one renews the agent's lease. */
#define ASH_MSG_PING "ping"             /* id */
#define ASH_MSG_SCENARIO "scenario"     /* id, run, name, text */
#define ASH_MSG_INJECT "inject"         /* id, fault */
#define ASH_MSG_REVERT "revert"         /* id, fault */
#define ASH_MSG_PROBE "probe"           /* id, probe, from, every_ns: start sampling (result answers) */
#define ASH_MSG_PROBE_STOP "probe-stop" /* probe: stop sampling it */
#define ASH_MSG_BYE "bye"               /* revert everything and exit 0 */
#define ASH_MSG_REFUSED "refused"       /* why: this agent is not taken (a duplicate node, another version) */

#endif
