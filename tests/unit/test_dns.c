/* The run's DNS server: answers and rules through ash_dns_respond (no root), malformed packets,
 * and every fault answer observed by real clients (getent ahosts, i.e. getaddrinfo) inside sandbox
 * hosts, over UDP and TCP, with truncation, split answers, timeouts, revert and the dns probe. */
#include "dns/dns.h"
#include "env/sandbox.h"
#include "kinds.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "test_util.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- pure answers ---- */

/* ash_dns_respond's answer (*out, malloc'd) to a query for name/type with id
 * and EDNS size (0: none) from client (NULL: 127.0.0.1); its return value. */
static int respond_to(struct ash_dns *d, const char *name, ldns_rr_type t, const char *client, bool tcp, int edns,
                      uint16_t id, uint8_t **out, size_t *out_len, int64_t *delay)
{
    ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), t, LDNS_RR_CLASS_IN, LDNS_RD);
    ck_assert_ptr_nonnull(q);
    ldns_pkt_set_id(q, id);
    if (edns)
        ldns_pkt_set_edns_udp_size(q, (uint16_t)edns);
    uint8_t *wire;
    size_t len;
    ck_assert_int_eq(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
    ldns_pkt_free(q);
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5555)};
    inet_pton(AF_INET, client ? client : "127.0.0.1", &from.sin_addr);
    *out = NULL;
    *out_len = 0;
    int64_t dl = 0;
    int ret = ash_dns_respond(d, wire, len, (struct sockaddr *)&from, tcp, out, out_len, &dl);
    free(wire);
    if (delay)
        *delay = dl;
    return ret;
}

static ldns_pkt *ask(struct ash_dns *d, const char *name, ldns_rr_type t, const char *client, bool tcp, int edns,
                     int64_t *delay, int *ret)
{
    uint8_t *out;
    size_t out_len;
    *ret = respond_to(d, name, t, client, tcp, edns, 4242, &out, &out_len, delay);
    if (*ret != 1)
        return NULL;
    if (!tcp)
        ck_assert_uint_le(out_len, edns > 512 ? (size_t)edns : 512);
    ldns_pkt *a = NULL;
    ck_assert_int_eq(ldns_wire2pkt(&a, out, out_len), LDNS_STATUS_OK);
    free(out);
    ck_assert_uint_eq(ldns_pkt_id(a), 4242);
    ck_assert(ldns_pkt_qr(a));
    return a;
}

static ldns_pkt *ask_a(struct ash_dns *d, const char *name, const char *client)
{
    int ret;
    ldns_pkt *a = ask(d, name, LDNS_RR_TYPE_A, client, false, 0, NULL, &ret);
    ck_assert_int_eq(ret, 1);
    return a;
}

/* The first rdata of the answer section as text ("" if none). */
static void first_answer(const ldns_pkt *a, char *buf, size_t len)
{
    buf[0] = '\0';
    ldns_rr_list *an = ldns_pkt_answer(a);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A || ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA) {
            char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
            snprintf(buf, len, "%s", s);
            free(s);
            return;
        }
    }
}

static struct ash_dns *new_server(void)
{
    struct ash_dns *d;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_dns_new(NULL, &d, &err), 0);
    ck_assert_int_eq(ash_dns_add_record(d, "web", ASH_DNS_A, "10.0.0.5", 30, &err), 0);
    ck_assert_int_eq(ash_dns_add_record(d, "web", ASH_DNS_AAAA, "fd00::5", 30, &err), 0);
    ck_assert_int_eq(ash_dns_add_record(d, "www", ASH_DNS_CNAME, "web", 30, &err), 0);
    ck_assert_int_eq(ash_dns_add_record(d, "_sip._udp.pbx", ASH_DNS_SRV, "10 5 5060 web", 30, &err), 0);
    ck_assert_int_eq(ash_dns_add_record(d, "5.0.0.10.in-addr.arpa", ASH_DNS_PTR, "web", 30, &err), 0);
    for (int i = 0; i < 40; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.1.0.%d", i + 1);
        ck_assert_int_eq(ash_dns_add_record(d, "big", ASH_DNS_A, addr, 30, &err), 0);
    }
    return d;
}

START_TEST(test_answers)
{
    struct ash_dns *d = new_server();
    char got[64];
    int ret;
    ldns_pkt *a = ask_a(d, "WeB", NULL);
    ck_assert_int_eq(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
    ck_assert(ldns_pkt_aa(a));
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.5");
    ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(a), 0)), 30);
    ldns_pkt_free(a);

    a = ask(d, "web", LDNS_RR_TYPE_AAAA, NULL, false, 0, NULL, &ret);
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "fd00::5");
    ldns_pkt_free(a);

    /* CNAME followed: the alias, then the target's address. */
    a = ask_a(d, "www", NULL);
    ck_assert_uint_eq(ldns_pkt_ancount(a), 2);
    ck_assert_int_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(a), 0)), LDNS_RR_TYPE_CNAME);
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.5");
    ldns_pkt_free(a);

    a = ask(d, "_sip._udp.pbx", LDNS_RR_TYPE_SRV, NULL, false, 0, NULL, &ret);
    ck_assert_uint_eq(ldns_pkt_ancount(a), 1);
    char *srv = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_answer(a), 0));
    ck_assert_ptr_nonnull(strstr(srv, "10 5 5060 web."));
    free(srv);
    ldns_pkt_free(a);

    a = ask(d, "5.0.0.10.in-addr.arpa", LDNS_RR_TYPE_PTR, NULL, false, 0, NULL, &ret);
    ck_assert_uint_eq(ldns_pkt_ancount(a), 1);
    ldns_pkt_free(a);

    /* A name with records but not of this type: NOERROR, no data. */
    a = ask(d, "www", LDNS_RR_TYPE_SRV, NULL, false, 0, NULL, &ret);
    ck_assert_int_eq(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
    ldns_pkt_free(a);

    /* Outside the sandbox: REFUSED (no upstream). */
    a = ask_a(d, "example.com", NULL);
    ck_assert_int_eq(ldns_pkt_get_rcode(a), LDNS_RCODE_REFUSED);
    ck_assert_uint_eq(ldns_pkt_ancount(a), 0);
    ldns_pkt_free(a);
    ash_dns_free(d);
}
END_TEST

/* A server with n names h0..h(n-1), A records 10.net.(i / 256).(i % 256). */
static struct ash_dns *server_of_names(int n, int net)
{
    struct ash_dns *d;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_dns_new(NULL, &d, &err), 0);
    for (int i = 0; i < n; i++) {
        char name[16], addr[32];
        snprintf(name, sizeof name, "h%d", i);
        snprintf(addr, sizeof addr, "10.%d.%d.%d", net, i / 256, i % 256);
        ck_assert_int_eq(ash_dns_add_record(d, name, ASH_DNS_A, addr, 30, &err), 0);
    }
    return d;
}

/* Many names: every one is found, and a name's records answer in the order
 * they were added, across the growth of the name index (issue 19). */
