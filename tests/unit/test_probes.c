/* Probe kinds (http, tcp, exec) on a real loop against loopback listeners and the scripted ash_target. */
#include "kinds.h"
#include "probes/probe_confs.h"
#include "sys/clock.h"
#include "sys/loop.h"
#include "sys/proc.h"
#include "test_skip.h"
#include "test_util.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The tests' files live under one parent made and removed by the runner process
 * (main), so a test that fails before its own cleanup leaves nothing in /tmp. */
static char parentdir[64];

#define MS ASH_NS_PER_MS

/* ---- harness ---- */

struct got {
    bool done;
    int calls;
    struct ash_sample s;
};

static void on_done(void *arg, const struct ash_sample *s)
{
    struct got *g = arg;
    g->calls++;
    g->done = true;
    g->s = *s;
}

struct fixture {
    ash_loop *loop;
    struct ash_ctx ctx;
};

static void fx_init(struct fixture *fx)
{
    ash_error_t err = {0};
    ck_assert_msg(ash_loop_new(&fx->loop, &err) == 0, "%s", err.msg);
    fx->ctx = (struct ash_ctx){.loop = fx->loop};
}

static void fx_free(struct fixture *fx)
{
    ash_loop_free(fx->loop);
}

/* The table entries themselves (not the registry: that would link every kind
 * of the tree into this test, and probes depend on none of them). */
extern const struct ash_probe_kind ash_probe_http, ash_probe_tcp, ash_probe_exec;

static struct ash_probe_spec mk_spec(const char *kind, void *conf, int64_t timeout_ns)
{
    const struct ash_probe_kind *k = strcmp(kind, "http") == 0  ? &ash_probe_http
                                     : strcmp(kind, "tcp") == 0 ? &ash_probe_tcp
                                                                : &ash_probe_exec;
    ck_assert_str_eq(k->c.name, kind);
    ck_assert_ptr_nonnull(k->open);
    return (struct ash_probe_spec){
        .name = "test-probe", .kind = k, .conf = conf, .every_ns = 100 * MS, .timeout_ns = timeout_ns};
}

/* One sample from start to report; fails the test if done is not called within `limit`. */
static struct ash_sample sample_once(struct fixture *fx, const struct ash_probe_spec *p, void *state, int64_t limit)
{
    struct got g = {0};
    ash_error_t err = {0};
    int64_t start = ash_now_ns();
    ck_assert_msg(p->kind->sample(&fx->ctx, p, state, start, on_done, &g, &err) == 0, "%s", err.msg);
    ck_assert_msg(!g.done, "done must not be called from inside sample()");
    ck_assert_int_eq(ash_loop_run_until(fx->loop, &g.done, start + limit, &err), 0);
    ck_assert_msg(g.done, "sample did not complete within %lld ms", (long long)(limit / MS));
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.s.start, start);
    ck_assert(g.s.end >= g.s.start);
    return g.s;
}

static void *open_probe(struct fixture *fx, const struct ash_probe_spec *p)
{
    void *state = NULL;
    ash_error_t err = {0};
    ck_assert_msg(p->kind->open(&fx->ctx, p, &state, &err) == 0, "%s", err.msg);
    return state;
}

/* A loopback listener that never accepts. backlog 0 plus fillers = SYNs dropped. */
static int listener(int backlog, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, backlog), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A loopback port nothing listens on (bound then closed; nobody else on this box picks it within the test). */
static uint16_t closed_port(void)
{
    uint16_t port;
    int fd = listener(1, &port);
    close(fd);
    return port;
}

static int filler_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int r = connect(fd, (struct sockaddr *)&a, sizeof a);
    ck_assert(r == 0 || errno == EINPROGRESS);
    return fd;
}

/* ---- ash_target ---- */

struct target {
    struct ash_child ch;
    uint16_t port;
    char dir[64];
    char port_file[128];
    char truth_file[128];
};

static void target_path(char *buf, size_t len)
{
    const char *b = getenv("ASH_BUILD_DIR");
    if (b) {
        snprintf(buf, len, "%s/tests/ash_target", b);
        return;
    }
    /* Run by hand: the tools sit next to the test binaries. */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(buf, len, "%s/ash_target", self);
}

