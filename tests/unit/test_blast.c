/* Blast radius at run time: undo records (what revert and `recover` replay) never
 * signal or move a process that merely reuses a recorded pid, and never act on a
 * record that cannot identify its process (no start time). A reused pid looks
 * exactly like a live process whose start time differs from the recorded one. */
#include "kinds.h"
#include "sys/cgroup.h"
#include "sys/proc.h"
#include "test_skip.h"
#include "test_run.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that sleeps; stopped when `stop`. */
static pid_t spawn_sleeper(bool stop)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    if (stop) {
        ck_assert_int_eq(kill(pid, SIGSTOP), 0);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, WUNTRACED), pid);
        ck_assert(WIFSTOPPED(st));
    }
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int undo(const char *op, json_t *rec, ash_error_t *err)
{
    const struct ash_undo_op *u = ash_undo_op_find(op);
    ck_assert_msg(u, "no undo op '%s'", op);
    int r = u->undo(rec, err);
    json_decref(rec);
    return r;
}

/* process fault, action stop: revert/recover send SIGCONT only to the very process stopped. */
START_TEST(sigcont_refuses_reused_pid)
{
    pid_t pid = spawn_sleeper(true);
    uint64_t start = ash_proc_start_time(pid);
    ck_assert_uint_ne(start, 0);
    ash_error_t err = {0};
    /* The recorded process is gone and another one has its pid: nothing happens. */
    ck_assert_int_eq(
        undo("proc.sigcont",
             json_pack("{s:i, s:I, s:s}", "pid", (int)pid, "start", (json_int_t)(start + 1), "service", "app"), &err),
        0);
    ck_assert_int_eq(ash_proc_state(pid), 'T');
    /* A record without a start time is refused, not treated as "any process". */
    ck_assert_int_eq(undo("proc.sigcont", json_pack("{s:i, s:s}", "pid", (int)pid, "service", "app"), &err), -1);
    ck_assert_msg(strstr(err.msg, "without a pid and start time"), "%s", err.msg);
    ck_assert_int_eq(ash_proc_state(pid), 'T');
    /* The same process: continued (the check above could have seen a SIGCONT). */
    memset(&err, 0, sizeof err);
    ck_assert_msg(undo("proc.sigcont",
                       json_pack("{s:i, s:I, s:s}", "pid", (int)pid, "start", (json_int_t)start, "service", "app"),
                       &err) == 0,
                  "%s", err.msg);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, WCONTINUED), pid);
    ck_assert(WIFCONTINUED(st));
    reap(pid);
}
END_TEST

/* The primitive every undo path uses: an unknown start time (0) is refused,
 * a different one is "gone", only the recorded one is signalled. */
START_TEST(signal_checked_needs_identity)
{
    pid_t pid = spawn_sleeper(false);
    uint64_t start = ash_proc_start_time(pid);
    ck_assert_uint_ne(start, 0);
    errno = 0;
    ck_assert_int_eq(ash_proc_signal_checked(pid, 0, SIGKILL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(ash_proc_signal_checked(pid, start + 1, SIGKILL), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_ne(ash_proc_state(pid), 0);
    /* The network relay/cross-traffic helper record goes through it too. */
    ash_error_t err = {0};
    ck_assert_int_eq(undo("network.proc", json_pack("{s:i}", "pid", (int)pid), &err), -1);
    ck_assert_int_ne(ash_proc_state(pid), 0);
    ck_assert_int_eq(ash_proc_signal_checked(pid, start, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}
END_TEST

/* memory-exhaustion's balloon: recover kills it only if it is still the balloon. */
START_TEST(balloon_kill_refuses_reused_pid)
{
    pid_t pid = spawn_sleeper(false);
    uint64_t start = ash_proc_start_time(pid);
    ash_error_t err = {0};
    ck_assert_int_eq(
        undo("memory.balloon", json_pack("{s:i, s:I}", "pid", (int)pid, "start", (json_int_t)(start + 1)), &err), 0);
    ck_assert_int_eq(undo("memory.balloon", json_pack("{s:i}", "pid", (int)pid), &err), -1);
    ck_assert_msg(strstr(err.msg, "without a pid and start time"), "%s", err.msg);
    /* Still alive: nothing was sent. */
    ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);
    ck_assert_int_ne(ash_proc_state(pid), 0);
    reap(pid);
}
END_TEST

/* Whether pid's cgroup in the v2 hierarchy is `rel` ("/ash-blast-N"). */
static bool in_v2_cgroup(pid_t pid, const char *rel)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "0::", 3) == 0 && strcmp(line + 3, rel) == 0)
            found = true;
    }
    fclose(f);
    return found;
}

/* memory-exhaustion on a host-mode service: on revert the service is moved back to
 * its original cgroup; a process that reused its pid is left where it is. */
START_TEST(own_cgroup_leaves_reused_pid_alone)
{
    struct ash_cgroup_sys sys;
    if (geteuid() != 0 || ash_cgroup_detect(NULL, &sys, NULL) < 0 || !sys.v2[0]) {
        ash_test_skip("needs root and a cgroup v2 hierarchy");
        return;
    }
    char rel[64], dir[700];
    snprintf(rel, sizeof rel, "/ash-blast-%d", (int)getpid());
    snprintf(dir, sizeof dir, "%s%s", sys.v2, rel);
    ck_assert_msg(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
    pid_t pid = spawn_sleeper(false);
    uint64_t start = ash_proc_start_time(pid);
    /* The fault's own cgroup is already gone (empty paths): only the move back is exercised. */
    json_t *none = json_pack("{s:s, s:s, s:s, s:s}", "v2", "", "memory", "", "cpu", "", "freezer", "");
    ash_error_t err = {0};
    int r = undo("memory.own-cgroup",
                 json_pack("{s:O, s:i, s:I, s:[s]}", "cgroup", none, "pid", (int)pid, "start", (json_int_t)(start + 1),
                           "back", dir),
                 &err);
    bool moved_wrong = in_v2_cgroup(pid, rel);
    /* Positive control: the recorded process itself is moved back. */
    int r2 = undo(
        "memory.own-cgroup",
        json_pack("{s:O, s:i, s:I, s:[s]}", "cgroup", none, "pid", (int)pid, "start", (json_int_t)start, "back", dir),
        &err);
    bool moved_right = in_v2_cgroup(pid, rel);
    json_decref(none);
    reap(pid);
    for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
        usleep(5000);
    ck_assert_int_eq(r, 0);
    ck_assert_msg(!moved_wrong, "a process that reused the service's pid was moved into %s", dir);
    ck_assert_msg(r2 == 0, "%s", err.msg);
    ck_assert_msg(moved_right, "the service's own process was not moved back into %s", dir);
    ck_assert_msg(access(dir, F_OK) != 0, "%s left behind", dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("blast");
    TCase *tc = tcase_create("pid-reuse");
    tcase_add_test(tc, signal_checked_needs_identity);
    tcase_add_test(tc, sigcont_refuses_reused_pid);
    tcase_add_test(tc, balloon_kill_refuses_reused_pid);
    tcase_add_test(tc, own_cgroup_leaves_reused_pid_alone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
