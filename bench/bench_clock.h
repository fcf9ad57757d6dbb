/* The engine benchmarks' two clocks: the process's CPU time (user + system, every
 * thread) and the monotonic wall clock, both in seconds. */
#ifndef ASH_BENCH_CLOCK_H
#define ASH_BENCH_CLOCK_H

#include "sys/clock.h"

#include <sys/resource.h>

static inline double ash_bench_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static inline double ash_bench_now_s(void)
{
    return (double)ash_now_ns() / 1e9;
}

#endif
