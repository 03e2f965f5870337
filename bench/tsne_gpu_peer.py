"""tsne_gpu_peer.py - openTSNE on this machine's CPU, the peer of bench_tsne_gpu's GPU
timings: the same cloud (written by bench_tsne_gpu sizes), the same schedule (perplexity
30, 250 early-exaggeration iterations at 12, 750 more, PCA start, 2-D, cosine like our
default), every core.
Prints one line per cloud: points, gradient method (bh = Barnes-Hut like ours, fft =
openTSNE's faster default), seconds and openTSNE's own KL estimate.

    python bench/tsne_gpu_peer.py bh|fft cloud_10000.npy [cloud_100000.npy ...]
"""
import os
import sys
import time

import numpy as np
from openTSNE import TSNE


def main():
    method = sys.argv[1]
    for path in sys.argv[2:]:
        X = np.load(path)
        t0 = time.perf_counter()
        emb = TSNE(n_components=2, perplexity=30, early_exaggeration_iter=250, n_iter=750,
                   negative_gradient_method=method, metric="cosine", n_jobs=os.cpu_count(),
                   random_state=42).fit(X)
        secs = time.perf_counter() - t0
        print(f"{len(X):10d} {method:>5s} {secs:10.2f} s  KL {emb.kl_divergence:.4f}", flush=True)


if __name__ == "__main__":
    main()
