#!/usr/bin/env bash
# bench_scaling.sh - wall time of `attnviz extract` + `attnviz project` as the number of
# heads grows (1, 12, 144 of a bert-base-shaped checkpoint) and as the number of tokens
# grows (1k upwards, all-MiniLM-L6-v2, one head and all heads, t-SNE and PCA). Writes
# bench/RESULTS-scaling.md and bench/data/scaling_{heads,tokens}.json (with the fitted
# growth exponents). Details: bench/bench_scaling.py.
#   bash bench/bench_scaling.sh                    # 4096 tokens for heads; 1k.. up to the cap
#   BENCH_QUICK=1 bash bench/bench_scaling.sh      # 128 tokens for heads; 1k, 4k, 16k (a few minutes)
#   BENCH_SCALING_CAP=1800 bash bench/bench_scaling.sh   # let each step run up to 30 min
# Needs a release build (build/attnviz) and the venv (bench/run.sh provides both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
PY=${PY:-$root/.deps/venv/bin/python}
threads=${BENCH_THREADS:-2}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=passive
work="$root/build/bench_scaling"
mkdir -p "$work" bench/data
"$AV" project --help | grep -q -- '--heads' || { echo "bench_scaling: $AV has no 'project --heads'" >&2; exit 2; }
data="$work/sentences_x40.txt"   # ~1.1M MiniLM tokens
[ -s "$data" ] || for _ in $(seq 40); do cat datasets/samples/sentences.txt; done > "$data"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  args=(--heads-tokens 128 --sizes 1000 4000 16000 --cap "${BENCH_SCALING_CAP:-120}")
else
  args=(--heads-tokens 4096 --cap "${BENCH_SCALING_CAP:-600}")
fi
"$PY" bench/bench_scaling.py --av "$AV" --data "$data" --work "$work" "${args[@]}" "$@"
