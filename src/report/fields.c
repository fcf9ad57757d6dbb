/* Tolerant access to report fields and the number formats every renderer shares. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool ash_report_get_ms(const json_t *obj, const char *key, double *out)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (!isfinite(d))
        return false;
    if (out)
        *out = d;
    return true;
}

const char *ash_report_get_str(const json_t *obj, const char *key, const char *fallback)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : fallback;
}

const char *ash_report_fmt_ms_value(char *buf, size_t len, bool present, double ms)
{
    if (present)
        snprintf(buf, len, "%.3f", ms);
    else
        snprintf(buf, len, "-");
    return buf;
}

const char *ash_report_fmt_ms(char *buf, size_t len, const json_t *obj, const char *key)
{
    double v = 0;
    bool ok = ash_report_get_ms(obj, key, &v);
    return ash_report_fmt_ms_value(buf, len, ok, v);
}

const char *ash_report_fmt_human(char *buf, size_t len, double ms)
{
    const char *sign = ms < 0 ? "-" : "";
    ms = fabs(ms);
    /* Postmortems count whole seconds; below a minute the milliseconds matter. */
    if (ms < 60000.0) {
        snprintf(buf, len, "%s%.3fs", sign, ms / 1000.0);
        return buf;
    }
    long long s = llround(ms / 1000.0);
    long long h = s / 3600, m = (s / 60) % 60, sec = s % 60;
    if (h > 0)
        snprintf(buf, len, "%s%lldh%02lldm%02llds", sign, h, m, sec);
    else
        snprintf(buf, len, "%s%lldm%02llds", sign, m, sec);
    return buf;
}

const char *ash_report_fmt_incident(char *buf, size_t len, const json_t *report, const char *which)
{
    const json_t *inc = json_object_get(report, "incident");
    char key[32], skey[40];
    snprintf(key, sizeof key, "%s_ms", which);
    snprintf(skey, sizeof skey, "scaled_%s_ms", which);
    double real = 0, scaled = 0, scale = 1;
    if (!ash_report_get_ms(inc, key, &real)) {
        snprintf(buf, len, "-");
        return buf;
    }
    bool has_scale = ash_report_get_ms(inc, "timescale", &scale) && scale > 0;
    if (!ash_report_get_ms(inc, skey, &scaled))
        scaled = has_scale ? real / scale : real;
    char human[48];
    ash_report_fmt_human(human, sizeof human, real);
    if (!has_scale || scale == 1.0)
        snprintf(buf, len, "%s", human);
    else
        snprintf(buf, len, "%s \u2192 %.3f s at %gx", human, scaled / 1000.0, scale);
    return buf;
}
