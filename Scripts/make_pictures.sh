#!/usr/bin/env bash
# The README's pictures of the shipped model (Weights/dreamportrait), made by `dreamportrait generate` alone:
#   Weights/pictures/model_prompts.png  held-out prompts (Scripts/readme_prompts.txt) x three views (one seed)
#   Weights/pictures/model_orbit.gif    the orbit GIF of one prompt
#   Weights/pictures/model_mesh.png     its mesh (generate's mesh.png: marching cubes on σ, vertex colours, shaded)
# Run it after `dreamportrait ship` replaces the model. SEED (default 0) picks the latent of every picture.
set -euo pipefail
cd "$(dirname "$0")/.."
SEED=${SEED:-0}
swift build -c release --product dreamportrait >&2
BIN="$(swift build -c release --show-bin-path)/dreamportrait"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BIN" generate --prompts Scripts/readme_prompts.txt --seed "$SEED" --views 3 --no-orbit --no-mesh --out "$TMP/grid" >&2
"$BIN" generate --prompt "${PROMPT:-a smiling woman with red hair}" --seed "$SEED" --out "$TMP/one" >&2
mkdir -p Weights/pictures
cp "$TMP/grid/contact_sheet.png" Weights/pictures/model_prompts.png
cp "$TMP/one/orbit.gif" Weights/pictures/model_orbit.gif
if [ -f "$TMP/one/mesh.png" ]; then cp "$TMP/one/mesh.png" Weights/pictures/model_mesh.png; else
    echo "no mesh.png: $(cat "$TMP/one/mesh_skipped" 2>/dev/null)" >&2; fi
ls -l Weights/pictures/model_*
