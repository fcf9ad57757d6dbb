/* Scenario files: YAML -> struct ash_scenario, validated, every error reported as file:line:col. */
#include "scenario/scenario.h"
#include "sys/fs.h"

#include "kinds.h"
#include "scenario/tables.h"
#include "sys/clock.h"
#include "sys/objname.h"
#include "scenario/dns_record.h"
#include "sys/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------- the fixed structure ---------- */

static const char *const restart_names[] = {"never", "on-failure", "always", NULL};

static const struct ash_field ready_fields[] = {
    {"tcp", ASH_F_STRING, offsetof(struct ash_ready_spec, tcp), 0, "ready when host:port accepts a connection"},
    {"http", ASH_F_STRING, offsetof(struct ash_ready_spec, http), 0, "ready when this URL answers 2xx"},
    {"exec", ASH_F_ARGV, offsetof(struct ash_ready_spec, exec), 0, "ready when this command exits 0"},
    {"timeout", ASH_F_DURATION, offsetof(struct ash_ready_spec, timeout_ns), 0,
     "give up starting the service after this long (default 10s)"},
    {NULL}};

const struct ash_field ash_service_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_service_spec, name), ASH_FIELD_REQUIRED,
     "service name, unique in the scenario"},
    {"command", ASH_F_ARGV, offsetof(struct ash_service_spec, command), ASH_FIELD_REQUIRED,
     "argv list; {scenario_dir}, {run_dir} and {services_dir} are substituted"},
    {"env", ASH_F_STRLIST, offsetof(struct ash_service_spec, env), 0, "extra environment entries, KEY=VALUE"},
    {"ready", ASH_F_MAP, offsetof(struct ash_service_spec, ready), 0,
     "how to know it accepts work: exactly one of tcp, http, exec", NULL, ready_fields},
    {"restart", ASH_F_ENUM, offsetof(struct ash_service_spec, restart), 0,
     "restart policy when it exits (default never)", restart_names},
    {"depends_on", ASH_F_STRLIST, offsetof(struct ash_service_spec, depends_on), 0,
     "services started (and ready) before this one"},
    {"user", ASH_F_STRING, offsetof(struct ash_service_spec, user), 0, "run as this user (name or uid; needs root)"},
    {NULL}};

const struct ash_field ash_host_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_host_spec, name), ASH_FIELD_REQUIRED,
     "host name (1-15 of a-z, 0-9, -), resolvable from the other hosts"},
    {"memory", ASH_F_SIZE, offsetof(struct ash_host_spec, memory), 0, "cgroup memory limit of the host"},
    {"cpu", ASH_F_DOUBLE, offsetof(struct ash_host_spec, cpu), 0, "CPU limit in cores (0 = unlimited)", NULL, NULL, 0,
     1024},
    {NULL}};

const struct ash_field ash_probe_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_probe_spec, name), ASH_FIELD_REQUIRED, "probe name, unique"},
    {"from", ASH_F_STRING, offsetof(struct ash_probe_spec, from), 0,
     "where to probe from: a sandbox host, container:NAME, or in a fleet run a node (NODE) or a container on a "
     "node (NODE/CONTAINER), sampled by that node's agent (default: the harness itself)"},
    {"every", ASH_F_DURATION, offsetof(struct ash_probe_spec, every_ns), 0, "sampling interval (default 100ms)"},
    {"timeout", ASH_F_DURATION, offsetof(struct ash_probe_spec, timeout_ns), 0,
     "limit per sample (default: every, at most 1s)"},
    {"slow", ASH_F_DURATION, offsetof(struct ash_probe_spec, slow_ns), 0,
     "a successful sample slower than this counts as failed (default: 10 x the warm-up's p99 latency, at least "
     "20ms)"},
    {NULL}};

const struct ash_field ash_detector_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_detector_spec, name), ASH_FIELD_REQUIRED, "detector name, unique"},
    {NULL}};

const struct ash_field ash_fault_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_fault_spec, name), ASH_FIELD_REQUIRED, "fault name, unique"},
    {"at", ASH_F_DURATION, offsetof(struct ash_fault_spec, at_ns), 0,
     "when to inject, from the start of the fault phase (default 0s)"},
    {"duration", ASH_F_DURATION, offsetof(struct ash_fault_spec, duration_ns), 0,
     "revert after this long (leave out, with no until, for an instantaneous fault)"},
    {NULL}};

const struct ash_field ash_remediation_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_remediation_spec, name), ASH_FIELD_REQUIRED, "remediation name, unique"},
    {"after", ASH_F_DURATION, offsetof(struct ash_remediation_spec, after_ns), 0,
     "with when: detected, delay after the first detection; with follows, after that remediation succeeded "
     "(default 0s)"},
    {"at", ASH_F_DURATION, offsetof(struct ash_remediation_spec, at_ns), 0,
     "or: run at this offset from the start of the fault phase"},
    {"follows", ASH_F_STRING, offsetof(struct ash_remediation_spec, follows), 0,
     "or: run once the remediation of this name has succeeded (not if it failed), plus 'after'"},
    {NULL}};

const struct ash_field ash_expect_fields[] = {
    {"stable_for", ASH_F_DURATION, offsetof(struct ash_expect, stable_for_ns), 0,
     "steady state must hold this long to count as recovered (default 2s)"},
    {"detect_within", ASH_F_DURATION, offsetof(struct ash_expect, detect_within_ns), 0,
     "fail unless detected within this long after injection"},
    {"recover_within", ASH_F_DURATION, offsetof(struct ash_expect, recover_within_ns), 0,
     "fail unless recovered within this long after injection"},
    {"timeout", ASH_F_DURATION, offsetof(struct ash_expect, timeout_ns), 0,
     "give up after this long: verdict fail, everything reverted (default 60s)"},
    {"warmup", ASH_F_DURATION, offsetof(struct ash_expect, warmup_ns), 0,
     "steady state verified this long before the first fault (default 1s)"},
    {NULL}};

const struct ash_field ash_dns_record_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_dns_record_spec, name), ASH_FIELD_REQUIRED,
     "owner name (\"backend\", \"_sip._udp.pbx\"); no trailing dot needed"},
    {"type", ASH_F_ENUM, offsetof(struct ash_dns_record_spec, type), ASH_FIELD_REQUIRED, "A | AAAA | CNAME | SRV | PTR",
     ash_dns_rtype_names},
    {"value", ASH_F_STRING, offsetof(struct ash_dns_record_spec, value), ASH_FIELD_REQUIRED,
     "as in a zone file: 10.0.0.5, ::1, web, \"10 5 5060 pbx\" (SRV: priority weight port target)"},
    {"ttl", ASH_F_INT, offsetof(struct ash_dns_record_spec, ttl), 0, "seconds (default 5)", NULL, NULL, 0, 2147483647},
    {NULL}};

const struct ash_field ash_runtime_fields[] = {
    {"docker_host", ASH_F_STRING, offsetof(struct ash_runtime_spec, docker_host), 0,
     "the Docker (or Podman) engine API socket container targets are reached through: unix:///PATH (default: "
     "$DOCKER_HOST, else unix:///var/run/docker.sock)"},
    {NULL}};

const char *const ash_fleet_engine_names[] = {"agents", "swarm", "kubernetes", NULL};

const struct ash_field ash_fleet_fields[] = {
    {"engine", ASH_F_ENUM, offsetof(struct ash_fleet_spec, engine), 0,
     "who starts the agents: agents (the default: someone else starts `aftershock agent` on each node, and they "
     "connect to listen) | swarm (the run deploys them as a Docker Swarm global service and removes it at the end) "
     "| kubernetes (the same as a DaemonSet)",
     ash_fleet_engine_names},
    {"listen", ASH_F_STRING, offsetof(struct ash_fleet_spec, listen), ASH_FIELD_REQUIRED,
     "ADDRESS:PORT the coordinator (this run) listens on for its agents ([V6]:PORT for IPv6)"},
    {"key_file", ASH_F_STRING, offsetof(struct ash_fleet_spec, key_file), 0,
     "the run's fleet key, 64 hex digits (aftershock agent --key-file), a path on this machine ({scenario_dir} "
     "etc. substituted); default: a new key per run, written 0600 to RUN_DIR/fleet.key"},
    {"nodes", ASH_F_STRLIST, offsetof(struct ash_fleet_spec, nodes), ASH_FIELD_REQUIRED,
     "the nodes that must each have an agent connected before anything is harmed (their --node names)"},
    {"lease", ASH_F_DURATION, offsetof(struct ash_fleet_spec, lease_ns), 0,
     "an agent silent this long is lost and the run aborts; keep it the agents' --lease (default 3s)"},
    {"wait", ASH_F_DURATION, offsetof(struct ash_fleet_spec, wait_ns), 0,
     "how long the run waits for every node's agent before it fails, harming nothing (default 60s)"},
    {"connect", ASH_F_STRING, offsetof(struct ash_fleet_spec, connect), 0,
     "engine swarm or kubernetes: the address (name or IP, no port) the agents reach this run at from their nodes "
     "(kubernetes: the coordinator's Service, e.g. aftershock-coordinator.chaos.svc); default: "
     "listen's address, which must then not be a wildcard"},
    {"docker_host", ASH_F_STRING, offsetof(struct ash_fleet_spec, docker_host), 0,
     "engine swarm: a manager's Engine API socket, unix:///PATH (default: $DOCKER_HOST, else "
     "unix:///var/run/docker.sock)"},
    {"image", ASH_F_STRING, offsetof(struct ash_fleet_spec, image), 0,
     "engine swarm or kubernetes (required there): the agents' image, holding aftershock (swarm: at agent_exe; "
     "kubernetes: as its entrypoint); every node must have it or pull it"},
    {"agent_exe", ASH_F_STRING, offsetof(struct ash_fleet_spec, agent_exe), 0,
     "engine swarm: aftershock's absolute path inside the image (default /usr/bin/aftershock)"},
    {"engine_socket", ASH_F_STRING, offsetof(struct ash_fleet_spec, engine_socket), 0,
     "engine swarm: each node's engine socket (absolute path, the same on every node), bound into its agent so "
     "container: targets resolve there; a path on the nodes: the run's placeholders are refused"},
    {"state_dir", ASH_F_STRING, offsetof(struct ash_fleet_spec, state_dir), 0,
     "engine swarm: the agents' state directory on each node (absolute, must exist; {{.Node.Hostname}} expands, "
     "the run's placeholders, this machine's paths, are refused); default: the node's /run, journals in "
     "/run/aftershock"},
    {"kubeconfig", ASH_F_STRING, offsetof(struct ash_fleet_spec, kubeconfig), 0,
     "engine kubernetes: a kubeconfig (its current context; {scenario_dir} etc. substituted); default: the "
     "service account of the pod this run is in"},
    {"namespace", ASH_F_STRING, offsetof(struct ash_fleet_spec, k8s_namespace), 0,
     "engine kubernetes: the namespace of the agents' Secret and DaemonSet (default: the service account's, or "
     "the kubeconfig context's)"},
    {NULL}};

const struct ash_field ash_dns_fields[] = {
    {"listen", ASH_F_STRING, offsetof(struct ash_dns_spec, listen), 0,
     "host mode: ADDRESS:PORT the run's DNS server listens on (e.g. 127.0.0.1:5353); sandbox mode uses the "
     "bridge's gateway, port 53"},
    {"allow_remote", ASH_F_BOOL, offsetof(struct ash_dns_spec, allow_remote), 0,
     "host mode: allow a non-loopback listen address (default false: loopback only)"},
    {NULL}};

static const char *const verify_expect_names[] = {"pass", "fail", NULL};

const struct ash_field ash_verify_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_verify_spec, name), ASH_FIELD_REQUIRED, "check name, unique"},
    {"command", ASH_F_ARGV, offsetof(struct ash_verify_spec, command), ASH_FIELD_REQUIRED,
     "argv list run after recovery, before teardown; {scenario_dir}, {run_dir} and {services_dir} are substituted"},
    {"expect", ASH_F_ENUM, offsetof(struct ash_verify_spec, expect), 0,
     "pass (exit 0, the default) | fail (non-zero: the replay should leave the damage the incident left)",
     verify_expect_names},
    {"timeout", ASH_F_DURATION, offsetof(struct ash_verify_spec, timeout_ns), 0,
     "longer than this counts as a failure (default 30s)"},
    {"host", ASH_F_STRING, offsetof(struct ash_verify_spec, host), 0,
     "sandbox mode: run the check inside this host (its network, mount and cgroup namespaces, as a client there); "
     "default: on the harness"},
    {NULL}};

const struct ash_field ash_guardrail_fields[] = {
    {"name", ASH_F_STRING, offsetof(struct ash_guardrail_spec, name), ASH_FIELD_REQUIRED, "guardrail name, unique"},
    {"probe", ASH_F_STRING, offsetof(struct ash_guardrail_spec, probe), 0, "probe watched by error_ratio or latency"},
    {"error_ratio", ASH_F_PERCENT, offsetof(struct ash_guardrail_spec, error_ratio), 0,
     "abort when this share of the probe's samples over 'for' failed (50% or 0.5)"},
    {"latency", ASH_F_DURATION, offsetof(struct ash_guardrail_spec, latency_ns), 0,
     "abort when every sample of the probe over 'for' took longer than this (a failed one counts)"},
    {"for", ASH_F_DURATION, offsetof(struct ash_guardrail_spec, for_ns), 0,
     "the window of error_ratio and latency, from the start of the fault phase on (default 10s)"},
    {"max_duration", ASH_F_DURATION, offsetof(struct ash_guardrail_spec, max_duration_ns), 0,
     "abort when the run has lasted this long, setup included"},
    {"exec", ASH_F_ARGV, offsetof(struct ash_guardrail_spec, exec), 0,
     "abort when this command exits non-zero (run every 'every' during the fault phase)"},
    {"every", ASH_F_DURATION, offsetof(struct ash_guardrail_spec, every_ns), 0, "exec: how often (default 1s)"},
    {"timeout", ASH_F_DURATION, offsetof(struct ash_guardrail_spec, timeout_ns), 0,
     "exec: a run taking longer counts as non-zero (default: every)"},
    {"alert", ASH_F_STRING, offsetof(struct ash_guardrail_spec, alert), 0,
     "abort when an alert of this name (labels.alertname) arrives firing on a webhook detector"},
    {"detector", ASH_F_STRING, offsetof(struct ash_guardrail_spec, detector), 0,
     "alert: only on this webhook detector (default: any of them)"},
    {NULL}};

static const char *const top_keys[] = {"version",    "name",        "title",    "description", "incident",
                                       "timescale",  "hosts",       "services", "probes",      "detectors",
                                       "faults",     "remediation", "expect",   "dns",         "verify",
                                       "guardrails", "runtime",     "plot",     "fleet",       NULL};
static const char *const incident_keys[] = {"source",       "title",        "fault_at", "detected_at",
                                            "mitigated_at", "recovered_at", "assumed",  NULL};
const char *const ash_incident_time_keys[ASH_INC_NTIMES] = {"fault_at", "detected_at", "mitigated_at", "recovered_at"};
static const char *const host_extra_keys[] = {"services", NULL};
static const char *const fault_extra_keys[] = {"kind", "until", NULL};
static const char *const remediation_extra_keys[] = {"when", "action", NULL};
static const char *const until_choices[] = {"remediated", NULL};
static const char *const when_choices[] = {"detected", NULL};

/* ---------- parse context ---------- */

/* A kind's config waiting for its validate hook, which needs the whole scenario. */
struct pending {
    const struct ash_kind_common *c;
    void *conf;
    ash_node node;
};

struct svc_ref {
    struct ash_service_spec *svc;
    ash_node node;
};

struct pctx {
    struct ash_scenario *sc;
    ash_error_t *err;
    struct svc_ref *svcs;
    size_t n_svcs;
    struct pending *pend;
    size_t n_pend, cap_pend;
    const struct ash_kind_set *kinds; /* the kinds this parse knows: the caller's tables, not a registry */
};

