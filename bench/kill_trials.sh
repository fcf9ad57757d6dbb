#!/usr/bin/env bash
# Many kill trials (issue 9): tests/integration/kill_trials.sh with N SIGKILL
# and M SIGINT trials per scenario (every fault kind: process/exec, table-lock,
# host-crash, network, memory-exhaustion on a host and on a service, syscall,
# dns) instead of the test's few, then the trials, kill points and leftovers by
# kill point. With N >= 5 every scenario takes every kill window in turn (the
# guardian alternating; N >= 10: every window in both modes). Usage:
#   bash bench/kill_trials.sh [N=50] [M=N/2]      (root for the sandbox, memory and
#                                                 syscall scenarios; after a build in build/)
# ASH_KILL_ONLY="net dns" limits it to some scenarios; ASH_KILL_SEED repeats a run.
set -eu
cd "$(dirname "$0")/.."
n=${1:-50}
m=${2:-$((n / 2))}
export ASH_BUILD_DIR=${ASH_BUILD_DIR:-$PWD/build}
export ASH_SOURCE_DIR=$PWD ASH_KILL_TRIALS=$n ASH_INT_TRIALS=$m ASH_KILL_TRIALS_NEW=$n ASH_INT_TRIALS_NEW=$m
[ -x "$ASH_BUILD_DIR/aftershock" ] || { echo "build first: cmake -S . -B build && cmake --build build"; exit 1; }
start=$(date +%s)
st=0
bash tests/integration/kill_trials.sh || st=$?
echo "bench kill_trials: $(($(date +%s) - start)) s"
exit $st
