#!/usr/bin/env bash
# Dequantization throughput per ggml type: attnviz's av_dequant (bench/bench_dequant.c)
# against gguf-py's numpy dequantization (bench/bench_dequant_peer.py, the reference the
# fixtures are checked against), on the same tensors: a GGUF of one random 4,194,304-element
# tensor per type (written to a temporary folder), and every tensor of the real
# SmolLM2-135M-Instruct Q4_1 file when it is installed. Writes bench/RESULTS-dequant.md.
#   bash bench/bench_dequant.sh      (bench/run.sh runs it too)
# Env: PY (python with gguf + numpy), BENCH_QUICK=1 (fewer runs), BUILD (build folder).
# Columns: median of RUNS after one untimed pass (pages faulted in); CPU ms are the
# steadier figure on a shared machine. gguf-py runs on one thread (numpy); attnviz on one
# thread (OMP_NUM_THREADS=1, the like-for-like ratio) and on 2.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PY=${PY:-$root/.deps/venv/bin/python}
BUILD=${BUILD:-$root/build}
runs=9; [ "${BENCH_QUICK:-0}" = 1 ] && runs=3
cmake --build "$BUILD" --target bench_dequant -j2 >/dev/null || { echo "bench_dequant: build failed" >&2; exit 1; }
B=$BUILD/bench_dequant
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)
"$PY" bench/bench_dequant_peer.py --make "$tmp/random.gguf" "$tmp/random.gguf" "$runs" > "$tmp/py.tsv" || exit 1
OMP_NUM_THREADS=1 "$B" "$tmp/random.gguf" "$runs" > "$tmp/av1.tsv" || exit 1
OMP_NUM_THREADS=2 "$B" "$tmp/random.gguf" "$runs" > "$tmp/av2.tsv" || exit 1
smol=.deps/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$smol" ]; then
  sruns=$(( runs > 3 ? 3 : runs ))
  "$PY" bench/bench_dequant_peer.py "$smol" "$sruns" | tail -n 1 > "$tmp/spy.tsv"
  OMP_NUM_THREADS=1 "$B" "$smol" "$sruns" | tail -n 1 > "$tmp/sav1.tsv"
  OMP_NUM_THREADS=2 "$B" "$smol" "$sruns" | tail -n 1 > "$tmp/sav2.tsv"
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)
# row TYPE FILE COLUMN: a column (4 wall_ms, 5 cpu_ms) of the line for TYPE
row() { awk -F'\t' -v t="$1" -v c="$3" '$1 == t { print $c }' "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
{
  echo "# Dequantization: attnviz (av_dequant) vs gguf-py (numpy)"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores (shared)."
  echo "Load average (1, 5, 15 min) before: $load0; after: $load1."
  echo "gguf-py $("$PY" -c 'import importlib.metadata as m; print(m.version("gguf"))'), numpy $("$PY" -c 'import numpy; print(numpy.__version__)'), $(cc --version | head -n 1)."
  echo "Median of $runs runs after one untimed pass; ms for 4,194,304 elements (random blocks, finite scales)."
  echo "Both produce the same bits (tests/test_gguf.c checks every type against gguf-py)."
  echo
  echo "| type | gguf-py CPU ms | attnviz 1 thread CPU ms | speed-up (CPU, 1 thread) | attnviz 1 thread wall ms | attnviz 2 threads wall ms | attnviz 1 thread Melem/s |"
  echo "|---|---|---|---|---|---|---|"
  for t in F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K; do
    pc=$(row "$t" "$tmp/py.tsv" 5); ac=$(row "$t" "$tmp/av1.tsv" 5)
    r=$(ratio "$pc" "$ac"); [ "$t" = F32 ] && r="- (a view)"
    echo "| $t | $pc | $ac | $r | $(row "$t" "$tmp/av1.tsv" 4) | $(row "$t" "$tmp/av2.tsv" 4) | $(row "$t" "$tmp/av1.tsv" 6) |"
  done
  echo
  echo "F32 in gguf-py is a view of the file (no copy); attnviz copies into the caller's buffer."
  if awk -v l="${load0%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
    echo
    echo "The machine was loaded while measured (load average above its $(nproc) cores): wall times,"
    echo "and above all the 2-thread ones, mostly measure waiting for a core (OpenMP threads"
    echo "spin at the end of a parallel region while their partner is descheduled). The"
    echo "1-thread CPU columns are the comparable figures."
  fi
  if [ -f "$smol" ]; then
    echo
    echo "## The whole SmolLM2-135M-Instruct Q4_1 file (272 tensors, F32 + Q4_1 + Q8_0)"
    echo
    echo "Sums of per-tensor medians of $sruns runs, every tensor dequantized to float32."
    echo
    echo "| | elements | wall ms | CPU ms |"
    echo "|---|---|---|---|"
    echo "| gguf-py | $(cut -f3 "$tmp/spy.tsv") | $(cut -f4 "$tmp/spy.tsv") | $(cut -f5 "$tmp/spy.tsv") |"
    echo "| attnviz, 1 thread | $(cut -f3 "$tmp/sav1.tsv") | $(cut -f4 "$tmp/sav1.tsv") | $(cut -f5 "$tmp/sav1.tsv") |"
    echo "| attnviz, 2 threads | $(cut -f3 "$tmp/sav2.tsv") | $(cut -f4 "$tmp/sav2.tsv") | $(cut -f5 "$tmp/sav2.tsv") |"
  fi
} > bench/RESULTS-dequant.md
cat bench/RESULTS-dequant.md
