/* One run's timeline as inline SVG: probe strips, fault windows, markers for detection, remediation and
 * recovery, the incident's own detection/recovery (scaled) and the expectation limits, an axis in seconds
 * from t_inject and, when the scenario gives the incident's clock, an axis in the incident's own time.
 *
 * Labels never overlap: every label (fault names and marker names) gets a lane above the strips, the
 * lowest lane where neither its text nor the line of a marker labelled above it would cross another
 * label. Widths are estimated from the character count at the label's font size, on the wide side. */
#include "report/report.h"
#include "sys/fs.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Geometry, in SVG user units (the page shows the SVG at 1:1, scrolling sideways on a narrow screen). */
#define W 1000.0
#define LEFT 196.0
#define RIGHT 24.0
#define EDGE 4.0 /* labels stay this far inside the drawing */
#define TOP_PAD 6.0
#define LANE_H 18.0
#define STRIP_H 46.0
#define LAT_H 26.0  /* latency line area at the top of a strip */
#define BAND_Y 32.0 /* ok/fail band: offset inside the strip */
#define BAND_H 9.0
#define FONT_PX 12.0
/* Average advance of a character at FONT_PX, rounded up (DejaVu Sans, the
 * widest common sans-serif, averages about 0.6 em for mixed text). */
#define CHAR_W (FONT_PX * 0.60)
#define CHAR_W_BOLD (FONT_PX * 0.66)
#define LABEL_GAP 10.0

struct scale {
    double tmax;
};

static double xt(const struct scale *s, double t)
{
    if (t < 0)
        t = 0;
    if (t > s->tmax)
        t = s->tmax;
    return LEFT + t / s->tmax * (W - LEFT - RIGHT);
}

static void widen(double *tmax, const json_t *obj, const char *key)
{
    double v;
    if (ash_report_get_ms(obj, key, &v) && v > *tmax)
        *tmax = v;
}

/* Characters (not bytes) of a UTF-8 string. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* s cut to at most max characters, "…" marking the cut; out has room for 4 * max + 4 bytes. */
static const char *cut(char *out, size_t len, const char *s, size_t max)
{
    if (chars(s) <= max) {
        snprintf(out, len, "%s", s);
        return out;
    }
    size_t n = 0, i = 0;
    for (; s[i] && i + 4 < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == max - 1)
            break;
    }
    snprintf(out, len, "%.*s\u2026", (int)i, s);
    return out;
}

/* ---- what goes on the timeline ---- */

enum item_kind { IT_FAULT, IT_MARKER };

struct item {
    enum item_kind kind;
    const char *cls; /* marker class: inject, detect, remedy, remedy-failed, recover, incident, limit */
    double t, t_end; /* t_end: a fault's revert (or the end) */
    bool reverted;
    char label[200];
    char tip[400];
    /* layout */
    double x, x0, x1; /* anchor, label extent */
    bool end_anchor;
    size_t lane;
};

struct items {
    struct item *v;
    size_t n, cap;
};

