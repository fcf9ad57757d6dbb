/* table-lock fault, sql probe and kill_lock_holder action against real SQLite files,
 * real file locks and a real throw-away PostgreSQL cluster (tests/pg/pg-test-cluster.sh).
 *
 * This binary doubles as the lock holder: `test_lock __lock-holder SPEC` runs
 * ash_lockhold_main, exactly as the aftershock binary does, so the fault spawns
 * /proc/self/exe here too. */
#include "faults/table_lock.h"
#include "kinds.h"
#include "report/report.h"
#include "scenario/scenario.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/lockhold.h"
#include "sys/loop.h"

#include <aftershock/aftershock.h>
#include <check.h>

#include "test_util.h"
#include "test_run.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS ASH_NS_PER_MS

extern const struct ash_probe_kind ash_probe_sql;
extern const struct ash_action_kind ash_action_kill_lock_holder;

/* ---- leftovers ---- */

/* Children of this process, zombies included: every holder is our direct child, and
 * the tests start no other processes (the PostgreSQL cluster is started by the
 * unchecked fixture in the parent, under CK_FORK). */

/* Scheduling slack on an idle 2-core machine (as in test_engine.c). */
#define SLACK_MS 3.0
static int count_children(void)
{
    DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char path[300], buf[512];
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *p = strrchr(buf, ')');
        int ppid = 0;
        char st;
        if (p && sscanf(p + 2, "%c %d", &st, &ppid) == 2 && ppid == getpid())
            n++;
    }
    closedir(d);
    return n;
}

/* ---- fixture: a run directory with calls.db, a journal, a loop, a ctx ---- */

struct event {
    char name[40];
    char detail[300];
};

static struct {
    char dir[96];
    char db[128];
    char lockfile[128];
    ash_loop *loop;
    struct ash_journal *journal;
    struct ash_ctx ctx;
    struct ash_scenario *sc;
    struct event events[256];
    int n_events;
    /* fault name -> state, for fault_state */
    const char *active_name;
    void *active_state;
    int reverted;
} fx;

static void on_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    if (fx.n_events < 256) {
        snprintf(fx.events[fx.n_events].name, sizeof fx.events[0].name, "%s", event);
        snprintf(fx.events[fx.n_events].detail, sizeof fx.events[0].detail, "%s", detail);
        fx.n_events++;
    }
}

static const struct event *find_event(const char *name)
{
    for (int i = 0; i < fx.n_events; i++)
        if (strcmp(fx.events[i].name, name) == 0)
            return &fx.events[i];
    return NULL;
}

static void *fault_state(struct ash_ctx *ctx, const char *fault)
{
    return fx.active_name && strcmp(fault, fx.active_name) == 0 ? fx.active_state : NULL;
}

/* The engine's revert_fault: revert the active fault and forget its state. */
static int revert_fault(struct ash_ctx *ctx, const char *fault, ash_error_t *err)
{
    if (!fx.active_name || strcmp(fault, fx.active_name) != 0 || !fx.active_state)
        return 0;
    void *st = fx.active_state;
    fx.active_state = NULL;
    fx.reverted++;
    return ash_fault_table_lock.revert(ctx, &fx.sc->faults[0], st, err);
}

static void sql_exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
}

/* Per-test directories live under one base made by the unchecked fixture (in the
 * Check parent), whose teardown removes it even when a failed test skipped its own. */
static char base_dir[64];

static void rm_rf(const char *path);

static void base_create(void)
{
    /* On tmpfs when there is one: the sql probe's INSERTs and SQLite's own
     * fsyncs then cost what the lock makes them cost, not what a busy disk
     * does (a 600 ms fsync stall once read as a late recovery in CI). */
    struct stat st;
    snprintf(base_dir, sizeof base_dir, "%s/ash-locktest.XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
    if (!mkdtemp(base_dir))
        base_dir[0] = '\0';
}

static void base_remove(void)
{
    if (base_dir[0])
        rm_rf(base_dir);
}

static void setup(void)
{
    memset(&fx, 0, sizeof fx);
    ck_assert_msg(base_dir[0], "cannot create a temp dir under /tmp");
    snprintf(fx.dir, sizeof fx.dir, "%s/XXXXXX", base_dir);
    ck_assert_ptr_nonnull(mkdtemp(fx.dir));
    snprintf(fx.db, sizeof fx.db, "%s/calls.db", fx.dir);
    snprintf(fx.lockfile, sizeof fx.lockfile, "%s/maint.lock", fx.dir);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(fx.db, &db), SQLITE_OK);
    sql_exec_ok(db, "CREATE TABLE call_records (id INTEGER PRIMARY KEY, caller TEXT); "
                    "INSERT INTO call_records (caller) VALUES ('alice'), ('bob')");
    sqlite3_close(db);
    int fd = open(fx.lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    close(fd);
    ash_error_t err = {0};
    ck_assert_msg(ash_loop_new(&fx.loop, &err) == 0, "%s", err.msg);
    /* The journal lives in the guard's directory: if the test dies, the
     * runner-side teardown kills the lock holder (and ends its session). */
    char run[16];
    snprintf(run, sizeof run, "l%05x", (unsigned)getpid() & 0xfffff);
    ck_assert_msg(ash_journal_open(ash_test_journal_dir, run, &fx.journal, &err) == 0, "%s", err.msg);
    fx.ctx = (struct ash_ctx){.loop = fx.loop,
                              .journal = fx.journal,
                              .run_dir = fx.dir,
                              .state_dir = fx.dir,
                              .event = on_event,
                              .fault_state = fault_state,
                              .revert_fault = revert_fault};
}

static void rm_rf(const char *path)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "test_lock: could not remove %s\n", path);
}

static void teardown(void)
{
    if (fx.sc)
        ash_scenario_free(fx.sc);
    fx.sc = NULL;
    if (fx.journal)
        ash_journal_close(fx.journal, true);
    ash_loop_free(fx.loop);
    rm_rf(fx.dir);
}

/* Parse a scenario whose faults/probes/remediations are `body`: the kinds' real
 * field tables and validate hooks fill the confs the tests use. */
static int load_scenario(const char *body, ash_error_t *err)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "version: 1\nname: lock-test\n%s", body);
    if (fx.sc)
        ash_scenario_free(fx.sc);
    fx.sc = NULL;
    int r = ash_scenario_load_string("lock-test.yaml", yaml, strlen(yaml), &fx.sc, err);
    if (r == 0)
        fx.ctx.scenario = fx.sc;
    return r;
}

static const struct ash_fault_spec *fault_from(const char *body)
{
    ash_error_t err = {0};
    ck_assert_msg(load_scenario(body, &err) == 0, "scenario: %s", err.msg);
    ck_assert_uint_ge(fx.sc->n_faults, 1);
    ck_assert_ptr_eq(fx.sc->faults[0].kind, &ash_fault_table_lock);
    return &fx.sc->faults[0];
}

static int inject(const struct ash_fault_spec *f, void **st, ash_error_t *err)
{
    return ash_fault_table_lock.inject(&fx.ctx, f, st, err);
}

