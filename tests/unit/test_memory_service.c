/* memory-exhaustion on a host-mode service (no sandbox): the service is moved
 * into a cgroup of its own (ash-<run>-<service>) for the fault, the limit holds
 * there (a stepping allocator is OOM-killed before it passes it, and the kill
 * is observed), revert moves a live service back to exactly its old cgroup and
 * removes the fault's cgroup, and the journal is left empty. Needs root. */
#include "env/env.h"
#include "env/target.h"
#include "kinds.h"
#include "sys/cgroup.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/proc.h"

#include <check.h>

#include "sys/objname.h"
#include "test_util.h"
#include "test_run.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
    char run[16];
    char state[64];
    char flag[128];
    struct ash_cgroup_sys sys;
    struct ash_scenario *sc;
    struct ash_journal *j;
    ash_loop *loop;
    struct ash_env *env;
    struct ash_ctx ctx;
    long max_at;
    bool exited, oom;
    char exit_detail[256];
} fx;

static bool can_run(void)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (cgroup limits, moving a process)");
        return false;
    }
    if (ash_cgroup_detect(NULL, &fx.sys, NULL) < 0 || !fx.sys.memory[0]) {
        ash_test_skip("no memory cgroup controller on this machine");
        return false;
    }
    return true;
}

static void on_line(void *arg, const char *service, const char *line, int64_t t)
{
    (void)arg;
    (void)service;
    (void)t;
    long at;
    if (sscanf(line, "at %ld", &at) == 1 && at > fx.max_at)
        fx.max_at = at;
}

static void on_env_event(void *arg, int64_t t, const char *event, const char *detail)
{
    (void)arg;
    (void)t;
    if (strcmp(event, "service-exited") == 0) {
        fx.exited = true;
        snprintf(fx.exit_detail, sizeof fx.exit_detail, "%s", detail);
    }
}

static void on_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    (void)ctx;
    (void)t;
    (void)detail;
    if (strcmp(event, "oom-kill") == 0)
        fx.oom = true;
}

static void start_yaml(const char *y);

/* Start one service "hog" that waits for fx.flag, then allocates 4 MiB steps up to 200 MiB. */
static void start(void)
{
    memset(&fx, 0, sizeof fx);
    if (!can_run())
        return;
    char tool[4096], y[8192];
    snprintf(tool, sizeof tool, "%s/tests/ash_memstep", getenv("ASH_BUILD_DIR") ? getenv("ASH_BUILD_DIR") : "build");
    ck_assert_msg(access(tool, X_OK) == 0, "%s missing (set ASH_BUILD_DIR)", tool);
    snprintf(fx.run, sizeof fx.run, "s%05x", (unsigned)getpid() & 0xfffff);
    snprintf(fx.state, sizeof fx.state, "/tmp/ash-memsvc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx.state));
    snprintf(fx.flag, sizeof fx.flag, "%s/go", fx.state);
    /* The service waits for the flag while this test lives (a failed assertion
     * ends the test process, and the service with it). */
    snprintf(y, sizeof y,
             "version: 1\nname: s\nservices:\n  - name: hog\n"
             "    command: [\"/bin/sh\", \"-c\", \"while [ ! -e %s ]; do kill -0 %d || exit 1; sleep 0.02; done; "
             "exec %s 4 200\"]\n"
             "faults:\n  - name: squeeze\n    kind: memory-exhaustion\n    service: hog\n    limit: 48MiB\n"
             "    swap: off\n    sample_every: 100ms\n",
             fx.flag, (int)getpid(), tool);
    start_yaml(y);
}

/* Load scenario text y and start its services (fx.run and fx.state are set). */
static void start_yaml(const char *y)
{
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("t.yaml", y, strlen(y), &fx.sc, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_journal_open(ash_test_journal_dir, fx.run, &fx.j, &err), 0);
    ck_assert_int_eq(ash_loop_new(&fx.loop, &err), 0);
    struct ash_env_opts eo = {.loop = fx.loop,
                              .journal = fx.j,
                              .scenario = fx.sc,
                              .run_id = fx.run,
                              .run_dir = fx.state,
                              .hooks = {.line = on_line, .event = on_env_event}};
    ck_assert_msg(ash_env_new(&eo, &fx.env, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_env_start(fx.env, &err) == 0, "%s", err.msg);
    fx.ctx = (struct ash_ctx){.loop = fx.loop,
                              .journal = fx.j,
                              .env = fx.env,
                              .scenario = fx.sc,
                              .run_id = fx.run,
                              .run_dir = fx.state,
                              .state_dir = fx.state,
                              .event = on_event};
}

static void stop(void)
{
    if (!fx.env)
        return;
    ash_env_stop(fx.env);
    ash_env_free(fx.env);
    ash_loop_free(fx.loop);
    ck_assert_int_eq((int)ash_journal_pending(fx.j), 0);
    ash_journal_close(fx.j, true);
    ash_scenario_free(fx.sc);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.state);
    ck_assert_int_eq(system(cmd), 0);
}

/* The pid's cgroup in the memory hierarchy, as a directory. */
static void memory_dir(pid_t pid, char *out, size_t len)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        bool v1mem = strstr(c1 + 1, "memory") != NULL;
        if ((fx.sys.memory_v1 && v1mem) || (!fx.sys.memory_v1 && c1[1] == '\0'))
            snprintf(out, len, "%s%s", fx.sys.memory, c2 + 1);
    }
    fclose(f);
    ck_assert_msg(out[0], "pid %d has no memory cgroup line", (int)pid);
}