static struct item *add(struct items *it)
{
    if (ash_grow(&it->v, &it->cap, it->n + 1, sizeof *it->v, 16) < 0)
        return NULL;
    struct item *x = &it->v[it->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static void add_marker(struct items *it, const char *cls, double t, const char *label, const char *tip)
{
    struct item *x = add(it);
    if (!x)
        return;
    x->kind = IT_MARKER;
    x->cls = cls;
    x->t = t;
    snprintf(x->label, sizeof x->label, "%s", label);
    snprintf(x->tip, sizeof x->tip, "%s", tip ? tip : "");
}

/* "HH:MM" or "HH:MM:SS" as seconds of the day; -1 when not such a string. */
static int clock_of(const json_t *inc, const char *key)
{
    const char *s = ash_report_get_str(inc, key, NULL);
    unsigned h, m, sec = 0;
    if (!s || sscanf(s, "%u:%u:%u", &h, &m, &sec) < 2 || h > 23 || m > 59 || sec > 59)
        return -1;
    return (int)(h * 3600 + m * 60 + sec);
}

static void fmt_clock(char *buf, size_t len, double secs, bool with_seconds)
{
    long long s = llround(secs);
    s %= 86400;
    if (s < 0)
        s += 86400;
    if (with_seconds)
        snprintf(buf, len, "%02lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, len, "%02lld:%02lld", s / 3600, (s / 60) % 60);
}

static bool assumed(const json_t *inc, const char *key)
{
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(inc, "assumed"), i,
                       a) if (json_is_string(a) && strcmp(json_string_value(a), key) == 0) return true;
    return false;
}

/* The incident's own moments, scaled onto the run from t_inject (fault_at = t_inject). */
static void incident_markers(struct items *it, const json_t *report, double t_inject)
{
    const json_t *inc = json_object_get(report, "incident");
    if (!json_is_object(inc))
        return;
    double scale = 1;
    if (!ash_report_get_ms(inc, "timescale", &scale) || !(scale > 0))
        scale = 1;
    int fault_at = clock_of(inc, "fault_at");
    static const struct {
        const char *key, *what, *fig;
    } moments[] = {{"detected_at", "incident detected", "scaled_ttd_ms"},
                   {"mitigated_at", "incident mitigated", NULL},
                   {"recovered_at", "incident recovered", "scaled_ttr_ms"}};
    for (size_t k = 0; k < 3; k++) {
        int at = clock_of(inc, moments[k].key);
        double scaled;
        char label[200], tip[300], clock[16] = "";
        if (fault_at >= 0 && at >= 0) {
            scaled = (at - fault_at) * 1000.0 / scale;
            fmt_clock(clock, sizeof clock, at, at % 60 != 0);
        } else if (!moments[k].fig || !ash_report_get_ms(inc, moments[k].fig, &scaled)) {
            continue;
        }
        bool a = assumed(inc, moments[k].key) || assumed(inc, "fault_at");
        snprintf(label, sizeof label, "%s%s%s%s", moments[k].what, *clock ? " " : "", clock, a ? " (assumed)" : "");
        snprintf(tip, sizeof tip, "the incident's own %s, scaled to replay time (%gx)%s",
                 moments[k].what + strlen("incident "), scale,
                 a ? "; the scenario assumed this time, the postmortem does not state it" : "");
        add_marker(it, "incident", t_inject + scaled, label, tip);
    }
}

static void limit_markers(struct items *it, const json_t *run, double t_inject)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(run, "expectations"), i, x)
    {
        const char *name = ash_report_get_str(x, "name", "");
        double lim;
        if (strcmp(name, "detect_within") != 0 && strcmp(name, "recover_within") != 0)
            continue;
        if (!ash_report_get_ms(x, "limit_ms", &lim))
            continue;
        char label[200], d[48];
        snprintf(label, sizeof label, "%s limit %s", name, ash_report_fmt_dur(d, sizeof d, lim));
        add_marker(it, "limit", t_inject + lim, label,
                   json_is_true(json_object_get(x, "met")) ? "expectation met" : "expectation missed");
    }
}

