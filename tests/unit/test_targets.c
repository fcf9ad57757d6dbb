/* Targets for what already runs: parsing of container/process/cgroup refs (string and
 * mapping forms, runtime.docker_host), and mapping /proc/PID/cgroup onto v2, hybrid and
 * v1 layouts (cgroupfs and systemd drivers) against fixture directories. */
#include "engine/preflight.h"
#include "env/target.h"
#include "scenario/scenario.h"
#include "scenario/target.h"
#include "sys/cgroup.h"
#include "test_skip.h"
#include "test_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void ref_ok(const char *text, int type, const char *name)
{
    struct ash_target_ref r = {0};
    char msg[256] = "";
    ck_assert_msg(ash_target_ref_parse(text, &r, msg, sizeof msg) == 0, "%s: %s", text, msg);
    ck_assert_int_eq(r.type, type);
    ck_assert_str_eq(r.name, name);
    ash_target_ref_clear(&r);
}

static void ref_bad(const char *text, const char *want)
{
    struct ash_target_ref r = {0};
    char msg[256] = "";
    ck_assert_msg(ash_target_ref_parse(text, &r, msg, sizeof msg) < 0, "%s accepted", text);
    ck_assert_msg(strstr(msg, want) != NULL, "%s: got '%s', want '%s'", text, msg, want);
    ck_assert_ptr_null(r.name);
}

START_TEST(test_ref_forms)
{
    ref_ok("container:web", ASH_TARGET_CONTAINER, "web");
    ref_ok("container:0123456789ab", ASH_TARGET_CONTAINER, "0123456789ab");
    ref_ok("container:label=com.docker.compose.service=web", ASH_TARGET_CONTAINER,
           "label=com.docker.compose.service=web");
    ref_ok("process:pid=1234", ASH_TARGET_PROCESS, "pid=1234");
    ref_ok("process:pidfile=/run/x.pid", ASH_TARGET_PROCESS, "pidfile=/run/x.pid");
    ref_ok("process:exe=/usr/sbin/nginx", ASH_TARGET_PROCESS, "exe=/usr/sbin/nginx");
    ref_ok("cgroup:system.slice/foo.service", ASH_TARGET_CGROUP, "system.slice/foo.service");
    ref_ok("host:web", ASH_TARGET_HOST, "web");
    ref_ok("web", ASH_TARGET_UNRESOLVED, "web");

    /* Several labels, all of which a container must have (two compose projects' web). */
    ref_ok("container:label=com.docker.compose.project=shop,com.docker.compose.service=web", ASH_TARGET_CONTAINER,
           "label=com.docker.compose.project=shop,com.docker.compose.service=web");
    ref_ok("container:label=a,b=c", ASH_TARGET_CONTAINER, "label=a,b=c");
    ref_bad("container:label=a=b,,c", "label 2: '' names no label key");
    ref_bad("container:label=a=b,=c", "label 2: '=c' names no label key");
    ref_bad("container:label=a=b,", "label 2");
    ref_bad("container:", "names nothing");
    ref_bad("container:a b", "named by its name or id");
    ref_bad("container:label=", "label=KEY");
    ref_bad("process:1234", "write process:pid=N");
    ref_bad("process:pid=1", "above 1");
    ref_bad("process:pid=12x", "a number");
    ref_bad("process:pidfile=run/x.pid", "absolute");
    ref_bad("process:exe=", "write process:pid=N");
    ref_bad("cgroup:/", "below the hierarchy root");
    ref_bad("cgroup:a/../b", "below the hierarchy root");
    ref_bad("vm:web", "unknown target type 'vm'");
    ref_ok("pod:shop/web-0/web", ASH_TARGET_POD, "shop/web-0/web");
    ref_ok("pod:shop/app.kubernetes.io/name=web,tier=front/web", ASH_TARGET_POD,
           "shop/app.kubernetes.io/name=web,tier=front/web");
    struct ash_pod_sel ps;
    char pm[256];
    /* A label key may have one '/': the container is the last segment only without '='. */
    ck_assert_int_eq(ash_target_pod_selector("shop/app.kubernetes.io/name=web,tier=front/web", &ps, pm, sizeof pm), 0);
    ck_assert_str_eq(ps.ns, "shop");
    ck_assert_str_eq(ps.labels, "app.kubernetes.io/name=web,tier=front");
    ck_assert_str_eq(ps.pod, "");
    ck_assert_str_eq(ps.container, "web");
    ck_assert_int_eq(ash_target_pod_selector("shop/app.kubernetes.io/name=web", &ps, pm, sizeof pm), 0);
    ck_assert_str_eq(ps.labels, "app.kubernetes.io/name=web");
    ck_assert_str_eq(ps.container, "");
    ck_assert_int_eq(ash_target_pod_selector("shop/web-0.x", &ps, pm, sizeof pm), 0);
    ck_assert_str_eq(ps.pod, "web-0.x");
    ck_assert_str_eq(ps.container, "");
    ref_bad("pod:web", "write pod:NAMESPACE/POD[/CONTAINER]");
    ref_bad("pod:shop/Web-0", "neither a pod name");
    ref_bad("pod:shop/=web", "a label selector is KEY=VALUE");

    enum ash_proc_sel sel;
    const char *v;
    ck_assert_int_eq(ash_target_proc_selector("pidfile=/x", &sel, &v), 0);
    ck_assert_int_eq(sel, ASH_PSEL_PIDFILE);
    ck_assert_str_eq(v, "/x");
    ck_assert_str_eq(ash_target_container_label("label=a=b"), "a=b");
    ck_assert_ptr_null(ash_target_container_label("web"));

    /* What each type offers (docs/targets.md). */
    ck_assert_uint_eq(ash_target_caps(ASH_TARGET_CONTAINER) &
                          (ASH_CAP_NETNS | ASH_CAP_CGROUP | ASH_CAP_PROCS | ASH_CAP_FREEZE | ASH_CAP_RESTART),
                      ASH_CAP_NETNS | ASH_CAP_CGROUP | ASH_CAP_PROCS | ASH_CAP_FREEZE | ASH_CAP_RESTART);
    ck_assert_uint_eq(ash_target_caps(ASH_TARGET_PROCESS) & ASH_CAP_RESTART, 0);
    ck_assert_uint_eq(ash_target_caps(ASH_TARGET_CGROUP) & (ASH_CAP_NETNS | ASH_CAP_RESTART | ASH_CAP_MAIN), 0);
}
END_TEST

