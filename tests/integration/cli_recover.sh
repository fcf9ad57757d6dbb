#!/usr/bin/env bash
# CLI behaviour end to end: exit statuses, Ctrl-C abort reverts and reports,
# SIGKILL of the harness: the guardian reverts; with no guardian, `recover` does.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/journal.sh"
DEAD_START=$(ash_dead_start)
B=${ASH_BUILD_DIR:?}
SRC=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-cli-XXXXXX)
fail=0
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# -- usage and validation exit statuses
"$ASH" >/dev/null 2>&1; check "no command exits 2" '[ $? = 2 ]'
"$ASH" --version | grep -q '^aftershock '; check "--version" '[ $? = 0 ]'
"$ASH" run --help | grep -q -- '--repeat'; check "run --help lists --repeat" '[ $? = 0 ]'
printf 'version: 1\nname: x\nprobez: []\n' > "$T/bad.yaml"
out=$("$ASH" validate "$T/bad.yaml" 2>&1); st=$?
check "validate bad scenario exits 2" '[ $st = 2 ]'
check "error has file:line:col" 'echo "$out" | grep -q "bad.yaml:3:1:"'
"$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/reports" "$T/bad.yaml" >/dev/null 2>&1; st=$?
check "run bad scenario exits 2" '[ $st = 2 ]'
check "no report for invalid scenario" '[ ! -d "$T/reports" ] || [ -z "$(ls -A "$T/reports")" ]'

# -- a scenario whose fault SIGSTOPs a service for 30 s
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$T/stop.yaml" <<YAML
version: 1
name: stop-service
services:
  - name: target
    # nohup: the service ignores SIGHUP, so when the harness dies and the
    # kernel sends its orphaned process group SIGHUP+SIGCONT, it survives:
    # only aftershock's own undo can clean it up.
    command: ["nohup", "$B/tests/ash_target", "--port", "$port"]
    ready: { http: "http://127.0.0.1:$port/healthz" }
probes:
  - name: health
    http: { url: "http://127.0.0.1:$port/healthz" }
    every: 50ms
    timeout: 100ms
faults:
  - name: freeze
    kind: process
    target: target
    action: stop
    duration: 30s
expect:
  warmup: 300ms
  timeout: 60s
YAML
target_pid() { pgrep -f -x "$B/tests/ash_target --port $port" | head -1; }
wait_stopped() { for _ in $(seq 100); do p=$(target_pid); [ -n "$p" ] && [ "$(ps -o stat= -p "$p" | cut -c1)" = T ] && return 0; sleep 0.1; done; return 1; }

# Ctrl-C mid-fault: revert, stop services, report 'aborted', exit 1
"$ASH" run --no-guardian -q --state-dir "$T/state" --report-dir "$T/r1" "$T/stop.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
wait_stopped; check "fault stopped the service" '[ $? = 0 ]'
kill -INT "$h"; wait "$h"; st=$?
check "SIGINT run exits 1" '[ $st = 1 ]'
check "report says aborted" 'grep -q "\"verdict\": \"aborted\"" "$T"/r1/*/report.json'
check "no target left after abort" '[ -z "$(target_pid)" ]'
check "no journal left after abort" '[ -z "$(ls -A "$T/state" 2>/dev/null)" ]'

# SIGKILL with no guardian: the service stays stopped until `recover`
"$ASH" run --no-guardian -q --state-dir "$T/state" --report-dir "$T/r2" "$T/stop.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
wait_stopped; p=$(target_pid); pids+=("$p")
kill -KILL "$h"; wait "$h" 2>/dev/null
sleep 0.3
check "after SIGKILL the orphaned service survives" '[ -n "$(target_pid)" ]'
"$ASH" recover --state-dir "$T/state" >"$T/recover.out" 2>&1; st=$?
check "recover exits 0" '[ $st = 0 ]'
# What recover did, in words, one line per record: no raw JSON unless asked (-v).
check "recover says it continued the stopped service, in words: $(grep -m1 continued "$T/recover.out")" \
  'grep -Eq "^  continued service target \(pid [0-9]+\) with SIGCONT$" "$T/recover.out" && grep -q "^  killed the processes the run left" "$T/recover.out" && ! grep -q "[{}]" "$T/recover.out"'
