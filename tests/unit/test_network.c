/* Network fault on a real 2-host sandbox: relay delay in TCP connect latency,
 * relay corrupt caught by checksums (never delivered as good) with the TX
 * checksum offload it turns off restored, partition and 100% loss time
 * connects out, a bandwidth cap limits a TCP transfer and cross traffic
 * raises latency, revert and recover leave no qdisc, nftables table or
 * relay, bad configs fail with positions. Needs root. */
#include "env/sandbox.h"
#include "faults/network.h"
#include "kinds.h"
#include "net/offload.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/netlink.h"
#include "sys/netns.h"
#include "sys/nft.h"
#include "sys/qdisc.h"
#include "sys/objname.h"
#include "test_util.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PORT 7100

/* Relay timing error bound for one connect (two relayed passes: SYN and
 * SYN-ACK). Each release happens at arrival + delay + wake-up latency; the
 * relay's timer slack is 1 us, so the bound is the scheduler's wake-up
 * latency, the same 3 ms of scheduling slack per wake-up that the known-answer
 * tests state (test_engine.c), once per pass. */
#define SLACK_MS 3
#define RELAY_TOL_NS (2 * SLACK_MS * ASH_NS_PER_MS)

static bool can_run(void)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (namespaces, qdiscs, nftables)");
        return false;
    }
    return true;
}

struct fx {
    char run[16];
    char state[64];
    struct ash_scenario *sc;
    struct ash_journal *j;
    struct ash_sandbox *sb;
    struct ash_host *a, *b;
    struct ash_ctx ctx;
    int listen_a, listen_b;
};

static const char *scenario_head = "version: 1\nname: net\nhosts:\n  - name: a\n  - name: b\nfaults:\n";

static void fx_setup(struct fx *f, const char *fault_yaml)
{
    memset(f, 0, sizeof *f);
    snprintf(f->run, sizeof f->run, "n%05x", (unsigned)getpid() & 0xfffff);
    /* Generated files and the journal live under the guard's directory, whose
     * runner-side teardown recovers and removes them if this test dies. */
    snprintf(f->state, sizeof f->state, "%s/run-XXXXXX", ash_test_journal_dir);
    ck_assert_ptr_nonnull(mkdtemp(f->state));
    char text[2048];
    snprintf(text, sizeof text, "%s%s", scenario_head, fault_yaml);
    ash_error_t err = {0};
    int r = ash_scenario_load_string("net.yaml", text, strlen(text), &f->sc, &err);
    ck_assert_msg(r == 0, "scenario: %s", err.msg);
    ck_assert_int_eq(ash_journal_open(ash_test_journal_dir, f->run, &f->j, &err), 0);
    r = ash_sandbox_create_in(f->sc, f->run, f->state, f->j, &f->sb, &err);
    ck_assert_msg(r == 0, "sandbox: %s", err.msg);
    f->a = ash_sandbox_host(f->sb, "a");
    f->b = ash_sandbox_host(f->sb, "b");
    f->ctx = (struct ash_ctx){.journal = f->j, .sandbox = f->sb, .scenario = f->sc, .run_id = f->run};
    f->listen_a = f->listen_b = -1;
}

static void fx_teardown(struct fx *f)
{
    if (f->listen_a >= 0)
        close(f->listen_a);
    if (f->listen_b >= 0)
        close(f->listen_b);
    ash_sandbox_destroy(f->sb);
    ash_journal_close(f->j, true);
    ash_scenario_free(f->sc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->state);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- sockets inside hosts ---- */

struct sock_arg {
    int type;
    int fd;
};

static int make_sock(void *p)
{
    struct sock_arg *s = p;
    s->fd = socket(AF_INET, s->type | SOCK_CLOEXEC, 0);
    return s->fd < 0 ? -1 : 0;
}

static int sock_in(struct ash_host *h)
{
    struct sock_arg s = {.type = SOCK_STREAM};
    ck_assert_int_eq(ash_host_run_in_netns(h, make_sock, &s), 0);
    return s.fd;
}

static int listen_in(struct ash_host *h)
{
    int fd = sock_in(h);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, ash_host_address(h), &sa.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 128), 0);
    return fd;
}

