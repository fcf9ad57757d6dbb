#!/usr/bin/env bash
# A fleet run on one machine (issue 20): `aftershock run` with `fleet:` as the
# coordinator, two agents (`aftershock agent --node a` / `--node b`) on loopback
# with a key file this test writes. The fault stops a process (ash_target, a small
# HTTP server this test started) "on node b"; a probe of the run, on the
# coordinator, watches it.
#   1. the cross-node known answer: the probe's impact (first failed sample) lies
#      within the stated resolution (probe interval + the agent's clock bound) of
#      the stop as a watcher of /proc saw it; TTD and TTR in one report; every
#      remote inject/revert shows its bound; the agents leave on `bye` (exit 0);
#      the same with the probe run by node a's agent (`from: a`), its samples' clock
#      bound added to the resolution; node a's agent killed mid-run: the run stops
#      and the report says the probe was lost with it;
#   2. SIGKILL of the coordinator mid-fault: the agents revert within their lease
#      (the process runs again) and exit; SIGINT mid-fault: the run reverts the
#      fault on node b itself, aborted, and the agents leave on `bye` (a guardrail
#      that trips mid-fault: the same); SIGKILL of
#      agent b mid-fault: its guardian reverts node b, the run stops naming it; a
#      target missing on its node: that agent refuses the scenario, exit 3, no harm;
#   3. a node that never connects: exit 3 before anything is harmed, naming it;
#   4. bad `fleet:` input: file:line:column; `plan` shows the fleet step and nodes.
# (1d: the probe from a process on node a, `from: a/process:pid=N`, in a network
# namespace this test made.)
# Every process here is started by this test and ended by its pid.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
. "$(dirname "$0")/lib/fleet.sh"
B=${ASH_BUILD_DIR:?}
# The process "on node b" ($WEB): healthy until stopped.
fleet_start fleet "the /proc watcher, report checks"

# The truth: when /proc says the process stopped and ran again (CLOCK_MONOTONIC, 1 ms polls).
watch_proc() { # PID OUT
  python3 - "$1" "$2" <<'PY' &
import sys, time
pid, out = sys.argv[1], sys.argv[2]
# Each change as "STATE SEEN PREV": first seen in STATE at SEEN, last seen in the
# other state at PREV, so the change itself lies in (PREV, SEEN] however late a poll ran.
# PREV is read before the last read of the other state, SEEN after the first of this one.
last, prev = None, 0
with open(out, "w") as f:
    while True:
        before = time.monotonic_ns()
        try:
            st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            break
        after = time.monotonic_ns()
        if st in ("Z", "X"):
            f.write(f"dead {after} {prev}\n")  # never "running": the checks see it
            break
        stopped = st == "T"
        if stopped != last:
            f.write(f"{'stopped' if stopped else 'running'} {after} {prev}\n")
            f.flush()
            last = stopped
        prev = before
        time.sleep(0.001)
PY
  pids+=("$!")
}

start_agents() { # PORT LEASE TAG [GUARDED-NODE]
  for n in a b; do
    g=--no-guardian
    [ "$n" = "${4:-}" ] && g=
    "$ASH" agent --connect "127.0.0.1:$1" --key-file "$T/key" --node "$n" --lease "$2" \
      --state-dir "$T/state-$3-$n" $g > "$T/agent-$3-$n.out" 2>&1 &
    eval "AG_$n=$!"
    pids+=("$!")
  done
}

# An agent connects once: start it after the coordinator listens.
listening() { for _ in $(seq 1000); do grep -q "^fleet: listening" "$1" 2>/dev/null && return; sleep 0.01; done; }

# Run YAML as the coordinator (state, reports and output tagged N) with agents a and
# b (lease 2s) on PORT, until it ends: its status in st.
run_fleet() { # YAML N PORT
  "$ASH" run --state-dir "$T/state$2" --report-dir "$T/r$2" "$1" > "$T/run$2.out" 2>&1 &
  RUN=$!
  pids+=("$RUN")
  listening "$T/run$2.out"
  start_agents "$3" 2s "$2"
  wait "$RUN"; st=$?
}

scenario() { # FILE NAME PORT NODES DURATION WAIT
  cat > "$1" <<YAML
version: 1
name: $2
fleet:
  listen: 127.0.0.1:$3
  key_file: "{scenario_dir}/key" # $T/key: {scenario_dir} is substituted
  nodes: [$4]
  lease: 2s
  wait: $6
probes:
  - name: web
    http: http://127.0.0.1:$WEBPORT/
    every: 50ms
    timeout: 40ms
detectors:
  - name: watch
    probes: { consecutive_failures: 2 }
faults:
  - name: stop-web
    kind: process
    target: {node: b, process: {pid: $WEB}}
    action: stop
    at: 300ms
    duration: $5
expect:
  warmup: 500ms
  stable_for: 500ms
  timeout: 30s
YAML
}

