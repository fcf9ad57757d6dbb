/* The coordinator's Kubernetes API client: connection (in-cluster or kubeconfig), one
 * call with the API's own error messages, and the agents' Secret + DaemonSet. */
#include "fleet/kube.h"
#include "sys/clock.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct ash_kube {
    CURL *curl;
    char server[512]; /* https://HOST:PORT, no trailing '/' */
    char *token;      /* a bearer token, or NULL */
    char ns[254];
    long status;
    /* What recover needs to reach the same server again. */
    char kubeconfig[4096];
    char sa_dir[4096];
    /* certificate-authority-data / client-*-data, decoded (curl's blobs point here). */
    gnutls_datum_t ca, cert, key;
    char ca_file[4096], cert_file[4096], key_file[4096];
    /* The records of what this run created, marked done when removed. */
    struct ash_journal *j;
    uint64_t rec_ds, rec_secret;
};

/* ---- small helpers ---- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t r;
    while (m && (r = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, r, m);
    fclose(f);
    if (m)
        fclose(m);
    while (buf && len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    return buf;
}

static int b64(const char *text, gnutls_datum_t *out, const char *what, ash_error_t *err)
{
    /* gnutls takes a non-const datum it does not write to: a copy keeps the const. */
    char *copy = strdup(text);
    if (!copy)
        return ash_error(err, ENOMEM, "kubeconfig");
    gnutls_datum_t in = {(unsigned char *)copy, (unsigned)strlen(copy)};
    int r = gnutls_base64_decode2(&in, out);
    free(copy);
    if (r < 0)
        return ash_error(err, EINVAL, "kubeconfig: %s is not base64", what);
    return 0;
}

/* ---- the kubeconfig: its current context, through libyaml's document API ---- */

static yaml_node_t *ymap(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static const char *ystr(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    yaml_node_t *v = ymap(d, m, key);
    return v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
}

/* The entry of a named list (clusters:, users:, contexts:) whose name is name: its inner mapping. */
static yaml_node_t *ynamed(yaml_document_t *d, yaml_node_t *root, const char *list, const char *inner, const char *name)
{
    yaml_node_t *l = ymap(d, root, list);
    if (!l || l->type != YAML_SEQUENCE_NODE || !name)
        return NULL;
    for (yaml_node_item_t *i = l->data.sequence.items.start; i < l->data.sequence.items.top; i++) {
        yaml_node_t *e = yaml_document_get_node(d, *i);
        const char *n = ystr(d, e, "name");
        if (n && strcmp(n, name) == 0)
            return ymap(d, e, inner);
    }
    return NULL;
}

static int load_kubeconfig(struct ash_kube *k, const char *path, ash_error_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, errno, "cannot open kubeconfig %s", path);
    yaml_parser_t p;
    yaml_document_t d;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int ret = 0;
    if (!yaml_parser_load(&p, &d)) {
        ret = ash_error(err, EINVAL, "kubeconfig %s: line %zu: %s", path, p.problem_mark.line + 1,
                        p.problem ? p.problem : "not YAML");
        yaml_parser_delete(&p);
        fclose(f);
        return ret;
    }
    yaml_node_t *root = yaml_document_get_root_node(&d);
    const char *cur = ystr(&d, root, "current-context");
    yaml_node_t *ctx = ynamed(&d, root, "contexts", "context", cur);
    yaml_node_t *cl = ynamed(&d, root, "clusters", "cluster", ystr(&d, ctx, "cluster"));
    yaml_node_t *user = ynamed(&d, root, "users", "user", ystr(&d, ctx, "user"));
    const char *server = ystr(&d, cl, "server");
    if (!ctx || !cl || !server) {
        ret = ash_error(err, EINVAL,
                        "kubeconfig %s: no current-context with a cluster and its server (kubectl "
                        "config current-context)",
                        path);
        goto out;
    }
    snprintf(k->server, sizeof k->server, "%s", server);
    const char *ns = ystr(&d, ctx, "namespace");
    if (ns)
        snprintf(k->ns, sizeof k->ns, "%s", ns);
    const char *v;
    if ((v = ystr(&d, cl, "certificate-authority")))
        snprintf(k->ca_file, sizeof k->ca_file, "%s", v);
    if ((v = ystr(&d, cl, "certificate-authority-data")) && (ret = b64(v, &k->ca, "certificate-authority-data", err)))
        goto out;
    if ((v = ystr(&d, user, "token")) && !(k->token = strdup(v))) {
        ret = ash_error(err, ENOMEM, "kubeconfig");
        goto out;
    }
    if (!k->token && (v = ystr(&d, user, "tokenFile")) && !(k->token = read_text(v))) {
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, errno, "kubeconfig %s: cannot read tokenFile %s", path, v);
        goto out;
    }
    if ((v = ystr(&d, user, "client-certificate")))
        snprintf(k->cert_file, sizeof k->cert_file, "%s", v);
    if ((v = ystr(&d, user, "client-key")))
        snprintf(k->key_file, sizeof k->key_file, "%s", v);
    if ((v = ystr(&d, user, "client-certificate-data")) && (ret = b64(v, &k->cert, "client-certificate-data", err)))
        goto out;
    if ((v = ystr(&d, user, "client-key-data")) && (ret = b64(v, &k->key, "client-key-data", err)))
        goto out;
    if (ymap(&d, user, "exec") || ymap(&d, user, "auth-provider"))
        ret = ash_error(err, ENOTSUP,
                        "kubeconfig %s: the user '%s' authenticates through an exec plugin or auth-provider, which "
                        "aftershock does not run; use a token (a ServiceAccount's) or a client certificate",
                        path, ystr(&d, ctx, "user"));