static void revert_ok(const struct ash_fault_spec *f, void *st)
{
    ash_error_t err = {0};
    int r = ash_fault_table_lock.revert(&fx.ctx, f, st, &err);
    ck_assert_msg(r == 0, "revert: %s", err.msg);
    ck_assert_int_eq(count_children(), 0);
    ck_assert_uint_eq(ash_journal_pending(fx.journal), 0);
}

/* ---- SQLite writers, as the service under test would be ---- */

/* Try one INSERT with the given busy timeout; returns the SQLite code and the time it took. */
static int sqlite_write(int busy_ms, int64_t *took)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, busy_ms);
    int64_t t0 = ash_now_ns();
    int rc = sqlite3_exec(db, "INSERT INTO call_records (caller) VALUES ('carol')", NULL, NULL, NULL);
    if (took)
        *took = ash_now_ns() - t0;
    sqlite3_close(db);
    return rc;
}

static pid_t holder_pid(void *st)
{
    return ((struct table_lock_state *)st)->holder.child.pid;
}

#define SQLITE_FAULT(extra)                                                                                            \
    "faults:\n  - name: maint\n    kind: table-lock\n    sqlite: { path: \"{run_dir}/calls.db\", table: call_records " \
    "}\n" extra

START_TEST(sqlite_lock_blocks_writer)
{
    const struct ash_fault_spec *f = fault_from(SQLITE_FAULT(""));
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(sqlite_write(0, NULL), SQLITE_OK); /* free before */
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    ck_assert_int_eq(ash_journal_pending(fx.journal), 1);
    ck_assert_int_eq(ash_proc_state(holder_pid(st)) == 'S' || ash_proc_state(holder_pid(st)) == 'R', 1);
    ck_assert_ptr_nonnull(find_event("lock-held"));
    /* A writer with a 200 ms busy timeout waits it out and gets SQLITE_BUSY. */
    int64_t took;
    ck_assert_int_eq(sqlite_write(200, &took), SQLITE_BUSY);
    ck_assert_msg(took >= 200 * MS, "writer gave up after %.3f ms, before its busy timeout", ash_ns_to_ms(took));
    revert_ok(f, st);
    ck_assert_ptr_nonnull(find_event("lock-released"));
    ck_assert_int_eq(sqlite_write(0, NULL), SQLITE_OK); /* free after, without waiting */
}
END_TEST

START_TEST(sqlite_immediate_blocks_writers_not_readers)
{
    const struct ash_fault_spec *f =
        fault_from("faults:\n  - name: maint\n    kind: table-lock\n"
                   "    sqlite: { path: \"{run_dir}/calls.db\", table: call_records, mode: immediate }\n");
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    ck_assert_int_eq(sqlite_write(50, NULL), SQLITE_BUSY);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "SELECT count(*) FROM call_records", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    revert_ok(f, st);
}
END_TEST

START_TEST(sqlite_stop_keeps_lock)
{
    const struct ash_fault_spec *f = fault_from(SQLITE_FAULT("    interrupt: stop\n"));
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    pid_t pid = holder_pid(st);
    ck_assert_int_eq(ash_proc_state(pid), 'T');
    ck_assert_ptr_nonnull(find_event("lock-holder-stopped"));
    ck_assert_int_eq(sqlite_write(100, NULL), SQLITE_BUSY); /* a stopped holder keeps its lock */
    revert_ok(f, st);
    ck_assert_int_eq(ash_proc_state(pid), 0);
    ck_assert_int_eq(sqlite_write(0, NULL), SQLITE_OK);
}
END_TEST

START_TEST(sqlite_kill_releases)
{
    const struct ash_fault_spec *f = fault_from(SQLITE_FAULT("    interrupt: kill\n"));
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    ck_assert_ptr_nonnull(find_event("lock-held"));
    ck_assert_ptr_nonnull(find_event("lock-holder-killed"));
    /* The kernel dropped the dead holder's fcntl locks: no wait at all. */
    ck_assert_int_eq(count_children(), 0);
    ck_assert_int_eq(sqlite_write(0, NULL), SQLITE_OK);
    revert_ok(f, st);
}
END_TEST

static void expect_inject_error(const char *body, const char *needle)
{
    const struct ash_fault_spec *f = fault_from(body);
    void *st = NULL;
    ash_error_t err = {0};
    fx.n_events = 0;
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(inject(f, &st, &err), -1);
    ck_assert_msg(strstr(err.msg, needle), "error '%s' does not say '%s'", err.msg, needle);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(count_children(), 0);
    ck_assert_uint_eq(ash_journal_pending(fx.journal), 0);
    ck_assert_ptr_null(find_event("lock-held"));
    ck_assert_msg(ash_now_ns() - t0 < 5 * ASH_NS_PER_S, "the error took %.0f ms", ash_ns_to_ms(ash_now_ns() - t0));
}

START_TEST(sqlite_errors)
{
    expect_inject_error("faults:\n  - name: maint\n    kind: table-lock\n"
                        "    sqlite: { path: \"{run_dir}/calls.db\", table: no_such_table }\n",
                        "no table 'no_such_table'");
    expect_inject_error("faults:\n  - name: maint\n    kind: table-lock\n"
                        "    sqlite: { path: \"{run_dir}/missing.db\", table: call_records }\n",
                        "cannot open");
    /* The bad path was not created either. */
    char missing[200];
    snprintf(missing, sizeof missing, "%s/missing.db", fx.dir);
    ck_assert_int_eq(access(missing, F_OK), -1);
    /* A database someone else already locks: the fault fails after hold_timeout. */
    sqlite3 *other;
    ck_assert_int_eq(sqlite3_open(fx.db, &other), SQLITE_OK);
    sql_exec_ok(other, "BEGIN EXCLUSIVE");
    int64_t t0 = ash_now_ns();
    expect_inject_error(SQLITE_FAULT("    hold_timeout: 300ms\n"), "already locked");
    ck_assert_int_ge(ash_now_ns() - t0, 300 * MS);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
}
END_TEST

START_TEST(kill_lock_holder_action)
{
    ash_error_t err = {0};
    ck_assert_msg(load_scenario(SQLITE_FAULT("    interrupt: stop\n    until: remediated\n"
                                             "remediation:\n  - name: kill-script\n    at: 1s\n"
                                             "    action: { kill_lock_holder: maint }\n"),
                                &err) == 0,
                  "scenario: %s", err.msg);
    const struct ash_fault_spec *f = &fx.sc->faults[0];
    const struct ash_remediation_spec *r = &fx.sc->remediations[0];
    ck_assert_ptr_eq(r->action, &ash_action_kill_lock_holder);
    /* Not injected yet: a clear error. */
    ck_assert_int_eq(r->action->run(&fx.ctx, r, &err), -1);
    ck_assert_msg(strstr(err.msg, "not in effect"), "%s", err.msg);
    void *st = NULL;
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    fx.active_name = "maint";
    fx.active_state = st;
    ck_assert_int_eq(sqlite_write(50, NULL), SQLITE_BUSY);
    ck_assert_msg(r->action->run(&fx.ctx, r, &err) == 0, "kill_lock_holder: %s", err.msg);
    ck_assert_int_eq(count_children(), 0);
    ck_assert_int_eq(sqlite_write(0, NULL), SQLITE_OK);
    ck_assert_ptr_nonnull(find_event("lock-released"));
    /* The engine was told to count the fault as reverted (which freed the state). */
    ck_assert_int_eq(fx.reverted, 1);
    ck_assert_ptr_null(fx.active_state);
    ck_assert_uint_eq(ash_journal_pending(fx.journal), 0);
    ck_assert_int_eq(r->action->run(&fx.ctx, r, &err), -1);
    ck_assert_msg(strstr(err.msg, "not in effect"), "%s", err.msg);
    (void)f;
}
END_TEST

