/* Report renderers: read a report-v1 JSON document and write JSON, JUnit XML, Markdown, HTML. */
#ifndef ASH_REPORT_REPORT_H
#define ASH_REPORT_REPORT_H

#include <aftershock/aftershock.h>
#include <aftershock/error.h>
#include <aftershock/text.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The one schema this build reads and writes. */
#define ASH_REPORT_SCHEMA "aftershock/report-v1"

/* Everything here reads results only: no function runs or measures anything.
 * A report is the json_t the engine builds (see tests/fixtures/reports/ for
 * complete examples). Every *_ms figure may be null ("not reached"); the
 * renderers show "-" for it and never fail because of it. */

/* {"min","median","p95","max","n"} of n values (p95 by nearest rank, median
 * of an even count = mean of the middle two). n == 0 gives nulls and n = 0. */
int ash_report_stats(const double *values, size_t n, json_t **out);
/* Fill report["summary"] from report["runs"]: runs, and the stats of ttd_ms,
 * ttr_ms, impact_ms and revert_to_recover_ms over the runs that reached them. */
int ash_report_summarize(json_t *report);

/* Pretty-printed, written atomically (temporary file + rename). A packed
 * series (below) is written as the array it stands for, sample by sample. */
int ash_report_write_json(const json_t *report, const char *path, ash_error_t *err);

/* A probe's samples (runs[].probes[].series): in report.json an array of
 * [t_ms, latency_ms, ok 0/1]; in the engine's tree a packed string of 16
 * bytes per sample, written out as that array by ash_report_write_json
 * (issue 19: the array as jansson nodes was most of a long run's memory).
 * Read either with these. fill gives sample i: its start in ns since the
 * run's start, its latency in ns (>= 0) and its verdict. NULL: no memory. */
typedef void (*ash_report_series_fill)(void *arg, size_t i, int64_t *t_ns, int64_t *latency_ns, bool *ok);
json_t *ash_report_series_pack(size_t n, ash_report_series_fill fill, void *arg);
bool ash_report_series_is_packed(const json_t *series);
struct ash_report_sample {
    double t_ms, latency_ms;
    bool has_t, has_latency; /* a loaded report's entry may lack either */
    bool ok;
};
size_t ash_report_series_len(const json_t *series);
/* Sample i; false past the end. */
bool ash_report_series_at(const json_t *series, size_t i, struct ash_report_sample *out);

/* JUnit XML: one <testsuite> per report, one <testcase> per run. */
int ash_report_write_junit(const json_t *report, const char *path, ash_error_t *err);

/* report.md, for pasting into a ticket. */
int ash_report_write_markdown(const json_t *report, const char *path, ash_error_t *err);
/* report.html: one self-contained, well-formed XHTML page with inline SVG timelines. */
int ash_report_write_html(const json_t *report, const char *path, ash_error_t *err);
/* The one-page game-day summary (docs/gameday.md): marks, machine figures and the
 * incident's own side by side, who saw it first, the gaps, notes, what happened when. */
int ash_report_write_gameday_md(const json_t *report, const char *path, ash_error_t *err);
int ash_report_write_gameday_html(const json_t *report, const char *path, ash_error_t *err);
/* report["annotations"]["grafana"]'s outcome (posted, failed, warnings) as a section;
 * nothing when the run posted none. */
void ash_report_put_annotations(FILE *f, const json_t *report, bool html);
/* The pages' stylesheet (html_css.c): free of '<' and '&', contrast-checked. */
extern const char ash_report_html_css[];
/* reports_dir/index.html listing every subdirectory holding a report.json, newest first. */
int ash_report_write_index(const char *reports_dir, ash_error_t *err);
/* The same, taking the report of the subdirectory known_name from memory
 * (known, not changed) instead of loading its report.json again. */
int ash_report_write_index_with(const char *reports_dir, const char *known_name, json_t *known, ash_error_t *err);

/* The same comparison from the reports stored in a folder (ash_report_write_index
 * writes both): reports_dir/comparison.md, and a section of index.html. */

/* A report's figure as one number: the median over its runs (a single run's own). */
bool ash_report_median(const json_t *report, const char *figure, double *out);
/* incident.source, or NULL. */
const char *ash_report_source_of(const json_t *report);
/* Index of reports[i]'s as-it-was replay: same incident.source, the longest
 * scenario name reports[i]'s extends with "-", and of several runs of that
 * name the one started closest to reports[i] (ties: the first listed). -1 when
 * reports[i] is no variant of any of them. */
long ash_report_base_of(const json_t *const *reports, size_t n, size_t i);

/* The variant label of reports[i]: the part of its name past its as-it-was replay's
 * ("early-alert"), "as-it-was" for a replay some other report is a variant of, else "". */
const char *ash_report_variant_label(const json_t *const *reports, size_t n, size_t i);

