/* Probe `http` reuses its easy handles: one probe's samples after a timeout, a
 * refusal and with two in flight report only their own outcome (no stale
 * error text, no lost or doubled reports), on a loopback server run by a thread;
 * with keepalive, connections are reused within a probe, never across probes. */
#include "kinds.h"
#include "probes/probe_confs.h"
#include "sys/clock.h"
#include "sys/loop.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS ASH_NS_PER_MS

extern const struct ash_probe_kind ash_probe_http;

/* Serves connections in order by script: 'a' answers 200, 'h' holds the
 * connection open unanswered until the server stops. */
struct server {
    int lfd;
    uint16_t port;
    const char *script;
    int held[8];
    int n_held;
    pthread_t th;
};

static int listen_on(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    int one = 1;
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void *serve(void *arg)
{
    struct server *s = arg;
    for (const char *c = s->script; *c; c++) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            break;
        if (*c == 'h' && s->n_held < 8) {
            s->held[s->n_held++] = fd;
            continue;
        }
        char buf[2048];
        if (read(fd, buf, sizeof buf) > 0) {
            static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            if (write(fd, reply, sizeof reply - 1) < 0) {
            }
        }
        close(fd);
    }
    return NULL;
}

static void server_start(struct server *s, uint16_t port, const char *script)
{
    *s = (struct server){.port = port, .script = script};
    s->lfd = listen_on(&s->port);
    ck_assert_int_eq(pthread_create(&s->th, NULL, serve, s), 0);
}

/* The script must have been used up (every connection it names was made). */
static void server_stop(struct server *s)
{
    pthread_join(s->th, NULL);
    for (int i = 0; i < s->n_held; i++)
        close(s->held[i]);
    close(s->lfd);
}

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

static struct ash_sample sample_once(ash_loop *loop, struct ash_ctx *ctx, const struct ash_probe_spec *p, void *st)
{
    struct got g = {0};
    ash_error_t err = {0};
    int64_t start = ash_now_ns();
    ck_assert_msg(p->kind->sample(ctx, p, st, start, on_done, &g, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_loop_run_until(loop, &g.done, start + 3000 * MS, &err), 0);
    ck_assert(g.done);
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.s.start, start);
    return g.s;
}

START_TEST(one_probe_many_outcomes)
{
    ash_loop *loop = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct ash_ctx ctx = {.loop = loop};
    struct server srv;
    server_start(&srv, 0, "ha");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", (unsigned)srv.port);
    struct ash_http_conf c = {.url = url};
    struct ash_probe_spec p = {
        .name = "reuse", .kind = &ash_probe_http, .conf = &c, .every_ns = 100 * MS, .timeout_ns = 200 * MS};
    void *st = NULL;
    ck_assert_int_eq(p.kind->open(&ctx, &p, &st, &err), 0);

    /* A timeout abandons the transfer; the same handle then succeeds. */
    struct ash_sample s = sample_once(loop, &ctx, &p, st);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "timeout after 200 ms");
    s = sample_once(loop, &ctx, &p, st);
    ck_assert_msg(s.ok, "%s", s.detail);
    ck_assert_str_eq(s.detail, "");
    uint16_t port = srv.port;
    server_stop(&srv);

    /* Refused, then ok again: no error text of the earlier sample is left. */
    s = sample_once(loop, &ctx, &p, st);
    ck_assert(!s.ok);
    ck_assert_str_eq(s.detail, "connect: Connection refused");
    server_start(&srv, port, "aaa");
    s = sample_once(loop, &ctx, &p, st);
    ck_assert_msg(s.ok, "%s", s.detail);
    ck_assert_str_eq(s.detail, "");

    /* Two in flight at once: two handles, two reports. */
    struct got g1 = {0}, g2 = {0};
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(p.kind->sample(&ctx, &p, st, t0, on_done, &g1, &err), 0);
    ck_assert_int_eq(p.kind->sample(&ctx, &p, st, t0 + 1, on_done, &g2, &err), 0);
    ck_assert_int_eq(ash_loop_run_until(loop, &g1.done, t0 + 3000 * MS, &err), 0);
    ck_assert_int_eq(ash_loop_run_until(loop, &g2.done, t0 + 3000 * MS, &err), 0);
    ck_assert(g1.calls == 1 && g2.calls == 1);
    ck_assert_msg(g1.s.ok && g2.s.ok, "%s / %s", g1.s.detail, g2.s.detail);
    ck_assert(g1.s.start == t0 && g2.s.start == t0 + 1);
    server_stop(&srv);

    p.kind->close(&ctx, &p, st);
    ash_loop_free(loop);
}
END_TEST

