/* DNS over TCP framing (RFC 1035 4.2.2, RFC 7766 8): every message is preceded
 * by its length in two bytes, big-endian. Bytes in, whole messages out; no
 * sockets, so a fuzzer drives exactly what the server's TCP reader runs. */
#ifndef ASH_DNS_TCP_FRAMING_H
#define ASH_DNS_TCP_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest frame: the two-byte length and a 65535-byte message. */
#define ASH_DNS_FRAME_MAX (2 + 65535)

/* One connection's unread stream. Zeroed is empty. */
struct ash_dns_framer {
    uint8_t buf[ASH_DNS_FRAME_MAX];
    size_t start; /* the first byte not yet taken as part of a message */
    size_t end;   /* one past the last byte received */
};

/* Where the next read goes, and *room, how many bytes fit there. Moves what
 * is left of the stream to the front, so messages taken before are no longer
 * valid. Once ash_dns_framer_next has returned false, *room is at least 1:
 * what is left is an incomplete frame, shorter than the buffer. */
uint8_t *ash_dns_framer_space(struct ash_dns_framer *f, size_t *room);

/* n bytes (at most the room given) were written at the space. */
void ash_dns_framer_filled(struct ash_dns_framer *f, size_t n);

/* The next complete message: true with *msg, pointing inside the framer (valid
 * until the next ash_dns_framer_space), and *len (0 is a message too); false
 * when more bytes are needed for one. */
bool ash_dns_framer_next(struct ash_dns_framer *f, const uint8_t **msg, size_t *len);

/* Bytes received and not yet taken: the start of an incomplete frame. */
size_t ash_dns_framer_pending(const struct ash_dns_framer *f);

#endif
