/* Targets: what a fault (or a detector, or an action) is aimed at, as a scenario names it.
 *
 * One key, `target:`, in every kind. Its value says what the target is, "TYPE:NAME"
 * (host:web, service:api, service:web/api), or is a bare NAME that the scenario resolves
 * when exactly one host or service has it. Kinds say which capabilities they need of a
 * target (a network namespace, a cgroup, ...); validation refuses a target that lacks one,
 * with the reason. At run time the engine turns a ref into a live target (env/target.h). */
#ifndef ASH_SCENARIO_TARGET_H
#define ASH_SCENARIO_TARGET_H

#include <stdbool.h>
#include "scenario/node.h"

/* What a target is. The last three are what the user already runs (docs/targets.md);
 * they are resolved only at run time, so validation needs neither the engine nor them. */
enum ash_target_type {
    ASH_TARGET_UNRESOLVED, /* a bare name, before validation */
    ASH_TARGET_HOST,       /* a sandbox host: its own namespaces and cgroup */
    ASH_TARGET_SERVICE,    /* a service the run starts (host mode, or on a sandbox host) */
    ASH_TARGET_CONTAINER,  /* container:NAME|ID or container:label=K=V[,K2=V2...] (Docker Engine API) */
    ASH_TARGET_PROCESS,    /* process:pid=N | pidfile=PATH | exe=PATH */
    ASH_TARGET_CGROUP,     /* cgroup:PATH relative to the hierarchy root */
    ASH_TARGET_POD,        /* pod:NAMESPACE/POD[/CONTAINER] or pod:NAMESPACE/K=V,K2=V2[/CONTAINER] (containerd) */
    ASH_TARGET_TYPE_MAX = ASH_TARGET_POD,
};
/* Indexed by enum ash_target_type; NULL-terminated from ASH_TARGET_HOST on (names[1..]). */
extern const char *const ash_target_type_names[];

/* Capabilities a kind can need of its target. */
enum ash_target_cap {
    ASH_CAP_NETNS = 1u << 0,    /* its own network namespace and interface */
    ASH_CAP_CGROUP = 1u << 1,   /* a cgroup aftershock may limit (made for it, or moved into one) */
    ASH_CAP_PROCS = 1u << 2,    /* processes aftershock can signal (pidfds, start times checked) */
    ASH_CAP_FREEZE = 1u << 3,   /* can be frozen and thawed as a whole */
    ASH_CAP_RESTART = 1u << 4,  /* can be started again after it died */
    ASH_CAP_LAUNCHED = 1u << 5, /* its processes start under aftershock's launcher (seccomp) */
    ASH_CAP_MAIN = 1u << 6,     /* one main process (the first of its procs): a service, an init, a pid */
    ASH_CAP_LIMIT = 1u << 7,    /* its cgroup can be limited without limiting aftershock (not in it or below) */
};

struct ash_target_ref {
    int type;   /* enum ash_target_type */
    char *name; /* "web", "api" or "web/api" (a service of that host); the selector of the
                 * other types: "web", "label=K=V", "pid=12", "system.slice/x.service" */
    /* Where its runtime is reached (a container: the engine's socket, from the
     * scenario's runtime.docker_host); NULL: DOCKER_HOST or the default socket. */
    char *endpoint;
    /* container:{label: K=V, all: true}: every running container with the label; the
     * engine injects the fault once per container (engine/fault_fanout.c). */
    bool all;
    /* A fleet run (`fleet:`): the node whose agent reaches it, NULL for a target of
     * this machine. Only what already runs (container, process, cgroup) has a node. */
    char *node;
    /* A fleet run on engine swarm, `{swarm_service: web}`: type container, name the
     * Swarm service; the coordinator resolves its running tasks to (node, container
     * id) through the manager (fleet/swarm_tasks.h) and each node's agent gets its
     * container by id. Node is NULL until an agent is told which one is its. */
    bool swarm;
    /* `{pods: {namespace, labels|name, container}}` (engine kubernetes): type pod, name
     * its selector; the coordinator lists the pods through the API (fleet/kube.h) and
     * each node's agent gets NS/POD/CONTAINER. */
    bool kube;
    struct ash_loc loc;
};

