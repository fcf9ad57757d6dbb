/* Probes `from: HOST`: http, tcp and exec samples taken from inside sandbox
 * host `a` reach a service on host `b` by name, fail the way a client there
 * fails (refused, unknown name, links down), and need a host of the run. Needs root. */
#include "dns/dns.h"
#include "env/sandbox.h"
#include "kinds.h"
#include "probes/probe_confs.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "test_util.h"
#include "test_run.h"

#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 7100

static bool can_run(void)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (namespaces, links, cgroups)");
        return false;
    }
    return true;
}

struct fixture {
    char run[16];
    struct ash_host_spec spec[2];
    struct ash_scenario sc;
    struct ash_sandbox *sb;
    struct ash_journal *j;
    ash_loop *loop;
    struct ash_ctx ctx;
    pid_t server;
};

/* A minimal HTTP/1.0 server on PORT inside host h: answers every request 200
 * with the host's name, so a reply proves which host served it. */
static pid_t start_http_server(struct ash_host *h)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        if (ash_host_enter(h) < 0)
            _exit(10);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
        if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 16) < 0)
            _exit(11);
        if (write(ready[1], "r", 1) != 1)
            _exit(12);
        close(ready[1]);
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c < 0)
                continue;
            char b[1024];
            if (read(c, b, sizeof b) > 0) {
                char host[64] = "";
                gethostname(host, sizeof host);
                char reply[256];
                int len = snprintf(reply, sizeof reply,
                                   "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                   strlen(host), host);
                if (write(c, reply, (size_t)len) < 0) {
                }
            }
            close(c);
        }
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

static void setup(struct fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->run, sizeof fx->run, "p%05x", (unsigned)getpid() & 0xfffff);
    fx->spec[0].name = "a";
    fx->spec[1].name = "b";
    fx->sc.hosts = fx->spec;
    fx->sc.n_hosts = 2;
    ash_error_t err = {0};
    /* Journaled in the guard's directory: if the test dies, the runner-side
     * teardown removes the hosts and kills what runs in them (the server). */
    ck_assert_msg(ash_journal_open(ash_test_journal_dir, fx->run, &fx->j, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_sandbox_create(&fx->sc, fx->run, fx->j, &fx->sb, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_loop_new(&fx->loop, &err), 0);
    fx->ctx = (struct ash_ctx){.loop = fx->loop, .sandbox = fx->sb, .scenario = &fx->sc};
    fx->server = start_http_server(ash_sandbox_host(fx->sb, "b"));
}

static void teardown(struct fixture *fx)
{
    kill(fx->server, SIGKILL);
    waitpid(fx->server, NULL, 0);
    ash_loop_free(fx->loop);
    ash_sandbox_destroy(fx->sb);
    ck_assert_uint_eq(ash_journal_pending(fx->j), 0);
    ash_journal_close(fx->j, true);
    char path[128];
    snprintf(path, sizeof path, "/run/netns/ash-%s-a", fx->run);
    ck_assert_msg(access(path, F_OK) != 0, "%s left behind", path);
}

static bool got;
static struct ash_sample last;

static void on_done(void *arg, const struct ash_sample *s)
{
    (void)arg;
    last = *s;
    got = true;
}

/* One sample of `kind` from host `from` (NULL: the harness). */
static struct ash_sample sample(struct fixture *fx, const char *kind, const char *from, void *conf)
{
    char name[] = "p", host[64];
    snprintf(host, sizeof host, "%s", from ? from : "");
    struct ash_probe_spec p = {.name = name,
                               .kind = ash_probe_kind_find(kind),
                               .conf = conf,
                               .from = from ? host : NULL,
                               .every_ns = ASH_NS_PER_S,
                               .timeout_ns = 2 * ASH_NS_PER_S};
    ck_assert_ptr_nonnull(p.kind);
    ash_error_t err = {0};
    void *st = NULL;
    ck_assert_msg(p.kind->open(&fx->ctx, &p, &st, &err) == 0, "%s", err.msg);
    got = false;
    ck_assert_msg(p.kind->sample(&fx->ctx, &p, st, ash_now_ns(), on_done, NULL, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_loop_run_until(fx->loop, &got, ash_now_ns() + 5 * ASH_NS_PER_S, &err), 0);
    ck_assert(got);
    p.kind->close(&fx->ctx, &p, st);
    return last;
}

static struct ash_sample tcp(struct fixture *fx, const char *from, const char *address)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", address);
    struct ash_tcp_conf c = {.address = buf};
    return sample(fx, "tcp", from, &c);
}

static struct ash_sample http(struct fixture *fx, const char *from, const char *url)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", url);
    struct ash_http_conf c = {.url = buf};
    return sample(fx, "http", from, &c);
}

