/* Test target for syscall faults: reads "N PATH" lines on stdin, does N
 * openat(PATH)+close ("N PATH fsync": opens PATH once and does N fsync on that
 * fd, for faults that select by fd_path), prints "ok A fail B errno E ns T"
 * (the last errno seen, total time) so a test counts exactly which calls failed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void)
{
    char line[4200], path[4096], op[16];
    long n;
    while (fgets(line, sizeof line, stdin)) {
        int got = sscanf(line, "%ld %4095s %15s", &n, path, op);
        if (got < 2)
            continue;
        long ok = 0, fail = 0;
        int last = 0;
        long long t0 = now_ns();
        if (got == 3 && strcmp(op, "fsync") == 0) {
            int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
            for (long i = 0; i < n; i++) {
                if (fd >= 0 && fsync(fd) == 0) {
                    ok++;
                } else {
                    fail++;
                    last = errno;
                }
            }
            if (fd >= 0)
                close(fd);
            n = 0;
        }
        for (long i = 0; i < n; i++) {
            int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                fail++;
                last = errno;
            } else {
                ok++;
                close(fd);
            }
        }
        printf("ok %ld fail %ld errno %d ns %lld\n", ok, fail, last, now_ns() - t0);
        fflush(stdout);
    }
    return 0;
}
