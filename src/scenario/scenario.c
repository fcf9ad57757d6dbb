/* Scenario parsing (placeholder until the parser lands). */
#include "scenario/scenario.h"

#include <errno.h>

int ash_scenario_load(const char *path, struct ash_scenario **out, ash_error_t *err) { return ash_error(err, ENOSYS, "parser"); }
void ash_scenario_free(struct ash_scenario *sc) {}