START_TEST(scenario_validation)
{
    ash_error_t err = {0};
    ck_assert_int_eq(load_scenario("faults:\n  - name: maint\n    kind: table-lock\n    interrupt: stop\n", &err), -1);
    ck_assert_msg(strstr(err.msg, "exactly one of 'sqlite', 'postgres' or 'file'"), "%s", err.msg);
    ck_assert_int_eq(load_scenario("faults:\n  - name: maint\n    kind: table-lock\n"
                                   "    sqlite: { path: a.db, table: t }\n    file: { path: x }\n",
                                   &err),
                     -1);
    ck_assert_msg(strstr(err.msg, "lock-test.yaml:7:") && strstr(err.msg, "found 'sqlite' and 'file'"), "%s", err.msg);
    ck_assert_int_eq(load_scenario("faults:\n  - name: maint\n    kind: table-lock\n"
                                   "    postgres: { dsn: \"host=/x\", table: t, advisory: 1 }\n",
                                   &err),
                     -1);
    ck_assert_msg(strstr(err.msg, "exactly one of 'table' or 'advisory'"), "%s", err.msg);
    ck_assert_int_eq(load_scenario("faults:\n  - name: maint\n    kind: table-lock\n"
                                   "    postgres: { dsn: \"host=/x\", advisory: abc }\n",
                                   &err),
                     -1);
    ck_assert_msg(strstr(err.msg, "64-bit integer"), "%s", err.msg);
    ck_assert_int_eq(load_scenario("faults:\n  - name: maint\n    kind: table-lock\n"
                                   "    postgres: { dsn: \"host=/x\", table: t, mode: exclusiv }\n",
                                   &err),
                     -1);
    ck_assert_msg(strstr(err.msg, "exclusiv"), "%s", err.msg);
    ck_assert_int_eq(load_scenario("faults:\n  - name: maint\n    kind: table-lock\n"
                                   "    file: { path: x, kind: flock, start: 10 }\n",
                                   &err),
                     -1);
    ck_assert_msg(strstr(err.msg, "only go with kind: fcntl"), "%s", err.msg);
    ck_assert_int_eq(load_scenario("probes:\n  - name: q\n    sql: { query: \"SELECT 1\" }\n", &err), -1);
    ck_assert_msg(strstr(err.msg, "exactly one of 'sqlite: PATH' or 'postgres: DSN'"), "%s", err.msg);
    ck_assert_int_eq(load_scenario("faults:\n  - name: f\n    kind: exec\n    inject: [\"true\"]\n"
                                   "remediation:\n  - name: r\n    at: 1s\n    action: { kill_lock_holder: f }\n",
                                   &err),
                     -1);
    ck_assert_msg(strstr(err.msg, "not a table-lock fault"), "%s", err.msg);
    ck_assert_int_eq(load_scenario("services:\n  - name: backend\n    command: [sleep, '1']\n"
                                   "faults:\n  - name: maint\n    kind: table-lock\n"
                                   "    sqlite: { path: a.db, table: t }\n    owner: backnd\n",
                                   &err),
                     -1);
    ck_assert_str_eq(err.msg, "lock-test.yaml:10:12: no service named 'backnd' in this scenario (owner: the service "
                              "whose session holds the lock)");
}
END_TEST

/* ---- file locks ---- */

static bool fcntl_locked(void)
{
    int fd = open(fx.lockfile, O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 10};
    ck_assert_int_eq(fcntl(fd, F_OFD_GETLK, &fl), 0);
    close(fd);
    return fl.l_type != F_UNLCK;
}

static bool flock_locked(void)
{
    int fd = open(fx.lockfile, O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    int r = flock(fd, LOCK_EX | LOCK_NB);
    int e = errno;
    close(fd);
    if (r < 0)
        ck_assert_int_eq(e, EWOULDBLOCK);
    return r < 0;
}

static void file_case(const char *kind_yaml, bool (*locked)(void))
{
    char body[512];
    const char *interrupts[] = {"none", "stop", "kill"};
    for (int i = 0; i < 3; i++) {
        fx.n_events = 0;
        snprintf(body, sizeof body,
                 "faults:\n  - name: maint\n    kind: table-lock\n    file: { path: \"{run_dir}/maint.lock\"%s }\n"
                 "    interrupt: %s\n",
                 kind_yaml, interrupts[i]);
        const struct ash_fault_spec *f = fault_from(body);
        void *st = NULL;
        ash_error_t err = {0};
        ck_assert(!locked());
        ck_assert_msg(inject(f, &st, &err) == 0, "inject (%s): %s", interrupts[i], err.msg);
        /* none and stop keep the lock; kill releases it (the kernel drops a dead process's locks). */
        ck_assert_int_eq(locked(), i != 2);
        revert_ok(f, st);
        ck_assert(!locked());
    }
    /* A lock someone else holds: the fault fails within hold_timeout, nothing left. */
    int fd = open(fx.lockfile, O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    if (locked == flock_locked) {
        ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    } else {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
    }
    snprintf(body, sizeof body,
             "faults:\n  - name: maint\n    kind: table-lock\n    file: { path: \"{run_dir}/maint.lock\"%s }\n"
             "    hold_timeout: 200ms\n",
             kind_yaml);
    expect_inject_error(body, "already locked");
    close(fd);
    expect_inject_error("faults:\n  - name: maint\n    kind: table-lock\n    file: { path: \"{run_dir}/nope\" }\n",
                        "No such file");
}

START_TEST(file_fcntl)
{
    file_case(", kind: fcntl, start: 50, length: 100", fcntl_locked);
}
END_TEST

START_TEST(file_flock)
{
    file_case(", kind: flock", flock_locked);
}
END_TEST

/* ---- sql probe ---- */

struct got {
    bool done;
    int calls;
    struct ash_sample s;
};

static void on_sample(void *arg, const struct ash_sample *s)
{
    struct got *g = arg;
    g->calls++;
    g->done = true;
    g->s = *s;
}

static struct ash_sample sample_once(const struct ash_probe_spec *p, void *state)
{
    struct got g = {0};
    ash_error_t err = {0};
    int64_t start = ash_now_ns();
    ck_assert_msg(ash_probe_sql.sample(&fx.ctx, p, state, start, on_sample, &g, &err) == 0, "sample: %s", err.msg);
    ck_assert(!g.done); /* never from inside sample() */
    ck_assert_int_eq(ash_loop_run_until(fx.loop, &g.done, start + p->timeout_ns + 3 * ASH_NS_PER_S, &err), 0);
    ck_assert_msg(g.done, "the sample never completed");
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.s.start, start);
    return g.s;
}

START_TEST(sql_probe_sqlite)
{
    ash_error_t err = {0};
    ck_assert_msg(load_scenario(SQLITE_FAULT("probes:\n  - name: calls\n    every: 500ms\n"
                                             "    sql: { sqlite: \"{run_dir}/calls.db\", timeout: 300ms }\n"),
                                &err) == 0,
                  "scenario: %s", err.msg);
    const struct ash_probe_spec *p = &fx.sc->probes[0];
    ck_assert_ptr_eq(p->kind, &ash_probe_sql);
    ck_assert_int_eq(p->timeout_ns, 300 * MS);
    void *ps = NULL;
    ck_assert_msg(ash_probe_sql.open(&fx.ctx, p, &ps, &err) == 0, "open: %s", err.msg);
    struct ash_sample s = sample_once(p, ps);
    ck_assert_msg(s.ok, "%s", s.detail);
    void *st = NULL;
    ck_assert_msg(inject(&fx.sc->faults[0], &st, &err) == 0, "inject: %s", err.msg);
    s = sample_once(p, ps);
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "locked"), "%s", s.detail);
    ck_assert_msg(s.end - s.start >= 300 * MS, "failed after %.3f ms, before the timeout",
                  ash_ns_to_ms(s.end - s.start));
    revert_ok(&fx.sc->faults[0], st);
    s = sample_once(p, ps);
    ck_assert_msg(s.ok, "%s", s.detail);
    /* A missing database is a failed sample (what a client sees), reported from the loop. */
    ash_probe_sql.close(&fx.ctx, p, ps);
    ck_assert_int_eq(unlink(fx.db), 0);
    ck_assert_msg(ash_probe_sql.open(&fx.ctx, p, &ps, &err) == 0, "open: %s", err.msg);
    s = sample_once(p, ps);
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "cannot open"), "%s", s.detail);
    /* close with a sample in flight: done is never called. */
    struct got g = {0};
    ck_assert_int_eq(ash_probe_sql.sample(&fx.ctx, p, ps, ash_now_ns(), on_sample, &g, &err), 0);
    ash_probe_sql.close(&fx.ctx, p, ps);
    bool never = false;
    ck_assert_int_eq(ash_loop_run_until(fx.loop, &never, ash_now_ns() + 50 * MS, &err), 0);
    ck_assert_int_eq(g.calls, 0);
}
END_TEST

