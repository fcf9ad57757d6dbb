/* Wall-clock formatting for report anchors and run directory names. */
#include "sys/clock.h"

#include <stdio.h>

void ash_format_iso8601(int64_t wall_ns, char *buf, size_t len)
{
    time_t secs = (time_t)(wall_ns / ASH_NS_PER_S);
    int ms = (int)((wall_ns % ASH_NS_PER_S) / ASH_NS_PER_MS);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ms);
}

void ash_format_stamp(int64_t wall_ns, char *buf, size_t len)
{
    time_t secs = (time_t)(wall_ns / ASH_NS_PER_S);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}