static int add_pending(struct pctx *x, const struct ash_kind_common *c, void *conf, const ash_node *node)
{
    if (ash_grow(&x->pend, &x->cap_pend, x->n_pend + 1, sizeof *x->pend, 16) < 0)
        return ash_error(x->err, ENOMEM, "scenario");
    x->pend[x->n_pend++] = (struct pending){c, conf, *node};
    return 0;
}

/* ---------- small helpers ---------- */

static bool matches(const char *re, const char *s)
{
    regex_t r;
    if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

static int check_keys_fields(const ash_node *map, const char *what, const struct ash_field *fields,
                             const char *const *extra, ash_error_t *err)
{
    const char **keys = ash_fields_keys(fields);
    if (!keys)
        return ash_error(err, ENOMEM, "scenario");
    int ret = ash_map_check_keys(map, what, keys, extra, err);
    free(keys);
    return ret;
}

/* The value of an optional list key: absent is an empty list. */
static int get_seq(const ash_node *map, const char *key, const char *of_what, ash_node *out, ash_error_t *err)
{
    *out = ash_map_get(map, key);
    if (ash_node_ok(out) && !ash_node_is_seq(out))
        return ash_node_fail(out, err, "'%s' is a list of %s (items starting with '- '), got %s", key, of_what,
                             ash_node_kind_name(out));
    return 0;
}

static int need_item_map(const ash_node *item, const char *what, ash_error_t *err)
{
    if (!ash_node_is_map(item))
        return ash_node_fail(item, err, "each %s is a mapping with at least a name, got %s", what,
                             ash_node_kind_name(item));
    return 0;
}

/* "probe 'register'" for messages, before the name is validated. */
static void item_what(const ash_node *item, const char *kind, size_t index, char *buf, size_t len)
{
    ash_node n = ash_map_get(item, "name");
    const char *t = ash_node_text(&n);
    if (t && *t)
        snprintf(buf, len, "%s '%s'", kind, t);
    else
        snprintf(buf, len, "%s #%zu", kind, index + 1);
}

static int check_item_name(const ash_node *item, const char *what, const char *name, ash_error_t *err)
{
    if (!matches(ASH_ITEM_NAME_RE, name)) {
        ash_node n = ash_map_get(item, "name");
        return ash_node_fail(&n, err,
                             "bad %s name '%s': use letters, digits, '-', '_' and '.', starting with a "
                             "letter or digit",
                             what, name);
    }
    return 0;
}

/* A name that names a log file (FILE, e.g. logs/NAME.log) fits a file name (255 bytes). */
static int check_name_length(const ash_node *item, const char *what, const char *name, int max, const char *file,
                             ash_error_t *err)
{
    if (strlen(name) <= (size_t)max)
        return 0;
    ash_node n = ash_map_get(item, "name");
    return ash_node_fail(&n, err,
                         "%s name is %zu characters long, at most %d: it names the %s's log file (%s), and a file "
                         "name has at most 255 bytes",
                         what, strlen(name), max, what, file);
}

/* Names unique within one list: report the second with the line of the first. */
static int check_unique(const ash_node *seq, size_t i, const char *what, ash_error_t *err)
{
    ash_node item = ash_seq_at(seq, i), name = ash_map_get(&item, "name");
    for (size_t j = 0; j < i; j++) {
        ash_node prev = ash_seq_at(seq, j), pname = ash_map_get(&prev, "name");
        if (strcmp(ash_node_text(&pname), ash_node_text(&name)) == 0)
            return ash_node_fail(&name, err, "duplicate %s name '%s' (first at line %d)", what, ash_node_text(&name),
                                 ash_node_loc(&pname).line);
    }
    return 0;
}

static void *alloc_conf(const struct ash_kind_common *c)
{
    void *conf = calloc(1, c->conf_size ? c->conf_size : 1);
    if (conf && c->defaults)
        c->defaults(conf);
    return conf;
}

/* "a, b, c" from a NULL-terminated list of names. */
static void join_names(char *buf, size_t len, const char *const *names)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i]; i++) {
        int r = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", names[i]);
        if (r < 0 || (size_t)r >= len - off)
            return;
        off += (size_t)r;
    }
}

/* One kind registry seen through its common part: the tables differ in type,
 * but every entry begins with struct ash_kind_common. */
#define ASH_MAX_KINDS 64
struct family {
    const struct ash_kind_common *c[ASH_MAX_KINDS + 1];
    const char *names[ASH_MAX_KINDS + 1];
    char list[512]; /* "a, b, c" for messages */
};

#define FAMILY(table, fam)                                                                                             \
    do {                                                                                                               \
        size_t n_ = 0;                                                                                                 \
        for (; table[n_] && n_ < ASH_MAX_KINDS; n_++) {                                                                \
            (fam)->c[n_] = &table[n_]->c;                                                                              \
            (fam)->names[n_] = table[n_]->c.name;                                                                      \
        }                                                                                                              \
        (fam)->c[n_] = NULL;                                                                                           \
        (fam)->names[n_] = NULL;                                                                                       \
        join_names((fam)->list, sizeof(fam)->list, (fam)->names);                                                      \
    } while (0)

/* Keys of a probe or detector item: its common fields plus exactly one kind key.
 * An unknown key in an item with no kind key is most likely a kind this build
 * does not have: say so, with the known kinds. */
static int check_kind_item_keys(const ash_node *item, const char *what, const char *family,
                                const struct ash_field *fields, const struct family *fam, ash_error_t *err)
{
    const char **keys = ash_fields_keys(fields);
    if (!keys)
        return ash_error(err, ENOMEM, "scenario");
    bool has_kind = false;
    ash_node k, v, unknown = {0};
    for (size_t i = 0; ash_map_pair(item, i, &k, &v); i++) {
        const char *t = ash_node_text(&k);
        bool known = false;
        for (size_t j = 0; t && fam->names[j]; j++)
            if (strcmp(t, fam->names[j]) == 0)
                known = has_kind = true;
        for (size_t j = 0; t && keys[j]; j++)
            known |= strcmp(t, keys[j]) == 0;
        if (!known && !unknown.y)
            unknown = k;
    }
    int ret;
    const char *t = ash_node_text(&unknown);
    if (t && !has_kind && !ash_nearest_word(t, keys, fam->names))
        ret = ash_node_fail(&unknown, err, "unknown %s kind '%s' in %s (known kinds: %s)", family, t, what, fam->list);
    else
        ret = ash_map_check_keys(item, what, keys, fam->names, err);
    free(keys);
    return ret;
}

/* A kind-keyed value (probes, detectors, actions): a map of the kind's fields
 * (plus `extra` keys the caller handles), or a scalar/sequence read as the
 * kind's shorthand field. */
static int parse_kind_value(struct pctx *x, const struct ash_kind_common *c, const ash_node *value, const char *what,
                            const char *const *extra, void *conf)
{
    if (ash_node_is_map(value)) {
        if (check_keys_fields(value, what, c->fields, extra, x->err) < 0)
            return -1;
        if (ash_fields_parse(value, c->fields, conf, x->err) < 0)
            return -1;
    } else if (c->shorthand) {
        const struct ash_field *sf = NULL;
        for (const struct ash_field *f = c->fields; f && f->key; f++)
            if (strcmp(f->key, c->shorthand) == 0)
                sf = f;
        if (!sf)
            return ash_error(x->err, EINVAL, "kind '%s': shorthand field '%s' is not in its table", c->name,
                             c->shorthand);
        if (ash_field_parse_value(value, sf, conf, x->err) < 0)
            return -1;
        for (const struct ash_field *f = c->fields; f && f->key; f++)
            if (f != sf && (f->flags & ASH_FIELD_REQUIRED))
                return ash_node_fail(value, x->err, "%s also needs '%s': write a mapping", what, f->key);
    } else {
        const char **keys = ash_fields_keys(c->fields);
        if (!keys)
            return ash_error(x->err, ENOMEM, "scenario");
        char list[512];
        join_names(list, sizeof list, keys);
        free(keys);
        return ash_node_fail(value, x->err, "'%s' takes a mapping (keys: %s), got %s", c->name, list,
                             ash_node_is_seq(value) ? "a sequence" : "a scalar");
    }
    return add_pending(x, c, conf, value);
}

/* Find the one kind key among a map's keys. */
/* The family's kind called NAME, or NULL (a NULL name finds nothing). */
static const struct ash_kind_common *family_find(const struct family *fam, const char *name)
{
    for (size_t i = 0; name && fam->c[i]; i++)
        if (strcmp(fam->names[i], name) == 0)
            return fam->c[i];
    return NULL;
}

static int find_kind_key(const ash_node *item, const struct family *fam, const char *what,
                         const struct ash_kind_common **kind, ash_node *value, ash_error_t *err)
{
    ash_node k, v, first = {0};
    *kind = NULL;
    for (size_t i = 0; ash_map_pair(item, i, &k, &v); i++)
        for (size_t j = 0; fam->c[j]; j++)
            if (strcmp(ash_node_text(&k), fam->names[j]) == 0) {
                if (*kind)
                    return ash_node_fail(&k, err, "%s has two kinds, '%s' (line %d) and '%s': use one each", what,
                                         (*kind)->name, ash_node_loc(&first).line, fam->names[j]);
                *kind = fam->c[j];
                *value = v;
                first = k;
            }
    if (!*kind)
        return ash_node_fail(item, err, "%s needs one kind key: one of %s", what, fam->list);
    return 0;
}

/* ---------- incident ---------- */

static int parse_time_of_day(const ash_node *n, int *secs, ash_error_t *err)
{
    const char *t = ash_node_text(n);
    if (!t)
        return ash_node_fail(n, err, "expected a time of day such as \"09:30\", got a %s",
                             ash_node_is_map(n) ? "mapping" : "sequence");
    unsigned h, m, s = 0;
    int used = 0;
    if (!matches(ASH_TIME_OF_DAY_RE, t) || (sscanf(t, "%u:%u%n:%u%n", &h, &m, &used, &s, &used) < 2 || t[used] != '\0'))
        return ash_node_fail(n, err, "bad time '%s': use HH:MM or HH:MM:SS (24-hour clock)", t);
    *secs = (int)(h * 3600 + m * 60 + s);
    return 0;
}

/* `assumed: [fault_at, ...]`: which of the incident's times the scenario
 * had to assume; each must be one of the times, given, and named once. */
static int parse_assumed(struct pctx *x, const ash_node *map, struct ash_incident *inc, const int *const *slot)
{
    ash_node list = ash_map_get(map, "assumed");
    if (!ash_node_ok(&list))
        return 0;
    if (!ash_node_is_seq(&list))
        return ash_node_fail(&list, x->err,
                             "'assumed' is a list of the incident's times the postmortem does not state, e.g. "
                             "[fault_at], got %s",
                             ash_node_kind_name(&list));
    for (size_t i = 0; i < ash_seq_len(&list); i++) {
        ash_node item = ash_seq_at(&list, i);
        const char *name = ash_node_text(&item);
        size_t k = 0;
        while (name && k < ASH_INC_NTIMES && strcmp(name, ash_incident_time_keys[k]) != 0)
            k++;
        if (!name || k == ASH_INC_NTIMES)
            return ash_node_fail(&item, x->err,
                                 "'%s' is not one of the incident's times (one of: fault_at, detected_at, "
                                 "mitigated_at, recovered_at)",
                                 name ? name : ash_node_kind_name(&item));
        if (*slot[k] < 0)
            return ash_node_fail(&item, x->err,
                                 "%s is assumed but not given: write the assumed time as %s: \"HH:MM\" (a time "
                                 "the postmortem does not give at all is left out, and reads as unknown)",
                                 name, name);
        if (inc->assumed & (1u << k))
            return ash_node_fail(&item, x->err, "%s is named twice in 'assumed'", name);
        inc->assumed |= 1u << k;
    }
    return 0;
}

static int parse_incident(struct pctx *x, const ash_node *root)
{
    const char *const *times = ash_incident_time_keys;
    struct ash_incident *inc = &x->sc->incident;
    inc->fault_at_s = inc->detected_at_s = inc->mitigated_at_s = inc->recovered_at_s = -1;
    ash_node map = ash_map_get(root, "incident");
    if (!ash_node_ok(&map))
        return 0;
    if (!ash_node_is_map(&map))
        return ash_node_fail(&map, x->err, "'incident' is a mapping (source, fault_at, ...), got %s",
                             ash_node_kind_name(&map));
    if (ash_map_check_keys(&map, "'incident'", incident_keys, NULL, x->err) < 0)
        return -1;
    inc->present = true;
    ash_node src = ash_map_get(&map, "source");
    if (ash_node_ok(&src) && ash_node_string(&src, &inc->source, x->err) < 0)
        return -1;
    ash_node title = ash_map_get(&map, "title");
    if (ash_node_ok(&title) && ash_node_string(&title, &inc->title, x->err) < 0)
        return -1;
    int *slot[] = {&inc->fault_at_s, &inc->detected_at_s, &inc->mitigated_at_s, &inc->recovered_at_s};
    int last = -1;
    const char *last_key = NULL, *last_text = NULL;
    for (size_t i = 0; i < ASH_INC_NTIMES; i++) {
        ash_node v = ash_map_get(&map, times[i]);
        if (!ash_node_ok(&v))
            continue;
        if (parse_time_of_day(&v, slot[i], x->err) < 0)
            return -1;
        if (last_key && *slot[i] < last)
            return ash_node_fail(&v, x->err, "%s %s is before %s %s: the incident's times go in order, same day",
                                 times[i], ash_node_text(&v), last_key, last_text);
        last = *slot[i];
        last_key = times[i];
        last_text = ash_node_text(&v);
    }
    return parse_assumed(x, &map, inc, (const int *const *)slot);
}

/* ---------- environment ---------- */

static int parse_service(struct pctx *x, const ash_node *item, size_t index, const char *host,
                         struct ash_service_spec *s)
{
    char what[160];
    item_what(item, "service", index, what, sizeof what);
    s->loc = ash_node_loc(item);
    s->ready.timeout_ns = 10 * ASH_NS_PER_S;
    s->restart = ASH_RESTART_NEVER;
    if (need_item_map(item, "service", x->err) < 0 ||
        check_keys_fields(item, what, ash_service_fields, NULL, x->err) < 0 ||
        ash_fields_parse(item, ash_service_fields, s, x->err) < 0 ||
        check_item_name(item, "service", s->name, x->err) < 0 ||
        check_name_length(item, "service", s->name, ASH_SERVICE_NAME_MAX, "logs/NAME.log", x->err) < 0)
        return -1;
    if (host && !(s->host = strdup(host)))
        return ash_error(x->err, ENOMEM, "scenario");
    if (s->ready.set) {
        int kinds = !!s->ready.tcp + !!s->ready.http + !!s->ready.exec.n;
        if (kinds != 1) {
            ash_node r = ash_map_get(item, "ready");
            return ash_node_fail(&r, x->err, "'ready' needs exactly one of tcp, http, exec (got %d)", kinds);
        }
    }
    ash_node env = ash_map_get(item, "env");
    for (size_t i = 0; i < s->env.n; i++) {
        const char *eq = strchr(s->env.v[i], '=');
        if (!eq || eq == s->env.v[i]) {
            ash_node e = ash_node_is_seq(&env) ? ash_seq_at(&env, i) : env;
            return ash_node_fail(&e, x->err, "env entries are KEY=VALUE, got '%s'", s->env.v[i]);
        }
    }
    return 0;
}

