/* Torture test (built with -DASH_TORTURE=ON only): a fault whose injection
 * fails half-way takes back what it had applied, and a fault whose revert
 * fails leaves exactly what `recover` then undoes (the revert contract,
 * kinds.h). For N = 1, 2, ... the Nth
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
 * - process, action: stop, on a process by pid: not left stopped;
 * - exec: an inject command that makes a file, a revert command that removes
 *   it (journaled, committed in the header): the file gone;
 * - syscall: its policy on a service's seccomp listener: none left.
 * After every N, no child process of this test is left running.
 * The revert cases inject the whole fault, then make the Nth wrapped call of
 * its revert fail, once or from then on (a persistent failure: the engine's
 * retry fails too), through ash_fault_revert as the engine calls it; whatever
 * is then pending in the fault's journal is replayed as the end of a run and
 * `aftershock recover` do, and nothing of the fault may be left.
 * Needs root for the sandbox cases. */
#include "engine/fault_revert.h"
#include "engine/recover.h"
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
#include "sys/objname.h"
#include "sys/seccomp_notify.h"
#include "test_proc.h"
#include "test_util.h"
#include "test_run.h"

#include <check.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fx {
    char run[16], frun[20], state[128];
    struct ash_scenario *sc;
    struct ash_journal *j;  /* the sandbox's records */
    struct ash_journal *fj; /* the fault's records (ctx.journal), replayable alone */
    struct ash_sandbox *sb;
    struct ash_ctx ctx;
    size_t base_pending; /* the sandbox's own records, pending until it is destroyed */
    json_t *commit;      /* what the fault's journal header commits to (kinds with commit: exec) */
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
    FILE *fp = fopen(ash_journal_path(f->fj), "re");
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

