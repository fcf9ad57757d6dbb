/* Action `exec: [cmd...]`: run a runbook command. */
#include "kinds.h"

struct exec_action_conf {
    struct ash_strlist command;
};

static const struct ash_field exec_action_fields[] = {
    {"command", ASH_F_ARGV, offsetof(struct exec_action_conf, command), ASH_FIELD_REQUIRED, "command to run"},
    {NULL}};

const struct ash_action_kind ash_action_exec = {
    .c = {.name = "exec", .summary = "run a command", .fields = exec_action_fields,
          .conf_size = sizeof(struct exec_action_conf), .shorthand = "command"},
};
