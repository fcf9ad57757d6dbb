#!/usr/bin/env bash
# The bundled incidents in fleet mode (issue 20, docs/fleet.md "Hosts on nodes"):
# each scenario's hosts mapped across machines with `fleet.hosts`, on a test
# fleet of network namespaces this test makes (a coordinator namespace with a
# bridge, nodes a and b each joined to it by a veth; no route out). The
# coordinator (`aftershock run`) builds the hosts not placed, each node's agent
# (`aftershock agent`) builds the hosts placed on it; a VXLAN joins the sandbox
# bridges. For each incident:
#   - the verdict is the one the local replay gives (pass);
#   - a cross-node path was used: the probes from the placed client host were
#     sampled by that node's agent (fleet.probes[].node, samples > 0) and reached
#     services on the coordinator's machine; the run says the node built the host;
#   - nothing is left on any node: no ash link, namespace or nftables table in
#     the coordinator's or a node's namespace, no journal, and the scanner
#     (scripts/check-leftovers.sh) finds nothing of the runs.
# Then a bad placement (an unknown host, an unknown node, a host with services,
# a fault on a placed host) is refused with file:line:column, exit 2, before
# anything is deployed.
# Every process here is started by this test and ended by its pid.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/fleet.sh"
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:?}
[ "$(id -u)" = 0 ] || ash_skip_all "a fleet of namespaces, sandboxes and a VXLAN need root"
for t in ip nsenter python3; do command -v $t >/dev/null || ash_skip_all "$t is needed"; done
fleet_start fleetinc "report checks"
ids=""
TAG=ashfi$$
C=$TAG-c
NODES="a b"
ns_of() { echo "$TAG-$1"; }
ns_cleanup() {
  for n in $NODES; do ip netns del "$(ns_of "$n")" 2>/dev/null; done
  ip netns del "$C" 2>/dev/null
}
trap 'fleet_cleanup; ns_cleanup' EXIT
ip netns add "$C" || ash_skip_all "cannot create a network namespace"
ip -n "$C" link set lo up
ip -n "$C" link add br0 type bridge
ip -n "$C" addr add 10.233.0.254/24 dev br0
ip -n "$C" link set br0 up
i=1
for n in $NODES; do
  ns=$(ns_of "$n")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "${TAG}v$i" netns "$C" type veth peer name eth0 netns "$ns"
  ip -n "$C" link set "${TAG}v$i" master br0 up
  ip -n "$ns" addr add "10.233.0.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  i=$((i + 1))
done
# The kernel's VXLAN (module vxlan) is what joins the machines' sandboxes.
if ! ip -n "$C" link add ashxprobe type vxlan id 1 dstport 4789 local 10.233.0.254 2>"$T/vx.err"; then
  ash_skip_all "no VXLAN here: $(cat "$T/vx.err")"
fi
ip -n "$C" link del ashxprobe

# In a namespace only (not `ip netns exec`: it remounts /sys, hiding the cgroup tree).
# What runs in the background is nsenter itself (it execs the program: $! is its pid).
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
listening() { for _ in $(seq 1500); do grep -q "^fleet: listening" "$1" 2>/dev/null && return; sleep 0.01; done; }

# SCENARIO with a fleet: section placing HOSTS ("office: a, old-leader: b") -> OUT.
fleet_copy() { # SCENARIO OUT PORT HOSTS
  python3 - "$1" "$2" "$3" "$4" "$T" <<'PY'
import sys
src, out, port, hosts, t = sys.argv[1:]
text = open(src).read()
import os
text = text.replace("{scenario_dir}", os.path.dirname(os.path.abspath(src)))
text += f"""
fleet:
  listen: 10.233.0.254:{port}
  key_file: {t}/key
  nodes: [a, b]
  lease: 2s
  wait: 30s
  hosts: {{ {hosts} }}
"""
open(out, "w").write(text)
PY
}

