/* Test target for memory-exhaustion's enomem: reads "N big" or "N small" lines
 * on stdin, mallocs N blocks (big: 1 MiB, served by mmap; small: 64 KiB, served
 * by growing the heap with brk), frees them, prints "ok A fail B" so a test
 * counts exactly which allocations failed. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    /* Fixed paths: a 1 MiB block always comes from mmap (no dynamic threshold
     * raising after a free), a 64 KiB one always from the heap, and a free
     * gives the heap back at once, so the next small block needs brk again. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TOP_PAD, 0);
    mallopt(M_TRIM_THRESHOLD, 0);
    char line[128], kind[16];
    static void *blocks[1000];
    long n;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "%ld %15s", &n, kind) != 2 || n < 0 || n > 1000)
            continue;
        size_t size = strcmp(kind, "big") == 0 ? 1 << 20 : 64 << 10;
        long ok = 0, fail = 0;
        for (long i = 0; i < n; i++) {
            blocks[i] = malloc(size);
            if (blocks[i]) {
                memset(blocks[i], 1, size);
                ok++;
            } else {
                fail++;
            }
        }
        for (long i = n - 1; i >= 0; i--)
            free(blocks[i]);
        printf("ok %ld fail %ld\n", ok, fail);
    }
    return 0;
}
