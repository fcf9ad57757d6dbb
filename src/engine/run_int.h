/* The run's live state, shared by the two halves of the runner: src/engine/run.c
 * (the lifecycle: resources, phases, teardown) and src/engine/run_json.c (what
 * the run measured, as one "runs" entry of report.json). Private to them. */
#ifndef ASH_ENGINE_RUN_INT_H
#define ASH_ENGINE_RUN_INT_H

#include "engine/control.h"
#include "engine/guardrail.h"
#include "engine/live.h"
#include "engine/measure.h"
#include "engine/offloop.h"
#include "engine/progress.h"
#include "engine/run.h"
#include "kinds.h"
#include "sys/loop.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct probe_rt {
    const struct ash_probe_spec *spec;
    void *state;
    bool open;
    ash_timer *timer;
    struct ash_point *samples; /* in start order */
    size_t n, cap;
    int64_t fail_start; /* the latest-starting failed sample: its start (INT64_MIN: none) and detail */
    char fail_detail[sizeof(((struct ash_sample *)0)->detail)];
    unsigned inflight;
    struct run *run;
    int64_t *late; /* per tick: actual start - scheduled start */
    size_t n_late, cap_late;
    int64_t *fly; /* starts of the samples in flight */
    size_t n_fly, cap_fly;
    int64_t slow_ns;         /* effective threshold; -1 until the warm-up has set it */
    const char *slow_source; /* "stated", "warm-up p99", "floor" or "timeout" */
    int64_t warmup_p99;      /* the warm-up's p99 latency it came from, -1 if stated */
};

struct sample_ctx {
    struct probe_rt *p;
};

struct det_rt {
    const struct ash_detector_spec *spec;
    void *state;
    bool started;
};

struct fault_rt {
    const struct ash_fault_spec *spec;
    void *state;
    bool injected, reverted, failed;
    bool revert_failed; /* its revert returned an error: the harm may still be there */
    bool one_shot;      /* nothing could undo it (kind's no_revert): reverted stays false */
    bool cancelled;     /* remediated before it was injected: its queued inject does nothing */
    bool revert_queued;
    const char *revert_why;
    int64_t scheduled, injected_at, reverted_at;
    ash_timer *t_inject, *t_revert;
    char error[ASH_ERROR_MSG_MAX + 64];
    char no_effect[512]; /* why it harmed nothing, "" if it did (or nobody could tell) */
    json_t *targets;     /* what its targets resolved to when injected (ctx->harmed), or NULL */
    struct run *run;
};

struct rem_rt {
    const struct ash_remediation_spec *spec;
    bool scheduled, done, ok;
    int64_t at;
    ash_timer *timer;
    char error[ASH_ERROR_MSG_MAX + 64];
    struct run *run;
};

/* A probe tick that started over ASH_LATE_REPORT_NS after its schedule, and why. */
struct late_tick {
    const char *probe;
    int64_t scheduled, late;
    char cause[200];
};
#define ASH_LATE_REPORT_NS ASH_NS_PER_MS
#define ASH_LATE_KEEP 1000 /* the first ones; later ones are only counted */

struct event {
    int64_t t;
    char *event;
    char *detail;
};

struct detection {
    const struct ash_detector_spec *det;
    int64_t t;
    int64_t fired; /* an alert's startsAt (monotonic), ASH_T_UNKNOWN if the detector has none */
    char detail[200];
};

/* One alert of an Alertmanager-style detector (ctx->alert), per fingerprint. */
enum alert_role {
    AR_DETECTION,      /* the fault's alert: counted */
    AR_OTHER,          /* firing, but not the alert the detector waits for */
    AR_ALREADY_FIRING, /* startsAt before t_inject: flagged, not counted */
    AR_BEFORE_INJECT,  /* notified before any fault was in effect: a false alarm */
    AR_RESOLVED_ONLY,  /* only its resolution was seen */
};

