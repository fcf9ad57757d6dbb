/* Test tool: the machine's own scheduling lateness, measured beside a run. A bare
 * loop wakes every millisecond at an absolute CLOCK_MONOTONIC deadline and notes how
 * late it woke; on SIGTERM (or SIGINT) it writes one line per tick, "DUE_NS LATE_NS",
 * to OUT and exits 0. A timing test compares a run's late ticks (report.json
 * late_ticks, lined up through runs[].monotonic_ns) with what this thread, which does
 * nothing else, suffered at the same moments: lateness the machine imposed on both is
 * load, not the harness. Usage: ash_timerfloor OUT (exit 2 on usage, 1 on error). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_NS 1000000LL
#define MAX_TICKS (10 * 60 * 1000) /* ten minutes of ticks: longer than any test's run */

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: ash_timerfloor OUT\n", stderr);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: the sleep returns EINTR and the loop ends */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    long long(*ticks)[2] = calloc(MAX_TICKS, sizeof *ticks);
    if (!ticks) {
        fputs("ash_timerfloor: out of memory\n", stderr);
        return 1;
    }
    size_t n = 0;
    long long due = mono_ns() + TICK_NS;
    while (!stop && n < MAX_TICKS) {
        struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
        int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (r == EINTR)
            continue; /* stop is set */
        long long now = mono_ns();
        ticks[n][0] = due;
        ticks[n][1] = now - due;
        n++;
        /* Like the harness's own timers: the next deadline follows the schedule, and a
         * tick missed altogether is skipped, not run late in a burst. */
        due += TICK_NS;
        while (due <= now)
            due += TICK_NS;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        fprintf(stderr, "ash_timerfloor: %s: %s\n", argv[1], strerror(errno));
        free(ticks);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%lld %lld\n", ticks[i][0], ticks[i][1]);
    int bad = fclose(f) != 0;
    free(ticks);
    return bad;
}
