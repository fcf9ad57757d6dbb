/* The live view's screen: snapshot -> lines of text with a colour per cell, then
 * ncurses. The layout is pure so that tests can read the screen as text. */
#include "engine/live_render.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Outside text (alert names, service output, notes) reaches the screen as printable
 * ASCII only: a control byte would act on the terminal under curses too. */
static void printable(char *out, size_t len, const char *s)
{
    size_t k = 0;
    for (; s && *s && k + 1 < len; s++) {
        unsigned char c = (unsigned char)*s;
        out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (len)
        out[k] = '\0';
}

size_t ash_live_sparkline(const struct ash_live_probe *p, size_t width, char *out, char *attr)
{
    size_t shown = p->n < width ? p->n : width;
    size_t from = p->n - shown;
    for (size_t i = 0; i < width; i++) {
        out[i] = ' ';
        if (attr)
            attr[i] = ASH_LIVE_PLAIN;
    }
    for (size_t i = 0; i < shown; i++) {
        size_t k = from + i;
        char c = 'X';
        if (p->ok[k]) {
            double f = p->slow_ms > 0 ? p->latency_ms[k] / p->slow_ms : -1;
            c = f < 0 ? '.' : f < 0.125 ? '_' : f < 0.25 ? '.' : f < 0.5 ? '-' : f < 0.75 ? '=' : '^';
        }
        out[i] = c;
        if (attr)
            attr[i] = !p->ok[k] ? ASH_LIVE_BAD : c == '^' || c == '=' ? ASH_LIVE_WARN : ASH_LIVE_OK;
    }
    out[width] = '\0';
    if (attr)
        attr[width] = '\0';
    return shown;
}

void ash_live_fault_text(const struct ash_live_fault *f, char *out, size_t len)
{
    char name[96], kind[32], state[64];
    printable(name, sizeof name, f->name);
    printable(kind, sizeof kind, f->kind);
    switch (f->state) {
    case ASH_LIVE_PENDING:
        if (f->seconds >= 0)
            snprintf(state, sizeof state, "starts in %.1f s", f->seconds);
        else
            snprintf(state, sizeof state, "not started");
        break;
    case ASH_LIVE_ACTIVE:
        if (f->seconds >= 0)
            snprintf(state, sizeof state, "IN EFFECT, %.1f s left", f->seconds);
        else
            snprintf(state, sizeof state, "IN EFFECT until remediated");
        break;
    case ASH_LIVE_ENDED:
        snprintf(state, sizeof state, "over");
        break;
    case ASH_LIVE_FAILED:
    default:
        snprintf(state, sizeof state, "FAILED");
        break;
    }
    snprintf(out, len, "%-20s %-18s %s", name, kind, state);
}

void ash_live_event_text(const struct ash_live_event *e, char *out, size_t len)
{
    char ev[40], detail[400];
    printable(ev, sizeof ev, e->event);
    printable(detail, sizeof detail, e->detail);
    snprintf(out, len, "%+9.3f s  %-16s %s", e->t_s, ev, detail);
}

/* ---- the screen ---- */

struct screen {
    int rows, cols, row;
    char *text, *attr;
    ash_live_line_fn line;
    void *arg;
};

static void begin(struct screen *sc)
{
    memset(sc->text, ' ', (size_t)sc->cols);
    memset(sc->attr, ASH_LIVE_PLAIN, (size_t)sc->cols);
    sc->text[sc->cols] = sc->attr[sc->cols] = '\0';
}

/* Put s at column col (clipped at the right edge); returns the column after it. */
static int put(struct screen *sc, int col, const char *s, char attr)
{
    for (; s && *s && col < sc->cols; s++, col++) {
        sc->text[col] = *s;
        sc->attr[col] = attr;
    }
    return col;
}

static void emit(struct screen *sc)
{
    if (sc->row < sc->rows)
        sc->line(sc->arg, sc->row++, sc->text, sc->attr);
}

static void text_line(struct screen *sc, int indent, const char *s, char attr)
{
    begin(sc);
    put(sc, indent, s, attr);
    emit(sc);
}

static void heading(struct screen *sc, const char *title, size_t shown, size_t total)
{
    char h[96];
    if (shown < total)
        snprintf(h, sizeof h, "%s (%zu of %zu)", title, shown, total);
    else
        snprintf(h, sizeof h, "%s", title);
    text_line(sc, 0, h, ASH_LIVE_HEAD);
}

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

void ash_live_layout(const struct ash_live_snapshot *s, int rows, int cols, ash_live_line_fn line, void *arg)
{
    if (rows < 1 || cols < 1)
        return;
    struct screen sc = {.rows = rows, .cols = cols, .line = line, .arg = arg};
    sc.text = malloc((size_t)cols + 1);
    sc.attr = malloc((size_t)cols + 1);
    char *buf = malloc((size_t)cols + 512);
    if (!sc.text || !sc.attr || !buf)
        goto out;

    /* Rows: header, then each section's heading and items, the timeline taking what
     * is left, then the message and key lines. Sections shrink from their caps,
     * largest first, until the timeline keeps at least two rows. */
    size_t want[4] = {min_sz(s->n_probes, 8), min_sz(s->n_faults, 8), s->n_detections ? min_sz(s->n_detections, 4) : 1,
                      min_sz(s->n_guards, 6)};
    size_t fixed = 1 + 2 + 3 /* headings: probes, faults, detections */ + (s->n_guards ? 1 : 0) + 1 /* timeline */;
    size_t avail = (size_t)rows > fixed + 2 ? (size_t)rows - fixed - 2 : 0;
    for (;;) {
        size_t used = want[0] + want[1] + want[2] + want[3], big = 0;
        if (used <= avail)
            break;
        for (size_t i = 1; i < 4; i++)
            if (want[i] > want[big])
                big = i;
        if (want[big] == 0)
            break;
        want[big]--;
    }

    /* Header. */
    char scen[64], id[32], phase[24];
    printable(scen, sizeof scen, s->scenario);
    printable(id, sizeof id, s->run_id);
    printable(phase, sizeof phase, s->phase);
    begin(&sc);
    int col = put(&sc, 0, "aftershock LIVE", ASH_LIVE_HEAD);
    snprintf(buf, (size_t)cols + 512, "  %s #%d  run %s  %s  %+.1f s", scen, s->run, id, phase, s->elapsed_s);
    col = put(&sc, col, buf, ASH_LIVE_PLAIN);
    if (s->since_inject_s >= 0) {
        snprintf(buf, (size_t)cols + 512, "  faults for %.1f s", s->since_inject_s);
        put(&sc, col, buf, ASH_LIVE_WARN);
    }
    emit(&sc);

    /* Probes: name, state of the last sample, sparkline, last latency. */
    heading(&sc, "Probes (recent samples, oldest left: X failed, _.-=^ latency against the slow threshold)", want[0],
            s->n_probes);
    for (size_t i = 0; i < want[0]; i++) {
        const struct ash_live_probe *p = &s->probes[i];
        char name[24];
        printable(name, sizeof name, p->name);
        begin(&sc);
        snprintf(buf, (size_t)cols + 512, "%-16.16s", name);
        col = put(&sc, 2, buf, ASH_LIVE_PLAIN);
        bool ok = p->n && p->ok[p->n - 1];
        col = put(&sc, col + 1,
                  !p->n ? "  -  "
                  : ok  ? " ok  "
                        : "FAIL ",
                  !p->n ? ASH_LIVE_PLAIN
                  : ok  ? ASH_LIVE_OK
                        : ASH_LIVE_BAD);
        int width = cols - col - 12;
        if (width > ASH_LIVE_SPARK)
            width = ASH_LIVE_SPARK;
        if (width > 0) {
            char spark[ASH_LIVE_SPARK + 1], attrs[ASH_LIVE_SPARK + 1];
            ash_live_sparkline(p, (size_t)width, spark, attrs);
            for (int k = 0; k < width; k++) {
                sc.text[col + k] = spark[k];
                sc.attr[col + k] = attrs[k];
            }
            col += width;
        }
        if (p->n) {
            snprintf(buf, (size_t)cols + 512, " %7.1f ms", p->latency_ms[p->n - 1]);
            put(&sc, col, buf, ASH_LIVE_PLAIN);
        }
        emit(&sc);
    }

    heading(&sc, "Faults", want[1], s->n_faults);
    for (size_t i = 0; i < want[1]; i++) {
        const struct ash_live_fault *f = &s->faults[i];
        ash_live_fault_text(f, buf, (size_t)cols + 512);
        text_line(&sc, 2, buf,
                  f->state == ASH_LIVE_ACTIVE   ? ASH_LIVE_WARN
                  : f->state == ASH_LIVE_FAILED ? ASH_LIVE_BAD
                                                : ASH_LIVE_PLAIN);
    }

    heading(&sc, "Detections", want[2] > s->n_detections ? s->n_detections : want[2], s->n_detections);
    if (!s->n_detections && want[2])
        text_line(&sc, 2, "none yet", ASH_LIVE_PLAIN);
    for (size_t i = 0; i < want[2] && i < s->n_detections; i++) {
        ash_live_event_text(&s->detections[i], buf, (size_t)cols + 512);
        text_line(&sc, 2, buf, ASH_LIVE_OK);
    }

    if (s->n_guards) {
        heading(&sc, "Guardrails", want[3], s->n_guards);
        for (size_t i = 0; i < want[3]; i++) {
            const struct ash_live_guard *g = &s->guards[i];
            char name[40], cond[160], margin[160];
            printable(name, sizeof name, g->name);
            printable(cond, sizeof cond, g->condition);
            printable(margin, sizeof margin, g->margin);
            begin(&sc);
            /* The margin first: in the room it matters more than the rule, which is in the plan. */
            snprintf(buf, (size_t)cols + 512, "%-16.16s ", name);
            col = put(&sc, 2, buf, ASH_LIVE_PLAIN);
            col = put(&sc, col, margin, ASH_LIVE_WARN);
            col = put(&sc, col, "  | ", ASH_LIVE_PLAIN);
            put(&sc, col, cond, ASH_LIVE_PLAIN);
            emit(&sc);
        }
    }

    /* The timeline: the most recent events that fit, oldest first. */
    int left = rows - sc.row - 3;
    size_t nt = left > 0 ? min_sz(s->n_events, (size_t)left) : 0;
    heading(&sc, "Timeline (latest)", nt, s->n_events);
    for (size_t i = s->n_events - nt; i < s->n_events; i++) {
        const struct ash_live_event *e = &s->events[i];
        ash_live_event_text(e, buf, (size_t)cols + 512);
        char attr = strncmp(e->event, "mark-", 5) == 0 || strcmp(e->event, "detected") == 0 ? ASH_LIVE_OK
                    : strcmp(e->event, "fault-injected") == 0                               ? ASH_LIVE_WARN
                    : strcmp(e->event, "abort") == 0 || strstr(e->event, "fail")            ? ASH_LIVE_BAD
                                                                                            : ASH_LIVE_PLAIN;
        text_line(&sc, 2, buf, attr);
    }
    while (sc.row < rows - 2)
        text_line(&sc, 0, "", ASH_LIVE_PLAIN);

    char msg[256];
    printable(msg, sizeof msg, s->message);
    text_line(&sc, 0, msg, ASH_LIVE_OK);
    if (s->prompt) {
        printable(msg, sizeof msg, s->prompt);
        text_line(&sc, 0, msg, ASH_LIVE_WARN);
    } else {
        text_line(&sc, 0, "keys: d detected  m mitigated  r recovered  n note  a abort", ASH_LIVE_HEAD);
    }
out:
    free(sc.text);
    free(sc.attr);
    free(buf);
}

/* ---- ncurses ---- */

static short pair_of(char attr)
{
    switch (attr) {
    case ASH_LIVE_OK:
        return 1;
    case ASH_LIVE_BAD:
        return 2;
    case ASH_LIVE_WARN:
        return 3;
    default:
        return 0;
    }
}

static void draw_line(void *arg, int row, const char *text, const char *attrs)
{
    WINDOW *w = arg;
    bool colour = has_colors();
    for (int c = 0; text[c]; c++) {
        chtype ch = (chtype)(unsigned char)text[c];
        if (attrs[c] == ASH_LIVE_HEAD)
            ch |= A_BOLD;
        else if (colour && pair_of(attrs[c]))
            ch |= (chtype)COLOR_PAIR(pair_of(attrs[c]));
        else if (attrs[c] == ASH_LIVE_BAD)
            ch |= A_REVERSE; /* a failure must show without colours too */
        /* The bottom-right cell would scroll the window: skip it (waddch fails there). */
        mvwaddch(w, row, c, ch);
    }
}

void ash_live_draw(void *window, const struct ash_live_snapshot *s)
{
    WINDOW *w = window;
    int rows, cols;
    getmaxyx(w, rows, cols);
    ash_live_layout(s, rows, cols, draw_line, w);
}
