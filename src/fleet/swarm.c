/* The fleet's agents as a Swarm global service, the run's key as a Swarm secret (swarm.h). */
#include "fleet/swarm.h"
#include "env/docker.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ash_swarm {
    struct ash_docker *d;
    struct ash_journal *j;
    char host[200];
    char service[128], secret[128];
    char secret_id[128];
    uint64_t j_service, j_secret;
    bool made_service, made_secret; /* by this run: only those are removed */
};

/* The name inside the task: the key is mounted at /run/secrets/KEY_FILE. */
#define KEY_FILE "aftershock-fleet.key"
#define LABEL "org.aftershock.run"
/* The agent's --state-dir inside its task. */
static const char *state_in_task(const struct ash_swarm_opts *o)
{
    return o->state_dir ? "/aftershock-state" : "/host-run/aftershock";
}

static bool run_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int journal(struct ash_swarm *s, const char *op, const char *name, uint64_t *id, ash_error_t *err)
{
    if (!s->j)
        return 0;
    json_t *d = json_pack("{s:s, s:s}", "host", s->host, "name", name);
    if (!d)
        return ash_error(err, ENOMEM, "journal record");
    int r = ash_journal_append(s->j, op, d, id, err);
    json_decref(d);
    return r;
}

static void journal_done(struct ash_swarm *s, uint64_t *id)
{
    if (s->j && *id)
        ash_journal_done(s->j, *id, NULL);
    *id = 0;
}

/* DELETE /KIND/NAME; gone already counts as removed. */
static int remove_object(struct ash_docker *d, const char *kind, const char *name, ash_error_t *err)
{
    char path[300];
    snprintf(path, sizeof path, "/%s/%s", kind, name);
    ash_error_t e = {0};
    if (ash_docker_call(d, "DELETE", path, NULL, NULL, &e) == 0 || e.code == ENOENT)
        return 0;
    return ash_error(err, e.code, "cannot remove the swarm %s '%s' (remove it with `docker %s rm %s`): %s",
                     strcmp(kind, "services") == 0 ? "service" : "secret", name,
                     strcmp(kind, "services") == 0 ? "service" : "secret", name, e.msg);
}

static int create_secret(struct ash_swarm *s, const struct ash_swarm_opts *o, ash_error_t *err)
{
    unsigned char key[256];
    size_t klen = strlen(o->key_hex);
    if (klen > sizeof key)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "swarm deploy: the fleet key is too long to be one");
    memcpy(key, o->key_hex, klen);
    gnutls_datum_t in = {key, (unsigned)klen}, b64 = {0};
    int g = gnutls_base64_encode2(&in, &b64);
    memset(key, 0, sizeof key);
    if (g < 0)
        return ash_error(err, ENOMEM, "cannot encode the fleet key");
    json_t *body = json_pack("{s:s, s:{s:s}, s:s#}", "Name", s->secret, "Labels", LABEL, o->run_id, "Data",
                             (const char *)b64.data, (int)b64.size);
    gnutls_free(b64.data);
    if (!body)
        return ash_error(err, ENOMEM, "secret request");
    json_t *ans = NULL;
    int r = journal(s, "swarm.secret", s->secret, &s->j_secret, err);
    if (r == 0 && (r = ash_docker_call(s->d, "POST", "/secrets/create", body, &ans, err)) < 0) {
        ash_error_wrap(err, "cannot create the swarm secret '%s' (is %s a swarm manager?)", s->secret,
                       ash_docker_socket(s->d));
        journal_done(s, &s->j_secret);
    } else if (r == 0) {
        s->made_secret = true;
        const char *id = json_string_value(json_object_get(ans, "ID"));
        if (!id || strlen(id) >= sizeof s->secret_id)
            r = ash_error(err, EPROTO, "the engine created the secret '%s' but did not say its ID", s->secret);
        else
            snprintf(s->secret_id, sizeof s->secret_id, "%s", id);
    }
    json_decref(ans);
    json_decref(body);
    return r;
}

static json_t *mount(const char *src, const char *dst, bool ro)
{
    return json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", src, "Target", dst, "ReadOnly", ro);
}

