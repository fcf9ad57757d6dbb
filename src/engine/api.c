/* The public entry points: run a scenario file (with repeats) and write its
 * reports, validate, list kinds, recover, re-render. */
#include <aftershock/aftershock.h>

#include "sys/fs.h"
#include "engine/preflight.h"
#include "engine/run.h"
#include "env/target.h"
#include "kinds.h"
#include "report/report.h"
#include "scenario/scenario.h"
#include "scenario/tables.h"
#include "scenario/schema.h"
#include "sys/clock.h"
#include "sys/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int ash_exit_status(const ash_error_t *err)
{
    switch (err->klass) {
    case ASH_ERR_USAGE:
        return ASH_EXIT_USAGE;
    case ASH_ERR_ENVIRONMENT:
        return ASH_EXIT_ENV;
    case ASH_ERR_NONE:
    case ASH_ERR_RUNTIME:
        break;
    }
    return ASH_EXIT_FAIL;
}

/* Deprecated spellings still parse; say so where the user looks, once per load. */
static void print_warnings(const struct ash_scenario *sc, FILE *out)
{
    const struct ash_strlist *w = ash_scenario_warnings(sc);
    for (size_t i = 0; w && i < w->n; i++)
        ash_text_fprintf(out, ASH_TEXT_KEEP_NEWLINE, "%s\n", w->v[i]);
}

/* What each target of what already runs resolved to, one a line (validate --resolve). */
static void print_resolved(const json_t *resolved, FILE *out)
{
    size_t i, k;
    json_t *item, *text;
    json_array_foreach(resolved, i, item)
    {
        json_array_foreach(json_object_get(item, "described"), k, text)
        {
            ash_text_fprintf(out, ASH_TEXT_KEEP_NEWLINE, "%s:%d:%d: %s: %s\n",
                             json_string_value(json_object_get(item, "file")),
                             (int)json_integer_value(json_object_get(item, "line")),
                             (int)json_integer_value(json_object_get(item, "col")),
                             json_string_value(json_object_get(item, "item")), json_string_value(text));
        }
    }
}

/* Loading a scenario may ask the engine whether a name that is no host or service is a
 * running container (a hint in the error); the scenario layer cannot reach it alone. */
int ash_engine_load(const char *path, struct ash_scenario **out, ash_error_t *err)
{
    ash_scenario_set_container_lookup(ash_target_container_running);
    return ash_scenario_load(path, out, err);
}

int ash_validate_file_resolve(const char *path, bool resolve, ash_error_t *err)
{
    struct ash_scenario *sc;
    if (ash_engine_load(path, &sc, err) < 0)
        return -1;
    print_warnings(sc, stderr);
    int ret = 0;
    if (resolve) {
        json_t *resolved = json_array();
        ret = ash_preflight_check(sc, resolved, err);
        print_resolved(resolved, stdout);
        json_decref(resolved);
    }
    ash_scenario_free(sc);
    return ret;
}

int ash_validate_file(const char *path, ash_error_t *err)
{
    return ash_validate_file_resolve(path, false, err);
}

/* A kind this machine cannot run is an environment error (exit 3), named precisely,
 * before anything starts. */
static int check_available(const struct ash_scenario *sc, ash_error_t *err)
{
    for (size_t i = 0; i < sc->n_faults; i++) {
        if (ash_fault_node(&sc->faults[i]))
            continue; /* fleet: its agent checks on its node */
        const char *why = sc->faults[i].kind->c.unavailable ? sc->faults[i].kind->c.unavailable() : NULL;
        if (why)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "%s:%d:%d: fault '%s' (kind %s) cannot run here: %s",
                                   sc->faults[i].loc.file, sc->faults[i].loc.line, sc->faults[i].loc.col,
                                   sc->faults[i].name, sc->faults[i].kind->c.name, why);
    }
    for (size_t i = 0; i < sc->n_probes; i++) {
        const char *why = sc->probes[i].kind->c.unavailable ? sc->probes[i].kind->c.unavailable() : NULL;
        if (why)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "probe '%s' (kind %s) cannot run here: %s",
                                   sc->probes[i].name, sc->probes[i].kind->c.name, why);
    }
    for (size_t i = 0; i < sc->n_detectors; i++) {
        const char *why = sc->detectors[i].kind->c.unavailable ? sc->detectors[i].kind->c.unavailable() : NULL;
        if (why)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "detector '%s' (kind %s) cannot run here: %s",
                                   sc->detectors[i].name, sc->detectors[i].kind->c.name, why);
    }
    return 0;
}

