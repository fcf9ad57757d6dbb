/* Test tool: send a signal and print the CLOCK_MONOTONIC instants just before
 * and just after kill() ("BEFORE AFTER\n", ns), so a script can compare when
 * the signal was sent with a run's own monotonic anchors (report.json
 * runs[].monotonic_ns). Exit 0 if kill() succeeded, 1 if not, 2 on usage. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ash_signal SIGNUM PID\n");
        return 2;
    }
    char *end;
    long sig = strtol(argv[1], &end, 10);
    long pid = *end ? 0 : strtol(argv[2], &end, 10);
    if (*end || sig <= 0 || sig >= 65 || pid <= 0) {
        fprintf(stderr, "ash_signal: bad signal number or pid\n");
        return 2;
    }
    long long before = mono_ns();
    int r = kill((pid_t)pid, (int)sig);
    int e = errno;
    long long after = mono_ns();
    printf("%lld %lld\n", before, after);
    if (r < 0) {
        fprintf(stderr, "ash_signal: kill %ld %ld: %s\n", sig, pid, strerror(e));
        return 1;
    }
    return 0;
}
