/* memory-exhaustion `enomem: true` on a real target under the seccomp launcher:
 * inside the fault window every 1 MiB malloc (anonymous mmap) and every 64 KiB
 * malloc that needs the heap to grow (brk) fails, outside it none does; the
 * scenario marks the service's launcher for mmap and brk; revert lets the
 * target allocate again. This binary doubles as the launcher. */
#include "kinds.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/proc.h"
#include "sys/seccomp_notify.h"
#include "test_util.h"
#include "test_run.h"

#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
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
    struct ash_scenario *sc;
    char summary[512];
} fx;

static const char scenario[] = "version: 1\nname: s\nservices:\n  - name: svc\n    command: [\"/bin/true\"]\n"
                               "faults:\n  - name: squeeze\n    kind: memory-exhaustion\n    service: svc\n"
                               "    enomem: true\n";

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

static void on_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    (void)ctx;
    (void)t;
    if (strcmp(event, "enomem-summary") == 0)
        snprintf(fx.summary, sizeof fx.summary, "%s", detail);
}

static void setup(void)
{
    memset(&fx, 0, sizeof fx);
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("t.yaml", scenario, strlen(scenario), &fx.sc, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_loop_new(&fx.loop, &err), 0);
    char tool[4096];
    snprintf(tool, sizeof tool, "%s/tests/ash_malloccount",
             getenv("ASH_BUILD_DIR") ? getenv("ASH_BUILD_DIR") : "build");
    char *argv[] = {tool, NULL};
    struct ash_seccomp_launch launch;
    /* Exactly what the engine would start the service with. */
    ck_assert_int_eq(ash_seccomp_launch_prepare(fx.sc->services[0].seccomp_syscalls, argv, &launch, &err), 0);
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
    ash_scenario_free(fx.sc);
}

/* Send "N big|small", run the loop (answering notifications) until the reply. */
static void allocate(long n, const char *kind, long *ok, long *fail)
{
    char cmd[64];
    int len = snprintf(cmd, sizeof cmd, "%ld %s\n", n, kind);
    fx.len = 0;
    fx.got = false;
    fx.reply[0] = '\0';
    ck_assert_int_eq(write(fx.in, cmd, (size_t)len), len);
    ash_error_t err = {0};
    ash_loop_run_until(fx.loop, &fx.got, ash_now_ns() + 20 * ASH_NS_PER_S, &err);
    ck_assert_msg(fx.got, "no reply from the target");
    ck_assert_int_eq(sscanf(fx.reply, "ok %ld fail %ld", ok, fail), 2);
}

START_TEST(marks_the_launcher)
{
    ck_assert(fx.sc->services[0].seccomp);
    ck_assert_str_eq(fx.sc->services[0].seccomp_syscalls, "mmap,brk");
}
END_TEST

START_TEST(fails_only_inside_window)
{
    long ok, fail;
    allocate(1, "small", &ok, &fail); /* stdio and the loader are done allocating */
    allocate(20, "big", &ok, &fail);
    ck_assert_int_eq(ok, 20);
    ck_assert_int_eq(fail, 0);
    allocate(20, "small", &ok, &fail);
    ck_assert_int_eq(ok, 20);
    ck_assert_int_eq(fail, 0);
    uint64_t failed0, failed1;
    ash_seccomp_listener_counts(fx.l, NULL, &failed0, NULL);
    ck_assert_int_eq(failed0, 0);

    struct ash_ctx ctx = {.loop = fx.loop, .scenario = fx.sc, .run_id = "enomem", .event = on_event};
    const struct ash_fault_spec *f = &fx.sc->faults[0];
    ash_error_t err = {0};
    void *st = NULL;
    ck_assert_msg(f->kind->inject(&ctx, f, &st, &err) == 0, "%s", err.msg);
    allocate(20, "big", &ok, &fail);
    ck_assert_int_eq(fail, 20);
    ck_assert_int_eq(ok, 0);
    allocate(20, "small", &ok, &fail);
    ck_assert_int_eq(fail, 20);
    ck_assert_int_eq(ok, 0);
    ck_assert_int_eq(f->kind->revert(&ctx, f, st, &err), 0);
    ash_seccomp_listener_counts(fx.l, NULL, &failed1, NULL);
    ck_assert_int_ge(failed1, 40);
    /* Both paths were refused: mmap with ENOMEM and brk with the unchanged break. */
    uint64_t mm = 0, br = 0;
    ck_assert_msg(
        sscanf(fx.summary, "service svc: %" SCNu64 " anonymous mmap failed, %" SCNu64 " brk refused", &mm, &br) == 2,
        "summary: '%s'", fx.summary);
    ck_assert_uint_ge(mm, 20);
    ck_assert_uint_ge(br, 20);
    ck_assert_uint_eq(mm + br, failed1);

    allocate(20, "big", &ok, &fail);
    ck_assert_int_eq(ok, 20);
    ck_assert_int_eq(fail, 0);
    allocate(20, "small", &ok, &fail);
    ck_assert_int_eq(ok, 20);
    ck_assert_int_eq(fail, 0);
    ash_seccomp_listener_counts(fx.l, NULL, &failed0, NULL);
    ck_assert_int_eq(failed0, failed1);
    ck_assert_int_ne(ash_proc_state(fx.child.pid), 'T');
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("enomem");
    TCase *tc = tcase_create("notify");
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, marks_the_launcher);
    tcase_add_test(tc, fails_only_inside_window);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "__seccomp-exec") == 0)
        return ash_seccomp_exec_main(argc - 1, argv + 1);
    int failed = ash_test_failures(suite(), CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
