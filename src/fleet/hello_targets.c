/* An agent's hello's targets: built from the engine's list, looked up by the coordinator (hello_targets.h). */
#include "fleet/hello_targets.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A name or an id is kept only at a length an engine gives; a longer one is not a
 * container of it (and would let one entry take the whole budget). */
#define NAME_MAX_BYTES 255

json_t *ash_hello_targets(const char *engine, const json_t *list)
{
    if (!json_is_array(list))
        return NULL;
    json_t *out = json_pack("{s:s, s:[], s:i}", "engine", engine ? engine : "", "containers", "more", 0);
    json_t *arr = json_object_get(out, "containers");
    size_t used = 64 + (engine ? strlen(engine) : 0), more = 0, i;
    const json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (!out || !id || strlen(id) > NAME_MAX_BYTES)
            continue;
        json_t *names = json_array(), *n;
        size_t k, size = strlen(id) + 32;
        json_array_foreach(json_object_get(c, "Names"), k, n)
        {
            const char *s = json_string_value(n);
            if (s && s[0] == '/')
                s++; /* the engine's "/web" is the container "web" */
            if (s && s[0] && strlen(s) <= NAME_MAX_BYTES && json_array_append_new(names, json_string(s)) == 0)
                size += strlen(s) + 4;
        }
        if (used + size > ASH_HELLO_TARGETS_MAX_BYTES) {
            json_decref(names);
            more++;
            continue;
        }
        used += size;
        if (json_array_append_new(arr, json_pack("{s:s, s:o}", "id", id, "names", names)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    if (out && json_object_set_new(out, "more", json_integer((json_int_t)more)) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* "unix:///run/docker.sock" and "/run/docker.sock" name the same engine. */
static const char *socket_of(const char *engine)
{
    return strncmp(engine, "unix://", 7) == 0 ? engine + 7 : engine;
}

static bool hex_prefix(const char *s)
{
    size_t n = strlen(s);
    if (n < 4)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int ash_hello_targets_has(const json_t *hello, const char *endpoint, const char *name)
{
    const json_t *t = json_object_get(hello, "targets");
    const char *engine = json_string_value(json_object_get(t, "engine"));
    const json_t *list = json_object_get(t, "containers");
    if (!engine || !json_is_array(list) || !name || !name[0] || strchr(name, '='))
        return -1; /* no list, or a selector (label=K=V) this look-up does not judge */
    if (endpoint && strcmp(socket_of(endpoint), socket_of(engine)) != 0)
        return -1; /* the target is on another engine than the one the agent listed */
    size_t i, k;
    const json_t *c, *n;
    json_array_foreach(list, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "id"));
        if (id && hex_prefix(name) && strncmp(id, name, strlen(name)) == 0)
            return 1;
        json_array_foreach(json_object_get(c, "names"), k,
                           n) if (json_string_value(n) && strcmp(json_string_value(n), name) == 0) return 1;
    }
    return json_integer_value(json_object_get(t, "more")) > 0 ? -1 : 0;
}

void ash_hello_targets_names(const json_t *hello, char *buf, size_t len)
{
    const json_t *t = json_object_get(hello, "targets");
    size_t i, at = 0;
    const json_t *c;
    buf[0] = '\0';
    json_array_foreach(json_object_get(t, "containers"), i, c)
    {
        const char *n = json_string_value(json_array_get(json_object_get(c, "names"), 0));
        if (!n)
            continue;
        if (at + strlen(n) + 16 >= len) {
            snprintf(buf + at, len - at, "%s...", at ? ", " : "");
            return;
        }
        at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "", n);
    }
    json_int_t more = json_integer_value(json_object_get(t, "more"));
    if (more > 0 && at < len)
        snprintf(buf + at, len - at, " (%lld more)", (long long)more);
}
