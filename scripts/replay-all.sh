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
# Variants whose detection is a real monitoring stack (scenarios/prometheus/):
# only where Debian's prometheus, prometheus-alertmanager and
# prometheus-blackbox-exporter are installed (scripts/install-deps.sh --test).
if command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null &&
  command -v prometheus-blackbox-exporter >/dev/null; then
  scenarios+=(scenarios/prometheus/*.yaml)
else
  echo "skipping scenarios/prometheus/ (needs prometheus, prometheus-alertmanager, prometheus-blackbox-exporter)" >&2
fi
status=0
build/aftershock run --report-dir reports --junit reports/junit.xml "${scenarios[@]}" || status=$?
echo "reports: $(pwd)/reports/index.html (JUnit for CI: $(pwd)/reports/junit.xml)"
exit "$status"
