#!/usr/bin/env bash
# A network fault that harmed nothing says so (issue 15 item 5, the network part):
# the counters of its nftables table (the IPv4 packets it applies to, read over
# netlink) stay at 0 while it is in effect, so the timeline gets a warning 1 s in and report.json / report.md say
# "fault had no effect". One run, a probe from host cli to srv's HTTP server, and:
#   idle-cap   a bandwidth cap (tbf) on host idle, which nothing talks to: no effect;
#   busy-cap   the same cap on host srv, which the probe talks to: effect;
#   idle-loss  loss (nftables) only between cli and idle, on cli's link, which has
#              traffic, none of it to idle (the rules' matches count, not the link's).
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/machine.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
why=$(machine_lacks root "network namespace" bridge "veth pair" "qdisc tbf" nftables) && ash_skip_all "$why"
command -v python3 >/dev/null || ash_skip_all "no python3"
T=$(mktemp -d /tmp/ash-netnoeffect-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

cat > "$T/net.yaml" <<YAML
version: 1
name: net-no-effect
hosts:
  - name: srv
    services:
      - name: web
        command: [python3, -m, http.server, "8080", --bind, 0.0.0.0, --directory, "$T"]
        ready: { http: "http://127.0.0.1:8080/", timeout: 5s }
  - name: cli
  - name: idle
probes:
  - name: web
    from: cli
    http: { url: "http://srv:8080/" }
    every: 100ms
    timeout: 500ms
faults:
  - name: idle-cap
    kind: network
    target: host:idle
    bandwidth: 1mbit
    at: 0s
    duration: 1500ms
  - name: busy-cap
    kind: network
    target: host:srv
    bandwidth: 50mbit
    at: 0s
    duration: 1500ms
  - name: idle-loss
    kind: network
    between: [cli, idle]
    loss: 50%
    at: 0s
    duration: 1500ms
expect:
  warmup: 500ms
  stable_for: 300ms
  timeout: 15s
YAML
"$ASH" run --state-dir "$T/state" --report-dir "$T/r" "$T/net.yaml" > "$T/out" 2>&1
st=$?
rep=$(ls -d "$T"/r/net-no-effect-*/ 2>/dev/null | head -1)
check "the run completes (exit $st)" '[ "$st" = 0 ] && [ -n "$rep" ]'
[ -n "$rep" ] || { tail -30 "$T/out"; ash_exit 1; }
python3 - "$rep/report.json" > "$T/verdict" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
ne = {f["name"]: f["no_effect"] for f in run["faults"]}
warn = [e for e in run["timeline"] if e["event"] == "warning" and "no packet has crossed it" in e["detail"]]
inj = {e["detail"].split(" ")[0]: e["t_ms"] for e in run["timeline"] if e["event"] == "fault-injected"}
for name in ("idle-cap", "busy-cap", "idle-loss"):
    w = [e for e in warn if e["detail"].startswith(name + ":")]
    # The warning comes 1 s after the inject (as soon as that is known), before the revert at 1.5 s.
    timely = bool(w) and 950 <= w[0]["t_ms"] - inj[name] <= 1450
    print(name, "no_effect=%s" % bool(ne[name]), "warned=%d" % len(w), "timely=%s" % timely)
    print(name, "text", ne[name])
PY
cat "$T/verdict"
row() { awk -v n="$1" '$1 == n && $2 ~ /^no_effect/ {print $2, $3, $4}' "$T/verdict"; }
check "idle-cap: warned 1 s in, report says no effect" '[ "$(row idle-cap)" = "no_effect=True warned=1 timely=True" ]'
check "idle-loss (traffic on the link, none between the two): warned, no effect" \
  '[ "$(row idle-loss)" = "no_effect=True warned=1 timely=True" ]'
check "busy-cap: no warning, no_effect null" '[ "$(row busy-cap)" = "no_effect=False warned=0 timely=False" ]'
check "report.json's words" 'grep -q "fault had no effect: no packet crossed it on host idle.s link while it was in effect" "$rep/report.json"'
check "report.md says it" 'grep -q "fault had no effect" "$rep/report.md"'
[ "$fail" = 0 ] || tail -30 "$T/out"
ash_exit "$fail"
