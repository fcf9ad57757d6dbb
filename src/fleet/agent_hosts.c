/* The hosts an agent builds for fleet.hosts (agent_hosts.h). */
#include "fleet/agent_hosts.h"
#include "engine/ready.h"
#include "env/env.h"
#include "env/sandbox_overlay.h"
#include "sys/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ash_agent_hosts {
    struct ash_sandbox *sb;
    struct ash_overlay *ov;
    struct ash_env *env; /* the services of those hosts */
    char id[16];
    char run_dir[4096]; /* made for the generated files if it was not there: removed when empty */
};

int ash_agent_hosts_build(const struct ash_agent_hosts_opts *o, struct ash_agent_hosts **out, ash_error_t *err)
{
    struct ash_agent_hosts *h = calloc(1, sizeof *h);
    if (!h)
        return ash_error(err, ENOMEM, "hosts");
    char *id = h->id;
    ash_hosts_sandbox_id(o->run_id, o->node, h->id, sizeof h->id);
    snprintf(h->run_dir, sizeof h->run_dir, "%s", o->run_dir);
    struct ash_sandbox_part part = {.node = o->node, .subnet = o->msg->subnet};
    if (ash_mkdir_p(o->run_dir, 0755, err) < 0 ||
        ash_sandbox_create_part(o->sc, id, o->run_dir, o->journal, &part, &h->sb, err) < 0) {
        ash_error_wrap(err, "node %s cannot build its hosts", o->node);
        goto fail;
    }
    struct ash_overlay_hub where = ash_sandbox_overlay_hub(h->sb);
    if (ash_overlay_create(id, &where, o->msg->vni, o->local, o->msg->peers, o->msg->n_peers, o->journal, &h->ov, err) <
        0) {
        ash_error_wrap(err, "node %s cannot join its hosts to the others", o->node);
        goto fail;
    }
    /* Their services, tagged with this node's sandbox id (not the run's: the run's
     * machine kills what carries its own id at the end, and a test's nodes share it). */
    struct ash_env_opts eo = {.loop = o->loop,
                              .sandbox = h->sb,
                              .journal = o->journal,
                              .scenario = o->sc,
                              .run_id = id,
                              .run_dir = o->run_dir,
                              .node = o->node,
                              .hooks = {.event = o->event,
                                        .arg = o->event_arg,
                                        /* the same ready checks as a local run, inside the host */
                                        .ready = ash_engine_ready_check,
                                        .ready_arg = o->ctx}};
    if (ash_env_new(&eo, &h->env, err) < 0) {
        ash_error_wrap(err, "node %s cannot prepare its hosts' services", o->node);
        goto fail;
    }
    *out = h;
    return 0;
fail:
    ash_agent_hosts_free(h);
    return -1;
}

int ash_agent_hosts_start(struct ash_agent_hosts *h, const char *node, ash_error_t *err)
{
    if (ash_env_start(h->env, err) < 0)
        return ash_error_wrap(err, "node %s cannot start its hosts' services", node);
    return 0;
}

struct ash_sandbox *ash_agent_hosts_sandbox(struct ash_agent_hosts *h)
{
    return h ? h->sb : NULL;
}

struct ash_env *ash_agent_hosts_env(struct ash_agent_hosts *h)
{
    return h ? h->env : NULL;
}

void ash_agent_hosts_free(struct ash_agent_hosts *h)
{
    if (!h)
        return;
    ash_env_stop(h->env);
    ash_env_free(h->env);
    ash_overlay_destroy(h->ov);
    ash_sandbox_destroy(h->sb);
    rmdir(h->run_dir); /* only when empty: an exec fault's output stays */
    free(h);
}
