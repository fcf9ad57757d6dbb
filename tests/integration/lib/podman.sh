# A PRIVATE Podman for one test (source it), reached through its Docker-compatible
# API socket (`podman system service`). Rootful, with its own storage root, runroot,
# tmpdir and network config under the test's directory (vfs storage: no mounts), the
# cgroupfs manager, containers on --network none only (a namespace of their own, no
# firewall or bridge on the machine). What Podman still makes outside that directory
# (its libpod_parent cgroups, /var/lib/containers/cache) is removed at the end when it
# was not there before.
#
#   podman_lacks          prints why this machine cannot run it, returns 0 if so
#   podman_start DIR      the API service; sets PODMAN_SOCK, `pm` runs the CLI on DIR
#   podman_image NAME     import a busybox-only image offline
#   podman_stop           remove containers, stop the service by pid, clean up
PODMAN_DIR=""
PODMAN_PID=""
podman_lacks() {
  [ "$(id -u)" = 0 ] || { echo "needs root to run a private rootful podman"; return 0; }
  command -v podman >/dev/null || { echo "no podman (apt-get install podman)"; return 0; }
  command -v busybox >/dev/null || { echo "no busybox (busybox-static) for the offline test image"; return 0; }
  return 1
}
pm() {
  podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --tmpdir "$PODMAN_DIR/tmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --network-config-dir "$PODMAN_DIR/net" "$@"
}
podman_start() {
  PODMAN_DIR=$1
  mkdir -p "$PODMAN_DIR"
  PODMAN_HAD_CACHE=0
  [ -e /var/lib/containers ] && PODMAN_HAD_CACHE=1
  PODMAN_HAD_CG=$(find /sys/fs/cgroup -maxdepth 2 -name libpod_parent 2>/dev/null)
  PODMAN_SOCK=$PODMAN_DIR/p.sock
  # The command itself in the background, not the `pm` function: a backgrounded
  # function is a subshell, so $! would be the subshell's pid and podman, its
  # child, would outlive the kill in podman_stop.
  podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --tmpdir "$PODMAN_DIR/tmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --network-config-dir "$PODMAN_DIR/net" \
    system service --time=0 "unix://$PODMAN_SOCK" >"$PODMAN_DIR/service.log" 2>&1 &
  PODMAN_PID=$!
  local i
  for i in $(seq 100); do
    [ -S "$PODMAN_SOCK" ] && curl -sf --unix-socket "$PODMAN_SOCK" http://d/v1.41/_ping >/dev/null 2>&1 && return 0
    kill -0 "$PODMAN_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the private podman service did not come up: $(tail -3 "$PODMAN_DIR/service.log" | tr '\n' ' ')"
  return 1
}
podman_image() {
  local img=$PODMAN_DIR/img
  mkdir -p "$img/bin" "$img/tmp" "$img/proc" "$img/sys" "$img/dev" "$img/etc"
  cp "$(command -v busybox)" "$img/bin/busybox"
  chroot "$img" /bin/busybox --install -s /bin 2>/dev/null || return 1
  tar -C "$img" -c . | pm import -c "ENV PATH=/bin" - "$1" >/dev/null 2>&1
}
# podman_run NAME ARGS...: a container on no network (its own namespace, only lo);
# this machine's hard limits are below podman's default rlimits, so they are set.
podman_run() {
  local n=$1
  shift
  pm run -d --name "$n" --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$@" >/dev/null
}
podman_stop() {
  [ -n "$PODMAN_DIR" ] || return 0
  pm rm -af -t 1 >/dev/null 2>&1
  if [ -n "$PODMAN_PID" ] && kill -0 "$PODMAN_PID" 2>/dev/null; then
    kill -TERM "$PODMAN_PID"
    local i
    for i in $(seq 50); do kill -0 "$PODMAN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PODMAN_PID" 2>/dev/null && kill -KILL "$PODMAN_PID"
    wait "$PODMAN_PID" 2>/dev/null
  fi
  local d m
  for d in $(find /sys/fs/cgroup -maxdepth 2 -name libpod_parent 2>/dev/null); do
    echo "$PODMAN_HAD_CG" | grep -qxF "$d" && continue
    rmdir "$d"/*/ 2>/dev/null # libpod-ID, conmon: empty once the containers are gone
    rmdir "$d" 2>/dev/null
  done
  [ "$PODMAN_HAD_CACHE" = 1 ] || rm -rf /var/lib/containers
  grep -F " $PODMAN_DIR/" /proc/self/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  PODMAN_DIR=""
}
