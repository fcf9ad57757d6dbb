# The set-up fleet tests on one machine share (source it after lib/skip.sh, with
# B=$ASH_BUILD_DIR set). fleet_start TAG [WHY-PYTHON]:
#   T            a new directory /tmp/ash-TAG-XXXXXX (kept with KEEP=1)
#   ASH, TGT     the aftershock binary and the test's HTTP target
#   pids         every process the test starts (ended by pid on exit, resumed first)
#   $T/key       a fleet key (64 hex digits, 0600)
#   WEB, WEBPORT the target, healthy until a fault stops it
# and check NAME EXPR, free_port. On exit: the pids ended, every $T/state*
# recovered, a private dockerd (lib/dockerd.sh, when sourced) stopped, $T removed.
fleet_cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  for d in "$T"/state*; do [ -d "$d" ] && "$ASH" recover --state-dir "$d" >/dev/null 2>&1; done
  # A test that started a private dockerd (lib/dockerd.sh) stops it.
  if declare -F dockerd_stop >/dev/null; then dockerd_stop; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fleet_start() {
  ASH=$B/aftershock
  TGT=$B/tests/ash_target
  command -v python3 >/dev/null || ash_skip_all "python3 is needed (${2:-report checks})"
  T=$(mktemp -d "/tmp/ash-$1-XXXXXX")
  fail=0
  pids=()
  trap fleet_cleanup EXIT
  python3 -c 'import secrets; print(secrets.token_hex(32))' >"$T/key"
  chmod 600 "$T/key"
  "$TGT" --port-file "$T/web.port" 2>"$T/web.err" &
  WEB=$!
  pids+=("$WEB")
  for _ in $(seq 200); do [ -s "$T/web.port" ] && break; sleep 0.01; done
  WEBPORT=$(cat "$T/web.port")
}
