#!/usr/bin/env bash
# Targets for what already runs (docs/targets.md) against a real, PRIVATE Docker
# engine (lib/dockerd.sh): container resolution by name, id and label (missing and
# ambiguous say why), validate of every target form (bad forms with file:line:col),
# exit 3 without the engine's socket; a process fault stops a container's init,
# host-crash freezes its cgroup, memory-exhaustion limits it and restores the
# engine's own limit; process targets by pidfile and pid; cgroup targets; a SIGKILL
# of the harness mid-fault is undone by `recover` and by the guardian.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
. "$(dirname "$0")/lib/cgroups.sh"
B=${ASH_BUILD_DIR:?}
SRC=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ASH=$B/aftershock
why=$(dockerd_lacks) && ash_skip_all "$why"
T=$(mktemp -d /tmp/ash-tc-XXXXXX) # short: the engine's socket lives under it
fail=0
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  if [ -n "${PCG:-}" ] && [ -d "$PCG" ]; then echo 0 >"$PCG/cgroup.freeze"; sleep 0.2; rmdir "$PCG"; fi
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  dockerd_stop
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# dockerd is installed: failing to start it is a failure, not a skip.
dockerd_start "$T/d" >"$T/why" || { echo "FAIL $(cat "$T/why")"; exit 1; }
dockerd_image ash-busybox || { echo "FAIL cannot import the busybox image"; exit 1; }
netid=$(dk network create --internal ash-tc-net)
dk run -d --name web --network ash-tc-net --label app=web --label role=x ash-busybox sleep 1000 >/dev/null
dk run -d --name web2 --network ash-tc-net --label role=x ash-busybox sleep 1000 >/dev/null
dk run -d --name lim --network ash-tc-net --memory 256m ash-busybox sleep 1000 >/dev/null
check "private engine runs three containers" '[ "$(dk ps -q | wc -l)" = 3 ]'
cpid() { dk inspect -f '{{.State.Pid}}' "$1"; }
cid() { dk inspect -f '{{.Id}}' "$1"; }
pstate() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# scenario NAME TARGET FAULT-LINES [DURATION]: host mode, one exec probe, one fault
# (and the detectors: block in $detect, when set: no line when not, so that the
# refusals' line:column stay where they are).
nl=$'\n'
scenario() {
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
${detect:+$detect$nl}faults:
  - name: f
    target: $2
$3
    at: 0s
    duration: ${4:-3s}
expect:
  warmup: 200ms
  timeout: 90s
YAML
}
run() { "$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/$1.yaml" >"$T/$1.out" 2>&1; }
run_bg() { # NAME [--no-guardian]: in the background, $h is its pid
  "$ASH" run -q "${@:2}" --state-dir "$T/state" --report-dir "$T/r" "$T/$1.yaml" >"$T/$1.out" 2>&1 &
  h=$!; bg+=("$h")
}
waitfor() { local i; for i in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }

