#!/usr/bin/env bash
# cli_mpi.sh - one job spread over several processes with Open MPI's mpirun (2 and 3
# processes, oversubscribed on a small machine): extract, project and stats give the
# same bytes as one process; a process killed mid-job ends the job with nothing
# complete-looking, and the same command (with or without mpirun) resumes to the same
# bytes; bad input ends the whole job with exit 2 and one line; one process under
# mpirun behaves as no mpirun. SKIP (77) without mpirun or without MPI in the build.
set -uo pipefail
[ "${AV_MPI:-0}" = 1 ] || { echo "SKIP: attnviz was built without MPI (libopenmpi-dev)"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: no mpirun (openmpi-bin)"; exit 77; }
fail=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
M="$AV_SRC/tests/fixtures/models"
P="$AV_SRC/tests/fixtures/projections"
# CI runs as root; -q keeps mpirun's own banners out of the one-line errors. The CPU
# forward pass rounds by its row blocks, which follow the thread count: every process,
# and the one-process reference, runs one thread.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
mpi() { local np=$1; shift; mpirun -q -np "$np" --oversubscribe -x OMP_NUM_THREADS "$@"; }
# In the sanitizer build, no leak report from the processes under mpirun: Open MPI's
# runtime keeps memory past MPI_Finalize in components it has unloaded by then, whose
# stacks no suppression can name. Every other check stays on, and our own code's leaks
# are checked by the other tests, which run the same code in one process.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# the pid of rank $2 among the descendants of $1 (the background job running mpirun)
rank_pid() {
  for p in $(pgrep -P "$1"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then echo "$p"; return; fi
    rank_pid "$p" "$2"
  done
}
# exit 2, one line on stderr that contains $2
one_line() {
  local what=$1 pat=$2 rc=$3 err=$4
  check "[ $rc -eq 2 ]" "$what: exit $rc, not 2: $(cat "$err")"
  check "[ \$(wc -l <'$err') -eq 1 ]" "$what: not one line: $(cat "$err")"
  check "grep -q -- '$pat' '$err'" "$what: message lacks '$pat': $(cat "$err")"
}

# 60 lines of 2 to 30 words: several batches of 4 for every process
words=(the quick brown fox jumps over lazy dog hello world attention head query key value)
for i in $(seq 60); do
  n=$((2 + (i * 7) % 29)); line=""
  for w in $(seq "$n"); do line="$line ${words[$(((i * 31 + w * 17) % 15))]}"; done
  echo "$line"
done >data.txt

# ---- extract: the same bytes from 1, 2 and 3 processes ------------------------------------
"$AV" extract "$M/bert-tiny" data.txt -o e1 --batch 4 2>err.txt || fail=1
mpi 2 "$AV" extract "$M/bert-tiny" data.txt -o e2 --batch 4 2>err2.txt; rc=$?
check "[ $rc -eq 0 ]" "extract -np 2: exit $rc: $(cat err2.txt)"
check "grep -q '60 items on cpu, 2 processes' err2.txt" "extract -np 2: no job summary: $(cat err2.txt)"
check "[ \$(grep -c 'attnviz extract: wrote' err2.txt) -eq 1 ]" "extract -np 2: not one process speaking: $(cat err2.txt)"
mpi 3 "$AV" extract "$M/bert-tiny" data.txt -o e3 --batch 4 --quiet 2>err3.txt; rc=$?
check "[ $rc -eq 0 ]" "extract -np 3: exit $rc: $(cat err3.txt)"
for f in q.npy k.npy v_norm.npy token_item.npy token_pos.npy tokens.jsonl items.jsonl manifest.json; do
  check "cmp -s e1/$f e2/$f" "extract -np 2: $f differs from one process"
  check "cmp -s e1/$f e3/$f" "extract -np 3: $f differs from one process"
done
check "! ls -d e2.partial e3.partial 2>/dev/null" "extract left a partial folder"
check "! ls e2 | grep -q resume" "extract left a checkpoint in the run: $(ls e2)"
echo "ok   extract: 1, 2 and 3 processes give the same arrays"

# a grouped-query decoder: k.npy holds fewer heads than q.npy, at offsets of its own
"$AV" extract "$M/llama-gqa" data.txt -o g1 --batch 4 --quiet 2>errg.txt || fail=1
mpi 2 "$AV" extract "$M/llama-gqa" data.txt -o g2 --batch 4 --quiet 2>errg2.txt; rc=$?
check "[ $rc -eq 0 ]" "extract -np 2 of a grouped-query model: exit $rc: $(cat errg.txt errg2.txt)"
for f in q.npy k.npy v_norm.npy manifest.json; do
  check "cmp -s g1/$f g2/$f" "extract -np 2 of a grouped-query model: $f differs from one process"
done
echo "ok   extract: a grouped-query model's key heads from 2 processes"

# one process under mpirun is the job without mpirun; without mpirun nothing about MPI
mpi 1 "$AV" extract "$M/bert-tiny" data.txt -o e4 --batch 4 2>err4.txt; rc=$?
check "[ $rc -eq 0 ] && cmp -s e1/q.npy e4/q.npy" "extract -np 1: exit $rc or other bytes"
check "grep -q 'tokens in' err.txt err4.txt && ! grep -qi 'process\|mpi\|rank' err.txt err4.txt" \
  "MPI talk without several processes: $(cat err.txt err4.txt)"

# ---- bad input in the second process's share: exit 2 from the whole job, one line ---------
{ head -n 50 data.txt; printf 'broken \xff\xfe line\n'; tail -n 9 data.txt; } >bad.txt
mpi 2 "$AV" extract "$M/bert-tiny" bad.txt -o eb --batch 4 2>errb.txt; rc=$?
one_line "extract, bad line 51 of 60" "bad.txt:51: invalid UTF-8" $rc errb.txt
check "! ls -d eb eb.partial 2>/dev/null" "bad input left a run folder behind"

# ---- extract: a process killed midway; the same command resumes to the same bytes ----------
for i in $(seq 100); do cat data.txt; done >big.txt
"$AV" extract "$M/bert-tiny" big.txt -o k1 --batch 2 --quiet 2>/dev/null || fail=1
mpi 2 "$AV" extract "$M/bert-tiny" big.txt -o k2 --batch 2 --quiet 2>errk.txt & mp=$!
victim=""
for i in $(seq 200); do victim=$(rank_pid $mp 1); [ -n "$victim" ] && [ -e k2.partial/q.npy ] && break; sleep 0.05; done
sleep 0.2; kill -KILL "$victim" 2>/dev/null; wait $mp; rc=$?
check "[ $rc -ne 0 ] && [ ! -e k2 ]" "extract with a killed process: exit $rc, run folder $(ls -d k2 2>&1)"
mpi 2 "$AV" extract "$M/bert-tiny" big.txt -o k2 --batch 2 --quiet 2>errk2.txt; rc=$?
check "[ $rc -eq 0 ]" "extract resume: exit $rc: $(cat errk2.txt)"
for f in q.npy k.npy v_norm.npy manifest.json; do check "cmp -s k1/$f k2/$f" "extract resume: $f differs from one process"; done
echo "ok   extract: killed process, resumed to the same arrays"

# ---- project: the same bytes from 1, 2 and 3 processes; stats too ---------------------------
for v in p1 p2 p3; do cp -r "$P/run_small" $v; done
"$AV" project p1 --iters 300 --quiet || fail=1
mpi 2 "$AV" project p2 --iters 300 2>errp2.txt; rc=$?
check "[ $rc -eq 0 ] && grep -q 'on the CPU, 2 processes' errp2.txt" "project -np 2: exit $rc: $(cat errp2.txt)"
mpi 3 "$AV" project p3 --iters 300 --quiet; rc=$?
check "[ $rc -eq 0 ]" "project -np 3: exit $rc"
check "cmp -s p1/proj/tsne-2d.npy p2/proj/tsne-2d.npy" "project -np 2: projection differs from one process"
check "cmp -s p1/proj/tsne-2d.npy p3/proj/tsne-2d.npy" "project -np 3: projection differs from one process"
check "[ ! -e p2/proj/.partial-tsne-2d ]" "project -np 2 left its partial folder"
"$AV" stats e1 --format csv >s1.csv 2>/dev/null || fail=1
mpi 2 "$AV" stats e2 --format csv >s2.csv; rc=$?
mpi 3 "$AV" stats e3 --format csv >s3.csv
check "[ $rc -eq 0 ] && cmp -s s1.csv s2.csv && cmp -s s1.csv s3.csv" "stats under mpirun differ from one process"
check "cmp -s e1/stats.json e2/stats.json && cmp -s e1/stats.json e3/stats.json" "stats.json differs under mpirun"
echo "ok   project and stats: 1, 2 and 3 processes agree"

# ---- project: a process killed midway; resumed without mpirun, and under it -----------------
for v in q1 q2 q3; do cp -r "$P/run_small" $v; done
"$AV" project q1 --iters 1500 --quiet || fail=1
for v in q2 q3; do
  mpi 2 "$AV" project $v --iters 1500 2>errq.txt & mp=$!
  for i in $(seq 600); do ls $v/proj/.partial-tsne-2d/*.npy >/dev/null 2>&1 && break; sleep 0.05; done
  kill -KILL "$(rank_pid $mp 1)"; wait $mp; rc=$?
  check "[ $rc -ne 0 ] && [ ! -e $v/proj/tsne-2d.npy ]" "project with a killed process: exit $rc, $(ls $v/proj)"
  check "[ \$(grep -c interrupted errq.txt) -le 1 ]" "project: more than one interruption line: $(cat errq.txt)"
done
"$AV" project q2 --iters 1500 2>errq2.txt; rc=$?
check "[ $rc -eq 0 ] && grep -q 'selected heads already done' errq2.txt" "project resume without mpirun: exit $rc: $(cat errq2.txt)"
mpi 3 "$AV" project q3 --iters 1500 --quiet; rc=$?
check "[ $rc -eq 0 ]" "project resume under mpirun: exit $rc"
check "cmp -s q1/proj/tsne-2d.npy q2/proj/tsne-2d.npy" "project resumed without mpirun differs"
check "cmp -s q1/proj/tsne-2d.npy q3/proj/tsne-2d.npy" "project resumed under mpirun differs"
echo "ok   project: killed process, resumed to the same projection"

# ---- project: bad data met by one process: the whole job ends, one line naming it ----------
cp -r "$P/run_nan" n2
mpi 2 "$AV" project n2 --iters 300 2>errn.txt; rc=$?
one_line "project -np 2 of a head with NaN" "rank 1: .*head 1:2 has" $rc errn.txt
check "[ ! -e n2/proj/tsne-2d.npy ]" "project of bad data wrote a projection"
echo "ok   faults: one line, exit 2"
exit $fail
