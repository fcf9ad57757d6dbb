#!/usr/bin/env bash
# Every benchmark in one go: builds them if needed, runs each, collects the
# `RESULT name value unit goal` lines they print, prints every figure with its
# goal, regenerates the cost-model table in docs/performance.md, and exits 1
# when a figure misses its goal (2 when a benchmark itself failed).
# Benchmarks, not tests: nothing here is part of ctest. Run as root (namespaces,
# qdiscs, nftables); on a busy machine the wall-clock figures are noisy (the
# CPU-time, syscall and accuracy figures much less so).
# Usage: bench/run-all.sh [BUILD_DIR] [--quick] [--large] [--no-docs]
#   --quick: fewer repeats and shorter runs (a smoke run; figures noisier)
#   --large: bench_sandbox at 200 hosts too (about 4x the time of 50)
#   --no-docs: leave docs/performance.md alone
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
B=build quick=0 large=0 docs=1
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    --large) large=1 ;;
    --no-docs) docs=0 ;;
    -*) echo "usage: bench/run-all.sh [BUILD_DIR] [--quick] [--large] [--no-docs]" >&2; exit 2 ;;
    *) B=$a ;;
  esac
done
[ -d "$B" ] || { cmake -S "$here" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 2; }
B=$(cd "$B" && pwd)
cmake --build "$B" -j2 --target aftershock ash_target bench_network bench_sandbox bench_dns bench_syscall bench_engine_floor bench_engine_curl >/dev/null ||
  { echo "run-all: build failed" >&2; exit 2; }

out=$(mktemp -d "${TMPDIR:-/tmp}/ash-bench-all-XXXXXX")
trap 'rm -rf -- "$out"' EXIT
failed_benches=()

# run NAME CMD...: output to the terminal and to $out/NAME.log; exit 77 = skipped.
run() {
  local name=$1
  shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$out/$name.log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 77 ]; then
    echo "== $name: skipped (see above)"
  elif [ "$rc" -ne 0 ]; then
    echo "== $name: FAILED (exit $rc)"
    failed_benches+=("$name")
  fi
}

if [ "$quick" = 1 ]; then
  reps=50 sb_reps=1 dns_q=50000 dns_rounds=3 sc_args=(-n 30000 -r 3 -p 10) eng_secs=8 scale_secs=5 long_secs=20
else
  reps=200 sb_reps=3 dns_q=200000 dns_rounds=5 sc_args=(-n 100000 -r 5) eng_secs=20 scale_secs=10 long_secs=60
fi
sb_args=("$sb_reps")
[ "$large" = 1 ] && sb_args+=(-l)

ASH_SOURCE_DIR=$here run sandbox "$B/bench/bench_sandbox" "${sb_args[@]}"
run network "$B/bench/bench_network" "$reps"
run dns "$B/bench/bench_dns" "$dns_q" 32 "$dns_rounds" -s
run syscall "$B/bench/bench_syscall" "${sc_args[@]}"
run engine10 bash "$here/bench/bench_engine.sh" "$B" "$eng_secs"
# The same for longer: the peak RSS must stay under its goal however long a run goes.
ASH_BENCH_TAG=_long run engine10long bash "$here/bench/bench_engine.sh" "$B" "$long_secs" ash-only
# The engine's scale curve at one total rate (1000 samples/s): what a probe costs to keep.
ASH_BENCH_PROBES=100 ASH_BENCH_EVERY=100ms run engine100 bash "$here/bench/bench_engine.sh" "$B" "$scale_secs" ash-only
ASH_BENCH_PROBES=1000 ASH_BENCH_EVERY=1s run engine1000 bash "$here/bench/bench_engine.sh" "$B" "$scale_secs" ash-only

