/* Target references: parsing "TYPE:NAME", and what each type of target offers. */
#include "scenario/target.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ash_target_type_names[] = {"(unresolved)", "host",   "service", "container",
                                             "process",      "cgroup", "pod",     NULL};
const char *const ash_target_old_host[] = {"host", NULL};
const char *const ash_target_old_service[] = {"service", NULL};

const char ash_target_resolved_node[] = "(resolved by the run)";

bool ash_target_node_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n < 128 && name[0] != '.' && name[0] != '-' && name[0] != '_' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* "node:NODE/REST": the node, then REST as a target of that node. */
static int parse_node_prefix(const char *text, struct ash_target_ref *ref, char *msg, size_t len)
{
    const char *slash = strchr(text + 5, '/');
    if (!slash) {
        snprintf(msg, len, "target '%s': write node:NODE/TYPE:NAME, e.g. node:b/container:web", text);
        return -1;
    }
    char node[128];
    size_t nl = (size_t)(slash - (text + 5));
    if (nl >= sizeof node) {
        snprintf(msg, len, "target '%s': a node's name has at most 127 characters", text);
        return -1;
    }
    memcpy(node, text + 5, nl);
    node[nl] = '\0';
    if (!ash_target_node_name_ok(node)) {
        snprintf(msg, len, "target '%s': node '%s' is not a node name ([A-Za-z0-9][A-Za-z0-9_.-]*)", text, node);
        return -1;
    }
    if (strncmp(slash + 1, "node:", 5) == 0) {
        snprintf(msg, len, "target '%s' names two nodes", text);
        return -1;
    }
    if (ash_target_ref_parse(slash + 1, ref, msg, len) < 0)
        return -1;
    char *dup = strdup(node);
    if (!dup) {
        snprintf(msg, len, "out of memory");
        return -1;
    }
    free(ref->node);
    ref->node = dup;
    return 0;
}

