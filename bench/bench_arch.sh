#!/usr/bin/env bash
# Before/after a restructure, same run: extract tokens/s (MiniLM, the 1000 bundled
# sentences) and t-SNE seconds for one head of that run (its joint q/k cloud), each
# binary in turn, ROUNDS times; the arrays and projections compared byte for byte.
#   bash bench/bench_arch.sh BEFORE_BINARY AFTER_BINARY [ROUNDS]
# Prints wall and CPU (user+sys) seconds per run; CPU seconds are the figure to read on
# a loaded machine. OMP_NUM_THREADS is left as set (default: all cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
before=$1 after=$2 rounds=${3:-3}
model=$root/.deps/models/all-MiniLM-L6-v2
data=$root/datasets/samples/sentences.txt
work=$(mktemp -d /tmp/bench_arch.XXXXXX)
trap 'rm -rf "$work"' EXIT

# t: wall and cpu seconds of a command, appended as "LABEL wall cpu" to $work/times
t() {
  local label=$1; shift
  /usr/bin/time -f "$label %e %U %S" -a -o "$work/times" "$@" >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
}

for r in $(seq 1 "$rounds"); do
  for side in before after; do
    bin=$before; [ "$side" = after ] && bin=$after
    rm -rf "$work/$side"
    t "extract-$side" "$bin" extract "$model" "$data" -o "$work/$side" --device cpu --quiet
    t "tsne-$side" "$bin" project "$work/$side" --method tsne --heads 2:3 --device cpu --quiet
  done
  for f in q.npy k.npy; do cmp "$work/before/$f" "$work/after/$f"; done
  cmp "$work/before"/proj/tsne-2d.npy "$work/after"/proj/tsne-2d.npy
done
tokens=$(python3 -c "import json;print(json.load(open('$work/after/manifest.json'))['num_tokens'])")
echo "tokens $tokens; points in the head: $((2 * tokens)); arrays and projection identical in every round"
awk -v tok="$tokens" '
  { wall[$1] = wall[$1] " " $2; cpu[$1] = cpu[$1] " " ($3 + $4) }
  END { for (k in wall) printf "%-16s wall%s | cpu%s\n", k, wall[k], cpu[k] }' "$work/times" | sort
awk -v tok="$tokens" '$1 ~ /^extract/ { printf "%s tok/s (wall) %.0f\n", $1, tok / $2 }' "$work/times"
