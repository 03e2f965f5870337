#!/usr/bin/env bash
# cli_llm.sh - a decoder LLM through the whole CLI: `attnviz run` on the tiny grouped-query
# llama (a Hugging Face folder: 4 query heads over 2 key heads, byte-level BPE) leaves a run
# folder whose manifest and arrays say so (k.npy holds the key heads, q/k after RoPE, or
# before with --qk pre-rope), with readable token labels; `info`, `stats`, `render` (every
# view, the first token hidden) and the viewer under Xvfb open it. Then the installed
# SmolLM2-135M-Instruct GGUF (when present; scripts/install.sh installs it) over the bundled
# sentences, the way the README shows it.
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
M="$AV_SRC/tests/fixtures/models"
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
# npy_shape FILE: the shape tuple of a .npy header, e.g. "(2, 2, 30, 16)"
npy_shape() { head -c 128 "$1" | tr -d '\0' | grep -ao "'shape': ([0-9, ]*)" | sed "s/'shape': //"; }
# manifest VALUE: whether the manifest has "key": value (tabs or spaces between)
has_key() { grep -Eq "\"$2\":[[:space:]]*$3,?\$" "$1/manifest.json" || fail "$1: manifest lacks \"$2\": $3: $(grep "\"$2\"" "$1/manifest.json")"; }
printf 'the quick brown fox jumps over the lazy dog.\nhello world\nattention heads look at tokens\n' >s.txt

# --- the tiny grouped-query llama --------------------------------------------------------
"$AV" run "$M/llama-gqa" s.txt -o tiny --method pca --device cpu >out.txt 2>err.txt
rc=$?
[ $rc -eq 0 ] || fail "run llama-gqa: exit $rc: $(tail -3 err.txt)"
for f in manifest.json q.npy k.npy v_norm.npy tokens.jsonl items.jsonl proj/pca-2d.npy stats.json; do
  [ -s "tiny/$f" ] || fail "run llama-gqa: tiny/$f missing"
done
has_key tiny model_type '"llama"'; has_key tiny num_heads 4; has_key tiny num_kv_heads 2; has_key tiny qk_rope '"post"'
n=$(grep -Eo '"num_tokens":[[:space:]]*[0-9]+' tiny/manifest.json | grep -Eo '[0-9]+$')
[ "$(npy_shape tiny/q.npy)" = "(2, 4, $n, 16)" ] || fail "q.npy shape $(npy_shape tiny/q.npy), expected (2, 4, $n, 16)"
[ "$(npy_shape tiny/k.npy)" = "(2, 2, $n, 16)" ] || fail "k.npy shape $(npy_shape tiny/k.npy): the key heads, expected (2, 2, $n, 16)"
# every query head is a row of the statistics table; byte-level tokens are labelled readably
[ "$(grep -c '^[01]:[0-3] ' out.txt)" -eq 8 ] || fail "stats table: $(grep -c '^[01]:[0-3] ' out.txt) rows of 8"
grep -q '"text": "Ġ", "label": "␣"' tiny/tokens.jsonl || fail "labels: the space token is not shown as ␣: $(head -3 tiny/tokens.jsonl)"
"$AV" info tiny >info.txt 2>&1 || fail "info RUN: $(cat info.txt)"
grep -Eq '^heads +4 \(2 key heads, shared by groups of 2\)' info.txt || fail "info RUN: heads line: $(grep heads info.txt)"
grep -Eq '^q/k +after RoPE' info.txt || fail "info RUN: q/k line: $(grep q/k info.txt)"
[ $fails -eq 0 ] && echo "ok   run on a grouped-query llama: $n tokens, q $(npy_shape tiny/q.npy), k $(npy_shape tiny/k.npy)"

# --qk pre-rope: other q/k, said by the manifest; the first token's (position 0) are equal
before=$fails
"$AV" extract "$M/llama-gqa" s.txt -o pre --qk pre-rope --dtype f32 --device cpu --quiet 2>err.txt || fail "--qk pre-rope: $(cat err.txt)"
"$AV" extract "$M/llama-gqa" s.txt -o post --dtype f32 --device cpu --quiet 2>err.txt || fail "extract: $(cat err.txt)"
has_key pre qk_rope '"pre"'
cmp -s pre/q.npy post/q.npy && fail "--qk pre-rope stored the same q as post-rope"
# header 128 bytes; q [2, 4, n, 16] f32: layer 0 head 0 token 0 is bytes 128..191
cmp -s <(tail -c +129 pre/q.npy | head -c 64) <(tail -c +129 post/q.npy | head -c 64) ||
  fail "position 0 turns by no angle: its q must be the same before and after RoPE"
[ $fails -eq $before ] && echo "ok   --qk pre-rope"

