/* The runner: services up → steady state verified → faults on the timeline →
 * remediation → observe until recovered and stable (or timeout) → revert all
 * in reverse order → services down → one "runs" entry of the report.
 * Everything happens on one event loop, except that faults' injects and reverts
 * and remediations run in order on the offloop worker (engine/offloop.h), so a
 * slow one never stops the probes' clock; every time is CLOCK_MONOTONIC ns. */
#include "engine/run_int.h"
#include "env/target.h"
#include "engine/fault_revert.h"
#include "engine/fleet_run.h"
#include "engine/control.h"
#include "engine/guardian.h"
#include "engine/guardrail.h"
#include "engine/live.h"
#include "engine/measure.h"
#include "engine/offloop.h"
#include "engine/progress.h"
#include "engine/recover.h"
#include "engine/ready.h"
#include "engine/verify.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "dns/dns.h"
#include "sys/fs.h"
#include "sys/clock.h"
#include "sys/mapped_array.h"
#include "sys/gil.h"
#include "sys/journal.h"
#include "sys/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const phase_names[] = {"setup", "warm-up", "faults", "revert", "teardown", "verify"};

/* ---- timeline ---- */

static void abort_run(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Memory ran out where the run keeps what it measured. A lost sample, detection
 * or event would change a figure without a word (a lost detection moves TTD),
 * so the run stops, says why, and reverts like any abort. */
static void lost(struct run *r, const char *what)
{
    if (r->lost)
        return;
    r->lost = true;
    abort_run(r, "out of memory: a %s could not be kept, so the run's figures would be wrong", what);
}

/* A timer the run cannot do without (a probe's tick, a fault's inject or revert, the
 * timeout): without it a probe would never sample, a fault never end, the run never
 * stop; so failing to make one aborts the run (which reverts what is in effect). */
static ash_timer *need_timer(struct run *r, int64_t at, ash_timer_cb cb, void *data, const char *what)
{
    ash_timer *t = ash_loop_add_timer(r->loop, at, cb, data);
    if (!t)
        lost(r, what);
    return t;
}

static void add_event(struct run *r, int64_t t, const char *event, const char *detail)
{
    if (ash_grow(&r->events, &r->cap_events, r->n_events + 1, sizeof *r->events, 64) < 0) {
        lost(r, "timeline event");
        return;
    }
    char *ev = strdup(event), *det = strdup(detail ? detail : "");
    if (!ev || !det) {
        free(ev);
        free(det);
        lost(r, "timeline event");
        return;
    }
    r->events[r->n_events++] = (struct event){t, ev, det};
    ash_progress_event(r->progress, t - r->t_start, event, detail);
    ash_guard_event(r->guard, event, detail, t);
    /* Detectors that watch timeline events (OOM kills, service exits). */
    for (size_t i = 0; i < r->sc->n_detectors; i++)
        if (r->dets[i].started && r->dets[i].spec->kind->on_event)
            r->dets[i].spec->kind->on_event(&r->ctx, r->dets[i].spec, r->dets[i].state, event, detail, t);
    /* Faults in effect whose harm ends with something else (a lock's owner service). */
    for (size_t i = 0; r->faults && i < r->sc->n_faults; i++) {
        struct fault_rt *f = &r->faults[i];
        if (f->injected && !f->reverted && !f->one_shot && f->state && f->spec->kind->on_event)
            f->spec->kind->on_event(&r->ctx, f->spec, f->state, event, detail, t);
    }
}

static void ctx_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    add_event(ctx->engine, t, event, detail);
}

/* A kind lost something it cannot go on without (ash_ctx_fail): the run stops, saying why. */
static void ctx_fail(struct ash_ctx *ctx, const char *why)
{
    abort_run(ctx->engine, "%s", why);
}

static void env_event(void *arg, int64_t t, const char *event, const char *detail)
{
    add_event(arg, t, event, detail);
}

static void check_finished(struct run *r);
static void schedule_remediation(struct run *r, struct rem_rt *m, int64_t at);

/* A service printed a line: log detectors read it. */
static void env_line(void *arg, const char *service, const char *line, int64_t t)
{
    struct run *r = arg;
    for (size_t i = 0; i < r->sc->n_detectors; i++)
        if (r->dets[i].started && r->dets[i].spec->kind->on_log)
            r->dets[i].spec->kind->on_log(&r->ctx, r->dets[i].spec, r->dets[i].state, service, line, t);
}

/* A detector's signal that arrived while a fault was being injected (run_int.h). */
struct pending_signal {
    const struct ash_detector_spec *det;
    bool alert;
    int64_t t;
    char *detail;
    struct ash_alert a;              /* when alert: its strings are the three below */
    char *key, *name, *alert_detail; /* owned */
};

static void pending_free(struct pending_signal *p)
{
    free(p->detail);
    free(p->key);
    free(p->name);
    free(p->alert_detail);
}

static bool defer_signal(struct run *r, const struct ash_detector_spec *det, int64_t t, const char *detail,
                         const struct ash_alert *a)
{
    /* Held only while its classification can still change: before t_inject, or before
     * it (t_inject only moves earlier), or behind one held already (their order). */
    if (r->injecting == 0 || (r->t_inject >= 0 && t >= r->t_inject && r->n_pending == 0))
        return false;
    /* A guardrail on an alert is a safety stop: it hears the alert now, not when the
     * call returns (it trips once; the replay finds it tripped). */
    if (!a || a->firing) {
        char text[ASH_ERROR_MSG_MAX];
        snprintf(text, sizeof text, "%s: %s", det->name, a ? (a->detail ? a->detail : "") : (detail ? detail : ""));
        ash_guard_event(r->guard, a ? "alert-firing" : "detected", text, t);
    }
    if (ash_grow(&r->pending, &r->cap_pending, r->n_pending + 1, sizeof *r->pending, 8) < 0) {
        lost(r, "detection");
        return true;
    }
    struct pending_signal *p = &r->pending[r->n_pending];
    *p = (struct pending_signal){.det = det, .alert = a != NULL, .t = t, .detail = strdup(detail ? detail : "")};
    if (a) {
        p->a = *a;
        p->a.key = p->key = strdup(a->key ? a->key : "");
        p->a.name = p->name = a->name ? strdup(a->name) : NULL;
        p->a.detail = p->alert_detail = strdup(a->detail ? a->detail : "");
    }
    if (!p->detail || (a && (!p->key || !p->alert_detail || (a->name && !p->name)))) {
        pending_free(p);
        lost(r, "detection");
        return true;
    }
    r->n_pending++;
    return true;
}

static void ctx_detect(struct ash_ctx *ctx, const struct ash_detector_spec *det, int64_t t, const char *detail)
{
    struct run *r = ctx->engine;
    if (defer_signal(r, det, t, detail, NULL))
        return;
    if (r->t_inject < 0 || t < r->t_inject) {
        /* Before any fault is in effect: a false alarm, shown but not counted. */
        ash_ctx_eventf(ctx, t, "false-alarm", "%s: %s", det->name, detail ? detail : "");
        return;
    }
    if (ash_grow(&r->detections, &r->cap_det, r->n_det + 1, sizeof *r->detections, 16) < 0) {
        lost(r, "detection");
        return;
    }
    struct detection *d = &r->detections[r->n_det++];
    d->det = det;
    d->t = t;
    d->fired = ASH_T_UNKNOWN;
    snprintf(d->detail, sizeof d->detail, "%s", detail ? detail : "");
    ash_ctx_eventf(ctx, t, "detected", "%s: %s", det->name, detail ? detail : "");
    if (r->first_detect < 0 || t < r->first_detect) {
        bool first = r->first_detect < 0;
        r->first_detect = t;
        r->first_detect_fired = ASH_T_UNKNOWN;
        r->detected_by = det;
        if (first) {
            /* Remediations triggered by detection start their `after` now. */
            for (size_t i = 0; i < r->sc->n_remediations; i++) {
                struct rem_rt *m = &r->rems[i];
                if (m->spec->when == ASH_WHEN_DETECTED && !m->scheduled)
                    schedule_remediation(r, m, t + m->spec->after_ns);
            }
        }
    }
}

/* A started detector's placeholder ({webhook_url}): defined for the whole run,
 * as {NAME:DETECTOR} and, for the first detector offering it, as {NAME}. */
struct var_ctx {
    const char *detector;
    bool failed;
};

static void define_var(void *arg, const char *name, const char *value)
{
    struct var_ctx *v = arg;
    char qualified[512];
    snprintf(qualified, sizeof qualified, "%s:%s", name, v->detector);
    char probe[600];
    snprintf(probe, sizeof probe, "{%s}", name);
    char *now = ash_env_substitute(probe, NULL, NULL);
    bool undefined = now && strcmp(now, probe) == 0;
    free(now);
    if (ash_env_define(qualified, value) < 0 || (undefined && ash_env_define(name, value) < 0))
        v->failed = true;
}

static struct alert_rec *alert_find(struct run *r, const struct ash_detector_spec *det, const char *key)
{
    for (size_t i = r->n_alerts; i-- > 0;)
        if (r->alerts[i].det == det && strcmp(r->alerts[i].key, key) == 0)
            return &r->alerts[i];
    return NULL;
}

