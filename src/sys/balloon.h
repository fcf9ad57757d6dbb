/* The memory balloon: a helper process, started inside a cgroup, that allocates
 * and touches memory at a given rate up to a size, holds it, and reports its
 * real progress to the harness over a pipe. It runs as `aftershock __balloon
 * SIZE RATE` (a re-exec of the harness binary, joined to the target cgroup
 * before exec, so not one page it touches is charged anywhere else).
 * Protocol on its stdout, one line each: "at BYTES NS" while growing (every
 * ~50 ms), "full BYTES NS" once the size is reached (then it pauses forever);
 * NS is the time since it started allocating. */
#ifndef ASH_SYS_BALLOON_H
#define ASH_SYS_BALLOON_H

#include <aftershock/aftershock.h> /* ash_error_t; the public entry points this file defines */
#include <stdbool.h>
#include <stdint.h>

#include "sys/cgroup.h"
#include "sys/loop.h"
#include "sys/proc.h"

struct ash_balloon;

struct ash_balloon_cbs {
    void (*progress)(void *arg, int64_t t, uint64_t bytes);
    /* Reached the size: `took_ns` as the balloon measured it. */
    void (*full)(void *arg, int64_t t, uint64_t bytes, int64_t took_ns);
    /* The balloon died (an OOM kill, typically) holding `bytes`. */
    void (*gone)(void *arg, int64_t t, uint64_t bytes, int status);
    void *arg;
};

/* Executable that understands `__balloon` (default /proc/self/exe). */
void ash_balloon_set_exe(const char *path);
/* Start a balloon in cg (NULL: the caller's own cgroup). rate 0: as fast as it can. */
int ash_balloon_start(ash_loop *loop, const struct ash_cgroup *cg, uint64_t size, uint64_t rate_bytes_s,
                      const struct ash_balloon_cbs *cbs, struct ash_balloon **out, ash_error_t *err);
pid_t ash_balloon_pid(const struct ash_balloon *b);
uint64_t ash_balloon_start_time(const struct ash_balloon *b);
uint64_t ash_balloon_bytes(const struct ash_balloon *b); /* last reported */
bool ash_balloon_alive(const struct ash_balloon *b);
/* SIGKILL, reap, free (the kernel frees its memory). NULL is fine. */
void ash_balloon_free(struct ash_balloon *b);

/* ash_balloon_main, the body of `aftershock __balloon`, is public (<aftershock/aftershock.h>). */

#endif
