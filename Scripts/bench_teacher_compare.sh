#!/usr/bin/env bash
# The teacher's training steps (U-Net batch 32, VAE batch 8) against diffusers on this machine: `dreamportrait bench
# teacher-train` and Scripts/bench_teacher_train_torch.py (the same configs, fp32, the same thread count), ROUNDS
# interleaved rounds, each side's best step per round; prints every side's range and the median of the per-round
# ratios (> 1: TensorCore is faster). BASE=path/to/older/dreamportrait times that binary in the same rounds too.
#   Scripts/bench_teacher_compare.sh [THREADS]          e.g. ROUNDS=5 BASE=/tmp/old/dreamportrait Scripts/bench_teacher_compare.sh 2
#   NO_BUILD=1 ...                                      use the binary already built (.build/release/dreamportrait)
# Needs PyPI torch and diffusers. Keep training runs off the cores while it runs, or say that it ran under load.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"; rounds="${ROUNDS:-3}"; runs="${RUNS:-3}"
[ -n "${NO_BUILD:-}" ] || swift build -c release --product dreamportrait >&2
bin=".build/release/dreamportrait"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$bin" bench teacher-train --runs 1 --configs "$dir/configs" > /dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
    if [ -n "${BASE:-}" ]; then "$BASE" bench teacher-train --json --threads "$threads" --runs "$runs" > "$dir/base.$r"; fi
    "$bin" bench teacher-train --json --threads "$threads" --runs "$runs" > "$dir/ours.$r"
    python3 Scripts/bench_teacher_train_torch.py --json --configs "$dir/configs" --threads "$threads" --runs "$runs" | grep '^{' > "$dir/theirs.$r"
done
python3 - "$dir" "$rounds" "$threads" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, os, sys, datetime, statistics
d, rounds, threads, load0, load1 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def load(prefix):
    best = {}
    for r in range(1, rounds + 1):
        path = f"{d}/{prefix}.{r}"
        if not os.path.exists(path): return None
        for j in map(json.loads, open(path)):
            best.setdefault(j["model"], []).append(j["best_s"])
    return best
sides = {"TensorCore": load("ours"), "diffusers": load("theirs"), "base": load("base")}
cpu = open("/proc/cpuinfo").read()
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name")), "?")
print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {model}, {threads} threads, fp32, {rounds} interleaved rounds, "
      f"load average {load0} before / {load1} after")
print("ratio = diffusers step / TensorCore step, per round; median (range)")
cols = ["TensorCore", "diffusers"] + (["base"] if sides["base"] else [])
print("| step | " + " | ".join(f"{c} best (s)" for c in cols) + " | ratio | ratio, base |")
print("|---|" + "---|" * (len(cols) + 2))
for name in ["unet", "vae"]:
    cells = [f"{min(sides[c][name]):.3f}–{max(sides[c][name]):.3f}" for c in cols]
    def ratio(c):
        if not sides[c]: return "—"
        rs = [t / o for t, o in zip(sides["diffusers"][name], sides[c][name])]
        return f"{statistics.median(rs):.2f}x ({min(rs):.2f}–{max(rs):.2f})"
    print(f"| {name} | " + " | ".join(cells) + f" | {ratio('TensorCore')} | {ratio('base')} |")
PY