static void collect(struct items *it, const json_t *report, const json_t *run, double tmax)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(run, "faults"), i, x)
    {
        double a, b;
        if (!ash_report_get_ms(x, "injected_ms", &a))
            continue;
        struct item *f = add(it);
        if (!f)
            return;
        f->kind = IT_FAULT;
        f->cls = "fault";
        f->t = a;
        f->reverted = ash_report_get_ms(x, "reverted_ms", &b);
        f->t_end = f->reverted ? b : tmax;
        snprintf(f->label, sizeof f->label, "%s (%s)%s", ash_report_get_str(x, "name", "?"),
                 ash_report_get_str(x, "kind", "?"), f->reverted ? "" : ", not reverted");
        char da[48], db[48];
        snprintf(f->tip, sizeof f->tip, "fault %s (%s): from %s to %s after run start",
                 ash_report_get_str(x, "name", "?"), ash_report_get_str(x, "kind", "?"),
                 ash_report_fmt_dur(da, sizeof da, a),
                 f->reverted ? ash_report_fmt_dur(db, sizeof db, b) : "the end (not reverted)");
    }
    double t_inject = 0, ttr = 0;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &t_inject);
    if (has_inject)
        add_marker(it, "inject", t_inject, "t_inject", "first fault in effect: figures count from here");
    json_array_foreach(json_object_get(run, "detections"), i, x)
    {
        double t;
        if (!ash_report_get_ms(x, "at_ms", &t))
            continue;
        char label[200];
        snprintf(label, sizeof label, "detected: %s", ash_report_get_str(x, "detector", "?"));
        add_marker(it, "detect", t, label, ash_report_get_str(x, "detail", NULL));
    }
    json_array_foreach(json_object_get(run, "remediations"), i, x)
    {
        double t;
        if (!ash_report_get_ms(x, "at_ms", &t))
            continue;
        bool ok = json_is_true(json_object_get(x, "ok"));
        char label[200];
        snprintf(label, sizeof label, "%s: %s", ok ? "remediation" : "remediation failed",
                 ash_report_get_str(x, "name", "?"));
        add_marker(it, ok ? "remedy" : "remedy-failed", t, label, ash_report_get_str(x, "error", NULL));
    }
    if (has_inject && ash_report_get_ms(run, "ttr_ms", &ttr))
        add_marker(it, "recover", t_inject + ttr, "recovered", "steady state back (t_inject + TTR)");
    if (has_inject) {
        incident_markers(it, report, t_inject);
        limit_markers(it, run, t_inject);
    }
}

/* ---- lanes ---- */

struct span {
    double x0, x1;
    bool line; /* a marker's line crossing this lane, not a label */
};
struct lane {
    struct span *v;
    size_t n, cap;
};

static bool lane_free(const struct lane *l, double x0, double x1, bool line)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct span *s = &l->v[i];
        if (line && s->line)
            continue; /* lines may cross lines */
        double gap = line || s->line ? 2.0 : LABEL_GAP;
        if (x0 < s->x1 + gap && s->x0 < x1 + gap)
            return false;
    }
    return true;
}

static int lane_add(struct lane *l, double x0, double x1, bool line)
{
    if (ash_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v, 8) < 0)
        return -1;
    l->v[l->n++] = (struct span){x0, x1, line};
    return 0;
}

static int by_x(const void *a, const void *b)
{
    const struct item *p = a, *q = b;
    return (p->x0 > q->x0) - (p->x0 < q->x0);
}

/* Lane 0 is the one next to the strips. Returns the number of lanes used. */
static size_t layout(struct items *it, const struct scale *sc)
{
    for (size_t i = 0; i < it->n; i++) {
        struct item *x = &it->v[i];
        double cw = x->kind == IT_FAULT ? CHAR_W_BOLD : CHAR_W;
        /* A label wider than the drawing is cut to fit. */
        size_t maxc = (size_t)((W - 2 * EDGE - 8) / cw);
        char tmp[sizeof x->label];
        cut(tmp, sizeof tmp, x->label, maxc);
        memcpy(x->label, tmp, sizeof tmp);
        double w = (double)chars(x->label) * cw;
        x->x = xt(sc, x->t);
        x->end_anchor = x->x + 4 + w > W - EDGE;
        x->x0 = x->end_anchor ? x->x - 4 - w : x->x + 4;
        if (x->x0 < EDGE)
            x->x0 = EDGE;
        x->x1 = x->x0 + w;
    }
    if (it->n > 1)
        qsort(it->v, it->n, sizeof *it->v, by_x);
    struct lane *lanes = NULL;
    size_t nl = 0;
    for (size_t i = 0; i < it->n; i++) {
        struct item *x = &it->v[i];
        bool line = x->kind == IT_MARKER;
        /* The lowest lane where the label fits and its line crosses no label
         * below it; a line may cross a label only when avoiding that would
         * take more than two lanes more than the label itself needs. */
        size_t fit = SIZE_MAX, clean = SIZE_MAX;
        for (size_t L = 0; L <= nl && clean == SIZE_MAX; L++) {
            const struct lane empty = {0};
            const struct lane *l = L < nl ? &lanes[L] : &empty;
            if (!lane_free(l, x->x0, x->x1, false))
                continue;
            if (fit == SIZE_MAX)
                fit = L;
            bool ok = true;
            for (size_t j = 0; ok && line && j < L; j++)
                ok = lane_free(&lanes[j], x->x - 1, x->x + 1, true);
            if (ok)
                clean = L;
            else if (L > fit + 2)
                break;
        }
        size_t L = clean != SIZE_MAX && clean <= fit + 2 ? clean : fit;
        if (L == nl) {
            struct lane *nv = realloc(lanes, (nl + 1) * sizeof *nv);
            if (!nv)
                goto done;
            lanes = nv;
            memset(&lanes[nl++], 0, sizeof *lanes);
        }
        x->lane = L;
        lane_add(&lanes[L], x->x0, x->x1, false);
        for (size_t j = 0; line && j < L; j++)
            lane_add(&lanes[j], x->x - 1, x->x + 1, true);
    }
done:
    for (size_t j = 0; j < nl; j++)
        free(lanes[j].v);
    free(lanes);
    return nl;
}

