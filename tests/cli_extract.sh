#!/usr/bin/env bash
# cli_extract.sh - `attnviz extract` from the command line: a good run produces the whole
# run folder; every kind of bad input ends with exit status 2, exactly one line on stderr
# naming the culprit, and no run folder (nor a temporary one) left behind.
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
M="$AV_SRC/tests/fixtures/models"
A="$AV_SRC/tests/fixtures/activations"
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_bad NAME PATTERN -- COMMAND...: exit 2, one stderr line matching PATTERN, no run/ left
expect_bad() {
  local name=$1 pat=$2 before=$fails; shift 3
  rm -rf run run.partial
  "$@" >out.txt 2>err.txt; local rc=$?
  local lines; lines=$(wc -l <err.txt)
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2 ($(head -c 300 err.txt))"
  [ "$lines" -eq 1 ] || fail "$name: $lines lines on stderr: $(head -c 400 err.txt)"
  grep -q -- "$pat" err.txt || fail "$name: message does not mention '$pat': $(cat err.txt)"
  ls -d run run.partial >/dev/null 2>&1 && fail "$name: left a run folder behind"
  [ $fails -eq $before ] && echo "ok   $name: $(cat err.txt)"
}

printf 'the quick brown fox jumps over the lazy dog.\nhello world\n' >good.txt

# ---- a good run ----------------------------------------------------------------------
"$AV" extract "$M/bert-tiny" good.txt -o run --device cpu 2>err.txt
rc=$?
[ $rc -eq 0 ] || fail "good run: exit $rc: $(cat err.txt)"
for f in manifest.json q.npy k.npy v_norm.npy token_item.npy token_pos.npy tokens.jsonl items.jsonl; do
  [ -s "run/$f" ] || fail "good run: run/$f missing"
done
ntok=$(grep -o '"num_tokens":[[:space:]]*[0-9]*' run/manifest.json | grep -o '[0-9]*$')
[ "$(wc -l <run/tokens.jsonl)" = "$ntok" ] || fail "tokens.jsonl has $(wc -l <run/tokens.jsonl) lines, manifest says $ntok"
[ "$(wc -l <run/items.jsonl)" = 2 ] || fail "items.jsonl should have 2 lines"
grep -q '"dtype":[[:space:]]*"f16"' run/manifest.json || fail "default dtype should be f16"
grep -q '"gemm":[[:space:]]*"f32"' run/manifest.json || fail "the manifest should record the default GEMM precision f32"
grep -q '^{"text": "\[CLS\]", "label": "\[CLS\]", "item": 0, "pos": 0}$' run/tokens.jsonl || fail "first token should be [CLS]"
grep -q 'extract: .* tokens in' err.txt || fail "no progress summary on stderr: $(cat err.txt)"
# q.npy holds layers*heads*tokens*head_dim f16 values after its header
qsize=$(stat -c %s run/q.npy)
[ $((qsize - 128)) -eq $((2 * 4 * ntok * 8 * 2)) ] || fail "q.npy is $qsize bytes for $ntok tokens"
ls -d run.partial >/dev/null 2>&1 && fail "good run left a temporary folder"
echo "ok   good run: $ntok tokens"

# an existing run: refused without --force (and kept), replaced with it
echo keep >run/marker
"$AV" extract "$M/bert-tiny" good.txt -o run 2>err.txt
rc=$?
[ $rc -eq 2 ] && [ -f run/marker ] || fail "existing run: exit $rc or touched without --force"
[ "$(wc -l <err.txt)" -eq 1 ] && grep -q "run: already exists" err.txt || fail "existing run: $(cat err.txt)"
ls -d run.partial >/dev/null 2>&1 && fail "existing run: left a temporary folder"
echo "ok   existing output folder: $(cat err.txt)"
"$AV" extract "$M/bert-tiny" good.txt -o run --force --quiet 2>err.txt || fail "--force: $(cat err.txt)"
[ ! -f run/marker ] && [ -f run/manifest.json ] || fail "--force did not replace the run"
[ -s err.txt ] && fail "--quiet printed: $(cat err.txt)"
rm -rf run

