/* Torture test (built with -DASH_TORTURE=ON only): a fault whose injection
 * fails half-way takes back what it had applied. For N = 1, 2, ... the Nth
 * wrapped allocation/open/write/fork from the start of inject fails; at every
 * N that makes inject fail: an error message, nothing of the fault left in the
 * kernel, nothing pending in the journal. The first N that inject survives
 * without reaching ends the loop (the complete fault is checked to be in
 * place, reverted and checked the same way). On real sandboxes:
 * - network: a tbf cap, the userspace relay for delay, an nftables table for
 *   loss: no qdisc, table, relay link or relay process left;
 * - memory-exhaustion: a lower limit, swap off and a balloon process in the
 *   host's cgroup: the old limit back, no process left in the cgroup;
 * - table-lock on SQLite, interrupt: stop: no holder process, the table
 *   writable at once;
 * - host-crash, mode: freeze: the host's cgroup not frozen;
 * - dns (the run's server, in process): a move and an nxdomain rule; the
 *   record back at its address and answered correctly.
 * After every N, no child process of this test is left running.
 * Needs root for the first two. */
#include "env/sandbox.h"
#include "kinds.h"
#include "dns/dns.h"
#include "sys/balloon.h"
#include "sys/cgroup.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/lockhold.h"
#include "sys/loop.h"
#include "sys/memwatch.h"
#include "sys/netlink.h"
#include "sys/nft.h"
#include "sys/qdisc.h"
#include "sys/torture.h"
#include "test_util.h"

#include <check.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <ldns/ldns.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *scenario = "version: 1\nname: halfway\nhosts:\n  - name: a\n  - name: b\nfaults:\n"
                              "  - name: f\n    kind: network\n    host: a\n"
                              "    bandwidth: 10mbit\n    queue: 100ms\n    delay: 20ms\n    loss: 10%\n";

struct fx {
    char run[16], state[128];
    struct ash_scenario *sc;
    struct ash_journal *j;
    struct ash_sandbox *sb;
    struct ash_ctx ctx;
};

/* Children of this process still running (a zombie is dead: not counted). */
static int live_children(void)
{
    DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *close_paren = strrchr(buf, ')');
        char state;
        int ppid;
        if (close_paren && sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2 && ppid == getpid() && state != 'Z')
            n++;
    }
    closedir(d);
    return n;
}

static bool harmful_qdisc(int nsfd, const char *ifname)
{
    struct ash_tc *tc;
    ash_error_t err = {0};
    int ifindex;
    char kind[32] = "";
    ck_assert_int_eq(ash_tc_open(nsfd, &tc, &err), 0);
    ck_assert_int_eq(ash_tc_ifindex(tc, ifname, &ifindex, &err), 0);
    ck_assert_int_eq(ash_tc_root_kind(tc, ifindex, kind, sizeof kind, &err), 0);
    ash_tc_close(tc);
    return !strcmp(kind, "tbf") || !strcmp(kind, "htb") || !strcmp(kind, "netem");
}

/* Pids of the relay processes the journal has recorded (done or not). */
static size_t journal_pids(struct fx *f, pid_t *pids, size_t max)
{
    FILE *fp = fopen(ash_journal_path(f->j), "re");
    ck_assert_ptr_nonnull(fp);
    char line[2048];
    size_t n = 0;
    while (fgets(line, sizeof line, fp) && n < max) {
        json_t *o = json_loads(line, 0, NULL);
        const char *op = json_string_value(json_object_get(o, "op"));
        if (op && strcmp(op, "network.proc") == 0)
            pids[n++] = (pid_t)json_integer_value(json_object_get(json_object_get(o, "data"), "pid"));
        json_decref(o);
    }
    fclose(fp);
    return n;
}

