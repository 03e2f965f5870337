#!/usr/bin/env bash
# cli_same_bits_any_thread_count.sh - the same inputs, parameters and seed give the same
# bytes whatever the thread count (OMP_NUM_THREADS 1, 2 and 4): extract's q.npy, k.npy
# and v_norm.npy, the t-SNE, UMAP and PCA projections, and stats.json. The run is
# all-MiniLM-L6-v2 over 45 bundled sentences: batches of hundreds of token rows, and
# more than 2048 points per head, so every parallel loop of the projections runs on
# several threads. Skipped (77) without the model (scripts/install.sh unpacks it).
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
MINILM="$AV_SRC/.deps/models/all-MiniLM-L6-v2"
[ -d "$MINILM" ] || { echo "SKIP: $MINILM is not installed (bash scripts/install.sh)"; exit 77; }
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
head -45 "$AV_SRC/datasets/samples/sentences.txt" >s.txt

# same FILE in every run folder (the 1-thread one is the reference)
same() {
  local f=$1
  for t in 2 4; do
    cmp -s "r1/$f" "r$t/$f" || fail "$f differs between 1 and $t threads ($(cmp "r1/$f" "r$t/$f" 2>&1 | head -1))"
  done
}

for t in 1 2 4; do
  OMP_NUM_THREADS=$t "$AV" extract "$MINILM" s.txt -o r$t --device cpu --quiet 2>err.txt || fail "extract on $t threads: $(cat err.txt)"
done
for f in q.npy k.npy v_norm.npy token_item.npy tokens.jsonl; do same $f; done
[ $fails -eq 0 ] && echo "ok   extract: $(grep -o '"num_tokens":[[:space:]]*[0-9]*' r1/manifest.json | grep -o '[0-9]*$') tokens"

# the projections and statistics, each thread count on its own copy of one extraction
for t in 2 4; do rm -rf r$t && cp -r r1 r$t; done
for t in 1 2 4; do
  export OMP_NUM_THREADS=$t
  "$AV" project r$t --method tsne --heads 0:0 --iters 200 --device cpu --quiet 2>err.txt || fail "tsne on $t threads: $(cat err.txt)"
  "$AV" project r$t --method tsne --dim 3 --heads 2:3 --iters 60 --device cpu --quiet 2>err.txt || fail "tsne 3-D on $t threads: $(cat err.txt)"
  "$AV" project r$t --method umap --heads 5:11 --iters 60 --device cpu --quiet 2>err.txt || fail "umap on $t threads: $(cat err.txt)"
  "$AV" project r$t --method pca --device cpu --quiet 2>err.txt || fail "pca on $t threads: $(cat err.txt)"
  "$AV" stats r$t >/dev/null 2>err.txt || fail "stats on $t threads: $(cat err.txt)"
done
unset OMP_NUM_THREADS
for f in proj/tsne-2d.npy proj/tsne-3d.npy proj/umap-2d.npy proj/pca-2d.npy stats.json; do same $f; done
[ $fails -eq 0 ] && echo "ok   t-SNE (2-D, 3-D), UMAP, PCA and statistics: the same bytes on 1, 2 and 4 threads"
exit $((fails > 0))
