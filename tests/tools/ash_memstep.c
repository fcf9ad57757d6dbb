/* Test target: allocate and touch memory in steps, printing the total after
 * each step ("at 12\n", MiB), so a test sees exactly where a limit stopped it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The blocks escape through this volatile pointer: without it clang removes the
 * malloc+memset of memory that is never read, and nothing is ever charged. */
static char *volatile escape;

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ash_memstep STEP_MIB MAX_MIB\n");
        return 2;
    }
    long step = atol(argv[1]), max = atol(argv[2]);
    setvbuf(stdout, NULL, _IONBF, 0);
    for (long have = step; have <= max; have += step) {
        char *p = malloc((size_t)step << 20);
        if (!p) {
            printf("enomem %ld\n", have - step);
            return 1;
        }
        memset(p, 1, (size_t)step << 20); /* touched: charged to the cgroup */
        escape = p;
        printf("at %ld\n", have);
    }
    printf("done\n");
    pause();
    return 0;
}
