#!/usr/bin/env bash
# `aftershock run --annotate grafana=URL` (issue 16): against a Grafana stand-in on
# loopback (a python3 http.server the test starts, recording every request), each
# annotation is a POST to URL/api/annotations with Content-Type application/json and
# `Authorization: Bearer $GRAFANA_TOKEN`, a body with time (and timeEnd for a fault
# window) in epoch ms equal to the run's wall_start_ms + the report's own t_ms, tags
# aftershock, scenario:NAME, run:ID, variant:as-it-was and the kind, and text; one per
# fault, detection and recovery. A server answering 500, and a port nobody listens on,
# give a warning in report.json and on stderr and the run still passes (quickly). Bad
# --annotate values exit 2 before anything runs.
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-annotate-XXXXXX)
fail=0
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  wait 2>/dev/null
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
. "$S/tests/integration/lib/skip.sh"
command -v python3 >/dev/null || ash_skip_all "python3 is missing (the Grafana stand-in)"

cat >"$T/grafana.py" <<'PY'
# A Grafana stand-in: records each request (method, path, headers, body) as a JSON line;
# answers like Grafana's POST /api/annotations, or with the status given.
import http.server, json, sys
log, status, portfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(log, "a") as f:
            f.write(json.dumps({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                "body": body.decode("utf-8", "replace")}) + "\n")
        out = json.dumps({"message": "Annotation added", "id": 1} if status == 200 else {"message": "db locked"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
serve() { # $1 status: starts the stand-in, its port in $port
  rm -f "$T/port"
  python3 "$T/grafana.py" "$T/requests.jsonl" "$1" "$T/port" &
  srv=$!
  for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
  port=$(cat "$T/port")
}
stop() { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=; }

cat >"$T/annotated.yaml" <<YAML
version: 1
name: annotated
probes:
  - name: health
    exec: ["test", "-e", "$T/healthy"]
    every: 20ms
detectors:
  - name: probes-broke
    probes: { consecutive_failures: 2 }
faults:
  - name: harm
    kind: exec
    inject: ["rm", "-f", "$T/healthy"]
    revert: ["touch", "$T/healthy"]
    at: 100ms
    duration: 400ms
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 10s
YAML
run() { # $@ extra options; exit status in $st
  touch "$T/healthy"
  GRAFANA_TOKEN=s3cret-token "$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/reports/$name" "$@" \
    "$T/annotated.yaml" >"$T/$name.out" 2>"$T/$name.err"
  st=$?
  d=$(ls -d "$T/reports/$name"/annotated-*/ 2>/dev/null | head -1)
}

# ---- a Grafana that answers ----
serve 200
name=ok
run --annotate "grafana=http://127.0.0.1:$port/grafana/"
stop
check "the run passed (exit $st: $(head -c 300 "$T/ok.err"))" '[ $st = 0 ]'
check "annotations posted" '[ -s "$T/requests.jsonl" ]'
python3 - "$d/report.json" "$T/requests.jsonl" <<'PY' >"$T/shape.txt" 2>&1
import json, sys
rep = json.load(open(sys.argv[1]))
reqs = [json.loads(l) for l in open(sys.argv[2])]
run = rep["runs"][0]
w0 = run["wall_start_ms"]
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
for r in reqs:
    h = {k.lower(): v for k, v in r["headers"].items()}
    want(r["path"] == "/grafana/api/annotations", "path %s" % r["path"])
    want(h.get("authorization") == "Bearer s3cret-token", "authorization %r" % h.get("authorization"))
    want(h.get("content-type") == "application/json", "content-type %r" % h.get("content-type"))
bodies = [json.loads(r["body"]) for r in reqs]
for b in bodies:
    want(isinstance(b.get("time"), int) and b["time"] > 1.5e12, "time is epoch ms: %r" % b.get("time"))
    want(isinstance(b.get("text"), str) and b["text"], "text")
    t = b.get("tags")
    want(isinstance(t, list) and all(isinstance(x, str) for x in t), "tags are strings")
    want({"aftershock", "scenario:annotated", "run:" + run["run_id"], "variant:as-it-was"} <= set(t), "tags %r" % t)
    want("timeEnd" not in b or (isinstance(b["timeEnd"], int) and b["timeEnd"] >= b["time"]), "timeEnd")
kind = lambda k: [b for b in bodies if k in b["tags"]]
near = lambda a, b: abs(a - b) <= 1
f, fr = kind("fault"), run["faults"][0]
want(len(f) == 1 and near(f[0]["time"], w0 + fr["injected_ms"]) and near(f[0]["timeEnd"], w0 + fr["reverted_ms"]),
     "fault window %r vs injected %s reverted %s" % (f, w0 + fr["injected_ms"], w0 + fr["reverted_ms"]))
d = kind("detection")
want(len(d) == len(run["detections"]) >= 1 and near(d[0]["time"], w0 + run["detections"][0]["at_ms"]), "detection %r" % d)
rc = kind("recovery")
want(len(rc) == 1 and near(rc[0]["time"], w0 + run["t_inject_ms"] + run["ttr_ms"]), "recovery %r" % rc)
want(len(bodies) == 3, "3 annotations, got %d" % len(bodies))
g = rep.get("annotations", {}).get("grafana", {})
want(g.get("posted") == 3 and g.get("failed") == 0 and g.get("warnings") == [] and g.get("token") is True, "report %r" % g)
# The wall anchor agrees with the report's own started_at (taken just before the run).
import datetime
sa = datetime.datetime.strptime(rep["started_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
want(0 <= w0 - sa.timestamp() * 1000 < 5000, "wall_start_ms %s vs started_at %s" % (w0, rep["started_at"]))
print("\n".join(bad) if bad else "shape ok")
PY
check "payload shape, header, times against report.json ($(tr '\n' ';' <"$T/shape.txt"))" 'grep -qx "shape ok" "$T/shape.txt"'
check "the token is not written into the report" '! grep -rq s3cret-token "$d"'

# ---- a Grafana answering 500 ----
rm -f "$T/requests.jsonl"
serve 500
name=e500
run --annotate "grafana=http://127.0.0.1:$port"
stop
check "500: the run still passes (exit $st)" '[ $st = 0 ]'
check "500: a warning on stderr" 'grep -q "warning: annotation .* not posted .*HTTP 500" "$T/e500.err"'
check "500: the warning and counts in report.json" \
  'python3 -c "import json,sys; g=json.load(open(sys.argv[1]))[\"annotations\"][\"grafana\"]; sys.exit(0 if g[\"failed\"]==3 and g[\"posted\"]==0 and \"HTTP 500\" in g[\"warnings\"][0] else 1)" "$d/report.json"'
check "500: the warning in report.md too" 'grep -q "HTTP 500" "$d/report.md"'

# ---- nobody listening ----
free=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
name=refused
start=$(date +%s%N)
run --annotate "grafana=http://127.0.0.1:$free"
took=$((($(date +%s%N) - start) / 1000000))
check "refused: the run still passes (exit $st)" '[ $st = 0 ]'
check "refused: warned, the rest not tried" \
  'grep -q "not posted" "$T/refused.err" && grep -q "not tried" "$T/refused.err"'
check "refused: report.json says so" \
  'python3 -c "import json,sys; g=json.load(open(sys.argv[1]))[\"annotations\"][\"grafana\"]; sys.exit(0 if g[\"failed\"]==3 else 1)" "$d/report.json"'
check "refused: no long wait (whole run ${took} ms)" '[ "$took" -lt 8000 ]'

# ---- bad values: exit 2, nothing runs ----
for bad in "foo" "grafana=" "grafana=ftp://x" "prometheus=http://x" "grafana=http://" "grafana=http://a b"; do
  "$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/reports/bad" --annotate "$bad" "$T/annotated.yaml" \
    >/dev/null 2>"$T/bad.err"
  st=$?
  check "--annotate '$bad': exit 2 with what is expected (got $st: $(head -c 200 "$T/bad.err"))" \
    '[ $st = 2 ] && grep -q "needs grafana=URL" "$T/bad.err" && [ ! -e "$T/reports/bad" ]'
done

exit $fail
