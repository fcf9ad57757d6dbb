/* Probe `exec`: run a command per sample; ok when it exits 0 within the timeout. */
#include "kinds.h"

struct exec_probe_conf {
    struct ash_strlist command;
};

static const struct ash_field exec_probe_fields[] = {
    {"command", ASH_F_ARGV, offsetof(struct exec_probe_conf, command), ASH_FIELD_REQUIRED, "command; exit 0 = ok"},
    {NULL}};

const struct ash_probe_kind ash_probe_exec = {
    .c = {.name = "exec", .summary = "run a command; ok when it exits 0 in time", .fields = exec_probe_fields,
          .conf_size = sizeof(struct exec_probe_conf), .shorthand = "command"},
};