static json_t *clock_json(int secs)
{
    if (secs < 0)
        return json_null();
    char buf[16];
    if (secs % 60)
        snprintf(buf, sizeof buf, "%02d:%02d:%02d", secs / 3600, secs / 60 % 60, secs % 60);
    else
        snprintf(buf, sizeof buf, "%02d:%02d", secs / 3600, secs / 60 % 60);
    return json_string(buf);
}

/* Where a figure from `from` to `to` comes from: unknown without both times,
 * assumed when either was assumed, else stated by the postmortem. */
static const char *basis(const struct ash_incident *in, int from_bit, int from, int to_bit, int to)
{
    if (from < 0 || to < 0)
        return "unknown";
    return (in->assumed & ((1u << from_bit) | (1u << to_bit))) ? "assumed" : "stated";
}

static json_t *incident_json(const struct ash_scenario *sc, double timescale)
{
    const struct ash_incident *in = &sc->incident;
    if (!in->present)
        return json_null();
    double ts = timescale > 0 ? timescale : 1.0;
    bool onset = in->fault_at_s >= 0;
    double ttd = onset && in->detected_at_s >= 0 ? (in->detected_at_s - in->fault_at_s) * 1000.0 : -1;
    int rec_bit = in->recovered_at_s >= 0 ? ASH_INC_RECOVERED : ASH_INC_MITIGATED;
    int rec = in->recovered_at_s >= 0 ? in->recovered_at_s : in->mitigated_at_s;
    double ttr = onset && rec >= 0 ? (rec - in->fault_at_s) * 1000.0 : -1;
    json_t *j = json_object();
    json_object_set_new(j, "source", in->source ? json_string(in->source) : json_null());
    json_object_set_new(j, "title", in->title ? json_string(in->title) : json_null());
    json_object_set_new(j, "ttd_ms", ttd >= 0 ? json_real(ttd) : json_null());
    json_object_set_new(j, "ttr_ms", ttr >= 0 ? json_real(ttr) : json_null());
    json_object_set_new(j, "timescale", json_real(ts));
    json_object_set_new(j, "scaled_ttd_ms", ttd >= 0 ? json_real(ttd / ts) : json_null());
    json_object_set_new(j, "scaled_ttr_ms", ttr >= 0 ? json_real(ttr / ts) : json_null());
    json_object_set_new(j, "ttd_basis",
                        json_string(basis(in, ASH_INC_FAULT, in->fault_at_s, ASH_INC_DETECTED, in->detected_at_s)));
    json_object_set_new(j, "ttr_basis", json_string(basis(in, ASH_INC_FAULT, in->fault_at_s, rec_bit, rec)));
    const int at[] = {in->fault_at_s, in->detected_at_s, in->mitigated_at_s, in->recovered_at_s};
    json_t *assumed = json_array();
    for (int k = 0; k < ASH_INC_NTIMES; k++) {
        json_object_set_new(j, ash_incident_time_keys[k], clock_json(at[k]));
        if (in->assumed & (1u << k))
            json_array_append_new(assumed, json_string(ash_incident_time_keys[k]));
    }
    json_object_set_new(j, "assumed", assumed);
    return j;
}