/* ---- known answer: TTR with the holder killed at a scripted time ---- */

static double event_ms(json_t *run, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(run, "timeline"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "event")) ?: "", name) == 0)
            return json_real_value(json_object_get(e, "t_ms"));
    }
    return -1;
}

/* When the lock-holder-ended event's holder was sent its SIGKILL ("signalled X ms
 * before"): the lock went between that and the event (the reaping thread may wake
 * late on a loaded machine), so it is the truth's lower bound. */
static double killed_ms(json_t *run)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(run, "timeline"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "event")) ?: "", "lock-holder-ended") != 0)
            continue;
        const char *d = strstr(json_string_value(json_object_get(e, "detail")) ?: "", "; signalled ");
        double before = -1;
        ck_assert_msg(d && sscanf(d, "; signalled %lf ms before", &before) == 1 && before >= 0,
                      "lock-holder-ended without its signal time: %s", json_string_value(json_object_get(e, "detail")));
        return json_real_value(json_object_get(e, "t_ms")) - before;
    }
    return -1;
}

START_TEST(ttr_known_answer)
{
    /* The stopped maintenance script holds the table; every INSERT fails (busy)
     * until kill_lock_holder runs at 1.5 s. The true recovery instant is the
     * holder's death (lock-holder-ended); the measured TTR must be within the
     * reported resolution of it. */
    char path[200], yaml[2048], run_dir[200], state[200];
    snprintf(path, sizeof path, "%s/kat.yaml", fx.dir);
    snprintf(run_dir, sizeof run_dir, "%s/run", fx.dir);
    snprintf(state, sizeof state, "%s", ash_test_journal_dir); /* see setup */
    snprintf(yaml, sizeof yaml,
             "version: 1\nname: lock-kat\n"
             "probes:\n  - name: calls\n    every: 50ms\n    timeout: 50ms\n"
             "    sql: { sqlite: \"%s\", query: \"INSERT INTO call_records (caller) VALUES ('kat')\" }\n"
             "detectors:\n  - name: steady-state\n    probes: { consecutive_failures: 2 }\n"
             "faults:\n  - name: maint\n    kind: table-lock\n    at: 0s\n"
             "    sqlite: { path: \"%s\", table: call_records }\n    interrupt: stop\n    until: remediated\n"
             "remediation:\n  - name: kill-script\n    at: 1500ms\n    action: { kill_lock_holder: maint }\n"
             "expect:\n  warmup: 500ms\n  stable_for: 500ms\n  detect_within: 1s\n  recover_within: 3s\n"
             "  timeout: 10s\n",
             fx.db, fx.db);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(yaml, f);
    fclose(f);
    FILE *devnull = fopen("/dev/null", "w");
    struct ash_run_options o = ash_test_run_options(run_dir, state);
    o.log = devnull;
    struct ash_run_result res;
    ash_error_t err = {0};
    ck_assert_msg(ash_run_file(path, &o, &res, &err) == 0, "run: %s", err.msg);
    fclose(devnull);
    json_t *run = json_array_get(json_object_get(res.report, "runs"), 0);
    ck_assert_ptr_nonnull(run);
    const char *error = json_string_value(json_object_get(run, "error"));
    ck_assert_msg(!error, "run error: %s", error);
    ck_assert_str_eq(json_string_value(json_object_get(run, "verdict")), "pass");
    double t_inject = json_real_value(json_object_get(run, "t_inject_ms"));
    double ended = event_ms(run, "lock-holder-ended");
    ck_assert_msg(ended > 0, "no lock-holder-ended event");
    ck_assert_msg(event_ms(run, "lock-released") >= ended, "lock not verified free after the kill");
    json_t *ttr_j = json_object_get(run, "ttr_ms");
    ck_assert_msg(json_is_number(ttr_j), "no ttr_ms");
    double ttr = json_number_value(ttr_j);
    double res_ms = json_number_value(json_object_get(json_object_get(run, "resolution"), "ttr_ms"));
    double truth = ended - t_inject;
    /* The stated resolution: the interval plus the slow threshold, at most the
     * 50 ms timeout. */
    double slow_ms = json_number_value(json_object_get(json_array_get(json_object_get(run, "probes"), 0), "slow_ms"));
    ck_assert_msg(slow_ms >= 20.0, "slow threshold %.3f", slow_ms);
    /* Both figures are nanosecond counts divided by 1e6, so they agree to
     * double rounding, not bit for bit. */
    ck_assert_msg(fabs(res_ms - (50.0 + (slow_ms < 50.0 ? slow_ms : 50.0))) < 1e-6, "resolution %.6f (slow %.6f)",
                  res_ms, slow_ms);
    /* The contract: an INSERT blocked on the lock and answered when the holder
     * died proves health at its answer, so no earlier than the death (its
     * SIGKILL, minus the 3 ms scheduling slack), and at most the stated
     * resolution after it was seen gone. */
    double killed = killed_ms(run) - t_inject;
    ck_assert_msg(
        ttr >= killed - SLACK_MS && ttr <= truth + res_ms + SLACK_MS,
        "ttr %.3f ms vs the holder's death at %.3f ms after t_inject (killed at %.3f): outside [-%.0f, +%.0f] "
        "ms",
        ttr, truth, killed, SLACK_MS, res_ms + SLACK_MS);
    /* kill_lock_holder counts as the fault's revert. */
    json_t *flt = json_array_get(json_object_get(run, "faults"), 0);
    ck_assert_msg(json_is_number(json_object_get(flt, "reverted_ms")), "fault not reverted by kill_lock_holder");
    ck_assert_msg(json_number_value(json_object_get(flt, "reverted_ms")) - ended < 50.0, "revert long after the kill");
    /* The scripted remediation time bounds the truth itself. */
    ck_assert_msg(truth >= 1400.0 && truth <= 1600.0, "holder killed %.3f ms after t_inject", truth);
    ck_assert_int_eq(count_children(), 0);
    json_decref(res.report);
}
END_TEST

