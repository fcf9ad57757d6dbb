/* Action `restart: SERVICE`: stop and start a service, waiting until it is ready. */
#include "env/env.h"
#include "kinds.h"

#include <errno.h>

struct restart_conf {
    char *service;
};

static const struct ash_field restart_fields[] = {{"service", ASH_F_STRING, offsetof(struct restart_conf, service),
                                                   ASH_FIELD_REQUIRED, "service to restart (HOST/SERVICE or SERVICE)"},
                                                  {NULL}};

static int restart_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct restart_conf *c = conf;
    if (!ash_scenario_service(sc, c->service))
        return ash_node_fail(node, err, "no service named '%s' in this scenario", c->service);
    return 0;
}

static int restart_run(struct ash_ctx *ctx, const struct ash_remediation_spec *r, ash_error_t *err)
{
    const struct restart_conf *c = r->conf;
    struct ash_service *s = ash_env_service(ctx->env, c->service);
    if (!s)
        return ash_error(err, ENOENT, "no service '%s'", c->service);
    return ash_service_restart(ctx->env, s, err);
}

const struct ash_action_kind ash_action_restart = {
    .c = {.name = "restart",
          .summary = "restart a service and wait until it is ready",
          .fields = restart_fields,
          .conf_size = sizeof(struct restart_conf),
          .validate = restart_validate,
          .shorthand = "service"},
    .run = restart_run,
};