int ash_target_ref_parse(const char *text, struct ash_target_ref *ref, char *msg, size_t len)
{
    if (strncmp(text, "node:", 5) == 0)
        return parse_node_prefix(text, ref, msg, len);
    const char *colon = strchr(text, ':');
    int type = ASH_TARGET_UNRESOLVED;
    const char *name = text;
    if (colon) {
        size_t tl = (size_t)(colon - text);
        for (int i = ASH_TARGET_HOST; ash_target_type_names[i]; i++)
            if (strlen(ash_target_type_names[i]) == tl && strncmp(ash_target_type_names[i], text, tl) == 0)
                type = i;
        if (type == ASH_TARGET_UNRESOLVED) {
            snprintf(msg, len,
                     "unknown target type '%.*s' in '%s': write host:NAME, service:NAME, container:NAME, "
                     "process:pid=N, cgroup:PATH, pod:NAMESPACE/POD[/CONTAINER] (or a bare NAME)",
                     (int)tl, text, text);
            return -1;
        }
        name = colon + 1;
    }
    if (!*name) {
        snprintf(msg, len, "target '%s' names nothing: write TYPE:NAME, e.g. host:web", text);
        return -1;
    }
    if (type >= ASH_TARGET_CONTAINER && ash_target_selector_check(type, name, msg, len) < 0)
        return -1;
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

int ash_target_proc_selector(const char *name, enum ash_proc_sel *sel, const char **value)
{
    static const struct {
        const char *key;
        enum ash_proc_sel sel;
    } keys[] = {{"pid=", ASH_PSEL_PID}, {"pidfile=", ASH_PSEL_PIDFILE}, {"exe=", ASH_PSEL_EXE}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strncmp(name, keys[i].key, strlen(keys[i].key)) == 0) {
            *sel = keys[i].sel;
            *value = name + strlen(keys[i].key);
            return **value ? 0 : -1;
        }
    return -1;
}

const char *ash_target_container_label(const char *name)
{
    return strncmp(name, "label=", 6) == 0 ? name + 6 : NULL;
}

int ash_target_label_term_check(const char *term, size_t n, char *msg, size_t len)
{
    if (n == 0 || term[0] == '=')
        return snprintf(msg, len, "'%.*s' names no label key: write KEY or KEY=VALUE", (int)n, term), -1;
    /* The engine's filter takes a key or key=value; a ',' would split the selector. */
    if (memchr(term, ',', n))
        return snprintf(msg, len, "'%.*s': a label (key or value) with ',' cannot be selected here", (int)n, term), -1;
    return 0;
}

int ash_target_label_check(const char *labels, char *msg, size_t len)
{
    int i = 1;
    for (const char *t = labels;; i++) {
        const char *comma = strchr(t, ',');
        size_t n = comma ? (size_t)(comma - t) : strlen(t);
        char why[200];
        if (ash_target_label_term_check(t, n, why, sizeof why) < 0) {
            if (i == 1 && !comma) /* the one label */
                return snprintf(msg, len, "container:label=%s: write label=KEY or label=KEY=VALUE", labels), -1;
            return snprintf(msg, len, "container:label=%s: label %d: %s (several, all required: label=K1=V1,K2=V2)",
                            labels, i, why),
                   -1;
        }
        if (!comma)
            return 0;
        t = comma + 1;
    }
}

int ash_target_selector_check(int type, const char *name, char *msg, size_t len)
{
    switch (type) {
    case ASH_TARGET_CONTAINER: {
        const char *label = ash_target_container_label(name);
        if (label && ash_target_label_check(label, msg, len) < 0)
            return -1;
        /* Docker's names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, ids are hex; a leading '/' is how the API spells a name. */
        const char *n = *name == '/' ? name + 1 : name;
        if (!label &&
            (!*n || strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(n)))
            return snprintf(msg, len,
                            "container:%s: a container is named by its name or id ([a-zA-Z0-9_.-]) or by "
                            "label=KEY=VALUE",
                            name),
                   -1;
        return 0;
    }
    case ASH_TARGET_PROCESS: {
        enum ash_proc_sel sel;
        const char *v;
        if (ash_target_proc_selector(name, &sel, &v) < 0)
            return snprintf(msg, len, "process:%s: write process:pid=N, process:pidfile=PATH or process:exe=PATH",
                            name),
                   -1;
        if (sel == ASH_PSEL_PID) {
            char *end;
            long pid = strtol(v, &end, 10);
            if (*end || pid <= 1)
                return snprintf(msg, len, "process:pid=%s: a pid is a number above 1 (pid 1 is the machine's init)", v),
                       -1;
        } else if (*v != '/') {
            return snprintf(msg, len, "process:%s: the path must be absolute", name), -1;
        }
        return 0;
    }
    case ASH_TARGET_CGROUP:
        /* Relative to the hierarchy root, and never the root itself: that is every process. */
        if (*name == '/')
            name++;
        if (!*name || strstr(name, "..") || strcmp(name, ".") == 0)
            return snprintf(msg, len,
                            "cgroup:%s: name a cgroup below the hierarchy root, e.g. cgroup:system.slice/foo.service",
                            name),
                   -1;
        return 0;
    case ASH_TARGET_POD: {
        struct ash_pod_sel sel;
        return ash_target_pod_selector(name, &sel, msg, len);
    }
    default:
        return 0;
    }
}

/* A DNS label (RFC 1123) of at most max characters: what Kubernetes allows for a
 * namespace and a container name; a pod name may also have dots (a subdomain). */
static bool dns_name(const char *s, size_t n, size_t max, bool dots)
{
    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-' || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || (dots && s[i] == '.')))
            return false;
    return true;
}

int ash_target_pod_selector(const char *name, struct ash_pod_sel *sel, char *msg, size_t len)
{
    memset(sel, 0, sizeof *sel);
    const char *slash = strchr(name, '/');
    if (!slash || !dns_name(name, (size_t)(slash - name), 63, false))
        return snprintf(msg, len,
                        "pod:%s: write pod:NAMESPACE/POD[/CONTAINER] or pod:NAMESPACE/KEY=VALUE[,...][/CONTAINER] "
                        "(a namespace is a DNS label: a-z, 0-9, '-')",
                        name),
               -1;
    snprintf(sel->ns, sizeof sel->ns, "%.*s", (int)(slash - name), name);
    const char *rest = slash + 1;
    const char *last = strrchr(rest, '/');
    size_t sel_len = strlen(rest);
    if (last && !strchr(last + 1, '=')) {
        if (!dns_name(last + 1, strlen(last + 1), 63, false))
            return snprintf(msg, len, "pod:%s: the container '%s' is not a container name (a DNS label)", name,
                            last + 1),
                   -1;
        snprintf(sel->container, sizeof sel->container, "%s", last + 1);
        sel_len = (size_t)(last - rest);
    }
    if (memchr(rest, '=', sel_len)) {
        if (sel_len >= sizeof sel->labels)
            return snprintf(msg, len, "pod:%s: the label selector is too long", name), -1;
        snprintf(sel->labels, sizeof sel->labels, "%.*s", (int)sel_len, rest);
        /* Each term K=V with a non-empty key; a value may be empty (Kubernetes allows it). */
        for (char *t = sel->labels; t && *t;) {
            char *comma = strchr(t, ',');
            size_t tl = comma ? (size_t)(comma - t) : strlen(t);
            char *eq = memchr(t, '=', tl);
            if (!eq || eq == t || memchr(eq + 1, '=', tl - (size_t)(eq + 1 - t)) || memchr(t, ' ', tl))
                return snprintf(msg, len, "pod:%s: a label selector is KEY=VALUE[,KEY=VALUE...]", name), -1;
            t = comma ? comma + 1 : NULL;
        }
        return 0;
    }
    if (!dns_name(rest, sel_len, 253, true))
        return snprintf(msg, len,
                        "pod:%s: '%.*s' is neither a pod name (a DNS subdomain: a-z, 0-9, '-', '.') nor a label "
                        "selector KEY=VALUE",
                        name, (int)sel_len, rest),
               -1;
    snprintf(sel->pod, sizeof sel->pod, "%.*s", (int)sel_len, rest);
    return 0;
}

void ash_target_ref_clear(struct ash_target_ref *ref)
{
    free(ref->name);
    free(ref->endpoint);
    free(ref->node);
    ref->name = NULL;
    ref->endpoint = NULL;
    ref->all = false;
    ref->swarm = false;
    ref->kube = false;
    ref->node = NULL;
}

const char *ash_target_ref_str(const struct ash_target_ref *ref, char *buf, size_t len)
{
    char node[160] = "";
    if (ref->node)
        snprintf(node, sizeof node, "node:%s/", ref->node);
    if (ref->kube) {
        snprintf(buf, len, "pods:%s", ref->name ? ref->name : "");
        return buf;
    }
    if (ref->swarm) {
        snprintf(buf, len, "swarm_service:%s", ref->name ? ref->name : "");
        return buf;
    }
    if (ref->type > ASH_TARGET_UNRESOLVED && ref->type <= ASH_TARGET_TYPE_MAX)
        snprintf(buf, len, "%s%s:%s", node, ash_target_type_names[ref->type], ref->name ? ref->name : "");
    else
        snprintf(buf, len, "%s%s", node, ref->name ? ref->name : "");
    return buf;
}

unsigned ash_target_caps(int type)
{
    switch (type) {
    case ASH_TARGET_HOST:
        return ASH_CAP_NETNS | ASH_CAP_CGROUP | ASH_CAP_LIMIT | ASH_CAP_PROCS | ASH_CAP_FREEZE;
    case ASH_TARGET_SERVICE:
        /* A service shares its host's (or the harness's) network namespace: harming that
         * would harm every other service there too, so a service has no netns of its own. */
        return ASH_CAP_CGROUP | ASH_CAP_LIMIT | ASH_CAP_PROCS | ASH_CAP_RESTART | ASH_CAP_LAUNCHED | ASH_CAP_MAIN;
    case ASH_TARGET_CONTAINER:
        return ASH_CAP_NETNS | ASH_CAP_CGROUP | ASH_CAP_LIMIT | ASH_CAP_PROCS | ASH_CAP_FREEZE | ASH_CAP_RESTART |
               ASH_CAP_MAIN;
    case ASH_TARGET_PROCESS:
        /* Its network namespace counts only when it has one of its own, a freeze only
         * when its cgroup holds nothing but it and its descendants: both decided when it
         * is resolved (the run's preflight refuses, exit 3, when it has not). */
        return ASH_CAP_PROCS | ASH_CAP_CGROUP | ASH_CAP_LIMIT | ASH_CAP_MAIN | ASH_CAP_NETNS | ASH_CAP_FREEZE;
    case ASH_TARGET_CGROUP:
        return ASH_CAP_CGROUP | ASH_CAP_LIMIT | ASH_CAP_PROCS | ASH_CAP_FREEZE;
    case ASH_TARGET_POD:
        /* A container of a pod, found through containerd on this node: its init, the
         * pod's network namespace, its cgroup. Starting it again is the kubelet's job
         * (its restartPolicy), not aftershock's: no ASH_CAP_RESTART. */
        return ASH_CAP_NETNS | ASH_CAP_CGROUP | ASH_CAP_LIMIT | ASH_CAP_PROCS | ASH_CAP_FREEZE | ASH_CAP_MAIN;
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
    case ASH_CAP_MAIN:
        return "one main process (a service's, a container's init, a process)";
    case ASH_CAP_LIMIT:
        return "a cgroup aftershock can limit without limiting itself";
    }
    return "an unknown capability";
}
