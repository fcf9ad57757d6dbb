/* libFuzzer harness: arbitrary bytes as the stream a TCP client sends the
 * run's DNS server, cut into reads of varying sizes, through the framing the
 * server's TCP reader uses (src/dns/tcp_framing.c): the two-byte length
 * split across reads, several messages in one read, a length of 0, frames
 * of up to 65535 bytes, a stream that ends inside a frame. Every message
 * taken is exactly the next frame of the stream (checked against a parse of
 * the whole stream here), none is missed, the buffer always has room for the
 * next read, and each message's answer passes dns_check_answer.
 * Byte 0: bit 1 picks the client (as in fuzz_dns); byte 1 seeds the read
 * sizes; the rest is the stream. */
#include "dns/tcp_framing.h"
#include "dns_fixture.h"

#include <arpa/inet.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ash_dns_framer framer;

/* The size of the next read: mostly a few bytes (a length prefix split
 * across reads), sometimes whatever fits (several messages at once). */
static size_t next_read(uint32_t *rng, size_t room, size_t left)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 17;
    *rng ^= *rng << 5;
    size_t n = (*rng & 3) == 0 ? room : 1 + (*rng >> 8) % 7;
    if (n > room)
        n = room;
    return n < left ? n : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct ash_dns *d = dns_fixture();
    struct sockaddr_in from = {.sin_family = AF_INET};
    inet_pton(AF_INET, (data[0] & 2) ? "10.130.0.9" : "10.130.0.8", &from.sin_addr);
    uint32_t rng = 0x9e3779b9u ^ data[1];
    const uint8_t *stream = data + 2;
    size_t n = size - 2, got = 0, parsed = 0; /* received so far; frames taken end here */
    memset(&framer, 0, sizeof framer);
    while (got < n) {
        size_t room;
        uint8_t *space = ash_dns_framer_space(&framer, &room);
        if (room == 0)
            abort(); /* a reader with no room would read 0 bytes and take it for a close */
        size_t k = next_read(&rng, room, n - got);
        memcpy(space, stream + got, k);
        ash_dns_framer_filled(&framer, k);
        got += k;
        const uint8_t *msg;
        size_t len;
        while (ash_dns_framer_next(&framer, &msg, &len)) {
            /* The next frame of the stream, as a plain parse of it says. */
            if (parsed + 2 > got)
                abort();
            size_t want = ((size_t)stream[parsed] << 8) | stream[parsed + 1];
            if (len != want || parsed + 2 + len > got || memcmp(msg, stream + parsed + 2, len) != 0)
                abort();
            parsed += 2 + len;
            uint8_t *out = NULL;
            size_t out_len = 0;
            int64_t delay;
            int r = ash_dns_respond(d, msg, len, (struct sockaddr *)&from, true, &out, &out_len, &delay);
            if (r < 0)
                abort();
            if (r == 1) {
                dns_check_answer(msg, len, out, out_len, true);
                free(out);
            }
        }
        /* Nothing complete was left behind, and what is held is the rest. */
        if (got - parsed >= 2 && parsed + 2 + (((size_t)stream[parsed] << 8) | stream[parsed + 1]) <= got)
            abort();
        if (ash_dns_framer_pending(&framer) != got - parsed)
            abort();
    }
    return 0;
}