static int parse_services(struct pctx *x, const ash_node *seq, const char *host, struct ash_service_spec **out,
                          size_t *n_out)
{
    size_t n = ash_seq_len(seq);
    if (n == 0)
        return 0;
    struct ash_service_spec *v = calloc(n, sizeof *v);
    struct svc_ref *refs = realloc(x->svcs, (x->n_svcs + n) * sizeof *refs);
    if (refs)
        x->svcs = refs;
    if (!v || !refs) {
        free(v);
        return ash_error(x->err, ENOMEM, "scenario");
    }
    *out = v;
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(seq, i);
        if (parse_service(x, &item, i, host, &v[i]) < 0)
            return -1;
        /* Service names are unique across hosts: actions and faults name them alone. */
        for (size_t j = 0; j < x->n_svcs; j++)
            if (strcmp(x->svcs[j].svc->name, v[i].name) == 0) {
                ash_node name = ash_map_get(&item, "name");
                return ash_node_fail(&name, x->err, "duplicate service name '%s' (first at line %d)", v[i].name,
                                     x->svcs[j].svc->loc.line);
            }
        x->svcs[x->n_svcs++] = (struct svc_ref){&v[i], item};
    }
    return 0;
}

static int parse_hosts(struct pctx *x, const ash_node *root)
{
    ash_node seq;
    if (get_seq(root, "hosts", "hosts", &seq, x->err) < 0)
        return -1;
    size_t n = ash_seq_len(&seq);
    if (n == 0)
        return 0;
    if (!(x->sc->hosts = calloc(n, sizeof *x->sc->hosts)))
        return ash_error(x->err, ENOMEM, "scenario");
    x->sc->n_hosts = n;
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&seq, i);
        struct ash_host_spec *h = &x->sc->hosts[i];
        char what[160];
        item_what(&item, "host", i, what, sizeof what);
        h->loc = ash_node_loc(&item);
        if (need_item_map(&item, "host", x->err) < 0 ||
            check_keys_fields(&item, what, ash_host_fields, host_extra_keys, x->err) < 0 ||
            ash_fields_parse(&item, ash_host_fields, h, x->err) < 0)
            return -1;
        if (!matches(ASH_HOST_NAME_RE, h->name)) {
            ash_node name = ash_map_get(&item, "name");
            return ash_node_fail(&name, x->err, "bad host name '%s': use 1 to 15 of a-z, 0-9 and '-'", h->name);
        }
        if (check_unique(&seq, i, "host", x->err) < 0)
            return -1;
        ash_node svcs;
        if (get_seq(&item, "services", "services", &svcs, x->err) < 0 ||
            parse_services(x, &svcs, h->name, &h->services, &h->n_services) < 0)
            return -1;
    }
    return 0;
}

/* ---------- probes, detectors ---------- */

static int parse_probe(struct pctx *x, const ash_node *item, size_t index, struct ash_probe_spec *p)
{
    struct family fam;
    FAMILY(x->kinds->probes, &fam);
    char what[160];
    item_what(item, "probe", index, what, sizeof what);
    p->loc = ash_node_loc(item);
    p->every_ns = 100 * ASH_NS_PER_MS;
    p->timeout_ns = -1;
    p->slow_ns = -1;
    if (need_item_map(item, "probe", x->err) < 0 ||
        check_kind_item_keys(item, what, "probe", ash_probe_fields, &fam, x->err) < 0)
        return -1;
    /* A `from:` looked up later (validate --resolve, plan, run) is reported at its value. */
    ash_node from = ash_map_get(item, "from");
    /* A mapping or list, as a fault's `target:` in a fleet takes, is a likely guess:
     * say the string forms rather than only "expected a string". */
    if (ash_node_ok(&from) && (ash_node_is_map(&from) || ash_node_is_seq(&from)))
        return ash_node_fail(&from, x->err,
                             "'from' is one string, not %s: a sandbox host (NAME), container:NAME, "
                             "container:label=K=V[,K2=V2], process:pid=N, or in a fleet run NODE or NODE/CONTAINER",
                             ash_node_kind_name(&from));
    if (ash_fields_parse(item, ash_probe_fields, p, x->err) < 0 || check_item_name(item, "probe", p->name, x->err) < 0)
        return -1;
    p->from_loc = ash_node_ok(&from) ? ash_node_loc(&from) : p->loc;
    if (p->every_ns <= 0) {
        ash_node e = ash_map_get(item, "every");
        return ash_node_fail(&e, x->err, "'every' must be greater than 0");
    }
    if (p->slow_ns == 0 || p->slow_ns < -1) {
        ash_node e = ash_map_get(item, "slow");
        return ash_node_fail(&e, x->err, "'slow' must be greater than 0");
    }
    const struct ash_kind_common *c;
    ash_node value;
    if (find_kind_key(item, &fam, what, &c, &value, x->err) < 0)
        return -1;
    p->kind = (const struct ash_probe_kind *)c;
    if (!(p->conf = alloc_conf(c)))
        return ash_error(x->err, ENOMEM, "scenario");
    char kwhat[200];
    snprintf(kwhat, sizeof kwhat, "%s probe '%s'", c->name, p->name);

    /* The per-sample timeout may also sit inside the kind's map, next to the URL it
     * bounds ("http: { url: ..., timeout: 300ms }"), unless the kind has its own. */
    bool kind_has_timeout = false;
    for (const struct ash_field *f = c->fields; f && f->key; f++)
        kind_has_timeout |= strcmp(f->key, "timeout") == 0;
    if (ash_node_is_map(&value) && !kind_has_timeout) {
        ash_node t = ash_map_get(&value, "timeout");
        if (ash_node_ok(&t)) {
            ash_node outer = ash_map_key(item, "timeout");
            if (ash_node_ok(&outer))
                return ash_node_fail(&t, x->err, "%s: 'timeout' given twice (also at line %d)", what,
                                     ash_node_loc(&outer).line);
            if (ash_node_duration(&t, &p->timeout_ns, x->err) < 0)
                return -1;
        }
    }
    if (p->timeout_ns == -1)
        p->timeout_ns = p->every_ns < ASH_NS_PER_S ? p->every_ns : ASH_NS_PER_S;
    if (p->timeout_ns <= 0) {
        ash_node t = ash_map_get(item, "timeout");
        return ash_node_fail(&t, x->err, "'timeout' must be greater than 0");
    }
    static const char *const timeout_key[] = {"timeout", NULL};
    return parse_kind_value(x, c, &value, kwhat, kind_has_timeout ? NULL : timeout_key, p->conf);
}

static int parse_probes(struct pctx *x, const ash_node *root)
{
    ash_node seq;
    if (get_seq(root, "probes", "probes", &seq, x->err) < 0)
        return -1;
    size_t n = ash_seq_len(&seq);
    if (n == 0)
        return 0;
    if (!(x->sc->probes = calloc(n, sizeof *x->sc->probes)))
        return ash_error(x->err, ENOMEM, "scenario");
    x->sc->n_probes = n;
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&seq, i);
        if (parse_probe(x, &item, i, &x->sc->probes[i]) < 0 || check_unique(&seq, i, "probe", x->err) < 0)
            return -1;
    }
    return 0;
}

static int parse_detector(struct pctx *x, const ash_node *item, size_t index, struct ash_detector_spec *d)
{
    struct family fam;
    FAMILY(x->kinds->detectors, &fam);
    char what[160];
    item_what(item, "detector", index, what, sizeof what);
    d->loc = ash_node_loc(item);
    if (need_item_map(item, "detector", x->err) < 0 ||
        check_kind_item_keys(item, what, "detector", ash_detector_fields, &fam, x->err) < 0 ||
        ash_fields_parse(item, ash_detector_fields, d, x->err) < 0 ||
        check_item_name(item, "detector", d->name, x->err) < 0)
        return -1;
    const struct ash_kind_common *c;
    ash_node value;
    if (find_kind_key(item, &fam, what, &c, &value, x->err) < 0)
        return -1;
    d->kind = (const struct ash_detector_kind *)c;
    if (!(d->conf = alloc_conf(c)))
        return ash_error(x->err, ENOMEM, "scenario");
    char kwhat[200];
    snprintf(kwhat, sizeof kwhat, "%s detector '%s'", c->name, d->name);
    return parse_kind_value(x, c, &value, kwhat, NULL, d->conf);
}

static int parse_detectors(struct pctx *x, const ash_node *root)
{
    ash_node seq;
    if (get_seq(root, "detectors", "detectors", &seq, x->err) < 0)
        return -1;
    size_t n = ash_seq_len(&seq);
    if (n == 0)
        return 0;
    if (!(x->sc->detectors = calloc(n, sizeof *x->sc->detectors)))
        return ash_error(x->err, ENOMEM, "scenario");
    x->sc->n_detectors = n;
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&seq, i);
        if (parse_detector(x, &item, i, &x->sc->detectors[i]) < 0 || check_unique(&seq, i, "detector", x->err) < 0)
            return -1;
    }
    return 0;
}

/* ---------- faults ---------- */

/* Of two keys that exclude each other, the one written second (where the reader's eye is). */
static ash_node second_key(const ash_node *map, const char *a, const char *b)
{
    ash_node ka = ash_map_key(map, a), kb = ash_map_key(map, b);
    struct ash_loc la = ash_node_loc(&ka), lb = ash_node_loc(&kb);
    return (la.line > lb.line || (la.line == lb.line && la.col > lb.col)) ? ka : kb;
}

static int parse_fault(struct pctx *x, const ash_node *item, size_t index, struct ash_fault_spec *f)
{
    char what[160];
    item_what(item, "fault", index, what, sizeof what);
    f->loc = ash_node_loc(item);
    f->duration_ns = -1;
    if (need_item_map(item, "fault", x->err) < 0)
        return -1;
    struct family fam;
    FAMILY(x->kinds->faults, &fam);
    ash_node kn = ash_map_get(item, "kind");
    if (!ash_node_ok(&kn))
        return ash_node_fail(item, x->err, "%s needs 'kind' (known kinds: %s)", what, fam.list);
    const char *kname = ash_node_text(&kn);
    if (!kname || ash_node_is_null(&kn))
        return ash_node_fail(&kn, x->err, "expected a fault kind (one of %s), got %s", fam.list,
                             ash_node_kind_name(&kn));
    if (!(f->kind = (const struct ash_fault_kind *)family_find(&fam, kname))) {
        const char *near = ash_nearest_word(kname, fam.names, NULL);
        if (near)
            return ash_node_fail(&kn, x->err, "unknown fault kind '%s' (did you mean '%s'? known kinds: %s)", kname,
                                 near, fam.list);
        return ash_node_fail(&kn, x->err, "unknown fault kind '%s' (known kinds: %s)", kname, fam.list);
    }
    const struct ash_kind_common *c = &f->kind->c;
    char kwhat[200];
    snprintf(kwhat, sizeof kwhat, "%s fault%s", c->name, what + strlen("fault"));
    const char **kind_keys = ash_fields_keys(c->fields);
    const char **fault_keys = ash_fields_keys(ash_fault_fields);
    const char *common[16];
    size_t nc = 0;
    for (size_t i = 0; fault_keys && fault_keys[i]; i++)
        common[nc++] = fault_keys[i];
    for (size_t i = 0; fault_extra_keys[i]; i++)
        common[nc++] = fault_extra_keys[i];
    common[nc] = NULL;
    int r = kind_keys && fault_keys ? ash_map_check_keys(item, kwhat, common, kind_keys, x->err)
                                    : ash_error(x->err, ENOMEM, "scenario");
    free(kind_keys);
    free(fault_keys);
    if (r < 0 || ash_fields_parse(item, ash_fault_fields, f, x->err) < 0 ||
        check_item_name(item, "fault", f->name, x->err) < 0 ||
        check_name_length(item, "fault", f->name, ASH_FAULT_NAME_MAX, "logs/faults/NAME.log", x->err) < 0)
        return -1;

    ash_node until = ash_map_get(item, "until");
    if (ash_node_ok(&until)) {
        static const struct ash_field until_field = {"until", ASH_F_ENUM, 0, 0, NULL, until_choices};
        int idx = 0;
        if (ash_field_parse_value(&until, &until_field, &idx, x->err) < 0)
            return -1;
        if (f->duration_ns >= 0) {
            ash_node k = second_key(item, "duration", "until");
            return ash_node_fail(&k, x->err,
                                 "'duration' and 'until: remediated' exclude each other: a fault ends after "
                                 "its duration or when a remediation reverts it");
        }
        f->until_remediated = true;
    }
    if (f->duration_ns == 0) {
        ash_node d = ash_map_get(item, "duration");
        return ash_node_fail(&d, x->err, "'duration' must be greater than 0 (leave it out for an instantaneous fault)");
    }
    if (!(f->conf = alloc_conf(c)))
        return ash_error(x->err, ENOMEM, "scenario");
    if (ash_fields_parse(item, c->fields, f->conf, x->err) < 0)
        return -1;
    /* A window on a fault nothing can undo would be a lie: the run would say
     * "reverted (duration elapsed)" while the harm stays. */
    const char *why = f->kind->no_revert ? f->kind->no_revert(f) : NULL;
    if (why && (f->duration_ns >= 0 || f->until_remediated)) {
        const char *key = f->duration_ns >= 0 ? "duration" : "until";
        ash_node k = ash_map_key(item, key);
        return ash_node_fail(&k, x->err,
                             "%s has '%s' but cannot be reverted: %s, so nothing would end it; add a revert "
                             "command, or leave '%s' out for a one-shot fault (reported as not reverted)",
                             kwhat, key, why, key);
    }
    return add_pending(x, c, f->conf, item);
}

static int parse_faults(struct pctx *x, const ash_node *root)
{
    ash_node seq;
    if (get_seq(root, "faults", "faults", &seq, x->err) < 0)
        return -1;
    size_t n = ash_seq_len(&seq);
    if (n == 0)
        return 0;
    if (!(x->sc->faults = calloc(n, sizeof *x->sc->faults)))
        return ash_error(x->err, ENOMEM, "scenario");
    x->sc->n_faults = n;
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&seq, i);
        if (parse_fault(x, &item, i, &x->sc->faults[i]) < 0 || check_unique(&seq, i, "fault", x->err) < 0)
            return -1;
    }
    return 0;
}

/* ---------- remediation ---------- */

static int parse_action(struct pctx *x, const ash_node *item, const char *what, struct ash_remediation_spec *r)
{
    ash_node act = ash_map_get(item, "action");
    struct family fam;
    FAMILY(x->kinds->actions, &fam);
    const char *list = fam.list;
    if (!ash_node_ok(&act))
        return ash_node_fail(item, x->err, "%s needs an 'action' (one of %s)", what, list);
    if (!ash_node_is_map(&act) || ash_map_size(&act) == 0)
        return ash_node_fail(&act, x->err,
                             "'action' is a mapping with one action, such as { restart: SERVICE } "
                             "(actions: %s)",
                             list);
    ash_node k, v;
    ash_map_pair(&act, 0, &k, &v);
    if (!(r->action = (const struct ash_action_kind *)family_find(&fam, ash_node_text(&k)))) {
        const char *near = ash_nearest_word(ash_node_text(&k), fam.names, NULL);
        if (near)
            return ash_node_fail(&k, x->err, "unknown action '%s' in %s (did you mean '%s'? actions: %s)",
                                 ash_node_text(&k), what, near, list);
        return ash_node_fail(&k, x->err, "unknown action '%s' in %s (actions: %s)", ash_node_text(&k), what, list);
    }
    if (ash_map_size(&act) > 1) {
        ash_node k2, v2;
        ash_map_pair(&act, 1, &k2, &v2);
        return ash_node_fail(&k2, x->err, "an action does one thing ('%s' here): use another remediation for '%s'",
                             ash_node_text(&k), ash_node_text(&k2));
    }
    const struct ash_kind_common *c = &r->action->c;
    if (!(r->conf = alloc_conf(c)))
        return ash_error(x->err, ENOMEM, "scenario");
    char kwhat[200];
    snprintf(kwhat, sizeof kwhat, "%s action of %s", c->name, what);
    return parse_kind_value(x, c, &v, kwhat, NULL, r->conf);
}

