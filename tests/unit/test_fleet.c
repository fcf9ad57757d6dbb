/* The fleet's agent and channel on this machine: the real `aftershock agent` as a
 * subprocess, the coordinator library in the test, TLS over 127.0.0.1 only. */
#include "fleet/channel.h"
#include "fleet/clock_map.h"
#include "fleet/coord.h"
#include "fleet/hosts_msg.h"
#include "fleet/probe_msg.h"
#include "fleet/psk.h"
#include "sys/clock.h"
#include "test_proc.h"
#include "test_util.h"
#include "test_run.h"

#include <check.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEASE_NS (1 * ASH_NS_PER_S)
#define PING_NS (100 * ASH_NS_PER_MS)

struct fx {
    char dir[64];   /* key files, agent's stderr */
    char state[96]; /* the agent's state directory */
    char key[128];
    ash_loop *loop;
    struct ash_coord *c;
    pid_t child; /* the process the faults stop */
    pid_t agent;
    char events[4096];    /* "node:event;" as they arrived */
    char last_event[512]; /* the last one's detail */
    char lost[1024];      /* why the coordinator lost the agent */
    /* Probe samples from the agent (on_sample). */
    int n_samples, n_ok;
    int n_late; /* samples that said how late their tick started on the agent */
    char last_detail[128];
    char last_probe[64];
    int64_t first_start, last_end; /* on the coordinator's clock */
    bool sample_out_of_order;      /* a sample whose mapped times were not where the clock says */
};

static void on_sample(struct ash_coord *c, const struct ash_fleet_probe_sample *s, void *data)
{
    (void)c;
    struct fx *f = data;
    /* Mapped onto this clock with a bound: a sample cannot end (to its bound) after it arrived. */
    if (s->start.bound < 0 || s->end.bound < 0 || s->end.t - s->end.bound > ash_now_ns() || s->end.t < s->start.t)
        f->sample_out_of_order = true;
    if (!f->n_samples)
        f->first_start = s->start.t;
    f->n_samples++;
    f->n_ok += s->ok;
    f->n_late += s->late >= 0 && s->late < ASH_NS_PER_S;
    f->last_end = s->end.t;
    snprintf(f->last_detail, sizeof f->last_detail, "%s", s->detail);
    snprintf(f->last_probe, sizeof f->last_probe, "%s:%s", s->node, s->probe);
}

static void on_agent(struct ash_coord *c, const char *node, bool up, const char *why, void *data)
{
    (void)c;
    struct fx *f = data;
    if (!up)
        snprintf(f->lost, sizeof f->lost, "%s: %s", node, why);
}

static void on_event(struct ash_coord *c, const struct ash_fleet_event *ev, void *data)
{
    (void)c;
    struct fx *f = data;
    size_t n = strlen(f->events);
    snprintf(f->events + n, sizeof f->events - n, "%s:%s;", ev->node, ev->event);
    snprintf(f->last_event, sizeof f->last_event, "%s", ev->detail);
    /* Every event is on the coordinator's clock with its bound once the clock is mapped. */
    ck_assert_int_ge(ev->when.bound, 0);
    ck_assert_int_le(ev->when.t - ev->when.bound, ash_now_ns());
}