/* ---- drawing ---- */

static void text(FILE *f, double x, double y, const char *cls, const char *anchor, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\"", x, y, cls);
    if (anchor)
        fprintf(f, " text-anchor=\"%s\"", anchor);
    fputs(">", f);
    ash_report_put_xml(f, s);
    fputs("</text>", f);
}

static double lane_y(size_t lane, size_t nlanes)
{
    /* Text baseline of a lane; lane 0 is the lowest. */
    return TOP_PAD + LANE_H * (double)(nlanes - lane) - 5.0;
}

static void draw_fault(FILE *f, const struct scale *sc, const struct item *x, size_t nlanes, double bottom)
{
    double x0 = xt(sc, x->t), x1 = xt(sc, x->t_end);
    double y = lane_y(x->lane, nlanes);
    fputs("<g class=\"fault\"><title>", f);
    ash_report_put_xml(f, x->tip);
    fputs("</title>", f);
    fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>", x0, y - 13, fmax(x1 - x0, 1.0),
            bottom - (y - 13));
    fputs("</g>\n", f);
}

/* Labels go on top of every window and line, each with a white halo (CSS paint-order),
 * so a line passing behind a label never hides its letters. */
static void draw_label(FILE *f, const struct item *x, size_t nlanes)
{
    double y = lane_y(x->lane, nlanes);
    fprintf(f, "<g class=\"label %s\">", x->kind == IT_FAULT ? "fault-label" : x->cls);
    if (x->kind == IT_FAULT)
        text(f, x->x0, y, "flabel", NULL, x->label);
    else
        text(f, x->end_anchor ? x->x1 : x->x0, y, "mlabel", x->end_anchor ? "end" : NULL, x->label);
    fputs("</g>\n", f);
}

static void draw_marker(FILE *f, const struct item *x, size_t nlanes, double bottom)
{
    double y = lane_y(x->lane, nlanes);
    fprintf(f, "<g class=\"marker %s\"><title>", x->cls);
    ash_report_put_xml(f, x->label);
    if (*x->tip) {
        fputs(": ", f);
        ash_report_put_xml(f, x->tip);
    }
    fputs("</title>", f);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x->x, y - 12, x->x, bottom);
    fputs("</g>\n", f);
}

