/* A run as one "runs" entry of report.json (engine/run_json.c), from the plain records
 * of engine/run_record.h; the verdict its expectations give; revert failures in it. */
#ifndef ASH_ENGINE_RUN_JSON_H
#define ASH_ENGINE_RUN_JSON_H

#include "engine/measure.h"
#include "engine/run_record.h"

#include <jansson.h>
#include <stdbool.h>

/* rec: what the run produced; series: its probes' samples as series (ash_run_series). */
json_t *ash_run_json(const struct ash_run_record *rec, const struct ash_series *series, int verdict, const char *error);
int ash_run_json_verdict(json_t *run);
void ash_run_json_mark_revert_failure(json_t *run_json, const char *what, bool lead);
/* A fault whose revert failed makes the run an error (its harm may still be there). */
void ash_run_json_check_reverts(const struct ash_run_record *rec, json_t *run_json);

#endif
