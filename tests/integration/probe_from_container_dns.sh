#!/usr/bin/env bash
# Probes `from: container:NAME` whose name lookups stop being answered (docs/targets.md,
# "Names, as the container resolves them"), against a real, PRIVATE Docker engine
# (lib/dockerd.sh, --internal network, traffic only between its containers). The
# new-user trial's case: `process kill` on container nu-web for 3 s while http and tcp
# probes from container nu-client sample http://nu-web/ every 100 ms (timeout 500 ms).
# Once nu-web is dead, Docker's embedded resolver (127.0.0.11) stops answering for its
# name. Before, each sample waited up to 1 s for that answer on the event loop: ticks
# ~1 s late, the revert 2.3 s late, 35 samples instead of ~84. Now the query is read by
# the loop, bounded by the sample's timeout. Asserted: schedule lateness p99 under the
# probes' resolution (100 ms); the revert at its planned time within that resolution;
# every sample at its planned tick (no gap in the series); the failure detected within
# timeout + every (600 ms) of the kill; the failed samples end at their timeout, not
# later, and once the name is gone they say it went unanswered.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
why=$(dockerd_lacks) && ash_skip_all "$why"
command -v python3 >/dev/null || ash_skip_all "needs python3 to read the report"
T=$(mktemp -d /tmp/ash-pd-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  dockerd_stop
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

dockerd_start "$T/d" >"$T/why" || { echo "FAIL $(cat "$T/why")"; exit 1; }
dockerd_image ash-busybox || { echo "FAIL cannot import the busybox image"; exit 1; }
dk network create --internal ash-pd-net >/dev/null
dk run -d --name nu-web --network ash-pd-net ash-busybox sh -c \
  'mkdir -p /www && echo ok >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
dk run -d --name nu-client --network ash-pd-net ash-busybox sleep 1000 >/dev/null

cat >"$T/kill.yaml" <<YAML
version: 1
name: probe-dns-kill
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: http-from-client
    http: {url: "http://nu-web/"}
    from: container:nu-client
    every: 100ms
    timeout: 500ms
  - name: tcp-from-client
    tcp: {address: "nu-web:80"}
    from: container:nu-client
    every: 100ms
    timeout: 500ms
detectors:
  - name: users-notice
    probes: {consecutive_failures: 1}
  - name: name-gone
    probes: {probes: [http-from-client], consecutive_failures: 5}
faults:
  - name: kill-web
    target: container:nu-web
    kind: process
    action: kill
    at: 1s
    duration: 3s
expect:
  warmup: 500ms
  timeout: 60s
YAML
"$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/kill.yaml" >"$T/kill.out" 2>&1
st=$?
rep=$(ls -d "$T"/r/probe-dns-kill-*/ 2>/dev/null | head -1)
check "the run completes (exit $st) with a report" '[ -n "$rep" ] && [ -s "$rep/report.json" ]'
[ -n "$rep" ] || { tail -20 "$T/kill.out"; ash_exit 1; }
# The revert of a kill (the engine starting the container again, 200-400 ms here) runs
# off the loop (a container's restart goes through the engine's API with the run lock
# let go), so no tick may start late because of it: the bounds below hold over the
# whole run, the revert included, and no late tick may name it.
python3 - "$rep/report.json" >"$T/verdict" <<'PY'
import json, re, sys
run = json.load(open(sys.argv[1]))["runs"][0]
every, timeout, duration = 100.0, 500.0, 3000.0
f = run["faults"][0]
lat = run["schedule_lateness_ms"]
kill_at = f["injected_ms"] - f["inject_latency_ms"]
ticks = lat.get("late_ticks", [])
rev = [t for t in ticks if "the revert of fault 'kill-web'" in t["cause"]]
print("revert_ticks", len(rev))
print("revert_end_late", round(f["reverted_ms"] - f["injected_ms"] - duration, 1))
print("report_p99", lat["p99"])
busy = [t["late_ms"] for t in ticks if "probe tick" in t["cause"]]
print("probe_busy_max", max(busy) if busy else 0)
inrev = lambda a, b: False  # nothing is left out: the revert holds no tick
for p in run["probes"]:
    s = p["series"]
    starts = [x[0] for x in s]
    gaps = [b - a for a, b in zip(starts, starts[1:]) if not inrev(a, b)]
    print("samples_" + p["name"], len(starts))
    print("maxgap_" + p["name"], round(max(gaps), 1))
    # A failed sample ends at its timeout at the latest (before: 3003 ms with a 500 ms timeout).
    fails = [x for x in s if not x[2] and not inrev(x[0], x[0] + x[1])]
    print("maxfail_" + p["name"], round(max([x[1] for x in fails] or [0]), 1))
    print("fails_" + p["name"], len(fails))
    print("okbefore_" + p["name"], sum(1 for x in s if x[0] + x[1] < kill_at and x[2]),
          sum(1 for x in s if x[0] + x[1] < kill_at))
d = run.get("detections", [])
print("detect_after_kill", round(d[0]["at_ms"] - kill_at, 1) if d else "none")
# The first failure after the kill may be a refused connection: the container's
# namespace outlives its killed init for a moment, and its name still resolves (seen
# on a slower machine: "Connection refused" 92 ms after the kill). Five failures in a
# row on the http probe (~500 ms later) are past that: its detection says why.
gone = [x for x in d if x.get("detector") == "name-gone"]
print("gone_detail", json.dumps(gone[0]["detail"] if gone else "none"))
print("detail_ok", any("resolve 'nu-web' from nu-client: no answer from 127.0.0.11 within 5" in x["detail"] for x in gone))
print("run_ms", run["duration_ms"])
PY
cat "$T/verdict"
v() { awk -v k="$1" '$1 == k {print $2}' "$T/verdict"; }
vall() { awk -v k="$1" '$1 == k {sub(/^[^ ]+ /, ""); print}' "$T/verdict"; }
le() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$1" "$2"; }
echo "note the revert (the engine's restart) ended $(v revert_end_late) ms after its planned time"
check "schedule lateness p99 $(v report_p99) ms < the resolution, 100 ms, the revert included (before: ticks ~1000 ms late)" \
  'le "$(v report_p99)" 99.999'
check "no late tick names the revert: it held the loop for none of its $(v revert_end_late) ms ($(v revert_ticks) ticks)" \
  '[ "$(v revert_ticks)" = 0 ]'
# A tick's hold on the loop is wall time: it counts the moments the machine ran
# something else while the tick held the run lock (CI, clang build: 21.9 ms once
# in 7 s). What this guards against, a lookup made on the loop, held it for the
# lookup's timeout or more (200-3003 ms before). Half the probe period, 50 ms,
# is the bound: a tick under it cannot cost the next sample its slot.
check "no probe tick held the loop over half the 100 ms period (worst $(v probe_busy_max) ms)" 'le "$(v probe_busy_max)" 50'
for p in http-from-client tcp-from-client; do
  read -r okb allb <<<"$(awk -v k="okbefore_$p" '$1 == k {print $2, $3}' "$T/verdict")"
  check "$p: resolved nu-web and reached it from nu-client before the kill ($okb of $allb samples ok)" \
    '[ "$allb" -ge 10 ] && [ "$okb" = "$allb" ]'
  # One sample per 100 ms for the whole run (before, 35 in 7 s).
  expect=$(python3 -c "print(int($(v run_ms) / 100) - 3)")
  check "$p: samples kept their cadence ($(v samples_$p) >= $expect, widest gap $(v maxgap_$p) ms < 150 over the whole run)" \
    '[ "$(v samples_$p)" -ge "$expect" ] && le "$(v maxgap_$p)" 149.999'
  check "$p: failed samples ($(v fails_$p)) ended at their 500 ms timeout at the latest (worst $(v maxfail_$p) ms; before 3003)" \
    '[ "$(v fails_$p)" -ge 3 ] && le "$(v maxfail_$p)" 520'
done
check "the failure detected $(v detect_after_kill) ms after the kill: within timeout + every (600 ms, + 25 ms of loop slack)" \
  '[ "$(v detect_after_kill)" != none ] && le "$(v detect_after_kill)" 625'
check "the http probe's fifth failure in a row says the name went unanswered (resolve 'nu-web' from nu-client: no answer from 127.0.0.11 within 500 ms; it said $(vall gone_detail))" \
  '[ "$(v detail_ok)" = True ]'
[ "$fail" = 0 ] || tail -20 "$T/kill.out"
ash_exit "$fail"
