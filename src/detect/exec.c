/* Detector `exec`: a command run on a schedule turning non-zero. */
#include "kinds.h"

struct exec_det_conf {
    struct ash_strlist command;
    int64_t every_ns;
};

static const struct ash_field exec_det_fields[] = {
    {"command", ASH_F_ARGV, offsetof(struct exec_det_conf, command), ASH_FIELD_REQUIRED, "command; non-zero exit = detected"},
    {"every", ASH_F_DURATION, offsetof(struct exec_det_conf, every_ns), 0, "how often to run it (default 1s)"},
    {NULL}};

const struct ash_detector_kind ash_detector_exec = {
    .c = {.name = "exec", .summary = "a command run on a schedule exits non-zero", .fields = exec_det_fields,
          .conf_size = sizeof(struct exec_det_conf), .shorthand = "command"},
};
