/* Build the scenario JSON Schema from the kinds' field tables and the fixed structure's tables. */
#include "scenario/schema.h"

#include "kinds.h"
#include "scenario/tables.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define REF(name) "#/$defs/" name

/* Every json_* constructor may return NULL on allocation failure; jansson's
 * json_object_set_new() and json_array_append_new() accept NULL and fail, so
 * one `ok` flag collects every failure and the caller checks it once. */
struct sb {
    bool ok;
};

static void set(struct sb *b, json_t *obj, const char *key, json_t *value)
{
    if (json_object_set_new(obj, key, value) < 0)
        b->ok = false;
}

static void push(struct sb *b, json_t *arr, json_t *value)
{
    if (json_array_append_new(arr, value) < 0)
        b->ok = false;
}

static json_t *ref(struct sb *b, const char *target, const char *doc)
{
    json_t *o = json_object();
    set(b, o, "$ref", json_string(target));
    if (doc)
        set(b, o, "description", json_string(doc));
    return o;
}

static json_t *strings(struct sb *b, const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        push(b, a, json_string(v[i]));
    return a;
}

static json_t *object_schema(struct sb *b, const struct ash_field *fields, const char *doc);

static json_t *field_schema(struct sb *b, const struct ash_field *f)
{
    json_t *s = NULL;
    switch (f->type) {
    case ASH_F_STRING:
        return ref(b, REF("text"), f->doc);
    case ASH_F_STRLIST:
        return ref(b, REF("strlist"), f->doc);
    case ASH_F_ARGV:
        return ref(b, REF("argv"), f->doc);
    case ASH_F_DURATION:
        return ref(b, REF("duration"), f->doc);
    case ASH_F_SIZE:
        return ref(b, REF("size"), f->doc);
    case ASH_F_RATE:
        return ref(b, REF("rate"), f->doc);
    case ASH_F_PERCENT:
        return ref(b, REF("percent"), f->doc);
    case ASH_F_BOOL:
        return ref(b, REF("bool"), f->doc);
    case ASH_F_INT:
    case ASH_F_DOUBLE:
        s = json_pack("{s:s}", "type", f->type == ASH_F_INT ? "integer" : "number");
        if (s && (f->min != 0 || f->max != 0)) {
            set(b, s, "minimum", f->type == ASH_F_INT ? json_integer((json_int_t)f->min) : json_real(f->min));
            set(b, s, "maximum", f->type == ASH_F_INT ? json_integer((json_int_t)f->max) : json_real(f->max));
        }
        break;
    case ASH_F_ENUM:
        s = json_object();
        set(b, s, "enum", strings(b, f->choices));
        break;
    case ASH_F_MAP:
        return object_schema(b, f->sub, f->doc);
    case ASH_F_NODE:
        s = json_object();
        break;
    case ASH_F_TARGET:
        s = ref(b, REF("target"), f->doc);
        if (s && (f->flags & ASH_FIELD_DEPRECATED)) {
            /* an old key: a bare name of the type it implied */
            json_object_del(s, "$ref");
            set(b, s, "$ref", json_string(REF("text")));
            set(b, s, "deprecated", json_true());
        }
        return s;
    }
    if (!s) {
        b->ok = false;
        return NULL;
    }
    if (f->doc)
        set(b, s, "description", json_string(f->doc));
    return s;
}

/* A required key with an old spelling is satisfied by either, which a plain `required`
 * cannot say; the parser checks it. */
static bool has_old_spelling(const struct ash_field *fields, const struct ash_field *f)
{
    for (const struct ash_field *o = fields; o->key; o++)
        if (o != f && (o->flags & ASH_FIELD_DEPRECATED) && o->offset == f->offset)
            return true;
    return false;
}

static void add_fields(struct sb *b, json_t *props, json_t *required, const struct ash_field *fields)
{
    for (const struct ash_field *f = fields; f && f->key; f++) {
        set(b, props, f->key, field_schema(b, f));
        if (required && (f->flags & ASH_FIELD_REQUIRED) && !has_old_spelling(fields, f))
            push(b, required, json_string(f->key));
    }
}