# Run one incident as the coordinator in $C, agents a and b in their namespaces.
# ASH_INCIDENTS="coretek ioffice" limits the runs to those incidents.
run_incident() { # NAME SCENARIO HOSTS
  [ -z "${ASH_INCIDENTS:-}" ] || [[ " $ASH_INCIDENTS " == *" $1 "* ]] || return 0
  local name=$1 sc=$2 hosts=$3 port y=$T/$1.yaml
  port=$(free_port)
  case $sc in /*) ;; *) sc=$S/scenarios/$sc ;; esac
  fleet_copy "$sc" "$y" "$port" "$hosts"
  nsenter --net="/run/netns/$C" "$ASH" run --state-dir "$T/state-$name" --report-dir "$T/r-$name" "$y" >"$T/run-$name.out" 2>&1 &
  local run=$!
  pids+=("$run")
  listening "$T/run-$name.out"
  local ags=()
  for n in $NODES; do
    nsenter --net="/run/netns/$(ns_of "$n")" "$ASH" agent --connect "10.233.0.254:$port" --key-file "$T/key" --node "$n" \
      --lease 2s --state-dir "$T/state-$name-$n" >"$T/agent-$name-$n.out" 2>&1 &
    ags+=("$!")
    pids+=("$!")
  done
  wait "$run"
  st=$?
  local ast=0
  for p in "${ags[@]}"; do wait "$p" || ast=$?; done
  report=$(ls "$T/r-$name"/*/report.json 2>/dev/null | head -1)
  verdict=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$report" 2>/dev/null)
  check "$name: verdict pass in fleet mode (exit $st, verdict ${verdict:-none})" '[ $st = 0 ] && [ "$verdict" = pass ]'
  [ "$st" = 0 ] || { tail -20 "$T/run-$name.out"; for n in $NODES; do tail -5 "$T/agent-$name-$n.out"; done; }
  check "$name: the agents left on bye (exit 0)" '[ $ast = 0 ]'
  check "$name: a node's agent built its hosts" 'grep -q "fleet-hosts" "$report"'
  # This run's ids: the coordinator's and each node's sandbox (ash-ID...).
  local id
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["run_id"])' "$report" 2>/dev/null)
  ids+=" $id $(grep -o 'its sandbox ash-n[0-9a-f]*' "$T/run-$name.out" | sed 's/.*ash-//' | tr '\n' ' ')"
  # The cross-node path: every probe from a placed host was sampled on its node.
  python3 - "$report" "$y" <<'PY' >"$T/cross-$name.out" 2>&1
import json, sys, re
r = json.load(open(sys.argv[1]))["runs"][0]
probes = {p["name"]: p for p in r["fleet"]["probes"]}
assert probes, "no probe was sampled on a node"
for p in probes.values():
    assert p["node"] in ("a", "b") and p["samples"] > 0 and not p["lost"], p
    print(f"probe {p['name']} from {p['from']} on node {p['node']}: {p['samples']} samples")