static void random_id(char *out, size_t len)
{
    unsigned char b[3] = {0};
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        int64_t t = ash_now_ns() ^ getpid();
        memcpy(b, &t, sizeof b);
    }
    snprintf(out, len, "%02x%02x%02x", b[0], b[1], b[2]);
}

/* Until the run writes its report, the run directory's report.json says the run
 * did not finish: a run killed by SIGKILL or the OOM killer leaves a directory
 * that says so (and `aftershock report DIR` renders it), not an empty one. The
 * real report replaces it atomically. Best effort: the run does not depend on it. */
static void write_unfinished(json_t *report, const char *run_dir, const char *state_dir)
{
    json_t *r = json_copy(report);
    if (!r)
        return;
    char why[4600], file[4200];
    snprintf(why, sizeof why,
             "the run did not finish: aftershock ended (killed or crashed) before it wrote this report, so its "
             "timeline is lost. Its guardian reverts what it changed; if the guardian was off or killed too, run "
             "`aftershock recover --state-dir %s`",
             state_dir);
    json_object_set_new(r, "verdict", json_string("unfinished"));
    json_object_set_new(r, "error", json_string(why));
    snprintf(file, sizeof file, "%s/report.json", run_dir);
    ash_error_t e = {0};
    ash_report_write_json(r, file, &e);
    json_decref(r);
}

/* PARENT/NAME-STAMP, or -2, -3, ... when taken. The final mkdir is exclusive and is
 * the test: checking first and creating after (access, then mkdir -p) let two runs
 * started in the same second share one directory and overwrite each other's report. */
static int make_run_dir(const char *parent, const char *name, const char *stamp, char *out, size_t len,
                        ash_error_t *err)
{
    if (ash_mkdir_p(parent, 0755, err) < 0)
        return ash_error_wrap(err, "cannot create the report directory");
    for (int k = 1; k <= ASH_RUN_DIR_MAX_SUFFIX; k++) {
        int n = k == 1 ? snprintf(out, len, "%s/%s-%s", parent, name, stamp)
                       : snprintf(out, len, "%s/%s-%s-%d", parent, name, stamp, k);
        if (n < 0 || (size_t)n >= len)
            return ash_error(err, ENAMETOOLONG, "cannot create a run directory in %s", parent);
        if (mkdir(out, 0755) == 0)
            return 0;
        if (errno != EEXIST)
            return ash_error(err, errno, "cannot create run directory %s", out);
    }
    return ash_error(err, EEXIST, "cannot create a run directory in %s: %s-%s-2 to -%d are all taken", parent, name,
                     stamp, ASH_RUN_DIR_MAX_SUFFIX);
}

static int verdict_rank(enum ash_verdict v)
{
    /* Worst wins: error > aborted > fail > pass. */
    static const int rank[] = {
        [ASH_VERDICT_PASS] = 0, [ASH_VERDICT_FAIL] = 1, [ASH_VERDICT_ABORTED] = 2, [ASH_VERDICT_ERROR] = 3};
    return rank[v];
}

