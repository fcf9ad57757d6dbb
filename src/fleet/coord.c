/* The fleet coordinator: accepts agents over the channel, keeps their leases, maps their clocks (coord.h). */
#include "fleet/coord.h"
#include "fleet/channel.h"
#include "fleet/probe_msg.h"
#include "fleet/proto.h"
#include "sys/addr.h"
#include "sys/clock.h"
#include "sys/fs.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections in their handshake at once, at most. */
#define ASH_COORD_MAX_PENDING 64

struct agent {
    struct ash_coord *c;
    struct ash_channel *ch;
    bool up;   /* said hello and was taken */
    bool gone; /* its channel ended: kept only until ash_coord_free */
    char node[128];
    json_t *hello;
    struct ash_clock_map clock;
    uint64_t ping_id; /* the ping in flight, 0 when none */
    int64_t heard;    /* when it last said anything */
    int64_t ping_sent;
    ash_timer *ping_timer;
};

struct request {
    uint64_t id;
    struct agent *a;
    ash_coord_reply_fn cb;
    void *data;
};

struct ash_coord {
    ash_loop *loop;
    struct ash_coord_opts o;
    struct ash_psk key;
    char run_id[64];
    int listen_fd;
    int port;
    struct agent **agents;
    size_t n_agents, cap_agents;
    struct request *reqs;
    size_t n_reqs, cap_reqs;
    uint64_t next_id;
    char last_refusal[ASH_ERROR_MSG_MAX];
};

static struct agent *find(struct ash_coord *c, const char *node)
{
    for (size_t i = 0; i < c->n_agents; i++)
        if (c->agents[i]->up && !c->agents[i]->gone && strcmp(c->agents[i]->node, node) == 0)
            return c->agents[i];
    return NULL;
}

static int send_msg(struct agent *a, json_t *msg, ash_error_t *err)
{
    if (!msg)
        return ash_error(err, ENOMEM, "cannot build a message for %s", a->node);
    int rc = ash_channel_send(a->ch, msg, err);
    json_decref(msg);
    return rc;
}

static struct ash_fleet_time map_time(const struct agent *a, int64_t t_agent)
{
    if (!a->clock.valid)
        return (struct ash_fleet_time){.t_agent = t_agent, .t = t_agent, .bound = -1};
    return (struct ash_fleet_time){
        .t_agent = t_agent, .t = ash_clock_map_to_local(&a->clock, t_agent), .bound = a->clock.bound};
}

/* Answer every request still waiting on a lost agent. */
static void fail_requests(struct agent *a, const char *why)
{
    struct ash_coord *c = a->c;
    for (size_t i = 0; i < c->n_reqs;) {
        if (c->reqs[i].a != a) {
            i++;
            continue;
        }
        struct request r = c->reqs[i];
        c->reqs[i] = c->reqs[--c->n_reqs];
        ash_error_t e = {0};
        ash_error(&e, ECONNRESET, "agent %s was lost: %s", a->node[0] ? a->node : "(before hello)", why);
        r.cb(c, a->node, 0, &e, NULL, r.data);
    }
}

static void lose(struct agent *a, const char *why)
{
    if (a->gone)
        return;
    a->gone = true;
    if (a->ping_timer) {
        ash_loop_cancel_timer(a->c->loop, a->ping_timer);
        a->ping_timer = NULL;
    }
    ash_channel_close(a->ch);
    fail_requests(a, why);
    if (a->up && a->c->o.on_agent)
        a->c->o.on_agent(a->c, a->node, false, why, a->c->o.data);
}

static void send_ping(struct agent *a, int64_t now)
{
    ash_error_t e = {0};
    a->ping_id = ++a->c->next_id;
    a->ping_sent = now;
    if (send_msg(a, json_pack("{s:s, s:I}", "type", ASH_MSG_PING, "id", (json_int_t)a->ping_id), &e) < 0)
        lose(a, e.msg);
}

/* The keepalive: every tick renews the agent's lease and, when no ping is in
 * flight, takes one more clock sample. */
