/* One run of a scenario: phases, timeline, measurements (engine internals). */
#ifndef ASH_ENGINE_RUN_H
#define ASH_ENGINE_RUN_H

#include <aftershock/aftershock.h>

#include "kinds.h"

struct ash_run_config {
    const struct ash_scenario *sc;
    const char *run_dir;
    const char *state_dir;
    const char *run_id;
    int index;
    enum ash_progress_mode progress;
    FILE *log;
    const char *guardian_exe;
    volatile int *interrupted; /* set by the caller's signal handling between runs */
};

/* Execute one run; fills *run_json (a "runs" entry). Returns the verdict, or
 * -1 with err when the run could not be set up (nothing injected). */
int ash_run_once(const struct ash_run_config *cfg, json_t **run_json, ash_error_t *err);

#endif
