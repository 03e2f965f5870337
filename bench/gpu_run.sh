#!/usr/bin/env bash
# The one command for a GPU machine, from a fresh checkout (no network needed; the
# Debian packages of scripts/install.sh, nvcc, and a python with torch + transformers
# must be present):
#   bash bench/gpu_run.sh
# 1. configures and builds with CUDA (sm_80 and sm_90) into build/
# 2. runs the gpu tests (ctest -L gpu: tests/gpu_ops.c, tests/gpu_forward.c, and the
#    projections' gpu_knn.c, gpu_pca.c, gpu_tsne.c, gpu_umap.c)
# 3. runs every kernels/dev program (variants checked against the CPU, timed)
# 4. runs bench/bench_extract_gpu.sh (attnviz extract vs transformers, f32 and bf16)
# 5. runs bench/bench_tsne_gpu.sh (GPU t-SNE / kNN / UMAP / PCA vs CPU and openTSNE;
#    its figures go to bench/RESULTS-gpu-projections.md; the full run includes 144
#    heads of 200k points and openTSNE at 200k: SIZES, HEADS, HEAD_T, OTSNE_MAX shorten it)
# and writes everything to bench/RESULTS-gpu.md (with the card, driver and versions).
# Exit status: 0 when the tests passed and every dev program checked out, else 1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
status=0
out="$root/bench/RESULTS-gpu.md"
log="$root/build/gpu_run.log"

if ! nvidia-smi -L >/dev/null 2>&1; then echo "gpu_run: no NVIDIA GPU here (nvidia-smi failed): nothing to run"; exit 1; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="80;90" > /dev/null \
  || { echo "gpu_run: cmake failed (missing packages? see scripts/install.sh)"; exit 1; }
cmake --build build -j"$jobs" > "$root/build/gpu_build.log" 2>&1 \
  || { tail -30 "$root/build/gpu_build.log"; echo "gpu_run: build failed"; exit 1; }
[ -x build/dev_matmul ] || { echo "gpu_run: the build has no CUDA backend (nvcc not found by cmake)"; exit 1; }

tmp="$out.tmp.$$"
{
  echo "# attnviz on the GPU"
  echo
  echo "Written by \`bash bench/gpu_run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- nvcc: $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo
  echo "## Tests (ctest -L gpu)"
  echo
  echo '```'
} > "$tmp"
ctest --test-dir build -L gpu --output-on-failure -V > "$log" 2>&1 || status=1
# On a GPU machine a skipped gpu test means the device was not usable: that is a failure here.
grep -q 'Skipped' "$log" && status=1
grep -E '^[0-9]+: (  |device|SKIP|gpu_)|CHECK failed|tests passed|tests failed|Passed|Failed|Not Run|Skipped' "$log" \
  | sed 's/^[0-9]*: //' >> "$tmp"
echo '```' >> "$tmp"

echo -e "\n## Kernel variants (kernels/dev)\n" >> "$tmp"
for prog in build/dev_*; do
  [ -x "$prog" ] || continue
  name=$(basename "$prog")
  echo "== $name"
  { echo "### $name"; echo; echo '```'; } >> "$tmp"
  if ! "$prog" >> "$tmp" 2>&1; then status=1; echo "gpu_run: $name FAILED" | tee -a "$tmp"; fi
  echo '```' >> "$tmp"
done

echo "== bench_extract_gpu"
if AV="$root/build/attnviz" bash bench/bench_extract_gpu.sh > "$root/build/bench_extract_gpu.log" 2>&1; then
  echo -e "\n" >> "$tmp"
  cat bench/RESULTS-gpu-extract.md >> "$tmp" 2>/dev/null
else
  echo -e "\nbench_extract_gpu.sh failed: $(tail -1 "$root/build/bench_extract_gpu.log")" >> "$tmp"
fi
grep 'bench_extract_gpu:' "$root/build/bench_extract_gpu.log" | sed 's/^/\n/' >> "$tmp"

echo "== bench_tsne_gpu"
if bash bench/bench_tsne_gpu.sh "$root/build" > "$root/build/bench_tsne_gpu.log" 2>&1; then
  echo -e "\n## Projections\n\nbench/bench_tsne_gpu.sh: figures in bench/RESULTS-gpu-projections.md" >> "$tmp"
else
  status=1
  echo -e "\n## Projections\n\nbench_tsne_gpu.sh failed: $(tail -1 "$root/build/bench_tsne_gpu.log")" >> "$tmp"
fi
mv "$tmp" "$out"
echo "gpu_run: wrote $out (status $status)"
exit $status
