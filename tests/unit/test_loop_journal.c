/* The event loop (timers in order and on time, fds, cancellation, signals) and the undo journal. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/loop.h"
#include "test_run.h"

struct order {
    int seen[8];
    int n;
    int64_t fired_at[8];
};

static int64_t record(ash_loop *l, int64_t now, void *data)
{
    struct order *o = data;
    o->fired_at[o->n] = ash_now_ns();
    o->seen[o->n++] = 1;
    return ASH_TIMER_DONE;
}

START_TEST(timers_fire_on_time)
{
    ash_loop *l;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&l, &err), 0);
    struct order o = {0};
    int64_t t0 = ash_now_ns();
    ash_loop_add_timer(l, t0 + 30 * ASH_NS_PER_MS, record, &o);
    ash_loop_add_timer(l, t0 + 10 * ASH_NS_PER_MS, record, &o);
    ash_timer *c = ash_loop_add_timer(l, t0 + 20 * ASH_NS_PER_MS, record, &o);
    ash_loop_cancel_timer(l, c);
    ck_assert_int_eq(ash_loop_run(l, &err), 0);
    ck_assert_int_eq(o.n, 2);
    /* Never early; late by less than 2 ms on an idle machine (timerfd + 1 ns slack). */
    ck_assert_int_ge(o.fired_at[0], t0 + 10 * ASH_NS_PER_MS);
    ck_assert_int_lt(o.fired_at[0], t0 + 12 * ASH_NS_PER_MS);
    ck_assert_int_ge(o.fired_at[1], t0 + 30 * ASH_NS_PER_MS);
    ash_loop_free(l);
}
END_TEST

struct periodic {
    int count;
    int64_t every;
};

static int64_t tick(ash_loop *l, int64_t now, void *data)
{
    struct periodic *p = data;
    if (++p->count == 5)
        return ASH_TIMER_DONE;
    return now + p->every;
}

START_TEST(periodic_timer_and_run_until_deadline)
{
    ash_loop *l;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&l, &err), 0);
    struct periodic p = {.every = 5 * ASH_NS_PER_MS};
    ash_loop_add_timer(l, ash_now_ns(), tick, &p);
    bool flag = false;
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(ash_loop_run_until(l, &flag, t0 + 100 * ASH_NS_PER_MS, &err), 0);
    ck_assert_int_eq(p.count, 5);
    ck_assert_int_ge(ash_now_ns() - t0, 100 * ASH_NS_PER_MS);
    ash_loop_free(l);
}
END_TEST

static void on_readable(ash_loop *l, int fd, uint32_t ev, void *data)
{
    char c;
    ck_assert_int_eq(read(fd, &c, 1), 1);
    *(char *)data = c;
    ash_loop_del_fd(l, fd);
}

START_TEST(fd_events)
{
    ash_loop *l;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&l, &err), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    char got = 0;
    ck_assert_int_eq(ash_loop_add_fd(l, p[0], EPOLLIN, on_readable, &got, &err), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(ash_loop_run(l, &err), 0); /* returns: no fd, no timer left */
    ck_assert_int_eq(got, 'x');
    close(p[0]);
    close(p[1]);
    ash_loop_free(l);
}
END_TEST

static void on_sig(ash_loop *l, int signo, void *data)
{
    *(int *)data = signo;
    ash_loop_stop(l);
}

static int64_t raise_usr1(ash_loop *l, int64_t now, void *data)
{
    raise(SIGUSR1);
    return ASH_TIMER_DONE;
}

START_TEST(signals_through_loop)
{
    ash_loop *l;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&l, &err), 0);
    int got = 0;
    ck_assert_int_eq(ash_loop_add_signal(l, SIGUSR1, on_sig, &got, &err), 0);
    ash_loop_add_timer(l, ash_now_ns() + ASH_NS_PER_MS, raise_usr1, NULL);
    bool flag = false;
    ck_assert_int_eq(ash_loop_run_until(l, &flag, ash_now_ns() + ASH_NS_PER_S, &err), 0);
    ck_assert_int_eq(got, SIGUSR1);
    ash_loop_free(l);
}
END_TEST