/* What the agent needs in its task (docs/fleet.md, "What an agent can and cannot do inside a swarm task"). */
static json_t *service_spec(const struct ash_swarm *s, const struct ash_swarm_opts *o)
{
    json_t *args = json_pack("[s, s, s, s, s, s, s]", "agent", "--connect", o->connect, "--key-file",
                             "/run/secrets/" KEY_FILE, "--state-dir", state_in_task(o));
    if (args && o->lease) {
        json_array_append_new(args, json_string("--lease"));
        json_array_append_new(args, json_string(o->lease));
    }
    json_t *mounts = json_array();
    /* The journal on the node's disk, so recover (in the agent's image on the
     * node, docs/fleet.md) still finds it after the task is gone. A bind source
     * must exist: /run does everywhere. */
    json_array_append_new(mounts, o->state_dir ? mount(o->state_dir, state_in_task(o), false)
                                               : mount("/run", "/host-run", false));
    /* Read-write: a cgroup per host the agent builds (fleet.hosts), and the
     * task containers' cgroups it harms. */
    json_array_append_new(mounts, mount("/sys/fs/cgroup", "/sys/fs/cgroup", false));
    if (o->engine_socket)
        json_array_append_new(mounts, mount(o->engine_socket, o->engine_socket, false));
    json_t *env = json_array();
    /* Swarm expands templates in Env, Hostname and Mounts, not in Args: the agent
     * takes its node's name from AFTERSHOCK_NODE when --node is not given. */
    json_array_append_new(env, json_string("AFTERSHOCK_NODE={{.Node.Hostname}}"));
    if (o->engine_socket) {
        char h[300];
        snprintf(h, sizeof h, "DOCKER_HOST=unix://%s", o->engine_socket);
        json_array_append_new(env, json_string(h));
    }
    json_t *spec = json_pack(
        "{s:s, s:{s:s}, s:{s:{s:s, s:[s], s:o, s:o, s:o, s:[{s:{s:s, s:s, s:s, s:i}, s:s, s:s}], s:[s, s, s, s]},"
        " s:{s:s}, s:[{s:s}]}, s:{s:{}}}",
        "Name", s->service, "Labels", LABEL, o->run_id, "TaskTemplate", "ContainerSpec", "Image", o->image, "Command",
        o->exe ? o->exe : "/usr/bin/aftershock", "Args", args, "Env", env, "Mounts", mounts, "Secrets", "File", "Name",
        KEY_FILE, "UID", "0", "GID", "0", "Mode", 0400, "SecretID", s->secret_id, "SecretName", s->secret,
        /* Docker 20.10 (API 1.41) grants capabilities to service tasks; a task
         * cannot be privileged nor share the host's PID namespace. These four
         * are also all that hosts on nodes need (docs/fleet.md, "Hosts on nodes
         * from a swarm agent"): SYS_ADMIN for the hosts' namespaces and the
         * mounts naming them in the task's /run/netns; NET_ADMIN for veths, the
         * bridge, the VXLAN and nftables; KILL for their services. */
        "CapabilityAdd", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE",
        /* One agent per node per run: an agent that left (its lease lapsed) must
         * not come back to a run that is over. */
        "RestartPolicy", "Condition", "none",
        /* The node's own network: the agent reaches the coordinator as the node does
         * (overlay networks need the engine's iptables rules), and the bridge and
         * VXLAN of the hosts it builds are the node's. */
        "Networks", "Target", "host", "Mode", "Global");
    return spec;
}

