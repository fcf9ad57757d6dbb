#!/usr/bin/env bash
# The run's preflight on container targets, against a PRIVATE Docker engine
# (lib/dockerd.sh, an --internal network): `plan` runs the same target preflight as
# `run` (a missing container, a missing engine socket: exit 3, each named); what each
# fault needs of its container (sch_netem for a delay, an eth0 for a qdisc, a resolver
# for a dns fault to forward to) is checked
# for every fault before the first is injected (exit 3, nothing placed, the earlier
# SIGSTOP never sent); `validate --resolve` names every missing target, not only the
# first, and prints what each target resolved to; the terminal, report.json and
# report.md name the container a label chose (each one of all: true); a container is
# planned and journaled as a container, not a service; and the errors say what to do
# (running containers listed with the nearest name; a bare name that is a container).
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
why=$(dockerd_lacks) && ash_skip_all "$why"
T=$(mktemp -d /tmp/ash-pf-XXXXXX)
fail=0
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null; done
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  dockerd_stop
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
waitfor() { local i; for i in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }

dockerd_start "$T/d" >"$T/why" || { echo "FAIL $(cat "$T/why")"; exit 1; }
dockerd_image ash-busybox || { echo "FAIL cannot import the busybox image"; exit 1; }
dk network create --internal ash-pf-net >/dev/null
dk run -d --name nu-web --network ash-pf-net --label app=web ash-busybox sleep 1000 >/dev/null
for c in pa pb; do dk run -d --name $c --network ash-pf-net --label tier=pair ash-busybox sleep 1000 >/dev/null; done
dk run -d --name nonet --network none ash-busybox sleep 1000 >/dev/null
dk run -d --name nores --network ash-pf-net ash-busybox sleep 1000 >/dev/null
dk exec nores sh -c ': >/etc/resolv.conf' # no nameserver a dns fault could forward to
check "private engine runs five containers" '[ "$(dk ps -q | wc -l)" = 5 ]'
state() { dk inspect -f '{{.State.Status}}' "$1"; }
# Stopped (SIGSTOP) shows in /proc as state T.
stopped() { grep -q '^State:.*T' "/proc/$(dk inspect -f '{{.State.Pid}}' "$1")/status"; }
short() { dk inspect -f '{{.Id}}' "$1" | cut -c1-12; }

hdr() {
  cat <<YAML
version: 1
name: $1
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
expect:
  warmup: 200ms
  timeout: 60s
faults:
YAML
}
stop_fault() { # NAME TARGET AT [DURATION]
  printf '  - name: %s\n    kind: process\n    action: stop\n    target: %s\n    at: %s\n    duration: %s\n' \
    "$1" "$2" "$3" "${4:-1s}"
}
plan() { "$ASH" plan --state-dir "$T/state" --report-dir "$T/r" "$@"; }
run() { "$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$@"; }

# -- 1. plan runs the target preflight: a missing container, a missing engine socket.
{ hdr p-missing; stop_fault f container:nu-wbe 0s; } >"$T/p-missing.yaml"
plan "$T/p-missing.yaml" >"$T/p1.out" 2>&1; rc=$?
check "plan: a missing container is exit 3 (not 'can run it')" '[ $rc = 3 ]'
check "plan names it with file:line:col" 'grep -q "p-missing.yaml:[0-9]*:[0-9]*: fault .f.: no container named .nu-wbe." "$T/p1.out"'
check "plan does not say the machine can run it" '! grep -q "this machine can run it" "$T/p1.out"'
sed 's|runtime: .*||' "$T/p-missing.yaml" >"$T/p-nosock.yaml"
sed -i 's|container:nu-wbe|container:nu-web|' "$T/p-nosock.yaml"
DOCKER_HOST=unix:///tmp/nosuch.sock "$ASH" plan --state-dir "$T/state" "$T/p-nosock.yaml" >"$T/p2.out" 2>&1; rc=$?
check "plan: a nonexistent engine socket is exit 3" '[ $rc = 3 ]'
check "plan names the socket" 'grep -q "/tmp/nosuch.sock" "$T/p2.out"'
plan --format json "$T/p-missing.yaml" >"$T/p1.json" 2>/dev/null
check "plan json: environment.ok false with the problem" \
  'python3 -c "import json,sys; e=json.load(open(sys.argv[1]))[\"environment\"]; sys.exit(0 if not e[\"ok\"] and any(\"nu-wbe\" in p for p in e[\"problems\"]) else 1)" "$T/p1.json"'