static char undone[8][32];
static int n_undone;

static int undo_cb(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err)
{
    (void)committed;
    if (strcmp(op, "fail") == 0)
        return ash_error(err, 0, "cannot");
    snprintf(undone[n_undone++], sizeof undone[0], "%s:%lld", op,
             (long long)json_integer_value(json_object_get(data, "n")));
    return 0;
}

START_TEST(journal_replays_pending_newest_first)
{
    char dir[] = "/tmp/ash-journal-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct ash_journal *j;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_journal_open(dir, "t1", &j, &err), 0);
    uint64_t id[3];
    for (int i = 0; i < 3; i++) {
        json_t *d = json_pack("{s:i}", "n", i);
        ck_assert_int_eq(ash_journal_append(j, "op", d, &id[i], &err), 0);
        json_decref(d);
    }
    ck_assert_int_eq(ash_journal_done(j, id[1], &err), 0);
    ck_assert_uint_eq(ash_journal_pending(j), 2);
    char path[256];
    snprintf(path, sizeof path, "%s", ash_journal_path(j));
    /* Simulate a crash: the journal is not closed cleanly; a torn line follows. */
    FILE *f = fopen(path, "a");
    fputs("{\"id\":9,\"op\":\"op\",\"da", f);
    fclose(f);
    struct ash_journal_info info;
    ck_assert_int_eq(ash_journal_inspect(path, &info, &err), 0);
    ck_assert_uint_eq(info.pending, 2);
    ck_assert(info.owner_alive); /* we wrote it and we are alive */
    n_undone = 0;
    ck_assert_int_eq(ash_journal_replay(path, undo_cb, NULL, NULL, &err), 0);
    ck_assert_int_eq(n_undone, 2);
    ck_assert_str_eq(undone[0], "op:2");
    ck_assert_str_eq(undone[1], "op:0");
    ck_assert_int_ne(access(path, F_OK), 0); /* removed once everything was undone */
    ash_journal_close(j, false);
    rmdir(dir);
}
END_TEST

/* Records appended and marked done several at a time (one fsync each way):
 * the same lines, in the same order, as one at a time. */
START_TEST(journal_appends_and_marks_in_batches)
{
    char dir[] = "/tmp/ash-journal-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct ash_journal *j;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_journal_open(dir, "t5", &j, &err), 0);
    const char *ops[] = {"op", "op", "op", "op"};
    json_t *data[4];
    for (int i = 0; i < 4; i++)
        data[i] = json_pack("{s:i}", "n", i);
    uint64_t id[4] = {0}, first;
    json_t *d0 = json_pack("{s:i}", "n", 9);
    ck_assert_int_eq(ash_journal_append(j, "op", d0, &first, &err), 0);
    json_decref(d0);
    ck_assert_int_eq(ash_journal_append_many(j, ops, data, 4, id, &err), 0);
    for (int i = 0; i < 4; i++) {
        json_decref(data[i]);
        ck_assert_uint_eq(id[i], first + 1 + (uint64_t)i);
    }
    ck_assert_uint_eq(ash_journal_pending(j), 5);
    uint64_t done[] = {id[0], id[2]};
    ck_assert_int_eq(ash_journal_done_many(j, done, 2, &err), 0);
    ck_assert_uint_eq(ash_journal_pending(j), 3);
    char path[256];
    snprintf(path, sizeof path, "%s", ash_journal_path(j));
    n_undone = 0;
    ck_assert_int_eq(ash_journal_replay(path, undo_cb, NULL, NULL, &err), 0);
    ck_assert_int_eq(n_undone, 3);
    ck_assert_str_eq(undone[0], "op:3");
    ck_assert_str_eq(undone[1], "op:1");
    ck_assert_str_eq(undone[2], "op:9");
    ash_journal_close(j, false);
    rmdir(dir);
}
END_TEST

