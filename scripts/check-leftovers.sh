#!/usr/bin/env bash
# Independent leftover scanner: looks at kernel and process state directly
# (not at aftershock's journal) for anything an aftershock run or test left:
# network namespaces, links, qdiscs on ash links, nftables tables, cgroups,
# stopped processes, processes carrying a run id, pending journals.
set -u
found=0
say() { echo "leftover: $*"; found=1; }

for ns in $(ls /run/netns 2>/dev/null | grep -E '^ash' || true); do say "network namespace $ns"; done
for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^ash' || true); do say "link $l"; done
if command -v nft >/dev/null 2>&1; then
  for t in $(nft list tables 2>/dev/null | awk '{print $3}' | grep -E '^ash' || true); do say "nftables table $t"; done
fi
for root in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/memory /sys/fs/cgroup/freezer /sys/fs/cgroup/cpu; do
  [ -d "$root" ] || continue
  for d in $(find "$root" -maxdepth 2 -type d -name 'ash-*' 2>/dev/null); do say "cgroup $d"; done
done
for pid in $(ps -eo pid=,stat= | awk '$2 ~ /^T/ {print $1}'); do
  say "stopped process $pid ($(cat /proc/$pid/comm 2>/dev/null))"
done
for env in /proc/[0-9]*/environ; do
  pid=${env#/proc/}; pid=${pid%/environ}
  [ "$pid" = "$$" ] && continue
  if grep -qza '^ASH_RUN_ID=' "$env" 2>/dev/null; then
    say "process $pid ($(cat /proc/$pid/comm 2>/dev/null)) of an aftershock run"
  fi
done
for j in /run/aftershock/*.journal; do [ -e "$j" ] && say "journal $j"; done
[ "$found" = 0 ] && echo "no leftovers"
exit "$found"
