/* The run's preflight: every target that selects what already runs looked up, and what
 * each fault needs of it checked, before anything starts (run, plan, validate --resolve). */
#ifndef ASH_ENGINE_PREFLIGHT_H
#define ASH_ENGINE_PREFLIGHT_H

#include <aftershock/error.h>
#include <jansson.h>

struct ash_scenario;

/* Append to problems one string per problem, every one found (not only the first):
 * "FILE:LINE:COL: fault 'x': no container named ...". resolved (may be NULL) gets one
 * {"item", "file", "line", "col", "targets": [identity, ...], "described": ["container web-1
 * (id 3f2a9c01b7e4)", ...]} per item whose targets resolved. -1 only when out
 * of memory (err says so); otherwise 0, problems or not. */
int ash_preflight(const struct ash_scenario *sc, json_t *problems, json_t *resolved, ash_error_t *err);

/* ash_scenario_load, able to hint at a running container of a name that is no host or
 * service ("write 'container:web'"). */
int ash_engine_load(const char *path, struct ash_scenario **out, ash_error_t *err);

/* ash_preflight, as one error: the problems one a line, ASH_ERR_ENVIRONMENT (exit 3). */
int ash_preflight_check(const struct ash_scenario *sc, json_t *resolved, ash_error_t *err);

#endif
