/* Tolerant access to report fields and the number formats every renderer shares. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
    if (!json_is_object(inc)) {
        snprintf(buf, len, "-");
        return buf;
    }
    if (!ash_report_get_ms(inc, key, &real)) {
        snprintf(buf, len, "unknown");
        return buf;
    }
    bool has_scale = ash_report_get_ms(inc, "timescale", &scale) && scale > 0;
    if (!ash_report_get_ms(inc, skey, &scaled))
        scaled = has_scale ? real / scale : real;
    char human[48], sh[48];
    ash_report_fmt_dur(human, sizeof human, real);
    const char *assumed = ash_report_incident_basis(report, which) == ASH_BASIS_ASSUMED ? " (assumed)" : "";
    if (!has_scale || scale == 1.0 || real == 0)
        snprintf(buf, len, "%s%s", human, assumed);
    else
        snprintf(buf, len, "%s \u2192 %s at %gx%s", human, ash_report_fmt_dur(sh, sizeof sh, scaled), scale, assumed);
    return buf;
}

const char *ash_report_fmt_dur(char *buf, size_t len, double ms)
{
    const char *sign = ms < 0 ? "-" : "";
    double a = fabs(ms);
    /* Thresholds sit where the rounding of the shorter form would carry into
     * the next unit ("999.6 ms" prints "1.00 s", not "1000 ms"). */
    if (a == 0)
        snprintf(buf, len, "0 ms");
    else if (a < 0.0995)
        snprintf(buf, len, "%s%.3f ms", sign, a);
    else if (a < 0.995)
        snprintf(buf, len, "%s%.2f ms", sign, a);
    else if (a < 9.95)
        snprintf(buf, len, "%s%.1f ms", sign, a);
    else if (a < 999.5)
        snprintf(buf, len, "%s%.0f ms", sign, a);
    else if (a < 9995.0)
        snprintf(buf, len, "%s%.2f s", sign, a / 1000.0);
    else if (a < 59950.0)
        snprintf(buf, len, "%s%.1f s", sign, a / 1000.0);
    else {
        long long s = llround(a / 1000.0);
        long long h = s / 3600, m = (s / 60) % 60, sec = s % 60;
        if (h > 0 && m == 0)
            snprintf(buf, len, "%s%lld h", sign, h);
        else if (h > 0)
            snprintf(buf, len, "%s%lld h %02lld min", sign, h, m);
        else if (sec == 0)
            snprintf(buf, len, "%s%lld min", sign, m);
        else
            snprintf(buf, len, "%s%lld min %02lld s", sign, m, sec);
    }
    return buf;
}

const char *ash_report_fmt_dur_or(char *buf, size_t len, const json_t *obj, const char *key, const char *absent)
{
    double v = 0;
    if (ash_report_get_ms(obj, key, &v))
        return ash_report_fmt_dur(buf, len, v);
    snprintf(buf, len, "%s", absent);
    return buf;
}

const char *ash_report_absent_text(const char *figure)
{
    if (strncmp(figure, "ttd", 3) == 0)
        return "not detected";
    if (strncmp(figure, "ttr", 3) == 0)
        return "not recovered";
    if (strncmp(figure, "impact", 6) == 0)
        return "no impact seen";
    return "not measured";
}

enum ash_report_basis ash_report_incident_basis(const json_t *report, const char *which)
{
    const json_t *inc = json_object_get(report, "incident");
    char key[40];
    snprintf(key, sizeof key, "%s_ms", which);
    if (!ash_report_get_ms(inc, key, NULL))
        return ASH_BASIS_UNKNOWN;
    snprintf(key, sizeof key, "%s_basis", which);
    const char *b = ash_report_get_str(inc, key, "stated");
    if (strcmp(b, "assumed") == 0)
        return ASH_BASIS_ASSUMED;
    /* A figure whose basis says unknown but which has a number is shown as given. */
    return ASH_BASIS_STATED;
}

const char *ash_report_basis_name(enum ash_report_basis b)
{
    switch (b) {
    case ASH_BASIS_STATED:
        return "stated";
    case ASH_BASIS_ASSUMED:
        return "assumed";
    case ASH_BASIS_UNKNOWN:
        return "unknown";
    default:
        return "unknown";
    }
}

struct keyed {
    size_t i;
    double t;
    bool has;
};

