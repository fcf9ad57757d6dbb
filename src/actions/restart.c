/* Action `restart: SERVICE`: stop and start a service, waiting until it is ready. */
#include "kinds.h"

struct restart_conf {
    char *service;
};

static const struct ash_field restart_fields[] = {
    {"service", ASH_F_STRING, offsetof(struct restart_conf, service), ASH_FIELD_REQUIRED, "service to restart (HOST/SERVICE or SERVICE)"},
    {NULL}};

const struct ash_action_kind ash_action_restart = {
    .c = {.name = "restart", .summary = "restart a service and wait until it is ready", .fields = restart_fields,
          .conf_size = sizeof(struct restart_conf), .shorthand = "service"},
};
