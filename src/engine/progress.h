/* Live progress: a status line on a terminal, plain log lines otherwise, nothing when quiet. */
#ifndef ASH_ENGINE_PROGRESS_H
#define ASH_ENGINE_PROGRESS_H

#include <aftershock/aftershock.h>
#include <stdint.h>

struct ash_progress;

struct ash_progress *ash_progress_new(enum ash_progress_mode mode, FILE *out, const char *scenario, int run);
void ash_progress_free(struct ash_progress *p);
void ash_progress_phase(struct ash_progress *p, const char *phase);
void ash_progress_event(struct ash_progress *p, int64_t t_rel, const char *event, const char *detail);
void ash_progress_sample(struct ash_progress *p, const char *probe, bool ok);
void ash_progress_probes(struct ash_progress *p, size_t n);
void ash_progress_faults(struct ash_progress *p, int delta);

#endif