# -- 2. what each fault needs, for EVERY fault before the first: no eth0 (--network none)
#       for a bandwidth cap; sch_netem for a delay (when this kernel lacks it).
{ hdr nonet; stop_fault stop-web container:nu-web 0s 3s
  printf '  - name: cap\n    kind: network\n    target: container:nonet\n    bandwidth: 1mbit\n    direction: egress\n    at: 1s\n    duration: 1s\n'
} >"$T/nonet.yaml"
"$ASH" validate --resolve "$T/nonet.yaml" >"$T/v2.out" 2>&1; rc=$?
check "validate --resolve: a bandwidth cap on a --network none container is exit 3" '[ $rc = 3 ]'
check "  naming its missing eth0 at the fault's target" \
  'grep -q "nonet.yaml:[0-9]*:[0-9]*: fault .cap.: container .nonet. has no eth0" "$T/v2.out"'
plan "$T/nonet.yaml" >"$T/p3.out" 2>&1; rc=$?
check "plan: the same, exit 3" '[ $rc = 3 ] && grep -q "has no eth0" "$T/p3.out"'
run "$T/nonet.yaml" >"$T/r2.out" 2>&1; rc=$?
check "run: exit 3 before anything starts" '[ $rc = 3 ] && grep -q "has no eth0" "$T/r2.out"'
check "  the earlier SIGSTOP was never sent (nothing injected)" '! grep -q "fault-injected" "$T/r2.out" && ! stopped nu-web'
check "  no journal left" '[ -z "$(ls "$T"/state/*.journal 2>/dev/null)" ]'
{ hdr nores; stop_fault stop-web container:nu-web 0s 3s
  printf '  - name: nx\n    kind: dns\n    target: container:nores\n    names: [db]\n    answer: nxdomain\n    at: 1s\n    duration: 1s\n'
} >"$T/nores.yaml"
"$ASH" validate --resolve "$T/nores.yaml" >"$T/v8.out" 2>&1; rc=$?
check "validate --resolve: a dns fault on a container whose resolv.conf names no nameserver is exit 3" \
  '[ $rc = 3 ] && grep -q "nores.yaml:[0-9]*:[0-9]*: fault .nx.: .*names no IPv4 nameserver" "$T/v8.out"'
run "$T/nores.yaml" >"$T/r8.out" 2>&1; rc=$?
check "run: exit 3, the earlier SIGSTOP never sent" \
  '[ $rc = 3 ] && grep -q "names no IPv4 nameserver" "$T/r8.out" && ! grep -q "fault-injected" "$T/r8.out" && ! stopped nu-web'
# A root qdisc of the container's own (it would be lost on revert), a peer that is not there.
{ hdr ownq; stop_fault stop-web container:nu-web 0s 3s
  printf '  - name: cap\n    kind: network\n    target: container:pa\n    bandwidth: 1mbit\n    direction: egress\n    at: 1s\n    duration: 1s\n'
  printf '  - name: cut\n    kind: network\n    target: container:pb\n    partition: true\n    peer: container:ghost\n    at: 1s\n    duration: 1s\n'
} >"$T/ownq.yaml"
if command -v nsenter >/dev/null && command -v tc >/dev/null; then
  nsenter -t "$(dk inspect -f '{{.State.Pid}}' pa)" -n tc qdisc add dev eth0 root pfifo
  run "$T/ownq.yaml" >"$T/r9.out" 2>&1; rc=$?
  check "run: a root qdisc of the container's own and a missing peer, both named, exit 3, nothing injected" \
    '[ $rc = 3 ] && grep -q "fault .cap.: .*already has a root qdisc of its own (pfifo)" "$T/r9.out" &&
     grep -q "fault .cut.: peer container:ghost: no container named .ghost." "$T/r9.out" &&
     ! grep -q "fault-injected" "$T/r9.out" && ! stopped nu-web'
  check "  the container's own qdisc is still there" \
    'nsenter -t "$(dk inspect -f "{{.State.Pid}}" pa)" -n tc qdisc show dev eth0 | grep -q "^qdisc pfifo"'
  nsenter -t "$(dk inspect -f '{{.State.Pid}}' pa)" -n tc qdisc del dev eth0 root
