# A PRIVATE Docker daemon for one test (source it). Never touches the system's
# socket or any daemon this file did not start; the daemon runs with no iptables,
# no bridge, and its data, exec root and socket under the test's own directory.
#
#   dockerd_start DIR      start it (DIR short: unix socket paths are <= 107 chars);
#                          sets DOCKER_SOCK, DOCKER_HOST_URL, and `dk` runs the docker
#                          CLI against it. Returns 1 with the reason on stdout.
#   dockerd_image NAME     import a busybox-only image offline (no registry)
#   dockerd_image_with NAME PROGRAM [SRC:DEST ...]
#                          the same plus an installed program and its libraries (ldd)
#   dockerd_stop           remove containers and networks, stop the daemon by its pid, wait,
#                          delete a docker0 it left, unmount anything under DIR
#   dockerd_lacks          prints why this machine cannot run one, returns 0 if so
DOCKERD_DIR=""
DOCKERD_PID=""
dockerd_lacks() {
  [ "$(id -u)" = 0 ] || { echo "needs root to run a private dockerd"; return 0; }
  command -v dockerd >/dev/null || { echo "no dockerd (scripts/install-deps.sh --test installs docker.io)"; return 0; }
  command -v docker >/dev/null || { echo "no docker CLI (docker.io)"; return 0; }
  command -v busybox >/dev/null || { echo "no busybox (busybox-static) for the offline test image"; return 0; }
  return 1
}
dk() { docker -H "unix://$DOCKER_SOCK" "$@"; }
dockerd_start() {
  DOCKERD_DIR=$1
  mkdir -p "$DOCKERD_DIR/root" "$DOCKERD_DIR/exec"
  DOCKER_SOCK=$DOCKERD_DIR/d.sock
  DOCKER_HOST_URL=unix://$DOCKER_SOCK
  dockerd --iptables=false --ip6tables=false --bridge=none --data-root "$DOCKERD_DIR/root" \
    --exec-root "$DOCKERD_DIR/exec" -H "unix://$DOCKER_SOCK" --pidfile "$DOCKERD_DIR/d.pid" \
    >"$DOCKERD_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  local i
  for i in $(seq 300); do
    if dk version >/dev/null 2>&1; then return 0; fi
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the private dockerd did not come up: $(tail -3 "$DOCKERD_DIR/dockerd.log" | tr '\n' ' ')"
  return 1
}
_busybox_tree() { # DIR: busybox and its applets, the directories a container needs
  local img=$1
  mkdir -p "$img/bin" "$img/tmp" "$img/proc" "$img/sys" "$img/dev" "$img/etc"
  chmod 1777 "$img/tmp"
  cp "$(command -v busybox)" "$img/bin/busybox"
  chroot "$img" /bin/busybox --install -s /bin 2>/dev/null ||
    for a in $("$img/bin/busybox" --list); do ln -sf busybox "$img/bin/$a"; done
}
dockerd_image() {
  local img=$DOCKERD_DIR/img
  _busybox_tree "$img"
  tar -C "$img" -c . | dk import - "$1" >/dev/null
}
# dockerd_image_with NAME PROGRAM|- [SRC:DEST ...]: the busybox image plus an
# installed program (a Debian package's binary) with every library ldd lists for it,
# users root and nobody, and each file SRC copied to DEST: a real program in an
# image built offline. Returns 1 with the reason on stdout.
dockerd_image_with() {
  local name=$1 prog=$2 img=$DOCKERD_DIR/img-$1 f lib
  shift 2
  _busybox_tree "$img"
  if [ "$prog" != - ]; then
    [ -x "$prog" ] || { echo "no $prog (scripts/install-deps.sh --test installs it)"; return 1; }
    for f in "$prog" $(ldd "$prog" | grep -o '/[^ ]*'); do
      mkdir -p "$img$(dirname "$f")"
      cp -L "$f" "$img$f" || { echo "cannot copy $f into the image"; return 1; }
    done
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$img/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$img/etc/group"
  for f in "$@"; do
    mkdir -p "$img$(dirname "${f#*:}")"
    cp -p "${f%%:*}" "$img${f#*:}" || { echo "cannot copy ${f%%:*} into the image"; return 1; }
  done
  tar -C "$img" -c . | dk import - "$name" >/dev/null || { echo "docker import of $name failed"; return 1; }
}
dockerd_stop() {
  [ -n "$DOCKERD_DIR" ] || return 0
  local nets=""
  if [ -S "$DOCKER_SOCK" ]; then
    local ids
    ids=$(dk ps -aq 2>/dev/null)
    [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1
    # A network the test made is a br-<id> link in the host's namespace, and a
    # stopped daemon leaves it there: remove the networks while it runs.
    nets=$(dk network ls -q --filter type=custom --no-trunc 2>/dev/null)
    [ -z "$nets" ] || dk network rm $nets >/dev/null 2>&1
  fi
  local pid
  pid=$(cat "$DOCKERD_DIR/d.pid" 2>/dev/null)
  [ -n "$pid" ] || pid=$DOCKERD_PID
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local i
    for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  [ -z "$DOCKERD_PID" ] || wait "$DOCKERD_PID" 2>/dev/null
  # --bridge=none makes none, but an older daemon may have: only delete it when
  # nothing else uses it (a system daemon's docker0 has its containers' veths).
  if ip link show docker0 >/dev/null 2>&1 && [ -z "$(ls /sys/class/net/docker0/brif 2>/dev/null)" ] &&
    ! pgrep -x dockerd >/dev/null; then
    ip link del docker0 2>/dev/null
  fi
  local n
  for n in $nets; do # whatever the daemon could not remove itself
    ip link show "br-${n:0:12}" >/dev/null 2>&1 && ip link del "br-${n:0:12}" 2>/dev/null
  done
  local m
  grep -F " $DOCKERD_DIR/" /proc/self/mounts | awk '{print $2}' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  DOCKERD_DIR=""
}