/* The run's extent: everything that has a time must fit on the axis. */
static double run_extent(const json_t *report, const json_t *run)
{
    double tmax = 0, t_inject = 0, v;
    size_t i, j;
    const json_t *x;
    widen(&tmax, run, "duration_ms");
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &t_inject);
    if (has_inject && ash_report_get_ms(run, "ttr_ms", &v) && t_inject + v > tmax)
        tmax = t_inject + v;
    json_array_foreach(json_object_get(run, "faults"), i, x)
    {
        widen(&tmax, x, "injected_ms");
        widen(&tmax, x, "reverted_ms");
    }
    json_array_foreach(json_object_get(run, "detections"), i, x) widen(&tmax, x, "at_ms");
    json_array_foreach(json_object_get(run, "remediations"), i, x) widen(&tmax, x, "at_ms");
    json_array_foreach(json_object_get(run, "timeline"), i, x) widen(&tmax, x, "t_ms");
    json_array_foreach(json_object_get(run, "probes"), i, x)
    {
        double every = 0;
        ash_report_get_ms(x, "every_ms", &every);
        const json_t *series = json_object_get(x, "series");
        struct ash_report_sample s;
        for (j = 0; ash_report_series_at(series, j, &s); j++)
            if (s.has_t && s.t_ms + every > tmax)
                tmax = s.t_ms + every;
    }
    if (has_inject) {
        /* The incident's own figures and the limits, when they end later. */
        const json_t *inc = json_object_get(report, "incident");
        if (ash_report_get_ms(inc, "scaled_ttd_ms", &v) && t_inject + v > tmax)
            tmax = t_inject + v;
        if (ash_report_get_ms(inc, "scaled_ttr_ms", &v) && t_inject + v > tmax)
            tmax = t_inject + v;
        json_array_foreach(json_object_get(run, "expectations"), i, x)
        {
            const char *name = ash_report_get_str(x, "name", "");
            if ((strcmp(name, "detect_within") == 0 || strcmp(name, "recover_within") == 0) &&
                ash_report_get_ms(x, "limit_ms", &v) && t_inject + v > tmax)
                tmax = t_inject + v;
        }
    }
    if (!isfinite(tmax) || tmax > 1e12)
        tmax = 1e12;
    /* Below a millisecond the axis has nothing to show; nothing at all gets a nominal second. */
    if (tmax <= 0)
        return 1000.0;
    return tmax < 1.0 ? 1.0 : tmax;
}

static void strip(FILE *f, const struct scale *sc, const json_t *probe, double y0)
{
    const json_t *series = json_object_get(probe, "series");
    double every = 0, latmax = 0;
    ash_report_get_ms(probe, "every_ms", &every);
    size_t i;
    struct ash_report_sample s;
    for (i = 0; ash_report_series_at(series, i, &s); i++)
        if (s.has_latency && s.latency_ms > latmax)
            latmax = s.latency_ms;

    fputs("<g class=\"probe-strip\" data-probe=\"", f);
    ash_report_put_xml(f, ash_report_get_str(probe, "name", "?"));
    fputs("\"><title>probe ", f);
    ash_report_put_xml(f, ash_report_get_str(probe, "name", "?"));
    fputs(" (", f);
    ash_report_put_xml(f, ash_report_get_str(probe, "kind", "?"));
    fputs(")</title>", f);
    fprintf(f, "<rect class=\"strip-bg\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", LEFT, y0 + 2,
            W - LEFT - RIGHT, STRIP_H - 4);
    char label[200], shown[200], d[48];
    /* The left margin holds about 23 characters of bold text. */
    snprintf(label, sizeof label, "%s (%s)", ash_report_get_str(probe, "name", "?"),
             ash_report_get_str(probe, "kind", "?"));
    text(f, LEFT - 8, y0 + 18, "plabel", "end", cut(shown, sizeof shown, label, (size_t)((LEFT - 12) / CHAR_W_BOLD)));
    snprintf(label, sizeof label, "latency max %s", latmax > 0 ? ash_report_fmt_dur(d, sizeof d, latmax) : "-");
    text(f, LEFT - 8, y0 + 33, "psub", "end", label);
    if (ash_report_series_len(series) == 0)
        text(f, LEFT + 6, y0 + 26, "psub", NULL, "no samples");

    /* One rect per sample, coloured by outcome; a sample lasts until the next one is due. */
    fputs("<g class=\"samples\">", f);
    for (i = 0; ash_report_series_at(series, i, &s); i++) {
        if (!s.has_t)
            continue;
        double t = s.t_ms;
        bool ok = s.ok;
        double x = xt(sc, t), w = every > 0 ? xt(sc, t + every) - x : 1.0;
        fprintf(f, "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>", ok ? "ok" : "bad", x,
                y0 + BAND_Y, fmax(w, 0.6), BAND_H);
    }
    fputs("</g>", f);

    /* Latency as a line over the band, scaled to this probe's own maximum. */
    if (ash_report_series_len(series) > 0 && latmax > 0) {
        fputs("<polyline class=\"latency\" points=\"", f);
        for (i = 0; ash_report_series_at(series, i, &s); i++) {
            if (!s.has_t || !s.has_latency)
                continue;
            double x = xt(sc, s.t_ms + every / 2);
            double y = y0 + 4 + LAT_H * (1.0 - s.latency_ms / latmax);
            fprintf(f, "%s%.2f,%.2f", i ? " " : "", x, y);
        }
        fputs("\"/>", f);
    }
    fputs("</g>\n", f);
}

