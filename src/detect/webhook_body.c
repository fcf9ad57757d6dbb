/* Detector `webhook`: a POST's body to detections and timeline events (Alertmanager webhook JSON, generic). */
#include "detect/webhook_body.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
        fn(arg, what, detail, status);
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
    fn(arg, ASH_WH_DETECT, detail[0] ? detail : "(empty POST)", NULL);
    return 1;
}

int ash_wh_body_parse(enum ash_wh_format fmt, const char *content_type, const char *body, size_t len,
                      const char *alertname, ash_wh_item_fn fn, void *arg, char *why, size_t why_len)
{
    if (fmt == ASH_WH_ALERTMANAGER)
        return parse_alertmanager(body, len, alertname, fn, arg, why, why_len);
    return parse_generic(content_type, body, len, fn, arg, why, why_len);
}
