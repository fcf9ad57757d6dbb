#!/usr/bin/env bash
# `aftershock run` with `fleet: {engine: kubernetes}` (docs/fleet.md, "Kubernetes"):
# the run deploys its agents as a Secret and a DaemonSet through the Kubernetes API,
# here a recorded-response server on loopback (tests/tools/kube_api_replay.py: it
# checks each request's method, path, query, token and body, and replays the API's
# answers). No cluster runs here, so the DaemonSet's pods are played by two agents
# this test starts on this machine (`--node node-a` / `node-b`, the names the
# DaemonSet's pods take from spec.nodeName), with the run's key file.
#   1. the run creates the Secret, then the DaemonSet (the agents told this run's
#      address), runs a fault on node-b through its agent, and deletes the
#      DaemonSet, then the Secret, after bye; the report says engine kubernetes;
#   2. SIGKILL of the coordinator: the agents revert, `aftershock recover` deletes
#      the DaemonSet and the Secret through the kubeconfig the run used;
#   3. an agent pod that cannot start (ImagePullBackOff) ends the wait at once,
#      exit 3, naming the node and the reason, and both objects are deleted;
#   4. a bad kubernetes value: file:line:column, exit 2, no request made.
# Every process here is started by this test and ended by its pid.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/fleet.sh"
B=${ASH_BUILD_DIR:?}
SRC=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# The process "on node-b" ($WEB): healthy until stopped.
fleet_start fk "the API stand-in, report checks"
stopped() { [ "$(awk '{print $3}' "/proc/$WEB/stat" 2>/dev/null)" = T ]; }

# serve NAME RECORDING: the API stand-in, its kubeconfig at $T/NAME.kc.
serve() {
  rm -f "$T/$1.port"
  python3 "$SRC/tests/tools/kube_api_replay.py" "$2" "$T/$1.port" "$T/$1.log" 2>"$T/$1.err" &
  pids+=("$!")
  for _ in $(seq 300); do [ -s "$T/$1.port" ] && break; sleep 0.01; done
  cat >"$T/$1.kc" <<KC
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c1
  cluster:
    server: http://127.0.0.1:$(cat "$T/$1.port")/
users:
- name: u1
  user:
    token: test-token
contexts:
- name: test
  context:
    cluster: c1
    user: u1
    namespace: chaos
KC
}
# recording FILE PORT POD-STATUS-OF-NODE-B [recover]: create, poll (any number),
# delete (by the run: its pods with it, Foreground; by recover: the journaled path).
recording() {
  python3 - "$1" "$2" "$3" "${4:-run}" <<'PY'
import json, sys
out, port, b, by = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ready = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
pull = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "agent", "ready": False,
                               "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}
pod = lambda n, st: {"metadata": {"name": "aftershock-agent-x-" + n, "namespace": "chaos"},
                     "spec": {"nodeName": n, "containers": [{"name": "agent", "image": "x"}]}, "status": st}
rec = [
    {"method": "POST", "path": "/api/v1/namespaces/chaos/secrets",
     "checks": [["/kind", "Secret"], ["/metadata/name", "~^aftershock-key-[0-9a-z]+$"],
                ["/stringData/key", open(sys.argv[1].rsplit("/", 1)[0] + "/key").read().strip()]],
     "status": 201, "body": {"kind": "Secret"}},
    {"method": "POST", "path": "/apis/apps/v1/namespaces/chaos/daemonsets",
     "checks": [["/kind", "DaemonSet"], ["/metadata/name", "~^aftershock-agent-[0-9a-z]+$"],
                ["/spec/template/spec/containers/0/image", "aftershock:test"],
                ["/spec/template/spec/containers/0/args/2", "127.0.0.1:" + port],
                ["/spec/template/spec/containers/0/args/8", "2000ms"],
                ["/spec/template/spec/volumes/3/secret/secretName", "~^aftershock-key-[0-9a-z]+$"]],
     "status": 201, "body": {"kind": "DaemonSet"}},
    {"method": "GET", "path": "/api/v1/namespaces/chaos/pods", "repeat": "*",
     "query": {"labelSelector": "~^app.kubernetes.io/name=aftershock-agent,aftershock.dev/run=[0-9a-z]+$"},
     "body": {"kind": "PodList", "items": [pod("node-a", ready), pod("node-b", pull if b == "pull" else ready)]}},
    {"method": "DELETE", "path": "~^/apis/apps/v1/namespaces/chaos/daemonsets/aftershock-agent-[0-9a-z]+$",
     "query": {"propagationPolicy": "Foreground"} if by == "run" else {},
     "body": {"kind": "Status", "status": "Success"}},
    {"method": "DELETE", "path": "~^/api/v1/namespaces/chaos/secrets/aftershock-key-[0-9a-z]+$",
     "body": {"kind": "Status", "status": "Success"}},
]
json.dump(rec, open(out, "w"))
PY
}
scenario() { # FILE NAME PORT KUBECONFIG DURATION [EXTRA-FLEET-LINE]
  cat >"$1" <<YAML
version: 1
name: $2
fleet:
  engine: kubernetes
  listen: 127.0.0.1:$3
  kubeconfig: $4
  image: aftershock:test
  key_file: $T/key
  nodes: [node-a, node-b]
  lease: 2s
  wait: 20s
${6:-}
probes:
  - name: web
    http: http://127.0.0.1:$WEBPORT/
    every: 50ms
    timeout: 40ms
detectors:
  - name: watch
    probes: { consecutive_failures: 2 }
faults:
  - name: stop-web
    kind: process
    target: {node: node-b, process: {pid: $WEB}}
    action: stop
    at: 300ms
    duration: $5
expect:
  warmup: 500ms
  stable_for: 500ms
  timeout: 30s
YAML
}
start_agents() { # PORT TAG: the DaemonSet's pods, played here
  for n in node-a node-b; do
    "$ASH" agent --connect "127.0.0.1:$1" --key-file "$T/key" --node "$n" --lease 2s \
      --state-dir "$T/state-$2-$n" --no-guardian >"$T/agent-$2-$n.out" 2>&1 &
    pids+=("$!")
  done
}
deployed() { for _ in $(seq 1000); do grep -q "^fleet: deployed the agents" "$1" 2>/dev/null && return; sleep 0.01; done; }
api_ok() { # LOG N: N requests, every one as recorded
  [ "$(grep -c '^ok ' "$1")" -ge "$2" ] && ! grep -q '^FAIL' "$1"
}
api_deleted() { grep -q "^ok DELETE /apis/apps/v1/namespaces/chaos/daemonsets/aftershock-agent-" "$1" &&
  grep -q "^ok DELETE /api/v1/namespaces/chaos/secrets/aftershock-key-" "$1"; }