START_TEST(test_many_names)
{
    struct ash_dns *d = server_of_names(3000, 2);
    ash_error_t err = {0};
    ck_assert_int_eq(ash_dns_add_record(d, "H7", ASH_DNS_A, "10.9.9.9", 30, &err), 0);
    char got[64];
    ldns_pkt *a = ask_a(d, "h2999", NULL);
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.2.11.183");
    ldns_pkt_free(a);
    a = ask_a(d, "h7", NULL);
    ck_assert_uint_eq(ldns_pkt_ancount(a), 2);
    char *s0 = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(a), 0), 0));
    char *s1 = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(a), 1), 0));
    ck_assert_str_eq(s0, "10.2.0.7");
    ck_assert_str_eq(s1, "10.9.9.9");
    free(s0);
    free(s1);
    ldns_pkt_free(a);
    ck_assert_str_eq(ash_dns_lookup(d, "h1234"), "10.2.4.210");
    ck_assert_ptr_null(ash_dns_lookup(d, "h3000"));
    ash_dns_free(d);
}
END_TEST

/* The raw answer to a query for name/type with id and EDNS size (0: none). */
static size_t raw_answer(struct ash_dns *d, const char *name, ldns_rr_type t, int edns, uint16_t id, uint8_t *buf,
                         size_t cap)
{
    uint8_t *out;
    size_t out_len;
    ck_assert_int_eq(respond_to(d, name, t, NULL, false, edns, id, &out, &out_len, NULL), 1);
    ck_assert_uint_le(out_len, cap);
    memcpy(buf, out, out_len);
    free(out);
    return out_len;
}

/* With faults off, a question asked before is answered from the answer ldns
 * built then (issue 19): the same bytes as a fresh server gives, with the
 * client's id and its own spelling of the name (0x20), for every shape of
 * answer; a record that moves or a fault rule is seen at once. */
