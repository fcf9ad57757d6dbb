#!/usr/bin/env bash
# Half-way interruptions of faults on a container target (torture build only:
# -DASH_TORTURE=ON, its ASH_TORTURE_KILL kill points, src/sys/torture.h), against a
# PRIVATE dockerd (lib/dockerd.sh, an --internal network). For each record a fault on a
# container journals, the run SIGKILLs itself at two points:
# - append:OP, right after the record is durable and before the change it undoes is
#   made: `recover` meets an undo with nothing to undo (no table, no qdisc, a running
#   container, a limit already the engine's);
# - done:OP, after the revert undid the change and before its done mark: `recover`
#   undoes it a second time.
# Each must end with `recover` exiting 0, no journal left, and the container as it was:
# running, its init not stopped, its cgroup not frozen, the engine's own memory limit,
# no aftershock table or qdisc inside its namespace.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
why=$(dockerd_lacks) && ash_skip_all "$why"
command -v nsenter >/dev/null && command -v nft >/dev/null && command -v tc >/dev/null ||
  ash_skip_all "needs nsenter, nft and tc to look inside the container's namespace"
T=$(mktemp -d /tmp/ash-th-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  dockerd_stop
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

dockerd_start "$T/d" >"$T/why" || { echo "FAIL $(cat "$T/why")"; exit 1; }
dockerd_image ash-busybox || { echo "FAIL cannot import the busybox image"; exit 1; }
dk network create --internal ash-th-net >/dev/null
dk run -d --name hw --network ash-th-net --memory 256m ash-busybox sleep 100000 >/dev/null
cpid() { dk inspect -f '{{.State.Pid}}' hw; }
id=$(dk inspect -f '{{.Id}}' hw)
pstate() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
inns() { nsenter -t "$(cpid)" -n "$@"; }
mf=/sys/fs/cgroup/memory/docker/$id/memory.limit_in_bytes
[ -e "$mf" ] || mf=/sys/fs/cgroup/docker/$id/memory.max
[ -e "$mf" ] || mf=/sys/fs/cgroup/system.slice/docker-$id.scope/memory.max
frozen() {
  local f
  for f in /sys/fs/cgroup/unified/docker/$id/cgroup.events /sys/fs/cgroup/docker/$id/cgroup.events \
    /sys/fs/cgroup/system.slice/docker-$id.scope/cgroup.events; do
    [ -e "$f" ] && { grep -q "^frozen 1" "$f"; return; }
  done
  grep -q FROZEN "/sys/fs/cgroup/freezer/docker/$id/freezer.state" 2>/dev/null
}
# The container as it was: what any of the faults below could have left.
as_it_was() {
  [ "$(dk inspect -f '{{.State.Running}} {{.State.Paused}}' hw)" = "true false" ] &&
    [ "$(pstate "$(cpid)")" = S ] && ! frozen && [ "$(cat "$mf")" = 268435456 ] &&
    [ "$(inns nft list tables 2>/dev/null | grep -c ' ash-')" = 0 ] &&
    [ "$(inns tc qdisc show dev eth0 | awk 'NR==1 {print $2}')" = noqueue ]
}
check "the container runs as it should before any fault (256 MiB, noqueue, no table)" as_it_was

# case POINT OP FAULT-LINES: one run killed at POINT:OP, then recover.
case_() {
  local point=$1 op=$2 name=$3
  cat >"$T/$name.yaml" <<YAML
version: 1
name: $name
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
faults:
  - name: f
    target: container:hw
$4
    at: 0s
    duration: 1s
expect:
  warmup: 200ms
  timeout: 60s
YAML
  rm -rf "$T/state"
  ASH_TORTURE_KILL=$point:$op "$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" \
    "$T/$name.yaml" >"$T/$name.out" 2>&1
  local st=$?
  check "$point:$op: the run killed itself there (exit $st), its record pending" \
    '[ $st = 137 ] && grep -q "\"op\":\"$op\"" "$T"/state/*.journal'
  [ $st = 137 ] || tail -5 "$T/$name.out"
  # append: killed before the change; done: after the revert undid it (a killed
  # container's start on revert may still be settling).
  local i
  for i in $(seq 50); do as_it_was && break; sleep 0.1; done
  check "$point:$op: before recover, the change $([ "$point" = append ] && echo "never made" || echo "already undone")" \
    as_it_was
  "$ASH" recover --state-dir "$T/state" >"$T/$name.recover" 2>&1
  st=$?
  check "$point:$op: recover exits 0, no journal left" '[ $st = 0 ] && [ -z "$(ls "$T"/state/*.journal 2>/dev/null)" ]'
  [ $st = 0 ] || cat "$T/$name.recover"
  check "$point:$op: after recover, the container as it was" as_it_was
}

for point in append done; do
  case_ $point proc.sigcont "stop-$point" "    kind: process
    action: stop"
  case_ $point host-crash.thaw "freeze-$point" "    kind: host-crash
    mode: freeze"
  case_ $point host-crash.container-start "kill-$point" "    kind: host-crash
    mode: kill"
  case_ $point memory.restore "mem-$point" "    kind: memory-exhaustion
    limit: 32MiB"
  case_ $point network.nft "part-$point" "    kind: network
    partition: true"
  case_ $point network.qdisc "cap-$point" "    kind: network
    bandwidth: 1mbit
    direction: egress"
  case_ $point dns.redirect "dns-$point" "    kind: dns
    names: [nowhere.example]
    answer: nxdomain"
done
ash_exit $fail
