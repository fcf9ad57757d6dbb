# A PRIVATE three-node Docker Swarm on one machine, for one test (source it after
# lib/dockerd.sh). Each node is a private dockerd (no iptables, no default bridge,
# its own data/exec root, socket and pidfile under the test's directory) in a
# network namespace this file creates; the namespaces are joined over a bridge
# this file creates, in its own namespace too, with no route out and no NAT:
# nothing a node sends can leave the bridge.
#
#   swarm_lacks             prints why this machine cannot run one, returns 0 if so
#   swarm_start DIR         the bridge namespace, three nodes (m, w1, w2 at
#                           10.231.0.1-3/24), `swarm init` on m, the workers
#                           joined; sets SWARM_NODES, SWARM_COORD_NS and
#                           SWARM_COORD_IP (the bridge's own address, where a
#                           coordinator listens: `ip netns exec $SWARM_COORD_NS`).
#                           Returns 1 with the reason on stdout.
#   swarm_dk NODE ARGS      the docker CLI against that node's daemon
#   swarm_sock NODE         that node's engine socket
#   swarm_image NODE NAME DIR   import a directory as an image on NODE (offline)
#   swarm_busybox DIR       a busybox-only image tree in DIR
#   swarm_agent_image DIR ASH [SERVICE...]  busybox + the aftershock binary ASH, the
#                           SERVICE programs in /usr/bin/services, their libraries
#   swarm_agents_gone       no container of an aftershock-* service on any node
#   swarm_stop              leave the swarm, stop every daemon by its pid, delete
#                           the namespaces (and with them every link in them)
#   swarm_leftovers         prints what is left of the swarm (pids, namespaces,
#                           mounts, links in the host namespace), "" when none
#
# What works here and what does not (found on Debian 12's docker.io 20.10):
# - the swarm's control plane (2377/tcp) and gossip (7946) need only the
#   namespaces' addresses: init, join, secrets, services and global services
#   work with --iptables=false;
# - overlay networks need iptables rules and the vxlan module the daemon sets up
#   itself (--iptables=false leaves them out), so tasks here use the host
#   network of their node (`--network host`) or none: the agents need only
#   their node's network to reach the coordinator.
SWARM_DIR=""
SWARM_NODES="m w1 w2"
SWARM_TAG=""
SWARM_COORD_NS=""
SWARM_COORD_IP=10.231.0.254
declare -A SWARM_PID=()
swarm_lacks() {
  local why
  why=$(dockerd_lacks) && { echo "$why"; return 0; }
  command -v ip >/dev/null || { echo "no ip (iproute2) for the nodes' namespaces"; return 0; }
  return 1
}
swarm_sock() { echo "$SWARM_DIR/$1/d.sock"; }
swarm_dk() {
  local n=$1
  shift
  docker -H "unix://$SWARM_DIR/$n/d.sock" "$@"
}
swarm_ns() { echo "$SWARM_TAG-$1"; }
swarm_start() {
  SWARM_DIR=$1
  SWARM_TAG=ashsw$$
  SWARM_COORD_NS=$SWARM_TAG-br
  mkdir -p "$SWARM_DIR"
  ip -br link | awk '{print $1}' | sort >"$SWARM_DIR/links.before"
  ip netns add "$SWARM_COORD_NS" || { echo "cannot create a network namespace"; return 1; }
  ip -n "$SWARM_COORD_NS" link set lo up
  ip -n "$SWARM_COORD_NS" link add br0 type bridge
  ip -n "$SWARM_COORD_NS" addr add "$SWARM_COORD_IP/24" dev br0
  ip -n "$SWARM_COORD_NS" link set br0 up
  local n i=1 ns
  for n in $SWARM_NODES; do
    ns=$(swarm_ns "$n")
    ip netns add "$ns" || { echo "cannot create namespace $ns"; return 1; }
    ip -n "$ns" link set lo up
    ip link add "${SWARM_TAG}v$i" netns "$SWARM_COORD_NS" type veth peer name eth0 netns "$ns" ||
      { echo "cannot create a veth pair"; return 1; }
    ip -n "$SWARM_COORD_NS" link set "${SWARM_TAG}v$i" master br0 up
    ip -n "$ns" addr add "10.231.0.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    mkdir -p "$SWARM_DIR/$n/root" "$SWARM_DIR/$n/exec"
    # nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup tree
    # dockerd needs ("Devices cgroup isn't mounted"). Its hostname is the node's name in the swarm ({{.Node.Hostname}}): a UTS
    # namespace of its own gives each daemon one without touching the host's.
    nsenter --net="/run/netns/$ns" unshare --uts sh -c 'hostname "$1"; shift; exec "$@"' sh "$n" \
      dockerd --iptables=false --ip6tables=false --bridge=none --data-root "$SWARM_DIR/$n/root" \
      --exec-root "$SWARM_DIR/$n/exec" -H "unix://$SWARM_DIR/$n/d.sock" --pidfile "$SWARM_DIR/$n/d.pid" \
      >"$SWARM_DIR/$n/dockerd.log" 2>&1 &
    SWARM_PID[$n]=$!
    i=$((i + 1))
  done
  for n in $SWARM_NODES; do
    for i in $(seq 300); do
      swarm_dk "$n" version >/dev/null 2>&1 && break
      kill -0 "${SWARM_PID[$n]}" 2>/dev/null || break
      sleep 0.1
    done
    swarm_dk "$n" version >/dev/null 2>&1 ||
      { echo "node $n's dockerd did not come up: $(tail -3 "$SWARM_DIR/$n/dockerd.log" | tr '\n' ' ')"; return 1; }
  done
  swarm_dk m swarm init --advertise-addr 10.231.0.1 --listen-addr 10.231.0.1:2377 >"$SWARM_DIR/init.log" 2>&1 ||
    { echo "swarm init failed: $(tr '\n' ' ' <"$SWARM_DIR/init.log")"; return 1; }
  local tok
  tok=$(swarm_dk m swarm join-token -q worker) || { echo "no join token"; return 1; }
  for n in w1 w2; do
    i=${n#w}
    swarm_dk "$n" swarm join --token "$tok" --advertise-addr "10.231.0.$((i + 1))" \
      --listen-addr "10.231.0.$((i + 1)):2377" 10.231.0.1:2377 >"$SWARM_DIR/join-$n.log" 2>&1 ||
      { echo "$n could not join: $(tr '\n' ' ' <"$SWARM_DIR/join-$n.log")"; return 1; }
  done
  for i in $(seq 300); do
    [ "$(swarm_dk m node ls --format '{{.Status}}' 2>/dev/null | grep -c Ready)" = 3 ] && return 0
    sleep 0.1
  done
  echo "the swarm has not three Ready nodes: $(swarm_dk m node ls 2>&1 | tr '\n' ' ')"
  return 1
}
swarm_busybox() {
  local img=$1
  mkdir -p "$img/bin" "$img/tmp" "$img/proc" "$img/sys" "$img/dev" "$img/etc"
  cp "$(command -v busybox)" "$img/bin/busybox"
  for a in $("$img/bin/busybox" --list); do [ -e "$img/bin/$a" ] || ln -s busybox "$img/bin/$a"; done
}
swarm_image() { tar -C "$3" -c . | swarm_dk "$1" import - "$2" >/dev/null; }
# swarm_agent_image DIR ASH [SERVICE...]: busybox plus the aftershock binary ASH at
# /usr/bin/aftershock, each SERVICE program in /usr/bin/services/ (where
# {services_dir} resolves beside the binary), and every library ldd names, the
# agents' image tree.
swarm_agent_image() {
  local l img=$1 p libc
  swarm_busybox "$img"
  mkdir -p "$img/usr/bin"
  cp "$2" "$img/usr/bin/aftershock"
  shift 2
  [ $# = 0 ] || mkdir -p "$img/usr/bin/services"
  for p in "$@"; do cp "$p" "$img/usr/bin/services/"; done
  # libgcc_s too, from libc's directory: glibc loads it (dlopen, so ldd does not
  # name it) for pthread_exit's unwinding, which the phones service uses.
  libc=$(ldd "$img/usr/bin/aftershock" | awk '$1 == "libc.so.6" {print $3}')
  for l in $(for p in "$img/usr/bin/aftershock" "$@"; do ldd "$p"; done | grep -o '/[^ ]*' | sort -u) \
    $(ls "$(dirname "$libc")/libgcc_s.so.1" 2>/dev/null); do
    mkdir -p "$img$(dirname "$l")"
    cp -L "$l" "$img$l"
  done
}
# swarm_agents_gone: waits (up to 10 s: Swarm removes a removed service's tasks
# on its own time) until no node has a container of an aftershock-* service;
# returns 1 when some are still there.
swarm_agents_gone() {
  local i n left
  for i in $(seq 100); do
    left=0
    for n in $SWARM_NODES; do
      [ -z "$(swarm_dk "$n" ps -aq --filter label=com.docker.swarm.service.name 2>/dev/null |
        xargs -r docker -H "unix://$(swarm_sock "$n")" inspect -f '{{index .Config.Labels "com.docker.swarm.service.name"}}' 2>/dev/null |
        grep aftershock-)" ] || left=1
    done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  return 1
}
swarm_stop() {
  [ -n "$SWARM_DIR" ] || return 0
  local n pid i ids
  for n in w2 w1 m; do
    [ -S "$SWARM_DIR/$n/d.sock" ] || continue
    [ "$n" = m ] && swarm_dk m service rm $(swarm_dk m service ls -q 2>/dev/null) >/dev/null 2>&1
    swarm_dk "$n" swarm leave --force >/dev/null 2>&1
    ids=$(swarm_dk "$n" ps -aq 2>/dev/null)
    [ -z "$ids" ] || swarm_dk "$n" rm -f $ids >/dev/null 2>&1
  done
  for n in $SWARM_NODES; do
    pid=$(cat "$SWARM_DIR/$n/d.pid" 2>/dev/null)
    [ -n "$pid" ] || pid=${SWARM_PID[$n]:-}
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null
  done
  for n in $SWARM_NODES; do
    pid=$(cat "$SWARM_DIR/$n/d.pid" 2>/dev/null)
    [ -n "$pid" ] || pid=${SWARM_PID[$n]:-}
    [ -n "$pid" ] || continue
    for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    [ -z "${SWARM_PID[$n]:-}" ] || wait "${SWARM_PID[$n]}" 2>/dev/null
  done
  # docker_gwbridge (the swarm makes it on every node), docker0 and br-* a daemon
  # made live in its node's namespace: deleting the namespace deletes them.
  for n in $SWARM_NODES; do ip netns del "$(swarm_ns "$n")" 2>/dev/null; done
  ip netns del "$SWARM_COORD_NS" 2>/dev/null
  grep -F " $SWARM_DIR/" /proc/self/mounts | awk '{print $2}' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
}
swarm_leftovers() {
  local n pid
  for n in $SWARM_NODES; do
    pid=$(cat "$SWARM_DIR/$n/d.pid" 2>/dev/null)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "node $n's dockerd (pid $pid) still runs"
    ip netns list | grep -q "^$(swarm_ns "$n")\b" && echo "namespace $(swarm_ns "$n") still exists"
  done
  ip netns list | grep -q "^$SWARM_COORD_NS\b" && echo "namespace $SWARM_COORD_NS still exists"
  # Links of the kinds a daemon or this file makes, new since swarm_start. Another
  # test's private dockerd (one this file did not start) makes br-* and veth*
  # links of its own: those two kinds are checked only when no such daemon runs.
  local kinds="docker0|docker_gwbridge|$SWARM_TAG"
  pgrep -x dockerd >/dev/null || kinds="$kinds|br-|veth"
  ip -br link | awk '{print $1}' | sort | comm -13 "$SWARM_DIR/links.before" - |
    awk '$1 ~ /^('"$kinds"')/ {print "link " $1 " in the host namespace"}'
  grep -F " $SWARM_DIR/" /proc/self/mounts | awk '{print "mount " $2}'
  pgrep -f "containerd-shim.*$SWARM_DIR" >/dev/null && echo "a containerd-shim of the swarm still runs"
  return 0
}
