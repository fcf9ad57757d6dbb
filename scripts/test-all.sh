#!/usr/bin/env bash
# The whole test suite: install, build with gcc and clang (-Werror) and with
# ASan+UBSan, run ctest on each, then scan the machine for anything left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
jobs=$(nproc)
status=0

run_suite() { # name cc extra-cmake-args...
  local name=$1 cc=$2; shift 2
  echo "== $name: configure and build"
  CC=$cc cmake -S . -B "build-ci-$name" -DASH_WERROR=ON "$@" >/dev/null
  if ! cmake --build "build-ci-$name" -j"$jobs" >"build-ci-$name.log" 2>&1; then
    grep -E 'error:|warning:|Error' "build-ci-$name.log" | head -50
    return 1
  fi
  echo "== $name: ctest"
  (cd "build-ci-$name" && ctest --output-on-failure -j1) || return 1
}

run_suite gcc gcc || status=1
run_suite clang clang || status=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite asan clang -DASH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug || status=1

# Fuzzing (issue 9): each libFuzzer harness in tests/fuzz for a bounded time.
echo "== fuzz: tests/fuzz harnesses, 20 s each"
bash scripts/fuzz.sh 20 || status=1

echo "== leftovers"
bash scripts/check-leftovers.sh || status=1
if [ "$status" = 0 ]; then echo "test-all: all suites passed"; else echo "test-all: FAILED"; fi
exit "$status"
