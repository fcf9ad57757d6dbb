/* The Internet checksum (RFC 1071) of a byte run, as the relay finishes a
 * frame's and a benchmark builds an ICMP echo's. */
#ifndef ASH_NET_CSUM_H
#define ASH_NET_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One's complement of the one's-complement sum of p[0..len) as big-endian
 * 16-bit words (an odd last byte padded with zero); store it big-endian. */
static inline uint16_t ash_inet_csum(const unsigned char *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)(p[len - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Finish a checksum the sender's stack left to the device (a frame marked
 * NEEDS_CSUM): the field at p[start + off] holds the pseudo-header's sum, and
 * the checksum of p[start..len) goes there. UDP's field (offset 6; TCP's is
 * 16) cannot hold 0, which means "no checksum" there, so a sum of 0 is
 * written as 0xffff, its other form in one's complement, as the kernel does
 * (CSUM_MANGLED_0). False, and nothing written, when the field lies outside. */
static inline bool ash_inet_csum_finish(unsigned char *p, size_t len, size_t start, size_t off)
{
    if (start > len || off + 2 > len - start)
        return false;
    uint16_t c = ash_inet_csum(p + start, len - start);
    if (c == 0 && off == 6)
        c = 0xffff;
    p[start + off] = (unsigned char)(c >> 8);
    p[start + off + 1] = (unsigned char)c;
    return true;
}

#endif