else
  echo "SKIP the root qdisc of its own: needs nsenter and tc to put one there"
fi
{ hdr delay; stop_fault stop-web container:nu-web 0s 3s
  printf '  - name: slow\n    kind: network\n    target: container:nu-web\n    delay: 50ms\n    direction: egress\n    at: 1s\n    duration: 1s\n'
} >"$T/delay.yaml"
if "$ASH" doctor 2>&1 | grep -q 'sch_netem not available'; then
  "$ASH" validate --resolve "$T/delay.yaml" >"$T/v3.out" 2>&1; rc=$?
  check "validate --resolve: a delay without sch_netem is exit 3, saying so" '[ $rc = 3 ] && grep -q "needs sch_netem" "$T/v3.out"'
  plan "$T/delay.yaml" >"$T/p4.out" 2>&1; rc=$?
  check "plan: the same, exit 3" '[ $rc = 3 ] && grep -q "needs sch_netem" "$T/p4.out"'
  run "$T/delay.yaml" >"$T/r3.out" 2>&1; rc=$?
  check "run: exit 3, the earlier SIGSTOP never sent" \
    '[ $rc = 3 ] && grep -q "needs sch_netem" "$T/r3.out" && ! grep -q "fault-injected" "$T/r3.out" && ! stopped nu-web'
else
  echo "SKIP the delay refusal: this kernel has sch_netem (aftershock doctor), so the delay is allowed"
  "$ASH" validate --resolve "$T/delay.yaml" >"$T/v3.out" 2>&1
  check "validate --resolve: a delay with sch_netem is ok" '[ $? = 0 ]'
fi

# -- 3. validate --resolve reports every missing target, each with file:line:col.
{ hdr twomiss; stop_fault a container:nu-wbe 0s; stop_fault b container:gone-too 0s
  printf '  - name: c\n    kind: process\n    action: stop\n    target: {container: {label: "app=nothing"}}\n    at: 0s\n    duration: 1s\n'
} >"$T/twomiss.yaml"
"$ASH" validate --resolve "$T/twomiss.yaml" >"$T/v4.out" 2>&1; rc=$?
check "validate --resolve: exit 3" '[ $rc = 3 ]'
check "  names the first, the second and the label, each at file:line:col" \
  'grep -q "twomiss.yaml:[0-9]*:[0-9]*: fault .a.: no container named .nu-wbe." "$T/v4.out" &&
   grep -q "twomiss.yaml:[0-9]*:[0-9]*: fault .b.: no container named .gone-too." "$T/v4.out" &&
   grep -q "twomiss.yaml:[0-9]*:[0-9]*: fault .c.: no running container has the label app=nothing" "$T/v4.out"'

# -- 4. what a label resolved to: validate --resolve, the terminal, report.json, report.md.
{ hdr label; stop_fault one '{container: {label: "app=web"}}' 0s 500ms
  printf '  - name: each\n    kind: process\n    action: stop\n    target: {container: {label: "tier=pair", all: true}}\n    at: 0s\n    duration: 500ms\n'
} >"$T/label.yaml"
"$ASH" validate --resolve "$T/label.yaml" >"$T/v5.out" 2>&1; rc=$?
check "validate --resolve: ok, and prints what each target resolved to" \
  '[ $rc = 0 ] && grep -q "fault .one.: container nu-web (id $(short nu-web))" "$T/v5.out" &&
   grep -q "fault .each.: container pa (id $(short pa))$" "$T/v5.out" && grep -q "fault .each.: container pb" "$T/v5.out"'
run "$T/label.yaml" >"$T/r4.out" 2>&1; rc=$?
check "run passes" '[ $rc = 0 ]'
check "the terminal names the container a label chose, with its id" \
  'grep -q "one (process) on container nu-web (id $(short nu-web))" "$T/r4.out"'
