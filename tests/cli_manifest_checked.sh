#!/usr/bin/env bash
# cli_manifest_checked.sh - every command that opens a run folder checks the sizes the
# manifest states against the arrays on disk: a manifest that says num_items 1e15 (two
# items in token_item.npy) is refused by info, stats, project and render with one line
# naming manifest.json (before: accepted by the first three, and render failed with a
# bare "out of memory"); a dtype the arrays do not have is refused too, and info prints
# the dtype the .npy holds.
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
M="$AV_SRC/tests/fixtures/models"
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'the quick brown fox jumps over the lazy dog.\nhello world\n' >good.txt
"$AV" extract "$M/bert-tiny" good.txt -o run --device cpu --quiet 2>err.txt || { echo "FAIL: extract: $(cat err.txt)"; exit 1; }
"$AV" info run >info.txt 2>err.txt && grep -q '^dtype *f16$' info.txt || fail "info of a good run: $(cat info.txt err.txt)"

# refused NAME PATTERN -- COMMAND...: exit 2, one stderr line matching PATTERN
refused() {
  local name=$1 pat=$2 before=$fails; shift 3
  "$@" >out.txt 2>err.txt; local rc=$?
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2: $(head -c 300 err.txt)"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: $(wc -l <err.txt) lines on stderr: $(head -c 400 err.txt)"
  grep -q -- "$pat" err.txt || fail "$name: message does not say '$pat': $(cat err.txt)"
  [ $fails -eq $before ] && echo "ok   $name: $(cat err.txt)"
}
# variant NAME SED: a copy of run with its manifest edited
variant() { rm -rf "$1" && cp -r run "$1" && sed -i "$2" "$1/manifest.json"; }

variant huge 's/"num_items":[[:space:]]*2,/"num_items": 1e15,/'
grep -q '"num_items": 1e15' huge/manifest.json || fail "could not edit num_items"
want="huge/manifest.json: num_items is 1000000000000000, but token_item.npy names 2 items"
refused "info, num_items 1e15" "$want" -- "$AV" info huge
refused "stats, num_items 1e15" "$want" -- "$AV" stats huge
refused "project, num_items 1e15" "$want" -- "$AV" project huge --method pca --device cpu --quiet
refused "render, num_items 1e15" "$want" -- "$AV" render huge --view matrix --size 320x240 -o huge.png
[ -e huge.png ] && fail "render wrote a picture of the bad run"

variant fewer 's/"num_items":[[:space:]]*2,/"num_items": 1,/'
refused "num_items below the items named" "names item 1, but fewer/manifest.json says num_items 1" -- "$AV" info fewer

variant dtype 's/^\t"dtype":[[:space:]]*"f16",$/\t"dtype": "f32",/'         # the run's, not an array's
grep -q '"dtype": "f32",' dtype/manifest.json || fail "could not edit dtype"
refused "info, manifest dtype f32 over f16 arrays" 'dtype/manifest.json: dtype is "f32", but q.npy holds f16' -- "$AV" info dtype
refused "stats, manifest dtype f32 over f16 arrays" 'dtype/manifest.json: dtype is "f32"' -- "$AV" stats dtype

exit $((fails > 0))
