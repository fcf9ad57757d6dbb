#!/usr/bin/env bash
# Container targets on Podman, through its Docker-compatible API socket (docs/targets.md),
# against a PRIVATE rootful podman (lib/podman.sh: storage, runroot and socket under the
# test's temp dir, containers on --network none): a process fault stops a container's
# init, host-crash freezes its cgroup (libpod-ID), a network partition is placed inside
# its own namespace and removed, and a SIGKILL of the harness mid-fault is undone by
# `recover`. Without podman it skips, saying why.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/podman.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
why=$(podman_lacks) && ash_skip_all "$why"
command -v nsenter >/dev/null && command -v nft >/dev/null || ash_skip_all "needs nsenter and nft"
T=$(mktemp -d /tmp/ash-tp-XXXXXX)
fail=0
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null; done
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  podman_stop
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# podman is installed: failing to start it is a failure, not a skip.
podman_start "$T/p" >"$T/why" || { echo "FAIL $(cat "$T/why")"; exit 1; }
podman_image ash-busybox || { echo "FAIL cannot import the busybox image into podman"; exit 1; }
podman_run pc ash-busybox sleep 1000 || { echo "FAIL cannot run a podman container: $(tail -2 "$T/p/service.log")"; exit 1; }
cpid() { pm inspect -f '{{.State.Pid}}' pc; }
pstate() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
ash_tables() { nsenter -t "$(cpid)" -n nft list tables 2>/dev/null | grep -c ' ash-'; }
frozen() { grep -q '^1$\|FROZEN' "$(find /sys/fs/cgroup -path "*libpod-$(pm inspect -f '{{.Id}}' pc)*" \( -name cgroup.freeze -o -name freezer.state \) | head -1)"; }
check "podman runs the container (init pid $(cpid))" '[ "$(cpid)" -gt 1 ]'

scenario() {
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
runtime: {docker_host: "unix://$PODMAN_SOCK"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
faults:
  - name: f
    target: container:pc
$2
    at: 0s
    duration: ${3:-3s}
expect:
  warmup: 200ms
  timeout: 90s
YAML
}
run_bg() {
  "$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/$1.yaml" >"$T/$1.out" 2>&1 &
  h=$!; bg+=("$h")
}
waitfor() { local i; for i in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }

scenario stop "    kind: process
    action: stop"
run_bg stop
check "process stop: the init is stopped (T)" 'waitfor "[ \"\$(pstate $(cpid))\" = T ]"'
wait "$h"; st=$?
check "process stop: run exits 0, the init runs again" '[ $st = 0 ] && [ "$(pstate "$(cpid)")" != T ]'
[ $st = 0 ] || tail -5 "$T/stop.out"

scenario freeze "    kind: host-crash
    mode: freeze"
run_bg freeze
check "host-crash freeze: its libpod cgroup frozen" 'waitfor frozen'
wait "$h"; st=$?
check "host-crash freeze: run exits 0, thawed" '[ $st = 0 ] && ! frozen'
[ $st = 0 ] || tail -5 "$T/freeze.out"

scenario part "    kind: network
    partition: true" 3s
run_bg part
check "network partition: aftershock's table inside its namespace" 'waitfor "[ \"\$(ash_tables)\" = 1 ]"'
wait "$h"; st=$?
check "network partition: run exits 0, table gone" '[ $st = 0 ] && [ "$(ash_tables)" = 0 ]'
[ $st = 0 ] || tail -5 "$T/part.out"

scenario kill "    kind: network
    partition: true" 60s
run_bg kill
check "kill trial: table inside its namespace" 'waitfor "[ \"\$(ash_tables)\" = 1 ]"'
kill -KILL "$h"; wait "$h" 2>/dev/null
"$ASH" recover --state-dir "$T/state" >"$T/recover.out" 2>&1; st=$?
check "kill trial: recover exits 0 and removed the table" '[ $st = 0 ] && [ "$(ash_tables)" = 0 ]'
ash_exit $fail
