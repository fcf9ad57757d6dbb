/* DNS over TCP framing: a two-byte length, then the message (RFC 1035 4.2.2). */
#include "dns/tcp_framing.h"

#include <string.h>

uint8_t *ash_dns_framer_space(struct ash_dns_framer *f, size_t *room)
{
    if (f->start > 0) {
        memmove(f->buf, f->buf + f->start, f->end - f->start);
        f->end -= f->start;
        f->start = 0;
    }
    *room = sizeof f->buf - f->end;
    return f->buf + f->end;
}

void ash_dns_framer_filled(struct ash_dns_framer *f, size_t n)
{
    f->end += n <= sizeof f->buf - f->end ? n : sizeof f->buf - f->end;
}

bool ash_dns_framer_next(struct ash_dns_framer *f, const uint8_t **msg, size_t *len)
{
    size_t have = f->end - f->start;
    if (have < 2)
        return false;
    const uint8_t *p = f->buf + f->start;
    size_t n = ((size_t)p[0] << 8) | p[1];
    if (have < 2 + n)
        return false;
    *msg = p + 2;
    *len = n;
    f->start += 2 + n;
    return true;
}

size_t ash_dns_framer_pending(const struct ash_dns_framer *f)
{
    return f->end - f->start;
}
