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
    const struct ash_fault_spec *f = ash_scenario_fault(sc, c->fault);
    if (!f)
        return ash_node_fail(node, err, "no fault named '%s' in this scenario", c->fault);
    /* The runbook's fix would be reported done while nothing was undone. */
    const char *why = f->kind->no_revert ? f->kind->no_revert(f) : NULL;
    if (why)
        return ash_node_fail(node, err, "fault '%s' cannot be reverted (%s): nothing for this remediation to do",
                             c->fault, why);
    return 0;
}

static int revert_run(struct ash_ctx *ctx, const struct ash_remediation_spec *r, ash_error_t *err)
{
    const struct revert_conf *c = r->conf;
    return ctx->revert_fault(ctx, c->fault, err);
}

static const char *revert_reverts(const void *conf)
{
    return ((const struct revert_conf *)conf)->fault;
}

const struct ash_action_kind ash_action_revert = {
    .c = {.name = "revert",
          .summary = "revert a fault by name",
          .fields = revert_fields,
          .conf_size = sizeof(struct revert_conf),
          .validate = revert_validate,
          .shorthand = "fault"},
    .run = revert_run,
    .reverts = revert_reverts,
};