static struct alert_rec *alert_add(struct run *r, const struct ash_detector_spec *det, const struct ash_alert *a,
                                   enum alert_role role)
{
    if (ash_grow(&r->alerts, &r->cap_alerts, r->n_alerts + 1, sizeof *r->alerts, 16) < 0)
        return NULL;
    struct alert_rec *rec = &r->alerts[r->n_alerts];
    *rec = (struct alert_rec){.det = det,
                              .key = strdup(a->key),
                              .name = strdup(a->name ? a->name : ""),
                              .role = role,
                              .fired = a->fired,
                              .notified = a->firing ? a->notified : ASH_T_UNKNOWN,
                              .resolved = ASH_T_UNKNOWN,
                              .resolved_notified = ASH_T_UNKNOWN};
    if (!rec->key || !rec->name) {
        free(rec->key);
        free(rec->name);
        return NULL;
    }
    r->n_alerts++;
    return rec;
}

/* An alert first notified firing, or resolved (README, "The measured times"):
 * TTD is the notification, its startsAt is reported beside it, and an alert
 * that was firing before the fault was in effect is not the fault's detection. */
static void ctx_alert(struct ash_ctx *ctx, const struct ash_detector_spec *det, const struct ash_alert *a)
{
    struct run *r = ctx->engine;
    if (defer_signal(r, det, a->notified, a->detail, a))
        return;
    if (!a->firing) {
        struct alert_rec *rec = alert_find(r, det, a->key);
        if (!rec)
            rec = alert_add(r, det, a, AR_RESOLVED_ONLY);
        if (rec) {
            rec->resolved = a->resolved;
            rec->resolved_notified = a->notified;
        }
        ash_ctx_eventf(ctx, a->notified, "alert-resolved", "%s: %s", det->name, a->detail);
        return;
    }
    enum alert_role role;
    if (r->t_inject < 0 || a->notified < r->t_inject)
        role = AR_BEFORE_INJECT;
    /* Already firing: it started before the fault could have been in effect
     * (before the inject call began; a signal fault takes effect inside it, so
     * its alert may start before t_inject is read), to its stamp's precision. */
    else if (a->fired != ASH_T_UNKNOWN && a->fired + a->fired_res <= r->t_inject_call)
        role = AR_ALREADY_FIRING;
    else
        role = a->matches ? AR_DETECTION : AR_OTHER;
    alert_add(r, det, a, role);
    switch (role) {
    case AR_BEFORE_INJECT:
        if (a->matches)
            ctx_detect(ctx, det, a->notified, a->detail); /* shown as a false alarm */
        else
            ash_ctx_eventf(ctx, a->notified, "alert-firing", "%s: %s", det->name, a->detail);
        break;
    case AR_ALREADY_FIRING:
        ash_ctx_eventf(ctx, a->notified, "alert-already-firing",
                       "%s: %s (fired %.3f ms before the fault was in effect: not counted as detection)", det->name,
                       a->detail, ash_ns_to_ms(r->t_inject - a->fired));
        break;
    case AR_DETECTION: {
        size_t before = r->n_det;
        bool was_first = r->first_detect < 0 || a->notified < r->first_detect;
        ctx_detect(ctx, det, a->notified, a->detail);
        if (r->n_det > before)
            r->detections[r->n_det - 1].fired = a->fired;
        if (was_first && r->first_detect == a->notified)
            r->first_detect_fired = a->fired;
        break;
    }
    case AR_OTHER:
    case AR_RESOLVED_ONLY:
    default:
        ash_ctx_eventf(ctx, a->notified, "alert-firing", "%s: %s", det->name, a->detail);
        break;
    }
}

/* ---- probes ---- */

static void sample_done(void *arg, const struct ash_sample *s)
{
    struct probe_rt *p = arg;
    struct run *r = p->run;
    p->inflight--;
    for (size_t k = 0; k < p->n_fly; k++)
        if (p->fly[k] == s->start) {
            p->fly[k] = p->fly[--p->n_fly];
            break;
        }
    /* A slow answer is not a healthy one (README, "The measured times"): judged
     * here, once, so detectors, the report and the figures see the same sample. */
    struct ash_sample judged = *s;
    ash_sample_judge(&judged, p->slow_ns);
    s = &judged;
    if (ash_mapped_array_grow(&p->samples, &p->cap, p->n + 1, sizeof *p->samples) < 0) {
        lost(r, "probe sample");
        return;
    }
    /* Keep samples ordered by start (a slow sample may finish after a later one). */
    size_t i = p->n++;
    while (i > 0 && p->samples[i - 1].start > s->start) {
        p->samples[i] = p->samples[i - 1];
        i--;
    }
    p->samples[i] = (struct ash_point){.start = s->start, .end = s->end, .ok = s->ok};
    if (!s->ok && s->start >= p->fail_start) {
        p->fail_start = s->start;
        snprintf(p->fail_detail, sizeof p->fail_detail, "%s", s->detail);
    }
    ash_progress_sample(r->progress, p->spec->name, s->ok);
    ash_guard_sample(r->guard, p->spec, s);
    for (size_t d = 0; d < r->sc->n_detectors; d++)
        if (r->dets[d].started && r->dets[d].spec->kind->on_sample)
            r->dets[d].spec->kind->on_sample(&r->ctx, r->dets[d].spec, r->dets[d].state, p->spec, s);
    /* The end of the run is checked by stable_poll every 50 ms, not per sample:
     * it only decides when to stop observing, never a measured figure. */
}

/* A tick over 1 ms late: what held the loop between its schedule and its start (the
 * run lock's busy spans, sys/gil.h), or that nothing did (the thread woke late). */
static void note_late_tick(struct run *r, struct probe_rt *p, int64_t scheduled, int64_t start)
{
    r->n_late_ticks++;
    if (r->n_late_kept == ASH_LATE_KEEP)
        return;
    /* Like the lateness itself (probe_tick), the harness's precision is not a measured
     * figure: without memory it is counted (over_1ms) but not listed. */
    if (!r->late_ticks && !(r->late_ticks = calloc(ASH_LATE_KEEP, sizeof *r->late_ticks)))
        return;
    struct late_tick *t = &r->late_ticks[r->n_late_kept++];
    *t = (struct late_tick){.probe = p->spec->name, .scheduled = scheduled, .late = start - scheduled};
    struct ash_gil_busy b;
    int64_t total = 0;
    /* Busy for at least half the delay: that is the cause; less, and the loop was free
     * but not running (the machine's other work, the timer's wake-up). */
    if (ash_gil_busy_in(scheduled, start, &b, &total) && total * 2 >= t->late)
        snprintf(t->cause, sizeof t->cause, "loop busy in %s (%.3f ms, from %.3f ms %s the tick was due)", b.what,
                 ash_ns_to_ms(b.t1 - b.t0), ash_ns_to_ms(b.t0 < scheduled ? scheduled - b.t0 : b.t0 - scheduled),
                 b.t0 < scheduled ? "before" : "after");
    else
        snprintf(t->cause, sizeof t->cause,
                 "loop not busy (busy %.3f ms of it): the thread was woken late (machine load, scheduling)",
                 ash_ns_to_ms(total));
}

/* fleet: a sample of a probe its node's agent runs, already on this clock. */
static void remote_sample(void *arg, const struct ash_sample *s)
{
    struct probe_rt *p = arg;
    p->inflight++; /* sample_done counts it out (it was never in this loop's flight) */
    sample_done(p, s);
}

static int64_t probe_tick(ash_loop *loop, int64_t now, void *data)
{
    struct probe_rt *p = data;
    ash_gil_what("probe tick of", p->spec->name); /* ends the span of what ran before it */
    int64_t scheduled = ash_timer_deadline(p->timer);
    ash_error_t err = {0};
    /* The sample's start is the scheduled time if we are on time, so lateness
     * of the loop shows up in the bench, not as error in the figures. */
    int64_t start = ash_now_ns();
    /* The schedule's lateness is a measured figure, and the starts in flight bound what
     * is known: neither may be dropped quietly. */
    if (ash_mapped_array_grow(&p->late, &p->cap_late, p->n_late + 1, sizeof *p->late) < 0)
        lost(p->run, "probe tick's lateness");
    else
        p->late[p->n_late++] = start - scheduled;
    if (start - scheduled > ASH_LATE_REPORT_NS)
        note_late_tick(p->run, p, scheduled, start);
    if (ash_grow(&p->fly, &p->cap_fly, p->n_fly + 1, sizeof *p->fly, 8) < 0)
        lost(p->run, "probe sample in flight");
    else
        p->fly[p->n_fly++] = start;
    p->inflight++;
    if (p->spec->kind->sample(&p->run->ctx, p->spec, p->state, start, sample_done, p, &err) < 0) {
        p->inflight--;
        struct ash_sample s = {.start = start, .end = ash_now_ns(), .ok = false};
        snprintf(s.detail, sizeof s.detail, "%s", err.msg);
        p->inflight++;
        sample_done(p, &s);
    }
    int64_t next = scheduled + p->spec->every_ns;
    if (next <= now) /* we fell behind by more than an interval: skip, don't burst */
        next = now + p->spec->every_ns - (now - scheduled) % p->spec->every_ns;
    return next;
}

/* ---- faults ---- */

static int inject_fault(struct run *r, struct fault_rt *f);
static int revert_fault(struct run *r, struct fault_rt *f, const char *why);

/* A job for the offloop worker (or the loop thread, for a kind that needs it), in order
 * behind the ones before it; inline when there is no worker or when already inside a
 * job (what a job starts is part of it). */
/* Whether this fault's inject and revert run on the loop thread (kinds.h on_loop). */
static bool fault_on_loop(const struct ash_fault_spec *spec)
{
    return spec->kind->on_loop && !ash_fault_hits_running(spec);
}

