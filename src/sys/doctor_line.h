/* The one format of `aftershock doctor` lines, shared by every family's doctor function. */
#ifndef ASH_SYS_DOCTOR_LINE_H
#define ASH_SYS_DOCTOR_LINE_H

#include <stdbool.h>
#include <stdio.h>

/* "  WHAT                          yes  REASON" */
void ash_doctor_line(FILE *out, const char *what, bool yes, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "[section]" heading. */
void ash_doctor_section(FILE *out, const char *name);

#endif
