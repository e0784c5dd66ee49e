#!/usr/bin/env bash
# The U-Net forward at Stable Diffusion 2.0-base size (batch 2, 4x64x64 latent, 77 text tokens, random weights,
# fp32), ours (`dreamportrait bench unet`) against diffusers (Scripts/bench_unet_torch.py), alternating ROUNDS
# times on this machine with the same thread count, so both see the same background load. Prints best and mean
# forward time and peak resident memory of each, and the speed ratio (> 1: ours is faster).
#   Scripts/bench_unet_compare.sh [THREADS] [ROUNDS] [RUNS]      e.g. Scripts/bench_unet_compare.sh 2 3 2
# Builds the native (AVX-512 where the CPU has it) release binary in .build-native.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"; rounds="${2:-3}"; runs="${3:-2}"
TENSORCORE_MARCH="${TENSORCORE_MARCH:-native}" swift build -c release --scratch-path .build-native --product dreamportrait >&2
log=$(mktemp); trap 'rm -f "$log"' EXIT
for r in $(seq "$rounds"); do
  echo "round $r/$rounds (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  .build-native/release/dreamportrait bench unet --json --threads "$threads" --runs "$runs" | sed 's/^{/{"impl": "ours", /' >> "$log"
  python3 Scripts/bench_unet_torch.py --json --threads "$threads" --runs "$runs" | sed 's/^{/{"impl": "diffusers", /' >> "$log"
done
cat "$log" >&2
python3 - "$log" "$threads" <<'PY'
import json, sys, datetime
rows = [json.loads(l) for l in open(sys.argv[1])]
def agg(impl):
    rs = [r for r in rows if r["impl"] == impl]
    return min(r["best_s"] for r in rs), sum(r["mean_s"] for r in rs) / len(rs), max(r["peak_rss_mib"] for r in rs), rs
o, t = agg("ours"), agg("diffusers")
print(f"{datetime.date.today()}, U-Net SD2-base size, batch 2, 64x64 latent, {sys.argv[2]} threads, fp32, {len(o[3])} rounds")
print("| | best forward | mean forward | peak RSS |")
print("|---|---|---|---|")
print(f"| ours (TensorCore) | {o[0]:.2f} s | {o[1]:.2f} s | {o[2]} MiB |")
print(f"| diffusers {t[3][0].get('torch', '')} | {t[0]:.2f} s | {t[1]:.2f} s | {t[2]} MiB |")
print(f"speed ratio (diffusers time / ours): best {t[0] / o[0]:.2f}x, mean {t[1] / o[1]:.2f}x; "
      f"peak memory ours / diffusers: {o[2] / t[2]:.2f}")
PY
