#!/usr/bin/env bash
# cli_run_lock.sh - one writer per run folder: while a `project` writes into RUN (held
# stopped here, mid-work, with SIGSTOP), a second project (same or other method), stats,
# extract --force replacing RUN and the live viewer's save are each refused at once with
# "another attnviz is writing RUN (pid N)" and touch nothing; once the first is done,
# everything works again. (Before: the second project did all the work and failed at
# the end with "cannot write: No such file or directory".)
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
M="$AV_SRC/tests/fixtures/models"
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
T="$AV_TMP"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'the quick brown fox jumps over the lazy dog.\nhello world, said the cat to the dog.\n' >good.txt
"$AV" extract "$M/bert-tiny" good.txt -o run --device cpu --quiet 2>err.txt || { echo "FAIL: extract: $(cat err.txt)"; exit 1; }

# the first writer, stopped once it has started writing (its partial folder exists)
"$AV" project run --method tsne --heads 0:0,1:3 --iters 20000 --device cpu --quiet 2>first.err &
first=$!
cleanup() { kill -CONT $first 2>/dev/null; kill $first 2>/dev/null; [ -n "${xpid:-}" ] && kill $xpid 2>/dev/null; }
trap cleanup EXIT
for _ in $(seq 2400); do [ -f run/proj/.partial-tsne-2d/params.json ] && break; sleep 0.05; done
kill -STOP $first
[ -f run/proj/.partial-tsne-2d/params.json ] || fail "the first project did not start writing: $(cat first.err)"
cp run/manifest.json manifest.before

# refused NAME -- COMMAND...: exit 2 within seconds, one line naming the holder
refused() {
  local name=$1 before=$fails; shift 2
  local t0; t0=$(date +%s)
  timeout 60 "$@" >out.txt 2>err.txt; local rc=$?
  local secs=$(($(date +%s) - t0))
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2: $(head -c 300 err.txt)"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: $(wc -l <err.txt) lines on stderr: $(head -c 400 err.txt)"
  grep -q "another attnviz is writing run (pid $first)" err.txt || fail "$name: does not name the writer (pid $first): $(cat err.txt)"
  [ $secs -le 20 ] || fail "$name: took ${secs}s instead of refusing at once"
  [ $fails -eq $before ] && echo "ok   $name: $(cat err.txt)"
}
refused "a second project, same method" -- "$AV" project run --method tsne --iters 20000 --device cpu --quiet
refused "a second project, another method" -- "$AV" project run --method pca --device cpu --quiet
refused "stats" -- "$AV" stats run
refused "extract --force replacing the run" -- "$AV" extract "$M/bert-tiny" good.txt -o run --force --device cpu --quiet
cmp -s manifest.before run/manifest.json || fail "a refused command changed the manifest"
[ ! -e run/stats.json ] && [ ! -e run/proj/pca-2d.npy ] && [ ! -e run/proj/.partial-pca-2d ] || fail "a refused command wrote into the run"

# the live viewer's save (key s) is refused with the same line on its status line
if command -v Xvfb >/dev/null; then
  . "$AV_SRC/tests/xvfb.sh"
  av_start_xvfb 371 440 "$T/xvfb.log"
  trap cleanup EXIT
  printf 'live-wait done 300000\nkey s\nstate %s\nquit\n' "$T/live.json" >live.txt
  timeout 300 "$AV" view run --live --method umap --head 0:1 --iters 20 --size 640x480 --script live.txt \
    >/dev/null 2>live.err || fail "view --live: $(cat live.err)"
  grep -q "\"note\":\"another attnviz is writing run (pid $first)" live.json && grep -q '"saved":false' live.json \
    && echo "ok   the live view's save is refused while the run is locked" || fail "live save: $(cat live.json)"
  [ ! -e run/proj/umap-2d.npy ] || fail "the refused live save wrote proj/umap-2d.npy"
else
  echo "SKIP the live view's save: no Xvfb"
fi

# the first one finishes; then the others work
kill -CONT $first
wait $first || fail "the first project failed: $(cat first.err)"
trap - EXIT
[ -n "${xpid:-}" ] && trap 'kill $xpid 2>/dev/null' EXIT
[ -f run/proj/tsne-2d.npy ] || fail "the first project wrote no proj/tsne-2d.npy"
"$AV" project run --method pca --device cpu --quiet 2>err.txt && "$AV" stats run >/dev/null 2>>err.txt \
  && echo "ok   the lock goes with its holder" || fail "after the first: $(cat err.txt)"
exit $((fails > 0))
