#!/usr/bin/env bash
# Builds and runs the CPU emulation of the CUDA kernels: every case file
# kernels/<op>/<op>_emu.cpp (the op's kernels of kernels/<op>/*.cu, their own source
# compiled as C++ under emu.h, against references) linked into one program with
# kernels/emu/emu_main.cpp. No GPU, no nvcc.
#   bash kernels/emu/run.sh [BUILD_DIR [GROUP...]]
# BUILD_DIR defaults to build/emu; GROUPs (attention, pack, layernorm, rmsnorm, rope,
# swiglu, half, embed, gelu, knn, tree, overflow, stall, step, affinities, umap, pca,
# live) pick what runs, every one by default
# (about 80 s on 2 busy cores). tests/cli_cuda_emu.sh runs it in ctest (label cpu), so
# CI checks the kernels' logic.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="${1:-$root/build/emu}"
shift || true
mkdir -p "$out"
# the C the cases hold the kernels to (CPU twins) and what they use of base/
objs=()
for c in kernels/pack/pack_cpu.c kernels/layernorm/layernorm_cpu.c kernels/umap/umap_graph.c \
         base/util.c base/dtype.c base/npy.c; do
  o="$out/$(basename "$c" .c).o"
  gcc -std=c11 -O2 -D_GNU_SOURCE -I"$root" -c "$root/$c" -o "$o"
  objs+=("$o")
done
# the case files, two compilers at a time (each pulls in <thread>, <barrier>, ...);
# -Wno-unknown-pragmas: the kernels' `#pragma unroll` is nvcc's, g++ passes over it
cases=("$root"/kernels/*/*_emu.cpp "$root/kernels/emu/emu_main.cpp")
printf '%s\n' "${cases[@]}" | xargs -P 2 -I{} sh -c \
  'g++ -std=c++20 -O2 -Wall -Wextra -Werror -Wno-unused-function -Wno-unknown-pragmas -I"$1" -c "$2" -o "$3/$(basename "$2" .cpp).o"' \
  _ "$root" {} "$out"
for c in "${cases[@]}"; do objs+=("$out/$(basename "$c" .cpp).o"); done
g++ -o "$out/emu" "${objs[@]}" -lpthread -lm
"$out/emu" "$@"
