"""Extracts the DualDiscriminator state_dict listing (FFHQ-512 config) from the EG3D spec, §15.3.

Reads the table under "#### D state_dict" in docs/eg3d-spec.md (default /work/shared/docs/eg3d-spec.md, or the
path given as the first argument) and writes Tests/Fixtures/eg3d/ffhq512_D_state_dict.txt: one entry per line,
in the spec's order, `key<TAB>shape<TAB>kind` with the shape as comma-separated sizes and kind `param` or `buffer`.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "eg3d", "ffhq512_D_state_dict.txt")


def main():
    spec = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/docs/eg3d-spec.md"
    lines = open(spec, encoding="utf-8").read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("#### D state_dict"))
    declared = int(re.search(r"(\d+) entries", lines[start]).group(1))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("#") or line.startswith("---"):
            break
        m = re.match(r"\|\s*\d+\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|\s*(param|buffer)\s*\|", line)
        if m:
            key, shape, kind = m.groups()
            sizes = [] if shape in ("", "[]", "scalar") else [int(s) for s in shape.split("×")]
            rows.append(f"{key}\t{','.join(map(str, sizes))}\t{kind}")
    if len(rows) != declared:
        sys.exit(f"found {len(rows)} rows but the heading declares {declared}")
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} entries to {OUT}")


if __name__ == "__main__":
    main()