# The cross-node known answer (REPORT TRUTH): the probe's impact lies within the stated
# resolution of the stop on node b as /proc saw it; TTD and TTR in one report.
known_answer() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
truth = [l.split() for l in open(sys.argv[2])]
hi, lo = [(int(t), int(p)) for s, t, p in truth if s == "stopped"][0]  # the stop lies in (lo, hi]
fl = r["fleet"]
bound = fl["clock_bound_ms"]
res = r["resolution"]
start = r["monotonic_ns"]["start"]
impact_abs = start + (r["t_inject_ms"] + r["impact_ms"]) * 1e6
inject_abs = r["monotonic_ns"]["inject"]
ri, ttd, ttr = res["impact_ms"], r["ttd_ms"], r["ttr_ms"]
print(f"   stop in a {(hi - lo) / 1e6:.3f} ms window; clock bound {bound:.3f} ms; impact {(impact_abs - lo) / 1e6:.3f} ms "
      f"after its start, resolution {ri:.3f} ms; inject stamped {(inject_abs - lo) / 1e6:.3f} ms after it; "
      f"ttd {ttd}, ttr {ttr}")
# The impact is the start of the first failed sample: one probe interval (plus the
# clock bound, both in the stated resolution) after the stop at most; a sample in
# flight when the process stopped may fail too, so up to the longest a healthy
# answer takes (the slow threshold of the probe) before it.
slow = r["probes"][0]["slow_ms"]
ok = lo - slow * 1e6 <= impact_abs <= hi + ri * 1e6
# Both sides are whole nanoseconds written as ms: the resolution is 50 ms + the bound
# exactly, but the double of (50 ms + bound) in ns / 1e6 and the sum of the two
# doubles can differ in the last bit (it failed so once). Half a nanosecond apart
# is equal.
ns = 0.5e-6
ok &= res["impact_ms"] >= 50 + bound - ns and res["ttd_ms"] >= bound - ns
ok &= res["ttr_ms"] >= 50 + bound - ns
# The agent stamps its inject right after kill(): within a probe interval of the stop.
# (Not a lower bound: a SIGSTOP takes effect when the target next runs, which may
# be after kill() returned.)
ok &= inject_abs <= hi + 50e6
ok &= r["ttd_ms"] is not None and r["ttr_ms"] is not None and r["detected_by"] == "watch"
sys.exit(0 if ok else 1)
PY
}

# ---- 1. the known answer across nodes
P1=$(free_port)
scenario "$T/one.yaml" fleet-one "$P1" "a, b" 1s 20s
watch_proc "$WEB" "$T/truth1"
"$ASH" run --state-dir "$T/state" --report-dir "$T/r1" "$T/one.yaml" > "$T/run1.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run1.out"
start_agents "$P1" 2s one
wait "$RUN"; st=$?
check "fleet run passes (exit $st)" '[ $st = 0 ]'
for n in a b; do
  eval "ap=\$AG_$n"
  wait "$ap"; ast=$?
  check "agent $n left on bye (exit $ast)" '[ $ast = 0 ]'
done
rep=$(ls -d "$T"/r1/fleet-one-*/ 2>/dev/null | head -1)
check "one report" '[ -n "$rep" ] && [ -f "$rep/report.json" ]'
check "the known answer: impact within the stated resolution of the stop on node b" 'known_answer "$rep/report.json" "$T/truth1"'
check "the report shows each node's clock and each remote time's bound" 'python3 - "$rep/report.json" <<PY
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
fl = r["fleet"]
nodes = {n["node"]: n for n in fl["nodes"]}
ok = set(nodes) == {"a", "b"} and all(n["bound_ms"] is not None and abs(n["offset_ms"]) <= n["bound_ms"] for n in nodes.values())
f = fl["faults"][0]
ok &= f["node"] == "b" and f["inject_bound_ms"] is not None and f["revert_bound_ms"] is not None
ev = [e["event"] + ": " + e["detail"] for e in r["timeline"]]
ok &= any(e.startswith("fault-injected: stop-web (process) on node b (its clock ±") for e in ev)
ok &= any(e.startswith("fault-reverted: stop-web (duration elapsed) on node b (its clock ±") for e in ev)
ok &= sum(e.startswith("fleet-clock: node ") for e in ev) == 2
sys.exit(0 if ok else 1)
PY'
check "the process runs again after the run" '[ "$(tail -n 1 "$T/truth1" | cut -d" " -f1)" = running ]'

