/* Detector `log`: a regular expression matching a line of a service's output. */
#include "kinds.h"

struct log_conf {
    char *service;
    char *match;
};

static const struct ash_field log_fields[] = {
    {"service", ASH_F_STRING, offsetof(struct log_conf, service), ASH_FIELD_REQUIRED, "service whose stdout/stderr is read"},
    {"match", ASH_F_STRING, offsetof(struct log_conf, match), ASH_FIELD_REQUIRED, "POSIX extended regular expression"},
    {NULL}};

const struct ash_detector_kind ash_detector_log = {
    .c = {.name = "log", .summary = "a service's output line matches a regular expression", .fields = log_fields,
          .conf_size = sizeof(struct log_conf)},
};
