#!/usr/bin/env bash
# The one benchmark command. Builds a release build, sets up the peers' virtual
# environment (bench/requirements.txt), runs every bench/bench_*.sh side by side with
# its peers, then writes bench/RESULTS.md (machine, versions, every table) and the plots
# bench/plots/*.png.
#   bash bench/run.sh            # everything
#   BENCH_QUICK=1 bash bench/run.sh   # smallest sizes only (a few minutes)
#   bash bench/run.sh tsne umap  # only these benchmarks (bench/bench_<name>.sh), in this order
#   BENCH_TIMEOUT=900 bash bench/run.sh         # stop any one benchmark after 900 s
#   BENCH_DEADLINE=03:50 bash bench/run.sh      # stop everything at 03:50 (date -d syntax),
#                                               # then still write RESULTS.md
# A benchmark stopped by either is marked so in RESULTS.md; its RESULTS-<name>.md holds
# whatever it had written by then (most write theirs as each size completes).
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
export PYTHON="$PY"  # the name bench_viewer.sh reads
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
mkdir -p bench/data bench/plots
if [ $# -gt 0 ]; then names=("$@"); else
  names=(); for f in bench/bench_*.sh; do n=$(basename "$f" .sh); names+=("${n#bench_}"); done
fi
# how long each benchmark took and how it ended, for the "This run" section of RESULTS.md
export BENCH_DURATIONS="$root/build/bench_durations.tsv"
: > "$BENCH_DURATIONS"
[ -z "${BENCH_DEADLINE:-}" ] || deadline=$(date -d "$BENCH_DEADLINE" +%s)  # once: "now + 1 hour" too
for n in "${names[@]}"; do
  echo "== bench $n"
  rm -f "bench/RESULTS-$n.failed"
  start=$(date +%s)
  limit=${BENCH_TIMEOUT:-0}
  if [ -n "${BENCH_DEADLINE:-}" ]; then
    left=$(( deadline - start ))
    if [ "$left" -le 0 ]; then
      printf '%s\t0\tnot run (deadline %s)\n' "$n" "$BENCH_DEADLINE" >> "$BENCH_DURATIONS"
      continue
    fi
    if [ "$limit" -eq 0 ] || [ "$left" -lt "$limit" ]; then limit=$left; fi
  fi
  # timeout signals the benchmark's whole process group (its python and engine children too)
  if timeout -k 10 "$limit" bash "bench/bench_$n.sh"; then status=ok; else
    rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status="stopped after ${limit} s"
    else status="FAILED (exit $rc)"; echo "bench $n $status" | tee "bench/RESULTS-$n.failed"; fi
  fi
  printf '%s\t%s\t%s\n' "$n" "$(( $(date +%s) - start ))" "$status" >> "$BENCH_DURATIONS"
done
"$PY" bench/collect.py
echo "wrote bench/RESULTS.md"
