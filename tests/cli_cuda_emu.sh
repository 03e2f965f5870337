#!/usr/bin/env bash
# The CUDA kernels' logic without a GPU: builds the CPU emulation (kernels/emu: the
# kernels' own source under an emulation of CUDA's threads, barriers and shuffles) with
# every op's case file (kernels/<op>/<op>_emu.cpp) and runs every group: the forward
# kernels (attention, q/k packing, layernorm, embed, gelu/add) and the projections'
# kernels (kNN selection, t-SNE affinities and tree, the tree's waits giving up on a grid
# that is not resident, UMAP's graph, PCA) against references; what it covers and
# cannot: kernels/emu/COVERAGE.md. Not a CLI test: a cli_*.sh script is how ctest runs
# a bash test here. Needs g++ with C++20 (<barrier>).
set -euo pipefail
mkdir -p "$AV_TMP"
bash "$AV_SRC/kernels/emu/run.sh" "$AV_TMP"
