#!/usr/bin/env bash
# cli_dataset.sh - datasets through `attnviz extract` end to end (tiny fixture models):
# the bundled samples, stdin, reproducible sampling, synthetic probes into ViT, and every
# kind of bad input ending with exit status 2, one stderr line naming the file (and
# line), and no run folder left behind.
set -euo pipefail
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP"
fail() { echo "FAIL: $*" >&2; exit 1; }
BERT=$AV_SRC/tests/fixtures/models/bert-tiny
VIT=$AV_SRC/tests/fixtures/models/vit-tiny
S=$AV_SRC/datasets/samples
ext() { "$AV" extract "$@" --quiet --dtype f32; }
# bad MODEL DATA PATTERN: exit 2, exactly one stderr line containing PATTERN, no run folder
n=0
bad() {
  n=$((n + 1))
  set +e; "$AV" extract "$1" "$2" -o "bad$n" --quiet >out.txt 2>err.txt; local rc=$?; set -e
  [ "$rc" = 2 ] || fail "extract $2 exited $rc, want 2"
  [ "$(wc -l <err.txt)" = 1 ] || fail "extract $2 printed $(wc -l <err.txt) lines: $(cat err.txt)"
  grep -qF -- "$3" err.txt || fail "extract $2: '$(cat err.txt)' lacks '$3'"
  [ -z "$(ls -d bad$n* 2>/dev/null)" ] || fail "extract $2 left $(ls -d bad$n*)"
}
items() { sed 's/^{"text": "\([^"]*\)".*/\1/' "$1/items.jsonl"; }

# bundled samples
ext "$BERT" "$S/sentences.txt" -o s --max-items 5
diff <(items s) <(head -5 "$S/sentences.txt") || fail "first 5 sentences"
ext "$BERT" "$S/sentence_pairs.jsonl" -o p --max-items 3
[ "$(wc -l <p/items.jsonl)" = 3 ] || fail "3 pairs"
ext "$VIT" "$S/photos" -o photos
[ "$(wc -l <photos/items.jsonl)" = 7 ] || fail "7 photos"
grep -q '"label": "animal"' photos/items.jsonl || fail "no labels in items.jsonl"

# stdin, CRLF, blank lines
printf 'first line\r\n\r\n  second line  \n' | ext "$BERT" - -o stdin
[ "$(items stdin | tr '\n' '|')" = "first line|second line|" ] || fail "stdin items: $(items stdin)"

# sampling: reproducible, in file order, not the head
ext "$BERT" "$S/sentences.txt" -o a --max-items 6 --sample-seed 11
ext "$BERT" "$S/sentences.txt" -o b --max-items 6 --sample-seed 11
ext "$BERT" "$S/sentences.txt" -o c --max-items 6 --sample-seed 12
cmp a/items.jsonl b/items.jsonl || fail "same seed, different sample"
! cmp -s a/items.jsonl c/items.jsonl || fail "different seeds, same sample"
! cmp -s <(items a) <(head -6 "$S/sentences.txt") || fail "seeded sample is the head"
lines=$(sed 's/.*"line": \([0-9]*\).*/\1/' a/items.jsonl | tr '\n' ' ')
[ "$(echo $lines | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(echo $lines | tr ' ' '\n' | tr '\n' ' ')" ] || fail "sample not in file order: $lines"

# synthetic probes straight into ViT
"$AV" synth --kind hue,angle -n 3 --size 32 -o probes 2>/dev/null
ext "$VIT" probes -o vp
[ "$(wc -l <vp/items.jsonl)" = 6 ] || fail "6 probe images"

# bad text input
: >empty.txt
bad "$BERT" empty.txt "empty.txt: no items (empty file)"
printf '\n   \r\n\n' >blank.txt
bad "$BERT" blank.txt "blank.txt: no items (only blank lines)"
printf 'fine\nab\xc3\x28cd\n' >badutf.txt
bad "$BERT" badutf.txt "badutf.txt:2: invalid UTF-8 at byte 3"
printf '{"text": "fine"}\n[1, 2]\n' >array.jsonl
bad "$BERT" array.jsonl "array.jsonl:2: not a JSON object but an array"
printf '{"text": "fine"}\n\n{"txt": "typo"}\n' >notext.jsonl
bad "$BERT" notext.jsonl "notext.jsonl:3: no \"text\" member"
printf '{"text": "fine"\n' >broken.jsonl
bad "$BERT" broken.jsonl "broken.jsonl:1: not valid JSON"
bad "$BERT" missing.txt "missing.txt: cannot open"
set +e; printf 'ok\n\xff\n' | "$AV" extract "$BERT" - -o bad_stdin --quiet 2>err.txt; rc=$?; set -e
[ "$rc" = 2 ] && grep -qF "<stdin>:2: invalid UTF-8 at byte 1" err.txt || fail "stdin error: $(cat err.txt)"

# bad image input
mkdir -p noimg && echo "just text" >noimg/readme.txt
bad "$VIT" noimg "noimg: no JPEG or PNG images in this folder"
cp -r "$S/photos" trunc && head -c 3000 "$S/photos/food/coffee.jpg" >trunc/food/coffee.jpg
bad "$VIT" trunc "trunc/food/coffee.jpg: JPEG data ends before EOI (truncated)"
mkdir -p crc && cp "$AV_SRC/tests/fixtures/datasets/rgb_7x5.png" crc/a.png
printf '\x00' | dd of=crc/a.png bs=1 seek=46 conv=notrunc 2>/dev/null
bad "$VIT" crc "crc/a.png: PNG chunk 'IDAT' has a bad CRC"
mkdir -p noise && head -c 2000 /dev/urandom | tr '\377' '\001' >noise/photo.jpg
bad "$VIT" noise "noise/photo.jpg: not a JPEG or PNG file"
echo "cli_dataset: ok"
