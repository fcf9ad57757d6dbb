#!/usr/bin/env bash
# Proof by trials (issue 9): kill `aftershock run` with SIGKILL at random
# moments (before injection, warm-up, fault in effect, during a revert, after
# it) for each fault kind that can run here, with the guardian and without it
# (then `aftershock recover`), and interrupt it with SIGINT (orderly abort:
# report with verdict 'aborted'); after every trial scripts/check-leftovers.sh,
# the independent scanner, plus per-kind checks (flag file, SQLite lock) must
# find nothing. Prints every trial, its kill point and the leftovers found.
#
# ASH_KILL_TRIALS=N    SIGKILL trials per scenario (default 5: every window once,
#                      the guardian alternating; 10 cover every window in both modes)
# ASH_INT_TRIALS=N     SIGINT trials per scenario (default 2)
# ASH_KILL_SEED=N      random seed (default: time); printed, to repeat a run
# bench/kill_trials.sh runs many more.
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ASH=$B/aftershock
KILL_TRIALS=${ASH_KILL_TRIALS:-5}
INT_TRIALS=${ASH_INT_TRIALS:-2}
SEED=${ASH_KILL_SEED:-$(date +%s)}
RANDOM=$SEED
T=$(mktemp -d /tmp/ash-kt-XXXXXX)
# Every process of a trial's `aftershock run` inherits this mark (services,
# lock holders, the guardian, commands): its leftovers are told apart from
# other users' processes. Only the harness gets it, not this script.
MARK="ASH_KILL_TRIALS_MARK=ash-kt-$$"
fail=0 trials=0 leftovers_total=0

marked_pids() {
  local env pid
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}; pid=${pid%/environ}
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
    grep -qzxF "$MARK" "$env" 2>/dev/null || continue
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
    echo "$pid"
  done
}

cleanup() {
  local p
  for p in $(marked_pids); do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT

# Seconds (float) since an epoch in ns.
now_ns() { date +%s%N; }

# --- the scenarios -----------------------------------------------------------

# process stop + exec with a slow revert (a revert window wide enough to hit).
cat > "$T/stop-exec.yaml" <<YAML
version: 1
name: kt-stop-exec
services:
  - name: sleeper
    command: [sleep, "600"]
probes:
  - name: alive
    exec: ["true"]
    every: 50ms
faults:
  - name: freeze
    kind: process
    target: sleeper
    action: stop
    duration: 500ms
  - name: flag
    kind: exec
    inject: [touch, "$T/flag"]
    revert: [sh, -c, "sleep 0.3; rm -f '$T/flag'"]
    duration: 400ms
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 10s
YAML

# table-lock: SQLite lock held by a holder stopped mid-way (interrupt: stop).
python3 - "$T/calls.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("create table call_records(x)"); c.commit()
PY
cat > "$T/lock.yaml" <<YAML
version: 1
name: kt-lock
services:
  - name: sleeper
    command: [sleep, "600"]
probes:
  - name: db
    sql: { sqlite: "$T/calls.db", query: "SELECT count(*) FROM call_records" }
    every: 50ms
    timeout: 100ms
faults:
  - name: lock
    kind: table-lock
    sqlite: { path: "$T/calls.db", table: call_records }
    interrupt: stop
    duration: 500ms
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 10s
YAML

# host-crash freeze in a one-host sandbox (root, network namespaces, cgroups).
cat > "$T/crash.yaml" <<YAML
version: 1
name: kt-crash
hosts:
  - name: kthost
    services:
      - name: sleeper
        command: [sleep, "600"]
probes:
  - name: alive
    exec: ["true"]
    every: 50ms
faults:
  - name: crash
    kind: host-crash
    host: kthost
    mode: freeze
    duration: 500ms
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 10s
YAML

# --- per-kind checks beyond the scanner ----------------------------------------

extra_leftovers() { # scenario
  case $1 in
    stop-exec) [ -e "$T/flag" ] && echo "leftover: exec fault still in effect ($T/flag exists)" ;;
    lock)
      python3 - "$T/calls.db" <<'PY' || echo "leftover: SQLite database $T/calls.db still locked"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=0)
c.execute("BEGIN EXCLUSIVE"); c.execute("ROLLBACK")
PY
      ;;
  esac
  local j
  for j in "$T"/state/*.journal; do [ -e "$j" ] && echo "leftover: journal $j"; done
  local p
  for p in $(marked_pids); do echo "leftover: process $p ($(cat /proc/$p/comm 2>/dev/null)) of the trials"; done
}

# The scanner's findings that belong to this trial: processes carrying the
# mark, and kernel objects named with one of the trial's run ids (kernel
# objects are named ash-<run id>...). Other engineers' tests may run on this
# machine at the same time: their objects are counted apart, not as ours.
scan() { # ids-file
  local line pid id ours
  bash "$S/scripts/check-leftovers.sh" 2>/dev/null | grep '^leftover:' >"$T/scan"
  # A namespace of our sandbox host names its run even if the id was missed.
  sed -nE 's/^leftover: network namespace ash-([0-9a-f]+)-kthost$/\1/p' "$T/scan" >>"$1"
  while IFS= read -r line; do
    case $line in
      "leftover: stopped process "* | "leftover: process "*)
        pid=$(echo "$line" | sed -E 's/^leftover: (stopped )?process ([0-9]+).*/\2/')
        grep -qzxF "$MARK" "/proc/$pid/environ" 2>/dev/null && echo "$line"
        continue ;;
      "leftover: journal "*) continue ;; # /run/aftershock: ours live in $T/state
    esac
    ours=no
    while read -r id; do
      [ -n "$id" ] || continue
      case $line in *"ash-$id"* | *"ash$id"*) ours=yes ;; esac
    done <"$1"
    if [ $ours = yes ]; then echo "$line"; else echo "$line" >>"$T/foreign"; fi
  done <"$T/scan"
}