# ---- 1b. the known answer with the probe on node a: its agent samples (from: a), the
# fault is on node b; the samples' times are a's clock mapped onto the coordinator's
P8=$(free_port)
scenario "$T/eight.yaml" fleet-eight "$P8" "a, b" 1s 20s
sed -i 's/^    http: /    from: a\n    http: /' "$T/eight.yaml"
watch_proc "$WEB" "$T/truth8"
"$ASH" run --state-dir "$T/state8" --report-dir "$T/r8" "$T/eight.yaml" > "$T/run8.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run8.out"
start_agents "$P8" 2s eight
wait "$RUN"; st=$?
check "probe on node a: the fleet run passes (exit $st)" '[ $st = 0 ]'
for n in a b; do
  eval "ap=\$AG_$n"
  wait "$ap"; ast=$?
  check "probe on node a: agent $n left on bye (exit $ast)" '[ $ast = 0 ]'
done
rep8=$(ls -d "$T"/r8/fleet-eight-*/ 2>/dev/null | head -1)
check "probe on node a: the known answer (fault on node b) within the stated resolution" \
  '[ -n "$rep8" ] && known_answer "$rep8/report.json" "$T/truth8"'
check "probe on node a: its samples came from a, each time's bound in the resolution" 'python3 - "$rep8/report.json" <<PY
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
fl = r["fleet"]
p = fl["probes"]
fb, pb = fl["fault_bound_ms"], fl["probe_bound_ms"]
print(f"   probe {p}; fault bound {fb:.3f} ms + probe bound {pb:.3f} ms")
ok = len(p) == 1 and p[0]["name"] == "web" and p[0]["node"] == "a" and p[0]["from"] is None and p[0]["lost"] is None
ok &= p[0]["samples"] > 20 and p[0]["bound_ms"] is not None and p[0]["bound_ms"] == fl["probe_bound_ms"] > 0
ok &= abs(fl["clock_bound_ms"] - (fl["fault_bound_ms"] + fl["probe_bound_ms"])) < 1e-6
ok &= r["resolution"]["impact_ms"] >= 50 + fl["clock_bound_ms"]
sys.exit(0 if ok else 1)
PY'
check "probe on node a: the process runs again after the run" '[ "$(tail -n 1 "$T/truth8" | cut -d" " -f1)" = running ]'
check "probe on node a: its agent's schedule lateness in the report, per node (p50/p99/max)" 'python3 - "$rep8/report.json" <<PY
import json, sys
late = json.load(open(sys.argv[1]))["runs"][0]["schedule_lateness_ms"]
a = late.get("nodes", {}).get("a")
print("   node a:", a, "; the coordinator: ticks", late.get("ticks"), "p99", late.get("p99"))
sys.exit(0 if a and a["ticks"] > 20 and 0 <= a["p50"] <= a["p99"] <= a["max"] and "b" not in late["nodes"] else 1)
PY'

# ---- 1c. the same from a container on node a (`from: a/web`): a private dockerd's
# container with no network but its own loopback, where its httpd listens; node a's
# agent samples inside the container's namespace, node b's stops the httpd
if why=$(dockerd_lacks); then
  ash_skip_part "from: NODE/CONTAINER (1c): $why"
