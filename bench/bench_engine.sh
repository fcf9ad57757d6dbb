#!/usr/bin/env bash
# The engine's own cost and precision: 10 HTTP probes every 10 ms for 30 s
# against a local server, compared in the same run with the obvious
# alternative, a shell loop of curl per probe, and with the floor, the same
# samples made with syscalls alone (bench_engine_floor) and by libcurl alone
# (bench_engine_curl: a bare curl_multi loop, nothing of ours). Prints aftershock's
# peak RSS, CPU share, sample lateness (p50/p99/max) and the CPU ratios.
# Usage: bench/bench_engine.sh [BUILD_DIR] [SECONDS] [ash-only]
#   ash-only: skip the curl loop (for repeated before/after runs of aftershock)
#   ASH_BENCH_KEEPALIVE=1: probes reuse connections (for comparison only: a
#   probe's default is a fresh connection per sample)
#   ASH_BENCH_PROBES=N (default 10), ASH_BENCH_EVERY=10ms: the scale curve
#   (bench/run-all.sh runs 10, 100 and 1000 probes at the same total rate)
#   ASH_BENCH_TAG=_long: appended to the ash-only RESULT names (run-all.sh
#   runs 10 probes for longer too: the peak RSS must not grow with the run)
# Prints RESULT lines for bench/run-all.sh (goals for the 10-probe run only).
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
SECS=${2:-30}
ONLY=${3:-}
NPROBES=${ASH_BENCH_PROBES:-10}
EVERY=${ASH_BENCH_EVERY:-10ms}
T=$(mktemp -d /tmp/ash-bench-XXXXXX)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# With ASH_BENCH_KEEPALIVE the server keeps connections open too (HTTP/1.1):
# against one that closes each, a keep-alive probe reconnects every sample.
"$B/tests/ash_target" --port "$port" ${ASH_BENCH_KEEPALIVE:+--keepalive} 2>/dev/null &
srv=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done

{
  echo "version: 1"
  echo "name: bench-engine"
  echo "probes:"
  for i in $(seq "$NPROBES"); do
    printf '  - name: p%d\n    http: { url: "http://127.0.0.1:%d/healthz"%s }\n    every: %s\n    timeout: 100ms\n' \
      "$i" "$port" "${ASH_BENCH_KEEPALIVE:+, keepalive: true}" "$EVERY"
  done
  echo "faults:"
  printf '  - name: idle\n    kind: exec\n    inject: ["true"]\n    revert: ["true"]\n    duration: %ss\n' "$SECS"
  echo "expect:"
  echo "  warmup: 200ms"
  echo "  stable_for: 100ms"
  echo "  timeout: $((SECS + 30))s"
} > "$T/bench.yaml"

# rusage of one child command: "utime stime maxrss_kib wall run_rss_kib", where
# run_rss_kib is the median of the command's own VmRSS polled every 20 ms: the
# memory while it runs, apart from the peak of writing the report at the end.
# With SMAPS_OUT set, where the RSS goes half-way through the run (from
# /proc/PID/smaps: per library, heap, the main stack, other anonymous memory
# such as thread stacks and malloc arenas) is written to that file.
measure() {
  python3 - "$@" <<'PY'
import collections, os, re, resource, statistics, subprocess, sys, time
t = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
polls = []
out = os.environ.get("SMAPS_OUT")
half = float(os.environ.get("SMAPS_AT", "0"))

def smaps(pid):
    rss, priv = collections.Counter(), collections.Counter()
    name = None
    for line in open(f"/proc/{pid}/smaps"):
        f = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            path = f[5] if len(f) > 5 else ""
            base = os.path.basename(path)
            m = re.match(r"(lib[^.]+|ld-linux[^.]*)\.so", base)
            name = m.group(1) if m else (path if path.startswith("[") else (base or "anonymous (thread stacks, arenas, big mallocs)"))
        elif f[0] == "Rss:":
            rss[name] += int(f[1])
        elif f[0] in ("Private_Dirty:",):
            priv[name] += int(f[1])
    threads = len(os.listdir(f"/proc/{pid}/task"))
    total = sum(rss.values())
    lines = [f"where the RSS goes half-way through the run (/proc/PID/smaps): {total / 1024:.1f} MiB, {threads} threads"]
    for n, v in rss.most_common():
        if v >= 64:
            lines.append(f"  {v / 1024:6.2f} MiB  (private dirty {priv[n] / 1024:5.2f})  {n}")
    rest = sum(v for v in rss.values() if v < 64)
    lines.append(f"  {rest / 1024:6.2f} MiB  everything under 64 KiB each")
    return "\n".join(lines) + "\n"

while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmRSS:"):
                polls.append(int(line.split()[1]))
        if out and half and time.monotonic() - t >= half:
            text = smaps(p.pid)
            open(out, "w").write(text)
            out = None
    except OSError:
        pass
    time.sleep(0.02)
wall = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime} {r.ru_stime} {r.ru_maxrss} {wall} {statistics.median(polls) if polls else 0}")
PY
}

