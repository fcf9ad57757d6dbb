#!/usr/bin/env bash
# Runs started at the same moment into one report directory each get their own
# run directory (issue 22 item 3): the final mkdir is exclusive, so none shares
# another's report.json, logs or (sandbox mode) generated hosts/resolv.conf.
# Also: the longest scenario name validate accepts still makes a run directory.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-rundirs-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# start N runs of SCENARIO at once into REPORTS; wait for all; echo their exit statuses
run_at_once() {
  local n=$1 scen=$2 reports=$3 i st=""
  pids=()
  for i in $(seq "$n"); do
    ${WRAP:-} "$ASH" run --quiet --state-dir "$T/state" --report-dir "$reports" "$scen" >"$T/out.$i" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; st+="$? "; done
  pids=()
  echo "$st"
}
# N run directories in REPORTS, each with a report.json that parses and passed
all_intact() {
  local reports=$1 n=$2 d ok=0
  for d in "$reports"/*/; do
    [ -f "$d/report.json" ] || continue
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["verdict"] == "pass" and len(r["runs"]) == 1 else 1)' \
      "$d/report.json" || { echo "  bad report in $d"; return 1; }
    ok=$((ok + 1))
  done
  [ "$ok" = "$n" ] || { echo "  $ok run directories with a report, want $n"; return 1; }
}
# and each holds the output of exactly one run's exec fault (a shared one holds two)
own_logs() {
  local d
  for d in "$1"/*/; do
    [ "$(grep -c -- '^--- .* inject:' "$d/logs/faults/mark.log" 2>/dev/null)" = 1 ] || { echo "  $d/logs/faults/mark.log: not one run's"; return 1; }
  done
}
# how many run directories carry a suffix: proof that some runs started in the same second
suffixed() { ls -d "$1"/*-[0-9]*T[0-9]*Z-[0-9]* 2>/dev/null | wc -l; }

cat > "$T/host.yaml" <<YAML
version: 1
name: same-second
probes:
  - name: ok
    exec: ["true"]
    every: 50ms
faults:
  - name: mark
    kind: exec
    inject: ["sh", "-c", "echo injected into {run_dir}"]
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 10s
YAML

# -- host mode: six at once; retried (up to 3 times) until some did share a second
for try in 1 2 3; do
  rm -rf "$T/host-reports"
  st=$(run_at_once 6 "$T/host.yaml" "$T/host-reports")
  [ "$(suffixed "$T/host-reports")" -gt 0 ] && break
done
check "host mode: six runs at once all exit 0" '[ "$st" = "0 0 0 0 0 0 " ]'
check "host mode: some started in the same second (suffixed directories)" '[ "$(suffixed "$T/host-reports")" -gt 0 ]'
check "host mode: six run directories, each with its own intact report.json" 'all_intact "$T/host-reports" 6'
check "host mode: each with its own exec fault output" 'own_logs "$T/host-reports"'

# -- the same with the window between "is the name free?" and "take it" held open:
# every mkdir waits 300 ms (strace fault injection), so both runs pick their name
# before either has made it. A check-then-create would give both the same directory.
if command -v strace >/dev/null; then
  WRAP="strace -f -qq -o /dev/null -e trace=mkdir -e inject=mkdir:delay_enter=300000"
  # LeakSanitizer cannot run under ptrace (it aborts at exit): in the ASan build the
  # leak check is left to the other tests for these two traced runs.
  saved_asan=${ASAN_OPTIONS-}
  export ASAN_OPTIONS="${saved_asan:+$saved_asan:}detect_leaks=0"
  st=$(run_at_once 2 "$T/host.yaml" "$T/race-reports")
  if [ -n "$saved_asan" ]; then export ASAN_OPTIONS=$saved_asan; else unset ASAN_OPTIONS; fi
  WRAP=
  check "mkdir held open: both runs exit 0" '[ "$st" = "0 0 " ]'
  check "mkdir held open: two run directories with intact reports" 'all_intact "$T/race-reports" 2'
  check "mkdir held open: each with its own exec fault output" 'own_logs "$T/race-reports"'
else
  echo "FAIL strace is needed to hold the run directory race open (apt install strace)"
  fail=1
fi

# -- the longest name validate accepts still names a run directory (the suffix included)
long=$(printf 'n%.0s' $(seq 234))
sed "s/^name: same-second/name: $long/" "$T/host.yaml" > "$T/long.yaml"
"$ASH" validate "$T/long.yaml" >/dev/null 2>&1
check "a 234-character scenario name validates" '[ $? = 0 ]'
st=$(run_at_once 2 "$T/long.yaml" "$T/long-reports")
check "two runs of it at once both exit 0, two run directories" '[ "$st" = "0 0 " ] && all_intact "$T/long-reports" 2'

# -- sandbox mode: each host sees its own run's files: the resolv.conf it reads names
# the DNS server on the subnet of its own interface (a shared run directory gave one
# host the other run's resolv.conf)
if [ "$(id -u)" = 0 ]; then
  cat > "$T/sandbox.yaml" <<YAML
version: 1
name: same-second-sandbox
hosts:
  - name: box
    services:
      - name: show
        command: ["sh", "-c", "cat /etc/resolv.conf; ip -4 -o addr show scope global; exec sleep 3600"]
probes:
  - name: ok
    exec: ["true"]
    every: 50ms
faults:
  - name: mark
    kind: exec
    inject: ["sh", "-c", "echo injected into {run_dir}"]
expect:
  warmup: 300ms
  stable_for: 200ms
  timeout: 20s
YAML
  for try in 1 2 3; do
    rm -rf "$T/sb-reports"
    st=$(run_at_once 3 "$T/sandbox.yaml" "$T/sb-reports")
    [ "$(suffixed "$T/sb-reports")" -gt 0 ] && break
  done
  check "sandbox mode: three runs at once all exit 0" '[ "$st" = "0 0 0 " ]' || cat "$T"/out.*
  check "sandbox mode: some started in the same second" '[ "$(suffixed "$T/sb-reports")" -gt 0 ]'
  check "sandbox mode: three intact run directories" 'all_intact "$T/sb-reports" 3'
  consistent() {
    local d log ns own
    for d in "$T"/sb-reports/*/; do
      log=$d/logs/show.log
      ns=$(awk '$1 == "nameserver" {print $2; exit}' "$log" | cut -d. -f1-3)
      own=$(awk '$3 == "inet" {print $4; exit}' "$log" | cut -d. -f1-3)
      [ -n "$ns" ] && [ "$ns" = "$own" ] || { echo "  $log: nameserver on $ns, own address on $own"; return 1; }
    done
  }
  [ -n "${ASH_TEST_VERBOSE:-}" ] && cat "$T"/sb-reports/*/logs/show.log
  check "sandbox mode: every host's resolv.conf names its own subnet's DNS server" consistent
else
  ash_skip "sandbox mode: needs root"
fi
ash_exit "$fail"