# 1. Deploy, a fault on node-b through its agent, delete after bye.
P=$(free_port)
recording "$T/one.json" "$P" ready
serve one "$T/one.json"
scenario "$T/one.yaml" kube-one "$P" "\"{scenario_dir}/one.kc\"" 1s # placeholders substituted
"$ASH" run --state-dir "$T/state" --report-dir "$T/r1" "$T/one.yaml" >"$T/run1.out" 2>&1 &
RUN=$!
pids+=("$RUN")
deployed "$T/run1.out"
start_agents "$P" one
wait "$RUN"
st=$?
check "kubernetes: the run passes (exit $st: $(grep -m1 "fleet: no\|error" "$T/run1.out"))" '[ $st = 0 ]'
check "kubernetes: the Secret, then the DaemonSet (this run's address, key, image, lease) created as recorded" \
  'head -2 "$T/one.log" | grep -q "^ok POST /api/v1/namespaces/chaos/secrets" &&
   sed -n 2p "$T/one.log" | grep -q "^ok POST /apis/apps/v1/namespaces/chaos/daemonsets"'
check "kubernetes: the DaemonSet, then the Secret deleted after bye; no request off the recording ($(grep -c . "$T/one.log") requests)" \
  'api_ok "$T/one.log" 4 && api_deleted "$T/one.log" && tail -1 "$T/one.log" | grep -q "DELETE /api/v1/namespaces/chaos/secrets/"'
rep=$(ls -d "$T"/r1/kube-one-*/ 2>/dev/null | head -1)
check "kubernetes: one report, engine kubernetes, the objects on the timeline, the fault on node-b with its bound, TTD and TTR" 'python3 - "$rep/report.json" <<PY
import json, re, sys
r = json.load(open(sys.argv[1]))["runs"][0]
fl = r["fleet"]
ev = [e["event"] + ": " + e["detail"] for e in r["timeline"]]
ok = fl["engine"] == "kubernetes" and fl["faults"][0]["node"] == "node-b" and fl["faults"][0]["inject_bound_ms"] is not None
ok &= r["ttd_ms"] is not None and r["ttr_ms"] is not None
ok &= any(re.match(r"fleet-deploy: engine kubernetes: agents deployed \(DaemonSet chaos/aftershock-agent-(\w+), Secret chaos/aftershock-key-\1\), connecting to 127\.0\.0\.1:", e) for e in ev)
sys.exit(0 if ok else 1)
PY'
check "kubernetes: the process runs again, no journal left" '! stopped && [ -z "$(ls "$T"/state/*.journal 2>/dev/null)" ]'

