/* The kind interfaces: every fault, probe, detector and remediation action is
 * one table entry implementing one of these structs. Kinds see the run only
 * through struct ash_ctx (filled by the engine); they never include engine
 * headers, so the engine knows kinds only through these tables. */
#ifndef ASH_KINDS_H
#define ASH_KINDS_H

#include <aftershock/error.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include "scenario/node.h"
#include "scenario/scenario.h"
#include "sys/journal.h"
#include "sys/loop.h"

struct ash_journal;
struct ash_env;
struct ash_sandbox;
struct ash_dns;
struct ash_ctx;
struct ash_target;

/* One probe sample: when it started and ended (CLOCK_MONOTONIC ns), the verdict, why. */
struct ash_sample {
    int64_t start;
    int64_t end;
    bool ok;
    char detail[120];
};

/* A time that is not known (an alert's startsAt may lie before boot, so -1 cannot say it). */
#define ASH_T_UNKNOWN INT64_MIN

/* One alert of an Alertmanager-style detector, per alert (fingerprint), not per
 * request: reported once when first notified firing and once when resolved. */
struct ash_alert {
    const char *key;    /* its fingerprint (or its labels, when the sender gave none) */
    const char *name;   /* labels.alertname */
    const char *detail; /* one line for the timeline */
    bool firing;        /* false: this is its resolution */
    bool matches;       /* passes the detector's filter (alertname): it may count as detection */
    int64_t fired;      /* startsAt on CLOCK_MONOTONIC (through a wall/monotonic anchor), or ASH_T_UNKNOWN */
    int64_t fired_res;  /* startsAt's own precision (1 s for "...:05Z"), ns */
    int64_t notified;   /* when the POST carrying it arrived */
    int64_t resolved;   /* endsAt on CLOCK_MONOTONIC when resolved, else ASH_T_UNKNOWN */
};

/* What the engine offers a kind during a run. */
struct ash_ctx {
    ash_loop *loop;
    struct ash_journal *journal;
    struct ash_env *env;
    struct ash_sandbox *sandbox; /* sandbox mode: the hosts; NULL in host mode */
    struct ash_dns *dns;         /* the run's DNS server (src/dns/); NULL in host mode without `dns:` */
    const struct ash_scenario *scenario;
    const char *run_id; /* names what the run makes (ash-<run>-...) and tags its processes */
    const char *run_dir;
    const char *state_dir;
    /* Timeline event at `t` (CLOCK_MONOTONIC ns): "fault-injected", "oom-kill", ... */
    void (*event)(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail);
    /* A detector knew about the fault at time t. */
    void (*detect)(struct ash_ctx *ctx, const struct ash_detector_spec *det, int64_t t, const char *detail);
    /* An alert was first notified firing, or resolved (NULL: the detector calls
     * detect/event itself). The engine decides what counts: one already firing
     * before the fault was in effect is flagged, not a detection. */
    void (*alert)(struct ash_ctx *ctx, const struct ash_detector_spec *det, const struct ash_alert *a);
    /* Revert a fault by name (remediation `revert: FAULT`). */
    int (*revert_fault)(struct ash_ctx *ctx, const char *fault, ash_error_t *err);
    /* A fault that ended by itself (host-crash's restart_after): the engine
     * reverts it now (its revert frees the state and finds nothing harmed), so
     * the report shows when it really ended. May free the caller's state. */
    int (*fault_ended)(struct ash_ctx *ctx, const char *fault, ash_error_t *err);
    /* Resolve a target the scenario names into a live one (env/target.h). NULL: from
     * `sandbox` and `env` above; a fleet agent resolves against its own node. */
    int (*target)(struct ash_ctx *ctx, const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err);
    /* A fault that was in effect harmed nothing (a syscall filter that matched
     * no call, a DNS fault no client asked about): the report says "fault had
     * no effect" and why. NULL: nobody listens. */
    void (*no_effect)(struct ash_ctx *ctx, const char *fault, const char *why);
    /* The fault's live state (for actions such as kill_lock_holder), NULL if not injected. */
    void *(*fault_state)(struct ash_ctx *ctx, const char *fault);
    /* Something a kind cannot go on without failed after it started (a timer it needs
     * could not be made): the run's figures or its safety would be wrong without a word,
     * so the engine aborts the run with `why` and reverts what is in effect. Called
     * through ash_ctx_fail; NULL: ash_ctx_fail puts `why` on the timeline as "error". */
    void (*fail)(struct ash_ctx *ctx, const char *why);
    void *engine; /* the engine's own data; kinds must not touch it */
    /* A fault whose target has all: true is injected once per container it matches;
     * while one is, its id (engine/fault_fanout.c). ash_ctx_target resolves to it. */
    const char *target_member;
    /* While the engine injects `injecting`, ash_ctx_target appends to `harmed` what each
     * of its target fields resolved to ({type, name, container, id}: the container a
     * label chose), so the terminal and the report name it. NULL: nobody records. */
    const struct ash_fault_spec *injecting;
    json_t *harmed;
    /* When the harm of the fault being injected began, if that was inside its inject
     * call rather than at its end (a restart: the target is down while the call waits
     * for it to come back), set through ash_ctx_harm_began; the engine takes it as the
     * fault's t_inject. 0 (the engine clears it before each inject): the call's return. */
    int64_t harm_began;
};