/* Nonblocking connect from `from` to `to`: handshake time in ns, or -1 on timeout/error. */
static int64_t connect_ns(struct ash_host *from, struct ash_host *to, int timeout_ms, int *fd_out)
{
    int fd = sock_in(from);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, ash_host_address(to), &sa.sin_addr);
    int64_t t0 = ash_now_ns();
    int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int64_t res = -1;
    if (r == 0 || errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (r == 0 || poll(&p, 1, timeout_ms) == 1) {
            int e = 0;
            socklen_t l = sizeof e;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
            if (e == 0)
                res = ash_now_ns() - t0;
        }
    }
    if (fd_out && res >= 0)
        *fd_out = fd;
    else
        close(fd);
    return res;
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* Median of n connects; accepted connections drained from the listener. */
static int64_t median_connect(struct fx *f, struct ash_host *from, struct ash_host *to, int listen_fd, int n)
{
    int64_t v[32];
    for (int i = 0; i < n; i++) {
        v[i] = connect_ns(from, to, 3000, NULL);
        ck_assert_msg(v[i] >= 0, "connect %d failed", i);
        int c = accept(listen_fd, NULL, NULL);
        if (c >= 0)
            close(c);
    }
    (void)f;
    qsort(v, (size_t)n, sizeof v[0], cmp64);
    return v[n / 2];
}

/* ---- what must be gone ---- */

static void root_kind(int nsfd, const char *ifname, char *kind, size_t len)
{
    struct ash_tc *tc;
    ash_error_t err = {0};
    int ifindex;
    ck_assert_int_eq(ash_tc_open(nsfd, &tc, &err), 0);
    ck_assert_int_eq(ash_tc_ifindex(tc, ifname, &ifindex, &err), 0);
    ck_assert_int_eq(ash_tc_root_kind(tc, ifindex, kind, len, &err), 0);
    ash_tc_close(tc);
}

static bool proc_named_relay_alive(pid_t pid)
{
    return pid > 0 && kill(pid, 0) == 0;
}

static void assert_clean(struct fx *f, const char *fault, pid_t relay_pid)
{
    char kind[32], table[64];
    root_kind(ash_host_netns_fd(f->a), "eth0", kind, sizeof kind);
    ck_assert_msg(strcmp(kind, "tbf") && strcmp(kind, "htb") && strcmp(kind, "netem"), "qdisc %s left on a eth0", kind);
    root_kind(ash_sandbox_hub_fd(f->sb), ash_host_veth(f->a), kind, sizeof kind);
    ck_assert_msg(strcmp(kind, "tbf") && strcmp(kind, "htb") && strcmp(kind, "netem"), "qdisc %s left on a's port",
                  kind);
    root_kind(ash_host_netns_fd(f->b), "eth0", kind, sizeof kind);
    ck_assert_msg(strcmp(kind, "tbf") && strcmp(kind, "htb"), "qdisc %s left on b eth0", kind);
    ash_objname(table, f->run, fault);
    ash_error_t err = {0};
    ck_assert_int_eq(ash_nft_table_exists(ash_host_netns_fd(f->a), "inet", table, &err), 0);
    ck_assert_int_eq(ash_nft_table_exists(ash_host_netns_fd(f->b), "inet", table, &err), 0);
    /* No relay link, and a's veth is a bridge port again (traffic flows below). */
    struct ash_nl *nl; /* relay links are made in the sandbox's hub, with its bridge */
    ck_assert_int_eq(ash_nl_open_in(ash_sandbox_hub_fd(f->sb), &nl, &err), 0);
    char **names = NULL;
    size_t n = 0;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "ash%.8sr", f->run);
    ck_assert_int_eq(ash_nl_link_names(nl, prefix, &names, &n, &err), 0);
    ck_assert_msg(n == 0, "relay link %s left", n ? names[0] : "");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    ash_nl_close(nl);
    ck_assert_msg(!proc_named_relay_alive(relay_pid), "relay process %d still alive", (int)relay_pid);
}

/* Relay pid from the journal file (the test sees the fault only through its table). */
static pid_t journal_relay_pid(struct fx *f)
{
    char path[256];
    snprintf(path, sizeof path, "%s", ash_journal_path(f->j));
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    char line[1024];
    pid_t pid = 0;
    while (fgets(line, sizeof line, fp)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *op = json_string_value(json_object_get(o, "op"));
        if (op && strcmp(op, "network.proc") == 0)
            pid = (pid_t)json_integer_value(json_object_get(json_object_get(o, "data"), "pid"));
        json_decref(o);
    }
    fclose(fp);
    return pid;
}

