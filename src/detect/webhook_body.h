/* Detector `webhook`: what a POST's body says (Alertmanager webhook JSON or any
 * body), parsed and checked without a server, so a fuzzer can drive it. */
#ifndef ASH_DETECT_WEBHOOK_BODY_H
#define ASH_DETECT_WEBHOOK_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ash_wh_format { ASH_WH_ALERTMANAGER, ASH_WH_GENERIC };

/* What one alert of a payload (or one generic POST) means for the run. */
enum ash_wh_outcome {
    ASH_WH_DETECT,       /* a detection: firing (with the wanted alertname, if one is set), or any generic POST */
    ASH_WH_FIRING_OTHER, /* firing with another alertname: a timeline event */
    ASH_WH_RESOLVED,     /* resolved: a timeline event */
    ASH_WH_OTHER_STATUS, /* any other status: a timeline event naming it */
};

/* One item: an alert of a payload, or one generic POST. The strings live until
 * the callback returns. */
struct ash_wh_item {
    enum ash_wh_outcome what;
    const char *detail;    /* one-line summary: alertname, summary, since when; or the generic body's message */
    const char *status;    /* the alert's own status, else the group's; NULL for generic */
    const char *name;      /* labels.alertname; NULL for generic */
    const char *key;       /* the alert's identity: its fingerprint, else its labels as sorted JSON; NULL for generic */
    const char *starts_at; /* RFC 3339 as sent, or NULL */
    const char *ends_at;
};

/* One call per item, in the payload's order. Returns 0, or -1 to stop (out of
 * memory: the parse then fails with that reason). */
typedef int (*ash_wh_item_fn)(void *arg, const struct ash_wh_item *item);

/* Parses body (len bytes; need not end in NUL) as fmt says. content_type (may
 * be NULL) matters to generic only: a body that says it is JSON must parse.
 * alertname (may be NULL): only firing alerts with this name detect. All or
 * nothing: on a malformed body returns -1 with why, having called nothing;
 * otherwise calls fn for every item and returns how many. */
int ash_wh_body_parse(enum ash_wh_format fmt, const char *content_type, const char *body, size_t len,
                      const char *alertname, ash_wh_item_fn fn, void *arg, char *why, size_t why_len);

/* RFC 3339 ("2026-12-06T01:23:45.123456789Z", "...+02:00") to ns since the epoch
 * and the stamp's own precision; false when it is not one, or is before 1970
 * (Go's zero time, year 1, means "no end yet"). */
bool ash_wh_rfc3339(const char *s, int64_t *ns, int64_t *precision);

#endif
