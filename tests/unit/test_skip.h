/* Skips that ctest sees: a test that cannot run here says why, and the binary exits 77. */
#ifndef ASH_TEST_SKIP_H
#define ASH_TEST_SKIP_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Check has no "skipped" outcome: a test that returns early is a pass, and
 * `ctest --output-on-failure` hides what it printed. So a test that cannot run
 * on this machine calls ash_test_skip("needs root (...)") and returns; the
 * reason goes to a file the runner process named before Check forked the test
 * (the constructor below runs in the runner), and main ends with
 * `return ash_test_exit(failed);`, which lists the skips and exits 77 when
 * something was skipped and nothing failed (SKIP_RETURN_CODE 77 in
 * tests/CMakeLists.txt). With ASH_SKIP_LOG set (scripts/test-all.sh), each
 * skip is also appended there as "binary: test: reason", for the summary. */
static char ash_test_skip_file[64];

__attribute__((constructor)) static void ash_test_skip_init(void)
{
    snprintf(ash_test_skip_file, sizeof ash_test_skip_file, "/tmp/ash-test-skips-%d", (int)getpid());
    unlink(ash_test_skip_file);
}

static inline void ash_test_skip_append(const char *path, const char *line)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "test skip: cannot open %s: %s\n", path, strerror(errno));
        abort(); /* a skip that cannot be recorded must not pass */
    }
    size_t n = strlen(line);
    if (write(fd, line, n) != (ssize_t)n)
        abort();
    close(fd);
}

__attribute__((format(printf, 2, 3))) static inline void ash_test_skip_at(const char *fn, const char *fmt, ...)
{
    char reason[512], line[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    /* START_TEST(name) defines name_fn */
    size_t len = strlen(fn);
    int keep = len > 3 && strcmp(fn + len - 3, "_fn") == 0 ? (int)(len - 3) : (int)len;
    snprintf(line, sizeof line, "%s: %.*s: %s\n", program_invocation_short_name, keep, fn, reason);
    printf("SKIP %s", line);
    fflush(stdout);
    ash_test_skip_append(ash_test_skip_file, line);
    const char *log = getenv("ASH_SKIP_LOG");
    if (log && *log)
        ash_test_skip_append(log, line);
}

#define ash_test_skip(...) ash_test_skip_at(__func__, __VA_ARGS__)

/* The binary's exit status: 1 if a test failed, else 77 if one skipped, else 0. */
static inline int ash_test_exit(int failed)
{
    int skipped = 0;
    FILE *f = fopen(ash_test_skip_file, "re");
    if (f) {
        char line[800];
        while (fgets(line, sizeof line, f)) {
            if (!skipped++)
                printf("skipped here:\n");
            printf("  %s", line);
        }
        fclose(f);
        unlink(ash_test_skip_file);
    }
    if (failed)
        return EXIT_FAILURE;
    return skipped ? 77 : EXIT_SUCCESS;
}

#endif
