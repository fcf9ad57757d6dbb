/* The sandbox's egress guard: with a default route via the bridge, a host
 * cannot reach an address outside the run's subnet even where routing would
 * carry it. The "outside" is a namespace this test makes on the root side
 * (never a real address); forwarding is turned on only on the test's own two
 * links, never ip_forward. Needs root. */
#include "env/sandbox.h"
#include "env/sandbox_fw.h"
#include "kinds.h"
#include "probes/probe_confs.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/netlink.h"
#include "sys/netns.h"
#include "test_skip.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 7200

/* The test runs in a child Check forks; this fixture runs in the parent. It
 * picks the run id and a journal directory before, and after replays whatever
 * the child's journal still holds and removes the "outside" namespace and
 * veth, so a failed assertion or a crash leaves nothing on the machine. */
static char g_run[16], g_state[64];

static void outside_names(char *ns, size_t nslen, char *veth, size_t vlen)
{
    snprintf(ns, nslen, "ash-%s-outside", g_run);
    snprintf(veth, vlen, "ash%sx", g_run);
}

static void guard_setup(void)
{
    snprintf(g_run, sizeof g_run, "f%05x", (unsigned)getpid() & 0xfffff);
    snprintf(g_state, sizeof g_state, "/tmp/ash-fwtest-XXXXXX");
    if (!mkdtemp(g_state))
        abort();
}

static int undo_cb(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err)
{
    (void)committed;
    const struct ash_undo_op *u = ash_undo_op_find(op);
    return u ? u->undo(data, err) : ash_error(err, ENOENT, "no undo op %s", op);
}

static void guard_teardown(void)
{
    char path[256], ns[64], veth[16];
    snprintf(path, sizeof path, "%s/%s.journal", g_state, g_run);
    ash_error_t err = {0};
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "test_sandbox_fw: run %s left a journal: recovering\n", g_run);
        ash_journal_replay(path, undo_cb, NULL, NULL, &err);
    }
    outside_names(ns, sizeof ns, veth, sizeof veth);
    ash_netns_delete(ns, &err); /* absent after a clean run: errors are expected */
    struct ash_nl *nl;
    if (ash_nl_open(&nl, &err) == 0) {
        ash_nl_link_delete_name(nl, veth, &err);
        ash_nl_close(nl);
    }
    rmdir(g_state);
}

static bool table_exists(const char *table)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    ck_assert_ptr_nonnull(nft);
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "list table inet %s", table);
    bool ok = nft_run_cmd_from_buffer(nft, cmd) == 0;
    nft_ctx_free(nft);
    return ok;
}

static void set_forwarding(const char *ifname, const char *v)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "%s", path);
    ck_assert_int_eq(write(fd, v, 1), 1);
    close(fd);
}

/* A /30 in 198.18.0.0/15 (reserved for benchmarks) that nothing here uses. */
static uint32_t free_slash30(struct ash_nl *nl)
{
    struct ash_ipv4_prefix *used;
    size_t n;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_nl_ipv4_in_use(nl, &used, &n, &err), 0);
    for (uint32_t i = (uint32_t)getpid() % 1000;; i++) {
        uint32_t net = htonl((198u << 24) | (18u << 16) | ((i * 4u) & 0x1fffcu));
        bool clash = false;
        for (size_t k = 0; k < n && !clash; k++)
            clash = ash_ipv4_overlap(net, 30, used[k].addr, used[k].len);
        if (!clash) {
            free(used);
            return net;
        }
    }
}

static pid_t listen_in(int netns_fd)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setns(netns_fd, CLONE_NEWNET) < 0)
            _exit(10);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
        if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 16) < 0)
            _exit(11);
        if (write(ready[1], "r", 1) != 1)
            _exit(12);
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c < 0)
                continue;
            /* Let the client finish first (its FIN), then close abortively
             * (RST): a TIME_WAIT socket on either side would keep that
             * namespace, and its veth, alive for a minute after the test. */
            struct pollfd pf = {.fd = c, .events = POLLIN | POLLRDHUP};
            poll(&pf, 1, 2000);
            struct linger l = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            close(c);
        }
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