/* Start ash_target with extra script flags (NULL-terminated) and wait for its port. */
static void target_start(struct target *t, const char *const *script)
{
    char path[PATH_MAX];
    target_path(path, sizeof path);
    ck_assert_msg(access(path, X_OK) == 0, "ash_target not built at %s", path);
    snprintf(t->dir, sizeof t->dir, "%s/target-XXXXXX", parentdir);
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->port_file, sizeof t->port_file, "%s/port", t->dir);
    snprintf(t->truth_file, sizeof t->truth_file, "%s/truth", t->dir);
    char *argv[32];
    size_t n = 0;
    argv[n++] = path;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = t->port_file;
    argv[n++] = "--truth-file";
    argv[n++] = t->truth_file;
    for (size_t i = 0; script && script[i] && n < 31; i++)
        argv[n++] = (char *)(uintptr_t)script[i];
    argv[n] = NULL;
    struct ash_spawn_opts o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .die_with_parent = true};
    ash_error_t err = {0};
    ck_assert_msg(ash_spawn(&o, &t->ch, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(t->port_file, "r");
        if (f) {
            unsigned p = 0;
            int r = fscanf(f, "%u", &p);
            fclose(f);
            if (r == 1 && p > 0) {
                t->port = (uint16_t)p;
                return;
            }
        }
        usleep(10000);
    }
    ck_abort_msg("ash_target did not write its port file");
}

static void target_stop(struct target *t)
{
    ash_child_terminate(&t->ch, 2 * ASH_NS_PER_S, false);
    ash_child_close(&t->ch);
    unlink(t->port_file);
    unlink(t->truth_file);
    rmdir(t->dir);
}

/* The time of the first "ash-target: EVENT at NS" line, waiting up to limit; -1 if absent. */
static int64_t truth_time(const struct target *t, const char *event, int64_t limit)
{
    char want[64];
    snprintf(want, sizeof want, "ash-target: %s at %%lld", event);
    int64_t until = ash_now_ns() + limit;
    do {
        FILE *f = fopen(t->truth_file, "r");
        if (f) {
            char line[256];
            long long v;
            while (fgets(line, sizeof line, f))
                if (sscanf(line, want, &v) == 1) {
                    fclose(f);
                    return v;
                }
            fclose(f);
        }
        usleep(2000);
    } while (ash_now_ns() < until);
    return -1;
}

static void url_of(char *buf, size_t len, uint16_t port)
{
    snprintf(buf, len, "http://127.0.0.1:%u/healthz", (unsigned)port);
}

/* ---- http ---- */

START_TEST(http_ok_against_target)
{
    struct fixture fx;
    fx_init(&fx);
    struct target t;
    target_start(&t, NULL);
    char url[64];
    url_of(url, sizeof url, t.port);
    struct ash_http_conf c = {.url = url};
    struct ash_probe_spec p = mk_spec("http", &c, 1000 * MS);
    void *st = open_probe(&fx, &p);
    for (int i = 0; i < 3; i++) {
        struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
        ck_assert_msg(s.ok, "sample %d failed: %s", i, s.detail);
        ck_assert_str_eq(s.detail, "");
    }
    p.kind->close(&fx.ctx, &p, st);
    target_stop(&t);
    fx_free(&fx);
}
END_TEST

/* Answers larger than libcurl's receive buffer (headers and a 20 000-byte
 * body, read in pieces), from a recycled handle too: every sample is read
 * whole and judged on its status. */
START_TEST(http_large_answers)
{
    struct fixture fx;
    fx_init(&fx);
    struct target t;
    const char *const script[] = {"--pad", "20000", NULL};
    target_start(&t, script);
    char url[64];
    url_of(url, sizeof url, t.port);
    struct ash_http_conf c = {.url = url};
    struct ash_probe_spec p = mk_spec("http", &c, 1000 * MS);
    void *st = open_probe(&fx, &p);
    for (int i = 0; i < 4; i++) {
        struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
        ck_assert_msg(s.ok, "sample %d of a 20 KB answer failed: %s", i, s.detail);
    }
    p.kind->close(&fx.ctx, &p, st);
    target_stop(&t);
    fx_free(&fx);
}
END_TEST