static int64_t ping_tick(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct agent *a = data;
    /* This timer ends by its return value, never by a cancel from inside it (lose). */
    ash_timer *self = a->ping_timer;
    a->ping_timer = NULL;
    if (a->gone)
        return ASH_TIMER_DONE;
    if (now - a->heard > a->c->o.silence_ns) {
        char why[128];
        snprintf(why, sizeof why, "no word from node %s for %.1fs (stopped, or its network drops packets)", a->node,
                 (double)(now - a->heard) / 1e9);
        lose(a, why);
        return ASH_TIMER_DONE;
    }
    if (a->ping_id) {
        /* The last one is still out (a slow round trip is a poor sample anyway):
         * renew the lease with a ping that is not timed. */
        ash_error_t e = {0};
        if (send_msg(a, json_pack("{s:s, s:I}", "type", ASH_MSG_PING, "id", (json_int_t)0), &e) < 0) {
            lose(a, e.msg);
            return ASH_TIMER_DONE;
        }
    } else {
        send_ping(a, ash_now_ns());
    }
    if (a->gone)
        return ASH_TIMER_DONE;
    a->ping_timer = self;
    return now + a->c->o.ping_every_ns;
}

static void on_hello(struct agent *a, json_t *msg)
{
    struct ash_coord *c = a->c;
    const char *node = json_string_value(json_object_get(msg, "node"));
    json_int_t proto = json_integer_value(json_object_get(msg, "proto"));
    json_int_t lease = json_integer_value(json_object_get(msg, "lease_ns"));
    char why[256] = "";
    if (a->up)
        snprintf(why, sizeof why, "a second hello");
    else if (!node || !node[0] || strlen(node) >= sizeof a->node)
        snprintf(why, sizeof why, "a hello without a node name (1-127 bytes)");
    else if (proto != ASH_FLEET_PROTO)
        snprintf(why, sizeof why, "node %s speaks fleet protocol %lld, this coordinator %d (run the same version)",
                 node, (long long)proto, ASH_FLEET_PROTO);
    else if (lease > 0 && lease < 2 * c->o.ping_every_ns)
        snprintf(why, sizeof why,
                 "node %s's lease (%.3gs) is under twice this coordinator's ping interval (%.3gs): it would lapse "
                 "between pings (give the agent a longer --lease)",
                 node, (double)lease / 1e9, (double)c->o.ping_every_ns / 1e9);
    else if (find(c, node))
        snprintf(why, sizeof why, "node %s already has an agent connected (two agents on one node?)", node);
    if (why[0]) {
        snprintf(c->last_refusal, sizeof c->last_refusal, "%s: %s", ash_channel_peer(a->ch), why);
        ash_error_t e = {0};
        send_msg(a, json_pack("{s:s, s:s}", "type", ASH_MSG_REFUSED, "why", why), &e);
        lose(a, why);
        return;
    }
    snprintf(a->node, sizeof a->node, "%s", node);
    a->hello = json_incref(msg);
    a->up = true;
    if (c->o.on_agent)
        c->o.on_agent(c, a->node, true, NULL, c->o.data);
    if (a->gone)
        return;
    a->ping_timer = ash_loop_add_timer(c->loop, ash_now_ns() + c->o.ping_every_ns, ping_tick, a);
    if (!a->ping_timer) {
        lose(a, "cannot arm its keepalive timer (out of memory)");
        return;
    }
    send_ping(a, ash_now_ns()); /* the first clock round starts now */
}

static void on_pong(struct agent *a, json_t *msg, int64_t t_recv)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
    json_t *t = json_object_get(msg, "t");
    if (!id || id != a->ping_id || !json_is_integer(t))
        return; /* an untimed keepalive's answer, or a late one */
    a->ping_id = 0;
    bool first = !a->clock.valid;
    ash_clock_map_add(&a->clock, a->ping_sent, (int64_t)json_integer_value(t), t_recv);
    /* Until the first mapping, round trips go back to back: the clock is needed
     * before the first fault; after it, one per tick. */
    if (first && !a->clock.valid)
        send_ping(a, ash_now_ns());
}

