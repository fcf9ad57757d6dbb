/* fleet.engine kubernetes: the agents as a DaemonSet, the run's key as a Secret
 * (fleet/kube.c does the API calls; deploy.h). */
#include "fleet/deploy.h"
#include "fleet/kube.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kube_deploy {
    struct ash_kube *k;
    struct ash_kube_agents a; /* points into the buffers below */
    char ns[254], run[64], connect[400];
    const struct ash_fleet_spec *fl;
};

static int deploy(const struct ash_fleet_deploy_opts *o, void **state, ash_error_t *err)
{
    const struct ash_fleet_spec *fl = o->fl;
    struct kube_deploy *d = calloc(1, sizeof *d);
    if (!d)
        return ash_error(err, ENOMEM, "kubernetes deploy");
    d->fl = fl;
    if (ash_kube_open(fl->kubeconfig, &d->k, err) < 0) {
        free(d);
        err->klass = ASH_ERR_ENVIRONMENT;
        return -1;
    }
    snprintf(d->ns, sizeof d->ns, "%s", fl->k8s_namespace ? fl->k8s_namespace : ash_kube_namespace(d->k));
    snprintf(d->run, sizeof d->run, "%s", o->run_id);
    snprintf(d->connect, sizeof d->connect, "%s", o->connect);
    d->a = (struct ash_kube_agents){.ns = d->ns,
                                    .run = d->run,
                                    .image = fl->image,
                                    .connect = d->connect,
                                    .key_hex = o->key_hex,
                                    .lease_ns = fl->lease_ns};
    /* On failure part may exist (the Secret without the DaemonSet): remove what is there. */
    if (ash_kube_deploy_agents(d->k, &d->a, o->journal, err) < 0) {
        err->klass = ASH_ERR_ENVIRONMENT;
        ash_kube_remove_agents(d->k, &d->a, NULL);
        ash_kube_close(d->k);
        free(d);
        return -1;
    }
    d->a.key_hex = NULL; /* the caller's, and only the Secret needed it */
    *state = d;
    return 0;
}

static int failed(void *state, char *msg, size_t len, ash_error_t *err)
{
    struct kube_deploy *d = state;
    char missing[1024];
    size_t n_missing;
    bool fatal;
    if (ash_kube_agents_state(d->k, &d->a, (const char *const *)d->fl->nodes.v, d->fl->nodes.n, missing, sizeof missing,
                              &n_missing, &fatal, err) < 0)
        return -1;
    if (!fatal)
        return 0;
    snprintf(msg, len, "DaemonSet %s/aftershock-agent-%s: %s", d->ns, d->run, missing);
    return 1;
}

static void describe(void *state, char *msg, size_t len)
{
    struct kube_deploy *d = state;
    snprintf(msg, len, "DaemonSet %s/aftershock-agent-%s, Secret %s/aftershock-key-%s", d->ns, d->run, d->ns, d->run);
}

static void states(void *state, char *msg, size_t len)
{
    struct kube_deploy *d = state;
    size_t n_missing;
    bool fatal;
    ash_error_t e = {0};
    if (ash_kube_agents_state(d->k, &d->a, (const char *const *)d->fl->nodes.v, d->fl->nodes.n, msg, len, &n_missing,
                              &fatal, &e) < 0)
        snprintf(msg, len, "the agents' pods are unknown (%s)", e.msg);
    else if (n_missing == 0)
        snprintf(msg, len, "every pod Ready (so the agents cannot reach the coordinator: its Service, connect?)");
}

static int remove_(void *state, ash_error_t *err)
{
    struct kube_deploy *d = state;
    if (!d)
        return 0;
    int r = ash_kube_remove_agents(d->k, &d->a, err);
    if (r < 0)
        ash_error_wrap(err,
                       "cannot delete the agents' DaemonSet and Secret in %s (kubectl -n %s delete daemonset "
                       "aftershock-agent-%s; kubectl -n %s delete secret aftershock-key-%s)",
                       d->ns, d->ns, d->run, d->ns, d->run);
    ash_kube_close(d->k);
    free(d);
    return r;
}

const struct ash_fleet_deployer ash_fleet_deploy_kube = {.engine = "kubernetes",
                                                         .deploy = deploy,
                                                         .failed = failed,
                                                         .describe = describe,
                                                         .states = states,
                                                         .remove = remove_};
