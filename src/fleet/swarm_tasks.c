/* Where a Swarm service's tasks run (swarm_tasks.h). */
#include "fleet/swarm_tasks.h"
#include "env/docker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_at(const json_t *j, const char *a, const char *b)
{
    const json_t *v = json_object_get(j, a);
    return json_string_value(b ? json_object_get(v, b) : v);
}

/* No such service: say which ones the manager has, so a typo is plain. */
static int no_service(struct ash_docker *d, const char *service, ash_error_t *err)
{
    json_t *all = NULL, *s;
    size_t i;
    char names[600] = "";
    ash_error_t e = {0};
    if (ash_docker_call(d, "GET", "/services", NULL, &all, &e) == 0)
        json_array_foreach(all, i, s)
        {
            size_t at = strlen(names);
            const char *name = str_at(s, "Spec", "Name");
            if (name && at + strlen(name) + 3 < sizeof names)
                snprintf(names + at, sizeof names - at, "%s%s", at ? ", " : "", name);
        }
    json_decref(all);
    ash_error_class(err, ASH_ERR_ENVIRONMENT, 0,
                    "the swarm (manager %s) has no service '%s'; its services: %s; nothing was harmed",
                    ash_docker_socket(d), service, names[0] ? names : "none");
    err->code = ENOENT;
    return -1;
}

static int by_slot(const void *a, const void *b)
{
    const struct ash_swarm_task *x = a, *y = b;
    return x->slot != y->slot ? (x->slot > y->slot) - (x->slot < y->slot) : strcmp(x->node, y->node);
}

/* Each task's node id to its hostname, from /nodes. */
static void node_names(json_t *nodes, struct ash_swarm_task *t, const char *node_id)
{
    json_t *n;
    size_t i;
    snprintf(t->node, sizeof t->node, "(node %.12s)", node_id ? node_id : "?");
    json_array_foreach(nodes, i, n) if (node_id &&
                                        strcmp(str_at(n, "ID", NULL) ? str_at(n, "ID", NULL) : "", node_id) == 0 &&
                                        str_at(n, "Description", "Hostname"))
        snprintf(t->node, sizeof t->node, "%s", str_at(n, "Description", "Hostname"));
}

int ash_swarm_service_tasks(const char *docker_host, const char *service, struct ash_swarm_task **out, size_t *n,
                            ash_error_t *err)
{
    struct ash_docker *d = NULL;
    json_t *svc = NULL, *tasks = NULL, *nodes = NULL;
    char filter[400], path[800];
    char *q = NULL;
    int rc = -1;
    *out = NULL;
    *n = 0;
    if (ash_docker_open(docker_host, &d, err) < 0)
        return ash_error_wrap(err, "swarm service '%s': the manager's engine", service);
    snprintf(path, sizeof path, "/services/%s", service); /* a checked name: no '/', '?' or '%' */
    if (ash_docker_call(d, "GET", path, NULL, &svc, err) < 0) {
        if (err->code == ENOENT)
            no_service(d, service, err);
        else
            ash_error_wrap(err, "swarm service '%s'", service);
        goto cleanup;
    }
    /* By the service's id: a name filter also matches names it is a prefix of. */
    snprintf(filter, sizeof filter, "{\"service\":[\"%s\"],\"desired-state\":[\"running\"]}",
             str_at(svc, "ID", NULL) ? str_at(svc, "ID", NULL) : service);
    if (!(q = ash_docker_escape(d, filter))) {
        ash_error(err, ENOMEM, "task query");
        goto cleanup;
    }
    snprintf(path, sizeof path, "/tasks?filters=%s", q);
    if (ash_docker_call(d, "GET", path, NULL, &tasks, err) < 0 ||
        ash_docker_call(d, "GET", "/nodes", NULL, &nodes, err) < 0) {
        ash_error_wrap(err, "cannot list where swarm service '%s' runs", service);
        goto cleanup;
    }
    size_t len = json_array_size(tasks);
    struct ash_swarm_task *v = calloc(len ? len : 1, sizeof *v);
    if (!v) {
        ash_error(err, ENOMEM, "tasks");
        goto cleanup;
    }
    json_t *t;
    size_t i;
    json_array_foreach(tasks, i, t)
    {
        struct ash_swarm_task *x = &v[i];
        snprintf(x->id, sizeof x->id, "%s", str_at(t, "ID", NULL) ? str_at(t, "ID", NULL) : "?");
        snprintf(x->state, sizeof x->state, "%s", str_at(t, "Status", "State") ? str_at(t, "Status", "State") : "?");
        const char *cid = json_string_value(
            json_object_get(json_object_get(json_object_get(t, "Status"), "ContainerStatus"), "ContainerID"));
        snprintf(x->container, sizeof x->container, "%s", cid ? cid : "");
        x->slot = (long)json_integer_value(json_object_get(t, "Slot"));
        node_names(nodes, x, str_at(t, "NodeID", NULL));
    }
    qsort(v, len, sizeof *v, by_slot);
    *out = v;
    *n = len;
    rc = 0;
cleanup:
    free(q);
    json_decref(svc);
    json_decref(tasks);
    json_decref(nodes);
    ash_docker_close(d);
    return rc;
}