static int parse_remediation(struct pctx *x, const ash_node *item, size_t index, struct ash_remediation_spec *r)
{
    char what[160];
    item_what(item, "remediation", index, what, sizeof what);
    r->loc = ash_node_loc(item);
    if (need_item_map(item, "remediation", x->err) < 0 ||
        check_keys_fields(item, what, ash_remediation_fields, remediation_extra_keys, x->err) < 0 ||
        ash_fields_parse(item, ash_remediation_fields, r, x->err) < 0 ||
        check_item_name(item, "remediation", r->name, x->err) < 0)
        return -1;
    ash_node when = ash_map_get(item, "when"), at = ash_map_get(item, "at"), after = ash_map_key(item, "after");
    ash_node follows = ash_map_key(item, "follows");
    int triggers = ash_node_ok(&when) + ash_node_ok(&at) + ash_node_ok(&follows);
    if (triggers > 1) {
        ash_node k = ash_node_ok(&when) && ash_node_ok(&at) ? second_key(item, "when", "at")
                     : ash_node_ok(&when)                   ? second_key(item, "when", "follows")
                                                            : second_key(item, "at", "follows");
        return ash_node_fail(&k, x->err,
                             "'when: detected', 'at' and 'follows' exclude each other: a remediation runs on "
                             "detection, at a set time, or after another remediation");
    }
    if (ash_node_ok(&when)) {
        static const struct ash_field when_field = {"when", ASH_F_ENUM, 0, 0, NULL, when_choices};
        int idx = 0;
        if (ash_field_parse_value(&when, &when_field, &idx, x->err) < 0)
            return -1;
        r->when = ASH_WHEN_DETECTED;
    } else if (ash_node_ok(&follows)) {
        r->when = ASH_WHEN_FOLLOWS;
    } else if (ash_node_ok(&at)) {
        r->when = ASH_WHEN_AT;
        if (ash_node_ok(&after))
            return ash_node_fail(&after, x->err, "'after' goes with 'when: detected' or 'follows', not with 'at'");
    } else {
        return ash_node_fail(item, x->err, "%s needs 'when: detected', 'at: DURATION' or 'follows: REMEDIATION'", what);
    }
    return parse_action(x, item, what, r);
}

/* `follows: NAME` names another remediation of this scenario, and following
 * the names from any remediation ends at one that runs at a time or on
 * detection: a loop would never start. */
static int resolve_follows(struct pctx *x, const ash_node *seq)
{
    struct ash_remediation_spec *rs = x->sc->remediations;
    size_t n = x->sc->n_remediations;
    for (size_t i = 0; i < n; i++) {
        if (rs[i].when != ASH_WHEN_FOLLOWS)
            continue;
        ash_node item = ash_seq_at(seq, i), v = ash_map_get(&item, "follows");
        size_t j = 0;
        while (j < n && strcmp(rs[j].name, rs[i].follows) != 0)
            j++;
        if (j == n) {
            const char **names = calloc(n + 1, sizeof *names);
            if (!names)
                return ash_error(x->err, ENOMEM, "scenario");
            for (size_t k = 0; k < n; k++)
                names[k] = rs[k].name;
            const char *near = ash_nearest_word(rs[i].follows, names, NULL);
            int ret = ash_node_fail(
                &v, x->err, "remediation '%s' follows '%s', which is not a remediation of this scenario%s%s%s",
                rs[i].name, rs[i].follows, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
            free(names);
            return ret;
        }
        rs[i].follows_idx = j;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = i, steps = 0;
        while (rs[k].when == ASH_WHEN_FOLLOWS && steps++ <= n)
            k = rs[k].follows_idx;
        if (rs[k].when == ASH_WHEN_FOLLOWS) {
            ash_node item = ash_seq_at(seq, i), v = ash_map_get(&item, "follows");
            return ash_node_fail(&v, x->err,
                                 "remediation '%s' follows '%s', which leads back to it: one of them must run "
                                 "'when: detected' or 'at' a time",
                                 rs[i].name, rs[i].follows);
        }
    }
    return 0;
}

static int parse_remediations(struct pctx *x, const ash_node *root)
{
    ash_node seq;
    if (get_seq(root, "remediation", "remediations", &seq, x->err) < 0)
        return -1;
    size_t n = ash_seq_len(&seq);
    if (n == 0)
        return 0;
    if (!(x->sc->remediations = calloc(n, sizeof *x->sc->remediations)))
        return ash_error(x->err, ENOMEM, "scenario");
    x->sc->n_remediations = n;
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&seq, i);
        if (parse_remediation(x, &item, i, &x->sc->remediations[i]) < 0 ||
            check_unique(&seq, i, "remediation", x->err) < 0)
            return -1;
    }
    return resolve_follows(x, &seq);
}

/* ---------- expect ---------- */

static int parse_expect(struct pctx *x, const ash_node *root)
{
    struct ash_expect *e = &x->sc->expect;
    *e = (struct ash_expect){.stable_for_ns = 2 * ASH_NS_PER_S,
                             .detect_within_ns = -1,
                             .recover_within_ns = -1,
                             .timeout_ns = 60 * ASH_NS_PER_S,
                             .warmup_ns = ASH_NS_PER_S};
    ash_node map = ash_map_get(root, "expect");
    if (!ash_node_ok(&map))
        return 0;
    if (!ash_node_is_map(&map))
        return ash_node_fail(&map, x->err, "'expect' is a mapping (stable_for, detect_within, ...), got %s",
                             ash_node_kind_name(&map));
    if (check_keys_fields(&map, "'expect'", ash_expect_fields, NULL, x->err) < 0 ||
        ash_fields_parse(&map, ash_expect_fields, e, x->err) < 0)
        return -1;
    static const char *const positive[] = {"stable_for", "timeout"};
    int64_t vals[] = {e->stable_for_ns, e->timeout_ns};
    for (size_t i = 0; i < 2; i++)
        if (vals[i] <= 0) {
            ash_node v = ash_map_get(&map, positive[i]);
            return ash_node_fail(&v, x->err, "'%s' must be greater than 0", positive[i]);
        }
    return 0;
}

/* ---------- dns ---------- */

/* Top-level `runtime:`: checked for its form only; the socket is reached at run time. */
static int parse_runtime(struct pctx *x, const ash_node *root)
{
    ash_node map = ash_map_get(root, "runtime");
    if (!ash_node_ok(&map))
        return 0;
    if (!ash_node_is_map(&map))
        return ash_node_fail(&map, x->err, "'runtime' is a mapping (docker_host), got %s", ash_node_kind_name(&map));
    if (check_keys_fields(&map, "'runtime'", ash_runtime_fields, NULL, x->err) < 0 ||
        ash_fields_parse(&map, ash_runtime_fields, &x->sc->runtime, x->err) < 0)
        return -1;
    const char *h = x->sc->runtime.docker_host;
    if (h && (strncmp(h, "unix://", 7) != 0 || h[7] != '/')) {
        ash_node v = ash_map_get(&map, "docker_host");
        return ash_node_fail(&v, x->err,
                             "docker_host '%s': aftershock talks to the engine over a unix socket: "
                             "write unix:///PATH",
                             h);
    }
    if (h && strlen(h + 7) >= 108) {
        ash_node v = ash_map_get(&map, "docker_host");
        return ash_node_fail(&v, x->err, "docker_host '%s': a unix socket path has at most 107 characters", h);
    }
    return 0;
}

/* The settings of an engine that deploys the agents (engine: swarm): each only there,
 * each checked where it stands, before anything is deployed. */
/* A Kubernetes namespace name: an RFC 1123 label. */
static bool dns_label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static int parse_fleet_deploy(const ash_node *map, struct ash_fleet_spec *fl, const struct sockaddr_storage *listen,
                              ash_error_t *err)
{
    /* Which engines each setting belongs to (bits of enum ash_fleet_engine). */
    enum { SW = 1 << ASH_FLEET_SWARM, K8S = 1 << ASH_FLEET_KUBERNETES };
    static const struct {
        const char *key;
        int engines;
    } own[] = {{"connect", SW | K8S}, {"image", SW | K8S}, {"docker_host", SW}, {"agent_exe", SW},
               {"engine_socket", SW}, {"state_dir", SW},   {"kubeconfig", K8S}, {"namespace", K8S}};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        ash_node v = ash_map_get(map, own[i].key);
        if (ash_node_ok(&v) && !(own[i].engines & (1 << fl->engine)))
            return ash_node_fail(&v, err, "'fleet.%s' is a setting of engine %s, not of engine %s%s", own[i].key,
                                 own[i].engines == K8S  ? "kubernetes"
                                 : own[i].engines == SW ? "swarm"
                                                        : "swarm or kubernetes",
                                 ash_fleet_engine_names[fl->engine],
                                 fl->engine == ASH_FLEET_AGENTS ? " (with engine: agents you start the agents yourself)"
                                                                : "");
    }
    if (fl->engine == ASH_FLEET_AGENTS)
        return 0;
    if (fl->k8s_namespace && !dns_label_ok(fl->k8s_namespace)) {
        ash_node v = ash_map_get(map, "namespace");
        return ash_node_fail(&v, err,
                             "'fleet.namespace' '%s' is not a Kubernetes namespace name (lower-case letters, digits "
                             "and '-', at most 63)",
                             fl->k8s_namespace);
    }
    if (!fl->image || !*fl->image)
        return ash_node_fail(map, err, "'fleet' with engine: %s needs 'image': the agents' image, holding aftershock",
                             ash_fleet_engine_names[fl->engine]);
    ash_node v = ash_map_get(map, "docker_host");
    if (fl->docker_host && (strncmp(fl->docker_host, "unix://", 7) != 0 || fl->docker_host[7] != '/'))
        return ash_node_fail(&v, err, "'fleet.docker_host' is a swarm manager's engine socket: write unix:///PATH");
    static const char *const paths[] = {"agent_exe", "engine_socket", "state_dir", NULL};
    const char *vals[] = {fl->agent_exe, fl->engine_socket, fl->state_dir};
    for (size_t i = 0; paths[i]; i++)
        if (vals[i] && vals[i][0] != '/') {
            v = ash_map_get(map, paths[i]);
            return ash_node_fail(&v, err, "'fleet.%s' is an absolute path on the nodes, got '%s'", paths[i], vals[i]);
        }
    v = ash_map_get(map, "connect");
    if (fl->connect && (!*fl->connect || strpbrk(fl->connect, "[]/ ") ||
                        (strchr(fl->connect, ':') && strchr(fl->connect, ':') == strrchr(fl->connect, ':'))))
        return ash_node_fail(&v, err,
                             "'fleet.connect' is the address (a name or an IP, no port) the agents reach this run at, "
                             "got '%s'; the port is listen's",
                             fl->connect);
    bool wildcard =
        (listen->ss_family == AF_INET && ((const struct sockaddr_in *)listen)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
        (listen->ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)listen)->sin6_addr));
    if (!fl->connect && wildcard) {
        v = ash_map_get(map, "listen");
        return ash_node_fail(&v, err,
                             "fleet listen '%s' is every address: say which one the agents reach this run at in "
                             "'fleet.connect'",
                             fl->listen);
    }
    return 0;
}

static const char *const fleet_extra_keys[] = {"hosts", NULL};

/* `fleet.hosts: {HOST: NODE}`: which node's agent builds each named host (the rest
 * are built here). Checked before anything is deployed: a host of the scenario, a
 * node of fleet.nodes. What such a host can be is checked with the faults and
 * detectors (check_placed). */
static int parse_fleet_hosts(struct pctx *x, const ash_node *fleet)
{
    struct ash_scenario *sc = x->sc;
    ash_node map = ash_map_get(fleet, "hosts");
    if (!ash_node_ok(&map))
        return 0;
    if (!ash_node_is_map(&map))
        return ash_node_fail(&map, x->err,
                             "'fleet.hosts' is a mapping of the scenario's hosts to nodes "
                             "(vhost1: b), got %s",
                             ash_node_kind_name(&map));
    ash_node k, v;
    for (size_t i = 0; ash_map_pair(&map, i, &k, &v); i++) {
        const char *host = ash_node_text(&k), *node = ash_node_text(&v);
        struct ash_host_spec *h = NULL;
        for (size_t j = 0; host && j < sc->n_hosts; j++)
            if (strcmp(sc->hosts[j].name, host) == 0)
                h = &sc->hosts[j];
        if (!h)
            return ash_node_fail(&k, x->err, "'fleet.hosts' places '%s', which is not a host of this scenario",
                                 host ? host : "?");
        if (!node)
            return ash_node_fail(&v, x->err, "'fleet.hosts.%s' is a node name, got %s", host, ash_node_kind_name(&v));
        bool known = false;
        for (size_t j = 0; j < sc->fleet.nodes.n; j++)
            known |= strcmp(sc->fleet.nodes.v[j], node) == 0;
        if (!known)
            return ash_node_fail(&v, x->err, "'fleet.hosts' places host '%s' on node '%s', which is not in fleet.nodes",
                                 host, node);
        /* What an agent builds for a host: its namespaces, link, addresses and
         * files; services on a host an agent builds are not supported yet (docs/fleet.md). */
        if (h->node)
            return ash_node_fail(&k, x->err, "'fleet.hosts' places host '%s' twice", host);
        if (!(h->node = strdup(node)))
            return ash_error(x->err, ENOMEM, "fleet.hosts");
        sc->fleet.n_placed++;
    }
    return 0;
}

/* Top-level `fleet:`: before the faults' targets are resolved (they name its nodes). */
static int parse_fleet(struct pctx *x, const ash_node *root)
{
    ash_node map = ash_map_get(root, "fleet");
    if (!ash_node_ok(&map))
        return 0;
    struct ash_fleet_spec *fl = &x->sc->fleet;
    if (!ash_node_is_map(&map))
        return ash_node_fail(&map, x->err, "'fleet' is a mapping (listen, nodes, key_file, lease, engine), got %s",
                             ash_node_kind_name(&map));
    if (check_keys_fields(&map, "'fleet'", ash_fleet_fields, fleet_extra_keys, x->err) < 0 ||
        ash_fields_parse(&map, ash_fleet_fields, fl, x->err) < 0)
        return -1;
    fl->set = true;
    fl->loc = ash_node_loc(&map);
    struct sockaddr_storage sa;
    char why[128];
    if (ash_parse_listen(fl->listen, &sa, why, sizeof why) < 0) {
        ash_node v = ash_map_get(&map, "listen");
        return ash_node_fail(&v, x->err, "fleet listen '%s': %s", fl->listen, why);
    }
    ash_node nodes = ash_map_get(&map, "nodes");
    if (fl->nodes.n == 0)
        return ash_node_fail(&nodes, x->err, "'fleet.nodes' lists at least one node");
    for (size_t i = 0; i < fl->nodes.n; i++) {
        ash_node at = ash_node_is_seq(&nodes) ? ash_seq_at(&nodes, i) : nodes;
        if (!ash_target_node_name_ok(fl->nodes.v[i]))
            return ash_node_fail(&at, x->err, "'%s' is not a node name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 127)",
                                 fl->nodes.v[i]);
        for (size_t k = 0; k < i; k++)
            if (strcmp(fl->nodes.v[k], fl->nodes.v[i]) == 0)
                return ash_node_fail(&at, x->err, "node '%s' is listed twice", fl->nodes.v[i]);
    }
    ash_node lease = ash_map_get(&map, "lease");
    if (!ash_node_ok(&lease))
        fl->lease_ns = 3 * ASH_NS_PER_S;
    else if (fl->lease_ns < 500 * ASH_NS_PER_MS)
        return ash_node_fail(&lease, x->err,
                             "'fleet.lease' is at least 500ms (the coordinator pings 4 times per lease)");
    ash_node wait = ash_map_get(&map, "wait");
    if (!ash_node_ok(&wait))
        fl->wait_ns = 60 * ASH_NS_PER_S;
    else if (fl->wait_ns <= 0)
        return ash_node_fail(&wait, x->err, "'fleet.wait' must be greater than 0");
    if (parse_fleet_deploy(&map, fl, &sa, x->err) < 0)
        return -1;
    return parse_fleet_hosts(x, &map);
}