"$ASH" plan "$T/one.yaml" >"$T/plan1.out" 2>&1
check "plan: the fleet step says what the run deploys, where ($(grep -o "deploy the agents[^)]*)" "$T/plan1.out"))" \
  'grep -q "fleet: listen on 127.0.0.1:$P, deploy the agents through kubernetes (a Secret aftershock-key-RUN and a DaemonSet aftershock-agent-RUN of image aftershock:test in namespace (the account.s or context.s) through $T/one.kc, deleted at the end)" "$T/plan1.out"'

# 2. SIGKILL of the coordinator mid-fault: the agents revert; recover deletes both objects.
P=$(free_port)
recording "$T/two.json" "$P" ready recover
serve two "$T/two.json"
scenario "$T/two.yaml" kube-two "$P" "\"{scenario_dir}/two.kc\"" 30s
"$ASH" run --no-guardian --state-dir "$T/state2" --report-dir "$T/r2" "$T/two.yaml" >"$T/run2.out" 2>&1 &
RUN=$!
pids+=("$RUN")
deployed "$T/run2.out"
start_agents "$P" two
for _ in $(seq 1000); do stopped && break; sleep 0.01; done
check "SIGKILL: the fault stopped the process on node-b" 'stopped'
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
for _ in $(seq 300); do stopped || break; sleep 0.01; done
check "SIGKILL: node-b's agent reverted (the process runs)" '! stopped'
check "SIGKILL: the DaemonSet and the Secret are left, journaled" \
  '! grep -q DELETE "$T/two.log" && [ -n "$(ls "$T"/state2/*.journal 2>/dev/null)" ]'
"$ASH" recover --state-dir "$T/state2" >"$T/rec2.out" 2>&1
check "SIGKILL: recover deletes the DaemonSet and the Secret through the run's kubeconfig ($(grep -c "^  deleted " "$T/rec2.out") undone)" \
  'api_deleted "$T/two.log" && ! grep -q "^FAIL" "$T/two.log" && [ -z "$(ls "$T"/state2/*.journal 2>/dev/null)" ]'

# 3. An agent pod that cannot start: the wait ends at once, naming node and reason.
P=$(free_port)
recording "$T/three.json" "$P" pull
serve three "$T/three.json"
scenario "$T/three.yaml" kube-three "$P" "$T/three.kc" 1s
s3=$(date +%s)
"$ASH" run --state-dir "$T/state3" --report-dir "$T/r3" "$T/three.yaml" >"$T/run3.out" 2>&1
st=$?
check "pod cannot start: exit 3 in $(($(date +%s) - s3))s, naming node-b and ImagePullBackOff ($(grep -o "node-b: Pending.*" "$T/run3.out" | head -1))" \
  '[ $st = 3 ] && grep -q "DaemonSet chaos/aftershock-agent-[0-9a-z]*: node-b: Pending (ImagePullBackOff)" "$T/run3.out" && [ $(($(date +%s) - s3)) -lt 15 ]'
check "pod cannot start: the DaemonSet and the Secret deleted, nothing stopped" \
  'api_deleted "$T/three.log" && ! grep -q "^FAIL" "$T/three.log" && ! stopped'

# 4. A bad kubernetes value: refused where it stands, before any request.
serve four "$T/one.json"
scenario "$T/four.yaml" kube-four "$P" "$T/four.kc" 1s "  namespace: Chaos_NS"
"$ASH" run --state-dir "$T/state4" "$T/four.yaml" >"$T/run4.out" 2>&1
st=$?
check "bad namespace: exit 2, file:line:column, no request made ($(head -1 "$T/run4.out"))" \
  '[ $st = 2 ] && grep -q "four.yaml:[0-9]*:14: .fleet.namespace. .Chaos_NS. is not a Kubernetes namespace name" "$T/run4.out" && [ ! -s "$T/four.log" ]'

