#!/usr/bin/env bash
# `aftershock plan` and `run --dry-run` (issue 16): the plan of every bundled
# scenario is produced with exit 0 and names every fault and service (names read
# from the YAML by python, not by aftershock); invalid scenarios and bad options
# exit 2, a machine that cannot run it (not root) exits 3 with the reason; a dry
# run makes nothing (no report or state directory); and every kernel object a
# real run of rainbow-network-congestion journals (namespaces, bridge, cgroups,
# nftables tables, qdiscs) appears in the plan rendered with that run's id.
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
for f in "$S"/scenarios/*.yaml; do
  n=$((n + 1))
  base=$(basename "$f" .yaml)
  "$ASH" plan "$f" >"$T/$base.txt" 2>"$T/$base.err"; st=$?
  if [ "$(id -u)" = 0 ]; then
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
check "at least 8 bundled scenarios planned (got $n)" '[ $n -ge 8 ]'

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

# ---- run --dry-run: the same text, nothing made ----
"$ASH" plan --state-dir "$T/state" --report-dir "$T/reports" "$S/scenarios/rainbow-network-congestion.yaml" \
  >"$T/plan.txt" 2>&1
"$ASH" run --dry-run --state-dir "$T/state" --report-dir "$T/reports" \
  "$S/scenarios/rainbow-network-congestion.yaml" >"$T/dry.txt" 2>&1; st=$?
check "run --dry-run exits like plan (got $st)" '[ $st = 0 ] || { [ $st = 3 ] && [ "$(id -u)" != 0 ]; }'
check "run --dry-run prints the plan" 'cmp -s "$T/plan.txt" "$T/dry.txt"'
check "run --dry-run made no report or state directory" '[ ! -e "$T/reports" ] && [ ! -e "$T/state" ]'

# ---- the plan names every kernel object a real run journals ----
if why=$(machine_lacks "${ASH_SANDBOX_FEATURES[@]}" nftables "qdisc tbf"); then
  ash_skip "kernel objects of a real run against its plan: $why"
  if [ $fail != 0 ]; then exit 1; fi
  ash_exit 0
fi
mkdir -p "$T/state" && chmod 700 "$T/state"
"$ASH" run --no-guardian --quiet --state-dir "$T/state" --report-dir "$T/reports" \
  "$S/scenarios/rainbow-network-congestion.yaml" >"$T/run.out" 2>&1 &
runpid=$!
# The journal is removed once everything is undone: copy it while the run is alive
# (records are appended, so the last copy holds every record made until then).
while kill -0 "$runpid" 2>/dev/null; do
  for j in "$T"/state/*.journal; do
    [ -e "$j" ] && cp "$j" "$T/journal.tmp" 2>/dev/null && mv "$T/journal.tmp" "$T/journal.copy"
  done
  sleep 0.05
done
wait "$runpid"; st=$?
runpid=
check "the real run ran (exit $st, 0 or 1: $(tail -c 300 "$T/run.out"))" '[ $st = 0 ] || [ $st = 1 ]'
rep=$(ls -d "$T"/reports/rainbow-network-congestion-*/ 2>/dev/null | head -1)
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["run_id"])' "$rep/report.json" 2>/dev/null)
check "run id from report.json ($id)" '[ -n "$id" ]'
"$ASH" plan --run-id "$id" --state-dir "$T/state" --format json "$S/scenarios/rainbow-network-congestion.yaml" \
  >"$T/plan.json" 2>"$T/plan.err"; st=$?
check "plan --run-id $id --format json: exit 0 (got $st)" '[ $st = 0 ]'
out=$(python3 - "$T/journal.copy" "$T/plan.json" <<'PY'
import json, sys
recs = []
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue  # a line being written when it was copied
    if "op" in r:
        recs.append(r)
plan = json.load(open(sys.argv[2]))
text = json.dumps(plan)
objs = [o for f in plan["faults"] for o in f.get("objects", [])]
bad, seen = [], {}
def need(cond, what):
    if not cond:
        bad.append(what)
for r in recs:
    op, d = r["op"], r.get("data") or {}
    seen[op] = seen.get(op, 0) + 1
    need(op in plan["journal"]["records"], "journal op %s not in the plan's records" % op)
    if op == "sandbox.netns":
        for ns in d["netns"] if isinstance(d["netns"], list) else [d["netns"]]:
            need(any(h["netns"] == ns for h in plan["sandbox"]["hosts"]), "netns " + ns)
        need(all(h["veth"].startswith(d["veth_prefix"]) for h in plan["sandbox"]["hosts"]), "veth prefix")
    elif op == "sandbox.cgroup":
        for cg in d.get("cgroups", [d]):
            for k in ("v2", "memory", "cpu", "freezer"):
                if cg.get(k):
                    need('"%s"' % cg[k] in text, "cgroup " + cg[k])
    elif op == "sandbox.link":
        need(plan["sandbox"]["bridge"] == d["bridge"], "bridge " + d["bridge"])
    elif op == "sandbox.fw":
        need(plan["sandbox"]["egress_guard_nft_table"] == d["table"], "egress guard table " + d["table"])
    elif op == "sandbox.files":
        need(plan["sandbox"]["files"].endswith("/" + d["dir"].rsplit("/", 1)[1]), "files " + d["dir"])
    elif op == "network.qdisc":
        need(any(o["type"] == "qdisc" and o["name"] == d["ifname"] and o["where"] == (d["netns"] or "root")
                 for o in objs), "qdisc %s in %s" % (d["ifname"], d["netns"] or "root"))
    elif op == "network.nft":
        need(any(o["type"] == "nft-table" and o["name"] == "inet " + d["table"] and o["where"] == d["netns"]
                 for o in objs), "nft table %s in %s" % (d["table"], d["netns"]))
    elif op in ("network.offload", "network.relay-link", "network.proc"):
        need(any(o.get("journal") == op for o in objs), op)
for op, least in (("sandbox.netns", 1), ("sandbox.cgroup", 2), ("network.qdisc", 2), ("network.nft", 2),
                  ("network.proc", 2)):
    need(seen.get(op, 0) >= least, "the journal copy has %d %s records, expected at least %d" %
         (seen.get(op, 0), op, least))
print("; ".join(bad) if bad else "ok %d records" % len(recs))
PY
)
check "every kernel object the run journaled is in its plan ($out)" '[ "${out#ok }" != "$out" ]'

if [ $fail != 0 ]; then exit 1; fi
ash_exit 0