static int sqlite_write_now(const char *db_path)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    int rc = sqlite3_exec(db, "INSERT INTO call_records (caller) VALUES ('carol')", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

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

/* One kind's case: its fault, the check that it is entirely in place, and the
 * check that nothing of it is left (kernel or server state, not the fault's
 * own bookkeeping). */
struct halfway {
    const char *name;
    struct fx *f;
    void (*in_place)(struct fx *f);
    void (*nothing_left)(struct fx *f, unsigned long long n);
};

/* Fail the Nth wrapped call of inject for N = 1, 2, ... until inject completes
 * without reaching N. */
static void fail_at_every_call(const struct halfway *h)
{
    const struct ash_fault_spec *fs = &h->f->sc->faults[0];
    unsigned long long n, failed = 0;
    for (n = 1; n < 5000; n++) {
        void *st = NULL;
        ash_error_t ierr = {0};
        ash_torture_arm(n);
        int r = fs->kind->inject(&h->f->ctx, fs, &st, &ierr);
        const char *what = NULL;
        bool hit = ash_torture_hit(&what);
        ash_torture_arm(0);
        if (r < 0) {
            ck_assert_msg(hit, "%s N=%llu: inject failed without the torture failure: %s", h->name, n, ierr.msg);
            ck_assert_msg(ierr.msg[0], "%s N=%llu: inject failed (%s) without a message", h->name, n, what);
            failed++;
        } else {
            if (!hit)
                h->in_place(h->f); /* so the failures above interrupted a real multi-step injection */
            ash_error_t rerr = {0};
            ck_assert_msg(fs->kind->revert(&h->f->ctx, fs, st, &rerr) == 0, "%s N=%llu: revert: %s", h->name, n,
                          rerr.msg);
        }
        h->nothing_left(h->f, n);
        size_t pending = ash_journal_pending(h->f->fj);
        ck_assert_msg(pending == 0, "%s N=%llu: %zu undo records of the fault pending", h->name, n, pending);
        ck_assert_msg(ash_journal_pending(h->f->j) == h->f->base_pending, "%s N=%llu: the sandbox's records changed",
                      h->name, n);
        ck_assert_msg(live_children() == 0, "%s N=%llu: a child process is still running", h->name, n);
        if (r == 0 && !hit)
            break;
    }
    printf("test_torture_halfway: %s inject failed cleanly at %llu of %llu call positions\n", h->name, failed, n - 1);
    ck_assert_msg(failed > 0, "%s: no injected failure made inject fail", h->name);
    ck_assert_msg(n < 5000, "%s: inject never completed", h->name);
}

/* What the end of a run and `aftershock recover` do with a journal that has
 * records left: replay them through the kinds' undo ops. The fault's journal
 * is then opened anew for the next position. */
static void recover_fault_journal(const struct halfway *h, unsigned long long n)
{
    struct fx *f = h->f;
    char path[4096];
    snprintf(path, sizeof path, "%s", ash_journal_path(f->fj));
    size_t left = ash_journal_pending(f->fj);
    ash_journal_close(f->fj, true);
    f->fj = NULL;
    ash_error_t err = {0};
    if (left)
        ck_assert_msg(ash_recover_journal(path, NULL, &err) == 0, "%s N=%llu: recover of %zu record(s): %s", h->name, n,
                      left, err.msg);
    unlink(path); /* replayed whole, or clean: the next position starts a new one */
    ck_assert_int_eq(ash_journal_open_committed(ash_test_journal_dir, f->frun, f->commit, &f->fj, &err), 0);
    f->ctx.journal = f->fj;
}

/* The revert contract: for N = 1, 2, ... inject the whole fault, make the Nth
 * wrapped call of ash_fault_revert fail (once, or from then on with
 * `persistent`), then recover what the journal holds: nothing of the fault may
 * be left, in the kernel or the journal. Ends at the first N the revert does
 * not reach. */
static void fail_revert_at_every_call(const struct halfway *h, bool persistent)
{
    const struct ash_fault_spec *fs = &h->f->sc->faults[0];
    unsigned long long n, failed = 0, retried_ok = 0;
    for (n = 1; n < 5000; n++) {
        void *st = NULL;
        ash_error_t ierr = {0};
        ck_assert_msg(fs->kind->inject(&h->f->ctx, fs, &st, &ierr) == 0, "%s N=%llu: inject: %s", h->name, n, ierr.msg);
        h->in_place(h->f);
        bool retried = false;
        ash_error_t rerr = {0};
        if (persistent)
            ash_torture_arm_from(n);
        else
            ash_torture_arm(n);
        int r = ash_fault_revert(&h->f->ctx, fs, st, &retried, &rerr);
        const char *what = NULL;
        bool hit = ash_torture_hit(&what);
        ash_torture_arm(0);
        if (r < 0) {
            ck_assert_msg(hit, "%s N=%llu: revert failed without the torture failure: %s", h->name, n, rerr.msg);
            ck_assert_msg(rerr.msg[0], "%s N=%llu: revert failed (%s) without a message", h->name, n, what);
            failed++;
        } else if (retried) {
            retried_ok++;
        }
        recover_fault_journal(h, n);
        h->nothing_left(h->f, n);
        ck_assert_msg(ash_journal_pending(h->f->j) == h->f->base_pending, "%s N=%llu: the sandbox's records changed",
                      h->name, n);
        ck_assert_msg(live_children() == 0, "%s N=%llu: a child process is still running", h->name, n);
        if (!hit)
            break;
    }
    printf("test_torture_halfway: %s revert (%s failure) failed at %llu, retried successfully at %llu, of %llu call "
           "positions; recover left nothing at every one\n",
           h->name, persistent ? "persistent" : "single", failed, retried_ok, n - 1);
    ck_assert_msg(n < 5000, "%s: revert never completed", h->name);
}

/* The last wrapped call of a complete inject of `fs` fails: inject must fail too,
 * with a message, and leave nothing in the journal. For network, that call is the
 * no-effect check's timer: a fault in effect that nobody watches must not pass for
 * an injected one (issue 13). A fault without a relay process, so that its calls
 * are the same every time once what is kept between injects is made. (Counted
 * with no ck_assert in between: Check's own calls go through the wrappers too.) */
static void last_call_fails_inject(const struct halfway *h, const struct ash_fault_spec *fs)
{
    void *st = NULL;
    ash_error_t err = {0};
    ash_torture_arm(0);
    /* Once to warm what is kept between injects (the nftables socket kept per
     * namespace is made by the first one only), then counted. */
    int r = fs->kind->inject(&h->f->ctx, fs, &st, &err);
    ck_assert_msg(r == 0, "%s: inject: %s", h->name, err.msg);
    ck_assert_msg(fs->kind->revert(&h->f->ctx, fs, st, &err) == 0, "%s: revert: %s", h->name, err.msg);
    st = NULL;
    ash_torture_arm(0);
    r = fs->kind->inject(&h->f->ctx, fs, &st, &err);
    uint64_t calls = ash_torture_calls();
    ck_assert_msg(r == 0, "%s: inject: %s", h->name, err.msg);
    ck_assert_msg(fs->kind->revert(&h->f->ctx, fs, st, &err) == 0, "%s: revert: %s", h->name, err.msg);
    st = NULL;
    ash_torture_arm(calls);
    r = fs->kind->inject(&h->f->ctx, fs, &st, &err);
    const char *what = NULL;
    bool hit = ash_torture_hit(&what);
    ash_torture_arm(0);
    ck_assert_msg(hit, "%s: the last of %llu calls was not reached", h->name, (unsigned long long)calls);
    ck_assert_msg(r < 0, "%s: inject succeeded though its last call (%s) failed", h->name, what);
    ck_assert_msg(err.msg[0], "%s: inject failed without a message", h->name);
    ck_assert_int_eq(ash_journal_pending(h->f->fj), 0);
    ck_assert_int_eq(live_children(), 0);
}

/* Inject half-way, then revert under single and persistent failures. */
static void torture_kind(const struct halfway *h)
{
    fail_at_every_call(h);
    fail_revert_at_every_call(h, false);
    fail_revert_at_every_call(h, true);
}

static bool need_root(const char *why)
{
    if (geteuid() == 0)
        return false;
    ash_test_skip("needs root (%s)", why);
    return true;
}

/* A sandbox for the scenario `yaml`, journaled in the guard's directory. */
static void fx_sandbox(struct fx *f, char tag, const char *yaml, ash_loop *loop)
{
    ck_assert_msg(ash_torture_available(), "build with -DASH_TORTURE=ON");
    *f = (struct fx){0};
    snprintf(f->run, sizeof f->run, "%c%05x", tag, (unsigned)getpid() & 0xfffff);
    snprintf(f->state, sizeof f->state, "%s/run-XXXXXX", ash_test_journal_dir);
    ck_assert_ptr_nonnull(mkdtemp(f->state));
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("halfway.yaml", yaml, strlen(yaml), &f->sc, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_journal_open(ash_test_journal_dir, f->run, &f->j, &err), 0);
    snprintf(f->frun, sizeof f->frun, "%sf", f->run);
    /* As the engine opens a run's journal: committed to the records recover may replay. */
    f->commit = json_array();
    for (size_t i = 0; i < f->sc->n_faults; i++)
        if (f->sc->faults[i].kind->commit)
            ck_assert_msg(f->sc->faults[i].kind->commit(&f->sc->faults[i], f->sc->dir, f->state, f->commit, &err) == 0,
                          "%s", err.msg);
    ck_assert_int_eq(ash_journal_open_committed(ash_test_journal_dir, f->frun, f->commit, &f->fj, &err), 0);
    if (f->sc->n_hosts)
        ck_assert_msg(ash_sandbox_create_in(f->sc, f->run, f->state, f->j, &f->sb, &err) == 0, "sandbox: %s", err.msg);
    f->ctx = (struct ash_ctx){.loop = loop,
                              .journal = f->fj,
                              .sandbox = f->sb,
                              .scenario = f->sc,
                              .run_id = f->run,
                              .run_dir = f->state,
                              .state_dir = f->state,
                              .event = no_event};
    f->base_pending = ash_journal_pending(f->j);
}

static void fx_free(struct fx *f)
{
    ash_sandbox_destroy(f->sb);
    ash_journal_close(f->fj, true);
    ash_journal_close(f->j, true);
    ash_scenario_free(f->sc);
    json_decref(f->commit);
}

/* ---- network: tbf cap + relay delay + nftables loss on host a ---- */

static void net_table(struct fx *f, char *table, size_t len)
{
    char name[ASH_OBJNAME_MAX + 1];
    ash_objname(name, f->run, "f");
    snprintf(table, len, "%s", name);
}

static void net_in_place(struct fx *f)
{
    struct ash_host *a = ash_sandbox_host(f->sb, "a");
    char table[64];
    net_table(f, table, sizeof table);
    ash_error_t err = {0};
    ck_assert_msg(harmful_qdisc(ash_host_netns_fd(a), "eth0") ||
                      harmful_qdisc(ash_sandbox_hub_fd(f->sb), ash_host_veth(a)),
                  "no tbf after a complete inject");
    ck_assert_int_eq(ash_nft_table_exists(ash_host_netns_fd(a), "inet", table, &err), 1);
    pid_t pids[16];
    size_t np = journal_pids(f, pids, 16);
    ck_assert_msg(np > 0 && kill(pids[np - 1], 0) == 0, "no relay process after a complete inject");
}

static void net_nothing_left(struct fx *f, unsigned long long n)
{
    struct ash_host *a = ash_sandbox_host(f->sb, "a");
    ck_assert_msg(!harmful_qdisc(ash_host_netns_fd(a), "eth0"), "N=%llu: qdisc left on a's eth0", n);
    ck_assert_msg(!harmful_qdisc(ash_sandbox_hub_fd(f->sb), ash_host_veth(a)), "N=%llu: qdisc left on a's bridge port",
                  n);
    char table[64];
    net_table(f, table, sizeof table);
    ash_error_t err = {0};
    ck_assert_msg(ash_nft_table_exists(ash_host_netns_fd(a), "inet", table, &err) == 0, "N=%llu: table %s left", n,
                  table);
    struct ash_nl *nl; /* relay links are made in the sandbox's hub, with its bridge */
    ck_assert_int_eq(ash_nl_open_in(ash_sandbox_hub_fd(f->sb), &nl, &err), 0);
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
    for (size_t i = 0; i < np; i++) /* reaped by the fault: a zombie would still answer kill 0 */
        ck_assert_msg(kill(pids[i], 0) != 0, "N=%llu: relay process %d still alive", n, (int)pids[i]);
}

START_TEST(network_inject_fails_half_way)
{
    if (need_root("namespaces, qdiscs, nftables"))
        return;
    /* A loop, as in a run: inject arms its no-effect check on it. */
    ash_loop *loop = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct fx f;
    fx_sandbox(&f, 'h',
               "version: 1\nname: halfway\nhosts:\n  - name: a\n  - name: b\nfaults:\n"
               "  - name: f\n    kind: network\n    host: a\n"
               "    bandwidth: 10mbit\n    queue: 100ms\n    delay: 20ms\n    loss: 10%\n"
               "  - name: cap\n    kind: network\n    host: b\n    bandwidth: 10mbit\n    queue: 100ms\n",
               loop);
    struct halfway h = {"network", &f, net_in_place, net_nothing_left};
    torture_kind(&h);
    last_call_fails_inject(&h, &f.sc->faults[1]);
    struct ash_host *b = ash_sandbox_host(f.sb, "b");
    ck_assert_msg(!harmful_qdisc(ash_host_netns_fd(b), "eth0") &&
                      !harmful_qdisc(ash_sandbox_hub_fd(f.sb), ash_host_veth(b)),
                  "a qdisc left on b after the failed inject");
    fx_free(&f);
    ash_loop_free(loop);
}
END_TEST

/* ---- memory-exhaustion: limit + swap off + balloon on host a ---- */

static uint64_t mem_limit(struct fx *f)
{
    struct ash_mem_sample s;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_mem_read(ash_host_cgroup(ash_sandbox_host(f->sb, "a")), &s, &err), 0);
    return s.limit;
}