out:
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    fclose(f);
    return ret;
}

/* ---- opening ---- */

static int setup_curl(struct ash_kube *k, ash_error_t *err)
{
    size_t l = strlen(k->server);
    while (l && k->server[l - 1] == '/')
        k->server[--l] = '\0';
    if (!k->ns[0])
        snprintf(k->ns, sizeof k->ns, "default");
    if (!(k->curl = curl_easy_init()))
        return ash_error(err, ENOMEM, "kubernetes: curl");
    if (k->ca_file[0])
        curl_easy_setopt(k->curl, CURLOPT_CAINFO, k->ca_file);
    if (k->ca.data) {
        struct curl_blob blob = {k->ca.data, k->ca.size, CURL_BLOB_NOCOPY};
        curl_easy_setopt(k->curl, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (k->cert_file[0])
        curl_easy_setopt(k->curl, CURLOPT_SSLCERT, k->cert_file);
    if (k->key_file[0])
        curl_easy_setopt(k->curl, CURLOPT_SSLKEY, k->key_file);
    if (k->cert.data) {
        struct curl_blob blob = {k->cert.data, k->cert.size, CURL_BLOB_NOCOPY};
        curl_easy_setopt(k->curl, CURLOPT_SSLCERT_BLOB, &blob);
    }
    if (k->key.data) {
        struct curl_blob blob = {k->key.data, k->key.size, CURL_BLOB_NOCOPY};
        curl_easy_setopt(k->curl, CURLOPT_SSLKEY_BLOB, &blob);
    }
    curl_easy_setopt(k->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(k->curl, CURLOPT_PROTOCOLS_STR, "https,http");
    return 0;
}

int ash_kube_open(const char *kubeconfig, struct ash_kube **out, ash_error_t *err)
{
    *out = NULL;
    if (!kubeconfig) {
        const char *h = getenv("KUBERNETES_SERVICE_HOST"), *p = getenv("KUBERNETES_SERVICE_PORT");
        if (!h || !*h)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOENT,
                                   "kubernetes: not in a pod (no KUBERNETES_SERVICE_HOST): give a kubeconfig");
        char server[512];
        /* An IPv6 service address needs brackets in a URL. */
        snprintf(server, sizeof server, strchr(h, ':') ? "https://[%s]:%s" : "https://%s:%s", h, p && *p ? p : "443");
        return ash_kube_open_incluster(SA_DIR, server, out, err);
    }
    struct ash_kube *k = calloc(1, sizeof *k);
    if (!k)
        return ash_error(err, ENOMEM, "kubernetes");
    snprintf(k->kubeconfig, sizeof k->kubeconfig, "%s", kubeconfig);
    if (load_kubeconfig(k, kubeconfig, err) < 0 || setup_curl(k, err) < 0) {
        ash_kube_close(k);
        return -1;
    }
    *out = k;
    return 0;
}

int ash_kube_open_incluster(const char *sa_dir, const char *server, struct ash_kube **out, ash_error_t *err)
{
    *out = NULL;
    struct ash_kube *k = calloc(1, sizeof *k);
    if (!k)
        return ash_error(err, ENOMEM, "kubernetes");
    snprintf(k->sa_dir, sizeof k->sa_dir, "%s", sa_dir);
    snprintf(k->server, sizeof k->server, "%s", server);
    char path[4200];
    snprintf(path, sizeof path, "%s/token", sa_dir);
    if (!(k->token = read_text(path))) {
        ash_error_class(err, ASH_ERR_ENVIRONMENT, errno,
                        "kubernetes: cannot read the service account token %s (is automountServiceAccountToken "
                        "off for the coordinator's pod?)",
                        path);
        ash_kube_close(k);
        return -1;
    }
    snprintf(k->ca_file, sizeof k->ca_file, "%s/ca.crt", sa_dir);
    snprintf(path, sizeof path, "%s/namespace", sa_dir);
    char *ns = read_text(path);
    if (ns)
        snprintf(k->ns, sizeof k->ns, "%s", ns);
    free(ns);
    if (setup_curl(k, err) < 0) {
        ash_kube_close(k);
        return -1;
    }
    *out = k;
    return 0;
}

void ash_kube_close(struct ash_kube *k)
{
    if (!k)
        return;
    if (k->curl)
        curl_easy_cleanup(k->curl);
    free(k->token);
    gnutls_free(k->ca.data);
    gnutls_free(k->cert.data);
    gnutls_free(k->key.data);
    free(k);
}

const char *ash_kube_namespace(const struct ash_kube *k)
{
    return k->ns;
}

long ash_kube_status(const struct ash_kube *k)
{
    return k->status;
}

/* ---- one call ---- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    return fwrite(p, size, n, arg);
}

int ash_kube_call(struct ash_kube *k, const char *method, const char *path, json_t *body, json_t **out,
                  ash_error_t *err)
{
    if (out)
        *out = NULL;
    k->status = 0;
    char url[4096];
    snprintf(url, sizeof url, "%s%s", k->server, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *resp = NULL;
    size_t resp_len = 0;
    FILE *m = open_memstream(&resp, &resp_len);
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    char auth[8192];
    if (k->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", k->token);
        h = curl_slist_append(h, auth);
    }
    h = curl_slist_append(h, "User-Agent: aftershock/" ASH_VERSION);
    int ret = 0;
    if (!m || !h || (body && !text)) {
        ret = ash_error(err, ENOMEM, "kubernetes: %s %s", method, path);
        goto out;
    }
    curl_easy_setopt(k->curl, CURLOPT_URL, url);
    curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(k->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    } else {
        curl_easy_setopt(k->curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(k->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, m);
    CURLcode rc = curl_easy_perform(k->curl);
    fclose(m);
    m = NULL;
    if (rc != CURLE_OK) {
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, ECONNREFUSED, "kubernetes: %s %s%s: %s", method, k->server,
                              path, curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &k->status);
    json_t *j = resp_len ? json_loadb(resp, resp_len, 0, NULL) : NULL;
    if (k->status < 200 || k->status > 299) {
        /* The API answers errors with a Status object: its message says what and who. */
        const char *msg = json_string_value(json_object_get(j, "message"));
        const char *hint = k->status == 403   ? " (RBAC: the coordinator's ServiceAccount needs the Role in "
                                                "deploy/kubernetes/rbac.yaml, bound in this namespace)"
                           : k->status == 401 ? " (the token was refused: expired, or not this cluster's)"
                                              : "";
        /* The API's message says it all: no strerror after it; the code for callers. */
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, 0, "kubernetes: %s %s: %ld %s%s", method, path, k->status,
                              msg ? msg : "(no message)", hint);
        if (err)
            err->code = k->status == 404 ? ENOENT : k->status == 409 ? EEXIST : EACCES;
        json_decref(j);
        goto out;
    }
    if (out)
        *out = j;
    else
        json_decref(j);
