#!/usr/bin/env bash
# FID's Inception-v3 (batch 8 at 299x299) and CLIP ViT-B/32 image encoding (batch 8 at 224x224), ours against
# pytorch-fid / transformers, alternating ROUNDS times on this machine with the same thread count so both see the
# same background load. Per round: `dreamportrait bench inception` and Scripts/bench_inception_torch.py (RUNS runs
# each, per-stage medians), then `dreamportrait bench --cases clip_vit_b32` and Scripts/bench_torch.py's case
# (best of MIN_TIME seconds each). Prints medians over the rounds, per-stage ratios, and the ratio of each round.
#   Scripts/bench_inception_compare.sh [THREADS] [ROUNDS] [RUNS] [MIN_TIME]      e.g. Scripts/bench_inception_compare.sh 2 5 3 2
# Builds the native (AVX-512 where the CPU has it) release binary in .build-native.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"; rounds="${2:-5}"; runs="${3:-3}"; mintime="${4:-2}"
TENSORCORE_MARCH="${TENSORCORE_MARCH:-native}" swift build -c release --scratch-path .build-native --product dreamportrait >&2
log=$(mktemp); trap 'rm -f "$log"' EXIT
bin=.build-native/release/dreamportrait
for r in $(seq "$rounds"); do
  echo "round $r/$rounds (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  $bin bench inception --json --threads "$threads" --runs "$runs" | sed "s/^{/{\"round\": $r, /" >> "$log"
  python3 Scripts/bench_inception_torch.py --json --threads "$threads" --runs "$runs" | sed "s/^{/{\"round\": $r, /" >> "$log"
  $bin bench --json --threads "$threads" --cases clip_vit_b32 --min-time "$mintime" | sed "s/^{/{\"round\": $r, \"impl\": \"tensorcore\", /" >> "$log"
  python3 Scripts/bench_torch.py --json --threads "$threads" --cases clip_vit_b32 --min-time "$mintime" | sed "s/^{/{\"round\": $r, \"impl\": \"torch\", /" >> "$log"
done
cat "$log" >&2
python3 - "$log" "$threads" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys, datetime, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
inc = {impl: [r for r in rows if r.get("impl") == impl and "stages_ms" in r] for impl in ("tensorcore", "pytorch-fid")}
vit = {impl: [r for r in rows if r.get("impl") == impl and r.get("name") == "clip_vit_b32"] for impl in ("tensorcore", "torch")}
n = len(inc["tensorcore"])
print(f"{datetime.date.today()}, {sys.argv[2]} threads, fp32, {n} interleaved rounds, load average at the end {sys.argv[3]}")
print("\nFID Inception-v3, batch 8 x 299x299, per stage (median over rounds of each round's median):")
print("| stage | ours ms | pytorch-fid ms | ratio |")
print("|---|---|---|---|")
for s in inc["tensorcore"][0]["stages_ms"]:
    o = med([r["stages_ms"][s] for r in inc["tensorcore"]]); t = med([r["stages_ms"][s] for r in inc["pytorch-fid"]])
    print(f"| {s} | {o:.1f} | {t:.1f} | {t / o:.2f}x |")
o = med([r["median_ms"] for r in inc["tensorcore"]]); t = med([r["median_ms"] for r in inc["pytorch-fid"]])
print(f"| **total** | {o:.1f} | {t:.1f} | **{t / o:.2f}x** |")
per_round = [b["median_ms"] / a["median_ms"] for a, b in zip(inc["tensorcore"], inc["pytorch-fid"])]
print("Inception ratio per round (pytorch-fid median / ours median): " + ", ".join(f"{x:.2f}x" for x in per_round))
print(f"Inception best of all runs: ours {min(r['best_ms'] for r in inc['tensorcore']):.1f} ms, pytorch-fid {min(r['best_ms'] for r in inc['pytorch-fid']):.1f} ms")
o = med([r["ms"] for r in vit["tensorcore"]]); t = med([r["ms"] for r in vit["torch"]])
print(f"\nCLIP ViT-B/32 image tower, batch 8 x 224x224: ours {o:.1f} ms, transformers {t:.1f} ms (median over rounds of each round's best): {t / o:.2f}x")
print("ViT ratio per round: " + ", ".join(f"{b['ms'] / a['ms']:.2f}x" for a, b in zip(vit["tensorcore"], vit["torch"])))
PY
