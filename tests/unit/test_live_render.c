/* The live view's screen from a snapshot (engine/live_render.c): sparklines, fault and
 * event lines, the whole layout as text at a given size, and the ncurses draw of it. */
#include "engine/live_render.h"
#include "test_run.h"

#include <check.h>
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXROWS 64

struct screen {
    int rows, cols;
    char text[MAXROWS][256], attr[MAXROWS][256];
    int calls;
};

static void collect(void *arg, int row, const char *text, const char *attrs)
{
    struct screen *s = arg;
    ck_assert_int_eq((int)strlen(text), s->cols);
    ck_assert_int_eq((int)strlen(attrs), s->cols);
    ck_assert_int_eq(row, s->calls);
    snprintf(s->text[row], sizeof s->text[row], "%s", text);
    snprintf(s->attr[row], sizeof s->attr[row], "%s", attrs);
    s->calls++;
}

/* The row whose text contains needle, or -1. */
static int find(const struct screen *s, const char *needle)
{
    for (int i = 0; i < s->calls; i++)
        if (strstr(s->text[i], needle))
            return i;
    return -1;
}

static struct ash_live_probe probe;
static struct ash_live_fault faults[3];
static struct ash_live_event events[40], dets[1];
static struct ash_live_guard guards[2];

static struct ash_live_snapshot snapshot(void)
{
    memset(&probe, 0, sizeof probe);
    probe.name = "checkout";
    probe.slow_ms = 100;
    /* healthy at 5, 20, 40, 60, 90 ms of a 100 ms threshold, then two failures */
    double lat[] = {5, 20, 40, 60, 90, 30, 30};
    for (size_t i = 0; i < 7; i++) {
        probe.ok[i] = i < 5;
        probe.latency_ms[i] = lat[i];
    }
    probe.n = 7;
    faults[0] = (struct ash_live_fault){"lock-calls", "table-lock", ASH_LIVE_ACTIVE, 3.25};
    faults[1] = (struct ash_live_fault){"congest", "network", ASH_LIVE_PENDING, 12};
    faults[2] = (struct ash_live_fault){"done", "exec", ASH_LIVE_ENDED, -1};
    static char details[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(details[i], sizeof details[i], "event number %d", i);
        events[i] = (struct ash_live_event){i * 0.5, i == 39 ? "mark-detected" : "fault-note", details[i]};
    }
    dets[0] = (struct ash_live_event){19.5, "on-call", "marked detected"};
    guards[0] = (struct ash_live_guard){.name = "customers-hurt"};
    snprintf(guards[0].condition, sizeof guards[0].condition, "probe checkout error ratio >= 50%% over 10 s");
    snprintf(guards[0].margin, sizeof guards[0].margin, "now 2 of 10 failed (20%%; trips at 50%%)");
    guards[1] = (struct ash_live_guard){.name = "time-box"};
    snprintf(guards[1].condition, sizeof guards[1].condition, "run longer than 600 s");
    snprintf(guards[1].margin, sizeof guards[1].margin, "412 s left");
    return (struct ash_live_snapshot){.scenario = "telephony",
                                      .run_id = "abc123",
                                      .phase = "faults",
                                      .run = 1,
                                      .elapsed_s = 21.04,
                                      .since_inject_s = 4.5,
                                      .probes = &probe,
                                      .n_probes = 1,
                                      .faults = faults,
                                      .n_faults = 3,
                                      .events = events,
                                      .n_events = 40,
                                      .detections = dets,
                                      .n_detections = 1,
                                      .guards = guards,
                                      .n_guards = 2};
}

START_TEST(sparkline_levels_and_failures)
{
    struct ash_live_snapshot s = snapshot();
    char out[32], attr[32];
    ck_assert_uint_eq(ash_live_sparkline(&s.probes[0], 10, out, attr), 7);
    ck_assert_str_eq(out, "_.-=^XX   ");
    ck_assert_str_eq(attr, "gggyyrr   ");
    /* Narrower than the samples: the most recent ones. */
    ck_assert_uint_eq(ash_live_sparkline(&s.probes[0], 3, out, NULL), 3);
    ck_assert_str_eq(out, "^XX");
    /* No threshold yet (warm-up): healthy samples are dots. */
    probe.slow_ms = 0;
    ash_live_sparkline(&probe, 7, out, NULL);
    ck_assert_str_eq(out, ".....XX");
}
END_TEST

START_TEST(fault_and_event_text)
{
    char buf[256];
    struct ash_live_snapshot s = snapshot();
    ash_live_fault_text(&s.faults[0], buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "lock-calls"));
    ck_assert_ptr_nonnull(strstr(buf, "IN EFFECT, 3.2 s left"));
    ash_live_fault_text(&s.faults[1], buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "starts in 12.0 s"));
    struct ash_live_fault open = {"hold", "exec", ASH_LIVE_ACTIVE, -1};
    ash_live_fault_text(&open, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "IN EFFECT until remediated"));
    /* Outside text reaches the screen as printable ASCII: no escape sequence survives. */
    struct ash_live_event e = {1.25, "detected", "am: \x1b[2JHighLatency\r\xc2\x9b"};
    ash_live_event_text(&e, buf, sizeof buf);
    ck_assert_str_eq(buf, "   +1.250 s  detected         am: ?[2JHighLatency???");
}
END_TEST

