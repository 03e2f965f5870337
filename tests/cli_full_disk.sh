#!/usr/bin/env bash
# cli_full_disk.sh - a full disk is a failed write with its reason, never a signal:
# extract reserves its memory-mapped arrays on the disk before filling them (a page of
# a sparse file that finds the disk full was a SIGBUS, exit 135), and every failed
# write says why and what became of what was partly written. Two ways to fill a disk:
#   - a real 2 MB tmpfs (needs root to mount it; CI runs as root): extract, then
#     project and stats on a run whose disk has filled up;
#   - a file size limit (ulimit -f), which any user can set: the same path (the
#     reservation fails, here with "File too large"; without attnviz ignoring SIGXFSZ
#     the process was killed instead).
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
M="$AV_SRC/tests/fixtures/models"
S="$AV_SRC/datasets/samples/sentences.txt"
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'the quick brown fox jumps over the lazy dog.\nhello world\n' >good.txt

# fails_with NAME REASON WHAT -- COMMAND...: exit 2 (no signal), one line naming the reason and
# saying what became of the partly written output
fails_with() {
  local name=$1 reason=$2 what=$3 before=$fails; shift 4
  "$@" >out.txt 2>err.txt; local rc=$?
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2 (135 = SIGBUS, 153 = SIGXFSZ): $(head -c 300 err.txt)"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: $(wc -l <err.txt) lines on stderr: $(head -c 400 err.txt)"
  grep -q -- "$reason" err.txt || fail "$name: the message does not give the reason '$reason': $(cat err.txt)"
  grep -q -- "$what" err.txt || fail "$name: the message does not say '$what': $(cat err.txt)"
  [ $fails -eq $before ] && echo "ok   $name: $(cat err.txt)"
}

# ---- a real full disk -------------------------------------------------------------------
mkdir -p small
if mount -t tmpfs -o size=2m tmpfs small 2>mount.err; then
  trap 'umount "$AV_TMP/small"' EXIT
  # 250 sentences through bert-tiny in f32: q, k and |v| need 2.7 MB
  fails_with "extract onto a full tmpfs" "No space left on device" "small/run.partial removed" -- \
    "$AV" extract "$M/bert-tiny" "$S" --max-items 250 --dtype f32 -o small/run --device cpu --quiet
  [ -z "$(ls -A small)" ] || fail "extract left $(ls -A small) on the full disk"

  # a small run that fits; then the disk fills up before project and stats write
  "$AV" extract "$M/bert-tiny" good.txt -o small/run --device cpu --quiet 2>err.txt || fail "small run: $(cat err.txt)"
  dd if=/dev/zero of=small/filler bs=16k 2>/dev/null
  fails_with "project onto a full disk" "No space left on device" "nothing written" -- \
    "$AV" project small/run --method pca --device cpu --quiet
  fails_with "stats onto a full disk" "No space left on device" "nothing written" -- "$AV" stats small/run
  rm small/filler
  "$AV" project small/run --method pca --device cpu --quiet 2>err.txt && [ -f small/run/proj/pca-2d.npy ] \
    || fail "project once there is room again: $(cat err.txt)"
  "$AV" stats small/run >/dev/null 2>err.txt && [ -f small/run/stats.json ] || fail "stats once there is room: $(cat err.txt)"
  umount small && trap - EXIT
else
  echo "SKIP the tmpfs cases: cannot mount a tmpfs here ($(head -c 200 mount.err)); the file size limit below covers the same path"
fi

# ---- a file size limit: the same reservation, failing with EFBIG -------------------------
fails_with "extract past the file size limit" "File too large" "limited/run.partial removed" -- \
  bash -c "ulimit -f 1024; exec \"$AV\" extract \"$M/bert-tiny\" \"$S\" --max-items 250 --dtype f32 -o limited/run --device cpu --quiet"
mkdir -p limited
[ -z "$(ls -A limited)" ] || fail "extract left $(ls -A limited) behind"

exit $((fails > 0))
