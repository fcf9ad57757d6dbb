#!/usr/bin/env bash
# `verify:` end to end: post-recovery checks run after observation and before
# teardown (a fault's damage is still there), each an expectation (pass/fail),
# shown in report.json runs[].verify[], report.md and report.html; a check
# over its timeout is killed and counts as unmet; config errors have positions.
set -u
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-verify-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
run() { "$ASH" run --no-guardian --quiet --state-dir "$T/state" --report-dir "$T/reports" "$@"; }
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

touch "$T/healthy"
scenario() { # $1 name, $2 extra verify items
cat > "$T/$1.yaml" <<YAML
version: 1
name: $1
probes:
  - name: health
    exec: ["test", "-e", "$T/healthy"]
    every: 20ms
faults:
  - name: blip
    kind: exec
    inject: ["rm", "-f", "$T/healthy"]
    revert: ["touch", "$T/healthy"]
    duration: 200ms
  # Instantaneous: left in place until teardown reverts it, as lasting damage would be.
  - name: damage
    kind: exec
    inject: ["sh", "-c", "mkdir -p $T/profiles && echo garbage > $T/profiles/alice && echo ok > $T/profiles/bob"]
    revert: ["rm", "-rf", "$T/profiles"]
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 10s
verify:
  - name: profiles-intact
    command: ["sh", "-c", "bad=\$(grep -L '^ok' $T/profiles/*); [ -z \"\$bad\" ] || { echo \"corrupted: \$(basename \$bad)\"; exit 1; }"]
    expect: fail
  - name: service-healthy
    command: ["test", "-e", "$T/healthy"]
$2
YAML
}

scenario good ""
"$ASH" validate "$T/good.yaml" >/dev/null; check "scenario with verify is valid" '[ $? = 0 ]'
run "$T/good.yaml" >/dev/null 2>&1; st=$?
check "checks met: exit 0 (got $st)" '[ $st = 0 ]'
d=$(ls -d "$T"/reports/good-*/ | head -1)
check "verify[] in report.json" '[ "$(field "$d/report.json" "len(r[\"runs\"][0][\"verify\"])")" = 2 ]'
check "damage found before teardown (outcome fail, met)" \
  '[ "$(field "$d/report.json" "r[\"runs\"][0][\"verify\"][0][\"outcome\"], r[\"runs\"][0][\"verify\"][0][\"met\"]")" = "('"'"'fail'"'"', True)" ]'
check "its output names the profile" 'field "$d/report.json" "r[\"runs\"][0][\"verify\"][0][\"output\"]" | grep -q "corrupted: alice"'
check "healthy check passes" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"verify\"][1][\"outcome\"]")" = pass ]'
check "checks are expectations" 'field "$d/report.json" "[e[\"name\"] for e in r[\"runs\"][0][\"expectations\"]]" | grep -q "verify profiles-intact: fail (expected fail)"'
check "verify event in the timeline" 'field "$d/report.json" "[e[\"detail\"] for e in r[\"runs\"][0][\"timeline\"] if e[\"event\"]==\"verify\"]" | grep -q "corrupted: alice"'
check "verify runs before teardown reverts the damage" \
  'field "$d/report.json" "[e[\"event\"] for e in r[\"runs\"][0][\"timeline\"]]" | python3 -c "import sys,ast; ev=ast.literal_eval(sys.stdin.read()); v=ev.index(\"verify\"); sys.exit(0 if \"fault-reverted\" in ev[v:] else 1)"'
check "log kept in the run dir" 'grep -q "corrupted: alice" "$d/verify/profiles-intact.log"'
check "report.md shows it" 'grep -q "^| 1 | profiles-intact | fail | fail | corrupted: alice |" "$d/report.md"'
check "report.html shows it" 'grep -q "Verify (after recovery)" "$d/report.html" && grep -q "corrupted: alice" "$d/report.html"'
check "damage reverted at teardown" '[ ! -e "$T/profiles" ]'

scenario unmet '  - name: slow
    command: ["sleep", "5"]
    timeout: 200ms
  - name: wrong
    command: ["false"]'
start=$(date +%s%N)
run "$T/unmet.yaml" >/dev/null 2>&1; st=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "unmet check fails the run: exit 1 (got $st)" '[ $st = 1 ]'
d=$(ls -d "$T"/reports/unmet-*/ | head -1)
check "timed-out check killed: outcome error" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"verify\"][2][\"outcome\"]")" = error ]'
check "its error says so" 'field "$d/report.json" "r[\"runs\"][0][\"verify\"][2][\"error\"]" | grep -q "did not finish within 200 ms"'
check "the 5 s sleep did not hold the run ($took ms)" '[ $took -lt 4500 ]'
check "false -> fail, unmet" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"verify\"][3][\"met\"]")" = False ]'

scenario typo '  - name: x
    comand: ["true"]'
out=$("$ASH" validate "$T/typo.yaml" 2>&1); st=$?
check "unknown key in a check: exit 2 with position and suggestion" '[ $st = 2 ] && echo "$out" | grep -q "typo.yaml:[0-9]*:[0-9]*:.*command"'
scenario badexp '  - name: x
    command: ["true"]
    expect: maybe'
out=$("$ASH" validate "$T/badexp.yaml" 2>&1); st=$?
check "expect must be pass|fail" '[ $st = 2 ] && echo "$out" | grep -q "pass"'
exit $fail
