#!/usr/bin/env bash
# The CUDA kernels' logic without a GPU: builds kernels/emu (the kernels' own source
# under a CPU emulation of CUDA's threads, barriers and shuffles) and checks the forward
# kernels (attention incl. grouped-query, q/k packing, layernorm, RMSNorm, RoPE, SwiGLU,
# 16-bit weight widening, elementwise) and the projections' kernels
# (kNN selection, t-SNE affinities and tree, UMAP's graph, PCA) against references; what
# it covers and cannot: kernels/emu/COVERAGE.md. Not a CLI test:
# a cli_*.sh script is how ctest runs a bash test here. Needs g++ with C++20 (<barrier>).
set -euo pipefail
mkdir -p "$AV_TMP"
bash "$AV_SRC/kernels/emu/run.sh" "$AV_TMP"
