/* Unit tests: the scenario parser (every key, every error with its position), fixtures, schema.json freshness. */
#include "kinds.h"
#include "scenario/scenario.h"
#include "scenario/schema.h"
#include "scenario/tables.h"
#include "sys/clock.h"
#include "test_run.h"

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ctest sets ASH_SOURCE_DIR; run by hand, the source tree is where this file is. */
static const char *source_dir(void)
{
    static char dir[PATH_MAX];
    const char *s = getenv("ASH_SOURCE_DIR");
    if (s)
        return s;
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *end = strstr(dir, "/tests/unit/");
    if (end)
        *end = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    return dir;
}

static struct ash_scenario *load_ok(const char *text)
{
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    int r = ash_scenario_load_string("s.yaml", text, strlen(text), &sc, &err);
    ck_assert_msg(r == 0, "rejected: %s", err.msg);
    ck_assert_ptr_nonnull(sc);
    return sc;
}

static void load_err(const char *text, const char *want)
{
    struct ash_scenario *sc = (struct ash_scenario *)1;
    ash_error_t err = {0};
    int r = ash_scenario_load_string("s.yaml", text, strlen(text), &sc, &err);
    ck_assert_msg(r < 0, "accepted:\n%s", text);
    ck_assert_ptr_null(sc);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    ck_assert_str_eq(err.msg, want);
}

/* "a, b, c" from a kind registry (the lists grow as kinds are added). */
#define KIND_LIST(table, buf)                                                                                          \
    do {                                                                                                               \
        size_t off_ = 0;                                                                                               \
        buf[0] = '\0';                                                                                                 \
        for (size_t i_ = 0; table[i_]; i_++)                                                                           \
            off_ += (size_t)snprintf(buf + off_, sizeof buf - off_, "%s%s", i_ ? ", " : "", table[i_]->c.name);        \
    } while (0)

/* ---------- every key ---------- */

START_TEST(test_full_fixture)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/fixtures/scenarios/valid/full.yaml", source_dir());
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load(path, &sc, &err) == 0, "%s", err.msg);

    char *real = realpath(path, NULL);
    ck_assert_ptr_nonnull(real);
    *strrchr(real, '/') = '\0';
    ck_assert_str_eq(sc->dir, real);
    free(real);
    ck_assert_str_eq(sc->file, path);
    ck_assert_int_eq(sc->version, 1);
    ck_assert_str_eq(sc->name, "full-format");
    ck_assert_str_eq(sc->title, "Every key once");
    ck_assert_str_eq(sc->description, "A scenario that uses every key the parser accepts, so that the parser tests "
                                      "and the schema agreement test cover all of them.\n");
    ck_assert(sc->incident.present);
    ck_assert_str_eq(sc->incident.source, "002_54fa43d8c2608992.txt");
    ck_assert_int_eq(sc->incident.fault_at_s, 9 * 3600 + 30 * 60);
    ck_assert_int_eq(sc->incident.detected_at_s, 9 * 3600 + 42 * 60);
    ck_assert_int_eq(sc->incident.mitigated_at_s, 9 * 3600 + 51 * 60 + 30);
    ck_assert_int_eq(sc->incident.recovered_at_s, 9 * 3600 + 52 * 60);
    ck_assert_str_eq(sc->incident.title, "Hosted Telephony outage");
    ck_assert_uint_eq(sc->incident.assumed, 1u << ASH_INC_MITIGATED);
    ck_assert(sc->plot_set);
    ck_assert_uint_eq(sc->n_plot, 1);
    ck_assert_str_eq(sc->plot[0], "latency:register");
    ck_assert_double_eq(sc->timescale, 60);

    ck_assert_uint_eq(sc->n_hosts, 3);
    ck_assert_uint_eq(sc->n_services, 0);
    const struct ash_host_spec *h = &sc->hosts[0];
    ck_assert_str_eq(h->name, "backend");
    ck_assert(h->memory.set && !h->memory.is_percent);
    ck_assert_uint_eq(h->memory.bytes, UINT64_C(256) << 20);
    ck_assert_double_eq(h->cpu, 1.5);
    ck_assert_int_eq(h->loc.line, 18);
    ck_assert_int_eq(h->loc.col, 5);
    ck_assert_uint_eq(h->n_services, 2);
    const struct ash_service_spec *s = &h->services[0];
    ck_assert_str_eq(s->name, "registrar");
    ck_assert_str_eq(s->host, "backend");
    ck_assert_uint_eq(s->command.n, 3);
    ck_assert_str_eq(s->command.v[0], "{scenario_dir}/services/registrar");
    ck_assert_str_eq(s->command.v[2], "8080");
    ck_assert_ptr_null(s->command.v[3]);
    ck_assert_uint_eq(s->env.n, 2);
    ck_assert_str_eq(s->env.v[0], "MODE=test");
    ck_assert_str_eq(s->env.v[1], "EMPTY=");
    ck_assert(s->ready.set);
    ck_assert_str_eq(s->ready.http, "http://127.0.0.1:8080/healthz");
    ck_assert_ptr_null(s->ready.tcp);
    ck_assert_int_eq(s->ready.timeout_ns, 5 * ASH_NS_PER_S);
    ck_assert_int_eq(s->restart, ASH_RESTART_ON_FAILURE);
    ck_assert_uint_eq(s->depends_on.n, 1);
    ck_assert_str_eq(s->depends_on.v[0], "db");
    ck_assert_str_eq(s->user, "nobody");
    ck_assert_int_eq(s->loc.line, 22);
    s = &h->services[1];
    ck_assert_str_eq(s->name, "db");
    ck_assert_uint_eq(s->ready.exec.n, 1);
    ck_assert_int_eq(s->ready.timeout_ns, 10 * ASH_NS_PER_S);
    ck_assert_int_eq(s->restart, ASH_RESTART_ALWAYS);
    ck_assert_uint_eq(s->depends_on.n, 0);
    ck_assert_ptr_null(s->user);
    h = &sc->hosts[1];
    ck_assert_str_eq(h->name, "phones");
    ck_assert(!h->memory.set);
    ck_assert_uint_eq(h->n_services, 0);
    h = &sc->hosts[2];
    ck_assert(h->memory.is_percent);
    ck_assert_double_eq_tol(h->memory.fraction, 0.5, 1e-12);
    ck_assert_str_eq(h->services[0].ready.tcp, "127.0.0.1:11211");
    ck_assert_int_eq(h->services[0].restart, ASH_RESTART_NEVER);
    ck_assert_str_eq(h->services[0].depends_on.v[0], "backend/registrar");

    ck_assert_uint_eq(sc->n_probes, 4);
    const struct ash_probe_spec *p = &sc->probes[0];
    ck_assert_str_eq(p->name, "register");
    ck_assert_str_eq(p->kind->c.name, "http");
    ck_assert_ptr_nonnull(p->conf);
    ck_assert_str_eq(p->from, "phones");
    ck_assert_int_eq(p->every_ns, 50 * ASH_NS_PER_MS);
    ck_assert_int_eq(p->timeout_ns, 300 * ASH_NS_PER_MS); /* from inside the http map */
    ck_assert_int_eq(p->loc.line, 43);
    p = &sc->probes[1];
    ck_assert_str_eq(p->kind->c.name, "tcp");
    ck_assert_ptr_null(p->from);
    ck_assert_int_eq(p->every_ns, 5 * ASH_NS_PER_S);
    ck_assert_int_eq(p->timeout_ns, ASH_NS_PER_S); /* every, capped at 1s */
    p = &sc->probes[2];
    ck_assert_str_eq(p->kind->c.name, "exec");
    ck_assert_int_eq(p->every_ns, 100 * ASH_NS_PER_MS);
    ck_assert_int_eq(p->timeout_ns, 250 * ASH_NS_PER_MS);
    p = &sc->probes[3];
    ck_assert_str_eq(p->kind->c.name, "tcp");
    ck_assert_int_eq(p->timeout_ns, 100 * ASH_NS_PER_MS);

    static const char *const det_kinds[] = {"log", "probes", "probes", "exec", "exec"};
    ck_assert_uint_eq(sc->n_detectors, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(sc->detectors[i].kind->c.name, det_kinds[i]);
        ck_assert_ptr_nonnull(sc->detectors[i].conf);
    }
    ck_assert_str_eq(sc->detectors[0].name, "backlog-alert");

    ck_assert_uint_eq(sc->n_faults, 3);
    const struct ash_fault_spec *f = &sc->faults[0];
    ck_assert_str_eq(f->name, "stop-registrar");
    ck_assert_str_eq(f->kind->c.name, "process");
    ck_assert_int_eq(f->at_ns, 0);
    ck_assert_int_eq(f->duration_ns, -1);
    ck_assert(f->until_remediated);
    ck_assert_int_eq(f->loc.line, 68);
    f = &sc->faults[1];
    ck_assert_int_eq(f->at_ns, 2 * ASH_NS_PER_S);
    ck_assert_int_eq(f->duration_ns, -1);
    ck_assert(!f->until_remediated);
    f = &sc->faults[2];
    ck_assert_str_eq(f->kind->c.name, "exec");
    ck_assert_int_eq(f->at_ns, 1500 * ASH_NS_PER_MS);
    ck_assert_int_eq(f->duration_ns, 20 * ASH_NS_PER_S);
    ck_assert(!f->until_remediated);

    ck_assert_uint_eq(sc->n_remediations, 5);
    const struct ash_remediation_spec *r = sc->remediations;
    ck_assert_int_eq(r[0].when, ASH_WHEN_DETECTED);
    ck_assert_int_eq(r[0].after_ns, 9 * ASH_NS_PER_S);
    ck_assert_str_eq(r[0].action->c.name, "restart");
    ck_assert_int_eq(r[1].when, ASH_WHEN_AT);
    ck_assert_int_eq(r[1].at_ns, 12 * ASH_NS_PER_S);
    ck_assert_str_eq(r[1].action->c.name, "revert");
    ck_assert_int_eq(r[2].when, ASH_WHEN_DETECTED);
    ck_assert_int_eq(r[2].after_ns, 0);
    ck_assert_str_eq(r[2].action->c.name, "exec");
    ck_assert_int_eq(r[3].at_ns, 60 * ASH_NS_PER_S);
    ck_assert_str_eq(r[3].action->c.name, "exec");
    ck_assert_int_eq(r[4].at_ns, 90 * ASH_NS_PER_S);
    ck_assert_str_eq(r[4].action->c.name, "restart");

    ck_assert_int_eq(sc->expect.stable_for_ns, 2 * ASH_NS_PER_S);
    ck_assert_int_eq(sc->expect.detect_within_ns, 15 * ASH_NS_PER_S);
    ck_assert_int_eq(sc->expect.recover_within_ns, 30 * ASH_NS_PER_S);
    ck_assert_int_eq(sc->expect.timeout_ns, 60 * ASH_NS_PER_S);
    ck_assert_int_eq(sc->expect.warmup_ns, 500 * ASH_NS_PER_MS);

    /* Lookups, including HOST/SERVICE. */
    ck_assert_ptr_eq(ash_scenario_service(sc, "registrar"), &sc->hosts[0].services[0]);
    ck_assert_ptr_eq(ash_scenario_service(sc, "backend/registrar"), &sc->hosts[0].services[0]);
    ck_assert_ptr_null(ash_scenario_service(sc, "phones/registrar"));
    ck_assert_ptr_null(ash_scenario_service(sc, "backen/registrar"));
    ck_assert_ptr_null(ash_scenario_service(sc, "nope"));
    ck_assert_ptr_eq(ash_scenario_fault(sc, "custom"), &sc->faults[2]);
    ck_assert_ptr_null(ash_scenario_fault(sc, "nope"));
    ck_assert_ptr_eq(ash_scenario_host(sc, "phones"), &sc->hosts[1]);
    ck_assert_ptr_null(ash_scenario_host(sc, "nope"));
    ash_scenario_free(sc);
}
END_TEST

