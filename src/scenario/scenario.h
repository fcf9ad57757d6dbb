/* The scenario model: what a YAML scenario file says, after validation. */
#ifndef ASH_SCENARIO_SCENARIO_H
#define ASH_SCENARIO_SCENARIO_H

#include "scenario/node.h"
#include "scenario/target.h"

struct ash_fault_kind;
struct ash_probe_kind;
struct ash_detector_kind;
struct ash_action_kind;

enum ash_restart_policy { ASH_RESTART_NEVER, ASH_RESTART_ON_FAILURE, ASH_RESTART_ALWAYS };

/* `ready:` — how to know a service accepts work. Exactly one of tcp/http/exec. */
struct ash_ready_spec {
    bool set;
    char *tcp;               /* "host:port" */
    char *http;              /* URL answering 2xx */
    struct ash_strlist exec; /* command exiting 0 */
    int64_t timeout_ns;      /* default 10s */
};

struct ash_service_spec {
    char *name;
    char *host;                 /* sandbox host it runs on; NULL in host mode */
    struct ash_strlist command; /* argv, {scenario_dir} and {run_dir} substituted at start */
    struct ash_strlist env;     /* extra "KEY=VALUE" entries */
    struct ash_ready_spec ready;
    enum ash_restart_policy restart;
    struct ash_strlist depends_on;
    char *user;                 /* run as this user (optional) */
    bool seccomp;               /* started under the seccomp launcher (set by syscall faults) */
    char seccomp_syscalls[256]; /* comma-separated: what the launcher's filter notifies */
    struct ash_loc loc;
};

struct ash_host_spec {
    char *name;
    struct ash_size memory;
    double cpu; /* cores, 0 = unlimited */
    struct ash_service_spec *services;
    size_t n_services;
    /* fleet: the node whose agent builds this host (`fleet.hosts`); NULL: this run's machine. */
    char *node;
    struct ash_loc loc;
};

struct ash_probe_spec {
    char *name;
    const struct ash_probe_kind *kind;
    void *conf;         /* the kind's config, filled from its field table */
    char *from;         /* sandbox host, NULL = the harness itself */
    int64_t every_ns;   /* sampling interval; default 100ms */
    int64_t timeout_ns; /* per sample; default = min(every, 1s)... set by parser */
    int64_t slow_ns;    /* an ok sample slower than this fails; -1: derived from the warm-up */
    /* fleet (`from: NODE` or `from: NODE/CONTAINER`): the node whose agent runs the
     * probe, and where it samples from there: "container:NAME", or NULL for the
     * node itself. Both NULL otherwise. Set by validation from `from`. */
    char *node;
    char *node_from;
    struct ash_loc loc;
    struct ash_loc from_loc; /* where `from:`'s value is (its own line:column), for errors about it */
};

struct ash_detector_spec {
    char *name;
    const struct ash_detector_kind *kind;
    void *conf;
    struct ash_loc loc;
};

struct ash_fault_spec {
    char *name;
    const struct ash_fault_kind *kind;
    void *conf;
    int64_t at_ns;         /* offset from the start of the fault phase */
    int64_t duration_ns;   /* -1: no fixed duration */
    bool until_remediated; /* reverted only by a remediation (or at the end of the run) */
    struct ash_loc loc;
};

/* When a remediation runs: at a set time, on the first detection, or once
 * another remediation has succeeded (a runbook step that waits for a finding). */
enum ash_when { ASH_WHEN_AT, ASH_WHEN_DETECTED, ASH_WHEN_FOLLOWS };

struct ash_remediation_spec {
    char *name;
    enum ash_when when;
    int64_t at_ns;      /* ASH_WHEN_AT: offset from the start of the fault phase */
    int64_t after_ns;   /* ASH_WHEN_DETECTED / ASH_WHEN_FOLLOWS: delay after the trigger */
    char *follows;      /* ASH_WHEN_FOLLOWS: the remediation whose success triggers this one */
    size_t follows_idx; /* its index in ash_scenario.remediations */
    const struct ash_action_kind *action;
    void *conf;
    struct ash_loc loc;
};