else
  dockerd_start "$T/d" >"$T/dwhy" || { echo "FAIL $(cat "$T/dwhy")"; fail=1; }
  dockerd_image ash-busybox || { echo "FAIL cannot import the busybox image"; fail=1; }
  CPORT=$(free_port) # free on the machine's loopback: only the container's answers there
  dk run -d --name web --network none ash-busybox sh -c \
    "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 127.0.0.1:$CPORT -h /www" >/dev/null
  CWEB=$(dk inspect -f '{{.State.Pid}}' web)
  for _ in $(seq 100); do nsenter -t "$CWEB" -n sh -c "exec 3<>/dev/tcp/127.0.0.1/$CPORT" 2>/dev/null && break; sleep 0.05; done
  check "container: its httpd answers inside it, nothing on the machine's loopback port" \
    '[ "$CWEB" -gt 0 ] && ! (exec 3<>/dev/tcp/127.0.0.1/$CPORT) 2>/dev/null'
  P10=$(free_port)
  scenario "$T/ten.yaml" fleet-ten "$P10" "a, b" 1s 20s
  sed -i -e "s|^    http: .*|    from: a/web\n    http: http://127.0.0.1:$CPORT/|" -e "s/pid: $WEB}/pid: $CWEB}/" \
    -e "s|^fleet:|runtime: {docker_host: \"unix://$DOCKER_SOCK\"}\nfleet:|" "$T/ten.yaml"
  watch_proc "$CWEB" "$T/truth10"
  "$ASH" run --state-dir "$T/state10" --report-dir "$T/r10" "$T/ten.yaml" > "$T/run10.out" 2>&1 &
  RUN=$!
  pids+=("$RUN")
  listening "$T/run10.out"
  # The agents' engine is the private dockerd: their hello lists its containers (web), checked by the run.
  DOCKER_HOST="unix://$DOCKER_SOCK" start_agents "$P10" 2s ten
  wait "$RUN"; st=$?
  check "probe from a container on node a: the fleet run passes (exit $st)" '[ $st = 0 ]'
  for n in a b; do
    eval "ap=\$AG_$n"
    wait "$ap"; ast=$?
    check "probe from a container on node a: agent $n left on bye (exit $ast)" '[ $ast = 0 ]'
  done
  rep10=$(ls -d "$T"/r10/fleet-ten-*/ 2>/dev/null | head -1)
  check "probe from a container on node a: the known answer (fault on node b) within the stated resolution" \
    '[ -n "$rep10" ] && known_answer "$rep10/report.json" "$T/truth10"'
  check "probe from a container on node a: the report names the node and the container" \
    'python3 -c "import json,sys; p=json.load(open(sys.argv[1]))[\"runs\"][0][\"fleet\"][\"probes\"][0]; sys.exit(0 if p[\"node\"] == \"a\" and p[\"from\"] == \"container:web\" and p[\"samples\"] > 20 else 1)" "$rep10/report.json"'
  check "probe from a container on node a: the httpd runs again after the run" \
    '[ "$(tail -n 1 "$T/truth10" | cut -d" " -f1)" = running ]'
  # A container not on node a: that agent refuses the scenario, exit 3, nothing harmed.
  P11=$(free_port)
  sed -e "s/from: a\/web/from: a\/nosuch/" -e "s/$P10/$P11/" "$T/ten.yaml" > "$T/eleven.yaml"
  "$ASH" run --state-dir "$T/state11" --report-dir "$T/r11" "$T/eleven.yaml" > "$T/run11.out" 2>&1 &
  RUN=$!
  pids+=("$RUN")
  listening "$T/run11.out"
  start_agents "$P11" 2s eleven
  wait "$RUN"; st=$?
  check "a probe's container missing on node a: exit 3 before any harm, naming node and probe (exit $st)" \
    '[ $st = 3 ] && grep -q "fleet: node a did not take the scenario; nothing was harmed: .*probe .web.: from: a/nosuch" "$T/run11.out"'
  for n in a b; do eval "ap=\$AG_$n"; wait "$ap"; done
  # The same with agents whose hello lists the engine's containers: the run itself
  # refuses before sending the scenario, naming node and container.
  P13=$(free_port)
  sed -e "s/$P11/$P13/" "$T/eleven.yaml" > "$T/thirteen.yaml"
  DOCKER_HOST="unix://$DOCKER_SOCK" run_fleet "$T/thirteen.yaml" 13 "$P13"
  check "a probe's container not in node a's hello: exit 3 before the scenario is sent, naming node and container (exit $st)" \
    '[ $st = 3 ] && grep -q "fleet: node a has no container .nosuch. (probe .web.): its agent.s engine unix://$DOCKER_SOCK lists web; nothing was harmed" "$T/run13.out"'
  for n in a b; do eval "ap=\$AG_$n"; wait "$ap"; done
  dockerd_stop
fi

# ---- 1d. from a process on node a (`from: a/process:pid=N`): the test's own HTTP
# server in a network namespace this test made (unshare --net: its own loopback
# only); node a's agent samples inside that namespace, node b's stops the server
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
  ash_skip_part "from: NODE/process: (1d): needs root and unshare to make the process's own network namespace"