int ash_run_file(const char *path, const struct ash_run_options *o, struct ash_run_result *res, ash_error_t *err)
{
    memset(res, 0, sizeof *res);
    struct ash_scenario *sc;
    if (ash_engine_load(path, &sc, err) < 0)
        return -1;
    if (!o->warned)
        print_warnings(sc, o->log ? o->log : stderr);
    int ret = -1;
    json_t *report = NULL;
    if (check_available(sc, err) < 0 || ash_preflight_check(sc, NULL, err) < 0)
        goto out;
    if (geteuid() != 0 && (sc->n_hosts > 0)) {
        ash_error_class(err, ASH_ERR_ENVIRONMENT, EPERM, "sandbox hosts need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)");
        goto out;
    }
    int64_t wall = ash_wall_ns();
    char stamp[32], started[40];
    ash_format_stamp(wall, stamp, sizeof stamp);
    ash_format_iso8601(wall, started, sizeof started);
    if (o->run_dir) {
        snprintf(res->run_dir, sizeof res->run_dir, "%s", o->run_dir);
        if (ash_mkdir_p(res->run_dir, 0755, err) < 0)
            goto out;
    } else if (make_run_dir(o->report_dir ? o->report_dir : "reports", sc->name, stamp, res->run_dir,
                            sizeof res->run_dir, err) < 0) {
        goto out;
    }
    char *abs_run = realpath(res->run_dir, NULL);
    if (abs_run) {
        snprintf(res->run_dir, sizeof res->run_dir, "%s", abs_run);
        free(abs_run);
    }

    report = json_object();
    json_object_set_new(report, "schema", json_string("aftershock/report-v1"));
    json_object_set_new(report, "scenario", json_string(sc->name));
    json_object_set_new(report, "title", json_string(sc->title ? sc->title : sc->name));
    json_object_set_new(report, "file", json_string(path));
    json_object_set_new(report, "started_at", json_string(started));
    json_object_set_new(report, "aftershock_version", json_string(ASH_VERSION));
    double ts = o->timescale > 0 ? o->timescale : sc->timescale;
    json_object_set_new(report, "incident", incident_json(sc, ts));
    if (sc->plot_set) {
        json_t *plot = json_array();
        for (size_t i = 0; i < sc->n_plot; i++)
            json_array_append_new(plot, json_string(sc->plot[i]));
        json_object_set_new(report, "plot", plot);
    }
    json_t *runs = json_array();
    json_object_set_new(report, "runs", runs);
    write_unfinished(report, res->run_dir, o->state_dir ? o->state_dir : ASH_DEFAULT_STATE_DIR);

    enum ash_verdict worst = ASH_VERDICT_PASS;
    int repeat = o->repeat > 0 ? o->repeat : 1;
    volatile int interrupted = 0;
    char first_error[ASH_ERROR_MSG_MAX] = "";
    ash_error_t env_err = {0};
    for (int i = 1; i <= repeat && !interrupted; i++) {
        char run_id[16];
        random_id(run_id, sizeof run_id);
        struct ash_run_config cfg = {.sc = sc,
                                     .run_dir = res->run_dir,
                                     .state_dir = o->state_dir ? o->state_dir : ASH_DEFAULT_STATE_DIR,
                                     .run_id = run_id,
                                     .index = i,
                                     .progress = o->progress,
                                     .log = o->log ? o->log : stderr,
                                     .guardian_exe = o->guardian_exe,
                                     .interrupted = &interrupted};
        json_t *run = NULL;
        ash_error_t e = {0};
        int v = ash_run_once(&cfg, &run, &e);
        if (v < 0) {
            /* Could not even set up: nothing was injected. */
            if (!first_error[0])
                snprintf(first_error, sizeof first_error, "%s", e.msg);
            if (e.klass == ASH_ERR_ENVIRONMENT)
                env_err = e;
            v = ASH_VERDICT_ERROR;
            run = json_pack("{s:i, s:s, s:s}", "index", i, "verdict", "error", "error", e.msg);
        } else if (v == ASH_VERDICT_ERROR && !first_error[0]) {
            snprintf(first_error, sizeof first_error, "%s",
                     json_string_value(json_object_get(run, "error")) ?: "run failed");
            if (e.klass == ASH_ERR_ENVIRONMENT)
                env_err = e;
        }
        json_array_append_new(runs, run);
        if (verdict_rank((enum ash_verdict)v) > verdict_rank(worst))
            worst = (enum ash_verdict)v;
        if (v == ASH_VERDICT_ERROR)
            break; /* the same setup failure would repeat */
    }
    json_object_set_new(report, "verdict", json_string(ash_verdict_name(worst)));
    json_object_set_new(report, "error", first_error[0] ? json_string(first_error) : json_null());
    ash_report_summarize(report);

    char file[4200];
    snprintf(file, sizeof file, "%s/report.json", res->run_dir);
    ash_error_t werr = {0};
    if (ash_report_write_json(report, file, &werr) < 0 || ash_report_render_all(report, res->run_dir, &werr) < 0) {
        *err = werr;
        goto out;
    }
    if (!o->run_dir) {
        const char *parent = o->report_dir ? o->report_dir : "reports";
        const char *name = strrchr(res->run_dir, '/');
        ash_report_write_index_with(parent, name ? name + 1 : res->run_dir, report, NULL);
    }
    res->verdict = worst;
    res->report = report;
    report = NULL;
    ret = 0;
    if (env_err.klass == ASH_ERR_ENVIRONMENT) {
        *err = env_err;
        ret = -1;
    }
out:
    json_decref(report);
    ash_scenario_free(sc);
    return ret;
}