/* The live target of a ref (through ctx->target when set); ESRCH when it is not there. */
int ash_ctx_target(struct ash_ctx *ctx, const struct ash_target_ref *ref, struct ash_target *out, ash_error_t *err);

/* printf-style helper over ctx->event. */
void ash_ctx_eventf(struct ash_ctx *ctx, int64_t t, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The harm of the fault being injected began at t (CLOCK_MONOTONIC ns), before its
 * inject call returns; the first call wins (a fault on every container of a label). */
void ash_ctx_harm_began(struct ash_ctx *ctx, int64_t t);
/* printf-style helper over ctx->fail (the run is aborted with the reason). */
void ash_ctx_fail(struct ash_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Cross-checks after fields are parsed: references to services, hosts, faults.
 * `node` is the item's map (for positions). */
typedef int (*ash_validate_fn)(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err);

struct ash_kind_common {
    const char *name;
    const char *summary;              /* one line for `aftershock list` */
    const char *(*unavailable)(void); /* NULL/returns NULL: usable here; else the reason */
    const struct ash_field *fields;   /* {NULL}-terminated */
    size_t conf_size;
    void (*defaults)(void *conf); /* optional: set defaults before parsing */
    ash_validate_fn validate;     /* optional */
    /* Probes, detectors, actions: a non-map value ("tcp: host:port", "exec: [cmd]")
     * is parsed as this field. NULL: the value must be a map. */
    const char *shorthand;
    /* Optional: what this kind will use on this machine and why, as
     * ash_doctor_line lines (shown by `aftershock doctor`). */
    void (*doctor)(FILE *out);
};

typedef void (*ash_sample_done_fn)(void *arg, const struct ash_sample *s);

struct ash_probe_kind {
    struct ash_kind_common c;
    int (*open)(struct ash_ctx *ctx, const struct ash_probe_spec *p, void **state, ash_error_t *err);
    /* Start one sample at `start`; call done(arg, sample) exactly once, later, from the loop.
     * Returns -1 only if the sample could not even start (then done is not called). */
    int (*sample)(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state, int64_t start,
                  ash_sample_done_fn done, void *arg, ash_error_t *err);
    /* Abandon samples in flight (done is not called) and free state. */
    void (*close)(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state);
};

struct ash_detector_kind {
    struct ash_kind_common c;
    int (*start)(struct ash_ctx *ctx, const struct ash_detector_spec *d, void **state, ash_error_t *err);
    void (*stop)(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state);
    /* Optional feeds. */
    void (*on_sample)(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state,
                      const struct ash_probe_spec *probe, const struct ash_sample *s);
    void (*on_log)(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state, const char *service,
                   const char *line, int64_t t);
    void (*on_event)(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state, const char *event,
                     const char *detail, int64_t t);
    /* Optional: the bound on how late this detector can signal (its polling interval). */
    int64_t (*resolution)(const struct ash_detector_spec *d, const struct ash_scenario *sc);
    /* Optional: placeholders a started detector of this kind offers to every
     * command, path and config of the run ("webhook_url": {webhook_url}, and
     * {webhook_url:NAME} for the detector NAME). `placeholders` lists the names
     * (validation accepts only known ones), `values` gives them once started. */
    /* Optional: the least detection delay the monitoring config implies, as the
     * scenario states it (scrape + evaluation + for + group_wait); -1 when not
     * stated. `how` gets its terms ("scrape 1s + evaluation 1s + ..."). */
    int64_t (*floor)(const struct ash_detector_spec *d, char *how, size_t len);
    const char *const *placeholders;
    void (*values)(const struct ash_detector_spec *d, void *state,
                   void (*set)(void *arg, const char *name, const char *value), void *arg);
};

/* What a plan (`aftershock plan`, `run --dry-run`) tells a fault's describe hook: the
 * names a run with this id would give what it makes. Nothing is live: no loop, no
 * journal, no sandbox; describe must not touch the machine. */
struct ash_describe {
    const struct ash_scenario *scenario;
    const char *run_id;  /* a real id, or a placeholder ("<run>") shown as the pattern */
    const char *run_dir; /* "RUN_DIR" when not known yet */
};

/* Append to a describe's "objects" array: what inject makes or changes, one entry each.
 * type: "qdisc", "nft-table", "link", "cgroup", "cgroup-file", "process", "file", ...;
 * name: the object's own name (interface, table, path); where: the network namespace or
 * "root"; detail: what is set; journal: the undo record's op, NULL when none. */
void ash_describe_object(json_t *out, const char *type, const char *name, const char *where, const char *journal,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* "a, b, c" (or with `sep`) into buf, cut to fit. */
const char *ash_describe_join(char *buf, size_t len, const struct ash_strlist *l, const char *sep);

struct ash_fault_kind {
    struct ash_kind_common c;
    /* Optional: end the fault's harm now, for a remediation that does what the runbook
     * did (kill_lock_holder: table-lock's holder process), keeping `state` for the
     * engine's revert, which then finds nothing left to undo. `why` names the cause
     * in the timeline. Idempotent. Actions reach a fault through this, never through
     * another kind's header. */
    int (*end_harm)(void *state, const char *why, ash_error_t *err);
    /* Apply. Journal the undo *before* each change. Return once the fault is in
     * effect: the engine takes t_inject when this returns. On failure, revert
     * what was applied before returning -1. */
    int (*inject)(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err);
    /* Undo; idempotent; must work on a half-applied state. The contract (the
     * engine calls it through ash_fault_revert, engine/fault_revert.h):
     * - 0: every change is undone, its journal records are marked done (a
     *   failed mark only leaves a record that recover undoes once more), and
     *   the state is freed.
     * - -1 with `discard` set: something could not be undone. The state is
     *   kept, holding what is left; the engine calls revert once more with it
     *   (a transient failure: a fork, an allocation, a busy netlink socket),
     *   and after a second -1 calls discard(state), which frees it without
     *   touching the system. What is left stays pending in the journal: the
     *   end of the run and `aftershock recover` undo it through undo_ops, and
     *   the run's verdict is error.
     * - -1 without `discard`: the state is freed all the same; the journal's
     *   pending records are the only retry.
     * On a failed inject, the kind follows the same rule with its own state. */
    int (*revert)(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err);
    /* Optional (see revert): free a state whose revert failed twice, touching nothing. */
    void (*discard)(void *state);
    /* inject and revert run a nested event loop (a service's readiness wait): the
     * engine runs them on the loop thread, in their turn. Otherwise they run on the
     * offloop worker (engine/offloop.h), holding the run lock except in blocking
     * sections (sys/gil.h), so the probes keep their schedule meanwhile. Only for
     * the run's own targets (a service, a sandbox host): what already runs is harmed
     * and brought back through the kernel or its engine's API, off the loop. */
    bool on_loop;
    const struct ash_undo_op *undo_ops; /* {NULL}-terminated; what `recover` can undo */
    /* Optional, after validation: what the fault needs of the run before anything starts
     * (ash_prepare_seccomp: its target's processes start under the seccomp launcher). */
    int (*prepare)(const void *conf, struct ash_prepare *p, ash_error_t *err);
    /* Optional, for kinds with committed_only undo ops: append to `commit` ({"op","data"}
     * objects) every such record inject may journal. Called before the journal opens, with
     * the same scenario and run directories inject will see. */
    int (*commit)(const struct ash_fault_spec *f, const char *scenario_dir, const char *run_dir, json_t *commit,
                  ash_error_t *err);
    /* Optional: why this fault, as configured, has nothing that could undo it ("it has no
     * 'revert:' command"), or NULL when it can be reverted. Such a fault is one-shot: the
     * parser refuses a `duration` or `until` on it (nothing would end it), and the engine
     * reports it "not reverted (one-shot)" instead of claiming a revert it never did. */
    const char *(*no_revert)(const struct ash_fault_spec *f);
    /* Optional: how this fault, as configured, ends on its own ("when its owner's session
     * ends"), or NULL when only a revert ends it: `until: remediated` then needs no
     * `revert:` remediation. */
    const char *(*ends_itself)(const struct ash_fault_spec *f);
    /* Optional: what inject would do, without doing it (`aftershock plan`). Sets
     * "mechanism" in `out` (one line: how, on what) and appends the objects it would make
     * with ash_describe_object; sets "cannot_run" when this machine could not inject it
     * (a reason naming what is missing). A kind without it is planned by its summary. */
    int (*describe)(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out, ash_error_t *err);
    /* Optional: a timeline event ("service-stopped", "service-exited", ...) while this
     * fault is in effect, for harm that lives in something else and ends with it (a
     * lock held by a service's session ends when the service stops). Called in the
     * event's order, before anything that follows it (a restart's start); may end the
     * fault through ctx->fault_ended, which frees state. */
    void (*on_event)(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, const char *event,
                     const char *detail, int64_t t);
    /* Optional: what inject will need of t, a target of what already runs resolved by the
     * run's preflight (each match of all: true), beyond its capabilities: a kernel
     * feature, an interface in its namespace, a qdisc it must not have. Checked without
     * changing anything, for every fault before the first is injected, so a fault that
     * could not be placed refuses the run (exit 3) instead of aborting it half-way. */
    int (*preflight)(const struct ash_fault_spec *f, const struct ash_target *t, ash_error_t *err);
};

struct ash_action_kind {
    struct ash_kind_common c;
    int (*run)(struct ash_ctx *ctx, const struct ash_remediation_spec *r, ash_error_t *err);
    bool on_loop; /* as a fault kind's: run runs a nested event loop */
    /* Optional: the fault this remediation reverts (`revert: FAULT`), NULL if none;
     * what `until: remediated` waits for. */
    const char *(*reverts)(const void *conf);
};

/* A set of kind tables, each NULL-terminated. The parser and the schema take
 * one, so src/scenario/ links without any kind: a test (or an agent) can parse
 * with only the kinds it links. */
struct ash_kind_set {
    const struct ash_fault_kind *const *faults;
    const struct ash_probe_kind *const *probes;
    const struct ash_detector_kind *const *detectors;
    const struct ash_action_kind *const *actions;
};

/* Registries (src/registry.c): the one place a new kind is listed. */
extern const struct ash_kind_set ash_kinds; /* every kind below */
extern const struct ash_fault_kind *const ash_fault_kinds[];
extern const struct ash_probe_kind *const ash_probe_kinds[];
extern const struct ash_detector_kind *const ash_detector_kinds[];
extern const struct ash_action_kind *const ash_action_kinds[];

const struct ash_fault_kind *ash_fault_kind_find(const char *name);
const struct ash_probe_kind *ash_probe_kind_find(const char *name);
const struct ash_detector_kind *ash_detector_kind_find(const char *name);
const struct ash_action_kind *ash_action_kind_find(const char *name);
/* Undo ops from every fault kind and from env/sys (processes, cgroups, namespaces). */
const struct ash_undo_op *ash_undo_op_find(const char *name);

#endif