else
  unshare --net sh -c 'ip link set lo up 2>/dev/null || ifconfig lo up; exec "$1" --port-file "$2"' sh "$TGT" \
    "$T/nsweb.port" 2>"$T/nsweb.err" &
  NSWEB=$!
  pids+=("$NSWEB")
  for _ in $(seq 200); do [ -s "$T/nsweb.port" ] && break; sleep 0.01; done
  NSPORT=$(cat "$T/nsweb.port" 2>/dev/null)
  check "process in its own namespace: it answers there, nothing on the machine's loopback port" \
    '[ -n "$NSPORT" ] && nsenter -t "$NSWEB" -n bash -c "exec 3<>/dev/tcp/127.0.0.1/$NSPORT" 2>/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/$NSPORT) 2>/dev/null'
  P12=$(free_port)
  scenario "$T/twelve.yaml" fleet-twelve "$P12" "a, b" 1s 20s
  sed -i -e "s|^    http: .*|    from: a/process:pid=$NSWEB\n    http: http://127.0.0.1:$NSPORT/|" \
    -e "s/pid: $WEB}/pid: $NSWEB}/" "$T/twelve.yaml"
  watch_proc "$NSWEB" "$T/truth12"
  run_fleet "$T/twelve.yaml" 12 "$P12"
  check "probe from a process on node a: the fleet run passes (exit $st)" '[ $st = 0 ]'
  for n in a b; do eval "ap=\$AG_$n"; wait "$ap"; done
  rep12=$(ls -d "$T"/r12/fleet-twelve-*/ 2>/dev/null | head -1)
  check "probe from a process on node a: the known answer (fault on node b) within the stated resolution" \
    '[ -n "$rep12" ] && known_answer "$rep12/report.json" "$T/truth12"'
  check "probe from a process on node a: the report names the node and the process" \
    'python3 -c "import json,sys; p=json.load(open(sys.argv[1]))[\"runs\"][0][\"fleet\"][\"probes\"][0]; sys.exit(0 if p[\"node\"] == \"a\" and p[\"from\"] == \"process:pid=$NSWEB\" and p[\"samples\"] > 20 else 1)" "$rep12/report.json"'
  check "probe from a process on node a: the server runs again after the run" \
    '[ "$(tail -n 1 "$T/truth12" | cut -d" " -f1)" = running ]'
  kill "$NSWEB" 2>/dev/null
  wait "$NSWEB" 2>/dev/null
fi

# ---- 1e. a probe on a node that goes silent while its agent stays connected:
# ash_fakeagent (node a) takes the fault without harm, fails its probe's samples
# while the fault is in effect, and sends none from 100 ms after the revert on,
# answering pings all the while. The coordinator's own probe is healthy all along,
# so counting the silence as health would declare TTR; the run must not: the probe
# goes stale, TTR stays unknown and the run ends on its expect.timeout.
FAKE=$B/tests/ash_fakeagent
P14=$(free_port)
cat > "$T/fourteen.yaml" <<YAML
version: 1
name: fleet-fourteen
fleet:
  listen: 127.0.0.1:$P14
  key_file: $T/key
  nodes: [a]
  lease: 1s
  wait: 20s
probes:
  - name: web
    http: http://127.0.0.1:$WEBPORT/
    every: 50ms
    timeout: 40ms
  - name: far
    from: a
    tcp: 127.0.0.1:1
    every: 20ms
faults:
  - name: stop-far
    kind: process
    target: {node: a, process: {pid: $WEB}}
    action: stop
    at: 300ms
    duration: 300ms
expect:
  warmup: 300ms
  stable_for: 500ms
  timeout: 4s
YAML
"$ASH" run --state-dir "$T/state14" --report-dir "$T/r14" "$T/fourteen.yaml" > "$T/run14.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run14.out"
"$FAKE" "127.0.0.1:$P14" "$T/key" a 100 > "$T/fake14.out" 2>&1 &
FK=$!
pids+=("$FK")
wait "$RUN"; st=$?
wait "$FK"; fst=$?
rep14=$(ls -d "$T"/r14/fleet-fourteen-*/ 2>/dev/null | head -1)
check "a silent probe on a connected agent: one report (run exit $st), the fake agent left on bye (exit $fst)" \
  '[ -n "$rep14" ] && [ $fst = 0 ]'
check "a silent probe on a connected agent: probe-stale names node and probe, TTR is not declared on its silence" 'python3 - "$rep14/report.json" <<PY
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
stale = [e for e in r["timeline"] if e["event"] == "probe-stale"]
p = r["fleet"]["probes"][0]
print("   impact", r["impact_ms"], "ttr", r["ttr_ms"], "stale:", stale[0]["detail"][:90] if stale else None, "; far:", p["stale"], p["unknown_from_ms"])
ok = r["impact_ms"] is not None and r["ttr_ms"] is None and r["revert_to_recover_ms"] is None
ok &= any(e["event"] == "timeout" for e in r["timeline"])  # it waited for a recovery it could not see
ok &= len(stale) == 1 and stale[0]["detail"].startswith("probe \x27far\x27 on node a: no sample for")
ok &= p["stale"] == 1 and p["unknown_from_ms"] is not None
sys.exit(0 if ok else 1)
PY'

