#!/usr/bin/env bash
# Network faults on containers (docs/targets.md) against a real, PRIVATE Docker engine
# (lib/dockerd.sh, --internal network, traffic only between its containers): a
# partition and a bandwidth cap placed inside a container's own network namespace
# (seen by the other container), reverted exactly; the forms a container refuses
# (validate, exit 2) and the targets that cannot be harmed (no such container, one on
# the host's network: exit 3, nothing placed); a SIGKILL of the harness mid-fault
# undone by `recover` inside the container's namespace, and a container replaced
# since (new namespace) left alone; the log detector on a container's stream timed
# by the engine's own stamp on the line; nothing of aftershock's left in any container.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/dockerd.sh"
. "$(dirname "$0")/lib/machine.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
why=$(dockerd_lacks) && ash_skip_all "$why"
command -v nsenter >/dev/null && command -v nft >/dev/null && command -v tc >/dev/null ||
  ash_skip_all "needs nsenter, nft and tc to look inside the containers' namespaces"
T=$(mktemp -d /tmp/ash-tn-XXXXXX)
fail=0
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null; done
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  dockerd_stop
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

dockerd_start "$T/d" >"$T/why" || { echo "FAIL $(cat "$T/why")"; exit 1; }
dockerd_image ash-busybox || { echo "FAIL cannot import the busybox image"; exit 1; }
dk network create --internal ash-tn-net >/dev/null
for c in ca cb; do
  dk run -d --name $c --network ash-tn-net --label tier=pair ash-busybox sh -c \
    'mkdir -p /www && dd if=/dev/zero of=/www/f bs=1024 count=256 2>/dev/null && exec httpd -f -p 80 -h /www' >/dev/null
