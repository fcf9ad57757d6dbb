/* Shared by the tests that run scenarios through the library. */
#ifndef ASH_TEST_UTIL_H
#define ASH_TEST_UTIL_H

#include <aftershock/aftershock.h>
#include <stdio.h>
#include <stdlib.h>

static inline const char *ash_test_build_dir(void)
{
    const char *b = getenv("ASH_BUILD_DIR");
    return b ? b : "build";
}

/* Quiet run options into run_dir/state_dir, with the real guardian watching the
 * test process: a test that dies mid-run (a failed assertion, a sanitizer
 * abort) still has its services killed and its faults reverted. */
static inline struct ash_run_options ash_test_run_options(const char *run_dir, const char *state_dir)
{
    static char guardian[4096];
    snprintf(guardian, sizeof guardian, "%s/aftershock", ash_test_build_dir());
    return (struct ash_run_options){
        .run_dir = run_dir, .state_dir = state_dir, .progress = ASH_PROGRESS_QUIET, .guardian_exe = guardian};
}

/* A parent-side guard for tests that journal what they make (add it with
 * tcase_add_unchecked_fixture, so it runs in the runner, not the forked test):
 * setup makes a directory for the tests' journals; teardown recovers whatever
 * a test that died (failed assertion, sanitizer abort, timeout) left there,
 * through the same path as `aftershock recover`. */
static char ash_test_journal_dir[64];

static inline void ash_test_guard_setup(void)
{
    snprintf(ash_test_journal_dir, sizeof ash_test_journal_dir, "/tmp/ash-journals-XXXXXX");
    if (!mkdtemp(ash_test_journal_dir))
        abort();
}

static inline void ash_test_guard_teardown(void)
{
    ash_error_t err = {0};
    if (ash_recover(ash_test_journal_dir, NULL, &err) != 0)
        fprintf(stderr, "test guard: recovering %s failed: %s\n", ash_test_journal_dir, err.msg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ash_test_journal_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test guard: cannot remove %s\n", ash_test_journal_dir);
}

#endif