START_TEST(test_defaults)
{
    struct ash_scenario *sc = load_ok("version: 1\nname: d\n"
                                      "services:\n  - name: api\n    command: [sleep, '1']\n"
                                      "probes:\n  - name: p\n    tcp: 'x:1'\n  - name: q\n    tcp: 'x:1'\n"
                                      "    every: 300ms\n"
                                      "faults:\n  - name: f\n    kind: process\n    target: api\n");
    ck_assert_ptr_null(sc->title);
    ck_assert(!sc->incident.present);
    ck_assert_int_eq(sc->incident.fault_at_s, -1);
    ck_assert_int_eq(sc->incident.recovered_at_s, -1);
    ck_assert_double_eq(sc->timescale, 1);
    ck_assert_uint_eq(sc->n_hosts, 0);
    ck_assert_uint_eq(sc->n_services, 1);
    ck_assert_ptr_null(sc->services[0].host);
    ck_assert(!sc->services[0].ready.set);
    ck_assert_int_eq(sc->services[0].restart, ASH_RESTART_NEVER);
    ck_assert_int_eq(sc->probes[0].every_ns, 100 * ASH_NS_PER_MS);
    ck_assert_int_eq(sc->probes[0].timeout_ns, 100 * ASH_NS_PER_MS);
    ck_assert_int_eq(sc->probes[1].timeout_ns, 300 * ASH_NS_PER_MS);
    ck_assert_int_eq(sc->faults[0].at_ns, 0);
    ck_assert_int_eq(sc->faults[0].duration_ns, -1);
    ck_assert(!sc->faults[0].until_remediated);
    ck_assert_int_eq(sc->expect.stable_for_ns, 2 * ASH_NS_PER_S);
    ck_assert_int_eq(sc->expect.detect_within_ns, -1);
    ck_assert_int_eq(sc->expect.recover_within_ns, -1);
    ck_assert_int_eq(sc->expect.timeout_ns, 60 * ASH_NS_PER_S);
    ck_assert_int_eq(sc->expect.warmup_ns, ASH_NS_PER_S);
    ck_assert_ptr_nonnull(sc->doc);
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_str_eq(sc->dir, cwd);
    ash_scenario_free(sc);
}
END_TEST

/* ---------- every error, with its position ---------- */

#define HEAD "version: 1\nname: t\n"
#define SVC "services:\n  - name: api\n    command: [sleep, '1']\n"

