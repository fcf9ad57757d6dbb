/* sys/pid1.h: an agent that is PID 1 of its PID namespace (a Swarm task) goes on as
 * the child of a supervisor that waits for every process of the namespace, so a
 * guardian left behind by a SIGKILLed agent finishes before the namespace ends.
 * The test makes a PID namespace of its own: its first child is PID 1 there. That
 * child calls ash_pid1_supervise; the "agent" it returns as starts a "guardian"
 * (its own session, as ash_guardian_start does) that takes 300 ms and then writes
 * a file, and is SIGKILLed from outside the namespace (as `kill` on the node
 * does). Without the supervisor the agent is PID 1, and the kernel kills the
 * guardian with it: the file never comes. Needs root (a PID namespace). */
#include "sys/clock.h"
#include "sys/pid1.h"
#include "test_util.h"
#include "test_run.h"

#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/ash-pid1-XXXXXX";
static int ready[2] = {-1, -1}; /* the agent says it is up; the outside then kills it */
static bool term_pid1;          /* ... or sends PID 1 a SIGTERM instead */

/* The pid (in the caller's view) of the process named "ash-agent": PID 1 itself or
 * one of its children. */
static pid_t find_agent(pid_t p1)
{
    char path[96], comm[32];
    pid_t cands[64];
    size_t n = 0;
    cands[n++] = p1;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)p1, (int)p1);
    FILE *f = fopen(path, "r");
    int c;
    while (f && n < 64 && fscanf(f, "%d", &c) == 1)
        cands[n++] = c;
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/proc/%d/comm", (int)cands[i]);
        FILE *g = fopen(path, "r");
        if (g && fgets(comm, sizeof comm, g) && strncmp(comm, "ash-agent", 9) == 0) {
            fclose(g);
            return cands[i];
        }
        if (g)
            fclose(g);
    }
    return -1;
}

/* PID 1 of a new PID namespace runs fn; returns its wait status and how long it took. */
static int in_pidns(void (*fn)(const char *), const char *path, int64_t *took)
{
    int64_t t0 = ash_now_ns();
    pid_t outer = fork(); /* the test's own process must not change its namespace for children */
    ck_assert_int_ge(outer, 0);
    if (outer == 0) {
        if (unshare(CLONE_NEWPID) != 0)
            _exit(70);
        pid_t p1 = fork();
        if (p1 < 0)
            _exit(71);
        if (p1 == 0) {
            fn(path);
            _exit(72);
        }
        if (ready[0] >= 0) { /* kill the agent from outside once it is up */
            char r;
            if (read(ready[0], &r, 1) != 1)
                _exit(77);
            pid_t a = term_pid1 ? p1 : find_agent(p1);
            if (a < 0 || kill(a, term_pid1 ? SIGTERM : SIGKILL) != 0)
                _exit(78);
        }
        int st;
        if (waitpid(p1, &st, 0) != p1)
            _exit(73);
        /* Pass PID 1's status up: 128+sig when killed, as a shell would. */
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    int st;
    ck_assert_int_eq(waitpid(outer, &st, 0), outer);
    *took = ash_now_ns() - t0;
    ck_assert_msg(WIFEXITED(st), "status %d", st);
    return WEXITSTATUS(st);
}

static void agent_killed_with_guardian(const char *path)
{
    ck_assert_int_eq(getpid(), 1);
    ash_error_t err = {0};
    if (ash_pid1_supervise(&err) < 0)
        _exit(74);
    /* Here: the agent, no longer PID 1 when the supervisor took that place. */
    prctl(PR_SET_NAME, "ash-agent");
    pid_t g = fork();
    if (g == 0) {
        prctl(PR_SET_NAME, "ash-guardian");
        setsid();
        usleep(300 * 1000);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        _exit(fd >= 0 && write(fd, "reverted\n", 9) == 9 ? 0 : 75);
    }
    if (write(ready[1], "r", 1) != 1)
        _exit(79);
    for (;;)
        pause();
}

START_TEST(guardian_outlives_a_killed_pid1_agent)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (a PID namespace of its own)");
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/done", dir);
    int64_t took = 0;
    ck_assert_int_eq(pipe(ready), 0);
    int code = in_pidns(agent_killed_with_guardian, path, &took);
    close(ready[0]);
    close(ready[1]);
    ready[0] = ready[1] = -1;
    /* The supervisor exits with the agent's status, after the guardian finished. */
    ck_assert_int_eq(code, 128 + SIGKILL);
    ck_assert_msg(access(path, F_OK) == 0, "the guardian was killed with the agent (no file after %.0f ms)",
                  ash_ns_to_ms(took));
    ck_assert_msg(took >= 300 * ASH_NS_PER_MS, "ended after %.0f ms, before the guardian's 300 ms", ash_ns_to_ms(took));
    unlink(path);
}
END_TEST

static void forwards_term(const char *path)
{
    ash_error_t err = {0};
    if (ash_pid1_supervise(&err) < 0)
        _exit(74);
    /* The agent: no longer PID 1, and SIGTERM sent to PID 1 (as `docker stop`
     * does, from outside the namespace) reaches it only through the supervisor. */
    (void)path;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (getpid() == 1)
        _exit(76);
    prctl(PR_SET_NAME, "ash-agent");
    if (write(ready[1], "r", 1) != 1)
        _exit(79);
    int sig = 0;
    sigwait(&set, &sig);
    _exit(sig == SIGTERM ? 42 : 77);
}

START_TEST(stop_signals_reach_the_agent)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (a PID namespace of its own)");
        return;
    }
    int64_t took = 0;
    ck_assert_int_eq(pipe(ready), 0);
    term_pid1 = true;
    int code = in_pidns(forwards_term, NULL, &took);
    term_pid1 = false;
    close(ready[0]);
    close(ready[1]);
    ready[0] = ready[1] = -1;
    ck_assert_int_eq(code, 42);
}
END_TEST

static void not_pid1(void)
{
    ash_error_t err = {0};
    pid_t me = getpid();
    ck_assert_int_ne(me, 1);
    ck_assert_int_eq(ash_pid1_supervise(&err), 0);
    ck_assert_int_eq(getpid(), me); /* nothing forked */
}

START_TEST(not_pid1_does_nothing)
{
    not_pid1();
}
END_TEST

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    rmdir(dir);
}

int main(void)
{
    Suite *s = suite_create("pid1");
    TCase *tc = tcase_create("pid1");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, guardian_outlives_a_killed_pid1_agent);
    tcase_add_test(tc, stop_signals_reach_the_agent);
    tcase_add_test(tc, not_pid1_does_nothing);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return ash_test_exit(failed);
}
