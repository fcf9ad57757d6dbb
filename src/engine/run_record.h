/* What a run produced, as plain records: the "runs" entry of report.json is built
 * from these (engine/run_json.c), not from the runner's live state (struct run,
 * engine/run_int.h), so the runner's lifecycle and the report's shape change apart.
 * engine/run_record.c fills one from a finished run; it borrows the run's arrays. */
#ifndef ASH_ENGINE_RUN_RECORD_H
#define ASH_ENGINE_RUN_RECORD_H

#include "engine/measure.h"
#include "kinds.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct run;

/* A probe tick that started over ASH_LATE_REPORT_NS after its schedule, and why. */
struct late_tick {
    const char *probe;
    int64_t scheduled, late;
    char cause[200];
};

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

struct ash_probe_record {
    const struct ash_probe_spec *spec;
    const struct ash_point *samples; /* in start order */
    size_t n;
    int64_t slow_ns;         /* the slow threshold in effect; -1 if never set */
    const char *slow_source; /* "stated", "warm-up p99", "floor" or "timeout" */
    int64_t warmup_p99;      /* the warm-up's p99 latency it came from, -1 if stated */
    const int64_t *late;     /* per tick: actual start - scheduled start */
    size_t n_late;
};

struct ash_fault_record {
    const struct ash_fault_spec *spec;
    bool injected, reverted, failed, revert_failed, one_shot;
    int64_t scheduled, injected_at, reverted_at;
    const char *error;     /* "" if none */
    const char *no_effect; /* why it harmed nothing, "" if it did */
    json_t *targets;       /* what its targets resolved to, or NULL */
};

struct ash_remediation_record {
    const struct ash_remediation_spec *spec;
    bool done, ok;
    int64_t at;
    const char *error; /* "" if none */
};

struct ash_run_record {
    const struct ash_scenario *sc;
    int index;
    const char *run_id;
    int64_t wall_start; /* CLOCK_REALTIME at t_start */
    int64_t t_start, t_inject, t_last_revert, t_end;
    int64_t t_observed;   /* end of the observation phase, 0 if none */
    int64_t t_unfinished; /* earliest start of a sample abandoned at teardown, or -1 */
    int64_t first_detect, first_detect_fired;
    const struct ash_detector_spec *detected_by;
    struct ash_probe_record *probes;             /* sc->n_probes */
    struct ash_fault_record *faults;             /* sc->n_faults */
    struct ash_remediation_record *remediations; /* sc->n_remediations */
    const struct event *events;
    size_t n_events;
    const struct detection *detections;
    size_t n_det;
    const struct alert_rec *alerts;
    size_t n_alerts;
    const struct late_tick *late_ticks;
    size_t n_late_kept, n_late_ticks;
    const struct ash_guardrail_spec *guard_spec; /* the guardrail that tripped, or NULL */
    const char *guard_why;
    int64_t guard_true, t_reverted_all;
    json_t *verify; /* the verify checks' results, NULL if none ran (borrowed) */
    /* fleet: the agents' figures (a local run: known to the end, no bound, no JSON) */
    int64_t known_until, clock_bound;
    int64_t inject_held;            /* the first fault's call held the loop this long after its harm began */
    json_t *fleet, *fleet_lateness; /* owned; NULL: not a fleet run */
    /* Called by ash_run_json once it no longer reads probe i's samples (packed
     * into the report) or its lateness (gathered): the owner may free them then,
     * so a long run's samples are not held twice at its end (issue 19). The
     * record's pointers to them are not read again. NULL: kept. */
    void (*release_samples)(void *owner, size_t probe);
    void (*release_late)(void *owner, size_t probe);
    void *owner;
};

/* Fill rec from a finished run (its arrays borrowed: r must outlive rec). -1 when
 * memory runs out. */
int ash_run_record_fill(const struct run *r, struct ash_run_record *rec);
void ash_run_record_free(struct ash_run_record *rec);

#endif
