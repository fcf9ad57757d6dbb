/* A process's state as the kernel shows it, for tests that stop and continue one. */
#ifndef ASH_TEST_PROC_H
#define ASH_TEST_PROC_H

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* The state letter from /proc/PID/stat ('T' when stopped). */
static inline char ash_test_proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    ck_assert_ptr_nonnull(p);
    return p[2];
}

#endif
