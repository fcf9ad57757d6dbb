#!/usr/bin/env bash
# pod: targets (docs/targets.md) resolved through a real, PRIVATE containerd (Debian's
# containerd + runc; its own root, state and socket under a temp dir, never the
# system's): containers made with ctr in its k8s.io namespace carry the annotations
# and labels the kubelet's CRI plugin sets, a pod sandbox ("pause") among them. The
# new code finds a pod's container by namespace + pod + container name; a process
# fault stops its init and the revert resumes it; host-crash freezes its cgroup;
# missing pods/containers, two containers with none named, and label selectors on a
# node say why (exit 3 / exit 2). Everything made is stopped by pid and removed:
# tasks, containers, containerd, its shims (only ours: their -address is our socket),
# the containers' parent cgroups. containerd 1.6 puts its shims' sockets in
# /run/containerd/s/ whatever its state dir; they go when the shims do.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
[ "$(id -u)" = 0 ] || ash_skip_all "needs root to run a private containerd"
for b in containerd ctr runc containerd-shim-runc-v2 busybox; do
  command -v "$b" >/dev/null || ash_skip_all "no $b (scripts/install-deps.sh --test installs containerd and busybox-static)"
done
T=$(mktemp -d /tmp/ash-pod-XXXXXX)
CG=$(basename "$T") # the parent cgroup of this test's containers, in every hierarchy
fail=0
CPID=""
ctr_() { ctr --address "$T/c.sock" -n k8s.io "$@"; }
cleanup() {
  local id p
  if [ -n "$CPID" ]; then
    for id in $(ctr_ task ls -q 2>/dev/null); do ctr_ task kill -s KILL "$id" >/dev/null 2>&1; done
    sleep 0.3
    for id in $(ctr_ task ls -q 2>/dev/null); do ctr_ task rm -f "$id" >/dev/null 2>&1; done
    for id in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$id" >/dev/null 2>&1; done
    kill "$CPID" 2>/dev/null
    wait "$CPID" 2>/dev/null
  fi
  # Shims outlive a containerd that did not delete their task: end only ours (their
  # -address is our socket), by pid.
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "^containerd-shim-runc-v2 .*-address $T/c.sock\|^/usr/bin/containerd-shim-runc-v2 .*-address $T/c.sock" &&
      kill -KILL "${p#/proc/}" 2>/dev/null
  done
  "$ASH" recover --state-dir "$T/st" >/dev/null 2>&1
  # The containers' parent cgroups (empty once the tasks are gone: rmdir removes only those).
  for p in /sys/fs/cgroup/"$CG" /sys/fs/cgroup/*/"$CG"; do [ -d "$p" ] && rmdir "$p" 2>/dev/null; done
  umount "$T"/state/io.containerd.runtime.v2.task/k8s.io/*/rootfs 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
waitfor() { local i; for i in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }

# -- a private containerd: no CRI plugin (no kubelet here), its own paths
cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$T/c.sock"
[ttrpc]
  address = "$T/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
CPID=$!
# containerd is installed: failing to start it is a failure, not a skip.
waitfor 'ctr_ version >/dev/null 2>&1' || {
  echo "FAIL the private containerd did not answer on $T/c.sock:"
  tail -5 "$T/containerd.log"
  exit 1
}
mkdir -p "$T/rootfs/bin"
cp "$(command -v busybox)" "$T/rootfs/bin/busybox"
ln -s busybox "$T/rootfs/bin/sleep"

# ctr_pod ID POD TYPE [CONTAINER]: a task in k8s.io as the CRI plugin makes one
# (sandbox: the pod's "pause"; container: one of its containers).
ctr_pod() {
  local id=$1 pod=$2 type=$3 name=${4:-}
  local a=(--annotation "io.kubernetes.cri.container-type=$type" --annotation "io.kubernetes.cri.sandbox-namespace=shop"
    --annotation "io.kubernetes.cri.sandbox-name=$pod" --annotation "io.kubernetes.cri.sandbox-id=$(printf '%064d' 1)"
    --label "io.kubernetes.pod.namespace=shop" --label "io.kubernetes.pod.name=$pod" --label "io.cri-containerd.kind=$type")
  [ -n "$name" ] && a+=(--annotation "io.kubernetes.cri.container-name=$name" --label "io.kubernetes.container.name=$name")
  # A pod's containers join its sandbox's network namespace, as the CRI plugin makes them.
  [ -n "${SANDBOX_PID:-}" ] && [ "$pod" = web-0 ] && a+=(--with-ns "network:/proc/$SANDBOX_PID/ns/net")
  # Its cgroup under a parent of this test's (the kubelet's would be kubepods/.../ID) and
  # runc's state under $T: nothing of ours lands in the system's paths.
  ctr_ run -d --null-io --rootfs --cgroup "/$CG/$id" --runc-root "$T/runc" "${a[@]}" "$T/rootfs" "$id" \
    /bin/sleep 1000 >/dev/null
}
id_pause=$(printf 'a%063d' 1) id_web=$(printf 'b%063d' 2) id_side=$(printf 'c%063d' 3) id_api=$(printf 'd%063d' 4)
ctr_pod "$id_pause" web-0 sandbox
SANDBOX_PID=$(cat "$T/state/io.containerd.runtime.v2.task/k8s.io/$id_pause/init.pid")
ctr_pod "$id_web" web-0 container web
ctr_pod "$id_side" web-0 container sidecar
ctr_pod "$id_api" api-0 container api
check "private containerd runs four tasks in k8s.io" '[ "$(ctr_ task ls -q | wc -l)" = 4 ]'
ipid() { cat "$T/state/io.containerd.runtime.v2.task/k8s.io/$1/init.pid"; }
pstate() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
export ASH_CONTAINERD_STATE=$T/state

scenario() { # NAME TARGET FAULT-LINES
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
faults:
  - name: f
    target: $2
$3
    at: 0s
    duration: 2s
expect:
  warmup: 200ms
  timeout: 30s
YAML
}
STOP="    kind: process
    action: stop"
run() { "$ASH" run -q --no-guardian --state-dir "$T/st" --report-dir "$T/r" "$T/$1.yaml" >"$T/$1.out" 2>&1; }

# -- doctor: the pods' containers are seen (the pause is not one), and a missing state says where
out=$("$ASH" doctor 2>&1)
check "doctor: 3 pod containers in the private state" 'echo "$out" | grep -Eq "^  pod containers +yes  3 running in $T/state/io.containerd.runtime.v2.task/k8s.io"'
out=$(ASH_CONTAINERD_STATE=$T/none "$ASH" doctor 2>&1)
check "doctor: no containerd state is a no, naming it" 'echo "$out" | grep -Eq "^  pod containers +no   $T/none/.*ASH_CONTAINERD_STATE"'

# -- validate: the forms, without containerd
scenario v-str pod:shop/web-0/web "$STOP"
scenario v-map '{pod: {namespace: shop, name: web-0, container: web}}' "$STOP"
scenario v-lab '{pod: {namespace: shop, labels: {app.kubernetes.io/name: web, tier: front}, container: web}}' "$STOP"
for v in v-str v-map v-lab; do
  out=$(ASH_CONTAINERD_STATE=/nonexistent "$ASH" validate "$T/$v.yaml" 2>&1); st=$?
  check "validate $v without containerd" '[ $st = 0 ]'
done
bad() { # NAME TARGET WANT
  local want=$3
  scenario "$1" "$2" "$STOP"
  out=$("$ASH" validate "$T/$1.yaml" 2>&1); st=$?
  check "validate refuses $1 (exit 2: $want)" '[ $st = 2 ] && echo "$out" | grep -qF "$want"'
  [ $st = 2 ] || echo "  got: $out"
}
bad b-nons pod:web-0 "pod:web-0: write pod:NAMESPACE/POD[/CONTAINER]"
bad b-ns 'pod:Shop/web-0' "a namespace is a DNS label"
bad b-both '{pod: {namespace: shop, name: web-0, labels: {app: web}}}' "by 'name: POD' or by 'labels:"
bad b-nonsmap '{pod: {name: web-0}}' "a pod target needs 'namespace:'"
bad b-key '{pod: {namespace: shop, name: web-0, contaner: web}}' "unknown key 'contaner'"
scenario b-kill pod:shop/web-0/web "    kind: process
    action: kill"
out=$("$ASH" validate "$T/b-kill.yaml" 2>&1); st=$?
check "validate refuses action: kill on a pod (the kubelet restarts it, not aftershock)" '[ $st = 2 ] && echo "$out" | grep -q "pod .shop/web-0/web. cannot be"'

# -- resolution through the bundles
out=$("$ASH" validate --resolve "$T/v-map.yaml" 2>&1); st=$?
check "validate --resolve finds shop/web-0 container web" '[ $st = 0 ]'
[ $st = 0 ] || echo "  got: $out"
scenario r-two pod:shop/web-0 "$STOP"
out=$("$ASH" validate --resolve "$T/r-two.yaml" 2>&1); st=$?
check "two containers, none named: refused, listing both" '[ $st != 0 ] && echo "$out" | grep -q "runs 2 containers" && echo "$out" | grep -q "web" && echo "$out" | grep -q sidecar'
scenario r-one pod:shop/api-0 "$STOP"
out=$("$ASH" validate --resolve "$T/r-one.yaml" 2>&1); st=$?
check "a pod with one container needs no container name" '[ $st = 0 ]'
scenario r-ghost pod:shop/ghost-0/web "$STOP"
run r-ghost; st=$?
check "missing pod: exit 3, saying it is not on this node" '[ $st = 3 ] && grep -q "pod shop/ghost-0 has no running container on this node" "$T/r-ghost.out"'
scenario r-noctr pod:shop/web-0/db "$STOP"
run r-noctr; st=$?
check "missing container: exit 3, listing the pod's" '[ $st = 3 ] && grep -q "no running container named .db. (its running containers: " "$T/r-noctr.out"'
run v-lab; st=$?
check "labels on a node: refused, saying the coordinator resolves them" '[ $st != 0 ] && grep -q "a node cannot see pod labels" "$T/v-lab.out"'
ASH_CONTAINERD_STATE=$T/none run v-map; st=$?
check "no containerd state: exit 3 naming ASH_CONTAINERD_STATE" '[ $st = 3 ] && grep -q "ASH_CONTAINERD_STATE" "$T/v-map.out"'

# -- a process fault stops the container's init; the revert resumes it
wp=$(ipid "$id_web") sp=$(ipid "$id_side") pp=$(ipid "$id_pause")
run v-map &
h=$!
check "process stop: the web container's init is stopped" 'waitfor "[ \"\$(pstate $wp)\" = T ]"'
check "process stop: the sidecar and the pause are not" '[ "$(pstate "$sp")" = S ] && [ "$(pstate "$pp")" = S ]'
wait "$h"; st=$?
check "process stop: the run passes (exit 0)" '[ $st = 0 ]'
check "process stop: reverted, the init runs again" '[ "$(pstate "$wp")" = S ]'

# -- SIGKILL of the harness mid-fault: `aftershock recover` resumes the pod's container
scenario killed pod:shop/web-0/web "$STOP"
sed -i 's/duration: 2s/duration: 60s/' "$T/killed.yaml"
"$ASH" run -q --no-guardian --state-dir "$T/st" --report-dir "$T/r" "$T/killed.yaml" >"$T/killed.out" 2>&1 &
h=$!
check "killed run: the init is stopped" 'waitfor "[ \"\$(pstate $wp)\" = T ]"'
{
  kill -KILL "$h"
  wait "$h"
} 2>/dev/null
check "killed run: still stopped after the SIGKILL (nothing reverted it yet)" '[ "$(pstate "$wp")" = T ]'
"$ASH" recover --state-dir "$T/st" >"$T/recover.out" 2>&1; st=$?
check "recover: exit 0, the init runs again" '[ $st = 0 ] && [ "$(pstate "$wp")" = S ]'

# -- a network fault inside the pod's namespace: aftershock's nftables table appears
# there (not in the machine's), and goes on revert. The pod shares it with its pause.
if command -v nsenter >/dev/null && command -v nft >/dev/null; then
  ash_tables() { nsenter -t "$1" -n nft list tables 2>/dev/null | grep -c ' ash-'; }
  before_host=$(nft list tables 2>/dev/null | grep -c ' ash-')
  scenario net pod:shop/web-0/web "    kind: network
    partition: true"
  run net &
  h=$!
  check "network: a table of aftershock's inside the pod's namespace" 'waitfor "[ \"\$(ash_tables $wp)\" = 1 ]"'
  check "network: the pause container shares it (the pod's namespace)" '[ "$(ash_tables "$pp")" = 1 ]'
  check "network: none added in the machine's namespace" '[ "$(nft list tables 2>/dev/null | grep -c " ash-")" = "$before_host" ]'
  check "network: the api pod's namespace untouched" '[ "$(ash_tables "$(ipid "$id_api")")" = 0 ]'
  wait "$h"; st=$?
  check "network: the run passes and the table is gone" '[ $st = 0 ] && [ "$(ash_tables "$wp")" = 0 ]'
  [ $st = 0 ] || cat "$T/net.out"
else
  ash_skip "network fault on a pod: needs nsenter and nft to look inside its namespace"
fi

# -- host-crash freeze: its cgroup (named after its id) is frozen, then thawed
scenario freeze pod:shop/web-0/web "    kind: host-crash
    mode: freeze"
run freeze &
h=$!
# Frozen through cgroup v2 (unified, or the hybrid's /sys/fs/cgroup/unified) or the v1 freezer.
frozen() {
  grep -qs "^frozen 1" "/sys/fs/cgroup/$CG/$id_web/cgroup.events" "/sys/fs/cgroup/unified/$CG/$id_web/cgroup.events" ||
    grep -qs FROZEN "/sys/fs/cgroup/freezer/$CG/$id_web/freezer.state"
}
check "freeze: the web container's cgroup (named after its id) is frozen" 'waitfor frozen'
check "freeze: the sidecar is not" '[ "$(pstate "$sp")" = S ]'
wait "$h"; st=$?
check "freeze: the run passes and thaws it" '[ $st = 0 ] && ! frozen'
check "the containers' runc state is under the test's directory" '[ -d "$T/runc/k8s.io" ] && [ ! -e /run/containerd/runc/k8s.io ]'
check "nothing left in the journal directory" '[ -z "$(ls "$T/st" 2>/dev/null | grep journal)" ]'

ash_exit $fail