# ---- 2. SIGKILL of the coordinator mid-fault: the agents' leases revert
P2=$(free_port)
scenario "$T/two.yaml" fleet-two "$P2" "a, b" 30s 20s
watch_proc "$WEB" "$T/truth2"
"$ASH" run --state-dir "$T/state2" --report-dir "$T/r2" "$T/two.yaml" > "$T/run2.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run2.out"
start_agents "$P2" 2s two
for _ in $(seq 1000); do grep -q stopped "$T/truth2" 2>/dev/null && break; sleep 0.01; done
check "the fault stopped the process on node b" 'grep -q stopped "$T/truth2"'
killed=$(python3 -c 'import time; print(time.monotonic_ns())')
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
for n in a b; do
  eval "ap=\$AG_$n"
  for _ in $(seq 500); do kill -0 "$ap" 2>/dev/null || break; sleep 0.01; done
  wait "$ap"; ast=$?
  check "agent $n left when the coordinator died (exit $ast)" '[ $ast = 1 ]'
done
check "the process runs again within the lease (2s) of the coordinator's death" 'python3 - "$T/truth2" "$killed" <<PY
import sys
lines = [l.split() for l in open(sys.argv[1])]
killed = int(sys.argv[2])
back = [int(t) for s, t, p in lines if s == "running" and int(t) >= killed]
print(f"   running again {(back[0] - killed) / 1e6:.1f} ms after the SIGKILL" if back else "   never ran again")
sys.exit(0 if back and back[0] - killed <= 2e9 else 1)
PY'
check "agent b says why it reverted" 'grep -q "reverted" "$T/agent-two-b.out"'
# The coordinator's own journal (SIGKILLed): its guardian, or recover, clears it.
"$ASH" recover --state-dir "$T/state2" >/dev/null 2>&1

# ---- 2b. SIGINT of the coordinator mid-fault: it reverts on node b, then bye
P4=$(free_port)
scenario "$T/four.yaml" fleet-four "$P4" "a, b" 30s 20s
watch_proc "$WEB" "$T/truth4"
"$ASH" run --state-dir "$T/state4" --report-dir "$T/r4" "$T/four.yaml" > "$T/run4.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run4.out"
start_agents "$P4" 2s four
for _ in $(seq 1000); do grep -q stopped "$T/truth4" 2>/dev/null && break; sleep 0.01; done
kill -INT "$RUN"
wait "$RUN"; st=$?
check "SIGINT mid-fault: the run ends aborted (exit $st)" '[ $st = 1 ] && grep -q "interrupted by SIGINT" "$T/run4.out"'
check "SIGINT: the process runs again" '[ "$(tail -n 1 "$T/truth4" | cut -d" " -f1)" = running ]'
check "SIGINT: the coordinator reverted it on node b (its timeline)" \
  'grep -q "fault-reverted *stop-web (abort) on node b" "$T/run4.out"'
for n in a b; do
  eval "ap=\$AG_$n"
  wait "$ap"; ast=$?
  check "SIGINT: agent $n left on bye (exit $ast)" '[ $ast = 0 ]'
done

# ---- 2b'. a guardrail trips mid-fault: the same way out
P7=$(free_port)
scenario "$T/seven.yaml" fleet-seven "$P7" "a, b" 30s 20s
printf 'guardrails:\n  - name: cap\n    max_duration: 1500ms\n' >> "$T/seven.yaml"
watch_proc "$WEB" "$T/truth7"
"$ASH" run --state-dir "$T/state7" --report-dir "$T/r7" "$T/seven.yaml" > "$T/run7.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run7.out"
start_agents "$P7" 2s seven
wait "$RUN"; st=$?
check "guardrail mid-fault: the run ends aborted by it (exit $st)" '[ $st = 1 ] && grep -q "guardrail" "$T/run7.out"'
check "guardrail: the fault was in effect, then reverted on node b" \
  'grep -q stopped "$T/truth7" && [ "$(tail -n 1 "$T/truth7" | cut -d" " -f1)" = running ] &&
   grep -q "fault-reverted *stop-web (abort) on node b" "$T/run7.out"'
for n in a b; do
  eval "ap=\$AG_$n"
  wait "$ap"; ast=$?
  check "guardrail: agent $n left on bye (exit $ast)" '[ $ast = 0 ]'
done

