#!/usr/bin/env bash
# Independent leftover scanner: looks at kernel and process state directly
# (not at aftershock's journal) for anything an aftershock run or test left:
# network namespaces (a sandbox host's, a sandbox's hub holding its bridge; also those
# named in another mount namespace: a container's),
# links (here and in every other network namespace: a fleet node's, a
# container's), qdiscs on ash links, nftables tables, cgroups,
# stopped processes, processes blocked in a seccomp user notification,
# processes carrying a run id, pending journals.
# Exit 0: nothing found; 1: something found (each on a "leftover:" line);
# 2: the scan could not be done (ip, tc or nft missing or failing): a scanner
# that cannot look must not say "no leftovers".
# tests/integration/leftovers_selftest.sh plants each kind and checks it is found.
set -u
found=0
say() { echo "leftover: $*"; found=1; }
cannot() { echo "check-leftovers: cannot scan: $*" >&2; exit 2; }
for tool in ip tc nft; do
  command -v "$tool" >/dev/null 2>&1 || cannot "$tool is not installed (iproute2, nftables)"
done

namespaces=$(ls /run/netns 2>/dev/null | grep -E '^ash' || true)
for ns in $namespaces; do say "network namespace $ns"; done
links=$(ip -o link show) || cannot "ip link show failed"
links=$(echo "$links" | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^ash' || true)
for l in $links; do say "link $l"; done
# The qdiscs aftershock adds (netem, tbf, htb: src/sys/qdisc.c) on ash links
# here and on every link inside an ash namespace (a sandbox host's eth0).
qdiscs() { # where (for the message), dev-regex, then the command that runs tc
  local where=$1 devs=$2; shift 2
  "$@" qdisc show 2>/dev/null | awk -v where="$where" -v devs="$devs" '$2 ~ /^(netem|tbf|htb)$/ {
    dev = ""; for (i = 3; i < NF; i++) if ($i == "dev") dev = $(i + 1)
    if (dev ~ devs) print $2 " " $3 " on " dev where }'
}
while IFS= read -r q; do [ -n "$q" ] && say "qdisc $q"; done < <(
  qdiscs "" '^ash' tc
  for ns in $namespaces; do qdiscs " in network namespace $ns" '.' ip netns exec "$ns" tc; done)
tables=$(nft list tables) || cannot "nft list tables failed"
for t in $(echo "$tables" | awk '{print $3}' | grep -E '^ash' || true); do say "nftables table $t"; done
# ash links inside other network namespaces: a fleet agent makes its bridge, veths
# and VXLAN in its node's namespace, which on a test swarm is a named namespace
# (lib/swarm.sh) or a process's own. Named namespaces here, each once.
ash_links() { "$@" -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^ash' || true; }
declare -A named=()
for p in /run/netns/*; do
  ns=${p##*/}
  ino=$(stat -L -c %i "$p" 2>/dev/null) || continue
  named[$ino]=1
  for l in $(ash_links ip -n "$ns"); do say "link $l in network namespace $ns"; done
done
# Namespaces no name in /run/netns points at (a container's, a process's own): aftershock
# harms them only through a table of its own (ash-...) and a qdisc on their eth0. One
# process per namespace, found from /proc; the machine's own and ash-named ones are
# scanned above. A netem/tbf/htb on a container's eth0 is reported too: on a test
# machine nothing else puts one there.
if command -v nsenter >/dev/null 2>&1; then
  # This scanner's own namespace too: where pid 1 is a container's init, the
  # machine's namespace (scanned above) is not pid 1's.
  skip=" $(stat -L -c %i /proc/1/ns/net 2>/dev/null) $(stat -L -c %i /proc/self/ns/net 2>/dev/null)"
  for ns in $namespaces; do skip="$skip $(stat -L -c %i "/run/netns/$ns" 2>/dev/null)"; done
  declare -A seen=()
  for d in /proc/[0-9]*; do
    ino=$(stat -L -c %i "$d/ns/net" 2>/dev/null) || continue
    case "$skip " in *" $ino "*) continue ;; esac
    [ -n "${seen[$ino]:-}" ] && continue
    seen[$ino]=1
    pid=${d#/proc/}
    where=" in the network namespace of pid $pid ($(cat "$d/comm" 2>/dev/null))"
    for t in $(nsenter -t "$pid" -n nft list tables 2>/dev/null | awk '{print $3}' | grep -E '^ash' || true); do
      say "nftables table $t$where"
    done
    while IFS= read -r q; do [ -n "$q" ] && say "qdisc $q"; done < <(qdiscs "$where" '^eth0$' nsenter -t "$pid" -n tc)
    [ -n "${named[$ino]:-}" ] && continue
    for l in $(ash_links nsenter -t "$pid" -n ip); do say "link $l$where"; done
  done
  # Named namespaces in another mount namespace's /run/netns: a fleet agent in a
  # swarm task names its hosts' namespaces inside its task. A name the machine's
  # /run/netns has too (a sandbox host's copy of it) is reported above.
  declare -A mnts=()
  mnts[$(stat -L -c %i /proc/self/ns/mnt 2>/dev/null)]=1
  for d in /proc/[0-9]*; do
    ino=$(stat -L -c %i "$d/ns/mnt" 2>/dev/null) || continue
    [ -n "${mnts[$ino]:-}" ] && continue
    mnts[$ino]=1
    for p in "$d"/root/run/netns/ash*; do
      ns=${p##*/}
      [ -e "$p" ] && [ ! -e "/run/netns/$ns" ] || continue
      say "network namespace $ns in the mount namespace of pid ${d#/proc/} ($(cat "$d/comm" 2>/dev/null))"
    done
  done
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
  run=$({ tr '\0' '\n' <"$env"; } 2>/dev/null | sed -n 's/^ASH_RUN_ID=//p' | head -1)
  say "process $pid ($(cat /proc/$pid/comm 2>/dev/null)) of aftershock run ${run:-?}"
done
# A test's daemon (dockerd, containerd, podman, Prometheus...) that outlived the test:
# its command line names the test's directory under /tmp/ash-*, and that directory is
# gone (the test removed it but not the process, as a backgrounded shell function's
# $! is a subshell's pid, not the daemon's).
for cmd in /proc/[0-9]*/cmdline; do
  pid=${cmd#/proc/}; pid=${pid%/cmdline}
  [ "$pid" = "$$" ] && continue
  dir=$({ tr '\0' '\n' <"$cmd"; } 2>/dev/null | grep -oE '/tmp/ash-[^/]+' | head -1)
  [ -n "$dir" ] && [ ! -e "$dir" ] && say "process $pid ($(cat /proc/$pid/comm 2>/dev/null)) of a test whose directory $dir is gone"
done
for j in /run/aftershock/*.journal; do [ -e "$j" ] && say "journal $j"; done
[ "$found" = 0 ] && echo "no leftovers"
exit "$found"