static void mem_in_place(struct fx *f)
{
    ck_assert_msg(mem_limit(f) == 64u << 20, "limit %llu after a complete inject", (unsigned long long)mem_limit(f));
    ck_assert_msg(cgroup_members(ash_host_cgroup(ash_sandbox_host(f->sb, "a"))) == 1,
                  "no balloon after a complete inject");
}

static void mem_nothing_left(struct fx *f, unsigned long long n)
{
    ck_assert_msg(mem_limit(f) == 256u << 20, "N=%llu: limit %llu, was 256 MiB", n, (unsigned long long)mem_limit(f));
    const struct ash_cgroup *cg = ash_host_cgroup(ash_sandbox_host(f->sb, "a"));
    ash_error_t err = {0};
    ck_assert_msg(ash_cgroup_wait_empty(cg, ASH_NS_PER_S, &err) == 0, "N=%llu: %zu process(es) left in the cgroup", n,
                  cgroup_members(cg));
}

START_TEST(memory_inject_fails_half_way)
{
    if (need_root("cgroups"))
        return;
    ash_loop *loop = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct fx f;
    fx_sandbox(&f, 'g',
               "version: 1\nname: halfway\nhosts:\n  - name: a\n    memory: 256MiB\nfaults:\n"
               "  - name: m\n    kind: memory-exhaustion\n    host: a\n    limit: 64MiB\n"
               "    swap: off\n    balloon: { size: 16MiB, rate: 400MiB/s }\n",
               loop);
    torture_kind(&(struct halfway){"memory", &f, mem_in_place, mem_nothing_left});
    fx_free(&f);
    ash_loop_free(loop);
}
END_TEST

