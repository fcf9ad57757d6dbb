/* ash_text_escape and friends: what a terminal would act on is escaped, text is not. */
#include "test_run.h"
#include <aftershock/text.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *esc(const char *s, unsigned flags)
{
    static char out[512];
    size_t n = ash_text_escape(out, sizeof out, s, flags);
    ck_assert_uint_eq(n, strlen(out));
    return out;
}

START_TEST(controls_are_escaped)
{
    /* The alert name: clear screen, retitle the window, bell, carriage return. */
    ck_assert_str_eq(esc("\x1b[2J\x1b]0;pwned\x07\r", 0), "\\x1b[2J\\x1b]0;pwned\\x07\\r");
    ck_assert_str_eq(esc("a\tb\nc", 0), "a\\tb\\nc");
    ck_assert_str_eq(esc("a\nb\n", ASH_TEXT_KEEP_NEWLINE), "a\nb\n");
    ck_assert_str_eq(esc("a\rb", ASH_TEXT_KEEP_NEWLINE), "a\\rb");
    ck_assert_str_eq(esc("\x01\x1f\x7f", 0), "\\x01\\x1f\\x7f");
}
END_TEST

START_TEST(utf8_passes_c1_and_invalid_do_not)
{
    ck_assert_str_eq(esc("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\xa5", 0), "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\xa5");
    /* C1 controls: as UTF-8 (U+009B, CSI) and as the raw 8-bit byte. */
    ck_assert_str_eq(esc("x\xc2\x9b"
                         "31m",
                         0),
                     "x\\u009b31m");
    ck_assert_str_eq(esc("x\x9b"
                         "31m",
                         0),
                     "x\\x9b31m");
    ck_assert_str_eq(esc("\xc2\xa0", 0), "\xc2\xa0"); /* U+00A0 is text */
    /* Overlong, surrogate, above U+10FFFF, truncated sequences: byte by byte. */
    ck_assert_str_eq(esc("\xc0\xaf", 0), "\\xc0\\xaf");
    ck_assert_str_eq(esc("\xed\xa0\x80", 0), "\\xed\\xa0\\x80");
    ck_assert_str_eq(esc("\xf4\x90\x80\x80", 0), "\\xf4\\x90\\x80\\x80");
    ck_assert_str_eq(esc("ab\xe2\x86", 0), "ab\\xe2\\x86");
    ck_assert_str_eq(esc("plain text, back\\slash", 0), "plain text, back\\slash");
    ck_assert_str_eq(esc("", 0), "");
    ck_assert_str_eq(esc(NULL, 0), "");
}
END_TEST

START_TEST(cut_at_a_whole_escape)
{
    char out[6];
    size_t n = ash_text_escape(out, sizeof out,
                               "ab\x1b"
                               "cd",
                               0);
    ck_assert_uint_eq(n, strlen("ab\\x1bcd"));
    ck_assert_str_eq(out, "ab"); /* "\x1b" did not fit whole: never half an escape */
    ck_assert_uint_eq(ash_text_escape(out, 0, "abc", 0), 3);
}
END_TEST

START_TEST(streams)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(ash_text_fputs(f, "a\x07", 0), 0);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    /* Longer than the stack buffer of ash_text_fprintf: the heap path. */
    ck_assert_int_eq(ash_text_fprintf(f, ASH_TEXT_KEEP_NEWLINE, "[%s] %s\x1b\n", "t", big), 4 + 2999 + 2);
    fclose(f);
    ck_assert_uint_eq(len, 5 + 4 + 2999 + 5);
    ck_assert_int_eq(strncmp(buf, "a\\x07[t] x", 10), 0);
    ck_assert_str_eq(buf + len - 5, "\\x1b\n");
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, controls_are_escaped);
    tcase_add_test(tc, utf8_passes_c1_and_invalid_do_not);
    tcase_add_test(tc, cut_at_a_whole_escape);
    tcase_add_test(tc, streams);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