START_TEST(journal_keeps_failed_records)
{
    char dir[] = "/tmp/ash-journal-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct ash_journal *j;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_journal_open(dir, "t2", &j, &err), 0);
    json_t *d = json_pack("{s:i}", "n", 1);
    ck_assert_int_eq(ash_journal_append(j, "fail", d, NULL, &err), 0);
    ck_assert_int_eq(ash_journal_append(j, "op", d, NULL, &err), 0);
    json_decref(d);
    char path[256];
    snprintf(path, sizeof path, "%s", ash_journal_path(j));
    ash_journal_close(j, true); /* pending: must not be removed */
    ck_assert_int_eq(access(path, F_OK), 0);
    n_undone = 0;
    ck_assert_int_eq(ash_journal_replay(path, undo_cb, NULL, NULL, &err), 1);
    struct ash_journal_info info;
    ck_assert_int_eq(ash_journal_inspect(path, &info, &err), 0);
    ck_assert_uint_eq(info.pending, 1); /* only the failed one is left for a later recover */
    unlink(path);
    rmdir(dir);
}
END_TEST

/* A journal is a list of commands recover runs as root: a state directory or a journal that
 * another user could have written is refused before a single record is read. */
START_TEST(journal_refuses_untrusted_state)
{
    char dir[] = "/tmp/ash-journal-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ash_error_t err = {0};
    char **paths = NULL;
    size_t n = 0;
    ck_assert_int_eq(ash_journal_check_state_dir(dir, &err), 0);

    /* A world-writable state directory: nothing is listed, nothing is created. */
    ck_assert_int_eq(chmod(dir, 01777), 0);
    ck_assert_int_lt(ash_journal_list(dir, &paths, &n, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "writable by group or others"));
    struct ash_journal *j = NULL;
    ck_assert_int_lt(ash_journal_open(dir, "t3", &j, &err), 0);
    ck_assert_int_eq(chmod(dir, 0700), 0);

    /* A journal owned by someone else (as a local user would plant it). */
    char path[256];
    snprintf(path, sizeof path, "%s/evil.journal", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"journal\":1,\"run\":\"evil\",\"pid\":1,\"pid_start\":1}\n", f);
    fclose(f);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        struct ash_journal_info info;
        ck_assert_int_lt(ash_journal_inspect(path, &info, &err), 0);
        ck_assert_ptr_nonnull(strstr(err.msg, "owned by uid 65534"));
        ck_assert_int_eq(chown(path, 0, 0), 0);
    }
    /* Ours but writable by others. */
    ck_assert_int_eq(chmod(path, 0666), 0);
    struct ash_journal_info info;
    ck_assert_int_lt(ash_journal_inspect(path, &info, &err), 0);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(ash_journal_inspect(path, &info, &err), 0);
    unlink(path);

    /* A symlink in place of a journal, and a symlink in place of the state directory. */
    ck_assert_int_eq(symlink("/etc/hostname", path), 0);
    ck_assert_int_lt(ash_journal_inspect(path, &info, &err), 0);
    unlink(path);
    char link[300];
    snprintf(link, sizeof link, "%s-link", dir);
    ck_assert_int_eq(symlink(dir, link), 0);
    ck_assert_int_lt(ash_journal_check_state_dir(link, &err), 0);
    unlink(link);
    rmdir(dir);
}
END_TEST

static int committed_seen[4];

static int commit_cb(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err)
{
    (void)op;
    (void)arg;
    (void)err;
    committed_seen[json_integer_value(json_object_get(data, "n"))] = committed ? 1 : -1;
    return 0;
}

/* Only records the header listed at open time replay as committed: one appended with other
 * data, or one of the same data under another op, does not. */