/* `owner`: the lock lives in a service's session. Restarting that service (the
 * reboot of the backend) ends the holder and proves the lock free before the
 * service starts again, and the fault ends by itself: no revert, no
 * kill_lock_holder. The INSERTs succeed again from the restart on. */
START_TEST(owner_restart_ends_lock)
{
    char path[200], yaml[2048], run_dir[200], state[200];
    snprintf(path, sizeof path, "%s/owner.yaml", fx.dir);
    snprintf(run_dir, sizeof run_dir, "%s/run", fx.dir);
    snprintf(state, sizeof state, "%s", ash_test_journal_dir);
    snprintf(yaml, sizeof yaml,
             "version: 1\nname: lock-owner\n"
             "services:\n  - name: backend\n    command: [sleep, '30']\n"
             "probes:\n  - name: calls\n    every: 50ms\n    timeout: 50ms\n"
             "    sql: { sqlite: \"%s\", query: \"INSERT INTO call_records (caller) VALUES ('owner')\" }\n"
             "faults:\n  - name: maint\n    kind: table-lock\n    at: 0s\n"
             "    sqlite: { path: \"%s\", table: call_records }\n    interrupt: stop\n    owner: backend\n"
             "    until: remediated\n"
             "remediation:\n  - name: reboot-backend\n    at: 1s\n    action: { restart: backend }\n"
             "expect:\n  warmup: 300ms\n  stable_for: 300ms\n  timeout: 10s\n",
             fx.db, fx.db);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(yaml, f);
    fclose(f);
    FILE *devnull = fopen("/dev/null", "w");
    struct ash_run_options o = ash_test_run_options(run_dir, state);
    o.log = devnull;
    struct ash_run_result res;
    ash_error_t err = {0};
    ck_assert_msg(ash_run_file(path, &o, &res, &err) == 0, "run: %s", err.msg);
    fclose(devnull);
    json_t *run = json_array_get(json_object_get(res.report, "runs"), 0);
    const char *error = json_string_value(json_object_get(run, "error"));
    ck_assert_msg(!error, "run error: %s", error);
    ck_assert_str_eq(json_string_value(json_object_get(run, "verdict")), "pass");
    /* In order: the service stopped, the holder ended because of it, the lock
     * proven free, the fault ended by itself, and only then the service started. */
    double stopped = -1, ended = -1, released = -1, reverted = -1, restarted = -1;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(run, "timeline"), i, e)
    {
        const char *ev = json_string_value(json_object_get(e, "event"));
        const char *d = json_string_value(json_object_get(e, "detail"));
        double t = json_real_value(json_object_get(e, "t_ms"));
        if (strcmp(ev, "service-stopped") == 0 && strncmp(d, "backend", 7) == 0 && stopped < 0)
            stopped = t;
        else if (strcmp(ev, "lock-holder-ended") == 0 && strstr(d, "its owner backend stopped"))
            ended = t;
        else if (strcmp(ev, "lock-released") == 0)
            released = t;
        else if (strcmp(ev, "fault-reverted") == 0 && strstr(d, "maint (ended by itself)"))
            reverted = t;
        else if (strcmp(ev, "service-started") == 0 && strncmp(d, "backend", 7) == 0)
            restarted = t; /* the last start: the restart's */
    }
    ck_assert_msg(stopped > 0 && ended >= stopped && released >= ended && reverted >= released && restarted >= reverted,
                  "stopped %.1f, holder ended %.1f, released %.1f, fault ended %.1f, started again %.1f", stopped,
                  ended, released, reverted, restarted);
    /* The probe recovered with the restart, and the run measured it. */
    ck_assert_msg(json_is_number(json_object_get(run, "ttr_ms")), "no ttr_ms");
    ck_assert_int_eq(count_children(), 0);
    json_decref(res.report);
}
END_TEST

/* ---- PostgreSQL ---- */

static char pg_dsn[512];
static char pg_fail[2048];

static void pg_cluster_start(void)
{
    base_create();
    pg_dsn[0] = pg_fail[0] = '\0';
    const char *src = getenv("ASH_SOURCE_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/tests/pg/pg-test-cluster.sh start 2>&1", src ? src : ".");
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(pg_fail, sizeof pg_fail, "cannot run %s: %s", cmd, strerror(errno));
        return;
    }
    size_t n = fread(pg_fail, 1, sizeof pg_fail - 1, p);
    pg_fail[n] = '\0';
    int st = pclose(p);
    if (st != 0 || strncmp(pg_fail, "host=", 5) != 0) {
        if (!pg_fail[0])
            snprintf(pg_fail, sizeof pg_fail, "%s exited with status %d", cmd, st);
        return;
    }
    pg_fail[strcspn(pg_fail, "\n")] = '\0';
    snprintf(pg_dsn, sizeof pg_dsn, "%s", pg_fail);
    pg_fail[0] = '\0';
    PGconn *c = PQconnectdb(pg_dsn);
    PGresult *r = PQexec(c, "CREATE TABLE call_records (id serial PRIMARY KEY, caller text); "
                            "INSERT INTO call_records (caller) VALUES ('alice')");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        snprintf(pg_fail, sizeof pg_fail, "cannot create the test table: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static void pg_cluster_stop(void)
{
    base_remove();
    if (!pg_dsn[0])
        return;
    const char *src = getenv("ASH_SOURCE_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/tests/pg/pg-test-cluster.sh stop '%s'", src ? src : ".", pg_dsn);
    if (system(cmd) != 0)
        fprintf(stderr, "test_lock: stopping the PostgreSQL test cluster failed: %s\n", cmd);
}

/* PostgreSQL tests never skip: no cluster is a failure, with the reason. */
static PGconn *pg_conn(void)
{
    ck_assert_msg(pg_dsn[0], "the throw-away PostgreSQL cluster did not start: %s", pg_fail);
    ck_assert_msg(!pg_fail[0], "%s", pg_fail);
    PGconn *c = PQconnectdb(pg_dsn);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    return c;
}

/* Run sql on c; returns NULL on success or the SQLSTATE of the error (static). */
static const char *pg_try(PGconn *c, const char *sql, int64_t *took)
{
    static char state[6];
    int64_t t0 = ash_now_ns();
    PGresult *r = PQexec(c, sql);
    if (took)
        *took = ash_now_ns() - t0;
    ExecStatusType st = PQresultStatus(r);
    const char *ret = NULL;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(state, sizeof state, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE) ?: "?????");
        ret = state;
    }
    PQclear(r);
    return ret;
}