#define HEAD "version: 1\nname: t\n"
#define PROBE "probes:\n  - name: ok\n    exec: {command: [\"true\"]}\n"

static struct ash_scenario *load(const char *text, ash_error_t *err)
{
    struct ash_scenario *sc = NULL;
    memset(err, 0, sizeof *err);
    if (ash_scenario_load_string("s.yaml", text, strlen(text), &sc, err) < 0)
        return NULL;
    return sc;
}

static const struct ash_target_ref *fault_target(const struct ash_scenario *sc)
{
    ck_assert_uint_eq(sc->n_faults, 1);
    return (const struct ash_target_ref *)sc->faults[0].conf; /* target is each kind's first field */
}

/* A host-crash freeze aimed at target parses to a ref of that name and `all`. */
static void freeze_target(const char *target, const char *name, bool all)
{
    char text[600];
    ash_error_t err;
    snprintf(text, sizeof text,
             HEAD PROBE "faults:\n  - name: f\n    kind: host-crash\n    target: %s\n    mode: freeze\n", target);
    struct ash_scenario *sc = load(text, &err);
    ck_assert_msg(sc != NULL, "%s: %s", target, err.msg);
    ck_assert_str_eq(fault_target(sc)->name, name);
    ck_assert_msg(fault_target(sc)->all == all, "%s: all is %d", target, fault_target(sc)->all);
    ash_scenario_free(sc);
}

