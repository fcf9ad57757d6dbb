# For the chain tests (tests/integration/chain_*.sh): replay bundled scenarios
# once and read the causal chain back from their report.json (timeline events
# and probe series), not only the verdict. Source it after skip.sh and
# machine.sh; set FEATURES (what the kernel must have) first.
#   chain_replay FILE...      run them in one `aftershock run` (variants compared);
#                             skips the whole test when the kernel lacks FEATURES
#   chain_report NAME         the report.json of scenario NAME's run
#   chain_check REPORT PY     run PY (Python) with `r` (report), `run`, `ti`
#                             (t_inject ms) and helpers: probe(name) -> [(t, ok)]
#                             with t from t_inject in ms; events(kind) -> [(t,
#                             detail)]; event_at(kind, text) -> first t or None;
#                             check(cond, what) prints ok/FAIL
ASH=${ASH_BUILD_DIR:?}/aftershock
CHAIN_T=$(mktemp -d /tmp/ash-chain-XXXXXX)
chain_fail=0
chain_cleanup() {
  "$ASH" recover --state-dir "$CHAIN_T/state" >/dev/null 2>&1
  rm -rf "$CHAIN_T"
}
trap chain_cleanup EXIT

chain_replay() {
  local out st why
  [ "$(id -u)" = 0 ] || ash_skip_all "the bundled scenarios build sandboxes and need root"
  # shellcheck disable=SC2153 # FEATURES is the caller's
  if why=$(machine_lacks "${FEATURES[@]}"); then ash_skip_all "$why"; fi
  out=$("$ASH" run --quiet --state-dir "$CHAIN_T/state" --report-dir "$CHAIN_T/reports" "$@" 2>&1)
  st=$?
  echo "$out"
  if [ $st != 0 ]; then
    echo "FAIL aftershock run exited $st"
    chain_fail=1
  fi
}

chain_report() { ls -d "$CHAIN_T/reports/$1"-2*/report.json 2>/dev/null | tail -1; }

chain_check() {
  local report=$1 py=$2
  if [ ! -f "$report" ]; then
    echo "FAIL no report ($report)"
    chain_fail=1
    return
  fi
  python3 - "$report" <<PYEOF || chain_fail=1
import json, sys
r = json.load(open(sys.argv[1]))
run = r["runs"][0]
ti = run["t_inject_ms"]
bad = []
def probe(name):
    for p in run["probes"]:
        if p["name"] == name:
            return [(t - ti, bool(ok)) for t, _lat, ok in p["series"]]
    raise SystemExit("no probe %s in the report" % name)
def events(kind):
    return [(e["t_ms"] - ti, e["detail"]) for e in run["timeline"] if e["event"] == kind]
def event_at(kind, text):
    ts = [t for t, d in events(kind) if text in d]
    return ts[0] if ts else None
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        bad.append(what)
$py
sys.exit(1 if bad else 0)
PYEOF
}
