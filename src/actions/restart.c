/* Action `restart`: start a service or a container again and wait until it is back
 * (a service: its ready check; a container: the engine's restart, then its new init). */
#include "env/env.h"
#include "env/target.h"
#include "kinds.h"

#include <errno.h>

struct restart_conf {
    char *service;
    struct ash_target_ref target;
};

static const struct ash_field restart_fields[] = {
    {"service", ASH_F_STRING, offsetof(struct restart_conf, service), 0,
     "service to restart (HOST/SERVICE or SERVICE); or give target:"},
    {"target", ASH_F_TARGET, offsetof(struct restart_conf, target), 0,
     "what to start again: service:NAME or container:NAME|ID|label=K=V (through the engine's API)",
     .needs = ASH_CAP_RESTART},
    {NULL}};

static int restart_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct restart_conf *c = conf;
    if (!c->service == !c->target.name)
        return ash_node_fail(node, err, "restart needs exactly one of 'service' and 'target'");
    if (c->service && !ash_scenario_service(sc, c->service))
        return ash_node_fail(node, err, "no service named '%s' in this scenario", c->service);
    return 0;
}

static int restart_one(struct ash_ctx *ctx, const struct ash_target_ref *ref, ash_error_t *err)
{
    struct ash_target t;
    ash_error_t e = {0};
    if (ash_ctx_target(ctx, ref, &t, &e) == 0) {
        int ret = ash_target_restart(&t, err);
        ash_target_release(&t);
        return ret;
    }
    /* A container that exited or was stopped (the resolver's ESRCH: not running) is
     * what a restart is for: the engine starts it by name, then it must resolve as a
     * running container with an init, which is "back". A label or all: true names no
     * one container to start; a fleet target's container is on its node, not here. */
    if (ref->type != ASH_TARGET_CONTAINER || e.code != ESRCH || ref->all || ref->node ||
        ash_target_container_label(ref->name)) {
        if (err)
            *err = e;
        return -1;
    }
    if (ash_target_container_restart_stopped(ref->endpoint, ref->name, err) < 0)
        return ash_error_wrap(err, "%s", e.msg);
    if (ash_ctx_target(ctx, ref, &t, err) < 0)
        return ash_error_wrap(err, "container '%s' was started again but is not back", ref->name);
    ash_target_release(&t);
    return 0;
}

/* all: true: every running container with the label, as a runbook's "restart them"
 * would (resolving the label once would restart only the first). Each is tried; the
 * first failure is the one reported. */
static int restart_each(struct ash_ctx *ctx, const struct ash_target_ref *ref, ash_error_t *err)
{
    char **ids;
    size_t n;
    if (ash_target_container_ids(ref, &ids, &n, err) < 0)
        return -1;
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        ash_error_t e = {0};
        ctx->target_member = ids[i];
        if (restart_one(ctx, ref, &e) < 0 && ret == 0)
            ret =
                ash_error(err, e.code, "container %.12s (%zu of %zu with %s): %s", ids[i], i + 1, n, ref->name, e.msg);
        ctx->target_member = NULL;
        free(ids[i]);
    }
    free(ids);
    return ret;
}

static int restart_run(struct ash_ctx *ctx, const struct ash_remediation_spec *r, ash_error_t *err)
{
    const struct restart_conf *c = r->conf;
    if (c->target.name && c->target.all)
        return restart_each(ctx, &c->target, err);
    if (c->target.name)
        return restart_one(ctx, &c->target, err);
    struct ash_service *s = ash_env_service(ctx->env, c->service);
    if (!s)
        return ash_error(err, ENOENT, "no service '%s'", c->service);
    return ash_service_restart(ctx->env, s, err);
}

const struct ash_action_kind ash_action_restart = {
    .c = {.name = "restart",
          .summary = "restart a service or a container and wait until it is back",
          .fields = restart_fields,
          .conf_size = sizeof(struct restart_conf),
          .validate = restart_validate,
          .shorthand = "service"},
    .run = restart_run,
    .on_loop = true, /* a service restarted waits for its ready check on the loop */
};