# -- doctor: the engine's socket answers (and a missing one is a "no" with the path)
out=$(DOCKER_HOST=unix://$DOCKER_SOCK "$ASH" doctor 2>&1)
check "doctor: container engine yes at the private socket" 'echo "$out" | grep -Eq "^  container engine +yes  $DOCKER_SOCK answers"'
out=$(DOCKER_HOST=unix://$T/none.sock "$ASH" doctor 2>&1)
check "doctor: container engine no, naming the socket" 'echo "$out" | grep -Eq "^  container engine +no   .*$T/none.sock"'

# -- validate: every form, no engine needed
scenario v-name container:web "    kind: process
    action: stop"
scenario v-label '{container: {label: "app=web"}}' "    kind: host-crash
    mode: freeze"
scenario v-short container:label=app=web "    kind: host-crash
    mode: freeze"
scenario v-pid process:pid=4242 "    kind: process
    action: stop"
scenario v-pidfile process:pidfile=/run/x.pid "    kind: process
    action: signal
    signal: SIGHUP"
scenario v-exe process:exe=/usr/sbin/nginx "    kind: memory-exhaustion
    limit: 64MiB"
scenario v-cgroup cgroup:system.slice/foo.service "    kind: host-crash
    mode: freeze"
for v in v-name v-label v-short v-pid v-pidfile v-exe v-cgroup; do
  out=$(DOCKER_HOST=unix:///nonexistent "$ASH" validate "$T/$v.yaml" 2>&1); st=$?
  check "validate $v without an engine" '[ $st = 0 ]'
done
bad() { # NAME TARGET FAULT-LINES WANT(line:col: text)
  local want="$1.yaml:$4"
  scenario "$1" "$2" "$3"
  out=$("$ASH" validate "$T/$1.yaml" 2>&1); st=$?
  check "validate refuses $1 (exit 2, $4)" '[ $st = 2 ] && echo "$out" | grep -qF "$want"'
  [ $st = 2 ] || echo "  got: $out"
}
bad b-pid process:pid=abc "    kind: process
    action: stop" "10:13: process:pid=abc: a pid is a number above 1"
bad b-sel process:name=x "    kind: process
    action: stop" "10:13: process:name=x: write process:pid=N"
bad b-rel process:pidfile=x.pid "    kind: process
    action: stop" "10:13: process:pidfile=x.pid: the path must be absolute"
bad b-ctr 'container:a/b' "    kind: process
    action: stop" "10:13: container:a/b: a container is named by its name or id"
bad b-cg cgroup:../etc "    kind: host-crash
    mode: freeze" "10:13: cgroup:../etc: name a cgroup below the hierarchy root"
bad b-kill process:pid=4242 "    kind: process
    action: kill" "12:13: action: kill needs a target aftershock can start again"
bad b-iso container:web "    kind: host-crash
    mode: isolate" "12:11: mode: isolate takes a sandbox host's links down"
bad b-host-crash-svc service:x "    kind: host-crash
    mode: freeze" "10:13: no service named 'x'"
bad b-map '{container: {labl: x}}' "    kind: process
    action: stop" "10:26: unknown key 'labl'"
bad b-enomem container:web "    kind: memory-exhaustion
    enomem: true" "12:13: 'enomem' needs processes started under aftershock's seccomp launcher"

# -- exit 3: the engine's socket is missing; and resolution errors name what
scenario nosock container:web "    kind: process
    action: stop"
sed -i "s|unix://$DOCKER_SOCK|unix://$T/none.sock|" "$T/nosock.yaml"
run nosock; st=$?
check "missing socket: exit 3" '[ $st = 3 ]'
check "missing socket: the message names it" 'grep -q "socket $T/none.sock" "$T/nosock.out"'
check "missing socket: nothing was harmed (no report)" '[ ! -d "$T/r" ] || ! ls "$T"/r/nosock-* >/dev/null 2>&1'
scenario missing container:ghost "    kind: process
    action: stop"
run missing; st=$?
check "missing container: exit 3, naming it and what runs" '[ $st = 3 ] && grep -q "no container named .ghost. (running: " "$T/missing.out"'
scenario ambiguous container:label=role=x "    kind: process
    action: stop"
run ambiguous; st=$?
check "ambiguous label: exit 3 listing both" '[ $st = 3 ] && grep -q "2 running containers have the label role=x" "$T/ambiguous.out" && grep -q "web2 (" "$T/ambiguous.out" && grep -q "web (" "$T/ambiguous.out"'
# Several labels, all of which the container must have (web has app=web and role=x,
# web2 only role=x): each form picks web alone; a label web lacks matches nothing.
for form in 'container:label=role=x,app=web' '{container: {labels: [role=x, app=web]}}' \
            '{container: {labels: {role: x, app: web}}}'; do
  scenario labels "$form" "    kind: process
    action: stop"
  out=$("$ASH" validate --resolve "$T/labels.yaml" 2>&1); st=$?
  check "labels $form: validate --resolve picks web alone (exit $st)" \
    '[ $st = 0 ] && echo "$out" | grep -q "container web (id " && ! echo "$out" | grep -q "web2"'
done
scenario labels '{container: {labels: {role: x, app: nope}}}' "    kind: process
    action: stop"
out=$("$ASH" validate --resolve "$T/labels.yaml" 2>&1); st=$?
check "labels web2 and web lack together: exit 3, naming them (exit $st)" \
  '[ $st = 3 ] && echo "$out" | grep -q "no running container has the labels (all of) role=x,app=nope"'
scenario nolabel container:label=role=none "    kind: process
    action: stop"
run nolabel; st=$?
check "no container with the label: exit 3" '[ $st = 3 ] && grep -q "no running container has the label role=none" "$T/nolabel.out"'

# -- validate --resolve looks the targets up as run would; without it, no engine is asked
out=$("$ASH" validate "$T/missing.yaml" 2>&1); st=$?
check "validate of a missing container without --resolve: ok (exit $st)" '[ $st = 0 ]'
out=$("$ASH" validate --resolve "$T/missing.yaml" 2>&1); st=$?
check "validate --resolve of a missing container: exit 3 with its position (exit $st)" \
  '[ $st = 3 ] && echo "$out" | grep -q "missing.yaml:[0-9]*:[0-9]*: .*no container named .ghost."'
out=$("$ASH" validate --resolve "$T/nosock.yaml" 2>&1); st=$?
check "validate --resolve without the engine's socket: exit 3 naming it (exit $st)" \
  '[ $st = 3 ] && echo "$out" | grep -q "socket $T/none.sock"'
scenario resolvable container:web "    kind: process
    action: stop"
out=$("$ASH" validate --resolve "$T/resolvable.yaml" 2>&1); st=$?
check "validate --resolve of a running container: ok (exit $st)" '[ $st = 0 ] && echo "$out" | grep -q ": ok"'
check "validate --resolve harmed nothing (web still running)" '[ "$(pstate "$(cpid web)")" = S ]'

# -- process fault: SIGSTOP of the container's init by name, by id, by label
for sel in name id label; do
  case $sel in name) tg=container:web ;; id) tg=container:$(cid web | cut -c1-12) ;; label) tg='{container: {label: app=web}}' ;; esac
  scenario "stop-$sel" "$tg" "    kind: process
    action: stop"
  p=$(cpid web)
  run_bg "stop-$sel" --no-guardian
  waitfor '[ "$(pstate "$p")" = T ]'; check "process stop by $sel: the init is stopped (T)" '[ $? = 0 ]'
  wait "$h"; st=$?
  check "process stop by $sel: run passes" '[ $st = 0 ]'
  check "process stop by $sel: continued after (S)" '[ "$(pstate "$p")" = S ]'
