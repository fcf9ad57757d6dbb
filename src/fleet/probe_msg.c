/* The fleet's probe messages: build and check (probe_msg.h). */
#include "fleet/probe_msg.h"
#include "fleet/proto.h"

#include <errno.h>
#include <string.h>

json_t *ash_probe_msg_start(const struct ash_probe_start *s)
{
    return json_pack("{s:s, s:s?, s:I}", "probe", s->probe, "from", s->from, "every_ns", (json_int_t)s->every_ns);
}

static const char *str(const json_t *msg, const char *key)
{
    return json_string_value(json_object_get(msg, key));
}

int ash_probe_msg_start_parse(const json_t *msg, struct ash_probe_start *out, ash_error_t *err)
{
    *out = (struct ash_probe_start){.probe = str(msg, "probe"), .from = str(msg, "from")};
    json_t *every = json_object_get(msg, "every_ns"), *from = json_object_get(msg, "from");
    if (!out->probe || !out->probe[0])
        return ash_error(err, EINVAL, "a '%s' message without the probe's name", ASH_MSG_PROBE);
    /* The origins a probe samples from on a node: a container, a process (its network
     * namespace), or a sandbox host the node's agent built (fleet.hosts). */
    bool typed = out->from && ((strncmp(out->from, "container:", 10) == 0 && out->from[10]) ||
                               (strncmp(out->from, "process:", 8) == 0 && out->from[8]) ||
                               (strncmp(out->from, "host:", 5) == 0 && out->from[5]));
    if (from && !json_is_null(from) && !typed)
        return ash_error(err, EINVAL, "probe '%s': 'from' is container:NAME, process:SELECTOR, host:NAME or absent",
                         out->probe);
    if (!json_is_integer(every))
        return ash_error(err, EINVAL, "probe '%s': 'every_ns' is not an integer", out->probe);
    out->every_ns = (int64_t)json_integer_value(every);
    if (out->every_ns < ASH_PROBE_MSG_EVERY_MIN || out->every_ns > ASH_PROBE_MSG_EVERY_MAX)
        return ash_error(err, ERANGE, "probe '%s': every_ns %lld is outside 1ms..1h", out->probe,
                         (long long)out->every_ns);
    return 0;
}

json_t *ash_probe_msg_sample(const struct ash_fleet_sample *s)
{
    char detail[ASH_PROBE_MSG_DETAIL];
    snprintf(detail, sizeof detail, "%s", s->detail ? s->detail : "");
    /* A cut in the middle of a UTF-8 sequence is not a JSON string: drop the partial one. */
    size_t n = strlen(detail);
    if (n == sizeof detail - 1) {
        size_t k = n;
        while (k > 0 && ((unsigned char)detail[k - 1] & 0xC0) == 0x80)
            k--;
        if (k > 0 && (unsigned char)detail[k - 1] >= 0xC0)
            detail[k - 1] = '\0';
    }
    json_t *m = json_pack("{s:s, s:s, s:I, s:I, s:b, s:s}", "type", ASH_MSG_SAMPLE, "probe", s->probe, "start",
                          (json_int_t)s->start, "end", (json_int_t)s->end, "ok", s->ok, "detail", detail);
    if (m && s->late >= 0 && json_object_set_new(m, "late", json_integer((json_int_t)s->late)) < 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

int ash_probe_msg_sample_parse(const json_t *msg, struct ash_fleet_sample *out, ash_error_t *err)
{
    json_t *start = json_object_get(msg, "start"), *end = json_object_get(msg, "end");
    json_t *ok = json_object_get(msg, "ok"), *detail = json_object_get(msg, "detail");
    json_t *late = json_object_get(msg, "late");
    *out = (struct ash_fleet_sample){.probe = str(msg, "probe"), .late = -1};
    if (!out->probe || !out->probe[0])
        return ash_error(err, EINVAL, "a '%s' message without the probe's name", ASH_MSG_SAMPLE);
    if (!json_is_integer(start) || !json_is_integer(end))
        return ash_error(err, EINVAL, "probe '%s': a sample without integer start and end times", out->probe);
    out->start = (int64_t)json_integer_value(start);
    out->end = (int64_t)json_integer_value(end);
    if (out->start <= 0 || out->end < out->start)
        return ash_error(err, ERANGE, "probe '%s': a sample that ends (%lld) before it starts (%lld), or at 0",
                         out->probe, (long long)out->end, (long long)out->start);
    if (!json_is_boolean(ok))
        return ash_error(err, EINVAL, "probe '%s': a sample whose 'ok' is not true or false", out->probe);
    out->ok = json_is_true(ok);
    if (detail && !json_is_string(detail))
        return ash_error(err, EINVAL, "probe '%s': a sample whose 'detail' is not a string", out->probe);
    out->detail = detail ? json_string_value(detail) : "";
    if (late && (!json_is_integer(late) || json_integer_value(late) < 0))
        return ash_error(err, EINVAL, "probe '%s': a sample whose 'late' is not a count of ns >= 0", out->probe);
    out->late = late ? (int64_t)json_integer_value(late) : -1;
    return 0;
}

json_t *ash_probe_msg_stop(const char *probe)
{
    return json_pack("{s:s}", "probe", probe);
}