static const struct {
    const char *text;
    const char *msg;
} errors[] = {
    /* document */
    {"", "s.yaml: the scenario is empty: it needs at least 'version: 1' and 'name'"},
    {"- a\n", "s.yaml:1:1: a scenario is a mapping (version: 1, name: ..., probes: ...), got a sequence"},
    {"version: 1\nname: [x\n",
     "s.yaml:3:1: did not find expected ',' or ']' (while parsing a flow sequence at line 2)"},
    {"version: 1\nname: a\nname: b\n", "s.yaml:3:1: duplicate key 'name' (first at line 2)"},
    {"version: 1\nname: &n a\ntitle: *n\n",
     "s.yaml:2:7: YAML anchors and aliases (&n, *n) are not supported: write the value out"},
    /* top level */
    {HEAD "prboes: []\n", "s.yaml:3:1: unknown key 'prboes' in the scenario (did you mean 'probes'?)"},
    {HEAD "xyzzy: 1\n",
     "s.yaml:3:1: unknown key 'xyzzy' in the scenario (valid keys: version, name, title, description, incident, "
     "timescale, hosts, services, probes, detectors, faults, remediation, expect, dns, verify, guardrails, runtime, "
     "plot, fleet)"},
    {"name: t\n", "s.yaml:1:1: missing required key 'version' (this aftershock reads version: 1)"},
    {"version: \"1\"\nname: t\n", "s.yaml:1:10: expected an integer, got the quoted string \"1\" (remove the quotes)"},
    {"version: 3\nname: t\n", "s.yaml:1:10: unsupported version 3: this aftershock reads version 1"},
    {"version: 1\n", "s.yaml:1:1: missing required key 'name'"},
    {"version: 1\nname: {a: 1}\n", "s.yaml:2:7: expected a string, got a mapping"},
    {"version: 1\nname: Big\n", "s.yaml:2:7: bad scenario name 'Big': use a-z, 0-9 and '-' only"},
    {HEAD "timescale: -1\n", "s.yaml:3:12: 'timescale' must be greater than 0"},
    {HEAD "timescale: fast\n", "s.yaml:3:12: expected a number, got 'fast'"},
    {HEAD "incident: yesterday\n", "s.yaml:3:11: 'incident' is a mapping (source, fault_at, ...), got a scalar"},
    {HEAD "incident: {fault_at: '25:00'}\n", "s.yaml:3:22: bad time '25:00': use HH:MM or HH:MM:SS (24-hour clock)"},
    {HEAD "incident: {fault_at: '10:00', recovered_at: '09:59:59'}\n",
     "s.yaml:3:45: recovered_at 09:59:59 is before fault_at 10:00: the incident's times go in order, same day"},
    {HEAD "incident: {detected: '10:00'}\n",
     "s.yaml:3:12: unknown key 'detected' in 'incident' (did you mean 'detected_at'?)"},
    {HEAD "incident: {when: '10:00'}\n",
     "s.yaml:3:12: unknown key 'when' in 'incident' (valid keys: source, title, fault_at, detected_at, "
     "mitigated_at, recovered_at, assumed)"},
    {HEAD "incident: {fault_at: '10:00', assumed: [fault_at, fault_at]}\n",
     "s.yaml:3:51: fault_at is named twice in 'assumed'"},
    {HEAD "expect: {stable_for: 0}\n", "s.yaml:3:22: 'stable_for' must be greater than 0"},
    {HEAD "expect: {timeout: 1x}\n",
     "s.yaml:3:19: bad duration '1x': use a number with a unit (ns, us, ms, s, m, h), e.g. 250ms, 1.5s or 1m30s; "
     "only 0 goes without"},
    {HEAD "expect: {stable: 1s}\n", "s.yaml:3:10: unknown key 'stable' in 'expect' (did you mean 'stable_for'?)"},
    {HEAD "expect: []\n", "s.yaml:3:9: 'expect' is a mapping (stable_for, detect_within, ...), got a sequence"},
    {HEAD "probes:\n", "s.yaml:3:8: 'probes' is a list of probes (items starting with '- '), got nothing (an empty "
                       "value)"},
    /* hosts and services */
    {HEAD "hosts: {name: a}\n", "s.yaml:3:8: 'hosts' is a list of hosts (items starting with '- '), got a mapping"},
    {HEAD "hosts: [a]\n", "s.yaml:3:9: each host is a mapping with at least a name, got a scalar"},
    {HEAD "hosts:\n  - name: Web\n", "s.yaml:4:11: bad host name 'Web': use 1 to 15 of a-z, 0-9 and '-'"},
    {HEAD "hosts:\n  - name: a\n  - name: a\n", "s.yaml:5:11: duplicate host name 'a' (first at line 4)"},
    {HEAD "hosts:\n  - name: a\n    cpu: 2000\n", "s.yaml:5:10: 2000 is out of range (0..1024)"},
    {HEAD "hosts:\n  - name: a\n    memroy: 1GiB\n",
     "s.yaml:5:5: unknown key 'memroy' in host 'a' (did you mean 'memory'?)"},
    {HEAD "hosts:\n  - name: a\n    services: [{name: x}]\n", "s.yaml:5:16: missing required key 'command'"},
    {HEAD "hosts:\n  - name: a\n" SVC, "s.yaml:5:1: top-level 'services' are for host mode; with 'hosts', list each "
                                       "service under its host"},
    {HEAD "services:\n  - name: a b\n    command: [x]\n",
     "s.yaml:4:11: bad service name 'a b': use letters, digits, '-', '_' and '.', starting with a letter or digit"},
    {HEAD SVC "    command2: [x]\n", "s.yaml:6:5: unknown key 'command2' in service 'api' (did you mean 'command'?)"},
    {HEAD SVC "    ready: {}\n", "s.yaml:6:12: 'ready' needs exactly one of tcp, http, exec (got 0)"},
    {HEAD SVC "    ready: {exec: 'true'}\n",
     "s.yaml:6:19: a command is an argv list such as [\"sleep\", \"1\"], not a shell string; write [\"sh\", \"-c\", "
     "\"...\"] to use a shell"},
    {HEAD SVC "    restart: on_failure\n",
     "s.yaml:6:14: 'on_failure' is not a valid restart (did you mean 'on-failure'? one of: never, on-failure, always)"},
    {HEAD SVC "    depends_on: api\n", "s.yaml:6:17: dependency cycle: api -> api"},
    {HEAD SVC "    depends_on: [ap]\n", "s.yaml:6:18: service 'api' depends on 'ap', which is not a service in this "
                                        "scenario"},
    {HEAD SVC "    env: ['=x']\n", "s.yaml:6:11: env entries are KEY=VALUE, got '=x'"},
    {HEAD SVC "    user:\n", "s.yaml:6:10: expected a string, got nothing (an empty value)"},
    {HEAD SVC "  - name: api\n    command: [x]\n", "s.yaml:6:11: duplicate service name 'api' (first at line 4)"},
    /* probes */
    {HEAD "probes:\n  - name: p\n    tcp: 'x:1'\n    every: 0\n", "s.yaml:6:12: 'every' must be greater than 0"},
    {HEAD "probes:\n  - name: p\n    tcp: 'x:1'\n    timeout: 0s\n", "s.yaml:6:14: 'timeout' must be greater than 0"},
    {HEAD "probes:\n  - name: p\n    timeout: 1s\n    http: {url: 'http://x/', timeout: 2s}\n",
     "s.yaml:6:39: probe 'p': 'timeout' given twice (also at line 5)"},
    {HEAD "probes:\n  - name: p\n    http: {url: 'http://x/', tiemout: 2s}\n",
     "s.yaml:5:30: unknown key 'tiemout' in http probe 'p' (did you mean 'timeout'?)"},
    {HEAD "probes:\n  - name: p\n    tcp: {adress: 'x:1'}\n",
     "s.yaml:5:11: unknown key 'adress' in tcp probe 'p' (did you mean 'address'?)"},
    {HEAD "probes:\n  - name: p\n    tcp: {}\n", "s.yaml:5:10: missing required key 'address'"},
    {HEAD "probes:\n  - name: p\n    exec: 'true'\n",
     "s.yaml:5:11: a command is an argv list such as [\"sleep\", \"1\"], not a shell string; write [\"sh\", \"-c\", "
     "\"...\"] to use a shell"},
    {HEAD "probes:\n  - name: p\n    tcp: 'x:1'\n  - name: p\n    tcp: 'x:2'\n",
     "s.yaml:6:11: duplicate probe name 'p' (first at line 4)"},
    {HEAD "probes:\n  - name: p\n    from: web\n    tcp: 'x:1'\n",
     "s.yaml:5:11: probe 'p' runs from host 'web', but this scenario has no hosts (leave 'from' out to probe from the "
     "harness)"},
    {HEAD "probes:\n  - name: p\n    tcp: 'x:1'\n    exec: ['true']\n",
     "s.yaml:6:5: probe 'p' has two kinds, 'tcp' (line 5) and 'exec': use one each"},
    /* detectors */
    {HEAD "detectors:\n  - name: d\n    log: {match: x}\n",
     "s.yaml:5:10: say whose output to read: 'service: NAME' or 'container: NAME' (one of them)"},
    {HEAD "detectors:\n  - name: d\n    probes: {consecutive_failures: 0}\n",
     "s.yaml:5:36: 0 is out of range (1..1000000)"},
    {HEAD "detectors:\n  - name: d\n    probes: {probes: [nope]}\n",
     "s.yaml:5:22: no probe named 'nope' in this scenario"},
    {HEAD "detectors:\n  - name: d\n    exec: {command: ['true'], evry: 1s}\n",
     "s.yaml:5:31: unknown key 'evry' in exec detector 'd' (did you mean 'every'?)"},
    /* faults */
    {HEAD SVC "faults:\n  - name: f\n    kind: process\n    target: api\n    duration: 0s\n",
     "s.yaml:10:15: 'duration' must be greater than 0 (leave it out for an instantaneous fault)"},
    {HEAD SVC "faults:\n  - name: f\n    kind: process\n    target: api\n    until: fixed\n",
     "s.yaml:10:12: 'fixed' is not a valid until (one of: remediated)"},
    {HEAD SVC "faults:\n  - name: f\n    kind: process\n    until: remediated\n    target: api\n    duration: 1s\n",
     "s.yaml:11:5: 'duration' and 'until: remediated' exclude each other: a fault ends after its duration or when a "
     "remediation reverts it"},
    {HEAD SVC "faults:\n  - name: f\n    kind: process\n    target: api\n    at: soon\n",
     "s.yaml:10:9: bad duration 'soon': use a number with a unit (ns, us, ms, s, m, h), e.g. 250ms, 1.5s or 1m30s; "
     "only 0 goes without"},
    {HEAD SVC "faults:\n  - name: f\n    kind: process\n    target: backend/api\n",
     "s.yaml:9:13: no service named 'backend/api' in this scenario"},
    {HEAD SVC "faults:\n  - name: f\n    kind: process\n    target: api\n    action: signal\n",
     "s.yaml:7:5: action: signal needs 'signal: NAME'"},
    {HEAD "faults:\n  - name: f\n    kind: exec\n    inject: [a]\n    revert: b\n",
     "s.yaml:7:13: a command is an argv list such as [\"sleep\", \"1\"], not a shell string; write [\"sh\", \"-c\", "
     "\"...\"] to use a shell"},
    /* remediation */
    {HEAD "remediation:\n  - name: r\n    action: {exec: [x]}\n",
     "s.yaml:4:5: remediation 'r' needs 'when: detected', 'at: DURATION' or 'follows: REMEDIATION'"},
    {HEAD "remediation:\n  - name: r\n    when: alerted\n    action: {exec: [x]}\n",
     "s.yaml:5:11: 'alerted' is not a valid when (one of: detected)"},
    {HEAD "remediation:\n  - name: r\n    at: 1s\n    when: detected\n    action: {exec: [x]}\n",
     "s.yaml:6:5: 'when: detected', 'at' and 'follows' exclude each other: a remediation runs on detection, at a "
     "set time, or after another remediation"},
    {HEAD "remediation:\n  - name: a\n    at: 1s\n    action: {exec: [x]}\n  - name: r\n    follows: a\n"
          "    at: 1s\n    action: {exec: [x]}\n",
     "s.yaml:9:5: 'when: detected', 'at' and 'follows' exclude each other: a remediation runs on detection, at a "
     "set time, or after another remediation"},
    {HEAD "remediation:\n  - name: a\n    at: 1s\n    action: {exec: [x]}\n  - name: r\n    when: detected\n"
          "    follows: a\n    action: {exec: [x]}\n",
     "s.yaml:9:5: 'when: detected', 'at' and 'follows' exclude each other: a remediation runs on detection, at a "
     "set time, or after another remediation"},
    {HEAD "remediation:\n  - name: find-cause\n    at: 1s\n    action: {exec: [x]}\n  - name: r\n"
          "    follows: find-caus\n    action: {exec: [x]}\n",
     "s.yaml:8:14: remediation 'r' follows 'find-caus', which is not a remediation of this scenario (did you mean "
     "'find-cause'?)"},
    {HEAD "remediation:\n  - name: r\n    follows: r\n    action: {exec: [x]}\n",
     "s.yaml:5:14: remediation 'r' follows 'r', which leads back to it: one of them must run 'when: detected' or "
     "'at' a time"},
    {HEAD "remediation:\n  - name: a\n    follows: b\n    action: {exec: [x]}\n  - name: b\n    follows: a\n"
          "    action: {exec: [x]}\n",
     "s.yaml:5:14: remediation 'a' follows 'b', which leads back to it: one of them must run 'when: detected' or "
     "'at' a time"},
    {HEAD "remediation:\n  - name: r\n    at: 1s\n    after: 2s\n    action: {exec: [x]}\n",
     "s.yaml:6:5: 'after' goes with 'when: detected' or 'follows', not with 'at'"},
    {HEAD "remediation:\n  - name: r\n    at: 1s\n    action: {revert: f}\n",
     "s.yaml:6:22: no fault named 'f' in this scenario"},
    {HEAD SVC "remediation:\n  - name: r\n    at: 1s\n    action: {restart: web/api}\n",
     "s.yaml:9:23: no service named 'web/api' in this scenario"},
    {HEAD "remediation:\n  - name: r\n    at: 1s\n    action: {exec: {command: [x], comand: [y]}}\n",
     "s.yaml:6:35: unknown key 'comand' in exec action of remediation 'r' (did you mean 'command'?)"},
    {HEAD "remediation:\n  - name: r\n    at: 1s\n    action: {exec: [x]}\n  - name: r\n    at: 2s\n"
          "    action: {exec: [x]}\n",
     "s.yaml:7:11: duplicate remediation name 'r' (first at line 4)"},
};