START_TEST(journal_header_commits_records)
{
    char dir[] = "/tmp/ash-journal-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ash_error_t err = {0};
    json_t *commit = json_pack("[{s:s, s:{s:i}}]", "op", "x", "data", "n", 1);
    struct ash_journal *j;
    ck_assert_int_eq(ash_journal_open_committed(dir, "t4", commit, &j, &err), 0);
    json_decref(commit);
    for (int n = 1; n <= 3; n++) {
        json_t *d = json_pack("{s:i}", "n", n);
        ck_assert_int_eq(ash_journal_append(j, n == 3 ? "y" : "x", d, NULL, &err), 0);
        json_decref(d);
    }
    char path[256];
    snprintf(path, sizeof path, "%s", ash_journal_path(j));
    ash_journal_close(j, false);
    memset(committed_seen, 0, sizeof committed_seen);
    ck_assert_int_eq(ash_journal_replay(path, commit_cb, NULL, NULL, &err), 0);
    ck_assert_int_eq(committed_seen[1], 1);
    ck_assert_int_eq(committed_seen[2], -1);
    ck_assert_int_eq(committed_seen[3], -1);
    rmdir(dir);
}
END_TEST

/* A state directory owned by another user is refused as a whole: nothing is listed, created or
 * replayed in it, whatever its journals look like. */
START_TEST(journal_refuses_state_dir_of_another_user)
{
    if (geteuid() != 0)
        return; /* only root can give a directory away */
    char dir[] = "/tmp/ash-journal-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/r.journal", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"journal\":1,\"run\":\"r\",\"pid\":1,\"pid_start\":1}\n{\"id\":1,\"op\":\"op\",\"data\":{\"n\":1}}\n", f);
    fclose(f);
    ck_assert_int_eq(chown(dir, 65534, 65534), 0);
    ash_error_t err = {0};
    ck_assert_int_lt(ash_journal_check_state_dir(dir, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "owned by uid 65534"));
    ck_assert_int_eq(err.klass, ASH_ERR_ENVIRONMENT);
    char **paths = NULL;
    size_t n = 0;
    ck_assert_int_lt(ash_journal_list(dir, &paths, &n, &err), 0);
    struct ash_journal *j = NULL;
    ck_assert_int_lt(ash_journal_open(dir, "t7", &j, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "owned by uid 65534"));
    n_undone = 0;
    ck_assert_int_lt(ash_journal_replay(path, undo_cb, NULL, NULL, &err), 0);
    ck_assert_int_eq(n_undone, 0);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(chown(dir, 0, 0), 0);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* The state directory is opened once and everything after is relative to that fd: a
 * directory renamed away and replaced by a symlink (as anyone who can write its parent could
 * do) mid-run or mid-replay redirects nothing. */
static char swap_dir[64], swap_moved[80], swap_decoy[64];

static void swap_state_dir(void)
{
    ck_assert_int_eq(rename(swap_dir, swap_moved), 0);
    ck_assert_int_eq(symlink(swap_decoy, swap_dir), 0);
}

static int swapping_undo(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err)
{
    if (n_undone == 0 && access(swap_moved, F_OK) != 0)
        swap_state_dir(); /* before the first undo: the rewrite or the unlink comes later */
    return undo_cb(op, data, committed, arg, err);
}

static void write_decoy(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", swap_decoy, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("decoy\n", f);
    fclose(f);
}

static void check_decoy(const char *name)
{
    char p[256], buf[32] = {0};
    snprintf(p, sizeof p, "%s/%s", swap_decoy, name);
    FILE *f = fopen(p, "r");
    ck_assert_msg(f != NULL, "the file behind the swapped-in symlink was removed");
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_str_eq(buf, "decoy\n");
    snprintf(p, sizeof p, "%s/%s.tmp", swap_decoy, name);
    ck_assert_int_ne(access(p, F_OK), 0);
    unlink(p);
    snprintf(p, sizeof p, "%s/%s", swap_decoy, name);
    unlink(p);
}

