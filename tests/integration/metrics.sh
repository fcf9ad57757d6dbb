#!/usr/bin/env bash
# Prometheus metrics (issue 16 item 4): `run --metrics FILE` and `report --metrics
# DIR` write TTD/TTR/impact per scenario and run as text exposition that
# `promtool check metrics` accepts, labelled scenario, incident and variant
# (a variant and its as-it-was replay of the same incident), with the values of
# report.json in seconds; a figure never reached has no sample; the median of
# repeats is there as run="median".
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:?}
ASH=$B/aftershock
. "$S/tests/integration/lib/skip.sh"
T=$(mktemp -d /tmp/ash-metrics-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

scenario() { # $1 name, $2 detector block
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
incident: {source: "inc \"7\".txt", fault_at: "10:00", detected_at: "10:05", recovered_at: "10:20"}
probes:
  - name: health
    exec: ["test", "-e", "$T/$1.healthy"]
    every: 20ms
detectors:
$2
faults:
  - name: blip
    kind: exec
    inject: ["rm", "-f", "$T/$1.healthy"]
    revert: ["touch", "$T/$1.healthy"]
    duration: 300ms
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 10s
YAML
  touch "$T/$1.healthy"
}
scenario replay '  - name: users
    probes: {consecutive_failures: 2}'
scenario replay-early-alert '  - name: users
    probes: {consecutive_failures: 1}'
scenario quiet '  - name: never
    exec: ["true"]'

run() { "$ASH" run --no-guardian --quiet --state-dir "$T/state" --report-dir "$T/reports" "$@" >/dev/null 2>"$T/err"; }
run --metrics "$T/run.prom" "$T/replay.yaml" "$T/replay-early-alert.yaml"; st=$?
check "run --metrics: exit 0 (got $st: $(head -c 300 "$T/err"))" '[ $st = 0 ]'
check "the metrics file is written" '[ -s "$T/run.prom" ]'
run --repeat 2 --metrics "$T/quiet.prom" "$T/quiet.yaml"; st=$?
check "run --repeat 2 (nothing detects): exit 0 (got $st)" '[ $st = 0 ]'

if command -v promtool >/dev/null; then
  for f in run.prom quiet.prom; do
    promtool check metrics <"$T/$f" >"$T/promtool.out" 2>&1; st=$?
    check "promtool check metrics $f (exit $st: $(head -c 300 "$T/promtool.out"))" '[ $st = 0 ]'
  done
else
  ash_skip "promtool check metrics: promtool is not installed (scripts/install-deps.sh --test installs prometheus)"
fi

# Values and labels against report.json, read by python.
out=$(python3 - "$T" <<'PY'
import glob, json, re, sys
T = sys.argv[1]
prom = open(T + "/run.prom").read()
samples = {}
for line in prom.splitlines():
    if line.startswith("#"):
        continue
    m = re.match(r'(\w+)\{(.*)\} (\S+)$', line)
    if not m:
        print("bad line: " + line); sys.exit()
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
    samples[(m.group(1), labels["scenario"], labels["run"])] = (labels, float(m.group(3)))
bad = []
for d in glob.glob(T + "/reports/replay*/report.json"):
    r = json.load(open(d))
    run = r["runs"][0]
    for fam, key in (("aftershock_ttd_seconds", "ttd_ms"), ("aftershock_ttr_seconds", "ttr_ms"),
                     ("aftershock_impact_seconds", "impact_ms")):
        s = samples.get((fam, r["scenario"], "1"))
        if s is None:
            bad.append("no %s for %s" % (fam, r["scenario"]))
            continue
        labels, v = s
        if abs(v - run[key] / 1000) > 1e-5:
            bad.append("%s %s: %s != %s" % (fam, r["scenario"], v, run[key] / 1000))
        if labels["incident"] != 'inc \\"7\\".txt':
            bad.append("incident label %r" % labels["incident"])
        want = "early-alert" if r["scenario"].endswith("early-alert") else "as-it-was"
        if labels["variant"] != want:
            bad.append("variant label %r for %s" % (labels["variant"], r["scenario"]))
s = samples.get(("aftershock_incident_ttd_seconds", "replay", "incident"))
if not s or s[1] != 300:
    bad.append("incident ttd %r (want 300 s)" % (s,))
q = open(T + "/quiet.prom").read()
if "aftershock_ttd_seconds{" in q:
    bad.append("a TTD sample for a run nothing detected")
if 'aftershock_ttr_seconds{scenario="quiet",incident="inc \\"7\\".txt",variant="",run="median"}' not in q:
    bad.append("no median TTR for the repeats")
print("; ".join(bad) or "ok")
PY
)
check "values and labels match report.json ($out)" '[ "$out" = ok ]'

# report --metrics DIR: the textfile collector's directory.
mkdir -p "$T/textfile"
"$ASH" report --metrics "$T/textfile" "$T"/reports/replay-2*/ "$T"/reports/replay-early-alert-*/ >/dev/null 2>"$T/err"; st=$?
check "report --metrics DIR: exit 0 (got $st: $(head -c 200 "$T/err"))" '[ $st = 0 ]'
check "DIR/aftershock.prom has both scenarios" \
  'grep -q "scenario=\"replay\"" "$T/textfile/aftershock.prom" && grep -q "scenario=\"replay-early-alert\"" "$T/textfile/aftershock.prom"'
check "... the same samples as run --metrics wrote" 'cmp -s <(grep -v "^#" "$T/run.prom" | sort) <(grep -v "^#" "$T/textfile/aftershock.prom" | sort)'
if command -v promtool >/dev/null; then
  promtool check metrics <"$T/textfile/aftershock.prom" >"$T/promtool.out" 2>&1; st=$?
  check "promtool check metrics DIR/aftershock.prom (exit $st)" '[ $st = 0 ]'
fi

if [ $fail != 0 ]; then exit 1; fi
ash_exit 0