START_TEST(test_errors)
{
    load_err(errors[_i].text, errors[_i].msg);
}
END_TEST

/* Messages that list the registered kinds: built from the registries, which grow. */
START_TEST(test_kind_errors)
{
    char kinds[512], want[1024];
    KIND_LIST(ash_fault_kinds, kinds);
    snprintf(want, sizeof want, "s.yaml:5:11: unknown fault kind 'proces' (did you mean 'process'? known kinds: %s)",
             kinds);
    load_err(HEAD "faults:\n  - name: f\n    kind: proces\n", want);
    snprintf(want, sizeof want, "s.yaml:5:11: unknown fault kind 'earthquake' (known kinds: %s)", kinds);
    load_err(HEAD "faults:\n  - name: f\n    kind: earthquake\n", want);
    snprintf(want, sizeof want, "s.yaml:4:5: fault 'f' needs 'kind' (known kinds: %s)", kinds);
    load_err(HEAD "faults:\n  - name: f\n", want);
    snprintf(want, sizeof want, "s.yaml:5:11: expected a fault kind (one of %s), got a sequence", kinds);
    load_err(HEAD "faults:\n  - name: f\n    kind: [process]\n", want);

    KIND_LIST(ash_probe_kinds, kinds);
    snprintf(want, sizeof want, "s.yaml:4:5: probe 'p' needs one kind key: one of %s", kinds);
    load_err(HEAD "probes:\n  - name: p\n    every: 1s\n", want);
    snprintf(want, sizeof want, "s.yaml:5:5: unknown probe kind 'carrier-pigeon' in probe 'p' (known kinds: %s)",
             kinds);
    load_err(HEAD "probes:\n  - name: p\n    carrier-pigeon: {}\n", want);

    KIND_LIST(ash_detector_kinds, kinds);
    snprintf(want, sizeof want, "s.yaml:5:5: unknown detector kind 'smoke-alarm' in detector 'd' (known kinds: %s)",
             kinds);
    load_err(HEAD "detectors:\n  - name: d\n    smoke-alarm: {}\n", want);

    KIND_LIST(ash_action_kinds, kinds);
    snprintf(want, sizeof want,
             "s.yaml:6:14: unknown action 'restrat' in remediation 'r' (did you mean 'restart'? actions: %s)", kinds);
    load_err(HEAD "remediation:\n  - name: r\n    at: 1s\n    action: {restrat: x}\n", want);
    snprintf(want, sizeof want, "s.yaml:4:5: remediation 'r' needs an 'action' (one of %s)", kinds);
    load_err(HEAD "remediation:\n  - name: r\n    at: 1s\n", want);
    snprintf(want, sizeof want,
             "s.yaml:6:13: 'action' is a mapping with one action, such as { restart: SERVICE } (actions: %s)", kinds);
    load_err(HEAD "remediation:\n  - name: r\n    at: 1s\n    action: exec\n", want);
    load_err(HEAD "remediation:\n  - name: r\n    at: 1s\n    action: {exec: [x], revert: f}\n",
             "s.yaml:6:25: an action does one thing ('exec' here): use another remediation for 'revert'");
}
END_TEST