int ash_swarm_deploy(const struct ash_swarm_opts *o, struct ash_swarm **out, ash_error_t *err)
{
    *out = NULL;
    if (!o->run_id || !run_id_ok(o->run_id))
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL,
                               "swarm deploy: run id '%s' must be 1-63 letters, digits, '-' or '_'",
                               o->run_id ? o->run_id : "");
    if (!o->image || !*o->image || !o->connect || !*o->connect || !o->key_hex || !*o->key_hex)
        return ash_error_class(err, ASH_ERR_USAGE, EINVAL,
                               "swarm deploy: an image, a coordinator address and a key are needed");
    struct ash_swarm *s = calloc(1, sizeof *s);
    if (!s)
        return ash_error(err, ENOMEM, "swarm deploy");
    s->j = o->journal;
    snprintf(s->service, sizeof s->service, "aftershock-agent-%s", o->run_id);
    snprintf(s->secret, sizeof s->secret, "aftershock-key-%s", o->run_id);
    if (ash_docker_open(o->docker_host, &s->d, err) < 0) {
        free(s);
        return -1;
    }
    snprintf(s->host, sizeof s->host, "unix://%s", ash_docker_socket(s->d));
    json_t *spec = NULL;
    if (create_secret(s, o, err) < 0)
        goto fail;
    if (!(spec = service_spec(s, o))) {
        ash_error(err, ENOMEM, "service request");
        goto fail;
    }
    if (journal(s, "swarm.service", s->service, &s->j_service, err) < 0)
        goto fail;
    if (ash_docker_call(s->d, "POST", "/services/create", spec, NULL, err) < 0) {
        ash_error_wrap(err, "cannot create the swarm service '%s'", s->service);
        journal_done(s, &s->j_service);
        goto fail;
    }
    s->made_service = true;
    json_decref(spec);
    *out = s;
    return 0;
fail:
    json_decref(spec);
    ash_swarm_remove(s, NULL);
    return -1;
}

const char *ash_swarm_service(const struct ash_swarm *s)
{
    return s->service;
}

const char *ash_swarm_secret(const struct ash_swarm *s)
{
    return s->secret;
}

static bool str_is(const json_t *j, const char *s)
{
    const char *v = json_string_value(j);
    return v && strcmp(v, s) == 0;
}

int ash_swarm_nodes(struct ash_swarm *s, json_t **out, ash_error_t *err)
{
    json_t *nodes = NULL;
    *out = NULL;
    if (ash_docker_call(s->d, "GET", "/nodes", NULL, &nodes, err) < 0)
        return ash_error_wrap(err, "cannot list the swarm's nodes");
    json_t *names = json_array(), *n;
    size_t i;
    json_array_foreach(nodes, i, n)
    {
        json_t *st = json_object_get(n, "Status"), *sp = json_object_get(n, "Spec");
        const char *host = json_string_value(json_object_get(json_object_get(n, "Description"), "Hostname"));
        if (host && str_is(json_object_get(st, "State"), "ready") &&
            str_is(json_object_get(sp, "Availability"), "active"))
            json_array_append_new(names, json_string(host));
    }
    json_decref(nodes);
    *out = names;
    return 0;
}

/* The service's tasks (*out: the caller's). */
static int list_tasks(struct ash_swarm *s, json_t **out, ash_error_t *err)
{
    char filter[300], path[600];
    snprintf(filter, sizeof filter, "{\"service\":[\"%s\"]}", s->service);
    char *q = ash_docker_escape(s->d, filter);
    if (!q)
        return ash_error(err, ENOMEM, "task query");
    snprintf(path, sizeof path, "/tasks?filters=%s", q);
    free(q);
    if (ash_docker_call(s->d, "GET", path, NULL, out, err) < 0)
        return ash_error_wrap(err, "cannot list the tasks of '%s'", s->service);
    return 0;
}

