#!/usr/bin/env bash
# The five bundled incidents in fleet mode with `engine: swarm` (issue 20, docs/fleet.md
# "Hosts on nodes" and "Hosts on nodes from a swarm agent"): on the private three-node
# swarm of lib/swarm.sh (one swarm for all five), each run deploys its agents as a
# Swarm global service and maps the incident's client hosts to the workers w1 and w2
# (`fleet.hosts`); each node's agent, inside its swarm task, builds those hosts
# (network, mount and UTS namespaces, veths, a bridge, cgroups, the VXLAN to the run's
# bridge) and starts their services from its image. For each incident:
#   - the verdict is the one the local replay gives (pass);
#   - the probes from the placed hosts were sampled by their node's agent;
#   - nothing is left: no ash link, namespace or nftables table in the coordinator's
#     or any node's namespace, no ash cgroup, no journal on any node, the service
#     and the secret removed.
# Then the coordinator stopped once the nodes have built their hosts: every
# agent's lease lapses and it tears its hosts down on its node; the coordinator
# SIGKILLed, recover undoes its sandbox and removes the service and the secret; an
# agent SIGKILLed: its guardian undoes its node's part; the leftover scanner finds
# nothing of the runs in any node's namespace.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
. "$(dirname "$0")/lib/swarm.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
S=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
why=$(swarm_lacks) && ash_skip_all "$why"
for t in python3 nsenter; do command -v $t >/dev/null || ash_skip_all "$t is needed"; done
[ -x "$B/services/phones" ] || ash_skip_all "the demo services are not built ($B/services)"
T=$(mktemp -d /tmp/ash-fsi-XXXXXX) # short: three engines' sockets live under it
fail=0
coord=""
ids=""
cleanup() {
  [ -z "$coord" ] || { kill -KILL "$coord" 2>/dev/null; wait "$coord" 2>/dev/null; }
  for d in "$T"/cj-*; do [ -d "$d" ] && "$ASH" recover --state-dir "$d" >/dev/null 2>&1; done
  swarm_stop
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
t0=$(date +%s)

swarm_start "$T/s" >"$T/why" || { echo "FAIL $(cat "$T/why")"; exit 1; }
echo "ok   three-node swarm up in $(($(date +%s) - t0))s"
# The kernel's VXLAN (module vxlan) joins the machines' sandboxes.
if ! ip -n "$SWARM_COORD_NS" link add ashxprobe type vxlan id 1 dstport 4789 local "$SWARM_COORD_IP" 2>"$T/vx.err"; then
  ash_skip_all "no VXLAN here: $(cat "$T/vx.err")"
fi
ip -n "$SWARM_COORD_NS" link del ashxprobe
# The agents' image: aftershock, and the demo services beside it (services/ next to
# the binary is where {services_dir} resolves on a node), each with its libraries.
swarm_agent_image "$T/agent" "$ASH" "$B"/services/*
for n in $SWARM_NODES; do
  swarm_image "$n" ash-agent "$T/agent"
  mkdir -p "$T/state/$n"
done

nothing_deployed() {
  [ -z "$(swarm_dk m service ls -q --filter name=aftershock-)" ] &&
    [ -z "$(swarm_dk m secret ls -q --filter name=aftershock-)" ]
}

# SCENARIO with an `engine: swarm` fleet: section placing HOSTS -> OUT.
fleet_copy() { # SCENARIO OUT HOSTS
  python3 - "$1" "$2" "$3" <<PY
import os, sys
src, out, hosts = sys.argv[1:]
text = open(src).read().replace("{scenario_dir}", os.path.dirname(os.path.abspath(src)))
text += """
fleet:
  engine: swarm
  listen: $SWARM_COORD_IP:0
  nodes: [m, w1, w2]
  lease: 2s
  wait: 60s
  docker_host: unix://$(swarm_sock m)
  image: ash-agent
  state_dir: $T/state/{{.Node.Hostname}}
  hosts: { %s }
""" % hosts
open(out, "w").write(text)
PY
}
# run ARGS...: aftershock run in the bridge's namespace (nsenter, not `ip netns
# exec`, which remounts /sys); exec'd so that `run ... &` gives the run's own pid.
run() { exec nsenter --net="/run/netns/$SWARM_COORD_NS" "$ASH" run "$@"; }
# Every link, nftables table, namespace and cgroup of the run ids IDS (a regex:
# other tests may run beside this one) in the coordinator's and each node's network
# namespace; every journal on a node.
left_on_nodes() { # IDS
  local ns
  for ns in "$SWARM_COORD_NS" $(for n in $SWARM_NODES; do swarm_ns "$n"; done); do
    ip -n "$ns" -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^ash[-x]?($1)" |
      sed "s/^/link in $ns: /"
    nsenter --net="/run/netns/$ns" nft list tables 2>/dev/null | awk '{print $3}' | grep -E "^ash-($1)" |
      sed "s/^/table in $ns: /"
  done
  ls /run/netns | grep -E "^ash-($1)-"
  find /sys/fs/cgroup -maxdepth 3 -type d -name 'ash-*' 2>/dev/null | grep -E "/ash-($1)(\$|/)"
  ls "$T"/state/*/*.journal 2>/dev/null
}