/* HOST/SERVICE and SERVICE both reach a service; a wrong host does not. */
START_TEST(test_host_service_references)
{
    struct ash_scenario *sc = load_ok(HEAD "hosts:\n  - name: web\n    services:\n      - name: api\n"
                                           "        command: [x]\n      - name: w\n        command: [x]\n"
                                           "        depends_on: [web/api]\n"
                                           "remediation:\n  - name: r\n    at: 1s\n    action: {restart: web/api}\n"
                                           "  - name: s\n    at: 1s\n    action: {restart: api}\n");
    ck_assert_ptr_eq(ash_scenario_service(sc, "web/api"), &sc->hosts[0].services[0]);
    ash_scenario_free(sc);
    load_err(HEAD "hosts:\n  - name: web\n    services:\n      - name: api\n        command: [x]\n"
                  "        depends_on: [web/api]\n",
             "s.yaml:8:22: dependency cycle: api -> api");
}
END_TEST

/* ---------- targets ---------- */

/* A sandbox host `web` running service `api`; faults start at line 8, their keys at line 11. */
#define SANDBOX HEAD "hosts:\n  - name: web\n    services:\n      - name: api\n        command: [x]\n"
#define FAULT(kind, rest) "faults:\n  - name: f\n    kind: " kind "\n" rest

static void load_err_at(const char *text, const char *pos, const char *part)
{
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_scenario_load_string("s.yaml", text, strlen(text), &sc, &err) < 0, "accepted:\n%s", text);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    ck_assert_msg(strncmp(err.msg, pos, strlen(pos)) == 0 && strstr(err.msg, part), "got '%s', want '%s ...%s...'",
                  err.msg, pos, part);
}

/* `until: remediated` with nothing that ends the fault (no `revert:` remediation,
 * a kind that does not end by itself) is said at validation, at its `until:`. */
START_TEST(test_until_remediated_needs_a_revert)
{
    const char *restart = "remediation:\n  - name: r\n    at: 1s\n    action: {restart: api}\n";
    char text[2048];
    snprintf(text, sizeof text,
             SANDBOX FAULT("process", "    target: api\n    action: stop\n    until: remediated\n") "%s", restart);
    struct ash_scenario *sc = load_ok(text);
    const struct ash_strlist *w = ash_scenario_warnings(sc);
    ck_assert_uint_eq(w->n, 1);
    ck_assert_str_eq(w->v[0], "s.yaml:13:12: warning: fault 'f' lasts until a remediation reverts it, and none does "
                              "(add one with 'revert: f'; a restart or an exec does not end it): it lasts to the end "
                              "of the run");
    ash_scenario_free(sc);
    /* A `revert: f` remediation ends it: nothing to say. */
    snprintf(text, sizeof text,
             SANDBOX FAULT("process",
                           "    target: api\n    action: stop\n    until: remediated\n") "%s"
                                                                                         "  - name: fix\n    at: 2s\n  "
                                                                                         "  action: {revert: f}\n",
             restart);
    sc = load_ok(text);
    ck_assert_uint_eq(ash_scenario_warnings(sc)->n, 0);
    ash_scenario_free(sc);
    /* A host that comes back by itself ends it too. */
    snprintf(text, sizeof text,
             SANDBOX FAULT("host-crash", "    target: host:web\n    mode: freeze\n    restart_after: 1s\n"
                                         "    until: remediated\n") "%s",
             restart);
    sc = load_ok(text);
    ck_assert_uint_eq(ash_scenario_warnings(sc)->n, 0);
    ash_scenario_free(sc);
}
END_TEST

