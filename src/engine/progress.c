/* Progress output. On a TTY one status line is redrawn at most every 100 ms
 * (phase, elapsed, probes healthy, faults active); events print above it. */
#include "engine/progress.h"
#include "sys/clock.h"
#include <aftershock/text.h>

#include <stdlib.h>
#include <string.h>

struct ash_progress {
    enum ash_progress_mode mode;
    FILE *out;
    char scenario[128];
    int run;
    char phase[32];
    int64_t t0, last_draw;
    size_t n_probes;
    size_t probe_ok_bits; /* healthy probes (first 64) */
    char names[64][48];
    size_t n_names;
    int faults;
    bool drawn;
};

struct ash_progress *ash_progress_new(enum ash_progress_mode mode, FILE *out, const char *scenario, int run)
{
    struct ash_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->mode = mode;
    p->out = out ? out : stderr;
    ash_text_escape(p->scenario, sizeof p->scenario, scenario, 0); /* from report.json too, never trusted */
    p->run = run;
    p->t0 = ash_now_ns();
    return p;
}

static void clear_line(struct ash_progress *p)
{
    if (p->mode == ASH_PROGRESS_STATUS && p->drawn) {
        fputs("\r\033[K", p->out);
        p->drawn = false;
    }
}

static void draw(struct ash_progress *p, bool force)
{
    if (!p || p->mode != ASH_PROGRESS_STATUS)
        return;
    int64_t now = ash_now_ns();
    if (!force && now - p->last_draw < 100 * ASH_NS_PER_MS)
        return;
    p->last_draw = now;
    size_t ok = (size_t)__builtin_popcountll(p->probe_ok_bits);
    fprintf(p->out, "\r\033[K%s #%d  %-9s %7.1fs  probes %zu/%zu ok  faults active %d", p->scenario, p->run, p->phase,
            (double)(now - p->t0) / 1e9, ok, p->n_probes, p->faults);
    fflush(p->out);
    p->drawn = true;
}

void ash_progress_free(struct ash_progress *p)
{
    if (!p)
        return;
    clear_line(p);
    free(p);
}

void ash_progress_phase(struct ash_progress *p, const char *phase)
{
    if (!p)
        return;
    snprintf(p->phase, sizeof p->phase, "%s", phase);
    if (p->mode == ASH_PROGRESS_LINES) {
        fprintf(p->out, "[%s #%d %9.3f] phase %s\n", p->scenario, p->run, (double)(ash_now_ns() - p->t0) / 1e6 / 1e3,
                phase);
        fflush(p->out);
    }
    draw(p, true);
}

void ash_progress_event(struct ash_progress *p, int64_t t_rel, const char *event, const char *detail)
{
    if (!p || p->mode == ASH_PROGRESS_QUIET)
        return;
    /* Service lifecycle chatter stays in the report; the console shows what matters. */
    if (strncmp(event, "service-", 8) == 0 && strcmp(event, "service-exited") != 0)
        return;
    clear_line(p);
    /* Details quote the outside world (alert names, service output, error
     * text): escaped, one line each, so nothing they hold acts on the terminal. */
    fprintf(p->out, "[%s #%d %9.3f s] ", p->scenario, p->run, (double)t_rel / 1e9);
    ash_text_fprintf(p->out, 0, "%-16s %s", event, detail ? detail : "");
    fputc('\n', p->out);
    fflush(p->out);
    draw(p, true);
}

void ash_progress_sample(struct ash_progress *p, const char *probe, bool ok)
{
    if (!p || p->mode != ASH_PROGRESS_STATUS)
        return;
    size_t i;
    for (i = 0; i < p->n_names; i++)
        if (strcmp(p->names[i], probe) == 0)
            break;
    if (i == p->n_names && p->n_names < 64)
        snprintf(p->names[p->n_names++], sizeof p->names[0], "%s", probe);
    if (i < 64) {
        if (ok)
            p->probe_ok_bits |= (size_t)1 << i;
        else
            p->probe_ok_bits &= ~((size_t)1 << i);
    }
    draw(p, false);
}

void ash_progress_probes(struct ash_progress *p, size_t n)
{
    if (p)
        p->n_probes = n;
}

void ash_progress_faults(struct ash_progress *p, int delta)
{
    if (p) {
        p->faults += delta;
        draw(p, true);
    }
}