# "run/" names the same folder as "run" (the temporary folder must not land inside it)
"$AV" extract "$M/bert-tiny" good.txt -o run/ --quiet 2>err.txt || fail "-o run/: $(cat err.txt)"
[ -f run/manifest.json ] && ! ls -d run/*.partial run.partial >/dev/null 2>&1 || fail "-o run/ did not give run/manifest.json alone"
rm -rf run

# ---- GPT-2: tokens.jsonl keeps the tokenizer's spelling and adds a readable label ---------
"$AV" extract "$M/gpt2-tiny" good.txt -o run --device cpu --quiet 2>err.txt || fail "gpt2-tiny: $(cat err.txt)"
grep -q "$(printf '"text": "\xc4\xa0[a-z]*", "label": "\xe2\x90\xa3[a-z]*", "item"')" run/tokens.jsonl \
  || fail "gpt2-tiny: no 'Ġword' token labelled '␣word': $(head -c 300 run/tokens.jsonl)"
echo "ok   gpt2 labels: $(grep -c '"label"' run/tokens.jsonl) tokens labelled"
rm -rf run

# ---- a tokenizer.json of a kind we do not read: exit 2, one line, nothing written -------
mkdir -p unigram
cp "$M/gpt2-tiny/config.json" "$M/gpt2-tiny/model.safetensors" unigram/
printf '{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}' >unigram/tokenizer.json
expect_bad "Unigram tokenizer.json" "tokenizer.json: model type 'Unigram' is not supported" -- "$AV" extract unigram good.txt -o run
rm -rf unigram

# ---- usage ---------------------------------------------------------------------------
expect_bad "output '.'" "not a usable run folder" -- "$AV" extract "$M/bert-tiny" good.txt -o .
expect_bad "extra argument" "expected MODEL_DIR and DATA" -- "$AV" extract "$M/bert-tiny" good.txt extra -o run
expect_bad "missing -o" "-o RUN is required" -- "$AV" extract "$M/bert-tiny" good.txt
expect_bad "unknown option" "unknown option" -- "$AV" extract "$M/bert-tiny" good.txt -o run --frobnicate
expect_bad "bad dtype" "--dtype" -- "$AV" extract "$M/bert-tiny" good.txt -o run --dtype f64
expect_bad "bad batch" "--batch" -- "$AV" extract "$M/bert-tiny" good.txt -o run --batch 0
expect_bad "bad gemm" "--gemm expects f32, tf32, bf16 or f16" -- "$AV" extract "$M/bert-tiny" good.txt -o run --gemm fp8
# tensor cores are the GPU's: the CPU refuses a precision it does not have (f32 is fine)
expect_bad "bf16 on the cpu" "--gemm bf16: the cpu device multiplies in f32 only" -- "$AV" extract "$M/bert-tiny" good.txt -o run --device cpu --gemm bf16
rm -rf run
"$AV" extract "$M/bert-tiny" good.txt -o run --device cpu --gemm f32 --quiet 2>err.txt && [ -f run/manifest.json ] \
  || fail "--gemm f32 on the cpu: $(cat err.txt)"
expect_bad "sample seed without max-items" "--max-items" -- "$AV" extract "$M/bert-tiny" good.txt -o run --sample-seed 3
expect_bad "bad max-memory" "--max-memory expects a size" -- "$AV" extract "$M/bert-tiny" good.txt -o run --max-memory 3Q
expect_bad "max-memory below one item" "too small" -- "$AV" extract "$M/bert-tiny" good.txt -o run --device cpu --max-memory 1K
# --batch auto and a memory budget that holds one item per batch: a complete run
rm -rf run
"$AV" extract "$M/bert-tiny" good.txt -o run --device cpu --batch auto --max-memory 1G 2>err.txt \
  && grep -q "batches of up to" err.txt && [ -f run/manifest.json ] \
  || fail "--batch auto --max-memory 1G: $(cat err.txt)"
grep -q '"qnorm_mean"' run/manifest.json && grep -q '"knorm_mean"' run/manifest.json || fail "manifest lacks qnorm_mean/knorm_mean"
rm -rf run
expect_bad "unknown device" "unknown device" -- "$AV" extract "$M/bert-tiny" good.txt -o run --device tpu
expect_bad "max-tokens below one item" "--max-tokens" -- "$AV" extract "$M/bert-tiny" good.txt -o run --max-tokens 3
# --device cuda: exit 2 with one line where there is no GPU; a run where there is one
rm -rf run
"$AV" extract "$M/bert-tiny" good.txt -o run --device cuda >/dev/null 2>err.txt; rc=$?
if [ $rc -ne 0 ]; then
  [ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "cuda" err.txt || fail "--device cuda without GPU: exit $rc: $(cat err.txt)"
  ls -d run >/dev/null 2>&1 && fail "--device cuda failure left run/"
  echo "ok   --device cuda without a GPU: $(cat err.txt)"
fi
rm -rf run

# ---- model folder faults -------------------------------------------------------------
mk() { rm -rf "$1"; cp -r "$M/bert-tiny" "$1"; }
expect_bad "missing model folder" "nonexistent" -- "$AV" extract "$AV_TMP/nonexistent" good.txt -o run
mk noconfig; rm noconfig/config.json
expect_bad "missing config.json" "config.json" -- "$AV" extract noconfig good.txt -o run
mk noweights; rm noweights/model.safetensors
expect_bad "missing model.safetensors" "noweights" -- "$AV" extract noweights good.txt -o run
mk novocab; rm novocab/vocab.txt novocab/tokenizer.json
expect_bad "missing vocab.txt" "vocab" -- "$AV" extract novocab good.txt -o run
mk llama; sed -i 's/"model_type": "bert"/"model_type": "llama"/' llama/config.json
expect_bad "unknown model_type" "llama" -- "$AV" extract llama good.txt -o run
# a tensor renamed in the header (same length, so the file stays valid): missing
mk notensor
perl -pi -e 's/encoder\.layer\.1\.output\.dense\.bias/encoder.layer.1.output.dense.bxas/' notensor/model.safetensors
expect_bad "tensor missing" "encoder.layer.1.output.dense.bias" -- "$AV" extract notensor good.txt -o run
# a [64, 32] tensor relabelled [32, 64] (same size, valid file): wrong shape
mk badshape
perl -0pi -e 's/("encoder\.layer\.0\.intermediate\.dense\.weight":\{"dtype":"F32","shape":\[)64,32\]/${1}32,64]/' badshape/model.safetensors
if cmp -s badshape/model.safetensors "$M/bert-tiny/model.safetensors"; then
  fail "could not build the wrong-shape checkpoint (header layout changed?)"
else
  expect_bad "tensor of the wrong shape" "intermediate.dense.weight" -- "$AV" extract badshape good.txt -o run
fi
# a vocabulary without the special tokens
mk nospecial; sed -i 's/^\[CLS\]$/[CLX]/; s/^\[SEP\]$/[SEX]/' nospecial/vocab.txt; rm -f nospecial/tokenizer.json
expect_bad "vocab without [CLS]/[SEP]" "CLS" -- "$AV" extract nospecial good.txt -o run

# ---- data faults ---------------------------------------------------------------------
: >empty.txt
expect_bad "empty dataset" "empty.txt" -- "$AV" extract "$M/bert-tiny" empty.txt -o run
printf 'fine line\nbad \xff\xfe line\n' >latin1.txt
expect_bad "non-UTF-8 line" "latin1.txt:2" -- "$AV" extract "$M/bert-tiny" latin1.txt -o run
expect_bad "missing data file" "nope.txt" -- "$AV" extract "$M/bert-tiny" nope.txt -o run
mkdir -p imgs && cp "$A/images/rgb.png" imgs/a.png && head -c 200 "$A/images/rgb.png" >imgs/b.png
expect_bad "corrupt image" "b.png" -- "$AV" extract "$M/vit-tiny" imgs -o run
expect_bad "text data for a ViT" "vit" -- "$AV" extract "$M/vit-tiny" good.txt -o run
rm imgs/b.png
expect_bad "images for a text model" "image" -- "$AV" extract "$M/bert-tiny" imgs -o run

# ---- the image path works from the command line too ------------------------------------
"$AV" extract "$M/vit-tiny" imgs -o run --quiet 2>err.txt || fail "vit run: $(cat err.txt)"
grep -q '"row": -1, "col": -1' run/tokens.jsonl || fail "ViT CLS token should have row/col -1"
grep -q '"row": 3, "col": 3' run/tokens.jsonl || fail "ViT 4x4 grid should reach row 3 col 3"
rm -rf run

# ---- a real TERM signal midway, then the same command resumes ----------------------------
# The signal races the batches: either the run finished first (exit 0) or it stopped with a
# checkpoint (exit 2, "interrupted", run.partial kept); the rerun must then complete it.
MINILM="$AV_SRC/.deps/models/all-MiniLM-L6-v2"
if [ -d "$MINILM" ]; then
  rm -rf run run.partial
  "$AV" extract "$MINILM" "$AV_SRC/datasets/samples/sentences.txt" -o run --device cpu --batch 4 2>err.txt &
  pid=$!
  sleep 2
  kill -TERM $pid 2>/dev/null
  wait $pid; rc=$?
  if [ $rc -eq 143 ]; then   # ended by the TERM, after writing its checkpoint
    grep -q "interrupted after" err.txt && [ -f run.partial/resume.json ] && [ ! -d run ] \
      || fail "TERM: exit 143 without a checkpoint: $(tail -2 err.txt)"
    "$AV" extract "$MINILM" "$AV_SRC/datasets/samples/sentences.txt" -o run --device cpu --batch 4 2>err.txt \
      || fail "resume after TERM: $(tail -2 err.txt)"
    grep -q "resuming run.partial" err.txt || fail "the rerun did not resume: $(head -3 err.txt)"
    grep -q "of them in this run" err.txt || fail "the resumed run's summary does not say what this run did"
    [ -f run/manifest.json ] && [ ! -e run.partial ] && [ ! -e run/resume.json ] && [ ! -e run/.lock ] \
      || fail "resumed run incomplete or left its checkpoint"
    echo "ok   TERM midway, then resumed"
  elif [ $rc -eq 0 ]; then
    echo "ok   TERM came after the run finished (machine fast): nothing to resume"
  else
    fail "TERM: exit $rc: $(tail -2 err.txt)"
  fi
  rm -rf run run.partial
fi

[ $fails -eq 0 ] && echo "cli_extract: all passed" || echo "cli_extract: $fails failed"
exit $((fails > 0))