static void run_job(struct run *r, ash_offloop_fn fn, void *arg, bool on_loop)
{
    if (!r->off || ash_offloop_in_job()) {
        fn(arg);
        return;
    }
    if (ash_offloop_queue(r->off, fn, arg, on_loop) < 0)
        lost(r, "fault or remediation job");
}

static void inject_job(void *arg)
{
    struct fault_rt *f = arg;
    struct run *r = f->run;
    if (f->cancelled || r->aborted || (r->phase != PH_FAULTS && r->phase != PH_VERIFY))
        return;
    ash_gil_what("the inject of fault", f->spec->name);
    inject_fault(r, f);
    /* Remediated while its inject ran: it ends now. */
    if (f->cancelled)
        revert_fault(r, f, "remediation");
}

static void revert_job(void *arg)
{
    struct fault_rt *f = arg;
    f->revert_queued = false;
    ash_gil_what("the revert of fault", f->spec->name);
    revert_fault(f->run, f, f->revert_why);
}

/* Revert f in its turn (after its inject and whatever was queued before). */
static void request_revert(struct run *r, struct fault_rt *f, const char *why)
{
    if (f->revert_queued)
        return;
    if (f->t_revert) {
        ash_loop_cancel_timer(r->loop, f->t_revert);
        f->t_revert = NULL;
    }
    f->revert_queued = true;
    f->revert_why = why;
    run_job(r, revert_job, f, fault_on_loop(f->spec));
}

static int64_t fault_inject_due(ash_loop *loop, int64_t now, void *data)
{
    struct fault_rt *f = data;
    f->t_inject = NULL;
    run_job(f->run, inject_job, f, fault_on_loop(f->spec));
    return ASH_TIMER_DONE;
}

static int64_t fault_revert_due(ash_loop *loop, int64_t now, void *data)
{
    struct fault_rt *f = data;
    f->t_revert = NULL;
    request_revert(f->run, f, "duration elapsed");
    return ASH_TIMER_DONE;
}

static void abort_run(struct run *r, const char *fmt, ...)
{
    if (r->aborted)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->abort_reason, sizeof r->abort_reason, fmt, ap);
    va_end(ap);
    r->aborted = true;
    add_event(r, ash_now_ns(), "abort", r->abort_reason);
    ash_loop_stop(r->loop);
}

/* The signals that arrived while faults were being injected, in their order, now
 * that t_inject is known (or the inject failed and there is none). */
static void flush_signals(struct run *r)
{
    /* Detached first: whatever a replay sets off starts a queue of its own. */
    struct pending_signal *held = r->pending;
    size_t n = r->n_pending;
    r->pending = NULL;
    r->n_pending = r->cap_pending = 0;
    for (size_t i = 0; i < n; i++) {
        struct pending_signal *p = &held[i];
        if (p->alert)
            ctx_alert(&r->ctx, p->det, &p->a);
        else
            ctx_detect(&r->ctx, p->det, p->t, p->detail);
        pending_free(p);
    }
    free(held);
}

static int inject_fault(struct run *r, struct fault_rt *f)
{
    ash_error_t err = {0};
    f->scheduled = f->scheduled ? f->scheduled : ash_now_ns();
    int64_t called = ash_now_ns();
    int64_t waited = ash_gil_waited_ns();
    /* fleet: a fault on a node is its agent's; t is when the agent had done it, on this clock. */
    char where[192] = "";
    int64_t t_remote = -1;
    /* What its targets resolve to (the container a label chose) is recorded as the kind
     * resolves them, so the terminal and the report say what was harmed. */
    json_t *harmed = json_array();
    /* Another fault may be injected inside this call (a restart's ready wait runs the
     * loop): each call has its own injecting/harmed/harm_began, restored after. */
    const struct ash_fault_spec *outer_injecting = r->ctx.injecting;
    json_t *outer_harmed = r->ctx.harmed;
    int64_t outer_began = r->ctx.harm_began;
    r->ctx.injecting = f->spec;
    r->ctx.harmed = harmed;
    r->ctx.harm_began = 0;
    if (r->t_inject < 0 && r->injecting == 0)
        r->t_inject_call = called; /* the earliest call: nothing of the faults was in effect before it */
    r->injecting++;
    int ret = r->fleet && ash_fault_node(f->spec)
                  ? ash_fleet_run_inject(r->fleet, f->spec, &t_remote, where, sizeof where, &err)
                  : ash_fault_inject(&r->ctx, f->spec, &f->state, &err);
    int64_t returned = ash_now_ns();
    int64_t began = r->ctx.harm_began;
    r->injecting--;
    /* In effect when the call returned, unless the kind's harm began inside it (a
     * restart: down while the call waits for it to come back); an agent's time is the same. */
    int64_t t = t_remote >= 0 ? t_remote : began > 0 ? began : returned;
    waited = ash_gil_waited_ns() - waited;
    r->ctx.injecting = outer_injecting;
    r->ctx.harmed = outer_harmed;
    r->ctx.harm_began = outer_began;
    const char *node = r->fleet ? ash_fault_node(f->spec) : NULL;
    if (node && json_array_size(harmed) == 0) /* its agent resolved it, there */
        json_array_append_new(harmed, json_pack("{s:s}", "node", node));
    json_decref(f->targets);
    f->targets = harmed;
    char on[600] = "";
    size_t k, off = 0;
    json_t *one;
    json_array_foreach(node ? NULL : harmed, k, one)
    {
        char text[300];
        int w = off < sizeof on ? snprintf(on + off, sizeof on - off, "%s%s", k ? ", " : " on ",
                                           ash_target_identity_text(one, text, sizeof text))
                                : 0;
        off += w > 0 ? (size_t)w : 0;
    }
    if (ret < 0) {
        f->failed = true;
        snprintf(f->error, sizeof f->error, "%s", err.msg);
        ash_ctx_eventf(&r->ctx, returned, "fault-failed", "%s: %s", f->spec->name, err.msg);
        if (r->injecting == 0)
            flush_signals(r);
        abort_run(r, "fault '%s' could not be injected: %s", f->spec->name, err.msg);
        return -1;
    }
    f->injected = true;
    f->injected_at = t;
    /* The earliest in effect: a fault injected inside this one's call returns first. */
    if (r->t_inject < 0 || t < r->t_inject) {
        r->t_inject = t;
        r->inject_held = t_remote < 0 && began > 0 && fault_on_loop(f->spec) ? returned - began : 0;
    }
    char wait[96] = "", inside[96] = "";
    /* t_inject's own error: README, "Faults do not stop the clock". Not where the harm
     * began inside the call: the lock was waited for after that stamp. */
    if (waited > ASH_LATE_REPORT_NS && !(t_remote < 0 && began > 0))
        snprintf(wait, sizeof wait, " (of which %.3f ms waiting for the run lock: in effect up to that much earlier)",
                 ash_ns_to_ms(waited));
    if (t_remote < 0 && began > 0)
        snprintf(inside, sizeof inside, "; in effect from then, inside its call, which returned %.3f ms later",
                 ash_ns_to_ms(returned - t));
    ash_ctx_eventf(&r->ctx, t, "fault-injected", "%s (%s)%s%s, latency %.3f ms%s%s", f->spec->name,
                   f->spec->kind->c.name, on, where, ash_ns_to_ms(t - f->scheduled), wait, inside);
    ash_progress_faults(r->progress, 1);
    if (f->spec->duration_ns >= 0)
        f->t_revert = need_timer(r, t + f->spec->duration_ns, fault_revert_due, f, "fault's revert timer");
    if (r->injecting == 0)
        flush_signals(r);
    check_finished(r);
    return 0;
}

static int revert_fault(struct run *r, struct fault_rt *f, const char *why)
{
    if (!f->injected || f->reverted || f->one_shot)
        return 0;
    if (f->t_revert) {
        ash_loop_cancel_timer(r->loop, f->t_revert);
        f->t_revert = NULL;
    }
    ash_error_t err = {0};
    const char *no_revert = f->spec->kind->no_revert ? f->spec->kind->no_revert(f->spec) : NULL;
    bool retried = false;
    /* The state is gone after this, even for a one-shot or a failed revert. */
    int64_t waited = ash_gil_waited_ns();
    char where[192] = "";
    int64_t t_remote = -1; /* fleet: as in inject_fault */
    int ret = r->fleet && ash_fault_node(f->spec)
                  ? ash_fleet_run_revert(r->fleet, f->spec, &t_remote, where, sizeof where, &err)
                  : ash_fault_revert(&r->ctx, f->spec, f->state, &retried, &err);
    waited = ash_gil_waited_ns() - waited;
    f->state = NULL;
    if (retried && ret == 0)
        ash_ctx_eventf(&r->ctx, ash_now_ns(), "fault-note", "%s: revert failed once (%s); the second try undid it",
                       f->spec->name, err.msg);
    else if (retried)
        ash_ctx_eventf(&r->ctx, ash_now_ns(), "warning", "%s: revert failed twice; its undo records stay pending",
                       f->spec->name);
    if (no_revert && ret == 0) {
        /* Never claim a revert that did not happen: the harm of a one-shot fault stays. */
        f->one_shot = true;
        ash_progress_faults(r->progress, -1);
        ash_ctx_eventf(&r->ctx, ash_now_ns(), "fault-not-reverted", "%s: not reverted (one-shot: %s)", f->spec->name,
                       no_revert);
        return 0;
    }
    f->reverted = true;
    f->reverted_at = t_remote >= 0 ? t_remote : ash_now_ns();
    if (f->spec->duration_ns >= 0 || f->spec->until_remediated)
        if (f->reverted_at > r->t_last_revert)
            r->t_last_revert = f->reverted_at;
    ash_progress_faults(r->progress, -1);
    char mark_err[ASH_ERROR_MSG_MAX];
    if (r->journal && ash_journal_take_done_failure(r->journal, mark_err, sizeof mark_err))
        /* The undo happened; only its bookkeeping did not: recover would undo it once more. */
        ash_ctx_eventf(&r->ctx, f->reverted_at, "warning",
                       "%s: reverted, but its journal 'done' mark could not be written (%s); "
                       "the record stays pending and is undone again at the end of the run (undos are idempotent)",
                       f->spec->name, mark_err);
    if (ret < 0) {
        f->revert_failed = true;
        snprintf(f->error, sizeof f->error, "revert: %s", err.msg);
        ash_ctx_eventf(&r->ctx, f->reverted_at, "revert-failed", "%s: %s", f->spec->name, err.msg);
        return -1;
    }
    /* The wait is said after where it was undone, as inject_fault says it: a fleet
     * fault's nodes belong in the event whether or not the lock was contended. */
    char wait[96] = "";
    if (waited > ASH_LATE_REPORT_NS)
        snprintf(wait, sizeof wait, " (of which %.3f ms waiting for the run lock: undone up to that much earlier)",
                 ash_ns_to_ms(waited));
    ash_ctx_eventf(&r->ctx, f->reverted_at, "fault-reverted", "%s (%s)%s%s", f->spec->name, why, where, wait);
    check_finished(r);
    return 0;
}

