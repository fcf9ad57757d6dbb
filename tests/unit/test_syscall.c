/* syscall fault on a real target under the seccomp launcher: exactly the
 * targeted openat calls fail with the errno inside the window and none outside,
 * the path glob selects, delays are measured, revert continues pending calls.
 * This binary doubles as the launcher (`test_syscall __seccomp-exec ...`). */
#include "kinds.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/proc.h"
#include "sys/seccomp_notify.h"
#include "test_util.h"
#include "test_run.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    ash_loop *loop;
    struct ash_journal *j;
    uint64_t helper_jid;
    char helper_env[32];
    struct ash_child child;
    struct ash_seccomp_listener *l;
    int in, out;
    char reply[256];
    size_t len;
    bool got;
    char target[128], other[128];
    struct ash_ctx ctx;
    char events[8][512];
    size_t n_events;
    char no_effect[512];
} fx;

/* The tests' files live under one parent made and removed by the runner process (an
 * unchecked fixture): a failed test's child exits without its checked teardown, which
 * left /tmp/ash-sc-* files behind. */
static char parentdir[64];

static void parent_setup(void)
{
    ash_test_parent_make(parentdir, sizeof parentdir, "ash-sc");
}

static void parent_teardown(void)
{
    ash_test_parent_remove(parentdir);
}

static void on_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    (void)ctx, (void)t;
    if (fx.n_events < 8)
        snprintf(fx.events[fx.n_events++], sizeof fx.events[0], "%s %s", event, detail);
}

static void on_no_effect(struct ash_ctx *ctx, const char *fault, const char *why)
{
    (void)ctx;
    snprintf(fx.no_effect, sizeof fx.no_effect, "%s: %s", fault, why);
}

static void on_out(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    (void)data;
    ssize_t n = read(fd, fx.reply + fx.len, sizeof fx.reply - 1 - fx.len);
    if (n > 0) {
        fx.len += (size_t)n;
        fx.reply[fx.len] = '\0';
        if (strchr(fx.reply, '\n'))
            fx.got = true;
    }
}