out:
    if (m)
        fclose(m);
    curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    free(resp);
    free(text);
    return ret;
}

/* ---- the agents ---- */

static void names(const struct ash_kube_agents *a, char *ds, size_t dl, char *sec, size_t sl)
{
    snprintf(ds, dl, "aftershock-agent-%s", a->run);
    snprintf(sec, sl, "aftershock-key-%s", a->run);
}

/* The DaemonSet: deploy/kubernetes/agent-daemonset.yaml in JSON, for one run. Keep the
 * two in step (tests/integration/kube_manifests.sh compares the privileges with what
 * tests/fixtures/kube/deploy.json checks this one has). */
static json_t *daemonset(const struct ash_kube_agents *a, const char *name, const char *secret)
{
    char lease[32];
    snprintf(lease, sizeof lease, "%lldms", (long long)(a->lease_ns / 1000000));
    json_t *labels =
        json_pack("{s:s, s:s}", "app.kubernetes.io/name", "aftershock-agent", "aftershock.dev/run", a->run);
    /* No hostPath for /proc: hostPID makes the container's /proc the host's. */
    json_t *hp = json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:i}}]",
                           "name", "cgroup", "hostPath", "path", "/sys/fs/cgroup", "type", "Directory", "name",
                           "containerd", "hostPath", "path", "/run/containerd", "type", "Directory", "name", "state",
                           "hostPath", "path", "/var/lib/aftershock", "type", "DirectoryOrCreate", "name", "key",
                           "secret", "secretName", secret, "defaultMode", 0400);
    json_t *mounts = json_pack("[{s:s, s:s}, {s:s, s:s, s:b}, {s:s, s:s}, {s:s, s:s, s:b}]", "name", "cgroup",
                               "mountPath", "/sys/fs/cgroup", "name", "containerd", "mountPath", "/run/containerd",
                               "readOnly", 1, "name", "state", "mountPath", "/var/lib/aftershock", "name", "key",
                               "mountPath", "/etc/aftershock/key", "readOnly", 1);
    /* The capabilities and why: deploy/kubernetes/agent-daemonset.yaml. */
    json_t *sc =
        json_pack("{s:b, s:b, s:i, s:{s:[s], s:[s,s,s,s]}}", "privileged", 0, "allowPrivilegeEscalation", 0,
                  "runAsUser", 0, "capabilities", "drop", "ALL", "add", "KILL", "SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN");
    json_t *args =
        json_pack("[s,s,s,s,s,s,s,s,s,s,s]", "agent", "--connect", a->connect, "--key-file", "/etc/aftershock/key/key",
                  "--node", "$(NODE_NAME)", "--lease", lease, "--state-dir", "/var/lib/aftershock");
    json_t *env = json_pack("[{s:s, s:{s:{s:s}}}, {s:s, s:s}]", "name", "NODE_NAME", "valueFrom", "fieldRef",
                            "fieldPath", "spec.nodeName", "name", "ASH_CONTAINERD_STATE", "value", "/run/containerd");
    json_t *ctr = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "name", "agent", "image", a->image, "args", args, "env",
                            env, "securityContext", sc, "volumeMounts", mounts);
    json_t *spec =
        json_pack("{s:b, s:b, s:s, s:b, s:[o], s:o, s:[{s:s}], s:i}", "hostPID", 1, "hostNetwork", 0,
                  "serviceAccountName", "aftershock-agent", "automountServiceAccountToken", 0, "containers", ctr,
                  "volumes", hp, "tolerations", "operator", "Exists", "terminationGracePeriodSeconds", 30);
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:O}, s:{s:{s:O}, s:{s:{s:o}, s:o}}}", "apiVersion", "apps/v1", "kind",
                     "DaemonSet", "metadata", "name", name, "namespace", a->ns, "labels", labels, "spec", "selector",
                     "matchLabels", labels, "template", "metadata", "labels", labels, "spec", spec);
}

