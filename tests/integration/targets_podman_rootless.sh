#!/usr/bin/env bash
# Container targets under a ROOTLESS Podman (docs/targets.md): a private `podman system
# service` run as an unprivileged uid that has no account here (setpriv; its home,
# storage, runroot and socket all under the test's directory; nothing in /etc changed),
# so Podman maps that uid alone into the container (no /etc/subuid range, no
# newuidmap). aftershock (root) reaches the container through that user's socket:
# a process stop of its init (continued after), a partition inside its network
# namespace (the user namespace's own), a SIGKILL of the run undone by `recover`.
# Where rootless Podman gives the container no cgroup of its own (cgroup v1 or hybrid:
# it stays in its user's cgroup), memory and host-crash faults are refused at preflight
# with that reason (exit 3, nothing placed); where it has one (cgroup v2 with a
# delegated subtree), a freeze of it is checked instead.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
[ "$(id -u)" = 0 ] || ash_skip_all "needs root: to run podman as another uid and to act on its container"
command -v podman >/dev/null || ash_skip_all "no podman (apt-get install podman)"
command -v busybox >/dev/null || ash_skip_all "no busybox (busybox-static) for the offline test image"
command -v setpriv >/dev/null || ash_skip_all "no setpriv (util-linux) to run podman as an unprivileged uid"
command -v nsenter >/dev/null && command -v nft >/dev/null ||
  ash_skip_all "needs nsenter and nft to look inside the container's namespace"
[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ] ||
  ash_skip_all "user namespaces are disabled (user.max_user_namespaces = 0): rootless Podman cannot run"
# A uid with no account and no process: nothing of anyone's is touched.
U=""
for u in $(seq 231000 231100); do
  getent passwd "$u" >/dev/null || [ -n "$(ps -o pid= -u "$u" 2>/dev/null)" ] || { U=$u; break; }
