/* `aftershock doctor` line format: one capability per line, yes/no, and why. */
#include "sys/doctor_line.h"

#include <stdarg.h>

void ash_doctor_line(FILE *out, const char *what, bool yes, const char *fmt, ...)
{
    fprintf(out, "  %-28s %-3s  ", what, yes ? "yes" : "no");
    va_list ap;
    va_start(ap, fmt);
    /* The check is for gcc: its -fsanitize=undefined makes a path where fmt is NULL
     * and then warns of a null format string there (-Wformat-overflow). */
    if (fmt)
        vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

void ash_doctor_section(FILE *out, const char *name)
{
    fprintf(out, "[%s]\n", name);
}