static int journal_delete(struct ash_kube *k, struct ash_journal *j, const char *path, uint64_t *id, ash_error_t *err)
{
    if (!j)
        return 0;
    json_t *d = json_pack("{s:s?, s:s?, s:s, s:s}", "kubeconfig", k->kubeconfig[0] ? k->kubeconfig : NULL, "sa_dir",
                          k->sa_dir[0] ? k->sa_dir : NULL, "server", k->server, "path", path);
    if (!d)
        return ash_error(err, ENOMEM, "kubernetes: journal");
    int r = ash_journal_append(j, "kube.delete", d, id, err);
    json_decref(d);
    return r;
}

int ash_kube_deploy_agents(struct ash_kube *k, const struct ash_kube_agents *a, struct ash_journal *j, ash_error_t *err)
{
    char ds[300], sec[300], path[1024];
    names(a, ds, sizeof ds, sec, sizeof sec);
    k->j = j;
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", a->ns, sec);
    if (journal_delete(k, j, path, &k->rec_secret, err) < 0)
        return -1;
    json_t *s =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:s, s:{s:s}, s:b}", "apiVersion", "v1", "kind", "Secret",
                  "metadata", "name", sec, "namespace", a->ns, "labels", "app.kubernetes.io/name", "aftershock-agent",
                  "aftershock.dev/run", a->run, "type", "Opaque", "stringData", "key", a->key_hex, "immutable", 1);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets", a->ns);
    int r = s ? ash_kube_call(k, "POST", path, s, NULL, err) : ash_error(err, ENOMEM, "kubernetes");
    json_decref(s);
    if (r < 0)
        return ash_error_wrap(err, "cannot create the agents' key Secret %s", sec);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/daemonsets/%s", a->ns, ds);
    if (journal_delete(k, j, path, &k->rec_ds, err) < 0)
        return -1;
    json_t *d = daemonset(a, ds, sec);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/daemonsets", a->ns);
    r = d ? ash_kube_call(k, "POST", path, d, NULL, err) : ash_error(err, ENOMEM, "kubernetes");
    json_decref(d);
    if (r < 0)
        return ash_error_wrap(err, "cannot create the agents' DaemonSet %s", ds);
    return 0;
}

