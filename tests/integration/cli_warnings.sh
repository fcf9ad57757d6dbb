#!/usr/bin/env bash
# A scenario's warnings (here: a fault 'until: remediated' that no remediation
# reverts) are printed once, with file:line:col, by `validate` and by `run`, and
# once for each of several files run together (run validates every file first and
# printed them twice before: its validation and its run each did).
set -u
ASH=${ASH_BUILD_DIR:?}/aftershock
T=$(mktemp -d /tmp/ash-cw-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
for n in a b; do
  cat >"$T/$n.yaml" <<YAML
version: 1
name: warn-$n
probes:
  - name: up
    exec: ["true"]
    every: 50ms
faults:
  - name: outage
    kind: exec
    inject: ["true"]
    revert: ["true"]
    until: remediated
expect:
  warmup: 100ms
  stable_for: 100ms
  timeout: 300ms
YAML
done
want="a.yaml:12:12: warning: fault 'outage' lasts until a remediation reverts it"
out=$("$ASH" validate "$T/a.yaml" 2>&1); st=$?
check "validate: exit 0, the warning once (got $st, $(echo "$out" | grep -c warning))" \
  '[ $st = 0 ] && [ "$(echo "$out" | grep -cF "$want")" = 1 ]'
out=$("$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/a.yaml" "$T/b.yaml" 2>&1); st=$?
check "run of two files: exit 0 (got $st)" '[ $st = 0 ]'
check "run: a's warning once ($(echo "$out" | grep -cF "$want"))" '[ "$(echo "$out" | grep -cF "$want")" = 1 ]'
check "run: b's warning once" '[ "$(echo "$out" | grep -cF "b.yaml:12:12: warning:")" = 1 ]'
# Both before either run's summary: a typo's warning is seen before anything is harmed.
check "run: the warnings come before the summary" \
  '[ "$(echo "$out" | awk "/warning:/ {w=NR} /^scenario / {s=NR} END {print (w && s && w < s)}")" = 1 ]'
exit $fail