run_incident() { # NAME SCENARIO HOSTS
  [ -z "${ASH_INCIDENTS:-}" ] || [[ " $ASH_INCIDENTS " == *" $1 "* ]] || return 0
  local name=$1 y=$T/$1.yaml st t1
  t1=$(date +%s)
  fleet_copy "$S/scenarios/$2" "$y" "$3"
  (run --state-dir "$T/cj-$name" --report-dir "$T/r-$name" "$y") >"$T/run-$name.out" 2>&1
  st=$?
  report=$(ls "$T/r-$name"/*/report.json 2>/dev/null | head -1)
  verdict=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$report" 2>/dev/null)
  check "$name: verdict pass with swarm agents in $(($(date +%s) - t1))s (exit $st, verdict ${verdict:-none})" \
    '[ $st = 0 ] && [ "$verdict" = pass ]'
  [ "$st" = 0 ] || tail -20 "$T/run-$name.out"
  local mine
  mine="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["run_id"])' "$report" 2>/dev/null)"
  mine+=" $(grep -o 'its sandbox ash-n[0-9a-f]*' "$T/run-$name.out" | sed 's/.*ash-//' | tr '\n' ' ')"
  ids+=" $mine"
  python3 - "$report" "$4" <<'PY' >"$T/cross-$name.out" 2>&1
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
want = set(sys.argv[2].split())
probes = {p["name"]: p for p in r["fleet"]["probes"]}
assert probes, "no probe was sampled on a node"
for p in probes.values():
    assert p["node"] in want and p["samples"] > 0 and not p["lost"], p
    print(f"probe {p['name']} from {p['from']} on node {p['node']}: {p['samples']} samples")
built = [e["detail"] for e in r["timeline"] if e["event"] == "fleet-hosts"]
for n in want:
    assert any(d.startswith(f"node {n} built host") for d in built), (n, built)
PY
  local rc=$?
  check "$name: the placed hosts built by their swarm agents, their probes sampled there ($(tr '\n' ';' <"$T/cross-$name.out"))" \
    '[ $rc = 0 ]'
  local left
  left=$(left_on_nodes "$(echo $mine | tr ' ' '|')" | tr '\n' ' ')
  check "$name: nothing left on the coordinator or any node (${left:-none}); the service and secret removed" \
    '[ -z "$left" ] && nothing_deployed'
}

run_incident coretek coretek-host-crash.yaml "office: w1" "w1"
run_incident ioffice ioffice-dns-misresolution.yaml "office: w1, old-leader: w2" "w1"
run_incident rainbow rainbow-network-congestion.yaml "users: w2" "w2"
run_incident askcody askcody-memory-exhaustion.yaml "customers: w1" "w1"
run_incident telephony telephony-table-lock.yaml "phones: w2" "w2"
if [ -z "${ASH_INCIDENTS:-}" ] || [[ " $ASH_INCIDENTS " == *" telephony "* ]]; then
  check "telephony: the handsets service ran on node w2 from the agent's image" \
    'grep -q "node w2 (.*): handsets pid" "$T"/r-telephony/*/report.json &&
     grep -q "all phones registering" "$T"/state/w2/*/logs/handsets.log'
fi

# The coordinator stopped (SIGSTOP: silent, its connections open) once both workers
# have built their hosts (ioffice: office on w1, old-leader on w2) and the fault is
# in: each agent's lease (2 s) lapses and it tears its hosts, its VXLAN and its
# bridge down on its node, the service still there. Then SIGKILL (no guardian):
# recover undoes the coordinator's sandbox and removes the service and the secret.
if [ -z "${ASH_INCIDENTS:-}" ] || [[ " $ASH_INCIDENTS " == *" killed "* ]]; then
  fleet_copy "$S/scenarios/ioffice-dns-misresolution.yaml" "$T/killed.yaml" "office: w1, old-leader: w2"
  run --no-guardian --state-dir "$T/cj-killed" --report-dir "$T/r-killed" "$T/killed.yaml" >"$T/run-killed.out" 2>&1 &
  coord=$!
  for _ in $(seq 600); do grep -q "fault-injected" "$T/run-killed.out" && break; sleep 0.1; done
  nodes=$(grep -o 'its sandbox ash-n[0-9a-f]*' "$T/run-killed.out" | sed 's/.*ash-//' | tr '\n' ' ')
  mine="$nodes $(grep -o "service aftershock-agent-[0-9a-z]*" "$T/run-killed.out" | head -1 | sed 's/.*-//')"
  built=$(grep -c "fleet-hosts .*node w[12] built host" "$T/run-killed.out")
  kill -STOP "$coord"
  k=$(date +%s%N)
  re=$(echo $nodes | tr ' ' '|')
  for _ in $(seq 100); do
    left=$(left_on_nodes "$re" | tr '\n' ' ')
    [ -z "$left" ] && break
    sleep 0.1
  done
  ms=$((($(date +%s%N) - k) / 1000000))
  kill -KILL "$coord"
  wait "$coord" 2>/dev/null
  coord=""
  check "coordinator stopped: both workers had built their hosts and the fault was in ($built node(s))" \
    '[ "$built" = 2 ] && grep -q "fault-injected" "$T/run-killed.out"'
  check "coordinator stopped: the agents' leases lapsed: after ${ms}ms (lease 2s) nothing of their hosts on any node (${left:-none}), the service still there" \
    '[ -z "$left" ] && [ "$ms" -ge 1000 ] && [ "$ms" -le 6000 ] && ! nothing_deployed'
  # Where the run ran: its bridge and VXLAN are in the coordinator's namespace.
  nsenter --net="/run/netns/$SWARM_COORD_NS" "$ASH" recover --state-dir "$T/cj-killed" >"$T/rec.out" 2>&1
  left=$(left_on_nodes "$(echo $mine | tr ' ' '|')" | tr '\n' ' ')
  check "then SIGKILL: recover undid the coordinator's sandbox, removed the service and the secret (${left:-none})" \
    '[ -z "$left" ] && nothing_deployed && [ -z "$(ls "$T"/cj-killed/*.journal 2>/dev/null)" ]'
  ids+=" $mine"
fi
# SIGKILL of w1's agent once it has built its host (coretek: office on w1). The
# agent is not PID 1 of its task: it goes on as the child of a supervisor that
# waits for every process of the task (sys/pid1.h), so its guardian outlives it
# and undoes the host, the VXLAN, the bridge, the nftables table and the cgroups
# on w1 from the journal on the node's disk; then the task ends. Nothing is left
# to recover on the node.
if [ -z "${ASH_INCIDENTS:-}" ] || [[ " $ASH_INCIDENTS " == *" agent-killed "* ]]; then
  fleet_copy "$S/scenarios/coretek-host-crash.yaml" "$T/akill.yaml" "office: w1"
  run --state-dir "$T/cj-akill" --report-dir "$T/r-akill" "$T/akill.yaml" >"$T/run-akill.out" 2>&1 &
  coord=$!
  for _ in $(seq 600); do grep -q "fleet-hosts .*node w1 built host" "$T/run-akill.out" && break; sleep 0.1; done
  node=$(grep -o 'its sandbox ash-n[0-9a-f]*' "$T/run-akill.out" | sed 's/.*ash-//')
  svc=$(grep -o "service aftershock-agent-[0-9a-z]*" "$T/run-akill.out" | head -1 | sed 's/^service //')
  agent=$(swarm_dk w1 ps -q --filter "label=com.docker.swarm.service.name=$svc")
  p1=$(swarm_dk w1 inspect -f '{{.State.Pid}}' "$agent" 2>/dev/null)
  apid=$(cat /proc/"$p1"/task/"$p1"/children 2>/dev/null | awk '{print $1}')
  check "agent SIGKILL: w1's agent runs under its task's PID 1, its guardian beside it" \
    '[ -n "$apid" ] && grep -q "agent" /proc/$apid/cmdline && grep -q "__guardian" /proc/$(pgrep -P "$apid" | head -1)/cmdline 2>/dev/null'
  kill -KILL "$apid"
  wait "$coord"
  st=$?
  coord=""
  left=""
  for _ in $(seq 100); do
    left=$(left_on_nodes "$node" | tr '\n' ' ')
    [ -z "$left" ] && break
    sleep 0.1
  done
  check "agent SIGKILL: the run stops naming w1 (exit $st)" '[ $st != 0 ] && grep -q "node w1" "$T/run-akill.out"'
  check "agent SIGKILL: its guardian undid the host, VXLAN, bridge, table and cgroups on w1 (left: ${left:-none})" \
    '[ -z "$left" ]'
  for _ in $(seq 50); do kill -0 "$p1" 2>/dev/null || break; sleep 0.1; done
  check "agent SIGKILL: the task ended once the guardian was done" '! kill -0 "$p1" 2>/dev/null'
  swarm_dk w1 run --rm --network host --cap-add NET_ADMIN --cap-add SYS_ADMIN \
    -v /sys/fs/cgroup:/sys/fs/cgroup -v "$T/state/w1:/aftershock-state" ash-agent \
    /usr/bin/aftershock recover --state-dir /aftershock-state >"$T/rec-akill.out" 2>&1
  check "agent SIGKILL: recover in the agent's image on w1 finds nothing left ($(tr '\n' ' ' <"$T/rec-akill.out"))" \
    '! grep -q "^  [a-z]" "$T/rec-akill.out"'
  ids+=" $node $(echo "$svc" | sed 's/.*-//')"
fi
check "no agent containers left on any node" 'swarm_agents_gone'
# The independent scanner, while the nodes' namespaces still exist: nothing of these
# runs in any namespace (the swarm's own namespaces and links are the test's).
re=$(echo $ids | tr ' ' '|')
bash "$S/scripts/check-leftovers.sh" >"$T/left.out" 2>&1
mine=$(grep "^leftover:" "$T/left.out" | grep -E "ash[-x]?($re)" || true)
check "the leftover scanner finds nothing of these runs in any node's namespace (${mine:-none})" \
  '[ -z "$mine" ] && [ -n "$re" ]'

echo "fleet_swarm_incidents took $(($(date +%s) - t0))s"
ash_exit $fail
