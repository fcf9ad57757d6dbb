/* Monotonic and wall clocks in nanoseconds: every measured time comes from here. */
#ifndef ASH_SYS_CLOCK_H
#define ASH_SYS_CLOCK_H

#include <stdint.h>
#include <time.h>

#define ASH_NS_PER_MS INT64_C(1000000)
#define ASH_NS_PER_S INT64_C(1000000000)

static inline int64_t ash_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * ASH_NS_PER_S + ts.tv_nsec;
}

static inline int64_t ash_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * ASH_NS_PER_S + ts.tv_nsec;
}

static inline double ash_ns_to_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

/* Format a CLOCK_REALTIME ns value as ISO 8601 UTC with milliseconds. */
void ash_format_iso8601(int64_t wall_ns, char *buf, size_t len);
/* Compact UTC stamp for directory names: 20261122T053405Z */
void ash_format_stamp(int64_t wall_ns, char *buf, size_t len);

#endif