START_TEST(test_kept_answers)
{
    static const struct {
        const char *first, *again;
        ldns_rr_type t;
        int edns;
    } cases[] = {
        {"web", "wEB", LDNS_RR_TYPE_A, 0},     {"web", "WEB", LDNS_RR_TYPE_AAAA, 1232},
        {"www", "WwW", LDNS_RR_TYPE_A, 0},     {"_sip._udp.pbx", "_SIP._udp.PBX", LDNS_RR_TYPE_SRV, 0},
        {"nope", "NoPe", LDNS_RR_TYPE_A, 0},   {"5.0.0.10.in-addr.arpa", "5.0.0.10.IN-ADDR.arpa", LDNS_RR_TYPE_PTR, 0},
        {"web", "Web", LDNS_RR_TYPE_MX, 4096},
    };
    struct ash_dns *d = new_server();
    struct ash_dns_stats st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t a[1500], b[1500];
        raw_answer(d, cases[i].first, cases[i].t, cases[i].edns, 7, a, sizeof a);
        ash_dns_get_stats(d, &st);
        uint64_t cached = st.cached;
        size_t la = raw_answer(d, cases[i].again, cases[i].t, cases[i].edns, 0xbeef, a, sizeof a);
        ash_dns_get_stats(d, &st);
        ck_assert_msg(st.cached == cached + 1, "%s: not answered from the kept answer", cases[i].again);
        struct ash_dns *fresh = new_server();
        size_t lb = raw_answer(fresh, cases[i].again, cases[i].t, cases[i].edns, 0xbeef, b, sizeof b);
        ash_dns_free(fresh);
        ck_assert_uint_eq(la, lb);
        ck_assert_msg(memcmp(a, b, la) == 0, "%s: kept answer differs from a fresh one", cases[i].again);
    }
    /* A moved record, and its undo, are answered at once. */
    char got[64];
    ash_error_t err = {0};
    struct ash_dns_undo undo;
    ck_assert_int_eq(ash_dns_move_keep(d, "web", "10.0.0.77", &undo, &err), 0);
    ldns_pkt *p = ask_a(d, "web", NULL);
    first_answer(p, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.77");
    ldns_pkt_free(p);
    ash_dns_move_undo(d, &undo);
    p = ask_a(d, "web", NULL);
    first_answer(p, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.5");
    ldns_pkt_free(p);
    /* So are a new record and a fault rule. */
    ck_assert_int_eq(ash_dns_add_record(d, "nope", ASH_DNS_A, "10.0.0.9", 30, &err), 0);
    p = ask_a(d, "NOPE", NULL);
    first_answer(p, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.9");
    ldns_pkt_free(p);
    const char *names[] = {"web"};
    struct ash_dns_rule r = {
        .names = names, .n_names = 1, .v = {.answer = ASH_DNS_NXDOMAIN}, .probability = 1, .ttl = -1};
    uint64_t id;
    ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
    p = ask_a(d, "web", NULL);
    ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(p);
    /* A fault's answer is kept too, and the rule still counts every query. */
    ash_dns_get_stats(d, &st);
    uint64_t cached = st.cached;
    p = ask_a(d, "WEB", NULL);
    ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(p);
    ash_dns_get_stats(d, &st);
    ck_assert_uint_eq(st.cached, cached + 1);
    ck_assert_uint_eq(ash_dns_rule_asked(d, id), 2);
    /* A newer rule with another verdict for the same name is not answered with the kept one. */
    struct ash_dns_rule w = {
        .names = names, .n_names = 1, .v = {.answer = ASH_DNS_WRONG, .addr = "10.6.6.6"}, .probability = 1, .ttl = 5};
    uint64_t wid;
    ck_assert_int_eq(ash_dns_rule_add(d, &w, &wid, &err), 0);
    for (int i = 0; i < 2; i++) {
        p = ask_a(d, "web", NULL);
        first_answer(p, got, sizeof got);
        ck_assert_str_eq(got, "10.6.6.6");
        ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 5);
        ldns_pkt_free(p);
    }
    ash_dns_rule_remove(d, wid);
    ash_dns_rule_remove(d, id);
    p = ask_a(d, "web", NULL);
    ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    first_answer(p, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.5");
    ldns_pkt_free(p);
    ash_dns_free(d);
}
END_TEST

START_TEST(test_truncation)
{
    struct ash_dns *d = new_server();
    int ret;
    /* 40 A records: about 680 bytes. Plain UDP: 512, so TC and no answers. */
    ldns_pkt *a = ask(d, "big", LDNS_RR_TYPE_A, NULL, false, 0, NULL, &ret);
    ck_assert(ldns_pkt_tc(a));
    ck_assert_uint_eq(ldns_pkt_ancount(a), 0);
    ck_assert_uint_eq(ldns_pkt_qdcount(a), 1);
    ldns_pkt_free(a);
    /* EDNS 1232: fits. */
    a = ask(d, "big", LDNS_RR_TYPE_A, NULL, false, 1232, NULL, &ret);
    ck_assert(!ldns_pkt_tc(a));
    ck_assert_uint_eq(ldns_pkt_ancount(a), 40);
    ldns_pkt_free(a);
    /* TCP: everything. */
    a = ask(d, "big", LDNS_RR_TYPE_A, NULL, true, 0, NULL, &ret);
    ck_assert(!ldns_pkt_tc(a));
    ck_assert_uint_eq(ldns_pkt_ancount(a), 40);
    ldns_pkt_free(a);
    struct ash_dns_stats st;
    ash_dns_get_stats(d, &st);
    ck_assert_uint_eq(st.truncated, 1);
    ash_dns_free(d);
}
END_TEST

/* Rule semantics without sockets: each answer, clients, split, probability, delay, ttl, stale, removal. */
START_TEST(test_rules)
{
    struct ash_dns *d = new_server();
    ash_error_t err = {0};
    const char *names[] = {"w*"};
    char got[64];
    int ret;
    struct {
        enum ash_dns_answer a;
        int rcode;
    } modes[] = {{ASH_DNS_NXDOMAIN, LDNS_RCODE_NXDOMAIN},
                 {ASH_DNS_SERVFAIL, LDNS_RCODE_SERVFAIL},
                 {ASH_DNS_REFUSED, LDNS_RCODE_REFUSED}};
    for (size_t i = 0; i < 3; i++) {
        struct ash_dns_rule r = {
            .names = names, .n_names = 1, .v = {.answer = modes[i].a}, .probability = 1, .ttl = -1};
        uint64_t id;
        ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
        ldns_pkt *a = ask_a(d, "web", NULL);
        ck_assert_int_eq(ldns_pkt_get_rcode(a), modes[i].rcode);
        ldns_pkt_free(a);
        ash_dns_rule_remove(d, id);
        a = ask_a(d, "web", NULL);
        ck_assert_int_eq(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
        ldns_pkt_free(a);
    }
    /* Timeout: no answer at all. */
    struct ash_dns_rule r = {
        .names = names, .n_names = 1, .v = {.answer = ASH_DNS_TIMEOUT}, .probability = 1, .ttl = -1};
    uint64_t id;
    ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
    ck_assert_ptr_null(ask(d, "web", LDNS_RR_TYPE_A, NULL, false, 0, NULL, &ret));
    ck_assert_int_eq(ret, 0);
    ash_dns_rule_remove(d, id);

    /* Wrong address with a TTL and a delay; AAAA has no data meanwhile. */
    r = (struct ash_dns_rule){.names = names,
                              .n_names = 1,
                              .v = {.answer = ASH_DNS_WRONG, .addr = "10.9.9.9"},
                              .probability = 1,
                              .ttl = 0,
                              .delay_ns = 250 * ASH_NS_PER_MS};
    ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
    int64_t delay;
    ldns_pkt *a = ask(d, "web", LDNS_RR_TYPE_A, NULL, false, 0, &delay, &ret);
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.9.9.9");
    ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(a), 0)), 0);
    ck_assert_int_eq(delay, 250 * ASH_NS_PER_MS);
    ldns_pkt_free(a);
    a = ask(d, "web", LDNS_RR_TYPE_AAAA, NULL, false, 0, NULL, &ret);
    ck_assert_int_eq(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
    ck_assert_uint_eq(ldns_pkt_ancount(a), 0);
    ldns_pkt_free(a);
    ash_dns_rule_remove(d, id);

    /* Clients and split: 10.0.0.1 NXDOMAIN, 10.0.0.2 wrong address, others untouched. */
    const char *clients[] = {"10.0.0.1"};
    struct ash_dns_split split[] = {{"10.0.0.2", {.answer = ASH_DNS_WRONG, .addr = "10.7.7.7"}}};
    r = (struct ash_dns_rule){.names = names,
                              .n_names = 1,
                              .clients = clients,
                              .n_clients = 1,
                              .v = {.answer = ASH_DNS_NXDOMAIN},
                              .split = split,
                              .n_split = 1,
                              .probability = 1,
                              .ttl = -1};
    ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
    a = ask_a(d, "web", "10.0.0.1");
    ck_assert_int_eq(ldns_pkt_get_rcode(a), LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(a);
    a = ask_a(d, "web", "10.0.0.2");
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.7.7.7");
    ldns_pkt_free(a);
    a = ask_a(d, "web", "10.0.0.3");
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.5");
    ldns_pkt_free(a);
    ash_dns_rule_remove(d, id);

    /* Probability 0: the rule never takes a query; 100%: always. */
    r = (struct ash_dns_rule){
        .names = names, .n_names = 1, .v = {.answer = ASH_DNS_NXDOMAIN}, .probability = 0, .ttl = -1};
    ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
    for (int i = 0; i < 50; i++) {
        a = ask_a(d, "web", NULL);
        ck_assert_int_eq(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
        ldns_pkt_free(a);
    }
    ash_dns_rule_remove(d, id);

    /* Stale: the host moves while the rule holds; clients keep the old address until revert. */
    r = (struct ash_dns_rule){
        .names = names, .n_names = 1, .v = {.answer = ASH_DNS_STALE}, .probability = 1, .ttl = -1};
    ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
    ck_assert_int_eq(ash_dns_move(d, "web", "10.0.0.6", &err), 0);
    a = ask_a(d, "web", NULL);
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.5");
    ldns_pkt_free(a);
    ash_dns_rule_remove(d, id);
    a = ask_a(d, "web", NULL);
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.6");
    ldns_pkt_free(a);
    /* A stale rule that comes after the move answers the previous address. */
    ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
    a = ask_a(d, "web", NULL);
    first_answer(a, got, sizeof got);
    ck_assert_str_eq(got, "10.0.0.5");
    ldns_pkt_free(a);
    ash_dns_rule_remove(d, id);
    ash_dns_free(d);
}
END_TEST

static int rcode_of(struct ash_dns *d, const char *name, const char *client)
{
    ldns_pkt *a = ask_a(d, name, client);
    int rc = ldns_pkt_get_rcode(a);
    ldns_pkt_free(a);
    return rc;
}

/* Rules with plain names are found by name (rule_index.c), glob rules are
 * tried in turn: together they still decide in the order rules came, newest
 * first, whatever the case of the names. */
START_TEST(test_rules_by_name)
{
    struct ash_dns *d = new_server();
    ash_error_t err = {0};
    const char *plain[] = {"WEB"}, *glob[] = {"w*"}, *twice[] = {"web", "Web"}, *lower[] = {"web"};
    struct ash_dns_rule nx = {
        .names = plain, .n_names = 1, .v = {.answer = ASH_DNS_NXDOMAIN}, .probability = 1, .ttl = -1};
    struct ash_dns_rule sf = {
        .names = glob, .n_names = 1, .v = {.answer = ASH_DNS_SERVFAIL}, .probability = 1, .ttl = -1};
    uint64_t id_nx, id_sf, id_rf, id_cl;
    ck_assert_int_eq(ash_dns_rule_add(d, &nx, &id_nx, &err), 0);
    ck_assert_int_eq(rcode_of(d, "web", NULL), LDNS_RCODE_NXDOMAIN);
    ck_assert_int_eq(rcode_of(d, "www", NULL), LDNS_RCODE_NOERROR);
    ck_assert_int_eq(ash_dns_rule_add(d, &sf, &id_sf, &err), 0); /* newer glob: it decides */
    ck_assert_int_eq(rcode_of(d, "web", NULL), LDNS_RCODE_SERVFAIL);
    struct ash_dns_rule rf = {
        .names = twice, .n_names = 2, .v = {.answer = ASH_DNS_REFUSED}, .probability = 1, .ttl = -1};
    ck_assert_int_eq(ash_dns_rule_add(d, &rf, &id_rf, &err), 0); /* newer plain rule over the glob */
    ck_assert_int_eq(rcode_of(d, "WeB", NULL), LDNS_RCODE_REFUSED);
    ck_assert_uint_eq(ash_dns_rule_asked(d, id_rf), 1); /* its name twice: one query counted once */
    ash_dns_rule_remove(d, id_rf);
    ck_assert_int_eq(rcode_of(d, "web", NULL), LDNS_RCODE_SERVFAIL);
    /* A newer plain rule for another client lets the query through to the older rules. */
    const char *clients[] = {"10.0.0.1"};
    struct ash_dns_rule cl = {.names = lower,
                              .n_names = 1,
                              .clients = clients,
                              .n_clients = 1,
                              .v = {.answer = ASH_DNS_REFUSED},
                              .probability = 1,
                              .ttl = -1};
    ck_assert_int_eq(ash_dns_rule_add(d, &cl, &id_cl, &err), 0);
    ck_assert_int_eq(rcode_of(d, "web", "10.0.0.1"), LDNS_RCODE_REFUSED);
    ck_assert_int_eq(rcode_of(d, "web", "10.0.0.2"), LDNS_RCODE_SERVFAIL);
    ash_dns_rule_remove(d, id_sf);
    ck_assert_int_eq(rcode_of(d, "web", "10.0.0.2"), LDNS_RCODE_NXDOMAIN);
    ash_dns_rule_remove(d, id_nx);
    ck_assert_int_eq(rcode_of(d, "web", "10.0.0.2"), LDNS_RCODE_NOERROR);
    ash_dns_rule_remove(d, id_cl);
    /* Many plain rules for other names change nothing; the one for this name decides. */
    for (int i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof name, "other-%d", i);
        const char *names[] = {name};
        struct ash_dns_rule o = {
            .names = names, .n_names = 1, .v = {.answer = ASH_DNS_NXDOMAIN}, .probability = 1, .ttl = -1};
        uint64_t id;
        ck_assert_int_eq(ash_dns_rule_add(d, &o, &id, &err), 0);
    }
    ck_assert_int_eq(rcode_of(d, "web", NULL), LDNS_RCODE_NOERROR);
    ck_assert_int_eq(rcode_of(d, "other-999", NULL), LDNS_RCODE_NXDOMAIN);
    ck_assert_int_eq(ash_dns_rule_add(d, &nx, &id_nx, &err), 0);
    ck_assert_int_eq(rcode_of(d, "web", NULL), LDNS_RCODE_NXDOMAIN);
    ash_dns_free(d);
}
END_TEST

static uint64_t fnv64(const uint8_t *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Ask for the A record of names h0..h(n-1) (prefix h) twice: the second
 * answers are the same bytes as the first; how many of them were replayed. */
static uint64_t ask_twice(struct ash_dns *d, const char *h, int n)
{
    uint64_t *sum = calloc((size_t)n, sizeof *sum);
    size_t *sum_len = calloc((size_t)n, sizeof *sum_len);
    ck_assert(sum && sum_len);
    struct ash_dns_stats st;
    uint64_t cached = 0;
    for (int pass = 0; pass < 2; pass++) {
        ash_dns_get_stats(d, &st);
        cached = st.cached;
        for (int i = 0; i < n; i++) {
            char name[32];
            uint8_t a[128];
            snprintf(name, sizeof name, "%s%d", h, i);
            size_t len = raw_answer(d, name, LDNS_RR_TYPE_A, 0, 7, a, sizeof a);
            if (pass == 0) {
                sum[i] = fnv64(a, len);
                sum_len[i] = len;
            } else {
                ck_assert_uint_eq(len, sum_len[i]);
                ck_assert_msg(fnv64(a, len) == sum[i], "%s: kept answer differs", name);
            }
        }
    }
    ash_dns_get_stats(d, &st);
    free(sum);
    free(sum_len);
    return st.cached - cached;
}

/* The kept answers follow the zone's size (issue 19): with 5 000 names asked
 * once each, asking them all again is answered from kept answers only, the
 * same bytes (1 024 fixed slots replayed 34 of them). */
START_TEST(test_kept_answers_scale)
{
    struct ash_dns *d = server_of_names(5000, 3);
    ck_assert_uint_eq(ask_twice(d, "h", 5000), 5000);
    ash_dns_free(d);
}
END_TEST

/* More questions than the kept answers' table holds at its largest (256k
 * slots, three quarters used): the table stops growing, answers replace
 * others on their way, and every answer is still the one ldns built, most of
 * them replayed. Names without a record: their answers (REFUSED, outside the
 * zone) are kept too. */
START_TEST(test_kept_answers_full)
{
    struct ash_dns *d = new_server();
    ck_assert_uint_ge(ask_twice(d, "n", 200000), 150000);
    ash_dns_free(d);
}
END_TEST

/* A split fault answers the same question two ways; both answers are kept
 * (a fault's answers have slots of their own), so neither evicts the other. */
START_TEST(test_split_answers_kept)
{
    struct ash_dns *d = new_server();
    ash_error_t err = {0};
    const char *names[] = {"web"};
    struct ash_dns_split split[] = {{"10.0.0.2", {.answer = ASH_DNS_WRONG, .addr = "10.7.7.7"}}};
    struct ash_dns_rule r = {.names = names,
                             .n_names = 1,
                             .v = {.answer = ASH_DNS_CORRECT},
                             .split = split,
                             .n_split = 1,
                             .probability = 1,
                             .ttl = -1};
    uint64_t id;
    ck_assert_int_eq(ash_dns_rule_add(d, &r, &id, &err), 0);
    struct ash_dns_stats st;
    char got[64];
    for (int i = 0; i < 10; i++) {
        ldns_pkt *a = ask_a(d, "web", i % 2 ? "10.0.0.2" : "10.0.0.3");
        first_answer(a, got, sizeof got);
        ck_assert_str_eq(got, i % 2 ? "10.7.7.7" : "10.0.0.5");
        ldns_pkt_free(a);
    }
    ash_dns_get_stats(d, &st);
    ck_assert_uint_eq(st.cached, 8); /* all but the first of each */
    ash_dns_free(d);
}
END_TEST

/* Malformed input: never a crash, never an answer that is not FORMERR/NOTIMP/empty. */
START_TEST(test_malformed)
{
    struct ash_dns *d = new_server();
    static const uint8_t hdr_only_q1[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
    static const uint8_t ptr_loop[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
    static const uint8_t long_label[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 'a', 'b'};
    static const uint8_t response[] = {0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0, 0, 0, 0, 0,
                                       0,    3,    'w',  'e',  'b',  0,    0, 1, 0, 1};
    static const uint8_t two_q[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x02, 0, 0,   0,   0,   0, 0, 3, 'w', 'e',
                                    'b',  0,    0,    1,    0,    1,    3, 'w', 'e', 'b', 0, 0, 1, 0,   1};
    static const uint8_t zero_q[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0};
    static const uint8_t update[] = {0x12, 0x34, 0x28, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0,
                                     0,    3,    'w',  'e',  'b',  0,    0, 6, 0, 1};
    static const uint8_t counts_lie[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0xff, 0xff, 0, 0, 0,
                                         0,    3,    'w',  'e',  'b',  0,    0,    1,    0, 1};
    static const uint8_t runt[] = {0x12, 0x34, 0x01};
    struct {
        const uint8_t *p;
        size_t n;
        bool may_answer;
    } cases[] = {{hdr_only_q1, sizeof hdr_only_q1, true},
                 {ptr_loop, sizeof ptr_loop, true},
                 {long_label, sizeof long_label, true},
                 {response, sizeof response, false},
                 {two_q, sizeof two_q, true},
                 {zero_q, sizeof zero_q, true},
                 {update, sizeof update, true},
                 {counts_lie, sizeof counts_lie, true},
                 {runt, sizeof runt, false},
                 {runt, 0, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *out = NULL;
        size_t out_len;
        int64_t delay;
        int r = ash_dns_respond(d, cases[i].p, cases[i].n, NULL, false, &out, &out_len, &delay);
        ck_assert_msg(r == 0 || r == 1, "case %zu: %d", i, r);
        if (!cases[i].may_answer)
            ck_assert_msg(r == 0, "case %zu answered", i);
        if (r == 1) {
            ldns_pkt *a = NULL;
            ck_assert_int_eq(ldns_wire2pkt(&a, out, out_len), LDNS_STATUS_OK);
            ck_assert_uint_eq(ldns_pkt_id(a), 0x1234);
            int rc = ldns_pkt_get_rcode(a);
            ck_assert_msg(rc == LDNS_RCODE_FORMERR || rc == LDNS_RCODE_NOTIMPL, "case %zu: rcode %d", i, rc);
            ck_assert_uint_eq(ldns_pkt_ancount(a), 0);
            ldns_pkt_free(a);
            free(out);
        }
    }
    /* Random bytes with a query header: any answer is FORMERR/NOTIMP/REFUSED or a real answer to what ldns read. */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        uint8_t buf[96];
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)rand();
        uint8_t *out = NULL;
        size_t out_len;
        int64_t delay;
        int r = ash_dns_respond(d, buf, n, NULL, (i & 1) != 0, &out, &out_len, &delay);
        ck_assert(r == 0 || r == 1);
        if (r == 1) {
            ck_assert(n >= 12 && !(buf[2] & 0x80));
            ck_assert(out_len >= 12 && out[0] == buf[0] && out[1] == buf[1] && (out[2] & 0x80));
            free(out);
        }
    }
    ash_dns_free(d);
}
END_TEST

/* ---- real clients in a sandbox ---- */

static const char scenario_yaml[] =
    "version: 1\n"
    "name: dns-test\n"
    "hosts:\n"
    "  - name: client1\n"
    "  - name: client2\n"
    "  - name: web\n"
    "dns:\n"
    "  records:\n"
    "    - {name: alias, type: CNAME, value: web}\n"
    "    - {name: other, type: A, value: 10.99.0.1}\n"
    "faults:\n"
    "  - {name: nx, kind: dns, names: [web], answer: nxdomain}\n"
    "  - {name: sf, kind: dns, names: [web], answer: servfail}\n"
    "  - {name: rf, kind: dns, names: [web], answer: refused}\n"
    "  - {name: to, kind: dns, names: [web], answer: timeout}\n"
    "  - {name: wrong, kind: dns, names: ['w*'], answer: wrong-address, to: other}\n"
    "  - {name: slow, kind: dns, names: [web], delay: 400ms}\n"
    "  - {name: split, kind: dns, names: [web], split: {client1: nxdomain, client2: correct}}\n"
    "  - {name: only1, kind: dns, names: [web], clients: [client1], answer: wrong-address, to: 10.99.0.2}\n"
    "  - {name: stale, kind: dns, names: [web], answer: stale}\n"
    "probes:\n"
    "  - {name: resolve-web, from: client1, dns: {name: web, expect: web}, timeout: 500ms}\n";

struct world {
    struct ash_scenario *sc;
    struct ash_sandbox *sb;
    struct ash_journal *j;
    ash_loop *loop;
    struct ash_ctx ctx;
    char run[16];
};

static bool setup_world(struct world *w)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (namespaces, links, cgroups)");
        return false;
    }
    if (access("/usr/bin/getent", X_OK) != 0) {
        ash_test_skip("no /usr/bin/getent (libc-bin)");
        return false;
    }
    memset(w, 0, sizeof *w);
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("dns-test.yaml", scenario_yaml, strlen(scenario_yaml), &w->sc, &err) == 0,
                  "%s", err.msg);
    snprintf(w->run, sizeof w->run, "d%05x", (unsigned)getpid() & 0xfffff);
    /* Journaled in the guard's directory: if the test dies, the runner-side
     * teardown removes the hosts (the DNS fault itself lives in this process). */
    ck_assert_msg(ash_journal_open(ash_test_journal_dir, w->run, &w->j, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_sandbox_create(w->sc, w->run, w->j, &w->sb, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_loop_new(&w->loop, &err), 0);
    ck_assert_msg(ash_dns_start(w->loop, w->sb, w->sc, &w->ctx.dns, &err) == 0, "%s", err.msg);
    w->ctx.loop = w->loop;
    w->ctx.sandbox = w->sb;
    w->ctx.scenario = w->sc;
    return true;
}

static void teardown_world(struct world *w)
{
    ash_dns_free(w->ctx.dns);
    ash_loop_free(w->loop);
    ash_sandbox_destroy(w->sb);
    ck_assert_uint_eq(ash_journal_pending(w->j), 0);
    ash_journal_close(w->j, true);
    ash_scenario_free(w->sc);
}

struct child_wait {
    pid_t pid;
    int status;
    bool done;
};

static int64_t poll_child(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct child_wait *c = data;
    if (waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
        c->done = true;
        return ASH_TIMER_DONE;
    }
    return now + 2 * ASH_NS_PER_MS;
}

/* `getent ahosts NAME` inside host `on`, while the loop serves DNS. Returns its exit status. */
static int getent(struct world *w, const char *on, const char *name, char *out, size_t len, int64_t *elapsed_ns)
{
    struct ash_host *h = ash_sandbox_host(w->sb, on);
    ck_assert_ptr_nonnull(h);
    int pfd[2];
    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    int64_t t0 = ash_now_ns();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        if (ash_host_enter(h) < 0)
            _exit(120);
        execl("/usr/bin/getent", "getent", "ahosts", name, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    struct child_wait c = {.pid = pid};
    ash_loop_add_timer(w->loop, ash_now_ns(), poll_child, &c);
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_run_until(w->loop, &c.done, ash_now_ns() + 20 * ASH_NS_PER_S, &err), 0);
    if (!c.done) {
        kill(pid, SIGKILL);
        waitpid(pid, &c.status, 0);
        ck_abort_msg("getent %s on %s did not finish in 20 s", name, on);
    }
    *elapsed_ns = ash_now_ns() - t0;
    ssize_t n = read(pfd[0], out, len - 1);
    out[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    ck_assert(WIFEXITED(c.status));
    ck_assert_int_ne(WEXITSTATUS(c.status), 120);
    return WEXITSTATUS(c.status);
}

static void *inject(struct world *w, const char *fault)
{
    struct ash_fault_spec *f = ash_scenario_fault(w->sc, fault);
    ck_assert_ptr_nonnull(f);
    void *st = NULL;
    ash_error_t err = {0};
    ck_assert_msg(f->kind->inject(&w->ctx, f, &st, &err) == 0, "%s", err.msg);
    return st;
}

static void revert(struct world *w, const char *fault, void *st)
{
    ash_error_t err = {0};
    struct ash_fault_spec *f = ash_scenario_fault(w->sc, fault);
    ck_assert_int_eq(f->kind->revert(&w->ctx, f, st, &err), 0);
}

static const char *addr_of(struct world *w, const char *host)
{
    return ash_host_address(ash_sandbox_host(w->sb, host));
}

/* The truth: every host resolves through the server (its /etc/hosts knows only itself). */
static void expect_correct(struct world *w, const char *on)
{
    char out[4096];
    int64_t t;
    ck_assert_int_eq(getent(w, on, "web", out, sizeof out, &t), 0);
    ck_assert_msg(strstr(out, addr_of(w, "web")) != NULL, "%s: %s", on, out);
}

START_TEST(test_clients_see_each_answer)
{
    struct world w;
    if (!setup_world(&w))
        return;
    char out[4096], path[4200];
    int64_t t;
    /* /etc/hosts holds only localhost and the host's own name. */
    snprintf(path, sizeof path, "%s/hosts", ash_host_etc_dir(ash_sandbox_host(w.sb, "client1")));
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    ck_assert_ptr_null(strstr(out, addr_of(&w, "web")));
    ck_assert_ptr_nonnull(strstr(out, "client1"));

    expect_correct(&w, "client1");
    ck_assert_int_eq(getent(&w, "client1", "alias", out, sizeof out, &t), 0);
    ck_assert_ptr_nonnull(strstr(out, addr_of(&w, "web")));
    /* Outside the sandbox: an error, fast (REFUSED, no upstream). */
    ck_assert_int_eq(getent(&w, "client1", "example.com", out, sizeof out, &t), 2);

    const char *errors[] = {"nx", "sf", "rf"};
    for (size_t i = 0; i < 3; i++) {
        void *st = inject(&w, errors[i]);
        ck_assert_msg(getent(&w, "client1", "web", out, sizeof out, &t) == 2, "%s: %s", errors[i], out);
        ck_assert_str_eq(out, "");
        revert(&w, errors[i], st);
        expect_correct(&w, "client1"); /* revert restores at once */
    }

    void *st = inject(&w, "wrong");
    ck_assert_int_eq(getent(&w, "client2", "web", out, sizeof out, &t), 0);
    ck_assert_msg(strstr(out, "10.99.0.1") && !strstr(out, addr_of(&w, "web")), "%s", out);
    revert(&w, "wrong", st);
    expect_correct(&w, "client2");

    st = inject(&w, "only1");
    ck_assert_int_eq(getent(&w, "client1", "web", out, sizeof out, &t), 0);
    ck_assert_ptr_nonnull(strstr(out, "10.99.0.2"));
    expect_correct(&w, "client2");
    revert(&w, "only1", st);

    /* Split: the two clients get different answers at the same time. */
    st = inject(&w, "split");
    ck_assert_int_eq(getent(&w, "client1", "web", out, sizeof out, &t), 2);
    expect_correct(&w, "client2");
    revert(&w, "split", st);
    expect_correct(&w, "client1");

    /* Stale: web moves while the fault holds; clients keep the old address until revert. */
    const char *old = addr_of(&w, "web");
    st = inject(&w, "stale");
    ash_error_t err = {0};
    ck_assert_int_eq(ash_dns_move(w.ctx.dns, "web", "10.99.0.7", &err), 0);
    ck_assert_int_eq(getent(&w, "client1", "web", out, sizeof out, &t), 0);
    ck_assert_msg(strstr(out, old) && !strstr(out, "10.99.0.7"), "%s", out);
    revert(&w, "stale", st);
    ck_assert_int_eq(getent(&w, "client1", "web", out, sizeof out, &t), 0);
    ck_assert_ptr_nonnull(strstr(out, "10.99.0.7"));
    teardown_world(&w);
}
END_TEST

START_TEST(test_timeouts_measured)
{
    struct world w;
    if (!setup_world(&w))
        return;
    char out[4096];
    int64_t t_fast, t;
    ck_assert_int_eq(getent(&w, "client1", "web", out, sizeof out, &t_fast), 0);
    /* delay: 400ms, answered correctly, no sooner. */
    void *st = inject(&w, "slow");
    ck_assert_int_eq(getent(&w, "client1", "web", out, sizeof out, &t), 0);
    ck_assert_ptr_nonnull(strstr(out, addr_of(&w, "web")));
    ck_assert_int_ge(t, 400 * ASH_NS_PER_MS);
    revert(&w, "slow", st);
    /* timeout: no answer; the generated resolv.conf says timeout:1 attempts:2, so
     * the client gives up after two 1 s waits, not before. */
    st = inject(&w, "to");
    ck_assert_int_eq(getent(&w, "client1", "web", out, sizeof out, &t), 2);
    ck_assert_int_ge(t, 2 * ASH_NS_PER_S);
    printf("test_dns: getent: %.1f ms answered, %.1f ms to give up on a timeout fault\n", ash_ns_to_ms(t_fast),
           ash_ns_to_ms(t));
    revert(&w, "to", st);
    ck_assert_int_eq(getent(&w, "client1", "web", out, sizeof out, &t), 0);
    ck_assert_int_lt(t, ASH_NS_PER_S); /* revert restores at once: no wait */
    teardown_world(&w);
}
END_TEST

/* Truncation with a real client: 40 addresses do not fit 512 bytes; glibc sees TC and asks over TCP. */
START_TEST(test_truncation_real_client)
{
    struct world w;
    if (!setup_world(&w))
        return;
    ash_error_t err = {0};
    for (int i = 0; i < 40; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.98.0.%d", i + 1);
        ck_assert_int_eq(ash_dns_add_record(w.ctx.dns, "big", ASH_DNS_A, addr, 5, &err), 0);
    }
    char out[8192];
    int64_t t;
    ck_assert_int_eq(getent(&w, "client1", "big", out, sizeof out, &t), 0);
    int lines = 0;
    for (char *p = out; (p = strstr(p, " STREAM ")); p++)
        lines++;
    ck_assert_int_eq(lines, 40);
    struct ash_dns_stats s;
    ash_dns_get_stats(w.ctx.dns, &s);
    ck_assert_uint_ge(s.truncated, 1);
    ck_assert_uint_ge(s.tcp_conns, 1);
    teardown_world(&w);
}
END_TEST

struct probe_wait {
    bool done;
    struct ash_sample s;
};

static void probe_done(void *arg, const struct ash_sample *s)
{
    struct probe_wait *p = arg;
    p->s = *s;
    p->done = true;
}

static struct ash_sample sample_once(struct world *w, const struct ash_probe_spec *p, void *state)
{
    struct probe_wait pw = {0};
    ash_error_t err = {0};
    ck_assert_int_eq(p->kind->sample(&w->ctx, p, state, ash_now_ns(), probe_done, &pw, &err), 0);
    ck_assert_int_eq(ash_loop_run_until(w->loop, &pw.done, ash_now_ns() + 5 * ASH_NS_PER_S, &err), 0);
    ck_assert(pw.done);
    return pw.s;
}

START_TEST(test_probe)
{
    struct world w;
    if (!setup_world(&w))
        return;
    const struct ash_probe_spec *p = &w.sc->probes[0];
    void *state = NULL;
    ash_error_t err = {0};
    ck_assert_msg(p->kind->open(&w.ctx, p, &state, &err) == 0, "%s", err.msg);
    struct ash_sample s = sample_once(&w, p, state);
    ck_assert_msg(s.ok, "%s", s.detail);
    ck_assert_int_gt(s.end, s.start);

    void *st = inject(&w, "nx");
    s = sample_once(&w, p, state);
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "NXDOMAIN") != NULL, "%s", s.detail);
    revert(&w, "nx", st);

    st = inject(&w, "wrong");
    s = sample_once(&w, p, state);
    ck_assert(!s.ok);
    ck_assert_msg(strstr(s.detail, "10.99.0.1") != NULL, "%s", s.detail);
    revert(&w, "wrong", st);

    st = inject(&w, "to");
    s = sample_once(&w, p, state);
    ck_assert(!s.ok);
    ck_assert_int_ge(s.end - s.start, 500 * ASH_NS_PER_MS); /* the probe's timeout */
    revert(&w, "to", st);

    s = sample_once(&w, p, state);
    ck_assert_msg(s.ok, "%s", s.detail);
    p->kind->close(&w.ctx, p, state);
    teardown_world(&w);
}
END_TEST

START_TEST(test_parser)
{
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    static const char bad_listen[] = "version: 1\nname: x\ndns: {listen: 'nowhere'}\n";
    ck_assert_int_eq(ash_scenario_load_string("x.yaml", bad_listen, strlen(bad_listen), &sc, &err), -1);
    ck_assert_msg(strstr(err.msg, "x.yaml:3:") && strstr(err.msg, "listen"), "%s", err.msg);
    static const char bad_value[] =
        "version: 1\nname: x\ndns:\n  listen: 127.0.0.1:5353\n  records:\n    - {name: a, type: A, value: web}\n";
    ck_assert_int_eq(ash_scenario_load_string("x.yaml", bad_value, strlen(bad_value), &sc, &err), -1);
    ck_assert_msg(strstr(err.msg, "x.yaml:6:") && strstr(err.msg, "not a valid A value"), "%s", err.msg);
    static const char no_server[] = "version: 1\nname: x\nfaults:\n  - {name: f, kind: dns, names: [a], answer: "
                                    "nxdomain}\n";
    ck_assert_int_eq(ash_scenario_load_string("x.yaml", no_server, strlen(no_server), &sc, &err), -1);
    ck_assert_msg(strstr(err.msg, "DNS server"), "%s", err.msg);
    static const char no_to[] = "version: 1\nname: x\ndns: {listen: '127.0.0.1:0'}\nfaults:\n  - {name: f, kind: "
                                "dns, names: [a], answer: wrong-address}\n";
    ck_assert_int_eq(ash_scenario_load_string("x.yaml", no_to, strlen(no_to), &sc, &err), -1);
    ck_assert_msg(strstr(err.msg, "to:"), "%s", err.msg);
    static const char ok[] = "version: 1\nname: x\ndns:\n  listen: 127.0.0.1:5353\n  records:\n    - {name: "
                             "_sip._udp.pbx, type: SRV, value: '10 5 5060 pbx', ttl: 60}\n    - {name: pbx, type: "
                             "A, value: 127.0.0.1}\n";
    ck_assert_msg(ash_scenario_load_string("x.yaml", ok, strlen(ok), &sc, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(sc->dns.n_records, 2);
    ck_assert_int_eq(sc->dns.records[0].type, ASH_DNS_SRV);
    ck_assert_int_eq(sc->dns.records[0].ttl, 60);
    ck_assert_int_eq(sc->dns.records[1].ttl, ASH_DNS_DEFAULT_TTL);
    ash_scenario_free(sc);
}
END_TEST

/* Port 0: the port UDP picked may be taken for TCP (another program's listener or a
 * connection's local port); the server picks again instead of failing. Made certain
 * in a throw-away namespace whose ephemeral range is 3 ports: TCP holds the first,
 * UDP the second, so UDP's pick is the first (TCP taken) or the third, at random.
 * Eight listens: without the retry all eight pass one time in 256. */
static int port0_retry_child(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        return 2;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    int fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY | O_CLOEXEC);
    if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) < 0 || fd < 0 || write(fd, "40000 40002", 11) != 11)
        return 3;
    close(fd);
    close(s);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sa.sin_port = htons(40000);
    if (bind(t, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(t, 1) < 0)
        return 4;
    sa.sin_port = htons(40001);
    if (bind(u, (struct sockaddr *)&sa, sizeof sa) < 0)
        return 5;
    for (int i = 0; i < 8; i++) {
        ash_loop *loop;
        struct ash_dns *d;
        ash_error_t err = {0};
        if (ash_loop_new(&loop, &err) < 0 || ash_dns_new(loop, &d, &err) < 0)
            return 6;
        if (ash_dns_listen(d, "127.0.0.1", 0, &err) < 0) {
            fprintf(stderr, "listen %d: %s\n", i, err.msg);
            return 7;
        }
        if (ash_dns_port(d) != 40002) {
            fprintf(stderr, "listen %d: port %d, want 40002\n", i, ash_dns_port(d));
            return 8;
        }
        ash_dns_free(d);
        ash_loop_free(loop);
    }
    return 0;
}

START_TEST(test_port0_picks_again)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (a throw-away network namespace)");
        return;
    }
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(port0_retry_child());
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "child died");
    ck_assert_msg(WEXITSTATUS(st) != 2 && WEXITSTATUS(st) != 3, "cannot make the throw-away namespace (%d)",
                  WEXITSTATUS(st));
    ck_assert_msg(WEXITSTATUS(st) == 0, "port 0 listen failed (%d): see stderr", WEXITSTATUS(st));
}
END_TEST

