#!/usr/bin/env bash
# Blast radius in host mode (top-level services:, no hosts:): a scenario that
# would touch a process, cgroup, interface or listener it does not name is
# refused. At validation: `validate` and `run` exit 2 with file:line:column and
# the exact reason, and `run` starts nothing (no service, no journal, no
# cgroup, no report). At injection (the named service is gone): the run aborts
# with the reason, injects nothing and leaves nothing behind.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/machine.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-blast-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# The service would leave a marker if it ever started.
header() {
  cat <<YAML
version: 1
name: blast
services:
  - name: blastapp
    command: ["sh", "-c", "touch $T/started; sleep 30"]
probes:
  - name: up
    exec: ["true"]
YAML
}

# Cgroups this test's service would get from a memory fault (ash-<run>-blastapp).
cgroups() { find /sys/fs/cgroup -maxdepth 3 -name 'ash-*-blastapp' 2>/dev/null; }

# refused NAME "FILE:LINE:COL: MESSAGE" BODY: the header then BODY (line 9 on).
refused() {
  { header; printf '%s' "$3"; } > "$T/$1.yaml"
  judge "$1" "$2"
}
# judge NAME "LINE:COL: MESSAGE": $T/NAME.yaml is refused and nothing happens.
judge() {
  local name=$1 want=$2 f="$T/$1.yaml" out st
  out=$("$ASH" validate "$f" 2>&1); st=$?
  check "$name: validate exits 2 (got $st)" '[ $st = 2 ]'
  check "$name: validate says '$want'" '[ "$out" = "$f:$want" ]' || echo "     got: $out"
  out=$("$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$f" 2>&1); st=$?
  check "$name: run exits 2 (got $st)" '[ $st = 2 ]'
  check "$name: run says why" 'echo "$out" | grep -qF "$f:$want"'
  check "$name: nothing started, journaled, reported or made" \
    '[ ! -e "$T/started" ] && [ -z "$(ls -A "$T/state" 2>/dev/null)" ] &&
     [ -z "$(ls -A "$T/reports" 2>/dev/null)" ] && [ -z "$(cgroups)" ]'
}

# -- processes: only the scenario's own services
refused process-unnamed "12:13: no service named 'sshd' in this scenario" 'faults:
  - name: f
    kind: process
    target: sshd
    action: kill
'
refused syscall-unnamed "12:14: no service named 'cron' in this scenario" 'faults:
  - name: f
    kind: syscall
    service: cron
    syscalls: [write]
    errno: EIO
'
refused restart-unnamed "12:24: no service named 'sshd' in this scenario" 'remediation:
  - name: r
    at: 1s
    action: { restart: sshd }
'
refused kill-lock-holder-not-a-lock "16:33: fault 'f' is not a table-lock fault" 'faults:
  - name: f
    kind: exec
    inject: ["true"]
remediation:
  - name: r
    at: 1s
    action: { kill_lock_holder: f }
'
refused log-unnamed "11:21: no service named 'sshd' in this scenario" 'detectors:
  - name: d
    log: { service: sshd, match: x }
'
# Existing processes cannot be adopted (no attach:): only what the scenario starts.
printf 'version: 1\nname: blast\nservices:\n  - name: other\n    attach: { pid: 1 }\n' > "$T/attach-unknown.yaml"
judge attach-unknown "5:5: unknown key 'attach' in service 'other' (valid keys: name, command, env, ready, restart, depends_on, user)"

# -- cgroups: a host-mode service's own ash-<run>-<service>, bounded
refused memory-host-in-host-mode "12:13: 'memory-exhaustion' on host 'blastapp' needs sandbox mode: this scenario has no 'hosts:' (in host mode aim at a service: target: service:NAME)" 'faults:
  - name: f
    kind: memory-exhaustion
    target: host:blastapp
    limit: 64MiB
'
refused memory-unnamed "12:13: no service named 'postgres' in this scenario" 'faults:
  - name: f
    kind: memory-exhaustion
    target: service:postgres
    limit: 64MiB
'
refused balloon-without-limit "13:14: a balloon needs a memory limit around it: give 'limit'; without one it would exhaust the whole machine's memory and the kernel could OOM-kill any process on it" 'faults:
  - name: f
    kind: memory-exhaustion
    service: blastapp
    balloon: { size: 1GiB }
'
refused oom-host-in-host-mode "11:20: 'oom' on host 'blastapp' needs sandbox mode: this scenario has no 'hosts:' (in host mode aim at a service: target: service:NAME)" 'detectors:
  - name: d
    oom: { target: host:blastapp }
'

