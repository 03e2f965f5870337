#!/usr/bin/env bash
# bench_viewer.sh - the viewer at 1M, 10M and 28.8M points and at the 3.9M points of
# MiniLM over the bundled sentences (6 x 12 heads of 54,656), matrix and single view,
# (single view: 1M and 10M) drawn headless through EGL by `attnviz render --frames N` at
# 1600x1000: the first
# full draw, a hover frame, a frame while the view changes (single: a pan, drawn with
# the window's 30 ms budget; matrix: a colour change) and the time from that change
# until every point is shown again. With a second binary (a build of the old viewer)
# each size also runs through it, taking turns: it draws every point every frame, so
# its one frame time stands for all four. Last, the goal workload's loading: a run of
# 144 heads x 200k points (230 MB of f32 positions) opened and drawn, with its time,
# peak memory and the GPU memory the viewer took.
#   bench/bench_viewer.sh [NEW_AV] [OLD_AV] [SCRATCH]
#   BENCH_QUICK=1: 100k and 1M points only, and a 144 x 20k-point load run
#   SIZES="N ...": these sizes instead; LOAD=0: no load run (bench/gpu_run.sh's viewer step)
# Synthetic runs: bench_viewer_make.py (Gaussian blobs; the drawing cost does not depend
# on what the points mean). Prints the tables of bench/RESULTS-viewer.md. On a GPU
# machine the same command gives the GPU figures (the renderer column says which).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
AV=${1:-${AV:-$root/build/attnviz}}
OLD=${2:-}
tmp=${3:-$(mktemp -d /tmp/av_bench_viewer.XXXXXX)}
py=${PYTHON:-$root/.deps/venv/bin/python}
quick=${BENCH_QUICK:-0}
mkdir -p "$tmp"
field() { echo "$1" | grep -oE "(^| )$2 [^ ]*" | head -1 | awk '{print $2}'; }
make_run() { [ -f "$1/manifest.json" ] || "$py" "$root/bench/bench_viewer_make.py" "$@" >/dev/null; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)   $(nproc) CPUs   $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| view | points | heads | path | renderer | full draw ms | hover ms | pan ms | full detail ms | full / hover / pan / detail CPU ms |"
echo "|---|---:|---:|---|---|---:|---:|---:|---:|---|"
if [ "$quick" = 1 ]; then sizes="100000 1000000"; else sizes="1000000 3935232 10000000 28800000"; fi
sizes=${SIZES:-$sizes}
for n in $sizes; do
  frames=$(( n >= 10000000 ? 1 : n >= 3000000 ? 2 : 3 ))
  for view in matrix single; do
    if [ "$n" = 3935232 ]; then
      [ $view = single ] && continue            # the MiniLM shape: 6 x 12 heads of 54,656 points
      run="$tmp/minilm"; make_run "$run" 6 12 27328; heads=72
    elif [ $view = single ]; then
      [ "$n" -gt 10000000 ] && continue         # one head of 28.8M points: not a workload
      run="$tmp/single_$n"; make_run "$run" 1 1 $(( n / 2 )); heads=1
    else
      run="$tmp/matrix_$n"; make_run "$run" 12 12 $(( n / 288 )); heads=144
    fi
    out=$("$AV" render "$run" --view $view --frames $frames -o "$tmp/new.png" 2>&1) || { echo "| $view | $n | $heads | new | failed: $out |"; continue; }
    printf "| %s | %s | %s | new | %s | %.0f | %.1f | %.0f | %.0f | %.0f / %.1f / %.0f / %.0f |\n" $view "$(field "$out" points)" $heads \
      "$(field "$out" renderer)" "$(field "$out" full_ms)" "$(field "$out" hover_ms)" "$(field "$out" pan_ms)" "$(field "$out" detail_ms)" \
      "$(field "$out" full_cpu_ms)" "$(field "$out" hover_cpu_ms)" "$(field "$out" pan_cpu_ms)" "$(field "$out" detail_cpu_ms)"
    if [ -n "$OLD" ]; then
      out=$("$OLD" render "$run" --view $view --lod 0 --frames $frames -o "$tmp/old.png" 2>&1) || { echo "| $view | $n | $heads | old | failed |"; continue; }
      ms=$(field "$out" frame_ms)
      printf "| %s | %s | %s | old (every point, every frame) | gl | %.0f | %.0f | %.0f | %.0f | |\n" $view "$(field "$out" points)" $heads "$ms" "$ms" "$ms" "$ms"
    fi
  done
done
echo
echo "renderer: $("$AV" render "$tmp/matrix_1000000" --frames 1 -o "$tmp/new.png" 2>/dev/null | grep -o 'gl ".*"' || echo '?')"
echo

# the goal workload's loading: 144 heads x 200k points, 2-D (T = 100k tokens)
if [ "${LOAD:-1}" = 0 ]; then [ -n "${3:-}" ] || rm -rf "$tmp"; exit 0; fi
if [ "$quick" = 1 ]; then t=10000; else t=100000; fi
run="$tmp/load_144x$(( 2 * t ))"; make_run "$run" 12 12 $t
sync
echo "| run | projection | renderer | open ms | first full draw ms | peak RSS MB | GPU MB (viewer's own) |"
echo "|---|---:|---|---:|---:|---:|---:|"
for ren in cpu gl; do
  [ $ren = gl ] && [ "$quick" != 1 ] && [ "${BENCH_VIEWER_GL_LOAD:-0}" != 1 ] && continue  # llvmpipe needs minutes for 28.8M points
  out=$(/usr/bin/time -f "rss_kb %M" "$AV" render "$run" --renderer $ren --frames 1 -o "$tmp/load.png" 2>&1)
  printf "| 144 x %s points | %s MB | %s | %.0f | %.0f | %.0f | %s |\n" $(( 2 * t )) "$(du -m "$run/proj/tsne-2d.npy" | cut -f1)" $ren \
    "$(field "$out" open_ms)" "$(field "$out" full_ms)" "$(echo "$(field "$out" rss_kb)" | awk '{print $1 / 1024}')" "$(field "$out" gpu_mb)"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "${3:-}" ] || rm -rf "$tmp"
