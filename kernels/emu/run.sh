#!/usr/bin/env bash
# Builds and runs kernels/emu/emu_kernels.cpp (forward ops) and emu_projections.cpp
# (kNN selection, t-SNE's P and tree, UMAP's graph, PCA): the CUDA kernels of
# kernels/<op>/*.cu, compiled as C++ under a CPU emulation (emu.h), against references.
# No GPU, no nvcc.
#   bash kernels/emu/run.sh [BUILD_DIR]    (default build/emu; about 80 s on 2 busy cores)
# tests/cli_cuda_emu.sh runs it in ctest (label cpu), so CI checks the kernels' logic.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="${1:-$root/build/emu}"
mkdir -p "$out"
for c in kernels/pack/pack_cpu.c base/util.c base/dtype.c base/npy.c kernels/umap/umap_graph.c; do
  gcc -std=c11 -O2 -D_GNU_SOURCE -I"$root" -c "$root/$c" -o "$out/$(basename "$c" .c).o"
done
# -Wno-unknown-pragmas: the kernels' `#pragma unroll` is nvcc's; g++ passes over it.
g++ -std=c++20 -O2 -Wall -Wextra -Werror -Wno-unused-function -Wno-unknown-pragmas -I"$root" -o "$out/emu_kernels" \
    "$root/kernels/emu/emu_kernels.cpp" "$out"/pack_cpu.o "$out"/util.o "$out"/dtype.o "$out"/npy.o -lpthread -lm
g++ -std=c++20 -O2 -Wall -Wextra -Werror -Wno-unused-function -Wno-unknown-pragmas -I"$root" -o "$out/emu_projections" \
    "$root/kernels/emu/emu_projections.cpp" "$out"/util.o "$out"/dtype.o "$out"/umap_graph.o -lpthread -lm
"$out/emu_kernels"
"$out/emu_projections"
