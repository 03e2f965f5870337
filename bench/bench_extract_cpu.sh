#!/usr/bin/env bash
# bench_extract_cpu.sh - tokens/s of `attnviz extract --device cpu` against transformers in
# PyTorch doing the same job (bench/bench_extract_cpu.py torch): bert-base-uncased and GPT-2
# small shapes (random weights, real vocabularies), the same sentences
# (datasets/samples/sentences.txt), the same batch size, the same thread count, q/k/|v|
# stored per head as float16 by both. Writes bench/RESULTS-extract.md.
#   AV=build/attnviz PY=.deps/venv/bin/python bash bench/bench_extract_cpu.sh
# Environment: THREADS (default 2), ITEMS (default 200; BENCH_QUICK=1: 48), BATCH (32).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
PY=${PY:-$root/.deps/venv/bin/python}
threads=${THREADS:-2}
items=${ITEMS:-200}
[ "${BENCH_QUICK:-0}" = 1 ] && items=48
batch=${BATCH:-32}
models="$root/build/bench-models"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
"$PY" bench/bench_extract_cpu.py make "$models"
head -n "$items" datasets/samples/sentences.txt >"$work/data.txt"

out="bench/RESULTS-extract.md"
{
  echo "# attnviz extract on the CPU vs transformers (PyTorch)"
  echo
  echo "Same $items sentences (datasets/samples/sentences.txt), batch $batch, $threads threads"
  echo "(OMP_NUM_THREADS / OPENBLAS_NUM_THREADS for attnviz, torch.set_num_threads for PyTorch),"
  echo "random weights with the real shapes and vocabularies, q/k/|v| of every head stored as f16."
  echo "Time = forward passes + storing (model loading and tokenizing excluded on both sides)."
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%Y-%m-%d);"
  echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows both sides)."
  echo "Versions: $("$PY" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'), OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?')."
  echo
  echo "| model | tokens | attnviz tokens/s | PyTorch tokens/s | attnviz / PyTorch |"
  echo "|---|---|---|---|---|"
} >"$out.tmp"
for m in bert-base gpt2; do
  rm -rf "$work/run"
  "$AV" extract "$models/$m" "$work/data.txt" -o "$work/run" --device cpu --batch "$batch" 2>"$work/err.txt"
  # "extract: N tokens in S s (R tokens/s); ..."
  line=$(grep '^extract: ' "$work/err.txt")
  av_tokens=$(echo "$line" | sed -E 's/^extract: ([0-9]+) tokens in ([0-9.]+)s.*/\1/')
  av_secs=$(echo "$line" | sed -E 's/^extract: ([0-9]+) tokens in ([0-9.]+)s.*/\2/')
  pt=$("$PY" bench/bench_extract_cpu.py torch "$models/$m" "$work/data.txt" "$items" "$batch" 2>/dev/null | tail -n 1)
  pt_tokens=$(echo "$pt" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tokens"])')
  pt_secs=$(echo "$pt" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  row=$("$PY" -c "
a, s, b, t = $av_tokens, $av_secs, $pt_tokens, $pt_secs
print(f'| $m | {a} (PyTorch {b}) | {a / s:.0f} | {b / t:.0f} | {(a / s) / (b / t):.2f} |')")
  echo "$row" | tee -a "$out.tmp"
done
# hand-written notes below the table survive a rerun
[ -f "$out" ] && sed -n '/^## Notes/,$p' "$out" | { echo; cat; } >>"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