/* Probes measure the target, never a proxy: a proxy in the environment (here one
 * that refuses) is not used, whatever no_proxy says (docs/probes.md). */
START_TEST(http_ignores_proxy_environment)
{
    const char *dead = "http://127.0.0.1:1";
    const char *vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        setenv(vars[i], dead, 1);
    const char *no_proxy[] = {NULL, "", "example.com"};
    struct fixture fx;
    fx_init(&fx);
    struct target t;
    target_start(&t, NULL);
    char url[64];
    url_of(url, sizeof url, t.port);
    struct ash_http_conf c = {.url = url};
    struct ash_probe_spec p = mk_spec("http", &c, 1000 * MS);
    for (size_t i = 0; i < sizeof no_proxy / sizeof *no_proxy; i++) {
        if (no_proxy[i]) {
            setenv("no_proxy", no_proxy[i], 1);
            setenv("NO_PROXY", no_proxy[i], 1);
        } else {
            unsetenv("no_proxy");
            unsetenv("NO_PROXY");
        }
        void *st = open_probe(&fx, &p);
        struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
        ck_assert_msg(s.ok, "no_proxy=%s: %s", no_proxy[i] ? no_proxy[i] : "(unset)", s.detail);
        p.kind->close(&fx.ctx, &p, st);
    }
    target_stop(&t);
    fx_free(&fx);
}
END_TEST

START_TEST(http_503_fails)
{
    struct fixture fx;
    fx_init(&fx);
    struct target t;
    const char *script[] = {"--fail-at", "0", NULL};
    target_start(&t, script);
    ck_assert_int_gt(truth_time(&t, "broken", 2000 * MS), 0);
    char url[64];
    url_of(url, sizeof url, t.port);
    struct ash_http_conf c = {.url = url};
    struct ash_probe_spec p = mk_spec("http", &c, 1000 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "status 503");
    p.kind->close(&fx.ctx, &p, st);

    /* expect_status turns the same answer into a success. */
    c.expect_status = 503;
    st = open_probe(&fx, &p);
    s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert_msg(s.ok, "%s", s.detail);
    p.kind->close(&fx.ctx, &p, st);
    target_stop(&t);
    fx_free(&fx);
}
END_TEST

START_TEST(http_refused)
{
    struct fixture fx;
    fx_init(&fx);
    char url[64];
    url_of(url, sizeof url, closed_port());
    struct ash_http_conf c = {.url = url};
    struct ash_probe_spec p = mk_spec("http", &c, 1000 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "connect: Connection refused");
    p.kind->close(&fx.ctx, &p, st);
    fx_free(&fx);
}
END_TEST

START_TEST(http_timeout_when_never_answered)
{
    struct fixture fx;
    fx_init(&fx);
    uint16_t port;
    int lfd = listener(16, &port); /* the kernel completes handshakes; nobody ever answers */
    char url[64];
    url_of(url, sizeof url, port);
    struct ash_http_conf c = {.url = url};
    struct ash_probe_spec p = mk_spec("http", &c, 300 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "timeout after 300 ms");
    int64_t took = s.end - s.start;
    ck_assert_msg(took >= 300 * MS && took <= 320 * MS, "took %.3f ms", ash_ns_to_ms(took));
    p.kind->close(&fx.ctx, &p, st);
    close(lfd);
    fx_free(&fx);
}
END_TEST

struct close_in_done {
    struct fixture *fx;
    const struct ash_probe_spec *p;
    void *state;
    struct got g;
};

static void close_from_done(void *arg, const struct ash_sample *s)
{
    struct close_in_done *x = arg;
    on_done(&x->g, s);
    x->p->kind->close(&x->fx->ctx, x->p, x->state);
}

/* The shared multi handle: two probes share it, it survives the first close and
 * the done callback may close the last probe (freeing it) from inside the loop. */
