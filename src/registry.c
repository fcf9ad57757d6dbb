/* The kind registries: adding a kind is one file and one line in kinds.def. */
#include "kinds.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "fleet/kube.h"
#include "fleet/swarm.h"
#include "scenario/schema.h"

#include <stdio.h>
#include <string.h>

/* Declarations of every kind's table entry. */
#define FAULT(x) extern const struct ash_fault_kind ash_fault_##x;
#define PROBE(x) extern const struct ash_probe_kind ash_probe_##x;
#define DETECTOR(x) extern const struct ash_detector_kind ash_detector_##x;
#define ACTION(x) extern const struct ash_action_kind ash_action_##x;
#include "kinds.def"

/* One table per family: kinds.def expands the other families to nothing. */
#define FAULT(x) &ash_fault_##x,
const struct ash_fault_kind *const ash_fault_kinds[] = {
#include "kinds.def"
    NULL};
#define PROBE(x) &ash_probe_##x,
const struct ash_probe_kind *const ash_probe_kinds[] = {
#include "kinds.def"
    NULL};
#define DETECTOR(x) &ash_detector_##x,
const struct ash_detector_kind *const ash_detector_kinds[] = {
#include "kinds.def"
    NULL};
#define ACTION(x) &ash_action_##x,
const struct ash_action_kind *const ash_action_kinds[] = {
#include "kinds.def"
    NULL};

const struct ash_kind_set ash_kinds = {ash_fault_kinds, ash_probe_kinds, ash_detector_kinds, ash_action_kinds};

/* The whole program parses with every kind; src/scenario/ itself knows none. */
int ash_scenario_load(const char *path, struct ash_scenario **out, ash_error_t *err)
{
    return ash_scenario_load_with(path, &ash_kinds, out, err);
}

int ash_scenario_load_string(const char *name, const char *text, size_t len, struct ash_scenario **out,
                             ash_error_t *err)
{
    return ash_scenario_load_string_with(name, text, len, &ash_kinds, out, err);
}

int ash_schema_build(json_t **out, ash_error_t *err)
{
    return ash_schema_build_with(&ash_kinds, out, err);
}

#define FIND(type, table)                                                                                              \
    const struct type *type##_find(const char *name)                                                                   \
    {                                                                                                                  \
        for (size_t i = 0; table[i]; i++)                                                                              \
            if (strcmp(table[i]->c.name, name) == 0)                                                                   \
                return table[i];                                                                                       \
        return NULL;                                                                                                   \
    }
FIND(ash_fault_kind, ash_fault_kinds)
FIND(ash_probe_kind, ash_probe_kinds)
FIND(ash_detector_kind, ash_detector_kinds)
FIND(ash_action_kind, ash_action_kinds)

static const struct ash_undo_op *find_in(const struct ash_undo_op *ops, const char *name)
{
    for (size_t i = 0; ops && ops[i].name; i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

const struct ash_undo_op *ash_undo_op_find(const char *name)
{
    const struct ash_undo_op *op = find_in(ash_env_undo_ops, name);
    if (!op)
        op = find_in(ash_sandbox_undo_ops, name);
    if (!op)
        op = find_in(ash_swarm_undo_ops, name);
    if (!op)
        op = find_in(ash_kube_undo_ops, name); /* a fleet run's DaemonSet and Secret */
    for (size_t i = 0; !op && ash_fault_kinds[i]; i++)
        op = find_in(ash_fault_kinds[i]->undo_ops, name);
    return op;
}