# 5. `{pods: {...}}`: the run lists the selector's pods through the API before it
#    deploys anything; refused (exit 3, only that one request made): more than one
#    pod without `all` (each pod, container and node named), a pod on a node not in
#    fleet.nodes, no running pod; the form with engine agents: exit 2.
pods_recording() { # FILE NODE-OF-SECOND-POD [none]
  python3 - "$@" <<'PY'
import json, sys
out, second = sys.argv[1], sys.argv[2]
none = len(sys.argv) > 3
run = {"phase": "Running"}
pod = lambda name, node: {"metadata": {"name": name, "namespace": "shop"},
                          "spec": {"nodeName": node, "containers": [{"name": "web"}, {"name": "side"}]}, "status": run}
items = [] if none else [pod("web-0", "node-a"), pod("web-1", second)]
json.dump([{"method": "GET", "path": "/api/v1/namespaces/shop/pods", "query": {"labelSelector": "app=web"},
            "body": {"kind": "PodList", "items": items}}], open(out, "w"))
PY
}
pods_run() { # NAME TARGET NODE-OF-SECOND-POD [none]
  P=$(free_port)
  pods_recording "$T/$1.json" "$3" ${4:-}
  serve "$1" "$T/$1.json"
  scenario "$T/$1.yaml" "kube-$1" "$P" "$T/$1.kc" 1s
  python3 - "$T/$1.yaml" "$2" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
t = re.sub(r"    kind: process\n    target: .*\n    action: stop\n",
           "    kind: host-crash\n    target: " + sys.argv[2] + "\n    mode: freeze\n", t)
open(sys.argv[1], "w").write(t)
PY
  "$ASH" run --state-dir "$T/state-$1" "$T/$1.yaml" >"$T/$1.out" 2>&1
}
pods_run pods-one "{pods: {namespace: shop, labels: {app: web}, container: web}}" node-b
st=$?
check "pods without all: two pods, exit 3 naming each pod, container and node, nothing deployed ($(grep -o "are 2 (.*)" "$T/pods-one.out" | cut -c1-80)...)" \
  '[ $st = 3 ] && grep -q "fault .stop-web.: pods shop/app=web/web are 2 (pod shop/web-0 container web on node node-a; pod shop/web-1 container web on node node-b): give .all: true." "$T/pods-one.out" &&
   [ "$(cat "$T/pods-one.log")" = "ok GET /api/v1/namespaces/shop/pods" ]'
pods_run pods-out "{pods: {namespace: shop, labels: {app: web}, container: web}, all: true}" node-c
st=$?
check "pods all: a pod on a node not in fleet.nodes, exit 3 naming it, nothing deployed" \
  '[ $st = 3 ] && grep -q "pod shop/web-1 runs on node node-c, which is not in fleet.nodes: list it there; nothing was harmed" "$T/pods-out.out" &&
   [ "$(cat "$T/pods-out.log")" = "ok GET /api/v1/namespaces/shop/pods" ]'
pods_run pods-none "{pods: {namespace: shop, labels: {app: web}, container: web}, all: true}" node-b none
st=$?
check "pods: no running pod, exit 3, nothing deployed ($(grep -o "no running pod.*" "$T/pods-none.out" | head -1))" \
  '[ $st = 3 ] && grep -q "no running pod in shop matches app=web" "$T/pods-none.out" &&
   [ "$(cat "$T/pods-none.log")" = "ok GET /api/v1/namespaces/shop/pods" ]'
"$ASH" plan "$T/pods-out.yaml" >"$T/pods-plan.out" 2>&1
check "pods: plan says the pods are listed through the API at the run's start" \
  'grep -q "stop-web (host-crash) on node (each node running a pod of shop/app=web/web: listed through the Kubernetes API" "$T/pods-plan.out"'
sed "s/  engine: kubernetes/  engine: agents/; /  kubeconfig:/d; /  image:/d" "$T/pods-out.yaml" >"$T/pods-agents.yaml"
"$ASH" run --state-dir "$T/state-pa" "$T/pods-agents.yaml" >"$T/pods-agents.out" 2>&1
st=$?
check "pods with engine agents: exit 2, file:line:column ($(head -1 "$T/pods-agents.out"))" \
  '[ $st = 2 ] && grep -q "pods-agents.yaml:[0-9]*:13: .host-crash.: .pods: shop/app=web/web. is listed through the Kubernetes API, so it needs .fleet:. with .engine: kubernetes." "$T/pods-agents.out"'

[ $fail = 0 ] || exit 1
exit 0