# -- interfaces and hosts: sandbox mode only
refused network-in-host-mode "12:13: 'network' needs a target with a network namespace of its own; service 'blastapp' has none (a host-mode service shares the machine's own network; network harm needs sandbox mode: give the scenario 'hosts:' and aim at one with target: host:NAME)" 'faults:
  - name: f
    kind: network
    target: blastapp
    bandwidth: 1mbit
'
refused host-crash-in-host-mode "12:11: 'host-crash' on host 'blastapp' needs sandbox mode: this scenario has no 'hosts:'" 'faults:
  - name: f
    kind: host-crash
    host: blastapp
'
refused probe-from-in-host-mode "11:11: probe 'p' runs from host 'web', but this scenario has no hosts (leave 'from' out to probe from the harness)" '  - name: p
    exec: ["true"]
    from: web
'

# -- listeners: loopback unless allow_remote: true
refused webhook-not-loopback "11:24: listen address '0.0.0.0:9093' is not loopback: anyone who can reach it could fake a detection; set 'allow_remote: true' if that is intended" 'detectors:
  - name: d
    webhook: { listen: "0.0.0.0:9093" }
'
refused webhook-host-in-host-mode "11:22: 'host' needs sandbox mode: this scenario has no 'hosts:'" 'detectors:
  - name: d
    webhook: { host: blastapp }
'
refused dns-not-loopback "9:16: listen address '0.0.0.0:5353' is not loopback: anyone who can reach it would get the fault's answers; set 'allow_remote: true' if that is intended" 'dns: { listen: "0.0.0.0:5353" }
'
refused dns-fault-without-server "10:5: a dns fault needs the run's DNS server: sandbox hosts, or in host mode 'dns: {listen: ADDRESS:PORT}' at the top of the scenario, or a 'target: container:NAME' whose queries it takes" 'faults:
  - name: f
    kind: dns
    names: [web]
    answer: nxdomain
'

# The escape hatches are accepted (validate only: nothing listens).
{ header; printf 'dns: { listen: "0.0.0.0:5353", allow_remote: true }\ndetectors:\n  - name: d\n    webhook: { listen: "0.0.0.0:0", allow_remote: true }\n'; } > "$T/remote.yaml"
out=$("$ASH" validate "$T/remote.yaml" 2>&1); st=$?
check "allow_remote: true accepts non-loopback listeners (got $st: $out)" '[ $st = 0 ]'
{ header; printf 'faults:\n  - name: f\n    kind: memory-exhaustion\n    service: blastapp\n    limit: 64MiB\n    balloon: { size: 80MiB }\n'; } > "$T/bounded.yaml"
out=$("$ASH" validate "$T/bounded.yaml" 2>&1); st=$?
check "a balloon inside a limit is accepted (got $st: $out)" '[ $st = 0 ]'

# -- at injection: the named service is gone; the fault is refused, nothing is left
# (it exits in the fault phase, before the fault's at: 2s; an exit during the
# warm-up would fail the steady state instead: steady_state_owner.sh)
runtime() { # NAME FAULT-BODY
  local f="$T/rt-$1.yaml"
  cat > "$f" <<YAML
version: 1
name: blast-rt
services:
  - name: blastapp
    command: ["sh", "-c", "sleep 1.2"]
    restart: never
probes:
  - name: up
    exec: ["true"]
    every: 50ms
faults:
$2
expect:
  warmup: 400ms
  stable_for: 100ms
  timeout: 4s
YAML
  rm -rf "$T/state" "$T/reports"
  "$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$f" >/dev/null 2>&1; st=$?
  check "$1: run aborts, exit 1 (got $st)" '[ $st = 1 ]'
  local d
  d=$(ls -d "$T"/reports/blast-rt-*/ 2>/dev/null | head -1)
  err=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]; print(r["verdict"], r["t_inject_ms"], r["error"])' "$d/report.json" 2>&1)
  check "$1: aborted, nothing injected, says why ($err)" \
    '[ "$err" = "aborted None fault '"'"'f'"'"' could not be injected: service '"'"'blastapp'"'"' is not running: No such process" ]'
  check "$1: journal settled" '[ -z "$(ls -A "$T/state" 2>/dev/null | grep -v "\.lock$")" ]'
  check "$1: no cgroup left" '[ -z "$(cgroups)" ]'
}
runtime process-gone '  - name: f
    at: 2s
    kind: process
    target: blastapp
    action: stop'
# Whether the kernel can limit memory, from its own files (not from `aftershock list`, the tool under test).
if ! why=$(machine_lacks root "memory controller"); then
  runtime memory-gone '  - name: f
    at: 2s
    kind: memory-exhaustion
    service: blastapp
    limit: 64MiB'
else
  ash_skip "memory-gone: $why"
fi

ash_exit "$fail"
