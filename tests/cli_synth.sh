#!/usr/bin/env bash
# cli_synth.sh - `attnviz synth` end to end: the files and params.jsonl it writes,
# reproducibility from the seed, refusal of an existing folder, --force, and one-line
# errors with exit status 2 for bad usage.
set -euo pipefail
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP"
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_error STATUS PATTERN CMD...: exit status and exactly one stderr line matching PATTERN
expect_error() {
  local want=$1 pat=$2; shift 2
  set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "$* exited $rc, want $want"
  [ "$(wc -l <err.txt)" = 1 ] || fail "$* printed $(wc -l <err.txt) error lines"
  grep -q -- "$pat" err.txt || fail "$*: '$(cat err.txt)' lacks '$pat'"
}

"$AV" synth --help | grep -q -- "--kind" || fail "--help"
"$AV" synth --kind all -n 3 --size 48 --seed 7 -o a 2>log.txt
[ "$(find a -name '*.png' | wc -l)" = 15 ] || fail "want 15 PNGs"
[ "$(wc -l <a/params.jsonl)" = 15 ] || fail "want 15 lines in params.jsonl"
for k in angle brightness checker frequency hue; do
  [ "$(ls a/$k | wc -l)" = 3 ] || fail "want 3 images in a/$k"
  grep -q "\"kind\":\"$k\"" a/params.jsonl || fail "no $k line"
done
# params.jsonl lists the files in the order they sort in
diff <(cd a && find . -name '*.png' | sed 's|^\./||' | LC_ALL=C sort) \
     <(sed 's/.*"file":"\([^"]*\)".*/\1/' a/params.jsonl) || fail "params.jsonl order"
# IHDR width and height, big-endian, at bytes 16..23 of a PNG
[ "$(od -An -tx1 -j16 -N8 a/hue/hue_00000.png | tr -d ' \n')" = 0000003000000030 ] || fail "not a 48x48 PNG"
grep -q "15 images" log.txt || fail "no summary line: $(cat log.txt)"

# same seed, same bytes; another seed, other images
"$AV" synth --kind all -n 3 --size 48 --seed 7 -o b 2>/dev/null
diff -r a b >/dev/null || fail "same seed gave different files"
"$AV" synth --kind all -n 3 --size 48 --seed 8 -o c 2>/dev/null
! diff -r a c >/dev/null || fail "different seeds gave identical files"
# one kind alone gives the same images as within "all"
"$AV" synth --kind hue -n 3 --size 48 --seed 7 -o d 2>/dev/null
cmp a/hue/hue_00001.png d/hue/hue_00001.png || fail "hue images depend on the other kinds"

expect_error 2 "a: already exists (use --force" "$AV" synth --kind hue -n 2 -o a
[ "$(find a -name '*.png' | wc -l)" = 15 ] || fail "refused run touched a/"
"$AV" synth --kind brightness -n 2 --size 16 -o a --force 2>/dev/null
[ "$(find a -name '*.png' | wc -l)" = 2 ] || fail "--force did not replace a/"
ls -a | grep -q "tmp\.\|old\." && fail "temporary folders left behind"

expect_error 2 "unknown kind 'colour'" "$AV" synth --kind colour -n 2 -o e
expect_error 2 "-n expects a whole number" "$AV" synth --kind hue -n -3 -o e
expect_error 2 "--size expects a whole number" "$AV" synth --kind hue -n 2 --size 3 -o e
expect_error 2 "-o DIR is required" "$AV" synth --kind hue -n 2
expect_error 2 "--kind is required" "$AV" synth -n 2 -o e
expect_error 2 "unknown option" "$AV" synth --kind hue -n 2 -o e --colour red
expect_error 2 "cannot create folder" "$AV" synth --kind hue -n 2 -o /proc/nope/e
[ ! -e e ] || fail "a failed run left e/"
echo "cli_synth: ok"
