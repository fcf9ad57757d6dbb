/* The dns fault's `move`: a scenario moves a name to another address (a host migrated) at the fault's
 * time; `stale` clients keep the old address meanwhile; revert moves it back. Parsed from scenario
 * text and driven through the fault kind against the DNS server's answers (no sockets, no root). */
#include "dns/dns.h"
#include "kinds.h"
#include "scenario/scenario.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first A address the server gives `client` for `name` ("" if none). */
static void answer_for(struct ash_dns *d, const char *name, const char *client, char *got, size_t len)
{
    ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
    ck_assert_ptr_nonnull(q);
    uint8_t *wire, *out = NULL;
    size_t wlen, olen = 0;
    ck_assert_int_eq(ldns_pkt2wire(&wire, q, &wlen), LDNS_STATUS_OK);
    ldns_pkt_free(q);
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5353)};
    inet_pton(AF_INET, client, &from.sin_addr);
    int64_t delay = 0;
    ck_assert_int_eq(ash_dns_respond(d, wire, wlen, (struct sockaddr *)&from, false, &out, &olen, &delay), 1);
    free(wire);
    ldns_pkt *a = NULL;
    ck_assert_int_eq(ldns_wire2pkt(&a, out, olen), LDNS_STATUS_OK);
    free(out);
    got[0] = '\0';
    ldns_rr_list *an = ldns_pkt_answer(a);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(an, i)) == LDNS_RR_TYPE_A) {
            char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(an, i), 0));
            snprintf(got, len, "%s", s);
            free(s);
            break;
        }
    ldns_pkt_free(a);
}

static void expect_answer(struct ash_dns *d, const char *name, const char *client, const char *want)
{
    char got[64];
    answer_for(d, name, client, got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "%s asked for %s: got '%s', want '%s'", client, name, got, want);
}

static const char *const base = "version: 1\n"
                                "name: dns-move\n"
                                "dns:\n"
                                "  listen: \"127.0.0.1:0\"\n"
                                "  records:\n"
                                "    - { name: leader, type: A, value: 10.0.0.5 }\n"
                                "    - { name: new-leader, type: A, value: 10.0.0.6 }\n"
                                "    - { name: alias, type: CNAME, value: leader }\n"
                                "services:\n"
                                "  - name: s\n"
                                "    command: [\"true\"]\n"
                                "faults:\n";

static struct ash_scenario *load(const char *fault, ash_error_t *err)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", base, fault);
    struct ash_scenario *sc = NULL;
    if (ash_scenario_load_string("dns-move.yaml", text, strlen(text), &sc, err) < 0)
        return NULL;
    return sc;
}

static struct ash_dns *server(const struct ash_scenario *sc)
{
    struct ash_dns *d;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_dns_new(NULL, &d, &err), 0);
    ck_assert_msg(ash_dns_add_scenario(d, &sc->dns, &err) == 0, "%s", err.msg);
    return d;
}

START_TEST(move_with_stale_clients)
{
    ash_error_t err = {0};
    struct ash_scenario *sc = load("  - name: migrate\n"
                                   "    kind: dns\n"
                                   "    names: [leader]\n"
                                   "    move: new-leader\n"
                                   "    answer: stale\n"
                                   "    clients: [10.0.0.1]\n",
                                   &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    struct ash_dns *d = server(sc);
    struct ash_ctx ctx = {.dns = d, .scenario = sc};
    const struct ash_fault_spec *f = &sc->faults[0];
    void *state = NULL;
    expect_answer(d, "leader", "10.0.0.1", "10.0.0.5");
    ck_assert_msg(f->kind->inject(&ctx, f, &state, &err) == 0, "%s", err.msg);
    /* Moved for everyone but the stale client, which keeps the address from before the move. */
    expect_answer(d, "leader", "10.0.0.2", "10.0.0.6");
    expect_answer(d, "alias", "10.0.0.2", "10.0.0.6");
    expect_answer(d, "leader", "10.0.0.1", "10.0.0.5");
    expect_answer(d, "new-leader", "10.0.0.1", "10.0.0.6");
    ck_assert_str_eq(ash_dns_lookup(d, "leader"), "10.0.0.6");
    ck_assert_int_eq(f->kind->revert(&ctx, f, state, &err), 0);
    expect_answer(d, "leader", "10.0.0.1", "10.0.0.5");
    expect_answer(d, "leader", "10.0.0.2", "10.0.0.5");
    ash_dns_free(d);
    ash_scenario_free(sc);
}
END_TEST

/* A move alone (no answer rule) to a literal address; a second, later stale fault lags behind it. */
START_TEST(move_alone_then_stale_fault)
{
    ash_error_t err = {0};
    struct ash_scenario *sc = load("  - name: migrate\n"
                                   "    kind: dns\n"
                                   "    names: [leader]\n"
                                   "    move: 10.0.0.9\n"
                                   "  - name: stale-cache\n"
                                   "    kind: dns\n"
                                   "    names: [leader]\n"
                                   "    split: { 10.0.0.1: stale }\n",
                                   &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    struct ash_dns *d = server(sc);
    struct ash_ctx ctx = {.dns = d, .scenario = sc};
    void *mv = NULL, *stale = NULL;
    ck_assert_msg(sc->faults[0].kind->inject(&ctx, &sc->faults[0], &mv, &err) == 0, "%s", err.msg);
    expect_answer(d, "leader", "10.0.0.1", "10.0.0.9");
    ck_assert_msg(sc->faults[1].kind->inject(&ctx, &sc->faults[1], &stale, &err) == 0, "%s", err.msg);
    expect_answer(d, "leader", "10.0.0.1", "10.0.0.5");
    expect_answer(d, "leader", "10.0.0.2", "10.0.0.9");
    /* The fix for the stale cache: everyone sees the move. */
    ck_assert_int_eq(sc->faults[1].kind->revert(&ctx, &sc->faults[1], stale, &err), 0);
    expect_answer(d, "leader", "10.0.0.1", "10.0.0.9");
    ck_assert_int_eq(sc->faults[0].kind->revert(&ctx, &sc->faults[0], mv, &err), 0);
    expect_answer(d, "leader", "10.0.0.1", "10.0.0.5");
    ash_dns_free(d);
    ash_scenario_free(sc);
}
END_TEST

START_TEST(move_rejections)
{
    static const struct {
        const char *fault, *msg;
    } bad[] = {
        {"  - name: m\n    kind: dns\n    names: [\"lead*\"]\n    move: new-leader\n", "not globs"},
        {"  - name: m\n    kind: dns\n    names: [leader]\n    move: nowhere\n", "neither an address nor"},
        {"  - name: m\n    kind: dns\n    names: [ghost]\n    move: 10.0.0.9\n", "'ghost' is not"},
        {"  - name: m\n    kind: dns\n    names: [leader]\n", "move: ADDRESS"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ash_error_t err = {0};
        struct ash_scenario *sc = load(bad[i].fault, &err);
        ck_assert_msg(sc == NULL, "accepted: %s", bad[i].fault);
        ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL, "error '%s' lacks '%s'", err.msg, bad[i].msg);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dns_move");
    TCase *tc = tcase_create("move");
    tcase_add_test(tc, move_with_stale_clients);
    tcase_add_test(tc, move_alone_then_stale_fault);
    tcase_add_test(tc, move_rejections);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
