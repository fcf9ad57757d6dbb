/* The guardian's decision once its harness is gone: it replays only the
 * journal its harness wrote (the header names the harness by pid and start
 * time), treats a missing or empty journal as "nothing was changed", and
 * leaves another run's journal alone. The guardian starts before the journal
 * exists, so all three cases happen. */
#include "sys/proc.h"
#include "test_run.h"

#include <aftershock/aftershock.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/ash-guardian-XXXXXX";
static char journal[128];

/* A harness that has already died: its pid and start time, the child reaped. */
static void dead_harness(pid_t *pid, char *start, size_t len)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    *pid = fork();
    ck_assert_int_ge(*pid, 0);
    if (*pid == 0) {
        char c;
        close(p[1]);
        ssize_t r = read(p[0], &c, 1); /* until the parent has read our start time */
        _exit(r == 1 ? 0 : 1);
    }
    close(p[0]);
    snprintf(start, len, "%llu", (unsigned long long)ash_proc_start_time(*pid));
    ck_assert_str_ne(start, "0");
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    close(p[1]);
    ck_assert_int_eq(waitpid(*pid, NULL, 0), *pid);
}

static void write_journal(const char *text)
{
    FILE *f = fopen(journal, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(journal, sizeof journal, "%s/r1.journal", dir);
}

static void teardown(void)
{
    unlink(journal);
    rmdir(dir);
    snprintf(dir, sizeof dir, "/tmp/ash-guardian-XXXXXX");
}

START_TEST(no_journal_nothing_to_do)
{
    pid_t pid;
    char start[32];
    dead_harness(&pid, start, sizeof start);
    ck_assert_int_eq(ash_guardian_main(journal, pid, start), 0);
    ck_assert_int_ne(access(journal, F_OK), 0);
}
END_TEST

START_TEST(own_journal_replayed)
{
    pid_t pid;
    char start[32];
    dead_harness(&pid, start, sizeof start);
    char hdr[256];
    snprintf(hdr, sizeof hdr, "{\"journal\":1,\"run\":\"r1\",\"pid\":%d,\"pid_start\":%s,\"created\":\"x\"}\n",
             (int)pid, start);
    write_journal(hdr);
    ck_assert_int_eq(ash_guardian_main(journal, pid, start), 0);
    ck_assert_msg(access(journal, F_OK) != 0, "a replayed journal with nothing pending is removed");
}
END_TEST

START_TEST(empty_journal_is_the_harness_s)
{
    /* Killed between creating the file and writing its header. */
    pid_t pid;
    char start[32];
    dead_harness(&pid, start, sizeof start);
    write_journal("");
    ck_assert_int_eq(ash_guardian_main(journal, pid, start), 0);
    ck_assert_int_ne(access(journal, F_OK), 0);
}
END_TEST

START_TEST(foreign_journal_left_alone)
{
    /* The harness could not create its journal because the name was taken:
     * the file belongs to a live run (here: this test process). Its record
     * (continue a process that is gone) would replay cleanly and remove the
     * file, were the guardian to take it. */
    pid_t pid;
    char start[32];
    dead_harness(&pid, start, sizeof start);
    char text[512];
    snprintf(text, sizeof text,
             "{\"journal\":1,\"run\":\"r1\",\"pid\":%d,\"pid_start\":%llu,\"created\":\"x\"}\n"
             "{\"id\":1,\"op\":\"proc.sigcont\",\"data\":{\"pid\":%d,\"start\":%s,\"service\":\"s\"}}\n",
             (int)getpid(), (unsigned long long)ash_proc_start_time(getpid()), (int)pid, start);
    write_journal(text);
    struct stat before, after;
    ck_assert_int_eq(stat(journal, &before), 0);
    ck_assert_int_eq(ash_guardian_main(journal, pid, start), 1);
    ck_assert_int_eq(stat(journal, &after), 0);
    ck_assert_int_eq(after.st_size, before.st_size);
    ck_assert_int_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}
END_TEST

START_TEST(untrusted_state_dir_not_replayed)
{
    /* The guardian checks the state directory as recover does, not only the journal: its own
     * journal in a directory others can write (or another user owns) is not replayed. The
     * record would continue a process that is gone: it replays cleanly and removes the file,
     * were the guardian to take it. */
    pid_t pid;
    char start[32];
    dead_harness(&pid, start, sizeof start);
    char text[512];
    snprintf(text, sizeof text,
             "{\"journal\":1,\"run\":\"r1\",\"pid\":%d,\"pid_start\":%s,\"created\":\"x\"}\n"
             "{\"id\":1,\"op\":\"proc.sigcont\",\"data\":{\"pid\":%d,\"start\":%s,\"service\":\"s\"}}\n",
             (int)pid, start, (int)pid, start);
    write_journal(text);
    ck_assert_int_eq(chmod(dir, 0777), 0);
    ck_assert_int_eq(ash_guardian_main(journal, pid, start), 1);
    ck_assert_int_eq(access(journal, F_OK), 0);
    ck_assert_int_eq(chmod(dir, 0700), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(dir, 65534, 65534), 0);
        ck_assert_int_eq(ash_guardian_main(journal, pid, start), 1);
        ck_assert_int_eq(access(journal, F_OK), 0);
        ck_assert_int_eq(chown(dir, 0, 0), 0);
    }
    /* The same journal in the directory made private again is the harness's. */
    ck_assert_int_eq(ash_guardian_main(journal, pid, start), 0);
    ck_assert_int_ne(access(journal, F_OK), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("guardian");
    TCase *tc = tcase_create("after the harness died");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, no_journal_nothing_to_do);
    tcase_add_test(tc, own_journal_replayed);
    tcase_add_test(tc, empty_journal_is_the_harness_s);
    tcase_add_test(tc, foreign_journal_left_alone);
    tcase_add_test(tc, untrusted_state_dir_not_replayed);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
