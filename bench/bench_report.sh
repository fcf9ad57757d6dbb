#!/usr/bin/env bash
# Rendering cost: 8 reports (the fixtures, a 20-events-in-one-second run and a dense incident run)
# re-rendered by one `aftershock report` (report.html, report.md, junit.xml each), plus the index
# over them (test_report --render). Prints the wall time of each; the goal is well under a second
# for the 8 on this machine kind (docs/reports.md). A benchmark, not a test: run it on an idle machine.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/ash-bench-report-XXXXXX")
trap 'rm -rf -- "$out"' EXIT
mkdir -p "$out/fixtures" "$out/again"
"$build/tests/test_report" --render "$out/fixtures" >/dev/null
python3 "$here/tests/integration/lib/dense_reports.py" "$here/tests/fixtures/reports/pass.json" "$out/fixtures"
dirs=()
for d in "$out"/fixtures/*/; do
  [ -f "$d/report.json" ] && dirs+=("$d")
done
dirs=("${dirs[@]:0:8}")
best=
for i in 1 2 3 4 5; do
  t0=$(date +%s%N)
  "$build/aftershock" report "${dirs[@]}" >/dev/null
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done
t0=$(date +%s%N)
"$build/tests/test_report" --render "$out/again" >/dev/null
t1=$(date +%s%N)
echo "bench_report: ${#dirs[@]} reports re-rendered (html, md, junit) in ${best} ms (best of 5, one process)"
echo "bench_report: fixtures + index + combined junit + variants via test_report --render: $(( (t1 - t0) / 1000000 )) ms"
[ "${#dirs[@]}" -eq 8 ] || { echo "bench_report: only ${#dirs[@]} reports to render" >&2; exit 1; }
