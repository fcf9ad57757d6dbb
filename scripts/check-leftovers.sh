#!/usr/bin/env bash
# Independent leftover scanner: looks at kernel and process state directly
# (not at aftershock's journal) for anything an aftershock run or test left:
# network namespaces, links, qdiscs on ash links, nftables tables, cgroups,
# stopped processes, processes blocked in a seccomp user notification,
# processes carrying a run id, pending journals.
set -u
found=0
say() { echo "leftover: $*"; found=1; }

for ns in $(ls /run/netns 2>/dev/null | grep -E '^ash' || true); do say "network namespace $ns"; done
for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^ash' || true); do say "link $l"; done
if command -v nft >/dev/null 2>&1; then
  for t in $(nft list tables 2>/dev/null | awk '{print $3}' | grep -E '^ash' || true); do say "nftables table $t"; done
fi
# Each cgroup once (/sys/fs/cgroup at depth 2 sees the v1 and unified roots too).
for d in $(for root in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/memory /sys/fs/cgroup/freezer /sys/fs/cgroup/cpu; do
  [ -d "$root" ] && find "$root" -maxdepth 2 -type d -name 'ash-*' 2>/dev/null
done | sort -u); do say "cgroup $d"; done
for pid in $(ps -eo pid=,stat= | awk '$2 ~ /^T/ {print $1}'); do
  say "stopped process $pid ($(cat /proc/$pid/comm 2>/dev/null))"
done
# A syscall fault holds a call by not answering its seccomp notification; once
# the fault is reverted (or the harness that listened has died, closing the
# listener) no process may still wait there. Read from the kernel's wait
# channel (its stack where wchan is hidden), not from aftershock's journal;
# the holders of listener fds ("anon_inode:seccomp notify") are named, since
# a duplicate of the listener kept alive elsewhere is what leaves a call stuck.
seccomp_listeners() {
  local fd pid
  find /proc/[0-9]*/fd -maxdepth 1 -lname 'anon_inode:seccomp notify' 2>/dev/null | while IFS= read -r fd; do
    pid=${fd#/proc/}; pid=${pid%%/*}
    echo "$pid ($(cat /proc/$pid/comm 2>/dev/null))"
  done | sort -u | paste -sd, - | sed 's/,/, /g'
}
seccomp_waiting() { # pid...: those of them (all when none given) waiting in a seccomp notification
  local pid chan w
  if [ $# = 0 ]; then
    set -- /proc/[0-9]*
    set -- "${@#/proc/}"
  fi
  for pid in "$@"; do
    w=/proc/$pid/wchan
    [ "$pid" = "$$" ] && continue
    chan=""
    IFS= read -r chan 2>/dev/null <"$w" || [ -n "$chan" ] || continue # no newline at its end; no fork per process
    case $chan in
      seccomp_do_user_notification*) ;;
      0 | "") grep -q seccomp_do_user_notification "/proc/$pid/stack" 2>/dev/null || continue ;;
      *) continue ;;
    esac
    echo "$pid"
  done
}
# Seen twice 200 ms apart: a call another program's supervisor (a container
# runtime) answers at once is not counted, a call nobody answers is.
waiting=$(seccomp_waiting)
if [ -n "$waiting" ]; then
  sleep 0.2
  # shellcheck disable=SC2086 # pids, one word each
  waiting=$(seccomp_waiting $waiting)
fi
if [ -n "$waiting" ]; then
  listeners=$(seccomp_listeners)
  for pid in $waiting; do
    say "process $pid ($(cat /proc/$pid/comm 2>/dev/null)) blocked in a seccomp user notification" \
      "(listener held by: ${listeners:-nobody})"
  done
fi
# One grep over every environment (NUL-separated variables).
for env in $(grep -lza '^ASH_RUN_ID=' /proc/[0-9]*/environ 2>/dev/null); do
  pid=${env#/proc/}; pid=${pid%/environ}
  [ "$pid" = "$$" ] && continue
  say "process $pid ($(cat /proc/$pid/comm 2>/dev/null)) of an aftershock run"
done
for j in /run/aftershock/*.journal; do [ -e "$j" ] && say "journal $j"; done
[ "$found" = 0 ] && echo "no leftovers"
exit "$found"
