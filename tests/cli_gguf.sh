#!/usr/bin/env bash
# cli_gguf.sh - `attnviz info FILE.gguf` end to end: the figures it prints for the tiny
# GGUF models against the config.json of the checkpoints they were converted from, for
# the real SmolLM2 file (when installed) against what gguf-py reads from it
# (tests/fixtures/gguf/smollm2-expected.json), and every broken file of
# tests/fixtures/gguf/bad/ (cases.txt): exit 2, nothing on stdout, exactly one line on
# stderr naming the file and the fault.
set -u
: "${AV:?}" "${AV_SRC:?}" "${AV_TMP:?}"
rm -rf "$AV_TMP" && mkdir -p "$AV_TMP"
cd "$AV_SRC"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
FIX=tests/fixtures/gguf

# field OUTPUT LABEL: the value column of one line of the info table.
field() { printf '%s\n' "$1" | awk -v l="$2" 'substr($0, 1, length(l) + 1) == l " " { sub(/^[^ ]+( [a-z]+)? +/, ""); print; exit }'; }
# json_num FILE KEY: a top-level number of a JSON file written one key per line.
json_num() { grep -E "^ *\"$2\": *[-0-9.e+]+,?$" "$1" | head -n 1 | sed -E 's/.*: *([-0-9.e+]+),?$/\1/'; }

# --- the tiny models: what info prints equals their twin's config.json ------------------
for m in llama-tiny llama3-tiny qwen2-tiny qwen3-tiny; do
  cfg=$FIX/$m/config.json
  out=$("$AV" info "$FIX/$m.gguf" 2>"$AV_TMP/err") || { fail "$m: exit $?: $(cat "$AV_TMP/err")"; continue; }
  [ -s "$AV_TMP/err" ] && fail "$m: stderr not empty: $(cat "$AV_TMP/err")"
  check() { # label, expected
    local got; got=$(field "$out" "$1")
    [ "$got" = "$2" ] || fail "$m: '$1' is '$got', expected '$2'"
  }
  check type "$(grep -o '"model_type": "[a-z0-9]*"' "$cfg" | cut -d'"' -f4)"
  check layers "$(json_num "$cfg" num_hidden_layers)"
  check heads "$(json_num "$cfg" num_attention_heads)"
  check "kv heads" "$(json_num "$cfg" num_key_value_heads)"
  check hidden "$(json_num "$cfg" hidden_size)"
  check intermediate "$(json_num "$cfg" intermediate_size)"
  check "vocab size" "$(json_num "$cfg" vocab_size)"
  check "max positions" "$(json_num "$cfg" max_position_embeddings)"
  hd=$(json_num "$cfg" head_dim)
  [ -n "$hd" ] || hd=$(($(json_num "$cfg" hidden_size) / $(json_num "$cfg" num_attention_heads)))
  check "head dim" "$hd"
  field "$out" rope | grep -q "^theta $(json_num "$cfg" rope_theta | sed 's/\.0$//'), " || fail "$m: rope line '$(field "$out" rope)'"
  field "$out" weights | grep -Eq '^F32 \([0-9]+ tensors\), F16 \([0-9]+ tensors\)$' || fail "$m: weights '$(field "$out" weights)'"
  "$AV" info --json "$FIX/$m.gguf" | grep -Eq "\"num_layers\":[[:space:]]*$(json_num "$cfg" num_hidden_layers),?$" ||
    fail "$m: --json num_layers"
done
[ "$(field "$("$AV" info $FIX/llama3-tiny.gguf)" rope)" = "theta 10000, scaling freq_factors" ] || fail "llama3: rope line"
[ "$(field "$("$AV" info $FIX/llama-tiny-q.gguf)" weights)" = "F32 (5 tensors), Q4_0 (1 tensor), Q4_1 (1 tensor), Q5_0 (1 tensor), Q5_1 (1 tensor), Q8_0 (12 tensors)" ] ||
  fail "llama-tiny-q: weights '$(field "$("$AV" info $FIX/llama-tiny-q.gguf)" weights)'"
