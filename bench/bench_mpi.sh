#!/usr/bin/env bash
# bench_mpi.sh - one job over several processes (Open MPI): extract tokens/s and project
# heads/s against the number of processes, and the cost of mpirun itself (one process
# under mpirun vs the plain command, same threads). Writes bench/RESULTS-mpi.md.
#   AV=build/attnviz bash bench/bench_mpi.sh
# Environment: RANKS (default "1 2"), REPEATS (default 2; runs alternate between modes),
# ITEMS (default 200 sentences for extract), PROJ_ITEMS (default 40 sentences: the run
# whose heads are projected), THREADS (default: the cores).
# Every mode uses the same cores: "1 process" gets THREADS threads, "N processes" get
# THREADS/N each (mpirun binds them, or attnviz divides the machine when unbound).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
AV=${AV:-$root/build/attnviz}
ranks=${RANKS:-1 2}
repeats=${REPEATS:-2}
items=${ITEMS:-200}
proj_items=${PROJ_ITEMS:-40}
threads=${THREADS:-$(nproc)}
model="$root/.deps/models/all-MiniLM-L6-v2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
head -n "$items" datasets/samples/sentences.txt >"$work/data.txt"
head -n "$proj_items" datasets/samples/sentences.txt >"$work/proj.txt"

# timed MODE CMD...: "wall cpu" seconds of the command and everything it started. MODE is
# "plain" (no mpirun) or the number of processes under mpirun.
timed() {
  local mode=$1; shift
  local cmd
  if [ "$mode" = plain ]; then cmd=(env OMP_NUM_THREADS="$threads" "$@")
  else
    local per=$((threads / mode)); [ $per -lt 1 ] && per=1
    cmd=(env OMP_NUM_THREADS="$per" mpirun -q -np "$mode" --oversubscribe --bind-to none -x OMP_NUM_THREADS "$@")
  fi
  /usr/bin/time -f '%e %U %S' -o "$work/t" "${cmd[@]}" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$work/t"
}
modes="plain"
for r in $ranks; do modes="$modes $r"; done

declare -A ext_wall ext_cpu proj_wall proj_cpu
# the run the projections read (its first layer's 12 heads)
OMP_NUM_THREADS=$threads "$AV" extract "$model" "$work/proj.txt" -o "$work/base" --quiet
ptokens=$(grep -o '"num_tokens":[[:space:]]*[0-9]*' "$work/base/manifest.json" | grep -o '[0-9]*$')
OMP_NUM_THREADS=$threads "$AV" extract "$model" "$work/data.txt" -o "$work/run" --quiet
tokens=$(grep -o '"num_tokens":[[:space:]]*[0-9]*' "$work/run/manifest.json" | grep -o '[0-9]*$')
heads="0:0,0:1,0:2,0:3,0:4,0:5,0:6,0:7,0:8,0:9,0:10,0:11"
nheads=12
iters=500
for rep in $(seq "$repeats"); do
  for m in $modes; do
    rm -rf "$work/run"
    read -r w c < <(timed "$m" "$AV" extract "$model" "$work/data.txt" -o "$work/run" --quiet)
    ext_wall[$m]="${ext_wall[$m]:-} $w"; ext_cpu[$m]="${ext_cpu[$m]:-} $c"
    rm -rf "$work/base/proj"
    read -r w c < <(timed "$m" "$AV" project "$work/base" --heads "$heads" --iters $iters --quiet)
    proj_wall[$m]="${proj_wall[$m]:-} $w"; proj_cpu[$m]="${proj_cpu[$m]:-} $c"
  done
done

best() { tr ' ' '\n' <<<"$1" | grep . | sort -g | head -n 1; }
name() { [ "$1" = plain ] && echo "1 process, no mpirun" || echo "mpirun -np $1"; }
out=bench/RESULTS-mpi.md
{
  echo "# One job over several processes (MPI)"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, no GPU; $(date -u +%Y-%m-%d);"
  echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (the cores are shared with other"
  echo "work, so wall times are noisy; CPU seconds are the steadier measure)."
  echo "Versions: $(mpirun --version | head -n 1), OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?')."
  echo "$threads threads in all for every mode (N processes: $threads/N threads each, --bind-to none)."
  echo "Best of $repeats alternated runs; the figures in brackets are every run."
  echo
  echo "extract: all-MiniLM-L6-v2 (6 layers x 12 heads), $items sentences, $tokens tokens,"
  echo "q/k f16, default batches. project: t-SNE 2-D of $nheads heads of $((2 * ptokens)) points ($proj_items sentences),"
  echo "$iters iterations each (a process runs heads of more than 2048 points one at a time with all"
  echo "its threads inside, smaller ones side by side, one thread each)."
  echo
  echo "| mode | extract wall s | extract tokens/s | extract CPU s | project wall s | project heads/s | project CPU s |"
  echo "|---|---|---|---|---|---|---|"
  for m in $modes; do
    ew=$(best "${ext_wall[$m]}"); ec=$(best "${ext_cpu[$m]}")
    pw=$(best "${proj_wall[$m]}"); pc=$(best "${proj_cpu[$m]}")
    printf '| %s | %s [%s ] | %.0f | %s [%s ] | %s [%s ] | %.2f | %s [%s ] |\n' "$(name "$m")" \
      "$ew" "${ext_wall[$m]}" "$(echo "$tokens / $ew" | bc -l)" "$ec" "${ext_cpu[$m]}" \
      "$pw" "${proj_wall[$m]}" "$(echo "$nheads / $pw" | bc -l)" "$pc" "${proj_cpu[$m]}"
  done
  echo
  echo "<!-- notes: written by hand below this line -->"
} >"$out.tmp"
# keep the hand-written notes of the previous file
if [ -f "$out" ] && grep -q '^<!-- notes' "$out"; then sed -n '/^<!-- notes/,$p' "$out" | tail -n +2 >>"$out.tmp"; fi
mv "$out.tmp" "$out"
cat "$out"
