/* A fake fleet agent for tests (tests/integration/fleet_local.sh): the channel alone,
 * holding the run's key. It says hello, answers pings, takes the scenario and every
 * inject and revert without touching anything, and samples each probe it is asked to
 * start every 20 ms: healthy, failing while a fault is "in effect". Then, QUIET_MS after
 * the first revert, its samples stop while its pongs go on: a probe kind that hangs on
 * a connected agent, which the run must not take for health.
 *   ash_fakeagent ADDR:PORT KEYFILE NODE QUIET_MS
 * Exit 0 on bye, 1 when the connection ends otherwise. */
#include "fleet/channel.h"
#include "fleet/probe_msg.h"
#include "fleet/psk.h"
#include "sys/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake {
    ash_loop *loop;
    struct ash_channel *ch;
    char node[128];
    char probe[128];
    bool sampling, injected, done;
    int64_t quiet_ns, quiet_at; /* quiet_at: when samples stop (0: not yet known) */
    int status;
};

static void say(struct fake *k, json_t *m)
{
    ash_error_t err = {0};
    if (m)
        ash_channel_send(k->ch, m, &err);
    json_decref(m);
}

static int64_t tick(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct fake *k = data;
    if (k->done)
        return ASH_TIMER_DONE;
    if (!k->quiet_at || now < k->quiet_at) {
        struct ash_fleet_sample s = {.probe = k->probe,
                                     .start = now,
                                     .end = ash_now_ns(),
                                     .ok = !k->injected,
                                     .detail = k->injected ? "refused" : "",
                                     .late = 0};
        say(k, ash_probe_msg_sample(&s));
    }
    return now + 20 * ASH_NS_PER_MS;
}

static void on_open(struct ash_channel *ch, void *data)
{
    (void)ch;
    struct fake *k = data;
    say(k, json_pack("{s:s, s:s, s:s, s:i, s:i, s:I}", "type", "hello", "node", k->node, "version", "fake", "proto", 1,
                     "pid", 1, "t", (json_int_t)ash_now_ns()));
}

static void on_message(struct ash_channel *ch, json_t *msg, void *data)
{
    (void)ch;
    struct fake *k = data;
    const char *type = json_string_value(json_object_get(msg, "type"));
    json_t *id = json_object_get(msg, "id");
    if (!type)
        return;
    if (strcmp(type, "ping") == 0) {
        if (json_integer_value(id))
            say(k, json_pack("{s:s, s:O, s:I}", "type", "pong", "id", id, "t", (json_int_t)ash_now_ns()));
        return;
    }
    if (strcmp(type, "bye") == 0) {
        k->done = true;
        k->status = 0;
        ash_loop_stop(k->loop);
        return;
    }
    if (strcmp(type, "probe-stop") == 0)
        return;
    if (strcmp(type, "probe") == 0 && !k->sampling) {
        snprintf(k->probe, sizeof k->probe, "%s", json_string_value(json_object_get(msg, "probe")));
        k->sampling = ash_loop_add_timer(k->loop, ash_now_ns(), tick, k) != NULL;
    }
    if (strcmp(type, "inject") == 0)
        k->injected = true;
    if (strcmp(type, "revert") == 0) {
        k->injected = false;
        if (!k->quiet_at)
            k->quiet_at = ash_now_ns() + k->quiet_ns;
    }
    say(k, json_pack("{s:s, s:O, s:b, s:s, s:I}", "type", "result", "id", id, "ok", 1, "error", "", "t",
                     (json_int_t)ash_now_ns()));
}

static void on_closed(struct ash_channel *ch, const ash_error_t *why, void *data)
{
    (void)ch;
    struct fake *k = data;
    if (!k->done)
        fprintf(stderr, "ash_fakeagent: %s\n", why->msg);
    k->done = true;
    ash_loop_stop(k->loop);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: ash_fakeagent ADDR:PORT KEYFILE NODE QUIET_MS\n");
        return 2;
    }
    static const struct ash_channel_cbs cbs = {.open = on_open, .message = on_message, .closed = on_closed};
    struct fake k = {.status = 1, .quiet_ns = atoll(argv[4]) * ASH_NS_PER_MS};
    snprintf(k.node, sizeof k.node, "%s", argv[3]);
    struct ash_psk key;
    ash_error_t err = {0};
    if (ash_psk_read(argv[2], &key, &err) < 0 || ash_loop_new(&k.loop, &err) < 0 ||
        ash_channel_connect(k.loop, argv[1], &key, 0, &cbs, &k, &k.ch, &err) < 0 ||
        ash_loop_run_until(k.loop, &k.done, -1, &err) < 0) {
        fprintf(stderr, "ash_fakeagent: %s\n", err.msg);
        return 1;
    }
    ash_channel_free(k.ch);
    ash_loop_free(k.loop);
    return k.status;
}
