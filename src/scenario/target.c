/* Target references: parsing "TYPE:NAME", and what each type of target offers. */
#include "scenario/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ash_target_type_names[] = {"(unresolved)", "host", "service", NULL};
const char *const ash_target_old_host[] = {"host", NULL};
const char *const ash_target_old_service[] = {"service", NULL};

int ash_target_ref_parse(const char *text, struct ash_target_ref *ref, char *msg, size_t len)
{
    const char *colon = strchr(text, ':');
    int type = ASH_TARGET_UNRESOLVED;
    const char *name = text;
    if (colon) {
        size_t tl = (size_t)(colon - text);
        for (int i = ASH_TARGET_HOST; ash_target_type_names[i]; i++)
            if (strlen(ash_target_type_names[i]) == tl && strncmp(ash_target_type_names[i], text, tl) == 0)
                type = i;
        if (type == ASH_TARGET_UNRESOLVED) {
            snprintf(msg, len, "unknown target type '%.*s' in '%s': write host:NAME or service:NAME (or a bare NAME)",
                     (int)tl, text, text);
            return -1;
        }
        name = colon + 1;
    }
    if (!*name) {
        snprintf(msg, len, "target '%s' names nothing: write TYPE:NAME, e.g. host:web", text);
        return -1;
    }
    char *dup = strdup(name);
    if (!dup) {
        snprintf(msg, len, "out of memory");
        return -1;
    }
    free(ref->name);
    ref->name = dup;
    ref->type = type;
    return 0;
}

const char *ash_target_ref_str(const struct ash_target_ref *ref, char *buf, size_t len)
{
    if (ref->type > ASH_TARGET_UNRESOLVED && ref->type <= ASH_TARGET_SERVICE)
        snprintf(buf, len, "%s:%s", ash_target_type_names[ref->type], ref->name ? ref->name : "");
    else
        snprintf(buf, len, "%s", ref->name ? ref->name : "");
    return buf;
}

unsigned ash_target_caps(int type)
{
    switch (type) {
    case ASH_TARGET_HOST:
        return ASH_CAP_NETNS | ASH_CAP_CGROUP | ASH_CAP_PROCS | ASH_CAP_FREEZE;
    case ASH_TARGET_SERVICE:
        /* A service shares its host's (or the harness's) network namespace: harming that
         * would harm every other service there too, so a service has no netns of its own. */
        return ASH_CAP_CGROUP | ASH_CAP_PROCS | ASH_CAP_RESTART | ASH_CAP_LAUNCHED;
    }
    return 0;
}

const char *ash_target_cap_name(unsigned cap)
{
    switch (cap) {
    case ASH_CAP_NETNS:
        return "a network namespace of its own";
    case ASH_CAP_CGROUP:
        return "a cgroup";
    case ASH_CAP_PROCS:
        return "processes aftershock can signal";
    case ASH_CAP_FREEZE:
        return "a cgroup aftershock can freeze";
    case ASH_CAP_RESTART:
        return "a way to start it again";
    case ASH_CAP_LAUNCHED:
        return "processes started under aftershock's launcher";
    }
    return "an unknown capability";
}