int ash_swarm_task_states(struct ash_swarm *s, char *msg, size_t len, ash_error_t *err)
{
    json_t *tasks = NULL, *nodes = NULL, *t, *n;
    msg[0] = '\0';
    if (list_tasks(s, &tasks, err) < 0)
        return -1;
    if (ash_docker_call(s->d, "GET", "/nodes", NULL, &nodes, err) < 0) {
        json_decref(tasks);
        return ash_error_wrap(err, "cannot list the swarm's nodes");
    }
    size_t i, k;
    json_array_foreach(tasks, i, t)
    {
        json_t *st = json_object_get(t, "Status");
        const char *id = json_string_value(json_object_get(t, "NodeID"));
        const char *host = id;
        json_array_foreach(nodes, k, n) if (id && str_is(json_object_get(n, "ID"), id)) host =
            json_string_value(json_object_get(json_object_get(n, "Description"), "Hostname"));
        const char *state = json_string_value(json_object_get(st, "State"));
        const char *why = json_string_value(json_object_get(st, "Err"));
        if (!why)
            why = json_string_value(json_object_get(st, "Message"));
        size_t at = strlen(msg);
        snprintf(msg + at, len - at, "%s%s: %s%s%s%s", at ? "; " : "", host ? host : "(no node yet)",
                 state ? state : "?", why && *why ? " (" : "", why && *why ? why : "", why && *why ? ")" : "");
    }
    if (!msg[0])
        snprintf(msg, len, "the service has no tasks");
    json_decref(tasks);
    json_decref(nodes);
    return 0;
}

int ash_swarm_failed_task(struct ash_swarm *s, char *msg, size_t len, ash_error_t *err)
{
    json_t *tasks = NULL, *t;
    if (list_tasks(s, &tasks, err) < 0)
        return -1;
    size_t i;
    int found = 0;
    json_array_foreach(tasks, i, t)
    {
        json_t *st = json_object_get(t, "Status");
        const char *state = json_string_value(json_object_get(st, "State"));
        static const char *const bad[] = {"failed", "rejected", "complete", "shutdown", "orphaned", NULL};
        for (size_t k = 0; state && bad[k] && !found; k++)
            if (strcmp(state, bad[k]) == 0) {
                const char *e = json_string_value(json_object_get(st, "Err"));
                const char *node = json_string_value(json_object_get(t, "NodeID"));
                if (!e)
                    e = json_string_value(json_object_get(st, "Message"));
                /* The node by its hostname, as the agents and the user name it. */
                json_t *nj = NULL;
                char np[200];
                snprintf(np, sizeof np, "/nodes/%s", node ? node : "");
                const char *host = NULL;
                if (node && ash_docker_call(s->d, "GET", np, NULL, &nj, NULL) == 0)
                    host = json_string_value(json_object_get(json_object_get(nj, "Description"), "Hostname"));
                snprintf(msg, len, "the task on node %s is %s: %s", host ? host : node ? node : "?", state, e ? e : "");
                json_decref(nj);
                found = 1;
            }
    }
    json_decref(tasks);
    return found;
}

int ash_swarm_remove(struct ash_swarm *s, ash_error_t *err)
{
    if (!s)
        return 0;
    int ret = 0;
    /* The service first: a secret a service still names cannot be removed. */
    if (s->made_service) {
        if (remove_object(s->d, "services", s->service, err) < 0)
            ret = -1;
        else
            journal_done(s, &s->j_service);
    }
    if (ret == 0 && s->made_secret) {
        if (remove_object(s->d, "secrets", s->secret, err) < 0)
            ret = -1;
        else
            journal_done(s, &s->j_secret);
    }
    ash_docker_close(s->d);
    free(s);
    return ret;
}

static int undo(json_t *rec, const char *kind, ash_error_t *err)
{
    const char *host = json_string_value(json_object_get(rec, "host"));
    const char *name = json_string_value(json_object_get(rec, "name"));
    if (!host || !name || strncmp(name, "aftershock-", 11) != 0)
        return ash_error(err, EINVAL, "swarm record without an engine and an aftershock object name: not removing it");
    struct ash_docker *d;
    if (ash_docker_open(host, &d, err) < 0)
        return -1;
    int r = remove_object(d, kind, name, err);
    ash_docker_close(d);
    return r;
}

static int undo_service(json_t *rec, ash_error_t *err)
{
    return undo(rec, "services", err);
}

static int undo_secret(json_t *rec, ash_error_t *err)
{
    return undo(rec, "secrets", err);
}

const struct ash_undo_op ash_swarm_undo_ops[] = {
    {"swarm.service", undo_service, false, "removed Swarm service {name} (manager {host})"},
    {"swarm.secret", undo_secret, false, "removed Swarm secret {name} (manager {host})"},
    {NULL, NULL, false, NULL}};
