#!/usr/bin/env bash
# Extraction throughput on the GPU: attnviz extract --device cuda against transformers in
# PyTorch on the same GPU, same shapes (bert-base-uncased and gpt2 small, random weights),
# same batch (32 x 128 tokens), same token count, f32 and bf16 (our --gemm bf16 tensor-core
# GEMMs, weights kept in bf16; PyTorch's torch.autocast bf16). Writes
# bench/RESULTS-gpu-extract.md.
#   bash bench/bench_extract_gpu.sh            (bench/gpu_run.sh runs it; so does bench/run.sh)
# Env: AV (attnviz binary), PY (python with torch + transformers + CUDA), BENCH_QUICK=1
# (64 items instead of 512), MODELS (default "bert-base gpt2"), AUTO=0 (leave out the
# --batch auto column's run). Needs no network. On a machine without an NVIDIA GPU or with
# a build without CUDA it says SKIP and writes nothing.
#
# What each column is (tokens per second, real tokens; every item is 128 tokens, no padding):
#   attnviz extract   the whole command: load, tokenize, forward, q/k packed on the device
#                     to f16, downloaded, written to q.npy/k.npy; second of two runs (warm
#                     page cache); model load included, so this is a lower bound
#   batches tok/s     tokens over the time of the batch loop (the command's own report:
#                     forward passes plus storing q/k, no load, no final flush): the figure
#                     to hold against "torch + q/k", which times the same part
#   storing q/k s     of the batch loop, the time in the sink (q/k/|v| into the mapped arrays)
#   GEMM TFLOP/s      batches tok/s x the model's GEMM FLOPs per token (bench_extract_gpu.py
#                     flops), and its share of the GEMM ceiling measured in the same run
#                     (torch matmul at 4096 x 768 x 3072, f32 without TF32 / bf16)
#   --batch auto      the whole command with batches sized from free device memory
#   torch forward     transformers' forward pass alone (warm, load excluded)
#   torch + q/k       the same job as extract: forward with hooks that move every layer's
#                     q and k to the host as f16 [L, H, tokens, d] in an .npy memmap
# and the floor for writing q/k: the same number of bytes written with dd (fsync) into
# the same folder.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
build=$(cd "$(dirname "$AV")" 2>/dev/null && pwd || echo "$root/build")   # the build $AV comes from
if ! nvidia-smi -L >/dev/null 2>&1; then echo "bench_extract_gpu: SKIP: no NVIDIA GPU on this machine"; exit 0; fi
# The peer needs torch with CUDA: bench/run.sh's $PY (the project venv) may have a CPU-only
# torch, so take the first of $PY, the venv and python3 whose torch sees the GPU.
given=${PY:-}
PY=""
for p in $given "$root/.deps/venv/bin/python" python3; do
  if "$p" -c 'import torch, transformers, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then PY=$p; break; fi
done
if [ ! -x "$build/dev_matmul" ]; then echo "bench_extract_gpu: SKIP: $build has no CUDA backend (no nvcc at build time)"; exit 0; fi
if [ -z "$PY" ]; then echo "bench_extract_gpu: SKIP: no python with torch (CUDA) and transformers"; exit 0; fi

n=512; [ "${BENCH_QUICK:-0}" = 1 ] && n=64
tokens=$((n * 128))
work="$build/bench_gpu"
mkdir -p "$work"
if [ ! -f "$work/models.$n.done" ]; then
  rm -rf "$work/models"; mkdir -p "$work/models"
  "$PY" bench/bench_extract_gpu.py models "$work/models" "$n" || { echo "bench_extract_gpu: making the models failed"; exit 1; }
  touch "$work/models.$n.done"
fi

out="$root/bench/RESULTS-gpu-extract.md"
peak=$("$PY" bench/bench_extract_gpu.py peak 4096 768 3072 2>"$work/peak.log" | tail -1)
[ -n "$peak" ] || peak='{"f32": 0, "bf16": 0}'
peak_txt=$("$PY" -c "import json,sys; p=json.loads(sys.argv[1]); print(f\"f32 {p['f32']:.1f} TFLOP/s, bf16 {p['bf16']:.1f} TFLOP/s\")" "$peak")
tmp="$out.tmp.$$"
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)
{
  echo "## Extraction on the GPU ($gpu)"
  echo
  echo "$(date -u +%Y-%m-%d), $n items x 128 tokens = $tokens tokens per run, batch 32, q/k stored as f16."
  echo "torch $("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)'),"\
       "transformers $("$PY" -c 'import transformers; print(transformers.__version__)'), nvcc $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')."
  echo
  echo "GEMM ceiling measured in this run through torch (cuBLAS) at 4096 x 768 x 3072: $peak_txt."
  echo
  echo "| model | precision | attnviz extract tok/s (whole command) | attnviz batches tok/s | storing q/k s | GEMM TFLOP/s (of ceiling) | torch forward tok/s | torch + q/k tok/s | batches / (torch + q/k) | attnviz --batch auto tok/s |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$tmp"

