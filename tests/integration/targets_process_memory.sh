#!/usr/bin/env bash
# A memory limit on a process target's cgroup is refused when aftershock itself runs in
# that memory cgroup (or one below it): the limit would squeeze the harness too, and an
# OOM kill could take it before it reverts (found trying the tool as a new user: a
# process in the machine's shared cgroup got a limit without a word). The same process
# in a memory cgroup of its own is accepted, and so is a cgroup: target that is not
# aftershock's. Nothing is injected (validate --resolve and run's preflight only).
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:?}
ASH=$B/aftershock
. "$S/tests/integration/lib/skip.sh"
. "$S/tests/integration/lib/machine.sh"
why=$(machine_lacks root "memory controller") && ash_skip_all "$why"
if [ -e /sys/fs/cgroup/memory/cgroup.procs ]; then mem=/sys/fs/cgroup/memory; else mem=/sys/fs/cgroup; fi
T=$(mktemp -d /tmp/ash-tpm-XXXXXX)
cg=ash-tpm$$
fail=0 victim=""
cleanup() {
  [ -n "$victim" ] && kill "$victim" 2>/dev/null && wait "$victim" 2>/dev/null
  rmdir "$mem/$cg" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
scenario() { # TARGET
  printf 'version: 1\nname: tpm\nprobes: [{name: up, exec: ["true"]}]\nfaults:\n  - {name: squeeze, kind: memory-exhaustion, target: "%s", limit: 1GiB, at: 1s, duration: 1s}\n' "$1" >"$T/s.yaml"
}

sleep 300 &
victim=$!
scenario "process:pid=$victim"
out=$("$ASH" validate --resolve "$T/s.yaml" 2>&1); st=$?
check "a process in aftershock's own memory cgroup: validate --resolve exits 3 (got $st: $out)" \
  '[ $st = 3 ] && echo "$out" | grep -q "aftershock itself runs in its memory cgroup"'
out=$("$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/s.yaml" 2>&1); st=$?
check "... and run refuses it at its preflight, exit 3, no report (got $st)" '[ $st = 3 ] && [ ! -e "$T/r" ]'

if ! mkdir "$mem/$cg" || ! echo "$victim" >"$mem/$cg/cgroup.procs"; then
  echo "FAIL cannot make a memory cgroup $mem/$cg and move pid $victim into it (as root)"
  exit 1
fi
out=$("$ASH" validate --resolve "$T/s.yaml" 2>&1); st=$?
check "the same process in a memory cgroup of its own: accepted (got $st: $out)" '[ $st = 0 ]'
scenario "cgroup:$cg"
out=$("$ASH" validate --resolve "$T/s.yaml" 2>&1); st=$?
check "a cgroup: target aftershock is not in: accepted (got $st: $out)" '[ $st = 0 ]'
self=$(awk -F: '$2 == "memory" || ($1 == "0" && $2 == "") {print $3; exit}' /proc/self/cgroup)
if [ -n "$self" ] && [ "$self" != / ]; then
  scenario "cgroup:${self#/}"
  out=$("$ASH" validate --resolve "$T/s.yaml" 2>&1); st=$?
  check "a cgroup: target that holds aftershock (${self#/}): exit 3 (got $st: $out)" \
    '[ $st = 3 ] && echo "$out" | grep -q "aftershock itself runs in its memory cgroup"'
else
  ash_skip_part "this test runs in the root memory cgroup, which is no cgroup: target"
fi
ash_exit "$fail"
