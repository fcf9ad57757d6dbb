#!/usr/bin/env bash
# Control characters from outside never reach the terminal (issue 22 item 8):
# an alert name with ESC, BEL and CR posted to the webhook receiver shows up
# escaped (\x1b, \x07, \r) in the progress log, and so does a scenario's
# own text quoted by a validation error on stderr.
set -u
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-escape-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
raw() { LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]' "$1"; } # control bytes other than \n

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The evil name: clear the screen, set the window title, ring, go back to the line start.
# YAML's double-quoted "\e", "\a" and "\r" put the raw bytes into the argv.
cat > "$T/escape.yaml" <<YAML
version: 1
name: terminal-escape
services:
  - name: monitor
    command: ["$B/tests/ash_alertpost", "--port", "$port", "--alertname", "Paged",
              "--also", "Evil\e[2J\e]0;pwned\a\rX", "--ready-file", "$T/ready"]
    ready: { exec: [test, -e, "$T/ready"] }
probes:
  - name: alive
    exec: [true]
    every: 100ms
detectors:
  - name: pager
    webhook: { listen: "127.0.0.1:$port", alertname: Paged }
faults:
  - name: page
    kind: process
    target: monitor
    action: signal
    signal: SIGUSR1
expect:
  warmup: 300ms
  stable_for: 1s
  timeout: 5s
YAML
"$ASH" run --state-dir "$T/state" --report-dir "$T/reports" "$T/escape.yaml" > "$T/out" 2> "$T/err"; st=$?
check "the run passes (exit $st)" '[ $st = 0 ]'
check "the evil alert reached the progress log (alert-firing)" 'grep -q "alert-firing.*Evil" "$T/err"'
check "escaped there: \\x1b[2J\\x1b]0;pwned\\x07\\rX" 'grep -qF "Evil\\x1b[2J\\x1b]0;pwned\\x07\\rX" "$T/err"'
check "no raw control byte in the progress log ($(raw "$T/err") lines)" '[ "$(raw "$T/err")" = 0 ]'
check "none in the summary either" '[ "$(raw "$T/out")" = 0 ]'
rep=$(ls -d "$T"/reports/terminal-escape-*/ | head -1)report.json
check "report.json keeps the real name (JSON-escaped)" 'grep -qF "Evil\\u001B[2J" "$rep" || grep -qF "Evil\\u001b[2J" "$rep"'

# stderr that quotes the scenario: a target name with ESC and BEL
printf 'version: 1\nname: x\nservices:\n  - name: s\n    command: [sleep, "1"]\nfaults:\n  - name: f\n    kind: process\n    target: "a\\e[31mb\\a"\n' > "$T/bad.yaml"
"$ASH" validate "$T/bad.yaml" 2> "$T/verr"; st=$?
check "validate refuses it (exit $st)" '[ $st = 2 ]'
check "the message quotes it escaped: $(cat "$T/verr")" 'grep -qF "a\\x1b[31mb\\x07" "$T/verr"'
check "no raw control byte in the message" '[ "$(raw "$T/verr")" = 0 ]'

# A deprecated key's warning quotes the scenario: a target name cannot carry a
# control byte (names are letters, digits, '-', '_', '.'), but the file name it
# starts with can, and the warning printed it raw.
evil="$T/dep"$'\e[31m'".yaml"
printf 'version: 1\nname: x\nhosts:\n  - name: web\n    services:\n      - name: api\n        command: [x]\nfaults:\n  - name: f\n    kind: host-crash\n    host: web\n' > "$evil"
"$ASH" validate "$evil" 2> "$T/werr"; st=$?
check "validate accepts the deprecated key (exit $st)" '[ $st = 0 ]'
check "the warning quotes the file escaped: $(head -1 "$T/werr")" 'grep -qF "dep\x1b[31m.yaml:11:11: warning: '"'"'host: web'"'"' is deprecated" "$T/werr"'
check "no raw control byte in the warning" '[ "$(raw "$T/werr")" = 0 ]'

# An unknown command and a bad option value come from the command line, and are quoted.
"$ASH" $'x\e[31m\a' 2> "$T/cerr"; st=$?
check "an unknown command is a usage error (exit $st)" '[ $st = 2 ]'
check "it is quoted escaped: $(head -1 "$T/cerr")" 'grep -qF "unknown command '"'"'x\x1b[31m\x07'"'"'" "$T/cerr"'
check "no raw control byte in the message" '[ "$(raw "$T/cerr")" = 0 ]'
for opt in --repeat --timescale --tolerance; do
  "$ASH" run "$opt" $'1\e[31m' "$T/escape.yaml" 2> "$T/oerr"; st=$?
  check "$opt with a bad value is refused (exit $st)" '[ $st != 0 ] && grep -qF "not '"'"'1\x1b[31m'"'"'" "$T/oerr"'
  check "$opt: no raw control byte in the message" '[ "$(raw "$T/oerr")" = 0 ]'
done
"$ASH" run $'--x\e[31m' "$T/escape.yaml" 2> "$T/oerr"; st=$?
check "an unknown option is refused (exit $st), quoted escaped: $(head -1 "$T/oerr")" \
  '[ $st = 2 ] && grep -qF "unknown option or missing value: '"'"'--x\x1b[31m'"'"'" "$T/oerr"'
check "unknown option: no raw control byte in the message" '[ "$(raw "$T/oerr")" = 0 ]'
exit $fail