# Collect the run ids of the harness pid $1 from its journal's name, every 10 ms while it lives.
watch_ids() { # pid ids-file
  while kill -0 "$1" 2>/dev/null; do
    for j in "$T"/state/*.journal; do [ -e "$j" ] && basename "$j" .journal; done
    sleep 0.01
  done | sort -u >>"$2"
}

wait_unmarked() { # seconds: until no process of the trials is left (guardian, recover)
  local i
  for ((i = 0; i < $1 * 10; i++)); do [ -z "$(marked_pids)" ] && return 0; sleep 0.1; done
  return 1
}

# --- calibration: one undisturbed run gives the moments of each window ----------

# Event times (seconds since launch) from one complete run's progress lines.
calibrate() { # scenario -> sets W_* (seconds, float)
  local log=$T/cal-$1.log t0 t1
  t0=$(now_ns)
  env "$MARK" "$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/cal" "$T/$1.yaml" >"$log" 2>&1
  local st=$?
  t1=$(now_ns)
  if [ $st != 0 ]; then
    echo "calibration run of $1 failed (exit $st):"; sed 's/^/  /' "$log"; return 1
  fi
  # "[name #1   0.318 s] event ..." -> "0.318 event ...". Offsets are from
  # the run start, which is within a few ms of launch.
  sed -E 's/^\[[^]]*#[0-9]+ +([0-9.]+)( s)?\] +(.*)$/\1 \3/' "$log" >"$log.t"
  W_WARM=$(awk '$2 == "phase" && $3 == "warm-up" {print $1; exit}' "$log.t")
  W_FAULTS=$(awk '$2 == "phase" && $3 == "faults" {print $1; exit}' "$log.t")
  W_INJ=$(awk '$2 == "fault-injected" {t = $1} END {print t}' "$log.t")
  W_REV=$(awk '$2 == "fault-reverted" {t = $1} END {print t}' "$log.t")
  W_END=$(awk '$2 == "run-end" {print $1; exit}' "$log.t")
  if [ -z "$W_WARM" ] || [ -z "$W_FAULTS" ] || [ -z "$W_INJ" ] || [ -z "$W_REV" ] || [ -z "$W_END" ]; then
    echo "calibration of $1: cannot read the phase times from:"; sed 's/^/  /' "$log"; return 1
  fi
  W_TOTAL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
  # The revert window: the fault's duration has elapsed, its revert has not returned.
  W_REVSTART=$(awk -v i="$W_INJ" -v r="$W_REV" -v s="$1" 'BEGIN {
    d = (s == "stop-exec") ? 0.4 : 0.5; printf "%.3f", (i + d < r - 0.005) ? i + d : r - 0.05 }')
  echo "calibrated $1: warm-up ${W_WARM}s, faults ${W_FAULTS}s, injected ${W_INJ}s," \
    "revert ${W_REVSTART}..${W_REV}s, end ${W_END}s, exit after ${W_TOTAL}s"
  rm -rf "$T/cal"
}

# A random moment in window k: 0 setup, 1 warm-up, 2 injected, 3 during revert, 4 after revert.
pick_moment() { # k -> "label seconds"
  local lo hi label
  case $1 in
    0) label="setup (before injection)"; lo=0; hi=$W_WARM ;;
    1) label="warm-up (before injection)"; lo=$W_WARM; hi=$W_FAULTS ;;
    2) label="fault in effect"; lo=$W_INJ; hi=$W_REVSTART ;;
    3) label="during revert"; lo=$W_REVSTART; hi=$W_REV ;;
    *) label="after revert"; lo=$W_REV; hi=$W_END ;;
  esac
  awk -v lo="$lo" -v hi="$hi" -v r="$RANDOM" -v l="$label" 'BEGIN {
    if (hi < lo) hi = lo; printf "%s|%.3f\n", l, lo + (hi - lo) * r / 32767 }'
}

# --- one trial --------------------------------------------------------------------

trial() { # scenario signal(KILL|INT) guardian(yes|no) window
  local scen=$1 sig=$2 guard=$3 k=$4 ids=$T/ids moment label delay h st found w opts=()
  : >"$ids"
  : >"$T/foreign"
  moment=$(pick_moment "$k"); label=${moment%|*}; delay=${moment#*|}
  [ "$guard" = no ] && opts=(--no-guardian)
  rm -rf "$T/reports"
  env "$MARK" "$ASH" run "${opts[@]}" -q --state-dir "$T/state" --report-dir "$T/reports" "$T/$scen.yaml" \
    >"$T/run.log" 2>&1 &
  h=$!
  watch_ids "$h" "$ids" &
  w=$!
  sleep "$delay"
  kill -"$sig" "$h" 2>/dev/null
  wait "$h" 2>/dev/null; st=$?
  wait "$w"
  for j in "$T"/state/*.journal; do [ -e "$j" ] && basename "$j" .journal >>"$ids"; done
  trials=$((trials + 1))
  local what="SIGKILL" problems=""
  if [ "$sig" = INT ]; then
    what="SIGINT"
    # An orderly abort: exit 1 with a report whose verdict is 'aborted' (or
    # the run's own verdict when it had already ended). The one exception: a
    # signal that comes before main() (while the loader runs) takes the
    # default action; then nothing may have been started at all.
    local rep
    rep=$(ls "$T"/reports/*/report.json 2>/dev/null | head -1)
    if [ $st = 130 ]; then
      label="before main"
      [ -d "$T/reports" ] && problems+=" killed-by-SIGINT-after-starting"
    elif [ $st -gt 1 ]; then
      problems+=" exit-status-$st"
    elif [ -z "$rep" ]; then
      problems+=" no-report"
    elif ! grep -qE '"verdict": "(aborted|pass|fail)"' "$rep"; then
      problems+=" report-verdict-$(grep -o '"verdict": "[a-z]*"' "$rep" | head -1)"
    elif [ $st = 0 ] && [ "$k" -lt 4 ]; then
      problems+=" run-not-aborted" # interrupted before its end, it still passed
    fi
    wait_unmarked 10
  elif [ "$guard" = yes ]; then
    wait_unmarked 10 # the guardian reverts, then exits
  else
    # Without a guardian: what a user does after the machine's harness died.
    "$ASH" recover --state-dir "$T/state" >"$T/recover.log" 2>&1 || problems+=" recover-failed"
    wait_unmarked 10
  fi
  found=$( (scan "$ids"; extra_leftovers "$scen") | sort -u)
  local n=0
  [ -n "$found" ] && n=$(echo "$found" | wc -l)
  leftovers_total=$((leftovers_total + n))
  echo "$scen|$what|$guard|$label|$n" >>"$T/summary"
  printf '%-10s %-7s guardian=%-3s at %6.3fs %-27s exit %3s  leftovers %d%s\n' \
    "$scen" "$what" "$guard" "$delay" "($label)" "$st" "$n" "${problems:+  PROBLEM:$problems}"
  if [ -n "$found" ]; then echo "$found" | sed 's/^/    /'; fail=1; fi
  [ -s "$T/foreign" ] && echo "    (not counted: $(sort -u "$T/foreign" | wc -l) objects of other runs on this machine)"
  if [ -n "$problems" ]; then sed 's/^/    run: /' "$T/run.log" | tail -5; fail=1; fi
  # Clean up whatever was found, so the next trial starts clean.
  if [ -n "$found" ]; then
    for p in $(marked_pids); do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
    "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
    rm -f "$T/flag"
  fi
}