# ---- 2c. SIGKILL of agent b mid-fault: its guardian reverts node b, the run aborts naming it
P5=$(free_port)
scenario "$T/five.yaml" fleet-five "$P5" "a, b" 30s 20s
watch_proc "$WEB" "$T/truth5"
"$ASH" run --state-dir "$T/state5" --report-dir "$T/r5" "$T/five.yaml" > "$T/run5.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run5.out"
start_agents "$P5" 2s five b
for _ in $(seq 1000); do grep -q stopped "$T/truth5" 2>/dev/null && break; sleep 0.01; done
killed=$(python3 -c 'import time; print(time.monotonic_ns())')
kill -KILL "$AG_b"
wait "$AG_b" 2>/dev/null
wait "$RUN"; st=$?
check "agent b killed: the run stops, naming the node (exit $st)" \
  '[ $st != 0 ] && grep -q "fleet: lost the agent of node b" "$T/run5.out"'
check "agent b killed: its guardian reverted node b (the process runs again)" 'python3 - "$T/truth5" "$killed" <<PY
import sys, time
for _ in range(500):  # the guardian notices its agent died at once; allow it 5 s
    lines = [l.split() for l in open(sys.argv[1])]
    back = [int(t) for s, t, p in lines if s == "running" and int(t) >= int(sys.argv[2])]
    if back:
        print(f"   running again {(back[0] - int(sys.argv[2])) / 1e6:.1f} ms after the SIGKILL")
        sys.exit(0)
    time.sleep(0.01)
sys.exit(1)
PY'
check "agent b killed: nothing left in its journal" '[ -z "$(ls "$T"/state-five-b/*.journal 2>/dev/null)" ]'
wait "$AG_a"; ast=$?
check "agent b killed: agent a left on bye (exit $ast)" '[ $ast = 0 ]'

# ---- 2e. the agent of the probe's node dies mid-fault: the run stops, saying the probe
# stopped with it (never a probe that looks healthy because nothing more came)
P9=$(free_port)
scenario "$T/nine.yaml" fleet-nine "$P9" "a, b" 30s 20s
sed -i 's/^    http: /    from: a\n    http: /' "$T/nine.yaml"
watch_proc "$WEB" "$T/truth9"
"$ASH" run --state-dir "$T/state9" --report-dir "$T/r9" "$T/nine.yaml" > "$T/run9.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run9.out"
start_agents "$P9" 2s nine
for _ in $(seq 1000); do grep -q stopped "$T/truth9" 2>/dev/null && break; sleep 0.01; done
sleep 0.2
kill -KILL "$AG_a"
wait "$AG_a" 2>/dev/null
wait "$RUN"; st=$?
check "probe's agent killed: the run stops, naming the node and the probe (exit $st)" \
  '[ $st != 0 ] && grep -q "fleet: lost the agent of node a: .*(probe(s) .web. sampled there: they stopped)" "$T/run9.out"'
rep9=$(ls -d "$T"/r9/fleet-nine-*/ 2>/dev/null | head -1)
check "probe's agent killed: the report says the probe was lost, the verdict is not a pass" 'python3 - "$rep9/report.json" <<PY
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
p = r["fleet"]["probes"][0]
ev = [e["event"] + ": " + e["detail"] for e in r["timeline"]]
v = r["verdict"]
print(f"   verdict {v}; probe {p}")
ok = p["node"] == "a" and p["lost"] is not None and p["lost"].startswith("node a\x27s agent was lost") and p["samples"] > 0
ok &= any(e.startswith("probe-lost: probe \x27web\x27 on node a: stopped after ") for e in ev)
ok &= r["verdict"] == "aborted"
sys.exit(0 if ok else 1)
PY'
check "probe's agent killed: the fault on node b reverted, agent b left on bye" \
  '[ "$(tail -n 1 "$T/truth9" | cut -d" " -f1)" = running ] && wait "$AG_b"'

# ---- 2d. a target missing on its node: the agent refuses the scenario, exit 3 before any harm
GONE=$(python3 -c 'import os; print(os.getpid())') # a pid that no longer runs
P6=$(free_port)
scenario "$T/six.yaml" fleet-six "$P6" "a, b" 1s 20s
sed -i "s/process: {pid: $WEB}/process: {pid: $GONE}/" "$T/six.yaml"
"$ASH" run --state-dir "$T/state6" --report-dir "$T/r6" "$T/six.yaml" > "$T/run6.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run6.out"
start_agents "$P6" 2s six
wait "$RUN"; st=$?
check "a target missing on node b: exit 3 before any harm, naming node, fault and process (exit $st)" \
  '[ $st = 3 ] && grep -q "fleet: node b did not take the scenario; nothing was harmed: node b: fault .stop-web.: .*$GONE" "$T/run6.out"'
