/* One run's timeline as inline SVG: probe strips, fault windows, detection/remediation/recovery markers, time axis. */
#include "report/report.h"

#include <math.h>
#include <string.h>

/* Geometry, in SVG user units. */
#define W 1000.0
#define LEFT 180.0
#define RIGHT 40.0
#define PLOT_TOP 70.0
#define STRIP_H 46.0
#define LAT_H 26.0  /* latency line area at the top of a strip */
#define BAND_Y 32.0 /* ok/fail band: offset inside the strip */
#define BAND_H 9.0

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

/* The run's extent: everything that has a time must fit on the axis. */
static double run_extent(const json_t *run)
{
    double tmax = 0, t_inject = 0, v;
    size_t i, j;
    const json_t *x;
    widen(&tmax, run, "duration_ms");
    if (ash_report_get_ms(run, "t_inject_ms", &t_inject) && ash_report_get_ms(run, "ttr_ms", &v) && t_inject + v > tmax)
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
        const json_t *s;
        json_array_foreach(json_object_get(x, "series"), j, s)
        {
            const json_t *t0 = json_array_get(s, 0);
            if (json_is_number(t0) && json_number_value(t0) + every > tmax)
                tmax = json_number_value(t0) + every;
        }
    }
    /* Below a millisecond the axis has nothing to show; nothing at all gets a nominal second. */
    if (tmax <= 0)
        return 1000.0;
    return tmax < 1.0 ? 1.0 : tmax;
}

static void text(FILE *f, double x, double y, const char *cls, const char *anchor, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\"", x, y, cls);
    if (anchor)
        fprintf(f, " text-anchor=\"%s\"", anchor);
    fputs(">", f);
    ash_report_put_xml(f, s);
    fputs("</text>", f);
}

/* A vertical marker across the strips with a staggered label and a tooltip. */
static void marker(FILE *f, const struct scale *sc, double t, double bottom, const char *cls, const char *label,
                   const char *tip, size_t *slot)
{
    double x = xt(sc, t);
    char ms[48];
    fprintf(f, "<g class=\"marker %s\"><title>", cls);
    ash_report_put_xml(f, label);
    fprintf(f, " at %s ms", ash_report_fmt_ms_value(ms, sizeof ms, true, t));
    if (tip && *tip) {
        fputs(": ", f);
        ash_report_put_xml(f, tip);
    }
    fputs("</title>", f);
    double ly = 38.0 + 11.0 * (double)(*slot % 3);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, ly + 2, x, bottom);
    /* Labels near the right edge grow leftwards so they stay inside the drawing. */
    bool right = x > W - RIGHT - 120;
    text(f, right ? x - 3 : x + 3, ly, "mlabel", right ? "end" : NULL, label);
    fputs("</g>\n", f);
    (*slot)++;
}

static void faults(FILE *f, const struct scale *sc, const json_t *run, double bottom)
{
    size_t i;
    const json_t *fault;
    json_array_foreach(json_object_get(run, "faults"), i, fault)
    {
        double a, b;
        if (!ash_report_get_ms(fault, "injected_ms", &a))
            continue;
        bool reverted = ash_report_get_ms(fault, "reverted_ms", &b);
        if (!reverted)
            b = sc->tmax;
        double x0 = xt(sc, a), x1 = xt(sc, b);
        double y = 12.0 + 12.0 * (double)(i % 2);
        char la[48], lb[48];
        fputs("<g class=\"fault\"><title>fault ", f);
        ash_report_put_xml(f, ash_report_get_str(fault, "name", "?"));
        fputs(" (", f);
        ash_report_put_xml(f, ash_report_get_str(fault, "kind", "?"));
        fprintf(f, "): %s ms to %s ms</title>", ash_report_fmt_ms_value(la, sizeof la, true, a),
                reverted ? ash_report_fmt_ms_value(lb, sizeof lb, true, b) : "the end (not reverted)");
        fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>", x0, y - 9, fmax(x1 - x0, 1.0),
                bottom - (y - 9));
        char label[160];
        snprintf(label, sizeof label, "%s (%s)%s", ash_report_get_str(fault, "name", "?"),
                 ash_report_get_str(fault, "kind", "?"), reverted ? "" : ", not reverted");
        text(f, x0 + 3, y, "flabel", NULL, label);
        fputs("</g>\n", f);
    }
}