/* Nothing of fault `f` is left: checked in the kernel, not in the fault's state. */
static void assert_clean(struct fx *f, unsigned long long n, size_t base_pending)
{
    struct ash_host *a = ash_sandbox_host(f->sb, "a");
    ck_assert_msg(!harmful_qdisc(ash_host_netns_fd(a), "eth0"), "N=%llu: qdisc left on a's eth0", n);
    ck_assert_msg(!harmful_qdisc(-1, ash_host_veth(a)), "N=%llu: qdisc left on a's bridge port", n);
    char table[64];
    snprintf(table, sizeof table, "ash-%s-f", f->run);
    ash_error_t err = {0};
    ck_assert_msg(ash_nft_table_exists(ash_host_netns_fd(a), "inet", table, &err) == 0, "N=%llu: table %s left", n,
                  table);
    struct ash_nl *nl;
    ck_assert_int_eq(ash_nl_open(&nl, &err), 0);
    char **names = NULL, prefix[32];
    size_t nn = 0;
    snprintf(prefix, sizeof prefix, "ash%.8sr", f->run);
    ck_assert_int_eq(ash_nl_link_names(nl, prefix, &names, &nn, &err), 0);
    ck_assert_msg(nn == 0, "N=%llu: relay link %s left", n, nn ? names[0] : "");
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    ash_nl_close(nl);
    pid_t pids[16];
    size_t np = journal_pids(f, pids, 16);
    for (size_t i = 0; i < np; i++) {
        /* Reaped by the fault (a zombie would still answer kill 0). */
        ck_assert_msg(kill(pids[i], 0) != 0, "N=%llu: relay process %d still alive", n, (int)pids[i]);
    }
    /* The sandbox's own records stay pending until it is destroyed. */
    size_t pending = ash_journal_pending(f->j);
    ck_assert_msg(pending == base_pending, "N=%llu: %zu undo records of the fault pending", n, pending - base_pending);
}

START_TEST(network_inject_fails_half_way)
{
    if (geteuid() != 0) {
        printf("test_torture_halfway: skipped: needs root (namespaces, qdiscs, nftables)\n");
        return;
    }
    ck_assert_msg(ash_torture_available(), "build with -DASH_TORTURE=ON");
    struct fx f = {0};
    snprintf(f.run, sizeof f.run, "h%05x", (unsigned)getpid() & 0xfffff);
    snprintf(f.state, sizeof f.state, "%s/run-XXXXXX", ash_test_journal_dir);
    ck_assert_ptr_nonnull(mkdtemp(f.state));
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("halfway.yaml", scenario, strlen(scenario), &f.sc, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(ash_journal_open(ash_test_journal_dir, f.run, &f.j, &err), 0);
    ck_assert_msg(ash_sandbox_create_in(f.sc, f.run, f.state, f.j, &f.sb, &err) == 0, "sandbox: %s", err.msg);
    f.ctx = (struct ash_ctx){.journal = f.j, .sandbox = f.sb, .scenario = f.sc};
    const struct ash_fault_spec *fs = &f.sc->faults[0];
    size_t base = ash_journal_pending(f.j);

    unsigned long long n, failed = 0;
    for (n = 1; n < 5000; n++) {
        void *st = NULL;
        ash_error_t ierr = {0};
        ash_torture_arm(n);
        int r = fs->kind->inject(&f.ctx, fs, &st, &ierr);
        const char *what = NULL;
        bool hit = ash_torture_hit(&what);
        ash_torture_arm(0);
        if (r < 0) {
            ck_assert_msg(hit, "N=%llu: inject failed without the torture failure: %s", n, ierr.msg);
            ck_assert_msg(ierr.msg[0], "N=%llu: inject failed (%s) without a message", n, what);
            failed++;
        } else {
            if (!hit) {
                /* The complete fault: all three mechanisms are in place (so the
                 * failures above interrupted a real multi-step injection). */
                struct ash_host *a = ash_sandbox_host(f.sb, "a");
                char table[64];
                snprintf(table, sizeof table, "ash-%s-f", f.run);
                ck_assert_msg(harmful_qdisc(ash_host_netns_fd(a), "eth0") || harmful_qdisc(-1, ash_host_veth(a)),
                              "no tbf after a complete inject");
                ck_assert_int_eq(ash_nft_table_exists(ash_host_netns_fd(a), "inet", table, &err), 1);
                pid_t pids[16];
                ck_assert_msg(journal_pids(&f, pids, 16) > 0 && kill(pids[journal_pids(&f, pids, 16) - 1], 0) == 0,
                              "no relay process after a complete inject");
            }
            ash_error_t rerr = {0};
            ck_assert_msg(fs->kind->revert(&f.ctx, fs, st, &rerr) == 0, "N=%llu: revert: %s", n, rerr.msg);
        }
        assert_clean(&f, n, base);
        ck_assert_msg(live_children() == 0, "N=%llu: a child process is still running", n);
        if (r == 0 && !hit)
            break; /* inject made fewer than N wrapped calls: every single failure was tried */
    }
    printf("test_torture_halfway: network inject failed cleanly at %llu of %llu call positions\n", failed, n - 1);
    ck_assert_msg(failed > 0, "no injected failure made inject fail");
    ck_assert_msg(n < 5000, "inject never completed");
    ash_sandbox_destroy(f.sb);
    ash_journal_close(f.j, true);
    ash_scenario_free(f.sc);
}
END_TEST

static void no_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    (void)ctx, (void)t, (void)event, (void)detail;
}