done

# -- host-crash freeze: the container's cgroup is frozen, thawed after
id=$(cid web)
# Its cgroup, as the kernel names it (cgroupfs: docker/ID; the systemd driver
# of a dockerd under systemd: system.slice/docker-ID.scope); it stays with a restart.
ccg=$(ash_cgroup_of "$(dk inspect -f '{{.State.Pid}}' web)")
check "web's cgroup found ($ccg)" '[ -n "$ccg" ] && ash_cgroup_exists "$ccg"'
frozen() { ash_cgroup_frozen "$ccg"; }
scenario freeze container:web "    kind: host-crash
    mode: freeze"
run_bg freeze --no-guardian
waitfor frozen; check "host-crash freeze: the container's cgroup is frozen" '[ $? = 0 ]'
wait "$h"; st=$?
check "host-crash freeze: run passes" '[ $st = 0 ]'
check "host-crash freeze: thawed after" '! frozen'

# -- memory-exhaustion: limit in its cgroup during the fault, the engine's limit back after
lid=$(cid lim)
mf=/sys/fs/cgroup/memory/docker/$lid/memory.limit_in_bytes
[ -e "$mf" ] || mf=/sys/fs/cgroup/docker/$lid/memory.max
[ -e "$mf" ] || mf=/sys/fs/cgroup/system.slice/docker-$lid.scope/memory.max
old=$(cat "$mf")
check "the engine set lim's limit (256 MiB)" '[ "$old" = 268435456 ]'
scenario mem container:lim "    kind: memory-exhaustion
    limit: 32MiB"
