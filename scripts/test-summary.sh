#!/usr/bin/env bash
# The end of scripts/test-all.sh: "N passed, N failed, N skipped", every skip
# with its reason, and in CI (CI=true) a skip this machine kind should not
# have fails the run.
#   test-summary.sh RESULTS SKIPDIR
# RESULTS: one line per test, "suite<TAB>test<TAB>passed|failed|skipped".
# SKIPDIR/<suite>.log: the reasons the tests recorded while that suite ran
# (ASH_SKIP_LOG: "test: reason", or "test: part: reason"; tests/unit/test_skip.h,
# tests/integration/lib/skip.sh).
# .ci/allowed-skips (or ASH_ALLOWED_SKIPS): extended regexes, one a line, for
# "suite/test: reason" lines CI accepts on its machine kind. CI runs as root on
# Debian 12 with scripts/install-deps.sh --test, where every test can run, so
# the file allows nothing. Exit 1 if a test failed or (in CI) a skip is not
# allowed, else 0.
set -u
results=${1:?results file}
skipdir=${2:?skip log directory}
allowed=${ASH_ALLOWED_SKIPS:-$(dirname "$0")/../.ci/allowed-skips}

count() { awk -F'\t' -v s="$1" '$3 == s' "$results" | wc -l; }
passed=$(count passed) failed=$(count failed) skipped=$(count skipped)
echo "== summary"
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ]; then
  echo "failed:"
  awk -F'\t' '$3 == "failed" {print "  " $1 "/" $2}' "$results"
fi

lines=() # "suite/test: reason", one per recorded reason
while IFS=$'\t' read -r suite test _; do
  reasons=""
  [ -f "$skipdir/$suite.log" ] && reasons=$(grep -F "$test: " "$skipdir/$suite.log" | grep "^$test: " | sort -u)
  if [ -z "$reasons" ]; then
    lines+=("$suite/$test: (no reason recorded)")
  else
    while IFS= read -r r; do lines+=("$suite/$r"); done <<<"$reasons"
  fi
done < <(awk -F'\t' '$3 == "skipped"' "$results")
if [ "$skipped" -gt 0 ]; then
  echo "skipped:"
  printf '  %s\n' "${lines[@]}"
fi

status=0
[ "$failed" = 0 ] || status=1
if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
  patterns=$(grep -v -e '^#' -e '^[[:space:]]*$' "$allowed" 2>/dev/null || true)
  for l in "${lines[@]}"; do
    if [ -z "$patterns" ] || ! printf '%s\n' "$l" | grep -Eq -f <(printf '%s\n' "$patterns"); then
      echo "CI: skip not allowed on this machine kind (.ci/allowed-skips): $l"
      status=1
    fi
  done
fi
exit "$status"
