#!/usr/bin/env bash
# Many kill trials (issue 9): tests/integration/kill_trials.sh with N SIGKILL
# and M SIGINT trials per fault kind instead of the test's few, then the
# trials, kill points and leftovers by kill point. Usage:
#   bash bench/kill_trials.sh [N=50] [M=N/2]      (root for host-crash; after a build in build/)
set -eu
cd "$(dirname "$0")/.."
n=${1:-50}
m=${2:-$((n / 2))}
export ASH_BUILD_DIR=${ASH_BUILD_DIR:-$PWD/build}
export ASH_SOURCE_DIR=$PWD ASH_KILL_TRIALS=$n ASH_INT_TRIALS=$m
[ -x "$ASH_BUILD_DIR/aftershock" ] || { echo "build first: cmake -S . -B build && cmake --build build"; exit 1; }
start=$(date +%s)
bash tests/integration/kill_trials.sh
st=$?
echo "bench kill_trials: $(($(date +%s) - start)) s"
exit $st
