/* The scenario format as a JSON Schema, generated from the same field tables the parser uses. */
#ifndef ASH_SCENARIO_SCHEMA_H
#define ASH_SCENARIO_SCHEMA_H

#include <aftershock/error.h>
#include <jansson.h>

struct ash_kind_set;

/* JSON Schema (draft 2020-12) of a scenario file written with the kinds in K;
 * the caller owns *out. scenarios/schema.json is this output with every kind
 * (`aftershock schema`, through ash_schema_build in src/registry.c). */
int ash_schema_build_with(const struct ash_kind_set *k, json_t **out, ash_error_t *err);
/* The same with every registered kind (src/registry.c). */
int ash_schema_build(json_t **out, ash_error_t *err);

/* Patterns shared by the schema and the tests; the C parsers are the reference. */
#define ASH_DURATION_RE "^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\xc2\xb5s|ms|s|m|h))+)$"
/* A share is at most 100%. */
#define ASH_SHARE_RE "(100(\\.0*)?|[0-9]{1,2}(\\.[0-9]*)?|\\.[0-9]+)%"
#define ASH_SIZE_RE "^([0-9]+|([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)|" ASH_SHARE_RE ")$"
#define ASH_PERCENT_RE "^(" ASH_SHARE_RE "|0(\\.[0-9]*)?|1(\\.0*)?|\\.[0-9]+)$"

#endif
