/* The people's marks (`aftershock mark`) of one run, for every report that shows
 * the machine's figures: when each was marked, by whom, and the people's TTD
 * against the machine's own first detection (a human detector's repeat of the
 * mark is not the machine's). */
#include "report/report.h"

#include <math.h>
#include <string.h>
#include <time.h>

bool ash_report_first_event(const json_t *run, const char *event, double *t, const char **detail)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(run, "timeline"), i, e)
    {
        if (strcmp(ash_report_get_str(e, "event", ""), event) == 0 && ash_report_get_ms(e, "t_ms", t)) {
            if (detail)
                *detail = ash_report_get_str(e, "detail", "");
            return true;
        }
    }
    return false;
}

void ash_report_when(char *buf, size_t len, const json_t *run, double t_ms)
{
    double inject, rel = t_ms;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &inject);
    if (has_inject)
        rel = t_ms - inject;
    char r[48];
    ash_report_fmt_rel(r, sizeof r, true, rel);
    json_t *w = json_object_get(run, "wall_start_ms");
    if (json_is_integer(w)) {
        double at = (double)json_integer_value(w) + t_ms;
        time_t secs = (time_t)(at / 1000.0);
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(buf, len, "%s%s (%02d:%02d:%02d UTC)", r, has_inject ? "" : " from the start", tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
    } else {
        snprintf(buf, len, "%s%s", r, has_inject ? "" : " from the start");
    }
}

double ash_report_machine_detection(const json_t *run, const char **by)
{
    double machine = NAN;
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(run, "detections"), i, d)
    {
        double at;
        if (strstr(ash_report_get_str(d, "detail", ""), "marked detected") || !ash_report_get_ms(d, "at_ms", &at))
            continue;
        if (isnan(machine) || at < machine) {
            machine = at;
            if (by)
                *by = ash_report_get_str(d, "detector", "?");
        }
    }
    return machine;
}

const char *const ash_report_mark_events[3] = {"mark-detected", "mark-mitigated", "mark-recovered"};

bool ash_report_marks_text(const json_t *run, char *buf, size_t len)
{
    size_t n = 0;
    bool any = false;
    buf[0] = '\0';
    for (int k = 0; k < 3; k++) {
        double t;
        const char *who;
        char w[96];
        const char *what = ash_report_mark_events[k] + strlen("mark-");
        if (!ash_report_first_event(run, ash_report_mark_events[k], &t, &who)) {
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s not marked", k ? "; " : "", what);
            continue;
        }
        any = true;
        ash_report_when(w, sizeof w, run, t);
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%smarked %s at %s%s%s%s", k ? "; " : "", what, w,
                              *who ? " (" : "", who, *who ? ")" : "");
    }
    if (!any) {
        buf[0] = '\0';
        return false;
    }
    /* TTD by the people against the machine's: both from t_inject, as the figures. */
    double inject = 0, mark_d;
    bool has_inject = ash_report_get_ms(run, "t_inject_ms", &inject);
    const char *by = "?";
    double machine = ash_report_machine_detection(run, &by);
    char a[64] = "not marked", b[64] = "not detected";
    if (has_inject && ash_report_first_event(run, "mark-detected", &mark_d, NULL))
        ash_report_fmt_dur(a, sizeof a, mark_d - inject);
    if (has_inject && !isnan(machine)) {
        char d[64];
        snprintf(b, sizeof b, "%.40s (%.20s)", ash_report_fmt_dur(d, sizeof d, machine - inject), by);
    }
    if (n < len)
        snprintf(buf + n, len - n, ". TTD by the people %s, by the machine %s", a, b);
    return true;
}