static void on_result(struct agent *a, json_t *msg)
{
    struct ash_coord *c = a->c;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
    for (size_t i = 0; i < c->n_reqs; i++) {
        if (c->reqs[i].id != id || c->reqs[i].a != a)
            continue;
        struct request r = c->reqs[i];
        c->reqs[i] = c->reqs[--c->n_reqs];
        bool ok = json_is_true(json_object_get(msg, "ok"));
        ash_error_t e = {0};
        if (!ok) {
            const char *m = json_string_value(json_object_get(msg, "error"));
            /* The agent's message says why already: no strerror after it. */
            ash_error(&e, 0, "node %s: %s", a->node, m ? m : "failed (no reason given)");
            e.code = EIO;
        }
        struct ash_fleet_time when = map_time(a, (int64_t)json_integer_value(json_object_get(msg, "t")));
        r.cb(c, a->node, ok, ok ? NULL : &e, &when, r.data);
        return;
    }
}

static void on_event(struct agent *a, json_t *msg, bool no_effect)
{
    struct ash_coord *c = a->c;
    if (!c->o.on_event)
        return;
    struct ash_fleet_event ev = {
        .node = a->node,
        .event = no_effect ? ASH_MSG_NO_EFFECT : json_string_value(json_object_get(msg, "event")),
        .detail = json_string_value(json_object_get(msg, no_effect ? "why" : "detail")),
        .when = map_time(a, (int64_t)json_integer_value(json_object_get(msg, "t"))),
    };
    if (!ev.event)
        return;
    if (!ev.detail)
        ev.detail = "";
    c->o.on_event(c, &ev, c->o.data);
}

static void on_sample(struct agent *a, json_t *msg)
{
    struct ash_coord *c = a->c;
    struct ash_fleet_sample fs;
    ash_error_t e = {0};
    if (ash_probe_msg_sample_parse(msg, &fs, &e) < 0) {
        /* From an authenticated agent, so a bug or another build: said, not taken. */
        if (c->o.on_event) {
            /* When it arrived, on this clock: exact (the agent's clock plays no part). */
            int64_t now = ash_now_ns();
            char detail[ASH_ERROR_MSG_MAX + 64];
            snprintf(detail, sizeof detail, "a malformed sample message, dropped: %s", e.msg);
            struct ash_fleet_event ev = {
                .node = a->node,
                .event = "warning",
                .detail = detail,
                .when = {.t_agent = now + (a->clock.valid ? a->clock.offset : 0), .t = now, .bound = 0}};
            c->o.on_event(c, &ev, c->o.data);
        }
        return;
    }
    if (!c->o.on_sample)
        return;
    struct ash_fleet_probe_sample s = {.node = a->node,
                                       .probe = fs.probe,
                                       .start = map_time(a, fs.start),
                                       .end = map_time(a, fs.end),
                                       .ok = fs.ok,
                                       .detail = fs.detail,
                                       .late = fs.late};
    c->o.on_sample(c, &s, c->o.data);
}

static void on_message(struct ash_channel *ch, json_t *msg, void *data)
{
    (void)ch;
    int64_t t_recv = ash_now_ns(); /* first: the round trip ends when the answer is read */
    struct agent *a = data;
    a->heard = t_recv;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type)
        return;
    if (strcmp(type, ASH_MSG_HELLO) == 0) {
        on_hello(a, msg);
        return;
    }
    if (!a->up) {
        lose(a, "a message before hello");
        return;
    }
    if (strcmp(type, ASH_MSG_PONG) == 0)
        on_pong(a, msg, t_recv);
    else if (strcmp(type, ASH_MSG_RESULT) == 0)
        on_result(a, msg);
    else if (strcmp(type, ASH_MSG_EVENT) == 0)
        on_event(a, msg, false);
    else if (strcmp(type, ASH_MSG_NO_EFFECT) == 0)
        on_event(a, msg, true);
    else if (strcmp(type, ASH_MSG_SAMPLE) == 0)
        on_sample(a, msg);
    else if (strcmp(type, ASH_MSG_GOODBYE) == 0) {
        const char *why = json_string_value(json_object_get(msg, "why"));
        lose(a, why ? why : "the agent left");
    }
}

static void on_closed(struct ash_channel *ch, const ash_error_t *why, void *data)
{
    (void)ch;
    struct agent *a = data;
    if (!a->up)
        snprintf(a->c->last_refusal, sizeof a->c->last_refusal, "%s", why->msg);
    lose(a, why->msg);
}

