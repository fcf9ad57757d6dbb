/* Action `kill_lock_holder: FAULT`: end a table-lock fault's holder process (the
 * runbook's "kill the stuck maintenance script"), then check the lock is free. */
#include "kinds.h"

#include <errno.h>
#include <string.h>

struct kill_lock_holder_conf {
    char *fault;
};

static const struct ash_field kill_lock_holder_fields[] = {
    {"fault", ASH_F_STRING, offsetof(struct kill_lock_holder_conf, fault), ASH_FIELD_REQUIRED,
     "name of the table-lock fault whose holder to kill"},
    {NULL}};

static int kill_lock_holder_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct kill_lock_holder_conf *c = conf;
    const struct ash_fault_spec *f = ash_scenario_fault(sc, c->fault);
    ash_node v = ash_map_get(node, "fault");
    if (!ash_node_ok(&v))
        v = *node; /* shorthand form: the value itself */
    if (!f)
        return ash_node_fail(&v, err, "no fault named '%s' in this scenario", c->fault);
    /* A fault with a holder to end (the kind offers end_harm): table-lock's. */
    if (!f->kind->end_harm)
        return ash_node_fail(&v, err, "fault '%s' is not a table-lock fault", c->fault);
    return 0;
}

static int kill_lock_holder_run(struct ash_ctx *ctx, const struct ash_remediation_spec *r, ash_error_t *err)
{
    const struct kill_lock_holder_conf *c = r->conf;
    const struct ash_fault_spec *f = ash_scenario_fault(ctx->scenario, c->fault);
    void *st = ctx->fault_state ? ctx->fault_state(ctx, c->fault) : NULL;
    if (!st || !f || !f->kind->end_harm)
        return ash_error(err, ESRCH, "kill_lock_holder: fault '%s' is not in effect (not injected yet, or reverted)",
                         c->fault);
    if (f->kind->end_harm(st, "kill_lock_holder", err) < 0)
        return -1;
    /* The harm is gone: let the engine count the fault as reverted (its revert
     * finds st->ended and only frees the state), so revert_to_recover_ms is measured
     * from here and the run can end once it has recovered. */
    if (ctx->revert_fault && ctx->revert_fault(ctx, c->fault, err) < 0)
        return ash_error_wrap(err, "kill_lock_holder: the holder is gone, but reverting fault '%s' failed", c->fault);
    return 0;
}

const struct ash_action_kind ash_action_kill_lock_holder = {
    .c = {.name = "kill_lock_holder",
          .summary = "kill a table-lock fault's holder process and check the lock is free",
          .fields = kill_lock_holder_fields,
          .conf_size = sizeof(struct kill_lock_holder_conf),
          .validate = kill_lock_holder_validate,
          .shorthand = "fault"},
    .run = kill_lock_holder_run,
};