static void setup(void)
{
    memset(&fx, 0, sizeof fx);
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&fx.loop, &err), 0);
    snprintf(fx.target, sizeof fx.target, "%s/ash-sc-target-%d", parentdir, (int)getpid());
    snprintf(fx.other, sizeof fx.other, "%s/ash-sc-other-%d", parentdir, (int)getpid());
    close(open(fx.target, O_CREAT | O_WRONLY, 0644));
    close(open(fx.other, O_CREAT | O_WRONLY, 0644));
    char tool[4096];
    snprintf(tool, sizeof tool, "%s/tests/ash_opencount", getenv("ASH_BUILD_DIR") ? getenv("ASH_BUILD_DIR") : "build");
    char *argv[] = {tool, NULL};
    struct ash_seccomp_launch launch;
    ck_assert_int_eq(ash_seccomp_launch_prepare("openat,fsync", argv, &launch, &err), 0);
    int pin[2], pout[2];
    ck_assert_int_eq(pipe2(pin, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(pout, O_CLOEXEC), 0);
    /* The target is journaled in the guard's directory: if the test dies while
     * it waits in a seccomp notification, the runner-side teardown kills it. */
    char run[16];
    snprintf(run, sizeof run, "t%05x", (unsigned)getpid() & 0xfffff);
    ck_assert_msg(ash_journal_open(ash_test_journal_dir, run, &fx.j, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_test_journal_helper(fx.j, fx.helper_env, sizeof fx.helper_env, &fx.helper_jid, &err) == 0, "%s",
                  err.msg);
    char *env[] = {fx.helper_env, NULL};
    struct ash_spawn_opts o = {
        .argv = launch.argv, .envp_extra = env, .stdin_fd = pin[0], .stdout_fd = pout[1], .stderr_fd = 2};
    ck_assert_msg(ash_spawn(&o, &fx.child, &err) == 0, "%s", err.msg);
    close(pin[0]);
    close(pout[1]);
    ck_assert_msg(ash_seccomp_launch_finish(&launch, fx.loop, "svc", 5 * ASH_NS_PER_S, &fx.l, &err) == 0, "%s",
                  err.msg);
    ash_seccomp_launch_cleanup(&launch);
    fx.in = pin[1];
    fx.out = pout[0];
    fcntl(fx.out, F_SETFL, O_NONBLOCK);
    ck_assert_int_eq(ash_loop_add_fd(fx.loop, fx.out, EPOLLIN, on_out, NULL, &err), 0);
    fx.ctx = (struct ash_ctx){.loop = fx.loop};
}

static void teardown(void)
{
    ash_seccomp_listener_close(fx.l);
    close(fx.in);
    ash_child_terminate(&fx.child, 0, false);
    ash_child_close(&fx.child);
    if (fx.j) {
        ash_journal_done(fx.j, fx.helper_jid, NULL);
        ash_journal_close(fx.j, true);
    }
    ash_loop_del_fd(fx.loop, fx.out);
    close(fx.out);
    ash_loop_free(fx.loop);
    unlink(fx.target);
    unlink(fx.other);
}

/* Send "N PATH", run the loop (answering notifications) until the reply. */
static void run_calls(long n, const char *path, const char *op, long *ok, long *fail, int *err_no, long long *ns)
{
    char cmd[256];
    int len = snprintf(cmd, sizeof cmd, "%ld %s %s\n", n, path, op);
    fx.len = 0;
    fx.got = false;
    fx.reply[0] = '\0';
    ck_assert_int_eq(write(fx.in, cmd, (size_t)len), len);
    ash_error_t err = {0};
    ash_loop_run_until(fx.loop, &fx.got, ash_now_ns() + 20 * ASH_NS_PER_S, &err);
    ck_assert_msg(fx.got, "no reply from the target");
    ck_assert_int_eq(sscanf(fx.reply, "ok %ld fail %ld errno %d ns %lld", ok, fail, err_no, ns), 4);
}

static void run_opens(long n, const char *path, long *ok, long *fail, int *err_no, long long *ns)
{
    run_calls(n, path, "open", ok, fail, err_no, ns);
}

static struct ash_fault_spec fault(const char *yaml)
{
    const struct ash_fault_kind *k = ash_fault_kind_find("syscall");
    ck_assert_ptr_nonnull(k);
    ash_error_t err = {0};
    ash_doc *doc;
    ck_assert_int_eq(ash_doc_load_string("t.yaml", yaml, strlen(yaml), &doc, &err), 0);
    void *conf = calloc(1, k->c.conf_size);
    k->c.defaults(conf);
    ash_node root = ash_doc_root(doc);
    ck_assert_msg(ash_fields_parse(&root, k->c.fields, conf, &err) == 0, "%s", err.msg);
    ash_doc_free(doc);
    return (struct ash_fault_spec){.name = "sc", .kind = k, .conf = conf};
}

static void free_fault(struct ash_fault_spec *f)
{
    ash_fields_free(f->kind->c.fields, f->conf);
    free(f->conf);
}

START_TEST(errno_only_inside_window)
{
    long ok, fail;
    int e;
    long long ns;
    uint64_t seen0, seen1, failed;
    run_opens(1, fx.other, &ok, &fail, &e, &ns); /* the loader's own openat calls are answered by now */
    ash_seccomp_listener_counts(fx.l, &seen0, NULL, NULL);
    run_opens(200, fx.target, &ok, &fail, &e, &ns);
    ck_assert_int_eq(ok, 200);
    ck_assert_int_eq(fail, 0);
    ash_seccomp_listener_counts(fx.l, &seen1, NULL, NULL);
    ck_assert_int_eq(seen1 - seen0, 200); /* every openat was notified and continued */

    char yaml[256];
    snprintf(yaml, sizeof yaml, "service: svc\nsyscalls: [openat]\nerrno: EIO\npath: \"%s/ash-sc-target-*\"\n",
             parentdir);
    struct ash_fault_spec f = fault(yaml);
    ash_error_t err = {0};
    void *st = NULL;
    ck_assert_msg(f.kind->inject(&fx.ctx, &f, &st, &err) == 0, "%s", err.msg);
    run_opens(100, fx.target, &ok, &fail, &e, &ns);
    ck_assert_int_eq(fail, 100);
    ck_assert_int_eq(e, EIO);
    run_opens(100, fx.other, &ok, &fail, &e, &ns); /* the glob does not match */
    ck_assert_int_eq(ok, 100);
    ck_assert_int_eq(fail, 0);
    ck_assert_int_eq(f.kind->revert(&fx.ctx, &f, st, &err), 0);
    run_opens(100, fx.target, &ok, &fail, &e, &ns);
    ck_assert_int_eq(ok, 100);
    ck_assert_int_eq(fail, 0);
    ash_seccomp_listener_counts(fx.l, NULL, &failed, NULL);
    ck_assert_int_eq(failed, 100);
    free_fault(&f);

    /* 50%: binomial(1000, 0.5) stays within 350..650 with overwhelming odds (10 sigma). */
    f = fault("service: svc\nsyscalls: [openat]\nerrno: ENOSPC\nprobability: 50%\n");
    ck_assert_int_eq(f.kind->inject(&fx.ctx, &f, &st, &err), 0);
    run_opens(1000, fx.target, &ok, &fail, &e, &ns);
    ck_assert_msg(fail > 350 && fail < 650, "failed %ld of 1000 at 50%%", fail);
    ck_assert_int_eq(e, ENOSPC);
    ck_assert_int_eq(f.kind->revert(&fx.ctx, &f, st, &err), 0);
    free_fault(&f);
}
END_TEST

/* The machine's own floor for n sleeps of ms each, one after the other, taken at
 * the same time as the delayed calls: how late a bare timer wakes under the
 * load of the moment, so that the bound below is the mechanism's, not the load's. */
struct floor_arg {
    int n, ms;
    long long ns;
};

static void *sleep_floor(void *p)
{
    struct floor_arg *a = p;
    int64_t t0 = ash_now_ns(), due = t0;
    for (int i = 0; i < a->n; i++) {
        due += (int64_t)a->ms * ASH_NS_PER_MS;
        struct timespec ts = {.tv_sec = due / ASH_NS_PER_S, .tv_nsec = due % ASH_NS_PER_S};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        due = ash_now_ns(); /* each call starts when the last one ended, as the delayed calls do */
    }
    a->ns = ash_now_ns() - t0;
    return NULL;
}

START_TEST(delay_measured_and_revert_continues)
{
    long ok, fail;
    int e;
    long long ns;
    struct ash_fault_spec f = fault("service: svc\nsyscalls: [openat]\ndelay: 100ms\n");
    ash_error_t err = {0};
    void *st = NULL;
    ck_assert_int_eq(f.kind->inject(&fx.ctx, &f, &st, &err), 0);
    struct floor_arg fl = {.n = 5, .ms = 100};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, sleep_floor, &fl), 0);
    run_opens(5, fx.target, &ok, &fail, &e, &ns);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(ok, 5);
    /* Each call waits for its timer (>= 100 ms); the mechanism adds well under
     * 10 ms per call beyond how late a bare timer woke meanwhile (the floor: on
     * an idle machine about 500.3 ms, so the bound is the old 550 ms). */
    ck_assert_msg(ns >= 500 * ASH_NS_PER_MS && ns < fl.ns + 50 * ASH_NS_PER_MS,
                  "5 delayed calls took %lld ns; 5 bare 100 ms sleeps meanwhile %lld ns", ns, fl.ns);
    ck_assert_int_eq(f.kind->revert(&fx.ctx, &f, st, &err), 0);
    free_fault(&f);

    /* A call held for 60 s is continued at once by revert; nothing stays stopped. */
    f = fault("service: svc\nsyscalls: [openat]\ndelay: 60s\n");
    ck_assert_int_eq(f.kind->inject(&fx.ctx, &f, &st, &err), 0);
    char cmd[128];
    int len = snprintf(cmd, sizeof cmd, "1 %s\n", fx.target);
    fx.len = 0;
    fx.got = false;
    ck_assert_int_eq(write(fx.in, cmd, (size_t)len), len);
    ash_loop_run_until(fx.loop, &fx.got, ash_now_ns() + 200 * ASH_NS_PER_MS, &err);
    ck_assert(!fx.got);
    uint64_t delayed;
    ash_seccomp_listener_counts(fx.l, NULL, NULL, &delayed);
    ck_assert_int_ge(delayed, 6);
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(f.kind->revert(&fx.ctx, &f, st, &err), 0);
    ash_loop_run_until(fx.loop, &fx.got, ash_now_ns() + 5 * ASH_NS_PER_S, &err);
    ck_assert(fx.got);
    ck_assert_int_lt(ash_now_ns() - t0, 500 * ASH_NS_PER_MS);
    ck_assert_int_ne(ash_proc_state(fx.child.pid), 'T');
    free_fault(&f);
}
END_TEST