cat "$out"/*.log | grep '^RESULT ' > "$out/results" || true
echo
echo "== every figure against its goal"
python3 - "$out/results" "$here/docs/performance.md" "$docs" "${failed_benches[*]:-}" <<'PY'
import datetime, os, platform, re, sys
results, doc, write_doc, failed_benches = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
r = {}
missed = []
for line in open(results):
    _, name, value, unit, goal = line.split()[:5]
    v = float(value)
    r[name] = v
    ok = None
    m = re.fullmatch(r"(>=|<=|<|>)([0-9.]+)", goal)
    if m:
        op, g = m.group(1), float(m.group(2))
        ok = {">=": v >= g, "<=": v <= g, "<": v < g, ">": v > g}[op]
        if not ok:
            missed.append(name)
    verdict = "" if ok is None else ("met" if ok else "MISSED")
    print(f"  {name:42s} {v:12.3f} {unit:7s} goal {goal:7s} {verdict}")

def f(name, fmt="{:.1f}", unit=""):
    return (fmt.format(r[name]) + unit) if name in r else "n/a"

def verdict(name, goal):
    if name not in r:
        return "not measured"
    m = re.fullmatch(r"(>=|<=|<|>)([0-9.]+)", goal)
    op, g = m.group(1), float(m.group(2))
    v = r[name]
    return "met" if {">=": v >= g, "<=": v <= g, "<": v < g, ">": v > g}[op] else "**missed**"

def rss_slope():
    """How much the peak RSS grew per minute of run between the two engine runs."""
    k = ("engine_10_rss_mib", "engine_10_long_rss_mib", "engine_10_secs", "engine_10_long_secs")
    if not all(x in r for x in k) or r[k[3]] <= r[k[2]]:
        return ""
    return f" ({(r[k[1]] - r[k[0]]) / (r[k[3]] - r[k[2]]) * 60:+.1f} MiB per minute)"

rows = [
    ("sandbox, 50 hosts build+teardown (bench_sandbox)", f("sandbox_50_ms", unit=" ms"),
     f("sandbox_50_floor_ms", unit=" ms") + " (netns + veth per host, close the namespaces)",
     f("sandbox_50_ip_script_ms", unit=" ms") + " (`ip` script); " + f("sandbox_50_plain_ms", unit=" ms") +
     " (the same work plainly, one thread; its build " + f("sandbox_50_plain_build_ms", unit=" ms") + ")",
     f("sandbox_50_vs_floor", "{:.2f}", "x floor") + ", " + f("sandbox_50_vs_ip", "{:.1f}", "x faster than ip") + ", " +
     f("sandbox_50_vs_plain", "{:.2f}", "x plain"),
     "≤ 1.2x floor: " + verdict("sandbox_50_vs_floor", "<=1.2")),
    ("sandbox, 1 host build+teardown (bench_sandbox)", f("sandbox_1_ms", unit=" ms"), f("sandbox_1_floor_ms", unit=" ms"),
     f("sandbox_1_ip_script_ms", unit=" ms") + " (`ip` script)", f("sandbox_1_vs_ip", "{:.1f}", "x faster than ip"),
     "≥ 5x ip: " + verdict("sandbox_1_vs_ip", ">=5")),
    ("nftables table+chains+numgen rule add, one libnftnl batch (bench_network)", f("nft_add_us", unit=" µs") +
     " (" + f("nft_add_hooks_on_us", unit=" µs") + " with output/input hooks already on)",
     f("nft_add_floor_us", unit=" µs") + " (a probe sending the batch alone; " + f("nft_add_hooks_on_floor_us", unit=" µs") +
     " hooks on)", f("nft_add_cli_us", unit=" µs") + " (`nft`); " + f("nft_add_libnftables_us", unit=" µs") +
     " (old path: libnftables, context kept)",
     f("nft_add_vs_cli", "{:.1f}", "x faster than nft") + ", " + f("nft_add_vs_libnftables", "{:.1f}", "x the old path") +
     ", " + f("nft_add_vs_floor", "{:.2f}", "x floor"),
     "≥ 40x nft: " + verdict("nft_add_vs_cli", ">=40") + "; ≤ 1.2x floor: " + verdict("nft_add_vs_floor", "<=1.2")),
    ("nftables table delete (bench_network)", f("nft_delete_us", unit=" µs") + " (" +
     f("nft_delete_hooks_on_us", unit=" µs") + " hooks on)", f("nft_delete_floor_us", unit=" µs") + " (" +
     f("nft_delete_hooks_on_floor_us", unit=" µs") + " hooks on)", f("nft_delete_cli_us", unit=" µs") + " (`nft`); " +
     f("nft_delete_libnftables_us", unit=" µs") + " (old path)",
     f("nft_delete_vs_cli", "{:.1f}", "x") + ", " + f("nft_delete_vs_libnftables", "{:.1f}", "x the old path") + ", " +
     f("nft_delete_vs_floor", "{:.2f}", "x floor"),
     "≥ 40x nft: " + verdict("nft_delete_vs_cli", ">=40")),
    ("tbf qdisc add (bench_network)", f("tbf_add_us", unit=" µs"), "-", f("tbf_add_cli_us", unit=" µs") + " (`tc`)",
     f("tbf_add_vs_cli", "{:.1f}", "x"), "≥ 40x tc: " + verdict("tbf_add_vs_cli", ">=40")),
    ("tbf qdisc delete (bench_network)", f("tbf_delete_us", unit=" µs"), "-", f("tbf_delete_cli_us", unit=" µs") + " (`tc`)",
     f("tbf_delete_vs_cli", "{:.1f}", "x"), "≥ 40x tc: " + verdict("tbf_delete_vs_cli", ">=40")),
    ("loss 5% via nftables numgen, 10 000 datagrams", f("loss_5pct_measured", "{:.2f}", "% lost"), "-", "-",
     "asked inside the 95% interval: " + ("yes" if r.get("loss_5pct_asked_in_interval") == 1 else "no"),
     "every run: " + verdict("loss_5pct_asked_in_interval", ">=1")),
    ("relay delay 100 ms, error of the added delay (kernel-stamped ICMP echo; as the benchmark's own UDP echo saw it)",
     "median " + f("delay_delay_median_error_ms", "{:+.3f}", " ms") +
     ", p99 " + f("delay_delay_p99_error_ms", "{:+.3f}", " ms") + " (UDP echo: median " +
     f("delay_delay_process_median_error_ms", "{:+.3f}", " ms") + ", p99 " +
     f("delay_delay_process_p99_error_ms", "{:+.3f}", " ms") + ")", "-", "netem: median " +
     f("delay_delay-netem_median_error_ms", "{:+.3f}", " ms") + ", p99 " + f("delay_delay-netem_p99_error_ms", "{:+.3f}", " ms"),
     "-", "p99 ≤ 1 ms (idle machine): " + verdict("delay_delay_p99_error_ms", "<=1")),
    ("DNS server, CPU per query, 50 names (bench_dns)", f("dns_cpu_us_per_query", "{:.2f}", " µs"), "-",
     f("dns_dnsmasq_cpu_us_per_query", "{:.2f}", " µs") + " (dnsmasq)",
     f("dns_qps_vs_dnsmasq", "{:.2f}", "x q/s") + ", " + f("dns_p99_vs_dnsmasq", "{:.2f}", "x p99") + ", " +
     f("dns_cpu_vs_dnsmasq", "{:.2f}", "x CPU"),
     "≥ 1.0x q/s: " + verdict("dns_qps_vs_dnsmasq", ">=1.0") + "; p99 ≤ dnsmasq: " + verdict("dns_p99_vs_dnsmasq", "<=1.0")),
    ("untargeted syscalls under the syscall filter (bench_syscall)", f("syscall_untargeted_overhead_pct", "{:+.1f}", "%"),
     f("syscall_untargeted_floor_pct", "{:+.1f}", "%") + " (one-rule filter)", "-",
     f("syscall_untargeted_vs_floor_points", "{:+.1f}", " points over the floor"),
     "≤ 2 points: " + verdict("syscall_untargeted_vs_floor_points", "<=2")),
    ("targeted syscall outside the fault window, openat+close", f("syscall_targeted_us", "{:.2f}", " µs"),
     f("syscall_targeted_floor_us", "{:.2f}", " µs") + " (bare user-notif round trip)", "strace --seccomp-bpf: " +
     f("syscall_targeted_vs_strace_bpf", "{:.1f}", "x our overhead"), f("syscall_targeted_vs_floor", "{:.2f}", "x floor"),
     "at the floor"),
    ("engine, 10 HTTP probes x 10 ms (bench_engine.sh)", "peak RSS " + f("engine_10_rss_mib", unit=" MiB") +
     " at " + f("engine_10_secs", "{:.0f}", " s") + " (while running " + f("engine_10_rss_running_mib", unit=" MiB") +
     "), " + f("engine_10_long_rss_mib", unit=" MiB") + " at " + f("engine_10_long_secs", "{:.0f}", " s") +
     rss_slope() + ", CPU " +
     f("engine_10_cpu_pct", "{:.1f}", "%") + " (" + f("engine_10_cpu_us_per_sample", "{:.0f}", " µs") +
     " per sample), p99 lateness " + f("engine_10_lateness_p99_ms", "{:.2f}", " ms"),
     f("engine_floor_us_per_sample", "{:.0f}", " µs") + " per sample (a fresh connection's syscalls alone); " +
     f("engine_libcurl_us_per_sample", "{:.0f}", " µs") + " (libcurl alone: a bare curl_multi loop, nothing of ours)",
     "curl loop: " + f("engine_vs_curl_loop_cpu", "{:.1f}", "x our CPU per sample"),
     f("engine_10_vs_floor", "{:.2f}", "x floor") + ", " + f("engine_10_vs_libcurl", "{:.2f}", "x libcurl alone"),
     "RSS < 16 MiB: " + verdict("engine_10_rss_mib", "<16") + " (longer run: " +
     verdict("engine_10_long_rss_mib", "<16") + "); CPU < 5%: " + verdict("engine_10_cpu_pct", "<5") +
     "; p99 < 1 ms: " + verdict("engine_10_lateness_p99_ms", "<1")),
]
scale = []
for n in (1, 10, 50, 200):
    if f"sandbox_{n}_ms" in r:
        scale.append(f"| sandbox | {n} hosts | {r[f'sandbox_{n}_per_host_ms']:.2f} ms per host | "
                     f"floor {r[f'sandbox_{n}_floor_ms'] / n:.2f} ms per host |")
for n in (10, 100, 1000):
    if f"engine_{n}_rss_mib" in r:
        scale.append(f"| engine | {n} probes | {r[f'engine_{n}_cpu_us_per_sample']:.0f} µs CPU per sample | "
                     f"RSS {r[f'engine_{n}_rss_mib']:.1f} MiB ({r[f'engine_{n}_rss_mib'] / n * 1024:.0f} KiB per probe) |")
if "dns_100k_names_cpu_vs_50" in r:
    first = (f"; a name's first answer {r['dns_100k_names_first_cpu_vs_50']:.2f}x"
             if "dns_100k_names_first_cpu_vs_50" in r else "")
    if "dns_100k_names_cpu_vs_dnsmasq" in r:
        first += (f"; {r['dns_100k_names_cpu_vs_dnsmasq']:.2f}x dnsmasq's at 100 000 names (goal ≤ 1.0x: "
                  f"{verdict('dns_100k_names_cpu_vs_dnsmasq', '<=1.0')})")
    rss = f"server RSS {r['dns_100k_names_rss_mib']:.1f} MiB" if "dns_100k_names_rss_mib" in r else ""
    scale.append(f"| DNS | 100 000 names (each asked once before) | {r['dns_100k_names_cpu_vs_50']:.2f}x the CPU per query "
                 f"of 50 names{first} | {rss} |")
if "dns_1000_rules_cpu_vs_none" in r:
    scale.append(f"| DNS fault matcher | 1 rule / 1 000 rules (matching nothing, against none in the same rounds) | "
                 f"{r['dns_1_rule_cpu_vs_none']:.2f}x / {r['dns_1000_rules_cpu_vs_none']:.2f}x the CPU per query of none | |")
if "dns_fault_on_qps_vs_off" in r:
    cpu = f", {r['dns_fault_on_cpu_vs_off']:.2f}x the CPU per query" if "dns_fault_on_cpu_vs_off" in r else ""
    scale.append(f"| DNS | a fault on every name | {r['dns_fault_on_qps_vs_off']:.2f}x the queries/s of faults off{cpu} "
                 f"(interleaved rounds) | goal ≥ 0.9x: {verdict('dns_fault_on_qps_vs_off', '>=0.9')} |")

load = os.getloadavg()
head = (f"Generated by `bench/run-all.sh` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC: "
        f"{os.cpu_count()} CPUs, kernel {platform.release()}, load average {load[0]:.1f} at the end.\n\n")
table = ["| mechanism | aftershock here | floor (same run) | obvious alternative (same run) | ratio | goal |",
         "|---|---|---|---|---|---|"] + ["| " + " | ".join(row) + " |" for row in rows]
stable = ["| what | size | cost per unit | |", "|---|---|---|---|"] + scale
block = head + "\n".join(table) + "\n\nScale curves (cost per unit at each size, so a super-linear step shows):\n\n" + \
    "\n".join(stable) + "\n"
if write_doc and os.path.exists(doc):
    text = open(doc).read()
    b, e = "<!-- run-all:begin -->\n", "<!-- run-all:end -->"
    if b in text and e in text:
        text = text[:text.index(b) + len(b)] + block + text[text.index(e):]
        open(doc, "w").write(text)
        print(f"\n{doc}: cost-model table regenerated")
    else:
        print(f"\n{doc}: no run-all markers; table not written", file=sys.stderr)
print()
print(block)
if failed_benches:
    print(f"benchmarks that failed: {failed_benches}")
    sys.exit(2)
if missed:
    print(f"goals missed: {' '.join(missed)}")
    sys.exit(1)
print("every goal met")
PY
