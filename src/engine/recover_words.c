/* An undo record in words: each op's `said` text with the record's values put in. */
#include "engine/recover_words.h"

#include "env/target.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char *buf;
    size_t len, off;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->off + 1 >= o->len)
        return;
    size_t room = o->len - o->off - 1;
    if (n > room)
        n = room;
    memcpy(o->buf + o->off, s, n);
    o->off += n;
    o->buf[o->off] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* The target the record was placed on: its "target" identity (or a plain string, such as
 * a table lock's database), or the record itself when it is an identity ("type"). */
static void target_text(struct out *o, const json_t *rec)
{
    const json_t *t = json_object_get(rec, "target");
    if (json_is_string(t)) {
        puts_(o, json_string_value(t));
        return;
    }
    if (!json_is_object(t))
        t = json_object_get(rec, "type") ? rec : NULL;
    char id[400];
    puts_(o, t ? ash_target_identity_text(t, id, sizeof id) : "its target");
}

/* A sandbox record names its network namespace ("" is the run's own); a record of a
 * container or process target names that target. A record with neither (the run's
 * hub and its gateway link, the bridge of runs before the hub, their overlay link)
 * was made in the run's own namespace, which is not named: all recover knows is the
 * namespace it runs in, so that is what it names. */
static void where_text(struct out *o, const json_t *rec)
{
    const json_t *netns = json_object_get(rec, "netns");
    const char *ns = json_string_value(netns);
    const json_t *ino = json_object_get(rec, "netns_ino");
    if (json_is_object(json_object_get(rec, "target"))) {
        puts_(o, "the network namespace of ");
        target_text(o, rec);
    } else if (ns && *ns) {
        puts_(o, "network namespace ");
        puts_(o, ns);
    } else if (!netns) {
        puts_(o, "this network namespace");
    } else if (json_is_integer(ino)) {
        /* "" is the namespace the run's harness was in: the root one on a
         * plain machine, a container's in a fleet agent. Its inode says which. */
        char text[64];
        snprintf(text, sizeof text, "the run's own network namespace (inode %lld)", (long long)json_integer_value(ino));
        puts_(o, text);
    } else {
        puts_(o, "the network namespace recover runs in");
    }
}

/* One cgroup's paths ("v2", "memory", "freezer"), or how many a list ("cgroups") holds. */
static void cgroup_text(struct out *o, const json_t *rec)
{
    const json_t *list = json_object_get(rec, "cgroups");
    if (json_is_array(list)) {
        char n[64];
        snprintf(n, sizeof n, "%zu host cgroup(s)", json_array_size(list));
        puts_(o, n);
        return;
    }
    const json_t *cg = json_is_object(json_object_get(rec, "cgroup")) ? json_object_get(rec, "cgroup") : rec;
    static const char *const keys[] = {"v2", "freezer", "memory", NULL};
    bool any = false;
    for (size_t i = 0; keys[i]; i++) {
        const char *p = json_string_value(json_object_get(cg, keys[i]));
        if (!p || !*p)
            continue;
        if (any)
            puts_(o, " and ");
        puts_(o, p);
        any = true;
    }
    if (!any)
        puts_(o, "(none recorded)");
}

/* The one path a freeze wrote (ash_cgroup_freeze: v2 where mounted, else the v1
 * freezer): a thaw names it, not the memory or cpu paths beside it. */
static void frozen_text(struct out *o, const json_t *rec)
{
    const char *v2 = json_string_value(json_object_get(rec, "v2"));
    const char *frz = json_string_value(json_object_get(rec, "freezer"));
    puts_(o, v2 && *v2 ? v2 : frz && *frz ? frz : "(none recorded)");
}

static void value_text(struct out *o, const json_t *v, size_t max)
{
    char num[32];
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        put(o, s, max && strlen(s) > max ? max : strlen(s));
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        puts_(o, num);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (i)
                puts_(o, json_is_string(item) ? " " : ", ");
            value_text(o, item, 0);
        }
    } else {
        puts_(o, "?");
    }
}

static void render(struct out *o, const char *said, const json_t *rec)
{
    for (const char *p = said; *p;) {
        const char *open = strchr(p, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            puts_(o, p);
            return;
        }
        put(o, p, (size_t)(open - p));
        char key[64];
        size_t kn = (size_t)(close - open - 1);
        snprintf(key, sizeof key, "%.*s", (int)(kn < sizeof key ? kn : sizeof key - 1), open + 1);
        size_t max = 0;
        char *colon = strchr(key, ':');
        if (colon) {
            *colon = '\0';
            max = (size_t)atoi(colon + 1);
        }
        if (strcmp(key, "target") == 0)
            target_text(o, rec);
        else if (strcmp(key, "where") == 0)
            where_text(o, rec);
        else if (strcmp(key, "cgroup") == 0)
            cgroup_text(o, rec);
        else if (strcmp(key, "frozen") == 0)
            frozen_text(o, rec);
        else
            value_text(o, json_object_get(rec, key), max);
        p = close + 1;
    }
}

const char *ash_undo_words(const struct ash_undo_op *u, const char *op, const json_t *rec, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    if (len)
        buf[0] = '\0';
    const char *why = json_string_value(json_object_get(rec, "nothing_to_undo"));
    if (why) {
        /* The undo found the harm already gone: say what was not done, and why. */
        puts_(&o, "nothing to undo for ");
        puts_(&o, op);
        puts_(&o, " on ");
        where_text(&o, rec);
        puts_(&o, ": ");
        puts_(&o, why);
        return buf;
    }
    if (!u || !u->said) {
        puts_(&o, "undid ");
        puts_(&o, op);
        return buf;
    }
    render(&o, u->said, rec);
    return buf;
}