static void *inject(struct fx *f)
{
    ash_error_t err = {0};
    void *st = NULL;
    const struct ash_fault_spec *fs = &f->sc->faults[0];
    int r = fs->kind->inject(&f->ctx, fs, &st, &err);
    ck_assert_msg(r == 0, "inject: %s", err.msg);
    return st;
}

static void revert(struct fx *f, void *st)
{
    ash_error_t err = {0};
    const struct ash_fault_spec *fs = &f->sc->faults[0];
    int r = fs->kind->revert(&f->ctx, fs, st, &err);
    ck_assert_msg(r == 0, "revert: %s", err.msg);
}

/* ---- tests ---- */

START_TEST(test_relay_delay)
{
    if (!can_run())
        return;
    struct fx f;
    fx_setup(&f, "  - name: slow\n    kind: network\n    at: 0s\n    host: a\n    delay: 50ms\n    mechanism: relay\n");
    f.listen_b = listen_in(f.b);
    int64_t base = median_connect(&f, f.a, f.b, f.listen_b, 9);
    void *st = inject(&f);
    pid_t relay = journal_relay_pid(&f);
    ck_assert_int_gt(relay, 0);
    int64_t slow = median_connect(&f, f.a, f.b, f.listen_b, 9);
    printf("test_network: connect median %.3f ms baseline, %.3f ms with 50ms each way (tolerance +%.1f ms)\n",
           (double)base / 1e6, (double)slow / 1e6, (double)RELAY_TOL_NS / 1e6);
    /* A release is never early: the SYN and the SYN-ACK each waited 50 ms. */
    ck_assert_int_ge(slow, 100 * ASH_NS_PER_MS);
    ck_assert_int_le(slow, 100 * ASH_NS_PER_MS + base + RELAY_TOL_NS);
    /* A bulk TCP transfer works through the relay (checksums and GSO survive). */
    int c = -1;
    ck_assert_int_ge(connect_ns(f.a, f.b, 3000, &c), 0);
    int s = accept(f.listen_b, NULL, NULL);
    ck_assert_int_ge(s, 0);
    static char buf[1 << 20];
    memset(buf, 7, sizeof buf);
    fcntl(s, F_SETFL, O_NONBLOCK);
    size_t got = 0, put = 0;
    static char rb[65536];
    /* One thread: interleave sending and receiving so neither side's buffer deadlocks. */
    int64_t end = ash_now_ns() + 30 * ASH_NS_PER_S;
    while (got < sizeof buf && ash_now_ns() < end) {
        struct pollfd p[2] = {{.fd = c, .events = put < sizeof buf ? POLLOUT : 0}, {.fd = s, .events = POLLIN}};
        poll(p, 2, 100);
        if (p[0].revents & POLLOUT) {
            ssize_t w = send(c, buf + put, sizeof buf - put, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0)
                put += (size_t)w;
        }
        ssize_t n;
        while ((n = recv(s, rb, sizeof rb, MSG_DONTWAIT)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                ck_assert_int_eq(rb[i], 7);
            got += (size_t)n;
        }
    }
    close(c);
    close(s);
    ck_assert_uint_eq(got, sizeof buf);
    revert(&f, st);
    assert_clean(&f, "slow", relay);
    int64_t after = median_connect(&f, f.a, f.b, f.listen_b, 9);
    printf("test_network: connect median %.3f ms after revert\n", (double)after / 1e6);
    ck_assert_int_lt(after, 10 * ASH_NS_PER_MS);
    fx_teardown(&f);
}
END_TEST

/* ---- UDP and the receiving namespace's counters, for the corrupt test ---- */

static int udp_sock_in(struct ash_host *h, uint16_t port)
{
    struct sock_arg s = {.type = SOCK_DGRAM};
    ck_assert_int_eq(ash_host_run_in_netns(h, make_sock, &s), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ash_host_address(h), &sa.sin_addr);
    ck_assert_int_eq(bind(s.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int big = 1 << 21;
    setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return s.fd;
}

/* One counter of the calling thread's namespace: the column `name` of the
 * `proto:` lines in /proc/thread-self/net/`file` (a header line, then a
 * value line, per protocol). IP's checksum errors are in netstat's IpExt:,
 * UDP's in snmp's Udp:. */
struct counter {
    const char *file, *proto, *name;
    long long v;
};

static int read_counter(void *p)
{
    struct counter *c = p;
    char path[64];
    snprintf(path, sizeof path, "/proc/thread-self/net/%s", c->file);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char head[4096], vals[4096];
    size_t plen = strlen(c->proto);
    while (fgets(head, sizeof head, fp) && fgets(vals, sizeof vals, fp)) {
        if (strncmp(head, c->proto, plen) != 0 || head[plen] != ':')
            continue;
        char *hs = NULL, *vs = NULL;
        for (char *h = strtok_r(head, " \n", &hs), *v = strtok_r(vals, " \n", &vs); h && v;
             h = strtok_r(NULL, " \n", &hs), v = strtok_r(NULL, " \n", &vs))
            if (strcmp(h, c->name) == 0)
                c->v = atoll(v);
    }
    fclose(fp);
    return 0;
}

/* In the network namespace nsfd (a host's or the hub's). */
static long long counter_in(int nsfd, const char *file, const char *proto, const char *name)
{
    struct counter c = {file, proto, name, -1};
    ck_assert_int_eq(ash_ns_run(nsfd, CLONE_NEWNET, read_counter, &c), 0);
    ck_assert_msg(c.v >= 0, "no %s %s in /proc/net/%s", proto, name, file);
    return c.v;
}

/* Checksum errors on a -> b's path: IP's in the hub (a bridge that hands
 * frames to netfilter, as with br_netfilter loaded, checks each IPv4 header
 * and drops a bad one there) and in b, UDP's in b. */
static long long csum_errors(struct fx *f)
{
    int nb = ash_host_netns_fd(f->b), nh = ash_sandbox_hub_fd(f->sb);
    return counter_in(nh, "netstat", "IpExt", "InCsumErrors") + counter_in(nb, "netstat", "IpExt", "InCsumErrors") +
           counter_in(nb, "snmp", "Udp", "InCsumErrors");
}

#define CORRUPT_N 200
#define CORRUPT_LEN 100

/* Send CORRUPT_N numbered datagrams a -> b; the count b receives whole, and
 * ck-fails on one that arrives changed (damage the receiver did not catch). */
static int udp_burst(struct fx *f, int tx, int rx)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, ash_host_address(f->b), &to.sin_addr);
    unsigned char buf[CORRUPT_LEN], got[CORRUPT_LEN + 1];
    for (int i = 0; i < CORRUPT_N; i++) {
        memset(buf, (unsigned char)i, sizeof buf);
        ck_assert_int_eq(sendto(tx, buf, sizeof buf, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)sizeof buf);
    }
    int whole = 0;
    struct pollfd p = {.fd = rx, .events = POLLIN};
    while (poll(&p, 1, 500) == 1) {
        ssize_t n = recv(rx, got, sizeof got, MSG_DONTWAIT);
        if (n < 0)
            continue;
        ck_assert_int_eq(n, CORRUPT_LEN);
        for (int k = 1; k < CORRUPT_LEN; k++)
            ck_assert_msg(got[k] == got[0], "datagram %u arrived changed at byte %d", got[0], k);
        whole++;
    }
    return whole;
}

static bool txcsum(struct ash_host *h)
{
    bool on = false;
    ash_error_t err = {0};
    ck_assert_msg(ash_txcsum_get(ash_host_netns_fd(h), "eth0", &on, &err) == 0, "%s", err.msg);
    return on;
}

/* Corrupt through the relay: a flipped bit is caught by a checksum on the
 * way, as on a real wire, never delivered as good (a datagram "arrived
 * changed"). A relay fault turns TX checksum offload off on the hosts' eth0
 * for its time, so frames reach it with complete checksums, and restores it
 * on revert; the relay also finishes a checksum still left to the device
 * (NEEDS_CSUM) before flipping. At 100% nothing arrives whole, and almost
 * every datagram counts as a checksum error (IP's, in the hub when its
 * bridge hands frames to netfilter, else in b; UDP's in b): the bit is one
 * of the 1024 in the 128 bytes after the Ethernet header (20 IP, 8 UDP, 100
 * data), and only 18 of them fail another check first: 6 in IP's
 * version/IHL byte (a bad version or an IHL below 5, checked before the
 * header sum) and 12 in UDP's length (longer than the datagram: a short
 * packet). So about 3.5 of 200 are expected elsewhere (sd 1.9), and the
 * bound of 90% (20 elsewhere) is 9 sd away. One arrival is possible but
 * unlikely (~5e-5 a run): a flip that zeroes the UDP checksum field, which
 * means "no checksum". */
START_TEST(test_relay_corrupt)
{
    if (!can_run())
        return;
    struct fx f;
    fx_setup(&f, "  - name: rot\n    kind: network\n    at: 0s\n    host: a\n    direction: egress\n"
                 "    corrupt: 100%\n    mechanism: relay\n");
    int tx = udp_sock_in(f.a, PORT), rx = udp_sock_in(f.b, PORT);
    ck_assert_int_eq(udp_burst(&f, tx, rx), CORRUPT_N);
    ck_assert(txcsum(f.a));
    void *st = inject(&f);
    pid_t relay = journal_relay_pid(&f);
    ck_assert_int_gt(relay, 0);
    ck_assert_msg(!txcsum(f.a), "a's eth0 still leaves checksums to the device under the relay");
    long long before = csum_errors(&f);
    int whole = udp_burst(&f, tx, rx);
    long long caught = csum_errors(&f) - before;
    printf("test_network: corrupt 100%%: %d of %d datagrams arrived, %lld checksum errors on the way\n", whole,
           CORRUPT_N, caught);
    ck_assert_int_eq(whole, 0);
    ck_assert_int_ge(caught, CORRUPT_N * 9 / 10);
    ck_assert_int_le(caught, CORRUPT_N);
    revert(&f, st);
    assert_clean(&f, "rot", relay);
    ck_assert_msg(txcsum(f.a), "a's eth0 TX checksum offload not restored by the revert");
    ck_assert_int_eq(udp_burst(&f, tx, rx), CORRUPT_N);
    close(tx);
    close(rx);
    fx_teardown(&f);
}
END_TEST

static void assert_times_out(struct ash_host *from, struct ash_host *to)
{
    ck_assert_int_eq(connect_ns(from, to, 500, NULL), -1);
}

START_TEST(test_partition_and_loss)
{
    if (!can_run())
        return;
    const char *faults[] = {
        "  - name: cut\n    kind: network\n    at: 0s\n    host: a\n    partition: true\n",
        "  - name: cut\n    kind: network\n    at: 0s\n    between: [a, b]\n    direction: ingress\n    loss: 100%\n",
    };
    for (size_t k = 0; k < 2; k++) {
        struct fx f;
        fx_setup(&f, faults[k]);
        f.listen_b = listen_in(f.b);
        f.listen_a = listen_in(f.a);
        ck_assert_int_ge(median_connect(&f, f.a, f.b, f.listen_b, 3), 0);
        void *st = inject(&f);
        /* a's SYN reaches b, b's SYN-ACK is dropped on the way in: a times out. */
        assert_times_out(f.a, f.b);
        if (k == 0)
            assert_times_out(f.b, f.a);
        revert(&f, st);
        assert_clean(&f, "cut", 0);
        ck_assert_int_lt(median_connect(&f, f.a, f.b, f.listen_b, 3), 10 * ASH_NS_PER_MS);
        ck_assert_int_lt(median_connect(&f, f.b, f.a, f.listen_a, 3), 10 * ASH_NS_PER_MS);
        fx_teardown(&f);
    }
}
END_TEST

/* Issue 19: the nftables context a loss fault used is kept for its host's
 * namespace after the revert (a next inject is cheaper), and its socket
 * holds the namespace; the sandbox must drop it before teardown, or the
 * host's veth outlives the run and teardown waits for it in vain. */
START_TEST(test_teardown_after_nft_fault)
{
    if (!can_run())
        return;
    struct fx f;
    fx_setup(&f, "  - name: cut\n    kind: network\n    at: 0s\n    host: a\n    direction: egress\n    loss: 5%\n");
    void *st = inject(&f);
    revert(&f, st);
    assert_clean(&f, "cut", 0);
    int64_t t0 = ash_now_ns();
    ash_sandbox_destroy(f.sb);
    f.sb = NULL;
    ck_assert_msg(ash_now_ns() - t0 < 2 * ASH_NS_PER_S, "teardown waited %lld ms for the hosts' veths",
                  (long long)((ash_now_ns() - t0) / ASH_NS_PER_MS));
    char prefix[32];
    snprintf(prefix, sizeof prefix, "ash%.8sv", f.run);
    struct if_nameindex *ifs = if_nameindex();
    ck_assert_ptr_nonnull(ifs);
    for (struct if_nameindex *i = ifs; i->if_index; i++)
        ck_assert_msg(strncmp(i->if_name, prefix, strlen(prefix)) != 0, "veth %s left after teardown", i->if_name);
    if_freenameindex(ifs);
    ck_assert_uint_eq(ash_journal_pending(f.j), 0);
    fx_teardown(&f);
}
END_TEST

/* Issue 22: faults 'part.x' and 'part_x' once made the same table
 * (ash-<run>-part_x), so reverting the short one lifted the long partition.
 * Each now has its own table; reverting one leaves the other in effect. */
START_TEST(test_partition_names_distinct)
{
    if (!can_run())
        return;
    struct fx f;
    fx_setup(&f, "  - name: part.x\n    kind: network\n    at: 0s\n    duration: 6s\n    host: a\n"
                 "    partition: true\n"
                 "  - name: part_x\n    kind: network\n    at: 0s\n    duration: 1s\n    host: a\n"
                 "    partition: true\n");
    f.listen_b = listen_in(f.b);
    ck_assert_int_ge(median_connect(&f, f.a, f.b, f.listen_b, 3), 0);
    const struct ash_fault_spec *lng = &f.sc->faults[0], *shrt = &f.sc->faults[1];
    char t_long[ASH_OBJNAME_MAX + 1], t_short[ASH_OBJNAME_MAX + 1];
    ash_objname(t_long, f.run, lng->name);
    ash_objname(t_short, f.run, shrt->name);
    ck_assert_str_ne(t_long, t_short);
    ash_error_t err = {0};
    void *st_long = NULL, *st_short = NULL;
    ck_assert_msg(lng->kind->inject(&f.ctx, lng, &st_long, &err) == 0, "%s", err.msg);
    ck_assert_msg(shrt->kind->inject(&f.ctx, shrt, &st_short, &err) == 0, "%s", err.msg);
    int nsfd = ash_host_netns_fd(f.a);
    assert_times_out(f.a, f.b);
    ck_assert_msg(shrt->kind->revert(&f.ctx, shrt, st_short, &err) == 0, "%s", err.msg);
    /* The long partition is still in place: no connection, and its own table. */
    assert_times_out(f.a, f.b);
    ck_assert_int_eq(ash_nft_table_exists(nsfd, "inet", t_short, &err), 0);
    ck_assert_int_eq(ash_nft_table_exists(nsfd, "inet", t_long, &err), 1);
    ck_assert_msg(lng->kind->revert(&f.ctx, lng, st_long, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_nft_table_exists(nsfd, "inet", t_long, &err), 0);
    ck_assert_int_lt(median_connect(&f, f.a, f.b, f.listen_b, 3), 10 * ASH_NS_PER_MS);
    fx_teardown(&f);
}
END_TEST

/* Bytes a -> b through TCP in `ms` milliseconds. */
static uint64_t transfer(struct fx *f, int ms)
{
    int c = -1;
    ck_assert_int_ge(connect_ns(f->a, f->b, 3000, &c), 0);
    int s = accept(f->listen_b, NULL, NULL);
    ck_assert_int_ge(s, 0);
    fcntl(s, F_SETFL, O_NONBLOCK);
    static char buf[65536];
    uint64_t got = 0;
    int64_t end = ash_now_ns() + ms * ASH_NS_PER_MS;
    while (ash_now_ns() < end) {
        struct pollfd p[2] = {{.fd = c, .events = POLLOUT}, {.fd = s, .events = POLLIN}};
        poll(p, 2, 10);
        if (p[0].revents & POLLOUT)
            send(c, buf, sizeof buf, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (p[1].revents & POLLIN) {
            ssize_t n;
            while ((n = recv(s, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                got += (uint64_t)n;
        }
    }
    close(c);
    close(s);
    return got;
}

START_TEST(test_bandwidth_cross_traffic)
{
    if (!can_run())
        return;
    struct fx f;
    fx_setup(&f, "  - name: cap\n    kind: network\n    at: 0s\n    host: a\n    direction: egress\n"
                 "    bandwidth: 8mbit\n    queue: 200ms\n");
    f.listen_b = listen_in(f.b);
    uint64_t base = transfer(&f, 500);
    void *st = inject(&f);
    char kind[32];
    root_kind(ash_host_netns_fd(f.a), "eth0", kind, sizeof kind);
    ck_assert_str_eq(kind, "tbf");
    /* Skip the first 300 ms: the bucket starts full and the queue fills. */
    transfer(&f, 300);
    uint64_t capped = transfer(&f, 2000);
    double mbit = (double)capped * 8 / 2.0 / 1e6;
    printf("test_network: TCP %.1f Mbit/s uncapped, %.2f Mbit/s under an 8mbit cap\n", (double)base * 8 / 0.5 / 1e6,
           mbit);
    /* The ceiling, derived: the window opens after the connect, before this
     * connection sent a byte, so what arrives in it passed tbf with tokens
     * that were in the bucket then (at most its burst: burst_for() in
     * src/faults/network.c, 10 ms of the rate, 10000 bytes at 8 Mbit/s) or
     * accrued during it. The window is 2 s plus at most one 10 ms poll of
     * transfer()'s loop past its end, plus 3 ms of scheduling slack. Frame
     * headers are counted by tbf and not here: the goodput only lies lower. */
    ck_assert_double_le(mbit, (10000.0 * 8 / 1e6 + 8.0 * (2.0 + 0.010 + 0.003)) / 2.0);
    /* The floor, derived: tbf counts whole frames, so the goodput of full
     * segments is at most 1448 / 1514 of the cap (TCP/IP headers with
     * timestamps and the Ethernet header); the fresh connection's connect and
     * slow start, and the bucket refilling during the connect gap, may cost at
     * most one queue length (200 ms) of the 2 s. */
    ck_assert_double_ge(mbit, 8.0 * 1448.0 / 1514.0 * (1.0 - 0.2 / 2.0));
    revert(&f, st);
    assert_clean(&f, "cap", 0);
    fx_teardown(&f);

    /* The same cap with cross traffic at full speed: the queue fills, latency rises. */
    fx_setup(&f, "  - name: cap\n    kind: network\n    at: 0s\n    host: a\n    direction: egress\n"
                 "    bandwidth: 8mbit\n    queue: 200ms\n"
                 "    cross_traffic: {from: a, to: b, rate: max, protocol: udp, port: 7200}\n");
    f.listen_b = listen_in(f.b);
    int64_t quiet = median_connect(&f, f.a, f.b, f.listen_b, 5);
    st = inject(&f);
    usleep(500000);
    int64_t busy = median_connect(&f, f.a, f.b, f.listen_b, 5);
    printf("test_network: connect median %.3f ms quiet, %.3f ms with cross traffic through the cap\n",
           (double)quiet / 1e6, (double)busy / 1e6);
    /* A full 200 ms queue at the cap: the SYN waits behind it. */
    ck_assert_int_ge(busy, quiet + 100 * ASH_NS_PER_MS);
    pid_t sender = journal_relay_pid(&f); /* last network.proc: the sender */
    revert(&f, st);
    assert_clean(&f, "cap", sender);
    fx_teardown(&f);
}
END_TEST

/* Replays the network fault's records only: the sandbox's own records stay
 * (reported as failed, kept in the journal) so the test can still tear it down. */
static int undo_cb(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err)
{
    (void)committed;
    int *skipped = arg;
    if (strncmp(op, "network.", 8) != 0) {
        (*skipped)++;
        return ash_error(err, EAGAIN, "left for the sandbox teardown");
    }
    const struct ash_undo_op *u = ash_undo_op_find(op);
    if (!u)
        return ash_error(err, ENOENT, "no undo op %s", op);
    return u->undo(data, err);
}

static void *volatile abandoned_state; /* see test_recover_after_crash */

START_TEST(test_recover_after_crash)
{
    if (!can_run())
        return;
    struct fx f;
    fx_setup(&f, "  - name: all\n    kind: network\n    at: 0s\n    between: [a, b]\n    bandwidth: 20mbit\n"
                 "    delay: 20ms\n    loss: 1%\n    mechanism: relay\n"
                 "    cross_traffic: {from: b, to: a, rate: 1mbit}\n");
    f.listen_b = listen_in(f.b);
    void *st = inject(&f);
    pid_t relay = journal_relay_pid(&f);
    char kind[32];
    root_kind(ash_host_netns_fd(f.b), "eth0", kind, sizeof kind);
    ck_assert_str_eq(kind, "htb"); /* ingress of a from b: b's egress, classified by nftables */
    /* Crash: the state is abandoned without a revert; only the journal is left.
     * It is parked, not freed: freeing only the top struct would leak its
     * insides (LeakSanitizer), and a crashed harness frees nothing anyway. */
    abandoned_state = st;
    ash_error_t err = {0};
    int skipped = 0;
    int failed = ash_journal_replay(ash_journal_path(f.j), undo_cb, &skipped, NULL, &err);
    ck_assert_msg(failed == skipped, "replay: %d failed: %s", failed, err.msg);
    assert_clean(&f, "all", relay);
    /* The network is whole again. */
    ck_assert_int_lt(median_connect(&f, f.a, f.b, f.listen_b, 3), 10 * ASH_NS_PER_MS);
    fx_teardown(&f);
}
END_TEST

START_TEST(test_bad_config)
{
    static const struct {
        const char *yaml;
        const char *want;
    } cases[] = {
        {"  - name: x\n    kind: network\n    at: 0s\n    host: a\n    jitter: 5ms\n",
         "net.yaml:11:13: 'jitter' varies"},
        {"  - name: x\n    kind: network\n    at: 0s\n    host: c\n    delay: 5ms\n",
         "net.yaml:10:11: no host named 'c'"},
        {"  - name: x\n    kind: network\n    at: 0s\n    host: a\n", "net.yaml:7:5: a network fault needs an effect"},
        {"  - name: x\n    kind: network\n    at: 0s\n    host: a\n    between: [a, b]\n    loss: 1%\n",
         "net.yaml:7:5: say which traffic"},
        {"  - name: x\n    kind: network\n    at: 0s\n    between: [a, a]\n    loss: 1%\n",
         "net.yaml:10:14: 'between' takes"},
        {"  - name: x\n    kind: network\n    at: 0s\n    host: a\n    bandwidth: 1mbit\n    queue: lots\n",
         "net.yaml:12:12: 'queue' is a time"},
        {"  - name: x\n    kind: network\n    at: 0s\n    host: a\n    bandwidth: 1mbit\n    port: 80\n",
         "net.yaml:11:16: a cap on what a host receives"},
        {"  - name: x\n    kind: network\n    at: 0s\n    host: a\n    cross_traffic: {from: a, to: a}\n",
         "net.yaml:11:34: cross traffic goes between"},
        {"  - name: x\n    kind: network\n    at: 0s\n    host: a\n    cross_traffic: {from: a, to: b, rate: fast}\n",
         "net.yaml:11:43: 'rate' is a rate"},
        {"  - name: x\n    kind: network\n    at: 0s\n    host: a\n    delay: 5ms\n    direction: sideways\n",
         "net.yaml:12:16:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text, "%s%s", scenario_head, cases[i].yaml);
        struct ash_scenario *sc = NULL;
        ash_error_t err = {0};
        int r = ash_scenario_load_string("net.yaml", text, strlen(text), &sc, &err);
        ck_assert_msg(r < 0, "case %zu accepted", i);
        ck_assert_msg(strncmp(err.msg, cases[i].want, strlen(cases[i].want)) == 0, "case %zu: got '%s', want '%s'", i,
                      err.msg, cases[i].want);
        ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    }
}
END_TEST

START_TEST(test_doctor)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ash_network_doctor(fp);
    fclose(fp);
    ck_assert_ptr_nonnull(strstr(buf, "sch_netem "));
    if (geteuid() == 0) {
        const char *why = NULL;
        bool netem = ash_tc_netem_available(&why);
        printf("test_network: sch_netem %s: %s\n", netem ? "present" : "absent", why);
        ck_assert_ptr_nonnull(strstr(buf, netem ? "netem via libnl" : "userspace relay"));
    }
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("network");
    TCase *tc = tcase_create("network");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_doctor);
    tcase_add_test(tc, test_relay_delay);
    tcase_add_test(tc, test_relay_corrupt);
    tcase_add_test(tc, test_partition_and_loss);
    tcase_add_test(tc, test_teardown_after_nft_fault);
    tcase_add_test(tc, test_partition_names_distinct);
    tcase_add_test(tc, test_bandwidth_cross_traffic);
    tcase_add_test(tc, test_recover_after_crash);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return ash_test_exit(failed);
}