attempts="warm timed auto"; [ "${AUTO:-1}" = 0 ] && attempts="warm timed"
for model in ${MODELS:-bert-base gpt2}; do
  case "$model" in bert-base|gpt2) ;; *) echo "bench_extract_gpu: MODELS: unknown model '$model' (bert-base, gpt2)"; exit 2 ;; esac
  data="$work/models/${model%-base}.txt"
  for prec in f32 bf16; do
    run="$work/run-$model-$prec"
    ours="failed"; line=""; auto="failed"; [ "${AUTO:-1}" = 0 ] && auto="-"
    ok=1
    for attempt in $attempts; do
      rm -rf "$run"
      batch=32; [ $attempt = auto ] && batch=auto
      start=$(date +%s.%N)
      if ! "$AV" extract "$work/models/$model" "$data" -o "$run" --device cuda --gemm "$prec" --dtype f16 --batch $batch \
           > "$work/extract.log" 2>&1; then
        ok=0; echo "bench_extract_gpu: attnviz extract failed on $model ($prec, batch $batch): $(tail -1 "$work/extract.log")"; break
      fi
      end=$(date +%s.%N)
      if [ $attempt = timed ]; then
        ours=$("$PY" -c "print(f'{$tokens / ($end - $start):,.0f}')")
        line=$(grep 'attnviz extract: wrote' "$work/extract.log" | tail -1)
      fi
      [ $attempt = auto ] && auto=$("$PY" -c "print(f'{$tokens / ($end - $start):,.0f}')")
    done
    flops=$("$PY" bench/bench_extract_gpu.py flops "$work/models/$model")
    peer=$("$PY" bench/bench_extract_gpu.py torch "$work/models/$model" "$n" "$prec" "$work/torch-qk" 2>"$work/torch.log" | tail -1)
    if [ -z "$peer" ]; then echo "bench_extract_gpu: torch failed on $model ($prec): $(tail -1 "$work/torch.log")"; peer='{"forward_tok_s": 0, "extract_tok_s": 0}'; fi
    "$PY" - "$model" "$prec" "$ours" "$peer" "$line" "$flops" "$peak" "$tokens" "$auto" >> "$tmp" <<'PYEOF'
import json, re, sys
model, prec, ours, peer, line, flops, peak, tokens, auto = sys.argv[1:10]
peer, flops, peak, tokens = json.loads(peer), float(flops), json.loads(peak), int(tokens)
f, e = peer["forward_tok_s"], peer["extract_tok_s"]
# "(N items, T tokens in S s: batches B s, storing q/k W s of them; final flush F s)"
m = re.search(r"batches ([0-9.]+) s, storing q/k ([0-9.]+) s", line or "")
if m and ours != "failed":
    bt, st = float(m.group(1)), float(m.group(2))
    btok = tokens / bt
    tflops = btok * flops / 1e12
    ceil = peak.get("f32" if prec == "f32" else "bf16", 0)
    frac = f"{tflops:.1f} ({100 * tflops / ceil:.0f}%)" if ceil else f"{tflops:.1f}"
    ratio = f"{btok / e:.2f}x" if e else "-"
    print(f"| {model} | {prec} | {ours} | {btok:,.0f} | {st:.2f} | {frac} | {f:,.0f} | {e:,.0f} | {ratio} | {auto} |")
else:
    print(f"| {model} | {prec} | {ours} | - | - | - | {f:,.0f} | {e:,.0f} | - | {auto} |")
PYEOF
    rm -rf "$run" "$work/torch-qk"
  done
done

# The floor for writing q/k: bert-base and gpt2 both store 12 x 12 heads of 64 per token.
bytes=$((2 * 12 * 12 * tokens * 64 * 2))
mb=$((bytes / 1048576))
start=$(date +%s.%N)
dd if=/dev/zero of="$work/ddtest" bs=1M count="$mb" conv=fsync status=none
end=$(date +%s.%N)
rm -f "$work/ddtest"
"$PY" -c "s = $end - $start; print(f'\nWriting q and k ({$mb} MiB in f16) takes at least {s:.2f} s on this disk ({$mb / 1024 / s:.2f} GiB/s, dd with fsync), i.e. caps extraction at {$tokens / s:,.0f} tok/s however fast the GPU is.')" >> "$tmp"
mv "$tmp" "$out"
cat "$out"
