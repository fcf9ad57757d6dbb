#!/usr/bin/env bash
# The derived slow threshold (10 x a probe's warm-up p99, at least 20 ms) never
# exceeds the probe's timeout: past it a sample has failed, not been slow, and
# a higher threshold would only widen TTR's stated resolution. A probe taking
# about 40 ms (10 x = 400 ms) with a 150 ms timeout gets 150 ms, source
# "timeout"; the same probe with a 2 s timeout keeps 10 x its p99.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-slow-XXXXXX)
fail=0
trap '"$ASH" recover --state-dir "$T/state" >/dev/null 2>&1; rm -rf "$T"' EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
command -v python3 >/dev/null || ash_skip_all "python3 reads the report"
cat >"$T/slow.yaml" <<'YAML'
version: 1
name: slow-threshold
probes:
  - name: capped
    every: 200ms
    timeout: 150ms
    exec: { command: ["sleep", "0.04"] }
  - name: free
    every: 200ms
    timeout: 2s
    exec: { command: ["sleep", "0.04"] }
expect:
  warmup: 1s
  stable_for: 200ms
  timeout: 3s
YAML
"$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/rep" "$T/slow.yaml" >"$T/out" 2>&1
st=$?
rep=$(ls "$T"/rep/slow-threshold-*/report.json 2>/dev/null | head -1)
check "a report was written (exit $st)" '[ -f "$rep" ]'
IFS="|" read -r cap_ms cap_src free_ms free_src free_p99 < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in r["runs"][0]["probes"]}
print(p["capped"]["slow_ms"], p["capped"]["slow_source"], p["free"]["slow_ms"], p["free"]["slow_source"], p["free"]["warmup_p99_ms"], sep="|")' "$rep")
check "10 x p99 above the timeout: the threshold is the timeout ($cap_ms ms, $cap_src)" \
  '[ "$cap_src" = timeout ] && python3 -c "import sys; sys.exit(0 if abs(float(sys.argv[1]) - 150) < 1e-6 else 1)" "$cap_ms"'
check "below the timeout: 10 x the warm-up p99 ($free_ms ms = 10 x $free_p99, $free_src)" \
  '[ "$free_src" = "warm-up p99" ] && python3 -c "import sys; sys.exit(0 if abs(float(sys.argv[1]) - 10 * float(sys.argv[2])) < 1e-3 and float(sys.argv[1]) > 150 else 1)" "$free_ms" "$free_p99"'
check "the timeline says why" 'grep -q "capped: 150.000 ms (timeout: 10 x the warm-up p99 of" "$rep"'
ash_exit "$fail"
