#!/usr/bin/env bash
# The efficiency table (README, "Per-prompt optimisation"; paper Fig. 7): the prompts of Scripts/efficiency_prompts.txt
# made by the one-pass model (generate --eval-views), refined (refine --from, defaults) and optimised from nothing
# (sds, exported at each of SDS_STEPS, each extension resuming the run), each set scored by eval --images (R-precision
# among the prompts themselves), then the time and memory of one prompt per method on the quiet machine (2 threads).
# Every step is skipped when its output exists, so run it again after an interruption.
#   Scripts/efficiency.sh                      # outputs in $RUNS/efficiency (default /work/runs)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-/work/runs}; E="$RUNS/efficiency"; mkdir -p "$E"
STEPS=${SDS_STEPS:-"250 500"}; PROMPTS=Scripts/efficiency_prompts.txt
swift build -c release --product dreamportrait
BIN="$(swift build -c release --show-bin-path)/dreamportrait"
N=$(grep -c . "$PROMPTS"); D=$((N - 1))
score() { "$BIN" eval --images "$1" --metrics msc,rp --clip Weights/judge --distractors $D --method "$2" --threads 2 | grep -A1 -E "^-{10}" | tail -1; }
[ -d "$E/onepass" ] || "$BIN" generate --prompts "$PROMPTS" --out "$E/onepass" --eval-views --threads 1
for d in "$E"/onepass/*/; do
  i=$(basename "$d" | cut -c1-3)
  [ -f "$E/refine/$i/manifest.json" ] || "$BIN" refine --from "$d" --out "$E/refine/$i" --threads 1 --no-orbit --no-mesh
done
for s in $STEPS; do
  i=0
  while IFS= read -r p; do
    [ -z "$p" ] && continue
    snap="$E/sds_at_$s/p$i"
    if [ ! -f "$snap/manifest.json" ]; then
      resume=""; [ -d "$E/sds/p$i/run" ] && resume="--resume"
      "$BIN" sds --prompt "$p" --out "$E/sds/p$i" --steps "$s" $resume --threads 1 --no-orbit --no-mesh
      mkdir -p "$snap" && cp -r "$E/sds/p$i/eval" "$E/sds/p$i/manifest.json" "$E/sds/p$i/view_02.png" "$snap/"
    fi
    i=$((i + 1))
  done < "$PROMPTS"
done
score "$E/onepass" one-pass; score "$E/refine" refine
for s in $STEPS; do score "$E/sds_at_$s" "sds-$s"; done
# Quiet timings, 2 threads: generate (3 runs), sds (60 steps: its time per step), refine (one whole run).
Q="$E/quiet"; rm -rf "$Q"; P=$(head -n 1 "$PROMPTS")
for k in 1 2 3; do /usr/bin/time -f "generate: %e s wall" "$BIN" generate --prompt "$P" --out "$Q/gen$k" --eval-views > /dev/null; done
"$BIN" sds --prompt "$P" --out "$Q/sds" --steps 60 --no-orbit --no-mesh > /dev/null
"$BIN" refine --from "$Q/gen1" --out "$Q/refine" > /dev/null
python3 - "$Q" <<'PY'
import json, sys
q = sys.argv[1]
for name in ("gen1", "sds", "refine"):
    m = json.load(open(f"{q}/{name}/manifest.json"))
    opt = "; ".join(f"{o['name']} {o['seconds_per_step']:.3f} s/step" for o in m.get("optimisation", []))
    print(f"{name}: {m['total_seconds']:.2f} s, peak {m['peak_rss_mib']:.0f} MiB {opt}")
PY