/* ---- series lanes: what the scenario plots (report "plot"), or memory samples by default ---- */

#define SERIES_H 50.0
#define MAX_SERIES 8

struct series {
    char label[160];
    char unit[8];
    double *t, *v;
    size_t n, cap;
    double vmax, limit; /* limit < 0: none */
};

static void series_push(struct series *s, double t, double v)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        double *nt = realloc(s->t, ncap * sizeof *nt);
        if (!nt)
            return;
        s->t = nt;
        double *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return;
        s->v = nv;
        s->cap = ncap;
    }
    s->t[s->n] = t;
    s->v[s->n++] = v;
    if (v > s->vmax)
        s->vmax = v;
}

/* memory-usage events ("host portal: 9.8 MiB of 40.0 MiB, ..."), one lane per target. */
static size_t memory_series(const json_t *run, struct series *out, size_t have)
{
    size_t i;
    const json_t *ev;
    json_array_foreach(json_object_get(run, "timeline"), i, ev)
    {
        double t;
        const char *d = ash_report_get_str(ev, "detail", NULL);
        if (strcmp(ash_report_get_str(ev, "event", ""), "memory-usage") != 0 || !d ||
            !ash_report_get_ms(ev, "t_ms", &t))
            continue;
        const char *colon = strstr(d, ": ");
        if (!colon)
            continue;
        char *end;
        double used = strtod(colon + 2, &end);
        if (end == colon + 2 || strncmp(end, " MiB", 4) != 0)
            continue;
        char target[120];
        snprintf(target, sizeof target, "%.*s", (int)(colon - d), d);
        size_t k = 0;
        char label[160];
        snprintf(label, sizeof label, "memory, %s", target);
        while (k < have && strcmp(out[k].label, label) != 0)
            k++;
        if (k == have) {
            if (have == MAX_SERIES)
                continue;
            memset(&out[k], 0, sizeof out[k]);
            snprintf(out[k].label, sizeof out[k].label, "%s", label);
            snprintf(out[k].unit, sizeof out[k].unit, "MiB");
            out[k].limit = -1;
            have++;
        }
        const char *of = strstr(end, " of ");
        double lim = of ? strtod(of + 4, &end) : 0;
        if (of && end != of + 4 && lim > out[k].limit)
            out[k].limit = lim;
        series_push(&out[k], t, used);
    }
    return have;
}

static size_t latency_series(const json_t *run, const char *probe, struct series *out, size_t have)
{
    size_t i, j;
    const json_t *p;
    if (have == MAX_SERIES)
        return have;
    json_array_foreach(json_object_get(run, "probes"), i, p)
    {
        if (strcmp(ash_report_get_str(p, "name", ""), probe) != 0)
            continue;
        struct series *s = &out[have];
        memset(s, 0, sizeof *s);
        snprintf(s->label, sizeof s->label, "latency, %s", probe);
        snprintf(s->unit, sizeof s->unit, "ms");
        s->limit = -1;
        ash_report_get_ms(p, "slow_ms", &s->limit);
        const json_t *samples = json_object_get(p, "series");
        struct ash_report_sample smp;
        for (j = 0; ash_report_series_at(samples, j, &smp); j++)
            if (smp.has_t && smp.has_latency && isfinite(smp.latency_ms))
                series_push(s, smp.t_ms, smp.latency_ms);
        return have + 1;
    }
    return have;
}

