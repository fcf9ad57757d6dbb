/* Probes on fleet nodes as the run sees them (engine/fleet_run.c), against a fake agent
 * on 127.0.0.1: the channel alone, holding the run's key, that says hello, answers
 * pings, takes the scenario and the probe, and sends the samples this test tells it to. */
#include "engine/fleet_run.h"
#include "engine/measure.h"
#include "fleet/channel.h"
#include "fleet/hello_targets.h"
#include "fleet/probe_msg.h"
#include "fleet/psk.h"
#include "kinds.h"
#include "sys/clock.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake {
    struct ash_channel *ch;
    const char *node;
    bool open;
    json_t *probe; /* the last `probe` request it took */
    char addr[64];
    struct ash_psk key;
    ash_loop *loop;
    json_t *targets; /* what its hello lists (NULL: nothing) */
    bool got_scenario;
};

struct fx {
    char dir[64];
    char key[128], yaml[128];
    ash_loop *loop;
    struct ash_scenario *sc;
    struct ash_fleet_run *fr;
    struct fake fk;
    char events[8192]; /* "event: detail\n" as they came */
    int n_samples;
};

static void send_json(struct ash_channel *ch, json_t *m)
{
    ash_error_t err = {0};
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(ash_channel_send(ch, m, &err) == 0, "%s", err.msg);
    json_decref(m);
}

static void fake_open(struct ash_channel *ch, void *data)
{
    struct fake *k = data;
    k->open = true;
    json_t *hello = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I}", "type", "hello", "node", k->node, "version", "test",
                              "proto", 1, "pid", 1, "t", (json_int_t)ash_now_ns());
    if (k->targets)
        json_object_set(hello, "targets", k->targets);
    send_json(ch, hello);
}

/* Pings answered (the clock is this machine's: offset 0), requests taken. */
static void fake_message(struct ash_channel *ch, json_t *msg, void *data)
{
    struct fake *k = data;
    json_t *id = json_object_get(msg, "id");
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type)
        return;
    if (strcmp(type, "ping") == 0 && json_integer_value(id))
        send_json(ch, json_pack("{s:s, s:O, s:I}", "type", "pong", "id", id, "t", (json_int_t)ash_now_ns()));
    if (strcmp(type, "bye") == 0)
        ash_channel_close(ch); /* as an agent leaves after reverting */
    if (strcmp(type, "probe") == 0) {
        json_decref(k->probe);
        k->probe = json_incref(msg);
    }
    k->got_scenario |= strcmp(type, "scenario") == 0;
    if (strcmp(type, "scenario") == 0 || strcmp(type, "probe") == 0)
        send_json(ch, json_pack("{s:s, s:O, s:b, s:s, s:I}", "type", "result", "id", id, "ok", 1, "error", "", "t",
                                (json_int_t)ash_now_ns()));
}

static void fake_closed(struct ash_channel *ch, const ash_error_t *why, void *data)
{
    (void)ch;
    (void)why;
    ((struct fake *)data)->open = false;
}

static const struct ash_channel_cbs fake_cbs = {.open = fake_open, .message = fake_message, .closed = fake_closed};

static int64_t fake_connect(ash_loop *loop, int64_t now, void *data)
{
    (void)now;
    struct fake *k = data;
    ash_error_t err = {0};
    ck_assert_msg(ash_channel_connect(loop, k->addr, &k->key, 0, &fake_cbs, k, &k->ch, &err) == 0, "%s", err.msg);
    return ASH_TIMER_DONE;
}

static void on_event(void *arg, int64_t t, const char *ev, const char *detail)
{
    (void)t;
    struct fx *f = arg;
    size_t n = strlen(f->events);
    snprintf(f->events + n, sizeof f->events - n, "%s: %s\n", ev, detail);
}

static void on_lost(void *arg, const char *why)
{
    (void)arg;
    ck_abort_msg("the agent was lost: %s", why);
}

