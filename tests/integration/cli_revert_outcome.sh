#!/usr/bin/env bash
# What a run says about its reverts is what happened (issue 22 items 2 and 9):
# an exec fault with a window but nothing to undo it is refused before anything
# runs; a one-shot exec fault is reported "not reverted (one-shot)", never
# "fault-reverted"; a revert that fails (always, or only the first time) makes
# the verdict `error` and the exit status 1, naming the fault; a revert that
# worked but whose journal "done" mark hit a full disk is a warning naming
# ENOSPC, not a revert failure. Exec faults' output is saved in the run directory.
set -u
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-revert-XXXXXX)
M=$T/state-tmpfs
mounted=0
cleanup() {
  [ "$mounted" = 1 ] && umount "$M" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
# field REPORT_DIR PY_EXPR: evaluate an expression over the run's report.json as r
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1/report.json"; }
run_dir() { ls -d "$T/reports/$1"-* 2>/dev/null | head -1; }
scenario() { # NAME FAULT-LINES...
  local name=$1
  shift
  {
    printf 'version: 1\nname: %s\nprobes:\n  - name: ok\n    exec: ["true"]\n    every: 50ms\nfaults:\n' "$name"
    printf '%s\n' "$@"
    printf 'expect:\n  warmup: 200ms\n  stable_for: 200ms\n  timeout: 10s\n'
  } > "$T/$name.yaml"
}

# -- a window on an exec fault with no revert: refused with its position, nothing runs
scenario no-revert '  - name: stop-other' '    kind: exec' '    inject: ["touch", "'"$T"'/ran"]' '    duration: 1s'
out=$("$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$T/no-revert.yaml" 2>&1); st=$?
check "exec duration without revert: exit 2" '[ $st = 2 ]'
check "exec duration without revert: file:line:column" 'printf "%s" "$out" | grep -qF "$T/no-revert.yaml:11:5: exec fault '"'stop-other'"' has '"'duration'"' but cannot be reverted"'
check "exec duration without revert: nothing ran" '[ ! -e "$T/ran" ] && [ ! -d "$T/reports" ]'

# -- one-shot (no duration, no revert): runs, passes, and says it was not reverted
scenario one-shot '  - name: mark' '    kind: exec' '    inject: ["sh", "-c", "echo to-stdout; echo to-stderr >&2"]'
"$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" --junit "$T/one-shot.xml" "$T/one-shot.yaml" >/dev/null 2>&1; st=$?
d=$(run_dir one-shot)
check "one-shot: exit 0" '[ $st = 0 ]'
check "one-shot: timeline says not reverted (one-shot)" \
  '[ "$(field "$d" "any(e[\"event\"] == \"fault-not-reverted\" and \"not reverted (one-shot\" in e[\"detail\"] for e in r[\"runs\"][0][\"timeline\"])")" = True ]'
check "one-shot: no fault-reverted event" \
  '[ "$(field "$d" "any(e[\"event\"] == \"fault-reverted\" for e in r[\"runs\"][0][\"timeline\"])")" = False ]'
check "one-shot: fault revert outcome one-shot, reverted_ms null" \
  '[ "$(field "$d" "(r[\"runs\"][0][\"faults\"][0][\"revert\"], r[\"runs\"][0][\"faults\"][0][\"reverted_ms\"])")" = "('"'one-shot'"', None)" ]'
check "one-shot: report.md says not reverted" 'grep -q "not reverted (one-shot)" "$d/report.md"'
check "one-shot: JUnit says not reverted" 'grep -qF "<property name=\"fault.mark.revert\" value=\"not reverted (one-shot)\"/>" "$T/one-shot.xml"'
check "exec output saved: stdout and stderr of inject" \
  'grep -qx "to-stdout" "$d/logs/faults/mark.log" && grep -qx "to-stderr" "$d/logs/faults/mark.log"'

# -- a revert command that always fails: verdict error, exit 1, the fault named
scenario revert-fails '  - name: stuck' '    kind: exec' '    inject: ["true"]' \
  '    revert: ["sh", "-c", "echo cannot-undo >&2; exit 1"]' '    duration: 200ms'
out=$("$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$T/revert-fails.yaml" 2>&1); st=$?
d=$(run_dir revert-fails)
check "revert fails: exit 1" '[ $st = 1 ]'
check "revert fails: verdict error" '[ "$(field "$d" "r[\"verdict\"], r[\"runs\"][0][\"verdict\"]")" = "error error" ]'
check "revert fails: error names the fault" 'field "$d" "r[\"runs\"][0][\"error\"]" | grep -q "fault '"'stuck'"' could not be reverted"'
check "revert fails: stderr says so" 'printf "%s" "$out" | grep -q "could not be reverted"'
check "revert fails: fault revert outcome revert-failed" '[ "$(field "$d" "r[\"runs\"][0][\"faults\"][0][\"revert\"]")" = revert-failed ]'
check "revert fails: its output is saved" 'grep -qx "cannot-undo" "$d/logs/faults/stuck.log"'
check "revert fails: the journal is kept for recover" 'ls "$T/state"/*.journal >/dev/null 2>&1'
rm -rf "$T/state"

# -- fails the first time only: the end-of-run retry cleans up, the run is still an error
scenario revert-once '  - name: flaky' '    kind: exec' '    inject: ["true"]' \
  '    revert: ["sh", "-c", "test -e '"$T"'/second || { touch '"$T"'/second; exit 1; }"]' '    duration: 200ms'
"$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$T/revert-once.yaml" >/dev/null 2>&1; st=$?
d=$(run_dir revert-once)
check "revert fails once: exit 1, verdict error" '[ $st = 1 ] && [ "$(field "$d" "r[\"verdict\"]")" = error ]'
check "revert fails once: the retry left no journal" '[ -z "$(ls -A "$T/state" 2>/dev/null)" ]'

# -- the revert works, but the journal's done mark meets a full disk: a warning with
# ENOSPC (not EIO), not revert-failed; the verdict stands. The revert command pads the
# journal to 5 bytes short of a page and fills the tmpfs, so the 11-byte mark is cut
# short after 5 bytes (a short write, then ENOSPC) exactly as on a real full disk.
if [ "$(id -u)" = 0 ] && mkdir -p "$M" && mount -t tmpfs -o size=64k,mode=0700 tmpfs "$M"; then
  mounted=1
  cat > "$T/fill.sh" <<'SH'
#!/bin/sh
j=$(ls "$1"/*.journal | head -1)
size=$(stat -c %s "$j")
pad=$(( (4096 - size % 4096) - 5 ))
[ "$pad" -lt 2 ] && pad=$((pad + 4096))
# a line of spaces: not JSON, so the journal reader skips it like a torn line
head -c $((pad - 1)) /dev/zero | tr '\0' ' ' >> "$j"
echo >> "$j"
dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null
exit 0
SH
  chmod +x "$T/fill.sh"
  scenario done-mark '  - name: fills' '    kind: exec' '    inject: ["true"]' \
    '    revert: ["sh", "'"$T"'/fill.sh", "'"$M"'"]' '    duration: 200ms'
  "$ASH" run --quiet --state-dir "$M" --report-dir "$T/reports" "$T/done-mark.yaml" >/dev/null 2>&1; st=$?
  d=$(run_dir done-mark)
  check "done mark on a full disk: exit 0 (the revert worked)" '[ $st = 0 ]'
  check "done mark on a full disk: a warning naming ENOSPC" \
    '[ "$(field "$d" "any(e[\"event\"] == \"warning\" and \"No space left on device\" in e[\"detail\"] and \"fills\" in e[\"detail\"] for e in r[\"runs\"][0][\"timeline\"])")" = True ]'
  check "done mark on a full disk: no revert-failed, no EIO" \
    '[ "$(field "$d" "any(e[\"event\"] == \"revert-failed\" or \"Input/output\" in e[\"detail\"] for e in r[\"runs\"][0][\"timeline\"])")" = False ]'
  check "done mark on a full disk: fault outcome reverted" '[ "$(field "$d" "r[\"runs\"][0][\"faults\"][0][\"revert\"]")" = reverted ]'
  check "done mark on a full disk: the journal is gone after the retry" '! ls "$M"/*.journal >/dev/null 2>&1'
  umount "$M" && mounted=0
else
  echo "FAIL cannot mount a tmpfs for the full-disk case (needs root)"
  fail=1
fi
exit "$fail"
