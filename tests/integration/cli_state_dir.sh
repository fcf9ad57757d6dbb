#!/usr/bin/env bash
# A state directory that cannot take the journal is the environment's problem
# (issue 22 item 9): exit 3, the kernel's own reason, and a hint about
# --state-dir, before anything is injected. Cases: full before the run (a small
# tmpfs, filled), and host mode as a user who cannot create it (nobody).
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-statedir-XXXXXX)
M=$T/full
mounted=0
cleanup() {
  [ "$mounted" = 1 ] && umount "$M" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
[ "$(id -u)" = 0 ] || ash_skip_all "needs root (mounts a tmpfs, switches to nobody)"

cat > "$T/s.yaml" <<YAML
version: 1
name: state-dir
probes:
  - name: ok
    exec: ["true"]
    every: 50ms
faults:
  - name: mark
    kind: exec
    inject: ["touch", "$T/injected"]
    revert: ["rm", "-f", "$T/injected"]
    duration: 100ms
expect:
  warmup: 100ms
  stable_for: 100ms
  timeout: 5s
YAML
chmod 755 "$T"
chmod 644 "$T/s.yaml"

# -- full before the run
mkdir -p "$M"
mount -t tmpfs -o size=64k,mode=0700 tmpfs "$M" && mounted=1
dd if=/dev/zero of="$M/fill" bs=4k 2>/dev/null
out=$("$ASH" run --quiet --no-guardian --state-dir "$M" --report-dir "$T/reports" "$T/s.yaml" 2>&1); st=$?
check "full state dir: exit 3" '[ $st = 3 ]'
check "full state dir: says No space left on device" 'printf "%s" "$out" | grep -q "No space left on device"'
check "full state dir: hints at --state-dir" 'printf "%s" "$out" | grep -q -- "--state-dir"'
check "full state dir: nothing injected, no journal left" '[ ! -e "$T/injected" ] && ! ls "$M"/*.journal >/dev/null 2>&1'
umount "$M" && mounted=0

# -- host mode as a user who may not create the state directory
mkdir -m 0700 "$T/root-only"
mkdir -m 0777 "$T/nobody-reports"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if as_nobody test -x "$ASH"; then
  out=$(as_nobody "$ASH" run --quiet --no-guardian --state-dir "$T/root-only/state" --report-dir "$T/nobody-reports" "$T/s.yaml" 2>&1); st=$?
  check "non-root, unwritable --state-dir: exit 3" '[ $st = 3 ]'
  check "non-root, unwritable --state-dir: Permission denied with a --state-dir hint" \
    'printf "%s" "$out" | grep -q "Permission denied" && printf "%s" "$out" | grep -q -- "--state-dir DIR"'
  # the default, /run/aftershock: missing (cannot be made) or root's (refused); either way exit 3 with the hint
  out=$(as_nobody "$ASH" run --quiet --no-guardian --report-dir "$T/nobody-reports" "$T/s.yaml" 2>&1); st=$?
  check "non-root, default state dir: exit 3 with a --state-dir hint" '[ $st = 3 ] && printf "%s" "$out" | grep -q -- "--state-dir"' ||
    printf '%s\n' "$out"
  check "non-root: nothing injected" '[ ! -e "$T/injected" ]'
else
  echo "FAIL nobody cannot execute $ASH (its directory must be searchable by others)"
  fail=1
fi
exit "$fail"
