#!/usr/bin/env bash
# Every bundled scenario (scenarios/*.yaml) end to end: it validates, and when
# this machine can run it (exit 3 = a kind or privilege missing here: skipped
# with the reason) its replay passes, and nothing is left behind
# (scripts/check-leftovers.sh, compared with what was there before: other
# tests may be running on this machine at the same time).
# ASH_SCENARIOS="a.yaml b.yaml" limits the run to those files.
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:?}
ASH=$B/aftershock
if [ "$(id -u)" != 0 ]; then echo "skip: bundled scenarios build sandboxes and need root"; exit 77; fi
T=$(mktemp -d /tmp/ash-scenarios-XXXXXX)
fail=0 ran=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
leftovers() { bash "$S/scripts/check-leftovers.sh" | grep '^leftover:' | sort; }

# The scenarios name their demo services as {services_dir}/X, which resolves to
# services/ beside the aftershock binary that runs them: this build's.
files=${ASH_SCENARIOS:-$(cd "$S/scenarios" && ls *.yaml)}
for name in $files; do
  f="$S/scenarios/$(basename "$name")"
  sc=$(basename "$f" .yaml)
  out=$("$ASH" validate "$S/scenarios/$(basename "$f")" 2>&1); st=$?
  check "$sc: validates (exit $st) $out" '[ $st = 0 ]'
  before=$(leftovers)
  out=$("$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$f" 2>&1); st=$?
  if [ $st = 3 ]; then
    echo "skip $sc: this machine cannot run it: $(echo "$out" | grep aftershock: | head -1)"
    continue
  fi
  ran=$((ran + 1))
  dir=$(ls -d "$T/reports/$sc"-2*/ 2>/dev/null | tail -1) # -<UTC stamp>: not a longer name's runs
  verdict=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$dir/report.json" 2>/dev/null)
  check "$sc: verdict pass (exit $st, verdict ${verdict:-none})" '[ $st = 0 ] && [ "$verdict" = pass ]'
  [ $st = 0 ] || { echo "$out" | tail -15; [ -n "$dir" ] && python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))
for run in r["runs"]:
    print("error:", run.get("error"))
    for e in run["expectations"]: print("expectation:", e["name"], e["met"], e.get("value_ms"))
    for e in run["timeline"][-25:]: print("  %10.3f %-16s %s" % (e["t_ms"], e["event"], e["detail"]))
' "$dir/report.json"; }
  # Leftovers this run made: new since before and still there 20 s later (the
  # scanner sees the whole machine: another test's sandbox may be up right now,
  # but it goes away when that test ends; ours would stay).
  new=$(comm -13 <(echo "$before") <(leftovers))
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -z "$new" ] && break
    sleep 2
    new=$(comm -12 <(echo "$new") <(comm -13 <(echo "$before") <(leftovers)))
  done
  check "$sc: nothing left behind${new:+: $new}" '[ -z "$new" ]'
  check "$sc: journal empty" '[ -z "$(ls "$T/state"/*.journal 2>/dev/null)" ]'
done
echo "$ran scenario(s) replayed"
exit $fail
