"""Writes a synthetic run folder for bench_viewer.sh: L x H heads, T tokens per head
(2T points per head: queries then keys), items of 50 tokens, q/k of head_dim 2 (f16),
and a 2-D projection of Gaussian blobs (the viewer's cost does not depend on what the
points mean). Usage: bench_viewer_make.py OUT L H T"""
import json
import os
import sys

import numpy as np

out, L, H, T = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(os.path.join(out, "proj"), exist_ok=True)
rng = np.random.default_rng(1)
per = 50
item = (np.arange(T) // per).astype(np.int32)
pos = (np.arange(T) % per).astype(np.int32)
I = int(item[-1]) + 1
np.save(os.path.join(out, "token_item.npy"), item)
np.save(os.path.join(out, "token_pos.npy"), pos)
qk = rng.normal(0, 1, (L, H, T, 2)).astype(np.float16)
np.save(os.path.join(out, "q.npy"), qk)
np.save(os.path.join(out, "k.npy"), qk)
P = np.empty((L, H, 2 * T, 2), np.float32)
for l in range(L):
    centres = rng.uniform(-10, 10, (8, 2)).astype(np.float32)
    for h in range(H):
        P[l, h] = centres[rng.integers(0, 8, 2 * T)] + rng.normal(0, 1.5, (2 * T, 2)).astype(np.float32)
np.save(os.path.join(out, "proj", "tsne-2d.npy"), P)
with open(os.path.join(out, "tokens.jsonl"), "w") as f:
    words = ["the", "cat", "sat", "on", "mat", ".", "a", "dog"]
    f.writelines('{"text": "%s", "item": %d, "pos": %d}\n' % (words[t % 8], item[t], pos[t]) for t in range(T))
with open(os.path.join(out, "items.jsonl"), "w") as f:
    f.writelines('{"text": "item %d"}\n' % i for i in range(I))
shape = lambda *s: list(s)
man = {"format": "attnviz-run", "version": 1, "model_type": "bert", "model_dir": "synthetic",
       "num_layers": L, "num_heads": H, "head_dim": 2, "num_items": I, "num_tokens": T, "dtype": "f16",
       "arrays": {"q": {"file": "q.npy", "dtype": "f16", "shape": shape(L, H, T, 2)},
                  "k": {"file": "k.npy", "dtype": "f16", "shape": shape(L, H, T, 2)},
                  "token_item": {"file": "token_item.npy", "dtype": "i32", "shape": [T]},
                  "token_pos": {"file": "token_pos.npy", "dtype": "i32", "shape": [T]}}}
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(man, f)