static void swap_setup(void)
{
    snprintf(swap_dir, sizeof swap_dir, "/tmp/ash-journal-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(swap_dir));
    snprintf(swap_moved, sizeof swap_moved, "%s-moved", swap_dir);
    snprintf(swap_decoy, sizeof swap_decoy, "/tmp/ash-decoy-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(swap_decoy));
}

static void swap_teardown(void)
{
    unlink(swap_dir);
    rmdir(swap_moved);
    rmdir(swap_decoy);
}

START_TEST(journal_not_redirected_by_a_swapped_state_dir)
{
    ash_error_t err = {0};
    json_t *d = json_pack("{s:i}", "n", 1);
    char path[256], moved_path[256];

    /* The writer: close removes the journal it created, not the one the symlink leads to. */
    swap_setup();
    struct ash_journal *j;
    ck_assert_int_eq(ash_journal_open(swap_dir, "t5", &j, &err), 0);
    write_decoy("t5.journal");
    swap_state_dir();
    ash_journal_close(j, true);
    check_decoy("t5.journal");
    snprintf(moved_path, sizeof moved_path, "%s/t5.journal", swap_moved);
    ck_assert_int_ne(access(moved_path, F_OK), 0);
    swap_teardown();

    /* A replay that succeeds removes the journal it read. */
    swap_setup();
    ck_assert_int_eq(ash_journal_open(swap_dir, "t6", &j, &err), 0);
    ck_assert_int_eq(ash_journal_append(j, "op", d, NULL, &err), 0);
    snprintf(path, sizeof path, "%s", ash_journal_path(j));
    ash_journal_close(j, false);
    write_decoy("t6.journal");
    n_undone = 0;
    ck_assert_int_eq(ash_journal_replay(path, swapping_undo, NULL, NULL, &err), 0);
    ck_assert_int_eq(n_undone, 1);
    check_decoy("t6.journal");
    snprintf(moved_path, sizeof moved_path, "%s/t6.journal", swap_moved);
    ck_assert_int_ne(access(moved_path, F_OK), 0);
    swap_teardown();

    /* A replay that fails rewrites the journal it read, where it is, with what is left. */
    swap_setup();
    ck_assert_int_eq(ash_journal_open(swap_dir, "t8", &j, &err), 0);
    ck_assert_int_eq(ash_journal_append(j, "fail", d, NULL, &err), 0);
    ck_assert_int_eq(ash_journal_append(j, "op", d, NULL, &err), 0);
    snprintf(path, sizeof path, "%s", ash_journal_path(j));
    ash_journal_close(j, false);
    write_decoy("t8.journal");
    n_undone = 0;
    ck_assert_int_eq(ash_journal_replay(path, swapping_undo, NULL, NULL, &err), 1);
    check_decoy("t8.journal");
    snprintf(moved_path, sizeof moved_path, "%s/t8.journal", swap_moved);
    struct ash_journal_info info;
    ck_assert_int_eq(ash_journal_inspect(moved_path, &info, &err), 0);
    ck_assert_uint_eq(info.pending, 1);
    unlink(moved_path);
    swap_teardown();
    json_decref(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loop+journal");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, timers_fire_on_time);
    tcase_add_test(tc, periodic_timer_and_run_until_deadline);
    tcase_add_test(tc, fd_events);
    tcase_add_test(tc, signals_through_loop);
    tcase_add_test(tc, journal_replays_pending_newest_first);
    tcase_add_test(tc, journal_appends_and_marks_in_batches);
    tcase_add_test(tc, journal_keeps_failed_records);
    tcase_add_test(tc, journal_refuses_untrusted_state);
    tcase_add_test(tc, journal_header_commits_records);
    tcase_add_test(tc, journal_refuses_state_dir_of_another_user);
    tcase_add_test(tc, journal_not_redirected_by_a_swapped_state_dir);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_NOFORK);
    return failed ? 1 : 0;
}