START_TEST(http_shared_multi_lifecycle)
{
    struct fixture fx;
    fx_init(&fx);
    struct target t;
    target_start(&t, NULL);
    char url[64];
    url_of(url, sizeof url, t.port);
    struct ash_http_conf c = {.url = url, .method = "POST", .body = "x=1"};
    char *hdrs[] = {"X-Probe: yes", NULL};
    c.headers = (struct ash_strlist){.v = hdrs, .n = 1};
    struct ash_probe_spec a = mk_spec("http", &c, 1000 * MS), b = mk_spec("http", &c, 1000 * MS);
    void *sa = open_probe(&fx, &a), *sb = open_probe(&fx, &b);
    struct ash_sample s = sample_once(&fx, &a, sa, 2000 * MS);
    ck_assert_msg(s.ok, "%s", s.detail);
    a.kind->close(&fx.ctx, &a, sa);
    s = sample_once(&fx, &b, sb, 2000 * MS);
    ck_assert_msg(s.ok, "%s", s.detail);

    struct close_in_done x = {.fx = &fx, .p = &b, .state = sb};
    ash_error_t err = {0};
    ck_assert(b.kind->sample(&fx.ctx, &b, sb, ash_now_ns(), close_from_done, &x, &err) == 0);
    ck_assert_int_eq(ash_loop_run_until(fx.loop, &x.g.done, ash_now_ns() + 2000 * MS, &err), 0);
    ck_assert(x.g.done && x.g.s.ok);

    /* Nothing of libcurl is left in the loop: run() returns at once. */
    alarm(5);
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(ash_loop_run(fx.loop, &err), 0);
    alarm(0);
    ck_assert_int_lt(ash_now_ns() - t0, 100 * MS);
    target_stop(&t);
    fx_free(&fx);
}
END_TEST

/* ---- tcp ---- */

START_TEST(tcp_ok)
{
    struct fixture fx;
    fx_init(&fx);
    uint16_t port;
    int lfd = listener(16, &port);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    struct ash_tcp_conf c = {.address = addr};
    struct ash_probe_spec p = mk_spec("tcp", &c, 1000 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert_msg(s.ok, "%s", s.detail);
    p.kind->close(&fx.ctx, &p, st);

    /* Names resolve at open: localhost, and [v6]:port syntax for ::1 if it exists here. */
    snprintf(addr, sizeof addr, "localhost:%u", (unsigned)port);
    st = open_probe(&fx, &p);
    s = sample_once(&fx, &p, st, 2000 * MS);
    /* localhost may resolve to ::1 first where nothing listens: either way, a verdict with a reason. */
    ck_assert(s.ok || strncmp(s.detail, "connect: ", 9) == 0);
    p.kind->close(&fx.ctx, &p, st);
    close(lfd);
    fx_free(&fx);
}
END_TEST

START_TEST(tcp_refused)
{
    struct fixture fx;
    fx_init(&fx);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)closed_port());
    struct ash_tcp_conf c = {.address = addr};
    struct ash_probe_spec p = mk_spec("tcp", &c, 1000 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "connect: Connection refused");
    p.kind->close(&fx.ctx, &p, st);
    fx_free(&fx);
}
END_TEST

START_TEST(tcp_timeout_full_backlog)
{
    struct fixture fx;
    fx_init(&fx);
    uint16_t port;
    int lfd = listener(0, &port);
    /* backlog 0 holds one connection; with it full, further SYNs are dropped. */
    int f1 = filler_connect(port), f2 = filler_connect(port);
    usleep(20000);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    struct ash_tcp_conf c = {.address = addr};
    struct ash_probe_spec p = mk_spec("tcp", &c, 200 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "timeout after 200 ms");
    int64_t took = s.end - s.start;
    ck_assert_msg(took >= 200 * MS && took <= 220 * MS, "took %.3f ms", ash_ns_to_ms(took));
    p.kind->close(&fx.ctx, &p, st);
    close(f1);
    close(f2);
    close(lfd);
    fx_free(&fx);
}
END_TEST