/* Connections not (yet) taken as an agent. */
static size_t handshaking(const struct ash_coord *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_agents; i++)
        n += !c->agents[i]->up && !c->agents[i]->gone;
    return n;
}

static void agent_free(struct agent *a)
{
    if (a->ping_timer)
        ash_loop_cancel_timer(a->c->loop, a->ping_timer);
    ash_channel_free(a->ch);
    json_decref(a->hello);
    free(a);
}

/* Free the agents whose channel ended (never from inside their own callbacks:
 * from the listener's, before it takes new connections). */
static void reap(struct ash_coord *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_agents; i++) {
        if (c->agents[i]->gone)
            agent_free(c->agents[i]);
        else
            c->agents[k++] = c->agents[i];
    }
    c->n_agents = k;
}

static const struct ash_channel_cbs agent_cbs = {.message = on_message, .closed = on_closed};

static void on_accept(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct ash_coord *c = data;
    reap(c);
    for (;;) {
        int cfd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return; /* EAGAIN, or a connection that went away before it was taken */
        if (handshaking(c) >= ASH_COORD_MAX_PENDING) {
            /* Each unproven connection holds a TLS session until its handshake bound: a
             * peer without the key opening many must not exhaust the coordinator. */
            snprintf(c->last_refusal, sizeof c->last_refusal,
                     "%d connections were still in their handshake: one more was closed", ASH_COORD_MAX_PENDING);
            close(cfd);
            continue;
        }
        struct agent *a = calloc(1, sizeof *a);
        if (!a || ash_grow(&c->agents, &c->cap_agents, c->n_agents + 1, sizeof *c->agents, 8) < 0) {
            free(a);
            close(cfd);
            continue;
        }
        a->c = c;
        ash_error_t e = {0};
        if (ash_channel_accept(c->loop, cfd, &c->key, c->o.handshake_ns, &agent_cbs, a, &a->ch, &e) < 0) {
            snprintf(c->last_refusal, sizeof c->last_refusal, "%s", e.msg);
            free(a);
            continue;
        }
        c->agents[c->n_agents++] = a;
    }
}