# The killed run's directory says it did not finish (not an empty directory), and renders.
check "the killed run's report.json says unfinished, and how to recover" \
  'grep -q "\"verdict\": \"unfinished\"" "$T"/r2/*/report.json && grep -qF "aftershock recover --state-dir $T/state" "$T"/r2/*/report.json'
"$ASH" report "$T"/r2/*/ >/dev/null 2>&1; st=$?
check "aftershock report renders the killed run (exit $st): UNFINISHED" '[ $st = 0 ] && grep -q "Verdict: UNFINISHED" "$T"/r2/*/report.md'
# A --state-dir that is not there (a typo after an incident) is an error, not "nothing to recover".
out=$("$ASH" recover --state-dir "$T/no-such-state" 2>&1); nst=$?
check "recover with a --state-dir that does not exist: exit 2 naming it (exit $nst): $out" \
  '[ $nst = 2 ] && echo "$out" | grep -q "no state directory $T/no-such-state: nothing was checked"'
sleep 0.3
check "recover killed the orphaned service" '[ -z "$(target_pid)" ]'
check "recover emptied the state dir" '[ -z "$(ls -A "$T/state")" ]'

# SIGKILL with the guardian: it reverts by itself
"$ASH" run -q --state-dir "$T/state" --report-dir "$T/r3" "$T/stop.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
wait_stopped; p=$(target_pid); pids+=("$p")
kill -KILL "$h"; wait "$h" 2>/dev/null
for _ in $(seq 50); do [ -z "$(target_pid)" ] && break; sleep 0.1; done
check "guardian killed the orphaned service" '[ -z "$(target_pid)" ]'
check "guardian emptied the state dir" '[ -z "$(ls -A "$T/state")" ]'

# -- the harness watches its guardian (issue 22 item 7): SIGKILL of the
# guardian mid-fault gets a new one for the same journal and a timeline
# event; a SIGKILL of the harness after that is still reverted by the new one.
# The guardian is found as the harness's child running `__guardian`, by pid.
guardian_of() { # HARNESS-PID: its guardian's pid
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    tr '\0' ' ' < /proc/"$c"/cmdline 2>/dev/null | grep -q "^$ASH __guardian " && { echo "$c"; return; }
  done
}
new_guardian() { # HARNESS-PID OLD-GUARDIAN: wait up to 5 s for another guardian
  local g
  for _ in $(seq 50); do
    g=$(guardian_of "$1"); [ -n "$g" ] && [ "$g" != "$2" ] && { echo "$g"; return; }
    sleep 0.1
  done
}
"$ASH" run --state-dir "$T/state" --report-dir "$T/r5" "$T/stop.yaml" >"$T/r5.log" 2>&1 &
h=$!; pids+=("$h")
wait_stopped; p=$(target_pid); pids+=("$p")
g1=$(guardian_of "$h")
check "the run has a guardian (pid ${g1:-none})" '[ -n "$g1" ]'
kill -KILL "$g1"
g2=$(new_guardian "$h" "$g1")
check "a new guardian replaces the killed one (pid ${g2:-none})" '[ -n "$g2" ] && kill -0 "$g2"'
check "the new guardian watches the same journal and harness" \
  'tr "\0" " " < /proc/$g2/cmdline | grep -q "__guardian $T/state/[0-9a-f]*\.journal $h "'
