/* fleet.engine swarm: the agents as a Docker Swarm global service, the run's key as a
 * Swarm secret (fleet/swarm.c does the Engine API calls; deploy.h). */
#include "fleet/deploy.h"
#include "fleet/swarm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Every node the scenario expects must be one the global service runs on: a name
 * that is not is said at once, rather than after fleet.wait. */
static int check_nodes(struct ash_swarm *s, const struct ash_fleet_spec *fl, ash_error_t *err)
{
    json_t *names = NULL;
    if (ash_swarm_nodes(s, &names, err) < 0)
        return -1;
    char missing[512] = "", have[512] = "";
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        size_t at = strlen(have);
        snprintf(have + at, sizeof have - at, "%s%s", at ? ", " : "", json_string_value(n));
    }
    for (size_t k = 0; k < fl->nodes.n; k++) {
        bool found = false;
        json_array_foreach(names, i, n) found |= strcmp(json_string_value(n), fl->nodes.v[k]) == 0;
        size_t at = strlen(missing);
        if (!found)
            snprintf(missing + at, sizeof missing - at, "%s%s", at ? ", " : "", fl->nodes.v[k]);
    }
    json_decref(names);
    if (missing[0])
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOENT,
                               "fleet.nodes names %s, not a Ready and Active node of the swarm (its nodes by "
                               "hostname: %s); nothing was harmed",
                               missing, have[0] ? have : "none");
    return 0;
}

static int deploy(const struct ash_fleet_deploy_opts *o, void **state, ash_error_t *err)
{
    const struct ash_fleet_spec *fl = o->fl;
    char lease[32];
    snprintf(lease, sizeof lease, "%lldms", (long long)(fl->lease_ns / 1000000));
    struct ash_swarm_opts so = {.docker_host = fl->docker_host,
                                .run_id = o->run_id,
                                .image = fl->image,
                                .exe = fl->agent_exe,
                                .connect = o->connect,
                                .key_hex = o->key_hex,
                                .lease = lease,
                                .engine_socket = fl->engine_socket,
                                .state_dir = fl->state_dir,
                                .journal = o->journal};
    struct ash_swarm *s;
    if (ash_swarm_deploy(&so, &s, err) < 0) {
        if (err->klass != ASH_ERR_USAGE)
            err->klass = ASH_ERR_ENVIRONMENT;
        return -1;
    }
    if (check_nodes(s, fl, err) < 0) {
        ash_swarm_remove(s, NULL);
        return -1;
    }
    *state = s;
    return 0;
}

static int failed(void *state, char *msg, size_t len, ash_error_t *err)
{
    struct ash_swarm *s = state;
    char why[1024];
    int f = ash_swarm_failed_task(s, why, sizeof why, err);
    if (f > 0)
        snprintf(msg, len, "swarm service %s: %s", ash_swarm_service(s), why);
    return f;
}

static void describe(void *state, char *msg, size_t len)
{
    snprintf(msg, len, "service %s, secret %s", ash_swarm_service(state), ash_swarm_secret(state));
}

static void states(void *state, char *msg, size_t len)
{
    struct ash_swarm *s = state;
    ash_error_t e = {0};
    if (ash_swarm_task_states(s, msg, len, &e) < 0)
        snprintf(msg, len, "the tasks' states are unknown (%s)", e.msg);
}

static int remove_(void *state, ash_error_t *err)
{
    return ash_swarm_remove(state, err);
}

const struct ash_fleet_deployer ash_fleet_deploy_swarm = {
    .engine = "swarm", .deploy = deploy, .failed = failed, .describe = describe, .states = states, .remove = remove_};