static void on_sample(void *arg, const struct ash_sample *s)
{
    (void)s;
    ((struct fx *)arg)->n_samples++;
}

static void pump(struct fx *f, int ms)
{
    bool never = false;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_run_until(f->loop, &never, ash_now_ns() + ms * ASH_NS_PER_MS, &err), 0);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* A run with fleet node `n1` and probe `p` from it (every 20 ms, timeout 20 ms,
 * lease 1 s: stale after 1 s) and `more` (probes and faults), its agent listing
 * `targets` (stolen; NULL: none). 0 with the run started and probe p sampling on the
 * fake agent, or -1 with err saying why the run did not start. */
static int start_with(struct fx *f, const char *more, json_t *targets, ash_error_t *err)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ash-fleetp-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->key, sizeof f->key, "%s/key", f->dir);
    snprintf(f->yaml, sizeof f->yaml, "%s/s.yaml", f->dir);
    struct ash_psk key;
    ck_assert_msg(ash_psk_generate(&key, err) == 0 && ash_psk_write(f->key, &key, err) == 0, "%s", err->msg);
    int port = free_port();
    FILE *y = fopen(f->yaml, "w");
    ck_assert_ptr_nonnull(y);
    fprintf(y,
            "version: 1\nname: stale\nfleet:\n  listen: 127.0.0.1:%d\n  nodes: [n1]\n  key_file: %s\n"
            "  lease: 1s\nprobes:\n  - name: p\n    from: n1\n    every: 20ms\n    timeout: 20ms\n"
            "    tcp: '127.0.0.1:1'\n%s",
            port, f->key, more);
    fclose(y);
    ck_assert_msg(ash_scenario_load(f->yaml, &f->sc, err) == 0, "%s", err->msg);
    ck_assert_msg(ash_loop_new(&f->loop, err) == 0, "%s", err->msg);
    snprintf(f->fk.addr, sizeof f->fk.addr, "127.0.0.1:%d", port);
    f->fk.node = "n1";
    f->fk.key = key;
    f->fk.loop = f->loop;
    f->fk.targets = targets;
    /* Connects once the run listens (it waits for its agents turning this loop). */
    ck_assert_ptr_nonnull(ash_loop_add_timer(f->loop, ash_now_ns() + 50 * ASH_NS_PER_MS, fake_connect, &f->fk));
    struct ash_fleet_run_opts o = {
        .loop = f->loop, .sc = f->sc, .run_dir = f->dir, .run_id = "t1", .event = on_event, .lost = on_lost, .arg = f};
    if (ash_fleet_run_start(&o, &f->fr, err) < 0)
        return -1;
    ck_assert_msg(ash_fleet_run_probe_start(f->fr, &f->sc->probes[0], on_sample, f, err) == 0, "%s", err->msg);
    ck_assert_ptr_nonnull(f->fk.probe);
    return 0;
}

static void start(struct fx *f)
{
    ash_error_t err = {0};
    ck_assert_msg(start_with(f, "", NULL, &err) == 0, "%s", err.msg);
}