/* One key, `target:`, typed or bare; the old keys parse with a warning that spells the new one. */
START_TEST(test_targets)
{
    struct ash_scenario *sc = load_ok(SANDBOX FAULT("network", "    target: host:web\n    bandwidth: 1mbit\n"));
    ck_assert_uint_eq(ash_scenario_warnings(sc)->n, 0);
    ash_scenario_free(sc);

    sc = load_ok(SANDBOX FAULT("network", "    host: web\n    bandwidth: 1mbit\n"));
    const struct ash_strlist *w = ash_scenario_warnings(sc);
    ck_assert_uint_eq(w->n, 1);
    ck_assert_str_eq(w->v[0], "s.yaml:11:11: warning: 'host: web' is deprecated and goes away in the next release: "
                              "write 'target: host:web'");
    ash_scenario_free(sc);

    /* Both spellings of one target at once, or two old keys: refused. */
    load_err_at(SANDBOX FAULT("network", "    target: host:web\n    host: web\n    bandwidth: 1mbit\n"),
                "s.yaml:12:11:", "give 'target' only: 'host' is its old spelling");
    load_err_at(SANDBOX FAULT("memory-exhaustion", "    host: web\n    service: api\n    limit: 64MiB\n"),
                "s.yaml:11:11:", "give one target");

    /* Typed, bare and HOST/SERVICE names reach the same service. */
    const char *const forms[] = {"service:api", "api", "service:web/api"};
    for (size_t i = 0; i < 3; i++) {
        char text[1024];
        snprintf(text, sizeof text, SANDBOX FAULT("memory-exhaustion", "    target: %s\n    limit: 64MiB\n"), forms[i]);
        sc = load_ok(text);
        const struct ash_target_ref *ref = sc->faults[0].conf; /* the conf's first member */
        ck_assert_int_eq(ref->type, ASH_TARGET_SERVICE);
        ash_scenario_free(sc);
    }

    /* A target lacking what the kind needs: the reason, and what to aim at instead. */
    load_err_at(SANDBOX FAULT("syscall", "    target: host:web\n    syscalls: [openat]\n    errno: EIO\n"),
                "s.yaml:11:13:",
                "'syscall' needs a target with processes started under aftershock's launcher; host 'web' has none "
                "(aim it at one of the host's services: target: service:HOST/NAME)");
    /* A syscall fault on something aftershock did not start: refused, because the seccomp
     * filter it would need cannot be taken out of a running process again. */
    const char *const foreign[] = {"container:web", "process:pid=4242", "cgroup:system.slice/x.service"};
    const char *const foreign_type[] = {"container 'web'", "process 'pid=4242'", "cgroup 'system.slice/x.service'"};
    for (size_t i = 0; i < 3; i++) {
        char text[1024], want[1024];
        snprintf(text, sizeof text,
                 SANDBOX FAULT("syscall", "    target: %s\n    syscalls: [openat]\n    errno: EIO\n"), foreign[i]);
        snprintf(want, sizeof want,
                 "'syscall' needs a target with processes started under aftershock's launcher; %s has none "
                 "(aftershock did not start it, and a seccomp filter cannot be removed from a running process: "
                 "put into it, the filter would outlive the run, and once aftershock's listener closed the calls "
                 "it names would fail with ENOSYS for the rest of the process's life; aim it at a service the "
                 "scenario starts: target: service:NAME)",
                 foreign_type[i]);
        load_err_at(text, "s.yaml:11:13:", want);
    }
    load_err_at(SANDBOX FAULT("network", "    target: service:api\n    bandwidth: 1mbit\n"), "s.yaml:11:13:",
                "'network' needs a target with a network namespace of its own; service 'api' has none (aim it at "
                "the sandbox host the service runs on: target: host:NAME)");
    load_err_at(SANDBOX FAULT("process", "    target: web\n    action: stop\n"), "s.yaml:11:13:",
                "'process' needs a target with one main process (a service's, a container's init, a process); host "
                "'web' has none (aim it at a service: target: service:NAME)");

    /* Names that say too little or name nothing. */
    load_err_at(HEAD "hosts:\n  - name: db\n    services:\n      - name: db\n        command: [x]\n" FAULT(
                    "memory-exhaustion", "    target: db\n    limit: 64MiB\n"),
                "s.yaml:11:13:", "'db' is both a host and a service: write 'host:db' or 'service:db'");
    load_err_at(SANDBOX FAULT("memory-exhaustion", "    target: ghost\n    limit: 64MiB\n"),
                "s.yaml:11:13:", "no host or service named 'ghost' in this scenario");
    load_err_at(SANDBOX FAULT("memory-exhaustion", "    target: vm:x\n    limit: 64MiB\n"),
                "s.yaml:11:13:", "unknown target type 'vm'");
    load_err_at(SANDBOX FAULT("memory-exhaustion", "    limit: 64MiB\n"),
                "s.yaml:9:5:", "missing required key 'target'");
}
END_TEST

/* revert_limit: the fix's raise, beyond the host's own limit, only where the cgroup goes with the run. */
#define MEMHOST                                                                                                        \
    HEAD "hosts:\n  - name: web\n    memory: 64MiB\n    services:\n      - name: api\n        command: [x]\n"
START_TEST(test_revert_limit)
{
    struct ash_scenario *sc = load_ok(MEMHOST FAULT("memory-exhaustion", "    target: host:web\n    limit: 32MiB\n"
                                                                         "    revert_limit: 128MiB\n"));
    ash_scenario_free(sc);
    load_err_at(MEMHOST FAULT("memory-exhaustion", "    target: host:web\n    limit: 32MiB\n    revert_limit: 64MiB\n"),
                "s.yaml:14:19:", "'revert_limit' must be above host 'web''s own 'memory:' limit");
    load_err_at(SANDBOX FAULT("memory-exhaustion", "    target: host:web\n    limit: 32MiB\n    revert_limit: 64MiB\n"),
                "s.yaml:13:19:", "'revert_limit' must be above host 'web''s own 'memory:' limit");
    load_err_at(MEMHOST FAULT("memory-exhaustion", "    target: service:api\n    limit: 32MiB\n"
                                                   "    revert_limit: 128MiB\n"),
                "s.yaml:14:19:", "only a sandbox host's cgroup (target: host:NAME), removed with the run, may keep it");
    load_err_at(MEMHOST FAULT("memory-exhaustion", "    target: host:web\n    limit: 32MiB\n    revert_limit: 50%\n"),
                "s.yaml:14:19:", "'revert_limit' needs a size (e.g. 128MiB), not a percentage or zero");
}
END_TEST

/* ---------- fixtures ---------- */

static void check_fixture(const char *path, bool valid)
{
    struct ash_scenario *sc = NULL;
    ash_error_t err = {0};
    int r = ash_scenario_load(path, &sc, &err);
    if (valid) {
        ck_assert_msg(r == 0, "valid fixture rejected: %s", err.msg);
        ash_scenario_free(sc);
        return;
    }
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    ck_assert_msg(strncmp(line, "# error: ", 9) == 0, "%s: first line must be '# error: LINE:COL: message'", path);
    char want[2048];
    snprintf(want, sizeof want, "%s:%s", path, line + 9);
    ck_assert_msg(r < 0, "invalid fixture accepted: %s", path);
    ck_assert_ptr_null(sc);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    ck_assert_str_eq(err.msg, want);
}

