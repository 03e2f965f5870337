#!/usr/bin/env bash
# cli_project.sh - `attnviz project` end to end on the committed synthetic run folders
# (tests/fixtures/projections/run_small, run_nan; see make_fixtures.py): output shape
# and manifest entries, NaN-filled unselected heads, no partial folder left after a
# finished job, extending with more heads, resume after a job killed midway, --force,
# --quiet, same seed = same bytes, UMAP and PCA, and bad input ending in exit 2 with
# one line.
set -uo pipefail
fail=0
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"
run="$AV_TMP/run"
cp -r "$AV_SRC/tests/fixtures/projections/run_small" "$run"
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }
# npy header of a file (the shape tuple is in the first 128 bytes)
shape() { head -c 128 "$1" | tr -d '\0' | grep -o "'shape': ([0-9, ]*)"; }
# exit 2 with exactly one line on stderr that contains $2
bad() {
  local out rc
  out=$("$AV" project "${@:3}" 2>&1 >/dev/null); rc=$?
  check "[ $rc -eq 2 ]" "$1: exit $rc, not 2 ($out)"
  check "[ \$(printf '%s\n' \"\$out\" | wc -l) -eq 1 ]" "$1: more than one line: $out"
  check "printf '%s' \"\$out\" | grep -q -- \"$2\"" "$1: message lacks '$2': $out"
}

# two heads of six, few iterations: the rest is NaN and the manifest says so
"$AV" project "$run" --heads 0:0,1:2 --iters 300 --quality 2>"$AV_TMP/log1"; rc=$?
check "[ $rc -eq 0 ]" "project exit $rc: $(cat "$AV_TMP/log1")"
check "[ -f '$run/proj/tsne-2d.npy' ]" "no proj/tsne-2d.npy"
check "[ \"\$(shape '$run/proj/tsne-2d.npy')\" = \"'shape': (2, 3, 240, 2)\" ]" "shape $(shape "$run/proj/tsne-2d.npy")"
check "[ \$(stat -c %s '$run/proj/tsne-2d.npy') -eq \$((128 + 2*3*240*2*4)) ]" "file size"
check "grep -q '\"proj/tsne-2d\"' '$run/manifest.json'" "manifest lacks arrays.proj/tsne-2d"
check "grep -q '\"heads_projected\":[[:space:]]*2' '$run/manifest.json'" "manifest lacks heads_projected 2"
check "grep -q 'NaN-filled' '$run/manifest.json'" "manifest does not say missing heads are NaN"
check "grep -q '\"trustworthiness5\"' '$run/manifest.json'" "manifest lacks --quality results"
check "grep -q '\"kl_kind\":[[:space:]]*\"exact\"' '$run/manifest.json'" "manifest lacks the KL kind"
cp "$run/proj/tsne-2d.npy" "$AV_TMP/first.npy"

# a finished job leaves no partial folder behind (the committed array holds every head)
check "[ ! -e '$run/proj/.partial-tsne-2d' ]" "proj/.partial-tsne-2d left behind after the job completed"
check "! ls '$run/proj' | grep -q tmp" "temporary files left in proj/: $(ls -a "$run/proj")"
# same parameters again: nothing left to do, the heads come from the committed array
"$AV" project "$run" --heads 0:0,1:2 --iters 300 2>"$AV_TMP/log2"
check "grep -q '2 of 2 selected heads already done' '$AV_TMP/log2'" "second run did not skip done heads: $(cat "$AV_TMP/log2")"
check "! grep -q 'head 0:0 done' '$AV_TMP/log2'" "second run recomputed 0:0"
check "cmp -s '$AV_TMP/first.npy' '$run/proj/tsne-2d.npy'" "second run changed the projection"
check "grep -q '\"trustworthiness5\"' '$run/manifest.json'" "reused heads lost their manifest records"
# extending: one more head; the two done ones are kept byte for byte
"$AV" project "$run" --heads 0:1 --iters 300 2>"$AV_TMP/log3"
check "grep -q 'head 0:1 done' '$AV_TMP/log3' && ! grep -q 'head 0:0 done' '$AV_TMP/log3'" "extend: $(cat "$AV_TMP/log3")"
check "grep -q '\"heads_projected\":[[:space:]]*3' '$run/manifest.json'" "extend: manifest lacks heads_projected 3"
check "cmp -s -n \$((128 + 240*2*4)) '$AV_TMP/first.npy' '$run/proj/tsne-2d.npy'" "extend changed head 0:0"
check "cmp -s -i \$((128 + 5*240*2*4)) '$AV_TMP/first.npy' '$run/proj/tsne-2d.npy'" "extend changed head 1:2"
check "[ ! -e '$run/proj/.partial-tsne-2d' ]" "extend left the partial folder behind"