static size_t collect_series(const json_t *report, const json_t *run, struct series *out)
{
    const json_t *plot = json_object_get(report, "plot");
    if (!json_is_array(plot))
        return memory_series(run, out, 0); /* by default: the memory a memory fault samples */
    size_t have = 0, i;
    const json_t *x;
    json_array_foreach(plot, i, x)
    {
        const char *what = json_string_value(x);
        if (!what)
            continue;
        if (strcmp(what, "memory") == 0)
            have = memory_series(run, out, have);
        else if (strncmp(what, "latency:", 8) == 0)
            have = latency_series(run, what + 8, out, have);
    }
    return have;
}

static void draw_series(FILE *f, const struct scale *sc, const struct series *s, double y0)
{
    char label[200], shown[200], a[48];
    double top = s->vmax > s->limit ? s->vmax : s->limit;
    fputs("<g class=\"series\" data-series=\"", f);
    ash_report_put_xml(f, s->label);
    fputs("\"><title>", f);
    ash_report_put_xml(f, s->label);
    fputs("</title>", f);
    fprintf(f, "<rect class=\"strip-bg\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", LEFT, y0 + 2,
            W - LEFT - RIGHT, SERIES_H - 4);
    text(f, LEFT - 8, y0 + 18, "plabel", "end",
         cut(shown, sizeof shown, s->label, (size_t)((LEFT - 12) / CHAR_W_BOLD)));
    if (strcmp(s->unit, "ms") == 0)
        snprintf(label, sizeof label, "max %s", ash_report_fmt_dur(a, sizeof a, s->vmax));
    else
        snprintf(label, sizeof label, "max %.1f %s", s->vmax, s->unit);
    if (s->limit > 0 && strcmp(s->unit, "ms") != 0)
        snprintf(label + strlen(label), sizeof label - strlen(label), " of %.0f", s->limit);
    text(f, LEFT - 8, y0 + 33, "psub", "end", label);
    if (!(top > 0) || s->n == 0) {
        fputs("</g>\n", f);
        return;
    }
    double h = SERIES_H - 12;
    if (s->limit > 0) {
        double y = y0 + 6 + h * (1.0 - s->limit / top);
        fprintf(f, "<line class=\"series-limit\" x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\"/>", LEFT, y, W - RIGHT,
                y);
    }
    fputs("<polyline class=\"series-line\" points=\"", f);
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%s%.2f,%.2f", i ? " " : "", xt(sc, s->t[i]), y0 + 6 + h * (1.0 - s->v[i] / top));
    fputs("\"/></g>\n", f);
}

/* A round step (1, 2, 5 x 10^k) giving at most about 8 intervals over span. */
static double nice_step(double span)
{
    double raw = span / 8.0, mag = pow(10.0, floor(log10(raw))), step = mag;
    static const double mult[] = {1, 2, 5, 10};
    for (size_t i = 0; i < 4; i++) {
        step = mult[i] * mag;
        if (step >= raw)
            break;
    }
    return step;
}

/* Seconds from t_inject (or from the run's start without one): the clock every figure counts in. */
static void axis(FILE *f, const struct scale *sc, double y, bool has_inject, double t0)
{
    double step = nice_step(sc->tmax);
    int decimals = step >= 1000 ? 0 : step >= 100 ? 1 : step >= 10 ? 2 : 3;
    fprintf(f, "<g class=\"axis\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", LEFT, y, W - RIGHT, y);
    long k0 = (long)ceil(-t0 / step - 1e-9), k1 = (long)floor((sc->tmax - t0) / step + 1e-9);
    for (long k = k0; k <= k1 && k - k0 <= 40; k++) {
        double t = t0 + (double)k * step;
        double x = xt(sc, t);
        char lab[48];
        snprintf(lab, sizeof lab, "%.*f", decimals, (double)k * step / 1000.0);
        if (k == 0)
            snprintf(lab, sizeof lab, "0");
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>", x, y, x, y + 5);
        text(f, x, y + 18, "tick", "middle", lab);
    }
    text(f, LEFT - 8, y + 18, "tick", "end", has_inject ? "s from t_inject" : "s from run start");
    fputs("</g>\n", f);
}

