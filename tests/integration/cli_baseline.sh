#!/usr/bin/env bash
# `aftershock run --baseline/--save-baseline/--tolerance` end to end: a tiny
# host-mode scenario (an exec fault breaks a file-backed health check for
# 300 ms), a baseline saved from it, compared again (pass), against a doctored
# baseline (regression: exit 1), and bad baseline files (exit 2, nothing run).
set -u
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-baseline-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
run() { "$ASH" run --no-guardian --quiet --state-dir "$T/state" --report-dir "$T/reports" "$@"; }

touch "$T/healthy"
cat > "$T/flap.yaml" <<YAML
version: 1
name: flap
probes:
  - name: health
    exec: ["test", "-e", "$T/healthy"]
    every: 20ms
    # What this test compares is TTD/TTR against a baseline, not latency: a
    # fork of the ASan-built harness (its shadow memory's page tables) now and
    # then takes longer than the derived 20 ms floor, and a slow sample would
    # move TTR by a stable window (seen: 968 ms against 332 ms).
    slow: 200ms
detectors:
  - name: health-check
    exec: { command: ["test", "-e", "$T/healthy"], every: 20ms }
faults:
  - name: break
    kind: exec
    inject: ["rm", "-f", "$T/healthy"]
    revert: ["touch", "$T/healthy"]
    at: 0s
    duration: 300ms
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 10s
YAML
"$ASH" validate "$T/flap.yaml" >/dev/null 2>&1; check "fixture scenario is valid" '[ $? = 0 ]'

out=$(run --save-baseline "$T/base.json" "$T/flap.yaml" 2>&1); st=$?
check "first run passes and saves (exit $st)" '[ $st = 0 ]'
check "baseline file written" 'grep -q "aftershock/baseline-v1" "$T/base.json"'
check "baseline has the scenario's figures" 'python3 -c "import json,sys; e=json.load(open(\"$T/base.json\"))[\"scenarios\"][\"flap\"]; sys.exit(0 if e[\"ttd_ms\"] is not None and e[\"ttr_ms\"] >= 300 else 1)"'

out=$(run --baseline "$T/base.json" "$T/flap.yaml" 2>&1); st=$?
check "same scenario against its own baseline passes (exit $st)" '[ $st = 0 ]'
check "comparison table printed" 'echo "$out" | grep -q "^flap .*ttr_ms.*ok:"'
[ $st = 0 ] || echo "$out" | sed 's/^/     /' # what differed, for the log

# A baseline claiming TTR was 10 ms: 300+ ms now is a regression.
python3 - "$T/base.json" "$T/fast.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["scenarios"]["flap"]["ttr_ms"] = 10.0
json.dump(b, open(sys.argv[2], "w"))
PY
out=$(run --baseline "$T/fast.json" "$T/flap.yaml" 2>&1); st=$?
check "regression against a faster baseline exits 1 (exit $st)" '[ $st = 1 ]'
check "regression named" 'echo "$out" | grep -q "ttr_ms .*regressed"'
out=$(run --baseline "$T/fast.json" --tolerance 5000% "$T/flap.yaml" 2>&1); st=$?
check "a huge tolerance lets it pass (exit $st)" '[ $st = 0 ]'

# A report.json serves as a baseline too.
rep=$(ls -d "$T"/reports/flap-*/ | head -1)
out=$(run --baseline "$rep/report.json" "$T/flap.yaml" 2>&1); st=$?
check "report.json as baseline (exit $st)" '[ $st = 0 ]'
[ $st = 0 ] || echo "$out" | sed 's/^/     /' # what differed, for the log

# Bad baselines are usage errors found before anything runs.
n_before=$(ls -d "$T"/reports/flap-* | wc -l)
run --baseline "$T/nope.json" "$T/flap.yaml" >/dev/null 2>&1; st=$?
check "missing baseline exits 2" '[ $st = 2 ]'
echo '{"schema": 1' > "$T/broken.json"
out=$(run --baseline "$T/broken.json" "$T/flap.yaml" 2>&1); st=$?
check "broken baseline exits 2 with its position" '[ $st = 2 ] && echo "$out" | grep -q "broken.json:[0-9]*:[0-9]*: .*expected"'
run --tolerance abc "$T/flap.yaml" >/dev/null 2>&1; st=$?
check "bad --tolerance exits 2" '[ $st = 2 ]'
check "nothing ran for the bad ones" '[ "$(ls -d "$T"/reports/flap-* | wc -l)" = "$n_before" ]'
exit $fail
