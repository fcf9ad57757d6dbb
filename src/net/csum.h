/* The Internet checksum (RFC 1071) of a byte run, as the relay finishes a
 * frame's and a benchmark builds an ICMP echo's. */
#ifndef ASH_NET_CSUM_H
#define ASH_NET_CSUM_H

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

#endif
