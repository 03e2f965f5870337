#!/usr/bin/env bash
# The one benchmark command. Builds a release build, sets up the peers' virtual
# environment (bench/requirements.txt), runs every bench/bench_*.sh side by side with
# its peers, then writes bench/RESULTS.md (machine, versions, every table) and the plots
# bench/plots/*.png.
#   bash bench/run.sh            # everything
#   BENCH_QUICK=1 bash bench/run.sh   # smallest sizes only (a few minutes)
#   bash bench/run.sh tsne umap  # only these benchmarks (bench/bench_<name>.sh)
# Each bench_<name>.sh writes bench/RESULTS-<name>.md and may write bench/data/<name>*.json
# for plots. It gets $AV (attnviz binary), $PY (the venv's python), $BENCH_QUICK.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install.sh
bash bench/setup_venv.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
export AV="$root/build/attnviz" PY="$root/.deps/venv/bin/python" BENCH_QUICK="${BENCH_QUICK:-0}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
mkdir -p bench/data bench/plots
if [ $# -gt 0 ]; then names=("$@"); else
  names=(); for f in bench/bench_*.sh; do n=$(basename "$f" .sh); names+=("${n#bench_}"); done
fi
for n in "${names[@]}"; do
  echo "== bench $n"
  bash "bench/bench_$n.sh" || echo "bench $n FAILED (exit $?)" | tee "bench/RESULTS-$n.failed"
done
"$PY" bench/collect.py
echo "wrote bench/RESULTS.md"