static void strip(FILE *f, const struct scale *sc, const json_t *probe, double y0)
{
    const json_t *series = json_object_get(probe, "series");
    double every = 0, latmax = 0;
    ash_report_get_ms(probe, "every_ms", &every);
    size_t i;
    const json_t *s;
    json_array_foreach(series, i, s)
    {
        const json_t *lat = json_array_get(s, 1);
        if (json_is_number(lat) && json_number_value(lat) > latmax)
            latmax = json_number_value(lat);
    }

    fputs("<g class=\"probe-strip\" data-probe=\"", f);
    ash_report_put_xml(f, ash_report_get_str(probe, "name", "?"));
    fputs("\">", f);
    fprintf(f, "<rect class=\"strip-bg\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", LEFT, y0 + 2,
            W - LEFT - RIGHT, STRIP_H - 4);
    char label[160], ms[48];
    snprintf(label, sizeof label, "%s (%s)", ash_report_get_str(probe, "name", "?"),
             ash_report_get_str(probe, "kind", "?"));
    text(f, LEFT - 8, y0 + 18, "plabel", "end", label);
    snprintf(label, sizeof label, "latency max %s ms", ash_report_fmt_ms_value(ms, sizeof ms, latmax > 0, latmax));
    text(f, LEFT - 8, y0 + 31, "psub", "end", label);
    if (json_array_size(series) == 0)
        text(f, LEFT + 6, y0 + 26, "psub", NULL, "no samples");

    /* One rect per sample, coloured by outcome; a sample lasts until the next one is due. */
    fputs("<g class=\"samples\">", f);
    json_array_foreach(series, i, s)
    {
        const json_t *t0 = json_array_get(s, 0);
        if (!json_is_number(t0))
            continue;
        double t = json_number_value(t0);
        bool ok = json_is_true(json_array_get(s, 2)) ||
                  (json_is_integer(json_array_get(s, 2)) && json_integer_value(json_array_get(s, 2)) != 0);
        double x = xt(sc, t), w = every > 0 ? xt(sc, t + every) - x : 1.0;
        fprintf(f, "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>", ok ? "ok" : "bad", x,
                y0 + BAND_Y, fmax(w, 0.6), BAND_H);
    }
    fputs("</g>", f);

    /* Latency as a line over the band, scaled to this probe's own maximum. */
    if (json_array_size(series) > 0 && latmax > 0) {
        fputs("<polyline class=\"latency\" points=\"", f);
        json_array_foreach(series, i, s)
        {
            const json_t *t0 = json_array_get(s, 0), *lat = json_array_get(s, 1);
            if (!json_is_number(t0) || !json_is_number(lat))
                continue;
            double x = xt(sc, json_number_value(t0) + every / 2);
            double y = y0 + 4 + LAT_H * (1.0 - json_number_value(lat) / latmax);
            fprintf(f, "%s%.2f,%.2f", i ? " " : "", x, y);
        }
        fputs("\"/>", f);
    }
    fputs("</g>\n", f);
}

static void axis(FILE *f, const struct scale *sc, double y)
{
    double raw = sc->tmax / 8.0, mag = pow(10.0, floor(log10(raw))), step = mag;
    static const double mult[] = {1, 2, 5, 10};
    for (size_t i = 0; i < 4; i++) {
        step = mult[i] * mag;
        if (step >= raw)
            break;
    }
    fprintf(f, "<g class=\"axis\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", LEFT, y, W - RIGHT, y);
    /* Counting ticks (at most 11 with step >= tmax / 8) keeps float steps from looping. */
    for (int k = 0; k <= 12 && (double)k * step <= sc->tmax * (1 + 1e-9); k++) {
        double t = (double)k * step;
        double x = xt(sc, t);
        char lab[48];
        snprintf(lab, sizeof lab, "%.0f", t);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>", x, y, x, y + 5);
        text(f, x, y + 17, "tick", "middle", lab);
    }
    text(f, W - RIGHT, y + 32, "tick", "end", "time since run start (ms)");
    fputs("</g>\n", f);
}

void ash_report_put_svg_timeline(FILE *f, const json_t *run, size_t run_no)
{
    struct scale sc = {run_extent(run)};
    const json_t *probes = json_object_get(run, "probes");
    size_t nstrips = json_array_size(probes);
    double bottom = PLOT_TOP + STRIP_H * (double)(nstrips ? nstrips : 1);
    double height = bottom + 44;

    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 %.0f %.0f\" "
            "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"timeline of run %zu\">\n",
            W, height, W, height, run_no);
    fprintf(f, "<title>Timeline of run %zu</title>\n", run_no);
    faults(f, &sc, run, bottom);

    size_t i;
    const json_t *x;
    json_array_foreach(probes, i, x) strip(f, &sc, x, PLOT_TOP + STRIP_H * (double)i);
    if (!nstrips)
        text(f, LEFT + 6, PLOT_TOP + 26, "psub", NULL, "no probes in this run");

    size_t slot = 0;
    double t_inject = 0, ttr = 0;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &t_inject);
    if (has_inject)
        marker(f, &sc, t_inject, bottom, "inject", "t_inject", "first fault in effect", &slot);
    json_array_foreach(json_object_get(run, "detections"), i, x)
    {
        double t;
        if (!ash_report_get_ms(x, "at_ms", &t))
            continue;
        char label[160];
        snprintf(label, sizeof label, "detected: %s", ash_report_get_str(x, "detector", "?"));
        marker(f, &sc, t, bottom, "detect", label, ash_report_get_str(x, "detail", NULL), &slot);
    }
    json_array_foreach(json_object_get(run, "remediations"), i, x)
    {
        double t;
        if (!ash_report_get_ms(x, "at_ms", &t))
            continue;
        bool ok = json_is_true(json_object_get(x, "ok"));
        char label[160];
        snprintf(label, sizeof label, "%s: %s", ok ? "remediation" : "remediation failed",
                 ash_report_get_str(x, "name", "?"));
        marker(f, &sc, t, bottom, ok ? "remedy" : "remedy-failed", label, ash_report_get_str(x, "error", NULL), &slot);
    }
    if (has_inject && ash_report_get_ms(run, "ttr_ms", &ttr))
        marker(f, &sc, t_inject + ttr, bottom, "recover", "recovered", "steady state back (t_inject + TTR)", &slot);

    axis(f, &sc, bottom + 4);
    fputs("</svg>\n", f);
}
