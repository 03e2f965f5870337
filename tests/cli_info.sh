#!/usr/bin/env bash
# cli_info.sh - `attnviz info` end to end: the figures it prints for every fixture
# checkpoint against transformers' own (tests/fixtures/models/expected_info.json), a run
# folder built here byte by byte, and every broken checkpoint of
# tests/fixtures/models/bad/ (cases.txt): exit 2, nothing on stdout, exactly one line on
# stderr naming the file and the fault.
set -u
: "${AV:?}" "${AV_SRC:?}" "${AV_TMP:?}"
rm -rf "$AV_TMP" && mkdir -p "$AV_TMP"
cd "$AV_SRC"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expected MODEL KEY: the value of KEY in MODEL's block of expected_info.json (one key per
# line, as json.dump(indent=2) writes it).
expected() {
  awk -v m="\"$1\": {" -v k="\"$2\":" '
    index($0, m) == 3 { inside = 1; next }
    inside && /^  }/ { inside = 0 }
    inside && index($0, k) { v = $2; gsub(/[",]/, "", v); print v; exit }' tests/fixtures/models/expected_info.json
}
# field OUTPUT LABEL: the value column of one line of the info table.
field() { printf '%s\n' "$1" | awk -v l="$2" 'substr($0, 1, length(l)) == l { sub(/^[^ ]+( [a-z]+)? +/, ""); print; exit }'; }

# --- every fixture checkpoint ----------------------------------------------------------
models=$(grep -o '^  "[^"]*": {' tests/fixtures/models/expected_info.json | cut -d'"' -f2)
[ "$(echo "$models" | wc -w)" -eq 6 ] || fail "expected_info.json lists $(echo "$models" | wc -w) models, not 6"
for m in $models; do
  dir=tests/fixtures/models/$m
  out=$("$AV" info "$dir" 2>"$AV_TMP/err") || { fail "$m: exit $?: $(cat "$AV_TMP/err")"; continue; }
  [ -s "$AV_TMP/err" ] && fail "$m: stderr not empty: $(cat "$AV_TMP/err")"
  check() { # label, expected value
    local got; got=$(field "$out" "$1")
    [ "$got" = "$2" ] || fail "$m: '$1' is '$got', expected '$2'"
  }
  check "type" "$(expected "$m" model_type)"
  check "layers" "$(expected "$m" num_layers)"
  check "heads" "$(expected "$m" num_heads)"
  check "head dim" "$(expected "$m" head_dim)"
  check "hidden" "$(expected "$m" hidden)"
  check "intermediate" "$(expected "$m" intermediate)"
  check "parameters" "$(expected "$m" params)"
  if [ "$(expected "$m" model_type)" != vit ]; then
    check "vocab size" "$(expected "$m" vocab_size)"
    check "max positions" "$(expected "$m" max_positions)"
  else
    field "$out" image | grep -q "$(expected "$m" max_positions) tokens per image" || fail "$m: image line: $(field "$out" image)"
  fi
  dtype=$(expected "$m" dtype)
  field "$out" weights | grep -Eq "^$dtype \([0-9]+ tensors\)$" || fail "$m: weights line '$(field "$out" weights)', expected $dtype only"
  shards=$(field "$out" shards)
  [ "${shards%%:*}" = "$(expected "$m" shards)" ] || fail "$m: shards '$shards', expected $(expected "$m" shards)"
  # --json carries the same figures.
  js=$("$AV" info --json "$dir") || fail "$m: --json exit $?"
  echo "$js" | grep -Eq "\"params\":[[:space:]]*$(expected "$m" params),?$" || fail "$m: --json params"
  echo "$js" | grep -Eq "\"num_layers\":[[:space:]]*$(expected "$m" num_layers),?$" || fail "$m: --json num_layers"
done
# The sharded copy lists its three shards in order.
out=$("$AV" info tests/fixtures/models/gpt2-tiny-sharded)
[ "$(field "$out" shards)" = "3: model-00001-of-00003.safetensors model-00002-of-00003.safetensors model-00003-of-00003.safetensors" ] ||
  fail "sharded: shards line '$(field "$out" shards)'"
# ViT's activation and preprocessing come from its two JSON files.
out=$("$AV" info tests/fixtures/models/vit-tiny)
field "$out" preprocessing | grep -q "resize on (32 x 32).*mean 0.5 0.5 0.5, std 0.5 0.5 0.5" || fail "vit: preprocessing line"
out=$("$AV" info tests/fixtures/models/gpt2-tiny)
[ "$(field "$out" activation)" = "gelu (tanh approximation)" ] || fail "gpt2: activation '$(field "$out" activation)'"

# --- buffers are not parameters ------------------------------------------------------
# st FILE HEADER NBYTES: a safetensors file of zeros, written byte by byte.
st() {
  local n=${#2} i
  { for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $(((n >> (8 * i)) & 255)))"; done
    printf '%s' "$2"; head -c "$3" /dev/zero; } > "$1"
}
hdr='{"wte.weight":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]},"h.0.attn.bias":{"dtype":"F32","shape":[1,1,2,2],"data_offsets":[32,48]},"h.0.attn.masked_bias":{"dtype":"F32","shape":[],"data_offsets":[48,52]},"position_ids":{"dtype":"I64","shape":[1,3],"data_offsets":[52,76]}}'
for m in gpt2 bert; do
  mkdir -p "$AV_TMP/buffers-$m"
  cp "tests/fixtures/models/$m-tiny/config.json" "$AV_TMP/buffers-$m/"
  st "$AV_TMP/buffers-$m/model.safetensors" "$hdr" 76
done
# GPT-2: the causal-mask buffers and the integer tensor are left out; BERT has no such
# buffers, so only the integer tensor is.
out=$("$AV" info "$AV_TMP/buffers-gpt2") || fail "buffers-gpt2: exit $?"
[ "$(field "$out" parameters)" = "8 (+ 8 buffer elements not counted)" ] || fail "buffers-gpt2: '$(field "$out" parameters)'"
[ "$(field "$out" weights)" = "F32 (3 tensors), I64 (1 tensor)" ] || fail "buffers-gpt2: weights '$(field "$out" weights)'"
out=$("$AV" info "$AV_TMP/buffers-bert") || fail "buffers-bert: exit $?"
[ "$(field "$out" parameters)" = "13 (+ 3 buffer elements not counted)" ] || fail "buffers-bert: '$(field "$out" parameters)'"

# --- a run folder ----------------------------------------------------------------------
# npy FILE DESCR SHAPE NBYTES: a .npy v1.0 file of zeros.
npy() {
  local dict="{'descr': '$2', 'fortran_order': False, 'shape': ($3), }"
  local total=$((10 + ${#dict} + 1)) pad
  pad=$(((total + 63) / 64 * 64 - total))
  local hl=$((${#dict} + pad + 1))
  { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $((hl & 255)))\\x$(printf %02x $((hl >> 8)))"
    printf '%s%*s\n' "$dict" "$pad" ''; head -c "$4" /dev/zero; } > "$1"
}
run=$AV_TMP/run
mkdir -p "$run"
npy "$run/q.npy" '<f4' '2, 4, 5, 8' 1280
npy "$run/k.npy" '<f4' '2, 4, 5, 8' 1280
npy "$run/token_item.npy" '<i4' '5,' 20
# the manifest's two items: tokens 3 and 4 belong to item 1 (av_run_open checks num_items
# against the items token_item.npy names)
printf '\x01\x00\x00\x00\x01\x00\x00\x00' | dd of="$run/token_item.npy" bs=1 conv=notrunc status=none \
  seek=$(($(stat -c %s "$run/token_item.npy") - 8))
npy "$run/token_pos.npy" '<i4' '5,' 20
cat > "$run/manifest.json" <<'EOF'
{"format": "attnviz-run", "version": 1, "model_type": "bert", "model_dir": "tests/fixtures/models/bert-tiny",
 "num_layers": 2, "num_heads": 4, "head_dim": 8, "num_items": 2, "num_tokens": 5, "dtype": "f32",
 "arrays": {"q": {"file": "q.npy", "dtype": "f32", "shape": [2, 4, 5, 8]},
            "k": {"file": "k.npy", "dtype": "f32", "shape": [2, 4, 5, 8]},
            "token_item": {"file": "token_item.npy", "dtype": "i32", "shape": [5]},
            "token_pos": {"file": "token_pos.npy", "dtype": "i32", "shape": [5]}}}
EOF
out=$("$AV" info "$run" 2>"$AV_TMP/err") || fail "run: exit $?: $(cat "$AV_TMP/err")"
[ "$(field "$out" model)" = "tests/fixtures/models/bert-tiny (bert)" ] || fail "run: model '$(field "$out" model)'"
[ "$(field "$out" items)" = 2 ] && [ "$(field "$out" tokens)" = 5 ] && [ "$(field "$out" dtype)" = f32 ] &&
  [ "$(field "$out" layers)" = 2 ] && [ "$(field "$out" heads)" = 4 ] || fail "run: figures: $out"
[ "$(field "$out" projections)" = none ] && [ "$(field "$out" stats)" = none ] || fail "run: extras before any: $out"
mkdir -p "$run/proj" && touch "$run/proj/tsne-2d.npy" "$run/proj/pca-3d.npy" "$run/proj/notes.txt" "$run/stats.json"
out=$("$AV" info "$run") || fail "run with extras: exit $?"
[ "$(field "$out" projections)" = "pca-3d, tsne-2d" ] || fail "run: projections '$(field "$out" projections)'"
[ "$(field "$out" stats)" = stats.json ] || fail "run: stats '$(field "$out" stats)'"
"$AV" info --json "$run" | grep -q '"projections":[[:space:]]*\["pca-3d", "tsne-2d"\]' || fail "run: --json projections"
# a projection of some heads only (project --heads) says how many of the 8 it holds
sed -i 's/^ "arrays"/ "projections": {"tsne-2d": {"heads_projected": 3, "heads_total": 8}, "pca-3d": {"heads_projected": 8, "heads_total": 8}},\n "arrays"/' "$run/manifest.json"
out=$("$AV" info "$run") || fail "run with partial projection: exit $?"
[ "$(field "$out" projections)" = "pca-3d, tsne-2d (3 of 8 heads)" ] || fail "run: partial projection '$(field "$out" projections)'"
"$AV" info --json "$run" | tr -d ' \n\t' | grep -q '"heads_projected":{"pca-3d":8,"tsne-2d":3}' || fail "run: --json heads_projected: $("$AV" info --json "$run")"

# --- bad input: exit 2, empty stdout, one stderr line naming the file and the fault ------
# expect_fault WHAT FILE-FRAGMENT FAULT-FRAGMENT ARGS...
expect_fault() {
  local what=$1 file=$2 fault=$3; shift 3
  "$AV" info "$@" >"$AV_TMP/out" 2>"$AV_TMP/err"
  local rc=$? msg; msg=$(cat "$AV_TMP/err")
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2 ($msg)"
  [ -s "$AV_TMP/out" ] && fail "$what: wrote to stdout"
  [ "$(wc -l < "$AV_TMP/err")" -eq 1 ] || fail "$what: $(wc -l < "$AV_TMP/err") stderr lines: $msg"
  case "$msg" in attnviz*"$file"*"$fault"*) ;; *) fail "$what: '$msg' lacks '$file' ... '$fault'" ;; esac
}
ncases=0
while IFS=$'\t' read -r name file fault; do
  case "$name" in '#'*|'') continue ;; esac
  ncases=$((ncases + 1))
  if [ "$file" = "$name" ]; then
    expect_fault "$name" "bad/$name" "$fault" "tests/fixtures/models/bad/$name"
  else
    expect_fault "$name" "bad/$name/$file" "$fault" "tests/fixtures/models/bad/$name"
  fi
done < tests/fixtures/models/bad/cases.txt
[ "$ncases" -ge 30 ] || fail "only $ncases bad cases read"
expect_fault "missing folder" "$AV_TMP/nope" "no such folder" "$AV_TMP/nope"
expect_fault "a file" "tests/fixtures/models/expected_info.json" "not a folder" tests/fixtures/models/expected_info.json
expect_fault "neither" "tests/fixtures" "neither a model folder" tests/fixtures
expect_fault "no argument" "info" "expects one MODEL_DIR, FILE.gguf or RUN folder"
expect_fault "two arguments" "info" "expects one" tests/fixtures/models/bert-tiny tests/fixtures/models/gpt2-tiny
expect_fault "unknown option" "info" "unknown option '--bogus'" --bogus tests/fixtures/models/bert-tiny
rm "$run/k.npy"
expect_fault "run without k.npy" "$run/k.npy" "cannot open" "$run"
"$AV" info --help | grep -q "usage: attnviz info" || fail "--help"

# --device: one line, "cuda: NAME" where a GPU is usable, else "cuda: none (why)"; exit 0
out=$("$AV" info --device 2>"$AV_TMP/err"); rc=$?
[ $rc = 0 ] || fail "info --device: exit $rc: $(cat "$AV_TMP/err")"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "info --device: not one line: $out"
if nvidia-smi -L >/dev/null 2>&1; then
  printf '%s\n' "$out" | grep -qE '^cuda: [^(]' || fail "info --device on a GPU machine: $out"
else
  printf '%s\n' "$out" | grep -qE '^cuda: none \(.+\)$' || fail "info --device without a GPU: $out"
fi
expect_fault "--device with a folder" "info" "--device takes no folder" --device tests/fixtures/models/bert-tiny

if [ $fails -ne 0 ]; then echo "cli_info: $fails failures"; exit 1; fi
echo "cli_info: ok ($ncases broken checkpoints rejected)"
