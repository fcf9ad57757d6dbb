/* Action `revert: FAULT`: end a fault now (the runbook's fix). */
#include "kinds.h"

struct revert_conf {
    char *fault;
};

static const struct ash_field revert_fields[] = {
    {"fault", ASH_F_STRING, offsetof(struct revert_conf, fault), ASH_FIELD_REQUIRED, "name of the fault to revert"},
    {NULL}};

const struct ash_action_kind ash_action_revert = {
    .c = {.name = "revert", .summary = "revert a fault by name", .fields = revert_fields,
          .conf_size = sizeof(struct revert_conf), .shorthand = "fault"},
};
