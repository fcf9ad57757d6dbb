/* A probe's samples in a report tree: packed (16 bytes each) or as report.json spells them. */
#include "report/report.h"
#include "sys/clock.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A packed series is a jansson string of raw bytes: this tag, then per sample
 * the start in ns since the run's start and the latency in ns shifted left by
 * one with the verdict in bit 0. The tag starts with 0xff, which is never
 * valid UTF-8, so no string loaded from a report.json can carry it; and
 * json_dumps refuses the string rather than write it as text. Why a string:
 * the tree frees it with the report, whoever holds the report (the CLI keeps
 * every report of a --repeat), with no side table to keep in step; a sample
 * as a jansson array of three numbers was ~190 bytes (issue 19). */
static const char tag[8] = "\xff"
                           "ashser";
#define REC 16

static const char *packed(const json_t *series, size_t *n)
{
    if (!json_is_string(series))
        return NULL;
    size_t len = json_string_length(series);
    const char *v = json_string_value(series);
    if (len < sizeof tag || (len - sizeof tag) % REC != 0 || memcmp(v, tag, sizeof tag) != 0)
        return NULL;
    *n = (len - sizeof tag) / REC;
    return v + sizeof tag;
}

json_t *ash_report_series_pack(size_t n, ash_report_series_fill fill, void *arg)
{
    if (n > (SIZE_MAX - sizeof tag) / REC)
        return NULL;
    size_t len = sizeof tag + n * REC;
    char *buf = malloc(len);
    if (!buf)
        return NULL;
    memcpy(buf, tag, sizeof tag);
    for (size_t i = 0; i < n; i++) {
        int64_t t_ns = 0, lat_ns = 0;
        bool ok = false;
        fill(arg, i, &t_ns, &lat_ns, &ok);
        uint64_t rec[2] = {(uint64_t)t_ns, ((uint64_t)lat_ns << 1) | (ok ? 1u : 0u)};
        memcpy(buf + sizeof tag + i * REC, rec, REC);
    }
    json_t *s = json_stringn_nocheck(buf, len);
    free(buf);
    return s;
}

bool ash_report_series_is_packed(const json_t *series)
{
    size_t n;
    return packed(series, &n) != NULL;
}

size_t ash_report_series_len(const json_t *series)
{
    size_t n = 0;
    if (packed(series, &n))
        return n;
    return json_array_size(series);
}

bool ash_report_series_at(const json_t *series, size_t i, struct ash_report_sample *out)
{
    memset(out, 0, sizeof *out);
    size_t n = 0;
    const char *p = packed(series, &n);
    if (p) {
        if (i >= n)
            return false;
        uint64_t rec[2];
        memcpy(rec, p + i * REC, REC);
        /* The same doubles as the engine's ash_ns_to_ms of the same differences. */
        out->t_ms = ash_ns_to_ms((int64_t)rec[0]);
        out->latency_ms = ash_ns_to_ms((int64_t)(rec[1] >> 1));
        out->has_t = out->has_latency = true;
        out->ok = rec[1] & 1u;
        return true;
    }
    const json_t *s = json_array_get(series, i);
    if (!s)
        return false;
    const json_t *t = json_array_get(s, 0), *lat = json_array_get(s, 1), *ok = json_array_get(s, 2);
    out->has_t = json_is_number(t);
    out->t_ms = out->has_t ? json_number_value(t) : 0;
    out->has_latency = json_is_number(lat);
    out->latency_ms = out->has_latency ? json_number_value(lat) : 0;
    out->ok = json_is_true(ok) || (json_is_integer(ok) && json_integer_value(ok) != 0);
    return true;
}