START_TEST(tcp_bad_address_and_unresolvable)
{
    struct fixture fx;
    fx_init(&fx);
    struct ash_tcp_conf c = {.address = "no-port-here"};
    struct ash_probe_spec p = mk_spec("tcp", &c, 200 * MS);
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(p.kind->open(&fx.ctx, &p, &st, &err), -1);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "not host:port"));

    /* A name that does not resolve. Its DNS query must not leave this machine:
     * move this (forked) test into a fresh network namespace with no route. */
    if (unshare(CLONE_NEWNET) < 0) {
        ash_test_skip("the unresolvable half: unshare(CLONE_NEWNET): %s (needs root or CAP_SYS_ADMIN)",
                      strerror(errno));
        fx_free(&fx);
        return;
    }
    c.address = "ash-nonexistent.invalid:80";
    st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 10000 * MS);
    ck_assert(!s.ok);
    ck_assert_msg(strncmp(s.detail, "resolve 'ash-nonexistent.invalid': ", 35) == 0, "%s", s.detail);
    p.kind->close(&fx.ctx, &p, st);
    fx_free(&fx);
}
END_TEST

/* ---- exec ---- */

static struct ash_strlist argv_of(char **v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return (struct ash_strlist){.v = v, .n = n};
}

START_TEST(exec_ok_and_fail)
{
    struct fixture fx;
    fx_init(&fx);
    char *ok_argv[] = {"true", NULL};
    struct ash_exec_probe_conf c = {.command = argv_of(ok_argv)};
    struct ash_probe_spec p = mk_spec("exec", &c, 2000 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 3000 * MS);
    ck_assert_msg(s.ok, "%s", s.detail);
    p.kind->close(&fx.ctx, &p, st);

    char *fail_argv[] = {"sh", "-c", "exit 3", NULL};
    c.command = argv_of(fail_argv);
    st = open_probe(&fx, &p);
    s = sample_once(&fx, &p, st, 3000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "exit 3");
    p.kind->close(&fx.ctx, &p, st);

    char *missing_argv[] = {"/nonexistent/ash-probe-cmd", NULL};
    c.command = argv_of(missing_argv);
    st = open_probe(&fx, &p);
    s = sample_once(&fx, &p, st, 3000 * MS);
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "cannot start") != NULL, "%s", s.detail);
    p.kind->close(&fx.ctx, &p, st);
    fx_free(&fx);
}
END_TEST

static pid_t read_pid(const char *path)
{
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            int pid = 0;
            int r = fscanf(f, "%d", &pid);
            fclose(f);
            if (r == 1 && pid > 0)
                return pid;
        }
        usleep(10000);
    }
    ck_abort_msg("no pid in %s", path);
    return -1;
}

/* As subreaper we inherit the orphaned background job: it must die by SIGKILL, promptly. */
static void assert_killed_orphan(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "background job status 0x%x", status);
            return;
        }
        /* ECHILD: not ours yet; it is reparented to us once its killed parent has finished exiting. */
        ck_assert_msg(r == 0 || errno == ECHILD, "waitpid: %s", strerror(errno));
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_abort_msg("background job %d survived the probe", (int)pid);
}

