/* The game-day summary (report/gameday.c) from a fixture with people's marks, a
 * machine detection, an incident with its own times, a guardrail trip and a note:
 * the side-by-side figures, who saw it first, the gaps, the notes, the order of what
 * happened, escaping of what people typed, and the same content in Markdown and XHTML. */
#include "report/report.h"
#include "test_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *fixture(void)
{
    char path[4200];
    const char *src = getenv("ASH_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/reports/gameday.json", src ? src : ".");
    json_t *doc = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_report_load(path, &doc, &err) == 0, "%s", err.msg);
    return doc;
}

static char *render(const json_t *doc, bool html)
{
    char dir[] = "/tmp/ash-gameday-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[200];
    snprintf(path, sizeof path, "%s/gameday.%s", dir, html ? "html" : "md");
    ash_error_t err = {0};
    int r = html ? ash_report_write_gameday_html(doc, path, &err) : ash_report_write_gameday_md(doc, path, &err);
    ck_assert_msg(r == 0, "%s", err.msg);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    rmdir(dir);
    return buf;
}

#define HAS(doc, s) ck_assert_msg(strstr(doc, s) != NULL, "missing: %s", s)

START_TEST(markdown_side_by_side)
{
    json_t *doc = fixture();
    char *md = render(doc, false);
    HAS(md, "# Game day: Interrupted maintenance script locks the call-records table");
    HAS(md, "## Run 1 (a1b2c3): pass");
    /* marks | machine | incident, per row, times from the first fault and on the wall clock */
    HAS(md, "| detected | marked +5.00 s (09:30:09 UTC) (uid 1000 pid 4242) | TTD 3.01 s, by backlog-alert | 16:55, 12 "
            "min after the fault at 16:43; 12 min \u2192 12.0 s at 60x |");
    HAS(md, "| mitigated | marked +9.50 s (09:30:13 UTC) (key in the live view (pid 777)) | remediation "
            "reboot-registration-backend done +12.0 s (09:30:16 UTC) | 17:00, 17 min after the fault at 16:43 |");
    HAS(md, "| recovered | marked +12.8 s (09:30:17 UTC) (key in the live view (pid 777)) | TTR 12.2 s | 17:05, 22 min "
            "after the fault at 16:43; 22 min \u2192 22.0 s at 60x |");
    HAS(md, "| impact | - | first failed sample 49 ms after the first fault | - |");
    /* who saw it first, and the gaps */
    HAS(md, "- First: backlog-alert, 1.99 s before the people.");
    HAS(md, "- Users were hurt from +49 ms; the first to know knew 2.96 s later.");
    HAS(md, "- The people marked recovered 619 ms after the measured recovery.");
    HAS(md, "- TTD 3.01 s against the incident's 12.0 s (scaled): faster than it was.");
    HAS(md, "- +850 ms (09:30:05 UTC): paged the DBA; looking at lock waits &lt;pg_locks&gt; (uid 1000 pid 4242)");
    /* what happened when: in time order, the human detection shown once (as the mark) */
    const char *impact = strstr(md, "| +49 ms (09:30:04 UTC) | users | impact");
    const char *note = strstr(md, "| +850 ms (09:30:05 UTC) | people | mark-note");
    const char *alert = strstr(md, "| +3.01 s (09:30:07 UTC) | monitoring | detected: backlog-alert");
    const char *mark = strstr(md, "| +5.00 s (09:30:09 UTC) | people | mark-detected");
    const char *rec = strstr(md, "| +12.2 s (09:30:16 UTC) | users | recovered");
    ck_assert_msg(impact && note && alert && mark && rec && impact < note && note < alert && alert < mark && mark < rec,
                  "what happened when is out of order:\n%s", md);
    ck_assert_ptr_null(strstr(md, "monitoring | detected: on-call"));
    /* run 2: no marks, a guardrail trip with its stop latency */
    HAS(md, "## Run 2 (d4e5f6): aborted");
    HAS(md, "| detected | not marked | TTD 3.01 s, by backlog-alert |");
    HAS(md,
        "guardrail customers-hurt tripped (probe register error ratio &gt;= 50% over 4 s): 25 of 40 samples of probe "
        "register failed over 4000 ms; every fault reverted 0.41 ms later");
    HAS(md, "- First: backlog-alert at +3.01 s; nobody marked detected.");
    HAS(md, "- The run ended aborted: guardrail 'customers-hurt' tripped");
    ck_assert_ptr_null(strstr(md, "Grafana annotations")); /* none were posted */
    free(md);
    json_decref(doc);
}
END_TEST

/* What people typed is text in both pages: a table cell stays one cell, markup stays text. */
START_TEST(typed_text_is_escaped_and_html_agrees)
{
    json_t *doc = fixture();
    json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
    json_array_append_new(json_object_get(run, "timeline"),
                          json_pack("{s:f, s:s, s:s}", "t_ms", 9000.0, "event", "mark-note", "detail",
                                    "db | app <script>alert(1)</script> & co"));
    json_object_set_new(doc, "annotations",
                        json_pack("{s:{s:s, s:i, s:i, s:[s]}}", "grafana", "url", "http://grafana.test", "posted", 2,
                                  "failed", 1, "warnings", "annotation 'x' not posted: HTTP 500"));
    char *md = render(doc, false);
    HAS(md, "db \\| app &lt;script&gt;alert(1)&lt;/script&gt; & co");
    HAS(md, "## Grafana annotations");
    HAS(md, "2 posted to http://grafana.test, 1 not posted.");
    HAS(md, "- annotation 'x' not posted: HTTP 500");
    char *html = render(doc, true);
    ck_assert_ptr_null(strstr(html, "<script"));
    HAS(html, "db | app &lt;script&gt;alert(1)&lt;/script&gt; &amp; co");
    HAS(html, "<h1>Game day: Interrupted maintenance script locks the call-records table</h1>");
    HAS(html, "<th>the people (marks)</th><th>the machine (measured)</th><th>the incident (postmortem)</th>");
    HAS(html, "<td>detected</td><td>marked +5.00 s (09:30:09 UTC) (uid 1000 pid 4242)</td><td>TTD 3.01 s, by "
              "backlog-alert</td>");
    HAS(html, "<li>First: backlog-alert, 1.99 s before the people.</li>");
    HAS(html, "<h2>Grafana annotations</h2>");
    ck_assert_ptr_nonnull(strstr(html, "</html>\n"));
    free(md);
    free(html);
    json_decref(doc);
}
END_TEST

/* A run nobody detected and that never recovered, with no incident: said plainly. */
START_TEST(nothing_detected)
{
    json_t *doc = fixture();
    json_object_set_new(doc, "incident", json_null());
    json_t *run = json_array_get(json_object_get(doc, "runs"), 1);
    json_object_set_new(run, "ttd_ms", json_null());
    json_object_set_new(run, "detections", json_array());
    json_t *tl = json_array();
    json_object_set_new(run, "timeline", tl);
    char *md = render(doc, false);
    HAS(md, "- Nobody detected it: neither the monitoring nor the people.");
    HAS(md, "- Users were hurt from +49 ms and nobody knew.");
    HAS(md, "| detected | not marked | not detected | - |");
    free(md);
    json_decref(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gameday");
    TCase *tc = tcase_create("gameday");
    tcase_add_test(tc, markdown_side_by_side);
    tcase_add_test(tc, typed_text_is_escaped_and_html_agrees);
    tcase_add_test(tc, nothing_detected);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