static unsigned long long read_ull(const char *dir, const char *file)
{
    char path[1200], buf[64] = "";
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    return strtoull(buf, NULL, 10);
}

START_TEST(moved_and_moved_back)
{
    start();
    if (!fx.env)
        return;
    struct ash_service *svc = ash_env_service(fx.env, "hog");
    ck_assert_ptr_nonnull(svc);
    pid_t pid = ash_service_pid(svc);
    char before[1200], during[1200], after[1200];
    memory_dir(pid, before, sizeof before);

    const struct ash_fault_spec *f = &fx.sc->faults[0];
    ash_error_t err = {0};
    void *st = NULL;
    size_t pending0 = ash_journal_pending(fx.j); /* the env's record of the running service */
    ck_assert_msg(f->kind->inject(&fx.ctx, f, &st, &err) == 0, "%s", err.msg);
    memory_dir(pid, during, sizeof during);
    char want[64], name[ASH_OBJNAME_MAX + 1];
    ash_objname(name, fx.run, "hog");
    snprintf(want, sizeof want, "/%s", name);
    ck_assert_msg(strstr(during, want) && strcmp(during + strlen(during) - strlen(want), want) == 0,
                  "service in %s, expected .../%s", during, want + 1);
    const char *limit_file = fx.sys.memory_v1 ? "memory.limit_in_bytes" : "memory.max";
    ck_assert_uint_eq(read_ull(during, limit_file), 48ull << 20);
    ck_assert_uint_gt(ash_journal_pending(fx.j), pending0);

    ck_assert_msg(f->kind->revert(&fx.ctx, f, st, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_service_pid(svc), pid); /* the same process, alive */
    memory_dir(pid, after, sizeof after);
    ck_assert_str_eq(after, before);
    struct stat sb;
    ck_assert_int_eq(stat(during, &sb), -1); /* the fault's cgroup is gone */
    ck_assert_int_eq(ash_journal_pending(fx.j), pending0);
    stop();
}
END_TEST

START_TEST(limit_holds_and_oom_observed)
{
    start();
    if (!fx.env)
        return;
    pid_t pid = ash_service_pid(ash_env_service(fx.env, "hog"));
    const struct ash_fault_spec *f = &fx.sc->faults[0];
    ash_error_t err = {0};
    void *st = NULL;
    size_t pending0 = ash_journal_pending(fx.j);
    ck_assert_msg(f->kind->inject(&fx.ctx, f, &st, &err) == 0, "%s", err.msg);
    char during[1200];
    memory_dir(pid, during, sizeof during);
    close(open(fx.flag, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)); /* now allocate */
    ash_loop_run_until(fx.loop, &fx.exited, ash_now_ns() + 30 * ASH_NS_PER_S, &err);
    ck_assert_msg(fx.exited, "the service outgrew 48 MiB without being stopped (reached %ld MiB)", fx.max_at);
    /* Up to 48 MiB of 4 MiB steps, less what the shell and libc already use. */
    ck_assert_msg(fx.max_at >= 8 && fx.max_at < 48, "reached %ld MiB under a 48 MiB limit", fx.max_at);
    ck_assert_msg(strstr(fx.exit_detail, "SIGKILL"), "exit: %s", fx.exit_detail);
    /* The kill is observed (v1 eventfd / v2 inotify): let the watcher see it. */
    bool dummy = false;
    if (!fx.oom)
        ash_loop_run_until(fx.loop, &dummy, ash_now_ns() + 500 * ASH_NS_PER_MS, &err);
    ck_assert(fx.oom);
    ck_assert_msg(f->kind->revert(&fx.ctx, f, st, &err) == 0, "%s", err.msg);
    struct stat sb;
    ck_assert_int_eq(stat(during, &sb), -1);
    ck_assert_uint_le(ash_journal_pending(fx.j), pending0);
    stop();
}
END_TEST

/* The service as a live target: its process, and the operations a service has not. */
START_TEST(service_as_target)
{
    start();
    if (!fx.env)
        return;
    ash_error_t err = {0};
    struct ash_target t;
    struct ash_target_ref ref = {.type = ASH_TARGET_SERVICE, .name = "hog"};
    ck_assert_msg(ash_ctx_target(&fx.ctx, &ref, &t, &err) == 0, "%s", err.msg);
    struct ash_target_proc *p;
    size_t n;
    ck_assert_msg(ash_target_procs(&t, &p, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(p[0].pid, ash_service_pid(ash_env_service(fx.env, "hog")));
    ck_assert_uint_eq(p[0].start, ash_proc_start_time(p[0].pid));
    free(p);
    ck_assert_int_eq(ash_target_netns_fd(&t), -1);
    ck_assert_ptr_null(ash_target_cgroup(&t)); /* none of its own until a memory fault makes one */
    ck_assert_int_lt(ash_target_freeze(&t, &err), 0);
    ck_assert_str_eq(err.msg, "service 'hog' cannot be frozen: Operation not supported");
    ck_assert_int_eq(ash_target_signal(&t, 0, &err), 1); /* signal 0: it is there, and it is the one */
    ref.name = "nope";
    ck_assert_int_lt(ash_ctx_target(&fx.ctx, &ref, &t, &err), 0);
    ck_assert_int_eq(err.code, ESRCH);
    ref = (struct ash_target_ref){.type = ASH_TARGET_HOST, .name = "web"};
    ck_assert_int_lt(ash_ctx_target(&fx.ctx, &ref, &t, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "no sandbox host named 'web'"));
    stop();
}
END_TEST

/* Issue 22: host-mode cgroup names were cut at 200 bytes, so two services whose
 * names share a 240-byte prefix shared one cgroup: the second limit replaced
 * the first and its revert ended the first early. Each gets its own now. */
START_TEST(long_names_own_cgroups)
{
    memset(&fx, 0, sizeof fx);
    if (!can_run())
        return;
    char head[241], y[4096];
    memset(head, 'n', 240);
    head[240] = '\0';
    snprintf(fx.run, sizeof fx.run, "l%05x", (unsigned)getpid() & 0xfffff);
    snprintf(fx.state, sizeof fx.state, "/tmp/ash-memsvc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx.state));
    snprintf(y, sizeof y,
             "version: 1\nname: s\nservices:\n"
             "  - name: %s-one\n    command: [\"/bin/sh\", \"-c\", \"while kill -0 %d; do sleep 0.1; done\"]\n"
             "  - name: %s-two\n    command: [\"/bin/sh\", \"-c\", \"while kill -0 %d; do sleep 0.1; done\"]\n"
             "faults:\n"
             "  - name: first\n    kind: memory-exhaustion\n    service: %s-one\n    limit: 48MiB\n"
             "  - name: second\n    kind: memory-exhaustion\n    service: %s-two\n    limit: 80MiB\n",
             head, (int)getpid(), head, (int)getpid(), head, head);
    start_yaml(y);
    char n1[300], n2[300];
    snprintf(n1, sizeof n1, "%s-one", head);
    snprintf(n2, sizeof n2, "%s-two", head);
    pid_t p1 = ash_service_pid(ash_env_service(fx.env, n1)), p2 = ash_service_pid(ash_env_service(fx.env, n2));
    ck_assert_int_gt(p1, 0);
    ck_assert_int_gt(p2, 0);
    const struct ash_fault_spec *f1 = &fx.sc->faults[0], *f2 = &fx.sc->faults[1];
    ash_error_t err = {0};
    void *s1 = NULL, *s2 = NULL;
    ck_assert_msg(f1->kind->inject(&fx.ctx, f1, &s1, &err) == 0, "%s", err.msg);
    ck_assert_msg(f2->kind->inject(&fx.ctx, f2, &s2, &err) == 0, "%s", err.msg);
    char d1[1200], d2[1200];
    memory_dir(p1, d1, sizeof d1);
    memory_dir(p2, d2, sizeof d2);
    ck_assert_msg(strcmp(d1, d2) != 0, "both services in %s", d1);
    const char *limit_file = fx.sys.memory_v1 ? "memory.limit_in_bytes" : "memory.max";
    ck_assert_uint_eq(read_ull(d1, limit_file), 48ull << 20);
    ck_assert_uint_eq(read_ull(d2, limit_file), 80ull << 20);
    char want[64], name[ASH_OBJNAME_MAX + 1];
    ash_objname(name, fx.run, n1);
    snprintf(want, sizeof want, "/%s", name);
    ck_assert_msg(strcmp(d1 + strlen(d1) - strlen(want), want) == 0, "service in %s, expected .../%s", d1, name);
    /* Reverting the second leaves the first in its cgroup with its limit. */
    ck_assert_msg(f2->kind->revert(&fx.ctx, f2, s2, &err) == 0, "%s", err.msg);
    char again[1200];
    memory_dir(p1, again, sizeof again);
    ck_assert_str_eq(again, d1);
    ck_assert_uint_eq(read_ull(d1, limit_file), 48ull << 20);
    ck_assert_msg(f1->kind->revert(&fx.ctx, f1, s1, &err) == 0, "revert of the first: %s", err.msg);
    ck_assert_int_eq(access(d1, F_OK), -1);
    ck_assert_int_eq(access(d2, F_OK), -1);
    stop();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("memory_service");
    TCase *tc = tcase_create("host-mode");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_test(tc, moved_and_moved_back);
    tcase_add_test(tc, limit_holds_and_oom_observed);
    tcase_add_test(tc, service_as_target);
    tcase_add_test(tc, long_names_own_cgroups);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
