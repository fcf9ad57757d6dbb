/* Watch a cgroup's memory as the kernel reports it: OOM kills the moment the
 * kernel signals them (v2 memory.events through inotify, v1 memory.oom_control
 * through cgroup.event_control + eventfd), and periodic samples of usage, limit
 * and, where present, PSI memory.pressure. Mechanism only: the caller decides
 * what an observation means (timeline events, detectors). */
#ifndef ASH_SYS_MEMWATCH_H
#define ASH_SYS_MEMWATCH_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stdint.h>

#include "sys/cgroup.h"
#include "sys/loop.h"

struct ash_memwatch;

struct ash_mem_sample {
    uint64_t usage;     /* bytes charged (v2 memory.current, v1 memory.usage_in_bytes) */
    uint64_t limit;     /* UINT64_MAX: unlimited */
    uint64_t oom_kills; /* cumulative count the kernel keeps for the cgroup */
    bool has_psi;
    double psi_some10; /* memory.pressure "some avg10" (percent) */
    double psi_full10;
};

/* `oom`: the kernel told us (eventfd/inotify readable at t) that n more processes
 * of the cgroup were OOM-killed. `sample`: a periodic reading at t. */
struct ash_memwatch_cbs {
    void (*oom)(void *arg, int64_t t, uint64_t n_new, const struct ash_mem_sample *s);
    void (*sample)(void *arg, int64_t t, const struct ash_mem_sample *s);
    /* A timer the watch needs could not be made (no memory): OOM kills would be seen late. */
    void (*failed)(void *arg, const char *why);
    void *arg;
};

/* Start watching cg. every_ns <= 0: no periodic samples. The cgroup must exist. */
int ash_memwatch_open(ash_loop *loop, const struct ash_cgroup *cg, int64_t every_ns, const struct ash_memwatch_cbs *cbs,
                      struct ash_memwatch **out, ash_error_t *err);
void ash_memwatch_close(struct ash_memwatch *w);
/* Read the counters now (no callbacks). */
int ash_mem_read(const struct ash_cgroup *cg, struct ash_mem_sample *s, ash_error_t *err);
/* "v2 memory.events (inotify)" / "v1 memory.oom_control (eventfd)": how OOM is observed. */
const char *ash_memwatch_method(const struct ash_memwatch *w);

#endif
