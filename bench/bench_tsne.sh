#!/usr/bin/env bash
# bench_tsne.sh - t-SNE 2-D and 3-D: attnviz (Barnes-Hut; in 2-D also FFT interpolation)
# vs openTSNE (BH, FFT) and scikit-learn at N = 10k and 50k (BENCH_QUICK=1: 10k only),
# 2 threads each; writes bench/RESULTS-tsne.md. Extra arguments go to bench_tsne.py
# (e.g. --sizes 200000 --dims 2 --tools attnviz-fft opentsne-fft).
# Needs $AV and $PY (bench/run.sh sets them), or run it alone after a release build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
PY=${PY:-$root/.deps/venv/bin/python}
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=2
sizes=(10000 50000)
[ "${BENCH_QUICK:-0}" = 1 ] && sizes=(10000)
"$PY" bench/bench_tsne.py --av "$AV" --sizes "${sizes[@]}" --threads 2 "$@"