static struct ash_sample exec_cmd(struct fixture *fx, const char *from, const char *script)
{
    char sh[] = "sh", dash_c[] = "-c", buf[512];
    snprintf(buf, sizeof buf, "%s", script);
    char *argv[] = {sh, dash_c, buf};
    struct ash_exec_probe_conf c = {.command = {.v = argv, .n = 3}};
    return sample(fx, "exec", from, &c);
}

START_TEST(test_tcp_from_host)
{
    if (!can_run())
        return;
    struct fixture fx;
    setup(&fx);
    char addr[64];
    struct ash_sample s = tcp(&fx, "a", "b:7100");
    ck_assert_msg(s.ok, "tcp a -> b:7100: %s", s.detail);
    s = tcp(&fx, "a", "b:7101");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "refused"), "%s", s.detail);
    s = tcp(&fx, "a", "nosuchhost:7100");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "no such host"), "%s", s.detail);
    /* The harness does not know the sandbox's names: the name is the host's. */
    s = tcp(&fx, NULL, "b:7100");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "resolve"), "%s", s.detail);

    /* The socket lives in a's namespace: a's links down, a cannot connect,
     * while the harness (root namespace, on the bridge) still can. */
    struct ash_host *a = ash_sandbox_host(fx.sb, "a");
    ash_error_t err = {0};
    ck_assert_msg(ash_host_links_down(a, &err) == 0, "%s", err.msg);
    s = tcp(&fx, "a", "b:7100");
    ck_assert_msg(!s.ok, "a reached b with its links down");
    snprintf(addr, sizeof addr, "%s:7100", ash_host_address(ash_sandbox_host(fx.sb, "b")));
    s = tcp(&fx, NULL, addr);
    ck_assert_msg(s.ok, "harness -> %s: %s", addr, s.detail);
    ck_assert_msg(ash_host_links_up(a, &err) == 0, "%s", err.msg);
    s = tcp(&fx, "a", "b:7100");
    ck_assert_msg(s.ok, "after links up: %s", s.detail);
    teardown(&fx);
}
END_TEST

START_TEST(test_http_from_host)
{
    if (!can_run())
        return;
    struct fixture fx;
    setup(&fx);
    struct ash_sample s = http(&fx, "a", "http://b:7100/health");
    ck_assert_msg(s.ok, "http a -> b: %s", s.detail);
    s = http(&fx, "a", "http://b:7101/");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "connect"), "%s", s.detail);
    s = http(&fx, "a", "http://nosuchhost:7100/");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "no such host"), "%s", s.detail);
    /* A frozen b: the request times out instead of being refused. */
    struct ash_host *b = ash_sandbox_host(fx.sb, "b");
    ash_error_t err = {0};
    ck_assert_msg(ash_host_freeze(b, &err) == 0, "%s", err.msg);
    s = http(&fx, "a", "http://b:7100/");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "timeout"), "%s", s.detail);
    ck_assert_msg(ash_host_thaw(b, &err) == 0, "%s", err.msg);
    s = http(&fx, "a", "http://b:7100/");
    ck_assert_msg(s.ok, "after thaw: %s", s.detail);
    teardown(&fx);
}
END_TEST

START_TEST(test_exec_from_host)
{
    if (!can_run())
        return;
    struct fixture fx;
    setup(&fx);
    /* Inside a: its hostname, its /etc/hosts (b resolves), its cgroup. */
    struct ash_sample s = exec_cmd(&fx, "a", "test \"$(hostname)\" = a && getent hosts b >/dev/null");
    ck_assert_msg(s.ok, "exec in a: %s", s.detail);
    s = exec_cmd(&fx, "a", "getent hosts nosuchhost");
    ck_assert(!s.ok);
    s = exec_cmd(&fx, NULL, "test \"$(hostname)\" != a");
    ck_assert_msg(s.ok, "exec from the harness ran in a? %s", s.detail);
    teardown(&fx);
}
END_TEST

