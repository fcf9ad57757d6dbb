#!/usr/bin/env bash
# Detection from the real thing (issue 15 item 4): Debian's prometheus,
# prometheus-alertmanager and prometheus-blackbox-exporter, started here on
# loopback ports this test picks, with their own data directories and
# configs (1 s scrape and evaluation, group_wait 1 s), stopped by pid. A
# blackbox probe watches a loopback HTTP target; the scenario's fault stops
# the target (SIGSTOP), probe_success drops to 0, the rule fires and
# Alertmanager posts to the webhook detector. The run's per-alert record
# must agree with the stack's own account within 50 ms: `fired` with
# Alertmanager's startsAt (GET /api/v2/alerts) and the first firing sample of
# Prometheus' ALERTS series, `notified` with Alertmanager's "Notify success".
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
for bin in prometheus prometheus-alertmanager prometheus-blackbox-exporter curl python3; do
  command -v "$bin" >/dev/null ||
    ash_skip_all "$bin is not installed (Debian: apt-get install prometheus prometheus-alertmanager prometheus-blackbox-exporter; scripts/install-deps.sh --test)"
done
T=$(mktemp -d /tmp/ash-promstack-XXXXXX)
fail=0
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL WHAT: up to 30 s
  for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "FAIL $2 did not come up at $1"; tail -5 "$T/$2.log"; exit 1
}

tport=$(freeport); bbport=$(freeport); pport=$(freeport); amport=$(freeport); whport=$(freeport)
echo "ports: target $tport, blackbox $bbport, prometheus $pport, alertmanager $amport, webhook $whport"

mkdir -p "$T/www" "$T/prom" "$T/am"
echo ok > "$T/www/index.html"
cat > "$T/blackbox.yml" <<YAML
modules:
  http_2xx:
    prober: http
    timeout: 500ms
    http:
      preferred_ip_protocol: ip4
YAML
cat > "$T/rules.yml" <<YAML
groups:
  - name: ash
    interval: 1s
    rules:
      - alert: TargetDown
        expr: probe_success == 0
        for: 0s
        annotations:
          summary: "blackbox probe of the target fails"