/* One figure of a variant against its as-it-was replay. */
struct ash_report_delta {
    bool has_variant, has_base;
    double variant_ms, base_ms;
    double timescale;     /* the variant's incident timescale; 0 without an incident */
    double resolution_ms; /* the coarser of the two reports' resolutions: a smaller difference is none */
};
/* True when the two figures cannot be told apart: both missing, closer than the
 * resolution, or equal as shown. */
bool ash_report_delta_same(const struct ash_report_delta *d);
void ash_report_delta_of(struct ash_report_delta *d, const json_t *variant, const json_t *base, const char *figure);
/* "9.00 s sooner (-75.0%; 9 min of the incident at 60x)", "1.50 s later (+12.5%)",
 * "no change", "only as it was (never reached with the variant)", ... */
const char *ash_report_fmt_delta(char *buf, size_t len, const struct ash_report_delta *d);
/* "12.0 s → 3.00 s" (as it was, then with the variant; "-" when not reached). */
const char *ash_report_fmt_pair(char *buf, size_t len, const struct ash_report_delta *d);

struct ash_report_pair {
    size_t variant, base; /* indexes into the reports given */
};
/* Every variant with its as-it-was replay, once per variant (its first listed
 * run: the newest, as the index lists them); *out is malloc'd (NULL when none).
 * Returns the count, -1 when out of memory. */
long ash_report_variant_pairs(const json_t *const *reports, size_t n, struct ash_report_pair **out);
/* reports_dir/comparison.md from those pairs (dirs[k]: reports[k]'s run
 * directory); removes a stale one when there is no pair. */
int ash_report_write_comparison_md(const char *reports_dir, const json_t *const *reports, const char *const *dirs,
                                   size_t n, ash_error_t *err);
/* A run directory name as a relative URL path segment ("a b" -> "a%20b"). */
void ash_report_put_url_segment(FILE *f, const char *s);

/* junit.xml, report.md and report.html into run_dir (report.json is the caller's). */
int ash_report_render_all(const json_t *report, const char *run_dir, ash_error_t *err);

/* ---- Helpers shared by the renderers in src/report/ (not for other layers) ---- */

/* data to path via a temporary file beside it, fsync and rename. */
int ash_report_write_atomic(const char *path, const char *data, size_t len, ash_error_t *err);
/* The same in steps, for an output written as it is produced instead of
 * built in memory first (report.json: its series are most of a long run's
 * memory at the end, issue 19): open the temporary file beside path, write,
 * then commit (fsync + rename) or discard (unlink). Both free t. */
struct ash_report_tmp {
    const char *path;
    char *tmp;
    int fd;
};
int ash_report_tmp_open(struct ash_report_tmp *t, const char *path, ash_error_t *err);
int ash_report_tmp_write(struct ash_report_tmp *t, const char *data, size_t len, ash_error_t *err);
int ash_report_tmp_commit(struct ash_report_tmp *t, ash_error_t *err);
void ash_report_tmp_discard(struct ash_report_tmp *t);
/* An output written straight to a temporary file beside its path (not built
 * in memory first: report.html holds every sample of a long run, issue 19),
 * committed atomically (fsync + rename) or discarded (unlinked). */
struct ash_report_out {
    FILE *f;
    struct ash_report_tmp t;
};
int ash_report_out_open(struct ash_report_out *o, const char *path, ash_error_t *err);
int ash_report_out_commit(struct ash_report_out *o, ash_error_t *err);
void ash_report_out_discard(struct ash_report_out *o);

/* report["summary"] (a new reference), computed from the runs when the
 * report has none; NULL only when out of memory. */
json_t *ash_report_summary_of(const json_t *report);

/* A fleet run's runs[].fleet as tables of text, NULL when the run has none:
 * [{title, columns: [..], rows: [[..], ..]}, ..], with `intro` (one sentence:
 * the engine and the clock bounds the figures include) written to intro. */
json_t *ash_report_fleet_tables(const json_t *run, char *intro, size_t len);

/* Field access tolerant of missing keys and wrong types. */
bool ash_report_get_ms(const json_t *obj, const char *key, double *out);
const char *ash_report_get_str(const json_t *obj, const char *key, const char *fallback);
/* "1234.567", or "-" when the figure is null or missing. */
const char *ash_report_fmt_ms(char *buf, size_t len, const json_t *obj, const char *key);
const char *ash_report_fmt_ms_value(char *buf, size_t len, bool present, double ms);
/* A long duration the way a postmortem writes it: "12m00s", "1h05m00s", "45.500s". */
const char *ash_report_fmt_human(char *buf, size_t len, double ms);
/* A duration for people, with the precision a reader needs: "0 ms", "0.4 ms",
 * "340 ms", "3.01 s", "12.2 s", "12 min", "12 min 30 s", "1 h 05 min". Exact
 * figures stay in report.json. */