static int by_time(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    /* Untimed entries go last; ties keep the stored order (qsort is not stable). */
    if (x->has != y->has)
        return x->has ? -1 : 1;
    if (x->has && x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

size_t *ash_report_time_order(const json_t *arr, const char *key)
{
    size_t n = json_array_size(arr);
    struct keyed *k = malloc((n ? n : 1) * sizeof *k);
    size_t *out = malloc((n ? n : 1) * sizeof *out);
    if (!k || !out) {
        free(k);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        k[i].i = i;
        k[i].has = ash_report_get_ms(json_array_get(arr, i), key, &k[i].t);
    }
    qsort(k, n, sizeof *k, by_time);
    for (size_t i = 0; i < n; i++)
        out[i] = k[i].i;
    free(k);
    return out;
}

json_t *ash_report_actions(const json_t *run)
{
    json_t *all = json_array();
    if (!all)
        return NULL;
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(run, "detections"), i, x)
    {
        if (!json_is_object(x))
            continue;
        json_t *c = json_deep_copy(x);
        json_object_set_new(c, "what", json_string("detection"));
        json_array_append_new(all, c);
    }
    json_array_foreach(json_object_get(run, "remediations"), i, x)
    {
        if (!json_is_object(x))
            continue;
        json_t *c = json_deep_copy(x);
        json_object_set_new(c, "what", json_string("remediation"));
        json_array_append_new(all, c);
    }
    size_t *order = ash_report_time_order(all, "at_ms");
    json_t *sorted = json_array();
    if (!order || !sorted) {
        free(order);
        json_decref(sorted);
        return all;
    }
    for (i = 0; i < json_array_size(all); i++)
        json_array_append(sorted, json_array_get(all, order[i]));
    free(order);
    json_decref(all);
    return sorted;
}

const char *ash_report_fmt_rel(char *buf, size_t len, bool present, double ms)
{
    if (!present) {
        snprintf(buf, len, "-");
        return buf;
    }
    char d[48];
    ash_report_fmt_dur(d, sizeof d, ms);
    snprintf(buf, len, "%s%s", ms > 0 ? "+" : "", ms == 0 ? "0" : d);
    return buf;
}

struct ash_report_limit ash_report_limit_of(const json_t *report, const char *name)
{
    struct ash_report_limit l = {0};
    size_t i, j;
    const json_t *run, *x;
    json_array_foreach(json_object_get(report, "runs"), i, run)
    {
        json_array_foreach(json_object_get(run, "expectations"), j, x)
        {
            if (strcmp(ash_report_get_str(x, "name", ""), name) != 0)
                continue;
            l.runs++;
            l.met += json_is_true(json_object_get(x, "met"));
            if (!l.has_limit)
                l.has_limit = ash_report_get_ms(x, "limit_ms", &l.limit_ms);
        }
    }
    return l;
}

const char *ash_report_fmt_late_tick(char *buf, size_t len, const json_t *tick)
{
    char due[32];
    double late = 0;
    /* The lateness to a tenth of a millisecond: the figure this line is about. */
    bool has = ash_report_get_ms(tick, "late_ms", &late);
    snprintf(buf, len, "probe '%s': the tick due at %s started %.1f ms late: %s",
             ash_report_get_str(tick, "probe", "?"), ash_report_fmt_dur_or(due, sizeof due, tick, "due_ms", "?"),
             has ? late : 0.0, ash_report_get_str(tick, "cause", "?"));
    return buf;
}

void ash_report_put_late_ticks(FILE *f, const json_t *late, const char *before, const char *after,
                               void (*put)(FILE *, const char *))
{
    size_t k;
    const json_t *t;
    json_array_foreach(json_object_get(late, "late_ticks"), k, t)
    {
        if (k == ASH_REPORT_LATE_TICKS_SHOWN)
            break;
        char line[400];
        fputs(before, f);
        put(f, ash_report_fmt_late_tick(line, sizeof line, t));
        fputs(after, f);
    }
}

const char *ash_report_fmt_targets(char *buf, size_t len, const json_t *fault)
{
    size_t off = 0, i;
    const json_t *t;
    buf[0] = '\0';
    json_array_foreach(json_object_get(fault, "targets"), i, t)
    {
        const char *type = ash_report_get_str(t, "type", NULL);
        const char *name = ash_report_get_str(t, "container", ash_report_get_str(t, "name", NULL));
        const char *id = ash_report_get_str(t, "id", NULL);
        const char *node = ash_report_get_str(t, "node", NULL);
        char one[400];
        if (type && id)
            snprintf(one, sizeof one, "%s %s (%s)", type, name ? name : "?", id);
        else if (type)
            snprintf(one, sizeof one, "%s %s", type, name ? name : "?");
        else
            snprintf(one, sizeof one, "%s", name ? name : "");
        if (node)
            snprintf(one + strlen(one), sizeof one - strlen(one), "%snode %s", one[0] ? " on " : "", node);
        int w = off < len ? snprintf(buf + off, len - off, "%s%s", i ? ", " : "", one) : 0;
        off += w > 0 ? (size_t)w : 0;
    }
    if (!buf[0])
        snprintf(buf, len, "-");
    return buf;
}