PY
  check "$name: probes from the placed host sampled by its node across the overlay ($(tr '\n' ';' <"$T/cross-$name.out"))" \
    '[ $? = 0 ] && grep -q samples "$T/cross-$name.out"'
  local left=""
  for ns in "$C" $(for n in $NODES; do ns_of "$n"; done); do
    left+=$(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^ash' | grep -v "^$TAG" | tr '\n' ' ')
    left+=$(in_ns "$ns" nft list tables 2>/dev/null | awk '{print $3}' | grep -E '^ash' | tr '\n' ' ')
  done
  left+=$(ls /run/netns | grep -E "^ash-($(echo $ids | tr ' ' '|'))-" | tr '\n' ' ')
  left+=$(ls "$T"/state-"$name"*/*.journal 2>/dev/null | tr '\n' ' ')
  check "$name: nothing left on the coordinator or a node (${left:-none})" '[ -z "$left" ]'
}

run_incident coretek coretek-host-crash.yaml "office: a"
run_incident ioffice ioffice-dns-misresolution.yaml "office: a, old-leader: b"
run_incident rainbow rainbow-network-congestion.yaml "users: b"
run_incident askcody askcody-memory-exhaustion.yaml "customers: a"
run_incident telephony telephony-table-lock.yaml "phones: b"
# The phones' own service ran on node b and registered across the overlay.
if [ -z "${ASH_INCIDENTS:-}" ] || [[ " $ASH_INCIDENTS " == *" telephony "* ]]; then
  check "telephony: the handsets service ran on node b (its agent's service, in the run's timeline)" \
    'grep -q "node b (.*): handsets pid" "$T"/r-telephony/*/report.json &&
     grep -q "all phones registering" "$T"/state-telephony-b/*/logs/handsets.log'
fi

# SIGKILL of node a's agent once it has built its host: its guardian replays the
# node's journal (the services, the VXLAN, the host's namespaces and cgroup, the
# bridge); the run stops naming the node. Nothing is left on the node.
if [ -z "${ASH_INCIDENTS:-}" ] || [[ " $ASH_INCIDENTS " == *" killed "* ]]; then
  port=$(free_port)
  fleet_copy "$S/scenarios/coretek-host-crash.yaml" "$T/killed.yaml" "$port" "office: a"
  nsenter --net="/run/netns/$C" "$ASH" run --state-dir "$T/state-killed" --report-dir "$T/r-killed" "$T/killed.yaml" \
    >"$T/run-killed.out" 2>&1 &
  run=$!
  pids+=("$run")
  listening "$T/run-killed.out"
  for n in $NODES; do
    nsenter --net="/run/netns/$(ns_of "$n")" "$ASH" agent --connect "10.233.0.254:$port" --key-file "$T/key" --node "$n" \
      --lease 2s --state-dir "$T/state-killed-$n" >"$T/agent-killed-$n.out" 2>&1 &
    pids+=("$!")
    [ "$n" = a ] && AG=$!
  done
  for _ in $(seq 1000); do grep -q "fleet-hosts" "$T/run-killed.out" && break; sleep 0.01; done
  sleep 0.5
  kid=$(grep -o 'its sandbox ash-n[0-9a-f]*' "$T/run-killed.out" | sed 's/.*ash-//')
  ids+=" $kid"
  had=$(ls /run/netns | grep -c "^ash-$kid-")
  kill -KILL "$AG"
  wait "$run"
  st=$?
  gone=""
  for _ in $(seq 100); do
    gone=$(ls /run/netns | grep "^ash-$kid-"; ip -n "$(ns_of a)" -o link show | awk -F': ' '{print $2}' |
      cut -d@ -f1 | grep -E '^ash'; ls "$T"/state-killed-a/*.journal 2>/dev/null)
    [ -z "$gone" ] && break
    sleep 0.1
  done
  check "killed agent: the run stops naming node a (exit $st)" '[ $st != 0 ] && grep -q "node a" "$T/run-killed.out"'
  check "killed agent: its guardian undid node a's host, VXLAN and bridge (had $had namespace(s); left: ${gone:-none})" \
    '[ "$had" = 1 ] && [ -z "$gone" ]'
fi

# A fault on a host node a builds, applied by node a's agent (the same kind code),
# seen by a probe from a host node b builds (node b to node a across the VXLAN):
# detected and recovered, one report.
if [ -z "${ASH_INCIDENTS:-}" ] || [[ " $ASH_INCIDENTS " == *" remote-fault "* ]]; then
  cat >"$T/remote-fault-src.yaml" <<'YAML'
version: 1
name: remote-fault
hosts:
  - name: office
  - name: client
    services:
      - name: www
        command: ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"]
        ready: { http: "http://127.0.0.1:8080/", timeout: 10s }
probes:
  - name: client-web
    from: office
    http: { url: "http://client:8080/" }
    every: 50ms
    timeout: 200ms
detectors:
  - name: watch
    probes: { consecutive_failures: 2 }
faults:
  - name: freeze-client
    kind: host-crash
    mode: freeze
    target: host:client
    at: 300ms
    duration: 1s
expect:
  warmup: 1s
  stable_for: 1s
  detect_within: 1s
  recover_within: 3s
  timeout: 20s
YAML
  run_incident remote-fault "$T/remote-fault-src.yaml" "client: a, office: b"
  check "remote-fault: node a awaited its service's ready check before the warm-up" \
    'grep -q "node a (.*): www" "$report" && python3 -c "import json,sys; t=json.load(open(sys.argv[1]))[\"runs\"][0][\"timeline\"]; sys.exit(0 if any(e[\"event\"]==\"service-ready\" and \"www\" in e[\"detail\"] for e in t) else 1)" "$report"'
  check "remote-fault: node a's agent froze and thawed host client (the fault's node in the report)" \
    'python3 -c "import json,sys; r=json.load(open(sys.argv[1]))[\"runs\"][0]; f=r[\"fleet\"][\"faults\"]; sys.exit(0 if f and f[0][\"node\"]==\"a\" and r[\"ttd_ms\"] is not None and r[\"ttr_ms\"] is not None else 1)" "$report"'
fi

# The plan says which hosts a node's agent builds.
fleet_copy "$S/scenarios/coretek-host-crash.yaml" "$T/plan.yaml" 1 "office: a"
"$ASH" plan "$T/plan.yaml" >"$T/plan.out" 2>&1
check "plan: host office is built by node a's agent" 'grep -q "host office .*built by node a.s agent" "$T/plan.out"'

# Bad placements: refused before anything is deployed (validate and run, exit 2).
bad() { # NAME HOSTS EXPECT [SCENARIO]
  local bn=$1 y=$T/bad-$1.yaml want=$3
  fleet_copy "${4:-$S/scenarios/coretek-host-crash.yaml}" "$y" 1 "$2"
  in_ns "$C" timeout 20 "$ASH" run --state-dir "$T/state-bad" --report-dir "$T/r-bad" "$y" >"$T/bad-$bn.out" 2>&1
  local st=$?
  check "bad placement $bn: exit 2 with file:line:column ($(head -c 300 "$T/bad-$bn.out"))" \
    '[ $st = 2 ] && grep -q "bad-$bn.yaml:[0-9]*:[0-9]*: .*$want" "$T/bad-$bn.out"'
  check "bad placement $bn: nothing deployed (no listening, no state)" \
    '! grep -q "^fleet: listening" "$T/bad-$bn.out" && [ -z "$(ls "$T/state-bad"/*.journal 2>/dev/null)" ]'
}
bad unknown-host "nosuch: a" "not a host of this scenario"
bad unknown-node "office: z" "not in fleet.nodes"
# A detector on a placed host (its services run on the node) is refused.
bad detector-on-placed "registration: a" "nothing else acts on it from here yet" "$S/scenarios/telephony-table-lock.yaml"

# The test fleet's namespaces go first (the scanner would name them), then the
# scanner looks for anything of these runs' ids on the machine.
ns_cleanup
re="$(echo $ids | tr ' ' '|')"
bash "$S/scripts/check-leftovers.sh" >"$T/leftovers.out" 2>&1
check "the leftover scanner finds nothing of these runs ($(grep -E "$re|$TAG" "$T/leftovers.out" | head -3))" \
  '! grep -qE "$re|$TAG" "$T/leftovers.out"'
ash_exit $fail
