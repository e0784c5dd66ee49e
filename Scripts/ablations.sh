#!/usr/bin/env bash
# The paper's ablations (Tables 2 and 3) on the world, every row trained the same short way from the shipped
# stage-0 EG3D: stage 1 for ABL_S1_KIMG kimg with the row's architecture, then stage 2 for ABL_S2_KIMG kimg with the
# row's text loss / freezing, then `eval` on ABL_COUNT held-out captions of each style with the shipped judge.
# Stage 1 starts from the stage-0 run folder (STAGE0, its G, G_ema and D), as the shipped model did; where that
# folder is gone (run folders do not outlive their machine), from the shipped stage-0 G_ema with a fresh D.
# Rows that share an architecture share its stage-1 run. Every step resumes or is skipped when done, so run it again
# after an interruption; JOBS rows train at once (one thread each).
#
#   Scripts/ablations.sh                 # everything
#   ABL_S2_KIMG=1 JOBS=1 Scripts/ablations.sh    # a shorter stage 2, one row at a time
#   ABL_ROWS="dsds no_gate" Scripts/ablations.sh      # some rows only
#
# Outputs: RUNS/ablations/<row>/{stage1,stage2,model,eval.json}; the table rows are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-/work/runs}
WORLD=${WORLD:-$RUNS/world128}
S1=${ABL_S1_KIMG:-0.5}
S2=${ABL_S2_KIMG:-3}
COUNT=${ABL_COUNT:-200}
JOBS=${JOBS:-2}
TEACHER=${TEACHER:-Weights/teacher}
JUDGE=${JUDGE:-Weights/judge}
CLIP=${CLIP:-$RUNS/teacher-clip/export}        # the CLIP of the CLIP-similarity row (the teacher's CLIP, never the judge)
STAGE0=${STAGE0:-$RUNS/stage0-ws}
[ -e "$STAGE0" ] || STAGE0=Weights/eg3d_stage0.safetensors
OUT="$RUNS/ablations"
mkdir -p "$OUT" "$RUNS/bin"
swift build -c release --product dreamportrait
BIN="$RUNS/bin/dreamportrait-$(git rev-parse --short HEAD)"
cp "$(swift build -c release --show-bin-path)/dreamportrait" "$BIN"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# row name | architecture flags (its stage 1) | stage-2 flags ("-" for no stage 2)
ROWS=(
  "no_text_loss|--adapters 6|-"
  "clip_loss|--adapters 6|--text-loss clip --clip $CLIP"
  "dsds|--adapters 6|--text-loss dsds"
  "no_3d_pool|--adapters 6 --no-3d-pool|--text-loss dsds"
  "no_gate|--adapters 6 --no-gate|--text-loss dsds"
  "freeze_g|--adapters 6|--text-loss dsds --freeze g"
  "freeze_d|--adapters 6|--text-loss dsds --freeze d"
  "adapters_2|--adapters 2|--text-loss dsds"
  "adapters_4|--adapters 4|--text-loss dsds"
)

train() {  # run-folder, then train's flags
    local run=$1; shift
    [ -f "$run/.finished" ] && return 0
    local resume=""; [ -d "$run/checkpoints" ] && resume="--resume $run"
    "$BIN" train "$@" --out "$run" $resume --data "$WORLD" --batch 8 --threads 1 \
        --checkpoint-minutes 5 --sample-kimg 1 2>> "$run.log"
    # An interrupted run checkpoints and stops without this line: the next call resumes it.
    tail -n 3 "$run.log" | grep -q "finished at step" || { log "$run stopped before its end"; return 1; }
    touch "$run/.finished"
}

row() {
    IFS='|' read -r name arch s2 <<< "$1"
    local key; key=$(echo "$arch" | tr -c 'a-z0-9' '_')
    local s1run="$OUT/stage1$key"
    # Rows sharing an architecture share its stage 1; a lock keeps two jobs from training it at once.
    ( flock 9; train "$s1run" --stage 1 --init "$STAGE0" --teacher "$TEACHER" $arch --kimg "$S1" --config world128 --mapping-lr-multiplier 0.1 ) 9> "$s1run.lock"
    local final="$s1run"
    if [ "$s2" != "-" ]; then
        train "$OUT/$name/stage2" --stage 2 --init "$s1run" --teacher "$TEACHER" $arch $s2 --kimg "$S2" \
            --config Scripts/stage2_world128.json --dsds-weight 0.25
        final="$OUT/$name/stage2"
    fi
    local ckpt="$final/checkpoints/$(cat "$final/checkpoints/latest")/G.safetensors"   # raw G, as the recipe ships
    [ -f "$OUT/$name/model/model.json" ] || "$BIN" ship --checkpoint "$ckpt" --teacher "$TEACHER" --out "$OUT/$name/model" \
        --note "ablation=$name,stage1_kimg=$S1,stage2_kimg=$([ "$s2" = - ] && echo 0 || echo "$S2")"
    [ -f "$OUT/$name/eval.json" ] || "$BIN" eval --weights "$OUT/$name/model" --judge "$JUDGE" --attributes Weights/attributes.safetensors --data "$WORLD" --count "$COUNT" \
        --method "$name" --out "$OUT/$name/eval.json" --threads 1 > "$OUT/$name/eval.txt"
    log "$name done"
}

mkdir -p "$OUT"
running=0
if [ -n "${ABL_ROWS:-}" ]; then
    picked=(); for r in "${ROWS[@]}"; do [[ " $ABL_ROWS " == *" ${r%%|*} "* ]] && picked+=("$r"); done
    ROWS=("${picked[@]}")
fi
for r in "${ROWS[@]}"; do
    mkdir -p "$OUT/$(echo "$r" | cut -d'|' -f1)"
    row "$r" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait
for r in "${ROWS[@]}"; do name=$(echo "$r" | cut -d'|' -f1); echo "== $name"; grep -E "^(DreamPortrait|$name) |R-P:|Attribute accuracy|Ceiling" "$OUT/$name/eval.txt" || true; done
