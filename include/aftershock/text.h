/* Text from outside (alert names, service output, journals) made safe for a terminal or a log. */
#ifndef AFTERSHOCK_TEXT_H
#define AFTERSHOCK_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Let '\n' through (multi-line messages); otherwise it is escaped as \n too. */
#define ASH_TEXT_KEEP_NEWLINE 0x1u

/* Copy s into out (always NUL-terminated when out_len > 0), escaping what a
 * terminal would act on: C0 controls (\t \n \r and \xHH), DEL (\x7f), C1
 * controls encoded in UTF-8 (\u0080..\u009f) and every byte of an invalid
 * UTF-8 sequence (\xHH: a lone 0x9b is CSI to an 8-bit terminal). Valid UTF-8
 * and backslashes pass unchanged. Returns the length the whole result needs
 * (like snprintf), so out_len <= the result means it was cut (never mid-escape). */
size_t ash_text_escape(char *out, size_t out_len, const char *s, unsigned flags);
/* fputs of the escaped text. */
int ash_text_fputs(FILE *f, const char *s, unsigned flags);
/* fprintf whose whole output is escaped: for messages that quote outside
 * input. Use ASH_TEXT_KEEP_NEWLINE when the format itself ends lines.
 * Returns the formatted length (before escaping), or EOF. */
int ash_text_fprintf(FILE *f, unsigned flags, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
