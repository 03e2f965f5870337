#!/usr/bin/env bash
# cli_gpu_run.sh - bench/gpu_run.sh on any machine. Its arguments: a bad step or a bad
# BENCH_QUICK / AV_GPU_BUDGET / AV_GPU_DRY_RUN ends with exit 2 and one line naming it;
# --help describes every step. Without an NVIDIA GPU (CI) every step but build says "no
# NVIDIA GPU" and exits 1 before touching anything (no build folder, RESULTS-gpu.md
# unchanged). And the one-command flow in a dry run (stand-ins for the steps): steps in
# order, each step's evidence in $OUT as it ends, a step stopped at its timeout, the
# steps the budget no longer holds skipped and named with the command for a later run,
# the processes a step left behind ended by PID, and a run killed in the middle still
# leaves the finished steps' evidence and a record that names the rest. Nothing builds.
set -u
: "${AV_SRC:?}" "${AV_TMP:?}"
rm -rf "$AV_TMP" && mkdir -p "$AV_TMP"
cd "$AV_SRC"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
b="$AV_TMP/build"   # a build folder that must never appear
run() { AV_BUILD="$b" bash bench/gpu_run.sh "$@" > "$AV_TMP/out" 2>&1; }

# expect CODE PATTERN ENV... -- ARGS...: exit status, one line, the pattern in it.
expect() {
  local code=$1 pat=$2; shift 2
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" AV_BUILD="$b" bash bench/gpu_run.sh "$@" > "$AV_TMP/out" 2>&1
  local rc=$?
  [ "$rc" = "$code" ] || fail "gpu_run.sh $* (${envs[*]}): exit $rc, not $code: $(head -3 "$AV_TMP/out")"
  [ "$(wc -l < "$AV_TMP/out")" = 1 ] || fail "gpu_run.sh $* (${envs[*]}): $(wc -l < "$AV_TMP/out") lines, not one"
  grep -q -- "$pat" "$AV_TMP/out" || fail "gpu_run.sh $* (${envs[*]}): no '$pat' in: $(head -1 "$AV_TMP/out")"
}

expect 2 "unknown step 'bogus'" X=1 -- bogus
expect 2 "unknown step 'nope'" X=1 -- build test nope
expect 2 "unknown step 'all'" X=1 -- all
expect 2 "BENCH_QUICK must be 0 or 1, not 'yes'" BENCH_QUICK=yes -- build
expect 2 "AV_GPU_BUDGET must be whole seconds, not '9m'" AV_GPU_BUDGET=9m -- build
expect 2 "AV_GPU_DRY_RUN must be 0 or 1, not 'y'" AV_GPU_DRY_RUN=y -- build
expect 1 "AV_GPU_BUNDLE=$AV_TMP/none.tar.xz: no such file" AV_GPU_BUNDLE="$AV_TMP/none.tar.xz" -- build

run --help; rc=$?
[ $rc = 0 ] || fail "--help: exit $rc"
for s in info build test dev tsne extract viewer proj heads live BENCH_QUICK AV_GPU_BUDGET AV_GPU_DRY_RUN; do
  grep -qE "^  $s[ =]" "$AV_TMP/out" || fail "--help does not describe $s"
done

if nvidia-smi -L >/dev/null 2>&1; then
  echo "cli_gpu_run: this machine has an NVIDIA GPU: the no-GPU checks do not apply"
else
  before=$(cksum < bench/RESULTS-gpu.md)
  for s in info test dev tsne extract viewer proj heads live "build test" "dev build"; do
    # shellcheck disable=SC2086
    expect 1 "no NVIDIA GPU here" X=1 -- $s
  done
  grep -q "step(s) info test dev tsne extract viewer need one" <(AV_BUILD="$b" bash bench/gpu_run.sh 2>&1) \
    || fail "the default run does not name the steps that need a GPU"
  [ "$(cksum < bench/RESULTS-gpu.md)" = "$before" ] || fail "bench/RESULTS-gpu.md changed"
fi
[ -e "$b" ] && fail "a failed call created $b"

# ---- the one-command flow, dry ------------------------------------------------------
# Budget 50 s (a dry run's step limits are a fifth): info, build and test take no time,
# dev outlasts its 30 s, and tsne and extract (12 s minimum each) no longer fit; viewer
# (6 s) may, by how busy this machine is. What did not end ok is named for a later run.
out="$AV_TMP/dry-out"
mkdir -p "$out"
before=$(cksum < bench/RESULTS-gpu.md)
OUT="$out" AV_BUILD="$AV_TMP/dry-build" AV_GPU_DRY_RUN=1 AV_GPU_BUDGET=50 AV_GPU_DRY_SLEEP=test:1,dev:100 \
  bash bench/gpu_run.sh > "$AV_TMP/dry" 2>&1
