/* `aftershock agent`: one node's end of the fleet. Connects out to the coordinator, applies the
 * faults it is sent through the same kinds as a local run, and reverts them when its lease lapses. */
#ifndef ASH_FLEET_AGENT_H
#define ASH_FLEET_AGENT_H

#include <aftershock/aftershock.h>
#include <stdint.h>

/* struct ash_agent_opts and ash_agent_run are public (the CLI's `agent`). */
#define ASH_AGENT_LEASE_NS (INT64_C(3) * 1000000000)

#endif
