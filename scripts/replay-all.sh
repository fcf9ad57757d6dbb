#!/usr/bin/env bash
# The main job: install, build, replay every bundled scenario in the sandbox,
# print the summary table and write reports/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
shopt -s nullglob
scenarios=(scenarios/*.yaml)
if [ "${#scenarios[@]}" -eq 0 ]; then
  echo "no scenarios in scenarios/" >&2
  exit 2
fi
status=0
build/aftershock run --report-dir reports --junit reports/junit.xml "${scenarios[@]}" || status=$?
echo "reports: $(pwd)/reports/index.html (JUnit for CI: $(pwd)/reports/junit.xml)"
exit "$status"
