#!/usr/bin/env bash
# cli_run.sh - `attnviz run`: extract + project + stats in one command. A good run leaves a
# run folder with q/k, a projection and stats.json (and prints the stats table); the
# project options reach `project`; bad input is exit 2 with one line and no run folder.
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
M="$AV_SRC/tests/fixtures/models"
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'the quick brown fox jumps over the lazy dog.\nhello world\nattention heads look at tokens\n' >s.txt

"$AV" run --help >out.txt 2>&1 && grep -q "usage: attnviz run" out.txt || fail "--help: $(head -3 out.txt)"

# default folder runs/<model>-<data>, PCA in 2-D, stats table on stdout
"$AV" run "$M/bert-tiny" s.txt --method pca --dim 2 --device cpu >out.txt 2>err.txt
rc=$?
[ $rc -eq 0 ] || fail "run: exit $rc: $(tail -3 err.txt)"
r=runs/bert-tiny-s
for f in manifest.json q.npy k.npy v_norm.npy tokens.jsonl items.jsonl proj/pca-2d.npy stats.json; do
  [ -s "$r/$f" ] || fail "run: $r/$f missing"
done
grep -q '^0:0 ' out.txt || fail "run: no stats table on stdout: $(head -3 out.txt)"
tail -1 err.txt | grep -q "attnviz view $r" || fail "run: the last line does not say how to look at the run: $(tail -1 err.txt)"
ls -d runs/*.partial >/dev/null 2>&1 && fail "run left a temporary folder"
[ $fails -eq 0 ] && echo "ok   run: $(ls $r | tr '\n' ' ')"

# an existing run folder is refused like extract does, and kept
before=$fails
"$AV" run "$M/bert-tiny" s.txt -o "$r" --method pca >out.txt 2>err.txt
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "already exists" err.txt || fail "existing: exit $rc: $(cat err.txt)"
[ -s "$r/stats.json" ] || fail "existing: the old run was touched"
[ $fails -eq $before ] && echo "ok   existing run: $(cat err.txt)"

# --quiet quiets every step (the stats table on stdout stays); --tsne-method reaches project
before=$fails
"$AV" run "$M/bert-tiny" s.txt -o quiet --iters 50 --perplexity 5 --tsne-method bh --quiet --device cpu >out.txt 2>err.txt
rc=$?
[ $rc -eq 0 ] && [ ! -s err.txt ] || fail "--quiet: exit $rc, stderr: $(cat err.txt)"
grep -q '^0:0 ' out.txt || fail "--quiet: no stats table on stdout"
grep -q '"tsne_method":[[:space:]]*"bh"' quiet/manifest.json || fail "--tsne-method did not reach project"
[ $fails -eq $before ] && echo "ok   --quiet, --tsne-method"

# an existing run folder: the message says how to go on with it
before=$fails
"$AV" run "$M/bert-tiny" s.txt -o quiet >out.txt 2>err.txt
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "attnviz project quiet" err.txt || fail "existing hint: exit $rc: $(cat err.txt)"
[ $fails -eq $before ] && echo "ok   existing run hint: $(cat err.txt)"

# bad input: one line, exit 2, nothing left
for args in "$AV_TMP/nomodel s.txt" "$M/bert-tiny nodata.txt" "$M/bert-tiny s.txt extra" "$M/bert-tiny s.txt --frobnicate"; do
  before=$fails
  rm -rf runs
  # shellcheck disable=SC2086
  "$AV" run $args >out.txt 2>err.txt
  rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] || fail "run $args: exit $rc, $(wc -l <err.txt) lines: $(cat err.txt)"
  ls -d runs/* >/dev/null 2>&1 && fail "run $args: left $(ls runs)"
  [ $fails -eq $before ] && echo "ok   bad input ($args): $(cat err.txt)"
done

# the projection options are checked before the extraction starts: a bad value or a
# combination project refuses is one line, exit 2, and no run folder
for args in "--perplexity 0" "--method umap --perplexity 5" "--method pca --iters 3" "--dim 3 --tsne-method fft"; do
  before=$fails
  rm -rf runs
  # shellcheck disable=SC2086
  "$AV" run "$M/bert-tiny" s.txt --device cpu $args >out.txt 2>err.txt
  rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "^attnviz run: " err.txt \
    || fail "run $args: exit $rc, $(wc -l <err.txt) lines: $(cat err.txt)"
  ls -d runs/* >/dev/null 2>&1 && fail "run $args: extracted before refusing: $(ls runs)"
  [ $fails -eq $before ] && echo "ok   projection option checked first ($args): $(cat err.txt)"
done

[ $fails -eq 0 ] && echo "cli_run: all passed" || echo "cli_run: $fails failed"
exit $((fails > 0))
