#!/usr/bin/env bash
# bench_viewer.sh - frame time of the single and matrix views at 100k, 1M and 10M points,
# drawn headless (`attnviz render --frames N`, every point, no level of detail) at
# 1600x1000. Synthetic runs are made by bench_viewer_make.py (numpy) in a scratch folder.
#   bench/bench_viewer.sh [build/attnviz] [scratch dir]      results: bench/RESULTS-viewer.md
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
AV=${1:-$root/build/attnviz}
tmp=${2:-$(mktemp -d /tmp/av_bench_viewer.XXXXXX)}
py=${PYTHON:-/work/main/.deps/venv/bin/python}
echo "renderer: $(glxinfo -B 2>/dev/null | grep -m1 'renderer string' || echo 'EGL surfaceless (see RESULTS-viewer.md)')"
printf "%-7s %-9s %-10s %-8s %s\n" view points heads frames ms/frame
for n in 100000 1000000 10000000; do
  frames=$(( n >= 10000000 ? 3 : n >= 1000000 ? 5 : 20 ))
  single="$tmp/single_$n"; matrix="$tmp/matrix_$n"
  [ -f "$single/manifest.json" ] || "$py" "$root/bench/bench_viewer_make.py" "$single" 1 1 $(( n / 2 ))
  [ -f "$matrix/manifest.json" ] || "$py" "$root/bench/bench_viewer_make.py" "$matrix" 12 12 $(( n / 288 ))
  s=$("$AV" render "$single" --view single --lod 0 --frames $frames -o "$tmp/s.png")
  m=$("$AV" render "$matrix" --view matrix --lod 0 --frames $frames -o "$tmp/m.png")
  printf "%-7s %-9s %-10s %-8s %s\n" single $n 1 $frames "$(echo "$s" | awk '{print $2}')"
  printf "%-7s %-9s %-10s %-8s %s\n" matrix $(( n / 288 * 288 )) 144 $frames "$(echo "$m" | awk '{print $2}')"
done
[ -n "${2:-}" ] || rm -rf "$tmp"
