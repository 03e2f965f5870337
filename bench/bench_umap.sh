#!/usr/bin/env bash
# bench_umap.sh - UMAP and PCA against umap-learn and scikit-learn, same data, same
# threads (2), same n_neighbors (15) and epochs. Writes bench/RESULTS-umap.md and
# bench/data/umap_time.json. Run through bench/run.sh, or alone after a release build:
#   PY=.deps/venv/bin/python bash bench/bench_umap.sh       (BENCH_QUICK=1: 10k only)
#   BENCH_UMAP_WHAT=umap|pca|render: one part only (bench/bench_pca.sh sets pca)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PY=${PY:-$root/.deps/venv/bin/python}
work="$root/build/bench_umap"
mkdir -p "$work" bench/data
lib=build/libattnviz_core.a
[ -f "$lib" ] || { echo "bench_umap: build first (cmake --build build)"; exit 2; }
# which engine pieces this build has (nm into a variable: with pipefail, grep -q closing
# the pipe early would fail the test)
syms=$(nm "$lib" 2>/dev/null || true)
defs=()
grep -q ' T av_knn_build$' <<<"$syms" && defs+=(-DAV_BENCH_ENGINE_KNN)
grep -q ' T av_pca$' <<<"$syms" && defs+=(-DAV_BENCH_ENGINE_PCA)
cuda=()
grep -q ' U cuda' <<<"$syms" && cuda=(-L/usr/local/cuda/lib64 -lcudart_static -lcublas -lcusolver -ldl -lrt -lpthread)
cc -O2 -std=c11 -D_GNU_SOURCE -fopenmp -I. -I.deps/faiss_c/include ${defs[@]+"${defs[@]}"} bench/bench_umap_driver.c \
   -o "$work/driver.${BENCH_UMAP_WHAT:-all}" "$lib" $(ls build/libattnviz_cuda.a 2>/dev/null) .deps/faiss_c/lib/libfaiss_c.a -lfaiss \
   $(pkg-config --libs openblas libcjson glfw3) -lutf8proc -llapacke -lEGL -lGL ${cuda[@]+"${cuda[@]}"} -lgomp -lstdc++ -lm
export OMP_NUM_THREADS=2 NUMBA_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
"$PY" bench/bench_umap.py --driver "$work/driver.${BENCH_UMAP_WHAT:-all}" --work "$work" --quick "${BENCH_QUICK:-0}" \
    --pca "$(case " ${defs[*]-} " in *ENGINE_PCA*) echo 1;; *) echo 0;; esac)" \
    --what "${BENCH_UMAP_WHAT:-all}" --engine-knn "$(case " ${defs[*]-} " in *ENGINE_KNN*) echo 1;; *) echo 0;; esac)"