done
[ -n "$U" ] || ash_skip_all "no free uid in 231000-231100 to run the rootless podman as"
shm_lock=/dev/shm/libpod_rootless_lock_$U # Podman's lock file for that uid, left by it
had_lock=0
[ -e "$shm_lock" ] && had_lock=1
T=$(mktemp -d /tmp/ash-pr-XXXXXX)
chmod 755 "$T"
mkdir -p "$T/home" "$T/run" "$T/img"
chown "$U:$U" "$T/home" "$T/run"
chmod 700 "$T/run"
fail=0
bg=()
SVC=""
asu() { setpriv --reuid="$U" --regid="$U" --clear-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$T/home" \
  XDG_RUNTIME_DIR="$T/run" "$@"; }
pmu() {
  asu podman --root "$T/home/st" --runroot "$T/run/rr" --tmpdir "$T/run/tmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file "$@"
}
cleanup() {
  local p
  for p in "${bg[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  pmu rm -af -t 1 >/dev/null 2>&1
  [ -n "$SVC" ] && kill -TERM "$SVC" 2>/dev/null && wait "$SVC" 2>/dev/null
  # The user namespace's holder (Podman's pause process) outlives every podman command.
  p=$(cat "$T/run/libpod/tmp/pause.pid" 2>/dev/null)
  [ -n "$p" ] && [ "$(stat -c %u "/proc/$p" 2>/dev/null)" = "$U" ] && kill -KILL "$p" 2>/dev/null
  # Anything else of that uid is ours (it had no process before): conmon of a container.
  for p in $(ps -o pid= -u "$U" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  [ "$had_lock" = 1 ] || rm -f "$shm_lock"
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
waitfor() { local i; for i in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }

info=$(pmu info --format '{{.Host.Security.Rootless}} {{.Host.CgroupsVersion}} {{.Version.Version}}' 2>"$T/info.err")
read -r rootless cgv ver <<<"$info"
check "podman $ver runs rootless as uid $U (cgroup $cgv; single uid mapping: no /etc/subuid range, no newuidmap)" \
  '[ "$rootless" = true ]'
[ "$rootless" = true ] || { cat "$T/info.err"; ash_exit 1; }
# The image offline: busybox, every file owned by the container's root (the uid itself).
cp "$(command -v busybox)" "$T/img/busybox"
mkdir -p "$T/img/bin" "$T/img/tmp" "$T/img/proc" "$T/img/sys" "$T/img/dev" "$T/img/etc"
mv "$T/img/busybox" "$T/img/bin/busybox"
chroot "$T/img" /bin/busybox --install -s /bin
tar -C "$T/img" --owner=0 --group=0 --numeric-owner -c . | pmu import -c "ENV PATH=/bin" - localhost/ash-rl >/dev/null 2>&1
pmu run -d --name rlc --network none --ulimit nofile=1024:1024 localhost/ash-rl sleep 100000 >"$T/run.err" 2>&1
pid=$(pmu inspect -f '{{.State.Pid}}' rlc 2>/dev/null)
id=$(pmu inspect -f '{{.Id}}' rlc 2>/dev/null)
check "a rootless container runs, its init owned by uid $U on this machine" \
  '[ -n "$pid" ] && [ "$(stat -c %u "/proc/$pid")" = "$U" ]'
[ -n "$pid" ] || { cat "$T/run.err"; ash_exit 1; }
# The user's API socket, as `systemctl --user start podman.socket` would give it.
asu podman --root "$T/home/st" --runroot "$T/run/rr" --tmpdir "$T/run/tmp" --storage-driver vfs \
  --cgroup-manager cgroupfs --events-backend file system service --time=0 "unix://$T/run/p.sock" \
  >"$T/service.log" 2>&1 &
SVC=$!
check "the rootless API socket answers" \
  'waitfor "curl -sf --unix-socket $T/run/p.sock http://d/v1.41/_ping >/dev/null 2>&1"'
pstate() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
ash_tables() { nsenter -t "$pid" -n nft list tables 2>/dev/null | grep -c ' ash-'; }

scenario() { # NAME FAULT-LINES [DURATION]
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
runtime: {docker_host: "unix://$T/run/p.sock"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
faults:
  - name: f
    target: container:rlc
$2
    at: 0s
    duration: ${3:-1s}
expect:
  warmup: 200ms
  timeout: 60s
YAML
}
run_bg() {
  "$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/$1.yaml" >"$T/$1.out" 2>&1 &
  h=$!; bg+=("$h")
}

scenario stop "    kind: process
    action: stop"
run_bg stop
waitfor '[ "$(pstate "$pid")" = T ]'; check "process stop: the rootless container's init is stopped" '[ $? = 0 ]'
wait "$h"; st=$?
check "process stop: run passes, the init continued after" '[ $st = 0 ] && [ "$(pstate "$pid")" = S ]'
[ $st = 0 ] || tail -5 "$T/stop.out"

scenario part "    kind: network
    partition: true" 2s
run_bg part
waitfor '[ "$(ash_tables)" = 1 ]'; check "partition: aftershock's table inside the container's namespace" '[ $? = 0 ]'
wait "$h"; st=$?
check "partition: run passes, the table gone" '[ $st = 0 ] && [ "$(ash_tables)" = 0 ]'

scenario kstop "    kind: process
    action: stop" 60s
run_bg kstop
waitfor '[ "$(pstate "$pid")" = T ]'
kill -KILL "$h"; wait "$h" 2>/dev/null
check "SIGKILL trial: the init still stopped after the run was killed" '[ "$(pstate "$pid")" = T ]'
"$ASH" recover --state-dir "$T/state" >"$T/recover.out" 2>&1; st=$?
check "SIGKILL trial: recover continued it (exit $st)" '[ $st = 0 ] && [ "$(pstate "$pid")" = S ]'

if grep -q "$id" "/proc/$pid/cgroup"; then
  frozen() { grep -rqs "^frozen 1" /sys/fs/cgroup/*/*"$id"*/cgroup.events /sys/fs/cgroup/*"$id"*/cgroup.events; }
  scenario freeze "    kind: host-crash
    mode: freeze"
  run_bg freeze
  waitfor frozen; check "host-crash freeze: its own cgroup (named after its id) frozen" '[ $? = 0 ]'
  wait "$h"; st=$?
  check "host-crash freeze: run passes, thawed" '[ $st = 0 ] && ! frozen'
else
  # cgroup v1 / hybrid: rootless Podman cannot make cgroups; the container is in its
  # user's cgroup (here, the test's own), shared with other processes.
  for f in "memory:    kind: memory-exhaustion
    limit: 32MiB" "freeze:    kind: host-crash
    mode: freeze" "kill:    kind: host-crash
    mode: kill"; do
    n=${f%%:*}
    scenario "no-$n" "${f#*:}"
    "$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/no-$n.yaml" >"$T/no-$n.out" 2>&1
    st=$?
    check "no cgroup of its own (cgroup $cgv): $n refused at preflight, exit 3, the reason given, nothing run" \
      '[ $st = 3 ] && grep -q "container .rlc. ([0-9a-f]\{12\}) lacks .* none of its cgroups is named after its id (a rootless engine" "$T/no-$n.out" &&
       ! ls -d "$T"/r/no-$n-* >/dev/null 2>&1 && [ "$(pstate "$pid")" = S ]'
    [ $st = 3 ] || tail -3 "$T/no-$n.out"
  done
fi
check "nothing of aftershock's left in its namespace, no journal" \
  '[ "$(ash_tables)" = 0 ] && [ -z "$(ls "$T"/state/*.journal 2>/dev/null)" ]'
ash_exit $fail
