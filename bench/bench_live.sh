#!/usr/bin/env bash
# Live projection benchmark (`attnviz view --live`): what showing a t-SNE while it runs
# costs. A BERT-tiny run of LINES sentences (tests/fixtures/models/bert-tiny) is made
# once; then, alternating, REPS times each:
#   display on   `attnviz view --live --head 1:0 --method tsne --iters ITERS` under Xvfb,
#                a script that draws frames until the projection is done (live-wait) and
#                dumps the state: the viewer's cost per taken frame (frame_ms_copy or
#                frame_ms_interop: take, download or interop write, bounds, upload), the
#                worker's publishing per iteration (publish_ms), frames taken, and the
#                seconds from start to done (ITERS / rate)
#   display off  `attnviz project --heads 1:0` with the same parameters: the same
#                projection with nobody watching (wall seconds)
# Both include the kNN and affinities before the first iteration. Prints one line per
# run and the medians; CPU seconds (user+sys) beside wall seconds, since the machine may
# be shared.
#   bash bench/bench_live.sh [BUILD_DIR]
# Environment: LINES (default 300), ITERS (300), REPS (3), DEVICE (cpu; cuda on a GPU
# machine), INTEROP (auto; off forces the copy path), RENDERER (auto: the CPU under
# Xvfb's software OpenGL; gl: draw with OpenGL anyway, so the frame includes the upload
# into the point buffer), XVFB_FIRST (240).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
AV="$build/attnviz"
lines=${LINES:-300}
iters=${ITERS:-300}
reps=${REPS:-3}
device=${DEVICE:-cpu}
interop=${INTEROP:-auto}
renderer=${RENDERER:-auto}
T=$(mktemp -d /tmp/bench_live.XXXXXX)
trap 'rm -rf "$T"' EXIT
[ -x "$AV" ] || { echo "bench_live: no $AV (build the attnviz target)"; exit 2; }

for i in $(seq "$lines"); do echo "The quick brown fox number $i jumps over the lazy dog, again and again near river $((i % 17))."; done >"$T/text.txt"
"$AV" extract "$root/tests/fixtures/models/bert-tiny" "$T/text.txt" -o "$T/run" --quiet --dtype f32 || { echo "bench_live: extract failed"; exit 1; }
tokens=$(tr -d ' \n\t' <"$T/run/manifest.json" | grep -o '"num_tokens":[0-9]*' | cut -d: -f2)

. "$root/tests/xvfb.sh"
av_start_xvfb "${XVFB_FIRST:-240}" "$(( ${XVFB_FIRST:-240} + 60 ))" "$T/xvfb.log"

num() { grep -o "\"$2\":[-0-9.e]*" "$1" | head -1 | cut -d: -f2; }
cpu_of() { awk '{print $2 + $3}' "$1"; }   # /usr/bin/time -f "%e %U %S"

echo "bench_live: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $tokens tokens = $((2 * tokens)) points, t-SNE 2-D $iters iterations, device $device, interop $interop, renderer $renderer"
printf '%-12s %9s %9s %8s %10s %10s %8s %s\n' run wall_s cpu_s it/s frame_ms publish_ms frames path
on_wall=(); off_wall=(); frame=(); publish=()
for r in $(seq "$reps"); do
  printf 'live-wait done 3600000\nstate %s\nquit\n' "$T/s$r.json" >"$T/script.txt"
  /usr/bin/time -f "%e %U %S" -o "$T/t_on" "$AV" view "$T/run" --live --method tsne --head 1:0 --iters "$iters" --seed 1 \
    --device "$device" --interop "$interop" --renderer "$renderer" --size 1000x700 --script "$T/script.txt" >/dev/null 2>"$T/view.err" \
    || { echo "bench_live: view --live failed: $(cat "$T/view.err")"; exit 1; }
  rate=$(num "$T/s$r.json" rate)
  path=$(grep -o '"path":"[a-z]*"' "$T/s$r.json" | cut -d'"' -f4)
  fms=$(num "$T/s$r.json" "frame_ms_$path")
  pms=$(num "$T/s$r.json" publish_ms)
  frames=$(( $(num "$T/s$r.json" frames_copy) + $(num "$T/s$r.json" frames_interop) ))
  secs=$(num "$T/s$r.json" seconds)   # from the job's start to done
  printf '%-12s %9s %9.2f %8s %10.4f %10.4f %8s %s\n' "display on" "$secs" "$(cpu_of "$T/t_on")" "$rate" "$fms" "$pms" "$frames" "$path"
  on_wall+=("$secs"); frame+=("$fms"); publish+=("$pms")
  rm -rf "$T/run/proj"
  /usr/bin/time -f "%e %U %S" -o "$T/t_off" "$AV" project "$T/run" --method tsne --heads 1:0 --iters "$iters" --seed 1 \
    --device "$device" 2>"$T/project.err" >/dev/null || { echo "bench_live: project failed: $(cat "$T/project.err")"; exit 1; }
  w=$(cut -d' ' -f1 "$T/t_off")
  printf '%-12s %9s %9.2f %8.0f %10s %10s %8s %s\n' "display off" "$w" "$(cpu_of "$T/t_off")" "$(awk -v i="$iters" -v w="$w" 'BEGIN{print i / w}')" - - - -
  off_wall+=("$w")
  rm -rf "$T/run/proj"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "median: display on $(median "${on_wall[@]}") s, display off $(median "${off_wall[@]}") s (start to done), frame $(median "${frame[@]}") ms, publish $(median "${publish[@]}") ms per iteration; load after $(cut -d' ' -f1-3 /proc/loadavg)"
