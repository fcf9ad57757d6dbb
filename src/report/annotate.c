/* Grafana annotations of finished runs (`run --annotate grafana=URL`): one region per
 * fault window, one point per detection and per recovery, tagged with the scenario,
 * the run and the variant, POSTed to URL/api/annotations (Grafana's HTTP API: time and
 * timeEnd in epoch ms, tags, text). Posted after the runs have ended, each request
 * with a short timeout, so a slow or broken Grafana never touches a measurement; what
 * failed is a warning in the report, never a failed run. */
#include "report/report.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 2000L
#define REQUEST_TIMEOUT_MS 3000L

int ash_annotate_parse(const char *arg, char *url, size_t len, ash_error_t *err)
{
    static const char usage[] = "--annotate needs grafana=URL with an http:// or https:// URL "
                                "(e.g. grafana=https://grafana.example.com)";
    if (strncmp(arg, "grafana=", 8) != 0)
        return ash_error_class(err, ASH_ERR_USAGE, 0, "%s, not '%s' (grafana is the only target)", usage, arg);
    const char *u = arg + 8;
    const char *host = strncmp(u, "http://", 7) == 0 ? u + 7 : strncmp(u, "https://", 8) == 0 ? u + 8 : NULL;
    if (!host || !*host || *host == '/')
        return ash_error_class(err, ASH_ERR_USAGE, 0, "%s, not '%s'", usage, arg);
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return ash_error_class(err, ASH_ERR_USAGE, 0, "%s: the URL may not hold spaces or control characters",
                                   usage);
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/') /* URL/api/annotations, whether or not it ends in '/' */
        n--;
    if (n + 1 > len)
        return ash_error_class(err, ASH_ERR_USAGE, ENAMETOOLONG, "--annotate: the URL is longer than %zu bytes",
                               len - 1);
    memcpy(url, u, n);
    url[n] = '\0';
    return 0;
}

/* The run's wall-clock start in epoch ms: its own anchor, or (a report from before
 * runs carried one) the report's started_at. */
static bool wall_start_ms(const json_t *report, const json_t *run, double *out)
{
    json_t *w = json_object_get(run, "wall_start_ms");
    if (json_is_integer(w)) {
        *out = (double)json_integer_value(w);
        return true;
    }
    const char *s = ash_report_get_str(report, "started_at", NULL);
    struct tm tm = {0};
    int ms = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec, &ms) != 7)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (double)timegm(&tm) * 1000.0 + ms;
    return true;
}

static json_t *tags_of(const json_t *report, const json_t *run, const char *variant, const char *what)
{
    char scen[300], id[64], var[128];
    snprintf(scen, sizeof scen, "scenario:%s", ash_report_get_str(report, "scenario", "unnamed"));
    snprintf(id, sizeof id, "run:%s", ash_report_get_str(run, "run_id", "?"));
    snprintf(var, sizeof var, "variant:%s", variant && *variant ? variant : "as-it-was");
    return json_pack("[s, s, s, s, s]", "aftershock", scen, id, var, what);
}

static void add(json_t *out, double wall0, double t_ms, const double *end_ms, json_t *tags, const char *text)
{
    json_t *a = json_pack("{s:I, s:o, s:s}", "time", (json_int_t)(wall0 + t_ms + 0.5), "tags", tags, "text", text);
    if (a && end_ms)
        json_object_set_new(a, "timeEnd", json_integer((json_int_t)(wall0 + *end_ms + 0.5)));
    json_array_append_new(out, a);
}

json_t *ash_annotate_grafana_payloads(const json_t *report, const char *variant)
{
    json_t *out = json_array();
    const char *scen = ash_report_get_str(report, "scenario", "unnamed");
    json_t *runs = json_object_get(report, "runs");
    size_t ri;
    json_t *run;
    json_array_foreach(runs, ri, run)
    {
        double wall0;
        if (!wall_start_ms(report, run, &wall0))
            continue;
        json_int_t no = json_integer_value(json_object_get(run, "index"));
        const char *id = ash_report_get_str(run, "run_id", "?");
        char text[1024], a[64], b[64];
        double end_ms;
        bool has_end = ash_report_get_ms(run, "duration_ms", &end_ms);
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(run, "faults"), i, f)
        {
            double at, until;
            if (!ash_report_get_ms(f, "injected_ms", &at))
                continue;
            bool ended = ash_report_get_ms(f, "reverted_ms", &until) || (has_end && (until = end_ms, true));
            snprintf(text, sizeof text, "aftershock: fault %s (%s) in effect, %s run %lld (%s)",
                     ash_report_get_str(f, "name", "?"), ash_report_get_str(f, "kind", "?"), scen, (long long)no, id);
            add(out, wall0, at, ended ? &until : NULL, tags_of(report, run, variant, "fault"), text);
        }
        json_t *d;
        json_array_foreach(json_object_get(run, "detections"), i, d)
        {
            double at, inject;
            if (!ash_report_get_ms(d, "at_ms", &at))
                continue;
            bool rel = ash_report_get_ms(run, "t_inject_ms", &inject);
            snprintf(text, sizeof text, "aftershock: detected by %s, %s after the first fault: %s (%s run %lld)",
                     ash_report_get_str(d, "detector", "?"), rel ? ash_report_fmt_dur(a, sizeof a, at - inject) : "?",
                     ash_report_get_str(d, "detail", ""), scen, (long long)no);
            add(out, wall0, at, NULL, tags_of(report, run, variant, "detection"), text);
        }
        double inject, ttr;
        if (ash_report_get_ms(run, "t_inject_ms", &inject) && ash_report_get_ms(run, "ttr_ms", &ttr)) {
            snprintf(text, sizeof text, "aftershock: recovered, TTR %s (%s run %lld)",
                     ash_report_fmt_dur(b, sizeof b, ttr), scen, (long long)no);
            add(out, wall0, inject + ttr, NULL, tags_of(report, run, variant, "recovery"), text);
        }
        /* The people's own "recovered" marks, beside the measured one. */
        json_t *e;
        json_array_foreach(json_object_get(run, "timeline"), i, e)
        {
            double at;
            if (strcmp(ash_report_get_str(e, "event", ""), "mark-recovered") != 0 || !ash_report_get_ms(e, "t_ms", &at))
                continue;
            snprintf(text, sizeof text, "aftershock: marked recovered by a person (%s run %lld)", scen, (long long)no);
            add(out, wall0, at, NULL, tags_of(report, run, variant, "recovery"), text);
        }
    }
    return out;
}

