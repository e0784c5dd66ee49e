#!/usr/bin/env bash
# The default recipe, from nothing to the shipped model: world -> teacher (clip, vae, unet), judge and attribute
# classifier -> stage 0 (EG3D on the world) -> stage 1 -> stage 2 -> eval. Every step resumes where it stopped
# (run it again after an interruption) and a step whose run has finished (RUN/report.json or its final
# checkpoint) is skipped. Run folders live outside the repository (default /work/runs; RUNS=DIR to change).
#
#   Scripts/train_default.sh            # everything, in order
#   Scripts/train_default.sh teacher    # only up to the teacher; also: judge, stage0
#
# Threads: THREADS (default: all cores). The binary is built once (release, tuned to this CPU) and copied into
# RUNS/bin so that rebuilding the checkout never replaces the program a long run is executing.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-/work/runs}
THREADS=${THREADS:-$(nproc)}
UNTIL=${1:-all}
mkdir -p "$RUNS/bin"
swift build -c release --product dreamportrait
BIN="$RUNS/bin/dreamportrait-$(git rev-parse --short HEAD)"
cp "$(swift build -c release --show-bin-path)/dreamportrait" "$BIN"
dp() { "$BIN" "$@" --threads "$THREADS"; }
done_run() { [ -f "$1/report.json" ]; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

WORLD="$RUNS/world128"
if [ ! -f "$WORLD/dataset.json" ]; then
    log "world: 30000 images at 128² with depth and masks (resumable)"
    dp data synth --count 30000 --resolution 128 --seed 0 --aux --out "$WORLD"
fi

for part in clip vae; do
    done_run "$RUNS/teacher-$part" || { log "teacher $part"; dp teacher train --part "$part" --data "$WORLD" --out "$RUNS/teacher-$part"; }
done
if [ ! -d "$RUNS/teacher-unet/export/unet" ]; then
    log "teacher unet"
    dp teacher train --part unet --data "$WORLD" --out "$RUNS/teacher-unet" --clip "$RUNS/teacher-clip" --vae "$RUNS/teacher-vae"
fi
# The VAE's decoder fine-tuned on its own (encoder frozen, so the U-Net's latents stay valid; as sd-vae-ft-mse):
# 29.25 -> 30.16 dB held-out in 8000 steps (README, teacher table). The teacher is the U-Net's pipeline with it.
if ! done_run "$RUNS/teacher-vae-ft"; then
    log "teacher vae decoder fine-tune"
    dp teacher train --part vae --init "$RUNS/teacher-unet/export" --decoder-only --steps 8000 --data "$WORLD" --out "$RUNS/teacher-vae-ft"
fi
if [ ! -f "$RUNS/teacher/model_index.json" ]; then
    rm -rf "$RUNS/teacher.tmp" && cp -r "$RUNS/teacher-unet/export" "$RUNS/teacher.tmp"
    cp "$RUNS/teacher-vae-ft/export/"* "$RUNS/teacher.tmp/vae/" && mv "$RUNS/teacher.tmp" "$RUNS/teacher"
fi
[ "$UNTIL" = teacher ] && exit 0

done_run "$RUNS/judge" || { log "judge"; dp teacher train --part judge --data "$WORLD" --out "$RUNS/judge"; }
done_run "$RUNS/attributes" || { log "attribute classifier"; dp teacher train --part attributes --data "$WORLD" --out "$RUNS/attributes"; }
mkdir -p "$RUNS/teacher-eval"
[ -f "$RUNS/teacher-eval/report.json" ] || dp teacher eval --teacher "$RUNS/teacher" --judge "$RUNS/judge/export" \
    --attributes "$RUNS/attributes/export/attributes.safetensors" --data "$WORLD" --out "$RUNS/teacher-eval"
[ "$UNTIL" = judge ] && exit 0

# Stage 0: EG3D on the world, with world supervision (reconstruction of each training image's colours, depth and
# mask from its camera; Scripts/stage0_world128.json: reconstruction alone for the first 6 kimg, then EG3D's
# adversarial phases join). See the README's Training section for why.
STAGE0="$RUNS/stage0-ws"
log "stage 0"
dp train --stage 0 --data "$WORLD" --out "$STAGE0" --config Scripts/stage0_world128.json --batch 8 \
    --kimg "${STAGE0_KIMG:-30}" --checkpoint-minutes 5 --sample-kimg 1 $( [ -d "$STAGE0/checkpoints" ] && echo --resume "$STAGE0" )
[ "$UNTIL" = stage0 ] && exit 0

TEACHER="$RUNS/teacher"
log "stage 1 (adapters and semantics mapping, GAN loss)"
# λ = 0.1 for the semantics mapping (EG3D's 0.01 leaves its zero-initialised fusion layer shut for the few kimg we
# can afford; README, "Stage 2, fourth session").
dp train --stage 1 --data "$WORLD" --out "$RUNS/stage1" --init "$STAGE0" --teacher "$TEACHER" --config world128 --batch 8 \
    --mapping-lr-multiplier 0.1 --kimg "${STAGE1_KIMG:-0.5}" --checkpoint-minutes 5 --sample-kimg 0.5 $( [ -d "$RUNS/stage1/checkpoints" ] && echo --resume "$RUNS/stage1" )
log "stage 2 (D-SDS + GAN loss)"
# G at a tenth of EG3D's learning rate, D-SDS weight 0.25: at EG3D's rate D-SDS wrecks G within a few hundred steps,
# and even at this one the faces blur past ~400 steps (3 kimg), so stage 2 is short and its raw G ships (G_ema's
# half-life, 2.5 kimg, is most of the run).
dp train --stage 2 --data "$WORLD" --out "$RUNS/stage2" --init "$RUNS/stage1" --teacher "$TEACHER" --config Scripts/stage2_world128.json --batch 8 \
    --dsds-weight 0.25 --kimg "${STAGE2_KIMG:-3}" --checkpoint-minutes 3 --sample-kimg 0.5 $( [ -d "$RUNS/stage2/checkpoints" ] && echo --resume "$RUNS/stage2" )
[ "$UNTIL" = stage2 ] && exit 0

log "ship: Weights/dreamportrait, judge, attribute classifier"
dp ship --checkpoint "$RUNS/stage2/checkpoints/$(cat "$RUNS/stage2/checkpoints/latest")/G.safetensors" --teacher "$TEACHER" --out Weights/dreamportrait
log "eval (held-out prompts, in-distribution and OOD)"
DREAMPORTRAIT_WORLD="$WORLD" dp eval --out "$RUNS/eval.json"