/* Issue 15 item 5: {run_dir} in a syscall fault's path was matched literally
 * (so nothing matched), and a filter that matched nothing said nothing. */
START_TEST(path_placeholders_and_no_effect)
{
    long ok, fail;
    int e;
    long long ns;
    fx.ctx.run_dir = parentdir;
    fx.ctx.event = on_event;
    fx.ctx.no_effect = on_no_effect;
    run_opens(1, fx.other, &ok, &fail, &e, &ns);
    struct ash_fault_spec f =
        fault("service: svc\nsyscalls: [openat]\nerrno: EIO\npath: \"{run_dir}/ash-sc-target-*\"\n");
    ash_error_t err = {0};
    void *st = NULL;
    ck_assert_msg(f.kind->inject(&fx.ctx, &f, &st, &err) == 0, "%s", err.msg);
    run_opens(10, fx.target, &ok, &fail, &e, &ns);
    ck_assert_int_eq(fail, 10);
    run_opens(10, fx.other, &ok, &fail, &e, &ns);
    ck_assert_int_eq(fail, 0);
    bool never = false;
    ash_loop_run_until(fx.loop, &never, ash_now_ns() + 1100 * ASH_NS_PER_MS, &err);
    ck_assert_int_eq(f.kind->revert(&fx.ctx, &f, st, &err), 0);
    for (size_t i = 0; i < fx.n_events; i++)
        ck_assert_msg(strncmp(fx.events[i], "warning", 7) != 0, "%s", fx.events[i]);
    ck_assert_str_eq(fx.no_effect, "");
    free_fault(&f);

    /* A glob nothing opens: a warning once that is known (1 s), and "no effect" at revert. */
    fx.n_events = 0;
    f = fault("service: svc\nsyscalls: [openat]\nerrno: EIO\npath: \"{run_dir}/nothing-opens-this-*\"\n");
    ck_assert_int_eq(f.kind->inject(&fx.ctx, &f, &st, &err), 0);
    run_opens(10, fx.target, &ok, &fail, &e, &ns);
    ck_assert_int_eq(fail, 0);
    ash_loop_run_until(fx.loop, &never, ash_now_ns() + 1100 * ASH_NS_PER_MS, &err);
    ck_assert_uint_ge(fx.n_events, 1);
    char want[256];
    snprintf(want, sizeof want,
             "warning sc: no call has matched in 1 s (openat on '%s/nothing-opens-this-*'): "
             "the fault has had no effect so far",
             parentdir);
    ck_assert_msg(strstr(fx.events[0], want), "%s", fx.events[0]);
    ck_assert_int_eq(f.kind->revert(&fx.ctx, &f, st, &err), 0);
    snprintf(want, sizeof want, "sc: no call matched its filter (openat on '%s/nothing-opens-this-*')", parentdir);
    ck_assert_str_eq(fx.no_effect, want);
    free_fault(&f);
}
END_TEST

