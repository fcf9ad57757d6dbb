/* Test tool: the machine's own scheduling lateness, measured beside a run. A bare
 * loop wakes at absolute CLOCK_MONOTONIC deadlines (every INTERVAL_MS, default 1) and
 * notes how late it woke; with PORT it then does what a tcp probe's sample does (a
 * connect to 127.0.0.1:PORT, closed at once), so its thread is as busy between ticks as
 * the harness's. On SIGTERM (or SIGINT) it writes one line per tick, "DUE_NS LATE_NS",
 * to OUT and exits 0. A timing test compares a run's late ticks (report.json
 * late_ticks, runs[].monotonic_ns) with what this loop, which runs none of the
 * harness's code, suffered in the same run: lateness the machine imposed on both is
 * load, not the harness. Usage: ash_timerfloor OUT [INTERVAL_MS [PORT]] (exit 2 on
 * usage, 1 on error). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAX_TICKS (10 * 60 * 1000) /* ten minutes of 1 ms ticks: longer than any test's run */

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
    long long tick_ns = (argc > 2 ? atoll(argv[2]) : 1) * 1000000LL;
    int port = argc > 3 ? atoi(argv[3]) : 0;
    if (argc < 2 || argc > 4 || tick_ns <= 0 || port < 0 || port > 65535) {
        fputs("usage: ash_timerfloor OUT [INTERVAL_MS [PORT]]\n", stderr);
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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
    long long due = mono_ns() + tick_ns;
    while (!stop && n < MAX_TICKS) {
        struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
        int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (r == EINTR)
            continue; /* stop is set */
        long long now = mono_ns();
        ticks[n][0] = due;
        ticks[n][1] = now - due;
        n++;
        if (port) { /* the sample's work; its outcome does not matter, only the time it takes */
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd >= 0) {
                (void)connect(fd, (const struct sockaddr *)&to, sizeof to);
                close(fd);
            }
        }
        /* Like the harness's own timers: the next deadline follows the schedule, and a
         * tick missed altogether is skipped, not run late in a burst. */
        due += tick_ns;
        while (due <= now)
            due += tick_ns;
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