static int revert_by_name(struct run *r, const char *name, const char *why, ash_error_t *err)
{
    for (size_t i = 0; i < r->sc->n_faults; i++) {
        struct fault_rt *f = &r->faults[i];
        if (strcmp(f->spec->name, name) != 0)
            continue;
        if (!f->injected) {
            /* Remediating a fault that has not happened yet cancels it (a queued or
             * running inject too: it does nothing, or is reverted as it ends). */
            if (f->t_inject) {
                ash_loop_cancel_timer(r->loop, f->t_inject);
                f->t_inject = NULL;
            }
            f->cancelled = true;
            return 0;
        }
        /* From the loop thread (a fault that ended by itself): in its turn, later. */
        if (r->off && !ash_offloop_in_job()) {
            request_revert(r, f, why);
            return 0;
        }
        if (revert_fault(r, f, why) < 0)
            return ash_error(err, 0, "%s", f->error);
        return 0;
    }
    return ash_error(err, ENOENT, "no fault named '%s'", name);
}

static void ctx_no_effect(struct ash_ctx *ctx, const char *name, const char *why)
{
    struct run *r = ctx->engine;
    for (size_t i = 0; i < r->sc->n_faults; i++)
        if (strcmp(r->faults[i].spec->name, name) == 0) {
            snprintf(r->faults[i].no_effect, sizeof r->faults[i].no_effect, "%s", why);
            ash_ctx_eventf(ctx, ash_now_ns(), "fault-no-effect", "%s: fault had no effect: %s", name, why);
            return;
        }
}

static int ctx_revert_fault(struct ash_ctx *ctx, const char *name, ash_error_t *err)
{
    return revert_by_name(ctx->engine, name, "remediation", err);
}

static int ctx_fault_ended(struct ash_ctx *ctx, const char *name, ash_error_t *err)
{
    return revert_by_name(ctx->engine, name, "ended by itself", err);
}

static void *ctx_fault_state(struct ash_ctx *ctx, const char *name)
{
    struct run *r = ctx->engine;
    for (size_t i = 0; i < r->sc->n_faults; i++)
        if (strcmp(r->faults[i].spec->name, name) == 0 && r->faults[i].injected && !r->faults[i].reverted &&
            !r->faults[i].one_shot && !ash_fault_is_all(r->faults[i].spec))
            return r->faults[i].state;
    return NULL;
}

/* ---- remediation ---- */

/* The remediations that follow m start their `after` now that m has run; if
 * m failed they never run (a runbook step does not act on a finding that was
 * not made): the timeline says so, down the whole chain, and the report shows
 * them with no time and the reason. */
static void start_followers(struct run *r, const struct rem_rt *m)
{
    size_t self = (size_t)(m - r->rems);
    for (size_t i = 0; i < r->sc->n_remediations; i++) {
        struct rem_rt *f = &r->rems[i];
        if (f->spec->when != ASH_WHEN_FOLLOWS || f->spec->follows_idx != self || f->scheduled || f->done)
            continue;
        if (m->ok) {
            schedule_remediation(r, f, m->at + f->spec->after_ns);
            continue;
        }
        snprintf(f->error, sizeof f->error, "not run: %s, which it follows, failed", m->spec->name);
        ash_ctx_eventf(&r->ctx, m->at, "remediation-skipped", "%s: %s", f->spec->name, f->error);
        start_followers(r, f);
    }
}

static void remediation_job(void *arg)
{
    struct rem_rt *m = arg;
    struct run *r = m->run;
    if (r->aborted || (r->phase != PH_FAULTS && r->phase != PH_VERIFY))
        return;
    ash_gil_what("remediation", m->spec->name);
    ash_error_t err = {0};
    ash_ctx_eventf(&r->ctx, ash_now_ns(), "remediation", "%s (%s)", m->spec->name, m->spec->action->c.name);
    int ret = m->spec->action->run(&r->ctx, m->spec, &err);
    m->done = true;
    m->at = ash_now_ns();
    m->ok = ret == 0;
    if (ret < 0) {
        snprintf(m->error, sizeof m->error, "%s", err.msg);
        ash_ctx_eventf(&r->ctx, m->at, "remediation-failed", "%s: %s", m->spec->name, err.msg);
    } else {
        ash_ctx_eventf(&r->ctx, m->at, "remediation-done", "%s", m->spec->name);
    }
    start_followers(r, m);
    check_finished(r);
}

static int64_t remediation_due(ash_loop *loop, int64_t now, void *data)
{
    struct rem_rt *m = data;
    m->timer = NULL;
    run_job(m->run, remediation_job, m, m->spec->action->on_loop);
    return ASH_TIMER_DONE;
}

static void schedule_remediation(struct run *r, struct rem_rt *m, int64_t at)
{
    if (r->phase != PH_FAULTS)
        return;
    m->scheduled = true;
    m->timer = need_timer(r, at, remediation_due, m, "remediation's timer");
}

/* ---- the end of observation ---- */

/* Every probe's samples as series for the measurement functions (caller frees). */
/* ash_run_json is done with a probe's samples (packed) or lateness (gathered). */
static void release_samples(void *owner, size_t i)
{
    struct probe_rt *p = &((struct run *)owner)->probes[i];
    ash_mapped_array_free(p->samples, p->cap, sizeof *p->samples);
    p->samples = NULL;
    p->n = p->cap = 0;
}

static void release_late(void *owner, size_t i)
{
    struct probe_rt *p = &((struct run *)owner)->probes[i];
    ash_mapped_array_free(p->late, p->cap_late, sizeof *p->late);
    p->late = NULL;
    p->n_late = p->cap_late = 0;
}

struct ash_series *ash_run_series(struct run *r)
{
    struct ash_series *out = calloc(r->sc->n_probes + 1, sizeof *out);
    for (size_t i = 0; out && i < r->sc->n_probes; i++)
        out[i] = (struct ash_series){r->probes[i].samples, r->probes[i].n};
    return out;
}

/* What is known at `now`: evidence up to now, except that a sample still in
 * flight may yet fail at its start, so nothing from its start on is complete. */
static int64_t observed_bound(const struct run *r, int64_t now)
{
    int64_t bound = now;
    for (size_t i = 0; i < r->sc->n_probes; i++)
        for (size_t k = 0; k < r->probes[i].n_fly; k++)
            if (r->probes[i].fly[k] - 1 < bound)
                bound = r->probes[i].fly[k] - 1;
    /* fleet: a probe on a node is known up to its latest sample, never past a silence. */
    int64_t remote = ash_fleet_run_known_until(r->fleet);
    return remote < bound ? remote : bound;
}

/* Done when every fault has happened and every fault with a window has been
 * reverted, no remediation is pending, and a stable window has been seen after
 * the last revert (or after the impact, if nothing was reverted). */
static void check_finished(struct run *r)
{
    if (r->phase != PH_FAULTS || r->finished || r->aborted)
        return;
    for (size_t i = 0; i < r->sc->n_faults; i++) {
        const struct fault_rt *f = &r->faults[i];
        if (!f->injected)
            return;
        if ((f->spec->duration_ns >= 0 || f->spec->until_remediated) && !f->reverted)
            return;
    }
    for (size_t i = 0; i < r->sc->n_remediations; i++)
        if (r->rems[i].scheduled && !r->rems[i].done)
            return;
    if (r->sc->n_faults == 0 || r->sc->n_probes == 0) {
        r->finished = true;
        ash_loop_stop(r->loop);
        return;
    }
    struct ash_series *series = ash_run_series(r);
    if (!series)
        return;
    int64_t impact = ash_measure_impact(series, r->sc->n_probes, r->t_inject);
    int64_t from = r->t_last_revert > 0 ? r->t_last_revert : (impact >= 0 ? impact : r->t_inject);
    if (impact >= 0 && impact > from)
        from = impact;
    int64_t rec = ash_measure_recovery(series, r->sc->n_probes, from, r->sc->expect.stable_for_ns,
                                       observed_bound(r, ash_now_ns()));
    free(series);
    if (rec >= 0) {
        r->finished = true;
        ash_loop_stop(r->loop);
    }
}

