/* The coordinator's Kubernetes API calls (libcurl + jansson): the run's key as a Secret,
 * the agents as a DaemonSet, waiting until each expected node has a ready agent, pods
 * listed by selector to resolve targets to (node, pod, container), and both removed at
 * the end. Every object is journalled ("kube.delete") BEFORE it is created, so
 * `aftershock recover` deletes what a killed coordinator left behind.
 *
 * Reaching the API server: in a pod, the service account (token and CA at
 * /var/run/secrets/kubernetes.io/serviceaccount/, KUBERNETES_SERVICE_HOST and _PORT);
 * outside, a kubeconfig (its current context: server, certificate-authority[-data],
 * token / tokenFile or client-certificate[-data] + client-key[-data]). */
#ifndef ASH_FLEET_KUBE_H
#define ASH_FLEET_KUBE_H

#include "sys/journal.h"

#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ash_kube;

/* kubeconfig: a path, or NULL for the in-cluster service account. */
int ash_kube_open(const char *kubeconfig, struct ash_kube **out, ash_error_t *err);
/* As in-cluster, with the service account's directory and the server given (tests). */
int ash_kube_open_incluster(const char *sa_dir, const char *server, struct ash_kube **out, ash_error_t *err);
void ash_kube_close(struct ash_kube *k);
/* The namespace the service account lives in (in-cluster), or the context's, or "default". */
const char *ash_kube_namespace(const struct ash_kube *k);

/* One call: METHOD PATH with an optional JSON body; *out (may be NULL) gets the answer.
 * A status outside 2xx fails with the API's own Status message, the HTTP status in
 * err->code's place (ash_kube_status), and a hint for 401/403 (RBAC). */
int ash_kube_call(struct ash_kube *k, const char *method, const char *path, json_t *body, json_t **out,
                  ash_error_t *err);
/* The HTTP status of the last call (0: none reached the server). */
long ash_kube_status(const struct ash_kube *k);

/* What the agents of a run are. */
struct ash_kube_agents {
    const char *ns;      /* where the DaemonSet, Secret and coordinator live */
    const char *run;     /* the run id: names the objects, labels the pods */
    const char *image;   /* the aftershock image */
    const char *connect; /* HOST:PORT of the coordinator's Service */
    const char *key_hex; /* the run's key (fleet/psk.h), 64 hex digits */
    int64_t lease_ns;    /* the agents' lease */
};

/* Create the Secret ("aftershock-key-RUN") and then the DaemonSet ("aftershock-agent-RUN"),
 * each journalled in j (may be NULL in tests) before it is made. An object that already
 * exists (409) is an error: a run id is used once. On failure part may exist: call
 * ash_kube_remove_agents on every exit path, as after a run. */
int ash_kube_deploy_agents(struct ash_kube *k, const struct ash_kube_agents *a, struct ash_journal *j,
                           ash_error_t *err);
/* Poll until every node in nodes has a Ready agent pod of the run (or all nodes the
 * DaemonSet schedules on when n_nodes is 0); fails after timeout_ns naming the nodes
 * still without one and why (the pod's phase and waiting reason). */
int ash_kube_wait_agents(struct ash_kube *k, const struct ash_kube_agents *a, const char *const *nodes, size_t n_nodes,
                         int64_t timeout_ns, int64_t poll_ns, ash_error_t *err);
/* One look at the agents' pods: *n_missing nodes of nodes (all the DaemonSet's pods
 * when n_nodes is 0) without a Ready agent, each with why into missing ("node-b:
 * Pending (ImagePullBackOff)"); *fatal when one of them will not start by waiting (an
 * image that cannot be pulled, a crash loop, a failed pod). */
int ash_kube_agents_state(struct ash_kube *k, const struct ash_kube_agents *a, const char *const *nodes, size_t n_nodes,
                          char *missing, size_t len, size_t *n_missing, bool *fatal, ash_error_t *err);
/* Delete the DaemonSet and the Secret (404: already gone is fine); marks their journal
 * records done. */
int ash_kube_remove_agents(struct ash_kube *k, const struct ash_kube_agents *a, ash_error_t *err);

/* A pod's container, where it runs. */
struct ash_kube_target {
    char node[254];
    char pod[254];
    char container[64];
};
/* The running pods of ns matching selector, a label selector "app=web,tier=front" or a
 * pod's name "web-0" (the two forms of a pod: target, scenario/target.h), and their
 * container named container ("": the pod's only container). None is an error (ESRCH). */
int ash_kube_list_targets(struct ash_kube *k, const char *ns, const char *selector, const char *container,
                          struct ash_kube_target **out, size_t *n, ash_error_t *err);

/* "kube.delete" {"kubeconfig" (or null: in-cluster), "path"}: what recover replays. */
extern const struct ash_undo_op ash_kube_undo_ops[];

#endif