check "the log has guardian-lost for pid $g1" 'grep -q "guardian-lost *guardian pid $g1 killed by SIGKILL" "$T/r5.log"'
check "the log has guardian-restarted for pid ${g2:-none}" 'grep -q "guardian-restarted *guardian pid $g2 " "$T/r5.log"'
check "the fault is still in effect" '[ "$(ps -o stat= -p "$p" | cut -c1)" = T ]'
kill -KILL "$h"; wait "$h" 2>/dev/null
for _ in $(seq 50); do [ -z "$(target_pid)" ] && [ -z "$(ls -A "$T/state")" ] && break; sleep 0.1; done
check "the new guardian killed the orphaned service" '[ -z "$(target_pid)" ]'
check "the new guardian emptied the state dir" '[ -z "$(ls -A "$T/state")" ]'
for _ in $(seq 30); do kill -0 "$g2" 2>/dev/null || break; sleep 0.1; done
check "the new guardian ended after its work" '! kill -0 "$g2" 2>/dev/null'

# The same loss in a run that ends normally: on its report's timeline.
sed -e 's/duration: 30s/duration: 2s/' "$T/stop.yaml" > "$T/stop2.yaml"
"$ASH" run -q --state-dir "$T/state" --report-dir "$T/r6" "$T/stop2.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
wait_stopped
g1=$(guardian_of "$h"); [ -n "$g1" ] && kill -KILL "$g1"
g2=$(new_guardian "$h" "$g1")
wait "$h"; st=$?
tl=$(python3 -c 'import json,sys,glob; r=json.load(open(glob.glob(sys.argv[1]+"/*/report.json")[0]))["runs"][0]; [print(e["event"], e["detail"]) for e in r["timeline"]]' "$T/r6" 2>&1)
check "the report's timeline has guardian-lost and guardian-restarted" \
  'echo "$tl" | grep -q "^guardian-lost guardian pid $g1 killed by SIGKILL" && echo "$tl" | grep -q "^guardian-restarted guardian pid $g2 "'
check "that run still passes (exit $st) and leaves no journal" '[ $st = 0 ] && [ -z "$(ls -A "$T/state")" ]'
for _ in $(seq 30); do kill -0 "$g2" 2>/dev/null || break; sleep 0.1; done
check "its guardian is stopped at the end" '! kill -0 "$g2" 2>/dev/null'

