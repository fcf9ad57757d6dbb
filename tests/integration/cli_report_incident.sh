#!/usr/bin/env bash
# A real run's report carries the incident as the scenario states it (issue 17): its title, its
# own clock (fault_at ... as HH:MM), which times were assumed, and per figure whether it is stated,
# assumed or unknown; `aftershock run --junit` writes one combined JUnit file that a JUnit consumer
# (xmllint with tests/fixtures/junit/junit.xsd) accepts; `aftershock report` still re-renders a
# report.json written before these fields existed.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-report-incident-XXXXXX)
trap '"$ASH" recover --state-dir "$T/state" >/dev/null 2>&1; rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
command -v xmllint >/dev/null || { echo "cli_report_incident: xmllint missing (scripts/install-deps.sh --test)" >&2; exit 1; }

for name in incident-fields incident-fields-variant; do
  cat > "$T/$name.yaml" <<YAML
version: 1
name: $name
incident:
  source: demo-postmortem.txt
  title: "Demo outage: the portal stops answering"
  fault_at: "09:30"          # the postmortem gives no onset
  recovered_at: "09:45"
  assumed: [fault_at]
timescale: 60
probes:
  - name: ok
    exec: ["true"]
    every: 50ms
faults:
  - name: mark
    kind: exec
    inject: ["true"]
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 5s
YAML
done

"$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" --junit "$T/all.xml" \
  "$T/incident-fields.yaml" "$T/incident-fields-variant.yaml" >"$T/out" 2>&1
st=$?
check "the runs complete (exit $st)" '[ "$st" = 0 ] || [ "$st" = 1 ]'
rep=$(ls "$T"/reports/incident-fields-2*/report.json 2>/dev/null | head -1)
check "report.json written" '[ -f "$rep" ]'
check "report.json: incident title, own clock, assumed times, bases" "python3 - '$rep' <<'PY'
import json, sys
inc = json.load(open(sys.argv[1]))['incident']
want = {'title': 'Demo outage: the portal stops answering', 'fault_at': '09:30', 'detected_at': None,
        'recovered_at': '09:45', 'assumed': ['fault_at'], 'ttd_ms': None, 'ttd_basis': 'unknown',
        'ttr_ms': 900000.0, 'ttr_basis': 'assumed', 'scaled_ttr_ms': 15000.0}
bad = {k: (inc.get(k), v) for k, v in want.items() if inc.get(k) != v}
print(bad) if bad else None
sys.exit(1 if bad else 0)
PY"
d=$(dirname "$rep")
check "report.md: TTD unknown, TTR assumed" "grep -q '| TTD | unknown (the postmortem does not give it) | unknown |' '$d/report.md' && grep -q '| TTR | 15 min → 15.0 s at 60x (assumed) | \*assumed\* |' '$d/report.md'"
check "report.html: incident title in the header" "grep -q 'replays the incident “Demo outage: the portal stops answering”' '$d/report.html'"
check "junit.xml: no \"null\" strings" "! grep -q 'value=\"null\"' '$d/junit.xml'"
check "combined --junit file: two suites, valid against the JUnit schema" \
  "[ \"\$(grep -c '<testsuite ' '$T/all.xml')\" = 2 ] && xmllint --noout --schema '$S/tests/fixtures/junit/junit.xsd' '$T/all.xml' 2>/dev/null"
check "index.html lists the incident's title" "grep -q 'incident: Demo outage' '$T/reports/index.html'"

# An older report-v1 (no incident title, times or bases) re-renders.
mkdir -p "$T/old"
cp "$S/tests/fixtures/reports/pass.json" "$T/old/report.json"
check "aftershock report re-renders an older report.json" "'$ASH' report '$T/old' >/dev/null 2>&1 && grep -q '12 min → 12.0 s at 60x' '$T/old/report.html' && xmllint --noout --schema '$S/tests/fixtures/junit/junit.xsd' '$T/old/junit.xml' 2>/dev/null"

[ "$fail" = 0 ] && echo "cli_report_incident: ok"
exit "$fail"
