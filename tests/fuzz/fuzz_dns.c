/* libFuzzer harness: arbitrary bytes as a DNS query to the run's DNS server, over UDP and TCP rules,
 * with fault rules in force. Never a crash; any answer echoes the id, is a response and parses
 * (dns_fixture.h). The TCP stream's framing: fuzz_dns_tcp.c. */
#include "dns_fixture.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ash_dns *d = dns_fixture();
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
        dns_check_answer(q, len, out, out_len, tcp);
        free(out);
    }
    return 0;
}
