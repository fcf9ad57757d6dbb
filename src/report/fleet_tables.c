/* A fleet run's section (runs[].fleet) as tables of text: the nodes' clocks,
 * which agent applied each fault with its time bound, and the probes an agent
 * sampled. One builder for report.md and report.html, so the two formats
 * cannot disagree about what a fleet run says. */
#include "report/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static json_t *text(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return json_string(buf);
}

static json_t *dur(const json_t *obj, const char *key, const char *absent)
{
    char buf[64];
    return json_string(ash_report_fmt_dur_or(buf, sizeof buf, obj, key, absent));
}

static json_t *table(const char *title, const char *cols)
{
    json_t *c = json_array();
    const char *s = cols;
    while (*s) { /* '|'-separated column names */
        size_t n = strcspn(s, "|");
        json_array_append_new(c, json_stringn(s, n));
        s += n + (s[n] == '|');
    }
    return json_pack("{s:s, s:o, s:[]}", "title", title, "columns", c, "rows");
}

static void row(json_t *t, json_t *cells)
{
    json_array_append_new(json_object_get(t, "rows"), cells);
}

json_t *ash_report_fleet_tables(const json_t *run, char *intro, size_t len)
{
    const json_t *fl = json_object_get(run, "fleet");
    if (!json_is_object(fl))
        return NULL;
    char a[64], b[64], c[64];
    snprintf(intro, len,
             "Engine %s. Every node's clock is mapped onto the coordinator's; the figures' resolution includes "
             "the largest bound of a fault's time (%s) and of a node probe's sample (%s): %s.",
             ash_report_get_str(fl, "engine", "?"), ash_report_fmt_dur_or(a, sizeof a, fl, "fault_bound_ms", "none"),
             ash_report_fmt_dur_or(b, sizeof b, fl, "probe_bound_ms", "none"),
             ash_report_fmt_dur_or(c, sizeof c, fl, "clock_bound_ms", "none"));
    json_t *out = json_array(), *t;
    size_t i;
    const json_t *x;

    t = table("Nodes", "node|agent|clock offset|offset bound|round trip|clock rounds");
    json_array_foreach(json_object_get(fl, "nodes"), i, x)
    {
        row(t, json_pack("[s, s, o, o, o, o]", ash_report_get_str(x, "node", "?"),
                         json_is_true(json_object_get(x, "connected")) ? "connected" : "not connected",
                         dur(x, "offset_ms", "-"), dur(x, "bound_ms", "-"), dur(x, "rtt_ms", "-"),
                         text("%lld", (long long)json_integer_value(json_object_get(x, "clock_rounds")))));
    }
    json_array_append_new(out, t);

    if (json_array_size(json_object_get(fl, "faults"))) {
        t = table("Faults on nodes", "fault|node|inject time bound|revert time bound");
        json_array_foreach(json_object_get(fl, "faults"), i, x)
        {
            row(t, json_pack("[s, s, o, o]", ash_report_get_str(x, "name", "?"), ash_report_get_str(x, "node", "?"),
                             dur(x, "inject_bound_ms", "not injected"), dur(x, "revert_bound_ms", "not reverted")));
        }
        json_array_append_new(out, t);
    }
    if (json_array_size(json_object_get(fl, "probes"))) {
        t = table("Probes on nodes", "probe|node|from|samples|sample time bound|lost");
        json_array_foreach(json_object_get(fl, "probes"), i, x)
        {
            row(t, json_pack("[s, s, s, o, o, s]", ash_report_get_str(x, "name", "?"),
                             ash_report_get_str(x, "node", "?"), ash_report_get_str(x, "from", "the node"),
                             text("%lld", (long long)json_integer_value(json_object_get(x, "samples"))),
                             dur(x, "bound_ms", "-"), ash_report_get_str(x, "lost", "no")));
        }
        json_array_append_new(out, t);
    }
    return out;
}