/* A pod's Ready condition, or why not: "Pending (ContainerCreating)". */
static bool pod_ready(json_t *pod, char *why, size_t len)
{
    json_t *st = json_object_get(pod, "status");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *status = json_string_value(json_object_get(c, "status"));
        if (type && status && strcmp(type, "Ready") == 0 && strcmp(status, "True") == 0)
            return true;
    }
    const char *reason = NULL;
    json_array_foreach(json_object_get(st, "containerStatuses"), i, c)
    {
        const char *r =
            json_string_value(json_object_get(json_object_get(json_object_get(c, "state"), "waiting"), "reason"));
        if (r)
            reason = r;
    }
    const char *phase = json_string_value(json_object_get(st, "phase"));
    snprintf(why, len, "%s%s%s%s", phase ? phase : "no status", reason ? " (" : "", reason ? reason : "",
             reason ? ")" : "");
    return false;
}

/* A waiting reason the kubelet does not get over by waiting: the pod will not start. */
static bool fatal_reason(const char *why)
{
    static const char *const fatal[] = {"ErrImagePull",
                                        "ImagePullBackOff",
                                        "InvalidImageName",
                                        "CrashLoopBackOff",
                                        "CreateContainerConfigError",
                                        "CreateContainerError",
                                        "(Failed",
                                        NULL};
    for (size_t i = 0; fatal[i]; i++)
        if (strstr(why, fatal[i]))
            return true;
    return strncmp(why, "Failed", 6) == 0;
}

