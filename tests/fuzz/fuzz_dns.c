/* libFuzzer harness: arbitrary bytes as a DNS query to the run's DNS server, over UDP and TCP rules,
 * with fault rules in force. Never a crash; any answer echoes the id, is a response and parses. */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ash_dns *server;

/* Once per process: the records and rules a sandbox run would have. */
static struct ash_dns *setup(void)
{
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ash_dns *d = setup();
    /* The first byte picks the transport and the client; the rest is the message. */
    if (size < 1)
        return 0;
    bool tcp = data[0] & 1;
    struct sockaddr_in from = {.sin_family = AF_INET};
    inet_pton(AF_INET, (data[0] & 2) ? "10.130.0.9" : "10.130.0.8", &from.sin_addr);
    const uint8_t *q = data + 1;
    size_t len = size - 1;
    uint8_t *out = NULL;
    size_t out_len = 0;
    int64_t delay;
    int r = ash_dns_respond(d, q, len, (struct sockaddr *)&from, tcp, &out, &out_len, &delay);
    if (r < 0)
        abort();
    if (r == 1) {
        if (len < 12 || (q[2] & 0x80) || out_len < 12 || out[0] != q[0] || out[1] != q[1] || !(out[2] & 0x80))
            abort(); /* an answer to something that is not a query, or not to this one */
        if (!tcp && out_len > 1232)
            abort(); /* over UDP never more than the largest size we accept */
        ldns_pkt *p = NULL;
        if (ldns_wire2pkt(&p, out, out_len) != LDNS_STATUS_OK)
            abort(); /* garbage out */
        ldns_pkt_free(p);
        free(out);
    }
    return 0;
}
