#!/usr/bin/env bash
# cli_gpu_run.sh - bench/gpu_run.sh's argument handling, on any machine: a bad stage or
# a bad BENCH_QUICK / AV_GPU_BUDGET ends with exit 2 and one line naming it; --help lists
# every stage; and where there is no NVIDIA GPU (CI), every stage but build says
# "no NVIDIA GPU" and exits 1 before touching anything (no build folder, RESULTS-gpu.md
# unchanged). Nothing here builds.
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

expect 2 "unknown stage 'bogus'" X=1 -- bogus
expect 2 "unknown stage 'nope'" X=1 -- build test nope
expect 2 "unknown stage '--all'" X=1 -- --all
expect 2 "BENCH_QUICK must be 0 or 1, not 'yes'" BENCH_QUICK=yes -- build
expect 2 "AV_GPU_BUDGET must be whole seconds, not '9m'" AV_GPU_BUDGET=9m -- build
expect 1 "AV_GPU_BUNDLE=$AV_TMP/none.tar.xz: no such file" AV_GPU_BUNDLE="$AV_TMP/none.tar.xz" -- build

run --help; rc=$?
[ $rc = 0 ] || fail "--help: exit $rc"
for s in build test dev extract proj heads viewer live all BENCH_QUICK AV_GPU_BUDGET; do
  grep -qE "^  $s[ =]" "$AV_TMP/out" || fail "--help does not describe $s"
done

if nvidia-smi -L >/dev/null 2>&1; then
  echo "cli_gpu_run: this machine has an NVIDIA GPU: the no-GPU checks do not apply"
else
  before=$(cksum < bench/RESULTS-gpu.md)
  for s in test dev extract proj heads viewer live all "build test" "dev build"; do
    # shellcheck disable=SC2086
    expect 1 "no NVIDIA GPU here" X=1 -- $s
  done
  grep -q "stage(s) test dev extract proj heads viewer live need one" <(AV_BUILD="$b" bash bench/gpu_run.sh all 2>&1) \
    || fail "'all' does not name the stages that need a GPU"
  [ "$(cksum < bench/RESULTS-gpu.md)" = "$before" ] || fail "bench/RESULTS-gpu.md changed"
fi
[ -e "$b" ] && fail "a failed call created $b"
[ $fails = 0 ] && echo "cli_gpu_run: all checks passed"
exit $((fails > 0))
