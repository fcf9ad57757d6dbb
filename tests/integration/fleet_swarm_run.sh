#!/usr/bin/env bash
# `aftershock run` with `fleet: {engine: swarm}` on a real Docker Swarm (docs/fleet.md,
# "On a Docker Swarm"): the run is the coordinator and deploys its own agents over
# the manager's Engine API (the run's key as a Swarm secret, the agents as a
# global service), on the private three-node swarm of lib/swarm.sh (a manager and
# two workers, each a private dockerd in its own network namespace, joined over a
# bridge with no route out; the run listens on that bridge).
#   1. one run harms targets on two nodes at once (the web task's cgroup on w1 and
#      on w2 frozen through each node's agent) with one TTD/TTR in one report,
#      and removes the service and the secret at the end;
#   2. SIGKILL of the coordinator mid-fault: every agent reverts within its lease
#      (the web tasks thaw), `aftershock recover` removes the service and the
#      secret the run journaled, and the leftover scanner finds nothing of the run
#      in any node's namespace;
#      (and with the run's guardian, the guardian removes them);
#   1c. a fault on `{swarm_service: ash-web, all: true}`: the run asks the manager
#      where the service's tasks run and freezes each task (on m, w1 and w2)
#      through its node's agent (by the task container's own cgroup, found by its
#      id: a swarm task cannot see another container's init), one TTD/TTR; a
#      service that is not there, more than one task without `all`, a task on a
#      node not in fleet.nodes: exit 3 before anything is deployed; the form
#      outside `engine: swarm`: exit 2, file:line:column;
#   3. bad input is refused before anything is deployed: a bad `fleet:` value
#      (file:line:column, exit 2), a node the swarm does not have (exit 3, named),
#      an image no node has (exit 3, the swarm's reason for each task), a wait
#      that times out (exit 3, naming the nodes and each task's state).
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
. "$(dirname "$0")/lib/swarm.sh"
. "$(dirname "$0")/lib/cgroups.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
SRC=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
why=$(swarm_lacks) && ash_skip_all "$why"
command -v python3 >/dev/null || ash_skip_all "python3 is needed (report checks)"
T=$(mktemp -d /tmp/ash-fr-XXXXXX) # short: three engines' sockets live under it
fail=0
coord=""
cleanup() {
  [ -z "$coord" ] || { kill -KILL "$coord" 2>/dev/null; wait "$coord" 2>/dev/null; }
  # A failed check must not leave a web task frozen: thaw both freezers.
  for f in "$T"/cg-*; do
    [ -e "$f" ] && ash_cgroup_thaw "$(cat "$f")"
  done
  "$ASH" recover --state-dir "$T/cj" >/dev/null 2>&1
  swarm_stop
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
t0=$(date +%s)

swarm_start "$T/s" >"$T/why" || { echo "FAIL $(cat "$T/why")"; exit 1; }
echo "ok   three-node swarm up in $(($(date +%s) - t0))s"
# The web: busybox httpd on each node's own network (port 8080), and the agents' image.
swarm_busybox "$T/img"
mkdir -p "$T/img/www"
echo ok >"$T/img/www/index.html"
swarm_agent_image "$T/agent" "$ASH"
for n in $SWARM_NODES; do
  swarm_image "$n" ash-busybox "$T/img"
  swarm_image "$n" ash-agent "$T/agent"
  mkdir -p "$T/state/$n"
done
mkdir -p "$T/cj"
swarm_dk m service create -d --name ash-web --mode global --network host ash-busybox \
  httpd -f -p 8080 -h /www >/dev/null 2>&1
for i in $(seq 300); do
  [ "$(swarm_dk m service ps ash-web --filter desired-state=running --format '{{.CurrentState}}' | grep -c Running)" = 3 ] && break
  sleep 0.1
done
# Each worker's web task by its freezer cgroup (relative to the hierarchy's root,
# as a `cgroup:` target names it), found from its init's /proc/PID/cgroup.
for n in m w1 w2; do
  id=$(swarm_dk "$n" ps -q --no-trunc --filter label=com.docker.swarm.service.name=ash-web)
  pid=$(swarm_dk "$n" inspect -f '{{.State.Pid}}' "$id" 2>/dev/null)
  cg=$(ash_cgroup_of "$pid")
  eval "CG_$n=\$cg"
  echo "$cg" >"$T/cg-$n"
done
check "the web runs on every node, answering on 8080; w1's and w2's cgroups found ($CG_w1, $CG_w2)" \
  '[ -n "$CG_w1" ] && [ -n "$CG_w2" ] && ash_cgroup_exists "$CG_w1" &&
   ip netns exec "$SWARM_COORD_NS" curl -s -m 2 http://10.231.0.2:8080/ | grep -qx ok &&
   ip netns exec "$SWARM_COORD_NS" curl -s -m 2 http://10.231.0.3:8080/ | grep -qx ok'
# The kernel's word on a web task: frozen through the v2 freezer (cgroup.events,
# which host-crash uses where the unified hierarchy has it) or the v1 one.
frozen() { ash_cgroup_frozen "$(cat "$T/cg-$1")"; }
thawed() {
  local cg
  cg=$(cat "$T/cg-$1")
  ash_cgroup_exists "$cg" || return 1
  ! frozen "$1" && [ "$(cat "/sys/fs/cgroup/freezer/$cg/freezer.state" 2>/dev/null || echo THAWED)" = THAWED ]
}

nothing_deployed() {
  [ -z "$(swarm_dk m service ls -q --filter name=aftershock-)" ] &&
    [ -z "$(swarm_dk m secret ls -q --filter name=aftershock-)" ]
}

# fleet_scenario FILE NAME NODES EXTRA-FLEET-LINES FAULTS: the swarm engine, both
# web tasks' probes and the detector, with FAULTS under faults:.
fleet_scenario() {
  cat >"$1" <<YAML
version: 1
name: $2
fleet:
  engine: swarm
  listen: $SWARM_COORD_IP:0
  nodes: $3
  lease: 3s
  wait: 60s
  docker_host: unix://$(swarm_sock m)
  image: ash-agent
  state_dir: $T/state/{{.Node.Hostname}}
$4
probes:
  - name: web-w1
    http: http://10.231.0.2:8080/
    every: 100ms
    timeout: 200ms
  - name: web-w2
    http: http://10.231.0.3:8080/
    every: 100ms
    timeout: 200ms
detectors:
  - name: watch
    probes: { consecutive_failures: 2 }
faults:
$5
expect:
  warmup: 1s
  stable_for: 500ms
  timeout: 60s
YAML
}
# scenario FILE NAME DURATION [EXTRA-FLEET-LINES]: both web tasks frozen at once.
scenario() {
  fleet_scenario "$1" "$2" "[m, w1, w2]" "${4:-}" "  - name: freeze-w1
    kind: host-crash
    target: {node: w1, cgroup: $CG_w1}
    mode: freeze
    at: 500ms
    duration: $3
  - name: freeze-w2
    kind: host-crash
    target: {node: w2, cgroup: $CG_w2}
    mode: freeze
    at: 500ms
    duration: $3"
}
# run ARGS...: aftershock run in the bridge's namespace (nsenter, not `ip netns
# exec`, which remounts /sys); exec'd so that `run ... &` gives the run's own pid.
run() { exec nsenter --net="/run/netns/$SWARM_COORD_NS" "$ASH" run --state-dir "$T/cj" "$@"; }

# 1. Two nodes harmed at once, one TTD/TTR, one report; the agents removed at the end.
scenario "$T/two.yaml" swarm-two 2s
"$ASH" plan "$T/two.yaml" >"$T/plan.out" 2>&1
check "plan: the fleet step says what the run deploys, where" \
  'grep -q "deploy the agents through swarm (a Swarm secret aftershock-key-RUN and a global service aftershock-agent-RUN of image ash-agent through unix://$(swarm_sock m), removed at the end)" "$T/plan.out"'
(run --report-dir "$T/r1" "$T/two.yaml") >"$T/run1.out" 2>&1
rc=$?
check "two nodes at once: the run passes (exit $rc: $(grep -m1 -i "error\|fleet: no" "$T/run1.out"))" '[ $rc = 0 ]'
check "two nodes at once: the run deployed its agents through the swarm" \
  'grep -q "^fleet: deployed the agents through swarm (service aftershock-agent-[0-9a-z]*, secret aftershock-key-[0-9a-z]*); they connect to $SWARM_COORD_IP:" "$T/run1.out"'
rep=$(ls -d "$T"/r1/swarm-two-*/ 2>/dev/null | head -1)
check "two nodes at once: one report with one TTD and TTR, each fault on its node with its clock bound" \
  'python3 - "$rep/report.json" <<PY
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
fl = r["fleet"]
ev = [e["event"] + ": " + e["detail"] for e in r["timeline"]]
nodes = {n["node"]: n for n in fl["nodes"]}
faults = {f["name"]: f for f in fl["faults"]}
print("   ttd %s ms, ttr %s ms, clock bound %.3f ms, engine %s" % (r["ttd_ms"], r["ttr_ms"], fl["clock_bound_ms"], fl["engine"]))
ok = fl["engine"] == "swarm" and set(nodes) == {"m", "w1", "w2"}
ok &= all(n["bound_ms"] is not None for n in nodes.values())
ok &= faults["freeze-w1"]["node"] == "w1" and faults["freeze-w2"]["node"] == "w2"
ok &= all(f["inject_bound_ms"] is not None and f["revert_bound_ms"] is not None for f in faults.values())
ok &= r["ttd_ms"] is not None and r["ttr_ms"] is not None and r["detected_by"] == "watch"
for n in ("w1", "w2"):
    ok &= any(e.startswith("fault-injected: freeze-%s (host-crash) on node %s (its clock" % (n, n)) for e in ev)
    ok &= any(e.startswith("fault-reverted: freeze-%s (duration elapsed) on node %s (its clock" % (n, n)) for e in ev)
ok &= any(e.startswith("fleet-deploy: engine swarm: agents deployed (service aftershock-agent-") for e in ev)
# Both probes saw their node harmed: the two faults were in effect at once.
ok &= all(p["failures"] > 0 for p in r["probes"]) and len(r["probes"]) == 2
sys.exit(0 if ok else 1)
PY'
check "two nodes at once: both web tasks thawed, the service and the secret removed, the run's journal closed" \
  'thawed w1 && thawed w2 && nothing_deployed && [ -z "$(ls "$T"/cj/*.journal 2>/dev/null)" ]'
for n in $SWARM_NODES; do
  check "two nodes at once: node $n's agent closed its journal" '[ -z "$(ls "$T/state/$n"/*.journal 2>/dev/null)" ]'
done

# kill_mid_fault NAME ARGS...: run the long scenario, SIGKILL it once both web
# tasks are frozen.
kill_mid_fault() {
  local what=$1 i
  shift
  run "$@" "$T/kill.yaml" >"$T/$what.out" 2>&1 &
  coord=$!
  for i in $(seq 900); do frozen w1 && frozen w2 && break; kill -0 $coord 2>/dev/null || break; sleep 0.1; done
  check "$what: both web tasks frozen by the run's agents" 'frozen w1 && frozen w2'
  kill -KILL $coord
  wait $coord 2>/dev/null
  coord=""
}

# 1b. Twice (--repeat 2): each run deploys its own agents with its own key (the
#     key lives only in the Swarm secret: none in the run's directory).
(run --repeat 2 --report-dir "$T/r1b" "$T/two.yaml") >"$T/run1b.out" 2>&1
rc=$?
check "--repeat 2: both runs pass, each with its own service (exit $rc)" \
  '[ $rc = 0 ] && [ "$(grep -c "^fleet: deployed the agents through swarm" "$T/run1b.out")" = 2 ] &&
   [ "$(grep -o "aftershock-agent-[0-9a-z]*" "$T"/r1b/swarm-two-*/report.json 2>/dev/null | sort -u | wc -l)" -le 2 ] &&
   nothing_deployed && [ -z "$(ls "$T"/r1b/swarm-two-*/fleet.key 2>/dev/null)" ]'

# 1c. The service's tasks, resolved by the run: every task of ash-web frozen at once.
svc_scenario() {
  fleet_scenario "$1" "$2" "${4:-[m, w1, w2]}" "" "  - name: freeze-web
    kind: host-crash
    target: $3
    mode: freeze
    at: 500ms
    duration: 2s"
}
svc_scenario "$T/svc.yaml" swarm-svc "{swarm_service: ash-web, all: true}"
"$ASH" plan "$T/svc.yaml" >"$T/svcplan.out" 2>&1
check "swarm_service: plan says the tasks are resolved through the manager at the run's start" \
  'grep -q "freeze-web (host-crash) on node (each node running a task of swarm service .ash-web.: asked of the manager" "$T/svcplan.out"'
(run --report-dir "$T/r1c" "$T/svc.yaml") >"$T/svc.out" 2>&1
rc=$?
check "swarm_service all: the run passes (exit $rc: $(grep -m1 -i "error\|fleet: no" "$T/svc.out"))" '[ $rc = 0 ]'
check "swarm_service all: the run says where each task runs ($(grep -o "swarm service .ash-web. -> .*" "$T/svc.out" | cut -c1-90)...)" \
  'grep -q "^fleet: fault .freeze-web.: swarm service .ash-web. -> task [0-9a-z]* (slot 0) on node m: running, container [0-9a-f]*; task .* on node w1: running, container .*; task .* on node w2: running" "$T/svc.out"'
rep=$(ls -d "$T"/r1c/swarm-svc-*/ 2>/dev/null | head -1)
check "swarm_service all: one fault on each task's node, one TTD and TTR, both probes harmed, each task's container" \
  'python3 - "$rep/report.json" "$(basename "$(cat "$T/cg-w1")")" <<PY
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
fl = r["fleet"]
ev = [e["event"] + ": " + e["detail"] for e in r["timeline"]]
fs = [f for f in fl["faults"] if f["name"] == "freeze-web"]
print("   ttd %s ms, ttr %s ms; nodes %s" % (r["ttd_ms"], r["ttr_ms"], sorted(f["node"] for f in fs)))
print("   " + "".join(e for e in ev if e.startswith("fault-reverted: ")))
# Each part by name, so a failure says which one (the CI log is all there is).
bad = [what for what, good in [
    ("a fault on each of m, w1, w2", sorted(f["node"] for f in fs) == ["m", "w1", "w2"]),
    ("each fault on a task of ash-web with both clock bounds",
     all(f["swarm_task"]["service"] == "ash-web" and f["inject_bound_ms"] is not None and f["revert_bound_ms"] is not None for f in fs)),
    ("the fault on w1 on the container found at the start", [f["swarm_task"]["container"] for f in fs if f["node"] == "w1"] == [sys.argv[2]]),
    ("a TTD and a TTR, detected by watch", r["ttd_ms"] is not None and r["ttr_ms"] is not None and r["detected_by"] == "watch"),
    ("one fault-injected event on nodes m, w1, w2", any(e.startswith("fault-injected: freeze-web (host-crash) on nodes m, w1, w2, the latest") for e in ev)),
    ("one fault-reverted event on nodes m, w1, w2", any(e.startswith("fault-reverted: freeze-web (duration elapsed) on nodes m, w1, w2") for e in ev)),
    ("a fleet-resolve event naming the task on w2", any(e.startswith("fleet-resolve: fault ") and "freeze-web" in e and "ash-web" in e and "on node w2" in e for e in ev)),
    ("three fleet-target events through a cgroup", sum(1 for e in ev if e.startswith("fleet-target: node ") and "through its cgroup" in e) == 3),
    ("every probe failed at least once", all(p["failures"] > 0 for p in r["probes"])),
] if not good]
for what in bad:
    print("   not so: " + what)
if bad:
    print("   faults: %s" % json.dumps(fs))
    print("   probes: %s" % [(p["name"], p["failures"]) for p in r["probes"]])
    print("   timeline:\n     " + "\n     ".join(ev))
ok = not bad
sys.exit(0 if ok else 1)
PY'
check "swarm_service all: every task thawed, nothing deployed left" 'thawed m && thawed w1 && thawed w2 && nothing_deployed'
# Refused before anything is deployed (exit 3), each naming the service, tasks, nodes.
svc_scenario "$T/svc-none.yaml" swarm-svc-none "{swarm_service: ash-nosuch, all: true}"
(run "$T/svc-none.yaml") >"$T/svc-none.out" 2>&1
rc=$?
check "swarm_service: no such service: exit 3 naming it and the services there are ($(grep -o "has no service.*" "$T/svc-none.out" | head -1))" \
  '[ $rc = 3 ] && grep -q "fault .freeze-web.: the swarm (manager .*) has no service .ash-nosuch.; its services: ash-web; nothing was harmed" "$T/svc-none.out" && nothing_deployed'
svc_scenario "$T/svc-one.yaml" swarm-svc-one "{swarm_service: ash-web}"
(run "$T/svc-one.yaml") >"$T/svc-one.out" 2>&1
rc=$?
check "swarm_service without all: three tasks, exit 3 listing them ($(grep -o "has 3 running tasks.\{60\}" "$T/svc-one.out" | head -1)...)" \
  '[ $rc = 3 ] && grep -q "swarm service .ash-web. has 3 running tasks (task [0-9a-z]* (slot 0) on node m: running, container [0-9a-f]*; .* on node w1: .* on node w2: .*): give .all: true." "$T/svc-one.out" && nothing_deployed'
svc_scenario "$T/svc-out.yaml" swarm-svc-out "{swarm_service: ash-web, all: true}" "[m, w1]"
(run "$T/svc-out.yaml") >"$T/svc-out.out" 2>&1
rc=$?
check "swarm_service: a task on a node not in fleet.nodes: exit 3 naming it ($(grep -o "runs on node.\{40\}" "$T/svc-out.out" | head -1)...)" \
  '[ $rc = 3 ] && grep -q "task [0-9a-z]* of swarm service .ash-web. runs on node w2, which is not in fleet.nodes (m, w1): list it there; nothing was harmed" "$T/svc-out.out" && nothing_deployed'
sed "s/  engine: swarm/  engine: agents/; /  docker_host:/d; /  image:/d; /  state_dir:/d" "$T/svc.yaml" >"$T/svc-agents.yaml"
(run "$T/svc-agents.yaml") >"$T/svc-agents.out" 2>&1
rc=$?
check "swarm_service outside engine: swarm: exit 2, file:line:column ($(head -1 "$T/svc-agents.out"))" \
  '[ $rc = 2 ] && grep -q "svc-agents.yaml:[0-9]*:13: .host-crash.: .swarm_service: ash-web. is resolved through the swarm manager, so it needs .fleet:. with .engine: swarm." "$T/svc-agents.out"'
check "swarm_service: no fault applied by a refused run" 'thawed m && thawed w1 && thawed w2'

# 2. SIGKILL of the coordinator mid-fault (no guardian: recover does its part).
scenario "$T/kill.yaml" swarm-kill 60s
kill_mid_fault SIGKILL --no-guardian --report-dir "$T/r2"
k=$(date +%s%N)
for i in $(seq 100); do thawed w1 && thawed w2 && break; sleep 0.05; done
ms=$((($(date +%s%N) - k) / 1000000))
check "SIGKILL: every agent reverted its node, in ${ms}ms (lease 3s)" 'thawed w1 && thawed w2 && [ $ms -le 3000 ]'
check "SIGKILL: the run's service and secret are still there, journaled" \
  '! nothing_deployed && [ -n "$(ls "$T"/cj/*.journal 2>/dev/null)" ]'
"$ASH" recover --state-dir "$T/cj" >"$T/rec.out" 2>&1
check "SIGKILL: recover removes the service and the secret" \
  'nothing_deployed && grep -q "^  removed Swarm service " "$T/rec.out" && grep -q "^  removed Swarm secret " "$T/rec.out"'
for n in $SWARM_NODES; do
  check "SIGKILL: node $n's agent closed its journal" '[ -z "$(ls "$T/state/$n"/*.journal 2>/dev/null)" ]'
done
# The independent scanner, while the nodes' namespaces still exist: nothing of
# this test but the swarm itself (its namespaces and links are the test's own).
bash "$SRC/scripts/check-leftovers.sh" >"$T/left.out" 2>&1
mine=$(grep "^leftover:" "$T/left.out" | grep -v "^leftover: network namespace $SWARM_TAG-\|^leftover: link $SWARM_TAG" |
  grep "$SWARM_TAG\|swarm-kill\|swarm-two\|$T" || true)
check "SIGKILL: the leftover scanner finds nothing of the run on any node (${mine:-none})" \
  '[ -z "$mine" ] && grep -q "network namespace $SWARM_TAG-w2" "$T/left.out"'

# 2b. The same with the run's guardian (the default): it replays the killed
#     run's journal, removing the service and the secret with no one running recover.
kill_mid_fault "SIGKILL with a guardian" --report-dir "$T/r2b"
for i in $(seq 200); do nothing_deployed && thawed w1 && thawed w2 && break; sleep 0.05; done
check "SIGKILL with a guardian: the agents reverted, the guardian removed the service and the secret" \
  'thawed w1 && thawed w2 && nothing_deployed && [ -z "$(ls "$T"/cj/*.journal 2>/dev/null)" ]'

# 3. Refused before anything is deployed.
scenario "$T/bad.yaml" swarm-bad 2s "  docker_host: tcp://10.231.0.1:2375"
sed -i '0,/  docker_host: unix/{/  docker_host: unix/d}' "$T/bad.yaml"
(run "$T/bad.yaml") >"$T/bad.out" 2>&1
rc=$?
check "bad fleet value: exit 2, file:line:column ($(head -1 "$T/bad.out"))" \
  '[ $rc = 2 ] && grep -q "bad.yaml:[0-9]*:16: .fleet.docker_host. is a swarm manager" "$T/bad.out" && nothing_deployed'
scenario "$T/nonode.yaml" swarm-nonode 2s
sed -i 's/nodes: \[m, w1, w2\]/nodes: [m, w1, w2, w9]/' "$T/nonode.yaml"
(run "$T/nonode.yaml") >"$T/nonode.out" 2>&1
rc=$?
check "a node the swarm lacks: exit 3, named ($(grep -o "fleet.nodes names.*" "$T/nonode.out" | head -1))" \
  '[ $rc = 3 ] && grep -q "fleet.nodes names w9, not a Ready and Active node of the swarm" "$T/nonode.out" && nothing_deployed'
scenario "$T/noimg.yaml" swarm-noimg 2s
sed -i 's/image: ash-agent/image: ash-no-such-image/' "$T/noimg.yaml"
(run "$T/noimg.yaml") >"$T/noimg.out" 2>&1
rc=$?
check "an image no node has: exit 3 with the swarm's reason ($(grep -o "the task on.*" "$T/noimg.out" | head -1))" \
  '[ $rc = 3 ] && grep -q "swarm service aftershock-agent-.*: the task on node .* is rejected" "$T/noimg.out" && nothing_deployed'
# A wait too short for any agent (a task's container takes 100s of ms to start;
# 300 ms was met by two agents once sandboxes got faster): the timeout names the
# nodes, each task's state and the address with the port the agents were told.
scenario "$T/short.yaml" swarm-short 2s
sed -i 's/wait: 60s/wait: 20ms/' "$T/short.yaml"
(run "$T/short.yaml") >"$T/short.out" 2>&1
rc=$?
check "wait timeout: exit 3 naming the nodes and the tasks' states ($(grep -o "the swarm agents' tasks: [^;]*" "$T/short.out" | head -1))" \
  '[ $rc = 3 ] && grep -q "fleet: no agent for node(s) m, w1, w2 connected within 0.02s (connected: none); the swarm agents. tasks: " "$T/short.out" &&
   port=$(sed -n "s/^fleet: listening on .* (port \([0-9]*\)).*/\1/p" "$T/short.out") && [ -n "$port" ] &&
   grep -q "reach [0-9.]*:$port? nothing was harmed" "$T/short.out" &&
   grep -q "tasks: \(the service has no tasks\|[a-z0-9(][^;]*: [a-z]\+\)" "$T/short.out" && nothing_deployed'
check "no fault was applied by a refused run" 'thawed w1 && thawed w2'

# Nothing left: no agent task containers on any node, then the swarm itself.
check "no agent containers left on any node" 'swarm_agents_gone'
swarm_dk m service rm ash-web >/dev/null 2>&1
swarm_stop
left=$(swarm_leftovers)
check "nothing of the swarm left: ${left:-none}" '[ -z "$left" ]'
SWARM_DIR=""
echo "fleet_swarm_run took $(($(date +%s) - t0))s"
[ $fail = 0 ] || exit 1
exit 0
