/* The run's live state: src/engine/run.c (the lifecycle: resources, phases,
 * teardown), read once more by src/engine/run_record.c, which makes the plain
 * records report.json is built from (run_json.c never sees this). Private to them. */
#ifndef ASH_ENGINE_RUN_INT_H
#define ASH_ENGINE_RUN_INT_H

#include "engine/control.h"
#include "engine/guardrail.h"
#include "engine/live.h"
#include "engine/measure.h"
#include "engine/offloop.h"
#include "engine/progress.h"
#include "engine/run_json.h"
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

/* A probe tick over ASH_LATE_REPORT_NS late is kept (struct late_tick, run_record.h). */
#define ASH_LATE_REPORT_NS ASH_NS_PER_MS
#define ASH_LATE_KEEP 1000 /* the first ones; later ones are only counted */

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
    /* Faults being injected now (a restart's ready wait runs the loop, and another
     * fault's timer may inject inside it), and the detector signals that arrived
     * meanwhile: classified once every call has returned, against the t_inject they
     * set (a harm that began inside a call is before its return). */
    int injecting;
    /* How long the call of the fault that set t_inject held the loop after its harm
     * began (a kill waiting for the cgroup to empty): no probe sampled then, so the
     * impact's resolution grows by it. 0 when it ran off the loop or harmed at return. */
    int64_t inject_held;
    struct pending_signal *pending;
    size_t n_pending, cap_pending;
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

#endif