/* What ash_fault_node() says of a fault whose target is a swarm service's tasks or a
 * pod selector's pods: no node name (never one in fleet.nodes), the run resolves them. */
extern const char ash_target_resolved_node[];

/* A process selector, split (process:pid=N, pidfile=PATH, exe=PATH). */
enum ash_proc_sel { ASH_PSEL_PID, ASH_PSEL_PIDFILE, ASH_PSEL_EXE };

/* For an ASH_FIELD_DEPRECATED target field: the type its old key implied (its choices). */
extern const char *const ash_target_old_host[];    /* {"host", NULL}: `host: NAME` */
extern const char *const ash_target_old_service[]; /* {"service", NULL}: `service: NAME` */

/* The field-table entries of the deprecated spellings of a `target:` field
 * (kept for one release: the parser warns with the new spelling). */
#define ASH_TARGET_OLD_HOST_FIELD(type, member)                                                                        \
    {                                                                                                                  \
        "host", ASH_F_TARGET, offsetof(type, member), ASH_FIELD_DEPRECATED,                                            \
            "deprecated spelling of target: host:NAME", ash_target_old_host                                            \
    }
#define ASH_TARGET_OLD_SERVICE_FIELD(type, member)                                                                     \
    {                                                                                                                  \
        "service", ASH_F_TARGET, offsetof(type, member), ASH_FIELD_DEPRECATED,                                         \
            "deprecated spelling of target: service:NAME", ash_target_old_service                                      \
    }

/* The ref's name when it is of that type, else NULL (for kinds that take more than one type). */
static inline const char *ash_target_name_if(const struct ash_target_ref *ref, int type)
{
    return ref->type == type ? ref->name : NULL;
}

/* A fleet node's name: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 127 bytes (what an agent's --node may be). */
bool ash_target_node_name_ok(const char *name);
/* Parse "TYPE:NAME", "NAME" or "node:NODE/TYPE:NAME" into ref (ref->name allocated); -1 with a message for err. */
int ash_target_ref_parse(const char *text, struct ash_target_ref *ref, char *msg, size_t len);
/* Check the selector of a container, process or cgroup ref (no lookups): -1 with a message. */
int ash_target_selector_check(int type, const char *name, char *msg, size_t len);
/* process:... -> which selector and its value (a pointer into name); -1 when malformed. */
int ash_target_proc_selector(const char *name, enum ash_proc_sel *sel, const char **value);
/* A pod selector, split: pod:NAMESPACE/POD[/CONTAINER] by name, pod:NAMESPACE/K=V,...[/CONTAINER]
 * by labels. Namespaces, pod and container names are DNS labels (no '/'); a label key may
 * have one '/' (app.kubernetes.io/name), so the container is the last segment only when
 * it has no '='. */
struct ash_pod_sel {
    char ns[64];
    char pod[254];      /* "" when selected by labels */
    char labels[512];   /* "K=V,K2=V2" (a Kubernetes label selector), "" when by name */
    char container[64]; /* "" when not named: the pod must have one container */
};
/* -1 with a message when malformed. */
int ash_target_pod_selector(const char *name, struct ash_pod_sel *sel, char *msg, size_t len);
/* container:label=K=V -> "K=V" (a pointer into name), else NULL. Several labels, all of
 * which a container must have: "K=V,K2=V2" (label=K alone: the key with any value). */
const char *ash_target_container_label(const char *name);
/* One label selector "K=V,K2" (what ash_target_container_label gives): -1 with a message
 * naming the bad label when one is empty, has no key, or one term of N bytes at term. */
int ash_target_label_check(const char *labels, char *msg, size_t len);
int ash_target_label_term_check(const char *term, size_t n, char *msg, size_t len);
/* Free what a ref owns. */
void ash_target_ref_clear(struct ash_target_ref *ref);
/* "host:web", for messages and reports. */
const char *ash_target_ref_str(const struct ash_target_ref *ref, char *buf, size_t len);
/* What a target of this type can offer (validation). A resolved target may offer
 * less (env/target.h: t->caps): a container with --network host has no netns of its
 * own, a process shares its cgroup; the run checks that before anything starts. */
unsigned ash_target_caps(int type);
/* "a network namespace", for "... needs a target with a network namespace". */
const char *ash_target_cap_name(unsigned cap);

#endif
