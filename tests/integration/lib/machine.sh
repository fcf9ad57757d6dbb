# What this machine can do, read from the kernel's own files (never from
# `aftershock doctor`, the tool under test), for the tests' skip decisions.
# machine_lacks FEATURE...: prints why and returns 0 for the first feature this
# machine lacks; returns 1 when it has them all. Features: root, cgroup2,
# "memory controller", freezer, "seccomp user notification", "network
# namespace", "mount namespace", bridge, "veth pair", "qdisc tbf", nftables,
# relay (the userspace link relay: network namespaces and veth pairs),
# forwarding (the machine's own firewall does not drop forwarded packets by
# default; only what a test's traffic through this namespace's forward hook
# needs, and asked only to explain such traffic failing).
ash_kconfig=""
ash_kmod() { # CONFIG_ symbol: built in or a module, per the kernel's config (/proc/config.gz, /boot)
  if [ -z "$ash_kconfig" ]; then
    ash_kconfig=$( (zcat /proc/config.gz || cat "/boot/config-$(uname -r)") 2>/dev/null | grep -E '=(y|m)$')
    [ -n "$ash_kconfig" ] || ash_kconfig=none
  fi
  printf '%s\n' "$ash_kconfig" | grep -qx "CONFIG_$1=[ym]"
}
machine_lacks() {
  local f
  for f in "$@"; do
    case $f in
      root) [ "$(id -u)" = 0 ] || { echo "needs root (effective uid $(id -u))"; return 0; } ;;
      cgroup2) [ -e /sys/fs/cgroup/cgroup.controllers ] || [ -e /sys/fs/cgroup/unified/cgroup.controllers ] ||
        { echo "no cgroup v2 at /sys/fs/cgroup or /sys/fs/cgroup/unified"; return 0; } ;;
      "memory controller")
        grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null || [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ] ||
          { echo "no memory controller in /sys/fs/cgroup/cgroup.controllers or /sys/fs/cgroup/memory"; return 0; } ;;
      freezer)
        [ -n "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -name cgroup.freeze -print -quit 2>/dev/null)" ] ||
          [ -e /sys/fs/cgroup/freezer/freezer.state ] || [ -d /sys/fs/cgroup/freezer ] ||
          { echo "no cgroup freezer (no cgroup.freeze below /sys/fs/cgroup, no v1 freezer)"; return 0; } ;;
      "seccomp user notification")
        grep -qw user_notif /proc/sys/kernel/seccomp/actions_avail 2>/dev/null ||
          { echo "no user_notif in /proc/sys/kernel/seccomp/actions_avail"; return 0; } ;;
      "network namespace") [ -e /proc/self/ns/net ] || { echo "no /proc/self/ns/net"; return 0; } ;;
      "mount namespace") [ -e /proc/self/ns/mnt ] || { echo "no /proc/self/ns/mnt"; return 0; } ;;
      bridge) ash_kmod BRIDGE || { echo "no CONFIG_BRIDGE in the kernel config"; return 0; } ;;
      "veth pair") ash_kmod VETH || { echo "no CONFIG_VETH in the kernel config"; return 0; } ;;
      "qdisc tbf") ash_kmod NET_SCH_TBF || { echo "no CONFIG_NET_SCH_TBF in the kernel config"; return 0; } ;;
      nftables) ash_kmod NF_TABLES || { echo "no CONFIG_NF_TABLES in the kernel config"; return 0; } ;;
      relay) machine_lacks "network namespace" "veth pair" && return 0 ;;
      forwarding) ash_forward_drops && return 0 ;;
      *) echo "machine_lacks: unknown feature '$f'"; return 0 ;;
    esac
  done
  return 1
}
# Prints why and returns 0 when this network namespace's firewall drops the IPv4
# it forwards by default: a chain on the forward hook with policy drop (nftables
# families ip, inet and bridge; ip6 carries none of the tests' traffic;
# iptables-nft's FORWARD among them: ufw, a dockerd with its iptables rules), or
# iptables-legacy's FORWARD policy DROP, asked only where its filter table
# already exists (listing it would load the module and make one).
ash_forward_drops() {
  local c
  if command -v nft >/dev/null; then
    c=$(nft list chains 2>/dev/null |
      awk '$1 == "table" {f = $2; t = $2 " " $3} $1 == "chain" {ch = $2}
        /hook forward/ && /policy drop/ && (f == "ip" || f == "inet" || f == "bridge") {print t ", chain " ch; exit}')
    if [ -n "$c" ]; then
      echo "this machine's firewall drops forwarded packets by default (nftables table $c: hook forward, policy drop)"
      return 0
    fi
  fi
  if grep -qx filter /proc/net/ip_tables_names 2>/dev/null && command -v iptables-legacy >/dev/null &&
    iptables-legacy -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD DROP'; then
    echo "this machine's firewall drops forwarded packets by default (iptables-legacy: FORWARD policy DROP)"
    return 0
  fi
  return 1
}

# The features a sandbox (hosts) needs.
ASH_SANDBOX_FEATURES=(root "network namespace" bridge "veth pair" "mount namespace")

# What the kinds a scenario file uses need from the kernel (for machine_lacks),
# one feature a line.
scenario_needs() { # scenario file
  local f=$1
  grep -q '^hosts:' "$f" && printf '%s\n' "${ASH_SANDBOX_FEATURES[@]}"
  grep -q 'kind: *host-crash' "$f" && echo freezer
  grep -q 'kind: *memory-exhaustion' "$f" && echo "memory controller"
  grep -q 'kind: *network' "$f" && printf '%s\n' "qdisc tbf" nftables relay
  grep -q 'kind: *syscall' "$f" && echo "seccomp user notification"
  echo root
}
