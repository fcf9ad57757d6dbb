#!/usr/bin/env bash
# The run's commands can tell their run and run where they belong (issue 15
# item 5): every command the run starts (a `verify` check, an exec probe, an
# exec fault) sees ASH_RUN_ID (= report.json run_id = {run_id}); in sandbox
# mode a verify check with `host:` and an exec probe with `from:` run inside
# that host (its network namespace and its private /etc/hosts).
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
[ "$(id -u)" = 0 ] || ash_skip_all "sandbox hosts need root"
T=$(mktemp -d /tmp/ash-runenv-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# What each command saw: its ASH_RUN_ID and its network namespace.
seen='echo "$ASH_RUN_ID $(readlink /proc/self/ns/net) $(grep -c box /etc/hosts)"'
cat > "$T/env.yaml" <<YAML
version: 1
name: run-env
hosts:
  - name: box
    services:
      - name: idle
        command: [sleep, "60"]
probes:
  - name: in-box
    from: box
    exec: [sh, -c, '$seen > {run_dir}/probe.seen']
    every: 200ms
faults:
  - name: mark
    kind: exec
    inject: [sh, -c, '$seen > {run_dir}/fault.seen']
    revert: ["true"]
    duration: 300ms
verify:
  - name: in-box
    host: box
    command: [sh, -c, '$seen > {run_dir}/verify-box.seen']
  - name: on-harness
    command: [sh, -c, '$seen > {run_dir}/verify-harness.seen']
expect:
  warmup: 400ms
  stable_for: 400ms
  timeout: 10s
YAML
"$ASH" run --state-dir "$T/state" --report-dir "$T/r" "$T/env.yaml" > "$T/run.out" 2>&1
st=$?
check "the run passes (exit $st)" '[ "$st" = 0 ]'
d=$(ls -d "$T/r"/run-env-*/ 2>/dev/null | head -1)
id=$(field "$d/report.json" 'r["runs"][0]["run_id"]')
mine=$(readlink /proc/self/ns/net)
for w in probe fault verify-box verify-harness; do
  read -r rid ns nhosts < "$d/$w.seen" 2>/dev/null
  check "$w: ASH_RUN_ID=${rid:-unset} is the run's id $id" '[ "${rid:-}" = "$id" ]'
  case $w in
    probe | verify-box)
      check "$w: runs inside host box (netns $ns, not the harness's $mine; /etc/hosts names box)" \
        '[ "$ns" != "$mine" ] && [ "$nhosts" -ge 1 ]' ;;
    *)
      check "$w: runs on the harness (netns $ns)" '[ "$ns" = "$mine" ]' ;;
  esac
done
check "report.json says where the check ran" \
  '[ "$(field "$d/report.json" "[v[\"host\"] for v in r[\"runs\"][0][\"verify\"]]")" = "['"'"'box'"'"', None]" ]'

# host: is checked at validation, with its position.
sed 's/    host: box/    host: nobox/' "$T/env.yaml" > "$T/bad.yaml"
out=$("$ASH" validate "$T/bad.yaml" 2>&1); st=$?
check "an unknown verify host is invalid (exit $st): $out" \
  '[ "$st" = 2 ] && echo "$out" | grep -q "bad.yaml:[0-9]*:[0-9]*: no host named '"'"'nobox'"'"'"'
[ "$fail" = 0 ] || tail -20 "$T/run.out"
ash_exit "$fail"
