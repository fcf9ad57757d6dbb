/* Detector `probes`: the steady state broken (N consecutive failures of one
 * probe, or an error ratio over a sliding window). The moment of detection is
 * the end of the sample that tipped it: that is when the system could know. */
#include "kinds.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct probes_det_conf {
    long long consecutive_failures;
    double error_ratio;
    int64_t window_ns;
    struct ash_strlist probes;
};

static const struct ash_field probes_det_fields[] = {
    {"consecutive_failures", ASH_F_INT, offsetof(struct probes_det_conf, consecutive_failures), 0,
     "failed samples in a row of one probe (default 3)", NULL, NULL, 1, 1000000},
    {"error_ratio", ASH_F_PERCENT, offsetof(struct probes_det_conf, error_ratio), 0,
     "or: share of failed samples over `window`"},
    {"window", ASH_F_DURATION, offsetof(struct probes_det_conf, window_ns), 0, "window for error_ratio (default 5s)"},
    {"probes", ASH_F_STRLIST, offsetof(struct probes_det_conf, probes), 0, "probe names to watch (default all)"},
    {NULL}};

static void probes_det_defaults(void *conf)
{
    struct probes_det_conf *c = conf;
    c->consecutive_failures = 0;
    c->error_ratio = 0;
    c->window_ns = 5 * ASH_NS_PER_S;
}

static int probes_det_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct probes_det_conf *c = conf;
    if (c->consecutive_failures && c->error_ratio > 0)
        return ash_node_fail(node, err, "give either consecutive_failures or error_ratio, not both");
    if (!c->consecutive_failures && c->error_ratio <= 0)
        c->consecutive_failures = 3;
    for (size_t i = 0; i < c->probes.n; i++) {
        bool found = false;
        for (size_t p = 0; p < sc->n_probes && !found; p++)
            found = strcmp(sc->probes[p].name, c->probes.v[i]) == 0;
        if (!found) {
            ash_node v = ash_map_get(node, "probes");
            return ash_node_fail(&v, err, "no probe named '%s' in this scenario", c->probes.v[i]);
        }
    }
    return 0;
}

struct watched {
    const char *name;
    unsigned run; /* consecutive failures */
    /* ring of recent (end time, ok) for the ratio */
    int64_t *t;
    bool *ok;
    size_t head, len, cap;
};

struct probes_det_state {
    struct watched *w;
    size_t n;
    bool tripped; /* fire once per outage; re-armed by a healthy sample */
};

static int probes_det_start(struct ash_ctx *ctx, const struct ash_detector_spec *d, void **state, ash_error_t *err)
{
    const struct probes_det_conf *c = d->conf;
    const struct ash_scenario *sc = ctx->scenario;
    struct probes_det_state *st = calloc(1, sizeof *st);
    if (!st || !(st->w = calloc(sc->n_probes + 1, sizeof *st->w))) {
        free(st);
        return ash_error(err, ENOMEM, "detector");
    }
    for (size_t p = 0; p < sc->n_probes; p++) {
        bool want = c->probes.n == 0;
        for (size_t i = 0; i < c->probes.n && !want; i++)
            want = strcmp(c->probes.v[i], sc->probes[p].name) == 0;
        if (want)
            st->w[st->n++].name = sc->probes[p].name;
    }
    *state = st;
    return 0;
}

static void probes_det_stop(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state)
{
    struct probes_det_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free(st->w[i].t);
        free(st->w[i].ok);
    }
    free(st->w);
    free(st);
}

static void probes_det_sample(struct ash_ctx *ctx, const struct ash_detector_spec *d, void *state,
                              const struct ash_probe_spec *probe, const struct ash_sample *s)
{
    const struct probes_det_conf *c = d->conf;
    struct probes_det_state *st = state;
    struct watched *w = NULL;
    for (size_t i = 0; i < st->n && !w; i++)
        if (strcmp(st->w[i].name, probe->name) == 0)
            w = &st->w[i];
    if (!w)
        return;
    w->run = s->ok ? 0 : w->run + 1;
    char detail[200];
    if (c->consecutive_failures) {
        if (w->run >= (unsigned)c->consecutive_failures && !st->tripped) {
            st->tripped = true;
            snprintf(detail, sizeof detail, "probe '%s' failed %u times in a row (%s)", probe->name, w->run, s->detail);
            ctx->detect(ctx, d, s->end, detail);
        }
    } else {
        if (w->len == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 64;
            int64_t *t = malloc(cap * sizeof *t);
            bool *ok = malloc(cap * sizeof *ok);
            if (!t || !ok) {
                free(t);
                free(ok);
                return;
            }
            for (size_t k = 0; k < w->len; k++) {
                t[k] = w->t[(w->head + k) % w->cap];
                ok[k] = w->ok[(w->head + k) % w->cap];
            }
            free(w->t);
            free(w->ok);
            w->t = t;
            w->ok = ok;
            w->head = 0;
            w->cap = cap;
        }
        size_t tail = (w->head + w->len) % w->cap;
        w->t[tail] = s->end;
        w->ok[tail] = s->ok;
        w->len++;
        while (w->len && w->t[w->head] < s->end - c->window_ns) {
            w->head = (w->head + 1) % w->cap;
            w->len--;
        }
        size_t bad = 0;
        for (size_t k = 0; k < w->len; k++)
            bad += !w->ok[(w->head + k) % w->cap];
        double ratio = w->len ? (double)bad / (double)w->len : 0;
        if (ratio >= c->error_ratio && bad > 0 && !st->tripped) {
            st->tripped = true;
            snprintf(detail, sizeof detail, "probe '%s' error ratio %.0f%% over %lld ms", probe->name, ratio * 100,
                     (long long)(c->window_ns / ASH_NS_PER_MS));
            ctx->detect(ctx, d, s->end, detail);
        }
        if (ratio < c->error_ratio && bad == 0)
            st->tripped = false;
        return;
    }
    if (s->ok) {
        bool all_ok = true;
        for (size_t i = 0; i < st->n; i++)
            all_ok = all_ok && st->w[i].run == 0;
        if (all_ok)
            st->tripped = false;
    }
}

static int64_t probes_det_resolution(const struct ash_detector_spec *d, const struct ash_scenario *sc)
{
    /* A failed sample is sent within one interval of the harm and known at its
     * end, at most its timeout later (a slow answer ends before the timeout). */
    int64_t worst = 0;
    for (size_t p = 0; p < sc->n_probes; p++)
        if (sc->probes[p].every_ns + sc->probes[p].timeout_ns > worst)
            worst = sc->probes[p].every_ns + sc->probes[p].timeout_ns;
    return worst;
}

const struct ash_detector_kind ash_detector_probes = {
    .c = {.name = "probes",
          .summary = "steady state broken: N consecutive failed samples or an error ratio",
          .fields = probes_det_fields,
          .conf_size = sizeof(struct probes_det_conf),
          .defaults = probes_det_defaults,
          .validate = probes_det_validate},
    .start = probes_det_start,
    .stop = probes_det_stop,
    .on_sample = probes_det_sample,
    .resolution = probes_det_resolution,
};
