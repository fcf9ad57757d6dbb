# A process's cgroup and the kernel's word on whether it is frozen, on any of
# the three layouts a machine may have: cgroup v1 (a freezer hierarchy),
# hybrid (v1 plus the unified tree at /sys/fs/cgroup/unified, this machine
# kind) or v2 alone (/sys/fs/cgroup, a stock Debian 12 under systemd, where
# a dockerd may use the systemd driver: system.slice/docker-ID.scope).

# ash_cgroup_of PID: its cgroup, relative to a hierarchy's root (no leading
# /): the freezer hierarchy's where there is one, else the unified one's.
ash_cgroup_of() {
  local cg
  cg=$(sed -n 's/^[0-9]*:freezer://p' "/proc/$1/cgroup" 2>/dev/null)
  [ -n "$cg" ] || cg=$(sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null)
  echo "${cg#/}"
}

# ash_cgroup_frozen CG: 0 when the kernel says CG is frozen, through the v2
# freezer (cgroup.events, where the unified tree has the cgroup) or the v1 one.
ash_cgroup_frozen() {
  grep -qx "frozen 1" "/sys/fs/cgroup/unified/$1/cgroup.events" 2>/dev/null ||
    grep -qx "frozen 1" "/sys/fs/cgroup/$1/cgroup.events" 2>/dev/null ||
    [ "$(cat "/sys/fs/cgroup/freezer/$1/freezer.state" 2>/dev/null)" = FROZEN ]
}

# ash_cgroup_exists CG: the cgroup is there in some hierarchy.
ash_cgroup_exists() {
  [ -d "/sys/fs/cgroup/freezer/$1" ] || [ -d "/sys/fs/cgroup/unified/$1" ] || [ -d "/sys/fs/cgroup/$1" ]
}

# ash_cgroup_thaw CG: thaw it in every freezer that has it (cleanup paths).
ash_cgroup_thaw() {
  { echo 0 >"/sys/fs/cgroup/unified/$1/cgroup.freeze"; } 2>/dev/null
  { echo 0 >"/sys/fs/cgroup/$1/cgroup.freeze"; } 2>/dev/null
  { echo THAWED >"/sys/fs/cgroup/freezer/$1/freezer.state"; } 2>/dev/null
  return 0
}