static const char *const dns_extra_keys[] = {"records", NULL};

static int parse_dns(struct pctx *x, const ash_node *root)
{
    struct ash_dns_spec *d = &x->sc->dns;
    ash_node map = ash_map_get(root, "dns");
    if (!ash_node_ok(&map))
        return 0;
    if (!ash_node_is_map(&map))
        return ash_node_fail(&map, x->err, "'dns' is a mapping (records, listen), got %s", ash_node_kind_name(&map));
    if (check_keys_fields(&map, "'dns'", ash_dns_fields, dns_extra_keys, x->err) < 0 ||
        ash_fields_parse(&map, ash_dns_fields, d, x->err) < 0)
        return -1;
    d->set = true;
    ash_node listen = ash_map_get(&map, "listen");
    if (d->listen) {
        if (x->sc->n_hosts > 0)
            return ash_node_fail(&listen, x->err,
                                 "'listen' is for host mode; in a sandbox the DNS server listens "
                                 "on the bridge's gateway, port 53, where every host's resolv.conf "
                                 "points");
        char why[160];
        struct sockaddr_storage sa;
        if (ash_parse_listen(d->listen, &sa, why, sizeof why) < 0)
            return ash_node_fail(&listen, x->err, "bad 'listen' '%s': %s", d->listen, why);
        if (!ash_addr_is_loopback(&sa) && !d->allow_remote)
            return ash_node_fail(&listen, x->err,
                                 "listen address '%s' is not loopback: anyone who can reach it would get the "
                                 "fault's answers; set 'allow_remote: true' if that is intended",
                                 d->listen);
    } else if (d->allow_remote) {
        ash_node v = ash_map_get(&map, "allow_remote");
        return ash_node_fail(&v, x->err, "'allow_remote' only goes with a host-mode 'listen'");
    } else if (x->sc->n_hosts == 0) {
        return ash_node_fail(&map, x->err,
                             "in host mode 'dns' needs 'listen: ADDRESS:PORT' (e.g. 127.0.0.1:5353) "
                             "for the DNS server, so a target can be pointed at it");
    }
    ash_node recs;
    if (get_seq(&map, "records", "DNS records", &recs, x->err) < 0)
        return -1;
    size_t n = ash_node_ok(&recs) ? ash_seq_len(&recs) : 0;
    if (n == 0)
        return 0;
    d->records = calloc(n, sizeof *d->records);
    if (!d->records)
        return ash_error(x->err, ENOMEM, "scenario");
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&recs, i);
        struct ash_dns_record_spec *r = &d->records[i];
        if (!ash_node_is_map(&item))
            return ash_node_fail(&item, x->err, "each DNS record is a mapping {name, type, value, ttl}, got %s",
                                 ash_node_kind_name(&item));
        r->ttl = 5;
        r->loc = ash_node_loc(&item);
        d->n_records = i + 1;
        if (check_keys_fields(&item, "a DNS record", ash_dns_record_fields, NULL, x->err) < 0 ||
            ash_fields_parse(&item, ash_dns_record_fields, r, x->err) < 0)
            return -1;
        char why[200];
        if (ash_dns_record_check(r->name, r->type, r->value, why, sizeof why) < 0) {
            ash_node v = ash_map_get(&item, "value");
            return ash_node_fail(&v, x->err, "DNS record '%s' (%s): %s", r->name, ash_dns_rtype_names[r->type], why);
        }
    }
    return 0;
}

/* ---------- verify ---------- */

static int parse_verify(struct pctx *x, const ash_node *root)
{
    ash_node seq;
    if (get_seq(root, "verify", "checks", &seq, x->err) < 0)
        return -1;
    size_t n = ash_seq_len(&seq);
    if (n == 0)
        return 0;
    if (!(x->sc->verify = calloc(n, sizeof *x->sc->verify)))
        return ash_error(x->err, ENOMEM, "scenario");
    x->sc->n_verify = n;
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&seq, i);
        struct ash_verify_spec *v = &x->sc->verify[i];
        char what[160];
        item_what(&item, "verify check", i, what, sizeof what);
        v->timeout_ns = 30 * ASH_NS_PER_S;
        v->loc = ash_node_loc(&item);
        if (need_item_map(&item, "verify check", x->err) < 0 ||
            check_keys_fields(&item, what, ash_verify_fields, NULL, x->err) < 0 ||
            ash_fields_parse(&item, ash_verify_fields, v, x->err) < 0 ||
            check_item_name(&item, "verify check", v->name, x->err) < 0 ||
            check_name_length(&item, "verify check", v->name, ASH_VERIFY_NAME_MAX, "verify/NAME.log", x->err) < 0 ||
            check_unique(&seq, i, "verify check", x->err) < 0)
            return -1;
        if (v->command.n == 0) {
            ash_node c = ash_map_get(&item, "command");
            return ash_node_fail(&c, x->err, "'command' needs at least the program to run");
        }
        if (v->timeout_ns <= 0) {
            ash_node t = ash_map_get(&item, "timeout");
            return ash_node_fail(&t, x->err, "'timeout' must be greater than 0");
        }
        if (v->host && !ash_scenario_host(x->sc, v->host)) {
            ash_node h = ash_map_get(&item, "host");
            if (x->sc->n_hosts == 0)
                return ash_node_fail(&h, x->err,
                                     "'host' needs sandbox mode: this scenario has no 'hosts:' (leave it out to run "
                                     "the check on the harness)");
            return ash_node_fail(&h, x->err, "no host named '%s' in this scenario", v->host);
        }
    }
    return 0;
}

/* ---------- guardrails ---------- */

static int guardrail_key_fail(const ash_node *item, const char *key, ash_error_t *err, const char *msg)
{
    ash_node v = ash_map_key(item, key);
    return ash_node_fail(ash_node_ok(&v) ? &v : item, err, "%s", msg);
}

/* One condition per guardrail, and only the keys that go with it. */
static int check_guardrail(const struct pctx *x, const ash_node *item, struct ash_guardrail_spec *g)
{
    ash_node k_for = ash_map_key(item, "for"), k_every = ash_map_key(item, "every"),
             k_timeout = ash_map_key(item, "timeout"), k_max = ash_map_key(item, "max_duration");
    if (ash_node_ok(&k_max) && g->max_duration_ns <= 0)
        return guardrail_key_fail(item, "max_duration", x->err, "'max_duration' must be greater than 0");
    int n = (g->probe != NULL) + (g->max_duration_ns != 0) + (g->exec.n > 0) + (g->alert != NULL);
    if (n == 0)
        return ash_node_fail(item, x->err,
                             "guardrail '%s' has no condition: give 'probe' with 'error_ratio' or 'latency', "
                             "'max_duration', 'exec' or 'alert'",
                             g->name);
    if (n > 1)
        return guardrail_key_fail(item,
                                  g->alert    ? "alert"
                                  : g->exec.n ? "exec"
                                              : "max_duration",
                                  x->err, "one condition per guardrail: list the others as guardrails of their own");
    if (g->detector && !g->alert)
        return guardrail_key_fail(item, "detector", x->err, "'detector' goes with 'alert'");
    if (g->alert) {
        bool any = false;
        for (size_t i = 0; i < x->sc->n_detectors; i++) {
            bool webhook = strcmp(x->sc->detectors[i].kind->c.name, "webhook") == 0;
            any |= webhook;
            if (g->detector && strcmp(x->sc->detectors[i].name, g->detector) == 0 && !webhook)
                return guardrail_key_fail(item, "detector", x->err,
                                          "an alert arrives on a webhook detector; this one is of another kind");
            if (g->detector && strcmp(x->sc->detectors[i].name, g->detector) == 0)
                break;
            if (g->detector && i + 1 == x->sc->n_detectors)
                return guardrail_key_fail(item, "detector", x->err, "no detector of that name in this scenario");
        }
        if (!any)
            return guardrail_key_fail(item, "alert", x->err,
                                      "an alert arrives on a webhook detector: this scenario has none");
    }
    if ((g->error_ratio != 0 || g->latency_ns != 0) && !g->probe)
        return guardrail_key_fail(item, g->error_ratio != 0 ? "error_ratio" : "latency", x->err,
                                  "'error_ratio' and 'latency' watch a probe: give 'probe: NAME'");
    if (g->probe) {
        bool found = false;
        for (size_t i = 0; i < x->sc->n_probes && !found; i++)
            found = strcmp(x->sc->probes[i].name, g->probe) == 0;
        if (!found) {
            ash_node v = ash_map_get(item, "probe");
            return ash_node_fail(&v, x->err, "no probe named '%s' in this scenario", g->probe);
        }
        if ((g->error_ratio != 0) == (g->latency_ns != 0))
            return guardrail_key_fail(item, "latency", x->err,
                                      g->error_ratio != 0
                                          ? "give 'error_ratio' or 'latency', not both: one condition per guardrail"
                                          : "say what trips it: 'error_ratio: 50%' or 'latency: 500ms'");
        if (g->error_ratio < 0 || g->error_ratio > 1)
            return guardrail_key_fail(item, "error_ratio", x->err, "'error_ratio' is a share from 0% to 100%");
        if (g->error_ratio == 0 && g->latency_ns <= 0)
            return guardrail_key_fail(item, "latency", x->err, "'latency' must be greater than 0");
        if (g->for_ns <= 0)
            return guardrail_key_fail(item, "for", x->err, "'for' must be greater than 0");
    } else if (ash_node_ok(&k_for)) {
        return ash_node_fail(&k_for, x->err, "'for' is the window of 'error_ratio' or 'latency'");
    }
    if (!g->exec.n && (ash_node_ok(&k_every) || ash_node_ok(&k_timeout)))
        return ash_node_fail(ash_node_ok(&k_every) ? &k_every : &k_timeout, x->err,
                             "'every' and 'timeout' go with 'exec'");
    if (g->exec.n && g->every_ns <= 0)
        return guardrail_key_fail(item, "every", x->err, "'every' must be greater than 0");
    if (g->exec.n && g->timeout_ns == 0)
        g->timeout_ns = g->every_ns;
    if (g->exec.n && g->timeout_ns < 0)
        return guardrail_key_fail(item, "timeout", x->err, "'timeout' must be greater than 0");
    return 0;
}

static int parse_guardrails(struct pctx *x, const ash_node *root)
{
    ash_node seq;
    if (get_seq(root, "guardrails", "guardrails", &seq, x->err) < 0)
        return -1;
    size_t n = ash_seq_len(&seq);
    if (n == 0)
        return 0;
    if (!(x->sc->guardrails = calloc(n, sizeof *x->sc->guardrails)))
        return ash_error(x->err, ENOMEM, "scenario");
    x->sc->n_guardrails = n;
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&seq, i);
        struct ash_guardrail_spec *g = &x->sc->guardrails[i];
        char what[160];
        item_what(&item, "guardrail", i, what, sizeof what);
        g->for_ns = 10 * ASH_NS_PER_S;
        g->every_ns = ASH_NS_PER_S;
        g->loc = ash_node_loc(&item);
        if (need_item_map(&item, "guardrail", x->err) < 0 ||
            check_keys_fields(&item, what, ash_guardrail_fields, NULL, x->err) < 0 ||
            ash_fields_parse(&item, ash_guardrail_fields, g, x->err) < 0 ||
            check_item_name(&item, "guardrail", g->name, x->err) < 0 ||
            check_unique(&seq, i, "guardrail", x->err) < 0 || check_guardrail(x, &item, g) < 0)
            return -1;
    }
    return 0;
}

/* ---------- plot ---------- */

/* `plot: [memory, latency:register]`: series the scenario already has, drawn
 * as lanes on the report's timeline. Checked against the probes and faults. */
static int parse_plot(struct pctx *x, const ash_node *root)
{
    ash_node seq;
    if (get_seq(root, "plot", "series (memory, latency:PROBE)", &seq, x->err) < 0)
        return -1;
    if (!ash_node_ok(&seq))
        return 0;
    struct ash_scenario *sc = x->sc;
    sc->plot_set = true;
    size_t n = ash_seq_len(&seq);
    if (n && !(sc->plot = calloc(n, sizeof *sc->plot)))
        return ash_error(x->err, ENOMEM, "scenario");
    for (size_t i = 0; i < n; i++) {
        ash_node item = ash_seq_at(&seq, i);
        const char *t = ash_node_text(&item);
        if (!t)
            return ash_node_fail(&item, x->err, "a plot entry is memory or latency:PROBE, got %s",
                                 ash_node_kind_name(&item));
        if (strcmp(t, "memory") == 0) {
            bool any = false;
            for (size_t k = 0; k < sc->n_faults && !any; k++)
                any = strcmp(sc->faults[k].kind->c.name, "memory-exhaustion") == 0;
            if (!any)
                return ash_node_fail(&item, x->err,
                                     "'memory' plots the samples a memory-exhaustion fault takes, and this scenario "
                                     "has none");
        } else if (strncmp(t, "latency:", 8) == 0) {
            bool found = false;
            for (size_t k = 0; k < sc->n_probes && !found; k++)
                found = strcmp(sc->probes[k].name, t + 8) == 0;
            if (!found)
                return ash_node_fail(&item, x->err, "no probe named '%s' in this scenario", t + 8);
        } else {
            return ash_node_fail(&item, x->err, "'%s' is not a series to plot (memory, latency:PROBE)", t);
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(sc->plot[k], t) == 0)
                return ash_node_fail(&item, x->err, "'%s' is plotted twice", t);
        if (!(sc->plot[i] = strdup(t)))
            return ash_error(x->err, ENOMEM, "scenario");
        sc->n_plot = i + 1;
    }
    return 0;
}

/* ---------- cross-references ---------- */

static ash_node dep_node(const struct svc_ref *r, size_t j)
{
    ash_node d = ash_map_get(&r->node, "depends_on");
    return ash_node_is_seq(&d) ? ash_seq_at(&d, j) : d;
}

static size_t svc_index(const struct pctx *x, const char *name)
{
    const struct ash_service_spec *s = ash_scenario_service(x->sc, name);
    for (size_t i = 0; s && i < x->n_svcs; i++)
        if (x->svcs[i].svc == s)
            return i;
    return (size_t)-1;
}

/* Depth-first search; `path` holds the services on the current branch. */
static int visit(struct pctx *x, size_t u, unsigned char *color, size_t *path, size_t depth)
{
    color[u] = 1;
    path[depth] = u;
    const struct ash_service_spec *s = x->svcs[u].svc;
    for (size_t j = 0; j < s->depends_on.n; j++) {
        size_t v = svc_index(x, s->depends_on.v[j]);
        if (color[v] == 1) {
            char cyc[ASH_ERROR_MSG_MAX / 2];
            size_t off = 0, start = 0;
            while (path[start] != v)
                start++;
            for (size_t k = start; k <= depth && off < sizeof cyc; k++)
                off += (size_t)snprintf(cyc + off, sizeof cyc - off, "%s -> ", x->svcs[path[k]].svc->name);
            if (off < sizeof cyc)
                snprintf(cyc + off, sizeof cyc - off, "%s", x->svcs[v].svc->name);
            ash_node d = dep_node(&x->svcs[u], j);
            return ash_node_fail(&d, x->err, "dependency cycle: %s", cyc);
        }
        if (color[v] == 0 && visit(x, v, color, path, depth + 1) < 0)
            return -1;
    }
    color[u] = 2;
    return 0;
}

