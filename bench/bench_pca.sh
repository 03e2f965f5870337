#!/usr/bin/env bash
# bench_pca.sh - av_pca against scikit-learn's PCA on the q/k clouds of bench_umap.sh
# (same driver, same data, 2 threads); adds its table to bench/RESULTS-umap.md.
set -euo pipefail
BENCH_UMAP_WHAT=pca exec bash "$(dirname "$0")/bench_umap.sh"