static void stop(struct fx *f)
{
    ash_fleet_run_probes_stop(f->fr);
    ash_fleet_run_end(f->fr);
    ash_channel_free(f->fk.ch);
    json_decref(f->fk.probe);
    json_decref(f->fk.targets);
    ash_scenario_free(f->sc);
    ash_loop_free(f->loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The fake samples `ms` long, one every 20 ms, healthy or not, the i-th tick late by
 * late_us(i) (-1: not said); the last one's end. */
static int64_t (*late_ns)(int i);
static int64_t sample_for(struct fx *f, int ms, bool ok)
{
    int64_t end = 0;
    for (int i = 0; i < ms / 20; i++) {
        int64_t t = ash_now_ns();
        struct ash_fleet_sample s = {
            .probe = "p", .start = t - 1000, .end = t, .ok = ok, .detail = "", .late = late_ns ? late_ns(i) : -1};
        send_json(f->fk.ch, ash_probe_msg_sample(&s));
        end = t;
        pump(f, 20);
    }
    return end;
}

/* The agent stays connected (its pongs come) but its probe's samples stop: after
 * max(3 x every, timeout + every, lease) = 1 s the probe is stale on the timeline,
 * naming node and probe; what the run knows of its probes ends at its last sample,
 * so a recovery that only its silence would "show" is not declared, even once its
 * samples come back. */
START_TEST(test_silent_probe_stale)
{
    struct fx f;
    start(&f);
    sample_for(&f, 200, false);
    int64_t last = sample_for(&f, 200, true);
    ck_assert_int_ge(f.n_samples, 15);
    ck_assert_ptr_null(strstr(f.events, "probe-stale"));
    /* Known up to its latest sample, while it samples: the agent's times mapped
     * onto the run's clock, each to the mapping's bound (75 ns off once under ASan). */
    int64_t b = ash_fleet_run_bound(f.fr);
    ck_assert_int_ge(ash_fleet_run_known_until(f.fr), last - 1000 - b);
    ck_assert_int_le(ash_fleet_run_known_until(f.fr), ash_now_ns() + b);

    pump(&f, 700); /* silent 0.7 s: under the 1 s rule, not stale yet */
    ck_assert_msg(!strstr(f.events, "probe-stale"), "%s", f.events);
    pump(&f, 600);
    ck_assert_msg(f.fk.open, "the fake agent was dropped");
    const char *st = strstr(f.events, "probe-stale: probe 'p' on node n1: no sample for");
    ck_assert_msg(st, "%s", f.events);
    ck_assert_msg(strstr(st, "stale after max(3 x every, timeout + every, fleet.lease) = 1000 ms"), "%s", st);
    int64_t known = ash_fleet_run_known_until(f.fr), bound = ash_fleet_run_bound(f.fr);
    /* The last sample's end, mapped onto the run's clock (to its bound). */
    ck_assert_int_le(llabs(known - last), bound);

    /* What the figures see: a probe of the coordinator healthy all along and this one,
     * healthy before its silence. Counting up to now, the silence would pass for a
     * stable window; counted up to what is known, no recovery is declared. */
    struct ash_point here[200], there[20];
    int64_t t0 = last - 400 * ASH_NS_PER_MS, now = ash_now_ns();
    size_t nh = 0, nt = 0;
    for (int64_t t = t0; t + ASH_NS_PER_MS < now && nh < 200; t += 10 * ASH_NS_PER_MS)
        here[nh++] = (struct ash_point){t, t + ASH_NS_PER_MS, true};
    for (int i = 0; i < 10; i++)
        there[nt++] = (struct ash_point){t0 + i * 20 * ASH_NS_PER_MS, t0 + i * 20 * ASH_NS_PER_MS + 1000, false};
    for (int i = 10; i < 20; i++)
        there[nt++] = (struct ash_point){t0 + i * 20 * ASH_NS_PER_MS, t0 + i * 20 * ASH_NS_PER_MS + 1000, true};
    struct ash_series series[2] = {{here, nh}, {there, nt}};
    int64_t stable = 500 * ASH_NS_PER_MS;
    ck_assert_int_ge(ash_measure_recovery(series, 2, t0, stable, now), 0);
    ck_assert_int_eq(ash_measure_recovery(series, 2, t0, stable, known), -1);

    /* Its samples come back: said, but the silence stays unknown. */
    sample_for(&f, 100, true);
    ck_assert_msg(strstr(f.events, "probe-fresh: probe 'p' on node n1: samples again"), "%s", f.events);
    ck_assert_int_eq(ash_fleet_run_known_until(f.fr), known);
    json_t *j = ash_fleet_run_json(f.fr, t0);
    json_t *p = json_array_get(json_object_get(j, "probes"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "stale")), 1);
    ck_assert(json_is_real(json_object_get(p, "unknown_from_ms")));
    double want = (double)(known - t0) / 1e6, got = json_real_value(json_object_get(p, "unknown_from_ms"));
    ck_assert_msg(got > want - 1e-3 && got < want + 1e-3, "unknown_from_ms %f, want %f", got, want);
    json_decref(j);
    stop(&f);
}
END_TEST

/* 1..10 ms late in turn; every 10th not said (an agent that cannot tell). */
static int64_t late_1_to_10ms(int i)
{
    return i % 10 == 9 ? -1 : (i % 10 + 1) * ASH_NS_PER_MS;
}

/* A probe that samples on schedule is never stale, and its run knows it up to its last
 * sample. How late the agent's ticks started is in the report per node, as the local
 * probes' schedule_lateness_ms: p50 / p99 / max over the ticks that said it. */
START_TEST(test_sampling_probe_not_stale)
{
    struct fx f;
    start(&f);
    late_ns = late_1_to_10ms;
    int64_t last = sample_for(&f, 1500, true);
    ck_assert_msg(!strstr(f.events, "probe-stale"), "%s", f.events);
    ck_assert_int_le(llabs(ash_fleet_run_known_until(f.fr) - last), ash_fleet_run_bound(f.fr));
    json_t *j = ash_fleet_run_json(f.fr, 0);
    json_t *p = json_array_get(json_object_get(j, "probes"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "stale")), 0);
    ck_assert(json_is_null(json_object_get(p, "unknown_from_ms")));
    json_decref(j);
    late_ns = NULL;
    j = ash_fleet_run_lateness_json(f.fr);
    char *text = json_dumps(j, JSON_SORT_KEYS);
    printf("lateness per node: %s\n", text);
    free(text);
    json_t *n1 = json_object_get(j, "n1");
    /* 75 ticks: 1..9 ms seven times and 1..5 ms once more (68 said), the 10 ms ones never. */
    ck_assert_int_eq(json_integer_value(json_object_get(n1, "ticks")), 68);
    ck_assert(json_real_value(json_object_get(n1, "p50")) == 5.0);
    ck_assert(json_real_value(json_object_get(n1, "p99")) == 9.0);
    ck_assert(json_real_value(json_object_get(n1, "max")) == 9.0);
    ck_assert_int_eq(json_integer_value(json_object_get(n1, "over_1ms")), 68 - 8);
    json_decref(j);
    stop(&f);
}
END_TEST

