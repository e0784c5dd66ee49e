#!/usr/bin/env bash
# Runs `dreamportrait bench` and Scripts/bench_torch.py on this machine, in the same run, with the same
# thread count, and prints TensorCore's speed as a ratio of PyTorch's (> 1: TensorCore is faster).
#   Scripts/bench_compare.sh [THREADS] [CASES]      e.g. Scripts/bench_compare.sh 2 sgemm,conv
# Builds the native (AVX-512 where the CPU has it) release binary in .build-native.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"; cases="${2:-}"
TENSORCORE_MARCH="${TENSORCORE_MARCH:-native}" swift build -c release --scratch-path .build-native --product dreamportrait >&2
ours=$(mktemp); theirs=$(mktemp); trap 'rm -f "$ours" "$theirs"' EXIT
.build-native/release/dreamportrait bench --json --threads "$threads" ${cases:+--cases "$cases"} > "$ours"
python3 Scripts/bench_torch.py --json --threads "$threads" ${cases:+--cases "$cases"} > "$theirs"
python3 - "$ours" "$theirs" "$threads" <<'PY'
import json, sys, datetime
ours = {j["name"]: j for j in map(json.loads, open(sys.argv[1]))}
theirs = {j["name"]: j for j in map(json.loads, open(sys.argv[2]))}
print(f"{datetime.date.today()}, {sys.argv[3]} threads, fp32 (ratio = PyTorch time / TensorCore time)")
print(f"| case | shape | TensorCore | PyTorch | ratio |")
print(f"|---|---|---|---|---|")
for name, o in ours.items():
    t = theirs.get(name)
    if not t: continue
    unit = "gflops" if "gflops" in o else "gbps"
    label = "GFLOP/s" if unit == "gflops" else "GB/s"
    print(f"| {name} | {o['shape']} | {o[unit]:.1f} {label} | {t[unit]:.1f} {label} | {t['ms'] / o['ms']:.2f}x |")
PY