int ash_coord_new(ash_loop *loop, const struct ash_coord_opts *o, struct ash_coord **out, ash_error_t *err)
{
    struct sockaddr_storage sa;
    char why[128];
    if (ash_parse_listen(o->listen, &sa, why, sizeof why) < 0)
        return ash_error_class(err, ASH_ERR_USAGE, 0, "fleet listen address '%s': %s", o->listen, why);
    struct ash_coord *c = calloc(1, sizeof *c);
    if (!c)
        return ash_error(err, ENOMEM, "coordinator");
    c->loop = loop;
    c->o = *o;
    c->key = *o->key;
    c->o.key = &c->key;
    snprintf(c->run_id, sizeof c->run_id, "%s", o->run_id ? o->run_id : "");
    c->o.run_id = c->run_id;
    c->o.listen = NULL;
    if (c->o.ping_every_ns <= 0)
        c->o.ping_every_ns = 250 * ASH_NS_PER_MS;
    if (c->o.silence_ns <= 0)
        c->o.silence_ns = 3 * ASH_NS_PER_S;
    c->listen_fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    socklen_t sl = sa.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (c->listen_fd < 0 || setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(c->listen_fd, (struct sockaddr *)&sa, sl) < 0 || listen(c->listen_fd, 64) < 0) {
        ash_error(err, errno, "the coordinator cannot listen on %s", o->listen);
        goto fail;
    }
    struct sockaddr_storage bound;
    sl = sizeof bound;
    if (getsockname(c->listen_fd, (struct sockaddr *)&bound, &sl) < 0) {
        ash_error(err, errno, "getsockname");
        goto fail;
    }
    c->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    if (ash_loop_add_fd(loop, c->listen_fd, EPOLLIN, on_accept, c, err) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    memset(&c->key, 0, sizeof c->key);
    free(c);
    return -1;
}

int ash_coord_port(const struct ash_coord *c)
{
    return c->port;
}

void ash_coord_free(struct ash_coord *c)
{
    if (!c)
        return;
    ash_loop_del_fd(c->loop, c->listen_fd);
    close(c->listen_fd);
    for (size_t i = 0; i < c->n_agents; i++) {
        lose(c->agents[i], "the coordinator ended");
        agent_free(c->agents[i]);
    }
    free(c->agents);
    free(c->reqs);
    memset(&c->key, 0, sizeof c->key);
    free(c);
}

const json_t *ash_coord_hello(struct ash_coord *c, const char *node)
{
    struct agent *a = find(c, node);
    return a ? a->hello : NULL;
}

bool ash_coord_clock(struct ash_coord *c, const char *node, struct ash_clock_map *out)
{
    struct agent *a = find(c, node);
    if (a)
        *out = a->clock;
    return a != NULL;
}

const char *ash_coord_last_refusal(const struct ash_coord *c)
{
    return c->last_refusal;
}

int ash_coord_request_async(struct ash_coord *c, const char *node, const char *type, json_t *fields,
                            ash_coord_reply_fn cb, void *data, ash_error_t *err)
{
    struct agent *a = find(c, node);
    if (!a) {
        json_decref(fields);
        return ash_error(err, ENOENT, "no agent for node %s is connected", node);
    }
    json_t *msg = fields ? fields : json_object();
    uint64_t id = ++c->next_id;
    if (!msg || json_object_set_new(msg, "type", json_string(type)) < 0 ||
        json_object_set_new(msg, "id", json_integer((json_int_t)id)) < 0 ||
        ash_grow(&c->reqs, &c->cap_reqs, c->n_reqs + 1, sizeof *c->reqs, 8) < 0) {
        json_decref(msg);
        return ash_error(err, ENOMEM, "cannot send %s to %s", type, node);
    }
    c->reqs[c->n_reqs++] = (struct request){.id = id, .a = a, .cb = cb, .data = data};
    ash_error_t e = {0};
    if (send_msg(a, msg, &e) < 0)
        lose(a, e.msg); /* answers the request with the reason */
    return 0;
}

/* ---- waiting wrappers ---- */

struct wait {
    bool done;
    int ok;
    ash_error_t err;
    struct ash_fleet_time when;
};

static void wait_reply(struct ash_coord *c, const char *node, int ok, const ash_error_t *err,
                       const struct ash_fleet_time *when, void *data)
{
    (void)c;
    (void)node;
    struct wait *w = data;
    w->done = true;
    w->ok = ok;
    if (err)
        w->err = *err;
    if (when)
        w->when = *when;
}

static int wait_request(struct ash_coord *c, const char *node, const char *type, json_t *fields, int64_t timeout_ns,
                        struct ash_fleet_time *when, ash_error_t *err)
{
    struct wait w = {0};
    if (ash_coord_request_async(c, node, type, fields, wait_reply, &w, err) < 0)
        return -1;
    if (ash_loop_run_until(c->loop, &w.done, ash_now_ns() + timeout_ns, err) < 0)
        return -1;
    if (!w.done) {
        /* Forget it: a late answer finds no request. */
        for (size_t i = 0; i < c->n_reqs; i++)
            if (c->reqs[i].data == &w) {
                c->reqs[i] = c->reqs[--c->n_reqs];
                break;
            }
        ash_error(err, 0, "node %s did not answer '%s' within %.1fs", node, type, (double)timeout_ns / 1e9);
        err->code = ETIMEDOUT;
        return -1;
    }
    if (!w.ok) {
        *err = w.err;
        return -1;
    }
    if (when)
        *when = w.when;
    return 0;
}

/* Run the loop until pred(c, node) holds. */
static int wait_for(struct ash_coord *c, const char *node, bool (*pred)(struct ash_coord *, const char *),
                    int64_t timeout_ns, const char *what, ash_error_t *err)
{
    int64_t deadline = ash_now_ns() + timeout_ns;
    bool done = pred(c, node);
    while (!done) {
        int64_t now = ash_now_ns();
        if (now >= deadline) {
            ash_error(err, 0, "%s within %.1fs%s%s", what, (double)timeout_ns / 1e9,
                      c->last_refusal[0] ? "; last refused connection: " : "", c->last_refusal);
            err->code = ETIMEDOUT;
            return -1;
        }
        /* Short turns: the predicate is checked after each. */
        int64_t turn = now + 5 * ASH_NS_PER_MS < deadline ? now + 5 * ASH_NS_PER_MS : deadline;
        bool never = false;
        if (ash_loop_run_until(c->loop, &never, turn, err) < 0)
            return -1;
        done = pred(c, node);
    }
    return 0;
}

static bool agent_up(struct ash_coord *c, const char *node)
{
    return find(c, node) != NULL;
}

static bool clock_mapped(struct ash_coord *c, const char *node)
{
    struct agent *a = find(c, node);
    return a && a->clock.valid;
}

int ash_coord_wait_agent(struct ash_coord *c, const char *node, int64_t timeout_ns, ash_error_t *err)
{
    char what[192];
    snprintf(what, sizeof what, "no agent for node %s said hello", node);
    return wait_for(c, node, agent_up, timeout_ns, what, err);
}

int ash_coord_wait_clock(struct ash_coord *c, const char *node, int64_t timeout_ns, ash_error_t *err)
{
    char what[192];
    snprintf(what, sizeof what, "node %s's clock was not mapped", node);
    return wait_for(c, node, clock_mapped, timeout_ns, what, err);
}

int ash_coord_send_scenario(struct ash_coord *c, const char *node, const char *name, const char *text,
                            int64_t timeout_ns, ash_error_t *err)
{
    return ash_coord_send_scenario_resolved(c, node, name, text, NULL, timeout_ns, err);
}

int ash_coord_send_scenario_resolved(struct ash_coord *c, const char *node, const char *name, const char *text,
                                     json_t *resolved, int64_t timeout_ns, ash_error_t *err)
{
    json_t *f = json_pack("{s:s, s:s, s:s}", "run", c->run_id, "name", name, "text", text);
    if (f && resolved && json_object_size(resolved))
        json_object_set(f, "resolved", resolved);
    json_decref(resolved);
    if (!f)
        return ash_error(err, ENOMEM, "cannot build the scenario message");
    return wait_request(c, node, ASH_MSG_SCENARIO, f, timeout_ns, NULL, err);
}

int ash_coord_inject(struct ash_coord *c, const char *node, const char *fault, int64_t timeout_ns,
                     struct ash_fleet_time *when, ash_error_t *err)
{
    return wait_request(c, node, ASH_MSG_INJECT, json_pack("{s:s}", "fault", fault), timeout_ns, when, err);
}

int ash_coord_revert(struct ash_coord *c, const char *node, const char *fault, int64_t timeout_ns,
                     struct ash_fleet_time *when, ash_error_t *err)
{
    return wait_request(c, node, ASH_MSG_REVERT, json_pack("{s:s}", "fault", fault), timeout_ns, when, err);
}

int ash_coord_request(struct ash_coord *c, const char *node, const char *type, json_t *fields, int64_t timeout_ns,
                      ash_error_t *err)
{
    return wait_request(c, node, type, fields, timeout_ns, NULL, err);
}

int ash_coord_addrs4(struct ash_coord *c, const char *node, uint32_t *local, uint32_t *peer)
{
    struct agent *a = find(c, node);
    return a ? ash_channel_addrs4(a->ch, local, peer) : -1;
}

int ash_coord_send(struct ash_coord *c, const char *node, const char *type, json_t *fields, ash_error_t *err)
{
    struct agent *a = find(c, node);
    json_t *msg = fields ? fields : json_object();
    if (!a) {
        json_decref(msg);
        return ash_error(err, ENOENT, "no agent for node %s is connected", node);
    }
    if (!msg || json_object_set_new(msg, "type", json_string(type)) < 0) {
        json_decref(msg);
        return ash_error(err, ENOMEM, "cannot send %s to %s", type, node);
    }
    return send_msg(a, msg, err);
}

int ash_coord_bye(struct ash_coord *c, const char *node, ash_error_t *err)
{
    struct agent *a = find(c, node);
    if (!a)
        return ash_error(err, ENOENT, "no agent for node %s is connected", node);
    return send_msg(a, json_pack("{s:s}", "type", ASH_MSG_BYE), err);
}