check "  and each container of all: true (in the engine's order)" \
  'grep "each (process) on container" "$T/r4.out" | grep -q "container pa (id $(short pa))" &&
   grep "each (process) on container" "$T/r4.out" | grep -q "container pb (id $(short pb))"'
rj=$(ls "$T"/r/label-*/report.json | head -1)
check "report.json faults[].targets names them (container, short id)" \
  'python3 - "$rj" "$(short nu-web)" "$(short pa)" <<PY
import json, sys
f = {x["name"]: x for x in json.load(open(sys.argv[1]))["runs"][0]["faults"]}
one, each = f["one"]["targets"], f["each"]["targets"]
assert one == [{"type": "container", "name": "label=app=web", "container": "nu-web", "id": sys.argv[2]}], one
assert sorted(t["container"] for t in each) == ["pa", "pb"], each
assert {t["name"] for t in each} == {"label=tier=pair"} and sys.argv[3] in [t["id"] for t in each], each
PY'
check "report.md's fault table shows it" 'grep -q "| one | process | container nu-web ($(short nu-web)) |" "$(dirname "$rj")/report.md"'
check "report.html's too" 'grep -q "<td>container nu-web ($(short nu-web))</td>" "$(dirname "$rj")/report.html"'
check "plan lists what each target is now" 'plan "$T/label.yaml" | grep -q "target now: fault .one. is container nu-web"'

# -- 5. a container is planned and journaled as a container.
{ hdr asctr; stop_fault f container:nu-web 0s 4s; } >"$T/asctr.yaml"
plan "$T/asctr.yaml" >"$T/p5.out" 2>&1
check "plan: SIGSTOP to container nu-web's init, not to a service" \
  'grep -q "SIGSTOP to container nu-web.s init" "$T/p5.out" && ! grep -q "service nu-web" "$T/p5.out" && ! grep -q "(service)" "$T/p5.out"'
run "$T/asctr.yaml" >"$T/r5.out" 2>&1 &
bg+=($!)
waitfor 'grep -qs proc.sigcont "$T"/state/*.journal'
check "the proc.sigcont record says container nu-web, not service" \
  'grep proc.sigcont "$T"/state/*.journal | grep -q "\"container\":\"nu-web\"" && ! grep proc.sigcont "$T"/state/*.journal | grep -q "\"service\""'
wait "${bg[-1]}"
check "  the run passes and nu-web runs again (continued)" '[ $? = 0 ] && ! stopped nu-web'

# -- 6. errors that say what to do.
{ hdr typo; stop_fault f container:nu-wbe 0s; } >"$T/typo.yaml"
run "$T/typo.yaml" >"$T/r6.out" 2>&1; rc=$?
check "a missing container: the running ones listed, the nearest suggested, no raw API text" \
  '[ $rc = 3 ] && grep -q "no container named .nu-wbe. (running: .*nu-web.*; did you mean .nu-web.?)$" "$T/r6.out" &&
   ! grep -q "404" "$T/r6.out" && ! grep -q "No such process" "$T/r6.out"'
{ hdr bare; stop_fault f nu-web 0s; } >"$T/bare.yaml"
"$ASH" validate "$T/bare.yaml" >"$T/v6.out" 2>&1; rc=$?
check "a bare name that is a running container: exit 2, suggesting container:nu-web" \
  '[ $rc = 2 ] && grep -q "write .container:nu-web." "$T/v6.out"'
sed "s|unix://$DOCKER_SOCK|unix:///tmp/nosuch.sock|" "$T/bare.yaml" >"$T/bare2.yaml"
s=$(date +%s%N); "$ASH" validate "$T/bare2.yaml" >"$T/v7.out" 2>&1; rc=$?; e=$(date +%s%N)
check "  without a reachable engine: no hint, exit 2, at once ($(((e - s) / 1000000)) ms)" \
  '[ $rc = 2 ] && ! grep -q "container:nu-web" "$T/v7.out" && [ $(((e - s) / 1000000)) -lt 1000 ]'

check "nothing stopped at the end" '! stopped nu-web && ! stopped pa && ! stopped pb'
check "no journal left" '[ -z "$(ls "$T"/state/*.journal 2>/dev/null)" ]'
exit $fail