# interrupted (SIGTERM after the first of two heads, one thread so they run in turn):
# a line says what is kept, the shell sees the signal, nothing is committed; the same
# command then does only the head that was missing
irun="$AV_TMP/irun"
cp -r "$AV_SRC/tests/fixtures/projections/run_small" "$irun"
OMP_NUM_THREADS=1 "$AV" project "$irun" --heads 0:0,0:1 --iters 6000 2>"$AV_TMP/ilog1" &
pid=$!
for _ in $(seq 1200); do grep -q 'head 0:0 done' "$AV_TMP/ilog1" && break; sleep 0.05; done
kill -TERM $pid; wait $pid; rc=$?
check "[ $rc -eq 143 ]" "interrupted job: exit $rc, not 143 (SIGTERM): $(cat "$AV_TMP/ilog1")"
check "grep -q 'interrupted; finished heads are kept in .*/proj/.partial-tsne-2d; \`attnviz project .*--heads 0:0,0:1 --iters 6000.*irun\` resumes' '$AV_TMP/ilog1'" \
  "no interruption line: $(cat "$AV_TMP/ilog1")"
check "[ -f '$irun/proj/.partial-tsne-2d/L000-H000.npy' ] && [ ! -e '$irun/proj/tsne-2d.npy' ]" "interrupted job state: $(ls -aR "$irun/proj")"
OMP_NUM_THREADS=1 "$AV" project "$irun" --heads 0:0,0:1 --iters 6000 2>"$AV_TMP/ilog2"; rc=$?
check "[ $rc -eq 0 ] && grep -q '1 of 2 selected heads already done' '$AV_TMP/ilog2'" "resume: $(cat "$AV_TMP/ilog2")"
check "grep -q 'head 0:1 done' '$AV_TMP/ilog2' && ! grep -q 'head 0:0 done' '$AV_TMP/ilog2'" "resume redid 0:0: $(cat "$AV_TMP/ilog2")"
check "[ -f '$irun/proj/tsne-2d.npy' ] && [ ! -e '$irun/proj/.partial-tsne-2d' ]" "resume end state: $(ls -a "$irun/proj")"

# a job killed while writing the array leaves proj/<name>.npy.tmp.<pid>: the next job
# removes it once that process is gone (one of a live process stays)
sleep 0 & dead=$!; wait $dead
: >"$irun/proj/tsne-2d.npy.tmp.$dead"; : >"$irun/proj/tsne-2d.npy.tmp.$$"
"$AV" project "$irun" --heads 0:0 --iters 6000 --quiet 2>/dev/null
check "[ ! -e '$irun/proj/tsne-2d.npy.tmp.$dead' ]" "stale temporary of a dead job kept"
check "[ -e '$irun/proj/tsne-2d.npy.tmp.$$' ]" "temporary of a live process removed"
rm -f "$irun/proj/tsne-2d.npy.tmp.$$"

# --quiet: nothing on stderr
"$AV" project "$irun" --heads 1:0 --iters 50 --quiet 2>"$AV_TMP/qlog"; rc=$?
check "[ $rc -eq 0 ] && [ ! -s '$AV_TMP/qlog' ]" "--quiet printed: $(cat "$AV_TMP/qlog")"

# --force recomputes; same seed gives the same bytes
"$AV" project "$run" --heads 0:0,1:2 --iters 300 --force 2>"$AV_TMP/log4"
check "grep -q 'head 0:0 done' '$AV_TMP/log4' && grep -q 'head 1:2 done' '$AV_TMP/log4'" "--force did not recompute"
check "! grep -q 'head 0:1 done' '$AV_TMP/log4'" "--force recomputed an unselected head"
check "cmp -s -n \$((128 + 240*2*4)) '$AV_TMP/first.npy' '$run/proj/tsne-2d.npy'" "same seed, different head 0:0"
check "cmp -s -i \$((128 + 5*240*2*4)) '$AV_TMP/first.npy' '$run/proj/tsne-2d.npy'" "same seed, different head 1:2"
check "grep -q '\"heads_projected\":[[:space:]]*3' '$run/manifest.json'" "--force dropped the unselected head 0:1"
# another seed: other parameters, the projection's heads are replaced, not mixed in
"$AV" project "$run" --heads 0:0 --iters 300 --seed 5 2>"$AV_TMP/log5"
check "grep -q 'other parameters' '$AV_TMP/log5'" "changed parameters not noticed"
check "! cmp -s '$AV_TMP/first.npy' '$run/proj/tsne-2d.npy'" "another seed, same output"
check "grep -q '\"heads_projected\":[[:space:]]*1' '$run/manifest.json'" "old-parameter heads kept"