struct ash_expect {
    int64_t stable_for_ns;     /* default 2s */
    int64_t detect_within_ns;  /* -1: no expectation */
    int64_t recover_within_ns; /* -1: no expectation */
    int64_t timeout_ns;        /* default 60s */
    int64_t warmup_ns;         /* steady-state verification before faults; default 1s */
};

/* `verify:` — a command run after recovery, before teardown (e.g. "are any
 * profiles corrupted?"); its outcome is an expectation and is shown in the report. */
enum ash_verify_expect { ASH_VERIFY_PASS, ASH_VERIFY_FAIL };
struct ash_verify_spec {
    char *name;
    struct ash_strlist command; /* argv, {scenario_dir} and {run_dir} substituted */
    int expect;                 /* enum ash_verify_expect: exit 0 expected, or non-zero */
    int64_t timeout_ns;         /* default 30s; running longer counts as a failure */
    char *host;                 /* sandbox mode: run inside this host (its namespaces and cgroup); NULL: the harness */
    struct ash_loc loc;
};

/* `guardrails:` — a condition that ends the run at once: every fault reverted, the
 * verdict `aborted`, the condition and the stop latency in the report. One condition per
 * item: a probe's error ratio or latency over `for`, a total time cap, or a command. */
struct ash_guardrail_spec {
    char *name;
    char *probe;             /* error_ratio / latency: the probe watched */
    double error_ratio;      /* > 0: trips when this share of the probe's samples over `for` failed */
    int64_t latency_ns;      /* > 0: trips when every sample over `for` took longer (a failed one counts) */
    int64_t for_ns;          /* the window of the probe conditions; default 10s */
    int64_t max_duration_ns; /* > 0: trips when the run has lasted this long (setup included) */
    struct ash_strlist exec; /* trips when this command exits non-zero (or overruns `timeout`) */
    int64_t every_ns;        /* exec: how often; default 1s */
    int64_t timeout_ns;      /* exec: default `every` */
    char *alert;             /* trips when an alert of this name arrives firing on a webhook detector */
    char *detector;          /* alert: only on this webhook detector (default: any) */
    struct ash_loc loc;
};

/* The incident's times, in the order of struct ash_incident's *_at_s fields. */
enum ash_incident_time { ASH_INC_FAULT, ASH_INC_DETECTED, ASH_INC_MITIGATED, ASH_INC_RECOVERED, ASH_INC_NTIMES };
extern const char *const ash_incident_time_keys[ASH_INC_NTIMES]; /* "fault_at", ... */

struct ash_incident {
    bool present;
    char *source;
    char *title; /* the incident's own name (the postmortem's title) */
    /* Seconds since midnight; -1 when not given. */
    int fault_at_s, detected_at_s, mitigated_at_s, recovered_at_s;
    /* Bit (1 << enum ash_incident_time) set: the scenario assumed that time,
     * the postmortem does not state it (`assumed: [fault_at, ...]`). */
    unsigned assumed;
};

/* `dns: records:` item: one record the run's DNS server answers (src/dns/). */
enum ash_dns_rtype { ASH_DNS_A, ASH_DNS_AAAA, ASH_DNS_CNAME, ASH_DNS_SRV, ASH_DNS_PTR };
struct ash_dns_record_spec {
    char *name;    /* owner name, without the trailing dot */
    int type;      /* enum ash_dns_rtype */
    char *value;   /* as in a zone file: "10.0.0.5", "web", "10 5 8080 web", ... */
    long long ttl; /* seconds; default 5 */
    struct ash_loc loc;
};

/* Top-level `dns:`: extra records and, in host mode, where the server listens. */
struct ash_dns_spec {
    bool set;
    char *listen;      /* "ADDRESS:PORT" (host mode); NULL in sandbox mode: the bridge's gateway, port 53 */
    bool allow_remote; /* host mode: a non-loopback listen address is intended */
    struct ash_dns_record_spec *records;
    size_t n_records;
};

