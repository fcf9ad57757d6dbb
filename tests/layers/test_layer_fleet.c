/* The fleet channel linked with sys alone (the engine can drive a fleet without an
 * upward call): two ends on one loop over 127.0.0.1, a message of many TLS records,
 * a wrong key refused on both sides, a peer that never answers bounded. */
#include "fleet/channel.h"
#include "sys/clock.h"
#include "../unit/test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct end {
    struct ash_channel *ch;
    bool open, closed;
    ash_error_t why;
    json_t *last;
    int n;
};

static void on_open(struct ash_channel *ch, void *data)
{
    (void)ch;
    ((struct end *)data)->open = true;
}

static void on_message(struct ash_channel *ch, json_t *msg, void *data)
{
    (void)ch;
    struct end *e = data;
    json_decref(e->last);
    e->last = json_incref(msg);
    e->n++;
}

static void on_closed(struct ash_channel *ch, const ash_error_t *why, void *data)
{
    (void)ch;
    struct end *e = data;
    e->closed = true;
    e->why = *why;
}

static const struct ash_channel_cbs cbs = {on_open, on_message, on_closed};

struct pair {
    ash_loop *loop;
    int lfd;
    char addr[64];
    struct end server, client;
};

static void listen_local(struct pair *p)
{
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&p->loop, &err), 0);
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(p->lfd, 4), 0);
    ck_assert_int_eq(getsockname(p->lfd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(p->addr, sizeof p->addr, "127.0.0.1:%d", ntohs(sa.sin_port));
}

/* Connect a client with ckey to a server with skey. */
static void connect_pair(struct pair *p, const struct ash_psk *skey, const struct ash_psk *ckey, int64_t hs)
{
    ash_error_t err = {0};
    listen_local(p);
    ck_assert_msg(ash_channel_connect(p->loop, p->addr, ckey, hs, &cbs, &p->client, &p->client.ch, &err) == 0, "%s",
                  err.msg);
    int fd = accept(p->lfd, NULL, NULL); /* the kernel completed the TCP handshake already */
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ash_channel_accept(p->loop, fd, skey, hs, &cbs, &p->server, &p->server.ch, &err), 0);
}

static void run_until(struct pair *p, const bool *flag, int64_t ns)
{
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_run_until(p->loop, flag, ash_now_ns() + ns, &err), 0);
}

static void pair_free(struct pair *p)
{
    ash_channel_free(p->client.ch);
    ash_channel_free(p->server.ch);
    json_decref(p->client.last);
    json_decref(p->server.last);
    close(p->lfd);
    ash_loop_free(p->loop);
}

static void key(struct ash_psk *k)
{
    ash_error_t err = {0};
    ck_assert_int_eq(ash_psk_generate(k, &err), 0);
}

START_TEST(test_round_trip_many_records)
{
    struct ash_psk k;
    key(&k);
    struct pair p = {0};
    connect_pair(&p, &k, &k, ASH_CHANNEL_HANDSHAKE_NS);
    run_until(&p, &p.client.open, 5 * ASH_NS_PER_S);
    ck_assert(p.client.open);
    /* 1 MiB of text: 64 TLS records, read back as one line. */
    size_t big = 1u << 20;
    char *text = malloc(big + 1);
    memset(text, 'x', big);
    text[big] = '\0';
    ash_error_t err = {0};
    for (int i = 0; i < 3; i++) {
        json_t *m = json_pack("{s:i, s:s}", "i", i, "text", text);
        ck_assert_int_eq(ash_channel_send(p.client.ch, m, &err), 0);
        json_decref(m);
    }
    while (p.server.n < 3 && !p.server.closed) {
        bool never = false;
        run_until(&p, &never, 10 * ASH_NS_PER_MS);
    }
    ck_assert_int_eq(p.server.n, 3);
    ck_assert_int_eq(json_integer_value(json_object_get(p.server.last, "i")), 2);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(p.server.last, "text"))), big);
    free(text);
    /* The server closes: the client hears it, with no error code. */
    ash_channel_close(p.server.ch);
    run_until(&p, &p.client.closed, 5 * ASH_NS_PER_S);
    ck_assert(p.client.closed);
    ck_assert_int_eq(p.client.why.code, 0);
    json_t *after = json_object();
    ck_assert_int_lt(ash_channel_send(p.client.ch, after, &err), 0);
    json_decref(after);
    pair_free(&p);
}
END_TEST

START_TEST(test_wrong_key_both_sides)
{
    struct ash_psk a, b;
    key(&a);
    key(&b);
    struct pair p = {0};
    connect_pair(&p, &a, &b, ASH_CHANNEL_HANDSHAKE_NS);
    for (int i = 0; i < 500 && !(p.client.closed && p.server.closed); i++) {
        bool never = false;
        run_until(&p, &never, 10 * ASH_NS_PER_MS);
    }
    ck_assert(!p.client.open && !p.server.open);
    ck_assert(p.client.closed && p.server.closed);
    ck_assert_msg(strstr(p.server.why.msg, "TLS handshake refused"), "%s", p.server.why.msg);
    ck_assert_msg(strstr(p.client.why.msg, "TLS handshake refused"), "%s", p.client.why.msg);
    ck_assert_int_eq(p.server.n, 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_silent_peer_bounded)
{
    struct ash_psk k;
    key(&k);
    struct pair p = {0};
    listen_local(&p);
    ash_error_t err = {0};
    /* The listener never accepts: the TCP connection is made, the handshake never answered. */
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(ash_channel_connect(p.loop, p.addr, &k, 200 * ASH_NS_PER_MS, &cbs, &p.client, &p.client.ch, &err),
                     0);
    run_until(&p, &p.client.closed, 5 * ASH_NS_PER_S);
    ck_assert(p.client.closed);
    ck_assert_int_ge(ash_now_ns() - t0, 200 * ASH_NS_PER_MS);
    ck_assert_msg(strstr(p.client.why.msg, "did not finish within 0.2s"), "%s", p.client.why.msg);
    pair_free(&p);
}
END_TEST

START_TEST(test_not_hostport)
{
    struct ash_psk k;
    key(&k);
    ash_loop *loop;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct end e = {0};
    ck_assert_int_lt(ash_channel_connect(loop, "no-port", &k, 0, &cbs, &e, &e.ch, &err), 0);
    ck_assert_str_eq(err.msg, "'no-port' is not HOST:PORT (or [IPV6]:PORT)");
    ash_loop_free(loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_fleet");
    TCase *tc = tcase_create("channel");
    tcase_add_test(tc, test_round_trip_many_records);
    tcase_add_test(tc, test_wrong_key_both_sides);
    tcase_add_test(tc, test_silent_peer_bounded);
    tcase_add_test(tc, test_not_hostport);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
