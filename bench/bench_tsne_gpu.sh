#!/usr/bin/env bash
# GPU projections benchmark (issue #7), for a GPU machine; bench/gpu_run.sh runs it
# (stages proj and heads, docs/gpu.md).
#   bash bench/bench_tsne_gpu.sh [build-dir]
# Parts (PARTS, default all four; each fits one 10-minute device call in quick mode):
#   sizes   t-SNE per head (2-D, perplexity 30, 1000 iterations) at 2T = 20k, 200k, 2M
#           points of a synthetic 64-dim q/k cloud (build/bench_tsne_gpu sizes)
#   heads   all 144 heads of a bert-base-shaped 100k-token run (2T = 200k points, head
#           size 64) through av_tsne_cuda_batch; the goal is under 10 minutes on one H100
#   others  kNN, PCA and UMAP of one 200k-point cloud, GPU beside CPU
#   otsne   openTSNE on this machine's CPU on the clouds of "sizes" (run in the same
#           call), up to OTSNE_MAX points (openTSNE at 2M points takes hours), BH and FFT
# Writes each part's figures as its own block below the "measured" line of
# bench/RESULTS-gpu-projections.md; the blocks of parts not run this time are kept.
# Environment: PARTS, SIZES (default 10000,100000,1000000 = T), HEADS (144), HEAD_T
# (100000), OTHERS_T (100000), OTSNE_MAX (200000); BENCH_QUICK=1 makes the defaults
# SIZES=10000,100000 HEADS=12 OTHERS_T=20000 OTSNE_MAX=20000. PYTHON (default: the
# project venv's python when there is one, else python3; needs openTSNE for otsne).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bin="$build/bench_tsne_gpu"
py=${PYTHON:-}
if [ -z "$py" ]; then
  py=python3
  [ -x "$root/.deps/venv/bin/python" ] && py="$root/.deps/venv/bin/python"
fi
parts=${PARTS:-sizes heads others otsne}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  sizes=${SIZES:-10000,100000}; heads=${HEADS:-12}; others_t=${OTHERS_T:-20000}; otsne_max=${OTSNE_MAX:-20000}
else
  sizes=${SIZES:-10000,100000,1000000}; heads=${HEADS:-144}; others_t=${OTHERS_T:-100000}; otsne_max=${OTSNE_MAX:-200000}
fi
head_t=${HEAD_T:-100000}
for p in $parts; do
  case "$p" in sizes|heads|others|otsne) ;; *) echo "bench_tsne_gpu: unknown part '$p' (sizes heads others otsne)"; exit 2 ;; esac
done
has_part() { [[ " $parts " == *" $1 "* ]]; }
# openTSNE runs on the clouds that "sizes" writes into this run's scratch folder.
if has_part otsne && ! has_part sizes; then echo "bench_tsne_gpu: part otsne needs part sizes in the same run"; exit 2; fi
out="$root/bench/RESULTS-gpu-projections.md"
[ -x "$bin" ] || { echo "bench_tsne_gpu: $bin not built (a CUDA build is needed)"; exit 1; }
nvidia-smi -L >/dev/null 2>&1 || { echo "bench_tsne_gpu: no NVIDIA GPU here"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
run() {   # run LABEL CMD...: output into the report and on stdout, failure noted
  echo "== $1"
  shift
  local rc=0
  "$@" > "$work/run.out" 2>&1 || rc=$?
  [ $rc = 0 ] || echo "FAILED (exit $rc)" >> "$work/run.out"
  cat "$work/run.out"
  { echo '```'; cat "$work/run.out"; echo '```'; echo; } >> "$work/report"
  [ $rc = 0 ] || status=1
}
gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
# begin_part NAME TITLE: a block of its own, so that a later run of other parts keeps it.
begin_part() {
  echo "<!-- part $1 -->" >> "$work/$1"
  {
    echo "### $2"
    echo
    echo "Measured by \`PARTS=\"$parts\" bash bench/bench_tsne_gpu.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), BENCH_QUICK=${BENCH_QUICK:-0}."
    echo "GPU: $gpu; CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')."
    echo
  } >> "$work/$1"
}
end_part() { echo "<!-- end $1 -->" >> "$work/$1"; }
part_run() {   # part_run NAME LABEL CMD...: run() into the part's block
  local name=$1; shift
  : > "$work/report"
  run "$@"
  cat "$work/report" >> "$work/$name"
}
if has_part sizes; then
  begin_part sizes "t-SNE per head (GPU)"
  part_run sizes "t-SNE sizes" "$bin" sizes "$work" "$sizes"
  end_part sizes
fi
if has_part heads; then
  begin_part heads "All $heads heads of a bert-base-shaped $head_t-token run (GPU, batch of streams)"
  part_run heads "t-SNE $heads heads" "$bin" heads "$heads" "$head_t"
  end_part heads
fi
if has_part others; then
  begin_part others "kNN, PCA, UMAP ($((2 * others_t)) points)"
  part_run others "others" "$bin" others "$others_t"
  end_part others
fi
if has_part otsne; then
  begin_part otsne "openTSNE on the CPU, same clouds (up to $otsne_max points; openTSNE $("$py" -c 'import openTSNE; print(openTSNE.__version__)' 2>/dev/null || echo absent))"
  clouds=()
  for f in "$work"/cloud_*.npy; do
    [ -f "$f" ] || continue
    t=${f##*cloud_}; t=${t%.npy}
    [ $((2 * t)) -le "$otsne_max" ] && clouds+=("$f")
  done
  if [ ${#clouds[@]} -gt 0 ]; then
    part_run otsne "openTSNE bh" "$py" "$root/bench/tsne_gpu_peer.py" bh "${clouds[@]}"
    part_run otsne "openTSNE fft" "$py" "$root/bench/tsne_gpu_peer.py" fft "${clouds[@]}"
  else
    echo "No cloud of at most $otsne_max points." >> "$work/otsne"; status=1
  fi
  end_part otsne
fi
marker='<!-- measured: everything below is written by bench/bench_tsne_gpu.sh -->'
if grep -qF "$marker" "$out" 2>/dev/null; then
  awk -v m="$marker" '{ print } index($0, m) { exit }' "$out" > "$work/head"
else
  { cat "$out" 2>/dev/null; echo; echo "$marker"; } > "$work/head"
fi
{
  cat "$work/head"
  for p in sizes heads others otsne; do
    if has_part "$p"; then cat "$work/$p"; echo
    elif [ -f "$out" ]; then
      awk -v b="<!-- part $p -->" -v e="<!-- end $p -->" '$0 == b {k = 1} k {print} $0 == e {k = 0; print ""}' "$out"
    fi
  done
} > "$work/new" && mv "$work/new" "$out"
echo "bench_tsne_gpu: wrote $out (status $status)"
exit $status