static bool got;
static struct ash_sample last;
static void on_done(void *arg, const struct ash_sample *s)
{
    (void)arg;
    last = *s;
    got = true;
}

/* One tcp probe sample from host `a`. */
static struct ash_sample connect_from_a(struct ash_ctx *ctx, const char *address)
{
    char addr[64], name[] = "p", from[] = "a";
    snprintf(addr, sizeof addr, "%s", address);
    struct ash_tcp_conf c = {.address = addr};
    struct ash_probe_spec p = {
        .name = name, .kind = ash_probe_kind_find("tcp"), .conf = &c, .from = from, .timeout_ns = 300 * ASH_NS_PER_MS};
    ash_error_t err = {0};
    void *st = NULL;
    ck_assert_msg(p.kind->open(ctx, &p, &st, &err) == 0, "%s", err.msg);
    got = false;
    ck_assert_msg(p.kind->sample(ctx, &p, st, ash_now_ns(), on_done, NULL, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_loop_run_until(ctx->loop, &got, ash_now_ns() + 5 * ASH_NS_PER_S, &err), 0);
    ck_assert(got);
    p.kind->close(ctx, &p, st);
    return last;
}

/* Why packets routed through this namespace cannot pass when the machine's
 * own firewall drops forwarded packets by default, asked of
 * tests/integration/lib/machine.sh (one answer for this test and the shell
 * tests; machine_forwarding.sh checks it): true with the reason in why. */
static bool forward_drops(char *why, size_t len)
{
    const char *src = getenv("ASH_SOURCE_DIR");
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "bash -c '. \"$0\"/tests/integration/lib/machine.sh && machine_lacks forwarding' '%s'",
             src ? src : ".");
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    bool answered = fgets(why, (int)len, p) != NULL;
    int status = pclose(p);
    if (!answered || status != 0) {
        why[0] = '\0';
        return false;
    }
    why[strcspn(why, "\n")] = '\0';
    return true;
}