static long pg_count(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* No session of ours may survive a test. */
static void assert_no_holder_sessions(PGconn *c)
{
    ck_assert_int_eq(pg_count(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'ash-lock-%'"), 0);
}

static const struct ash_fault_spec *pg_fault(const char *fields, const char *extra)
{
    char body[2048];
    snprintf(body, sizeof body, "faults:\n  - name: maint\n    kind: table-lock\n    postgres: { dsn: \"%s\"%s }\n%s",
             pg_dsn, fields, extra);
    return fault_from(body);
}

/* statement_timeout shows the writer blocked: 57014 = query_canceled. */
#define WRITE_SQL "INSERT INTO call_records (caller) VALUES ('carol')"

START_TEST(pg_lock_blocks_writer)
{
    PGconn *w = pg_conn();
    const struct ash_fault_spec *f = pg_fault(", table: call_records", "    observe_every: 200ms\n");
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    const char *tok = ((struct table_lock_state *)st)->token;
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
             "WHERE a.application_name = '%s' AND l.mode = 'AccessExclusiveLock' AND l.granted",
             tok);
    ck_assert_int_eq(pg_count(w, q), 1);
    int64_t took;
    ck_assert_ptr_null(pg_try(w, "SET statement_timeout = 300", NULL));
    const char *e = pg_try(w, WRITE_SQL, &took);
    ck_assert_msg(e && strcmp(e, "57014") == 0, "writer was not blocked (sqlstate %s)", e ? e : "none");
    ck_assert_int_ge(took, 300 * MS);
    /* Backlog observer: a waiting writer (async) shows up as lock-waiters. */
    PGconn *w2 = pg_conn();
    ck_assert_int_eq(PQsendQuery(w2, "SET statement_timeout = 10000; " WRITE_SQL), 1);
    bool never = false;
    ck_assert_int_eq(ash_loop_run_until(fx.loop, &never, ash_now_ns() + 900 * MS, &err), 0);
    const struct event *ev = NULL;
    for (int i = 0; i < fx.n_events; i++)
        if (strcmp(fx.events[i].name, "lock-waiters") == 0 && strstr(fx.events[i].detail, ": 1 waiting"))
            ev = &fx.events[i];
    ck_assert_msg(ev, "no lock-waiters event with 1 waiting (%d events)", fx.n_events);
    revert_ok(f, st);
    /* The waiting writer completes once the lock is gone. */
    PGresult *r;
    ExecStatusType last = PGRES_COMMAND_OK;
    while ((r = PQgetResult(w2))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            last = PQresultStatus(r);
        PQclear(r);
    }
    ck_assert_int_eq(last, PGRES_COMMAND_OK);
    ck_assert_ptr_null(pg_try(w, WRITE_SQL, NULL));
    assert_no_holder_sessions(w);
    PQfinish(w2);
    PQfinish(w);
}
END_TEST

START_TEST(pg_stop_keeps_kill_releases)
{
    PGconn *w = pg_conn();
    ck_assert_ptr_null(pg_try(w, "SET statement_timeout = 300", NULL));
    ash_error_t err = {0};
    /* stop: the session stays, and with it the lock. */
    const struct ash_fault_spec *f = pg_fault(", table: call_records", "    interrupt: stop\n");
    void *st = NULL;
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    ck_assert_int_eq(ash_proc_state(holder_pid(st)), 'T');
    const char *e = pg_try(w, WRITE_SQL, NULL);
    ck_assert_msg(e && strcmp(e, "57014") == 0, "writer not blocked by a stopped holder (%s)", e ? e : "ok");
    revert_ok(f, st);
    ck_assert_ptr_null(pg_try(w, WRITE_SQL, NULL));
    assert_no_holder_sessions(w);
    /* kill: the server sees the client's socket close and ends the session: lock gone. */
    fx.n_events = 0;
    f = pg_fault(", table: call_records", "    interrupt: kill\n");
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    ck_assert_ptr_nonnull(find_event("lock-holder-killed"));
    ck_assert_ptr_null(pg_try(w, "SET statement_timeout = 2000", NULL));
    e = pg_try(w, WRITE_SQL, NULL);
    ck_assert_msg(e == NULL, "the server kept the dead holder's lock (%s)", e);
    revert_ok(f, st);
    assert_no_holder_sessions(w);
    PQfinish(w);
}
END_TEST

START_TEST(pg_advisory)
{
    PGconn *w = pg_conn();
    const struct ash_fault_spec *f = pg_fault(", advisory: 4242", "");
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    ck_assert_int_eq(pg_count(w, "SELECT pg_try_advisory_lock(4242)::int"), 0);
    revert_ok(f, st);
    ck_assert_int_eq(pg_count(w, "SELECT pg_try_advisory_lock(4242)::int"), 1);
    ck_assert_int_eq(pg_count(w, "SELECT pg_advisory_unlock(4242)::int"), 1);
    assert_no_holder_sessions(w);
    PQfinish(w);
}
END_TEST

START_TEST(pg_errors)
{
    PGconn *w = pg_conn();
    char body[1024];
    expect_inject_error("faults:\n  - name: maint\n    kind: table-lock\n"
                        "    postgres: { dsn: \"host=/nonexistent-ash dbname=x\", table: call_records }\n",
                        "postgres: cannot connect");
    snprintf(body, sizeof body,
             "faults:\n  - name: maint\n    kind: table-lock\n    postgres: { dsn: \"%s\", table: no_such_table }\n",
             pg_dsn);
    expect_inject_error(body, "relation \"no_such_table\" does not exist");
    snprintf(
        body, sizeof body,
        "faults:\n  - name: maint\n    kind: table-lock\n    postgres: { dsn: \"%s dbname=no_such_db\", table: t }\n",
        pg_dsn);
    expect_inject_error(body, "no_such_db");
    /* Already locked by another session: fails after hold_timeout, before injection. */
    ck_assert_ptr_null(pg_try(w, "BEGIN", NULL));
    ck_assert_ptr_null(pg_try(w, "LOCK TABLE call_records IN ACCESS EXCLUSIVE MODE", NULL));
    snprintf(body, sizeof body,
             "faults:\n  - name: maint\n    kind: table-lock\n    postgres: { dsn: \"%s\", table: call_records }\n"
             "    hold_timeout: 300ms\n",
             pg_dsn);
    expect_inject_error(body, "already locked by another session");
    ck_assert_ptr_null(pg_try(w, "ROLLBACK", NULL));
    assert_no_holder_sessions(w);
    PQfinish(w);
}
END_TEST

START_TEST(pg_recover_undo)
{
    /* The harness dies without reverting: `recover` replays the journal record. */
    PGconn *w = pg_conn();
    const struct ash_fault_spec *f = pg_fault(", table: call_records", "    interrupt: stop\n");
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_msg(inject(f, &st, &err) == 0, "inject: %s", err.msg);
    struct table_lock_state *tl = st;
    const struct ash_undo_op *op = ash_undo_op_find("lock.holder");
    ck_assert_ptr_nonnull(op);
    json_t *rec = ash_lock_spec_to_json(&tl->spec);
    ck_assert_msg(op->undo(rec, &err) == 0, "undo: %s", err.msg);
    json_decref(rec);
    /* The stopped holder is gone (a zombie until we reap it) and the lock is free. */
    char s = ash_proc_state(holder_pid(st));
    ck_assert_msg(s == 'Z' || s == 0, "holder state %c", s);
    ck_assert_ptr_null(pg_try(w, "SET statement_timeout = 2000", NULL));
    ck_assert_ptr_null(pg_try(w, WRITE_SQL, NULL));
    assert_no_holder_sessions(w);
    revert_ok(f, st); /* reaps; the lock is already free */
    PQfinish(w);
}
END_TEST

START_TEST(sql_probe_postgres)
{
    PGconn *w = pg_conn();
    char body[2048];
    snprintf(body, sizeof body,
             "faults:\n  - name: maint\n    kind: table-lock\n    postgres: { dsn: \"%s\", table: call_records }\n"
             "probes:\n  - name: calls\n    every: 500ms\n"
             "    sql: { postgres: \"%s\", query: \"SELECT count(*) FROM call_records\", timeout: 300ms }\n"
             "  - name: down\n    every: 500ms\n    sql: { postgres: \"host=/nonexistent-ash\", timeout: 300ms }\n",
             pg_dsn, pg_dsn);
    ash_error_t err = {0};
    ck_assert_msg(load_scenario(body, &err) == 0, "scenario: %s", err.msg);
    const struct ash_probe_spec *p = &fx.sc->probes[0];
    void *ps = NULL;
    ck_assert_msg(ash_probe_sql.open(&fx.ctx, p, &ps, &err) == 0, "open: %s", err.msg);
    struct ash_sample s = sample_once(p, ps);
    ck_assert_msg(s.ok, "%s", s.detail);
    void *st = NULL;
    ck_assert_msg(inject(&fx.sc->faults[0], &st, &err) == 0, "inject: %s", err.msg);
    s = sample_once(p, ps);
    ck_assert(!s.ok);
    ck_assert_msg(s.end - s.start >= 300 * MS, "failed after %.3f ms (%s)", ash_ns_to_ms(s.end - s.start), s.detail);
    revert_ok(&fx.sc->faults[0], st);
    s = sample_once(p, ps);
    ck_assert_msg(s.ok, "%s", s.detail);
    ash_probe_sql.close(&fx.ctx, p, ps);
    /* The server's statement_timeout ends the abandoned statement by itself: no
     * backend keeps waiting (polled: the server needs a moment to notice). */
    long active = -1;
    for (int i = 0; i < 100 && active != 0; i++) {
        active = pg_count(w, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ash-probe'");
        if (active)
            usleep(20000);
    }
    ck_assert_int_eq(active, 0);
    /* No server: a failed sample from the loop, not a start error. */
    const struct ash_probe_spec *down = &fx.sc->probes[1];
    ck_assert_msg(ash_probe_sql.open(&fx.ctx, down, &ps, &err) == 0, "open: %s", err.msg);
    s = sample_once(down, ps);
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "nonexistent-ash"), "%s", s.detail);
    ash_probe_sql.close(&fx.ctx, down, ps);
    assert_no_holder_sessions(w);
    PQfinish(w);
}
END_TEST

/* Issue 15.2: under live traffic (pgbench, 4 clients inserting into the
 * locked table), a 2 s ACCESS EXCLUSIVE lock must cost the traffic 2 s, not
 * more: the revert's check that the lock is gone must not queue a conflicting
 * lock of its own in front of the clients (it did: LOCK ... NOWAIT failed
 * against their row locks for its whole 2 s window, the run said
 * 'revert-failed ... still locked', and a waiting LOCK would have doubled the
 * outage). pgbench's own per-transaction log (-l) is the independent oracle. */
START_TEST(pg_revert_under_pgbench)
{
    PGconn *w = pg_conn();
    char script[600], prefix[600], scen[600], run_dir[600], log[600];
    snprintf(script, sizeof script, "%s/insert.sql", fx.dir);
    snprintf(prefix, sizeof prefix, "%s/pgbench", fx.dir);
    snprintf(scen, sizeof scen, "%s/pgbench.yaml", fx.dir);
    snprintf(run_dir, sizeof run_dir, "%s/run", fx.dir);
    snprintf(log, sizeof log, "%s/pgbench.out", fx.dir);
    FILE *f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fputs("INSERT INTO call_records (caller) VALUES ('pgbench');\n", f);
    fclose(f);
    f = fopen(scen, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "version: 1\nname: pg-under-load\n"
            "probes:\n  - name: calls\n    every: 50ms\n    timeout: 200ms\n    slow: 100ms\n"
            "    sql: { postgres: \"%s\", query: \"INSERT INTO call_records (caller) VALUES ('probe')\" }\n"
            "faults:\n  - name: maint\n    kind: table-lock\n    at: 0s\n    duration: 2s\n"
            "    postgres: { dsn: \"%s\", table: call_records }\n"
            "expect:\n  warmup: 500ms\n  stable_for: 500ms\n  recover_within: 5s\n  timeout: 15s\n",
            pg_dsn, pg_dsn);
    fclose(f);
    /* pgbench for the whole run: ~1 s of warm traffic before the run starts. */
    pid_t bench = fork();
    ck_assert_int_ge(bench, 0);
    if (bench == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("pgbench", "pgbench", "-n", "-c", "4", "-j", "2", "-T", "7", "-f", script, "-l", "--log-prefix", prefix,
               pg_dsn, (char *)NULL);
        _exit(127);
    }
    usleep(1000 * 1000);
    struct ash_run_options o = ash_test_run_options(run_dir, ash_test_journal_dir);
    FILE *devnull = fopen("/dev/null", "w");
    o.log = devnull;
    struct ash_run_result res;
    ash_error_t err = {0};
    int rr = ash_run_file(scen, &o, &res, &err);
    fclose(devnull);
    int bst = 0;
    ck_assert_int_eq(waitpid(bench, &bst, 0), bench);
    ck_assert_msg(rr == 0, "run: %s", err.msg);
    ck_assert_msg(WIFEXITED(bst) && WEXITSTATUS(bst) == 0, "pgbench failed (status %d): see %s", bst, log);
    json_t *run = json_array_get(json_object_get(res.report, "runs"), 0);
    const char *error = json_string_value(json_object_get(run, "error"));
    ck_assert_msg(!error, "run error: %s", error);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(run, "timeline"), i, e)
    {
        const char *ev = json_string_value(json_object_get(e, "event"));
        ck_assert_msg(strcmp(ev, "revert-failed") != 0, "revert-failed: %s",
                      json_string_value(json_object_get(e, "detail")));
    }
    ck_assert_str_eq(json_string_value(json_object_get(run, "verdict")), "pass");
    double held_from = event_ms(run, "lock-held"), held_to = event_ms(run, "lock-holder-ended");
    ck_assert_msg(held_from > 0 && held_to > held_from, "lock held %.3f .. %.3f", held_from, held_to);
    double held = held_to - held_from;
    /* The oracle: pgbench's slowest transaction (-l: one line per transaction,
     * "client tx latency_us script epoch_s epoch_us"). */
    double worst_ms = 0;
    long lines = 0;
    DIR *d = opendir(fx.dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "pgbench.", 8) != 0 || strcmp(de->d_name, "pgbench.out") == 0 ||
            strcmp(de->d_name, "pgbench.yaml") == 0)
            continue;
        char path[1200], line[256];
        snprintf(path, sizeof path, "%s/%s", fx.dir, de->d_name);
        FILE *lf = fopen(path, "r");
        ck_assert_ptr_nonnull(lf);
        while (fgets(line, sizeof line, lf)) {
            long client, tx, lat_us;
            if (sscanf(line, "%ld %ld %ld", &client, &tx, &lat_us) == 3) {
                lines++;
                if (lat_us / 1000.0 > worst_ms)
                    worst_ms = lat_us / 1000.0;
            }
        }
        fclose(lf);
    }
    closedir(d);
    ck_assert_msg(lines > 100, "pgbench logged %ld transactions", lines);
    double ttr = json_number_value(json_object_get(run, "ttr_ms"));
    double res_ms = json_number_value(json_object_get(json_object_get(run, "resolution"), "ttr_ms"));
    printf("pg under pgbench: lock held %.3f ms, pgbench worst %.3f ms over %ld transactions, ttr %.3f ms "
           "(resolution %.3f)\n",
           held, worst_ms, lines, ttr, res_ms);
    /* The outage the clients saw is the lock's, not the lock's plus a check's. */
    ck_assert_msg(fabs(worst_ms - held) <= 200.0, "pgbench's worst %.3f ms vs the lock held %.3f ms", worst_ms, held);
    ck_assert_msg(fabs(ttr - worst_ms) <= 200.0, "ttr %.3f ms vs pgbench's worst %.3f ms", ttr, worst_ms);
    /* And TTR within the stated resolution of the release (counted from t_inject). */
    double t_inject = json_number_value(json_object_get(run, "t_inject_ms"));
    double release = held_to - t_inject, killed = killed_ms(run) - t_inject;
    ck_assert_msg(ttr >= killed - SLACK_MS && ttr <= release + res_ms + SLACK_MS,
                  "ttr %.3f vs the release at %.3f ms after t_inject (killed at %.3f; resolution %.3f)", ttr, release,
                  killed, res_ms);
    /* And within one probe interval of the lock's held time: the sample whose
     * answer is the recovery was started at most one interval (50 ms) after the
     * release; TTR is that answer, so it lies the answer's own latency later. */
    json_t *series = json_object_get(json_array_get(json_object_get(run, "probes"), 0), "series");
    double rec_at = t_inject + ttr, rec_start = -1;
    struct ash_report_sample pt;
    for (size_t k = 0; ash_report_series_at(series, k, &pt); k++)
        if (pt.ok && fabs(pt.t_ms + pt.latency_ms - rec_at) < 0.001)
            rec_start = pt.t_ms;
    ck_assert_msg(rec_start >= 0, "no healthy sample answered at the recovery (%.3f ms)", rec_at);
    ck_assert_msg(rec_start <= held_to + 50.0 + SLACK_MS,
                  "the recovering sample started %.3f ms after the release: more than one interval (50 ms)",
                  rec_start - held_to);
    json_decref(res.report);
    assert_no_holder_sessions(w);
    PQfinish(w);
}
END_TEST

