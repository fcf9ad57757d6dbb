/* Probes `from: process:pid=N` (the code path of `from: container:NAME`) resolve names
 * inside a network namespace this test makes itself, without ever blocking the loop:
 * a namespace whose resolv.conf names a nameserver that never answers (a UDP socket
 * bound on its loopback that is never read: the query is taken and nothing comes back,
 * not even an ICMP refusal; no traffic leaves the namespace)
 * fails each tcp and http sample at start + timeout with the reason, while a 10 ms
 * timer on the same loop stays on time and samples keep their cadence; a namespace
 * whose nameserver answers (a responder on its loopback) resolves and connects; and a
 * tcp, http or PostgreSQL sql probe from the harness whose own resolver hangs (this
 * test's process in such a namespace) fails its samples at their timeout, the loop on time.
 * Needs root (namespaces, mounts, links). */
#include "kinds.h"
#include "probes/probe_confs.h"
#include "sys/clock.h"
#include "test_util.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 7300
#define NAME "web.ash-resolve-test"

static bool can_run(void)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (network and mount namespaces, links)");
        return false;
    }
    if (system("command -v ip >/dev/null 2>&1") != 0) {
        ash_test_skip("needs ip (iproute2) to bring the namespace's loopback up");
        return false;
    }
    return true;
}

/* Answer every A query with 127.0.0.1: the query echoed back as a response with one
 * answer record pointing at its question name. */
static void dns_responder(int s)
{
    for (;;) {
        uint8_t q[512 + 16];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, q, 512, 0, (struct sockaddr *)&from, &fl);
        if (n < 12)
            continue;
        const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 1};
        q[2] |= 0x80; /* QR */
        q[3] = 0x80;  /* RA, NOERROR */
        q[6] = 0, q[7] = 1;
        memcpy(q + n, rr, sizeof rr);
        sendto(s, q, (size_t)n + sizeof rr, 0, (struct sockaddr *)&from, fl);
    }
}

/* Move the calling process into a network and mount namespace of its own, its
 * /etc/resolv.conf naming `nameserver` (a loopback address): returns a UDP socket
 * bound on its port 53 there, that nothing reads yet (a black hole), or -1. */
static int enter_ns(const char *nameserver)
{
    char dir[] = "/tmp/ash-resolve-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/resolv.conf", dir);
    FILE *f = fopen(path, "w");
    int ok = f && fprintf(f, "nameserver %s\n", nameserver) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    ok = ok && unshare(CLONE_NEWNET | CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
         mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) == 0;
    unlink(path);
    rmdir(dir); /* the bind mount keeps the file */
    if (!ok || system("ip link set lo up") != 0)
        return -1;
    int d = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    if (inet_pton(AF_INET, nameserver, &sa.sin_addr) != 1 || bind(d, (struct sockaddr *)&sa, sizeof sa) < 0)
        return -1;
    return d;
}

/* A process in a namespace of its own (enter_ns). answer: a DNS responder on its
 * nameserver and a TCP listener on 127.0.0.1:PORT (answering a minimal HTTP 200); else
 * nothing ever reads the nameserver's socket. Killed with SIGKILL by the test; dies with it. */
static pid_t start_ns(const char *nameserver, bool answer)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int d = enter_ns(nameserver), l = -1;
        if (d < 0)
            _exit(12);
        if (answer) {
            l = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 16) < 0)
                _exit(15);
        }
        if (write(ready[1], "r", 1) != 1)
            _exit(16);
        close(ready[1]);
        if (!answer)
            for (;;)
                pause();
        if (fork() == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            dns_responder(d);
        }
        for (;;) {
            int c = accept(l, NULL, NULL);
            char b[1024];
            static const char ok[] = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            if (c >= 0 && read(c, b, sizeof b) > 0 && write(c, ok, sizeof ok - 1) < 0)
                _exit(17);
            if (c >= 0)
                close(c);
        }
    }
    close(ready[1]);
    char r = 0;
    ck_assert_msg(read(ready[0], &r, 1) == 1, "the namespace did not come up");
    close(ready[0]);
    return pid;
}