static size_t check_fixture_dir(const char *sub, bool valid)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/scenarios/%s", source_dir(), sub);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        check_fixture(path, valid);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(test_fixtures)
{
    ck_assert_uint_ge(check_fixture_dir("valid", true), 3);
    /* Floors at the counts when they were set: a glob that finds fewer lost files. */
    ck_assert_uint_ge(check_fixture_dir("invalid", false), 46);
}
END_TEST

/* Bundled scenarios must load too (kinds unavailable here are still parsed). */
START_TEST(test_bundled_scenarios)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/scenarios", source_dir());
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        check_fixture(path, true);
        n++;
    }
    closedir(d);
    ck_assert_msg(n >= 8, "%zu bundled scenarios in %s, at least 8 expected", n, dir);
}
END_TEST

/* ---------- the schema ---------- */

/* scenarios/schema.json is the generated schema; regenerate with
 * `build/aftershock schema > scenarios/schema.json` (or ASH_UPDATE_SCHEMA=1). */
START_TEST(test_schema_current)
{
    json_t *built = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_schema_build(&built, &err) == 0, "%s", err.msg);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/scenarios/schema.json", source_dir());
    if (getenv("ASH_UPDATE_SCHEMA")) {
        ck_assert_int_eq(json_dump_file(built, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
        FILE *f = fopen(path, "a");
        ck_assert_ptr_nonnull(f);
        fputc('\n', f);
        fclose(f);
    }
    json_error_t jerr;
    json_t *file = json_load_file(path, 0, &jerr);
    ck_assert_msg(file != NULL, "%s: %s", path, jerr.text);
    ck_assert_msg(json_equal(built, file), "scenarios/schema.json is out of date with the field tables: run "
                                           "`build/aftershock schema > scenarios/schema.json` and commit it");
    json_t *defs = json_object_get(built, "$defs");
    ck_assert_ptr_nonnull(json_object_get(defs, "duration"));
    ck_assert_ptr_nonnull(json_object_get(defs, "service"));
    json_decref(file);
    json_decref(built);
}
END_TEST

/* The schema's patterns and the C parsers accept the same strings (bounds that a
 * pattern cannot express, such as overflow, are left to the parser). */
static bool pattern_matches(json_t *schema, const char *def, const char *s)
{
    json_t *d = json_object_get(json_object_get(schema, "$defs"), def);
    const char *re = json_string_value(json_object_get(d, "pattern"));
    for (size_t i = 0; !re && i < json_array_size(json_object_get(d, "anyOf")); i++)
        re = json_string_value(json_object_get(json_array_get(json_object_get(d, "anyOf"), i), "pattern"));
    ck_assert_msg(re != NULL, "no pattern for %s", def);
    regex_t r;
    ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

START_TEST(test_schema_patterns)
{
    json_t *schema;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_schema_build(&schema, &err), 0);
    static const char *const durations[] = {"250ms", "2s",  "1m30s", "1.5s", "1h", "100us", "100\xc2\xb5s",
                                            "0",     "0s",  ".5s",   "1.s",  "10", "1.5",   "s",
                                            "1x",    "-1s", "1 s",   "1m30", "1S", "..5s",  ""};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        int64_t ns;
        ck_assert_msg((ash_parse_duration(durations[i], &ns) == 0) == pattern_matches(schema, "duration", durations[i]),
                      "duration '%s': parser and schema disagree", durations[i]);
    }
    static const char *const sizes[] = {"64MiB",  "1GiB",   "512KiB", "80%", "100%", "4096", "1.5GiB",
                                        "3kB",    "3KB",    "10B",    "0",   "1.5",  "64mb", "101%",
                                        "100.5%", "64 MiB", "-1",     "MiB", "%",    "64M",  ""};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct ash_size z;
        ck_assert_msg((ash_parse_size(sizes[i], &z) == 0) == pattern_matches(schema, "size", sizes[i]),
                      "size '%s': parser and schema disagree", sizes[i]);
    }
    static const char *const rates[] = {"1mbit",   "50Mbit", "100kbit", "1gbit", "800bit", "10mbps", "10MBps", "1kibit",
                                        "1.5mbit", "100",    "mbit",    "1mb",   "1 mbit", "1mbits", ""};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        uint64_t r;
        ck_assert_msg((ash_parse_rate(rates[i], &r) == 0) == pattern_matches(schema, "rate", rates[i]),
                      "rate '%s': parser and schema disagree", rates[i]);
    }
    static const char *const percents[] = {"5%", "0.05", "100%", "0", "1",   "0.5%", ".5", "1.0",
                                           "5",  "101%", "1.01", "%", "abc", "-5%",  ""};
    for (size_t i = 0; i < sizeof percents / sizeof percents[0]; i++) {
        double f;
        ck_assert_msg((ash_parse_percent(percents[i], &f) == 0) == pattern_matches(schema, "percent", percents[i]),
                      "percent '%s': parser and schema disagree", percents[i]);
    }
    json_decref(schema);
}
END_TEST

/* The field tables are shared by the parser and the schema: check what both rely on. */
static void check_table(const char *kind, const struct ash_field *fields, const char *shorthand)
{
    bool found = shorthand == NULL;
    for (const struct ash_field *f = fields; f && f->key; f++) {
        ck_assert_msg(f->doc && *f->doc, "%s: field '%s' has no doc (schema description)", kind, f->key);
        ck_assert_msg(f->type != ASH_F_ENUM || f->choices, "%s: enum '%s' without choices", kind, f->key);
        ck_assert_msg(f->type != ASH_F_MAP || f->sub, "%s: map '%s' without sub-fields", kind, f->key);
        for (const struct ash_field *g = fields; g < f; g++)
            ck_assert_msg(strcmp(f->key, g->key) != 0, "%s: key '%s' twice", kind, f->key);
        found |= shorthand && strcmp(f->key, shorthand) == 0;
        if (f->type == ASH_F_MAP)
            check_table(kind, f->sub, NULL);
    }
    ck_assert_msg(found, "%s: shorthand '%s' is not one of its fields", kind, shorthand);
}

START_TEST(test_kind_tables)
{
    static const char *const fault_common[] = {"name", "kind", "at", "duration", "until", NULL};
    for (size_t i = 0; ash_fault_kinds[i]; i++) {
        const struct ash_kind_common *c = &ash_fault_kinds[i]->c;
        check_table(c->name, c->fields, c->shorthand);
        /* Fault keys sit next to the common keys in one mapping. */
        for (const struct ash_field *f = c->fields; f && f->key; f++)
            for (size_t k = 0; fault_common[k]; k++)
                ck_assert_msg(strcmp(f->key, fault_common[k]) != 0, "fault kind %s: key '%s' shadows a common key",
                              c->name, f->key);
    }
    for (size_t i = 0; ash_probe_kinds[i]; i++) {
        const struct ash_kind_common *c = &ash_probe_kinds[i]->c;
        check_table(c->name, c->fields, c->shorthand);
        for (const struct ash_field *f = ash_probe_fields; f->key; f++)
            ck_assert_msg(strcmp(f->key, c->name) != 0, "probe kind %s collides with a probe key", c->name);
    }
    for (size_t i = 0; ash_detector_kinds[i]; i++) {
        const struct ash_kind_common *c = &ash_detector_kinds[i]->c;
        check_table(c->name, c->fields, c->shorthand);
        ck_assert_str_ne(c->name, "name");
    }
    for (size_t i = 0; ash_action_kinds[i]; i++)
        check_table(ash_action_kinds[i]->c.name, ash_action_kinds[i]->c.fields, ash_action_kinds[i]->c.shorthand);
    check_table("service", ash_service_fields, NULL);
    check_table("host", ash_host_fields, NULL);
    check_table("probe", ash_probe_fields, NULL);
    check_table("fault", ash_fault_fields, NULL);
    check_table("remediation", ash_remediation_fields, NULL);
    check_table("expect", ash_expect_fields, NULL);
}
END_TEST