/* Top-level `runtime:`: how to reach the container engine that container targets run under. */
struct ash_runtime_spec {
    char *docker_host; /* "unix:///path"; NULL: DOCKER_HOST, else /var/run/docker.sock */
};

/* Top-level `fleet:`: the run is a coordinator, and faults whose target names a node
 * (`target: {node: b, container: web}`) are applied by that node's agent (docs/fleet.md).
 * `engine` says who starts the agents; an engine that deploys them itself (Swarm,
 * Kubernetes) adds its value here and its own settings as a sub-mapping. */
enum ash_fleet_engine {
    ASH_FLEET_AGENTS,     /* started by someone else; they connect to `listen` */
    ASH_FLEET_SWARM,      /* the run deploys them: a Swarm secret and global service (fleet/deploy.h) */
    ASH_FLEET_KUBERNETES, /* the run deploys them: a Secret and a DaemonSet (fleet/deploy.h) */
};
extern const char *const ash_fleet_engine_names[];
struct ash_fleet_spec {
    bool set;
    int engine;               /* enum ash_fleet_engine */
    char *listen;             /* ADDRESS:PORT the coordinator listens on */
    char *key_file;           /* the run's key (64 hex digits); NULL: made per run, RUN_DIR/fleet.key (0600) */
    struct ash_strlist nodes; /* every node that must have an agent before anything is harmed */
    int64_t lease_ns;         /* an agent silent this long is lost (default 3s, the agents' default --lease) */
    int64_t wait_ns;          /* how long the run waits for every node's agent (default 60s) */
    /* An engine that deploys the agents (engine: swarm). */
    char *connect;       /* the address the agents reach this run at (default: listen's); the port is listen's */
    char *docker_host;   /* swarm: the manager's engine API, unix:///PATH (default $DOCKER_HOST, else the default) */
    char *image;         /* the agents' image (holds aftershock at agent_exe) */
    char *agent_exe;     /* default /usr/bin/aftershock */
    char *engine_socket; /* the node's engine socket, bound into each agent (container: targets) */
    char *state_dir;     /* the agents' state directory on each node (templates allowed; default /run/aftershock) */
    char *kubeconfig;    /* kubernetes: a kubeconfig; NULL: the pod's service account */
    char *k8s_namespace; /* kubernetes: where the Secret and DaemonSet go (default: the account's / context's) */
    size_t n_placed;     /* `hosts:` {HOST: NODE}: how many hosts an agent builds (ash_host_spec.node) */
    struct ash_loc loc;
};

struct ash_scenario {
    ash_doc *doc; /* kept: ASH_F_NODE fields point into it */
    char *file;   /* as given */
    char *dir;    /* absolute directory of the file: {scenario_dir} */
    int version;
    char *name, *title, *description;
    struct ash_incident incident;
    double timescale; /* 1 s of replay stands for `timescale` s of incident; default 1 */
    struct ash_host_spec *hosts;
    size_t n_hosts;
    struct ash_service_spec *services; /* host mode (top-level services:) */
    size_t n_services;
    struct ash_probe_spec *probes;
    size_t n_probes;
    struct ash_detector_spec *detectors;
    size_t n_detectors;
    struct ash_fault_spec *faults;
    size_t n_faults;
    struct ash_remediation_spec *remediations;
    size_t n_remediations;
    struct ash_expect expect;
    struct ash_dns_spec dns;
    struct ash_runtime_spec runtime;
    struct ash_fleet_spec fleet;
    struct ash_verify_spec *verify;
    size_t n_verify;
    struct ash_guardrail_spec *guardrails;
    size_t n_guardrails;
    /* `plot:` series drawn as lanes on the report's timeline: "memory" (the
     * samples memory-exhaustion takes) or "latency:PROBE". plot_set: the key
     * was given (an empty list means none; without the key reports choose). */
    char **plot;
    size_t n_plot;
    bool plot_set;
};