YAML
cat > "$T/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: ["$T/rules.yml"]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$amport"]
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: { module: [http_2xx] }
    static_configs:
      - targets: ["http://127.0.0.1:$tport/"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: "127.0.0.1:$bbport"
YAML
cat > "$T/alertmanager.yml" <<YAML
route:
  receiver: aftershock
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: aftershock
    webhook_configs:
      - url: "http://127.0.0.1:$whport/alerts"
        send_resolved: true
YAML

python3 -m http.server "$tport" --bind 127.0.0.1 --directory "$T/www" > "$T/target.log" 2>&1 &
tpid=$!; pids+=("$tpid")
prometheus-blackbox-exporter --config.file="$T/blackbox.yml" --web.listen-address="127.0.0.1:$bbport" \
  > "$T/blackbox.log" 2>&1 &
pids+=($!)
prometheus-alertmanager --config.file="$T/alertmanager.yml" --storage.path="$T/am" \
  --web.listen-address="127.0.0.1:$amport" --cluster.listen-address= --log.level=debug > "$T/alertmanager.log" 2>&1 &
pids+=($!)
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" --web.listen-address="127.0.0.1:$pport" \
  > "$T/prometheus.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$tport/" target
wait_http "http://127.0.0.1:$bbport/metrics" blackbox
wait_http "http://127.0.0.1:$amport/-/ready" alertmanager
wait_http "http://127.0.0.1:$pport/-/ready" prometheus
# The target is up before the run: wait for a successful probe in Prometheus,
# so the rule is quiet when the steady state is checked.
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$pport/api/v1/query?query=probe_success" | grep -q '"value":\[[0-9.]*,"1"\]' && break
  sleep 0.2
done

cat > "$T/stack.yaml" <<YAML
version: 1
name: prometheus-stack
probes:
  - name: target
    http: "http://127.0.0.1:$tport/"
    every: 100ms
    timeout: 300ms
detectors:
  - name: alertmanager
    webhook: { listen: "127.0.0.1:$whport", alertname: TargetDown,
               scrape_interval: 1s, evaluation_interval: 1s, for: 0s, group_wait: 1s }
faults:
  - name: freeze-target
    kind: exec
    inject: [kill, -STOP, "$tpid"]
    revert: [kill, -CONT, "$tpid"]
    duration: 6s
expect:
  warmup: 1s
  stable_for: 5s
  detect_within: 8s
  timeout: 40s
YAML

# Alertmanager's API forgets an alert once resolved: poll it while the run goes.
( while :; do
    out=$(curl -sf "http://127.0.0.1:$amport/api/v2/alerts?filter=alertname%3D%22TargetDown%22")
    if [ -n "$out" ] && [ "$out" != "[]" ]; then echo "$out" > "$T/am-alerts.json"; exit 0; fi
    sleep 0.1
  done ) &
poller=$!; pids+=("$poller")
"$ASH" run --state-dir "$T/state" --report-dir "$T/reports" "$T/stack.yaml" > "$T/run.out" 2>&1
st=$?
kill "$poller" 2>/dev/null
check "the run passes (exit $st)" '[ "$st" = 0 ]'
rep=$(ls -d "$T/reports"/prometheus-stack-*/ 2>/dev/null | head -1)report.json
[ -f "$rep" ] || { echo "FAIL no report: $(tail -5 "$T/run.out")"; exit 1; }
curl -sf -G "http://127.0.0.1:$pport/api/v1/query" \
  --data-urlencode 'query=ALERTS{alertname="TargetDown",alertstate="firing"}[10m]' > "$T/prom-alerts.json"
grep -E 'msg="Notify success"|msg=flushing' "$T/alertmanager.log" > "$T/am-notify.log"

# One python pass: every comparison, each printed as "ok"/"FAIL" lines.
python3 - "$rep" "$T/am-alerts.json" "$T/prom-alerts.json" "$T/am-notify.log" > "$T/checks.out" 2>&1 <<'PY'
import json, re, sys, time, datetime
rep, am_file, prom_file, notify_file = sys.argv[1:5]
r = json.load(open(rep))["runs"][0]
fails = 0
def check(what, ok):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1
# The run's monotonic clock on the wall clock, from both read back to back here.
m0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC); w = time.time_ns(); m1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
mono_to_wall = w - (m0 + m1) // 2
start = r["monotonic_ns"]["start"]
def wall_of(ms):  # a report *_ms (since the run started) as wall-clock ns
    return start + int(ms * 1e6) + mono_to_wall
def parse(ts):  # RFC 3339 with up to ns, Z or an offset
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", ts)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    off = 0 if m.group(3) == "Z" else (1 if m.group(3)[0] == "+" else -1) * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
    secs = int(base.replace(tzinfo=datetime.timezone.utc).timestamp()) - off
    frac = (m.group(2) or ".0")[1:]
    return secs * 10**9 + int((frac + "000000000")[:9])
alerts = [a for a in r.get("alerts", []) if a["alertname"] == "TargetDown" and a["role"] == "detection"]
check("one TargetDown alert counted as detection (%d)" % len(alerts), len(alerts) == 1)
if not alerts:
    sys.exit(1)
a = alerts[0]
check("TTD is the notification: ttd_ms %.3f = notified - t_inject" % r["ttd_ms"],
      abs(r["ttd_ms"] - (a["notified_ms"] - r["t_inject_ms"])) < 0.01)
check("ttd_fired_ms %.3f = fired - t_inject" % r["ttd_fired_ms"],
      abs(r["ttd_fired_ms"] - (a["fired_ms"] - r["t_inject_ms"])) < 0.01)
check("impact_to_detect_ms %s = ttd - impact" % r["impact_to_detect_ms"],
      r["impact_ms"] is not None and abs(r["impact_to_detect_ms"] - (r["ttd_ms"] - r["impact_ms"])) < 0.01)
fl = r.get("detection_floor") or {}
check("detection floor 3000 ms stated (%s: %s)" % (fl.get("ms"), fl.get("terms")), fl.get("ms") == 3000.0)
check("notified %.1f ms after fired: at least group_wait 1 s" % (a["notified_ms"] - a["fired_ms"]),
      a["notified_ms"] - a["fired_ms"] >= 950)
