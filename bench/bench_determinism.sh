#!/usr/bin/env bash
# bench_determinism.sh - what "the same bits on any thread count" costs
# (kernels/backend/determinism.h): the same run through the binary before the change and
# the one after, taking turns (before, after, before, after, ...), at 2 threads:
# extract (sgemm over fixed row blocks instead of one share per thread), t-SNE and UMAP
# of one head (kNN over fixed query blocks with a single-threaded BLAS, KL sums in
# blocks; UMAP's SGD on one thread instead of Hogwild threads), PCA of every head
# (scatter matrices per block), stats of every head. Writes bench/RESULTS-determinism.md.
#   AV                  the binary after (default build/attnviz)
#   BENCH_DET_BEFORE    the git revision before (default ea49d6d, main just before the
#                       change merged); built once with -DAV_CUDA=OFF into
#                       build-bench-before-REV/
#   BENCH_QUICK=1       fewer sentences, one round
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
AV="${AV:-$ROOT/build/attnviz}"
REV="${BENCH_DET_BEFORE:-ea49d6d}"
MINILM="$ROOT/.deps/models/all-MiniLM-L6-v2"
OUT="$ROOT/bench/RESULTS-determinism.md"
SENT=120; ROUNDS=3
[ "${BENCH_QUICK:-0}" = 1 ] && SENT=60 && ROUNDS=1
export OMP_NUM_THREADS=2

BEFORE_DIR="$ROOT/build-bench-before-$REV"
BEFORE_SRC="$BEFORE_DIR/src"
BEFORE="$BEFORE_DIR/build/attnviz"
if [ ! -x "$BEFORE" ]; then
  rm -rf "$BEFORE_SRC" && mkdir -p "$BEFORE_SRC"
  git -C "$ROOT" archive "$REV" | tar -x -C "$BEFORE_SRC"
  ln -s "$ROOT/.deps" "$BEFORE_SRC/.deps"
  cmake -S "$BEFORE_SRC" -B "$BEFORE_DIR/build" -DAV_CUDA=OFF >/dev/null
  cmake --build "$BEFORE_DIR/build" -j2 --target attnviz >/dev/null
fi

W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
head -$SENT "$ROOT/datasets/samples/sentences.txt" >"$W/s.txt"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# timed STEP BIN -- COMMAND...: appends "STEP BIN wall cpu" to $W/times
timed() {
  local step=$1 bin=$2; shift 3
  /usr/bin/time -f "%e %U %S" -o "$W/t" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
  read -r wall user sys <"$W/t"
  echo "$step $bin $wall $(echo "$user + $sys" | bc)" >>"$W/times"
}

for r in $(seq $ROUNDS); do
  for bin in before after; do
    exe=$BEFORE; [ $bin = after ] && exe=$AV
    run="$W/run-$bin"
    rm -rf "$run"
    timed extract $bin -- "$exe" extract "$MINILM" "$W/s.txt" -o "$run" --device cpu --quiet
    timed tsne $bin -- "$exe" project "$run" --method tsne --heads 0:0 --iters 500 --device cpu --quiet
    timed umap $bin -- "$exe" project "$run" --method umap --heads 0:0 --device cpu --quiet
    # the same with 1 epoch: the difference is the SGD, which now runs on one thread
    timed umap1 $bin -- "$exe" project "$run" --method umap --heads 0:0 --iters 1 --force --device cpu --quiet
    timed pca $bin -- "$exe" project "$run" --method pca --device cpu --quiet
    timed stats $bin -- "$exe" stats "$run"
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
tokens=$(grep -o '"num_tokens":[[:space:]]*[0-9]*' "$W/run-after/manifest.json" | grep -o '[0-9]*$')

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
{
  echo "# The cost of determinism"
  echo
  echo "The same inputs, parameters and seed give the same bytes on any thread count"
  echo "(kernels/backend/determinism.h; tests/cli_same_bits_any_thread_count.sh). This is what"
  echo "it costs: \`bash bench/bench_determinism.sh\`, the binary before the change ($REV) and"
  echo "after it taking turns on the same run, $ROUNDS round(s), medians, OMP_NUM_THREADS=2."
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), shared with"
  echo "other work: load average $load0 at the start, $load1 at the end."
  echo "Run: all-MiniLM-L6-v2 over $SENT bundled sentences, $tokens tokens, $((2 * tokens)) points per"
  echo "head; t-SNE (500 iterations) and UMAP (200 epochs) of head 0:0, PCA and stats of all 72 heads."
  echo
  echo "| step | wall before (s) | wall after (s) | CPU before (s) | CPU after (s) | CPU after / before |"
  echo "|---|---|---|---|---|---|"
  for step in extract tsne umap umap1 pca stats; do
    wb=$(awk -v s=$step '$1 == s && $2 == "before" {print $3}' "$W/times" | median)
    wa=$(awk -v s=$step '$1 == s && $2 == "after" {print $3}' "$W/times" | median)
    cb=$(awk -v s=$step '$1 == s && $2 == "before" {print $4}' "$W/times" | median)
    ca=$(awk -v s=$step '$1 == s && $2 == "after" {print $4}' "$W/times" | median)
    echo "| $step | $wb | $wa | $cb | $ca | $(echo "scale=2; $ca / $cb" | bc) |"
  done
  sgd=$(awk '$2 == "after" && $1 == "umap" {u += $4; n++} $2 == "after" && $1 == "umap1" {o += $4} END {printf "%.2f", (u - o) / n}' "$W/times")
  umap_cpu=$(awk '$2 == "after" && $1 == "umap" {u += $4; n++} END {printf "%.2f", u / n}' "$W/times")
  echo
  echo "umap1 is UMAP with one epoch instead of 200: the difference, ${sgd} s of the ${umap_cpu} CPU"
  echo "seconds (mean, after), is the SGD that now runs on one thread."
  echo
  echo "How to read it: CPU seconds are the work done, and the steadier figure on a shared"
  echo "machine; the determinism rules add none (fixed blocks, one BLAS thread, sums in order"
  echo "cost nothing measurable). Wall seconds depend on the load at each moment and are only"
  echo "comparable on an idle machine. What the CPU seconds cannot show is parallelism given"
  echo "up: UMAP's SGD (above) and the HNSW build (\`--knn approx\`, above 100000 points) run"
  echo "on one thread where they used every core; on an idle machine with c cores that costs"
  echo "at most the SGD time x (1 - 1/c) of wall time per UMAP head, while everything else"
  echo "(kNN, graph, initialisation, the other heads) stays parallel."
  echo
  echo "Every run (step, binary, wall/CPU): $(awk '{printf "%s %s %ss/%ss; ", $1, $2, $3, $4}' "$W/times")"
} >"$OUT"
cat "$OUT"
