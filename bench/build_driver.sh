#!/usr/bin/env bash
# build_driver.sh - compiles one C benchmark driver (bench/*_driver.c) against the engine
# library of the release build and links it with exactly the libraries the attnviz binary
# is linked with (CMake's own link line, build/CMakeFiles/attnviz.dir/), so CUDA, FAISS,
# OpenBLAS and the rest follow whatever this build configured.
#   bash bench/build_driver.sh bench/bench_knn_driver.c build/bench/bench_knn_driver
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 2 ] || { echo "usage: bench/build_driver.sh SRC.c OUT" >&2; exit 2; }
src=$(realpath "$1")
out=$(realpath -m "$2")
b=${BENCH_BUILD_DIR:-$root/build}
link="$b/CMakeFiles/attnviz.dir/link.txt"
[ -f "$b/libattnviz_core.a" ] && [ -f "$link" ] || {
  echo "build_driver: no release build in $b (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" >&2
  exit 2
}
mkdir -p "$(dirname "$out")"
cc -O2 -std=c11 -D_GNU_SOURCE -fopenmp -Wall -Werror -I"$root" -I"$root/.deps/faiss_c/include" \
   -c "$src" -o "$out.o"
linker=$(cut -d' ' -f1 "$link")
extra=$(sed -n 's/.*linkLibs\.rsp//p' "$link")
(cd "$b" && eval "\"$linker\" \"$out.o\" -o \"$out\" @CMakeFiles/attnviz.dir/linkLibs.rsp $extra")
rm -f "$out.o"
