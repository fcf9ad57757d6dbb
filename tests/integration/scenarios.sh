#!/usr/bin/env bash
# Every bundled scenario (scenarios/*.yaml) end to end: it validates, its
# replay passes, and nothing of its runs is left behind. Exit 3 (a kind or
# privilege missing here) is a skip only when the kernel's own files
# (lib/machine.sh, not aftershock) say this machine lacks what the scenario's
# kinds need; otherwise it fails: as root on a machine with everything, every
# scenario must run. Leftovers are attributed by the runs' ids (report.json
# runs[].run_id: the kernel objects are named ash-<id>..., the processes carry
# ASH_RUN_ID=<id>) and checked at once: other tests' objects, named by their
# own ids, may come and go on this machine at the same time.
# ASH_SCENARIOS="a.yaml b.yaml" limits the run to those files.
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:?}
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/machine.sh"
ASH=$B/aftershock
[ "$(id -u)" = 0 ] || ash_skip_all "bundled scenarios build sandboxes and need root"
T=$(mktemp -d /tmp/ash-scenarios-XXXXXX)
fail=0 ran=0 skipped=0 total=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
# The scanner's lines for these run ids (ash-<id>, ash<id>v..., "aftershock run <id>").
leftovers_of() { # run id...
  local re out st
  re=$(printf '%s|' "$@"); re=${re%|}
  out=$(bash "$S/scripts/check-leftovers.sh" 2>&1); st=$?
  [ $st = 2 ] && { echo "the scanner could not scan: $out"; return; }
  echo "$out" | grep -E "^leftover: .*(ash-?($re)|aftershock run ($re)$)" | sort
}

# The scenarios name their demo services as {services_dir}/X, which resolves to
# services/ beside the aftershock binary that runs them: this build's.
files=${ASH_SCENARIOS:-$(cd "$S/scenarios" && ls *.yaml)}
for name in $files; do
  f="$S/scenarios/$(basename "$name")"
  sc=$(basename "$f" .yaml)
  out=$("$ASH" validate "$S/scenarios/$(basename "$f")" 2>&1); st=$?
  check "$sc: validates (exit $st) $out" '[ $st = 0 ]'
  total=$((total + 1))
  out=$("$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$f" 2>&1); st=$?
  if [ $st = 3 ]; then
    said=$(echo "$out" | grep aftershock: | head -1)
    mapfile -t feats < <(scenario_needs "$f")
    if why=$(machine_lacks "${feats[@]}"); then
      ash_skip "$sc: $why ($said)"
      skipped=$((skipped + 1))
    else
      check "$sc: runs here (exit 3, but the kernel has all it needs: ${feats[*]}): $said" false
    fi
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
  # Leftovers of this scenario's runs, right after the command returned.
  ids=$(python3 -c 'import json,sys; print(" ".join(r["run_id"] for r in json.load(open(sys.argv[1]))["runs"] if r.get("run_id")))' \
    "$dir/report.json" 2>/dev/null)
  check "$sc: the report names its runs' ids (${ids:-none})" '[ -n "$ids" ]'
  # shellcheck disable=SC2086 # ids, one word each
  new=$([ -n "$ids" ] && leftovers_of $ids)
  check "$sc: nothing left behind${new:+: $new}" '[ -z "$new" ]'
  check "$sc: journal empty" '[ -z "$(ls "$T/state"/*.journal 2>/dev/null)" ]'
done
echo "$ran of $total scenario(s) replayed, $skipped skipped for what the kernel lacks"
# The floors. The expected count comes from the bundle itself (scenarios/*.yaml,
# or the files ASH_SCENARIOS names), not from the loop above: every one must
# have been tried, and each either ran or was skipped for a reason read from
# the kernel. On a machine whose kernel has everything any bundled scenario
# needs (CI's kind: root, Debian 12), all of them must have run: a skip there
# is a failure.
expected=$(for name in $files; do [ -f "$S/scenarios/$(basename "$name")" ] && echo x; done | wc -l)
[ -n "${ASH_SCENARIOS:-}" ] || expected=$(find "$S/scenarios" -maxdepth 1 -name '*.yaml' | wc -l)
check "all $expected bundled scenario(s) tried (tried $total)" '[ "$expected" -gt 0 ] && [ $total = "$expected" ]'
check "every scenario ran or was skipped with the kernel's reason" '[ $((ran + skipped)) = "$expected" ]'
mapfile -t all_feats < <(for name in $files; do
  f="$S/scenarios/$(basename "$name")"
  [ -f "$f" ] && scenario_needs "$f"
done | sort -u)
if ! lacking=$(machine_lacks "${all_feats[@]}"); then
  check "this machine has all the bundled scenarios need: all $expected ran (ran $ran)" '[ $ran = "$expected" ]'
else
  echo "not every scenario can run here ($lacking): the floor is $expected ran or skipped"
fi
ash_exit "$fail"
