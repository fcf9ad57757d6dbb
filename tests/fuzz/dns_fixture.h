/* Shared by the DNS fuzz harnesses: the server with the records and rules a
 * sandbox run would have, and the checks every answer must pass. */
#ifndef ASH_FUZZ_DNS_FIXTURE_H
#define ASH_FUZZ_DNS_FIXTURE_H

#include "dns/dns.h"

#include <ldns/ldns.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Once per process. */
static struct ash_dns *dns_fixture(void)
{
    static struct ash_dns *server;
    if (server)
        return server;
    ash_error_t err = {0};
    if (ash_dns_new(NULL, &server, &err) < 0)
        abort();
    static const struct {
        const char *name;
        int type;
        const char *value;
    } recs[] = {{"web", ASH_DNS_A, "10.130.0.2"},
                {"web", ASH_DNS_AAAA, "fd00::2"},
                {"db", ASH_DNS_A, "10.130.0.3"},
                {"alias", ASH_DNS_CNAME, "web"},
                {"loop1", ASH_DNS_CNAME, "loop2"},
                {"loop2", ASH_DNS_CNAME, "loop1"},
                {"_sip._udp.pbx", ASH_DNS_SRV, "10 5 5060 web"},
                {"2.0.130.10.in-addr.arpa", ASH_DNS_PTR, "web"}};
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++)
        if (ash_dns_add_record(server, recs[i].name, recs[i].type, recs[i].value, 5, &err) < 0)
            abort();
    for (int i = 0; i < 40; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.131.0.%d", i + 1);
        ash_dns_add_record(server, "big", ASH_DNS_A, addr, 5, &err);
    }
    static const char *const names[] = {"d*"};
    static const struct ash_dns_split split[] = {{"10.130.0.9", {.answer = ASH_DNS_NXDOMAIN}}};
    struct ash_dns_rule r = {.names = names,
                             .n_names = 1,
                             .v = {.answer = ASH_DNS_WRONG, .addr = "10.9.9.9"},
                             .split = split,
                             .n_split = 1,
                             .probability = 0.5,
                             .ttl = 0};
    uint64_t id;
    if (ash_dns_rule_add(server, &r, &id, &err) < 0)
        abort();
    return server;
}

/* An answer (ash_dns_respond returned 1) to query q: it echoes the id, is a
 * response, parses, and over UDP is never more than the largest size we accept. */
static void dns_check_answer(const uint8_t *q, size_t len, const uint8_t *out, size_t out_len, bool tcp)
{
    if (len < 12 || (q[2] & 0x80) || out_len < 12 || out[0] != q[0] || out[1] != q[1] || !(out[2] & 0x80))
        abort(); /* an answer to something that is not a query, or not to this one */
    if (!tcp && out_len > 1232)
        abort();
    if (tcp && out_len > 65535)
        abort(); /* must fit the two-byte length of its frame */
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, out, out_len) != LDNS_STATUS_OK)
        abort(); /* garbage out */
    ldns_pkt_free(p);
}

#endif