/* {run_dir} is substituted in fd_path as in path: fsync on an fd of the file
 * the glob names fails, on an fd of another file it does not. */
START_TEST(fd_path_placeholders)
{
    long ok, fail;
    int e;
    long long ns;
    fx.ctx.run_dir = parentdir;
    struct ash_fault_spec f =
        fault("service: svc\nsyscalls: [fsync]\nerrno: EIO\nfd_path: \"{run_dir}/ash-sc-target-*\"\n");
    ash_error_t err = {0};
    void *st = NULL;
    ck_assert_msg(f.kind->inject(&fx.ctx, &f, &st, &err) == 0, "%s", err.msg);
    run_calls(10, fx.target, "fsync", &ok, &fail, &e, &ns);
    ck_assert_msg(fail == 10 && e == EIO, "fsync on %s: %ld of 10 failed (errno %d)", fx.target, fail, e);
    run_calls(10, fx.other, "fsync", &ok, &fail, &e, &ns);
    ck_assert_int_eq(fail, 0);
    ck_assert_int_eq(f.kind->revert(&fx.ctx, &f, st, &err), 0);
    run_calls(10, fx.target, "fsync", &ok, &fail, &e, &ns);
    ck_assert_int_eq(fail, 0);
    free_fault(&f);
}
END_TEST

START_TEST(validation)
{
    const char *base = "version: 1\nname: s\nservices:\n  - name: svc\n    command: [\"/bin/true\"]\n"
                       "faults:\n  - name: f\n    kind: syscall\n    service: svc\n";
    const char *bad[] = {"    syscalls: [nosuchcall]\n    errno: EIO\n", "    syscalls: [openat]\n",
                         "    syscalls: [openat]\n    errno: EWHAT\n",
                         "    syscalls: [write]\n    errno: EIO\n    path: \"/x\"\n"};
    const char *want[] = {"not a syscall", "exactly one of", "not an errno", "path-taking"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char y[1024];
        snprintf(y, sizeof y, "%s%s", base, bad[i]);
        struct ash_scenario *sc = NULL;
        ash_error_t err = {0};
        ck_assert_int_eq(ash_scenario_load_string("t.yaml", y, strlen(y), &sc, &err), -1);
        ck_assert_msg(strstr(err.msg, want[i]), "case %zu: %s", i, err.msg);
    }
    char y[1024];
    snprintf(y, sizeof y, "%s    syscalls: [openat, fsync]\n    errno: EIO\n", base);
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("t.yaml", y, strlen(y), &sc, &err) == 0, "%s", err.msg);
    ck_assert(sc->services[0].seccomp);
    ck_assert_str_eq(sc->services[0].seccomp_syscalls, "openat,fsync");
    ash_scenario_free(sc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("syscall");
    TCase *tc = tcase_create("notify");
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_unchecked_fixture(tc, parent_setup, parent_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, errno_only_inside_window);
    tcase_add_test(tc, delay_measured_and_revert_continues);
    tcase_add_test(tc, path_placeholders_and_no_effect);
    tcase_add_test(tc, fd_path_placeholders);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("parse");
    tcase_add_test(tv, validation);
    suite_add_tcase(s, tv);
    return s;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "__seccomp-exec") == 0)
        return ash_seccomp_exec_main(argc - 1, argv + 1);
    int failed = ash_test_failures(suite(), CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