struct alert_rec {
    const struct ash_detector_spec *det;
    char *key, *name;
    enum alert_role role;
    int64_t fired, notified, resolved, resolved_notified; /* ASH_T_UNKNOWN: unknown / not yet */
};

enum phase { PH_SETUP, PH_WARMUP, PH_FAULTS, PH_REVERT, PH_TEARDOWN, PH_VERIFY };

struct run {
    const struct ash_run_config *cfg;
    const struct ash_scenario *sc;
    struct ash_ctx ctx;
    ash_loop *loop;
    struct ash_journal *journal;
    struct ash_sandbox *sandbox;
    struct ash_env *env;
    struct probe_rt *probes;
    struct det_rt *dets;
    struct fault_rt *faults;
    struct rem_rt *rems;
    struct event *events;
    size_t n_events, cap_events;
    struct detection *detections;
    size_t n_det, cap_det;
    struct alert_rec *alerts;
    size_t n_alerts, cap_alerts;
    int64_t first_detect_fired; /* startsAt of the alert that detected first, ASH_T_UNKNOWN if none */
    /* When the inject call that set t_inject began: the fault took effect
     * somewhere in [t_inject_call, t_inject] (a signal is delivered inside kill()). */
    int64_t t_inject_call;
    enum phase phase;
    int64_t wall_start; /* CLOCK_REALTIME at t_start: the run's wall-clock anchor */
    int64_t t_start, t0, t_inject, t_last_revert, t_end;
    int64_t first_detect;
    const struct ash_detector_spec *detected_by;
    bool aborted, finished, timed_out;
    bool lost;                                  /* memory ran out where a measurement is kept: the run was aborted */
    char abort_reason[ASH_ERROR_MSG_MAX + 128]; /* an error with what it stopped: never cut short of the error itself */
    struct ash_progress *progress;
    int64_t t_observed;   /* end of the observation phase (verify checks run after it) */
    int64_t t_unfinished; /* earliest start of a sample abandoned at teardown, or -1 */
    json_t *verify;       /* results of the scenario's verify: checks, NULL if none ran */
    int guardian_fd;      /* the guardian's pidfd while the loop watches it, else -1 */
    /* Guardrails (engine/guardrail.c): the one that tripped, why, when it became true,
     * and when every fault was reverted after it (the stop latency is the difference). */
    struct ash_guard *guard;
    const struct ash_guardrail_spec *guard_spec;
    char guard_why[256];
    int64_t guard_true, t_reverted_all;
    struct ash_control *control; /* `aftershock abort` / `mark` from another terminal */
    struct ash_offloop *off;     /* the worker for injects, reverts and remediations */
    struct ash_fleet_run *fleet; /* fleet: the agents that apply faults on other nodes (engine/fleet_run.c) */
    struct late_tick *late_ticks;
    size_t n_late_ticks, n_late_kept;
    /* The live view (--live) and the snapshot arrays it is drawn from. */
    struct ash_live *live;
    struct ash_live_probe *live_probes;
    struct ash_live_fault *live_faults;
    struct ash_live_guard *live_guards;
    struct ash_live_event *live_events, *live_dets;
    size_t cap_live_events, cap_live_dets;
};

/* The probes' samples as series for engine/measure.c (NULL when memory ran out). */
struct ash_series *ash_run_series(struct run *r);

/* src/engine/run_json.c: the run as one "runs" entry of report.json, built after
 * teardown from what the run kept and its probes' series (ash_run_series, passed in
 * so that run_json.c never calls back into run.c); the verdict its expectations
 * give; the revert failures written into it. */
json_t *ash_run_json(struct run *r, const struct ash_series *series, int verdict, const char *error);
int ash_run_json_verdict(json_t *run);
void ash_run_json_mark_revert_failure(json_t *run_json, const char *what, bool lead);
void ash_run_json_check_reverts(struct run *r, json_t *run_json);

#endif
