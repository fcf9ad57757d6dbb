/* A process that finds itself PID 1 of a PID namespace (a container's main
 * process: an agent in a Swarm task) stays there as a small supervisor and
 * goes on as its child. PID 1's death ends the namespace: the kernel kills
 * every process in it at once, so a guardian beside a PID-1 agent died with
 * it and could not revert. The supervisor forwards stop signals to the child
 * and waits for every process of the namespace (orphans are reparented to it),
 * so a killed child's guardian finishes its revert before the container ends. */
#ifndef ASH_SYS_PID1_H
#define ASH_SYS_PID1_H

#include <aftershock/error.h>

/* Not PID 1: returns 0 at once, nothing done. PID 1: forks; the child returns
 * 0 and goes on; the supervisor never returns: it exits, once no process of
 * the namespace is left, with the child's status (128 + signal if killed).
 * -1 only when the fork fails. */
int ash_pid1_supervise(ash_error_t *err);

#endif
