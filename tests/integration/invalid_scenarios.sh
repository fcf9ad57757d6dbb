#!/usr/bin/env bash
# Every invalid-scenario fixture (tests/fixtures/scenarios/invalid/*.yaml, first
# line "# error: LINE:COL: message") is refused by `aftershock run` itself, not
# only by the parser: exit 2, the exact "file:line:column: message" on stderr,
# and proof that nothing ran: no journal in the state directory, no report, no
# process carrying the run's mark. (test_parser checks the same messages at the
# library level; this checks the command a user runs.)
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-invalid-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0 n=0
for f in "$S"/tests/fixtures/scenarios/invalid/*.yaml; do
  want=$(head -1 "$f" | sed -n 's/^# error: //p')
  [ -n "$want" ] || { echo "FAIL $f: first line must be '# error: LINE:COL: message'"; fail=1; continue; }
  n=$((n + 1))
  out=$(env ASH_INVALID_MARK="$T" "$ASH" run --quiet --state-dir "$T/state" --report-dir "$T/reports" "$f" 2>&1)
  st=$?
  problems=""
  [ "$st" = 2 ] || problems+=" exit $st (want 2);"
  printf '%s\n' "$out" | grep -qF "$f:$want" || problems+=" message: got '$out';"
  [ -z "$(ls -A "$T/state" 2>/dev/null)" ] || problems+=" state dir not empty: $(ls "$T/state");"
  [ -z "$(ls -A "$T/reports" 2>/dev/null)" ] || problems+=" a report was written;"
  if grep -lzxF "ASH_INVALID_MARK=$T" /proc/[0-9]*/environ 2>/dev/null | grep -vq "^/proc/$$/"; then
    problems+=" a process of the run is alive;"
  fi
  if [ -n "$problems" ]; then
    echo "FAIL $(basename "$f"):$problems"
    fail=1
  fi
  rm -rf "$T/state" "$T/reports"
done
echo "invalid_scenarios: $n fixtures refused by aftershock run with their exact message, nothing started"
[ "$n" -ge 30 ] || { echo "FAIL only $n fixtures"; fail=1; }
exit "$fail"