/* ---- table-lock: SQLite, interrupt: stop ---- */

static void lock_db(struct fx *f, char *path, size_t len)
{
    snprintf(path, len, "%s/calls.db", f->state);
}

static void lock_in_place(struct fx *f)
{
    char db[200];
    lock_db(f, db, sizeof db);
    ck_assert_msg(sqlite_write_now(db) == SQLITE_BUSY, "the table is writable after a complete inject");
}

static void lock_nothing_left(struct fx *f, unsigned long long n)
{
    char db[200];
    lock_db(f, db, sizeof db);
    ck_assert_msg(sqlite_write_now(db) == SQLITE_OK, "N=%llu: the table is still locked", n);
}

START_TEST(table_lock_inject_fails_half_way)
{
    ash_loop *loop = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct fx f;
    fx_sandbox(&f, 'k',
               "version: 1\nname: halfway\nfaults:\n  - name: maint\n    kind: table-lock\n"
               "    sqlite: { path: \"{run_dir}/calls.db\", table: call_records }\n    interrupt: stop\n",
               loop);
    char db_path[200];
    lock_db(&f, db_path, sizeof db_path);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(db, "CREATE TABLE call_records (id INTEGER PRIMARY KEY, caller TEXT)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    torture_kind(&(struct halfway){"table-lock", &f, lock_in_place, lock_nothing_left});
    fx_free(&f);
    ash_loop_free(loop);
}
END_TEST

/* ---- host-crash, mode: freeze ---- */

static void crash_in_place(struct fx *f)
{
    ck_assert_msg(ash_cgroup_frozen(ash_host_cgroup(ash_sandbox_host(f->sb, "a"))),
                  "the host is not frozen after a complete inject");
}

static void crash_nothing_left(struct fx *f, unsigned long long n)
{
    ck_assert_msg(!ash_cgroup_frozen(ash_host_cgroup(ash_sandbox_host(f->sb, "a"))), "N=%llu: the host is still frozen",
                  n);
}

START_TEST(host_crash_inject_fails_half_way)
{
    if (need_root("sandbox hosts"))
        return;
    struct fx f;
    fx_sandbox(&f, 'c',
               "version: 1\nname: halfway\nhosts:\n  - name: a\nfaults:\n"
               "  - name: c\n    kind: host-crash\n    host: a\n    mode: freeze\n",
               NULL);
    torture_kind(&(struct halfway){"host-crash", &f, crash_in_place, crash_nothing_left});
    fx_free(&f);
}
END_TEST

/* ---- dns: a move and an nxdomain rule on the run's server (in process) ---- */

static void dns_in_place(struct fx *f)
{
    char addr[64];
    ck_assert_str_eq(ash_dns_lookup(f->ctx.dns, "web"), "10.0.0.9");
    ck_assert_int_eq(dns_ask(f->ctx.dns, "web", addr, sizeof addr), LDNS_RCODE_NXDOMAIN);
}

static void dns_nothing_left(struct fx *f, unsigned long long n)
{
    char addr[64];
    const char *now = ash_dns_lookup(f->ctx.dns, "web");
    ck_assert_msg(now && strcmp(now, "10.0.0.5") == 0, "N=%llu: web left at %s", n, now ? now : "(none)");
    ck_assert_msg(dns_ask(f->ctx.dns, "web", addr, sizeof addr) == LDNS_RCODE_NOERROR && strcmp(addr, "10.0.0.5") == 0,
                  "N=%llu: web answered '%s'", n, addr);
}

START_TEST(dns_inject_fails_half_way)
{
    struct fx f;
    fx_sandbox(&f, 'd',
               "version: 1\nname: halfway\ndns:\n  listen: 127.0.0.1:15353\n  records:\n"
               "    - { name: web, type: A, value: 10.0.0.5, ttl: 30 }\n"
               "faults:\n  - name: d\n    kind: dns\n    names: [web]\n    answer: nxdomain\n"
               "    move: 10.0.0.9\n",
               NULL);
    struct ash_dns *d = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_dns_new(NULL, &d, &err), 0);
    ck_assert_msg(ash_dns_add_scenario(d, &f.sc->dns, &err) == 0, "%s", err.msg);
    f.ctx.dns = d;
    torture_kind(&(struct halfway){"dns", &f, dns_in_place, dns_nothing_left});
    ash_dns_free(d);
    fx_free(&f);
}
END_TEST