static size_t cgroup_members(const struct ash_cgroup *cg)
{
    pid_t *pids = NULL;
    size_t n = 0;
    ash_error_t err = {0};
    ck_assert_msg(ash_cgroup_pids(cg, &pids, &n, &err) == 0, "%s", err.msg);
    free(pids);
    return n;
}

START_TEST(memory_inject_fails_half_way)
{
    if (geteuid() != 0) {
        printf("test_torture_halfway: skipped: needs root (cgroups)\n");
        return;
    }
    static const char *yaml = "version: 1\nname: halfway\nhosts:\n  - name: a\n    memory: 256MiB\nfaults:\n"
                              "  - name: m\n    kind: memory-exhaustion\n    host: a\n    limit: 64MiB\n"
                              "    swap: off\n    balloon: { size: 16MiB, rate: 400MiB/s }\n";
    struct fx f = {0};
    snprintf(f.run, sizeof f.run, "g%05x", (unsigned)getpid() & 0xfffff);
    snprintf(f.state, sizeof f.state, "%s/run-XXXXXX", ash_test_journal_dir);
    ck_assert_ptr_nonnull(mkdtemp(f.state));
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("halfway.yaml", yaml, strlen(yaml), &f.sc, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_journal_open(ash_test_journal_dir, f.run, &f.j, &err), 0);
    ck_assert_msg(ash_sandbox_create_in(f.sc, f.run, f.state, f.j, &f.sb, &err) == 0, "sandbox: %s", err.msg);
    ash_loop *loop = NULL;
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    f.ctx = (struct ash_ctx){.loop = loop,
                             .journal = f.j,
                             .sandbox = f.sb,
                             .scenario = f.sc,
                             .run_dir = f.state,
                             .state_dir = f.state,
                             .event = no_event};
    const struct ash_cgroup *cg = ash_host_cgroup(ash_sandbox_host(f.sb, "a"));
    struct ash_mem_sample s0, s;
    ck_assert_int_eq(ash_mem_read(cg, &s0, &err), 0);
    const struct ash_fault_spec *fs = &f.sc->faults[0];
    size_t base = ash_journal_pending(f.j);
    unsigned long long n, failed = 0;
    for (n = 1; n < 5000; n++) {
        void *st = NULL;
        ash_error_t ierr = {0};
        ash_torture_arm(n);
        int r = fs->kind->inject(&f.ctx, fs, &st, &ierr);
        const char *what = NULL;
        bool hit = ash_torture_hit(&what);
        ash_torture_arm(0);
        if (r < 0) {
            ck_assert_msg(hit, "N=%llu: inject failed without the torture failure: %s", n, ierr.msg);
            ck_assert_msg(ierr.msg[0], "N=%llu: inject failed (%s) without a message", n, what);
            failed++;
        } else {
            if (!hit) {
                ck_assert_int_eq(ash_mem_read(cg, &s, &err), 0);
                ck_assert_msg(s.limit == 64u << 20, "N=%llu: limit %llu after a complete inject", n,
                              (unsigned long long)s.limit);
                ck_assert_msg(cgroup_members(cg) == 1, "no balloon after a complete inject");
            }
            ash_error_t rerr = {0};
            ck_assert_msg(fs->kind->revert(&f.ctx, fs, st, &rerr) == 0, "N=%llu: revert: %s", n, rerr.msg);
        }
        ck_assert_int_eq(ash_mem_read(cg, &s, &err), 0);
        ck_assert_msg(s.limit == s0.limit, "N=%llu: limit %llu, was %llu", n, (unsigned long long)s.limit,
                      (unsigned long long)s0.limit);
        ck_assert_msg(ash_cgroup_wait_empty(cg, ASH_NS_PER_S, &err) == 0, "N=%llu: %zu process(es) left in the cgroup",
                      n, cgroup_members(cg));
        size_t pending = ash_journal_pending(f.j);
        ck_assert_msg(pending == base, "N=%llu: %zu undo records of the fault pending", n, pending - base);
        ck_assert_msg(live_children() == 0, "N=%llu: a child process is still running", n);
        if (r == 0 && !hit)
            break;
    }
    printf("test_torture_halfway: memory inject failed cleanly at %llu of %llu call positions\n", failed, n - 1);
    ck_assert_msg(failed > 0, "no injected failure made inject fail");
    ck_assert_msg(n < 5000, "inject never completed");
    ash_loop_free(loop);
    ash_sandbox_destroy(f.sb);
    ash_journal_close(f.j, true);
    ash_scenario_free(f.sc);
}
END_TEST

