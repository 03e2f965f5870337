#!/usr/bin/env bash
# Tokenizer throughput: the C tokenizers (bench/tokenizers_speed.c, built here from the
# tokenizer sources alone) against Hugging Face tokenizers (bench/tokenizers_peer.py) on
# the same generated text, for all-MiniLM-L6-v2's WordPiece, the real GPT-2 BPE, the real
# Llama 3.2 and Qwen tokenizer.json files (byte-level BPE with their PCRE2 split) and the
# SentencePiece-style sp-legacy fixture (byte fallback, no pre-tokenizer: whole lines go
# through the BPE model).
# Writes bench/RESULTS-tokenizers.md. Gets $PY and $BENCH_QUICK from bench/run.sh; runs
# alone too: PY=.deps/venv/bin/python bash bench/bench_tokenizers.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PY=${PY:-$root/.deps/venv/bin/python}
mb=8; [ "${BENCH_QUICK:-0}" = 1 ] && mb=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# A Zipf-distributed text over 30 000 made-up words with punctuation, numbers and, one
# line in ten, a line of the parity corpus (accents, CJK, emoji, code): realistic word
# repetition, so the BPE cache is exercised as on a real dataset, not flattered.
"$PY" - "$work/text.txt" "$mb" <<'PYEOF'
import json, random, sys
out, mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
syl = ["ka", "to", "ri", "men", "sa", "lo", "ve", "dra", "in", "ul", "phe", "qua", "ston", "er", "ly", "ing", "al", "ex"]
words = ["".join(rng.choice(syl) for _ in range(rng.randint(1, 4))) for _ in range(30000)]
weights = [1.0 / (i + 1) for i in range(len(words))]
corpus = [json.loads(l)["text"].replace("\n", " ") for l in open("tests/fixtures/tokenizers/corpus.jsonl", encoding="utf-8")]
size, lines = 0, []
while size < mb * 1_000_000:
    if rng.random() < 0.1:
        line = rng.choice(corpus)
    else:
        ws = rng.choices(words, weights, k=rng.randint(5, 40))
        ws = [w.capitalize() if rng.random() < 0.1 else w for w in ws]
        line = " ".join(ws) + rng.choice([".", "!", "?", ",", " 1,234.", " (2024)."])
    lines.append(line)
    size += len(line.encode()) + 1
open(out, "w", encoding="utf-8").write("\n".join(lines) + "\n")
PYEOF

cc -O2 -std=c11 -D_GNU_SOURCE -I"$root" bench/tokenizers_speed.c models/tokenizer.c models/wordpiece.c \
   models/bpe.c models/vocab.c models/hftok.c models/pretok.c models/tokjson.c models/gpt2files.c \
   models/tokgguf.c models/toklabel.c base/util.c -lpcre2-8 -lutf8proc -lcjson -lpthread -o "$work/tokenizers_speed"

minilm=.deps/models/all-MiniLM-L6-v2
gpt2=${AV_GPT2_TOKENIZER_DIR:-.deps/models/gpt2-tokenizer}
{
  echo "# Tokenizers: C vs Hugging Face tokenizers"
  echo
  echo "Text: ${mb} MB generated (Zipf over 30k words + 10% parity-corpus lines), $(wc -l < "$work/text.txt") lines."
  echo "C: one thread, best of 3 passes (cold = first pass, BPE cache empty). tokenizers $("$PY" -c 'import tokenizers; print(tokenizers.__version__)'):"
  echo "encode per line on one thread (best of 3; includes Python's per-call cost, as a Python caller"
  echo "pays it), and encode_batch on all $(nproc) cores. Token counts must agree (the parity test"
  echo "checks ids line by line; this is a second look on a bigger text)."
  echo "CPU: $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(cc --version | head -1)."
  echo "Load average at start: $(cut -d" " -f1-3 /proc/loadavg) (the machine is shared: compare C and HF within one run only)."
  echo
  echo "| tokenizer | tokens | C MB/s | C cold MB/s | HF 1 thread MB/s | HF batch MB/s | same token count |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  for pair in "minilm bert $minilm" "gpt2 gpt2 $gpt2" "llama3 llama .deps/models/llama3-tokenizer" \
              "qwen llama .deps/models/qwen-tokenizer" "sp-legacy llama tests/fixtures/tokenizers/llm/sp-legacy"; do
    set -- $pair
    c=$("$work/tokenizers_speed" "$3" "$2" "$work/text.txt" 3)
    hf=$("$PY" bench/tokenizers_peer.py "$3" "$2" "$work/text.txt" 3)
    "$PY" - "$1" "$c" "$hf" <<'PYEOF'
import json, sys
name, c, hf = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
cold = c["bytes"] / c["cold_seconds"] / 1e6
print(f"| {name} | {c['tokens']} | {c['mb_per_s']:.1f} | {cold:.1f} | {hf['mb_per_s']:.1f} | "
      f"{hf['batch_mb_per_s']:.1f} | {'yes' if c['tokens'] == hf['tokens'] else 'NO: %d' % hf['tokens']} |")
PYEOF
  done
  echo
  echo "Notes. llama3, qwen: the real tokenizer.json files (scripts/install.sh), Split with their"
  echo "regex (PCRE2, JIT) + byte-level BPE; gpt2 goes through the same PCRE2 split now. qwen also"
  echo "NFC-normalizes every line (utf8proc), which is most of its gap to llama3. sp-legacy is the"
  echo "SentencePiece-style fixture (Llama 2's configuration): no pre-tokenizer, so a whole line is"
  echo "one BPE piece, too long for the piece cache; its vocabulary is 1500 tokens, so a line makes"
  echo "many more merges than with a real one. Wall-clock figures: under a load average in the"
  echo "hundreds they drift by 2x or more between runs; C and HF ran back to back on the same text."
} > bench/RESULTS-tokenizers.md
cat bench/RESULTS-tokenizers.md