/* `follows: NAME` resolves to that remediation, with its own `after`; followers
 * may chain, in any order of the file. */

/* Probes from a fleet node (docs/fleet.md): `from: NODE` and `from: NODE/CONTAINER`
 * set the node and where on it; a host keeps its own form; bad ones at their from:. */
START_TEST(test_probe_from_node)
{
#define FLEET HEAD "fleet:\n  listen: 127.0.0.1:7443\n  nodes: [a, b]\n"
    struct ash_scenario *sc = load_ok(FLEET "probes:\n  - name: p\n    from: a\n    tcp: 'x:1'\n"
                                            "  - name: q\n    from: b/web\n    tcp: 'x:1'\n"
                                            "  - name: r\n    from: container:web\n    tcp: 'x:1'\n"
                                            "  - name: s\n    tcp: 'x:1'\n");
    ck_assert_str_eq(sc->probes[0].node, "a");
    ck_assert_ptr_null(sc->probes[0].node_from);
    ck_assert_str_eq(sc->probes[1].node, "b");
    ck_assert_str_eq(sc->probes[1].node_from, "container:web");
    ck_assert_str_eq(sc->probes[1].from, "b/web"); /* as written, for the plan and the report */
    ck_assert_ptr_null(sc->probes[2].node);        /* a container here */
    ck_assert_ptr_null(sc->probes[3].node);
    ash_scenario_free(sc);
    /* A process on a node (its network namespace), as a local `from: process:` takes it. */
    sc = load_ok(FLEET "probes:\n  - name: p\n    from: a/process:pidfile=/run/web.pid\n    tcp: 'x:1'\n"
                       "  - name: q\n    from: b/container:web\n    tcp: 'x:1'\n");
    ck_assert_str_eq(sc->probes[0].node, "a");
    ck_assert_str_eq(sc->probes[0].node_from, "process:pidfile=/run/web.pid");
    ck_assert_str_eq(sc->probes[1].node_from, "container:web");
    ash_scenario_free(sc);
    load_err(FLEET "probes:\n  - name: p\n    from: a/pod:default/web\n    tcp: 'x:1'\n",
             "s.yaml:8:11: probe 'p': from: a/pod:default/web: a probe does not sample from a pod yet (as a local "
             "'from:'): name one of its containers' processes with NODE/process:...");
    load_err_at(FLEET "probes:\n  - name: p\n    from: 'a/process:'\n    tcp: 'x:1'\n",
                "s.yaml:8:11: probe 'p': from: a/process:", "");
    load_err(FLEET "probes:\n  - name: p\n    from: z\n    tcp: 'x:1'\n",
             "s.yaml:8:11: probe 'p' runs from 'z', which is neither a node in fleet.nodes nor a host of this "
             "scenario");
    load_err(FLEET "probes:\n  - name: p\n    from: z/web\n    tcp: 'x:1'\n",
             "s.yaml:8:11: probe 'p': node 'z' is not in fleet.nodes (list it there)");
    load_err(FLEET "probes:\n  - name: p\n    from: a/\n    tcp: 'x:1'\n",
             "s.yaml:8:11: probe 'p': from: a/: no container after '/' (NODE/CONTAINER)");
    load_err(FLEET "probes:\n  - name: p\n    from: a\n    every: 500us\n    tcp: 'x:1'\n",
             "s.yaml:9:12: probe 'p': a probe on a fleet node samples every 1ms to 1h");
    load_err(HEAD "probes:\n  - name: p\n    from: a/web\n    tcp: 'x:1'\n",
             "s.yaml:5:11: probe 'p': 'from: a/web' names a container on a fleet node (NODE/CONTAINER), but this "
             "scenario has no 'fleet:' section (docs/fleet.md)");
    load_err(FLEET "hosts:\n  - name: a\n    services:\n      - name: api\n        command: [x]\n"
                   "probes:\n  - name: p\n    from: a\n    tcp: 'x:1'\n",
             "s.yaml:13:11: probe 'p': 'a' is both a host of this scenario and a fleet node: rename one");
#undef FLEET
}
END_TEST

START_TEST(test_follows)
{
    struct ash_scenario *sc = load_ok("version: 1\nname: f\n"
                                      "remediation:\n"
                                      "  - name: re-enable\n    follows: restart\n    after: 3s\n"
                                      "    action: {exec: [x]}\n"
                                      "  - name: find-cause\n    when: detected\n    after: 7s\n"
                                      "    action: {exec: [x]}\n"
                                      "  - name: restart\n    follows: find-cause\n    action: {exec: [x]}\n");
    const struct ash_remediation_spec *r = sc->remediations;
    ck_assert_int_eq(r[0].when, ASH_WHEN_FOLLOWS);
    ck_assert_str_eq(r[0].follows, "restart");
    ck_assert_uint_eq(r[0].follows_idx, 2);
    ck_assert_int_eq(r[0].after_ns, 3 * ASH_NS_PER_S);
    ck_assert_int_eq(r[1].when, ASH_WHEN_DETECTED);
    ck_assert_int_eq(r[2].when, ASH_WHEN_FOLLOWS);
    ck_assert_uint_eq(r[2].follows_idx, 1);
    ck_assert_int_eq(r[2].after_ns, 0);
    ash_scenario_free(sc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("parser");
    TCase *t = tcase_create("accept");
    tcase_add_test(t, test_full_fixture);
    tcase_add_test(t, test_defaults);
    tcase_add_test(t, test_host_service_references);
    tcase_add_test(t, test_targets);
    tcase_add_test(t, test_until_remediated_needs_a_revert);
    tcase_add_test(t, test_revert_limit);
    tcase_add_test(t, test_follows);
    tcase_add_test(t, test_probe_from_node);
    suite_add_tcase(s, t);
    t = tcase_create("errors");
    tcase_add_loop_test(t, test_errors, 0, (int)(sizeof errors / sizeof errors[0]));
    tcase_add_test(t, test_kind_errors);
    suite_add_tcase(s, t);
    t = tcase_create("fixtures");
    tcase_add_test(t, test_fixtures);
    tcase_add_test(t, test_bundled_scenarios);
    suite_add_tcase(s, t);
    t = tcase_create("schema");
    tcase_add_test(t, test_schema_current);
    tcase_add_test(t, test_kind_tables);
    tcase_add_test(t, test_schema_patterns);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
