#!/usr/bin/env bash
# cli_partial_heads_checked.sh - a resumed `project` reuses a finished head only when its
# content passes: finite values and a record naming the head, not just the right file
# size. A head overwritten with NaN of the same size, in the partial folder of an
# interrupted job or in the committed proj/<method>-<dim>d.npy that --heads extends, is
# computed again with a line saying so, and the result holds no NaN. (Before: stitched
# into the final projection and drawn.)
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
hdr() { echo $((10 + $(od -An -tu2 -j8 -N2 "$1"))); }            # .npy 1.0 header bytes
# nan_fill FILE OFFSET COUNT: COUNT f32 NaN from byte OFFSET, the size unchanged
nan_fill() {
  local s; s=$(stat -c %s "$1")
  for _ in $(seq "$3"); do printf '\x00\x00\xc0\x7f'; done | dd of="$1" bs=4096 seek="$2" oflag=seek_bytes conv=notrunc status=none
  [ "$(stat -c %s "$1")" = "$s" ] || fail "nan_fill changed the size of $1"
}
# has_nan FILE OFFSET COUNT: 0 when the COUNT f32 from OFFSET hold a NaN of ours
has_nan() { od -An -v -tx4 -j "$2" -N $(($3 * 4)) "$1" | grep -q 7fc00000; }

# ---- the partial folder of an interrupted job (one thread, so the heads run in turn) -------
cp -r "$AV_SRC/tests/fixtures/projections/run_small" run     # 2 x 3 heads, 120 tokens: 240 points
OMP_NUM_THREADS=1 "$AV" project run --heads 0:0,0:1 --iters 6000 --device cpu 2>log1 &
pid=$!
for _ in $(seq 1200); do grep -q 'head 0:0 done' log1 && break; sleep 0.05; done
kill -TERM $pid; wait $pid
p=run/proj/.partial-tsne-2d/L000-H000.npy
if [ -f "$p" ] && [ ! -e run/proj/tsne-2d.npy ]; then
  nan_fill "$p" "$(hdr "$p")" 480
  OMP_NUM_THREADS=1 "$AV" project run --heads 0:0,0:1 --iters 6000 --device cpu 2>log2 || fail "resume: $(cat log2)"
  grep -q "partial head 0:0 is not reusable (.*L000-H000.npy holds 480 non-finite values); recomputing it" log2 \
    || fail "no line about the poisoned partial head: $(cat log2)"
  grep -q 'head 0:0 done' log2 || fail "head 0:0 was not computed again: $(cat log2)"
  a=run/proj/tsne-2d.npy
  has_nan "$a" "$(hdr "$a")" 480 && fail "the poisoned partial head went into $a"
  [ $fails -eq 0 ] && echo "ok   a partial head overwritten with NaN is recomputed: $(grep 'partial head' log2)"
else
  fail "could not interrupt the job after its first head: $(ls -aR run/proj 2>&1 | head -5); $(cat log1)"
fi

# ---- the committed array that a later --heads extends -------------------------------------
cp -r "$AV_SRC/tests/fixtures/projections/run_small" run2
"$AV" project run2 --method pca --heads 0:0 --device cpu --quiet 2>err.txt || fail "pca: $(cat err.txt)"
a=run2/proj/pca-2d.npy
cp "$a" clean.npy
nan_fill "$a" "$(hdr "$a")" 480                                  # head 0:0 comes first
"$AV" project run2 --method pca --heads 0:0,0:1 --device cpu 2>log3 || fail "extend: $(cat log3)"
grep -q "pca-2d.npy: head 0:0 holds 480 non-finite values" log3 || fail "no line about the poisoned head: $(cat log3)"
has_nan "$a" "$(hdr "$a")" 480 && fail "the poisoned head 0:0 was kept in $a"
cmp -s -n $(($(hdr "$a") + 480 * 4)) clean.npy "$a" || fail "head 0:0 recomputed differs from the first computation"
[ $fails -eq 0 ] && echo "ok   a committed head overwritten with NaN is recomputed: $(grep 'non-finite' log3)"
exit $((fails > 0))
