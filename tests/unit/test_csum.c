/* ash_inet_csum and ash_inet_csum_finish: the Internet checksum against known answers. */
#include "net/csum.h"
#include "test_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1071 section 3's example: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
START_TEST(rfc1071_example)
{
    const unsigned char p[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    ck_assert_uint_eq(ash_inet_csum(p, sizeof p), 0xffff & ~0xddf2);
}
END_TEST

/* An odd last byte counts as the high half of a word padded with zero. */
START_TEST(odd_length)
{
    const unsigned char p[] = {0x00, 0x01, 0xf2};
    ck_assert_uint_eq(ash_inet_csum(p, sizeof p), 0xffff & ~(0x0001 + 0xf200));
}
END_TEST

/* A run carrying its own checksum sums to zero: what a receiver checks. An
 * ICMP echo request (type 8, id 0x1234, sequence 7) with carries to fold. */
START_TEST(carries_fold_and_verify)
{
    unsigned char p[] = {8, 0, 0, 0, 0x12, 0x34, 0x00, 0x07, 0xff, 0xff, 0xff, 0xff};
    uint16_t c = ash_inet_csum(p, sizeof p);
    p[2] = (unsigned char)(c >> 8);
    p[3] = (unsigned char)c;
    ck_assert_uint_eq(ash_inet_csum(p, sizeof p), 0);
}
END_TEST

/* Bytes after the field at `start`, the sum's seed in the field, and the last
 * word chosen so that the whole run sums to 0xffff: its checksum is 0. */
static void zero_sum_run(unsigned char *p, size_t len, size_t start, size_t off)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 37 + 11);
    p[start + off] = 0x5a, p[start + off + 1] = 0xc3; /* the pseudo-header's sum */
    p[len - 2] = p[len - 1] = 0;
    uint16_t c = ash_inet_csum(p + start, len - start);
    p[len - 2] = (unsigned char)(c >> 8), p[len - 1] = (unsigned char)c;
    ck_assert_uint_eq(ash_inet_csum(p + start, len - start), 0);
}

/* Finishing a frame's checksum: the field holds the run's checksum after, so
 * the run and the pseudo-header (its sum was the field's seed) verify to
 * zero together, as the receiver checks them; a UDP sum of 0 is written
 * 0xffff (0 there says "no checksum", and a receiver would take a damaged
 * datagram as good), TCP's as 0. */
START_TEST(finish_writes_the_sum)
{
    unsigned char p[40], q[40 - 14 + 2];
    for (size_t i = 0; i < sizeof p; i++)
        p[i] = (unsigned char)(i * 13 + 5);
    q[sizeof q - 2] = p[14 + 16], q[sizeof q - 1] = p[14 + 17]; /* the seed */
    ck_assert(ash_inet_csum_finish(p, sizeof p, 14, 16));
    memcpy(q, p + 14, sizeof p - 14);
    ck_assert_uint_eq(ash_inet_csum(q, sizeof q), 0);
    ck_assert(!ash_inet_csum_finish(p, sizeof p, 14, 25)); /* the field past the end */
    ck_assert(!ash_inet_csum_finish(p, sizeof p, 41, 0));
}
END_TEST

START_TEST(finish_udp_zero_is_ffff)
{
    unsigned char p[14 + 8 + 12];
    zero_sum_run(p, sizeof p, 14, 6);
    ck_assert(ash_inet_csum_finish(p, sizeof p, 14, 6));
    ck_assert_uint_eq(p[14 + 6] << 8 | p[14 + 7], 0xffff);
    unsigned char t[14 + 20 + 12];
    zero_sum_run(t, sizeof t, 14, 16);
    ck_assert(ash_inet_csum_finish(t, sizeof t, 14, 16));
    ck_assert_uint_eq(t[14 + 16] << 8 | t[14 + 17], 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("csum");
    TCase *tc = tcase_create("inet");
    tcase_add_test(tc, rfc1071_example);
    tcase_add_test(tc, odd_length);
    tcase_add_test(tc, carries_fold_and_verify);
    tcase_add_test(tc, finish_writes_the_sum);
    tcase_add_test(tc, finish_udp_zero_is_ffff);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