/* ---- process, action: stop, on a process this test started (not its child: the
 * check that no child of this test is left running stays exact) ---- */

static pid_t stop_target;

static pid_t start_grandchild(void)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        pid_t g = fork();
        if (g == 0) {
            close(p[0]);
            close(p[1]);
            for (;;)
                pause();
        }
        (void)!write(p[1], &g, sizeof g);
        _exit(0);
    }
    close(p[1]);
    pid_t g = -1;
    ck_assert_int_eq(read(p[0], &g, sizeof g), (ssize_t)sizeof g);
    close(p[0]);
    waitpid(child, NULL, 0);
    return g;
}

/* A signal is delivered when the target is next scheduled: wait for its state (1 s at most). */
static bool stopped_soon(bool want)
{
    for (int i = 0; i < 1000 && (ash_test_proc_state(stop_target) == 'T') != want; i++)
        usleep(1000);
    return (ash_test_proc_state(stop_target) == 'T') == want;
}

static void proc_in_place(struct fx *f)
{
    (void)f;
    ck_assert_msg(stopped_soon(true), "the process is not stopped after a complete inject");
}

static void proc_nothing_left(struct fx *f, unsigned long long n)
{
    (void)f;
    ck_assert_msg(stopped_soon(false), "N=%llu: the process %d is still stopped (%c)", n, (int)stop_target,
                  ash_test_proc_state(stop_target));
}

