/* Action `revert: FAULT`: end a fault now (the runbook's fix). */
#include "kinds.h"

struct revert_conf {
    char *fault;
};

static const struct ash_field revert_fields[] = {
    {"fault", ASH_F_STRING, offsetof(struct revert_conf, fault), ASH_FIELD_REQUIRED, "name of the fault to revert"},
    {NULL}};

static int revert_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct revert_conf *c = conf;
    if (!ash_scenario_fault(sc, c->fault))
        return ash_node_fail(node, err, "no fault named '%s' in this scenario", c->fault);
    return 0;
}

static int revert_run(struct ash_ctx *ctx, const struct ash_remediation_spec *r, ash_error_t *err)
{
    const struct revert_conf *c = r->conf;
    return ctx->revert_fault(ctx, c->fault, err);
}

const struct ash_action_kind ash_action_revert = {
    .c = {.name = "revert",
          .summary = "revert a fault by name",
          .fields = revert_fields,
          .conf_size = sizeof(struct revert_conf),
          .validate = revert_validate,
          .shorthand = "fault"},
    .run = revert_run,
};
