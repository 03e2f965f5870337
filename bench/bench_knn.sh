#!/usr/bin/env bash
# bench_knn.sh - neighbour search: attnviz's av_knn_build (FAISS exact flat and HNSW,
# kernels/knn/knn_cpu.c) vs faiss-cpu from Python and scikit-learn's NearestNeighbors, same threads,
# same clouds (Gaussian and real q/k), time and recall@k. Writes bench/RESULTS-knn.md and
# bench/data/knn_time.json. Sizes 10k, 50k, 200k points (BENCH_QUICK=1: 5k and 20k, k 15 only).
# Needs a release build in build/ and the venv (bench/run.sh does both); alone:
#   bash bench/bench_knn.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
PY=${PY:-$root/.deps/venv/bin/python}
threads=${BENCH_THREADS:-2}
# BLAS too: the flat indexes search by GEMM, so every tool gets the same threads there
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OMP_WAIT_POLICY=passive
work="$root/build/bench_knn"
mkdir -p "$work" bench/data
bash bench/build_driver.sh bench/bench_knn_driver.c "$work/driver"
sizes=(10000 50000 200000); ks=(15 90)
if [ "${BENCH_QUICK:-0}" = 1 ]; then sizes=(5000 20000); ks=(15); fi
maxn=${sizes[-1]}
# the real clouds: one MiniLM extract of maxn/2 tokens of the bundled sentences (repeated
# as often as needed), reused while it covers the sizes asked for
data="$work/sentences_x40.txt"
[ -s "$data" ] || for _ in $(seq 40); do cat datasets/samples/sentences.txt; done > "$data"
run="$work/run_minilm_$((maxn / 2))"
if [ ! -f "$run/manifest.json" ]; then
  "$AV" extract .deps/models/all-MiniLM-L6-v2 "$data" -o "$run" --max-tokens $((maxn / 2)) --dtype f32 --quiet --force
fi
"$PY" bench/bench_knn.py --driver "$work/driver" --run "$run" --sizes "${sizes[@]}" --ks "${ks[@]}" \
      --threads "$threads" "$@"