/* A closed object: the parser rejects keys it does not know, so does the schema. */
static json_t *closed_object(struct sb *b, const char *doc, json_t **props, json_t **required)
{
    json_t *o = json_object();
    set(b, o, "type", json_string("object"));
    if (doc)
        set(b, o, "description", json_string(doc));
    *props = json_object();
    *required = json_array();
    set(b, o, "properties", json_incref(*props));
    set(b, o, "additionalProperties", json_false());
    return o;
}

static void finish_required(struct sb *b, json_t *o, json_t *required)
{
    if (json_array_size(required))
        set(b, o, "required", required);
    else
        json_decref(required);
}

static json_t *object_schema(struct sb *b, const struct ash_field *fields, const char *doc)
{
    json_t *props, *req;
    json_t *o = closed_object(b, doc, &props, &req);
    add_fields(b, props, req, fields);
    json_decref(props);
    finish_required(b, o, req);
    return o;
}

static void set_pattern(struct sb *b, json_t *props, const char *key, const char *pattern)
{
    json_t *p = json_object_get(props, key);
    if (p)
        set(b, p, "pattern", json_string(pattern));
}

/* "exactly one of these keys": oneOf over single `required` clauses. */
static json_t *exactly_one(struct sb *b, const char *const *keys)
{
    json_t *one = json_array();
    for (size_t i = 0; keys[i]; i++)
        push(b, one, json_pack("{s:[s]}", "required", keys[i]));
    return one;
}

/* A kind's value: a closed map of its fields, or (with a shorthand) that one field alone. */
static json_t *kind_value(struct sb *b, const struct ash_kind_common *c, const struct ash_field *extra)
{
    json_t *props, *req;
    json_t *map = closed_object(b, NULL, &props, &req);
    add_fields(b, props, req, c->fields);
    if (extra && !json_object_get(props, extra->key))
        set(b, props, extra->key, field_schema(b, extra));
    json_decref(props);
    finish_required(b, map, req);
    const struct ash_field *sf = NULL;
    for (const struct ash_field *f = c->fields; c->shorthand && f && f->key; f++)
        if (strcmp(f->key, c->shorthand) == 0)
            sf = f;
    if (!sf) {
        set(b, map, "description", json_string(c->summary ? c->summary : c->name));
        return map;
    }
    json_t *any = json_object();
    set(b, any, "description", json_string(c->summary ? c->summary : c->name));
    json_t *alts = json_array();
    push(b, alts, field_schema(b, sf));
    push(b, alts, map);
    set(b, any, "anyOf", alts);
    return any;
}

/* Probes and detectors: common fields plus exactly one kind key. */
static json_t *kind_item(struct sb *b, const char *doc, const struct ash_field *common,
                         const struct ash_kind_common *const *kinds, const struct ash_field *extra)
{
    json_t *props, *req;
    json_t *o = closed_object(b, doc, &props, &req);
    add_fields(b, props, req, common);
    set_pattern(b, props, "name", ASH_ITEM_NAME_RE);
    const char *names[65];
    size_t n = 0;
    for (; kinds[n] && n < 64; n++) {
        set(b, props, kinds[n]->name, kind_value(b, kinds[n], extra));
        names[n] = kinds[n]->name;
    }
    names[n] = NULL;
    json_decref(props);
    finish_required(b, o, req);
    set(b, o, "oneOf", exactly_one(b, names));
    return o;
}