/* The hello's list: names without the engine's '/', ids by a prefix, cut to its byte
 * budget (counted in "more"), and a look-up that says "cannot tell" rather than guess:
 * no list, a cut list, another engine, a selector. */
START_TEST(test_hello_targets_list)
{
    json_t *list = json_loads("[{\"Id\": \"0123456789abcdef\", \"Names\": [\"/web\"]},"
                              " {\"Id\": \"fedcba9876543210\", \"Names\": [\"/db\", \"/db-alias\"]}]",
                              0, NULL);
    json_t *t = ash_hello_targets("unix:///run/d.sock", list);
    ck_assert_ptr_nonnull(t);
    json_t *hello = json_pack("{s:o}", "targets", t);
    ck_assert_int_eq(ash_hello_targets_has(hello, NULL, "web"), 1);
    ck_assert_int_eq(ash_hello_targets_has(hello, NULL, "db-alias"), 1);
    ck_assert_int_eq(ash_hello_targets_has(hello, NULL, "fedcba98"), 1); /* an id's prefix */
    ck_assert_int_eq(ash_hello_targets_has(hello, NULL, "/web"), 0);
    ck_assert_int_eq(ash_hello_targets_has(hello, NULL, "ghost"), 0);
    ck_assert_int_eq(ash_hello_targets_has(hello, "/run/d.sock", "ghost"), 0);             /* the same engine */
    ck_assert_int_eq(ash_hello_targets_has(hello, "unix:///run/other.sock", "ghost"), -1); /* another one */
    ck_assert_int_eq(ash_hello_targets_has(hello, NULL, "label=app=web"), -1);
    char names[64];
    ash_hello_targets_names(hello, names, sizeof names);
    ck_assert_str_eq(names, "web, db");
    json_t *none = json_object();
    ck_assert_int_eq(ash_hello_targets_has(none, NULL, "ghost"), -1); /* no engine: nothing said */
    json_decref(none);
    json_decref(hello);
    json_decref(list);

    /* Many containers with long names: the list stays within its budget, the rest counted. */
    list = json_array();
    char id[65], name[300];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "%064x", i);
        snprintf(name, sizeof name, "/%0200d", i);
        json_array_append_new(list, json_pack("{s:s, s:[s]}", "Id", id, "Names", name));
    }
    t = ash_hello_targets("unix:///run/d.sock", list);
    char *text = json_dumps(t, JSON_COMPACT);
    size_t listed = json_array_size(json_object_get(t, "containers"));
    json_int_t more = json_integer_value(json_object_get(t, "more"));
    printf("5000 containers: %zu listed, %lld more, %zu bytes\n", listed, (long long)more, strlen(text));
    ck_assert_uint_le(strlen(text), ASH_HELLO_TARGETS_MAX_BYTES);
    ck_assert_uint_gt(listed, 100);
    ck_assert_int_eq((json_int_t)listed + more, 5000);
    free(text);
    hello = json_pack("{s:o}", "targets", t);
    ck_assert_int_eq(ash_hello_targets_has(hello, NULL, "ghost"), -1); /* a cut list cannot say it is absent */
    json_decref(hello);
    json_decref(list);
}
END_TEST

