/* Detector `webhook`: what a POST's body says (Alertmanager webhook JSON or any
 * body), parsed and checked without a server, so a fuzzer can drive it. */
#ifndef ASH_DETECT_WEBHOOK_BODY_H
#define ASH_DETECT_WEBHOOK_BODY_H

#include <stddef.h>

enum ash_wh_format { ASH_WH_ALERTMANAGER, ASH_WH_GENERIC };

/* What one alert of a payload (or one generic POST) means for the run. */
enum ash_wh_outcome {
    ASH_WH_DETECT,       /* a detection: firing (with the wanted alertname, if one is set), or any generic POST */
    ASH_WH_FIRING_OTHER, /* firing with another alertname: a timeline event */
    ASH_WH_RESOLVED,     /* resolved: a timeline event */
    ASH_WH_OTHER_STATUS, /* any other status: a timeline event naming it */
};

/* One call per item, in the payload's order. detail is a one-line summary
 * (alertname, summary, since when; or the generic body's message); status is
 * the alert's status (NULL for generic). Both live until the callback returns. */
typedef void (*ash_wh_item_fn)(void *arg, enum ash_wh_outcome what, const char *detail, const char *status);

/* Parses body (len bytes; need not end in NUL) as fmt says. content_type (may
 * be NULL) matters to generic only: a body that says it is JSON must parse.
 * alertname (may be NULL): only firing alerts with this name detect. All or
 * nothing: on a malformed body returns -1 with why, having called nothing;
 * otherwise calls fn for every item and returns how many. */
int ash_wh_body_parse(enum ash_wh_format fmt, const char *content_type, const char *body, size_t len,
                      const char *alertname, ash_wh_item_fn fn, void *arg, char *why, size_t why_len);

#endif
