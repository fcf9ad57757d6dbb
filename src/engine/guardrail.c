/* Guardrails: a probe's error ratio or latency over a window, a time cap, a command
 * turning non-zero. Each is checked where its evidence arrives (a sample, a timer, a
 * child's exit), so a trip is seen within one loop iteration of being true. */
#include "engine/guardrail.h"
#include "env/env.h"
#include "sys/clock.h"
#include "sys/fs.h"
#include "sys/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct gsample {
    int64_t start, latency;
    bool ok;
};

struct guard_one {
    struct ash_guard *g;
    const struct ash_guardrail_spec *spec;
    struct gsample *win; /* the probe's samples started within the window (ring by compaction) */
    size_t n, cap;
    ash_timer *timer, *kill_timer;
    char **argv;
    struct ash_child child;
    bool running;
};

struct ash_guard {
    struct ash_ctx *ctx;
    ash_guard_trip_fn trip;
    void *arg;
    int64_t t0; /* fault phase start; 0 until active */
    bool tripped;
    struct guard_one *one;
    size_t n;
};

void ash_guard_condition(const struct ash_guardrail_spec *g, char *buf, size_t len)
{
    if (g->probe && g->error_ratio > 0)
        snprintf(buf, len, "probe %s error ratio >= %g%% over %g s", g->probe, g->error_ratio * 100,
                 (double)g->for_ns / 1e9);
    else if (g->probe)
        snprintf(buf, len, "probe %s slower than %g ms over %g s", g->probe, (double)g->latency_ns / 1e6,
                 (double)g->for_ns / 1e9);
    else if (g->alert)
        snprintf(buf, len, "alert %s arrives firing on %s%s", g->alert, g->detector ? "webhook detector " : "a webhook",
                 g->detector ? g->detector : "");
    else if (g->max_duration_ns > 0)
        snprintf(buf, len, "run longer than %g s", (double)g->max_duration_ns / 1e9);
    else
        snprintf(buf, len, "command '%s' exits non-zero", g->exec.n ? g->exec.v[0] : "?");
}

