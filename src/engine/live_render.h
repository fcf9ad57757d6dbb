/* The live view's screen, from a plain snapshot of the run (no engine, no terminal):
 * text layout functions that tests call alone, and one ncurses draw over them. */
#ifndef ASH_ENGINE_LIVE_RENDER_H
#define ASH_ENGINE_LIVE_RENDER_H

#include <stdbool.h>
#include <stddef.h>

/* The smallest terminal the view is drawn on; below it the run uses the status line. */
#define ASH_LIVE_MIN_COLS 60
#define ASH_LIVE_MIN_ROWS 16
/* Recent samples kept per probe (the sparkline shows as many as fit). */
#define ASH_LIVE_SPARK 96

struct ash_live_probe {
    const char *name;
    size_t n; /* samples in ok/latency_ms, oldest first */
    bool ok[ASH_LIVE_SPARK];
    double latency_ms[ASH_LIVE_SPARK];
    double slow_ms; /* the probe's slow threshold; <= 0 while unknown (warm-up) */
};

enum ash_live_fault_state { ASH_LIVE_PENDING, ASH_LIVE_ACTIVE, ASH_LIVE_ENDED, ASH_LIVE_FAILED };

struct ash_live_fault {
    const char *name, *kind;
    enum ash_live_fault_state state;
    /* PENDING: seconds until it is injected (< 0: not scheduled yet); ACTIVE: seconds
     * left (< 0: open-ended, until remediated or the end of the run). */
    double seconds;
};

struct ash_live_event {
    double t_s; /* since the run started */
    const char *event, *detail;
};

struct ash_live_guard {
    const char *name;
    char condition[160]; /* "probe api error ratio >= 50% over 10 s" */
    char margin[160];    /* "now 2 of 10 failed (20%)" */
};

struct ash_live_snapshot {
    const char *scenario, *run_id, *phase;
    int run;
    double elapsed_s;
    double since_inject_s; /* < 0 before the first fault is in effect */
    const struct ash_live_probe *probes;
    size_t n_probes;
    const struct ash_live_fault *faults;
    size_t n_faults;
    const struct ash_live_event *events; /* the timeline so far, oldest first */
    size_t n_events;
    const struct ash_live_event *detections;
    size_t n_detections;
    const struct ash_live_guard *guards;
    size_t n_guards;
    const char *prompt;  /* a question or a note being typed on the last line; NULL: the key help */
    const char *message; /* the last key's outcome ("marked detected at +12.300 s"); NULL: none */
};

/* Colours of a cell, by meaning (the draw maps them to ncurses pairs). */
enum ash_live_attr {
    ASH_LIVE_PLAIN = ' ',
    ASH_LIVE_HEAD = 'H',
    ASH_LIVE_OK = 'g',
    ASH_LIVE_BAD = 'r',
    ASH_LIVE_WARN = 'y'
};

/* One character per sample for the last `width` samples (or fewer), oldest first:
 * a failed sample 'X'; a healthy one by its latency against the slow threshold,
 * '_' '.' '-' '=' '^' for < 1/8, < 1/4, < 1/2, < 3/4, above (all '.' while the
 * threshold is unknown). Writes width chars (padded with spaces) and a NUL; the
 * per-cell colours into attr (may be NULL). Returns the number of samples shown. */
size_t ash_live_sparkline(const struct ash_live_probe *p, size_t width, char *out, char *attr);
/* "harm (exec)  in effect, 3.2 s left" and the like. */
void ash_live_fault_text(const struct ash_live_fault *f, char *out, size_t len);
/* "+12.345 s  fault-injected  harm (exec) ...": printable ASCII only (anything
 * else from outside, controls included, becomes '?'). */
void ash_live_event_text(const struct ash_live_event *e, char *out, size_t len);

/* The whole screen as `rows` lines of `cols` characters: line(arg, row, text, attrs)
 * once per row, top to bottom, text and attrs each exactly cols long. */
typedef void (*ash_live_line_fn)(void *arg, int row, const char *text, const char *attrs);
void ash_live_layout(const struct ash_live_snapshot *s, int rows, int cols, ash_live_line_fn line, void *arg);

/* Draw the layout onto an ncurses window (WINDOW *, kept opaque here so that this
 * header needs no curses.h). */
void ash_live_draw(void *window, const struct ash_live_snapshot *s);

#endif