done
dk run -d --name cc --network ash-tn-net ash-busybox sleep 1000 >/dev/null
dk run -d --name hostnet --network host ash-busybox sleep 1000 >/dev/null
check "private engine runs four containers" '[ "$(dk ps -q | wc -l)" = 4 ]'
cpid() { dk inspect -f '{{.State.Pid}}' "$1"; }
cip() { dk inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
inns() { local c=$1; shift; nsenter -t "$(cpid "$c")" -n "$@"; }
ash_tables() { inns "$1" nft list tables 2>/dev/null | grep -c ' ash-'; }
root_qdisc() { inns "$1" tc qdisc show dev eth0 | awk 'NR==1 {print $2}'; }
reach() { dk exec ca ping -c 1 -W 1 "$(cip cb)" >/dev/null 2>&1; } # a -> b and back
# Bridged between two containers, the packets pass this namespace's forward
# hook where br_netfilter is loaded: a firewall that drops forwarded packets by
# default (ufw; a dockerd with its iptables rules, which we turn off) stops
# them before any fault, and nothing below could show a fault's effect.
# Only where bridged frames meet that hook: br_netfilter handing them to IPv4's
# (bridge-nf-call-iptables), or a drop in the bridge family itself.
if ! reach && why=$(machine_lacks forwarding) &&
  { [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] || [[ $why == *"table bridge "* ]]; }; then
  ash_skip_all "container a cannot reach b on their bridge before any fault: $why"
fi
check "a reaches b before any fault" 'reach'
check "b's eth0 has the kernel's own qdisc (noqueue)" '[ "$(root_qdisc cb)" = noqueue ]'
base_tables=$(inns cb nft list tables 2>/dev/null | wc -l)

# scenario NAME TARGET FAULT-LINES [DURATION]: host mode (no hosts:), one probe, one fault.
scenario() {
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
faults:
  - name: f
    target: $2
$3
    at: 0s
    duration: ${4:-3s}
expect:
  warmup: 200ms
  timeout: 90s
YAML
}
run() { "$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/$1.yaml" >"$T/$1.out" 2>&1; }
run_bg() {
  "$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/r" "$T/$1.yaml" >"$T/$1.out" 2>&1 &
  h=$!; bg+=("$h")
}
waitfor() { local i; for i in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }

# -- validate: what a container takes, and what it refuses (exit 2, file:line:col)
scenario v-part container:cb "    kind: network
    partition: true"
scenario v-cap container:cb "    kind: network
    bandwidth: 1mbit
    direction: egress
    port: 80
    protocol: tcp"
scenario v-proc process:pid=4242 "    kind: network
    loss: 10%"
for v in v-part v-cap v-proc; do
  out=$(DOCKER_HOST=unix:///nonexistent "$ASH" validate "$T/$v.yaml" 2>&1); st=$?
  check "validate $v (no hosts:, no engine needed)" '[ $st = 0 ]'
  [ $st = 0 ] || echo "  got: $out"
done
bad() { # NAME TARGET FAULT-LINES WANT
  local want="$1.yaml:$4"
  scenario "$1" "$2" "$3"
  out=$("$ASH" validate "$T/$1.yaml" 2>&1); st=$?
  check "validate refuses $1 (exit 2, $4)" '[ $st = 2 ] && echo "$out" | grep -qF "$want"'
  [ $st = 2 ] || echo "  got: $out"
}
bad b-both container:cb "    kind: network
    delay: 50ms" "12:12: on a container, bandwidth and delay act on what it sends"
bad b-cgroup cgroup:system.slice/x.service "    kind: network
    partition: true" "10:13: 'network' needs a target with a network namespace of its own; cgroup"
bad b-relay container:cb "    kind: network
    delay: 50ms
    direction: egress
    mechanism: relay" "14:16: the userspace relay sits on a sandbox host's link"
bad b-xt container:cb "    kind: network
    partition: true
    cross_traffic: {from: a, to: b}" "13:20: cross traffic runs between sandbox hosts"
bad b-dport container:cb "    kind: network
    delay: 50ms
    direction: egress
    port: 80" "14:11: on a container, delay (netem) acts on everything it sends"

# -- bad targets at run: exit 3 before anything is placed
scenario r-none container:nosuch "    kind: network
    partition: true"
run r-none; st=$?
check "run: no such container is exit 3, naming it" '[ $st = 3 ] && grep -q "nosuch" "$T/r-none.out"'
scenario r-host container:hostnet "    kind: network
    partition: true"
run r-host; st=$?
check "run: a container on the host's network is exit 3 (no namespace of its own)" \
  '[ $st = 3 ] && grep -qi "network namespace" "$T/r-host.out"'
[ $st = 3 ] || cat "$T/r-host.out"
check "nothing placed by the refused runs" '[ "$(ash_tables cb)" = 0 ] && [ "$(root_qdisc cb)" = noqueue ]'

# -- partition: b unreachable while it runs, reachable after, its namespace as before
scenario part container:cb "    kind: network
    partition: true" 4s
run_bg part
check "partition: aftershock's table appears inside b's namespace" 'waitfor "[ \"\$(ash_tables cb)\" = 1 ]"'
check "partition: a cannot reach b" '! reach'
# (other runs on this machine may have tables of their own in its namespace: look for ours)
tname=$(inns cb nft list tables | awk '/ ash-/ {print $3}')
check "partition: nothing placed in a's namespace or the machine's" \
  '[ -n "$tname" ] && [ "$(ash_tables ca)" = 0 ] && ! nft list tables | grep -qF " $tname"'
wait "$h"; st=$?
check "partition: run exits 0" '[ $st = 0 ]'
[ $st = 0 ] || cat "$T/part.out"
check "partition: table gone from b's namespace, b's own tables as before" \
  '[ "$(ash_tables cb)" = 0 ] && [ "$(inns cb nft list tables 2>/dev/null | wc -l)" = "$base_tables" ]'
check "partition: a reaches b again" 'reach'

# -- partition with a peer: only cb's traffic with ca is dropped; cc still reaches cb
scenario peer container:cb "    kind: network
    partition: true
    peer: container:ca" 4s
run_bg peer
check "peer: aftershock's table inside cb's namespace" 'waitfor "[ \"\$(ash_tables cb)\" = 1 ]"'
check "peer: ca cannot reach cb" '! reach'
check "peer: cc still reaches cb" 'dk exec cc ping -c 1 -W 1 "$(cip cb)" >/dev/null 2>&1'
wait "$h"; st=$?
check "peer: run exits 0, table gone, ca reaches cb" '[ $st = 0 ] && [ "$(ash_tables cb)" = 0 ] && reach'
bad b-peer container:cb "    kind: network
    partition: true
    peer: nosuch:x" "13:11: 'peer' is an IPv4 address or container:NAME"

# -- bandwidth: 256 KiB from b at 1 mbit, timed inside a (around wget alone), with the
#    bounds the sandbox test derives (tests/unit/test_network.c test_bandwidth_cross_traffic):
#    floor: every byte passed tbf, with at most its burst (burst_for(): 3200 bytes at
#    1 mbit) in the bucket at the start, so 262144 - 3200 bytes take >= 2071.6 ms, less
#    3 ms of scheduling slack; ceiling: the goodput of full segments is 1448/1514 of
#    the cap, connect and slow start cost at most one queue (200 ms, the default), and
#    the response's headers (< 512 bytes) ride along: (262144 + 512) * 8 * 1514/1448 / 1 Mbit/s
#    + 200 ms = 2397.1 ms, plus the same fetch's own time without the cap (wget's start).
fetch_in_ms() {
  # busybox's date has no %N: adjtimex (read-only, no privilege) prints the time. Its
  # tv_usec holds nanoseconds when the clock's status has STA_NANO (8192), which NTP
  # daemons set (a CI machine had it; reading them as us gave "2173346 ms"), so scale it.
  dk exec ca sh -c 'us() { adjtimex | awk "/status:/ {st=\$2} /tv_sec/ {s=\$2} /tv_usec/ {u=\$2}
      END {if (int(st / 8192) % 2) u = int(u / 1000); printf \"%s%06d\", s, u}"; }
    s=$(us); wget -q -O /dev/null "http://$1/f" || exit 1; e=$(us); echo $(((e - s) / 1000))' sh "$(cip cb)" || echo -1
}
before=$(fetch_in_ms)
scenario cap container:cb "    kind: network
    bandwidth: 1mbit
    direction: egress" 12s
run_bg cap
check "cap: a tbf on b's eth0, inside its namespace" 'waitfor "[ \"\$(root_qdisc cb)\" = tbf ]"'
during=$(fetch_in_ms)
check "cap: 256 KiB from b took ${during} ms at 1 mbit (2068 ms to 2398 + ${before} ms; ${before} ms without)" \
  '[ "$before" -ge 0 ] && [ "$before" -lt 500 ] && [ "$during" -ge 2068 ] && [ "$during" -le $((2398 + before)) ]'
wait "$h"; st=$?
check "cap: run exits 0" '[ $st = 0 ]'
check "cap: b's eth0 is back to noqueue" '[ "$(root_qdisc cb)" = noqueue ]'

# -- a label matching two containers: refused unless all: true, then each is harmed and reverted
scenario lab '{container: {label: tier=pair}}' "    kind: network
    partition: true"
run lab; st=$?
check "label matching 2 containers without all: exit 3, both named, all: true suggested" \
  '[ $st = 3 ] && grep -q "2 running containers have the label tier=pair" "$T/lab.out" && grep -q "all: true" "$T/lab.out"'
check "nothing placed by the refused run" '[ "$(ash_tables ca)" = 0 ] && [ "$(ash_tables cb)" = 0 ]'
scenario laball '{container: {label: tier=pair, all: true}}' "    kind: network
    partition: true" 4s
run_bg laball
check "all: true: a table inside each container" \
  'waitfor "[ \"\$(ash_tables ca)\" = 1 ] && [ \"\$(ash_tables cb)\" = 1 ]"'
wait "$h"; st=$?
check "all: true: run exits 0, both tables gone, a reaches b" \
  '[ $st = 0 ] && [ "$(ash_tables ca)" = 0 ] && [ "$(ash_tables cb)" = 0 ] && reach'
[ $st = 0 ] || cat "$T/laball.out"
scenario lakill '{container: {label: tier=pair, all: true}}' "    kind: network
    partition: true" 60s
run_bg lakill
check "all: true kill trial: a table in each" 'waitfor "[ \"\$(ash_tables ca)\" = 1 ] && [ \"\$(ash_tables cb)\" = 1 ]"'
kill -KILL "$h"; wait "$h" 2>/dev/null
"$ASH" recover --state-dir "$T/state" >"$T/recover-all.out" 2>&1; st=$?
check "all: true kill trial: recover removed both" '[ $st = 0 ] && [ "$(ash_tables ca)" = 0 ] && [ "$(ash_tables cb)" = 0 ]'
bad b-allname '{container: {name: ca, all: true}}' "    kind: network
    partition: true" "10:41: 'all: true' goes with a label"

# -- all: true checks every match before anything starts: hm1 (the host's network, made
#    first, so the engine lists it second) lacks a namespace of its own; checking only the
#    first match let the run place a table in hm2 and fail half-way at hm1
dk run -d --name hm1 --network host --label tier=mixed ash-busybox sleep 1000 >/dev/null
dk run -d --name hm2 --network ash-tn-net --label tier=mixed ash-busybox sleep 1000 >/dev/null
scenario lamixed '{container: {label: tier=mixed, all: true}}' "    kind: network
    partition: true"
run lamixed; st=$?
check "all: true, one match on the host's network: exit 3 at preflight, naming hm1 and its place in the list" \
  '[ $st = 3 ] && grep -q "container .hm1. ([0-9a-f]\{12\}) lacks a network namespace of its own here" "$T/lamixed.out" &&
   grep -q "2 of the 2 running containers with label=tier=mixed" "$T/lamixed.out"'
[ $st = 3 ] || cat "$T/lamixed.out"
check "all: true refused at preflight: no report, no table in hm2" \
  '! ls -d "$T"/r/lamixed-* >/dev/null 2>&1 && [ "$(ash_tables hm2)" = 0 ]'
dk rm -f hm1 hm2 >/dev/null

# -- all: true on a remediation's restart: every match is started again, not the first
pa=$(cpid ca) pb=$(cpid cb)
cat >"$T/remall.yaml" <<YAML
version: 1
name: remall
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
faults:
  - name: f
    target: container:cc
    kind: process
    action: signal
    signal: SIGCONT
    at: 0s
    duration: 1s
remediation:
  - name: restart-pair
    at: 300ms
    action: {restart: {target: {container: {label: tier=pair, all: true}}}}
expect:
  warmup: 200ms
  timeout: 60s
YAML
run remall; st=$?
check "remediation restart with all: true: run passes (exit $st)" '[ $st = 0 ]'
[ $st = 0 ] || cat "$T/remall.out"
check "remediation restart with all: true: both ca and cb have a new init, running" \
  '[ "$(cpid ca)" != "$pa" ] && [ "$(cpid cb)" != "$pb" ] &&
   [ "$(dk inspect -f "{{.State.Running}}" ca)" = true ] && [ "$(dk inspect -f "{{.State.Running}}" cb)" = true ]'
waitfor reach

# -- delay: netem on cb's eth0 (a ping from ca sees it), or, on a kernel without
#    sch_netem, refused with the reason and nothing placed
scenario delay container:cb "    kind: network
    delay: 150ms
    direction: egress" 6s
if "$ASH" doctor 2>&1 | grep -Eq '^  qdisc netem +yes'; then
  run_bg delay
  check "delay: a netem qdisc on cb's eth0" 'waitfor "[ \"\$(root_qdisc cb)\" = netem ]"'
  rtt=$(dk exec ca ping -c 3 "$(cip cb)" | awk -F/ '/min\/avg/ {print int($4)}')
  check "delay: ping from ca to cb takes >= 150 ms ($rtt ms)" '[ "${rtt:-0}" -ge 150 ]'
  wait "$h"; st=$?
  check "delay: run exits 0, cb's eth0 back to noqueue" '[ $st = 0 ] && [ "$(root_qdisc cb)" = noqueue ]'
else
  ash_skip_part "delay known answer (a ping inside a container sees netem's 150 ms): this kernel has no sch_netem; checked instead that the run refuses it with the reason and places nothing"
  run delay; st=$?
  # Refused by the preflight, before anything starts: no run, no report (targets_preflight.sh).
  check "delay without sch_netem: exit 3 before anything starts, saying why (exit $st), nothing placed" \
    '[ $st = 3 ] && grep -q "delay on a container needs sch_netem" "$T/delay.out" && ! ls -d "$T"/r/delay-*/ >/dev/null 2>&1 && [ "$(root_qdisc cb)" = noqueue ] && [ "$(ash_tables cb)" = 0 ]'
  grep -q "needs sch_netem" "$T/delay.out" || echo "  got: $(cat "$T/delay.out")"
fi

# -- SIGKILL mid-fault: recover undoes it inside the container's namespace
scenario kill container:cb "    kind: network
    partition: true
    bandwidth: 1mbit
    direction: egress" 60s
run_bg kill
check "kill trial: table and qdisc in b's namespace" \
  'waitfor "[ \"\$(ash_tables cb)\" = 1 ] && [ \"\$(root_qdisc cb)\" = tbf ]"'
kill -KILL "$h"; wait "$h" 2>/dev/null
check "kill trial: still there after the SIGKILL" '[ "$(ash_tables cb)" = 1 ]'
"$ASH" recover --state-dir "$T/state" >"$T/recover.out" 2>&1; st=$?
check "kill trial: recover exits 0" '[ $st = 0 ]'
[ $st = 0 ] || cat "$T/recover.out"
check "kill trial: recover removed table and qdisc inside b" '[ "$(ash_tables cb)" = 0 ] && [ "$(root_qdisc cb)" = noqueue ]'
check "kill trial: a reaches b again" 'reach'

# -- SIGKILL, then the container is restarted (new init, new namespace): nothing to undo
run_bg kill
check "replaced: table in b's namespace" 'waitfor "[ \"\$(ash_tables cb)\" = 1 ]"'
kill -KILL "$h"; wait "$h" 2>/dev/null
oldpid=$(cpid cb)
dk restart -t 1 cb >/dev/null
check "replaced: b has a new init" '[ "$(cpid cb)" != "$oldpid" ]'
"$ASH" recover --state-dir "$T/state" >"$T/recover2.out" 2>&1; st=$?
check "replaced: recover exits 0 and says the old namespace went with the old init" \
  '[ $st = 0 ] && grep -q "^  nothing to undo for [a-z.-]* on the network namespace of container .*: its init is gone.*its network namespace went with it" "$T/recover2.out"'
[ $st = 0 ] || cat "$T/recover2.out"
check "replaced: nothing in b's new namespace" '[ "$(ash_tables cb)" = 0 ] && [ "$(root_qdisc cb)" = noqueue ]'
check "replaced: the journal has nothing pending" \
  '! "$ASH" recover --state-dir "$T/state" 2>&1 | grep -q "network\."'

# -- dns on a container: its queries redirected inside its namespace to the fault's own
#    server; the faulted name answered wrongly, every other name forwarded to its own
#    resolver (Docker's 127.0.0.11); its resolv.conf untouched
look() { dk exec ca nslookup "$1" 2>&1; }
ipb=$(cip cb); ipa=$(cip ca)
resolv=$(dk exec ca cat /etc/resolv.conf)
check "dns: before, ca resolves cb through Docker's resolver" 'look cb | grep -qF "$ipb"'
scenario dns container:ca "    kind: dns
    names: [cb]
    answer: wrong-address
    to: 10.9.9.9" 6s
out=$("$ASH" plan "$T/dns.yaml" 2>&1)
check "plan: the dns redirect's table inside ca, journalled as dns.redirect" \
  'echo "$out" | grep -q "nft-table ip ash-<run>-f-.*(container:ca (its network namespace)).*\[journal: dns.redirect\]"'
run_bg dns
check "dns: aftershock's table appears inside ca's namespace" 'waitfor "[ \"\$(ash_tables ca)\" = 1 ]"'
dtable=$(inns ca nft list tables | awk '/ ash-/ {print $3}')
check "dns: ca now gets the wrong address for cb" 'look cb | grep -qF 10.9.9.9'
check "dns: other names are forwarded to Docker's resolver (ca resolves itself)" 'look ca | grep -qF "$ipa"'
check "dns: ca's resolv.conf unchanged" '[ "$(dk exec ca cat /etc/resolv.conf)" = "$resolv" ]'
check "dns: nothing in cb's namespace or the machine's" \
  '[ -n "$dtable" ] && [ "$(ash_tables cb)" = 0 ] && ! nft list tables | grep -qF " $dtable"'
wait "$h"; st=$?
check "dns: run exits 0" '[ $st = 0 ]'
[ $st = 0 ] || cat "$T/dns.out"
check "dns: after the revert, the table is gone and cb resolves truly" \
  '[ "$(ash_tables ca)" = 0 ] && look cb | grep -qF "$ipb"'
scenario dnskill container:ca "    kind: dns
    names: [cb]
    answer: nxdomain" 60s
run_bg dnskill
check "dns kill trial: table inside ca" 'waitfor "[ \"\$(ash_tables ca)\" = 1 ]"'
kill -KILL "$h"; wait "$h" 2>/dev/null
check "dns kill trial: still redirected after the SIGKILL (ca cannot resolve cb)" '! look cb | grep -qF "$ipb"'
"$ASH" recover --state-dir "$T/state" >"$T/recover3.out" 2>&1; st=$?
check "dns kill trial: recover exits 0, the table gone, cb resolves" \
  '[ $st = 0 ] && [ "$(ash_tables ca)" = 0 ] && look cb | grep -qF "$ipb"'
[ $st = 0 ] || cat "$T/recover3.out"
bad b-dns-cg cgroup:system.slice/x.service "    kind: dns
    names: [x]
    answer: nxdomain" "10:13: 'dns' needs a target with a network namespace of its own"
bad b-dns-cl container:ca "    kind: dns
    names: [x]
    answer: nxdomain
    clients: [1.2.3.4]" "10:13: with a target, the target is the only client"

# -- probes from a container: inside its network namespace, names resolved as it does
#    (cb through Docker's resolver in ca); a partition of cb is seen by them
cat >"$T/from.yaml" <<YAML
version: 1
name: from
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: web-from-ca
    from: container:ca
    tcp: {address: "cb:80"}
    every: 100ms
    timeout: 300ms
  - name: in-ca-netns
    from: container:ca
    exec: {command: ["sh", "-c", "ip -o -4 addr show eth0 | grep -qF ' $ipa/'"]}
    every: 200ms
faults:
  - name: f
    target: container:cb
    kind: network
    partition: true
    at: 1s
    duration: 2s
expect:
  warmup: 500ms
  stable_for: 500ms
  timeout: 30s
YAML
out=$("$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/rf" "$T/from.yaml" 2>&1); st=$?
rep=$(ls -d "$T"/rf/*/ 2>/dev/null | head -1)report.json
summary=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]
print(r["verdict"], r.get("impact_ms") is not None, r.get("ttr_ms") is not None)' "$rep" 2>&1)
check "from container: the run measured cb's partition from ca (verdict impact ttr: $summary)" \
  '[ $st = 0 ] && [ "$summary" = "pass True True" ]'
[ $st = 0 ] || echo "$out" | tail -5
scenario from-bad container:cb "    kind: network
    partition: true"
sed -i 's|^    every: 100ms|    every: 100ms\n    from: container:a/b|' "$T/from-bad.yaml"
out=$("$ASH" validate "$T/from-bad.yaml" 2>&1); st=$?
check "validate refuses from: container:a/b (exit 2, names the probe)" \
  '[ $st = 2 ] && echo "$out" | grep -qF "from-bad.yaml:8:11: probe '"'"'ok'"'"': from: container:a/b"'
[ $st = 2 ] || echo "  got: $out"
sed -i 's|from: container:a/b|from: container:nosuch|' "$T/from-bad.yaml"
"$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/rb" "$T/from-bad.yaml" >"$T/from-bad.out" 2>&1; st=$?
check "run: a probe from a missing container is exit 3, naming it" '[ $st = 3 ] && grep -q nosuch "$T/from-bad.out"'
out=$("$ASH" validate --resolve "$T/from-bad.yaml" 2>&1); st=$?
check "validate --resolve: a probe from a missing container is exit 3 naming the probe" \
  '[ $st = 3 ] && echo "$out" | grep -qF "from-bad.yaml:8:11: probe '"'"'ok'"'"': from:" && echo "$out" | grep -q nosuch'
[ $st = 3 ] || echo "  got: $out"
[ $st = 3 ] || cat "$T/from-bad.out"

# -- log detector on a container's log stream (engine API, followed in the event loop):
#    a SIGUSR1 makes the container print ALERT; the line printed before the run is not
#    read (since=now); framed (no tty) and raw (tty) streams
# log_scenario NAME CONTAINER MATCH FAULTS: a log detector on CONTAINER's stream
# matching MATCH, and FAULTS (the lines of the faults: list).
log_scenario() {
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
detectors:
  - name: logs
    log: {container: $2, match: "$3"}
faults:
$4
expect:
  warmup: 200ms
  timeout: 30s
YAML
}
logger='trap "echo ALERT caught" USR1; echo ALERT caught before the run; while :; do sleep 0.05; done'
dk run -d --name logger --network ash-tn-net ash-busybox sh -c "$logger" >/dev/null
dk run -d -t --name loggertty --network ash-tn-net ash-busybox sh -c "$logger" >/dev/null
for c in logger loggertty; do
  log_scenario log-$c $c "ALERT caught" "  - name: usr1
    target: container:$c
    kind: process
    action: signal
    signal: SIGUSR1
    at: 1s
    duration: 1s"
  out=$("$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/rl-$c" "$T/log-$c.yaml" 2>&1); st=$?
  rep=$(ls -d "$T/rl-$c"/*/ 2>/dev/null | head -1)report.json
  ttd=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]
print(r.get("detected_by"), r.get("ttd_ms"))' "$rep" 2>&1)
  check "log detector on $c: detected by its log line ($ttd; within 0-500 ms of the signal)" \
    '[ $st = 0 ] && python3 -c "import sys; b,t=sys.argv[1].split(); sys.exit(not (b==\"logs\" and 0 <= float(t) <= 500))" "$ttd"'
  [ $st = 0 ] || echo "$out" | tail -3
done
# The container restarted (its stream ends): followed again, the line after the restart detected.
log_scenario log-restart logger "ALERT caught" "  - name: restart
    target: container:logger
    kind: process
    action: restart
    at: 500ms
  - name: usr1
    target: container:logger
    kind: process
    action: signal
    signal: SIGUSR1
    at: 9s
    duration: 1s"
out=$("$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/rl-restart" "$T/log-restart.yaml" 2>&1); st=$?
rep=$(ls -d "$T/rl-restart"/*/ 2>/dev/null | head -1)report.json
ttd=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]
print(r.get("detected_by"), r.get("ttd_ms"))' "$rep" 2>&1)
# The line it prints as it starts again is read from the new stream. The restart is in
# effect from its request (t_inject), and the init ignores SIGTERM (a pid 1 without a
# handler), so the engine kills it only after the request's 2 s grace: the start-up line
# comes at least 2000 ms after t_inject and, given 3 s to start, before 5000 ms. The
# signal's line comes 8.5 s after t_inject, or about 6 s after one taken when the call
# returned: a detector that stopped following, or a t_inject taken late, is caught.
check "log detector follows a restarted container ($ttd: its start-up line, 2000-5000 ms)" \
  'python3 -c "import sys; b,t=sys.argv[1].split(); sys.exit(not (b==\"logs\" and 2000 <= float(t) < 5000))" "$ttd"'
python3 -c "import sys; b,t=sys.argv[1].split(); sys.exit(not (b==\"logs\" and 2000 <= float(t) < 5000))" "$ttd" ||
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]
[print("  ", e["t_ms"], e["event"], e["detail"]) for e in r["timeline"]]' "$rep" 2>&1 | head -30
[ $st = 0 ] || echo "$out" | tail -5
# -- a restart's timing: the container is down inside the fault's own call (the engine
#    answers POST /containers/ID/restart once it runs again), so the fault is in effect
#    from the request, not from the answer. rs's init quits at SIGTERM and its server
#    listens again once it has started. Its init's exit is seen from outside, on the
#    same CLOCK_MONOTONIC (a pidfd polled for it, seen up to a wake-up late): t_inject
#    is no later than that exit, and the probe's first failed sample starts within its
#    20 ms period after it (10 ms of scheduling either side: the sample's and the
#    watcher's wake-ups); the steady state comes back only after the exit.
dk run -d --name rs --network ash-tn-net ash-busybox sh -c \
  'trap "exit 0" TERM; httpd -p 80 -h /; while :; do sleep 1 & wait $!; done' >/dev/null
rsip=$(cip rs)
waitfor "(exec 3<>/dev/tcp/$rsip/80) 2>/dev/null"
cat >"$T/rtime.yaml" <<YAML
version: 1
name: rtime
runtime: {docker_host: "unix://$DOCKER_SOCK"}
probes:
  - name: web
    tcp: "$rsip:80"
    every: 20ms
faults:
  - name: restart
    target: container:rs
    kind: process
    action: restart
    at: 300ms
expect:
  warmup: 200ms
  stable_for: 300ms
  timeout: 30s
YAML
python3 -c 'import os, select, sys, time
fd = os.pidfd_open(int(sys.argv[1]))
p = select.poll(); p.register(fd, select.POLLIN)
print(time.monotonic_ns() if p.poll(30000) else -1, flush=True)' "$(cpid rs)" >"$T/rs-exit" &
watcher=$!; bg+=("$watcher")
"$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/rt" "$T/rtime.yaml" >"$T/rtime.out" 2>&1; st=$?
wait "$watcher"
rep=$(ls -d "$T/rt"/*/ 2>/dev/null | head -1)report.json
res=$(python3 - "$rep" "$(cat "$T/rs-exit")" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
died, inj = int(sys.argv[2]), r["monotonic_ns"]["inject"]
imp, ttr = r.get("impact_ms"), r.get("ttr_ms")
first = inj + imp * 1e6 if imp is not None else None
print((died - inj) / 1e6, (first - died) / 1e6 if first else None, (inj + ttr * 1e6 - died) / 1e6 if ttr else None)
PY
)
read -r lead fail_after rec_after <<<"$res"
check "restart's run passes, its init replaced" '[ $st = 0 ] && [ "$(dk inspect -f "{{.State.Running}}" rs)" = true ]'
check "restart: in effect no later than the init's exit ($lead ms before it)" \
  'python3 -c "import sys; sys.exit(not float(sys.argv[1]) >= 0)" "$lead"'
check "restart: the first failed sample within 10 ms before to 30 ms after the exit seen ($fail_after ms)" \
  'python3 -c "import sys; v=float(sys.argv[1]); sys.exit(not -10 <= v <= 30)" "$fail_after"'
check "restart: the steady state back only after the exit ($rec_after ms)" \
  'python3 -c "import sys; sys.exit(not float(sys.argv[1]) > 0)" "$rec_after"'
[ $st = 0 ] || tail -5 "$T/rtime.out"
check "restart: the timeline says the fault was in effect inside its call" 'grep -q "in effect from then, inside its call" "$rep"'

# -- the log detector's time is the engine's own stamp on the line, not its arrival:
#    aftershock is stopped (SIGSTOP) while the container writes a line and resumed
#    600 ms later, so the line arrives >= 600 ms after the engine stamped it. The
#    detection's time must be the engine's stamp (read back with the engine's API,
#    `logs?timestamps=1`) within 2 ms: the stamp has 1 ns resolution and is put on
#    the run's clock through wall/monotonic pairs read together (a few us), and the
#    report's wall_start_ms is truncated to the ms (< 1 ms). Arrival is 600 ms off.
#    Framed (no tty) and raw (tty) streams.
for c in logger loggertty; do
  log_scenario log-stamp-$c $c "STAMPED" "  - name: pause-cc
    target: container:cc
    kind: process
    action: stop
    at: 300ms
    duration: 3s"
  "$ASH" run -q --no-guardian --state-dir "$T/state" --report-dir "$T/rl-stamp-$c" "$T/log-stamp-$c.yaml" >"$T/stamp-$c.out" 2>&1 &
  ashpid=$!
  bg+=("$ashpid")
  stopped() { grep -q '^State:.*T' "/proc/$(cpid cc)/status" 2>/dev/null; }
  for i in $(seq 100); do stopped && break; sleep 0.05; done
  sleep 0.3
  kill -STOP "$ashpid"
  dk exec $c sh -c 'echo "STAMPED by the test" >/proc/1/fd/1'
  sleep 0.6
  kill -CONT "$ashpid"
  wait "$ashpid"; st=$?
  stamp=$(dk logs -t $c 2>&1 | grep 'STAMPED by the test' | tail -1 | awk '{print $1}')
  rep=$(ls -d "$T/rl-stamp-$c"/*/ 2>/dev/null | head -1)report.json
  res=$(python3 - "$rep" "$stamp" <<'PY' 2>&1
import json, sys, calendar, re
r = json.load(open(sys.argv[1]))["runs"][0]
m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z$", sys.argv[2])
s = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
ns = s * 10**9 + int((m.group(7) or "0").ljust(9, "0")[:9])
want = ns / 1e6 - r["wall_start_ms"]
d = [x for x in r.get("detections", []) if x["detector"] == "logs"]
got = d[0]["at_ms"] if d else None
lag = re.search(r"arrived ([0-9.]+) ms later", d[0]["detail"]) if d else None
print(want, got, lag.group(1) if lag else None)
PY
  )
  read -r want got lag <<<"$res"
  check "log detector on $c: the detection is the engine's stamp (want $want ms, got $got ms, within 2 ms), not its arrival ($lag ms later)" \
    'python3 -c "import sys; w,g,l=map(float,sys.argv[1:]); sys.exit(not (abs(g-w) <= 2 and l >= 500))" $want $got $lag'
  [ $st = 0 ] || tail -5 "$T/stamp-$c.out"
done
cat >"$T/log-bad.yaml" <<YAML
version: 1
name: log-bad
probes:
  - name: ok
    exec: {command: ["true"]}
    every: 100ms
detectors:
  - name: logs
    log: {container: "a/b", match: "x"}
faults:
  - name: f
    kind: process
    target: container:cb
    action: stop
    at: 0s
    duration: 1s
YAML
out=$("$ASH" validate "$T/log-bad.yaml" 2>&1); st=$?
check "validate refuses log: {container: a/b} (exit 2)" '[ $st = 2 ] && echo "$out" | grep -qF "log-bad.yaml:9:22: container: container:a/b"'
[ $st = 2 ] || echo "  got: $out"

# -- leftovers: no qdisc or table of aftershock's in any container or on the machine
for c in ca cb; do
  check "leftovers: $c's eth0 noqueue, no ash- table" '[ "$(root_qdisc $c)" = noqueue ] && [ "$(ash_tables $c)" = 0 ]'
done
check "leftovers: no table of this test's runs on the machine" '! nft list tables | grep -qF " $tname"'
ash_exit $fail