struct ash_kind_set;

/* Load, parse and validate with the kinds in KINDS (src/kinds.h). On error
 * nothing is allocated and err reads "file:line:col: message" with class
 * ASH_ERR_USAGE. */
int ash_scenario_load_with(const char *path, const struct ash_kind_set *kinds, struct ash_scenario **out,
                           ash_error_t *err);
int ash_scenario_load_string_with(const char *name, const char *text, size_t len, const struct ash_kind_set *kinds,
                                  struct ash_scenario **out, ash_error_t *err);
/* The same with every registered kind (defined in src/registry.c). */
int ash_scenario_load(const char *path, struct ash_scenario **out, ash_error_t *err);
/* How a target name that is no host or service is checked for a running container of
 * that name, for a hint in its error (the engine sets it: env/ is above this layer). */
void ash_scenario_set_container_lookup(bool (*fn)(const char *endpoint, const char *name));
int ash_scenario_load_string(const char *name, const char *text, size_t len, struct ash_scenario **out,
                             ash_error_t *err);
void ash_scenario_free(struct ash_scenario *sc);

/* Lookups used by the engine and by validation. */
struct ash_service_spec *ash_scenario_service(const struct ash_scenario *sc, const char *name);
struct ash_fault_spec *ash_scenario_fault(const struct ash_scenario *sc, const char *name);
const struct ash_host_spec *ash_scenario_host(const struct ash_scenario *sc, const char *name);
/* fleet: the node whose agent builds host `name` (`fleet.hosts`), NULL when it is built here. */
const char *ash_scenario_host_node(const struct ash_scenario *sc, const char *name);
/* Why `what` cannot act on host `name`, which an agent builds (a static buffer). */
const char *ash_placed_refusal(const struct ash_scenario *sc, const char *name, const char *what);
/* The fleet node a fault is applied on (its targets' node), NULL when it runs here. */
const char *ash_fault_node(const struct ash_fault_spec *f);
/* Whether the fault's target is something that already runs (a container, a process,
 * a cgroup, a pod), not a sandbox host or a service of the run's own. */
bool ash_fault_hits_running(const struct ash_fault_spec *f);
/* The Swarm service whose tasks f's target names (`{swarm_service: web}`), else NULL.
 * ash_fault_node() says ash_target_resolved_node for it until an agent is told its part. */
const char *ash_fault_swarm_service(const struct ash_fault_spec *f);
/* f's target that the run resolves (a swarm service's tasks, a pod selector's pods), else NULL. */
struct ash_target_ref;
const struct ash_target_ref *ash_fault_run_resolved(const struct ash_fault_spec *f);
/* The pod selector ("NS/K=V[/CONTAINER]") f's target names (`{pods: {...}}`), else NULL. */
const char *ash_fault_kube_pods(const struct ash_fault_spec *f);
/* Give a bare-named ref its type, check the target exists and has the capabilities in
 * `needs` (enum ash_target_cap); errors at ref->loc name `kind` ("'network'"). */
int ash_scenario_resolve_target(const struct ash_scenario *sc, struct ash_target_ref *ref, unsigned needs,
                                const char *kind, ash_error_t *err);
/* What a fault kind asks of the run before anything starts (its `prepare` hook): the
 * scenario owns the specs, so kinds ask through this instead of writing into them. */
struct ash_prepare;
/* The target's processes (a service's, or every service of a host) start under the
 * seccomp launcher, whose filter notifies these syscalls (added to what others asked). */
int ash_prepare_seccomp(struct ash_prepare *p, const struct ash_target_ref *target, const char *const *syscalls,
                        size_t n, ash_error_t *err);

/* Deprecation warnings from parsing, "file:line:col: warning: ..." (NULL-terminated, may be empty). */
const struct ash_strlist *ash_scenario_warnings(const struct ash_scenario *sc);

#endif