floor_us=0
libcurl_us=0
if [ "$ONLY" != ash-only ]; then
  # The floor, same server, same rate: a fresh connection per sample and nothing
  # else (bench/bench_engine_floor.c), so the table shows what the kernel's part
  # of a sample costs here and how far above it aftershock is. It runs first:
  # its TIME_WAIT sockets (1 000 a second, for 60 s) then slow aftershock's port
  # search, not the other way round, so the ratio errs against aftershock.
  echo "floor: the same samples, syscalls only, for ${SECS}s ..."
  floor=$("$B/bench/bench_engine_floor" "$port" 10 10 "$SECS")
  echo "$floor" | grep -v '^RESULT'
  floor_us=$(echo "$floor" | sed -n 's/^RESULT engine_floor_us_per_sample \([0-9.]*\) .*/\1/p')
  # libcurl alone, same server, same rate (bench/bench_engine_curl.c): the
  # samples made by a bare curl_multi loop with nothing of ours, so the CPU
  # above the floor splits into libcurl's part and the engine's.
  echo "libcurl alone: the same samples, a bare curl_multi loop, for ${SECS}s ..."
  lcurl=$("$B/bench/bench_engine_curl" "$port" 10 10 "$SECS" ${ASH_BENCH_KEEPALIVE:+keepalive})
  echo "$lcurl" | grep -v '^RESULT'
  libcurl_us=$(echo "$lcurl" | sed -n 's/^RESULT engine_libcurl_us_per_sample \([0-9.]*\) .*/\1/p')
fi

echo "aftershock: $NPROBES http probes x $EVERY for ${SECS}s ..."
read -r au as arss awall arun < <(SMAPS_OUT="$T/smaps.txt" SMAPS_AT=$(python3 -c "print(0.5 + $SECS / 2)") measure "$B/aftershock" run -q --no-guardian --state-dir "$T/state" \
  --report-dir "$T/reports" "$T/bench.yaml")