/* Host mode: the server on loopback where dns.listen says, over UDP and TCP (ldns's own client). */
START_TEST(test_host_mode_listen)
{
    static const char yaml[] = "version: 1\nname: x\ndns:\n  listen: 127.0.0.1:0\n  records:\n    - {name: "
                               "backend, type: A, value: 127.0.0.9}\n";
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("x.yaml", yaml, strlen(yaml), &sc, &err) == 0, "%s", err.msg);
    ash_loop *loop;
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct ash_dns *d = NULL;
    ck_assert_msg(ash_dns_start(loop, NULL, sc, &d, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(d);
    int port = ash_dns_port(d);
    ck_assert_int_gt(port, 0);
    /* The client runs in a child (ldns blocks); the loop serves here. */
    for (int tcp = 0; tcp < 2; tcp++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            ldns_resolver *r = ldns_resolver_new();
            ldns_rdf *ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "127.0.0.1");
            ldns_resolver_push_nameserver(r, ns);
            ldns_resolver_set_port(r, (uint16_t)port);
            ldns_resolver_set_usevc(r, tcp != 0);
            ldns_resolver_set_retry(r, 1);
            ldns_pkt *a =
                ldns_resolver_query(r, ldns_dname_new_frm_str("backend."), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
            if (!a || ldns_pkt_ancount(a) != 1)
                _exit(1);
            char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(a), 0), 0));
            _exit(strcmp(s, "127.0.0.9") == 0 ? 0 : 2);
        }
        struct child_wait c = {.pid = pid};
        ash_loop_add_timer(loop, ash_now_ns(), poll_child, &c);
        ck_assert_int_eq(ash_loop_run_until(loop, &c.done, ash_now_ns() + 10 * ASH_NS_PER_S, &err), 0);
        if (!c.done) {
            kill(pid, SIGKILL);
            waitpid(pid, &c.status, 0);
        }
        ck_assert_msg(c.done && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "%s query failed",
                      tcp ? "TCP" : "UDP");
    }
    struct ash_dns_stats s;
    ash_dns_get_stats(d, &s);
    ck_assert_uint_eq(s.tcp_conns, 1);
    ash_dns_free(d);
    ash_loop_free(loop);
    ash_scenario_free(sc);
}
END_TEST

