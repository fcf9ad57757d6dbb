#!/usr/bin/env bash
# `aftershock list -v` names every key a scenario can use, a nested mapping's keys
# too (balloon.size, balloon.rate: a new user met "missing required key 'size'"
# with only `balloon` listed), each under its kind; bad arguments are exit 2.
set -u
ASH=${ASH_BUILD_DIR:?}/aftershock
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
out=$("$ASH" list -v 2>&1); st=$?
check "list -v exits 0 (got $st)" '[ $st = 0 ]'
# The memory-exhaustion section: from its line to the next kind's.
mem=$(echo "$out" | awk '/^  [a-z]/ {on = ($1 == "memory-exhaustion")} on')
for k in target limit balloon balloon.size balloon.rate swap; do
  check "memory-exhaustion lists $k" 'echo "$mem" | grep -Eq "^      $k +[^ ]"'
done
check "balloon.size says it is required" 'echo "$mem" | grep -E "^      balloon.size " | grep -q "(required)"'
"$ASH" list extra >/dev/null 2>&1; st=$?
check "list extra: exit 2 (got $st)" '[ $st = 2 ]'
exit $fail