START_TEST(test_scenario_forms)
{
    ash_error_t err;
    struct ash_scenario *sc =
        load(HEAD "runtime: {docker_host: \"unix:///tmp/d.sock\"}\n" PROBE
                  "faults:\n  - name: f\n    kind: host-crash\n    target: {container: {label: app=web}}\n"
                  "    mode: freeze\n",
             &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    const struct ash_target_ref *r = fault_target(sc);
    ck_assert_int_eq(r->type, ASH_TARGET_CONTAINER);
    ck_assert_str_eq(r->name, "label=app=web");
    ck_assert_str_eq(r->endpoint, "unix:///tmp/d.sock"); /* the ref carries its socket */
    ash_scenario_free(sc);

    sc = load(HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {process: {pidfile: /run/a.pid}}\n"
                         "    action: stop\n",
              &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_str_eq(fault_target(sc)->name, "pidfile=/run/a.pid");
    ck_assert_ptr_null(fault_target(sc)->endpoint);
    ash_scenario_free(sc);

    sc = load(HEAD PROBE "faults:\n  - name: f\n    kind: memory-exhaustion\n    target: {cgroup: system.slice/x}\n"
                         "    limit: 64MiB\n",
              &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_int_eq(fault_target(sc)->type, ASH_TARGET_CGROUP);
    ash_scenario_free(sc);

    /* Several labels: a list or a mapping, as compose writes labels, both the string form's selector. */
    static const char *const label_forms[] = {
        "{container: {labels: [com.docker.compose.project=shop, com.docker.compose.service=web]}}",
        "{container: {labels: {com.docker.compose.project: shop, com.docker.compose.service: web}}}",
        "{container: {label: \"com.docker.compose.project=shop,com.docker.compose.service=web\"}}",
        "container:label=com.docker.compose.project=shop,com.docker.compose.service=web",
    };
    for (size_t i = 0; i < sizeof label_forms / sizeof label_forms[0]; i++) {
        char text[600];
        snprintf(text, sizeof text,
                 HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: %s\n"
                            "    action: stop\n",
                 label_forms[i]);
        sc = load(text, &err);
        ck_assert_msg(sc != NULL, "%s: %s", label_forms[i], err.msg);
        ck_assert_str_eq(fault_target(sc)->name,
                         "label=com.docker.compose.project=shop,com.docker.compose.service=web");
        ash_scenario_free(sc);
    }
    freeze_target("{container: {labels: {app: web, canary: }, all: true}}", "label=app=web,canary", true);
    /* A boolean reads as every boolean field does: YAML 1.1's yes/no too. */
    freeze_target("{container: {label: app=web, all: yes}}", "label=app=web", true);
    freeze_target("{container: {label: app=web, all: Off}}", "label=app=web", false);

    /* Errors at file:line:column. */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {HEAD "runtime: {docker_host: \"tcp://1.2.3.4:2375\"}\n" PROBE, "s.yaml:3:24: docker_host 'tcp://"},
        {HEAD "runtime: {dockerhost: x}\n" PROBE, "s.yaml:3:11: unknown key 'dockerhost'"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {vm: web}\n    action: stop\n",
         "s.yaml:9:14: 'vm' is not a target type"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {container: {label: \"\"}}\n"
                    "    action: stop\n",
         "s.yaml:9:33: container:label=: write label=KEY"},
        /* A malformed label of several, at its own line:column. */
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {container: {labels: [a=b, \"=c\"]}}\n"
                    "    action: stop\n",
         "s.yaml:9:40: label '=c' names no label key"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {container: {labels: [a=b, \"c,d\"]}}\n"
                    "    action: stop\n",
         "s.yaml:9:40: label 'c,d': a label (key or value) with ',' cannot be selected here"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {container: {labels: {a: b, c: [x]}}}\n"
                    "    action: stop\n",
         "s.yaml:9:44: expected a label's value, got a sequence"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {container: {labels: {\"a=b\": c}}}\n"
                    "    action: stop\n",
         "s.yaml:9:35: 'a=b': in the mapping form a label is KEY: VALUE"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {container: {labels: []}}\n"
                    "    action: stop\n",
         "s.yaml:9:34: 'labels' lists the labels a container must all have"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {container: {labels: web}}\n"
                    "    action: stop\n",
         "s.yaml:9:34: 'labels' lists the labels a container must all have"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: \"container:label=a=b,,c\"\n"
                    "    action: stop\n",
         "s.yaml:9:13: container:label=a=b,,c: label 2: '' names no label key"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: host-crash\n"
                    "    target: {container: {label: app=web, all: maybe}}\n    mode: freeze\n",
         "s.yaml:9:47: expected true or false (yes/no and on/off read the same), got 'maybe'"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: host-crash\n"
                    "    target: {container: {label: app=web, all: \"yes\"}}\n    mode: freeze\n",
         "s.yaml:9:47: expected true or false, got the quoted string \"yes\" (remove the quotes)"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: {container: a, process: b}\n"
                    "    action: stop\n",
         "s.yaml:9:13: a target mapping has one key"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: cgroup:x\n    action: stop\n",
         "s.yaml:9:13: 'process' needs a target with one main process"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: container:web\n    action: restart\n"
                    "    signal: HUP\n",
         "'signal' only goes with action: signal"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sc = load(bad[i].text, &err);
        ck_assert_msg(sc == NULL, "accepted:\n%s", bad[i].text);
        ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "got '%s', want '%s'", err.msg, bad[i].want);
    }
}
END_TEST

/* A fleet run's targets name their node (issue 20): node:NODE/TYPE:NAME or {node: NODE, TYPE: ...}. */
START_TEST(test_fleet_forms)
{
    struct ash_target_ref r = {0};
    char msg[256] = "", buf[256];
    ck_assert_msg(ash_target_ref_parse("node:b/container:web", &r, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_int_eq(r.type, ASH_TARGET_CONTAINER);
    ck_assert_str_eq(r.name, "web");
    ck_assert_str_eq(r.node, "b");
    ck_assert_str_eq(ash_target_ref_str(&r, buf, sizeof buf), "node:b/container:web");
    ash_target_ref_clear(&r);
    ck_assert_ptr_null(r.node);
    ref_bad("node:b", "write node:NODE/TYPE:NAME");
    ref_bad("node:-x/container:web", "is not a node name");
    ref_bad("node:a/node:b/container:web", "names two nodes");
    ref_bad("node:b/container:a/b", "a container is named by its name or id");

#define FLEET "fleet: {listen: \"127.0.0.1:7443\", nodes: [a, b]}\n"
#define KUBE "fleet: {listen: \"127.0.0.1:7443\", nodes: [a, b], engine: kubernetes, image: ash-agent}\n"
#define SWARM                                                                                                          \
    "fleet: {listen: \"127.0.0.1:7443\", nodes: [a, b], engine: swarm, image: ash-agent, docker_host: "                \
    "\"unix:///run/m.sock\"}\n"
    ash_error_t err;
    struct ash_scenario *sc = load(HEAD FLEET PROBE "faults:\n  - name: f\n    kind: process\n"
                                                    "    target: {node: b, process: {pid: 4242}}\n    action: stop\n",
                                   &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_str_eq(fault_target(sc)->node, "b");
    ck_assert_str_eq(fault_target(sc)->name, "pid=4242");
    ck_assert_str_eq(ash_fault_node(&sc->faults[0]), "b");
    ck_assert_int_eq(sc->fleet.lease_ns, 3000000000LL); /* the agents' default lease */
    ck_assert_int_eq(sc->fleet.nodes.n, 2);
    ash_scenario_free(sc);
    sc = load(HEAD FLEET PROBE "faults:\n  - name: f\n    kind: process\n    target: node:a/container:web\n"
                               "    action: stop\n",
              &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_str_eq(ash_fault_node(&sc->faults[0]), "a");
    ash_scenario_free(sc);
    sc = load(HEAD FLEET PROBE "faults:\n  - name: f\n    kind: process\n    target: container:web\n"
                               "    action: stop\n",
              &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_ptr_null(ash_fault_node(&sc->faults[0])); /* no node: this machine */
    ash_scenario_free(sc);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {HEAD FLEET PROBE "faults:\n  - name: f\n    kind: process\n    target: {node: c, container: web}\n"
                          "    action: stop\n",
         "s.yaml:10:13: node 'c' is not in fleet.nodes"},
        {HEAD FLEET PROBE "faults:\n  - name: f\n    kind: process\n    target: {node: b, container: a, process: x}\n"
                          "    action: stop\n",
         "s.yaml:10:13: a target mapping has one key"},
        {HEAD FLEET PROBE "faults:\n  - name: f\n    kind: process\n    target: {node: \"-b\", container: a}\n"
                          "    action: stop\n",
         "s.yaml:10:20: '-b' is not a node name"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: process\n    target: node:b/container:web\n    action: stop\n",
         "s.yaml:9:13: 'process': the target names node 'b', but this scenario has no 'fleet:'"},
        {HEAD "fleet: {listen: \"127.0.0.1:7443\", nodes: []}\n" PROBE,
         "s.yaml:3:42: 'fleet.nodes' lists at least one"},
        {HEAD "fleet: {nodes: [a]}\n" PROBE, "s.yaml:3:8: missing required key 'listen'"},
        {HEAD "fleet: {listen: \"127.0.0.1:7443\", nodes: [a], engine: swarmy}\n" PROBE,
         "s.yaml:3:55: 'swarmy' is not a valid engine"},
        {HEAD "fleet: {listen: \"127.0.0.1:7443\", nodes: [a], engine: swarm}\n" PROBE,
         "s.yaml:3:8: 'fleet' with engine: swarm needs 'image'"},
        /* A swarm service's tasks: engine swarm only, its own keys, a service name. */
        {HEAD FLEET PROBE "faults:\n  - name: f\n    kind: host-crash\n    target: {swarm_service: web}\n",
         "s.yaml:10:13: 'host-crash': 'swarm_service: web' is resolved through the swarm manager, so it needs "
         "'fleet:' with 'engine: swarm'"},
        {HEAD PROBE "faults:\n  - name: f\n    kind: host-crash\n    target: {swarm_service: web}\n",
         "s.yaml:9:13: 'host-crash': 'swarm_service: web' is resolved through the swarm manager"},
        {HEAD SWARM PROBE "faults:\n  - name: f\n    kind: host-crash\n    target: {swarm_service: web, node: a}\n",
         "s.yaml:10:34: unknown key 'node' in a swarm_service target"},
        {HEAD SWARM PROBE "faults:\n  - name: f\n    kind: host-crash\n    target: {swarm_service: web, all: 2}\n",
         "s.yaml:10:39: expected true or false"},
        {HEAD SWARM PROBE "faults:\n  - name: f\n    kind: host-crash\n    target: {swarm_service: \"a/b\"}\n",
         "s.yaml:10:29: 'a/b' is not a Swarm service name"},
        /* A pod selector's pods: engine kubernetes only. */
        {HEAD SWARM PROBE "faults:\n  - name: f\n    kind: host-crash\n"
                          "    target: {pods: {namespace: shop, labels: {app: web}}}\n",
         "s.yaml:10:13: 'host-crash': 'pods: shop/app=web' is listed through the Kubernetes API"},
        {HEAD KUBE PROBE "faults:\n  - name: f\n    kind: host-crash\n    target: {pods: {labels: {app: web}}}\n",
         "s.yaml:10:20: a pod target needs 'namespace:'"},
        {HEAD KUBE PROBE "faults:\n  - name: f\n    kind: host-crash\n    target: {pods: web}\n",
         "s.yaml:10:20: 'pods' is a mapping"},
        {HEAD SWARM PROBE "detectors:\n  - name: d\n    oom: {target: {swarm_service: web}}\n",
         "s.yaml:9:19: 'oom': only a fault's target may be a swarm service's tasks"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sc = load(bad[i].text, &err);
        ck_assert_msg(sc == NULL, "accepted:\n%s", bad[i].text);
        ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "got '%s', want '%s'", err.msg, bad[i].want);
    }
    /* The form with engine swarm: a container target by service, no node until resolved. */
    sc = load(HEAD SWARM PROBE
              "faults:\n  - name: f\n    kind: host-crash\n    target: {swarm_service: web, all: true}\n",
              &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert(fault_target(sc)->swarm && fault_target(sc)->all);
    ck_assert_int_eq(fault_target(sc)->type, ASH_TARGET_CONTAINER);
    ck_assert_str_eq(ash_fault_swarm_service(&sc->faults[0]), "web");
    ck_assert_str_eq(ash_fault_node(&sc->faults[0]), ash_target_resolved_node);
    ash_scenario_free(sc);
    sc = load(HEAD KUBE PROBE "faults:\n  - name: f\n    kind: host-crash\n"
                              "    target: {pods: {namespace: shop, labels: {app: web}, container: web}, all: true}\n"
                              "    mode: freeze\n",
              &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert(fault_target(sc)->kube && fault_target(sc)->all);
    ck_assert_int_eq(fault_target(sc)->type, ASH_TARGET_POD);
    ck_assert_str_eq(ash_fault_kube_pods(&sc->faults[0]), "shop/app=web/web");
    ck_assert_str_eq(ash_fault_node(&sc->faults[0]), ash_target_resolved_node);
    ash_scenario_free(sc);
#undef FLEET
#undef SWARM
#undef KUBE
}
END_TEST

static char fix[64];

static void mk(const char *rel)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", fix, rel);
    ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fix, rel);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void rm_fix(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fix);
    ck_assert_int_eq(system(cmd), 0);
}

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(test_proc_cgroup_hybrid)
{
    snprintf(fix, sizeof fix, "/tmp/ash-tgfix-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fix));
    mk("unified/docker/" ID);
    mk("memory/docker/" ID);
    mk("freezer/docker/" ID);
    mk("cpu/docker/" ID);
    put("unified/cgroup.controllers", "");
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_cgroup_layout(fix, ASH_CGROUP_HYBRID, &sys, &err), 0);
    /* cgroupfs driver on a hybrid machine, as this one runs Docker. */
    const char *text = "12:freezer:/docker/" ID "\n"
                       "4:memory:/docker/" ID "\n"
                       "2:cpu,cpuacct:/docker/" ID "\n"
                       "1:name=systemd:/docker/" ID "\n"
                       "0::/docker/" ID "\n";
    struct ash_cgroup cg;
    ck_assert_int_eq(ash_cgroup_parse_proc(&cg, &sys, text, &err), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/unified/docker/" ID, fix);
    ck_assert_str_eq(cg.v2, want);
    snprintf(want, sizeof want, "%s/memory/docker/" ID, fix);
    ck_assert_str_eq(cg.memory, want);
    snprintf(want, sizeof want, "%s/freezer/docker/" ID, fix);
    ck_assert_str_eq(cg.freezer, want);
    ck_assert(!cg.mem_v2);
    ck_assert_str_eq(ash_cgroup_rel(&sys, cg.memory), "docker/" ID);

    /* The v2 line is the runtime's (dockerd's session): present, and not the container's;
     * a directory that does not exist is not taken. */
    text = "4:memory:/docker/" ID "\n0::/user.slice/session-1.scope\n";
    ck_assert_int_eq(ash_cgroup_parse_proc(&cg, &sys, text, &err), 0);
    ck_assert_str_eq(cg.v2, "");
    ck_assert_str_eq(cg.freezer, "");
    ck_assert_str_ne(cg.memory, "");

    /* A deleted cgroup, or nothing known: ENOENT. */
    ck_assert_int_lt(ash_cgroup_parse_proc(&cg, &sys, "4:memory:/gone (deleted)\n", &err), 0);

    /* An existing cgroup by path: in every hierarchy that has it. */
    ck_assert_int_eq(ash_cgroup_existing(&cg, &sys, "docker/" ID, &err), 0);
    ck_assert_str_ne(cg.v2, "");
    ck_assert_str_ne(cg.memory, "");
    ck_assert_str_ne(cg.freezer, "");
    ck_assert_int_lt(ash_cgroup_existing(&cg, &sys, "no/such", &err), 0);
    rm_fix();
}
END_TEST

START_TEST(test_proc_cgroup_unified_systemd)
{
    snprintf(fix, sizeof fix, "/tmp/ash-tgfix-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fix));
    mk("system.slice/docker-" ID ".scope");
    put("cgroup.controllers", "cpuset cpu io memory pids\n");
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_cgroup_layout(fix, ASH_CGROUP_UNIFIED, &sys, &err), 0);
    struct ash_cgroup cg;
    ck_assert_int_eq(ash_cgroup_parse_proc(&cg, &sys, "0::/system.slice/docker-" ID ".scope\n", &err), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/system.slice/docker-" ID ".scope", fix);
    ck_assert_str_eq(cg.v2, want);
    ck_assert(cg.mem_v2); /* limits go to memory.max of the same directory */
    ck_assert_str_eq(cg.memory, "");
    ck_assert_str_eq(cg.freezer, "");
    ck_assert_str_eq(ash_cgroup_rel(&sys, cg.v2), "system.slice/docker-" ID ".scope");
    rm_fix();
}
END_TEST

START_TEST(test_proc_cgroup_legacy)
{
    snprintf(fix, sizeof fix, "/tmp/ash-tgfix-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fix));
    mk("memory/machine.slice/libpod-" ID ".scope");
    mk("freezer/machine.slice/libpod-" ID ".scope");
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_cgroup_layout(fix, ASH_CGROUP_LEGACY, &sys, &err), 0);
    struct ash_cgroup cg;
    const char *text = "7:freezer:/machine.slice/libpod-" ID ".scope\n"
                       "5:memory:/machine.slice/libpod-" ID ".scope\n";
    ck_assert_int_eq(ash_cgroup_parse_proc(&cg, &sys, text, &err), 0);
    ck_assert_str_eq(cg.v2, "");
    ck_assert_ptr_nonnull(strstr(cg.memory, "libpod-" ID));
    ck_assert_ptr_nonnull(strstr(cg.freezer, "libpod-" ID));
    rm_fix();
}
END_TEST

/* Resolution needs no daemon to fail well: a socket that is not there is exit 3, named. */
START_TEST(test_missing_socket)
{
    struct ash_target_ref r = {.type = ASH_TARGET_CONTAINER, .name = "web", .endpoint = "unix:///nonexistent/d.sock"};
    ash_error_t err = {0};
    ck_assert_int_lt(ash_target_check(&r, 0, &err), 0);
    ck_assert_int_eq(err.klass, ASH_ERR_ENVIRONMENT);
    ck_assert_msg(strstr(err.msg, "/nonexistent/d.sock") != NULL, "%s", err.msg);
    r.endpoint = "tcp://127.0.0.1:2375";
    ck_assert_int_lt(ash_target_check(&r, 0, &err), 0);
    ck_assert_int_eq(err.klass, ASH_ERR_ENVIRONMENT);

    /* A process target on a pid that does not exist, and on the harness itself. */
    struct ash_target_ref p = {.type = ASH_TARGET_PROCESS, .name = "pid=999999999"};
    ck_assert_int_lt(ash_target_check(&p, 0, &err), 0);
    char self[32];
    snprintf(self, sizeof self, "pid=%d", (int)getpid());
    p.name = self;
    ck_assert_int_lt(ash_target_check(&p, 0, &err), 0);
    ck_assert_msg(strstr(err.msg, "itself") != NULL, "%s", err.msg);
}
END_TEST

/* A probe's `from:` that cannot be looked up is reported at the value's own line:column
 * (8:11), not at the probe's first key (6:5), as a fault's target is. */
/* The engine's filter ANDs labels; each listed container is checked again (an engine
 * that ORed them would otherwise hand back a container the scenario did not name). */
START_TEST(test_labels_match)
{
    json_t *l = json_pack("{s:s, s:s, s:s}", "com.docker.compose.project", "shop", "com.docker.compose.service", "web",
                          "empty", "");
    ck_assert(ash_target_labels_match(l, "com.docker.compose.project=shop,com.docker.compose.service=web"));
    ck_assert(ash_target_labels_match(l, "com.docker.compose.service=web"));
    ck_assert(ash_target_labels_match(l, "com.docker.compose.project"));
    ck_assert(ash_target_labels_match(l, "empty="));
    ck_assert(!ash_target_labels_match(l, "com.docker.compose.project=blog,com.docker.compose.service=web"));
    ck_assert(!ash_target_labels_match(l, "com.docker.compose.project=sho"));
    ck_assert(!ash_target_labels_match(l, "com.docker.compose.project=shopping"));
    ck_assert(!ash_target_labels_match(l, "com.docker.compose.service=web,tier"));
    ck_assert(!ash_target_labels_match(NULL, "a"));
    json_decref(l);
}
END_TEST

START_TEST(test_probe_from_position)
{
    ash_error_t err;
    struct ash_scenario *sc = load(HEAD "runtime: {docker_host: \"unix:///nonexistent/d.sock\"}\n"
                                        "probes:\n  - name: p\n    exec: {command: [\"true\"]}\n"
                                        "    from: container:web\n",
                                   &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    json_t *problems = json_array();
    ck_assert_int_eq(ash_preflight(sc, problems, NULL, &err), 0);
    ck_assert_uint_eq(json_array_size(problems), 1);
    const char *p = json_string_value(json_array_get(problems, 0));
    ck_assert_msg(strncmp(p, "s.yaml:7:11: probe 'p': from: container 'web'", 45) == 0, "%s", p);
    json_decref(problems);
    ash_scenario_free(sc);
}
END_TEST

static void write_pid(const char *dir, pid_t pid)
{
    char path[700];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "open %s", path);
    fprintf(f, "%d\n", (int)pid);
    ck_assert_int_eq(fclose(f), 0);
}

/* A cgroup the harness is in, or above it, is never frozen: nothing would thaw it. */
START_TEST(test_never_freeze_self)
{
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    if (geteuid() != 0 || ash_cgroup_detect(NULL, &sys, &err) < 0 || !sys.v2[0]) {
        ash_test_skip("needs root and a cgroup v2 hierarchy");
        return;
    }
    struct ash_cgroup orig;
    ck_assert_msg(ash_cgroup_of_pid(&orig, &sys, getpid(), &err) == 0, "%s", err.msg);
    char rel[64], outer[600], inner[700];
    snprintf(rel, sizeof rel, "ash-tgself-%d", (int)getpid());
    snprintf(outer, sizeof outer, "%s/%s", sys.v2, rel);
    snprintf(inner, sizeof inner, "%s/inner", outer);
    ck_assert_int_eq(mkdir(outer, 0755), 0);
    ck_assert_int_eq(mkdir(inner, 0755), 0);
    write_pid(inner, getpid());
    struct ash_target_ref ref = {.type = ASH_TARGET_CGROUP, .name = rel};
    struct ash_target t;
    int r = ash_target_resolve(NULL, NULL, &ref, &t, &err);
    int fr = r == 0 ? ash_target_freeze(&t, &err) : 0;
    bool frozen = r == 0 && ash_cgroup_frozen(ash_target_cgroup(&t));
    if (r == 0)
        ash_target_thaw(&t, NULL);
    ash_target_release(&t);
    write_pid(orig.v2, getpid());
    rmdir(inner);
    rmdir(outer);
    ck_assert_msg(r == 0, "%s", err.msg);
    ck_assert_msg(fr < 0 && !frozen, "froze the harness's own cgroup");
    ck_assert_msg(strstr(err.msg, "aftershock itself runs in its cgroup") != NULL, "%s", err.msg);
}
END_TEST

/* What the terminal, validate --resolve and plan say a target resolved to. */
START_TEST(test_identity_text)
{
    char buf[200];
    json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "type", "container", "name", "label=app=web", "container", "web-1",
                          "id", "3f2a9c01b7e4d5c6");
    ck_assert_str_eq(ash_target_identity_text(c, buf, sizeof buf), "container web-1 (id 3f2a9c01b7e4)");
    json_t *p = json_pack("{s:s, s:s, s:i}", "type", "process", "name", "pidfile=/run/x.pid", "pid", 812);
    ck_assert_str_eq(ash_target_identity_text(p, buf, sizeof buf), "process pidfile=/run/x.pid (pid 812)");
    json_t *q = json_pack("{s:s, s:s, s:i}", "type", "process", "name", "pid=812", "pid", 812);
    ck_assert_str_eq(ash_target_identity_text(q, buf, sizeof buf), "process pid=812"); /* not "(pid 812)" again */
    json_decref(q);
    json_t *g = json_pack("{s:s, s:s}", "type", "cgroup", "name", "system.slice/x.service");
    ck_assert_str_eq(ash_target_identity_text(g, buf, sizeof buf), "cgroup system.slice/x.service");
    ck_assert_str_eq(ash_target_identity_text(NULL, buf, sizeof buf), "target ?");
    json_decref(c);
    json_decref(p);
    json_decref(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("targets");
    TCase *tc = tcase_create("targets");
    tcase_add_test(tc, test_ref_forms);
    tcase_add_test(tc, test_scenario_forms);
    tcase_add_test(tc, test_fleet_forms);
    tcase_add_test(tc, test_proc_cgroup_hybrid);
    tcase_add_test(tc, test_proc_cgroup_unified_systemd);
    tcase_add_test(tc, test_proc_cgroup_legacy);
    tcase_add_test(tc, test_missing_socket);
    tcase_add_test(tc, test_probe_from_position);
    tcase_add_test(tc, test_labels_match);
    tcase_add_test(tc, test_never_freeze_self);
    tcase_add_test(tc, test_identity_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