int ash_kube_agents_state(struct ash_kube *k, const struct ash_kube_agents *a, const char *const *nodes, size_t n_nodes,
                          char *missing, size_t len, size_t *n_missing, bool *fatal, ash_error_t *err)
{
    char path[1024];
    snprintf(path, sizeof path,
             "/api/v1/namespaces/%s/pods?labelSelector=app.kubernetes.io%%2Fname%%3Daftershock-agent%%2C"
             "aftershock.dev%%2Frun%%3D%s",
             a->ns, a->run);
    json_t *list = NULL;
    if (ash_kube_call(k, "GET", path, NULL, &list, err) < 0)
        return ash_error_wrap(err, "cannot list the agents' pods");
    json_t *items = json_object_get(list, "items");
    size_t off = 0;
    *n_missing = 0;
    *fatal = false;
    missing[0] = '\0';
    size_t want = n_nodes ? n_nodes : json_array_size(items);
    for (size_t i = 0; i < want; i++) {
        const char *node = n_nodes ? nodes[i] : NULL;
        char why[200] = "no agent pod scheduled there";
        bool ok = false;
        size_t x;
        json_t *pod;
        json_array_foreach(items, x, pod)
        {
            const char *pn = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
            if (node ? (pn && strcmp(pn, node) == 0) : x == i) {
                if (!node)
                    node = pn ? pn : "(unscheduled)";
                ok = pod_ready(pod, why, sizeof why);
                *fatal |= !ok && fatal_reason(why);
                break;
            }
        }
        if (ok)
            continue;
        (*n_missing)++;
        int w = snprintf(missing + off, off < len ? len - off : 0, "%s%s: %s", off ? ", " : "", node ? node : "?", why);
        off += w > 0 ? (size_t)w : 0;
    }
    if (want == 0) {
        snprintf(missing, len, "no agent pod at all (kubectl describe daemonset)");
        *n_missing = 1;
    }
    json_decref(list);
    return 0;
}

int ash_kube_wait_agents(struct ash_kube *k, const struct ash_kube_agents *a, const char *const *nodes, size_t n_nodes,
                         int64_t timeout_ns, int64_t poll_ns, ash_error_t *err)
{
    char ds[300], sec[300];
    names(a, ds, sizeof ds, sec, sizeof sec);
    int64_t end = ash_now_ns() + timeout_ns;
    char missing[1024];
    for (;;) {
        size_t n_missing;
        bool fatal;
        if (ash_kube_agents_state(k, a, nodes, n_nodes, missing, sizeof missing, &n_missing, &fatal, err) < 0)
            return -1;
        if (n_missing == 0)
            return 0;
        if (ash_now_ns() >= end)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, ETIMEDOUT,
                                   "kubernetes: the agents of DaemonSet %s/%s are not ready after %llds: %s", a->ns, ds,
                                   (long long)(timeout_ns / ASH_NS_PER_S), missing);
        struct timespec ts = {(time_t)(poll_ns / ASH_NS_PER_S), (long)(poll_ns % ASH_NS_PER_S)};
        nanosleep(&ts, NULL);
    }
}

static int delete_one(struct ash_kube *k, const char *path, uint64_t rec, ash_error_t *err)
{
    if (ash_kube_call(k, "DELETE", path, NULL, NULL, err) < 0 && k->status != 404)
        return -1;
    if (k->j && rec)
        ash_journal_done(k->j, rec, NULL);
    return 0;
}

int ash_kube_remove_agents(struct ash_kube *k, const struct ash_kube_agents *a, ash_error_t *err)
{
    char ds[300], sec[300], path[1024];
    names(a, ds, sizeof ds, sec, sizeof sec);
    /* The DaemonSet first: its pods hold the Secret mounted. Foreground: its pods go
     * with it, and a later run on the node does not meet a stale agent. */
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/daemonsets/%s?propagationPolicy=Foreground", a->ns, ds);
    int r = delete_one(k, path, k->rec_ds, err);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", a->ns, sec);
    ash_error_t e2 = {0};
    if (delete_one(k, path, k->rec_secret, r < 0 ? &e2 : err) < 0 && r == 0)
        r = -1;
    return r;
}

/* ---- targets ---- */

