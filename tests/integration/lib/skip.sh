# Skips that ctest and scripts/test-all.sh see, for tests/integration/*.sh
# (source it; this directory is not globbed as tests). ash_skip REASON: a part
# of the test did not run here (printed, and appended to $ASH_SKIP_LOG as
# "test: reason" for test-all's summary); ash_skip_all REASON: nothing runs,
# exit 77; ash_exit FAIL: exit 1 on failure, else 77 if anything was skipped
# (SKIP_RETURN_CODE 77 in tests/CMakeLists.txt), else 0.
ASH_SKIPS=0
ash_skip() {
  local line
  line="$(basename "$0" .sh): $*"
  echo "SKIP $line"
  if [ -n "${ASH_SKIP_LOG:-}" ]; then echo "$line" >>"$ASH_SKIP_LOG"; fi
  ASH_SKIPS=$((ASH_SKIPS + 1))
}
ash_skip_all() { ash_skip "$@"; exit 77; }
# ash_skip_part REASON: one known-answer part cannot run on this machine while the
# refusal that replaces it is checked: said and logged like a skip, but the test's
# exit stays its checks' (marking the whole test skipped would hide all it did check).
ash_skip_part() {
  local line
  line="$(basename "$0" .sh): $*"
  echo "SKIP $line"
  if [ -n "${ASH_SKIP_LOG:-}" ]; then echo "$line" >>"$ASH_SKIP_LOG"; fi
}
ash_exit() {
  if [ "${1:-0}" != 0 ]; then exit 1; fi
  if [ "$ASH_SKIPS" -gt 0 ]; then exit 77; fi
  exit 0
}
