#!/usr/bin/env bash
# A run's error is kept whole: a fault that cannot be injected because of a
# long path says the whole path and the reason in report.json's runs[].error,
# the timeline's abort event, report.md and report.html (it was cut at 255
# characters, mid-word, before the reason).
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-longerr-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
seg=$(printf 'x%.0s' $(seq 60))
long="$T/missing-$seg/$seg/$seg/$seg/db.sqlite"
cat >"$T/long.yaml" <<YAML
version: 1
name: long-error
probes:
  - name: p
    every: 100ms
    exec: { command: ["true"] }
faults:
  - name: lock
    kind: table-lock
    at: 0s
    duration: 1s
    sqlite: { path: "$long", table: t }
expect:
  warmup: 200ms
  timeout: 5s
YAML
"$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/rep" "$T/long.yaml" >"$T/out" 2>&1
st=$?
check "the run is aborted (exit $st)" '[ $st = 1 ]'
dir=$(ls -d "$T"/rep/long-error-*/ | head -1)
want="cannot open $long: unable to open database file"
check "report.json runs[].error is whole (${#long}-character path, then the reason)" \
  'python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r[\"runs\"][0][\"error\"].endswith(sys.argv[2]) else 1)" "$dir/report.json" "$want"'
check "the timeline's abort event is whole" \
  'python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if any(e[\"event\"]==\"abort\" and e[\"detail\"].endswith(sys.argv[2]) for e in r[\"runs\"][0][\"timeline\"]) else 1)" "$dir/report.json" "$want"'
check "report.md has it whole" 'grep -qF "$want" "$dir/report.md"'
check "report.html has it whole" 'grep -qF "$want" "$dir/report.html"'
ash_exit "$fail"