/* The run checks each fault's and node probe's node/container against its node's
 * hello before anything is harmed: one missing is exit 3 naming the node and the
 * container, and the agent never got the scenario. An agent that lists nothing is
 * not second-guessed (its own check runs when the scenario comes). */
START_TEST(test_missing_container_refused_before_harm)
{
    static const char *const more[] = {
        "  - name: q\n    from: n1/db\n    tcp: '127.0.0.1:1'\n",
        "faults:\n  - name: stop-ghost\n    kind: process\n    target: {node: n1, container: ghost}\n"
        "    action: stop\n",
    };
    static const char *const want[] = {
        "fleet: node n1 has no container 'db' (probe 'q'): its agent's engine unix:///run/d.sock lists web; nothing "
        "was harmed",
        "fleet: node n1 has no container 'ghost' (fault 'stop-ghost'): its agent's engine unix:///run/d.sock lists "
        "web; nothing was harmed",
    };
    for (size_t i = 0; i < 2; i++) {
        struct fx f;
        ash_error_t err = {0};
        json_t *t = json_loads("{\"engine\": \"unix:///run/d.sock\", \"containers\": [{\"id\": \"0123abcd\", "
                               "\"names\": [\"web\"]}], \"more\": 0}",
                               0, NULL);
        ck_assert_int_lt(start_with(&f, more[i], t, &err), 0);
        ck_assert_str_eq(err.msg, want[i]);
        ck_assert_int_eq(err.klass, ASH_ERR_ENVIRONMENT);
        ck_assert(!f.fk.got_scenario);
        stop(&f);
    }
    /* Listed: taken. Nothing listed: taken too (the agent judges). */
    struct fx f;
    ash_error_t err = {0};
    json_t *t = json_loads("{\"engine\": \"unix:///run/d.sock\", \"containers\": [{\"id\": \"0123abcd\", "
                           "\"names\": [\"db\"]}], \"more\": 0}",
                           0, NULL);
    ck_assert_msg(start_with(&f, more[0], t, &err) == 0, "%s", err.msg);
    ck_assert(f.fk.got_scenario);
    stop(&f);
    ck_assert_msg(start_with(&f, more[0], NULL, &err) == 0, "%s", err.msg);
    stop(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fleet_probes");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_silent_probe_stale);
    tcase_add_test(tc, test_sampling_probe_not_stale);
    tcase_add_test(tc, test_hello_targets_list);
    tcase_add_test(tc, test_missing_container_refused_before_harm);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