"$AV" info --json $FIX/llama-tiny.gguf | grep -q '"format":[[:space:]]*"gguf"' || fail "--json format"
# A GGUF file is known by its magic as well as by its name.
cp $FIX/llama-tiny.gguf "$AV_TMP/model.bin"
[ "$(field "$("$AV" info "$AV_TMP/model.bin")" type)" = llama ] || fail "GGUF without the .gguf name"

# --- the real SmolLM2 ---------------------------------------------------------------------
smol=.deps/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf
exp=$FIX/smollm2-expected.json
if [ -f "$smol" ]; then
  out=$("$AV" info "$smol" 2>"$AV_TMP/err") || fail "smollm2: exit $?: $(cat "$AV_TMP/err")"
  for label in layers heads "kv heads" "head dim" hidden intermediate "vocab size" "max positions" parameters; do
    want=$(json_num "$exp" "$label")
    [ "$(field "$out" "$label")" = "$want" ] || fail "smollm2: '$label' is '$(field "$out" "$label")', expected '$want'"
  done
  want=$(grep -o '"weights": "[^"]*"' "$exp" | cut -d'"' -f4)
  [ "$(field "$out" weights)" = "$want" ] || fail "smollm2: weights '$(field "$out" weights)', expected '$want'"
  [ "$(field "$out" tokenizer)" = "gpt2 ($(json_num "$exp" tokens) tokens, pre smollm)" ] || fail "smollm2: tokenizer '$(field "$out" tokenizer)'"
  field "$out" format | grep -q "^GGUF v3, $(json_num "$exp" tensors) tensors" || fail "smollm2: format '$(field "$out" format)'"
else
  echo "cli_gguf: $smol absent (scripts/install.sh installs it): SmolLM2 checks skipped"
fi

# --- bad input: exit 2, empty stdout, one stderr line naming the file and the fault --------
expect_fault() { # what file-fragment fault-fragment args...
  local what=$1 file=$2 fault=$3; shift 3
  "$AV" info "$@" >"$AV_TMP/out" 2>"$AV_TMP/err"
  local rc=$? msg; msg=$(cat "$AV_TMP/err")
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2 ($msg)"
  [ -s "$AV_TMP/out" ] && fail "$what: wrote to stdout"
  [ "$(wc -l < "$AV_TMP/err")" -eq 1 ] || fail "$what: $(wc -l < "$AV_TMP/err") stderr lines: $msg"
  case "$msg" in attnviz*"$file"*"$fault"*) ;; *) fail "$what: '$msg' lacks '$file' ... '$fault'" ;; esac
}
ncases=0
while IFS=$'\t' read -r name fault; do
  case "$name" in '#'*|'') continue ;; esac
  ncases=$((ncases + 1))
  expect_fault "$name" "$FIX/bad/$name.gguf: " "$fault" "$FIX/bad/$name.gguf"
done < $FIX/bad/cases.txt
[ "$ncases" -ge 50 ] || fail "only $ncases bad cases read"
[ "$ncases" -eq "$(ls $FIX/bad/*.gguf | wc -l)" ] || fail "cases.txt lists $ncases of $(ls $FIX/bad/*.gguf | wc -l) files"
expect_fault "missing file" "$AV_TMP/nope.gguf" "no such file" "$AV_TMP/nope.gguf"
printf 'not a model' > "$AV_TMP/notes.txt"
expect_fault "other file" "$AV_TMP/notes.txt" "not a folder (expected a model folder, a GGUF file or a run folder)" "$AV_TMP/notes.txt"

if [ $fails -ne 0 ]; then echo "cli_gguf: $fails failures"; exit 1; fi
echo "cli_gguf: ok ($ncases broken GGUF files rejected)"
