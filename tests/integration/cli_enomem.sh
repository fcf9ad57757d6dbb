#!/usr/bin/env bash
# memory-exhaustion `enomem: true` end to end through the engine: a host-mode
# service is started under the seccomp launcher (mmap, brk notified); while the
# fault is in effect its allocations (tests/ash_malloccount --loop: 1 MiB blocks
# by mmap, 64 KiB blocks by brk) fail, which a log detector and a probe see;
# after the revert allocations succeed again and the probe recovers; the
# timeline's enomem-summary counts refusals on both paths.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
TOOL=$B/tests/ash_malloccount
if [ "$(id -u)" != 0 ]; then
  ash_skip_all "memory-exhaustion needs root"
fi
T=$(mktemp -d /tmp/ash-enomem-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo ok > "$T/st"
cat > "$T/enomem.yaml" <<YAML
version: 1
name: enomem-e2e
services:
  - name: worker
    command: ["$TOOL", "--loop", "50", "$T/st"]
    restart: always
probes:
  - name: alloc
    exec: ["grep", "-q", "ok", "$T/st"]
    every: 50ms
detectors:
  - name: log
    log: { service: worker, match: "ALLOC-FAILED" }
faults:
  - name: no-memory
    kind: memory-exhaustion
    at: 0s
    service: worker
    enomem: true
    duration: 1s
expect:
  warmup: 500ms
  stable_for: 500ms
  detect_within: 1s
  recover_within: 3s
  timeout: 10s
YAML

"$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$T/enomem.yaml" >"$T/out" 2>&1
rc=$?
check "run passes (exit $rc)" '[ $rc = 0 ]'
R=$(ls -d "$T"/reports/enomem-e2e-*/ 2>/dev/null | head -1)/report.json
check "report written" '[ -f "$R" ]'
if [ -f "$R" ]; then
  check "detected by the log detector" '[ "$(field "$R" "r[\"runs\"][0][\"detected_by\"]")" = log ]'
  check "recovered" '[ "$(field "$R" "r[\"runs\"][0][\"ttr_ms\"] is not None")" = True ]'
  summary=$(field "$R" "[e['detail'] for e in r['runs'][0]['timeline'] if e['event'] == 'enomem-summary'][0]")
  echo "     $summary"
  mm=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) anonymous mmap failed, \([0-9]*\) brk refused/\1/p')
  br=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) anonymous mmap failed, \([0-9]*\) brk refused/\2/p')
  check "anonymous mmap refused ($mm)" '[ "${mm:-0}" -gt 0 ]'
  check "brk refused ($br)" '[ "${br:-0}" -gt 0 ]'
fi
[ $fail = 0 ] || cat "$T/out"
exit $fail
