"""peer_synth.py - the Python peer of `attnviz synth` for bench/bench_datasets.sh: the
same five probe kinds at the same size, drawn with NumPy and written as PNG with Pillow
(zlib level 6, as stb_image_write's default), one image at a time, plus a params.jsonl.

    python bench/peer_synth.py N SIZE OUT_DIR      (N images per kind)
"""
import json
import math
import os
import random
import sys

import numpy as np
from PIL import Image


def hsv_row(h):
    hp = (h % 360.0) / 60.0
    x = 1.0 - abs(hp % 2.0 - 1.0)
    table = [(1, x, 0), (x, 1, 0), (0, 1, x), (0, x, 1), (x, 0, 1), (1, 0, x)]
    return table[int(hp) % 6]


def main():
    n, size, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(1)
    half = size / 2.0
    xs = np.arange(size) + 0.5 - half
    xc, yu = np.meshgrid(xs, -xs)
    lines = []
    for kind in ("angle", "brightness", "checker", "frequency", "hue"):
        os.makedirs(os.path.join(out, kind), exist_ok=True)
        for i in range(n):
            u = rng.random()
            p = {"kind": kind, "index": i}
            if kind in ("angle", "frequency"):
                if kind == "angle":
                    f, a = size / 16.0, 180.0 * (i + u) / n
                else:
                    f, a = (size / 4.0) ** ((i + u) / n), 180.0 * rng.random()
                ph = 2 * math.pi * rng.random()
                t = math.radians(a)
                v = 0.5 + 0.5 * np.sin(2 * math.pi * f / size * (xc * -math.sin(t) + yu * math.cos(t)) + ph)
                img = np.repeat((v * 255 + 0.5).astype(np.uint8)[:, :, None], 3, axis=2)
                p.update(frequency=f, angle=a, phase=ph)
            elif kind == "brightness":
                b = (i + u) / n
                img = np.full((size, size, 3), round(b * 255), np.uint8)
                p.update(brightness=b)
            elif kind == "checker":
                c = 2 + int(31 * (i + u) / n)
                idx = np.arange(size) * c // size
                v = ((idx[:, None] + idx[None, :]) % 2).astype(np.uint8) * 255
                img = np.repeat(v[:, :, None], 3, axis=2)
                p.update(cells=c)
            else:
                h = 360.0 * (i + u) / n
                img = np.empty((size, size, 3), np.uint8)
                img[:] = [round(c * 255) for c in hsv_row(h)]
                p.update(hue=h)
            rel = f"{kind}/{kind}_{i:05d}.png"
            Image.fromarray(img, "RGB").save(os.path.join(out, rel), compress_level=6)
            lines.append(json.dumps({"file": rel, **p}))
    with open(os.path.join(out, "params.jsonl"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