rc=$?
[ $rc = 1 ] || fail "dry run: exit $rc, not 1 (a step timed out)"
sum="$out/summary.txt"
[ -s "$sum" ] || fail "dry run: no summary.txt in \$OUT"
order=$(awk '$1 ~ /^(info|build|test|dev|tsne|extract|viewer)$/ {printf "%s ", $1}' "$sum")
[ "$order" = "info build test dev tsne extract viewer " ] || fail "dry run: steps in the order '$order'"
for s in info build test; do
  grep -qE "^$s +ok " "$sum" || fail "dry run: $s is not ok: $(grep "^$s " "$sum")"
  [ -s "$out/$s.txt" ] && [ -s "$out/$s.log" ] || fail "dry run: no evidence of $s in \$OUT"
done
grep -qE '^dev +TIMEOUT +3[0-9] ' "$sum" || fail "dry run: dev not stopped at its 30 s: $(grep '^dev ' "$sum")"
for s in tsne extract; do
  grep -qE "^$s +skipped .*budget" "$sum" || fail "dry run: $s not skipped for the budget: $(grep "^$s " "$sum")"
done
notok=$(awk '$1 ~ /^(info|build|test|dev|tsne|extract|viewer)$/ && $2 != "ok" {printf " %s", $1}' "$sum")
grep -qx "not done in this run:$notok; a later run: bash bench/gpu_run.sh$notok" "$sum" \
  || fail "dry run: the summary does not name what is left ($notok): $(grep 'not done' "$sum")"
# each step run left a process behind (a GPU process on a GPU machine): ended by PID. A
# step stopped by its timeout may have had its stand-in killed with it (timeout signals
# the step's process group), so it may or may not need the cleanup.
ran=$(awk '$1 ~ /^(info|build|test|dev|tsne|extract|viewer)$/ && $2 != "skipped"' "$sum" | wc -l)
ok=$(awk '$1 ~ /^(info|build|test|dev|tsne|extract|viewer)$/ && $2 == "ok"' "$sum" | wc -l)
n=$(grep -c 'ended GPU processes left behind' "$out/cleanup.txt" 2>/dev/null)
[ "${n:-0}" -ge "$ok" ] && [ "${n:-0}" -le "$ran" ] || fail "dry run: $n cleanups recorded for $ran steps run ($ok ok)"
for s in $(awk '$1 ~ /^(info|build|test|dev|tsne|extract|viewer)$/ && $2 == "ok" {print $1}' "$sum"); do
  grep -q "left behind by step $s: [0-9]" "$out/cleanup.txt" || fail "dry run: nothing ended after step $s"
done
for pid in $(grep -oE '[0-9]+\(sleep\)' "$out/cleanup.txt" | grep -oE '[0-9]+'); do
  kill -0 "$pid" 2>/dev/null && { fail "dry run: process $pid left behind is still alive"; kill "$pid"; }
done
grep -qE '^info +ok' "$out/RESULTS-gpu.md" && grep -q '^## Step test (dry run)' "$out/RESULTS-gpu.md" \
  || fail "dry run: RESULTS-gpu.md lacks the summary or a step's section"
[ -s "$out/logs.tar.gz" ] || fail "dry run: no logs.tar.gz"
[ "$(cksum < bench/RESULTS-gpu.md)" = "$before" ] || fail "dry run: bench/RESULTS-gpu.md changed"

# Killed in the middle of test: info and build are in $OUT, the record says test on.
out="$AV_TMP/kill-out"
mkdir -p "$out"
OUT="$out" AV_BUILD="$AV_TMP/kill-build" AV_GPU_DRY_RUN=1 AV_GPU_DRY_SLEEP=test:100 \
  timeout 20 bash bench/gpu_run.sh > "$AV_TMP/kill" 2>&1
[ -s "$out/info.txt" ] && [ -s "$out/build.txt" ] || fail "killed run: the finished steps' evidence is missing"
grep -qE '^build +ok' "$out/summary.txt" && grep -qE '^test +pending' "$out/summary.txt" \
  || fail "killed run: the record does not show build done and test pending: $(cat "$out/summary.txt")"
grep -q 'a later run: bash bench/gpu_run.sh test dev tsne extract viewer$' "$out/summary.txt" \
  || fail "killed run: the record does not name the steps left"
# the stand-in of the killed step left its process: this test started it, this test ends it
for pid in $(grep -oE '[0-9]+' "$AV_TMP/kill-build/gpu-logs/dry-gpu-pids" 2>/dev/null); do kill "$pid" 2>/dev/null; done

[ $fails = 0 ] && echo "cli_gpu_run: all checks passed"
exit $((fails > 0))