static json_t *fault_item(struct sb *b, const struct ash_kind_set *k)
{
    json_t *o = json_object();
    set(b, o, "type", json_string("object"));
    set(b, o, "description",
        json_string("a fault on the timeline: common keys plus the kind's own keys, in the same mapping"));
    json_t *kinds = json_array(), *all = json_array();
    for (size_t i = 0; k->faults[i]; i++)
        push(b, kinds, json_string(k->faults[i]->c.name));
    set(b, o, "properties",
        json_pack("{s:{s:o, s:s}}", "kind", "enum", kinds, "description", "fault kind (aftershock list)"));
    set(b, o, "required", json_pack("[s, s]", "name", "kind"));
    /* The allowed keys depend on `kind`: one closed object per kind, chosen by if/then. */
    for (size_t i = 0; k->faults[i]; i++) {
        const struct ash_kind_common *c = &k->faults[i]->c;
        json_t *props, *req;
        json_t *then = closed_object(b, NULL, &props, &req);
        add_fields(b, props, req, ash_fault_fields);
        set_pattern(b, props, "name", ASH_ITEM_NAME_RE);
        json_t *fname = json_object_get(props, "name");
        if (fname)
            set(b, fname, "maxLength", json_integer(ASH_FAULT_NAME_MAX));
        set(b, props, "kind", json_pack("{s:s, s:s}", "const", c->name, "description", c->summary ? c->summary : ""));
        set(b, props, "until",
            json_pack("{s:[s], s:s}", "enum", "remediated", "description",
                      "the fault lasts until a remediation reverts it (instead of duration)"));
        add_fields(b, props, req, c->fields);
        json_decref(props);
        finish_required(b, then, req);
        push(b, all,
             json_pack("{s:{s:{s:{s:s}}, s:[s]}, s:o}", "if", "properties", "kind", "const", c->name, "required",
                       "kind", "then", then));
    }
    set(b, o, "allOf", all);
    set(b, o, "not", json_pack("{s:[s, s]}", "required", "duration", "until"));
    return o;
}

static json_t *remediation_item(struct sb *b, const struct ash_kind_set *k)
{
    json_t *props, *req;
    json_t *o = closed_object(b, "what the runbook did: an action on detection or at a time", &props, &req);
    add_fields(b, props, req, ash_remediation_fields);
    set_pattern(b, props, "name", ASH_ITEM_NAME_RE);
    set(b, props, "when", json_pack("{s:[s], s:s}", "enum", "detected", "description", "run on the first detection"));
    json_t *aprops, *areq;
    json_t *action = closed_object(b, "one action kind key", &aprops, &areq);
    for (size_t i = 0; k->actions[i]; i++)
        set(b, aprops, k->actions[i]->c.name, kind_value(b, &k->actions[i]->c, NULL));
    json_decref(aprops);
    json_decref(areq);
    set(b, action, "minProperties", json_integer(1));
    set(b, action, "maxProperties", json_integer(1));
    set(b, props, "action", action);
    json_decref(props);
    push(b, req, json_string("action"));
    finish_required(b, o, req);
    static const char *const when_or_at[] = {"when", "at", "follows", NULL};
    set(b, o, "oneOf", exactly_one(b, when_or_at));
    set(b, o, "dependentSchemas",
        json_pack("{s:{s:[{s:[s]}, {s:[s]}]}}", "after", "anyOf", "required", "when", "required", "follows"));
    return o;
}

static json_t *service_schema(struct sb *b)
{
    json_t *s = object_schema(b, ash_service_fields, "a service: a command started and supervised");
    json_t *props = json_object_get(s, "properties");
    set_pattern(b, props, "name", ASH_ITEM_NAME_RE);
    json_t *sname = json_object_get(props, "name");
    if (sname)
        set(b, sname, "maxLength", json_integer(ASH_SERVICE_NAME_MAX));
    json_t *ready = json_object_get(props, "ready");
    static const char *const ready_kinds[] = {"tcp", "http", "exec", NULL};
    if (ready)
        set(b, ready, "oneOf", exactly_one(b, ready_kinds));
    return s;
}

static json_t *host_schema(struct sb *b)
{
    json_t *s = object_schema(b, ash_host_fields, "a sandbox host: network namespace, cgroup, own /etc/hosts");
    json_t *props = json_object_get(s, "properties");
    set_pattern(b, props, "name", ASH_HOST_NAME_RE);
    set(b, props, "services",
        json_pack("{s:s, s:{s:s}, s:s}", "type", "array", "items", "$ref", REF("service"), "description",
                  "services started on this host, in depends_on order"));
    return s;
}