/* Issue 15 item 5: a DNS fault no client asked about harmed nothing and said
 * nothing. Now: a timeline warning once that is known (1 s) and "no effect" at
 * revert; a fault clients did ask about gets neither. */
static char ne_events[8][512], ne_why[512];
static size_t ne_n;
static void ne_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    (void)ctx, (void)t;
    if (ne_n < 8)
        snprintf(ne_events[ne_n++], sizeof ne_events[0], "%s %s", event, detail);
}
static void ne_no_effect(struct ash_ctx *ctx, const char *fault, const char *why)
{
    (void)ctx;
    snprintf(ne_why, sizeof ne_why, "%s: %s", fault, why);
}

START_TEST(test_fault_no_effect)
{
    static const char yaml[] = "version: 1\nname: x\ndns:\n  listen: 127.0.0.1:0\n  records:\n"
                               "    - {name: backend, type: A, value: 127.0.0.9}\nfaults:\n"
                               "  - {name: asked, kind: dns, names: [backend], answer: nxdomain}\n"
                               "  - {name: unasked, kind: dns, names: [nobody-asks], answer: nxdomain}\n";
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("x.yaml", yaml, strlen(yaml), &sc, &err) == 0, "%s", err.msg);
    ash_loop *loop;
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct ash_ctx ctx = {.loop = loop, .scenario = sc, .event = ne_event, .no_effect = ne_no_effect};
    ck_assert_msg(ash_dns_start(loop, NULL, sc, &ctx.dns, &err) == 0, "%s", err.msg);
    const char *names[] = {"asked", "unasked"};
    for (int k = 0; k < 2; k++) {
        ne_n = 0;
        ne_why[0] = '\0';
        struct ash_fault_spec *f = ash_scenario_fault(sc, names[k]);
        void *st = NULL;
        ck_assert_msg(f->kind->inject(&ctx, f, &st, &err) == 0, "%s", err.msg);
        int ret;
        ldns_pkt *a = ask(ctx.dns, "backend.", LDNS_RR_TYPE_A, NULL, false, 0, NULL, &ret);
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(ldns_pkt_get_rcode(a), k == 0 ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_NOERROR);
        ldns_pkt_free(a);
        bool never = false;
        ash_loop_run_until(loop, &never, ash_now_ns() + 1100 * ASH_NS_PER_MS, &err);
        ck_assert_int_eq(f->kind->revert(&ctx, f, st, &err), 0);
        if (k == 0) {
            ck_assert_uint_eq(ne_n, 0);
            ck_assert_str_eq(ne_why, "");
        } else {
            ck_assert_uint_eq(ne_n, 1);
            ck_assert_msg(strstr(ne_events[0], "warning unasked: no client has asked for nobody-asks in 1 s: the "
                                               "fault has had no effect so far"),
                          "%s", ne_events[0]);
            ck_assert_str_eq(ne_why,
                             "unasked: no client asked the run's DNS server for nobody-asks while it was in effect");
        }
    }
    ash_dns_free(ctx.dns);
    ash_loop_free(loop);
    ash_scenario_free(sc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dns");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, ash_test_guard_setup, ash_test_guard_teardown);
    tcase_add_test(tc, test_answers);
    tcase_add_test(tc, test_kept_answers);
    tcase_add_test(tc, test_truncation);
    tcase_add_test(tc, test_many_names);
    tcase_add_test(tc, test_rules);
    tcase_add_test(tc, test_rules_by_name);
    tcase_add_test(tc, test_split_answers_kept);
    tcase_add_test(tc, test_kept_answers_scale);
    tcase_add_test(tc, test_kept_answers_full);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_parser);
    tcase_add_test(tc, test_host_mode_listen);
    tcase_add_test(tc, test_port0_picks_again);
    tcase_add_test(tc, test_fault_no_effect);
    tcase_add_test(tc, test_clients_see_each_answer);
    tcase_add_test(tc, test_timeouts_measured);
    tcase_add_test(tc, test_truncation_real_client);
    tcase_add_test(tc, test_probe);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return ash_test_exit(failed);
}