static int64_t stable_poll(ash_loop *loop, int64_t now, void *data)
{
    struct run *r = data;
    check_finished(r);
    return r->finished || r->aborted ? ASH_TIMER_DONE : now + 50 * ASH_NS_PER_MS;
}

/* Once a second, the heap's free pages go back to the system. libcurl
 * allocates and frees per request (~40 calls a sample), and long-lived blocks
 * made meanwhile (easy handles when more samples are in flight, timers) pin
 * the heap's top higher and higher: the heap's resident size grew with the
 * run's length (0.6 to 2.3 MiB over 18 s at 1 000 samples/s) while what was
 * in use stayed under 1 MiB (issue 19). The trim takes tens of microseconds
 * on a heap this size. */
#define ASH_TRIM_EVERY_NS ASH_NS_PER_S
static int64_t trim_heap(ash_loop *loop, int64_t now, void *data)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    return now + ASH_TRIM_EVERY_NS;
}

static int64_t run_timeout(ash_loop *loop, int64_t now, void *data)
{
    struct run *r = data;
    r->timed_out = true;
    add_event(r, now, "timeout", "expect.timeout reached");
    ash_loop_stop(loop);
    return ASH_TIMER_DONE;
}

/* A guardrail tripped: the normal way out, now (teardown reverts everything). */
static void guard_trip(void *arg, const struct ash_guardrail_spec *g, const char *why, int64_t t_true)
{
    struct run *r = arg;
    if (r->aborted)
        return;
    r->guard_spec = g;
    r->guard_true = t_true;
    snprintf(r->guard_why, sizeof r->guard_why, "%s", why);
    abort_run(r, "guardrail '%s' tripped: %s", g->name, why);
}

/* `aftershock abort` or `aftershock mark` reached the run's control socket: an abort is
 * the normal way out; a mark is a timeline event at the moment it was sent, which the
 * `human` detector takes as the detection. */
static void control_cmd(void *arg, const char *what, const char *text, int64_t t, const char *who)
{
    struct run *r = arg;
    if (strcmp(what, "abort") == 0) {
        abort_run(r, "aborted from another terminal ('aftershock abort', %s)", who);
        return;
    }
    char event[32], detail[ASH_ERROR_MSG_MAX];
    snprintf(event, sizeof event, "mark-%s", what);
    if (strcmp(what, "note") == 0)
        snprintf(detail, sizeof detail, "%s (%s)", text, who);
    else
        snprintf(detail, sizeof detail, "%s", who);
    add_event(r, t, event, detail);
}

/* ---- the live view (engine/live.c draws it; this says what the run is now) ---- */

static bool live_events_fit(struct ash_live_event **v, size_t *cap, size_t n)
{
    if (n <= *cap)
        return true;
    struct ash_live_event *e = realloc(*v, n * sizeof *e);
    if (!e)
        return false;
    *v = e;
    *cap = n;
    return true;
}

static void live_fill(void *arg, struct ash_live_snapshot *s)
{
    struct run *r = arg;
    const struct ash_scenario *sc = r->sc;
    int64_t now = ash_now_ns();
    *s = (struct ash_live_snapshot){.scenario = sc->name,
                                    .run_id = r->cfg->run_id,
                                    .phase = phase_names[r->phase],
                                    .run = r->cfg->index,
                                    .elapsed_s = (double)(now - r->t_start) / 1e9,
                                    .since_inject_s = r->t_inject >= 0 ? (double)(now - r->t_inject) / 1e9 : -1};
    for (size_t i = 0; i < sc->n_probes && r->live_probes; i++) {
        const struct probe_rt *p = &r->probes[i];
        struct ash_live_probe *lp = &r->live_probes[i];
        size_t n = p->n < ASH_LIVE_SPARK ? p->n : ASH_LIVE_SPARK;
        lp->name = p->spec->name;
        lp->n = n;
        lp->slow_ms = p->slow_ns > 0 ? (double)p->slow_ns / 1e6 : 0;
        for (size_t k = 0; k < n; k++) {
            const struct ash_point *x = &p->samples[p->n - n + k];
            lp->ok[k] = x->ok;
            lp->latency_ms[k] = (double)(x->end - x->start) / 1e6;
        }
    }
    if (r->live_probes) {
        s->probes = r->live_probes;
        s->n_probes = sc->n_probes;
    }
    for (size_t i = 0; i < sc->n_faults && r->live_faults; i++) {
        const struct fault_rt *f = &r->faults[i];
        struct ash_live_fault *lf = &r->live_faults[i];
        *lf = (struct ash_live_fault){.name = f->spec->name, .kind = f->spec->kind->c.name, .seconds = -1};
        if (f->failed || f->revert_failed)
            lf->state = ASH_LIVE_FAILED;
        else if (f->reverted || f->one_shot || (!f->injected && r->phase > PH_FAULTS))
            lf->state = ASH_LIVE_ENDED;
        else if (f->injected) {
            lf->state = ASH_LIVE_ACTIVE;
            if (f->spec->duration_ns >= 0)
                lf->seconds = (double)(f->injected_at + f->spec->duration_ns - now) / 1e9;
        } else {
            lf->state = ASH_LIVE_PENDING;
            if (f->scheduled && f->t_inject)
                lf->seconds = (double)(f->scheduled - now) / 1e9;
        }
    }
    if (r->live_faults) {
        s->faults = r->live_faults;
        s->n_faults = sc->n_faults;
    }
    for (size_t i = 0; i < sc->n_guardrails && r->live_guards; i++) {
        struct ash_live_guard *lg = &r->live_guards[i];
        lg->name = sc->guardrails[i].name;
        ash_guard_condition(&sc->guardrails[i], lg->condition, sizeof lg->condition);
        if (r->guard_spec == &sc->guardrails[i])
            snprintf(lg->margin, sizeof lg->margin, "TRIPPED");
        else
            ash_guard_margin(r->guard, i, now, lg->margin, sizeof lg->margin);
    }
    if (r->live_guards) {
        s->guards = r->live_guards;
        s->n_guards = sc->n_guardrails;
    }
    if (live_events_fit(&r->live_events, &r->cap_live_events, r->n_events)) {
        for (size_t i = 0; i < r->n_events; i++)
            r->live_events[i] = (struct ash_live_event){(double)(r->events[i].t - r->t_start) / 1e9, r->events[i].event,
                                                        r->events[i].detail};
        s->events = r->live_events;
        s->n_events = r->n_events;
    }
    if (live_events_fit(&r->live_dets, &r->cap_live_dets, r->n_det)) {
        for (size_t i = 0; i < r->n_det; i++)
            r->live_dets[i] = (struct ash_live_event){(double)(r->detections[i].t - r->t_start) / 1e9,
                                                      r->detections[i].det->name, r->detections[i].detail};
        s->detections = r->live_dets;
        s->n_detections = r->n_det;
    }
}

/* A key in the live view: the control socket's entry point, from this terminal. */
static void live_cmd(void *arg, const char *what, const char *text, int64_t t, const char *who)
{
    struct run *r = arg;
    if (strcmp(what, "abort") == 0) {
        abort_run(r, "aborted from the live view ('a', confirmed)");
        return;
    }
    control_cmd(r, what, text, t, who);
}

