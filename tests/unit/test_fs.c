/* ash_fd_table_reserve: the descriptor table grows at once, and nothing stays open. */
#include "sys/fs.h"
#include "test_run.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The table's size, as the kernel says it (FDSize in /proc/self/status). */
static long fd_table_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    long size = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "FDSize:", 7) == 0)
            size = strtol(line + 7, NULL, 10);
    fclose(f);
    ck_assert_int_gt(size, 0);
    return size;
}

static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    close(fd);
    return fd;
}

START_TEST(grows_the_table_in_one_step)
{
    int low = lowest_free_fd();
    /* Room for 4000 more under the limit (a soft limit of 1024 is common): as
     * far as the hard limit allows; the table grows up to the limit at most. */
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t need = (rlim_t)low + 4001;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    long want = (long)(rl.rlim_cur < need ? rl.rlim_cur - 1 : need - 1); /* the highest fd it may open */
    ck_assert_int_gt(want, 64);
    ck_assert_int_le(fd_table_size(), want); /* a fresh test process: room left to grow */
    ash_fd_table_reserve(4000);
    ck_assert_int_gt(fd_table_size(), want);
    ck_assert_int_eq(lowest_free_fd(), low); /* nothing left open */
}
END_TEST

START_TEST(capped_by_the_descriptor_limit)
{
    /* In a child: the limit is lowered for good. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {.rlim_cur = 200, .rlim_max = 200};
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            _exit(2);
        int low = lowest_free_fd();
        ash_fd_table_reserve(100000);
        long size = fd_table_size();
        /* Grown as far as the limit lets it (the table is a power of two, at least 256). */
        _exit(size >= 200 && size <= 256 && lowest_free_fd() == low ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fs");
    TCase *tc = tcase_create("fd_table");
    tcase_add_test(tc, grows_the_table_in_one_step);
    tcase_add_test(tc, capped_by_the_descriptor_limit);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
