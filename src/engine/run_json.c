/* What a run measured, as one "runs" entry of report.json: built after teardown
 * from the plain records of engine/run_record.h, never from the runner's live
 * state, so the runner's lifecycle (run.c) and the report's shape change apart. */
#include "engine/run_json.h"
#include "engine/guardrail.h"
#include "report/report.h"
#include "sys/clock.h"

#include <stdlib.h>
#include <string.h>

static const char *const alert_role_names[] = {"detection", "other", "already-firing", "before-inject",
                                               "resolved-only"};

static json_t *ms_or_null(int64_t ns)
{
    return ns < 0 ? json_null() : json_real(ash_ns_to_ms(ns));
}

static json_t *rel(const struct ash_run_record *r, int64_t t)
{
    return t <= 0 ? json_null() : json_real(ash_ns_to_ms(t - r->t_start));
}

static int64_t detector_resolution(const struct ash_run_record *r, const struct ash_detector_spec *d, int64_t probe_res)
{
    if (!d)
        return probe_res;
    if (d->kind->resolution)
        return d->kind->resolution(d, r->sc);
    return 0;
}

struct pack_arg {
    const struct ash_point *s;
    int64_t t_start;
};

static void pack_point(void *arg, size_t i, int64_t *t_ns, int64_t *latency_ns, bool *ok)
{
    const struct pack_arg *a = arg;
    *t_ns = a->s[i].start - a->t_start;
    *latency_ns = a->s[i].end - a->s[i].start;
    *ok = a->s[i].ok;
}