/* A keep-alive server: answers every request on every connection (HTTP/1.1,
 * Content-Length) and counts the connections it accepted. */
struct ka_server {
    int lfd, stop[2];
    uint16_t port;
    int accepted;
    pthread_t th;
};

static void *ka_serve(void *arg)
{
    struct ka_server *s = arg;
    struct pollfd fds[10] = {{.fd = s->lfd, .events = POLLIN}, {.fd = s->stop[0], .events = POLLIN}};
    int n = 2;
    for (;;) {
        if (poll(fds, (nfds_t)n, -1) < 0)
            break;
        if (fds[1].revents)
            break;
        if (fds[0].revents && n < 10) {
            int fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0) {
                __atomic_add_fetch(&s->accepted, 1, __ATOMIC_SEQ_CST);
                fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
            }
        }
        for (int i = 2; i < n; i++) {
            if (!fds[i].revents)
                continue;
            char buf[2048];
            if (read(fds[i].fd, buf, sizeof buf) <= 0) {
                close(fds[i].fd);
                fds[i--] = fds[--n];
                continue;
            }
            static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            if (write(fds[i].fd, reply, sizeof reply - 1) < 0) {
            }
        }
    }
    for (int i = 2; i < n; i++)
        close(fds[i].fd);
    return NULL;
}

/* keepalive: each probe keeps its own connections. Two probes on one loop
 * (one multi handle) to the same server: each opens one connection and reuses
 * it; the second never takes the first's (with `from:` hosts, that connection
 * would live in another host's namespace). */
START_TEST(keepalive_connections_are_per_probe)
{
    ash_loop *loop = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct ash_ctx ctx = {.loop = loop};
    struct ka_server srv = {.port = 0};
    srv.lfd = listen_on(&srv.port);
    ck_assert_int_eq(pipe(srv.stop), 0);
    ck_assert_int_eq(pthread_create(&srv.th, NULL, ka_serve, &srv), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", (unsigned)srv.port);
    struct ash_http_conf c = {.url = url, .keepalive = true};
    struct ash_probe_spec pa = {
        .name = "a", .kind = &ash_probe_http, .conf = &c, .every_ns = 100 * MS, .timeout_ns = 1000 * MS};
    struct ash_probe_spec pb = pa;
    pb.name = "b";
    void *sa = NULL, *sb = NULL;
    ck_assert_int_eq(pa.kind->open(&ctx, &pa, &sa, &err), 0);
    ck_assert_int_eq(pb.kind->open(&ctx, &pb, &sb, &err), 0);
    for (int i = 0; i < 3; i++) {
        struct ash_sample s = sample_once(loop, &ctx, &pa, sa);
        ck_assert_msg(s.ok, "%s", s.detail);
    }
    ck_assert_int_eq(__atomic_load_n(&srv.accepted, __ATOMIC_SEQ_CST), 1); /* a reuses its connection */
    for (int i = 0; i < 3; i++) {
        struct ash_sample s = sample_once(loop, &ctx, &pb, sb);
        ck_assert_msg(s.ok, "%s", s.detail);
    }
    ck_assert_int_eq(__atomic_load_n(&srv.accepted, __ATOMIC_SEQ_CST), 2); /* b opened its own, once */
    pa.kind->close(&ctx, &pa, sa);
    pb.kind->close(&ctx, &pb, sb);
    ck_assert_int_eq(write(srv.stop[1], "x", 1), 1);
    pthread_join(srv.th, NULL);
    close(srv.lfd);
    close(srv.stop[0]);
    close(srv.stop[1]);
    ash_loop_free(loop);
}
END_TEST

static Suite *reuse_suite(void)
{
    Suite *s = suite_create("http_reuse");
    TCase *tc = tcase_create("reuse");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, one_probe_many_outcomes);
    tcase_add_test(tc, keepalive_connections_are_per_probe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(reuse_suite(), CK_FORK);
    return failed ? 1 : 0;
}
