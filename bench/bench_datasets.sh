#!/usr/bin/env bash
# Synthetic probe generation: `attnviz synth --kind all` against the same job in Python
# (bench/peer_synth.py: NumPy drawing + Pillow PNG writing, one process), same kinds,
# same image size, same count, output on the same disk. attnviz draws and encodes on
# every core (OpenMP). Writes bench/RESULTS-datasets.md.
#   bash bench/bench_datasets.sh        (bench/run.sh runs it too)
# Env: AV (attnviz binary), PY (python with numpy + Pillow), BENCH_QUICK=1 (small sizes).
# Reported: CPU seconds (user + sys) of the whole command, best of 3, images per CPU
# second, the wall seconds of that run (the development machine is shared, so wall
# time is noisy; CPU time is what the code costs), and the PNG megabytes written (both
# write zlib PNGs; the encoders' filters and match search differ).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
PY=${PY:-$root/.deps/venv/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${BENCH_QUICK:-0}" = 1 ]; then cases="20:224"; else cases="20:224 200:224 100:384"; fi

best() { # "wall cpu": the run with the least CPU (user + sys) seconds of 3, and its wall
  local b="" r
  for r in 1 2 3; do
    rm -rf "$tmp/out"
    local t
    t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
    b=$(echo "$t" | awk -v b="$b" '{c=$2+$3; split(b, o, " "); if (b=="" || c<o[2]) printf "%.3f %.3f", $1, c; else printf "%s", b}')
  done
  echo "$b"
}

out=bench/RESULTS-datasets.md
{
  echo "# Datasets: synthetic probe generation"
  echo
  echo "Machine: $(lscpu | sed -n 's/Model name: *//p' | head -1), $(nproc) cores; $(date -u +%Y-%m-%d)."
  echo "attnviz $(git rev-parse --short HEAD) (Release build, stb_image_write PNGs);"
  echo "peer: Python $("$PY" -c 'import sys; print(sys.version.split()[0])'), NumPy $("$PY" -c 'import numpy; print(numpy.__version__)'), Pillow $("$PY" -c 'import PIL; print(PIL.__version__)')."
  echo "attnviz synth draws and encodes images on every core (OpenMP), the peer on one; CPU time is compared. 5 kinds x N images; the run with the least CPU time of 3."
  echo
  echo "| N per kind | size | attnviz CPU s (wall) | images/CPU s | PNG MB | Python CPU s (wall) | images/CPU s | PNG MB | CPU speed-up |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$out"
for c in $cases; do
  n=${c%%:*}; s=${c##*:}
  ta=$(best "$AV" synth --kind all -n "$n" --size "$s" --seed 1 -o "$tmp/out")
  "$AV" synth --kind all -n "$n" --size "$s" --seed 1 -o "$tmp/a" --force 2>/dev/null
  tp=$(best "$PY" bench/peer_synth.py "$n" "$s" "$tmp/out")
  "$PY" bench/peer_synth.py "$n" "$s" "$tmp/p"
  ma=$(du -sm "$tmp/a" | cut -f1); mp=$(du -sm "$tmp/p" | cut -f1)
  awk -v n="$n" -v s="$s" -v ta="$ta" -v tp="$tp" -v ma="$ma" -v mp="$mp" 'BEGIN{
    split(ta, a, " "); split(tp, p, " "); k = 5 * n;
    printf "| %d | %d | %.2f (%.2f) | %.0f | %s | %.2f (%.2f) | %.0f | %s | %.1fx |\n",
      n, s, a[2], a[1], k / a[2], ma, p[2], p[1], k / p[2], mp, p[2] / a[2]}' >>"$out"
  rm -rf "$tmp/a" "$tmp/p"
done
echo "wrote $out"
cat "$out"
