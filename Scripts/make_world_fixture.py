#!/usr/bin/env python3
"""Writes Tests/Fixtures/world/: a tiny EG3D-format dataset made the way EG3D's tools make one, with the
Python standard library only (no torch, numpy or PIL), for the Swift dataset reader's tests.

  with_labels/   dataset.json {"labels": [[name, [25 floats]], ...]} written by json.dump as dataset_tool.py
                 does; the labels are LookAtPoseSampler cameras (eg3d-spec 13.1) rounded to float32 as torch
                 tensors' .tolist() gives them; 4x4 RGB PNGs named like dataset_tool's archive; captions.json.
  no_labels/     dataset.json {"labels": null} (an unconditional dataset) and two PNGs, no captions.
  cameras.json   the (h, v) each label was made from, for the test to recompute.

Run: python3 Scripts/make_world_fixture.py
"""
import json, math, os, struct, zlib

ROOT = os.path.join(os.path.dirname(__file__), '..', 'Tests', 'Fixtures', 'world')


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def normalize(v):
    n = math.sqrt(sum(c * c for c in v))
    return [c / max(n, 1e-12) for c in v]


def cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def look_at(h, v, lookat=(0.0, 0.0, 0.2), radius=2.7):
    """eg3d camera_utils.LookAtPoseSampler.sample with h_std = v_std = 0, in float64."""
    theta = h
    v = min(max(v, 1e-5), math.pi - 1e-5)
    phi = math.acos(1 - 2 * v / math.pi)
    o = [radius * math.sin(phi) * math.cos(math.pi - theta),
         radius * math.cos(phi),
         radius * math.sin(phi) * math.sin(math.pi - theta)]
    forward = normalize([lookat[i] - o[i] for i in range(3)])
    right = [-c for c in normalize(cross([0.0, 1.0, 0.0], forward))]
    up = normalize(cross(forward, right))
    m = [[right[i], up[i], forward[i], o[i]] for i in range(3)] + [[0.0, 0.0, 0.0, 1.0]]
    return [c for row in m for c in row]


def png(path, w, h, rgb):
    raw = b''.join(b'\x00' + bytes(rgb[(y * w) * 3:(y * w + w) * 3]) for y in range(h))

    def chunk(t, b):
        return struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b) & 0xffffffff)
    data = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def main():
    K = [4.2647, 0.0, 0.5, 0.0, 4.2647, 0.5, 0.0, 0.0, 1.0]
    cams = [(math.pi / 2, math.pi / 2), (3.14 / 2, 3.14 / 2), (math.pi / 2 + 0.3, math.pi / 2 - 0.2),
            (math.pi / 2 - 0.45, math.pi / 2 + 0.25), (math.pi / 2 + 0.8, math.pi / 2 + 0.1)]
    d = os.path.join(ROOT, 'with_labels')
    labels, captions = [], {}
    for i, (h, v) in enumerate(cams):
        idx = f'{i:08d}'
        name = f'{idx[:5]}/img{idx}.png'
        png(os.path.join(d, name), 4, 4, [(i * 40 + k * 7) % 256 for k in range(48)])
        labels.append([name, [f32(x) for x in look_at(h, v) + K]])
        captions[name] = [f'Caption {j} of image {i}.' for j in range(2)]
    with open(os.path.join(d, 'dataset.json'), 'w') as f:
        json.dump({'labels': labels}, f)
    with open(os.path.join(d, 'captions.json'), 'w') as f:
        json.dump(captions, f)
    d = os.path.join(ROOT, 'no_labels')
    for i in range(2):
        png(os.path.join(d, f'img{i:08d}.png'), 2, 2, [200] * 12)
    with open(os.path.join(d, 'dataset.json'), 'w') as f:
        json.dump({'labels': None}, f)
    with open(os.path.join(ROOT, 'cameras.json'), 'w') as f:
        json.dump([[h, v] for h, v in cams], f)


if __name__ == '__main__':
    main()
