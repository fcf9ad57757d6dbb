/* Field tables of the scenario's fixed structure (scenario.c), shared with the schema generator. */
#ifndef ASH_SCENARIO_TABLES_H
#define ASH_SCENARIO_TABLES_H

#include "scenario/node.h"

/* Keys whose values the tables cannot describe (lists of items, kind keys,
 * `when`, `until`, `action`) are handled by hand in scenario.c and schema.c. */
extern const struct ash_field ash_service_fields[]; /* struct ash_service_spec */
extern const struct ash_field ash_host_fields[];    /* struct ash_host_spec, plus `services` */
extern const struct ash_field ash_probe_fields[];   /* struct ash_probe_spec, plus one kind key */
extern const struct ash_field ash_detector_fields[];
extern const struct ash_field ash_fault_fields[];       /* plus kind, until, the kind's own keys */
extern const struct ash_field ash_remediation_fields[]; /* plus when, action */
extern const struct ash_field ash_expect_fields[];      /* struct ash_expect */
extern const struct ash_field ash_verify_fields[];      /* struct ash_verify_spec */
extern const struct ash_field ash_guardrail_fields[];   /* struct ash_guardrail_spec */
extern const struct ash_field ash_runtime_fields[];     /* struct ash_runtime_spec */
extern const struct ash_field ash_fleet_fields[];       /* struct ash_fleet_spec */
extern const struct ash_field ash_dns_fields[];         /* struct ash_dns_spec, plus `records` */
extern const struct ash_field ash_dns_record_fields[];  /* struct ash_dns_record_spec */

/* Name rules, as ERE patterns (also used in schema.json). */
#define ASH_SCENARIO_NAME_RE "^[a-z0-9-]+$"
#define ASH_HOST_NAME_RE "^[a-z0-9-]{1,15}$"
#define ASH_ITEM_NAME_RE "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
/* Length limits, from what the names become (a file name has at most NAME_MAX, 255,
 * bytes; a longer one fails at run time with "File name too long", or, for a log file
 * opened without a check, silently):
 * - a scenario's name names its run directories, NAME-YYYYMMDDTHHMMSSZ[-999];
 * - a service's name names its log file, logs/NAME.log, and the cgroup a memory fault
 *   moves it into, ash-RUN-NAME (run ids have at most 11 characters). */
#define ASH_RUN_DIR_MAX_SUFFIX 999
#define ASH_SCENARIO_NAME_MAX (255 - (int)(sizeof "-YYYYMMDDTHHMMSSZ-999" - 1))
/* It names logs/NAME.log; kernel objects (cgroups) are named by ash_objname, bounded by construction. */
#define ASH_SERVICE_NAME_MAX (255 - (int)(sizeof ".log" - 1))
/* A fault's name names logs/faults/NAME.log (exec faults' output), a verify check's
 * verify/NAME.log: the same bound. */
#define ASH_FAULT_NAME_MAX ASH_SERVICE_NAME_MAX
#define ASH_VERIFY_NAME_MAX ASH_SERVICE_NAME_MAX
#define ASH_TIME_OF_DAY_RE "^([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"

#endif
