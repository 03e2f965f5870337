#!/usr/bin/env bash
# cli_layers.sh - keeps docs/architecture.md true: every `#include "..."` of our sources
# stays within its layer or below (base -> kernels -> datasets, models -> engine -> viewer
# -> cli), nothing outside cli/ and tests/ includes a cli/ header, and the library layers
# never print to stdout/stderr, install signal handlers, parse argv or exit: those are the
# CLI's (cli/console.c, cli/signals.c, cli/options.h). Each violation is printed as
# "file:line: what". Environment (tests/CMakeLists.txt): $AV_SRC the source root.
set -u
cd "$AV_SRC" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# the layers a folder's files may include (besides the C library and system headers)
allowed() {
  case $1 in
    base) echo "base" ;;
    kernels) echo "kernels base" ;;
    datasets) echo "datasets base" ;;
    models) echo "models kernels base" ;;
    engine) echo "engine datasets models kernels base" ;;
    viewer) echo "viewer engine datasets models kernels base" ;;
    cli) echo "cli viewer engine datasets models kernels base" ;;
    tests) echo "tests cli viewer engine datasets models kernels base" ;;
    bench) echo "viewer engine datasets models kernels base" ;;
  esac
}

layers="base kernels datasets models engine viewer cli"
sources() { find "$@" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' -o -name '*.cpp' \) | sort; }

# ---- includes ---------------------------------------------------------------------------
checked=0 before=$fails
for f in $(sources $layers tests bench); do
  top=${f%%/*}
  ok=" $(allowed "$top") "
  while IFS=: read -r line inc; do
    target=${inc%%/*}
    if [ "$target" = "$inc" ]; then
      fail "$f:$line: #include \"$inc\" names no layer folder (write it from the source root)"
    elif [[ " $layers tests " == *" $target "* ]] && [[ "$ok" != *" $target "* ]]; then
      fail "$f:$line: #include \"$inc\": $top/ may not include $target/ (docs/architecture.md)"
    fi
    checked=$((checked + 1))
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed -E 's/^([0-9]+):[^"]*"([^"]*)".*/\1:\2/')
done
[ $checked -gt 300 ] || fail "only $checked include lines found: is the tree where this script looks?"
[ $fails -eq $before ] && echo "ok   includes: $checked lines checked"

# ---- what only the CLI does ---------------------------------------------------------------
# Code with comments and string literals removed, so a comment may name stderr. Left out,
# because they are programs of their own, not library code: the llm.c-style variant
# programs kernels/<op>/<op>_dev.cu and their kernels/backend/dev_common.cuh (each prints
# its benchmark table and exits on a CUDA error), and the emulation program: its case
# files kernels/<op>/<op>_emu.cpp, kernels/emu/*.cpp and emu_check.h (they print their
# checks; run by tests/cli_cuda_emu.sh).
strip() {
  perl -0777 -pe 's{/\*.*?\*/}{ my $c = $&; $c =~ s/[^\n]//g; $c }gse; s{//[^\n]*}{}g; s{"(?:\\.|[^"\\\n])*"}{""}g' "$1"
}
banned='\b(stdout|stderr)\b|\b(printf|vprintf|puts|putchar|perror|sigaction|signal|getopt|getopt_long|exit|_exit|abort)[[:space:]]*\(|\bwrite[[:space:]]*\([[:space:]]*[12][[:space:]]*,'
nlib=0 before=$fails
for f in $(sources base kernels datasets models engine viewer); do
  case $f in
    kernels/*/*_dev.cu | kernels/backend/dev_common.cuh | kernels/*/*_emu.cpp | kernels/emu/*.cpp | \
      kernels/emu/emu_check.h) continue ;;
  esac
  nlib=$((nlib + 1))
  while IFS= read -r hit; do
    fail "$f:${hit%%:*}: ${hit#*:} (library code reports through engine/context.h or av_fail)"
  done < <(strip "$f" | grep -nE "$banned" | sed -E 's/[[:space:]]+/ /g')
done
[ $nlib -gt 100 ] || fail "only $nlib library files found"
[ $fails -eq $before ] && echo "ok   library layers: $nlib files print nothing, catch no signal, parse no argv, never exit"

[ $fails -eq 0 ] && echo "cli_layers: all passed" || echo "cli_layers: $fails failed"
exit $((fails > 0))