/* --live: take the terminal, or say why not and keep the status line. */
static void live_start(struct run *r, enum ash_progress_mode *mode)
{
    const struct ash_scenario *sc = r->sc;
    r->live_probes = calloc(sc->n_probes + 1, sizeof *r->live_probes);
    r->live_faults = calloc(sc->n_faults + 1, sizeof *r->live_faults);
    r->live_guards = calloc(sc->n_guardrails + 1, sizeof *r->live_guards);
    char why[256] = "live view: out of memory";
    if (r->live_probes && r->live_faults && r->live_guards)
        ash_live_open(r->loop, r->cfg->log ? r->cfg->log : stderr, STDIN_FILENO, r->t_start, live_fill, live_cmd, r,
                      &r->live, why, sizeof why);
    if (r->live) {
        *mode = ASH_PROGRESS_QUIET; /* the view shows the events; lines would tear it */
        return;
    }
    *mode = isatty(fileno(r->cfg->log ? r->cfg->log : stderr)) ? ASH_PROGRESS_STATUS : ASH_PROGRESS_LINES;
    ash_text_fprintf(r->cfg->log ? r->cfg->log : stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock: %s\n", why);
}

/* fleet: an agent lost mid-run took its node's faults with it: the figures would
 * measure a fault that ended early, so the run stops (after the faults, it is only
 * on the timeline). */
static void fleet_lost(void *arg, const char *why)
{
    struct run *r = arg;
    if (r->phase <= PH_FAULTS)
        abort_run(r, "%s", why);
}

static void on_signal(ash_loop *loop, int signo, void *data)
{
    struct run *r = data;
    if (r->cfg->interrupted)
        *r->cfg->interrupted = signo;
    abort_run(r, "interrupted by %s", ash_signal_name(signo));
}

/* ---- the guardian ----
 * The guardian watches the harness; the harness watches the guardian. A
 * guardian that died (killed, OOM) is replaced by a new one for the same
 * journal, and the loss is on the timeline; if no new one can be started,
 * the run stops the fault phase and reverts now, while the harness can. */

static void guardian_exited(ash_loop *loop, int fd, uint32_t events, void *data);

static int watch_guardian(struct run *r, ash_error_t *err)
{
    int fd = ash_guardian_pidfd();
    if (fd < 0)
        return 0;
    if (ash_loop_add_fd(r->loop, fd, EPOLLIN, guardian_exited, r, err) < 0)
        return -1;
    r->guardian_fd = fd;
    return 0;
}

static void guardian_exited(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    struct run *r = data;
    ash_loop_del_fd(loop, fd);
    r->guardian_fd = -1;
    pid_t old = ash_guardian_pid();
    char how[64], detail[ASH_ERROR_MSG_MAX + 128];
    ash_error_t err = {0};
    int rc = ash_guardian_replace(how, sizeof how, &err);
    snprintf(detail, sizeof detail, "guardian pid %d %s", (int)old, how);
    add_event(r, ash_now_ns(), "guardian-lost", detail);
    if (rc == 0 && watch_guardian(r, &err) == 0) {
        snprintf(detail, sizeof detail, "guardian pid %d watches the journal again", (int)ash_guardian_pid());
        add_event(r, ash_now_ns(), "guardian-restarted", detail);
        return;
    }
    abort_run(r, "the guardian (pid %d) %s and no new one could be started (%s): reverting now, while the harness can",
              (int)old, how, err.msg);
}

/* ---- steady state ---- */

/* Each probe without a stated `slow:` gets ASH_SLOW_FACTOR x the p99 latency of
 * its warm-up samples (those started since `since`), at least the floor. */
static void set_slow_thresholds(struct run *r, int64_t since)
{
    for (size_t i = 0; i < r->sc->n_probes; i++) {
        struct probe_rt *p = &r->probes[i];
        if (p->spec->slow_ns > 0)
            continue;
        int64_t *lat = malloc((p->n ? p->n : 1) * sizeof *lat);
        size_t n = 0;
        for (size_t k = 0; lat && k < p->n; k++)
            if (p->samples[k].start >= since)
                lat[n++] = p->samples[k].end - p->samples[k].start;
        p->warmup_p99 = lat ? ash_percentile(lat, n, 99) : -1;
        p->slow_ns = lat ? ash_slow_default(lat, n) : ASH_SLOW_FLOOR_NS;
        free(lat);
        p->slow_source = p->slow_ns > ASH_SLOW_FLOOR_NS ? "warm-up p99" : "floor";
        /* Past its timeout a sample has failed, not been slow: a threshold above the
         * timeout would say nothing (and widen TTR's stated resolution for nothing). */
        if (p->spec->timeout_ns > 0 && p->slow_ns > p->spec->timeout_ns) {
            p->slow_ns = p->spec->timeout_ns;
            p->slow_source = "timeout";
        }
        char d[300];
        snprintf(d, sizeof d,
                 "%s: %.3f ms (%s: %d x the warm-up p99 of %.3f ms, at least %.0f ms, at most the timeout %.3f ms)",
                 p->spec->name, ash_ns_to_ms(p->slow_ns), p->slow_source, ASH_SLOW_FACTOR, ash_ns_to_ms(p->warmup_p99),
                 ash_ns_to_ms(ASH_SLOW_FLOOR_NS), ash_ns_to_ms(p->spec->timeout_ns));
        add_event(r, ash_now_ns(), "slow-threshold", d);
    }
}

/* The steady state holds when, over the last `warmup`, every probe has at least
 * one sample and none failed, and every service is still the process that was
 * started. We wait up to warmup + 10 s for such a window. */
static int verify_steady_state(struct run *r, ash_error_t *err)
{
    int64_t warmup = r->sc->expect.warmup_ns;
    int64_t begin = ash_now_ns();
    int64_t limit = begin + warmup + 10 * ASH_NS_PER_S;
    for (;;) {
        bool never = false;
        if (ash_loop_run_until(r->loop, &never, ash_now_ns() + (warmup > 0 ? warmup / 4 : 0) + ASH_NS_PER_MS, err) < 0)
            return -1;
        if (r->aborted)
            return ash_error(err, EINTR, "%s", r->abort_reason);
        /* A service that exited since it was started is not a steady state,
         * even if something else answers its probes (a previous run's
         * listener on a fixed port did). */
        if (r->env && ash_env_check_alive(r->env, err) < 0)
            return ash_error_wrap(err, "steady state not reached (nothing was injected)");
        int64_t now = ash_now_ns();
        if (now - begin < warmup)
            continue;
        const char *bad = NULL, *why = "";
        for (size_t i = 0; i < r->sc->n_probes && !bad; i++) {
            const struct probe_rt *p = &r->probes[i];
            size_t in_window = 0;
            for (size_t k = p->n; k-- > 0 && p->samples[k].start >= now - warmup;)
                in_window++;
            /* The newest failure in the window, as a scan from the newest sample finds it. */
            if (in_window && p->fail_start >= now - warmup) {
                bad = p->spec->name;
                why = p->fail_detail;
            }
            if (!bad && in_window == 0) {
                bad = p->spec->name;
                why = "no sample completed";
            }
        }
        if (!bad) {
            set_slow_thresholds(r, now - warmup);
            return 0;
        }
        if (now >= limit)
            return ash_error(err, 0, "steady state not reached: probe '%s' is not healthy (%s); nothing was injected",
                             bad, why);
    }
}

/* A service that found its port taken ("Address already in use") may have
 * collided with one of aftershock's own listeners: say which, as the
 * timeline's webhook-listening events name them. */
static void hint_own_listeners(struct run *r, char *msg, size_t len)
{
    if (!strstr(msg, "in use") || strstr(msg, "aftershock itself listens"))
        return;
    for (size_t i = 0; i < r->n_events; i++)
        if (strcmp(r->events[i].event, "webhook-listening") == 0) {
            size_t k = strlen(msg);
            if (k < len)
                snprintf(msg + k, len - k, " (aftershock itself listens: %s)", r->events[i].detail);
        }
}

/* ---- the run ---- */

static void free_run(struct run *r)
{
    for (size_t i = 0; i < r->n_events; i++) {
        free(r->events[i].event);
        free(r->events[i].detail);
    }
    free(r->events);
    for (size_t i = 0; i < r->n_pending; i++) /* none: each inject flushes its own */
        pending_free(&r->pending[i]);
    free(r->pending);
    free(r->detections);
    for (size_t i = 0; i < r->n_alerts; i++) {
        free(r->alerts[i].key);
        free(r->alerts[i].name);
    }
    free(r->alerts);
    if (r->probes)
        for (size_t i = 0; i < r->sc->n_probes; i++) {
            ash_mapped_array_free(r->probes[i].samples, r->probes[i].cap, sizeof *r->probes[i].samples);
            ash_mapped_array_free(r->probes[i].late, r->probes[i].cap_late, sizeof *r->probes[i].late);
            free(r->probes[i].fly);
        }
    free(r->probes);
    free(r->dets);
    for (size_t i = 0; r->faults && i < r->sc->n_faults; i++)
        json_decref(r->faults[i].targets);
    free(r->faults);
    free(r->rems);
    free(r->late_ticks);
    free(r->live_probes);
    free(r->live_faults);
    free(r->live_guards);
    free(r->live_events);
    free(r->live_dets);
    json_decref(r->verify);
}

static void teardown(struct run *r)
{
    /* A job in progress ends first (an inject half-way is reverted once it is whole);
     * queued ones are dropped: what they would revert is reverted here. */
    ash_fleet_run_cancel(r->fleet); /* fleet: the loop no longer collects agents' answers */
    ash_offloop_drain(r->off);
    /* Revert every fault still in effect, newest first. */
    r->phase = PH_REVERT;
    ash_progress_phase(r->progress, phase_names[r->phase]);
    for (size_t i = r->sc->n_faults; i-- > 0;) {
        struct fault_rt *f = &r->faults[i];
        if (f->t_inject) {
            ash_loop_cancel_timer(r->loop, f->t_inject);
            f->t_inject = NULL;
        }
        revert_fault(r, f, r->aborted ? "abort" : "end of run");
    }
    r->t_reverted_all = ash_now_ns();
    ash_guard_free(r->guard);
    r->guard = NULL;
    for (size_t i = 0; i < r->sc->n_remediations; i++)
        if (r->rems[i].timer) {
            ash_loop_cancel_timer(r->loop, r->rems[i].timer);
            r->rems[i].timer = NULL;
        }
    r->phase = PH_TEARDOWN;
    ash_progress_phase(r->progress, phase_names[r->phase]);
    ash_fleet_run_probes_stop(r->fleet); /* fleet: the probes on nodes, as the local ones below */
    for (size_t i = 0; i < r->sc->n_probes; i++) {
        struct probe_rt *p = &r->probes[i];
        if (p->timer)
            ash_loop_cancel_timer(r->loop, p->timer);
        p->timer = NULL;
        for (size_t k = 0; k < p->n_fly; k++)
            if (r->t_unfinished < 0 || p->fly[k] < r->t_unfinished)
                r->t_unfinished = p->fly[k];
        p->n_fly = 0;
        if (p->open)
            p->spec->kind->close(&r->ctx, p->spec, p->state);
        p->open = false;
    }
    for (size_t i = 0; i < r->sc->n_detectors; i++)
        if (r->dets[i].started) {
            r->dets[i].spec->kind->stop(&r->ctx, r->dets[i].spec, r->dets[i].state);
            r->dets[i].started = false;
        }
    ash_env_stop(r->env);
}

/* ---- the phases, in order (ash_run_once below runs them) ---- */

/* The run's records of every probe, detector, fault and remediation, bound to their
 * specs once, up front: the report lists each even when the run ends before it starts. */
static int run_bind(struct run *r, ash_error_t *err)
{
    const struct ash_scenario *sc = r->sc;
    r->probes = calloc(sc->n_probes + 1, sizeof *r->probes);
    r->dets = calloc(sc->n_detectors + 1, sizeof *r->dets);
    r->faults = calloc(sc->n_faults + 1, sizeof *r->faults);
    r->rems = calloc(sc->n_remediations + 1, sizeof *r->rems);
    if (!r->probes || !r->dets || !r->faults || !r->rems)
        return ash_error(err, ENOMEM, "run");
    /* Specs are bound up front: the report lists every probe and fault even
     * when the run ends before they start. */
    for (size_t i = 0; i < sc->n_probes; i++)
        r->probes[i] = (struct probe_rt){.spec = &sc->probes[i], .run = r, .fail_start = INT64_MIN};
    for (size_t i = 0; i < sc->n_detectors; i++)
        r->dets[i].spec = &sc->detectors[i];
    for (size_t i = 0; i < sc->n_faults; i++)
        r->faults[i] = (struct fault_rt){.spec = &sc->faults[i], .run = r};
    for (size_t i = 0; i < sc->n_remediations; i++)
        r->rems[i] = (struct rem_rt){.spec = &sc->remediations[i], .run = r};
    return 0;
}

/* What the run works with: its loop and worker, the live view, the guardian, the
 * journal, signals and the control socket. On failure, what was opened is closed by
 * the caller (the journal, when it exists, through the second-try path). */
static int run_open(struct run *r, ash_error_t *err)
{
    const struct ash_run_config *cfg = r->cfg;
    const struct ash_scenario *sc = r->sc;
    if (ash_loop_new(&r->loop, err) < 0)
        return -1;
    /* From here two threads run the run's code, one at a time (sys/gil.h). */
    ash_gil_enable();
    if (ash_offloop_new(r->loop, &r->off, err) < 0)
        return -1;
    enum ash_progress_mode pmode = cfg->progress;
    if (pmode == ASH_PROGRESS_LIVE)
        live_start(r, &pmode);
    r->progress = ash_progress_new(pmode, cfg->log, sc->name, cfg->index);
    /* The guardian first, then the journal it watches: a SIGKILL between the
     * two would otherwise leave a journal nobody removes (the guardian exits
     * quietly if the harness dies before the journal exists). */
    char journal_path[4096];
    snprintf(journal_path, sizeof journal_path, "%s/%s.journal", cfg->state_dir, cfg->run_id);
    ash_error_t gerr = {0};
    if (cfg->guardian_exe && ash_guardian_start(cfg->guardian_exe, journal_path, &gerr) < 0)
        add_event(r, ash_now_ns(), "warning", gerr.msg);
    else if (cfg->guardian_exe && watch_guardian(r, &gerr) < 0)
        add_event(r, ash_now_ns(), "warning", gerr.msg);
    json_t *commit = json_array();
    for (size_t i = 0; commit && i < sc->n_faults; i++)
        if (sc->faults[i].kind->commit &&
            sc->faults[i].kind->commit(&sc->faults[i], sc->dir, cfg->run_dir, commit, err) < 0) {
            json_decref(commit);
            return -1;
        }
    int jr = commit ? ash_journal_open_committed(cfg->state_dir, cfg->run_id, commit, &r->journal, err)
                    : ash_error(err, ENOMEM, "journal");
    json_decref(commit);
    if (jr < 0)
        return -1;
    if (ash_loop_add_signal(r->loop, SIGINT, on_signal, r, err) < 0 ||
        ash_loop_add_signal(r->loop, SIGTERM, on_signal, r, err) < 0 ||
        ash_loop_add_signal(r->loop, SIGHUP, on_signal, r, err) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    ash_error_t cerr = {0};
    if (ash_control_open(r->loop, cfg->state_dir, cfg->run_id, control_cmd, r, &r->control, &cerr) < 0)
        add_event(r, ash_now_ns(), "warning", cerr.msg);
    return 0;
}

/* The world the faults act on: the sandbox, the DNS server, the services' environment. */
static int run_world(struct run *r, ash_error_t *err)
{
    const struct ash_run_config *cfg = r->cfg;
    const struct ash_scenario *sc = r->sc;
    r->ctx = (struct ash_ctx){.loop = r->loop,
                              .journal = r->journal,
                              .scenario = sc,
                              .run_id = cfg->run_id,
                              .run_dir = cfg->run_dir,
                              .state_dir = cfg->state_dir,
                              .event = ctx_event,
                              .detect = ctx_detect,
                              .alert = ctx_alert,
                              .revert_fault = ctx_revert_fault,
                              .fault_ended = ctx_fault_ended,
                              .no_effect = ctx_no_effect,
                              .fault_state = ctx_fault_state,
                              .fail = ctx_fail,
                              .engine = r};
    if (sc->n_hosts > 0) {
        if (ash_sandbox_create_in(sc, cfg->run_id, cfg->run_dir, r->journal, &r->sandbox, err) < 0) {
            ash_error_wrap(err, "cannot build the sandbox");
            return -1;
        }
        r->ctx.sandbox = r->sandbox;
    }
    /* The run's DNS server (src/dns/), before any service resolves a name:
     * sandbox mode on the bridge's gateway:53, host mode on `dns.listen`. */
    if (ash_dns_start(r->loop, r->sandbox, sc, &r->ctx.dns, err) < 0) {
        ash_error_wrap(err, "cannot start the DNS server");
        return -1;
    }
    struct ash_env_opts eo = {.loop = r->loop,
                              .sandbox = r->sandbox,
                              .journal = r->journal,
                              .scenario = sc,
                              .run_id = cfg->run_id,
                              .run_dir = cfg->run_dir,
                              .hooks = {.event = env_event, .arg = r}};
    eo.hooks.ready = ash_engine_ready_check;
    eo.hooks.ready_arg = &r->ctx;
    eo.hooks.line = env_line;
    if (ash_env_new(&eo, &r->env, err) < 0)
        return -1;
    r->ctx.env = r->env;
    return 0;
}

/* Fleet (a scenario with `fleet:`): every node's agent connected, its clock mapped,
 * before anything is harmed (engine/fleet_run.c). */
static int run_fleet(struct run *r, ash_error_t *err)
{
    if (!r->sc->fleet.set)
        return 0;
    struct ash_fleet_run_opts fo = {.loop = r->loop,
                                    .sc = r->sc,
                                    .run_dir = r->cfg->run_dir,
                                    .run_id = r->cfg->run_id,
                                    .journal = r->journal,
                                    .log = r->cfg->log,
                                    .stop = &r->aborted,
                                    .event = env_event,
                                    .lost = fleet_lost,
                                    .arg = r};
    return ash_fleet_run_start(&fo, &r->fleet, err);
}

/* Setup: detectors listen from the start (a log line during warm-up is a false alarm,
 * shown), guardrails are armed, the services come up. */
static int run_setup(struct run *r, ash_error_t *err)
{
    const struct ash_scenario *sc = r->sc;
    r->phase = PH_SETUP;
    ash_progress_phase(r->progress, phase_names[r->phase]);
    add_event(r, r->t_start, "run-start", sc->name);
    for (size_t i = 0; i < sc->n_detectors; i++) {
        if (sc->detectors[i].kind->start(&r->ctx, r->dets[i].spec, &r->dets[i].state, err) < 0) {
            ash_error_wrap(err, "detector '%s'", sc->detectors[i].name);
            return -1;
        }
        r->dets[i].started = true;
        const struct ash_detector_kind *dk = sc->detectors[i].kind;
        struct var_ctx vc = {.detector = sc->detectors[i].name};
        if (dk->values)
            dk->values(r->dets[i].spec, r->dets[i].state, define_var, &vc);
        if (vc.failed) {
            ash_error(err, ENOMEM, "detector '%s': its placeholders", sc->detectors[i].name);
            return -1;
        }
    }
    if (ash_guard_new(&r->ctx, r->t_start, guard_trip, r, &r->guard, err) < 0)
        return -1;
    if (ash_env_start(r->env, err) < 0)
        return -1;
    /* fleet.hosts: the nodes' agents build their hosts on the sandbox's segment and
     * start their services, once the services here are ready (a node's may need them). */
    return ash_fleet_run_hosts(r->fleet, r->sandbox, err);
}

/* Warm-up: the probes start and the steady state is verified. */
static int run_warmup(struct run *r, ash_error_t *err)
{
    const struct ash_scenario *sc = r->sc;
    r->phase = PH_WARMUP;
    ash_progress_phase(r->progress, phase_names[r->phase]);
    ash_progress_probes(r->progress, sc->n_probes);
    int64_t now = ash_now_ns();
    for (size_t i = 0; i < sc->n_probes; i++) {
        struct probe_rt *p = &r->probes[i];
        /* A stated threshold applies from the first sample; a derived one
         * once the warm-up has shown the probe's own latency. */
        p->slow_ns = p->spec->slow_ns > 0 ? p->spec->slow_ns : -1;
        p->slow_source = p->spec->slow_ns > 0 ? "stated" : NULL;
        p->warmup_p99 = -1;
        if (p->spec->node) { /* fleet: its node's agent samples it */
            if (ash_fleet_run_probe_start(r->fleet, p->spec, remote_sample, p, err) < 0)
                return -1;
            continue;
        }
        if (p->spec->kind->open(&r->ctx, p->spec, &p->state, err) < 0) {
            ash_error_wrap(err, "probe '%s'", p->spec->name);
            return -1;
        }
        p->open = true;
        p->timer = need_timer(r, now, probe_tick, p, "probe's timer");
    }
    if (verify_steady_state(r, err) < 0)
        return -1;
    return 0;
}

/* Faults: the timeline (faults, remediations at their times, the timeout and the end
 * check) runs on the loop until the system recovered and held, or the run ends. */
static int run_faults(struct run *r, ash_error_t *err)
{
    const struct ash_scenario *sc = r->sc;
    r->phase = PH_FAULTS;
    ash_progress_phase(r->progress, phase_names[r->phase]);
    r->t0 = ash_now_ns();
    add_event(r, r->t0, "steady-state", "verified; fault phase begins");
    ash_guard_activate(r->guard, r->t0);
    for (size_t i = 0; i < sc->n_faults; i++) {
        struct fault_rt *f = &r->faults[i];
        f->scheduled = r->t0 + f->spec->at_ns;
        f->t_inject = need_timer(r, f->scheduled, fault_inject_due, f, "fault's timer");
    }
    for (size_t i = 0; i < sc->n_remediations; i++) {
        struct rem_rt *m = &r->rems[i];
        if (m->spec->when == ASH_WHEN_AT)
            schedule_remediation(r, m, r->t0 + m->spec->at_ns);
    }
    ash_timer *tt = need_timer(r, r->t0 + sc->expect.timeout_ns, run_timeout, r, "run's timeout");
    ash_timer *sp = need_timer(r, r->t0 + 50 * ASH_NS_PER_MS, stable_poll, r, "run's end check");
    /* Memory only: the run goes on without it. */
    ash_timer *trim = ash_loop_add_timer(r->loop, r->t0 + ASH_TRIM_EVERY_NS, trim_heap, NULL);
    bool never = false;
    /* Aborted already (a timer could not be made): run_until would clear the stop. */
    if (!r->aborted && ash_loop_run_until(r->loop, &never, -1, err) < 0)
        return -1;
    if (!r->timed_out && tt)
        ash_loop_cancel_timer(r->loop, tt);
    if (!r->finished && !r->aborted && sp)
        ash_loop_cancel_timer(r->loop, sp);
    ash_loop_cancel_timer(r->loop, trim); /* it never ends alone */
    ash_fleet_run_cancel(r->fleet);       /* fleet: the loop no longer collects agents' answers */
    ash_offloop_drain(r->off);            /* verify looks at what the faults left: none half-way */
    return 0;
}

/* Verify: checks run after observation, before anything is reverted or stopped (the
 * damage a fault left must still be there to be found). Probes keep sampling; the
 * figures are measured up to t_observed. */
static void run_verify(struct run *r)
{
    const struct ash_scenario *sc = r->sc;
    r->t_observed = ash_now_ns();
    if (sc->n_verify && !r->aborted) {
        r->phase = PH_VERIFY;
        ash_progress_phase(r->progress, phase_names[r->phase]);
        r->verify = ash_verify_run(&r->ctx, r->t_start);
    }
}

int ash_run_once(const struct ash_run_config *cfg, json_t **run_json, ash_error_t *err)
{
    const struct ash_scenario *sc = cfg->sc;
    struct run r = {.cfg = cfg,
                    .sc = sc,
                    .t_inject = -1,
                    .first_detect = -1,
                    .first_detect_fired = ASH_T_UNKNOWN,
                    .guardian_fd = -1,
                    .t_unfinished = -1};
    int verdict = ASH_VERDICT_ERROR;
    char error[ASH_ERROR_MSG_MAX + 128] = "";
    int ret = -1;
    r.t_start = ash_now_ns();
    r.wall_start = ash_wall_ns();
    ash_env_undefine_all();
    if (ash_env_define("run_id", cfg->run_id) < 0)
        return ash_error(err, ENOMEM, "run");
    /* Every command the run starts (probes, checks, faults, actions, helpers) can tell its run. */
    char run_env[128];
    snprintf(run_env, sizeof run_env, "ASH_RUN_ID=%s", cfg->run_id);
    ash_spawn_set_common_env(run_env);

    if (run_bind(&r, err) < 0)
        goto out_free;
    if (run_open(&r, err) < 0) {
        if (r.journal)
            goto out_journal;
        goto out_loop;
    }
    if (run_world(&r, err) < 0)
        goto out_journal;
    /* The observed phases: a failure (or an abort) in any ends the run through
     * teardown, which reverts what is in effect and stops what was started. */
    static int (*const observed[])(struct run *, ash_error_t *) = {run_fleet, run_setup, run_warmup, run_faults};
    for (size_t i = 0; i < sizeof observed / sizeof observed[0]; i++)
        if (observed[i](&r, err) < 0)
            goto out_teardown;
    ret = 0;
    run_verify(&r);

out_teardown:
    if (ret < 0 && !error[0]) {
        snprintf(error, sizeof error, "%s", err->msg);
        hint_own_listeners(&r, error, sizeof error);
        hint_own_listeners(&r, err->msg, sizeof err->msg);
    }
    r.t_end = ash_now_ns();
    teardown(&r);
    if (r.aborted) {
        verdict = ASH_VERDICT_ABORTED;
        if (!error[0])
            snprintf(error, sizeof error, "%s", r.abort_reason);
    }
    add_event(&r, ash_now_ns(), "run-end", r.aborted ? "aborted" : (r.timed_out ? "timeout" : "finished"));
    struct ash_series *series = ash_run_series(&r);
    struct ash_run_record rec;
    bool have_rec = series && ash_run_record_fill(&r, &rec) == 0;
    if (have_rec) {
        rec.release_samples = release_samples;
        rec.release_late = release_late;
        rec.owner = &r;
    }
    *run_json = have_rec ? ash_run_json(&rec, series, verdict, error[0] ? error : NULL) : NULL;
    free(series);
    if (ret == 0 && !r.aborted)
        verdict = ash_run_json_verdict(*run_json);
    else if (ret < 0 && r.t_inject < 0 && !r.aborted)
        verdict = ASH_VERDICT_ERROR;
    json_object_set_new(*run_json, "verdict", json_string(ash_verdict_name(verdict)));
    if (have_rec) {
        ash_run_json_check_reverts(&rec, *run_json);
        ash_run_record_free(&rec);
    }
    for (size_t i = 0; i < sc->n_faults; i++)
        if (r.faults[i].revert_failed)
            verdict = ASH_VERDICT_ERROR;
    ret = verdict;
    ash_fleet_run_end(r.fleet); /* fleet: bye; each agent reverts what is left on its node */
    ash_env_free(r.env);
out_journal:
    ash_dns_free(r.ctx.dns); /* the DNS server: after the services, before the sandbox it serves */
    ash_sandbox_destroy(r.sandbox);
    if (r.journal) {
        /* An undo that failed once (a transient error: fork, a journal write)
         * gets one more try through the undo ops `aftershock recover` uses;
         * only what fails twice is left for recover. */
        char jpath[4096];
        snprintf(jpath, sizeof jpath, "%s", ash_journal_path(r.journal));
        size_t left = ash_journal_pending(r.journal);
        /* The second try works in the directory the journal was made in, not in
         * whatever its path names by now. */
        int jdir = left ? fcntl(ash_journal_dir_fd(r.journal), F_DUPFD_CLOEXEC, 0) : -1;
        ash_journal_close(r.journal, true);
        ash_error_t rerr = {0};
        int again = !left       ? 0
                    : jdir >= 0 ? ash_recover_journal_at(jdir, jpath, NULL, &rerr)
                                : ash_recover_journal(jpath, NULL, &rerr);
        if (jdir >= 0)
            close(jdir);
        if (again != 0) {
            static const char left_msg[] = "undo records are left in the journal after a second try: run "
                                           "`aftershock recover`";
            add_event(&r, ash_now_ns(), "revert-failed", left_msg);
            /* The report was built before this last try: tell it too. */
            if (*run_json) {
                json_t *ev = json_pack("{s:f, s:s, s:s}", "t_ms", ash_ns_to_ms(ash_now_ns() - r.t_start), "event",
                                       "revert-failed", "detail", left_msg);
                json_array_append_new(json_object_get(*run_json, "timeline"), ev);
                ash_run_json_mark_revert_failure(*run_json, left_msg, false);
                ret = ASH_VERDICT_ERROR;
            }
        }
    }
out_loop:
    if (r.guardian_fd >= 0)
        ash_loop_del_fd(r.loop, r.guardian_fd); /* its end now is the planned one */
    if (cfg->guardian_exe)
        ash_guardian_stop(); /* after the journal is closed: never while it has undo records */
    ash_control_close(r.control);
    ash_offloop_free(r.off);
    ash_gil_disable();
    ash_live_close(r.live); /* the terminal back before the summary is printed */
    ash_loop_free(r.loop);
out_free:
    ash_progress_free(r.progress);
    free_run(&r);
    ash_env_undefine_all();
    ash_spawn_set_common_env(NULL);
    if (ret < 0 && !*run_json)
        return -1;
    return ret;
}
