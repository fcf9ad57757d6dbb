#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c; clang, ASan+UBSan) into
# build-fuzz and runs each for SECONDS (default 30) over its corpus. New inputs
# go to build-fuzz/corpus/<name> (the checked-in corpus is only read); a crash
# stops with the input in build-fuzz/artifacts/<name>/: fix it and keep the
# input in tests/fuzz/regressions/<name>/ (ctest replays it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=${ASH_FUZZ_BUILD:-build-fuzz}
jobs=${ASH_JOBS:-2}

CC=clang cmake -S . -B "$build" -DASH_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets=()
for src in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$src" .c)"); done
if ! cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
  grep -E 'error:|Error' "$build/fuzz-build.log" | head -30
  echo "fuzz: build failed (log: $build/fuzz-build.log)"
  exit 1
fi

# The harnesses write scratch files; keep them inside the build directory.
export TMPDIR=$PWD/$build/tmp
mkdir -p "$TMPDIR"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for name in "${targets[@]}"; do
  short=${name#fuzz_}
  work=$build/corpus/$short artifacts=$build/artifacts/$short
  mkdir -p "$work" "$artifacts"
  seeds=()
  for d in "tests/fuzz/corpus/$short" "tests/fuzz/regressions/$short"; do [ -d "$d" ] && seeds+=("$d"); done
  dict=()
  [ -f "tests/fuzz/$short.dict" ] && dict=(-dict="tests/fuzz/$short.dict")
  echo "== fuzz $short: ${seconds}s"
  if "$build/tests/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "${dict[@]}" -artifact_prefix="$artifacts/" "$work" "${seeds[@]}" \
      >"$build/fuzz-$short.log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units)' "$build/fuzz-$short.log" | tr '\n' ' '; echo
  else
    status=1
    echo "fuzz $short: FAILED; input(s) in $artifacts/:"
    ls "$artifacts"
    grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x' "$build/fuzz-$short.log" | head -25
  fi
done
exit "$status"