json_t *ash_run_json(const struct ash_run_record *r, const struct ash_series *series, int verdict, const char *error)
{
    const struct ash_scenario *sc = r->sc;
    /* What bounds each figure's error (README, "The measured times"): impact is
     * the start of a failed sample, so one interval; recovery is the answer of
     * a healthy sample sent after the fault ended, so one interval plus the
     * longest a healthy answer may take, the slow threshold. */
    int64_t probe_res = 0, recover_res = 0;
    for (size_t i = 0; i < sc->n_probes; i++) {
        if (sc->probes[i].every_ns > probe_res)
            probe_res = sc->probes[i].every_ns;
        int64_t slow = r->probes[i].slow_ns > 0 ? r->probes[i].slow_ns : sc->probes[i].timeout_ns;
        if (slow > sc->probes[i].timeout_ns)
            slow = sc->probes[i].timeout_ns; /* no healthy answer takes longer than the timeout */
        if (sc->probes[i].every_ns + slow > recover_res)
            recover_res = sc->probes[i].every_ns + slow;
    }

    int64_t impact = -1, ttd = -1, ttr = -1, r2r = -1;
    bool have_i2d = false;
    int64_t i2d = 0;
    if (r->t_inject >= 0) {
        int64_t im = ash_measure_impact(series, sc->n_probes, r->t_inject);
        impact = im >= 0 ? im - r->t_inject : -1;
        ttd = r->first_detect >= 0 ? r->first_detect - r->t_inject : -1;
        /* Detection counted from the impact (the users' outage), not from
         * t_inject; negative when the system noticed before any probe failed. */
        if (im >= 0 && r->first_detect >= 0) {
            have_i2d = true;
            i2d = r->first_detect - im;
        }
        int64_t observed = r->t_observed > 0 ? r->t_observed : r->t_end;
        if (r->t_unfinished >= 0 && r->t_unfinished - 1 < observed)
            observed = r->t_unfinished - 1; /* an abandoned sample: its outcome is unknown */
        if (r->known_until < observed)
            observed = r->known_until; /* fleet: past a probe's last sample, or its silence */
        if (im < 0) {
            /* Never impacted: the steady state never broke, so nothing to recover from. */
            ttr = sc->n_probes ? 0 : -1;
        } else {
            int64_t rec = ash_measure_recovery(series, sc->n_probes, im, sc->expect.stable_for_ns, observed);
            ttr = rec >= 0 ? rec - r->t_inject : -1;
        }
        if (r->t_last_revert > 0) {
            int64_t from = r->t_last_revert;
            int64_t rec = ash_measure_recovery(series, sc->n_probes, from, sc->expect.stable_for_ns, observed);
            r2r = rec >= 0 ? rec - r->t_last_revert : -1;
        }
    }
    /* fleet: t_inject and the reverts may be an agent's times, each known to its clock bound. */
    int64_t clock_res = r->clock_bound;
    /* And no probe sampled while the first fault's call held the loop after its harm began. */
    probe_res += clock_res + r->inject_held;
    recover_res += clock_res;
    int64_t ttd_res = detector_resolution(r, r->detected_by, probe_res - clock_res) + clock_res;

    json_t *run = json_object();
    json_object_set_new(run, "index", json_integer(r->index));
    /* The kernel objects and processes of the run carry it (ash-<run_id>...,
     * ASH_RUN_ID): tests attribute leftovers by it. */
    json_object_set_new(run, "run_id", json_string(r->run_id));
    json_object_set_new(run, "verdict", json_string(ash_verdict_name(verdict)));
    json_object_set_new(run, "error", error ? json_string(error) : json_null());
    json_object_set_new(run, "duration_ms", json_real(ash_ns_to_ms(r->t_end - r->t_start)));
    json_object_set_new(run, "t_inject_ms", rel(r, r->t_inject));
    /* Raw CLOCK_MONOTONIC anchors, so other tools (and known-answer tests) can
     * line their own monotonic timestamps up with this run's. */
    json_object_set_new(run, "monotonic_ns",
                        json_pack("{s:I, s:I}", "start", (json_int_t)r->t_start, "inject", (json_int_t)r->t_inject));
    /* The wall clock at the run's start, read with it: every t_ms of this run as a
     * date (Grafana annotations, the game-day summary) is this + t_ms. */
    json_object_set_new(run, "wall_start_ms", json_integer((json_int_t)(r->wall_start / ASH_NS_PER_MS)));
    json_object_set_new(run, "impact_ms", ms_or_null(impact));
    json_object_set_new(run, "ttd_ms", ms_or_null(ttd));
    json_object_set_new(run, "detected_by", r->detected_by ? json_string(r->detected_by->name) : json_null());
    /* An alert's detection has two moments: TTD is the notification (above),
     * and this is when it fired (its startsAt), counted from t_inject too. */
    json_object_set_new(run, "ttd_fired_ms",
                        r->first_detect >= 0 && r->first_detect_fired != ASH_T_UNKNOWN && r->t_inject >= 0
                            ? json_real(ash_ns_to_ms(r->first_detect_fired - r->t_inject))
                            : json_null());
    json_object_set_new(run, "impact_to_detect_ms", have_i2d ? json_real(ash_ns_to_ms(i2d)) : json_null());
    /* The least delay the monitoring config implies, when the scenario states it. */
    json_t *floor = json_null();
    for (size_t i = 0; i < sc->n_detectors; i++) {
        const struct ash_detector_spec *d = &sc->detectors[i];
        char how[200];
        int64_t fl = d->kind->floor ? d->kind->floor(d, how, sizeof how) : -1;
        if (fl >= 0 && (json_is_null(floor) || d == r->detected_by)) {
            json_decref(floor);
            floor = json_pack("{s:s, s:f, s:s}", "detector", d->name, "ms", ash_ns_to_ms(fl), "terms", how);
        }
    }
    json_object_set_new(run, "detection_floor", floor);
    json_object_set_new(run, "ttr_ms", ms_or_null(ttr));
    json_object_set_new(run, "revert_to_recover_ms", ms_or_null(r2r));
    /* The run's one number is the largest of the probe figures' resolutions. */
    json_object_set_new(run, "resolution_ms", json_real(ash_ns_to_ms(recover_res)));
    json_object_set_new(run, "resolution",
                        json_pack("{s:f, s:f, s:f, s:f}", "impact_ms", ash_ns_to_ms(probe_res), "ttd_ms",
                                  ash_ns_to_ms(ttd_res), "ttr_ms", ash_ns_to_ms(recover_res), "revert_to_recover_ms",
                                  ash_ns_to_ms(recover_res)));

    if (r->fleet)
        json_object_set(run, "fleet", r->fleet);

    json_t *faults = json_array();
    for (size_t i = 0; i < sc->n_faults; i++) {
        const struct ash_fault_record *f = &r->faults[i];
        json_array_append_new(
            faults, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "name", f->spec->name, "kind", f->spec->kind->c.name,
                              "injected_ms", f->injected ? rel(r, f->injected_at) : json_null(), "reverted_ms",
                              f->reverted ? rel(r, f->reverted_at) : json_null(), "inject_latency_ms",
                              f->injected ? json_real(ash_ns_to_ms(f->injected_at - f->scheduled)) : json_null(),
                              "error", f->error[0] ? json_string(f->error) : json_null()));
        /* What became of it, in one word, so no reader has to infer it from nulls. */
        const char *outcome = !f->injected       ? (f->failed ? "inject-failed" : "not-injected")
                              : f->one_shot      ? "one-shot"
                              : f->revert_failed ? "revert-failed"
                              : f->reverted      ? "reverted"
                                                 : "in-effect";
        json_object_set_new(json_array_get(faults, i), "revert", json_string(outcome));
        /* What it was placed in: the container a label chose, each one of all: true. */
        json_object_set_new(json_array_get(faults, i), "targets", f->targets ? json_copy(f->targets) : json_array());
        /* A fault in effect that harmed nothing (its kind counted): said, not inferred. */
        json_object_set_new(json_array_get(faults, i), "no_effect",
                            f->no_effect[0] ? json_sprintf("fault had no effect: %s", f->no_effect) : json_null());
    }
    json_object_set_new(run, "faults", faults);
    json_t *guard = json_null();
    if (r->guard_spec) {
        char cond[256];
        ash_guard_condition(r->guard_spec, cond, sizeof cond);
        guard =
            json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", r->guard_spec->name, "condition", cond, "observed",
                      r->guard_why, "true_ms", rel(r, r->guard_true), "stop_latency_ms",
                      r->t_reverted_all > 0 ? json_real(ash_ns_to_ms(r->t_reverted_all - r->guard_true)) : json_null());
    }
    json_object_set_new(run, "guardrail", guard);

    json_t *probes = json_array();
    for (size_t i = 0; i < sc->n_probes; i++) {
        const struct ash_probe_record *p = &r->probes[i];
        size_t failures = 0;
        int64_t *lat = malloc((p->n ? p->n : 1) * sizeof *lat);
        for (size_t k = 0; k < p->n; k++) {
            failures += !p->samples[k].ok;
            if (lat)
                lat[k] = p->samples[k].end - p->samples[k].start;
        }
        json_t *pj =
            json_pack("{s:s, s:s, s:f, s:I, s:I}", "name", p->spec->name, "kind", p->spec->kind->c.name, "every_ms",
                      ash_ns_to_ms(p->spec->every_ns), "samples", (json_int_t)p->n, "failures", (json_int_t)failures);
        json_object_set_new(pj, "latency_ms",
                            json_pack("{s:o, s:o, s:o}", "p50",
                                      ms_or_null(lat ? ash_percentile_inplace(lat, p->n, 50) : -1), "p99",
                                      ms_or_null(lat ? ash_percentile_inplace(lat, p->n, 99) : -1), "max",
                                      ms_or_null(lat ? ash_percentile_inplace(lat, p->n, 100) : -1)));
        json_object_set_new(pj, "slow_ms", ms_or_null(p->slow_ns));
        json_object_set_new(pj, "slow_source", p->slow_source ? json_string(p->slow_source) : json_null());
        json_object_set_new(pj, "warmup_p99_ms", ms_or_null(p->warmup_p99));
        free(lat);
        /* The series packed, 16 bytes a sample (report/series.c; report.json
         * spells it out as it is written): a jansson array of three numbers
         * per sample was ~190 bytes, the run's peak at the end (issue 19).
         * The samples are then handed back (release): the run frees its own
         * copy now, so at most one probe's samples are held twice. */
        struct pack_arg a = {p->samples, r->t_start};
        json_t *ser = ash_report_series_pack(p->n, pack_point, &a);
        if (!ser) {
            json_decref(pj);
            json_decref(probes);
            json_decref(run);
            return NULL;
        }
        json_object_set_new(pj, "series", ser);
        if (r->release_samples)
            r->release_samples(r->owner, i);
        json_array_append_new(probes, pj);
    }
    json_object_set_new(run, "probes", probes);

    /* How late samples started against their schedule, over all probes: the
     * harness's own precision, reported so nobody has to take it on trust. */
    size_t n_late = 0;
    for (size_t i = 0; i < sc->n_probes; i++)
        n_late += r->probes[i].n_late;
    int64_t *late = malloc((n_late ? n_late : 1) * sizeof *late);
    if (late) {
        size_t k = 0;
        /* Gathered, each probe's own array goes (release): the run's lateness is held once. */
        for (size_t i = 0; i < sc->n_probes; i++) {
            for (size_t j = 0; j < r->probes[i].n_late; j++)
                late[k++] = r->probes[i].late[j];
            if (r->release_late)
                r->release_late(r->owner, i);
        }
        json_object_set_new(run, "schedule_lateness_ms",
                            json_pack("{s:I, s:o, s:o, s:o}", "ticks", (json_int_t)n_late, "p50",
                                      ms_or_null(ash_percentile_inplace(late, n_late, 50)), "p99",
                                      ms_or_null(ash_percentile_inplace(late, n_late, 99)), "max",
                                      ms_or_null(ash_percentile_inplace(late, n_late, 100))));
        free(late);
        /* Each tick over 1 ms late, with what held the loop meanwhile. */
        json_t *lj = json_object_get(run, "schedule_lateness_ms");
        json_t *ticks = json_array();
        for (size_t i = 0; i < r->n_late_kept; i++) {
            const struct late_tick *t = &r->late_ticks[i];
            json_array_append_new(ticks,
                                  json_pack("{s:s, s:o, s:f, s:s}", "probe", t->probe, "due_ms", rel(r, t->scheduled),
                                            "late_ms", ash_ns_to_ms(t->late), "cause", t->cause));
        }
        json_object_set_new(lj, "over_1ms", json_integer((json_int_t)r->n_late_ticks));
        json_object_set_new(lj, "late_ticks", ticks);
        if (r->fleet_lateness) /* fleet: each agent's ticks, per node */
            json_object_set(lj, "nodes", r->fleet_lateness);
    }

    json_t *dets = json_array();
    for (size_t i = 0; i < r->n_det; i++) {
        json_t *dj = json_pack("{s:s, s:o, s:s}", "detector", r->detections[i].det->name, "at_ms",
                               rel(r, r->detections[i].t), "detail", r->detections[i].detail);
        if (r->detections[i].fired != ASH_T_UNKNOWN)
            json_object_set_new(dj, "fired_ms", json_real(ash_ns_to_ms(r->detections[i].fired - r->t_start)));
        json_array_append_new(dets, dj);
    }
    json_object_set_new(run, "detections", dets);

    /* Per alert, not per request (README, "The measured times"): when it
     * fired (startsAt), was notified (the POST) and resolved, on the run's
     * clock like every *_ms here (ms since the run started; fired may be
     * negative: before the run). */
    json_t *alerts = json_array();
    for (size_t i = 0; i < r->n_alerts; i++) {
        const struct alert_rec *a = &r->alerts[i];
        json_t *aj = json_pack("{s:s, s:s, s:s, s:s}", "detector", a->det->name, "fingerprint", a->key, "alertname",
                               a->name, "role", alert_role_names[a->role]);
        json_object_set_new(aj, "fired_ms",
                            a->fired != ASH_T_UNKNOWN ? json_real(ash_ns_to_ms(a->fired - r->t_start)) : json_null());
        json_object_set_new(aj, "notified_ms",
                            a->notified != ASH_T_UNKNOWN ? json_real(ash_ns_to_ms(a->notified - r->t_start))
                                                         : json_null());
        json_object_set_new(aj, "resolved_ms",
                            a->resolved != ASH_T_UNKNOWN ? json_real(ash_ns_to_ms(a->resolved - r->t_start))
                                                         : json_null());
        json_object_set_new(aj, "resolved_notified_ms",
                            a->resolved_notified != ASH_T_UNKNOWN
                                ? json_real(ash_ns_to_ms(a->resolved_notified - r->t_start))
                                : json_null());
        json_object_set_new(aj, "already_firing", json_boolean(a->role == AR_ALREADY_FIRING));
        json_object_set_new(aj, "counted", json_boolean(a->role == AR_DETECTION));
        json_array_append_new(alerts, aj);
    }
    json_object_set_new(run, "alerts", alerts);

    json_t *rems = json_array();
    for (size_t i = 0; i < sc->n_remediations; i++) {
        const struct ash_remediation_record *m = &r->remediations[i];
        json_array_append_new(rems, json_pack("{s:s, s:o, s:b, s:o}", "name", m->spec->name, "at_ms",
                                              m->done ? rel(r, m->at) : json_null(), "ok", m->ok, "error",
                                              m->error[0] ? json_string(m->error) : json_null()));
    }
    json_object_set_new(run, "remediations", rems);

    json_t *exps = json_array();
    const struct ash_expect *e = &sc->expect;
    if (e->detect_within_ns >= 0)
        json_array_append_new(exps, json_pack("{s:s, s:f, s:o, s:b}", "name", "detect_within", "limit_ms",
                                              ash_ns_to_ms(e->detect_within_ns), "value_ms", ms_or_null(ttd), "met",
                                              ttd >= 0 && ttd <= e->detect_within_ns));
    if (e->recover_within_ns >= 0)
        json_array_append_new(exps, json_pack("{s:s, s:f, s:o, s:b}", "name", "recover_within", "limit_ms",
                                              ash_ns_to_ms(e->recover_within_ns), "value_ms", ms_or_null(ttr), "met",
                                              ttr >= 0 && ttr <= e->recover_within_ns));
    /* Post-recovery checks: each is an expectation too (its outcome against `expect`). */
    size_t vi;
    json_t *vr;
    json_array_foreach(r->verify, vi, vr)
    {
        char vname[300];
        snprintf(vname, sizeof vname, "verify %s: %s (expected %s)", json_string_value(json_object_get(vr, "name")),
                 json_string_value(json_object_get(vr, "outcome")), json_string_value(json_object_get(vr, "expect")));
        json_array_append_new(exps, json_pack("{s:s, s:n, s:n, s:O}", "name", vname, "limit_ms", "value_ms", "met",
                                              json_object_get(vr, "met")));
    }
    json_object_set_new(run, "expectations", exps);
    json_object_set_new(run, "verify", r->verify ? json_incref(r->verify) : json_array());

    json_t *tl = json_array();
    for (size_t i = 0; i < r->n_events; i++)
        json_array_append_new(tl, json_pack("{s:f, s:s, s:s}", "t_ms", ash_ns_to_ms(r->events[i].t - r->t_start),
                                            "event", r->events[i].event, "detail", r->events[i].detail));
    json_object_set_new(run, "timeline", tl);
    return run;
}