# --- render: every view of the run, the first token hidden (the LLMs' attention sink) ------
before=$fails
"$AV" render tiny --view matrix -o matrix.png 2>err.txt || fail "render matrix: $(cat err.txt)"
"$AV" render tiny --view single --head 1:3 --item 0 -o single.png 2>err.txt || fail "render single: $(cat err.txt)"
"$AV" render tiny --view sentence --head 1:3 --item 0 --hide-special --state -o sentence.png >state.json 2>err.txt ||
  fail "render sentence: $(cat err.txt)"
grep -q '"view":"sentence","layer":1,"head":3' state.json || fail "render sentence state: $(head -c 300 state.json)"
grep -q '"hide_special":true' state.json || fail "render sentence: --hide-special not in the state"
for p in matrix single sentence; do [ "$(png_size $p.png)" = 1600x1000 ] || fail "render $p: size $(png_size $p.png)"; done
[ $fails -eq $before ] && echo "ok   render matrix, single, sentence"

# --- the viewer under Xvfb: the single view of a query head of the second group -----------
before=$fails
. "$AV_SRC/tests/xvfb.sh"
av_start_xvfb 170 240 xvfb.log
cat >script.txt <<EOS
point 4 query
state $AV_TMP/v1.json
click
state $AV_TMP/v2.json
key v
state $AV_TMP/v3.json
screenshot $AV_TMP/view.png
quit
EOS
timeout 120 "$AV" view tiny --view single --head 1:3 --size 1000x700 --script script.txt >view.out 2>view.err ||
  fail "view --script: exit $?: $(cat view.err)"
grep -q '"view":"single","layer":1,"head":3' v1.json || fail "view: $(head -c 300 v1.json)"
grep -q "\"hover\":{\"token\":4,\"text\":\"$(sed -n 5p tiny/tokens.jsonl | sed -E 's/.*"text": "([^"]*)".*/\1/')\",\"kind\":\"query\"" v1.json ||
  fail "view hover: $(grep -o '"hover":{[^}]*}' v1.json)"
grep -q '"selected_token":4,"selected_item":0' v2.json || fail "view click: $(grep -o '"selected_[a-z]*":-*[0-9]*' v2.json | tr '\n' ' ')"
grep -q '"view":"sentence"' v3.json || fail "view v: $(head -c 200 v3.json)"
[ "$(png_size view.png)" = 1000x700 ] || fail "view screenshot $(png_size view.png)"
[ $fails -eq $before ] && echo "ok   view: single head 1:3, hover, click, sentence view"

# --- the real SmolLM2 GGUF over the bundled sentences ------------------------------------
smol="$AV_SRC/.deps/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$smol" ]; then
  before=$fails
  "$AV" run "$smol" "$AV_SRC/datasets/samples/sentences.txt" -o smol --max-items 12 --method pca --device cpu \
    >out.txt 2>err.txt || fail "run SmolLM2: exit $?: $(tail -3 err.txt)"
  has_key smol model_type '"llama"'; has_key smol num_layers 30; has_key smol num_heads 9
  has_key smol num_kv_heads 3; has_key smol head_dim 64; has_key smol num_items 12
  n=$(grep -Eo '"num_tokens":[[:space:]]*[0-9]+' smol/manifest.json | grep -Eo '[0-9]+$')
  [ "$(npy_shape smol/k.npy)" = "(30, 3, $n, 64)" ] || fail "SmolLM2 k.npy shape $(npy_shape smol/k.npy)"
  [ "$(grep -c '^[0-9]*:[0-8] ' out.txt)" -eq 270 ] || fail "SmolLM2 stats: $(grep -c '^[0-9]*:[0-8] ' out.txt) rows of 270"
  # the first sentence as the GGUF's tokenizer splits it (transformers: test_smollm2_qk)
  [ "$(head -4 smol/tokens.jsonl | sed -E 's/.*"label": "([^"]*)".*/\1/' | tr '\n' '|')" = "Finally|,|␣we|␣will|" ] ||
    fail "SmolLM2 tokens: $(head -4 smol/tokens.jsonl)"
  "$AV" render smol --view matrix -o smol-matrix.png 2>err.txt || fail "render SmolLM2 matrix: $(cat err.txt)"
  "$AV" render smol --view sentence --head 29:8 --item 0 --hide-special -o smol-sentence.png 2>err.txt ||
    fail "render SmolLM2 sentence: $(cat err.txt)"
  [ "$(png_size smol-matrix.png)" = 1600x1000 ] || fail "SmolLM2 matrix size $(png_size smol-matrix.png)"
  [ $fails -eq $before ] && echo "ok   SmolLM2-135M-Instruct GGUF: 12 sentences, $n tokens, 270 heads projected and rendered"
else
  echo "cli_llm: $smol absent (scripts/install.sh installs it): SmolLM2 run skipped"
fi

if [ $fails -ne 0 ]; then echo "cli_llm: $fails failures"; exit 1; fi
echo "cli_llm: ok"