fired = wall_of(a["fired_ms"]); notified = wall_of(a["notified_ms"])
am = json.load(open(am_file))
check("Alertmanager's API has the alert (%d)" % len(am), len(am) >= 1)
if am:
    am_starts = parse(am[0]["startsAt"])
    d = (fired - am_starts) / 1e6
    check("fired agrees with Alertmanager's startsAt %s within 50 ms (%.3f ms)" % (am[0]["startsAt"], d), abs(d) <= 50)
    check("the record is keyed by Alertmanager's fingerprint %s" % am[0]["fingerprint"], a["fingerprint"] == am[0]["fingerprint"])
prom = json.load(open(prom_file))["data"]["result"]
check("Prometheus has an ALERTS series (%d)" % len(prom), len(prom) >= 1)
if prom:
    first = min(float(v[0]) for s in prom for v in s["values"])
    d = (fired - first * 1e9) / 1e6
    check("fired agrees with the first firing ALERTS sample within 50 ms (%.3f ms)" % d, abs(d) <= 50)
# Alertmanager logs "flushing" before it sends a group and "Notify success"
# once the receiver answered: the POST arrived in between. Within 50 ms of the
# success (on a loaded machine the log line can lag the answer: then within
# the send window itself).
lines = [(parse(re.search(r"ts=(\S+)", l).group(1)), "Notify success" in l) for l in open(notify_file) if "ts=" in l]
success = [t for t, ok in lines if ok]
if success:
    flush = max([t for t, ok in lines if not ok and t <= success[0]] or [success[0]])
    d = (notified - success[0]) / 1e6
    check("notified agrees with Alertmanager's first 'Notify success' (%.3f ms; its flush %.3f ms before)"
          % (d, (success[0] - flush) / 1e6),
          abs(d) <= 50 or flush - 50e6 <= notified <= success[0] + 50e6)
else:
    check("Alertmanager logged 'Notify success'", False)
if a.get("resolved_ms") is not None:
    check("resolved (%.1f) after fired (%.1f)" % (a["resolved_ms"], a["fired_ms"]), a["resolved_ms"] > a["fired_ms"])
else:
    check("the resolution arrived within the run", False)
sys.exit(1 if fails else 0)
PY
pst=$?
cat "$T/checks.out"
[ "$pst" = 0 ] || fail=1

# The bundled variant whose detection is this stack, run in the sandbox as
# scripts/replay-all.sh runs it: Alertmanager reaches the receiver through
# {webhook_url}, the floor its config implies is reported beside TTD.
V=${ASH_SOURCE_DIR:-$(dirname "$0")/../..}/scenarios/prometheus/telephony-table-lock-suggested-prometheus.yaml
if [ "$(id -u)" != 0 ]; then
  ash_skip "the bundled variant builds a sandbox and needs root"
else
  "$ASH" run --state-dir "$T/state" --report-dir "$T/variant" "$V" > "$T/variant.out" 2>&1
  st=$?
  check "bundled variant $(basename "$V"): passes (exit $st)" '[ "$st" = 0 ]'
  vrep=$(ls -d "$T/variant"/telephony-table-lock-suggested-prometheus-*/ 2>/dev/null | head -1)report.json
  got=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]; a=[x for x in r["alerts"] if x["role"]=="detection"]; print(r["detected_by"], len(a), a[0]["alertname"] if a else None, r["detection_floor"]["ms"], r["ttd_fired_ms"] is not None and r["ttd_fired_ms"] < r["ttd_ms"])' "$vrep" 2>&1)
  check "bundled variant: detected by Alertmanager's RegistrationsFailing, floor 3000 ms, fired before notified ($got)" \
    '[ "$got" = "alertmanager 1 RegistrationsFailing 3000.0 True" ]'
  check "bundled variant: the floor is printed beside TTD" 'grep -q "detection floor 3.00 s" "$T/variant.out"'
  [ "$fail" = 0 ] || tail -15 "$T/variant.out"
fi
if [ "$fail" != 0 ]; then
  echo "--- run"; tail -25 "$T/run.out"
  echo "--- alertmanager"; tail -5 "$T/alertmanager.log"
fi
ash_exit "$fail"