static void stop_ns(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The loop's own clock: how late a 10 ms timer ever fired while samples ran. */
static int64_t max_late;

static int64_t tick(ash_loop *loop, int64_t now, void *data)
{
    int64_t *due = data;
    if (now - *due > max_late)
        max_late = now - *due;
    *due += 10 * ASH_NS_PER_MS;
    return *due;
}

static struct ash_sample results[64];
static size_t n_results;

static void on_done(void *arg, const struct ash_sample *s)
{
    (void)arg;
    if (n_results < 64)
        results[n_results++] = *s;
}

struct sampler {
    struct ash_ctx *ctx;
    const struct ash_probe_spec *p;
    void *st;
    int64_t next;
    int left;
};

/* Start one sample every p->every, at its planned time, as the engine does. */
static int64_t sample_tick(ash_loop *loop, int64_t now, void *data)
{
    struct sampler *s = data;
    ash_error_t err = {0};
    ck_assert_msg(s->p->kind->sample(s->ctx, s->p, s->st, s->next, on_done, NULL, &err) == 0, "%s", err.msg);
    s->next += s->p->every_ns;
    return --s->left > 0 ? s->next : ASH_TIMER_DONE;
}

/* n samples of `kind` (conf) from process pid (0: from the harness), every 100 ms,
 * timeout 300 ms; the loop runs until all n are in. */
static void run_samples(const char *kind, void *conf, pid_t pid, int n)
{
    char from[64], name[] = "p";
    snprintf(from, sizeof from, "process:pid=%d", (int)pid);
    struct ash_probe_spec p = {.name = name,
                               .kind = ash_probe_kind_find(kind),
                               .conf = conf,
                               .from = pid ? from : NULL,
                               .every_ns = 100 * ASH_NS_PER_MS,
                               .timeout_ns = 300 * ASH_NS_PER_MS};
    ck_assert_ptr_nonnull(p.kind);
    ash_loop *loop = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct ash_ctx ctx = {.loop = loop};
    void *st = NULL;
    ck_assert_msg(p.kind->open(&ctx, &p, &st, &err) == 0, "%s", err.msg);
    int64_t t0 = ash_now_ns() + 20 * ASH_NS_PER_MS, due = t0;
    struct sampler s = {&ctx, &p, st, t0, n};
    max_late = 0;
    n_results = 0;
    ash_timer *clock = ash_loop_add_timer(loop, due, tick, &due);
    ck_assert_ptr_nonnull(ash_loop_add_timer(loop, t0, sample_tick, &s));
    ck_assert_ptr_nonnull(clock);
    int64_t end = t0 + (int64_t)n * p.every_ns + 2 * ASH_NS_PER_S;
    while (n_results < (size_t)n && ash_now_ns() < end) {
        bool never = false;
        ck_assert_int_eq(ash_loop_run_until(loop, &never, ash_now_ns() + 20 * ASH_NS_PER_MS, &err), 0);
    }
    ash_loop_cancel_timer(loop, clock);
    p.kind->close(&ctx, &p, st);
    ash_loop_free(loop);
    ck_assert_uint_eq(n_results, (size_t)n);
    /* Planned starts, one every 100 ms: the cadence held. */
    for (size_t i = 0; i < n_results; i++)
        ck_assert_int_eq(results[i].start, t0 + (int64_t)i * p.every_ns);
}

START_TEST(test_blackholed_nameserver_fails_samples_not_the_loop)
{
    if (!can_run())
        return;
    pid_t pid = start_ns("127.0.0.2", false);
    char addr[] = NAME ":80", url[] = "http://" NAME "/";
    struct ash_tcp_conf tc = {.address = addr};
    struct ash_http_conf hc = {.url = url};
    for (int k = 0; k < 2; k++) {
        run_samples(k == 0 ? "tcp" : "http", k == 0 ? (void *)&tc : (void *)&hc, pid, 8);
        /* Before: each sample waited for the nameserver on the loop (1 s each). */
        ck_assert_msg(max_late < 50 * ASH_NS_PER_MS, "%s: the loop was blocked %.0f ms", k ? "http" : "tcp",
                      ash_ns_to_ms(max_late));
        for (size_t i = 0; i < n_results; i++) {
            const struct ash_sample *r = &results[i];
            int64_t took = r->end - r->start;
            ck_assert(!r->ok);
            ck_assert_msg(strstr(r->detail, "resolve '" NAME "'") && strstr(r->detail, "no answer from 127.0.0.2"),
                          "%s", r->detail);
            /* Failed at its timeout (300 ms), not at the old 1 s, and not before. */
            ck_assert_msg(took >= 300 * ASH_NS_PER_MS && took < 380 * ASH_NS_PER_MS, "%s sample %zu took %.1f ms",
                          k ? "http" : "tcp", i, ash_ns_to_ms(took));
        }
    }
    stop_ns(pid);
}
END_TEST

START_TEST(test_answering_nameserver_resolves_inside)
{
    if (!can_run())
        return;
    pid_t pid = start_ns("127.0.0.1", true);
    char addr[32], url[64];
    snprintf(addr, sizeof addr, NAME ":%d", PORT);
    snprintf(url, sizeof url, "http://" NAME ":%d/", PORT);
    struct ash_tcp_conf tc = {.address = addr};
    struct ash_http_conf hc = {.url = url};
    for (int k = 0; k < 2; k++) {
        run_samples(k == 0 ? "tcp" : "http", k == 0 ? (void *)&tc : (void *)&hc, pid, 4);
        ck_assert_msg(max_late < 50 * ASH_NS_PER_MS, "the loop was blocked %.0f ms", ash_ns_to_ms(max_late));
        for (size_t i = 0; i < n_results; i++)
            ck_assert_msg(results[i].ok, "%s sample %zu: %s", k ? "http" : "tcp", i, results[i].detail);
    }
    stop_ns(pid);
}
END_TEST

/* The harness's own resolver can hang too (its nameserver gone): a tcp probe with no
 * `from:` asks it on glibc's threads (getaddrinfo_a), an http one on libcurl's resolver
 * thread, which is left behind (CURLOPT_QUICK_EXIT) when the sample times out; neither
 * waits on the loop. This test's
 * process moves into a namespace of its own whose resolv.conf names a black hole. */
START_TEST(test_harness_resolver_that_hangs)
{
    if (!can_run())
        return;
    int d = enter_ns("127.0.0.2");
    ck_assert_int_ge(d, 0);
    char addr[] = NAME ":80", url[] = "http://" NAME "/", dsn[] = "host=" NAME " port=5432 dbname=ash";
    struct ash_tcp_conf tc = {.address = addr};
    struct ash_http_conf hc = {.url = url};
    struct ash_sql_conf sc = {.postgres = dsn};
    const char *kinds[] = {"tcp", "http", "sql"};
    void *confs[] = {&tc, &hc, &sc};
    for (int k = 0; k < 3; k++) {
        run_samples(kinds[k], confs[k], 0, 6);
        /* Before: getaddrinfo on the loop (tcp; sql inside libpq's PQconnectPoll), or
         * libcurl joining its resolver thread when the sample timed out (http): 5 s per
         * try, glibc's default timeout. */
        ck_assert_msg(max_late < 50 * ASH_NS_PER_MS, "%s: the loop was blocked %.0f ms", kinds[k],
                      ash_ns_to_ms(max_late));
        for (size_t i = 0; i < n_results; i++) {
            int64_t took = results[i].end - results[i].start;
            ck_assert(!results[i].ok);
            ck_assert_msg(strstr(results[i].detail, "resolve '" NAME "': no answer from the harness's resolver"), "%s",
                          results[i].detail);
            ck_assert_msg(took >= 300 * ASH_NS_PER_MS && took < 380 * ASH_NS_PER_MS, "%s sample %zu took %.1f ms",
                          kinds[k], i, ash_ns_to_ms(took));
        }
    }
    close(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("probe_resolve_ns");
    TCase *tc = tcase_create("kernel");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_blackholed_nameserver_fails_samples_not_the_loop);
    tcase_add_test(tc, test_answering_nameserver_resolves_inside);
    tcase_add_test(tc, test_harness_resolver_that_hangs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
