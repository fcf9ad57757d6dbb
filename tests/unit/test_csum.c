/* ash_inet_csum: the Internet checksum against known answers. */
#include "net/csum.h"
#include "test_run.h"

#include <check.h>
#include <stdlib.h>

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

int main(void)
{
    Suite *s = suite_create("csum");
    TCase *tc = tcase_create("inet");
    tcase_add_test(tc, rfc1071_example);
    tcase_add_test(tc, odd_length);
    tcase_add_test(tc, carries_fold_and_verify);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