START_TEST(process_inject_fails_half_way)
{
    stop_target = start_grandchild();
    char yaml[300];
    snprintf(yaml, sizeof yaml,
             "version: 1\nname: halfway\nfaults:\n  - name: p\n    kind: process\n"
             "    target: process:pid=%d\n    action: stop\n",
             (int)stop_target);
    struct fx f;
    fx_sandbox(&f, 'p', yaml, NULL);
    torture_kind(&(struct halfway){"process", &f, proc_in_place, proc_nothing_left});
    fx_free(&f);
    kill(stop_target, SIGKILL); /* init reaps it */
}
END_TEST

/* ---- exec: a command that makes a file, and one that removes it ---- */

static bool flag_exists(struct fx *f)
{
    char path[200];
    snprintf(path, sizeof path, "%s/flag", f->state);
    return access(path, F_OK) == 0;
}

static void exec_in_place(struct fx *f)
{
    ck_assert_msg(flag_exists(f), "the inject command's file is missing after a complete inject");
}

static void exec_nothing_left(struct fx *f, unsigned long long n)
{
    ck_assert_msg(!flag_exists(f), "N=%llu: the inject command's file is left", n);
}

START_TEST(exec_inject_fails_half_way)
{
    struct fx f;
    fx_sandbox(&f, 'e',
               "version: 1\nname: halfway\nfaults:\n  - name: x\n    kind: exec\n"
               "    inject: [touch, \"{run_dir}/flag\"]\n    revert: [rm, -f, \"{run_dir}/flag\"]\n",
               NULL);
    torture_kind(&(struct halfway){"exec", &f, exec_in_place, exec_nothing_left});
    fx_free(&f);
}
END_TEST