/* Units of tc are compared without case: [mM][bB][iI][tT]. */
static void rate_pattern(char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(");
    for (size_t i = 0; ash_rate_unit_names[i] && off < len; i++) {
        if (i)
            off += (size_t)snprintf(buf + off, len - off, "|");
        for (const char *c = ash_rate_unit_names[i]; *c && off < len; c++)
            off += (size_t)snprintf(buf + off, len - off, "[%c%c]", tolower((unsigned char)*c),
                                    toupper((unsigned char)*c));
    }
    if (off < len)
        snprintf(buf + off, len - off, ")$");
}

static json_t *defs(struct sb *b)
{
    char rate[1024];
    rate_pattern(rate, sizeof rate);
    json_t *d = json_object();
    set(b, d, "text",
        json_pack("{s:[s,s,s], s:s}", "type", "string", "number", "boolean", "description",
                  "a string; an unquoted number or boolean is read as its text"));
    /* What ash_node_bool reads: a YAML 1.2 boolean, or one of YAML 1.1's words, which a
     * YAML 1.2 reader (an editor) sees as a string. */
    json_t *words = json_array();
    for (const char *const *w = ash_bool_true_words; *w; w++)
        if (strcasecmp(*w, "true") != 0)
            push(b, words, json_string(*w));
    for (const char *const *w = ash_bool_false_words; *w; w++)
        if (strcasecmp(*w, "false") != 0)
            push(b, words, json_string(*w));
    set(b, d, "bool",
        json_pack("{s:[{s:s}, {s:o}], s:s}", "anyOf", "type", "boolean", "enum", words, "description",
                  "true or false; yes/no and on/off (lower, Title or UPPER case) read the same"));
    set(b, d, "target",
        json_pack(
            "{s:[{s:s, s:s}, {s:s, s:i, s:i, s:{s:{}, s:{}, s:{}, s:{}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}, s:b}], "
            "s:s}",
            "anyOf", "type", "string", "pattern",
            "^((host|service):[^:]+|(node:[A-Za-z0-9][A-Za-z0-9_.-]*/)?(container|process|cgroup|pod):.+|[^:]+)$",
            "type", "object", "minProperties", 1, "maxProperties", 2, "properties", "container", "process", "cgroup",
            "pod", "node", "type", "string", "swarm_service", "type", "string", "pods", "type", "object", "all", "$ref",
            REF("bool"), "additionalProperties", 0, "description",
            "what the kind is aimed at: host:NAME (a sandbox host), service:NAME or service:HOST/NAME, a bare NAME "
            "when exactly one host or service has it; what already runs: container:NAME|ID, "
            "container:label=KEY=VALUE[,KEY2=VALUE2...] (every label), process:pid=N, process:pidfile=PATH, "
            "process:exe=PATH, cgroup:PATH, "
            "pod:NAMESPACE/POD[/CONTAINER], or the mapping forms {container: {label: KEY=VALUE}}, "
            "{container: {labels: [KEY=VALUE, ...] or {KEY: VALUE, ...}}}, "
            "{pod: {namespace: NS, labels: {KEY: VALUE}, container: NAME}} (docs/targets.md); in a fleet run, on a "
            "node: node:NODE/container:NAME or {node: NODE, container: NAME}, and with fleet engine swarm a service's "
            "running tasks, {swarm_service: NAME} (its one task) or {swarm_service: NAME, all: true}, and with engine "
            "kubernetes a selector's pods, {pods: {namespace: NS, "
            "labels: {KEY: VALUE}, container: NAME}, all: true} (docs/fleet.md)"));
    set(b, d, "strlist",
        json_pack("{s:[{s:s}, {s:s, s:{s:s}}], s:s}", "anyOf", "$ref", REF("text"), "type", "array", "items", "$ref",
                  REF("text"), "description", "a list of strings; a single string is a one-element list"));
    set(b, d, "argv",
        json_pack("{s:s, s:{s:s}, s:i, s:s}", "type", "array", "items", "$ref", REF("text"), "minItems", 1,
                  "description", "a command as an argv list, never a shell string"));
    set(b, d, "duration",
        json_pack("{s:[{s:s, s:s}, {s:i}], s:s}", "anyOf", "type", "string", "pattern", ASH_DURATION_RE, "const", 0,
                  "description", "a number with a unit: ns, us, ms, s, m, h (250ms, 1.5s, 1m30s) or 0"));
    set(b, d, "size",
        json_pack("{s:[{s:s, s:s}, {s:s, s:i}], s:s}", "anyOf", "type", "string", "pattern", ASH_SIZE_RE, "type",
                  "integer", "minimum", 0, "description",
                  "bytes (4096), with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB: 64MiB, 1.5GiB) or a share (80%)"));
    set(b, d, "rate",
        json_pack("{s:s, s:s, s:s}", "type", "string", "pattern", rate, "description",
                  "tc units, any case: bit, kbit, mbit, gbit, tbit and kibit..tibit are bits/s; bps, kbps, mbps, "
                  "gbps, tbps and kibps..tibps are BYTES/s (50mbit, 10mbps)"));
    set(b, d, "percent",
        json_pack("{s:[{s:s, s:s}, {s:s, s:i, s:i}], s:s}", "anyOf", "type", "string", "pattern", ASH_PERCENT_RE,
                  "type", "number", "minimum", 0, "maximum", 1, "description",
                  "a percentage (5%) or a fraction 0..1 (0.05)"));
    set(b, d, "time_of_day",
        json_pack("{s:s, s:s, s:s}", "type", "string", "pattern", ASH_TIME_OF_DAY_RE, "description",
                  "HH:MM or HH:MM:SS, 24-hour clock"));
    set(b, d, "service", service_schema(b));
    return d;
}

static json_t *list_of(struct sb *b, json_t *items, const char *doc)
{
    json_t *a = json_object();
    set(b, a, "type", json_string("array"));
    set(b, a, "description", json_string(doc));
    set(b, a, "items", items);
    return a;
}

int ash_schema_build_with(const struct ash_kind_set *k, json_t **out, ash_error_t *err)
{
    *out = NULL;
    struct sb b = {.ok = true};
    const struct ash_kind_common *probes[65], *detectors[65];
    size_t n = 0;
    for (; k->probes[n] && n < 64; n++)
        probes[n] = &k->probes[n]->c;
    probes[n] = NULL;
    for (n = 0; k->detectors[n] && n < 64; n++)
        detectors[n] = &k->detectors[n]->c;
    detectors[n] = NULL;
    /* Probes also take `timeout` inside the kind's map, next to what it bounds. */
    static const struct ash_field probe_timeout = {"timeout", ASH_F_DURATION, 0, 0,
                                                   "limit per sample (same as the probe's own timeout)"};

    json_t *root = json_object();
    set(&b, root, "$schema", json_string("https://json-schema.org/draft/2020-12/schema"));
    set(&b, root, "title", json_string("aftershock scenario (version 1)"));
    set(&b, root, "description",
        json_string("A production incident replayed as a fault-injection experiment. Generated by `aftershock "
                    "schema` from the parser's own field tables."));
    set(&b, root, "type", json_string("object"));
    json_t *props = json_object();
    set(&b, props, "version",
        json_pack("{s:i, s:s}", "const", 1, "description", "format version; this aftershock reads 1"));
    set(&b, props, "name",
        json_pack("{s:s, s:s, s:i, s:s}", "$ref", REF("text"), "pattern", ASH_SCENARIO_NAME_RE, "maxLength",
                  ASH_SCENARIO_NAME_MAX, "description", "scenario name: a-z, 0-9 and -; it names the run directory"));
    set(&b, props, "title", ref(&b, REF("text"), "one line for reports"));
    set(&b, props, "description", ref(&b, REF("text"), "what happened, for reports"));
    set(&b, props, "incident",
        json_pack("{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
                  "s:{s:s, s:{s:s, s:[s, s, s, s]}, s:b, s:s}}, s:b}",
                  "type", "object", "description", "the postmortem's own timeline, shown next to the replay",
                  "properties", "source", "$ref", REF("text"), "description", "where the incident is documented",
                  "title", "$ref", REF("text"), "description", "the incident's own name, for reports", "fault_at",
                  "$ref", REF("time_of_day"), "detected_at", "$ref", REF("time_of_day"), "mitigated_at", "$ref",
                  REF("time_of_day"), "recovered_at", "$ref", REF("time_of_day"), "assumed", "type", "array", "items",
                  "type", "string", "enum", "fault_at", "detected_at", "mitigated_at", "recovered_at", "uniqueItems", 1,
                  "description",
                  "the times the scenario had to assume (the postmortem does not state them); reports mark the "
                  "figures resting on them as assumed",
                  "additionalProperties", 0));
    set(&b, props, "plot",
        json_pack("{s:s, s:{s:s, s:s}, s:b, s:s}", "type", "array", "items", "type", "string", "pattern",
                  "^(memory|latency:.+)$", "uniqueItems", 1, "description",
                  "series drawn as lanes on the report's timeline: memory (what memory-exhaustion samples), "
                  "latency:PROBE"));
    set(&b, props, "timescale",
        json_pack("{s:s, s:i, s:s}", "type", "number", "exclusiveMinimum", 0, "description",
                  "1 s of replay stands for this many seconds of the incident (default 1)"));
    set(&b, props, "hosts", list_of(&b, host_schema(&b), "sandbox mode: hosts built on this machine"));
    set(&b, props, "services",
        list_of(&b, json_pack("{s:s}", "$ref", REF("service")), "host mode: services started as local processes"));
    set(&b, props, "probes",
        list_of(
            &b,
            kind_item(&b, "a user's view of health, sampled on a schedule", ash_probe_fields, probes, &probe_timeout),
            "probes; together they define the steady state"));
    set(&b, props, "detectors",
        list_of(&b, kind_item(&b, "how the system itself notices", ash_detector_fields, detectors, NULL),
                "detectors; the first signal counts"));
    set(&b, props, "faults", list_of(&b, fault_item(&b, k), "faults on the timeline"));
    set(&b, props, "remediation", list_of(&b, remediation_item(&b, k), "what the runbook did"));
    set(&b, props, "expect", object_schema(&b, ash_expect_fields, "expectations: the verdict"));
    json_t *dns = object_schema(&b, ash_dns_fields, "the run's DNS server: extra records; host mode: where it listens");
    set(&b, json_object_get(dns, "properties"), "records",
        list_of(&b, object_schema(&b, ash_dns_record_fields, "one DNS record"), "records answered besides the hosts"));
    set(&b, props, "dns", dns);
    json_t *verify =
        object_schema(&b, ash_verify_fields, "a command run after recovery; its outcome is an expectation");
    json_t *vname = json_object_get(json_object_get(verify, "properties"), "name");
    if (vname)
        set(&b, vname, "maxLength", json_integer(ASH_VERIFY_NAME_MAX));
    set(&b, props, "verify", list_of(&b, verify, "post-recovery checks, run before teardown; results in the report"));
    set(&b, props, "guardrails",
        list_of(&b,
                object_schema(&b, ash_guardrail_fields,
                              "a condition that aborts the run: every fault reverted, verdict aborted"),
                "stop conditions: a probe's error ratio or latency over a window, a time cap, a command"));
    set(&b, props, "runtime",
        object_schema(&b, ash_runtime_fields, "how to reach the container engine of container targets"));
    json_t *fleet = object_schema(&b, ash_fleet_fields,
                                  "a fleet run: this run coordinates an agent per node; a fault whose target names a "
                                  "node is applied by that node's agent (docs/fleet.md)");
    set(&b, json_object_get(fleet, "properties"), "hosts",
        json_pack("{s:s, s:{s:s}, s:s}", "type", "object", "additionalProperties", "type", "string", "description",
                  "HOST: NODE: the node whose agent builds each named host of the scenario (its namespaces, link, "
                  "addresses and services), joined to this run's hosts by a VXLAN; hosts not named are built here "
                  "(docs/fleet.md, \"Hosts on nodes\")"));
    set(&b, props, "fleet", fleet);
    set(&b, root, "properties", props);
    set(&b, root, "required", json_pack("[s, s]", "version", "name"));
    set(&b, root, "additionalProperties", json_false());
    set(&b, root, "not",
        json_pack("{s:[s, s], s:s}", "required", "hosts", "services", "description",
                  "top-level services are for host mode; with hosts, list services under their host"));
    set(&b, root, "$defs", defs(&b));
    if (!b.ok) {
        json_decref(root);
        return ash_error(err, ENOMEM, "cannot build the scenario schema");
    }
    *out = root;
    return 0;
}