/* The incident's own clock under the run's: fault_at at t_inject, timescale seconds per replay second. */
static bool incident_axis(FILE *f, const struct scale *sc, const json_t *report, double t_inject, double y)
{
    const json_t *inc = json_object_get(report, "incident");
    int fault_at = clock_of(inc, "fault_at");
    double scale = 1;
    if (fault_at < 0)
        return false;
    if (!ash_report_get_ms(inc, "timescale", &scale) || !(scale > 0))
        scale = 1;
    /* Incident seconds of the day at run time t. */
    double s0 = fault_at + (0 - t_inject) / 1000.0 * scale, s1 = fault_at + (sc->tmax - t_inject) / 1000.0 * scale;
    static const double steps[] = {1,   2,    5,    10,   15,    30,    60,    120,   300,   600,
                                   900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800};
    double step = steps[sizeof steps / sizeof steps[0] - 1];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if ((s1 - s0) / steps[i] <= 8) {
            step = steps[i];
            break;
        }
    fprintf(f, "<g class=\"axis incident-axis\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", LEFT, y,
            W - RIGHT, y);
    for (double s = ceil(s0 / step) * step, k = 0; s <= s1 + 1e-6 && k < 40; s += step, k++) {
        double t = t_inject + (s - fault_at) / scale * 1000.0;
        double x = xt(sc, t);
        char lab[24];
        fmt_clock(lab, sizeof lab, s, step < 60);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>", x, y, x, y + 5);
        text(f, x, y + 18, "tick", "middle", lab);
    }
    /* Two short lines: the margin holds about 25 characters. */
    char cap[120], d[48];
    snprintf(cap, sizeof cap, "1 s = %s", ash_report_fmt_dur(d, sizeof d, scale * 1000.0));
    text(f, LEFT - 8, y + 18, "tick", "end", "incident clock");
    text(f, LEFT - 8, y + 32, "tick", "end", cap);
    fputs("</g>\n", f);
    return true;
}

void ash_report_put_svg_timeline(FILE *f, const json_t *report, const json_t *run, size_t run_no)
{
    struct scale sc = {run_extent(report, run)};
    struct items it = {0};
    collect(&it, report, run, sc.tmax);
    size_t nlanes = layout(&it, &sc);

    const json_t *probes = json_object_get(run, "probes");
    size_t nstrips = json_array_size(probes);
    struct series ser[MAX_SERIES];
    size_t nser = collect_series(report, run, ser);
    double plot_top = TOP_PAD + LANE_H * (double)nlanes + 4;
    double strips_end = plot_top + STRIP_H * (double)(nstrips ? nstrips : 1);
    double bottom = strips_end + SERIES_H * (double)nser;
    double t_inject = 0;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &t_inject);
    int fault_at = clock_of(json_object_get(report, "incident"), "fault_at");
    bool inc_axis = has_inject && fault_at >= 0;
    double height = bottom + 30 + (inc_axis ? 42 : 0);

    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 %.0f %.0f\" "
            "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"timeline of run %zu\">\n",
            W, height, W, height, run_no);
    fprintf(f, "<title>Timeline of run %zu</title>\n", run_no);
    for (size_t i = 0; i < it.n; i++)
        if (it.v[i].kind == IT_FAULT)
            draw_fault(f, &sc, &it.v[i], nlanes, bottom);

    size_t i;
    const json_t *x;
    json_array_foreach(probes, i, x) strip(f, &sc, x, plot_top + STRIP_H * (double)i);
    if (!nstrips)
        text(f, LEFT + 6, plot_top + 26, "psub", NULL, "no probes in this run");
    for (size_t k = 0; k < nser; k++) {
        draw_series(f, &sc, &ser[k], strips_end + SERIES_H * (double)k);
        free(ser[k].t);
        free(ser[k].v);
    }

    for (size_t k = 0; k < it.n; k++)
        if (it.v[k].kind == IT_MARKER)
            draw_marker(f, &it.v[k], nlanes, bottom);
    for (size_t k = 0; k < it.n; k++)
        draw_label(f, &it.v[k], nlanes);

    axis(f, &sc, bottom + 4, has_inject, has_inject ? t_inject : 0);
    if (inc_axis)
        incident_axis(f, &sc, report, t_inject, bottom + 34);
    fputs("</svg>\n", f);
    free(it.v);
}
