/* Test target for memory-exhaustion's enomem: reads "N big" or "N small" lines
 * on stdin, mallocs N blocks (big: 1 MiB, served by mmap; small: 64 KiB, served
 * by growing the heap with brk), frees them, prints "ok A fail B" so a test
 * counts exactly which allocations failed. `ash_malloccount N big|small` does
 * one round and exits 1 if any allocation failed; `ash_malloccount --loop MS
 * FILE` does a round of 4 big and 4 small every MS ms, writes "ok" or "bad" to
 * FILE and prints "ALLOC-FAILED big B small S" on a failed round (a service). */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void round_of(long n, const char *kind, long *ok, long *fail)
{
    static void *blocks[1000];
    size_t size = strcmp(kind, "big") == 0 ? 1 << 20 : 64 << 10;
    *ok = *fail = 0;
    for (long i = 0; i < n; i++) {
        blocks[i] = malloc(size);
        if (blocks[i]) {
            memset(blocks[i], 1, size);
            (*ok)++;
        } else {
            (*fail)++;
        }
    }
    for (long i = n - 1; i >= 0; i--)
        free(blocks[i]);
}

int main(int argc, char **argv)
{
    /* Fixed paths: a 1 MiB block always comes from mmap (no dynamic threshold
     * raising after a free), a 64 KiB one always from the heap, and a free
     * gives the heap back at once, so the next small block needs brk again. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TOP_PAD, 0);
    mallopt(M_TRIM_THRESHOLD, 0);
    char line[128], kind[16];
    long n, ok, fail;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "--loop") == 0) {
        struct timespec pause = {.tv_sec = atol(argv[2]) / 1000, .tv_nsec = atol(argv[2]) % 1000 * 1000000};
        printf("started\n"); /* stdout's buffer exists before any fault */
        for (;;) {
            long bok, bfail, sok, sfail;
            round_of(4, "big", &bok, &bfail);
            round_of(4, "small", &sok, &sfail);
            /* open/write, not stdio: a failed round must not need memory to report it */
            int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                if (write(fd, bfail || sfail ? "bad\n" : "ok\n", bfail || sfail ? 4 : 3) < 0)
                    perror("write");
                close(fd);
            }
            if (bfail || sfail)
                printf("ALLOC-FAILED big %ld small %ld\n", bfail, sfail);
            nanosleep(&pause, NULL);
        }
    }
    if (argc == 3) {
        n = atol(argv[1]);
        if (n < 0 || n > 1000)
            return 2;
        round_of(n, argv[2], &ok, &fail);
        printf("ok %ld fail %ld\n", ok, fail);
        return fail ? 1 : 0;
    }
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "%ld %15s", &n, kind) != 2 || n < 0 || n > 1000)
            continue;
        round_of(n, kind, &ok, &fail);
        printf("ok %ld fail %ld\n", ok, fail);
    }
    return 0;
}