static void trip(struct guard_one *o, int64_t t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void trip(struct guard_one *o, int64_t t, const char *fmt, ...)
{
    struct ash_guard *g = o->g;
    if (g->tripped)
        return;
    g->tripped = true;
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    g->trip(g->arg, o->spec, why, t);
}

static int64_t max_duration_due(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    struct guard_one *o = data;
    o->timer = NULL;
    trip(o, now, "the run has lasted %g s", (double)o->spec->max_duration_ns / 1e9);
    return ASH_TIMER_DONE;
}

static void exec_reap(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    struct guard_one *o = data;
    int status = 0;
    if (!ash_child_reap(&o->child, &status))
        return;
    int64_t now = ash_now_ns();
    ash_loop_del_fd(loop, fd);
    ash_child_close(&o->child);
    o->running = false;
    if (o->kill_timer) {
        ash_loop_cancel_timer(loop, o->kill_timer);
        o->kill_timer = NULL;
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char how[64];
        ash_wait_status_str(status, how, sizeof how);
        trip(o, now, "'%s' %s", o->argv[0], how);
    }
}

static int64_t exec_overrun(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    (void)now;
    struct guard_one *o = data;
    o->kill_timer = NULL;
    if (o->running)
        kill(-o->child.pid, SIGKILL); /* exec_reap reports it as killed */
    return ASH_TIMER_DONE;
}

static int64_t exec_tick(ash_loop *loop, int64_t now, void *data)
{
    struct guard_one *o = data;
    if (o->g->tripped) {
        o->timer = NULL;
        return ASH_TIMER_DONE;
    }
    if (!o->running) {
        struct ash_spawn_opts so = {
            .argv = o->argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .new_pgroup = true};
        ash_error_t err = {0};
        if (ash_spawn(&so, &o->child, &err) == 0 &&
            ash_loop_add_fd(loop, o->child.pidfd, EPOLLIN, exec_reap, o, &err) == 0) {
            o->running = true;
            if (!(o->kill_timer = ash_loop_add_timer(loop, now + o->spec->timeout_ns, exec_overrun, o))) {
                kill(-o->child.pid, SIGKILL); /* unbounded it could outlive the run; exec_reap reports it */
                trip(o, now, "out of memory arming its check's time limit: stopping, as a guardrail that cannot watch");
            }
        } else {
            ash_ctx_eventf(o->g->ctx, now, "warning", "guardrail '%s': %s", o->spec->name, err.msg);
        }
    }
    return ash_timer_deadline(o->timer) + o->spec->every_ns;
}

int ash_guard_new(struct ash_ctx *ctx, int64_t t_start, ash_guard_trip_fn fn, void *arg, struct ash_guard **out,
                  ash_error_t *err)
{
    *out = NULL;
    const struct ash_scenario *sc = ctx->scenario;
    if (sc->n_guardrails == 0)
        return 0;
    struct ash_guard *g = calloc(1, sizeof *g);
    if (!g || !(g->one = calloc(sc->n_guardrails, sizeof *g->one))) {
        free(g);
        return ash_error(err, ENOMEM, "guardrails");
    }
    g->ctx = ctx;
    g->trip = fn;
    g->arg = arg;
    g->n = sc->n_guardrails;
    for (size_t i = 0; i < g->n; i++) {
        struct guard_one *o = &g->one[i];
        o->g = g;
        o->spec = &sc->guardrails[i];
        o->child.pid = o->child.pidfd = -1;
        if (o->spec->exec.n && !(o->argv = ash_env_argv(&o->spec->exec, sc->dir, ctx->run_dir))) {
            ash_guard_free(g);
            return ash_error(err, ENOMEM, "guardrails");
        }
        if (o->spec->max_duration_ns > 0 &&
            !(o->timer = ash_loop_add_timer(ctx->loop, t_start + o->spec->max_duration_ns, max_duration_due, o))) {
            ash_guard_free(g);
            return ash_error(err, ENOMEM, "guardrail '%s': cannot arm its time cap", o->spec->name);
        }
    }
    *out = g;
    return 0;
}

void ash_guard_activate(struct ash_guard *g, int64_t t0)
{
    if (!g)
        return;
    g->t0 = t0;
    for (size_t i = 0; i < g->n; i++)
        if (g->one[i].spec->exec.n && !(g->one[i].timer = ash_loop_add_timer(g->ctx->loop, t0, exec_tick, &g->one[i])))
            trip(&g->one[i], t0, "out of memory arming its check: stopping, as a guardrail that cannot watch");
}

void ash_guard_sample(struct ash_guard *g, const struct ash_probe_spec *p, const struct ash_sample *s)
{
    if (!g || !g->t0 || g->tripped || s->start < g->t0)
        return;
    int64_t now = ash_now_ns();
    for (size_t i = 0; i < g->n; i++) {
        struct guard_one *o = &g->one[i];
        if (!o->spec->probe || strcmp(o->spec->probe, p->name) != 0)
            continue;
        if (ash_grow(&o->win, &o->cap, o->n + 1, sizeof *o->win, 64) < 0) {
            /* A guardrail that cannot watch must not let the harm go on. */
            trip(o, now, "out of memory keeping probe %s's samples: stopping, as a guardrail that cannot watch",
                 p->name);
            return;
        }
        o->win[o->n++] = (struct gsample){s->start, s->end - s->start, s->ok};
        /* Keep what started within the window; the window is judged only once the
         * fault phase has lasted that long (a full window of evidence). */
        int64_t from = now - o->spec->for_ns;
        size_t k = 0;
        for (size_t j = 0; j < o->n; j++)
            if (o->win[j].start >= from)
                o->win[k++] = o->win[j];
        o->n = k;
        if (now - g->t0 < o->spec->for_ns || o->n == 0)
            continue;
        size_t failed = 0, slow = 0;
        for (size_t j = 0; j < o->n; j++) {
            failed += !o->win[j].ok;
            slow += !o->win[j].ok || o->win[j].latency > o->spec->latency_ns;
        }
        if (o->spec->error_ratio > 0 && (double)failed >= o->spec->error_ratio * (double)o->n)
            trip(o, now, "%zu of %zu samples of probe %s failed over %g ms", failed, o->n, p->name,
                 (double)o->spec->for_ns / 1e6);
        else if (o->spec->latency_ns > 0 && slow == o->n)
            trip(o, now, "all %zu samples of probe %s over %g ms were slower than %g ms or failed", o->n, p->name,
                 (double)o->spec->for_ns / 1e6, (double)o->spec->latency_ns / 1e6);
    }
}

/* Webhook detectors put "DETECTOR: ALERTNAME[: summary][ since ...]" on the timeline,
 * as "detected" (the alert they wait for) or "alert-firing" (any other). */
void ash_guard_event(struct ash_guard *g, const char *event, const char *detail, int64_t t)
{
    if (!g || !g->t0 || g->tripped || !detail || (strcmp(event, "detected") != 0 && strcmp(event, "alert-firing") != 0))
        return;
    const char *sep = strstr(detail, ": ");
    if (!sep)
        return;
    size_t dlen = (size_t)(sep - detail);
    const char *name = sep + 2;
    size_t nlen = strcspn(name, ": ");
    const struct ash_scenario *sc = g->ctx->scenario;
    bool webhook = false;
    for (size_t i = 0; i < sc->n_detectors && !webhook; i++)
        webhook = strlen(sc->detectors[i].name) == dlen && strncmp(sc->detectors[i].name, detail, dlen) == 0 &&
                  strcmp(sc->detectors[i].kind->c.name, "webhook") == 0;
    if (!webhook)
        return;
    for (size_t i = 0; i < g->n; i++) {
        const struct ash_guardrail_spec *s = g->one[i].spec;
        if (!s->alert || strlen(s->alert) != nlen || strncmp(s->alert, name, nlen) != 0)
            continue;
        if (s->detector && (strlen(s->detector) != dlen || strncmp(s->detector, detail, dlen) != 0))
            continue;
        trip(&g->one[i], t, "alert %s arrived firing on webhook detector %.*s", s->alert, (int)dlen, detail);
        return;
    }
}

void ash_guard_margin(const struct ash_guard *g, size_t i, int64_t now, char *buf, size_t len)
{
    if (!g || i >= g->n) {
        snprintf(buf, len, "-");
        return;
    }
    const struct guard_one *o = &g->one[i];
    const struct ash_guardrail_spec *s = o->spec;
    if (s->max_duration_ns > 0) {
        snprintf(buf, len, "%.0f s left", o->timer ? (double)(ash_timer_deadline(o->timer) - now) / 1e9 : 0.0);
    } else if (s->probe) {
        if (!g->t0) {
            snprintf(buf, len, "armed when the faults begin");
            return;
        }
        size_t failed = 0, slow = 0, n = 0;
        for (size_t j = 0; j < o->n; j++)
            if (o->win[j].start >= now - s->for_ns) {
                n++;
                failed += !o->win[j].ok;
                slow += !o->win[j].ok || o->win[j].latency > s->latency_ns;
            }
        if (s->error_ratio > 0)
            snprintf(buf, len, "now %zu of %zu failed (%.0f%%; trips at %g%%)", failed, n,
                     n ? 100.0 * (double)failed / (double)n : 0.0, s->error_ratio * 100);
        else
            snprintf(buf, len, "now %zu of %zu slow (trips when all are)", slow, n);
    } else if (s->alert) {
        snprintf(buf, len, "not arrived");
    } else {
        snprintf(buf, len, o->running ? "checking" : "last check passed");
    }
}

void ash_guard_free(struct ash_guard *g)
{
    if (!g)
        return;
    ash_loop *loop = g->ctx->loop;
    for (size_t i = 0; i < g->n; i++) {
        struct guard_one *o = &g->one[i];
        if (o->timer)
            ash_loop_cancel_timer(loop, o->timer);
        if (o->kill_timer)
            ash_loop_cancel_timer(loop, o->kill_timer);
        if (o->running) {
            ash_loop_del_fd(loop, o->child.pidfd);
            ash_child_terminate(&o->child, 0, true);
            ash_child_close(&o->child);
        }
        ash_argv_free(o->argv);
        free(o->win);
    }
    free(g->one);
    free(g);
}