static size_t keep_body(char *data, size_t size, size_t nmemb, void *arg)
{
    char *buf = arg;
    size_t have = strlen(buf), n = size * nmemb;
    size_t room = 200 - have;
    memcpy(buf + have, data, n < room ? n : room);
    buf[have + (n < room ? n : room)] = '\0';
    return n;
}

/* POST one annotation; 0, or -1 with why (and *unreachable when the server never answered). */
static int post(CURL *h, const char *endpoint, struct curl_slist *headers, const json_t *payload, char *why,
                size_t why_len, bool *unreachable)
{
    char *body = json_dumps(payload, JSON_COMPACT);
    if (!body) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    char answer[201] = "";
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, endpoint);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)answer);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode c = curl_easy_perform(h);
    free(body);
    if (c != CURLE_OK) {
        snprintf(why, why_len, "%s", curl_easy_strerror(c));
        *unreachable = c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_OPERATION_TIMEDOUT ||
                       c == CURLE_SSL_CONNECT_ERROR;
        return -1;
    }
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
        snprintf(why, why_len, "HTTP %ld%s%s", code, answer[0] ? ": " : "", answer);
        return -1;
    }
    return 0;
}

int ash_report_annotate_grafana(json_t *const *reports, const char *const *dirs, size_t n, const char *url,
                                const char *token, FILE *log)
{
    int failed_total = 0;
    char endpoint[2200];
    snprintf(endpoint, sizeof endpoint, "%s/api/annotations", url);
    CURL *h = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = headers ? curl_slist_append(headers, "Accept: application/json") : NULL;
    char *auth = NULL;
    if (headers && token && *token && asprintf(&auth, "Authorization: Bearer %s", token) >= 0)
        headers = curl_slist_append(headers, auth);
    bool unreachable = false;
    for (size_t i = 0; i < n; i++) {
        json_t *payloads =
            ash_annotate_grafana_payloads(reports[i], ash_report_variant_label((const json_t *const *)reports, n, i));
        json_t *warnings = json_array();
        size_t posted = 0, failed = 0, k;
        json_t *p;
        json_array_foreach(payloads, k, p)
        {
            char why[400];
            if (unreachable) {
                failed++;
                continue; /* one timeout is enough to know: the rest are not tried */
            }
            if (!h || !headers || post(h, endpoint, headers, p, why, sizeof why, &unreachable) < 0) {
                if (!h || !headers)
                    snprintf(why, sizeof why, "out of memory");
                failed++;
                char w[700];
                snprintf(w, sizeof w, "annotation '%s' not posted to %s: %s",
                         json_string_value(json_object_get(p, "text")), endpoint, why);
                json_array_append_new(warnings, json_string(w));
                continue;
            }
            posted++;
        }
        if (unreachable && failed > json_array_size(warnings)) {
            char w[400];
            snprintf(w, sizeof w, "%zu more annotation%s not tried: %s did not answer",
                     failed - json_array_size(warnings), failed - json_array_size(warnings) == 1 ? "" : "s", url);
            json_array_append_new(warnings, json_string(w));
        }
        size_t wi;
        json_t *w;
        json_array_foreach(warnings, wi, w)
            ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "aftershock: warning: %s\n", json_string_value(w));
        json_t *annotations = json_object_get(reports[i], "annotations");
        if (!json_is_object(annotations)) {
            annotations = json_object();
            json_object_set_new(reports[i], "annotations", annotations);
        }
        json_object_set_new(annotations, "grafana",
                            json_pack("{s:s, s:b, s:I, s:I, s:o}", "url", url, "token", token && *token, "posted",
                                      (json_int_t)posted, "failed", (json_int_t)failed, "warnings", warnings));
        failed_total += (int)failed;
        json_decref(payloads);
        /* The outcome belongs in the report the team keeps: written again, pages too. */
        if (dirs && dirs[i]) {
            char file[4200];
            ash_error_t err = {0};
            snprintf(file, sizeof file, "%s/report.json", dirs[i]);
            if (ash_report_write_json(reports[i], file, &err) < 0 ||
                ash_report_render_all(reports[i], dirs[i], &err) < 0)
                ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "aftershock: warning: %s\n", err.msg);
        }
    }
    free(auth);
    curl_slist_free_all(headers);
    if (h)
        curl_easy_cleanup(h);
    return failed_total;
}