# a perplexity too large for the head is clamped with a warning
"$AV" project "$run" --heads 0:1 --iters 50 --perplexity 100 2>"$AV_TMP/log7"; rc=$?
check "[ $rc -eq 0 ] && grep -q 'perplexity 100 is too large for 240 points; using 79.67' '$AV_TMP/log7'" "clamp: $(cat "$AV_TMP/log7")"

# UMAP through the same loop
"$AV" project "$run" --method umap --heads 0:0,1:1 --iters 50 2>"$AV_TMP/log8"; rc=$?
check "[ $rc -eq 0 ]" "umap exit $rc: $(cat "$AV_TMP/log8")"
"$AV" project "$run" --method pca --heads 0:0 2>"$AV_TMP/log8b"
check "grep -q 'project pca-2d: 1 head in' '$AV_TMP/log8b'" "singular unit: $(cat "$AV_TMP/log8b")"
check "[ \"\$(shape '$run/proj/umap-2d.npy')\" = \"'shape': (2, 3, 240, 2)\" ]" "umap shape"
bad "neighbors with tsne" "applies to --method umap" "$run" --neighbors 10

# PCA 3-D of every head
"$AV" project "$run" --method pca --dim 3 --scale 2>"$AV_TMP/log6"; rc=$?
check "[ $rc -eq 0 ]" "pca exit $rc: $(cat "$AV_TMP/log6")"
check "[ \"\$(shape '$run/proj/pca-3d.npy')\" = \"'shape': (2, 3, 240, 3)\" ]" "pca shape"
check "grep -q '\"proj/tsne-2d\"' '$run/manifest.json' && grep -q '\"proj/pca-3d\"' '$run/manifest.json'" "manifest lost an entry"

# t-SNE with the FFT-interpolation repulsion (kernels/tsne/tsne_fft.c): the manifest records it
"$AV" project "$run" --heads 0:2 --iters 100 --tsne-method fft 2>"$AV_TMP/log9"; rc=$?
check "[ $rc -eq 0 ]" "--tsne-method fft exit $rc: $(cat "$AV_TMP/log9")"
check "grep -q '\"tsne_method\":[[:space:]]*\"fft\"' '$run/manifest.json'" "manifest lacks tsne_method fft"
check "grep -q '\"repulsion\":[[:space:]]*\"fft\"' '$run/manifest.json'" "manifest lacks the repulsion used"
bad "bad tsne method" "--tsne-method must be auto, bh or fft" "$run" --tsne-method fast
bad "fft in 3-D" "2-D only" "$run" --dim 3 --tsne-method fft
bad "tsne-method with umap" "applies to --method tsne" "$run" --method umap --tsne-method bh

# bad input: one line, exit 2, nothing written
bad "missing folder" "no such folder" "$AV_TMP/nope"
bad "head out of range" "head 2:0 does not exist" "$run" --heads 2:0
bad "malformed head" "is not LAYER:HEAD" "$run" --heads 1-2
bad "bad dim" "--dim" "$run" --dim 4
bad "bad method" "--method" "$run" --method tsnee
bad "perplexity with pca" "applies to --method tsne" "$run" --method pca --perplexity 5
bad "no run folder" "expects the run folder"
nan="$AV_TMP/run_nan"
cp -r "$AV_SRC/tests/fixtures/projections/run_nan" "$nan"
bad "NaN in a head" "head 1:2 has 0 non-finite (NaN/Inf) values in q.npy and 1 in k.npy" "$nan"
check "[ ! -e '$nan/proj' ]" "NaN run left a proj folder behind"
"$AV" project "$nan" --heads 0:0 --iters 50 2>/dev/null
check "[ $? -eq 0 ]" "a run with NaN in an unselected head must still project the others"
broken="$AV_TMP/broken"
cp -r "$run" "$broken"
head -c 100 "$run/manifest.json" > "$broken/manifest.json"
bad "truncated manifest" "manifest.json: invalid JSON" "$broken"
cp "$run/manifest.json" "$broken/manifest.json"
head -c 200 "$run/k.npy" > "$broken/k.npy"
bad "truncated k.npy" "k.npy" "$broken"

[ $fail -eq 0 ] && echo "cli_project: ok"
exit $fail