run_scenario() { # scenario
  calibrate "$1" || { fail=1; return; }
  local i
  for ((i = 0; i < KILL_TRIALS; i++)); do
    # Window i%5; the guardian alternates across windows and rounds, so ten
    # trials cover every window in both modes.
    local guard=no
    (((i % 5 + i / 5) % 2 == 0)) && guard=yes
    trial "$1" KILL "$guard" $((i % 5))
  done
  for ((i = 0; i < INT_TRIALS; i++)); do
    trial "$1" INT yes $(((i * 2 + 1) % 5))
  done
}

# Job control: the harness starts as a foreground program would, with SIGINT
# at its default action (a background job of a script has it ignored).
set -m
echo "kill trials: seed $SEED, $KILL_TRIALS SIGKILL + $INT_TRIALS SIGINT trials per scenario"
run_scenario stop-exec
run_scenario lock
if [ "$(id -u)" != 0 ]; then
  echo "skip host-crash: sandbox hosts need root"
elif ! ip netns add ash-kt-probe$$ 2>/dev/null; then
  echo "skip host-crash: cannot create a network namespace here"
else
  ip netns del ash-kt-probe$$
  run_scenario crash
fi
if [ -s "$T/summary" ]; then
  echo "by kill point (trials / leftovers):"
  awk -F'|' '{k = sprintf("  %-10s %-7s %-27s guardian=%s", $1, $2, $4, $3); n[k]++; l[k] += $5}
    END {for (k in n) printf "%s  %3d / %d\n", k, n[k], l[k]}' "$T/summary" | sort
fi
echo "kill trials: $trials trials, $leftovers_total leftovers"
exit $fail
