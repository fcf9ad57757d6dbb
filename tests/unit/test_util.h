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

#endif