report=$(ls "$T"/reports/*/report.json)
late=$(python3 -c "import json,sys; r=json.load(open('$report'))['runs'][0]; l=r['schedule_lateness_ms']; s=sum(p['samples'] for p in r['probes']); print(f\"{l['p50']:.3f} {l['p99']:.3f} {l['max']:.3f} {s}\")")
read -r lp50 lp99 lmax samples <<< "$late"
[ -s "$T/smaps.txt" ] && cat "$T/smaps.txt"

if [ "$ONLY" = ash-only ]; then
  python3 - "$au" "$as" "$arss" "$awall" "$lp50" "$lp99" "$lmax" "$samples" "$NPROBES" "$arun" "${ASH_BENCH_TAG:-}" "$SECS" <<'PY'
import sys
au, as_, arss, awall, lp50, lp99, lmax, samples = map(float, sys.argv[1:9])
arun = float(sys.argv[10])
tag, secs = sys.argv[11], sys.argv[12]
a_cpu = (au + as_) / awall * 100
print(f"aftershock   peak RSS {arss/1024:7.1f} MiB   CPU {a_cpu:5.1f}% of one core (user {au/awall*100:.1f}%, sys {as_/awall*100:.1f}%)   samples {int(samples)}")
print(f"             schedule lateness p50 {lp50:.3f} ms  p99 {lp99:.3f} ms  max {lmax:.3f} ms")
n = int(sys.argv[9])
print(f"per probe    RSS {arss / 1024 / n:.3f} MiB, CPU {(au + as_) / max(samples, 1) * 1e6:.1f} us per sample")
print(f"             RSS while running (median of 20 ms polls) {arun / 1024:.1f} MiB; the peak is the report at the end")
k = f"{n}{tag}"
print(f"RESULT engine_{k}_rss_mib {arss / 1024:.2f} MiB {'<16' if n == 10 else '-'}")
print(f"RESULT engine_{k}_rss_running_mib {arun / 1024:.2f} MiB -")
print(f"RESULT engine_{k}_cpu_pct {a_cpu:.2f} % {'<5' if n == 10 else '-'}")
print(f"RESULT engine_{k}_cpu_us_per_sample {(au + as_) / max(samples, 1) * 1e6:.1f} us -")
print(f"RESULT engine_{k}_lateness_p99_ms {lp99:.3f} ms {'<1' if n == 10 else '-'}")
print(f"RESULT engine_{k}_secs {secs} s -")
PY
  exit 0
fi

echo "shell loop of curl: 10 loops x 10 ms for ${SECS}s ..."
# Each loop counts the samples it made: where curl cannot keep up with 10 ms
# (each sample is a process; on a machine with costly syscalls the loops fill
# both cores), its CPU share is capped by the machine, so the two are compared
# per sample made, not per second.
cat > "$T/loop.sh" <<SH
end=\$((SECONDS + $SECS))
for i in \$(seq 10); do
  ( n=0; while [ \$SECONDS -lt \$end ]; do curl -s -o /dev/null --max-time 0.1 "http://127.0.0.1:$port/healthz"; n=\$((n + 1)); sleep 0.01; done; echo \$n > "$T/curl.\$i" ) &
done
wait
SH
read -r cu cs crss cwall _ < <(measure bash "$T/loop.sh")
csamples=$(cat "$T"/curl.* | awk '{s += $1} END {print s + 0}')

python3 - "$au" "$as" "$arss" "$awall" "$cu" "$cs" "$cwall" "$lp50" "$lp99" "$lmax" "$samples" "$arun" "$SECS" "$floor_us" "$csamples" "${libcurl_us:-0}" <<'PY'
import sys
au, as_, arss, awall, cu, cs, cwall, lp50, lp99, lmax, samples, arun = map(float, sys.argv[1:13])
secs, floor_us, csamples = sys.argv[13], float(sys.argv[14]), float(sys.argv[15])
libcurl_us = float(sys.argv[16])
a_cpu = (au + as_) / awall * 100
c_cpu = (cu + cs) / cwall * 100
print(f"aftershock   peak RSS {arss/1024:7.1f} MiB   CPU {a_cpu:5.1f}% of one core   samples {int(samples)}")
print(f"             schedule lateness p50 {lp50:.3f} ms  p99 {lp99:.3f} ms  max {lmax:.3f} ms")
print(f"             RSS while running (median of 20 ms polls) {arun / 1024:.1f} MiB; the peak is the report at the end")
us = (au + as_) / max(samples, 1) * 1e6
c_us = (cu + cs) / max(csamples, 1) * 1e6
ratio = c_us / us if us else 0
print(f"curl loop    CPU {c_cpu:5.1f}% of one core   samples {int(csamples)} of the {int(samples)} aftershock made"
      f"   {c_us:.0f} us per sample")
print(f"ratio        curl loop uses {ratio:.1f}x the CPU of aftershock per sample ({c_cpu / a_cpu if a_cpu else 0:.1f}x per second)")
print(f"targets      RSS < 16 MiB: {'met' if arss/1024 < 16 else 'MISSED'};  CPU < 5%: {'met' if a_cpu < 5 else 'MISSED'};"
      f"  p99 lateness < 1 ms: {'met' if lp99 < 1 else 'MISSED'}")
print(f"RESULT engine_10_rss_mib {arss / 1024:.2f} MiB <16")
print(f"RESULT engine_10_rss_running_mib {arun / 1024:.2f} MiB -")
print(f"RESULT engine_10_cpu_pct {a_cpu:.2f} % <5")
print(f"RESULT engine_10_cpu_us_per_sample {(au + as_) / max(samples, 1) * 1e6:.1f} us -")
print(f"RESULT engine_10_lateness_p99_ms {lp99:.3f} ms <1")
print(f"RESULT engine_10_secs {secs} s -")
print(f"RESULT engine_curl_loop_us_per_sample {c_us:.1f} us -")
print(f"RESULT engine_vs_curl_loop_cpu {ratio:.1f} x >=10")
print(f"floor        {floor_us:.1f} us per sample: aftershock is {us / floor_us:.2f}x the floor ({us - floor_us:.1f} us above it: libcurl, the loop, the report)")
print(f"RESULT engine_floor_us_per_sample {floor_us:.1f} us -")
print(f"RESULT engine_10_vs_floor {us / floor_us:.2f} x -")
if libcurl_us > 0:
    print(f"libcurl      {libcurl_us:.1f} us per sample alone: aftershock is {us / libcurl_us:.2f}x libcurl's own cost; "
          f"of the {us - floor_us:.1f} us above the floor, libcurl's part is {libcurl_us - floor_us:.1f} us, ours {us - libcurl_us:.1f} us")
    print(f"RESULT engine_libcurl_us_per_sample {libcurl_us:.1f} us -")
    print(f"RESULT engine_10_vs_libcurl {us / libcurl_us:.2f} x -")
PY