START_TEST(exec_timeout_kills_group)
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    struct fixture fx;
    fx_init(&fx);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/exec-XXXXXX", parentdir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char script[256], bgfile[128], fgfile[128];
    snprintf(bgfile, sizeof bgfile, "%s/bg", dir);
    snprintf(fgfile, sizeof fgfile, "%s/fg", dir);
    snprintf(script, sizeof script, "sleep 30 & echo $! > %s; echo $$ > %s; exec sleep 30", bgfile, fgfile);
    char *argv[] = {"sh", "-c", script, NULL};
    struct ash_exec_probe_conf c = {.command = argv_of(argv)};
    struct ash_probe_spec p = mk_spec("exec", &c, 200 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 3000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "timeout after 200 ms");
    int64_t took = s.end - s.start;
    ck_assert_msg(took >= 200 * MS && took <= 220 * MS, "took %.3f ms", ash_ns_to_ms(took));
    assert_killed_orphan(read_pid(bgfile));
    /* The killed command is reaped by the loop itself, without waiting for close(). */
    pid_t fg = read_pid(fgfile);
    bool never = false;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_run_until(fx.loop, &never, ash_now_ns() + 200 * MS, &err), 0);
    ck_assert_int_eq(kill(fg, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    p.kind->close(&fx.ctx, &p, st);
    unlink(bgfile);
    unlink(fgfile);
    rmdir(dir);
    fx_free(&fx);
}
END_TEST

/* close() with a sample of every kind in flight: done never runs, nothing is
 * left in the loop, no process survives (ASan builds check the memory). */
START_TEST(close_abandons_in_flight)
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    struct fixture fx;
    fx_init(&fx);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/exec-XXXXXX", parentdir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char script[256], bgfile[128], fgfile[128];
    snprintf(bgfile, sizeof bgfile, "%s/bg", dir);
    snprintf(fgfile, sizeof fgfile, "%s/fg", dir);
    snprintf(script, sizeof script, "sleep 30 & echo $! > %s; echo $$ > %s; exec sleep 30", bgfile, fgfile);
    char *argv[] = {"sh", "-c", script, NULL};
    struct ash_exec_probe_conf ec = {.command = argv_of(argv)};
    struct ash_probe_spec pe = mk_spec("exec", &ec, 5000 * MS);

    uint16_t silent_port, full_port;
    int silent = listener(16, &silent_port);
    int full = listener(0, &full_port);
    int f1 = filler_connect(full_port), f2 = filler_connect(full_port);
    char url[64], addr[64];
    url_of(url, sizeof url, silent_port);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)full_port);
    struct ash_http_conf hc = {.url = url};
    struct ash_tcp_conf tc = {.address = addr};
    struct ash_probe_spec ph = mk_spec("http", &hc, 5000 * MS), pt = mk_spec("tcp", &tc, 5000 * MS);

    void *se = open_probe(&fx, &pe), *sh = open_probe(&fx, &ph), *stc = open_probe(&fx, &pt);
    struct got g[6] = {{0}};
    ash_error_t err = {0};
    int64_t now = ash_now_ns();
    ck_assert(pe.kind->sample(&fx.ctx, &pe, se, now, on_done, &g[0], &err) == 0);
    ck_assert(ph.kind->sample(&fx.ctx, &ph, sh, now, on_done, &g[1], &err) == 0);
    ck_assert(ph.kind->sample(&fx.ctx, &ph, sh, now, on_done, &g[2], &err) == 0);
    ck_assert(pt.kind->sample(&fx.ctx, &pt, stc, now, on_done, &g[3], &err) == 0);
    ck_assert(pt.kind->sample(&fx.ctx, &pt, stc, now, on_done, &g[4], &err) == 0);
    bool never = false;
    pid_t fg = read_pid(fgfile), bg = read_pid(bgfile);
    ck_assert_int_eq(ash_loop_run_until(fx.loop, &never, ash_now_ns() + 100 * MS, &err), 0);

    pe.kind->close(&fx.ctx, &pe, se);
    ph.kind->close(&fx.ctx, &ph, sh);
    pt.kind->close(&fx.ctx, &pt, stc);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(g[i].calls, 0);
    /* The command itself was reaped by close(); its background job died with the group. */
    ck_assert_int_eq(kill(fg, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    assert_killed_orphan(bg);

    alarm(5);
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(ash_loop_run(fx.loop, &err), 0);
    alarm(0);
    ck_assert_int_lt(ash_now_ns() - t0, 100 * MS);

    close(f1);
    close(f2);
    close(full);
    close(silent);
    unlink(bgfile);
    unlink(fgfile);
    rmdir(dir);
    fx_free(&fx);
}
END_TEST

/* ---- ash_target's script and truth ---- */

static void assert_near(int64_t got, int64_t want, const char *what)
{
    ck_assert_msg(got >= want && got <= want + 5 * MS, "%s: %.3f ms, wanted %.3f ms (+5 ms)", what, ash_ns_to_ms(got),
                  ash_ns_to_ms(want));
}

START_TEST(target_signal_script_and_truth)
{
    struct fixture fx;
    fx_init(&fx);
    struct target t;
    const char *script[] = {
        "--fail-after-signal",     "200", "--recover-after", "400", "--log-after", "100", "--log-line",
        "ERROR: ash-target broke", NULL};
    target_start(&t, script);
    ck_assert_int_gt(truth_time(&t, "started", 2000 * MS), 0);
    char url[64];
    url_of(url, sizeof url, t.port);
    struct ash_http_conf c = {.url = url};
    struct ash_probe_spec p = mk_spec("http", &c, 1000 * MS);
    void *st = open_probe(&fx, &p);
    struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert_msg(s.ok, "%s", s.detail);

    int64_t t_kill = ash_now_ns();
    ck_assert_int_eq(kill(t.ch.pid, SIGUSR1), 0);
    int64_t broken = truth_time(&t, "broken", 2000 * MS);
    ck_assert_int_gt(broken, 0);
    assert_near(broken - t_kill, 200 * MS, "signal to broken");
    s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "status 503");
    ck_assert(s.start > broken);

    int64_t recovered = truth_time(&t, "recovered", 2000 * MS);
    int64_t logged = truth_time(&t, "logged", 2000 * MS);
    ck_assert_int_gt(recovered, 0);
    ck_assert_int_gt(logged, 0);
    assert_near(logged - broken, 100 * MS, "broken to logged");
    assert_near(recovered - broken, 400 * MS, "broken to recovered");
    s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert_msg(s.ok, "%s", s.detail);
    p.kind->close(&fx.ctx, &p, st);
    target_stop(&t);
    fx_free(&fx);
}
END_TEST