for n in a b; do
  eval "ap=\$AG_$n"
  wait "$ap"; ast=$?
  check "missing target: agent $n left on bye (exit $ast)" '[ $ast = 0 ]'
done

# ---- 3. a node that never connects: exit 3 before any harm, naming it
P3=$(free_port)
scenario "$T/three.yaml" fleet-three "$P3" "a, b, c" 1s 2s
watch_proc "$WEB" "$T/truth3"
"$ASH" run --state-dir "$T/state3" --report-dir "$T/r3" "$T/three.yaml" > "$T/run3.out" 2>&1 &
RUN=$!
pids+=("$RUN")
listening "$T/run3.out"
start_agents "$P3" 2s three
wait "$RUN"; st=$?
check "a missing node fails the run with exit 3 (exit $st)" '[ $st = 3 ]'
check "the message names the missing node" 'grep -q "no agent for node(s) c connected" "$T/run3.out"'
check "nothing was harmed" '! grep -q stopped "$T/truth3"'
for n in a b; do
  eval "ap=\$AG_$n"
  wait "$ap"; ast=$?
  check "agent $n was sent away (exit $ast)" '[ $ast = 0 ]'
done

# ---- plan: the fleet step and the node of each fault, nothing started
out=$("$ASH" plan "$T/one.yaml" 2>&1)
check "plan shows the fleet step" 'echo "$out" | grep -q "fleet: listen on 127.0.0.1:$P1, wait up to 20 s for an agent of each node (a, b; one missing: exit 3"'
check "plan shows the fault on node b" 'echo "$out" | grep -q "stop-web (process) on node b; revert after"'
out=$("$ASH" plan --format json "$T/one.yaml" 2>&1)
check "plan json: fleet and the node" 'echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"fleet\"][\"nodes\"] == [\"a\", \"b\"] and d[\"faults\"][0][\"node\"] == \"b\" else 1)"'
out=$("$ASH" plan "$T/eight.yaml" 2>&1)
check "plan shows the probe sampled by node a's agent" 'echo "$out" | grep -q "probe web (http) from a (sampled by node a.s agent) every 50 ms"'

# ---- 4. bad fleet: input
bad() { # NAME SED WANT
  local want="$1.yaml:$3"
  sed "$2" "$T/one.yaml" > "$T/$1.yaml"
  out=$("$ASH" validate "$T/$1.yaml" 2>&1); st=$?
  check "validate refuses $1 (exit 2, $3)" '[ $st = 2 ] && echo "$out" | grep -qF "$want"'
  [ $st = 2 ] || echo "  got: $out"
}
bad b-node 's/node: b,/node: z,/' "20:13: node 'z' is not in fleet.nodes"
bad b-listen "s/listen: 127.0.0.1:$P1/listen: nowhere/" "4:11: fleet listen 'nowhere'"
bad b-twice 's/nodes: \[a, b\]/nodes: [a, a]/' "6:14: node 'a' is listed twice"
bad b-key 's/  lease: 2s/  lease: 2s\n  bogus: 1/' "8:3: unknown key 'bogus' in 'fleet'"
bad b-nofleet '/^fleet:/,/^  wait:/d' "14:13: 'process': the target names node 'b', but this scenario has no 'fleet:'"
bad b-lease 's/  lease: 2s/  lease: 100ms/' "7:10: 'fleet.lease' is at least 500ms"
bad b-probe-node 's/^    http: /    from: z\n    http: /' \
  "11:11: probe 'web' runs from 'z', which is neither a node in fleet.nodes nor a host of this scenario"
bad b-probe-node-ctr 's/^    http: /    from: z\/web\n    http: /' "11:11: probe 'web': node 'z' is not in fleet.nodes"
bad b-probe-ctr 's/^    http: /    from: a\/\n    http: /' "11:11: probe 'web': from: a/: no container after '/'"
bad b-probe-nofleet '/^fleet:/,/^  wait:/d;s/^    http: /    from: a\/web\n    http: /' \
  "5:11: probe 'web': 'from: a/web' names a container on a fleet node (NODE/CONTAINER), but this scenario has no 'fleet:'"
bad b-probe-nofleet-node '/^fleet:/,/^  wait:/d;s/^    http: /    from: a\n    http: /' \
  "5:11: probe 'web' runs from host 'a', but this scenario has no hosts"

for p in "${pids[@]}"; do [ "$p" = "$WEB" ] || kill "$p" 2>/dev/null; done
[ "$fail" = 0 ] || { tail -20 "$T/run1.out"; tail -n 5 "$T"/agent-*.out; }
ash_exit "$fail"
