#!/usr/bin/env bash
# Runs `dreamportrait bench` and Scripts/bench_torch.py on this machine, interleaved (ROUNDS rounds of ours, then
# PyTorch's), with the same thread count, and prints TensorCore's speed as a ratio of PyTorch's (> 1: TensorCore is
# faster): by wall time (median over rounds of each round's best) and by CPU time per run (median; all threads
# together, the steadier figure when other jobs share the machine).
#   Scripts/bench_compare.sh [THREADS] [CASES]      e.g. Scripts/bench_compare.sh 2 sgemm,conv
#   OVERHEAD=1 Scripts/bench_compare.sh 1           `bench overhead` against PyTorch eager (bench_torch.py --overhead)
#   TENSORCORE_MARCH=x86-64-v3 Scripts/bench_compare.sh 2   the portable AVX2 build (in .build-v3)
#   NO_BUILD=1 ...                                  use the binary already built
#   ROUNDS=5 MIN_TIME=0.5 ...                       rounds (default 3); CPU seconds per case and side (default 1)
# The default build is the fast build for this machine (-march=native, GEMM tile from the CPU's features).
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"; cases="${2:-}"; rounds="${ROUNDS:-3}"; min_time="${MIN_TIME:-1}"
case "${TENSORCORE_MARCH:-}" in "") scratch=".build" ;; x86-64-v3) scratch=".build-v3" ;; *) scratch=".build-${TENSORCORE_MARCH}" ;; esac
[ -n "${NO_BUILD:-}" ] || swift build -c release --scratch-path "$scratch" --product dreamportrait >&2
bin="$scratch/release/dreamportrait"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
if [ -n "${OVERHEAD:-}" ]; then ours_cmd=("$bin" bench overhead); theirs_flag=(--overhead); else ours_cmd=("$bin" bench); theirs_flag=(); fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
    "${ours_cmd[@]}" --json --threads "$threads" --min-time "$min_time" ${cases:+--cases "$cases"} > "$dir/ours.$r"
    python3 Scripts/bench_torch.py "${theirs_flag[@]}" --json --threads "$threads" --min-time "$min_time" ${cases:+--cases "$cases"} > "$dir/theirs.$r"
done
info=$("$bin" bench peak 2>/dev/null | head -1 || true)
python3 - "$dir" "$rounds" "$threads" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$info" <<'PY'
import json, sys, datetime, statistics
d, rounds, threads, load0, load1, info = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
def load(prefix):
    runs = {}
    for r in range(1, rounds + 1):
        for j in map(json.loads, open(f"{d}/{prefix}.{r}")):
            runs.setdefault(j["name"], []).append(j)
    return runs
ours, theirs = load("ours"), load("theirs")
cpu = open("/proc/cpuinfo").read()
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name")), "?")
print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {model}, {threads} threads, fp32, {rounds} interleaved rounds, "
      f"load average {load0} before / {load1} after")
print(f"TensorCore: {info}")
print("ratio = PyTorch time / TensorCore time (wall: median of each round's best; CPU: median CPU time per run)")
print("| case | shape | TensorCore | PyTorch | ratio (wall) | ratio (CPU) |")
print("|---|---|---|---|---|---|")
for name, o in ours.items():
    t = theirs.get(name)
    if not t: continue
    med = lambda runs, k: statistics.median(j[k] for j in runs)
    ow, tw = med(o, "ms"), med(t, "ms")
    oc, tc = med(o, "cpu_ms"), med(t, "cpu_ms")
    unit = "gflops" if "gflops" in o[0] else "gbps" if "gbps" in o[0] else None
    if unit:
        # Rates from the median times (work = rate · time is the same in every round).
        label = "GFLOP/s" if unit == "gflops" else "GB/s"
        a, b = f"{o[0][unit] * o[0]['ms'] / ow:.1f} {label}", f"{t[0][unit] * t[0]['ms'] / tw:.1f} {label}"
    else:
        a, b = f"{ow:.3f} ms (CPU {oc:.3f})", f"{tw:.3f} ms (CPU {tc:.3f})"
    print(f"| {name} | {o[0]['shape']} | {a} | {b} | {tw / ow:.2f}x | {tc / oc:.2f}x |")
PY