const char *ash_report_fmt_dur(char *buf, size_t len, double ms);
/* fmt_dur of obj[key], or `absent` when it is null or missing. */
const char *ash_report_fmt_dur_or(char *buf, size_t len, const json_t *obj, const char *key, const char *absent);
/* A fault's `targets` (what it was placed in) for people: "container web-1 (3f2a9c01b7e4),
 * container web-2 (...)", "service api", "node n1"; "-" when it has none (a report from
 * before they were recorded, a fault never injected). */
const char *ash_report_fmt_targets(char *buf, size_t len, const json_t *fault);
/* One of schedule_lateness_ms.late_ticks for people: "probe 'web': the tick due at
 * 1.23 s started 23.4 ms late: loop busy in the revert of fault 'x' (...)". */
const char *ash_report_fmt_late_tick(char *buf, size_t len, const json_t *tick);
/* How many late ticks the reports list (report.json keeps them all, to 1000). */
#define ASH_REPORT_LATE_TICKS_SHOWN 10
/* The first ASH_REPORT_LATE_TICKS_SHOWN of schedule_lateness_ms.late_ticks, one a line:
 * `before`, the line through `put` (the format's escaper), `after`. */
void ash_report_put_late_ticks(FILE *f, const json_t *late, const char *before, const char *after,
                               void (*put)(FILE *, const char *));

/* What a measured figure's null means: "not detected" (ttd*), "not recovered"
 * (ttr*), "no impact seen" (impact*), "not measured" (anything else). */
const char *ash_report_absent_text(const char *figure);

/* Where an incident figure comes from: the postmortem states both of its
 * times, the scenario assumed one of them (incident.assumed), or it is
 * unknown (no number). Reports without incident.*_basis count as stated. */
enum ash_report_basis { ASH_BASIS_STATED, ASH_BASIS_ASSUMED, ASH_BASIS_UNKNOWN };
enum ash_report_basis ash_report_incident_basis(const json_t *report, const char *which);
const char *ash_report_basis_name(enum ash_report_basis b);
/* The incident's own figure ("ttd" or "ttr"), and scaled: "12 min → 12.0 s at 60x",
 * with " (assumed)" when the scenario assumed one of its times; "unknown"
 * when the incident does not give it; "-" without an incident. */
const char *ash_report_fmt_incident(char *buf, size_t len, const json_t *report, const char *which);

/* Indexes of arr's elements ordered by their number at key (stable; entries
 * without one last); malloc'd, NULL when out of memory. */
size_t *ash_report_time_order(const json_t *arr, const char *key);
/* A run's detections and remediations in one array ordered by at_ms, each a
 * copy with "what": "detection" | "remediation" (a new reference). */
json_t *ash_report_actions(const json_t *run);
/* The relative time of an event: "+3.01 s", "-2.15 s", "0" (fmt_dur with a sign). */
const char *ash_report_fmt_rel(char *buf, size_t len, bool present, double ms);

/* People's marks (marks.c). The first timeline event named `event`: its t_ms and detail. */
bool ash_report_first_event(const json_t *run, const char *event, double *t, const char **detail);
/* A time of the run: since the first fault ("+41.3 s"), and the wall clock when known. */
void ash_report_when(char *buf, size_t len, const json_t *run, double t_ms);
/* The machine's own first detection (at_ms, NAN when none), not a person's mark through a human detector. */
double ash_report_machine_detection(const json_t *run, const char **by);
/* "mark-detected", "mark-mitigated", "mark-recovered". */
extern const char *const ash_report_mark_events[3];
/* "marked detected at +41.0 s (12:00:41 UTC) (uid 0 pid 42); mitigated not marked; marked recovered at ...
 * TTD by the people 41.0 s, by the machine 3.01 s (probes)": false (and "") when nobody marked anything. */
bool ash_report_marks_text(const json_t *run, char *buf, size_t len);

/* An expectation (detect_within, recover_within) over a report's runs: its
 * limit (the first run's), in how many runs it was checked and met. */
struct ash_report_limit {
    bool has_limit;
    double limit_ms;
    size_t runs, met;
};
struct ash_report_limit ash_report_limit_of(const json_t *report, const char *name);

/* Escaping. XML escapes text and attribute values alike, and replaces the
 * characters XML 1.0 forbids (C0 controls) with U+FFFD. */
void ash_report_put_xml(FILE *f, const char *s);
/* One Markdown table cell: pipes and newlines escaped, '<' kept from becoming HTML. */
void ash_report_put_md_cell(FILE *f, const char *s);

/* One run's timeline as an inline <svg> element (report.html). */
void ash_report_put_svg_timeline(FILE *f, const json_t *report, const json_t *run, size_t run_no);

#endif
