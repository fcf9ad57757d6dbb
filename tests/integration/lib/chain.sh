# For tests/integration/chain_*.sh (source it after skip.sh and machine.sh):
# replay one bundled scenario once and leave its report.json's path in
# $CHAIN_REPORT, or skip with the kernel's reason (exit 77) when the machine
# lacks what the scenario needs, or fail when the replay did not pass. The
# chain tests then read the report's timeline and probe series: the verdict
# alone says nothing about the path from the fault to detection and recovery.
# chain_replay SCENARIO_FILE FEATURE...
chain_replay() {
  local f=$1 sc why out st
  shift
  sc=$(basename "$f" .yaml)
  if why=$(machine_lacks "$@"); then
    ash_skip_all "$sc: $why"
  fi
  CHAIN_T=$(mktemp -d "/tmp/ash-chain-$sc-XXXXXX")
  trap '"$ASH_BUILD_DIR/aftershock" recover --state-dir "$CHAIN_T/state" >/dev/null 2>&1; rm -rf "$CHAIN_T"' EXIT
  out=$("$ASH_BUILD_DIR/aftershock" run --quiet --state-dir "$CHAIN_T/state" --report-dir "$CHAIN_T/reports" "$f" 2>&1)
  st=$?
  CHAIN_REPORT=$(ls -d "$CHAIN_T/reports/$sc"-2*/ 2>/dev/null | tail -1)report.json
  if [ $st != 0 ] || [ ! -f "$CHAIN_REPORT" ]; then
    echo "FAIL $sc: the replay exited $st"
    echo "$out" | tail -15
    exit 1
  fi
}