START_TEST(layout_80x24)
{
    struct ash_live_snapshot s = snapshot();
    s.message = "marked detected at +19.500 s";
    struct screen sc = {.rows = 24, .cols = 80};
    ash_live_layout(&s, 24, 80, collect, &sc);
    ck_assert_int_eq(sc.calls, 24);
    ck_assert_ptr_nonnull(strstr(sc.text[0], "aftershock LIVE  telephony #1  run abc123  faults  +21.0 s"));
    ck_assert_ptr_nonnull(strstr(sc.text[0], "faults for 4.5 s"));
    int p = find(&sc, "checkout");
    ck_assert_int_gt(p, 0);
    ck_assert_ptr_nonnull(strstr(sc.text[p], "FAIL _.-=^XX"));
    /* the failures are red on screen */
    const char *x = strstr(sc.text[p], "XX");
    ck_assert_int_eq(sc.attr[p][x - sc.text[p]], ASH_LIVE_BAD);
    ck_assert_int_ge(find(&sc, "IN EFFECT, 3.2 s left"), 0);
    ck_assert_int_ge(find(&sc, "starts in 12.0 s"), 0);
    int d = find(&sc, "on-call");
    ck_assert_int_gt(d, find(&sc, "Detections"));
    ck_assert_int_ge(find(&sc, "customers-hurt"), 0);
    ck_assert_int_ge(find(&sc, "now 2 of 10 failed (20%; trips at 50%)"), 0);
    ck_assert_int_ge(find(&sc, "412 s left"), 0);
    /* The timeline keeps the latest events, newest at the bottom, and says how many it shows. */
    ck_assert_int_ge(find(&sc, "Timeline (latest) ("), 0);
    int last = find(&sc, "event number 39");
    ck_assert_int_eq(last, 21);
    ck_assert_int_eq(find(&sc, "event number 0 "), -1);
    ck_assert_int_eq(sc.attr[last][2], ASH_LIVE_OK); /* a mark stands out */
    ck_assert_ptr_nonnull(strstr(sc.text[22], "marked detected at +19.500 s"));
    ck_assert_ptr_nonnull(strstr(sc.text[23], "keys: d detected  m mitigated  r recovered  n note  a abort"));
}
END_TEST

START_TEST(layout_smallest_and_prompt)
{
    struct ash_live_snapshot s = snapshot();
    s.prompt = "ABORT the run? y to abort";
    struct screen sc = {.rows = ASH_LIVE_MIN_ROWS, .cols = ASH_LIVE_MIN_COLS};
    ash_live_layout(&s, sc.rows, sc.cols, collect, &sc);
    ck_assert_int_eq(sc.calls, ASH_LIVE_MIN_ROWS);
    /* Every section still has its heading, the newest event and the prompt. */
    ck_assert_int_ge(find(&sc, "Probes"), 0);
    ck_assert_int_ge(find(&sc, "Faults"), 0);
    ck_assert_int_ge(find(&sc, "Detections"), 0);
    ck_assert_int_ge(find(&sc, "Guardrails"), 0);
    ck_assert_int_ge(find(&sc, "event number 39"), 0);
    ck_assert_ptr_nonnull(strstr(sc.text[ASH_LIVE_MIN_ROWS - 1], "ABORT the run?"));
    /* Nothing at all: no crash, no rows beyond the screen. */
    struct ash_live_snapshot empty = {.phase = "setup"};
    struct screen sc2 = {.rows = 20, .cols = 70};
    ash_live_layout(&empty, 20, 70, collect, &sc2);
    ck_assert_int_eq(sc2.calls, 20);
    ck_assert_int_ge(find(&sc2, "none yet"), 0);
}
END_TEST

/* The ncurses draw puts the layout's text on the window, cell for cell. */
START_TEST(draw_on_ncurses_window)
{
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    ck_assert_ptr_nonnull(out);
    SCREEN *scr = newterm("xterm", out, in);
    if (!scr) {
        fclose(out);
        fclose(in);
        ck_abort_msg("no terminfo entry for xterm (ncurses-base)");
    }
    WINDOW *w = newwin(24, 80, 0, 0);
    ck_assert_ptr_nonnull(w);
    struct ash_live_snapshot s = snapshot();
    ash_live_draw(w, &s);
    struct screen want = {.rows = 24, .cols = 80};
    ash_live_layout(&s, 24, 80, collect, &want);
    for (int row = 0; row < 24; row++) {
        char got[96];
        mvwinnstr(w, row, 0, got, 80);
        /* the bottom-right cell cannot be written without scrolling */
        if (row == 23) {
            got[79] = want.text[row][79];
            got[80] = '\0';
        }
        ck_assert_str_eq(got, want.text[row]);
    }
    delwin(w);
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("live_render");
    TCase *tc = tcase_create("live_render");
    tcase_add_test(tc, sparkline_levels_and_failures);
    tcase_add_test(tc, fault_and_event_text);
    tcase_add_test(tc, layout_80x24);
    tcase_add_test(tc, layout_smallest_and_prompt);
    tcase_add_test(tc, draw_on_ncurses_window);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
