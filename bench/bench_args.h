/* The benchmarks' shared argument check: `-h`/`--help` prints the usage, and
 * anything that is not what the usage names is refused before the benchmark
 * starts (a stray `--help` used to be read as a repeat count of 0 and ran the
 * whole benchmark). */
#ifndef ASH_BENCH_ARGS_H
#define ASH_BENCH_ARGS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* argv[1..argc-1] against the usage: a positive count where the usage has
 * one (positions set in counts, a bit per position from 1), one of the words
 * of `words` (space-separated) elsewhere. Exits 0 after printing the usage for
 * -h/--help, 2 with the usage on stderr for anything else unexpected. */
static inline void ash_bench_args(int argc, char **argv, const char *usage, unsigned counts, const char *words)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: %s\n", usage);
            exit(0);
        }
        bool ok;
        if (counts & (1u << i)) {
            char *end;
            long v = strtol(a, &end, 10);
            ok = *a && !*end && v > 0;
        } else {
            size_t n = strlen(a);
            const char *w = words ? strstr(words, a) : NULL;
            ok = n && w && (w == words || w[-1] == ' ') && (w[n] == ' ' || w[n] == '\0');
        }
        if (!ok) {
            fprintf(stderr, "%s: unexpected argument '%s'\nusage: %s\n", argv[0], a, usage);
            exit(2);
        }
    }
}

#endif