START_TEST(target_refuse_while_broken)
{
    struct fixture fx;
    fx_init(&fx);
    struct target t;
    const char *script[] = {"--fail-at", "300", "--recover-after", "300", "--refuse", NULL};
    target_start(&t, script);
    int64_t started = truth_time(&t, "started", 2000 * MS);
    ck_assert_int_gt(started, 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)t.port);
    struct ash_tcp_conf c = {.address = addr};
    struct ash_probe_spec p = mk_spec("tcp", &c, 1000 * MS);
    void *st = open_probe(&fx, &p);

    int64_t broken = truth_time(&t, "broken", 2000 * MS);
    ck_assert_int_gt(broken, 0);
    assert_near(broken - started, 300 * MS, "start to broken (--fail-at)");
    struct ash_sample s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "connect: Connection refused");

    int64_t recovered = truth_time(&t, "recovered", 2000 * MS);
    ck_assert_int_gt(recovered, 0);
    assert_near(recovered - broken, 300 * MS, "broken to recovered");
    s = sample_once(&fx, &p, st, 2000 * MS);
    ck_assert_msg(s.ok, "%s", s.detail);
    p.kind->close(&fx.ctx, &p, st);
    target_stop(&t);
    fx_free(&fx);
}
END_TEST

static Suite *probes_suite(void)
{
    Suite *s = suite_create("probes");
    TCase *h = tcase_create("http");
    tcase_add_test(h, http_ok_against_target);
    tcase_add_test(h, http_ignores_proxy_environment);
    tcase_add_test(h, http_large_answers);
    tcase_add_test(h, http_503_fails);
    tcase_add_test(h, http_refused);
    tcase_add_test(h, http_timeout_when_never_answered);
    tcase_add_test(h, http_shared_multi_lifecycle);
    suite_add_tcase(s, h);
    TCase *t = tcase_create("tcp");
    tcase_add_test(t, tcp_ok);
    tcase_add_test(t, tcp_refused);
    tcase_add_test(t, tcp_timeout_full_backlog);
    tcase_add_test(t, tcp_bad_address_and_unresolvable);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("exec");
    tcase_add_test(e, exec_ok_and_fail);
    tcase_add_test(e, exec_timeout_kills_group);
    tcase_add_test(e, close_abandons_in_flight);
    suite_add_tcase(s, e);
    TCase *a = tcase_create("ash_target");
    tcase_add_test(a, target_signal_script_and_truth);
    tcase_add_test(a, target_refuse_while_broken);
    suite_add_tcase(s, a);
    return s;
}

int main(void)
{
    ash_test_parent_make(parentdir, sizeof parentdir, "ash-probes");
    int failed = ash_test_failures(probes_suite(), CK_FORK);
    ash_test_parent_remove(parentdir);
    return ash_test_exit(failed);
}