/* ---- syscall: a filter on a service's listener (a stand-in fd: the policy is what
 * the fault adds, and what must not be left to fail the service's calls) ---- */

static void sc_in_place(struct fx *f)
{
    (void)f;
    ck_assert_msg(ash_seccomp_policies("svc") == 1, "no policy after a complete inject");
}

static void sc_nothing_left(struct fx *f, unsigned long long n)
{
    (void)f;
    ck_assert_msg(ash_seccomp_policies("svc") == 0, "N=%llu: %zu policies left on the service", n,
                  ash_seccomp_policies("svc"));
}

START_TEST(syscall_inject_fails_half_way)
{
    ash_loop *loop = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    struct ash_seccomp_listener *l = NULL;
    ck_assert_msg(ash_seccomp_listen(loop, p[0], "svc", &l, &err) == 0, "%s", err.msg);
    struct fx f;
    fx_sandbox(&f, 's',
               "version: 1\nname: halfway\nservices:\n  - name: svc\n    command: [\"/bin/true\"]\n"
               "faults:\n  - name: s\n    kind: syscall\n    target: svc\n    syscalls: [openat]\n"
               "    errno: EIO\n    path: \"{run_dir}/x*\"\n",
               loop);
    torture_kind(&(struct halfway){"syscall", &f, sc_in_place, sc_nothing_left});
    fx_free(&f);
    ash_seccomp_listener_close(l);
    close(p[1]);
    ash_loop_free(loop);
}
END_TEST

int main(int argc, char **argv)
{
    /* The balloon and the lock holder are this program, as the aftershock
     * binary is in a real run. */
    if (argc > 1 && strcmp(argv[1], "__balloon") == 0)
        return ash_balloon_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "__lock-holder") == 0)
        return ash_lockhold_main(argc - 1, argv + 1);
    Suite *s = suite_create("torture_halfway");
    TCase *tc = tcase_create("inject");
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, network_inject_fails_half_way);
    tcase_add_test(tc, memory_inject_fails_half_way);
    tcase_add_test(tc, table_lock_inject_fails_half_way);
    tcase_add_test(tc, host_crash_inject_fails_half_way);
    tcase_add_test(tc, dns_inject_fails_half_way);
    tcase_add_test(tc, process_inject_fails_half_way);
    tcase_add_test(tc, exec_inject_fails_half_way);
    tcase_add_test(tc, syscall_inject_fails_half_way);
    suite_add_tcase(s, tc);
    int nf = ash_test_failures(s, CK_FORK);
    return ash_test_exit(nf);
}