int ash_run_json_verdict(json_t *run)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(run, "expectations"), i,
                       e) if (!json_is_true(json_object_get(e, "met"))) return ASH_VERDICT_FAIL;
    return ASH_VERDICT_PASS;
}

/* A revert that failed outranks every expectation: the harm may still be in
 * effect, so the run is an error whatever the figures say. Sets the verdict
 * and the error of run_json. */
void ash_run_json_mark_revert_failure(json_t *run_json, const char *what, bool lead)
{
    const char *prev = json_string_value(json_object_get(run_json, "error"));
    char msg[2048];
    if (prev && *prev)
        snprintf(msg, sizeof msg, "%s; %s", lead ? what : prev, lead ? prev : what);
    else
        snprintf(msg, sizeof msg, "%s", what);
    json_object_set_new(run_json, "error", json_string(msg));
    json_object_set_new(run_json, "verdict", json_string(ash_verdict_name(ASH_VERDICT_ERROR)));
}

void ash_run_json_check_reverts(const struct ash_run_record *r, json_t *run_json)
{
    for (size_t i = 0; i < r->sc->n_faults; i++) {
        const struct ash_fault_record *f = &r->faults[i];
        if (!f->revert_failed)
            continue;
        char what[1024];
        snprintf(what, sizeof what, "fault '%s' could not be reverted (%s); its harm may still be in effect",
                 f->spec->name, f->error);
        ash_run_json_mark_revert_failure(run_json, what, true);
        return;
    }
}