/* A kind's keys, and a nested mapping's own keys below it as KEY.SUB (balloon.size). */
static void list_fields(FILE *out, const struct ash_field *fields, const char *parent)
{
    for (const struct ash_field *f = fields; f && f->key; f++) {
        char key[64];
        snprintf(key, sizeof key, "%s%s%s", parent, parent[0] ? "." : "", f->key);
        fprintf(out, "      %-22s %s%s\n", key, f->doc ? f->doc : "",
                (f->flags & ASH_FIELD_REQUIRED) ? " (required)" : "");
        if (f->type == ASH_F_MAP && f->sub && !parent[0])
            list_fields(out, f->sub, f->key);
    }
}

static void list_family(FILE *out, const char *title, const struct ash_kind_common *const *kinds, size_t n,
                        bool verbose)
{
    fprintf(out, "%s:\n", title);
    for (size_t i = 0; i < n; i++) {
        const struct ash_kind_common *c = kinds[i];
        const char *why = c->unavailable ? c->unavailable() : NULL;
        fprintf(out, "  %-20s %s%s%s%s\n", c->name, c->summary, why ? " [unavailable: " : "", why ? why : "",
                why ? "]" : "");
        if (verbose)
            list_fields(out, c->fields, "");
    }
}

void ash_list_kinds(FILE *out, bool verbose)
{
    const struct ash_kind_common *v[64];
    size_t n = 0;
    for (size_t i = 0; ash_fault_kinds[i] && n < 64; i++)
        v[n++] = &ash_fault_kinds[i]->c;
    list_family(out, "faults", v, n, verbose);
    n = 0;
    for (size_t i = 0; ash_probe_kinds[i] && n < 64; i++)
        v[n++] = &ash_probe_kinds[i]->c;
    list_family(out, "probes", v, n, verbose);
    n = 0;
    for (size_t i = 0; ash_detector_kinds[i] && n < 64; i++)
        v[n++] = &ash_detector_kinds[i]->c;
    list_family(out, "detectors", v, n, verbose);
    n = 0;
    for (size_t i = 0; ash_action_kinds[i] && n < 64; i++)
        v[n++] = &ash_action_kinds[i]->c;
    list_family(out, "remediation actions", v, n, verbose);
}

int ash_report_rerender(const char *dir, ash_error_t *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_t *report;
    if (ash_report_load(path, &report, err) < 0)
        return -1;
    int ret = ash_report_render_all(report, dir, err);
    json_decref(report);
    if (ret < 0)
        return ret;
    /* The folder's index.html (and comparison.md) shows this report too: a
     * re-render by a newer build refreshes them, best effort. */
    char parent[4200];
    snprintf(parent, sizeof parent, "%s", dir);
    size_t len = strlen(parent);
    while (len > 1 && parent[len - 1] == '/')
        parent[--len] = '\0';
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(parent, sizeof parent, ".");
    snprintf(path, sizeof path, "%s/index.html", parent);
    if (access(path, F_OK) == 0)
        ash_report_write_index(parent, NULL);
    return 0;
}

int ash_scenario_schema(json_t **out, ash_error_t *err)
{
    return ash_schema_build(out, err);
}
