/* libFuzzer harness: arbitrary bytes as the body of a POST to the webhook
 * detector (src/detect/webhook_body.c, what webhook.c's request handler
 * calls). The first byte picks the format, the Content-Type and whether an
 * alertname filter is set; the rest is the body. Never a crash; all or
 * nothing (a refused body records nothing and says why); one item per alert
 * (the alerts array parsed here on its own); details are bounded strings. */
#include "detect/webhook_body.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    int items;
    enum ash_wh_format fmt;
    const char *alertname;
};

static int on_item(void *arg, const struct ash_wh_item *it)
{
    struct seen *s = arg;
    s->items++;
    if (!it->detail || strlen(it->detail) >= 200)
        abort(); /* the timeline gets a bounded detail */
    if (s->fmt == ASH_WH_GENERIC) {
        if (it->what != ASH_WH_DETECT || it->status || it->name || it->key || !it->detail[0])
            abort(); /* any generic POST is one detection, never an empty detail */
        for (const char *p = it->detail; *p; p++)
            if ((unsigned char)*p < 0x20)
                abort(); /* the excerpt is one printable line */
        return 0;
    }
    if (!it->status || !it->name || !it->key || !it->key[0])
        abort(); /* an alert acted on has a status (its own or the group's), a name and an identity */
    bool firing = strcmp(it->status, "firing") == 0;
    if ((it->what == ASH_WH_DETECT || it->what == ASH_WH_FIRING_OTHER) != firing)
        abort();
    if (it->what == ASH_WH_RESOLVED && strcmp(it->status, "resolved") != 0)
        abort();
    /* With a filter, a detection is the wanted alert, named first in its detail. */
    if (it->what == ASH_WH_DETECT && s->alertname &&
        (strcmp(it->name, s->alertname) != 0 || strncmp(it->detail, s->alertname, strlen(s->alertname)) != 0))
        abort();
    /* Whatever a stamp says, reading it stays inside the string and gives a
     * precision that is a power of ten of nanoseconds. */
    int64_t ns, prec;
    if (ash_wh_rfc3339(it->starts_at, &ns, &prec) && (prec < 1 || prec > 1000000000))
        abort();
    if (ash_wh_rfc3339(it->ends_at, &ns, &prec) && (prec < 1 || prec > 1000000000))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct seen s = {.fmt = (data[0] & 1) ? ASH_WH_GENERIC : ASH_WH_ALERTMANAGER,
                     .alertname = (data[0] & 8) ? "HighErrorRate" : NULL};
    const char *ctype = (data[0] & 2) ? "application/json" : (data[0] & 4) ? "text/plain; charset=utf-8" : NULL;
    /* Exactly the body's bytes, no NUL after them: the parser is given a length. */
    size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    if (!body)
        return 0;
    memcpy(body, data + 1, len);
    char why[300] = "";
    int n = ash_wh_body_parse(s.fmt, ctype, body, len, s.alertname, on_item, &s, why, sizeof why);
    if (n < 0) {
        if (s.items != 0 || !why[0] || strlen(why) >= sizeof why)
            abort(); /* refused: nothing recorded, and a reason for the 400 */
    } else if (n != s.items) {
        abort();
    } else if (s.fmt == ASH_WH_GENERIC) {
        if (n != 1)
            abort();
    } else {
        /* Accepted Alertmanager payload: an object whose alerts array had n entries. */
        json_t *doc = json_loadb(body, len, 0, NULL);
        json_t *alerts = json_object_get(doc, "alerts");
        if (!doc || !json_is_array(alerts) || json_array_size(alerts) != (size_t)n)
            abort();
        json_decref(doc);
    }
    free(body);
    return 0;
}
