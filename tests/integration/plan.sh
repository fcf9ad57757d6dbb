#!/usr/bin/env bash
# `aftershock plan` and `run --dry-run` (issue 16): the plan of every bundled
# scenario (scenarios/*.yaml and scenarios/prometheus/*.yaml) is produced with
# exit 0 and names every fault and service (names read from the YAML by
# python, not by aftershock); invalid scenarios and bad options exit 2, a
# machine that cannot run it (not root) exits 3 with the reason; a dry run
# makes nothing (no report or state directory); a revert_limit is said as what
# the revert does. Then every bundled scenario is run for real (the prometheus/
# ones where Debian's prometheus, prometheus-alertmanager and
# prometheus-blackbox-exporter are installed; each takes seconds, all of them
# about 3 minutes) with its journal kept (a hard link made while the run lives:
# the run only appends to it, then removes its name), and every object the run
# journaled (namespaces, bridge, veths, cgroups, nftables tables, qdiscs, cgroup
# files, processes it starts: balloons, lock holders, cross traffic; the
# sandbox's files) and every service it started appears in the plan rendered
# with that run's id and report directory.
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:?}
ASH=$B/aftershock
. "$S/tests/integration/lib/skip.sh"
. "$S/tests/integration/lib/machine.sh"
T=$(mktemp -d /tmp/ash-plan-XXXXXX)
chmod 755 "$T"
fail=0
runpid=
cleanup() {
  [ -n "$runpid" ] && kill "$runpid" 2>/dev/null && wait "$runpid" 2>/dev/null
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# ---- every bundled scenario ----
n=0
# scenarios/prometheus/: a real monitoring stack from Debian's packages.
prom=no
command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null &&
  command -v prometheus-blackbox-exporter >/dev/null && prom=yes
for f in "$S"/scenarios/*.yaml "$S"/scenarios/prometheus/*.yaml; do
  n=$((n + 1))
  base=$(basename "$f" .yaml)
  "$ASH" plan "$f" >"$T/$base.txt" 2>"$T/$base.err"; st=$?
  if [ "$(id -u)" = 0 ] && { [ "${f%/prometheus/*}" = "$f" ] || [ $prom = yes ]; }; then
    check "$base: plan exits 0 (got $st: $(head -c 300 "$T/$base.err"))" '[ $st = 0 ]'
  else
    check "$base: plan exits 0 or 3 when not root (got $st)" '[ $st = 0 ] || [ $st = 3 ]'
  fi
  "$ASH" plan --format json "$f" >"$T/$base.json" 2>/dev/null
  missing=$(python3 - "$f" "$T/$base.txt" "$T/$base.json" <<'PY'
import json, sys, yaml
sc = yaml.safe_load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
plan = json.load(open(sys.argv[3]))
want_f = [f["name"] for f in sc.get("faults") or []]
want_s = [s["name"] for s in sc.get("services") or []]
for h in sc.get("hosts") or []:
    want_s += [s["name"] for s in h.get("services") or []]
bad = []
got_f = [f["name"] for f in plan["faults"]]
got_s = [s["name"] for s in plan["services"]]
for name in want_f:
    if name not in got_f or ("%s (" % name) not in text:
        bad.append("fault " + name)
for name in want_s:
    if name not in got_s or ("     %s " % name) not in text:
        bad.append("service " + name)
for f in plan["faults"]:
    if not f.get("mechanism"):
        bad.append("fault %s without a mechanism" % f["name"])
if sorted(got_f) != sorted(want_f) or sorted(got_s) != sorted(want_s):
    bad.append("extra names: %s %s" % (got_f, got_s))
print(" ".join(bad))
PY
)
  check "$base: names every fault and service, each fault with its mechanism ($missing)" '[ -z "$missing" ]'
done
check "at least 12 bundled scenarios planned, prometheus/ included (got $n)" '[ $n -ge 12 ]'

# ---- the plan says what the revert does: revert_limit, not the old value ----
# askcody-memory-exhaustion's fix raises each VM's limit to revert_limit (160MiB).
ac=$T/askcody-memory-exhaustion
check "askcody: the plan text says the revert sets revert_limit 160 MiB, twice" \
  '[ "$(grep -c "set to revert_limit 167772160 bytes (160.0 MiB) on revert (not the old value)" "$ac.txt")" = 2 ]'
check "askcody: no limit file is said to get its old value back" \
  '! grep -q "limit_in_bytes (root): .*(the old value restored on revert)\|memory.max (root): .*(the old value restored on revert)" "$ac.txt"'
rl=$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
print(sum(1 for f in p["faults"] for o in f["objects"] if o["type"] == "cgroup-file"
          and o["name"].endswith(("memory.max", "limit_in_bytes")) and "raised to revert_limit 167772160" in o["detail"]))
' "$ac.json" 2>&1)
check "askcody: the JSON plan's limit objects say revert_limit (got $rl)" '[ "$rl" = 2 ]'

# ---- exit statuses ----
inv=$(ls "$S"/tests/fixtures/scenarios/invalid/*.yaml | head -1)
"$ASH" plan "$inv" >/dev/null 2>"$T/inv.err"; st=$?
check "invalid scenario: exit 2 (got $st)" '[ $st = 2 ]'
check "invalid scenario: file:line:column message" 'grep -q "$(basename "$inv"):[0-9]*:[0-9]*:" "$T/inv.err"'
"$ASH" plan --format yaml "$S/scenarios/telephony-table-lock.yaml" >/dev/null 2>&1; st=$?
check "--format yaml: exit 2 (got $st)" '[ $st = 2 ]'
"$ASH" plan --run-id 'a/b' "$S/scenarios/telephony-table-lock.yaml" >/dev/null 2>&1; st=$?
check "--run-id a/b: exit 2 (got $st)" '[ $st = 2 ]'
"$ASH" plan >/dev/null 2>&1; st=$?
check "no scenario: exit 2 (got $st)" '[ $st = 2 ]'
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  cp "$S/scenarios/telephony-table-lock.yaml" "$T/tl.yaml" && chmod 644 "$T/tl.yaml"
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$ASH" plan --state-dir "$T/nostate" "$T/tl.yaml" \
    >"$T/nobody.txt" 2>&1; st=$?
  check "sandbox scenario as nobody: exit 3 (got $st)" '[ $st = 3 ]'
  check "... the plan is still printed, with the reason" \
    'grep -q "^6. inject 1 fault" "$T/nobody.txt" && grep -q "sandbox hosts need root" "$T/nobody.txt"'
else
  ash_skip "exit 3 as an unprivileged user: needs root and a user nobody"
fi

# ---- targets outside a sandbox: each kind describes the target's own cgroup ----
# (memory-exhaustion on anything but a host or a service was a segfault, and
# host-crash on a container, process or cgroup was described as a sandbox host)
sleep 120 &
victim=$!
cat >"$T/outside.yaml" <<EOF
version: 1
name: plan-outside
probes: [{name: web, http: "http://127.0.0.1:9/"}]
faults:
  - {name: squeeze, kind: memory-exhaustion, target: "process:pid=$victim", limit: 1GiB, swap: off, at: 1s, duration: 2s}
  - {name: hang, kind: host-crash, mode: freeze, target: "process:pid=$victim", at: 1s, duration: 2s}
  - {name: die, kind: host-crash, mode: kill, target: "container:web", at: 1s, duration: 2s}
EOF
for fmt in text json; do
  "$ASH" plan --format $fmt "$T/outside.yaml" >"$T/outside.$fmt" 2>"$T/outside.$fmt.err"; st=$?
  check "process and container targets: plan --format $fmt exits 0 or 3, not a crash (got $st)" '[ $st = 0 ] || [ $st = 3 ]'
done
check "... memory-exhaustion names the process's own cgroup, not a host's or a service's" \
  'grep -q "process pid=$victim.s own cgroup" "$T/outside.text" && ! grep -q "moved into cgroup" "$T/outside.text"'
check "... host-crash freezes the process's cgroup and kills the container's, no host links" \
  'grep -q "freeze: process pid=$victim hangs" "$T/outside.text" &&
   grep -q "kill: every process of container web dies" "$T/outside.text" && ! grep -q "links down" "$T/outside.text"'
check "... the JSON plan parses" 'python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/outside.json"'
kill "$victim" 2>/dev/null
wait "$victim" 2>/dev/null

# ---- run --dry-run: the same text, nothing made ----
"$ASH" plan --state-dir "$T/state" --report-dir "$T/reports" "$S/scenarios/rainbow-network-congestion.yaml" \
  >"$T/plan.txt" 2>&1
"$ASH" run --dry-run --state-dir "$T/state" --report-dir "$T/reports" \
  "$S/scenarios/rainbow-network-congestion.yaml" >"$T/dry.txt" 2>&1; st=$?
check "run --dry-run exits like plan (got $st)" '[ $st = 0 ] || { [ $st = 3 ] && [ "$(id -u)" != 0 ]; }'
check "run --dry-run prints the plan" 'cmp -s "$T/plan.txt" "$T/dry.txt"'
check "run --dry-run made no report or state directory" '[ ! -e "$T/reports" ] && [ ! -e "$T/state" ]'

# ---- every object a real run journals is in its plan: every bundled scenario ----
mkdir -p "$T/state" "$T/keep" && chmod 700 "$T/state"
cat >"$T/compare.py" <<'PY'
# compare.py JOURNAL PLAN.json REPORT.json RUN_DIR: what the run journaled and started, against its plan.
import json, os, re, sys
recs = []
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue  # a line being written when the run was killed
    if "op" in r:
        recs.append(r)
plan = json.load(open(sys.argv[2]))
report = json.load(open(sys.argv[3]))
run_dir = sys.argv[4].rstrip("/")
# The plan names the run directory <report dir>/<scenario>-<UTC stamp>: this run's stamp.
stamp = re.search(r"-(\d{8}T\d{6}Z)$", run_dir).group(1)
text = json.dumps(plan).replace("<UTC stamp>", stamp)
plan = json.loads(text)
run_id = plan["run_id"]
objs = [o for f in plan["faults"] for o in f.get("objects", [])]
sb = plan.get("sandbox") or {}
hosts = sb.get("hosts") or []
bad, seen = [], {}
def need(cond, what):
    if not cond:
        bad.append(what)
def strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from strings(v)
counted = {}  # journal op -> records of it; each needs one plan object with that op
for r in recs:
    op, d = r["op"], r.get("data") or {}
    seen[op] = seen.get(op, 0) + 1
    need(op in plan["journal"]["records"], "journal op %s not in the plan's records" % op)
    # Whatever the op: every name of this run (ash-<id>..., ash<id>v..., paths under the
    # run directory) the record holds is in the plan's text.
    for v in strings(d):
        if (run_id in v and re.search(r"ash-?" + run_id, v)) or v.startswith(run_dir + "/"):
            need(v in text or any(v == h["veth"] for h in hosts), "%s: %s not in the plan" % (op, v))
    if op == "sandbox.netns":
        for ns in d["netns"] if isinstance(d["netns"], list) else [d["netns"]]:
            need(any(h["netns"] == ns for h in hosts), "netns " + ns)
        need(all(h["veth"].startswith(d["veth_prefix"]) for h in hosts), "veth prefix")
    elif op == "sandbox.cgroup":
        for cg in d.get("cgroups", [d]):
            for k in ("v2", "memory", "cpu", "freezer"):
                if cg.get(k):
                    need('"%s"' % cg[k] in text, "cgroup " + cg[k])
    elif op == "sandbox.link":
        need(sb.get("bridge") == d["bridge"], "bridge " + d["bridge"])
    elif op == "sandbox.hub":
        need(sb.get("hub_netns") == d["hub"], "hub namespace " + d["hub"])
        need(sb.get("gateway_link") == d["link"], "gateway link " + d["link"])
        need(sb.get("bridge") == d["bridge"], "bridge " + d["bridge"])
    elif op == "sandbox.fw":
        need(sb.get("egress_guard_nft_table") == d["table"], "egress guard table " + d["table"])
    elif op == "sandbox.files":
        need(os.path.normpath(sb.get("files", "")) == os.path.normpath(d["dir"]) or
             (not sb.get("files", "/").startswith("/") and d["dir"].endswith("/" + sb["files"])),
             "files %s (plan: %s)" % (d["dir"], sb.get("files")))
    elif op == "env.processes":
        need(d.get("env") == "ASH_RUN_ID=" + run_id, "env.processes marks %s, the plan's run is %s" % (d.get("env"), run_id))
    elif op == "network.qdisc":
        need(any(o["type"] == "qdisc" and o["name"] == d["ifname"] and o["where"] == (d["netns"] or "root")
                 for o in objs), "qdisc %s in %s" % (d["ifname"], d["netns"] or "root"))
    elif op == "network.nft":
        need(any(o["type"] == "nft-table" and o["name"] == "inet " + d["table"] and o["where"] == d["netns"]
                 for o in objs), "nft table %s in %s" % (d["table"], d["netns"]))
    elif op == "memory.restore":
        need(any(o["type"] == "cgroup-file" and o["name"] == d["file"] and o.get("journal") == op for o in objs),
             "cgroup file %s" % d["file"])
    elif op == "lock.holder":
        need(any(o.get("journal") == op and d["target"] in o["detail"] for o in objs),
             "lock holder on %s" % d["target"])
        counted[op] = counted.get(op, 0) + 1
    elif op in ("network.offload", "network.relay-link", "network.proc", "memory.balloon", "memory.own-cgroup"):
        counted[op] = counted.get(op, 0) + 1  # processes and links made per fault: one plan object each
    else:
        bad.append("journal op %s: this test does not know where the plan names it (teach compare.py)" % op)
for op, n in counted.items():
    have = sum(1 for o in objs if o.get("journal") == op)
    need(have >= n, "%d %s records, the plan names %d" % (n, op, have))
# The processes the run started: every service is in the plan, on its host.
svcs = {s["name"]: s for s in plan["services"]}
started = {e["detail"].split(" pid ")[0] for run in report["runs"] for e in run["timeline"]
           if e["event"] == "service-started"}
for name in sorted(started):
    need(name in svcs, "service %s started, not in the plan" % name)
print("; ".join(bad) if bad else "ok %d records (%s)" % (len(recs), ", ".join("%s %d" % kv for kv in sorted(seen.items()))))
PY
real=0
for f in "$S"/scenarios/*.yaml "$S"/scenarios/prometheus/*.yaml; do
  base=$(basename "$f" .yaml)
  if [ "${f%/prometheus/*}" != "$f" ] && [ $prom = no ]; then
    ash_skip "$base against its plan: needs prometheus, prometheus-alertmanager and prometheus-blackbox-exporter"
    continue
  fi
  mapfile -t feats < <(scenario_needs "$f")
  if why=$(machine_lacks "${feats[@]}"); then
    ash_skip "$base against its plan: $why"
    continue
  fi
  real=$((real + 1))
  rm -f "$T"/keep/*
  "$ASH" run --no-guardian --quiet --state-dir "$T/state" --report-dir "$T/reports" "$f" >"$T/run.out" 2>&1 &
  runpid=$!
  # The run removes its journal once everything is undone: a hard link made while it
  # lives keeps the file (only appended to during a run), every record in it.
  while kill -0 "$runpid" 2>/dev/null; do
    for j in "$T"/state/*.journal; do
      [ -e "$j" ] && [ ! -e "$T/keep/${j##*/}" ] && ln "$j" "$T/keep/${j##*/}" 2>/dev/null
    done
    sleep 0.01
  done
  wait "$runpid"; st=$?
  runpid=
  check "$base: the real run ran (exit $st, 0 or 1: $(tail -c 300 "$T/run.out"))" '[ $st = 0 ] || [ $st = 1 ]'
  rep=$(ls -d "$T/reports/$base"-2*/ 2>/dev/null | tail -1)
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["run_id"])' "$rep/report.json" 2>/dev/null)
  check "$base: run id from report.json ($id) and its journal kept" '[ -n "$id" ] && [ -s "$T/keep/$id.journal" ]'
  "$ASH" plan --run-id "$id" --state-dir "$T/state" --report-dir "$T/reports" --format json "$f" \
    >"$T/plan.json" 2>"$T/plan.err"; st=$?
  check "$base: plan --run-id $id --format json: exit 0 (got $st)" '[ $st = 0 ]'
  out=$(python3 "$T/compare.py" "$T/keep/$id.journal" "$T/plan.json" "$rep/report.json" "$rep" 2>&1)
  check "$base: every object the run journaled and every service it started is in its plan ($out)" \
    '[ "${out#ok }" != "$out" ]'
  rm -rf "$T/reports"
done
if [ "$(id -u)" = 0 ]; then
  mapfile -t all_feats < <(for f in "$S"/scenarios/*.yaml; do scenario_needs "$f"; done | sort -u)
  machine_lacks "${all_feats[@]}" >/dev/null ||
    check "this machine has all they need: every scenarios/*.yaml ran against its plan (ran $real)" \
      '[ $real -ge $(ls "$S"/scenarios/*.yaml | wc -l) ]'
fi

if [ $fail != 0 ]; then exit 1; fi
ash_exit 0