static int sqlite_write_now(const char *db_path)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    int rc = sqlite3_exec(db, "INSERT INTO call_records (caller) VALUES ('carol')", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

START_TEST(table_lock_inject_fails_half_way)
{
    char dir[128], db_path[160];
    snprintf(dir, sizeof dir, "%s/lock-XXXXXX", ash_test_journal_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db_path, sizeof db_path, "%s/calls.db", dir);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(db, "CREATE TABLE call_records (id INTEGER PRIMARY KEY, caller TEXT)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    static const char *yaml = "version: 1\nname: halfway\nfaults:\n  - name: maint\n    kind: table-lock\n"
                              "    sqlite: { path: \"{run_dir}/calls.db\", table: call_records }\n"
                              "    interrupt: stop\n";
    struct fx f = {0};
    snprintf(f.run, sizeof f.run, "k%05x", (unsigned)getpid() & 0xfffff);
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("halfway.yaml", yaml, strlen(yaml), &f.sc, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_journal_open(ash_test_journal_dir, f.run, &f.j, &err), 0);
    ash_loop *loop = NULL;
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    f.ctx = (struct ash_ctx){
        .loop = loop, .journal = f.j, .scenario = f.sc, .run_dir = dir, .state_dir = dir, .event = no_event};
    const struct ash_fault_spec *fs = &f.sc->faults[0];
    unsigned long long n, failed = 0;
    for (n = 1; n < 5000; n++) {
        void *st = NULL;
        ash_error_t ierr = {0};
        ash_torture_arm(n);
        int r = fs->kind->inject(&f.ctx, fs, &st, &ierr);
        const char *what = NULL;
        bool hit = ash_torture_hit(&what);
        ash_torture_arm(0);
        if (r < 0) {
            ck_assert_msg(hit, "N=%llu: inject failed without the torture failure: %s", n, ierr.msg);
            ck_assert_msg(ierr.msg[0], "N=%llu: inject failed (%s) without a message", n, what);
            failed++;
        } else {
            if (!hit)
                ck_assert_msg(sqlite_write_now(db_path) == SQLITE_BUSY,
                              "the table is writable after a complete inject");
            ash_error_t rerr = {0};
            ck_assert_msg(fs->kind->revert(&f.ctx, fs, st, &rerr) == 0, "N=%llu: revert: %s", n, rerr.msg);
        }
        ck_assert_msg(live_children() == 0, "N=%llu: the lock holder is still running", n);
        ck_assert_msg(sqlite_write_now(db_path) == SQLITE_OK, "N=%llu: the table is still locked", n);
        ck_assert_msg(ash_journal_pending(f.j) == 0, "N=%llu: %zu undo records pending", n, ash_journal_pending(f.j));
        if (r == 0 && !hit)
            break;
    }
    printf("test_torture_halfway: table-lock inject failed cleanly at %llu of %llu call positions\n", failed, n - 1);
    ck_assert_msg(failed > 0, "no injected failure made inject fail");
    ck_assert_msg(n < 5000, "inject never completed");
    ash_loop_free(loop);
    ash_journal_close(f.j, true);
    ash_scenario_free(f.sc);
}
END_TEST

START_TEST(host_crash_inject_fails_half_way)
{
    if (geteuid() != 0) {
        printf("test_torture_halfway: skipped: needs root (sandbox hosts)\n");
        return;
    }
    static const char *yaml = "version: 1\nname: halfway\nhosts:\n  - name: a\nfaults:\n"
                              "  - name: c\n    kind: host-crash\n    host: a\n    mode: freeze\n";
    struct fx f = {0};
    snprintf(f.run, sizeof f.run, "c%05x", (unsigned)getpid() & 0xfffff);
    snprintf(f.state, sizeof f.state, "%s/run-XXXXXX", ash_test_journal_dir);
    ck_assert_ptr_nonnull(mkdtemp(f.state));
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("halfway.yaml", yaml, strlen(yaml), &f.sc, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_journal_open(ash_test_journal_dir, f.run, &f.j, &err), 0);
    ck_assert_msg(ash_sandbox_create_in(f.sc, f.run, f.state, f.j, &f.sb, &err) == 0, "sandbox: %s", err.msg);
    f.ctx = (struct ash_ctx){.journal = f.j, .sandbox = f.sb, .scenario = f.sc, .event = no_event};
    const struct ash_cgroup *cg = ash_host_cgroup(ash_sandbox_host(f.sb, "a"));
    const struct ash_fault_spec *fs = &f.sc->faults[0];
    size_t base = ash_journal_pending(f.j);
    unsigned long long n, failed = 0;
    for (n = 1; n < 5000; n++) {
        void *st = NULL;
        ash_error_t ierr = {0};
        ash_torture_arm(n);
        int r = fs->kind->inject(&f.ctx, fs, &st, &ierr);
        const char *what = NULL;
        bool hit = ash_torture_hit(&what);
        ash_torture_arm(0);
        if (r < 0) {
            ck_assert_msg(hit, "N=%llu: inject failed without the torture failure: %s", n, ierr.msg);
            ck_assert_msg(ierr.msg[0], "N=%llu: inject failed (%s) without a message", n, what);
            failed++;
        } else {
            if (!hit)
                ck_assert_msg(ash_cgroup_frozen(cg), "the host is not frozen after a complete inject");
            ash_error_t rerr = {0};
            ck_assert_msg(fs->kind->revert(&f.ctx, fs, st, &rerr) == 0, "N=%llu: revert: %s", n, rerr.msg);
        }
        ck_assert_msg(!ash_cgroup_frozen(cg), "N=%llu: the host is still frozen", n);
        size_t pending = ash_journal_pending(f.j);
        ck_assert_msg(pending == base, "N=%llu: %zu undo records of the fault pending", n, pending - base);
        if (r == 0 && !hit)
            break;
    }
    printf("test_torture_halfway: host-crash inject failed cleanly at %llu of %llu call positions\n", failed, n - 1);
    ck_assert_msg(failed > 0, "no injected failure made inject fail");
    ck_assert_msg(n < 5000, "inject never completed");
    ash_sandbox_destroy(f.sb);
    ash_journal_close(f.j, true);
    ash_scenario_free(f.sc);
}
END_TEST

/* The server's answer to an A query for `name`: its rcode, and the first address in *addr. */
static int dns_ask(struct ash_dns *d, const char *name, char *addr, size_t len)
{
    ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
    ck_assert_ptr_nonnull(q);
    uint8_t *wire, *out = NULL;
    size_t wlen, out_len = 0;
    ck_assert_int_eq(ldns_pkt2wire(&wire, q, &wlen), LDNS_STATUS_OK);
    ldns_pkt_free(q);
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5555)};
    inet_pton(AF_INET, "127.0.0.1", &from.sin_addr);
    int64_t delay = 0;
    int r = ash_dns_respond(d, wire, wlen, (struct sockaddr *)&from, false, &out, &out_len, &delay);
    free(wire);
    ck_assert_int_eq(r, 1);
    ldns_pkt *a = NULL;
    ck_assert_int_eq(ldns_wire2pkt(&a, out, out_len), LDNS_STATUS_OK);
    free(out);
    int rcode = (int)ldns_pkt_get_rcode(a);
    addr[0] = '\0';
    ldns_rr_list *an = ldns_pkt_answer(a);
    if (an && ldns_rr_list_rr_count(an) > 0) {
        char *txt = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(an, 0), 0));
        snprintf(addr, len, "%s", txt ? txt : "");
        free(txt);
    }
    ldns_pkt_free(a);
    return rcode;
}