static int check_dependencies(struct pctx *x)
{
    for (size_t i = 0; i < x->n_svcs; i++) {
        const struct ash_service_spec *s = x->svcs[i].svc;
        for (size_t j = 0; j < s->depends_on.n; j++)
            if (svc_index(x, s->depends_on.v[j]) == (size_t)-1) {
                ash_node d = dep_node(&x->svcs[i], j);
                return ash_node_fail(&d, x->err,
                                     "service '%s' depends on '%s', which is not a service in this "
                                     "scenario",
                                     s->name, s->depends_on.v[j]);
            }
    }
    unsigned char *color = calloc(x->n_svcs + 1, 1);
    size_t *path = calloc(x->n_svcs + 1, sizeof *path);
    int ret = color && path ? 0 : ash_error(x->err, ENOMEM, "scenario");
    for (size_t i = 0; ret == 0 && i < x->n_svcs; i++)
        if (!color[i])
            ret = visit(x, i, color, path, 0);
    free(color);
    free(path);
    return ret;
}

static int resolve_targets(struct pctx *x, const struct pending *p);
static int prepare_faults(struct pctx *x);

/* Fault names become nftables tables and service names cgroups (src/sys/objname.h):
 * two names that would make one object are refused here, before any run, at
 * the second name. By construction that takes a 32-bit hash collision. */
static int check_object_names(struct pctx *x, const ash_node *root)
{
    struct ash_scenario *sc = x->sc;
    char a[ASH_OBJNAME_PART_MAX + 1], b[ASH_OBJNAME_PART_MAX + 1];
    ash_node faults = ash_map_get(root, "faults");
    for (size_t i = 0; i < sc->n_faults; i++) {
        ash_objname_part(a, sc->faults[i].name);
        for (size_t j = 0; j < i; j++) {
            ash_objname_part(b, sc->faults[j].name);
            if (strcmp(a, b) != 0)
                continue;
            ash_node item = ash_seq_at(&faults, i), name = ash_map_get(&item, "name");
            return ash_node_fail(&name, x->err,
                                 "fault '%s' and fault '%s' (line %d) would share the kernel object name "
                                 "'ash-<run>-%s' (nftables table); rename one",
                                 sc->faults[i].name, sc->faults[j].name, sc->faults[j].loc.line, a);
        }
    }
    for (size_t i = 0; i < x->n_svcs; i++) {
        ash_objname_part(a, x->svcs[i].svc->name);
        for (size_t j = 0; j < i; j++) {
            ash_objname_part(b, x->svcs[j].svc->name);
            if (strcmp(a, b) != 0)
                continue;
            ash_node name = ash_map_get(&x->svcs[i].node, "name");
            return ash_node_fail(&name, x->err,
                                 "service '%s' and service '%s' (line %d) would share the kernel object name "
                                 "'ash-<run>-%s' (cgroup); rename one",
                                 x->svcs[i].svc->name, x->svcs[j].svc->name, x->svcs[j].svc->loc.line, a);
        }
    }
    return 0;
}