/* With the run's DNS server, a probe from a host resolves through it as that
 * host: a fault rule for the name (or for that client only) reaches the probe. */
START_TEST(test_resolves_through_run_dns)
{
    if (!can_run())
        return;
    struct fixture fx;
    setup(&fx);
    struct ash_dns *dns;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_dns_new(fx.loop, &dns, &err), 0);
    ck_assert_msg(ash_dns_add_sandbox(dns, fx.sb, &err) == 0, "%s", err.msg);
    fx.ctx.dns = dns;
    struct ash_sample s = tcp(&fx, "a", "b:7100");
    ck_assert_msg(s.ok, "through the DNS server: %s", s.detail);
    s = http(&fx, "a", "http://b:7100/");
    ck_assert_msg(s.ok, "http through the DNS server: %s", s.detail);

    const char *names[] = {"b"};
    struct ash_dns_rule r = {
        .names = names, .n_names = 1, .v = {.answer = ASH_DNS_NXDOMAIN}, .probability = 1, .ttl = -1};
    uint64_t id;
    ck_assert_int_eq(ash_dns_rule_add(dns, &r, &id, &err), 0);
    s = tcp(&fx, "a", "b:7100");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "NXDOMAIN"), "%s", s.detail);
    s = http(&fx, "a", "http://b:7100/");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "NXDOMAIN"), "%s", s.detail);
    ash_dns_rule_remove(dns, id);

    /* Only client b is lied to: a still gets the truth. */
    const char *clients[] = {ash_host_address(ash_sandbox_host(fx.sb, "b"))};
    r = (struct ash_dns_rule){.names = names,
                              .n_names = 1,
                              .clients = clients,
                              .n_clients = 1,
                              .v = {.answer = ASH_DNS_TIMEOUT},
                              .probability = 1,
                              .ttl = -1};
    ck_assert_int_eq(ash_dns_rule_add(dns, &r, &id, &err), 0);
    s = tcp(&fx, "a", "b:7100");
    ck_assert_msg(s.ok, "a is not a client of the rule: %s", s.detail);
    s = tcp(&fx, "b", "b:7100"); /* its own name: /etc/hosts, not DNS */
    ck_assert_msg(s.ok, "own name: %s", s.detail);
    clients[0] = ash_host_address(ash_sandbox_host(fx.sb, "a"));
    ash_dns_rule_remove(dns, id);
    ck_assert_int_eq(ash_dns_rule_add(dns, &r, &id, &err), 0);
    s = tcp(&fx, "a", "b:7100");
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "timeout"), "%s", s.detail);
    ash_dns_rule_remove(dns, id);
    s = tcp(&fx, "a", "b:7100");
    ck_assert_msg(s.ok, "after the rule: %s", s.detail);
    fx.ctx.dns = NULL;
    ash_dns_free(dns);
    teardown(&fx);
}
END_TEST

START_TEST(test_from_needs_a_host)
{
    if (!can_run())
        return;
    struct fixture fx;
    setup(&fx);
    char address[] = "b:7100", name[] = "p", zz[] = "zz";
    struct ash_tcp_conf c = {.address = address};
    struct ash_probe_spec p = {.name = name, .kind = ash_probe_kind_find("tcp"), .conf = &c, .from = zz};
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_int_lt(p.kind->open(&fx.ctx, &p, &st, &err), 0);
    ck_assert_msg(strstr(err.msg, "'from: zz' is not a host"), "%s", err.msg);
    struct ash_ctx no_sb = {.loop = fx.loop};
    ck_assert_int_lt(p.kind->open(&no_sb, &p, &st, &err), 0);
    ck_assert_msg(strstr(err.msg, "needs sandbox hosts"), "%s", err.msg);
    teardown(&fx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("probe_from");
    TCase *tc = tcase_create("kernel");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_test(tc, test_tcp_from_host);
    tcase_add_test(tc, test_http_from_host);
    tcase_add_test(tc, test_exec_from_host);
    tcase_add_test(tc, test_resolves_through_run_dns);
    tcase_add_test(tc, test_from_needs_a_host);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