int ash_kube_list_targets(struct ash_kube *k, const char *ns, const char *selector, const char *container,
                          struct ash_kube_target **out, size_t *n, ash_error_t *err)
{
    *out = NULL;
    *n = 0;
    /* A label selector has '='; a bare name is one pod, chosen by a field selector. */
    bool by_name = !strchr(selector, '=');
    char sel[600];
    snprintf(sel, sizeof sel, "%s%s", by_name ? "metadata.name=" : "", selector);
    char *q = curl_easy_escape(k->curl, sel, 0);
    if (!q)
        return ash_error(err, ENOMEM, "kubernetes");
    char path[2048];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?%s=%s", ns, by_name ? "fieldSelector" : "labelSelector", q);
    curl_free(q);
    json_t *list = NULL;
    if (ash_kube_call(k, "GET", path, NULL, &list, err) < 0)
        return ash_error_wrap(err, "cannot list pods %s in %s", selector, ns);
    json_t *items = json_object_get(list, "items");
    struct ash_kube_target *t = calloc(json_array_size(items) + 1, sizeof *t);
    int ret = 0;
    if (!t) {
        ret = ash_error(err, ENOMEM, "kubernetes");
        goto out;
    }
    size_t i;
    json_t *pod;
    json_array_foreach(items, i, pod)
    {
        json_t *spec = json_object_get(pod, "spec");
        const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
        const char *node = json_string_value(json_object_get(spec, "nodeName"));
        const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
        /* Only running pods have containers an agent can find. */
        if (!name || !node || !phase || strcmp(phase, "Running") != 0)
            continue;
        json_t *ctrs = json_object_get(spec, "containers");
        const char *cname = NULL;
        size_t ci;
        json_t *c;
        json_array_foreach(ctrs, ci, c)
        {
            const char *nm = json_string_value(json_object_get(c, "name"));
            if (nm && (!container || !*container ? json_array_size(ctrs) == 1 : strcmp(nm, container) == 0))
                cname = nm;
        }
        if (!cname) {
            char all[400] = "";
            size_t off = 0;
            json_array_foreach(ctrs, ci, c)
            {
                const char *nm = json_string_value(json_object_get(c, "name"));
                int w =
                    snprintf(all + off, off < sizeof all ? sizeof all - off : 0, "%s%s", ci ? ", " : "", nm ? nm : "?");
                off += w > 0 ? (size_t)w : 0;
            }
            bool named = container && *container;
            ret = ash_error_class(err, ASH_ERR_USAGE, 0, "pod %s/%s has %s%s%s (its containers: %s): name one", ns,
                                  name, named ? "no container named '" : "more than one container",
                                  named ? container : "", named ? "'" : "", all);
            goto out;
        }
        snprintf(t[*n].node, sizeof t[*n].node, "%s", node);
        snprintf(t[*n].pod, sizeof t[*n].pod, "%s", name);
        snprintf(t[*n].container, sizeof t[*n].container, "%s", cname);
        (*n)++;
    }
    if (*n == 0)
        ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, ESRCH, "kubernetes: no running pod in %s %s %s", ns,
                              by_name ? "is named" : "matches", selector);
out:
    json_decref(list);
    if (ret < 0) {
        free(t);
        *n = 0;
    } else {
        *out = t;
    }
    return ret;
}

/* ---- recover ---- */

static int undo_delete(json_t *rec, ash_error_t *err)
{
    const char *kc = json_string_value(json_object_get(rec, "kubeconfig"));
    const char *sa = json_string_value(json_object_get(rec, "sa_dir"));
    const char *server = json_string_value(json_object_get(rec, "server"));
    const char *path = json_string_value(json_object_get(rec, "path"));
    if (!path || (!kc && (!sa || !server)))
        return ash_error(err, EINVAL, "kube.delete: the record has no path or no way to reach the API");
    struct ash_kube *k = NULL;
    if ((kc ? ash_kube_open(kc, &k, err) : ash_kube_open_incluster(sa, server, &k, err)) < 0)
        return ash_error_wrap(err, "cannot delete %s", path);
    int r = ash_kube_call(k, "DELETE", path, NULL, NULL, err);
    if (r < 0 && k->status == 404)
        r = 0; /* already gone: what recover wanted */
    ash_kube_close(k);
    return r;
}

const struct ash_undo_op ash_kube_undo_ops[] = {
    {"kube.delete", undo_delete, false, "deleted {path} through the Kubernetes API at {server}"},
    {NULL, NULL, false, NULL}};
