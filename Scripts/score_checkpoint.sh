#!/usr/bin/env bash
# Scores one checkpoint of a stage-1/2 run on the VALIDATION prompts (held-out identities, never Table 1's evaluation
# prompts): how checkpoints and settings are chosen. Writes OUT/model (the checkpoint's G_ema as a model folder),
# OUT/validation.json (200 prompts: steering = balanced attribute accuracy, attribute accuracy, MSC, R-precision,
# judge-FID, 3D error, spread over 4 prompts) and OUT/spread64.json (128 prompts: the spread over 64 of them, 8 seeds each).
# A run keeps only its last two checkpoints, so the one scored is copied first (OUT/checkpoint).
#   Scripts/score_checkpoint.sh RUN STEP [OUT]      e.g. Scripts/score_checkpoint.sh /work/runs/s25-WA 1162
# Environment: BIN (default .build/release/dreamportrait), WORLD (default /work/runs/world128), TEACHER (default
# Weights/teacher), THREADS (default 1), COUNT (validation prompts, default 200), SPREAD=0 skips the 64-prompt spread.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 RUN STEP [OUT]" >&2; exit 64; }
run=$1; step=$2; out=${3:-$run/score-$step}
BIN=${BIN:-.build/release/dreamportrait}; WORLD=${WORLD:-/work/runs/world128}; TEACHER=${TEACHER:-Weights/teacher}
THREADS=${THREADS:-1}; COUNT=${COUNT:-200}
ckpt="$run/checkpoints/$(printf %09d "$step")"
mkdir -p "$out"
if [ ! -f "$out/checkpoint/G_ema.safetensors" ]; then
    [ -f "$ckpt/G_ema.safetensors" ] || { echo "no checkpoint $ckpt (a run keeps its last two)" >&2; exit 66; }
    rm -rf "$out/checkpoint.tmp" && cp -r "$ckpt" "$out/checkpoint.tmp" && mv "$out/checkpoint.tmp" "$out/checkpoint"
fi
[ -f "$out/model/model.json" ] || "$BIN" ship --checkpoint "$out/checkpoint/G_ema.safetensors" --teacher "$TEACHER" \
    --out "$out/model" --note "run=$run,step=$step" --threads "$THREADS" >/dev/null
[ -f "$out/validation.json" ] || "$BIN" eval --weights "$out/model" --data "$WORLD" --split validation --count "$COUNT" \
    --metrics msc,rp --judge Weights/judge --attributes Weights/attributes.safetensors --threads "$THREADS" \
    --out "$out/validation.json" | tee "$out/validation.txt"
if [ "${SPREAD:-1}" != 0 ] && [ ! -f "$out/spread64.json" ]; then
    "$BIN" eval --weights "$out/model" --data "$WORLD" --split validation --count 128 --spread-prompts 64 --metrics msc --judge Weights/judge \
        --attributes Weights/attributes.safetensors --threads "$THREADS" --out "$out/spread64.json" | tee "$out/spread64.txt"
fi
