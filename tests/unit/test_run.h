/* Every test binary's runner: one place for what each main did by hand. */
#ifndef ASH_TEST_RUN_H
#define ASH_TEST_RUN_H

#include <check.h>

/* Runs every test of suite s, each in a forked child (Check's default, which
 * CK_FORK=no in the environment turns off) unless fork is CK_NOFORK (for
 * tests that must share the runner's state), and returns how many
 * failed; main turns that into its status (ash_test_exit in test_skip.h
 * where a test can skip). */
static inline int ash_test_failures(Suite *s, enum fork_status fork)
{
    SRunner *sr = srunner_create(s);
    if (fork == CK_NOFORK)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

#endif