START_TEST(dns_inject_fails_half_way)
{
    static const char *yaml = "version: 1\nname: halfway\ndns:\n  listen: 127.0.0.1:15353\n  records:\n"
                              "    - { name: web, type: A, value: 10.0.0.5, ttl: 30 }\n"
                              "faults:\n  - name: d\n    kind: dns\n    names: [web]\n    answer: nxdomain\n"
                              "    move: 10.0.0.9\n";
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("halfway.yaml", yaml, strlen(yaml), &sc, &err) == 0, "%s", err.msg);
    struct ash_dns *d = NULL;
    ck_assert_int_eq(ash_dns_new(NULL, &d, &err), 0);
    ck_assert_msg(ash_dns_add_scenario(d, &sc->dns, &err) == 0, "%s", err.msg);
    struct ash_ctx ctx = {.dns = d, .scenario = sc, .event = no_event};
    const struct ash_fault_spec *fs = &sc->faults[0];
    char addr[64];
    unsigned long long n, failed = 0;
    for (n = 1; n < 5000; n++) {
        void *st = NULL;
        ash_error_t ierr = {0};
        ash_torture_arm(n);
        int r = fs->kind->inject(&ctx, fs, &st, &ierr);
        const char *what = NULL;
        bool hit = ash_torture_hit(&what);
        ash_torture_arm(0);
        if (r < 0) {
            ck_assert_msg(hit, "N=%llu: inject failed without the torture failure: %s", n, ierr.msg);
            ck_assert_msg(ierr.msg[0], "N=%llu: inject failed (%s) without a message", n, what);
            failed++;
        } else {
            if (!hit) {
                ck_assert_str_eq(ash_dns_lookup(d, "web"), "10.0.0.9");
                ck_assert_int_eq(dns_ask(d, "web", addr, sizeof addr), LDNS_RCODE_NXDOMAIN);
            }
            ash_error_t rerr = {0};
            ck_assert_msg(fs->kind->revert(&ctx, fs, st, &rerr) == 0, "N=%llu: revert: %s", n, rerr.msg);
        }
        const char *now = ash_dns_lookup(d, "web");
        ck_assert_msg(now && strcmp(now, "10.0.0.5") == 0, "N=%llu: web left at %s after %s", n, now ? now : "(none)",
                      r < 0 ? "the failed inject" : "revert");
        ck_assert_msg(dns_ask(d, "web", addr, sizeof addr) == LDNS_RCODE_NOERROR && strcmp(addr, "10.0.0.5") == 0,
                      "N=%llu: web answered '%s' after %s", n, addr, r < 0 ? "the failed inject" : "revert");
        if (r == 0 && !hit)
            break;
    }
    printf("test_torture_halfway: dns inject failed cleanly at %llu of %llu call positions\n", failed, n - 1);
    ck_assert_msg(failed > 0, "no injected failure made inject fail");
    ck_assert_msg(n < 5000, "inject never completed");
    ash_dns_free(d);
    ash_scenario_free(sc);
}
END_TEST

int main(int argc, char **argv)
{
    /* The lock holder, too, is this program, as the aftershock binary is in a run. */
    if (argc > 1 && strcmp(argv[1], "__lock-holder") == 0)
        return ash_lockhold_main(argc - 1, argv + 1);
    /* The balloon helper is this program (ash_balloon_set_exe's default), as
     * the aftershock binary is in a real run. */
    if (argc > 1 && strcmp(argv[1], "__balloon") == 0)
        return ash_balloon_main(argc - 1, argv + 1);
    Suite *s = suite_create("torture_halfway");
    TCase *tc = tcase_create("inject");
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, network_inject_fails_half_way);
    tcase_add_test(tc, memory_inject_fails_half_way);
    tcase_add_test(tc, table_lock_inject_fails_half_way);
    tcase_add_test(tc, host_crash_inject_fails_half_way);
    tcase_add_test(tc, dns_inject_fails_half_way);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
