#!/usr/bin/env bash
# GPU projections benchmark (issue #7), for a GPU machine; bench/gpu_run.sh runs it.
#   bash bench/bench_tsne_gpu.sh [build-dir]
# 1. t-SNE per head (2-D, perplexity 30, 1000 iterations) at 2T = 20k, 200k, 2M points
#    of a synthetic 64-dim q/k cloud (build/bench_tsne_gpu sizes)
# 2. all 144 heads of a bert-base-shaped 100k-token run (2T = 200k points, head size 64)
#    through av_tsne_cuda_batch; the goal is under 10 minutes on one H100
# 3. kNN, PCA and UMAP of one 200k-point cloud, GPU beside CPU
# 4. openTSNE on this machine's CPU on the same clouds, up to OTSNE_MAX points
#    (default 200000: openTSNE at 2M points takes hours), Barnes-Hut and FFT
# Writes the figures below the "measured" line of bench/RESULTS-gpu-projections.md.
# Environment: SIZES (default 10000,100000,1000000 = T), HEADS (144), HEAD_T (100000),
# OTSNE_MAX, PYTHON (default .deps/venv/bin/python).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bin="$build/bench_tsne_gpu"
py=${PYTHON:-$root/.deps/venv/bin/python}
sizes=${SIZES:-10000,100000,1000000}
heads=${HEADS:-144}
head_t=${HEAD_T:-100000}
otsne_max=${OTSNE_MAX:-200000}
out="$root/bench/RESULTS-gpu-projections.md"
[ -x "$bin" ] || { echo "bench_tsne_gpu: $bin not built (a CUDA build is needed)"; exit 1; }
nvidia-smi -L >/dev/null 2>&1 || { echo "bench_tsne_gpu: no NVIDIA GPU here"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
run() {   # run LABEL CMD...: output into the report, failure noted
  echo "== $1"
  shift
  { echo '```'; "$@" 2>&1 || { echo "FAILED (exit $?)"; status=1; }; echo '```'; echo; } >> "$work/report"
}
{
  echo "Measured by \`bash bench/bench_tsne_gpu.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')."
  echo
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p'), openTSNE $("$py" -c 'import openTSNE; print(openTSNE.__version__)' 2>/dev/null || echo absent)"
  echo
  echo "### t-SNE per head (GPU)"
  echo
} > "$work/report"
run "t-SNE sizes" "$bin" sizes "$work" "$sizes"
echo "### All $heads heads of a bert-base-shaped $head_t-token run (GPU, batch of streams)" >> "$work/report"
echo >> "$work/report"
run "t-SNE $heads heads" "$bin" heads "$heads" "$head_t"
echo "### kNN, PCA, UMAP (200k points)" >> "$work/report"
echo >> "$work/report"
run "others" "$bin" others 100000
echo "### openTSNE on the CPU, same clouds (up to $otsne_max points)" >> "$work/report"
echo >> "$work/report"
clouds=()
for f in "$work"/cloud_*.npy; do
  t=${f##*cloud_}; t=${t%.npy}
  [ $((2 * t)) -le "$otsne_max" ] && clouds+=("$f")
done
if [ ${#clouds[@]} -gt 0 ]; then
  run "openTSNE bh" "$py" "$root/bench/tsne_gpu_peer.py" bh "${clouds[@]}"
  run "openTSNE fft" "$py" "$root/bench/tsne_gpu_peer.py" fft "${clouds[@]}"
fi
marker='<!-- measured: everything below is written by bench/bench_tsne_gpu.sh -->'
if grep -qF "$marker" "$out" 2>/dev/null; then
  awk -v m="$marker" '{ print } index($0, m) { exit }' "$out" > "$work/head"
else
  { cat "$out" 2>/dev/null; echo; echo "$marker"; } > "$work/head"
fi
cat "$work/head" "$work/report" > "$out"
echo "bench_tsne_gpu: wrote $out (status $status)"
exit $status