static Suite *lock_suite(void)
{
    Suite *s = suite_create("lock");
    TCase *tc = tcase_create("sqlite+file");
    tcase_add_unchecked_fixture(tc, base_create, base_remove);
    /* Added after base_create: its teardown runs first, while the files exist. */
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sqlite_lock_blocks_writer);
    tcase_add_test(tc, sqlite_immediate_blocks_writers_not_readers);
    tcase_add_test(tc, sqlite_stop_keeps_lock);
    tcase_add_test(tc, sqlite_kill_releases);
    tcase_add_test(tc, sqlite_errors);
    tcase_add_test(tc, kill_lock_holder_action);
    tcase_add_test(tc, scenario_validation);
    tcase_add_test(tc, file_fcntl);
    tcase_add_test(tc, file_flock);
    tcase_add_test(tc, sql_probe_sqlite);
    suite_add_tcase(s, tc);

    /* Its own case (same fixtures) so that scripts/mutation-check.sh can run it alone: CK_RUN_CASE=ttr-known-answer. */
    TCase *kat = tcase_create("ttr-known-answer");
    tcase_add_unchecked_fixture(kat, base_create, base_remove);
    tcase_add_unchecked_fixture(kat, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_checked_fixture(kat, setup, teardown);
    tcase_set_timeout(kat, 60);
    tcase_add_test(kat, ttr_known_answer);
    tcase_add_test(kat, owner_restart_ends_lock);
    suite_add_tcase(s, kat);

    TCase *pg = tcase_create("postgres");
    tcase_add_unchecked_fixture(pg, pg_cluster_start, pg_cluster_stop);
    /* Added after the cluster: its teardown runs first, while the server can end sessions. */
    tcase_add_unchecked_fixture(pg, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_checked_fixture(pg, setup, teardown);
    tcase_set_timeout(pg, 60);
    tcase_add_test(pg, pg_lock_blocks_writer);
    tcase_add_test(pg, pg_stop_keeps_kill_releases);
    tcase_add_test(pg, pg_advisory);
    tcase_add_test(pg, pg_errors);
    tcase_add_test(pg, pg_recover_undo);
    tcase_add_test(pg, sql_probe_postgres);
    tcase_add_test(pg, pg_revert_under_pgbench);
    suite_add_tcase(s, pg);
    return s;
}

int main(int argc, char **argv)
{
    /* The fault spawns /proc/self/exe __lock-holder SPEC: that is this binary. */
    if (argc > 1 && strcmp(argv[1], "__lock-holder") == 0)
        return ash_lockhold_main(argc - 1, argv + 1);
    int failed = ash_test_failures(lock_suite(), CK_FORK);
    return failed ? 1 : 0;
}