START_TEST(test_no_egress)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (namespaces, links, nftables)");
        return;
    }
    char outside_ns[64], veth[16];
    outside_names(outside_ns, sizeof outside_ns, veth, sizeof veth);
    struct ash_host_spec spec = {.name = "a"};
    struct ash_scenario sc = {.hosts = &spec, .n_hosts = 1};
    ash_error_t err = {0};
    struct ash_journal *j;
    ck_assert_msg(ash_journal_open(g_state, g_run, &j, &err) == 0, "%s", err.msg);
    struct ash_sandbox *sb;
    ck_assert_msg(ash_sandbox_create(&sc, g_run, j, &sb, &err) == 0, "%s", err.msg);
    char table[32]; /* named like the bridge; copied: it must outlive the sandbox */
    snprintf(table, sizeof table, "%s", ash_sandbox_bridge(sb));
    ck_assert_msg(table_exists(table), "no nftables table %s", table);

    /* "Outside": a namespace behind a veth on the root side, in a /30 of its own. */
    struct ash_nl *nl, *xnl;
    ck_assert_int_eq(ash_nl_open(&nl, &err), 0);
    uint32_t net = free_slash30(nl);
    uint32_t gw = htonl(ntohl(net) | 1u), far = htonl(ntohl(net) | 2u);
    int xfd, idx, x_eth0, x_lo;
    ck_assert_msg(ash_netns_create(outside_ns, &xfd, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_nl_veth_add(nl, veth, "eth0", xfd, 0, true, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_nl_link_index(nl, veth, &idx, &err), 0);
    ck_assert_int_eq(ash_nl_addr4_add(nl, idx, gw, 30, &err), 0);
    ck_assert_int_eq(ash_nl_open_in(xfd, &xnl, &err), 0);
    ck_assert_int_eq(ash_nl_link_index(xnl, "eth0", &x_eth0, &err), 0);
    ck_assert_int_eq(ash_nl_link_index(xnl, "lo", &x_lo, &err), 0);
    ck_assert_int_eq(ash_nl_link_set_up(xnl, x_lo, true, &err), 0);
    ck_assert_int_eq(ash_nl_link_set_up(xnl, x_eth0, true, &err), 0);
    ck_assert_int_eq(ash_nl_addr4_add(xnl, x_eth0, far, 30, &err), 0);
    ck_assert_msg(ash_nl_route4_default(xnl, gw, x_eth0, &err) == 0, "%s", err.msg);
    pid_t srv = listen_in(xfd);
    /* Routing would carry a's packets there and back once our own two links
     * forward (per link; the machine's ip_forward is left alone): the gateway
     * link, the root's end of the hub's uplink, is where they enter here. */
    set_forwarding(ash_sandbox_gateway_link(sb), "1");
    set_forwarding(veth, "1");

    ash_loop *loop;
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct ash_ctx ctx = {.loop = loop, .sandbox = sb, .scenario = &sc};
    char target[64], far_str[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &far, far_str, sizeof far_str);
    snprintf(target, sizeof target, "%s:%d", far_str, PORT);

    struct ash_sample s = connect_from_a(&ctx, target);
    ck_assert_msg(!s.ok, "host a reached %s outside the sandbox", target);
    /* Without the guard the same connection goes through: the table is what stops it. */
    ck_assert_msg(ash_sandbox_fw_delete(table, &err) == 0, "%s", err.msg);
    s = connect_from_a(&ctx, target);
    char why[512] = "";
    if (!s.ok && forward_drops(why, sizeof why))
        goto out; /* the machine's firewall stopped it: no control, so no check above meant anything */
    ck_assert_msg(s.ok, "control: without the guard a should reach %s: %s", target, s.detail);
    ck_assert_msg(ash_sandbox_fw_add(table, ash_sandbox_gateway_link(sb), ash_sandbox_subnet(sb), &err) == 0, "%s",
                  err.msg);
    s = connect_from_a(&ctx, target);
    ck_assert_msg(!s.ok, "host a reached %s with the guard back", target);
    /* Inside the subnet nothing is in the way: the harness's gateway address. */
    char inside[64];
    snprintf(inside, sizeof inside, "%s:1", ash_sandbox_gateway(sb));
    s = connect_from_a(&ctx, inside);
    ck_assert_msg(strstr(s.detail, "refused"), "gateway should refuse port 1: %s", s.detail);

out:
    ash_loop_free(loop);
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    ash_nl_close(xnl);
    close(xfd);
    ck_assert_int_eq(ash_netns_delete(outside_ns, &err), 0);
    ash_sandbox_destroy(sb);
    ash_journal_close(j, true);
    ck_assert_msg(!table_exists(table), "table left behind");
    /* The outside veth goes with its namespace (asynchronously). */
    for (int i = 0; i < 500; i++) {
        ck_assert_int_eq(ash_nl_link_index(nl, veth, &idx, &err), 0);
        if (idx == 0)
            break;
        usleep(2000);
    }
    ck_assert_int_eq(idx, 0);
    ash_nl_close(nl);
    if (why[0])
        ash_test_skip("host a cannot reach %s even without the guard: %s", target, why);
}
END_TEST

START_TEST(test_names_are_checked)
{
    ash_error_t err = {0};
    ck_assert_int_lt(ash_sandbox_fw_add("ash-x; flush ruleset", "br", "10.0.0.0/24", &err), 0);
    ck_assert_msg(strstr(err.msg, "refusing"), "%s", err.msg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sandbox_fw");
    TCase *tc = tcase_create("kernel");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, guard_setup, guard_teardown);
    tcase_add_test(tc, test_no_egress);
    tcase_add_test(tc, test_names_are_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
