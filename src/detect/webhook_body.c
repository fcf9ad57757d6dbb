/* Detector `webhook`: a POST's body to detections and timeline events (Alertmanager webhook JSON, generic). */
#include "detect/webhook_body.h"

#include "sys/clock.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Printable one-line excerpt for the timeline. */
static void excerpt(const char *s, size_t len, char *out, size_t out_len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < out_len; i++)
        out[k++] = (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') ? ' ' : ((unsigned char)s[i] < 0x20 ? '?' : s[i]);
    out[k] = '\0';
}

static const char *jstr(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Alertmanager webhook payload (version 4). */
static int parse_alertmanager(const char *body, size_t len, const char *alertname, ash_wh_item_fn fn, void *arg,
                              char *why, size_t why_len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (!doc) {
        snprintf(why, why_len, "not JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
        return -1;
    }
    json_t *alerts = json_object_get(doc, "alerts");
    if (!json_is_object(doc) || !json_is_array(alerts)) {
        snprintf(why, why_len, "not an Alertmanager webhook payload: no 'alerts' array");
        json_decref(doc);
        return -1;
    }
    const char *group_status = jstr(doc, "status");
    size_t i;
    json_t *a;
    /* All or nothing: every alert is checked before any is acted on. Recording the good
     * ones of a payload we then answer 400 would count a detection the sender was told
     * we refused (and Alertmanager does not resend on a 4xx, so it would not come again). */
    json_array_foreach(alerts, i, a)
    {
        const char *status = jstr(a, "status") ? jstr(a, "status") : group_status;
        if (!json_is_object(a) || !status || !jstr(json_object_get(a, "labels"), "alertname")) {
            snprintf(why, why_len, "alert %zu has no status or no labels.alertname (no alert of this payload recorded)",
                     i);
            json_decref(doc);
            return -1;
        }
    }
    json_array_foreach(alerts, i, a)
    {
        const char *status = jstr(a, "status") ? jstr(a, "status") : group_status;
        const char *name = jstr(json_object_get(a, "labels"), "alertname");
        const char *summary = jstr(json_object_get(a, "annotations"), "summary");
        const char *starts = jstr(a, "startsAt");
        char detail[200];
        snprintf(detail, sizeof detail, "%s%s%s%s%s", name, summary ? ": " : "", summary ? summary : "",
                 starts ? " since " : "", starts ? starts : "");
        enum ash_wh_outcome what = ASH_WH_OTHER_STATUS;
        if (strcmp(status, "firing") == 0)
            what = !alertname || strcmp(alertname, name) == 0 ? ASH_WH_DETECT : ASH_WH_FIRING_OTHER;
        else if (strcmp(status, "resolved") == 0)
            what = ASH_WH_RESOLVED;
        /* Its identity: Alertmanager re-sends a whole group on every change and
         * every repeat_interval, so an alert is known by its fingerprint (else
         * by its labels). */
        char *labels = NULL;
        const char *key = jstr(a, "fingerprint");
        if (!key || !*key)
            key = labels = json_dumps(json_object_get(a, "labels"), JSON_COMPACT | JSON_SORT_KEYS);
        struct ash_wh_item item = {.what = what,
                                   .detail = detail,
                                   .status = status,
                                   .name = name,
                                   .key = key ? key : name,
                                   .starts_at = starts,
                                   .ends_at = jstr(a, "endsAt")};
        int r = fn(arg, &item);
        free(labels);
        if (r < 0) {
            snprintf(why, why_len, "out of memory");
            json_decref(doc);
            return -1;
        }
    }
    int n = (int)json_array_size(alerts);
    json_decref(doc);
    return n;
}

/* Generic: any POST detects; a body that says it is JSON must parse. */
static int parse_generic(const char *content_type, const char *body, size_t len, ash_wh_item_fn fn, void *arg,
                         char *why, size_t why_len)
{
    char detail[160];
    if (content_type && strncasecmp(content_type, "application/json", 16) == 0) {
        json_error_t jerr;
        json_t *doc = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
        if (!doc) {
            snprintf(why, why_len, "Content-Type says JSON but it is not: %s at line %d column %d", jerr.text,
                     jerr.line, jerr.column);
            return -1;
        }
        const char *msg = NULL;
        static const char *const keys[] = {"message", "summary", "text", "alertname", "title"};
        for (size_t i = 0; !msg && i < sizeof keys / sizeof *keys; i++)
            msg = jstr(doc, keys[i]);
        if (msg)
            excerpt(msg, strlen(msg), detail, sizeof detail);
        else
            excerpt(body, len, detail, sizeof detail);
        json_decref(doc);
    } else {
        excerpt(body, len, detail, sizeof detail);
    }
    struct ash_wh_item item = {.what = ASH_WH_DETECT, .detail = detail[0] ? detail : "(empty POST)"};
    if (fn(arg, &item) < 0) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    return 1;
}

int ash_wh_body_parse(enum ash_wh_format fmt, const char *content_type, const char *body, size_t len,
                      const char *alertname, ash_wh_item_fn fn, void *arg, char *why, size_t why_len)
{
    if (fmt == ASH_WH_ALERTMANAGER)
        return parse_alertmanager(body, len, alertname, fn, arg, why, why_len);
    return parse_generic(content_type, body, len, fn, arg, why, why_len);
}

bool ash_wh_rfc3339(const char *s, int64_t *ns, int64_t *precision)
{
    struct tm tm = {0};
    int n = 0;
    if (!s ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) != 6 ||
        tm.tm_year < 1970)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = s + n;
    int64_t frac = 0, prec = ASH_NS_PER_S;
    if (*p == '.') {
        p++;
        for (int digits = 0; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 9) {
                frac = frac * 10 + (*p - '0');
                prec /= 10;
            }
        frac *= prec;
    }
    int64_t offset = 0;
    if (*p == '+' || *p == '-') {
        /* Exactly "+hh:mm": a shorter offset must not move p past the end. */
        for (int k = 1; k <= 5; k++)
            if (k == 3 ? p[k] != ':' : (p[k] < '0' || p[k] > '9'))
                return false;
        int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
        offset = (*p == '-' ? -1 : 1) * ((int64_t)hh * 3600 + mm * 60);
        p += 6;
    } else if (*p == 'Z' || *p == 'z') {
        p++;
    } else {
        return false;
    }
    if (*p)
        return false;
    time_t t = timegm(&tm);
    /* Nanoseconds since 1970 in an int64 end in 2262: a later stamp (a sender
     * can write year 9999) is not one this run can place. */
    if (t == (time_t)-1 || (int64_t)t - offset > INT64_MAX / ASH_NS_PER_S - 1)
        return false;
    *ns = ((int64_t)t - offset) * ASH_NS_PER_S + frac;
    *precision = prec;
    return true;
}