# No new guardian can be started (its executable is gone: the harness runs a
# copy, deleted mid-run, and re-executes the path it started from): the
# harness reverts at once and ends the run aborted, rather than go on unguarded.
cp "$ASH" "$T/ash-copy"
"$T/ash-copy" run --state-dir "$T/state" --report-dir "$T/r10" "$T/stop.yaml" >"$T/r10.log" 2>&1 &
h=$!; pids+=("$h")
wait_stopped; p=$(target_pid); pids+=("$p")
g1=""
for c in $(cat /proc/"$h"/task/*/children 2>/dev/null); do
  tr '\0' ' ' < /proc/"$c"/cmdline 2>/dev/null | grep -q "^$T/ash-copy __guardian " && g1=$c
done
check "the copy's run has a guardian (pid ${g1:-none})" '[ -n "$g1" ]'
rm -f "$T/ash-copy"
[ -n "$g1" ] && kill -KILL "$g1"
for _ in $(seq 100); do kill -0 "$h" 2>/dev/null || break; sleep 0.1; done
wait "$h"; st=$?
check "no new guardian: the run ends at once, exit 1 (got $st)" '[ $st = 1 ]'
check "the log says why: $(grep -o "no new one could be started.*" "$T/r10.log" | head -1)" \
  'grep -q "guardian-lost *guardian pid $g1 killed by SIGKILL" "$T/r10.log" && grep -q "the guardian (pid $g1) killed by SIGKILL and no new one could be started (.*No such file or directory" "$T/r10.log"'
check "the report says aborted" 'grep -q "\"verdict\": \"aborted\"" "$T"/r10/*/report.json'
check "the fault was reverted and the service stopped" '[ -z "$(target_pid)" ]'
check "no journal left" '[ -z "$(ls -A "$T/state")" ]'

# The issue's own case, in sandbox mode: SIGKILL of the guardian, then of the
# harness mid-partition. The replacement must take down the namespaces,
# bridge, veths, nftables table, cgroups and services (checked with the
# independent scanner, for this run's id only: other tests may run now).
if [ "$(id -u)" = 0 ]; then
  cat > "$T/sandbox.yaml" <<YAML
version: 1
name: guardian-sandbox
hosts:
  - name: a
  - name: b
    services:
      - name: idle
        command: [sleep, "600"]
probes:
  - name: up
    exec: ["true"]
    every: 100ms
faults:
  - name: part.x
    kind: network
    host: a
    partition: true
    duration: 30s
expect:
  warmup: 300ms
  timeout: 60s
YAML
  "$ASH" run --state-dir "$T/state" --report-dir "$T/r7" "$T/sandbox.yaml" >"$T/r7.log" 2>&1 &
  h=$!; pids+=("$h")
  for _ in $(seq 100); do grep -q "fault-injected" "$T/r7.log" && break; sleep 0.1; done
  run=$(basename "$(ls "$T"/state/*.journal 2>/dev/null | head -1)" .journal)
  ours() { # this run's objects (scanner) and processes (by their ASH_RUN_ID mark)
    bash "$SRC/scripts/check-leftovers.sh" 2>/dev/null | grep -E "ash-?$run|$run\.journal"
    grep -lzxF "ASH_RUN_ID=$run" /proc/[0-9]*/environ 2>/dev/null | grep -v "^/proc/$$/" | sed 's/^/process /'
  }
  check "sandbox: run $run is mid-fault with its objects up" '[ -n "$run" ] && [ -n "$(ours)" ]'
  g1=$(guardian_of "$h"); [ -n "$g1" ] && kill -KILL "$g1"
  g2=$(new_guardian "$h" "$g1")
  check "sandbox: a new guardian replaces pid ${g1:-none} (pid ${g2:-none})" '[ -n "$g1" ] && [ -n "$g2" ]'
  kill -KILL "$h"; wait "$h" 2>/dev/null
  for _ in $(seq 100); do [ -z "$(ours)" ] && [ -z "$(ls -A "$T/state" | grep -v '\.lock$')" ] && break; sleep 0.1; done
  left=$(ours)
  check "sandbox: the new guardian left nothing of run $run${left:+: $left}" '[ -z "$left" ]'
  check "sandbox: journal gone" '[ -z "$(ls "$T"/state/*.journal 2>/dev/null)" ]'
  check "sandbox: its files tree is gone" '[ -z "$(ls -d "$T"/r7/*/sandbox-* 2>/dev/null)" ]'

  # No guardian: after a SIGKILL, recover takes the sandbox down, its marked files tree included.
  "$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/r8" "$T/sandbox.yaml" >"$T/r8.log" 2>&1 &
  h=$!; pids+=("$h")
  for _ in $(seq 100); do grep -q "fault-injected" "$T/r8.log" && break; sleep 0.1; done
  run=$(basename "$(ls "$T"/state/*.journal 2>/dev/null | head -1)" .journal)
  files=$(ls -d "$T"/r8/*/sandbox-"$run" 2>/dev/null)
  check "sandbox, no guardian: run $run has its marked files tree ${files:-(none)}" \
    '[ -n "$files" ] && [ "$(cat "$files/.aftershock-sandbox")" = "$run" ]'
  kill -KILL "$h"; wait "$h" 2>/dev/null
  "$ASH" recover --state-dir "$T/state" >"$T/recover8.out" 2>&1; st=$?
  left=$(ours)
  check "sandbox, no guardian: recover exits 0 and leaves nothing of run $run${left:+: $left}" '[ $st = 0 ] && [ -z "$left" ]'
  check "sandbox, no guardian: recover removed the files tree" '[ -n "$files" ] && [ ! -e "$files" ]'
else
  ash_skip "sandbox guardian check: needs root"
fi

# -- a committed exec revert is carried out by recover after SIGKILL
sed -e '/^faults:/,$d' "$T/stop.yaml" > "$T/exec.yaml"
cat >> "$T/exec.yaml" <<YAML
faults:
  - name: marker
    kind: exec
    inject: ["touch", "$T/injected"]
    revert: ["touch", "$T/reverted"]
    duration: 30s
expect:
  warmup: 300ms
  timeout: 60s
YAML
"$ASH" run --no-guardian -q --state-dir "$T/state" --report-dir "$T/r4" "$T/exec.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
for _ in $(seq 100); do [ -e "$T/injected" ] && break; sleep 0.1; done
kill -KILL "$h"; wait "$h" 2>/dev/null
"$ASH" recover -v --state-dir "$T/state" >"$T/recover4.out" 2>&1; st=$?
check "recover runs the exec revert the journal committed to" '[ $st = 0 ] && [ -e "$T/reverted" ]'
check "recover -v: the words, and under them the record as journaled" \
  'grep -qF "  ran the fault'"'"'s revert command: touch $T/reverted" "$T/recover4.out" && grep -qF "    undone exec.revert {\"argv\":[\"touch\",\"$T/reverted\"]" "$T/recover4.out"'

# -- journals planted by another local user are never carried out (root code execution before)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  S=$(mktemp -d /tmp/ash-shared-XXXXXX); chmod 1777 "$S"
  mkdir "$T/hosts"; echo keep > "$T/hosts/file"
  cat > "$T/evil.txt" <<JOURNAL
{"journal":1,"run":"evil01","pid":1,"pid_start":$DEAD_START}
{"id":1,"op":"exec.revert","data":{"argv":["sh","-c","id > $T/pwned"],"timeout_ns":1000000000}}
{"id":2,"op":"sandbox.files","data":{"dir":"$T/hosts","run":"evil01"}}
JOURNAL
  setpriv --reuid 65534 --regid 65534 --clear-groups sh -c "cat > $S/evil01.journal" < "$T/evil.txt"
  harmless() { [ ! -e "$T/pwned" ] && [ -e "$T/hosts/file" ]; }
  out=$("$ASH" recover --state-dir "$S" 2>&1); st=$?
  check "a world-writable state dir is refused (exit 3)" '[ $st = 3 ] && echo "$out" | grep -q "writable by group or others"'
  check "  and nothing in it was carried out" harmless
  chmod 0700 "$S"
  out=$("$ASH" recover --state-dir "$S" 2>&1); st=$?
  check "a journal owned by another user is refused" '[ $st = 1 ] && echo "$out" | grep -q "owned by uid 65534"'
  check "  and nothing in it was carried out" harmless
  chown 0:0 "$S/evil01.journal"
  out=$("$ASH" recover --state-dir "$S" 2>&1); st=$?
  check "an uncommitted exec.revert record is refused" '[ $st = 1 ] && echo "$out" | grep -q "did not commit"'
  check "a tree without the run's marker is not removed" 'echo "$out" | grep -q "holds no marker of run evil01"'
  check "  and nothing in it was carried out" harmless
  check "  the refused records stay for a person to read" '[ -e "$S/evil01.journal" ]'
  rm -rf "$S"
else
  ash_skip "planted-journal checks: they need root and a 'nobody' user to plant as"
fi

# -- a state directory owned by another user is refused whole (issue 22): run
# starts nothing, recover carries out nothing, even a journal root wrote there
# whose header committed to its command.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  N=$(mktemp -d /tmp/ash-nobody-XXXXXX)
  cat > "$N/root.journal" <<JOURNAL
{"journal":1,"run":"root01","pid":1,"pid_start":$DEAD_START,"commit":[{"op":"exec.revert","data":{"argv":["touch","$T/pwned2"],"timeout_ns":1000000000}}]}
{"id":1,"op":"exec.revert","data":{"argv":["touch","$T/pwned2"],"timeout_ns":1000000000}}
JOURNAL
  chmod 0600 "$N/root.journal"; chown 65534:65534 "$N"
  sed -e "s|$T/injected|$T/injected-nobody|" "$T/exec.yaml" > "$T/exec-nobody.yaml"
  out=$("$ASH" run -q --state-dir "$N" --report-dir "$T/r9" "$T/exec-nobody.yaml" 2>&1); st=$?
  check "run refuses a state dir owned by nobody (exit $st): $out" \
    '[ $st = 3 ] && echo "$out" | grep -q "refusing state directory $N: owned by uid 65534"'
  check "  and started nothing (no service, no fault, no journal)" \
    '[ -z "$(target_pid)" ] && [ ! -e "$T/injected-nobody" ] && [ "$(ls "$N")" = root.journal ]'
  out=$("$ASH" recover --state-dir "$N" 2>&1); st=$?
  check "recover refuses a state dir owned by nobody (exit $st): $out" \
    '[ $st = 3 ] && echo "$out" | grep -q "refusing state directory $N: owned by uid 65534"'
  check "  and carried out nothing in it" '[ ! -e "$T/pwned2" ] && [ -e "$N/root.journal" ]'
  ln -s "$N" "$T/state-link"; chown 0:0 "$N"; chmod 0700 "$N"
  out=$("$ASH" recover --state-dir "$T/state-link" 2>&1); st=$?
  check "recover refuses a symlink for the state dir (exit $st)" \
    '[ $st = 3 ] && echo "$out" | grep -q "not a directory (a symlink is refused too)" && [ ! -e "$T/pwned2" ]'
  rm -rf "$N" "$T/state-link"

  # -- sandbox.files records: a marked tree of ours is removed, one owned by
  # another user is not, and a symlink in it (or for it) is never followed.
  P=$(mktemp -d /tmp/ash-files-XXXXXX)
  mkdir -p "$T/outside/deep"; echo keep > "$T/outside/file"; echo keep > "$T/outside/deep/file"
  tree() { # NAME RUN: a sandbox files tree marked with RUN, holding a symlink to $T/outside
    mkdir -p "$T/$1/hosts/a/etc"; echo x > "$T/$1/hosts/a/etc/hosts"; printf %s "$2" > "$T/$1/.aftershock-sandbox"
    ln -s "$T/outside" "$T/$1/hosts/b"; ln -s "$T/outside/file" "$T/$1/hosts/a/etc/resolv.conf"
  }
  plant() { # RUN DIR: a root-owned journal in the private dir $P with one sandbox.files record
    printf '{"journal":1,"run":"%s","pid":1,"pid_start":%s}\n{"id":1,"op":"sandbox.files","data":{"dir":"%s","run":"%s"}}\n' \
      "$1" "$DEAD_START" "$2" "$1" > "$P/$1.journal"; chmod 0600 "$P/$1.journal"
  }
  outside_intact() { [ "$(cat "$T/outside/file" "$T/outside/deep/file" 2>/dev/null)" = "$(printf 'keep\nkeep')" ]; }
  tree sandbox-good01 good01; plant good01 "$T/sandbox-good01"
  out=$("$ASH" recover --state-dir "$P" 2>&1); st=$?
  check "recover removes a marked tree of the run (exit $st)" '[ $st = 0 ] && [ ! -e "$T/sandbox-good01" ]'
  check "  without following the symlinks in it" outside_intact
  tree sandbox-other01 other01; chown -R 65534:65534 "$T/sandbox-other01"; plant other01 "$T/sandbox-other01"
  out=$("$ASH" recover --state-dir "$P" 2>&1); st=$?
  check "a marked tree owned by another user is refused (exit $st)" \
    '[ $st = 1 ] && echo "$out" | grep -q "not removing $T/sandbox-other01: not a directory this user owns" && [ -e "$T/sandbox-other01/hosts/a/etc/hosts" ]'
  rm -f "$P/other01.journal"
  tree real-link01 link01; ln -s "$T/real-link01" "$T/sandbox-link01"; plant link01 "$T/sandbox-link01"
  out=$("$ASH" recover --state-dir "$P" 2>&1); st=$?
  check "a symlink in place of the tree is refused, not followed (exit $st)" \
    '[ $st = 1 ] && echo "$out" | grep -q "a symlink is refused" && [ -e "$T/real-link01/hosts/a/etc/hosts" ] && outside_intact'
  rm -rf "$P"
else
  ash_skip "state dir and files-tree ownership checks: they need root and a 'nobody' user"
fi

ash_exit "$fail"