run_bg mem --no-guardian
waitfor '[ "$(cat "$mf")" = 33554432 ]'; check "memory: 32 MiB in the container's cgroup during the fault" '[ $? = 0 ]'
wait "$h"; st=$?
check "memory: run passes" '[ $st = 0 ]'
check "memory: the engine's 256 MiB back after" '[ "$(cat "$mf")" = "$old" ]'
# aftershock inside the container it would limit (an agent's own task, a shell in it):
# refused before anything is placed (exit 3), the engine's limit untouched.
out=$(sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" validate --resolve "$3"' sh "$(dirname "$mf")" "$ASH" "$T/mem.yaml" 2>&1); st=$?
check "memory: aftershock in lim's own cgroup is refused (exit $st: $out)" \
  '[ $st = 3 ] && echo "$out" | grep -q "aftershock itself runs in its memory cgroup" && [ "$(cat "$mf")" = "$old" ]'
# OOM: a balloon placed in the container's cgroup grows past a 64 MiB limit (swap off)
# and is OOM-killed. The same bounds as on a sandbox host (tests/unit/test_memory.c
# balloon_oom_detected): the oom detector's time is the fault's own oom-kill event,
# exactly; 64 MiB at 100 MiB/s cannot be reached before 400 ms after the injection.
detect='detectors:
  - name: oom
    oom: {target: container:lim}' scenario oom container:lim "    kind: memory-exhaustion
    limit: 64MiB
    swap: \"off\"
    balloon: {size: 200MiB, rate: 100MiB/s}
    sample_every: 100ms" 4s
p_lim=$(cpid lim)
run oom; st=$?
rep=$(ls -d "$T"/r/oom-*/ 2>/dev/null | head -1)report.json
res=$(python3 - "$rep" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
d = [x["at_ms"] for x in r.get("detections", []) if x["detector"] == "oom"]
ev = [x["t_ms"] for x in r.get("timeline", []) if x["event"] == "oom-kill"]
print(d[0] if d else None, ev[0] if ev else None, r.get("t_inject_ms"))
PY
)
read -r det oomev inj <<<"$res"
check "oom on a container: detected at the fault's oom-kill event ($det ms = $oomev ms), > 400 ms after the injection ($inj ms)" \
  'python3 -c "import sys; d,e,i=map(float,sys.argv[1:]); sys.exit(not (abs(d-e) < 0.001 and d-i > 400))" $det $oomev $inj'
[ "$det" != None ] || tail -5 "$T/oom.out"
check "oom: the container's init was spared, the engine's 256 MiB back after" \
  '[ "$(cpid lim)" = "$p_lim" ] && [ "$(cat "$mf")" = "$old" ]'

# -- host-crash kill of a container: every process dies, the engine starts it again
p0=$(cpid web2)
scenario kill container:web2 "    kind: host-crash
    mode: kill" 2s
run_bg kill --no-guardian
waitfor '[ ! -d /proc/$p0 ]'; check "host-crash kill: the container's init died" '[ $? = 0 ]'
wait "$h"; st=$?
check "host-crash kill: run passes" '[ $st = 0 ]'
check "host-crash kill: running again, with a new init" '[ "$(dk inspect -f "{{.State.Running}}" web2)" = true ] && [ "$(cpid web2)" != "$p0" ]'

# -- process fault kill and restart on a container: the engine starts it again
p0=$(cpid web2)
scenario pkill container:web2 "    kind: process
    action: kill" 1s
run pkill; st=$?
check "process kill of a container: run passes" '[ $st = 0 ]'
check "process kill: the old init is gone, the container runs again" '[ ! -d /proc/$p0 ] && [ "$(dk inspect -f "{{.State.Running}}" web2)" = true ]'
p0=$(cpid web2)
scenario prestart container:web2 "    kind: process
    action: restart" 1s
run prestart; st=$?
check "process restart of a container: run passes, a new init" '[ $st = 0 ] && [ "$(cpid web2)" != "$p0" ] && [ "$(dk inspect -f "{{.State.Running}}" web2)" = true ]'

# -- remediation restart: {target: container:...}: the runbook's "restart it" through the engine
p0=$(cpid web2)
cat >"$T/remrestart.yaml" <<YAML
version: 1
name: remrestart
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
faults:
  - name: f
    target: container:web2
    kind: process
    action: stop
    at: 0s
    until: remediated
remediation:
  - name: restart-web2
    at: 300ms
    action: {restart: {target: container:web2}}
  - name: end-stop
    at: 400ms
    action: {revert: f}
expect:
  warmup: 200ms
  timeout: 30s
YAML
run remrestart; st=$?
check "remediation restart of a container: run passes (exit $st)" '[ $st = 0 ]'
check "remediation restart: a new init, running" '[ "$(cpid web2)" != "$p0" ] && [ "$(dk inspect -f "{{.State.Running}}" web2)" = true ]'
check "remediation restart: the report says it was done" \
  'grep -q "remediation-done *restart-web2" "$T/remrestart.out" || python3 -c "import json,sys,glob; r=json.load(open(sorted(glob.glob(sys.argv[1]))[-1])); sys.exit(0 if any(e[\"event\"]==\"remediation-done\" and \"restart-web2\" in e[\"detail\"] for e in r[\"runs\"][0][\"timeline\"]) else 1)" "$T/r/remrestart-*/report.json"'
# -- remediation restart of a container that exited (killed, until: remediated): the
#    engine's restart starts it again; the resolver alone refuses a stopped container
p0=$(cpid web2)
sed -e 's/^name: remrestart/name: remexited/' -e 's/    action: stop/    action: kill/' "$T/remrestart.yaml" >"$T/remexited.yaml"
run remexited; st=$?
check "remediation restart of an exited container: run passes (exit $st)" '[ $st = 0 ]'
check "remediation restart of an exited container: done, not failed" \
  'python3 -c "import json,sys,glob; t=json.load(open(sorted(glob.glob(sys.argv[1]))[-1]))[\"runs\"][0][\"timeline\"]; ev=[(e[\"event\"], e[\"detail\"]) for e in t if \"restart-web2\" in e[\"detail\"]]; print(ev); sys.exit(0 if any(e == \"remediation-done\" for e, _ in ev) and not any(e == \"remediation-failed\" for e, _ in ev) else 1)" "$T/r/remexited-*/report.json"'
check "remediation restart of an exited container: a new init, running" \
  '[ "$(cpid web2)" != "$p0" ] && [ "$(dk inspect -f "{{.State.Running}}" web2)" = true ]'
sed -i 's|action: {restart: {target: container:web2}}|action: {restart: {target: container:web2, service: x}}|' "$T/remrestart.yaml"
out=$("$ASH" validate "$T/remrestart.yaml" 2>&1); st=$?
check "restart with both service and target: exit 2 ($out)" '[ $st = 2 ] && echo "$out" | grep -q "exactly one of"'

# -- process targets: by exe (unique, or refused listing the candidates)
cp "$(command -v sleep)" "$T/ashsleep"
setsid "$T/ashsleep" 1000 </dev/null >/dev/null 2>&1 &
e1=$!; bg+=("$e1"); disown "$e1"
waitfor '[ "$(readlink /proc/$e1/exe)" = "$T/ashsleep" ]' # exec'd: until then it is a shell
scenario byexe "process:exe=$T/ashsleep" "    kind: process
    action: stop" 1s
run_bg byexe --no-guardian
waitfor '[ "$(pstate "$e1")" = T ]'; check "process:exe: the one process running it is stopped" '[ $? = 0 ]'
wait "$h"; st=$?
check "process:exe: run passes, continued after" '[ $st = 0 ] && [ "$(pstate "$e1")" = S ]'
setsid "$T/ashsleep" 1000 </dev/null >/dev/null 2>&1 &
e2=$!; bg+=("$e2"); disown "$e2"
waitfor '[ "$(readlink /proc/$e2/exe)" = "$T/ashsleep" ]'
run byexe; st=$?
check "process:exe run by two: exit 3 listing both pids, no errno text" '[ $st = 3 ] && ! grep -q "File exists" "$T/byexe.out" && grep -q "2 processes run $T/ashsleep" "$T/byexe.out" && grep -q "$e1" "$T/byexe.out" && grep -q "$e2" "$T/byexe.out"'

# -- process targets: by pidfile and by pid (a process of the test's own)
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
sp=$!; bg+=("$sp"); disown "$sp"
waitfor '[ "$(readlink /proc/$sp/exe)" = "$(readlink -f "$(command -v sleep)")" ]'
echo "$sp" >"$T/sleep.pid"
scenario pidfile "process:pidfile=$T/sleep.pid" "    kind: process
    action: stop"
run_bg pidfile --no-guardian
waitfor '[ "$(pstate "$sp")" = T ]'; check "process:pidfile: stopped (T)" '[ $? = 0 ]'
wait "$h"; st=$?
check "process:pidfile: run passes, continued after" '[ $st = 0 ] && [ "$(pstate "$sp")" = S ]'
scenario bypid "process:pid=$sp" "    kind: process
    action: stop"
run_bg bypid --no-guardian
waitfor '[ "$(pstate "$sp")" = T ]'; check "process:pid: stopped (T)" '[ $? = 0 ]'
wait "$h"; st=$?
check "process:pid: run passes, continued after" '[ $st = 0 ] && [ "$(pstate "$sp")" = S ]'
# host-crash freeze of a process: refused while its cgroup holds others (the test's
# own), done when it is alone in a cgroup of its own
scenario pfreeze "process:pid=$sp" "    kind: host-crash
    mode: freeze"
run pfreeze; st=$?
check "host-crash freeze of a process sharing its cgroup: exit 3, why" '[ $st = 3 ] && grep -q "its cgroup holds other processes" "$T/pfreeze.out"'
V2=/sys/fs/cgroup/unified
[ -e "$V2/cgroup.controllers" ] || V2=/sys/fs/cgroup
PCG=$V2/ash-tc-$$
mkdir "$PCG"
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
fp=$!; bg+=("$fp"); disown "$fp"
waitfor '[ "$(readlink /proc/$fp/exe)" = "$(readlink -f "$(command -v sleep)")" ]'
echo "$fp" >"$PCG/cgroup.procs"
scenario pfreeze2 "process:pid=$fp" "    kind: host-crash
    mode: freeze"
run_bg pfreeze2 --no-guardian
waitfor 'grep -q "^frozen 1" "$PCG/cgroup.events"'; check "host-crash freeze of a process alone in its cgroup: frozen" '[ $? = 0 ]'
wait "$h"; st=$?
check "host-crash freeze of a process: run passes, thawed after" '[ $st = 0 ] && grep -q "^frozen 0" "$PCG/cgroup.events"'
kill -KILL "$fp"
waitfor '[ ! -d /proc/$fp ]'
rmdir "$PCG"

gone=$(($(cat /proc/sys/kernel/pid_max) + 1)) # above pid_max: no process can have it
scenario gone "process:pid=$gone" "    kind: process
    action: stop"
run gone; st=$?
check "process:pid of nothing: exit 3" '[ $st = 3 ] && grep -q "no process $gone" "$T/gone.out"'

# -- cgroup target: the container's own cgroup, by path
rel=$ccg
scenario cgfreeze "cgroup:$rel" "    kind: host-crash
    mode: freeze"
run_bg cgfreeze --no-guardian
waitfor frozen; check "cgroup:$rel freeze: frozen" '[ $? = 0 ]'
wait "$h"; st=$?
check "cgroup freeze: run passes, thawed after" '[ $st = 0 ] && ! frozen'

# -- SIGKILL of the harness mid-fault: recover (no guardian) and the guardian undo it
scenario kfreeze container:web "    kind: host-crash
    mode: freeze" 60s
run_bg kfreeze --no-guardian
waitfor frozen; check "SIGKILL: frozen before the kill" '[ $? = 0 ]'
kill -KILL "$h"; wait "$h" 2>/dev/null
sleep 0.3
check "SIGKILL without guardian: still frozen" 'frozen'
"$ASH" recover --state-dir "$T/state" >"$T/recover.out" 2>&1; st=$?
check "recover exits 0 and says it thawed the container, by name and id: $(grep -m1 thawed "$T/recover.out")" \
  '[ $st = 0 ] && grep -q "^  thawed cgroup .* of container web (id ${id:0:12})$" "$T/recover.out"'
check "recover thawed the container" '! frozen'
scenario kmem container:lim "    kind: memory-exhaustion
    limit: 32MiB" 60s
run_bg kmem
waitfor '[ "$(cat "$mf")" = 33554432 ]'; check "SIGKILL: limit in effect before the kill" '[ $? = 0 ]'
kill -KILL "$h"; wait "$h" 2>/dev/null
waitfor '[ "$(cat "$mf")" = "$old" ]'; check "the guardian restored the engine's limit" '[ $? = 0 ]'
scenario kstop container:web "    kind: process
    action: stop" 60s
p=$(cpid web)
run_bg kstop
waitfor '[ "$(pstate "$p")" = T ]'; check "SIGKILL: init stopped before the kill" '[ $? = 0 ]'
kill -KILL "$h"; wait "$h" 2>/dev/null
waitfor '[ "$(pstate "$p")" = S ]'; check "the guardian continued the container's init" '[ $? = 0 ]'
# The same two with no guardian: `aftershock recover` alone puts them back.
# recover_trial NAME WHAT IN-EFFECT UNDONE: the run SIGKILLed while IN-EFFECT holds;
# it still holds after (nothing else undoes it); then `recover` makes UNDONE true.
recover_trial() {
  run_bg "$1" --no-guardian
  waitfor "$3"; check "SIGKILL (no guardian): $2 in effect before the kill" '[ $? = 0 ]'
  kill -KILL "$h"; wait "$h" 2>/dev/null
  sleep 0.3
  check "SIGKILL without guardian: $2 still in effect" "$3"
  "$ASH" recover --state-dir "$T/state" >"$T/recover-$1.out" 2>&1; st=$?
  check "recover alone undid $2" '[ $st = 0 ] && '"$4"
}
recover_trial kmem "the 32 MiB limit (the engine's $old back exactly)" '[ "$(cat "$mf")" = 33554432 ]' \
  '[ "$(cat "$mf")" = "$old" ]'
recover_trial kstop "the stop of the container's init" '[ "$(pstate "$p")" = T ]' '[ "$(pstate "$p")" = S ]'
scenario kkill container:web2 "    kind: host-crash
    mode: kill" 60s
p0=$(cpid web2)
run_bg kkill --no-guardian
waitfor '[ ! -d /proc/$p0 ]'; check "SIGKILL: the container was killed before the harness" '[ $? = 0 ]'
kill -KILL "$h"; wait "$h" 2>/dev/null
check "SIGKILL without guardian: the container stays down" '[ "$(dk inspect -f "{{.State.Running}}" web2)" = false ]'
"$ASH" recover --state-dir "$T/state" >"$T/recover2.out" 2>&1; st=$?
check "recover started the killed container again" '[ $st = 0 ] && [ "$(dk inspect -f "{{.State.Running}}" web2)" = true ]'
waitfor '[ -z "$(ls "$T"/state/*.journal 2>/dev/null)" ]'; check "no journal left" '[ $? = 0 ]'

# -- the leftover scan: nothing of ours (other runs on a shared machine are not ours)
ours="$p|$sp|$e1|$e2|$(cpid web2)|$(cpid lim)"
left=$(bash "$SRC/scripts/check-leftovers.sh" 2>/dev/null | grep -E "process ($ours) " )
check "leftover scan: none of our processes stopped${left:+: $left}" '[ -z "$left" ]'
check "no container left frozen" '! frozen'
# -- the private engine leaves nothing in the host's namespace (its network's br- link)
dockerd_stop
check "no bridge link of the test's network left (br-${netid:0:12})" '! ip link show "br-${netid:0:12}" >/dev/null 2>&1'
[ "$fail" = 0 ] || { for f in "$T"/*.out; do echo "== $f"; tail -3 "$f"; done; }
ash_exit "$fail"