static int fail_loc(const struct ash_loc *loc, ash_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------- placeholders ---------- */

static const char *const builtin_placeholders[] = {"scenario_dir", "run_dir", "services_dir", "run_id", NULL};

/* How many detectors offer placeholder `name` (and, with `det`, whether that one does). */
static size_t placeholder_offers(const struct ash_scenario *sc, const char *name, size_t name_len, const char *det,
                                 size_t det_len, bool *named_offers)
{
    size_t n = 0;
    for (size_t i = 0; i < sc->n_detectors; i++) {
        const char *const *ph = sc->detectors[i].kind->placeholders;
        for (size_t k = 0; ph && ph[k]; k++)
            if (strlen(ph[k]) == name_len && strncmp(ph[k], name, name_len) == 0) {
                n++;
                if (det && strlen(sc->detectors[i].name) == det_len &&
                    strncmp(sc->detectors[i].name, det, det_len) == 0)
                    *named_offers = true;
            }
    }
    return n;
}

/* The keys whose values the run substitutes placeholders in (commands, env,
 * paths, URLs, addresses, headers, bodies; fleet's key_file and kubeconfig, paths
 * on this machine); a webhook's own `path` is not one. */
static bool substituted_here(const char *key, const char *parent)
{
    static const char *const keys[] = {"command", "env",      "inject",   "revert",     "exec", "path", "fd_path",
                                       "sqlite",  "postgres", "dsn",      "url",        "http", "tcp",  "address",
                                       "body",    "headers",  "key_file", "kubeconfig", NULL};
    if (!key || (parent && strcmp(parent, "webhook") == 0))
        return false;
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

/* One scalar: every {name} or {name:DETECTOR} in it must be one the run
 * substitutes, where it substitutes. `${x}` (shell) and `{{x}}` (Go
 * templates) are not placeholders. */
static int check_scalar_placeholders(struct pctx *x, const ash_node *n, const char *key, const char *parent)
{
    const char *t = ash_node_text(n);
    for (size_t i = 0; t && t[i]; i++) {
        if (t[i] != '{' || (i > 0 && (t[i - 1] == '$' || t[i - 1] == '{')) || t[i + 1] == '{')
            continue;
        size_t j = i + 1, colon = 0;
        if (!(t[j] >= 'a' && t[j] <= 'z'))
            continue;
        while ((t[j] >= 'a' && t[j] <= 'z') || (t[j] >= '0' && t[j] <= '9') || t[j] == '_')
            j++;
        if (t[j] == ':') {
            colon = j++;
            size_t d0 = j;
            while (t[j] && strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.", t[j]))
                j++;
            if (j == d0)
                continue;
        }
        if (t[j] != '}' || t[j + 1] == '}')
            continue;
        const char *name = t + i + 1;
        size_t name_len = (colon ? colon : j) - i - 1;
        struct ash_loc loc = ash_node_loc(n);
        yaml_scalar_style_t style = n->y->data.scalar.style;
        if (!strchr(t, '\n') && (style == YAML_PLAIN_SCALAR_STYLE || style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                                 style == YAML_DOUBLE_QUOTED_SCALAR_STYLE))
            loc.col += (int)i + (style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1);
        if (parent && strcmp(parent, "fleet") == 0 && key &&
            (strcmp(key, "engine_socket") == 0 || strcmp(key, "state_dir") == 0))
            return fail_loc(&loc, x->err,
                            "placeholder '%.*s' in 'fleet.%s' cannot be substituted: it is a path on each node, "
                            "there before the run, and the run's placeholders name this machine's paths or this "
                            "run (swarm's {{.Node.Hostname}} expands on the node)",
                            (int)(j - i + 1), t + i, key);
        if (!substituted_here(key, parent)) {
            return fail_loc(&loc, x->err,
                            "placeholder '%.*s' in '%s' would stay as it is: the run substitutes placeholders in "
                            "commands, env, paths, URLs, addresses, headers and bodies only",
                            (int)(j - i + 1), t + i, key ? key : "?");
        }
        const char *det = colon ? t + colon + 1 : NULL;
        size_t det_len = colon ? j - colon - 1 : 0;
        bool builtin = false, named = false;
        for (size_t k = 0; !colon && !builtin && builtin_placeholders[k]; k++)
            builtin =
                strlen(builtin_placeholders[k]) == name_len && strncmp(builtin_placeholders[k], name, name_len) == 0;
        if (builtin)
            continue;
        size_t offers = placeholder_offers(x->sc, name, name_len, det, det_len, &named);
        int len = (int)(j - i + 1);
        /* An exec fault's revert is promised to the journal before anything
         * starts (so `recover` can run it): a detector's value is not known yet. */
        if (key && strcmp(key, "revert") == 0)
            return fail_loc(&loc, x->err,
                            "placeholder '%.*s' cannot be used in 'revert': the revert command is journaled before "
                            "the detectors start; only {scenario_dir}, {run_dir}, {services_dir} and {run_id} are "
                            "known then",
                            len, t + i);
        if (colon && !named)
            return fail_loc(&loc, x->err,
                            "placeholder '%.*s' cannot be substituted: no detector named '%.*s' offers {%.*s}", len,
                            t + i, (int)det_len, det, (int)name_len, name);
        if (colon || offers == 1)
            continue;
        if (offers > 1)
            return fail_loc(&loc, x->err,
                            "placeholder '%.*s' is ambiguous: %zu detectors offer it; name one as {%.*s:DETECTOR}", len,
                            t + i, offers, (int)name_len, name);
        if (name_len > 8 && strncmp(name, "webhook_", 8) == 0)
            return fail_loc(&loc, x->err,
                            "placeholder '%.*s' cannot be substituted: the scenario has no webhook detector", len,
                            t + i);
        return fail_loc(&loc, x->err,
                        "unknown placeholder '%.*s': the run substitutes {scenario_dir}, {run_dir}, {services_dir}, "
                        "{run_id} and its detectors' ({webhook_url}, {webhook_port})",
                        len, t + i);
    }
    return 0;
}

static int check_placeholders_in(struct pctx *x, const ash_node *n, int depth, const char *key, const char *parent)
{
    if (ash_node_is_scalar(n))
        return check_scalar_placeholders(x, n, key, parent);
    if (ash_node_is_seq(n)) {
        for (size_t i = 0; i < ash_seq_len(n); i++) {
            ash_node c = ash_seq_at(n, i);
            if (check_placeholders_in(x, &c, depth + 1, key, parent) < 0)
                return -1;
        }
        return 0;
    }
    ash_node k, v;
    for (size_t i = 0; ash_node_is_map(n) && ash_map_pair(n, i, &k, &v); i++) {
        const char *k_text = ash_node_text(&k);
        /* Prose, shown in reports, never run. */
        if (depth == 0 && k_text &&
            (strcmp(k_text, "title") == 0 || strcmp(k_text, "description") == 0 || strcmp(k_text, "incident") == 0))
            continue;
        if (check_placeholders_in(x, &v, depth + 1, k_text, key) < 0)
            return -1;
    }
    return 0;
}

/* `from: NODE` or `from: NODE/CONTAINER` (fleet): the node's agent runs the probe.
 * 1: it is one (p->node set), 0: another form, -1: refused. A name with '/' is
 * always this form (a host's name has none); a bare name is a node when it is one
 * of fleet.nodes. */
static int probe_from_node(struct pctx *x, const ash_node *probes, size_t i)
{
    struct ash_scenario *sc = x->sc;
    struct ash_probe_spec *p = &sc->probes[i];
    const char *from = p->from;
    if (!from || strncmp(from, "container:", 10) == 0 || strncmp(from, "process:", 8) == 0)
        return 0;
    const char *slash = strchr(from, '/');
    size_t nlen = slash ? (size_t)(slash - from) : strlen(from);
    bool known = false;
    for (size_t k = 0; sc->fleet.set && k < sc->fleet.nodes.n; k++)
        known |= strlen(sc->fleet.nodes.v[k]) == nlen && strncmp(sc->fleet.nodes.v[k], from, nlen) == 0;
    if (!slash && !known)
        return 0; /* a sandbox host (or an unknown name: the host check says so) */
    ash_node item = ash_seq_at(probes, i), f = ash_map_get(&item, "from");
    if (!sc->fleet.set)
        return ash_node_fail(&f, x->err,
                             "probe '%s': 'from: %s' names a container on a fleet node (NODE/CONTAINER), but this "
                             "scenario has no 'fleet:' section (docs/fleet.md)",
                             p->name, from);
    if (!known)
        return ash_node_fail(&f, x->err, "probe '%s': node '%.*s' is not in fleet.nodes (list it there)", p->name,
                             (int)nlen, from);
    if (!slash && ash_scenario_host(sc, from))
        return ash_node_fail(
            &f, x->err, "probe '%s': '%s' is both a host of this scenario and a fleet node: rename one", p->name, from);
    if (slash) {
        char msg[300], ref_s[300];
        struct ash_target_ref ref = {0};
        /* NODE/NAME is a container; NODE/process:SELECTOR a process, as a local `from:` takes them. */
        const char *rest = slash + 1;
        bool typed = strncmp(rest, "container:", 10) == 0 || strncmp(rest, "process:", 8) == 0;
        snprintf(ref_s, sizeof ref_s, "%s%s", typed ? "" : "container:", rest);
        int r = 0;
        if (!rest[0])
            r = (snprintf(msg, sizeof msg, "no container after '/' (NODE/CONTAINER)"), -1);
        else if (strncmp(rest, "pod:", 4) == 0)
            r = (snprintf(msg, sizeof msg,
                          "a probe does not sample from a pod yet (as a local 'from:'): name one of its containers' "
                          "processes with NODE/process:..."),
                 -1);
        else
            r = ash_target_ref_parse(ref_s, &ref, msg, sizeof msg);
        if (r == 0)
            r = ash_target_selector_check(ref.type, ref.name, msg, sizeof msg);
        ash_target_ref_clear(&ref);
        if (r < 0)
            return ash_node_fail(&f, x->err, "probe '%s': from: %s: %s", p->name, from, msg);
        if (!(p->node_from = strdup(ref_s)))
            return ash_error(x->err, ENOMEM, "probe '%s'", p->name);
    }
    /* What an agent takes (fleet/probe_msg.h, ASH_PROBE_MSG_EVERY_*): said here, not at warm-up. */
    if (p->every_ns < ASH_NS_PER_MS || p->every_ns > 3600 * ASH_NS_PER_S) {
        ash_node every = ash_map_get(&item, "every");
        return ash_node_fail(&every, x->err, "probe '%s': a probe on a fleet node samples every 1ms to 1h", p->name);
    }
    if (!(p->node = strndup(from, nlen)))
        return ash_error(x->err, ENOMEM, "probe '%s'", p->name);
    return 1;
}

/* `from: HOST` where fleet.hosts places HOST on a node: that node's agent samples
 * it inside the host it built (node_from "host:HOST"). 1: it is one, 0: not. */
static int probe_from_placed(struct pctx *x, const ash_node *probes, size_t i)
{
    struct ash_probe_spec *p = &x->sc->probes[i];
    const char *node = p->from ? ash_scenario_host_node(x->sc, p->from) : NULL;
    if (!node)
        return 0;
    if (p->every_ns < ASH_NS_PER_MS || p->every_ns > 3600 * ASH_NS_PER_S) {
        ash_node item = ash_seq_at(probes, i), every = ash_map_get(&item, "every");
        return ash_node_fail(&every, x->err, "probe '%s': a probe on a fleet node samples every 1ms to 1h", p->name);
    }
    size_t len = strlen(p->from) + 6;
    if (!(p->node = strdup(node)) || !(p->node_from = malloc(len)))
        return ash_error(x->err, ENOMEM, "probe '%s'", p->name);
    snprintf(p->node_from, len, "host:%s", p->from);
    return 1;
}

/* `until: remediated` ends a fault only through a remediation that reverts it
 * (`revert: FAULT`) or on its own (a kind's ends_itself: a lock whose owner's
 * session ends); a remediation that restarts a service or runs a command does not, and
 * the fault would silently last to the end of the run (and the run to its
 * timeout): said at validation, a warning since ending with the run can be meant. */
static void warn_until_remediated(struct pctx *x, const ash_node *root)
{
    struct ash_scenario *sc = x->sc;
    ash_node faults = ash_map_get(root, "faults");
    for (size_t i = 0; i < sc->n_faults; i++) {
        const struct ash_fault_spec *f = &sc->faults[i];
        if (!f->until_remediated || (f->kind->ends_itself && f->kind->ends_itself(f)))
            continue;
        bool reverted = false;
        for (size_t j = 0; j < sc->n_remediations && !reverted; j++) {
            const struct ash_remediation_spec *r = &sc->remediations[j];
            const char *name = r->action && r->action->reverts ? r->action->reverts(r->conf) : NULL;
            reverted = name && strcmp(name, f->name) == 0;
        }
        if (reverted)
            continue;
        ash_node item = ash_seq_at(&faults, i), until = ash_map_get(&item, "until");
        ash_node_warn(&until,
                      "fault '%s' lasts until a remediation reverts it, and none does (add one with 'revert: %s'; a "
                      "restart or an exec does not end it): it lasts to the end of the run",
                      f->name, f->name);
    }
}

static int check_references(struct pctx *x, const ash_node *root)
{
    if (check_object_names(x, root) < 0)
        return -1;
    if (check_placeholders_in(x, root, 0, NULL, NULL) < 0)
        return -1;
    struct ash_scenario *sc = x->sc;
    if (check_dependencies(x) < 0)
        return -1;
    warn_until_remediated(x, root);
    for (size_t i = 0; i < sc->n_verify; i++)
        if (sc->verify[i].host && ash_scenario_host_node(sc, sc->verify[i].host))
            return fail_loc(&sc->verify[i].loc, x->err, "%s",
                            ash_placed_refusal(sc, sc->verify[i].host, "a verify command"));
    ash_node probes = ash_map_get(root, "probes");
    for (size_t i = 0; i < sc->n_probes; i++) {
        const char *from = sc->probes[i].from;
        int fr = probe_from_node(x, &probes, i);
        if (fr < 0)
            return -1;
        if (fr > 0)
            continue;
        if ((fr = probe_from_placed(x, &probes, i)) < 0)
            return -1;
        if (fr > 0)
            continue;
        if (from && (strncmp(from, "container:", 10) == 0 || strncmp(from, "process:", 8) == 0)) {
            /* Looked up when the probe starts (or by validate --resolve's run): only its form here. */
            char msg[300];
            struct ash_target_ref ref = {0};
            int r = ash_target_ref_parse(from, &ref, msg, sizeof msg);
            if (r == 0)
                r = ash_target_selector_check(ref.type, ref.name, msg, sizeof msg);
            ash_target_ref_clear(&ref);
            if (r < 0) {
                ash_node item = ash_seq_at(&probes, i), f = ash_map_get(&item, "from");
                return ash_node_fail(&f, x->err, "probe '%s': from: %s", sc->probes[i].name, msg);
            }
            continue;
        }
        if (from && !ash_scenario_host(sc, from)) {
            ash_node item = ash_seq_at(&probes, i), f = ash_map_get(&item, "from");
            if (sc->fleet.set)
                return ash_node_fail(&f, x->err,
                                     "probe '%s' runs from '%s', which is neither a node in fleet.nodes nor a host of "
                                     "this scenario",
                                     sc->probes[i].name, from);
            if (sc->n_hosts == 0)
                return ash_node_fail(&f, x->err,
                                     "probe '%s' runs from host '%s', but this scenario has no hosts "
                                     "(leave 'from' out to probe from the harness)",
                                     sc->probes[i].name, from);
            return ash_node_fail(&f, x->err, "probe '%s' runs from '%s', which is not a host in this scenario",
                                 sc->probes[i].name, from);
        }
    }
    /* Each kind checks its own references (services, faults, probes). A kind
     * unavailable on this machine is still checked: the scenario is valid anyway. */
    for (size_t i = 0; i < x->n_pend; i++) {
        const struct pending *p = &x->pend[i];
        if (resolve_targets(x, p) < 0)
            return -1;
        if (p->c->validate && p->c->validate(p->conf, &p->node, sc, x->err) < 0) {
            if (x->err)
                x->err->klass = ASH_ERR_USAGE;
            return -1;
        }
    }
    return prepare_faults(x);
}

/* ---------- targets ---------- */

static int fail_loc(const struct ash_loc *loc, ash_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_loc(const struct ash_loc *loc, ash_error_t *err, const char *fmt, ...)
{
    char msg[ASH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ash_error_class(err, ASH_ERR_USAGE, 0, "%s:%d:%d: %s", loc->file ? loc->file : "<scenario>", loc->line,
                           loc->col, msg);
}

/* What to do instead, when a target lacks what a kind needs. */
static const char *cap_hint(const struct ash_scenario *sc, unsigned cap, int type)
{
    if (cap == ASH_CAP_NETNS && type == ASH_TARGET_SERVICE)
        return sc->n_hosts ? " (aim it at the sandbox host the service runs on: target: host:NAME)"
                           : " (a host-mode service shares the machine's own network; network harm needs sandbox "
                             "mode: give the scenario 'hosts:' and aim at one with target: host:NAME)";
    if (cap == ASH_CAP_LAUNCHED && type == ASH_TARGET_HOST)
        return " (aim it at one of the host's services: target: service:HOST/NAME)";
    /* Injecting a filter is possible (ptrace, seccomp() with SECCOMP_FILTER_FLAG_NEW_LISTENER
     * called by the target, the listener taken with pidfd_getfd), but not safely: a filter
     * stays for the process's life, and once the listener closes its calls fail. */
    if (cap == ASH_CAP_LAUNCHED &&
        (type == ASH_TARGET_CONTAINER || type == ASH_TARGET_PROCESS || type == ASH_TARGET_CGROUP))
        return " (aftershock did not start it, and a seccomp filter cannot be removed from a running process: "
               "put into it, the filter would outlive the run, and once aftershock's listener closed the calls it "
               "names would fail with ENOSYS for the rest of the process's life; aim it at a service the scenario "
               "starts: target: service:NAME)";
    if ((cap == ASH_CAP_RESTART || cap == ASH_CAP_MAIN) && type == ASH_TARGET_HOST)
        return " (aim it at a service: target: service:NAME)";
    return "";
}

/* A target on a fleet node: the node is one of fleet.nodes, and the target is of a
 * type an agent reaches there (what already runs, not this run's hosts and services). */
static int check_node(const struct ash_scenario *sc, const struct ash_target_ref *ref, const char *kind,
                      ash_error_t *err)
{
    if (!sc->fleet.set)
        return fail_loc(&ref->loc, err,
                        "%s: the target names node '%s', but this scenario has no 'fleet:' section (docs/fleet.md)",
                        kind, ref->node);
    bool known = false;
    for (size_t i = 0; i < sc->fleet.nodes.n; i++)
        known |= strcmp(sc->fleet.nodes.v[i], ref->node) == 0;
    if (!known)
        return fail_loc(&ref->loc, err, "node '%s' is not in fleet.nodes (list it there)", ref->node);
    const char *placed = ref->type == ASH_TARGET_HOST ? ash_scenario_host_node(sc, ref->name) : NULL;
    if (placed && strcmp(placed, ref->node) == 0)
        return 0; /* a host its agent builds (fleet.hosts) */
    if (ref->type < ASH_TARGET_CONTAINER) {
        char buf[300];
        return fail_loc(&ref->loc, err,
                        "%s on node '%s': an agent reaches container:, process: and cgroup: targets on its node, "
                        "not '%s' (a host or service of this run is on this machine)",
                        kind, ref->node, ash_target_ref_str(ref, buf, sizeof buf));
    }
    return 0;
}

static bool (*container_lookup)(const char *endpoint, const char *name);

void ash_scenario_set_container_lookup(bool (*fn)(const char *endpoint, const char *name))
{
    container_lookup = fn;
}

/* A name that is no host or service of the scenario may be a container the user runs
 * (a bare `target: web` for container:web). Asked only on this failing path, through the
 * engine's lookup (env/ is above this layer), which gives up at once without a socket. */
static const char *container_hint(const struct ash_scenario *sc, const char *name, unsigned needs, char *buf,
                                  size_t len)
{
    buf[0] = '\0';
    if (container_lookup && (ash_target_caps(ASH_TARGET_CONTAINER) & needs) == needs &&
        container_lookup(sc->runtime.docker_host, name))
        snprintf(buf, len, "; a running container has that name: write 'container:%s'", name);
    return buf;
}

int ash_scenario_resolve_target(const struct ash_scenario *sc, struct ash_target_ref *ref, unsigned needs,
                                const char *kind, ash_error_t *err)
{
    if (ref->node && check_node(sc, ref, kind, err) < 0)
        return -1;
    if (ref->swarm && (!sc->fleet.set || sc->fleet.engine != ASH_FLEET_SWARM))
        return fail_loc(&ref->loc, err,
                        "%s: 'swarm_service: %s' is resolved through the swarm manager, so it needs 'fleet:' with "
                        "'engine: swarm'%s (docs/fleet.md)",
                        kind, ref->name,
                        sc->fleet.set ? "; this fleet's engine is another: name the node, {node: N, container: C}"
                                      : "");
    if (ref->kube && (!sc->fleet.set || sc->fleet.engine != ASH_FLEET_KUBERNETES))
        return fail_loc(&ref->loc, err,
                        "%s: 'pods: %s' is listed through the Kubernetes API, so it needs 'fleet:' with 'engine: "
                        "kubernetes'%s (docs/fleet.md)",
                        kind, ref->name,
                        sc->fleet.set ? "; this fleet's engine is another: name the node, {node: N, pod: {...}}" : "");
    const char *name = ref->name;
    const struct ash_host_spec *h = ash_scenario_host(sc, name);
    const struct ash_service_spec *s = ash_scenario_service(sc, name);
    /* A bare name is what it names; when it names both or nothing, and only one type of
     * target could serve the kind, it is of that type (so messages can be precise). */
    bool host_ok = (ash_target_caps(ASH_TARGET_HOST) & needs) == needs;
    bool svc_ok = (ash_target_caps(ASH_TARGET_SERVICE) & needs) == needs;
    if (ref->type == ASH_TARGET_UNRESOLVED && !h != !s)
        ref->type = h ? ASH_TARGET_HOST : ASH_TARGET_SERVICE;
    else if (ref->type == ASH_TARGET_UNRESOLVED && host_ok != svc_ok)
        ref->type = host_ok ? ASH_TARGET_HOST : ASH_TARGET_SERVICE;
    char hint[400];
    switch (ref->type) {
    case ASH_TARGET_UNRESOLVED:
        if (h && s)
            return fail_loc(&ref->loc, err, "'%s' is both a host and a service: write 'host:%s' or 'service:%s'", name,
                            name, name);
        if (!h && !s)
            return fail_loc(&ref->loc, err, "no host or service named '%s' in this scenario%s", name,
                            container_hint(sc, name, needs, hint, sizeof hint));
        ref->type = h ? ASH_TARGET_HOST : ASH_TARGET_SERVICE;
        break;
    case ASH_TARGET_HOST:
        if (sc->n_hosts == 0)
            return fail_loc(&ref->loc, err, "%s on host '%s' needs sandbox mode: this scenario has no 'hosts:'%s", kind,
                            name, svc_ok ? " (in host mode aim at a service: target: service:NAME)" : "");
        if (!h)
            return fail_loc(&ref->loc, err, "no host named '%s' in this scenario", name);
        if (h->node && !(ref->node && strcmp(ref->node, h->node) == 0))
            return fail_loc(&ref->loc, err, "%s", ash_placed_refusal(sc, name, kind));
        break;
    case ASH_TARGET_SERVICE:
        if (!s)
            return fail_loc(&ref->loc, err, "no service named '%s' in this scenario%s", name,
                            container_hint(sc, name, needs, hint, sizeof hint));
        if (s->host && ash_scenario_host_node(sc, s->host))
            return fail_loc(&ref->loc, err, "%s", ash_placed_refusal(sc, s->host, kind));
        break;
    case ASH_TARGET_CONTAINER:
        /* Looked up at run time, through the engine: validation does not need it. The
         * ref carries the socket, so whoever resolves it (the run, a fleet agent) needs
         * nothing else of the scenario. */
        free(ref->endpoint);
        ref->endpoint = NULL;
        if (sc->runtime.docker_host && !(ref->endpoint = strdup(sc->runtime.docker_host)))
            return ash_error(err, ENOMEM, "scenario");
        break;
    case ASH_TARGET_PROCESS:
    case ASH_TARGET_CGROUP:
    case ASH_TARGET_POD:
        break; /* what already runs is looked up at run time */
    default:
        return fail_loc(&ref->loc, err, "target '%s' has an unknown type", name);
    }
    unsigned missing = needs & ~ash_target_caps(ref->type);
    if (missing) {
        unsigned cap = missing & -missing;
        return fail_loc(&ref->loc, err, "%s needs a target with %s; %s '%s' has none%s", kind, ash_target_cap_name(cap),
                        ash_target_type_names[ref->type], name, cap_hint(sc, cap, ref->type));
    }
    return 0;
}

struct ash_prepare {
    struct ash_scenario *sc;
};

static int add_syscalls(struct ash_service_spec *s, const char *const *names, size_t n)
{
    s->seccomp = true;
    for (size_t i = 0; i < n; i++) {
        char pat[80], cur[sizeof s->seccomp_syscalls + 2];
        snprintf(pat, sizeof pat, ",%s,", names[i]);
        snprintf(cur, sizeof cur, ",%s,", s->seccomp_syscalls);
        if (strstr(cur, pat))
            continue;
        size_t len = strlen(s->seccomp_syscalls);
        if (len + strlen(names[i]) + 2 > sizeof s->seccomp_syscalls)
            return -1;
        snprintf(s->seccomp_syscalls + len, sizeof s->seccomp_syscalls - len, "%s%s", len ? "," : "", names[i]);
    }
    return 0;
}

int ash_prepare_seccomp(struct ash_prepare *p, const struct ash_target_ref *target, const char *const *syscalls,
                        size_t n, ash_error_t *err)
{
    struct ash_scenario *sc = p->sc;
    int bad = 0;
    if (target->type == ASH_TARGET_HOST) {
        for (size_t i = 0; i < sc->n_hosts; i++)
            for (size_t k = 0; strcmp(sc->hosts[i].name, target->name) == 0 && k < sc->hosts[i].n_services; k++)
                bad |= add_syscalls(&sc->hosts[i].services[k], syscalls, n);
    } else {
        struct ash_service_spec *s = ash_scenario_service(sc, target->name);
        bad = s ? add_syscalls(s, syscalls, n) : -1;
    }
    if (bad)
        return fail_loc(&target->loc, err, "too many syscalls filtered for %s '%s' (the launcher's list is full)",
                        ash_target_type_names[target->type], target->name);
    return 0;
}

/* After every kind validated: what the faults need of the run (the seccomp launcher). */
static int prepare_faults(struct pctx *x)
{
    struct ash_prepare p = {x->sc};
    for (size_t i = 0; i < x->sc->n_faults; i++) {
        const struct ash_fault_spec *f = &x->sc->faults[i];
        if (f->kind && f->kind->prepare && f->kind->prepare(f->conf, &p, x->err) < 0)
            return -1;
    }
    return 0;
}

/* The node of the first target of conf that names one. */
static const char *targets_node(const struct ash_field *fields, const void *conf)
{
    for (const struct ash_field *f = fields; f && f->key; f++) {
        if (f->type != ASH_F_TARGET || (f->flags & ASH_FIELD_DEPRECATED))
            continue;
        const struct ash_target_ref *ref = (const struct ash_target_ref *)((const char *)conf + f->offset);
        if (ref->name && ref->node)
            return ref->node;
        if (ref->name && (ref->swarm || ref->kube))
            return ash_target_resolved_node;
    }
    return NULL;
}

const char *ash_fault_node(const struct ash_fault_spec *f)
{
    return f->kind ? targets_node(f->kind->c.fields, f->conf) : NULL;
}

bool ash_fault_hits_running(const struct ash_fault_spec *f)
{
    for (const struct ash_field *fl = f->kind ? f->kind->c.fields : NULL; fl && fl->key; fl++) {
        if (fl->type != ASH_F_TARGET || (fl->flags & ASH_FIELD_DEPRECATED))
            continue;
        const struct ash_target_ref *ref = (const struct ash_target_ref *)((const char *)f->conf + fl->offset);
        if (ref->name && ref->type >= ASH_TARGET_CONTAINER)
            return true;
    }
    return false;
}

const struct ash_target_ref *ash_fault_run_resolved(const struct ash_fault_spec *f)
{
    for (const struct ash_field *fl = f->kind ? f->kind->c.fields : NULL; fl && fl->key; fl++) {
        if (fl->type != ASH_F_TARGET || (fl->flags & ASH_FIELD_DEPRECATED))
            continue;
        const struct ash_target_ref *ref = (const struct ash_target_ref *)((const char *)f->conf + fl->offset);
        if (ref->name && (ref->swarm || ref->kube))
            return ref;
    }
    return NULL;
}

const char *ash_fault_kube_pods(const struct ash_fault_spec *f)
{
    const struct ash_target_ref *ref = ash_fault_run_resolved(f);
    return ref && ref->kube ? ref->name : NULL;
}

const char *ash_fault_swarm_service(const struct ash_fault_spec *f)
{
    const struct ash_target_ref *ref = ash_fault_run_resolved(f);
    return ref && ref->swarm ? ref->name : NULL;
}

/* How many target fields of p name a target: a swarm service's tasks are the fault's only one. */
static size_t targets_node_count(const struct pending *p)
{
    size_t n = 0;
    for (const struct ash_field *f = p->c->fields; f && f->key; f++)
        if (f->type == ASH_F_TARGET && !(f->flags & ASH_FIELD_DEPRECATED))
            n += ((const struct ash_target_ref *)((const char *)p->conf + f->offset))->name != NULL;
    return n;
}

/* Every target field of a kind's config, resolved and checked against what the kind needs. */
/* Whether p is a fault's config (the run hands only faults to the agents). */
static bool pending_is_fault(const struct pctx *x, const struct pending *p)
{
    for (size_t i = 0; i < x->sc->n_faults; i++)
        if (x->sc->faults[i].conf == p->conf)
            return true;
    return false;
}

static int resolve_targets(struct pctx *x, const struct pending *p)
{
    for (const struct ash_field *f = p->c->fields; f && f->key; f++) {
        const struct ash_target_ref *ref = (const struct ash_target_ref *)((const char *)p->conf + f->offset);
        if (f->type == ASH_F_TARGET && !(f->flags & ASH_FIELD_DEPRECATED) && ref->name && (ref->swarm || ref->kube) &&
            !pending_is_fault(x, p))
            return fail_loc(&ref->loc, x->err,
                            "'%s': only a fault's target may be a swarm service's tasks (the run hands faults to the "
                            "nodes' agents; a detector or a remediation runs on this machine)",
                            p->c->name);
    }
    /* A fault on a host fleet.hosts places on a node is applied by that node's agent. */
    for (const struct ash_field *f = p->c->fields; pending_is_fault(x, p) && f && f->key; f++) {
        struct ash_target_ref *ref = (struct ash_target_ref *)((char *)p->conf + f->offset);
        if (f->type != ASH_F_TARGET || (f->flags & ASH_FIELD_DEPRECATED) || !ref->name || ref->node)
            continue;
        const char *hn = ash_scenario_host_node(x->sc, ref->name);
        bool host = ref->type == ASH_TARGET_HOST ||
                    (ref->type == ASH_TARGET_UNRESOLVED && !ash_scenario_service(x->sc, ref->name));
        if (hn && host) {
            if (!(ref->node = strdup(hn)))
                return ash_error(x->err, ENOMEM, "target");
            ref->type = ASH_TARGET_HOST;
        }
    }
    const char *node = targets_node(p->c->fields, p->conf);
    /* One agent applies a fault: all its targets are on one node (or all here). */
    for (const struct ash_field *f = p->c->fields; node && f && f->key; f++) {
        if (f->type != ASH_F_TARGET || (f->flags & ASH_FIELD_DEPRECATED))
            continue;
        const struct ash_target_ref *ref = (const struct ash_target_ref *)((const char *)p->conf + f->offset);
        bool resolved = ref->swarm || ref->kube;
        const char *own = resolved ? ash_target_resolved_node : ref->node;
        if (ref->name && (!own || strcmp(own, node) != 0 || (resolved && targets_node_count(p) > 1)))
            return fail_loc(&ref->loc, x->err,
                            "'%s': every target of one fault is on one node (node '%s' applies it), this one is %s%s",
                            p->c->name, node, own ? "on node " : "on this machine", own ? own : "");
    }
    for (const struct ash_field *f = p->c->fields; f && f->key; f++) {
        if (f->type != ASH_F_TARGET || (f->flags & ASH_FIELD_DEPRECATED))
            continue;
        struct ash_target_ref *ref = (struct ash_target_ref *)((char *)p->conf + f->offset);
        if (!ref->name)
            continue;
        char kind[96];
        snprintf(kind, sizeof kind, "'%s'", p->c->name);
        if (ash_scenario_resolve_target(x->sc, ref, f->needs, kind, x->err) < 0)
            return -1;
    }
    return 0;
}

/* ---------- top level ---------- */

static int parse_root(struct pctx *x)
{
    struct ash_scenario *sc = x->sc;
    ash_node root = ash_doc_root(sc->doc);
    if (!ash_node_ok(&root))
        return ash_node_fail(&root, x->err, "the scenario is empty: it needs at least 'version: 1' and 'name'");
    if (!ash_node_is_map(&root))
        return ash_node_fail(&root, x->err, "a scenario is a mapping (version: 1, name: ..., probes: ...), got %s",
                             ash_node_kind_name(&root));
    if (ash_map_check_keys(&root, "the scenario", top_keys, NULL, x->err) < 0)
        return -1;

    ash_node v = ash_map_get(&root, "version");
    long long version;
    if (!ash_node_ok(&v))
        return ash_node_fail(&root, x->err, "missing required key 'version' (this aftershock reads version: 1)");
    if (ash_node_int(&v, 0, 0, &version, x->err) < 0)
        return -1;
    if (version != 1)
        return ash_node_fail(&v, x->err, "unsupported version %lld: this aftershock reads version 1", version);
    sc->version = 1;

    ash_node name = ash_map_get(&root, "name");
    if (!ash_node_ok(&name))
        return ash_node_fail(&root, x->err, "missing required key 'name'");
    if (ash_node_string(&name, &sc->name, x->err) < 0)
        return -1;
    if (!matches(ASH_SCENARIO_NAME_RE, sc->name))
        return ash_node_fail(&name, x->err, "bad scenario name '%s': use a-z, 0-9 and '-' only", sc->name);
    if (strlen(sc->name) > ASH_SCENARIO_NAME_MAX)
        return ash_node_fail(&name, x->err,
                             "scenario name is %zu characters long, at most %d: it names the run directory "
                             "(NAME-YYYYMMDDTHHMMSSZ), and a file name has at most 255 bytes",
                             strlen(sc->name), ASH_SCENARIO_NAME_MAX);
    ash_node title = ash_map_get(&root, "title"), desc = ash_map_get(&root, "description");
    if ((ash_node_ok(&title) && ash_node_string(&title, &sc->title, x->err) < 0) ||
        (ash_node_ok(&desc) && ash_node_string(&desc, &sc->description, x->err) < 0))
        return -1;
    if (parse_incident(x, &root) < 0)
        return -1;
    sc->timescale = 1;
    ash_node ts = ash_map_get(&root, "timescale");
    if (ash_node_ok(&ts)) {
        if (ash_node_double(&ts, 0, 0, &sc->timescale, x->err) < 0)
            return -1;
        if (sc->timescale <= 0)
            return ash_node_fail(&ts, x->err, "'timescale' must be greater than 0");
    }

    if (parse_hosts(x, &root) < 0 || parse_fleet(x, &root) < 0)
        return -1;
    ash_node svcs;
    if (get_seq(&root, "services", "services", &svcs, x->err) < 0)
        return -1;
    ash_node hosts_key = ash_map_key(&root, "hosts");
    if (ash_node_ok(&svcs) && ash_node_ok(&hosts_key)) {
        ash_node k = ash_map_key(&root, "services");
        return ash_node_fail(&k, x->err,
                             "top-level 'services' are for host mode; with 'hosts', list each "
                             "service under its host");
    }
    if (parse_services(x, &svcs, NULL, &sc->services, &sc->n_services) < 0 || parse_probes(x, &root) < 0 ||
        parse_detectors(x, &root) < 0 || parse_faults(x, &root) < 0 || parse_remediations(x, &root) < 0 ||
        parse_expect(x, &root) < 0 || parse_dns(x, &root) < 0 || parse_verify(x, &root) < 0 ||
        parse_guardrails(x, &root) < 0 || parse_runtime(x, &root) < 0 || parse_plot(x, &root) < 0)
        return -1;
    return check_references(x, &root);
}

static int load_doc(ash_doc *doc, const char *file, const char *dir, const struct ash_kind_set *kinds,
                    struct ash_scenario **out, ash_error_t *err)
{
    struct ash_scenario *sc = calloc(1, sizeof *sc);
    if (!sc) {
        ash_doc_free(doc);
        return ash_error(err, ENOMEM, "scenario");
    }
    sc->doc = doc;
    struct pctx x = {.sc = sc, .err = err, .kinds = kinds};
    int ret = 0;
    if (!(sc->file = strdup(file)) || !(sc->dir = strdup(dir)))
        ret = ash_error(err, ENOMEM, "scenario");
    else
        ret = parse_root(&x);
    free(x.svcs);
    free(x.pend);
    if (ret < 0) {
        ash_scenario_free(sc);
        return -1;
    }
    *out = sc;
    return 0;
}

int ash_scenario_load_with(const char *path, const struct ash_kind_set *kinds, struct ash_scenario **out,
                           ash_error_t *err)
{
    *out = NULL;
    ash_doc *doc;
    if (ash_doc_load_file(path, &doc, err) < 0)
        return -1;
    char *abs = realpath(path, NULL);
    if (!abs) {
        ash_doc_free(doc);
        return ash_error_class(err, ASH_ERR_USAGE, errno, "cannot resolve '%s'", path);
    }
    int ret = load_doc(doc, path, dirname(abs), kinds, out, err);
    free(abs);
    return ret;
}

int ash_scenario_load_string_with(const char *name, const char *text, size_t len, const struct ash_kind_set *kinds,
                                  struct ash_scenario **out, ash_error_t *err)
{
    *out = NULL;
    ash_doc *doc;
    if (ash_doc_load_string(name, text, len, &doc, err) < 0)
        return -1;
    /* No file: {scenario_dir} is the working directory. */
    char *cwd = getcwd(NULL, 0);
    if (!cwd) {
        ash_doc_free(doc);
        return ash_error(err, errno, "cannot get the working directory");
    }
    int ret = load_doc(doc, name, cwd, kinds, out, err);
    free(cwd);
    return ret;
}

static void free_services(struct ash_service_spec *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ash_fields_free(ash_service_fields, &v[i]);
        free(v[i].host);
    }
    free(v);
}

void ash_scenario_free(struct ash_scenario *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->n_hosts; i++) {
        free_services(sc->hosts[i].services, sc->hosts[i].n_services);
        ash_fields_free(ash_host_fields, &sc->hosts[i]);
        free(sc->hosts[i].node);
    }
    free(sc->hosts);
    free_services(sc->services, sc->n_services);
    for (size_t i = 0; i < sc->n_probes; i++) {
        struct ash_probe_spec *p = &sc->probes[i];
        if (p->kind)
            ash_fields_free(p->kind->c.fields, p->conf);
        free(p->conf);
        free(p->node);
        free(p->node_from);
        ash_fields_free(ash_probe_fields, p);
    }
    free(sc->probes);
    for (size_t i = 0; i < sc->n_detectors; i++) {
        struct ash_detector_spec *d = &sc->detectors[i];
        if (d->kind)
            ash_fields_free(d->kind->c.fields, d->conf);
        free(d->conf);
        ash_fields_free(ash_detector_fields, d);
    }
    free(sc->detectors);
    for (size_t i = 0; i < sc->n_faults; i++) {
        struct ash_fault_spec *f = &sc->faults[i];
        if (f->kind)
            ash_fields_free(f->kind->c.fields, f->conf);
        free(f->conf);
        ash_fields_free(ash_fault_fields, f);
    }
    free(sc->faults);
    for (size_t i = 0; i < sc->n_remediations; i++) {
        struct ash_remediation_spec *r = &sc->remediations[i];
        if (r->action)
            ash_fields_free(r->action->c.fields, r->conf);
        free(r->conf);
        ash_fields_free(ash_remediation_fields, r);
    }
    free(sc->remediations);
    for (size_t i = 0; i < sc->dns.n_records; i++)
        ash_fields_free(ash_dns_record_fields, &sc->dns.records[i]);
    free(sc->dns.records);
    for (size_t i = 0; i < sc->n_verify; i++)
        ash_fields_free(ash_verify_fields, &sc->verify[i]);
    free(sc->verify);
    for (size_t i = 0; i < sc->n_guardrails; i++)
        ash_fields_free(ash_guardrail_fields, &sc->guardrails[i]);
    free(sc->guardrails);
    for (size_t i = 0; i < sc->n_plot; i++)
        free(sc->plot[i]);
    free(sc->plot);
    ash_fields_free(ash_dns_fields, &sc->dns);
    ash_fields_free(ash_runtime_fields, &sc->runtime);
    ash_fields_free(ash_fleet_fields, &sc->fleet);
    free(sc->incident.source);
    free(sc->incident.title);
    free(sc->name);
    free(sc->title);
    free(sc->description);
    free(sc->file);
    free(sc->dir);
    ash_doc_free(sc->doc);
    free(sc);
}

/* "SERVICE" or "HOST/SERVICE" (the latter only matches a service of that host). */
struct ash_service_spec *ash_scenario_service(const struct ash_scenario *sc, const char *name)
{
    if (!sc || !name)
        return NULL;
    const char *slash = strchr(name, '/');
    const char *svc = slash ? slash + 1 : name;
    size_t hl = slash ? (size_t)(slash - name) : 0;
    for (size_t i = 0; i < sc->n_hosts; i++) {
        const char *h = sc->hosts[i].name;
        if (slash && (!h || strlen(h) != hl || strncmp(h, name, hl) != 0))
            continue;
        for (size_t j = 0; j < sc->hosts[i].n_services; j++)
            if (sc->hosts[i].services[j].name && strcmp(sc->hosts[i].services[j].name, svc) == 0)
                return &sc->hosts[i].services[j];
    }
    for (size_t i = 0; !slash && i < sc->n_services; i++)
        if (sc->services[i].name && strcmp(sc->services[i].name, svc) == 0)
            return &sc->services[i];
    return NULL;
}

const struct ash_strlist *ash_scenario_warnings(const struct ash_scenario *sc)
{
    return sc ? ash_doc_warnings(sc->doc) : NULL;
}

struct ash_fault_spec *ash_scenario_fault(const struct ash_scenario *sc, const char *name)
{
    for (size_t i = 0; sc && name && i < sc->n_faults; i++)
        if (sc->faults[i].name && strcmp(sc->faults[i].name, name) == 0)
            return &sc->faults[i];
    return NULL;
}

const char *ash_scenario_host_node(const struct ash_scenario *sc, const char *name)
{
    const struct ash_host_spec *h = name ? ash_scenario_host(sc, name) : NULL;
    return h ? h->node : NULL;
}

const char *ash_placed_refusal(const struct ash_scenario *sc, const char *name, const char *what)
{
    static _Thread_local char buf[400];
    snprintf(
        buf, sizeof buf,
        "%s on host '%s', which fleet.hosts places on node '%s': its agent builds the host, samples probes from it "
        "and applies a fault's host: target there, but nothing else acts on it from here yet (docs/fleet.md); "
        "keep the host here",
        what, name, ash_scenario_host_node(sc, name));
    return buf;
}

const struct ash_host_spec *ash_scenario_host(const struct ash_scenario *sc, const char *name)
{
    for (size_t i = 0; sc && name && i < sc->n_hosts; i++)
        if (sc->hosts[i].name && strcmp(sc->hosts[i].name, name) == 0)
            return &sc->hosts[i];
    return NULL;
}