static void setup(struct fx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ash-fleet-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    ck_assert_int_eq(mkdir(f->state, 0700), 0);
    snprintf(f->key, sizeof f->key, "%s/key", f->dir);
    struct ash_psk k;
    ash_error_t err = {0};
    ck_assert_msg(ash_psk_generate(&k, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_psk_write(f->key, &k, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_loop_new(&f->loop, &err) == 0, "%s", err.msg);
    struct ash_coord_opts o = {.listen = "127.0.0.1:0",
                               .key = &k,
                               .run_id = "fleettest",
                               .ping_every_ns = PING_NS,
                               .on_event = on_event,
                               .on_agent = on_agent,
                               .on_sample = on_sample,
                               .silence_ns = LEASE_NS,
                               .data = f};
    ck_assert_msg(ash_coord_new(f->loop, &o, &f->c, &err) == 0, "%s", err.msg);
    f->child = fork();
    ck_assert_int_ge(f->child, 0);
    if (f->child == 0) {
        for (;;)
            pause();
    }
}

/* The real binary, stderr into DIR/agent.err. */
static pid_t start_agent(struct fx *f, const char *key, int64_t lease_ns, bool guardian)
{
    char exe[4096], connect[64], lease[32], err_path[128], keyb[128], state[96];
    snprintf(keyb, sizeof keyb, "%s", key);
    snprintf(state, sizeof state, "%s", f->state);
    snprintf(exe, sizeof exe, "%s/aftershock", ash_test_build_dir());
    snprintf(connect, sizeof connect, "127.0.0.1:%d", ash_coord_port(f->c));
    snprintf(lease, sizeof lease, "%lldms", (long long)(lease_ns / ASH_NS_PER_MS));
    snprintf(err_path, sizeof err_path, "%s/agent.err", f->dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(127);
        char *argv[] = {exe,
                        "agent",
                        "--connect",
                        connect,
                        "--key-file",
                        keyb,
                        "--node",
                        "n1",
                        "--lease",
                        lease,
                        "--state-dir",
                        state,
                        guardian ? NULL : "--no-guardian",
                        NULL};
        execv(exe, argv);
        _exit(127);
    }
    f->agent = pid;
    return pid;
}

static void agent_stderr(struct fx *f, char *buf, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/agent.err", f->dir);
    buf[0] = '\0';
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    size_t n = fread(buf, 1, len - 1, in);
    buf[n] = '\0';
    fclose(in);
}

/* Turn the coordinator's loop for ms. */
static void pump(struct fx *f, int ms)
{
    bool never = false;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_run_until(f->loop, &never, ash_now_ns() + ms * ASH_NS_PER_MS, &err), 0);
}

/* Wait (turning the loop when `run`) until the child's state is / is not 'T'; the time it took. */
static int64_t wait_child(struct fx *f, bool stopped, bool run, int64_t timeout_ns)
{
    int64_t t0 = ash_now_ns();
    while ((ash_test_proc_state(f->child) == 'T') != stopped) {
        if (ash_now_ns() - t0 > timeout_ns)
            return -1;
        if (run)
            pump(f, 2);
        else
            usleep(2000);
    }
    return ash_now_ns() - t0;
}

/* Wait for the agent's exit without turning the loop; its status, or -1 on timeout. */
static int wait_agent_exit(struct fx *f, int64_t timeout_ns)
{
    int64_t t0 = ash_now_ns();
    int st;
    for (;;) {
        pid_t r = waitpid(f->agent, &st, WNOHANG);
        if (r == f->agent) {
            f->agent = 0;
            return st;
        }
        if (ash_now_ns() - t0 > timeout_ns)
            return -1;
        usleep(2000);
    }
}

static void connect_and_load(struct fx *f)
{
    ash_error_t err = {0};
    ck_assert_msg(ash_coord_wait_agent(f->c, "n1", 10 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_coord_wait_clock(f->c, "n1", 10 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "version: 1\nname: fleet\nprobes:\n  - name: p\n    tcp: '127.0.0.1:1'\n"
             "faults:\n  - name: pause\n    kind: process\n    target: process:pid=%d\n    action: stop\n"
             "  - name: note\n    kind: exec\n    inject: [true]\n    revert: [true]\n",
             (int)f->child);
    ck_assert_msg(ash_coord_send_scenario(f->c, "n1", "fleet.yaml", yaml, 10 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
}

/* The agent exits 1 on its own, saying `what` (and `also`, when not NULL) on stderr. */
static void expect_agent_left(struct fx *f, const char *what, const char *also)
{
    int st = wait_agent_exit(f, 5 * ASH_NS_PER_S);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "agent status %d", st);
    char msg[2048];
    agent_stderr(f, msg, sizeof msg);
    printf("agent said: %s", msg);
    ck_assert_msg(strstr(msg, what) && (!also || strstr(msg, also)), "%s", msg);
}

/* Stop the child through the agent. */
static void inject_pause(struct fx *f)
{
    ash_error_t err = {0};
    ck_assert_msg(ash_coord_inject(f->c, "n1", "pause", 10 * ASH_NS_PER_S, NULL, &err) == 0, "%s", err.msg);
    ck_assert_msg(wait_child(f, true, true, 2 * ASH_NS_PER_S) >= 0, "the child was not stopped");
}

static void teardown(struct fx *f)
{
    if (f->agent > 0) {
        kill(f->agent, SIGKILL);
        waitpid(f->agent, NULL, 0);
    }
    ash_coord_free(f->c);
    ash_loop_free(f->loop);
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int journals(const char *state)
{
    char **paths = NULL;
    size_t n = 0;
    ash_error_t err = {0};
    ck_assert_msg(ash_journal_list(state, &paths, &n, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return (int)n;
}

START_TEST(test_clock_map_known_answers)
{
    struct ash_clock_map m = {0};
    /* Agent clock 1000 ns ahead; RTTs 100..30 ns with the agent answering mid-way,
     * and one round trip of RTT 20 whose answer came late (t_agent at its end). */
    int64_t rtts[ASH_CLOCK_ROUND] = {100, 80, 60, 40, 30, 50, 70, 90};
    for (int i = 0; i < ASH_CLOCK_ROUND; i++) {
        int64_t send = 10000 * i, recv = send + rtts[i];
        bool done = ash_clock_map_add(&m, send, send + rtts[i] / 2 + 1000, recv);
        ck_assert(done == (i == ASH_CLOCK_ROUND - 1));
    }
    ck_assert(m.valid);
    ck_assert_int_eq(m.offset, 1000);
    ck_assert_int_eq(m.rtt, 30);
    ck_assert_int_eq(m.bound, 15);
    ck_assert_int_eq(ash_clock_map_to_local(&m, 51000), 50000);
    /* The next round: the answer stamped at the very end of a 20 ns round trip
     * is still within the bound of the truth (1000). */
    for (int i = 0; i < ASH_CLOCK_ROUND; i++) {
        int64_t send = 100000 + 10000 * i, rtt = i == 3 ? 20 : 500;
        ash_clock_map_add(&m, send, send + rtt + 1000, send + rtt);
    }
    ck_assert_int_eq(m.rounds, 2);
    ck_assert_int_eq(m.bound, 10);
    ck_assert_int_le(llabs(m.offset - 1000), m.bound);
    /* A round trip that went backwards is ignored. */
    ck_assert(!ash_clock_map_add(&m, 10, 5, 5));
    ck_assert_int_eq(m.n, 0);
}
END_TEST

START_TEST(test_hello_inject_revert_and_clock)
{
    struct fx f;
    setup(&f);
    start_agent(&f, f.key, 5 * ASH_NS_PER_S, true);
    connect_and_load(&f);
    const json_t *hello = ash_coord_hello(f.c, "n1");
    ck_assert_ptr_nonnull(hello);
    ck_assert_str_eq(json_string_value(json_object_get(hello, "node")), "n1");
    ck_assert_int_eq(json_integer_value(json_object_get(hello, "pid")), f.agent);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(hello, "version")));

    /* One machine, one CLOCK_MONOTONIC: the true offset is 0, so the mapping
     * must claim a bound that holds it. The bound is half the smallest RTT of
     * the round: on loopback that is a few tens of microseconds; 1 ms is the
     * claim of docs/fleet.md for loopback (the measured RTT is in the message). */
    struct ash_clock_map m;
    ck_assert(ash_coord_clock(f.c, "n1", &m));
    ck_assert(m.valid);
    printf("clock mapping on loopback: offset %lld ns, bound %lld ns (smallest RTT of %d: %lld ns)\n",
           (long long)m.offset, (long long)m.bound, ASH_CLOCK_ROUND, (long long)m.rtt);
    ck_assert_msg(llabs(m.offset) <= m.bound, "offset %lld ns, bound %lld ns (rtt %lld ns)", (long long)m.offset,
                  (long long)m.bound, (long long)m.rtt);
    ck_assert_msg(m.bound < ASH_NS_PER_MS, "bound %lld ns from an RTT of %lld ns", (long long)m.bound,
                  (long long)m.rtt);
    ck_assert_int_eq(m.bound, (m.rtt + 1) / 2);

    /* The inject's completion time, mapped, lies within its bound of the request's
     * round trip on the coordinator's clock. */
    ash_error_t err = {0};
    struct ash_fleet_time when;
    int64_t before = ash_now_ns();
    ck_assert_msg(ash_coord_inject(f.c, "n1", "pause", 10 * ASH_NS_PER_S, &when, &err) == 0, "%s", err.msg);
    int64_t after = ash_now_ns();
    ck_assert_int_ge(when.bound, 0);
    ck_assert_int_ge(when.t + when.bound, before);
    ck_assert_int_le(when.t - when.bound, after);
    ck_assert_msg(wait_child(&f, true, true, 2 * ASH_NS_PER_S) >= 0, "the child was not stopped");
    ck_assert_int_eq(journals(f.state), 1); /* the SIGCONT journalled on the agent's node */

    /* A second inject of the same fault, and an unknown one, are refused with the reason. */
    ck_assert_int_lt(ash_coord_inject(f.c, "n1", "pause", 10 * ASH_NS_PER_S, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "already in effect"), "%s", err.msg);
    ck_assert_int_lt(ash_coord_inject(f.c, "n1", "nope", 10 * ASH_NS_PER_S, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "no fault named 'nope'"), "%s", err.msg);

    ck_assert_msg(ash_coord_revert(f.c, "n1", "pause", 10 * ASH_NS_PER_S, NULL, &err) == 0, "%s", err.msg);
    ck_assert_msg(wait_child(&f, false, true, 2 * ASH_NS_PER_S) >= 0, "the child was not continued");
    /* A kind's timeline event on the node reaches the coordinator, on its clock
     * (on_event checks the bound): the exec fault cannot keep its output where
     * the agent's run directory should be (a file is in the way) and says so. */
    char blocker[160];
    snprintf(blocker, sizeof blocker, "%s/fleettest", f.state);
    FILE *b = fopen(blocker, "w");
    ck_assert_ptr_nonnull(b);
    fclose(b);
    ck_assert_msg(ash_coord_inject(f.c, "n1", "note", 10 * ASH_NS_PER_S, NULL, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_coord_revert(f.c, "n1", "note", 10 * ASH_NS_PER_S, NULL, &err) == 0, "%s", err.msg);
    ck_assert_msg(strstr(f.events, "n1:warning;"), "events: %s", f.events);
    ck_assert_int_eq(unlink(blocker), 0);

    ck_assert_msg(ash_coord_bye(f.c, "n1", &err) == 0, "%s", err.msg);
    pump(&f, 50);
    int st = wait_agent_exit(&f, 10 * ASH_NS_PER_S);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent status %d", st);
    ck_assert_int_eq(journals(f.state), 0); /* closed clean: nothing pending, removed */
    teardown(&f);
}
END_TEST

START_TEST(test_lease_lapses_when_coordinator_stops)
{
    struct fx f;
    setup(&f);
    start_agent(&f, f.key, LEASE_NS, false);
    connect_and_load(&f);
    inject_pause(&f);
    pump(&f, 3 * PING_NS / ASH_NS_PER_MS); /* a few keepalives: the lease holds past its own length */
    ck_assert_int_eq(ash_test_proc_state(f.child), 'T');
    /* The coordinator stops talking (its loop stands still; the socket stays open).
     * Its last ping left at most one ping interval ago, so the agent's lease ends
     * between LEASE - PING and LEASE from now; one more tick (PING) for the revert. */
    int64_t stop = ash_now_ns();
    while (ash_now_ns() < stop + LEASE_NS - 2 * PING_NS)
        usleep(2000);
    ck_assert_msg(ash_test_proc_state(f.child) == 'T', "reverted before the lease ended");
    int64_t took = wait_child(&f, false, false, 2 * ASH_NS_PER_S);
    ck_assert_int_ge(took, 0);
    took += LEASE_NS - 2 * PING_NS;
    ck_assert_msg(took <= LEASE_NS + PING_NS, "reverted %lld ms after the coordinator stopped (lease %lld ms)",
                  (long long)(took / ASH_NS_PER_MS), (long long)(LEASE_NS / ASH_NS_PER_MS));
    expect_agent_left(&f, "no word from the coordinator for 1s (the lease)", "(1 reverted)");
    ck_assert_int_eq(journals(f.state), 0);
    teardown(&f);
}
END_TEST

START_TEST(test_coordinator_gone_reverts)
{
    struct fx f;
    setup(&f);
    start_agent(&f, f.key, 30 * ASH_NS_PER_S, false); /* a long lease: the revert comes from the closed socket */
    connect_and_load(&f);
    inject_pause(&f);
    ash_coord_free(f.c); /* as the coordinator's process dying closes its sockets */
    f.c = NULL;
    ck_assert_msg(wait_child(&f, false, false, 5 * ASH_NS_PER_S) >= 0, "the agent did not revert");
    expect_agent_left(&f, "lost the coordinator", "(1 reverted)");
    ck_assert_int_eq(journals(f.state), 0);
    teardown(&f);
}
END_TEST

START_TEST(test_sigterm_reverts)
{
    struct fx f;
    setup(&f);
    start_agent(&f, f.key, 30 * ASH_NS_PER_S, false);
    connect_and_load(&f);
    inject_pause(&f);
    kill(f.agent, SIGTERM);
    ck_assert_msg(wait_child(&f, false, true, 5 * ASH_NS_PER_S) >= 0, "SIGTERM did not revert");
    expect_agent_left(&f, "stopped by Terminated", "(1 reverted)");
    /* The agent said goodbye: the coordinator knows why it left. */
    for (int i = 0; i < 100 && !f.lost[0]; i++)
        pump(&f, 10);
    ck_assert_msg(strstr(f.lost, "n1: stopped by Terminated"), "%s", f.lost);
    ck_assert_int_eq(journals(f.state), 0);
    teardown(&f);
}
END_TEST

/* An agent that stops answering (SIGSTOP: the connection stays open) is lost on the
 * coordinator's side after its silence bound, as a closed connection would be. */
START_TEST(test_silent_agent_lost)
{
    struct fx f;
    setup(&f);
    start_agent(&f, f.key, 30 * ASH_NS_PER_S, false);
    connect_and_load(&f);
    kill(f.agent, SIGSTOP);
    int64_t t0 = ash_now_ns();
    while (!f.lost[0] && ash_now_ns() - t0 < 5 * ASH_NS_PER_S)
        pump(&f, 10);
    ck_assert_msg(strstr(f.lost, "n1: no word from node n1 for 1."), "%s", f.lost);
    ck_assert_int_ge(ash_now_ns() - t0, LEASE_NS - PING_NS);
    ck_assert_ptr_null(ash_coord_hello(f.c, "n1"));
    ash_error_t err = {0};
    ck_assert_int_lt(ash_coord_inject(f.c, "n1", "pause", ASH_NS_PER_S, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "no agent for node n1"), "%s", err.msg);
    kill(f.agent, SIGCONT);
    expect_agent_left(&f, "lost the coordinator", NULL); /* the coordinator closed its connection */
    teardown(&f);
}
END_TEST

struct answer {
    bool done;
    int ok;
    char msg[ASH_ERROR_MSG_MAX];
};

static void answered(struct ash_coord *c, const char *node, int ok, const ash_error_t *err,
                     const struct ash_fleet_time *when, void *data)
{
    (void)c;
    (void)node;
    (void)when;
    struct answer *a = data;
    a->done = true;
    a->ok = ok;
    snprintf(a->msg, sizeof a->msg, "%s", err ? err->msg : "");
}

/* Bad input from the coordinator is refused with the reason and changes nothing:
 * a scenario that does not parse, a run id that is not a file name, a fault aimed
 * at a local run's service; the agent then takes a good scenario as if fresh. */
START_TEST(test_bad_input_refused)
{
    struct fx f;
    setup(&f);
    start_agent(&f, f.key, 30 * ASH_NS_PER_S, false);
    ash_error_t err = {0};
    ck_assert_msg(ash_coord_wait_agent(f.c, "n1", 10 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
    ck_assert_int_lt(ash_coord_send_scenario(f.c, "n1", "bad.yaml", "version: 1\nname: [x\n", ASH_NS_PER_S, &err), 0);
    ck_assert_msg(strstr(err.msg, "node n1 cannot use the scenario: bad.yaml:3:1:"), "%s", err.msg);

    struct answer a = {0};
    json_t *m = json_pack("{s:s, s:s, s:s}", "run", "../../etc/x", "name", "s.yaml", "text", "version: 1\n");
    ck_assert_int_eq(ash_coord_request_async(f.c, "n1", "scenario", m, answered, &a, &err), 0);
    ck_assert_int_eq(ash_loop_run_until(f.loop, &a.done, ash_now_ns() + 5 * ASH_NS_PER_S, &err), 0);
    ck_assert(a.done && !a.ok);
    ck_assert_msg(strstr(a.msg, "run id '../../etc/x' is not 1-63 letters"), "%s", a.msg);

    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "version: 1\nname: fleet\nservices:\n  - name: api\n    command: [sleep, '1']\n"
             "probes:\n  - name: p\n    tcp: '127.0.0.1:1'\n"
             "faults:\n  - name: svc\n    kind: process\n    target: service:api\n    action: stop\n"
             "  - name: pause\n    kind: process\n    target: process:pid=%d\n    action: stop\n",
             (int)f.child);
    ck_assert_msg(ash_coord_send_scenario(f.c, "n1", "fleet.yaml", yaml, 5 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
    ck_assert_int_lt(ash_coord_inject(f.c, "n1", "svc", 5 * ASH_NS_PER_S, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "target 'service:api' is a service of a local run"), "%s", err.msg);
    ck_assert_int_lt(ash_coord_revert(f.c, "n1", "pause", 5 * ASH_NS_PER_S, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "fault 'pause' is not in effect on node n1"), "%s", err.msg);
    ck_assert_int_lt(ash_coord_send_scenario(f.c, "n1", "fleet.yaml", yaml, 5 * ASH_NS_PER_S, &err), 0);
    ck_assert_msg(strstr(err.msg, "already has this run's scenario"), "%s", err.msg);
    ck_assert_int_ne(ash_test_proc_state(f.child), 'T');
    inject_pause(&f); /* the good fault still works */
    ck_assert_int_eq(ash_coord_bye(f.c, "n1", &err), 0);
    pump(&f, 50);
    int st = wait_agent_exit(&f, 5 * ASH_NS_PER_S);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent status %d", st);
    ck_assert_msg(wait_child(&f, false, false, 2 * ASH_NS_PER_S) >= 0, "bye did not revert");
    ck_assert_int_eq(journals(f.state), 0);
    teardown(&f);
}
END_TEST

/* The probe messages both ends use: what one builds the other reads back; every
 * malformed one is refused with a reason. */
START_TEST(test_probe_msg_encode_decode)
{
    ash_error_t err = {0};
    struct ash_probe_start ps = {.probe = "web", .from = "container:api", .every_ns = 50 * ASH_NS_PER_MS}, back;
    json_t *m = ash_probe_msg_start(&ps);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(ash_probe_msg_start_parse(m, &back, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(back.probe, "web");
    ck_assert_str_eq(back.from, "container:api");
    ck_assert_int_eq(back.every_ns, 50 * ASH_NS_PER_MS);
    json_decref(m);
    ps.from = "process:pidfile=/run/api.pid"; /* a process on the node: its network namespace */
    m = ash_probe_msg_start(&ps);
    ck_assert_msg(ash_probe_msg_start_parse(m, &back, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(back.from, "process:pidfile=/run/api.pid");
    json_decref(m);
    ps.from = NULL; /* the node itself: "from" is null */
    m = ash_probe_msg_start(&ps);
    ck_assert(json_is_null(json_object_get(m, "from")));
    ck_assert_msg(ash_probe_msg_start_parse(m, &back, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(back.from);
    json_decref(m);

    static const struct {
        const char *json, *want;
    } bad_start[] = {
        {"{\"every_ns\": 100000000}", "without the probe's name"},
        {"{\"probe\": \"\", \"every_ns\": 100000000}", "without the probe's name"},
        {"{\"probe\": \"p\"}", "'every_ns' is not an integer"},
        {"{\"probe\": \"p\", \"every_ns\": \"100ms\"}", "'every_ns' is not an integer"},
        {"{\"probe\": \"p\", \"every_ns\": 0}", "outside 1ms..1h"},
        {"{\"probe\": \"p\", \"every_ns\": -5}", "outside 1ms..1h"},
        {"{\"probe\": \"p\", \"every_ns\": 7200000000000}", "outside 1ms..1h"},
        {"{\"probe\": \"p\", \"every_ns\": 100000000, \"from\": \"host:\"}",
         "container:NAME, process:SELECTOR, host:NAME or absent"},
        {"{\"probe\": \"p\", \"every_ns\": 100000000, \"from\": \"vm:a\"}",
         "container:NAME, process:SELECTOR, host:NAME or absent"},
        {"{\"probe\": \"p\", \"every_ns\": 100000000, \"from\": \"container:\"}",
         "container:NAME, process:SELECTOR, host:NAME or absent"},
        {"{\"probe\": \"p\", \"every_ns\": 100000000, \"from\": \"process:\"}",
         "container:NAME, process:SELECTOR, host:NAME or absent"},
        {"{\"probe\": \"p\", \"every_ns\": 100000000, \"from\": 3}",
         "container:NAME, process:SELECTOR, host:NAME or absent"},
    };
    for (size_t i = 0; i < sizeof bad_start / sizeof *bad_start; i++) {
        json_t *j = json_loads(bad_start[i].json, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_int_lt(ash_probe_msg_start_parse(j, &back, &err), 0);
        ck_assert_msg(strstr(err.msg, bad_start[i].want), "%s: %s", bad_start[i].json, err.msg);
        json_decref(j);
    }
    /* A host its agent built (fleet.hosts) is an origin too. */
    json_t *hj = json_loads("{\"probe\": \"p\", \"every_ns\": 100000000, \"from\": \"host:office\"}", 0, NULL);
    ck_assert_int_eq(ash_probe_msg_start_parse(hj, &back, &err), 0);
    ck_assert_str_eq(back.from, "host:office");
    json_decref(hj);

    /* A sample: the agent's times as they were; a long detail cut whole, never
     * inside a UTF-8 sequence (a JSON string must stay valid UTF-8). */
    char longd[300];
    memset(longd, 'x', sizeof longd);
    memcpy(longd + ASH_PROBE_MSG_DETAIL - 3, "\xc3\xa9", 2); /* é across the cut at 119 bytes */
    longd[sizeof longd - 1] = '\0';
    struct ash_fleet_sample fs = {.probe = "web",
                                  .start = 1000,
                                  .end = 5000,
                                  .ok = false,
                                  .detail = longd,
                                  .late = 2500},
                            sb;
    m = ash_probe_msg_sample(&fs);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sample");
    char *text = json_dumps(m, 0);
    json_t *again = json_loads(text, 0, NULL); /* what the other end reads */
    free(text);
    ck_assert_ptr_nonnull(again);
    ck_assert_msg(ash_probe_msg_sample_parse(again, &sb, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(sb.probe, "web");
    ck_assert_int_eq(sb.start, 1000);
    ck_assert_int_eq(sb.end, 5000);
    ck_assert(!sb.ok);
    ck_assert_uint_eq(strlen(sb.detail), ASH_PROBE_MSG_DETAIL - 3); /* the 'é' dropped whole */
    ck_assert_int_eq(sb.late, 2500);                                /* how late its tick started */
    json_decref(again);
    json_decref(m);
    fs.late = -1; /* not known: not said, and read back as not known */
    m = ash_probe_msg_sample(&fs);
    ck_assert_ptr_null(json_object_get(m, "late"));
    ck_assert_msg(ash_probe_msg_sample_parse(m, &sb, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(sb.late, -1);
    json_decref(m);

    static const struct {
        const char *json, *want;
    } bad_sample[] = {
        {"{\"start\": 1, \"end\": 2, \"ok\": true}", "without the probe's name"},
        {"{\"probe\": 4, \"start\": 1, \"end\": 2, \"ok\": true}", "without the probe's name"},
        {"{\"probe\": \"p\", \"end\": 2, \"ok\": true}", "without integer start and end"},
        {"{\"probe\": \"p\", \"start\": 1.5, \"end\": 2, \"ok\": true}", "without integer start and end"},
        {"{\"probe\": \"p\", \"start\": 1, \"end\": \"2\", \"ok\": true}", "without integer start and end"},
        {"{\"probe\": \"p\", \"start\": 5, \"end\": 2, \"ok\": true}", "ends (2) before it starts (5)"},
        {"{\"probe\": \"p\", \"start\": 0, \"end\": 2, \"ok\": true}", "or at 0"},
        {"{\"probe\": \"p\", \"start\": 1, \"end\": 2}", "'ok' is not true or false"},
        {"{\"probe\": \"p\", \"start\": 1, \"end\": 2, \"ok\": 1}", "'ok' is not true or false"},
        {"{\"probe\": \"p\", \"start\": 1, \"end\": 2, \"ok\": true, \"detail\": 7}", "'detail' is not a string"},
        {"{\"probe\": \"p\", \"start\": 1, \"end\": 2, \"ok\": true, \"late\": -3}", "'late' is not a count of ns"},
        {"{\"probe\": \"p\", \"start\": 1, \"end\": 2, \"ok\": true, \"late\": \"1ms\"}", "'late' is not a count"},
    };
    for (size_t i = 0; i < sizeof bad_sample / sizeof *bad_sample; i++) {
        json_t *j = json_loads(bad_sample[i].json, 0, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_int_lt(ash_probe_msg_sample_parse(j, &sb, &err), 0);
        ck_assert_msg(strstr(err.msg, bad_sample[i].want), "%s: %s", bad_sample[i].json, err.msg);
        json_decref(j);
    }
    m = ash_probe_msg_stop("web");
    ck_assert_str_eq(json_string_value(json_object_get(m, "probe")), "web");
    json_decref(m);
}
END_TEST

/* A TCP listener on 127.0.0.1 (what the probe checks); its port in *port. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void request(struct fx *f, const char *type, json_t *fields, struct answer *a)
{
    ash_error_t err = {0};
    *a = (struct answer){0};
    ck_assert_int_eq(ash_coord_request_async(f->c, "n1", type, fields, answered, a, &err), 0);
    ck_assert_int_eq(ash_loop_run_until(f->loop, &a->done, ash_now_ns() + 5 * ASH_NS_PER_S, &err), 0);
    ck_assert(a->done);
}

/* A probe `from: n1` sampled by the agent with the same probe code as a local run:
 * its samples come back with its times mapped onto this clock, healthy while the
 * port listens and failing once it does not; probe-stop and bye stop them. Bad
 * requests (unknown probe, another node's, a from that is not the scenario's, twice)
 * are refused with the reason. */
START_TEST(test_probe_on_agent)
{
    struct fx f;
    setup(&f);
    int port, lfd = listener(&port);
    start_agent(&f, f.key, 30 * ASH_NS_PER_S, false);
    ash_error_t err = {0};
    ck_assert_msg(ash_coord_wait_agent(f.c, "n1", 10 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_coord_wait_clock(f.c, "n1", 10 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "version: 1\nname: fleet\nfleet:\n  listen: 127.0.0.1:1\n  nodes: [n1, n2]\n"
             "probes:\n  - name: here\n    tcp: '127.0.0.1:%d'\n"
             "  - name: there\n    from: n1\n    every: 20ms\n    tcp: '127.0.0.1:%d'\n"
             "  - name: other\n    from: n2\n    tcp: '127.0.0.1:%d'\n"
             "  - name: inbox\n    from: n1/nosuchbox\n    tcp: '127.0.0.1:%d'\n",
             port, port, port, port);
    /* A container that is not on the node: refused with the scenario, before any harm. */
    ck_assert_int_lt(ash_coord_send_scenario(f.c, "n1", "fleet.yaml", yaml, 5 * ASH_NS_PER_S, &err), 0);
    ck_assert_msg(strstr(err.msg, "probe 'inbox': from: n1/nosuchbox:"), "%s", err.msg);
    *strstr(yaml, "  - name: inbox") = '\0';
    ck_assert_msg(ash_coord_send_scenario(f.c, "n1", "fleet.yaml", yaml, 5 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);

    struct answer a;
    struct ash_probe_start ps = {.probe = "nope", .every_ns = 20 * ASH_NS_PER_MS};
    request(&f, "probe", ash_probe_msg_start(&ps), &a);
    ck_assert_msg(!a.ok && strstr(a.msg, "no probe named 'nope'"), "%s", a.msg);
    ps.probe = "here"; /* the coordinator's own */
    request(&f, "probe", ash_probe_msg_start(&ps), &a);
    ck_assert_msg(!a.ok && strstr(a.msg, "probe 'here' is not one of node n1's"), "%s", a.msg);
    ps.probe = "other"; /* another node's */
    request(&f, "probe", ash_probe_msg_start(&ps), &a);
    ck_assert_msg(!a.ok && strstr(a.msg, "probe 'other' is not one of node n1's (from: n2)"), "%s", a.msg);
    ps.probe = "there";
    ps.from = "container:elsewhere"; /* not what the scenario says */
    request(&f, "probe", ash_probe_msg_start(&ps), &a);
    ck_assert_msg(!a.ok && strstr(a.msg, "the coordinator's from (container:elsewhere) is not the scenario's"), "%s",
                  a.msg);
    request(&f, "probe", json_pack("{s:s, s:I}", "probe", "there", "every_ns", (json_int_t)0), &a);
    ck_assert_msg(!a.ok && strstr(a.msg, "outside 1ms..1h"), "%s", a.msg);
    ck_assert_int_eq(f.n_samples, 0);

    ps.from = NULL;
    int64_t before = ash_now_ns();
    request(&f, "probe", ash_probe_msg_start(&ps), &a);
    ck_assert_msg(a.ok, "%s", a.msg);
    request(&f, "probe", ash_probe_msg_start(&ps), &a);
    ck_assert_msg(!a.ok && strstr(a.msg, "already samples on node n1"), "%s", a.msg);
    pump(&f, 300);
    printf("probe from n1: %d samples (%d ok) in 300 ms\n", f.n_samples, f.n_ok);
    ck_assert_int_ge(f.n_samples, 5);
    ck_assert_int_eq(f.n_ok, f.n_samples);
    ck_assert_int_eq(f.n_late, f.n_samples); /* each says how late its tick started there */
    ck_assert_str_eq(f.last_probe, "n1:there");
    ck_assert(!f.sample_out_of_order);
    struct ash_clock_map m;
    ck_assert(ash_coord_clock(f.c, "n1", &m));
    ck_assert_int_ge(f.first_start + m.bound, before); /* it started when asked, to the bound */

    close(lfd);   /* the port refuses now: the samples say so */
    pump(&f, 60); /* a sample that had connected already may still come back healthy */
    int ok_before = f.n_ok, n_before = f.n_samples;
    pump(&f, 200);
    ck_assert_int_gt(f.n_samples, n_before);
    ck_assert_int_eq(f.n_ok, ok_before);
    ck_assert_msg(strstr(f.last_detail, "refused"), "%s", f.last_detail);

    ck_assert_int_eq(ash_coord_send(f.c, "n1", "probe-stop", ash_probe_msg_stop("there"), &err), 0);
    pump(&f, 60); /* the stop arrives; a sample already on its way may still come */
    n_before = f.n_samples;
    pump(&f, 200);
    ck_assert_int_eq(f.n_samples, n_before);

    /* Started again, then bye: the agent stops it and leaves cleanly. */
    request(&f, "probe", ash_probe_msg_start(&ps), &a);
    ck_assert_msg(a.ok, "%s", a.msg);
    pump(&f, 100);
    ck_assert_int_gt(f.n_samples, n_before);
    ck_assert_int_eq(ash_coord_bye(f.c, "n1", &err), 0);
    pump(&f, 50);
    int st = wait_agent_exit(&f, 5 * ASH_NS_PER_S);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent status %d", st);
    teardown(&f);
}
END_TEST

/* A fake agent (the channel alone, holding the key) that says hello and then sends
 * samples: a malformed one is dropped with a warning naming why, a good one
 * reaches on_sample. */
struct fake {
    struct ash_channel *ch;
    bool open;
};

static void fake_open(struct ash_channel *ch, void *data)
{
    (void)ch;
    ((struct fake *)data)->open = true;
}

static void fake_message(struct ash_channel *ch, json_t *msg, void *data)
{
    (void)data;
    /* Answer timed pings, so the coordinator maps this clock. */
    json_int_t id = json_integer_value(json_object_get(msg, "id"));
    const char *type = json_string_value(json_object_get(msg, "type"));
    ash_error_t err = {0};
    if (type && strcmp(type, "ping") == 0 && id) {
        json_t *pong = json_pack("{s:s, s:I, s:I}", "type", "pong", "id", id, "t", (json_int_t)ash_now_ns());
        ash_channel_send(ch, pong, &err);
        json_decref(pong);
    }
}

static void fake_closed(struct ash_channel *ch, const ash_error_t *why, void *data)
{
    (void)ch;
    (void)why;
    ((struct fake *)data)->open = false;
}

static void fake_send(struct fake *k, const char *json)
{
    ash_error_t err = {0};
    json_t *m = json_loads(json, 0, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(ash_channel_send(k->ch, m, &err) == 0, "%s", err.msg);
    json_decref(m);
}

START_TEST(test_bad_sample_warned)
{
    struct fx f;
    setup(&f);
    struct ash_psk k;
    ash_error_t err = {0};
    ck_assert_msg(ash_psk_read(f.key, &k, &err) == 0, "%s", err.msg);
    static const struct ash_channel_cbs cbs = {.open = fake_open, .message = fake_message, .closed = fake_closed};
    struct fake fk = {0};
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ash_coord_port(f.c));
    ck_assert_msg(ash_channel_connect(f.loop, addr, &k, 0, &cbs, &fk, &fk.ch, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_loop_run_until(f.loop, &fk.open, ash_now_ns() + 5 * ASH_NS_PER_S, &err), 0);
    ck_assert(fk.open);
    fake_send(&fk, "{\"type\": \"hello\", \"node\": \"fake\", \"proto\": 1, \"pid\": 1, \"t\": 1}");
    ck_assert_msg(ash_coord_wait_clock(f.c, "fake", 5 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);

    fake_send(&fk, "{\"type\": \"sample\", \"probe\": \"p\", \"start\": 9, \"end\": 3, \"ok\": true}");
    fake_send(&fk, "{\"type\": \"sample\", \"probe\": \"p\", \"start\": 5, \"end\": 6, \"ok\": \"yes\"}");
    pump(&f, 100);
    ck_assert_msg(strstr(f.events, "fake:warning;fake:warning;"), "events: %s", f.events);
    ck_assert_msg(strstr(f.last_event, "a malformed sample message, dropped: probe 'p': a sample whose 'ok' is not"),
                  "%s", f.last_event);
    ck_assert_int_eq(f.n_samples, 0);
    ck_assert_ptr_nonnull(ash_coord_hello(f.c, "fake")); /* dropped, the agent kept */

    char good[256];
    int64_t t = ash_now_ns();
    snprintf(good, sizeof good,
             "{\"type\": \"sample\", \"probe\": \"p\", \"start\": %lld, \"end\": %lld, \"ok\": false, "
             "\"detail\": \"refused\"}",
             (long long)(t - 1000), (long long)t);
    fake_send(&fk, good);
    pump(&f, 100);
    ck_assert_int_eq(f.n_samples, 1);
    ck_assert_int_eq(f.n_ok, 0);
    ck_assert_str_eq(f.last_probe, "fake:p");
    ck_assert_str_eq(f.last_detail, "refused");
    ck_assert(!f.sample_out_of_order);
    ash_channel_close(fk.ch);
    ash_channel_free(fk.ch);
    teardown(&f);
}
END_TEST

START_TEST(test_wrong_key_refused)
{
    struct fx f;
    setup(&f);
    char other[128];
    snprintf(other, sizeof other, "%s/other.key", f.dir);
    struct ash_psk k;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_psk_generate(&k, &err), 0);
    ck_assert_int_eq(ash_psk_write(other, &k, &err), 0);
    start_agent(&f, other, LEASE_NS, false);
    ck_assert_int_lt(ash_coord_wait_agent(f.c, "n1", 3 * ASH_NS_PER_S, &err), 0);
    ck_assert_msg(strstr(err.msg, "TLS handshake refused"), "%s", err.msg);
    printf("coordinator said: %s\n", err.msg);
    ck_assert_msg(strstr(ash_coord_last_refusal(f.c), "TLS handshake refused"), "%s", ash_coord_last_refusal(f.c));
    expect_agent_left(&f, "cannot reach the coordinator: 127.0.0.1:", "TLS handshake refused");
    ck_assert_int_ne(ash_test_proc_state(f.child), 'T');
    ck_assert_int_eq(journals(f.state), 0);
    teardown(&f);
}
END_TEST

/* A lease the coordinator's pings cannot keep is refused at hello, with the reason. */
START_TEST(test_short_lease_refused)
{
    struct fx f;
    setup(&f);
    start_agent(&f, f.key, PING_NS + PING_NS / 2, false);
    ash_error_t err = {0};
    ck_assert_int_lt(ash_coord_wait_agent(f.c, "n1", 2 * ASH_NS_PER_S, &err), 0);
    ck_assert_msg(strstr(err.msg, "lease (0.15s) is under twice this coordinator's ping interval"), "%s", err.msg);
    pump(&f, 100); /* the refusal is sent from the loop */
    expect_agent_left(&f, "the coordinator refused this agent: node n1's lease (0.15s)", NULL);
    teardown(&f);
}
END_TEST

START_TEST(test_bad_key_file)
{
    struct fx f;
    setup(&f);
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad.key", f.dir);
    FILE *out = fopen(bad, "w");
    ck_assert_ptr_nonnull(out);
    fputs("not a key\n", out);
    fclose(out);
    start_agent(&f, bad, LEASE_NS, false);
    int st = wait_agent_exit(&f, 5 * ASH_NS_PER_S);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "agent status %d", st);
    char msg[2048];
    agent_stderr(&f, msg, sizeof msg);
    printf("agent said: %s", msg);
    ck_assert_msg(strstr(msg, "is not a fleet key: expected 64 hex digits"), "%s", msg);
    teardown(&f);
}
END_TEST

static void kill_mid_fault(bool guardian)
{
    struct fx f;
    setup(&f);
    start_agent(&f, f.key, 30 * ASH_NS_PER_S, guardian);
    connect_and_load(&f);
    inject_pause(&f);
    kill(f.agent, SIGKILL);
    waitpid(f.agent, NULL, 0);
    f.agent = 0;
    if (guardian) {
        /* The guardian replays the journal on the node. */
        ck_assert_msg(wait_child(&f, false, false, 5 * ASH_NS_PER_S) >= 0, "the guardian did not revert");
    } else {
        usleep(200000);
        ck_assert_int_eq(ash_test_proc_state(f.child), 'T'); /* nobody reverted: the journal holds it */
        ck_assert_int_eq(journals(f.state), 1);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "'%s/aftershock' recover --state-dir '%s' >/dev/null 2>&1", ash_test_build_dir(),
                 f.state);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_msg(wait_child(&f, false, false, 2 * ASH_NS_PER_S) >= 0, "recover did not continue the child");
    }
    for (int i = 0; i < 500 && journals(f.state) > 0; i++)
        usleep(10000);
    ck_assert_int_eq(journals(f.state), 0);
    teardown(&f);
}

START_TEST(test_sigkill_agent_recover)
{
    kill_mid_fault(false);
}
END_TEST

START_TEST(test_sigkill_agent_guardian)
{
    kill_mid_fault(true);
}
END_TEST

/* The hosts message (fleet.hosts): what the coordinator sends is what the agent reads;
 * anything else is refused with the field it lacks; each node's sandbox id its own. */
START_TEST(test_hosts_msg)
{
    struct ash_hosts_msg m = {.vni = 4242, .n_peers = 2}, back;
    ash_error_t err = {0};
    inet_pton(AF_INET, "10.130.7.0", &m.subnet);
    inet_pton(AF_INET, "192.0.2.1", &m.peers[0]);
    inet_pton(AF_INET, "192.0.2.2", &m.peers[1]);
    json_t *j = ash_hosts_msg(&m);
    ck_assert_int_eq(ash_hosts_msg_parse(j, &back, &err), 0);
    ck_assert(back.subnet == m.subnet && back.vni == 4242 && back.n_peers == 2 && back.peers[1] == m.peers[1]);
    json_decref(j);
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"subnet\": \"10.130.7.5\", \"vni\": 1, \"peers\": []}", "without its /24"},
        {"{\"vni\": 1, \"peers\": []}", "without its /24"},
        {"{\"subnet\": \"10.130.7.0\", \"vni\": 0, \"peers\": []}", "'vni' is 1 to 16777215"},
        {"{\"subnet\": \"10.130.7.0\", \"vni\": 16777216, \"peers\": []}", "'vni' is 1 to 16777215"},
        {"{\"subnet\": \"10.130.7.0\", \"vni\": 1, \"peers\": \"192.0.2.1\"}", "'peers' is a list"},
        {"{\"subnet\": \"10.130.7.0\", \"vni\": 1, \"peers\": [\"::1\"]}", "peer 0 is not an IPv4 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *b = json_loads(bad[i].json, 0, NULL);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_lt(ash_hosts_msg_parse(b, &back, &err), 0);
        ck_assert_msg(strstr(err.msg, bad[i].want), "%s: %s", bad[i].json, err.msg);
        json_decref(b);
    }
    char a[16], a2[16], b2[16];
    ash_hosts_sandbox_id("94aad4", "a", a, sizeof a);
    ash_hosts_sandbox_id("94aad4", "a", a2, sizeof a2);
    ash_hosts_sandbox_id("94aad4", "b", b2, sizeof b2);
    ck_assert_str_eq(a, a2);
    ck_assert_str_ne(a, b2);
    ck_assert_uint_eq(strlen(a), 11); /* a sandbox run id: 1-11 letters or digits */
    ck_assert_uint_eq(strspn(a, "n0123456789abcdef"), 11);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fleet");
    TCase *tc = tcase_create("agent");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_clock_map_known_answers);
    tcase_add_test(tc, test_hello_inject_revert_and_clock);
    tcase_add_test(tc, test_lease_lapses_when_coordinator_stops);
    tcase_add_test(tc, test_coordinator_gone_reverts);
    tcase_add_test(tc, test_sigterm_reverts);
    tcase_add_test(tc, test_silent_agent_lost);
    tcase_add_test(tc, test_bad_input_refused);
    tcase_add_test(tc, test_wrong_key_refused);
    tcase_add_test(tc, test_probe_msg_encode_decode);
    tcase_add_test(tc, test_hosts_msg);
    tcase_add_test(tc, test_probe_on_agent);
    tcase_add_test(tc, test_bad_sample_warned);
    tcase_add_test(tc, test_short_lease_refused);
    tcase_add_test(tc, test_bad_key_file);
    tcase_add_test(tc, test_sigkill_agent_recover);
    tcase_add_test(tc, test_sigkill_agent_guardian);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return ash_test_exit(failed);
}
