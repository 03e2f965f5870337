#!/usr/bin/env bash
# The GPU run as one command that ends within 9 minutes on one H100 (docs/gpu.md): it
# builds what the run needs, then runs its steps in order, each under its own timeout and
# all within one time budget, and copies each step's evidence to $OUT the moment the
# step ends (a kill at the limit loses only the step in progress). On a bare GPU machine
# it takes what the image lacks from .gpu/ (scripts/gpu_bundle.sh); on a machine with the
# Debian packages of scripts/install.sh it uses those.
#   bash bench/gpu_run.sh [STEP ...]        (no step: the default run, all its steps)
# Steps of the default run, in order, with their own timeouts (seconds):
#   info     nvidia-smi -q and the card's name                                     20
#   build    configure and build attnviz, the gpu tests, the dev programs and
#            bench_tsne_gpu, for the card's architecture only (sm_90 on an H100);
#            then the device name as CUDA reports it (attnviz info --device)         240
#   test     ctest -L gpu --timeout 90: the ops (CPU vs CUDA) first, then the whole
#            models, then the projections                                           240
#   dev      every kernels/<op>/<op>_dev.cu program, timeout 60 each                  150
#   tsne     t-SNE of one 200k-point head (seconds, ms per iteration), then 16 heads
#            on the batch's streams, and the 144-head total scaled from them          200
#   extract  bench/bench_extract_gpu.sh MODELS=bert-base: attnviz extract f32 and
#            bf16 against PyTorch on the same card                                   180
#   viewer   bench/bench_viewer.sh through EGL on the card: matrix and single view at
#            1M points, then at 10M (rows kept as they come)                          90
# By name only (they do not fit the default run):
#   proj     bench/bench_tsne_gpu.sh PARTS="sizes others otsne" (t-SNE to 2M points,
#            kNN / PCA / UMAP at 200k, openTSNE from .gpu/wheels)
#   heads    bench/bench_tsne_gpu.sh PARTS=heads (all 144 heads of a 100k-token run)
#   live     build/bench_live_gpu: a live t-SNE of 200k points (20k quick) with a display
#            polling at 60 Hz on EGL: interop vs copy path vs no display (RESULTS-live.md)
# A step starts only when the budget still holds its minimum; its timeout is the smaller
# of its own and what the budget has left. Without a budget (no $OUT, no AV_GPU_BUDGET:
# a local build, scripts/gpu_bundle_check.sh) no step is cut short. Between steps, every GPU process this run
# left behind is ended by its PID. What did not run is named in the summary (printed
# last) with the command for a later run.
# Written ($OUT when set, else build/gpu-out): summary.txt, RESULTS-gpu.md (the summary
# and one section per step, rewritten after each step), info.txt, nvidia-smi.txt,
# device.txt, build.log, ctest.log, dev.txt (appended per program), tsne.txt,
# RESULTS-gpu-extract.md, extract.log, viewer.txt, <step>.log; logs.tar.gz at the end.
# On a GPU machine bench/RESULTS-gpu.md (and -extract.md) are written too.
# Environment:
#   AV_GPU_BUDGET    seconds for the whole run (default 480 when $OUT is set, else none)
#   AV_GPU_DRY_RUN=1 no GPU needed: every step's command is replaced by a stand-in that
#                    says what it would run, so the steps, timeouts, budget, cleanup and
#                    evidence can be checked anywhere; step timeouts and minimums are a
#                    fifth (AV_GPU_DRY_SLEEP=STEP:SECONDS,... makes stand-ins take that
#                    long; each also leaves a process behind, standing for a GPU process,
#                    for the cleanup to end)
#   BENCH_QUICK=1    smallest sizes (extract 64 items, tsne 20k points and 4 heads; proj
#                    and heads as bench_tsne_gpu.sh's quick mode)
#   AV_BUILD         build folder (default build)
#   AV_CMAKE_ARGS    extra cmake arguments (e.g. -DAV_CUDA=OFF to check the bundle here)
#   CUDA_ARCHS       the CUDA architectures (default: the card's; 90 without a card)
#   AV_GPU_BUNDLE    auto (default): the Debian packages of scripts/install.sh when they
#                    are installed, else .gpu/bundle.tar.xz; a path: that bundle; none:
#                    the system's packages only
# Exit status: 0 when every step asked for passed, 1 when one failed, timed out or was
# left out (also when there is no NVIDIA GPU for a step that needs one), 2 on a bad
# argument.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
self="$root/bench/gpu_run.sh"
default_steps=(info build test dev tsne extract viewer)
named_steps=(proj heads live)
build=${AV_BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
prefix="$build/gpu-prefix"
logs="$build/gpu-logs"
bundle=${AV_GPU_BUNDLE:-auto}
wheels="$root/.gpu/wheels"
quick=${BENCH_QUICK:-0}
dry=${AV_GPU_DRY_RUN:-0}

usage() {
  sed -n '2,/^set -uo/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'
}

# cap STEP, min STEP: the step's own timeout, and the least budget it starts with (a dry
# run's are a fifth: its stand-ins take seconds, so the whole flow is checked in a minute).
scaled() { if [ "$dry" = 1 ]; then echo $(($1 / 5)); else echo "$1"; fi; }
cap() {
  case "$1" in info) scaled 20 ;; build) scaled 240 ;; test) scaled 240 ;; dev) scaled 150 ;; tsne) scaled 200 ;;
    extract) scaled 180 ;; viewer) scaled 90 ;; proj|heads) scaled 540 ;; live) scaled 300 ;; esac
}
min() {
  case "$1" in info) scaled 5 ;; build) scaled 60 ;; test) scaled 60 ;; dev) scaled 30 ;; tsne) scaled 60 ;;
    extract) scaled 60 ;; viewer) scaled 30 ;; proj|heads) scaled 120 ;; live) scaled 60 ;; esac
}
# Seconds the summary and the last copies need after the last step.
reserve=$(scaled 10)

# ---- environment: the bundle, the cmake arguments, the wheels ------------------------
# Unpacks the bundle into build/gpu-prefix (once per archive: tar keeps the files' times,
# so a re-unpack never makes ninja rebuild). Sets cmake_args and exports what the
# build needs.
setup_env() {
  cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  use_bundle=0
  if [ "$bundle" = auto ]; then
    # The system's packages where scripts/install.sh put them, else the bundle when it
    # was carried.
    bundle=none
    if ! { pkg-config --exists openblas libcjson glfw3 fftw3 2>/dev/null && [ -f /usr/include/utf8proc.h ] \
           && [ -f /usr/lib/x86_64-linux-gnu/libfaiss.a ] && [ -f "$root/.deps/faiss_c/lib/libfaiss_c.a" ]; }; then
      [ -f "$root/.gpu/bundle.tar.xz" ] && bundle="$root/.gpu/bundle.tar.xz"
    fi
  fi
  if [ "$bundle" != none ] && [ ! -f "$bundle" ]; then
    echo "gpu_run: AV_GPU_BUNDLE=$bundle: no such file"; return 1
  fi
  if [ "$bundle" != none ]; then
    use_bundle=1
    local sum
    sum=$(cksum < "$bundle")
    if [ ! -f "$prefix/.unpacked" ] || [ "$(cat "$prefix/.unpacked")" != "$sum" ]; then
      rm -rf "$prefix"; mkdir -p "$prefix"
      # python3's lzma where the image has no xz (tar -J needs the xz program).
      if xz --version >/dev/null 2>&1; then
        tar -C "$prefix" -xJf "$bundle"
      else
        python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$bundle" | tar -C "$prefix" -xf -
      fi || { echo "gpu_run: $bundle: cannot unpack"; rm -rf "$prefix"; return 1; }
      echo "$sum" > "$prefix/.unpacked"
    fi
    # Only the bundle's .pc files, through the bundle's own pkgconf (the image may have
    # no pkg-config); the bundle's libraries first for the linker and, through an RPATH
    # (not RUNPATH, so that libopenblas finds its libgfortran too), for every binary.
    export PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" PKG_CONFIG_PATH=""
    cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix" -DAV_DEPS="$prefix"
                 -DPKG_CONFIG_EXECUTABLE="$prefix/bin/pkg-config"
                 "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$prefix/lib -Wl,-rpath,$prefix/lib -Wl,--disable-new-dtags")
  fi
  # nvcc where CUDA images keep it, when the PATH lacks it (cmake looks on the PATH).
  if ! command -v nvcc >/dev/null; then
    local d
    for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do
      [ -x "$d/nvcc" ] && { export PATH="$d:$PATH"; break; }
    done
  fi
  local archs=${CUDA_ARCHS:-}
  if [ -z "$archs" ]; then
    # Only the card at hand: half the nvcc time of two architectures.
    archs=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
    [ -n "$archs" ] || archs=90
  fi
  cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES="$archs")
  # shellcheck disable=SC2206
  [ -n "${AV_CMAKE_ARGS:-}" ] && cmake_args+=(${AV_CMAKE_ARGS})
  export AV_USE_BUNDLE=$use_bundle
  return 0
}

# setup_wheels: installs .gpu/wheels (openTSNE, umap-learn, pynndescent: step proj's
# peers) into build/gpu-site for python3, once per set of wheels. A failure is a warning.
setup_wheels() {
  [ -d "$wheels" ] && ls "$wheels"/*.whl >/dev/null 2>&1 || return 0
  python3 -c 'import openTSNE, umap' >/dev/null 2>&1 && return 0
  local site="$build/gpu-site" list
  list=$(cd "$wheels" && ls *.whl | tr '\n' ' ')
  if [ ! -f "$site/.installed" ] || [ "$(cat "$site/.installed")" != "$list" ]; then
    rm -rf "$site"; mkdir -p "$site"
    if ! python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
         --target "$site" "$wheels"/*.whl > "$logs/pip.log" 2>&1; then
      echo "gpu_run: warning: pip could not install $wheels: $(grep -m1 ERROR "$logs/pip.log" | cut -c1-200)"
      rm -rf "$site"; return 0
    fi
    echo "$list" > "$site/.installed"
  fi
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
}

# ---- building ----------------------------------------------------------------------
# configure: runs cmake when build/ has never been configured or the arguments changed.
# gcc newer than Debian's may warn where gcc 12 did not: with -Werror the build would
# stop, so a failed build whose errors are all promoted warnings is retried once with
# -Wno-error, and the step says so (build/gpu-logs/werror.txt names the warnings).
configure() {
  local want extra=()
  [ -f "$logs/werror.txt" ] && extra=(-DCMAKE_C_FLAGS=-Wno-error)
  want=$(printf '%s\n' "${cmake_args[@]}" "${extra[@]}")
  if [ -f "$build/CMakeCache.txt" ] && [ -f "$build/gpu-configure.args" ] && [ "$(cat "$build/gpu-configure.args")" = "$want" ]; then
    return 0
  fi
  local gen=()
  if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then gen=(-G Ninja); fi
  mkdir -p "$build"
  if ! cmake -S "$root" -B "$build" "${gen[@]}" "${cmake_args[@]}" "${extra[@]}" > "$logs/configure.log" 2>&1; then
    grep -E 'CMake Error|Could NOT|not found|REQUIRED' "$logs/configure.log" | head -8
    echo "gpu_run: cmake failed (log: $logs/configure.log; is .gpu/ carried, or are the Debian packages there?)"
    return 1
  fi
  printf '%s\n' "$want" > "$build/gpu-configure.args"
}

# build_targets [TARGET ...]: configure, then build the targets (all when none).
build_targets() {
  configure || return 1
  local t=() x
  for x in "$@"; do t+=(--target "$x"); done
  if cmake --build "$build" -j"$(nproc)" "${t[@]}" > "$logs/build.log" 2>&1; then return 0; fi
  if [ ! -f "$logs/werror.txt" ] && grep -q -- '-Werror=' "$logs/build.log" \
     && ! grep -E 'error:' "$logs/build.log" | grep -qv -- '-Werror='; then
    grep -o -- '\[-Werror=[a-z0-9=-]*\]' "$logs/build.log" | sort | uniq -c > "$logs/werror.txt"
    echo "gpu_run: this compiler turns new warnings into errors ($(tr -s ' \n' ' ' < "$logs/werror.txt")); rebuilding with -Wno-error"
    configure && cmake --build "$build" -j"$(nproc)" "${t[@]}" > "$logs/build.log" 2>&1 && return 0
  fi
  grep -E 'error|Error' "$logs/build.log" | head -20
  echo "gpu_run: build failed (log: $logs/build.log)"
  return 1
}

names_of() {   # names_of GLOB PREFIX: target names of the files matching GLOB
  local f
  for f in $1; do [ -e "$f" ] && { f=${f##*/}; f=${f%.*}; echo "$2${f%_dev}"; }; done
}

# The targets the default run needs: nothing else is compiled (the dev programs exist
# only in a configured build with CUDA).
run_targets() {
  # test_backend_ops: every op on every backend (ctest's gpu_backend_ops)
  echo attnviz bench_tsne_gpu test_backend_ops
  names_of "$root/tests/gpu_*.c" ""
  grep -qE '^CMAKE_CUDA_COMPILER:[A-Z]*=/' "$build/CMakeCache.txt" 2>/dev/null && names_of "$root/kernels/*/*_dev.cu" dev_
}

cuda_built() { [ -x "$build/dev_matmul" ]; }

# ---- the steps (each runs as its own process: bash gpu_run.sh --step NAME) ---------
# A step writes its evidence into $out as it goes, its section of RESULTS-gpu.md into
# $logs/NAME.md and its summary row into $logs/NAME.line; exit status 0 = passed.
header() {
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
       "BENCH_QUICK=$quick, $([ "${AV_USE_BUNDLE:-0}" = 1 ] && echo 'libraries from .gpu/bundle.tar.xz' || echo 'system libraries')."
  echo
}

fence() { echo '```'; cat "$1" 2>/dev/null; echo '```'; }

step_info() {
  nvidia-smi -q > "$out/nvidia-smi.txt" 2>&1 || { echo "nvidia-smi -q failed" > "$line"; return 1; }
  { echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader | head -1)"
    echo "CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g 2>/dev/null | awk '/^Mem:/ {print $2}') GiB"
    echo "nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p'), $(gcc --version 2>/dev/null | head -1), $(cmake --version 2>/dev/null | head -1)"
    echo "python3 $(python3 -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null || echo '(no torch)')"
  } > "$out/info.txt"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1 > "$line"
  { echo "## The machine"; echo; header; fence "$out/info.txt"; } > "$md"
}

step_build() {
  # shellcheck disable=SC2046
  if ! { configure && build_targets $(run_targets); }; then
    cp "$logs/build.log" "$out/build.log" 2>/dev/null
    echo "build failed: $(grep -m1 -E 'error|Error' "$logs/build.log" "$logs/configure.log" 2>/dev/null | cut -c1-150)" > "$line"
    return 1
  fi
  cp "$logs/build.log" "$out/build.log"
  "$build/attnviz" info --device > "$out/device.txt" 2>&1
  local st=0
  if cuda_built; then
    echo "CUDA archs $(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$build/CMakeCache.txt"); $(cat "$out/device.txt")" > "$line"
  elif [[ " ${AV_CMAKE_ARGS:-} " == *" -DAV_CUDA=OFF "* ]]; then
    echo "CPU only (AV_CUDA=OFF)" > "$line"
  else
    echo "no CUDA backend: cmake found no nvcc" > "$line"; st=1
  fi
  [ -f "$logs/werror.txt" ] && echo "$(cat "$line"); -Wno-error: $(tr -s ' \n' ' ' < "$logs/werror.txt")" > "$line"
  { echo "## Build"; echo; header; echo "$(cat "$line")"
    [ "$AV_USE_BUNDLE" = 1 ] && { echo; echo "Libraries of build/attnviz outside the bundle (ldd):"; echo; echo '```'
      ldd "$build/attnviz" | grep -v "$prefix" | sed 's/ (0x[0-9a-f]*)//'; echo '```'; }
  } > "$md"
  return $st
}

step_test() {
  local log="$out/ctest.log" st=0 group
  : > "$log"
  # the ops first, then whole models, then the projections: a failure early says most
  for group in 'gpu_(backend_ops|cuda_backend)' 'gpu_forward' 'gpu_(knn|pca|tsne|umap)'; do
    echo "== ctest -L gpu -R '$group'" >> "$log"
    ctest --test-dir "$build" -L gpu -R "$group" --timeout 90 --output-on-failure -V >> "$log" 2>&1 || st=1
  done
  # On a GPU machine a skipped gpu test means the device was not usable: a failure here.
  grep -q 'Skipped' "$log" && st=1
  local pass fail skip
  pass=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log")
  fail=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(Failed|Exception|Timeout|Not Run)' "$log" | sed -E 's/.*Test +#[0-9]+: ([a-z_0-9]+).*/\1/' | tr '\n' ' ')
  skip=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*Skipped' "$log" | sed -E 's/.*Test +#[0-9]+: ([a-z_0-9]+).*/\1/' | tr '\n' ' ')
  echo "$pass passed${fail:+; failed: $fail}${skip:+; skipped: $skip}" > "$line"
  { echo "## Tests (ctest -L gpu)"; echo; header; echo '```'
    grep -E '^[0-9]+: (  |device|SKIP|gpu_)|CHECK failed|tests passed|tests failed|Passed|Failed|Not Run|Skipped' "$log" \
      | sed 's/^[0-9]*: //'
    echo '```'; } > "$md"
  return $st
}

step_dev() {
  local prog name ok=0 bad="" rc st=0
  : > "$out/dev.txt"
  for prog in "$build"/dev_*; do
    [ -x "$prog" ] || continue
    name=$(basename "$prog")
    echo "### $name" >> "$out/dev.txt"
    rc=0
    timeout -k 5 60 "$prog" >> "$out/dev.txt" 2>&1 || rc=$?
    if [ $rc = 0 ]; then ok=$((ok + 1)); else st=1; bad="$bad $name"; echo "FAILED (exit $rc)" >> "$out/dev.txt"; fi
    echo >> "$out/dev.txt"
  done
  echo "$ok programs checked out${bad:+; failed:$bad}" > "$line"
  { echo "## Kernel variants (kernels/<op>/<op>_dev.cu)"; echo; header; fence "$out/dev.txt"; } > "$md"
  return $st
}

step_tsne() {
  local t=100000 h=16 st=0 tmp
  [ "$quick" = 1 ] && { t=10000; h=4; }
  tmp=$(mktemp -d)
  : > "$out/tsne.txt"
  { echo "== one head of $((2 * t)) points"; "$build/bench_tsne_gpu" sizes "$tmp" "$t"; } >> "$out/tsne.txt" 2>&1 || st=1
  rm -rf "$tmp"
  if [ $st = 0 ]; then
    { echo "== $h heads of $((2 * t)) points on the batch's streams"; "$build/bench_tsne_gpu" heads "$h" "$t"; } >> "$out/tsne.txt" 2>&1 || st=1
  fi
  local per ms total
  per=$(awk '$1 ~ /^[0-9]+$/ && NF == 6 {print $2 " s, " $6 " ms/iteration"}' "$out/tsne.txt" | head -1)
  total=$(sed -n 's/.* points: \([0-9.]*\) s in all.*/\1/p' "$out/tsne.txt" | head -1)
  if [ -n "$total" ]; then
    ms=$(awk -v s="$total" -v h="$h" 'BEGIN { printf "%.1f", s * 144 / h / 60 }')
    echo "144 heads estimated from $h (x $((144 / h))): $ms min" >> "$out/tsne.txt"
  fi
  echo "one head: ${per:-failed}; $h heads: ${total:-failed} s${ms:+; 144 heads ~ $ms min}" > "$line"
  { echo "## t-SNE (bench_tsne_gpu: one head, then $h heads at once)"; echo; header
    echo "Measured by \`bash bench/gpu_run.sh tsne\`; the 144-head figure is the $h-head time x $((144 / h)), an estimate."
    echo; fence "$out/tsne.txt"; } > "$md"
  return $st
}

step_extract() {
  local st=0
  if AV="$build/attnviz" MODELS=bert-base AUTO=0 bash "$root/bench/bench_extract_gpu.sh" > "$out/extract.log" 2>&1 \
     && ! grep -q 'SKIP' "$out/extract.log" && ! grep -q 'failed' "$out/extract.log"; then
    cp "$root/bench/RESULTS-gpu-extract.md" "$out/"
    echo "$(grep -E '^\| bert' "$root/bench/RESULTS-gpu-extract.md" | awk -F'|' '{gsub(/ /, "", $3); gsub(/ /, "", $10); printf "%s %s; ", $3, $10}')(batches / torch+q/k)" > "$line"
    { echo "## Extraction"; echo; header; sed '1{/^## /d}' "$root/bench/RESULTS-gpu-extract.md"; } > "$md"
  else
    st=1
    echo "failed: $(grep -E 'bench_extract_gpu:' "$out/extract.log" | tail -1 | cut -c1-150)" > "$line"
    { echo "## Extraction"; echo; header; echo "Failed:"; echo; echo '```'; tail -n 20 "$out/extract.log"; echo '```'; } > "$md"
  fi
  return $st
}

step_viewer() {
  # bench/bench_viewer.sh's figures at 1M and 10M points, printed row by row into
  # viewer.txt (a timeout keeps the rows done); the 144-head load run is left out
  local tmp st=0
  tmp=$(mktemp -d)
  SIZES="1000000 10000000" LOAD=0 PYTHON=python3 bash "$root/bench/bench_viewer.sh" "$build/attnviz" "" "$tmp" \
    > "$out/viewer.txt" 2>&1 || st=1
  rm -rf "$tmp"
  grep -q '| new | [^f]' "$out/viewer.txt" && ! grep -q 'failed' "$out/viewer.txt" || st=1
  if [ $st = 0 ]; then
    awk -F'|' '/\| new \|/ { gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $7); gsub(/ /, "", $8)
                             printf "%s %s: full %s ms, hover %s ms; ", $2, $3, $7, $8 }' "$out/viewer.txt" > "$line"
  else
    echo "not measured: $(grep -m1 -iE 'failed|egl|error|cannot' "$out/viewer.txt" | cut -c1-150)" > "$line"
  fi
  { echo "## Viewer frame times (bench/bench_viewer.sh, attnviz render through EGL on the card)"; echo; header
    fence "$out/viewer.txt"; } > "$md"
  return $st
}

step_proj() {
  setup_wheels
  local parts="sizes others otsne"
  [ "$1" = heads ] && parts=heads
  PARTS=$parts bash "$root/bench/bench_tsne_gpu.sh" "$build" > "$out/$1.txt" 2>&1
  local st=$?
  cp "$root/bench/RESULTS-gpu-projections.md" "$out/" 2>/dev/null
  echo "$(grep -hE 'heads x|GPU exact|PCA 3|UMAP 200|^ *[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+' "$out/$1.txt" | awk '{$1=$1; print}' | head -8 | tr '\n' ';' | cut -c1-300)" > "$line"
  [ $st = 0 ] || echo "failed: $(tail -1 "$out/$1.txt" | cut -c1-150)" > "$line"
  { echo "## Projections ($1)"; echo; header; echo "bench/bench_tsne_gpu.sh PARTS=\"$parts\": RESULTS-gpu-projections.md."; } > "$md"
  return $st
}

step_live() {
  build_targets bench_live_gpu || { echo "build failed" > "$line"; return 1; }
  local st=0
  if [ "$quick" = 1 ]; then "$build/bench_live_gpu" 20000 300 > "$out/live.txt" 2>&1 || st=$?
  else "$build/bench_live_gpu" 200000 500 > "$out/live.txt" 2>&1 || st=$?; fi
  grep -E '^(no display|copy|interop) ' "$out/live.txt" | awk '{printf "%s%s %s s %s it/s %s ms/frame", NR > 1 ? "; " : "", $1 == "no" ? "off" : $1, $(NF-3), $(NF-2), $NF}' > "$line"
  [ $st = 0 ] || echo "exit $st: $(grep -m1 -E 'impossible|failed|SKIP' "$out/live.txt" | cut -c1-120); $(cat "$line")" > "$line"
  { echo "## Live t-SNE with a display (bench_live_gpu, EGL on the card)"; echo; header; fence "$out/live.txt"; } > "$md"
  [ $st = 0 ]
}

# In a dry run, what the step would run, and a process left behind standing for a GPU
# process (its PID where a real run reads nvidia-smi's list).
dry_step() {
  local s=$1 secs=0 spec
  for spec in $(echo "${AV_GPU_DRY_SLEEP:-}" | tr ',' ' '); do
    [ "${spec%%:*}" = "$s" ] && secs=${spec#*:}
  done
  echo "dry run: step $s would run here (stand-in: ${secs} s)" | tee "$out/$s.txt"
  sleep 1000 & echo $! >> "$logs/dry-gpu-pids"
  sleep "$secs"
  echo "dry run ($secs s)" > "$line"
  { echo "## Step $s (dry run)"; echo; echo "A stand-in ran: no GPU."; } > "$md"
}

one_step() {
  local s=$1
  out=$AV_OUT_DIR md="$logs/$s.md" line="$logs/$s.line"
  if [ "$dry" = 1 ]; then dry_step "$s"; return; fi
  case "$s" in
    info) step_info ;; build) step_build ;; test) step_test ;; dev) step_dev ;; tsne) step_tsne ;;
    extract) step_extract ;; viewer) step_viewer ;; proj|heads) step_proj "$s" ;; live) step_live ;;
  esac
}

# ---- between steps -------------------------------------------------------------------
# PIDs of the GPU's compute processes: nvidia-smi's list, and the processes holding a
# /dev/nvidia* device open (inside a container nvidia-smi may list the host's PIDs). A
# dry run: the stand-ins' left-behind processes.
gpu_pids() {
  if [ "$dry" = 1 ]; then cat "$logs/dry-gpu-pids" 2>/dev/null; rm -f "$logs/dry-gpu-pids"; return; fi
  {
    nvidia-smi --query-compute-apps=pid --format=csv,noheader 2>/dev/null | tr -d ' '
    local fd
    for fd in /proc/[0-9]*/fd/*; do
      case "$(readlink "$fd" 2>/dev/null)" in /dev/nvidia[0-9]*) fd=${fd#/proc/}; echo "${fd%%/*}" ;; esac
    done
  } | grep -E '^[0-9]+$' | sort -u
}

# The session of a process (/proc/PID/stat: the fourth field after the command's ")").
sid_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $4}'; }

# Ends, by PID, every GPU process of this run's session still alive after a step (a test
# binary ctest could not stop, a benchmark timeout left orphaned) and says so.
end_left_behind() {
  local pid sid mine ended=""
  mine=$(sid_of $$)
  for pid in $(gpu_pids); do
    [ "$pid" = $$ ] && continue
    sid=$(sid_of "$pid")
    [ -n "$sid" ] && [ "$sid" = "$mine" ] || continue
    ended="$ended $pid($(cat "/proc/$pid/comm" 2>/dev/null))"
    kill -TERM "$pid" 2>/dev/null
  done
  [ -n "$ended" ] || return 0
  sleep 2
  for pid in $(echo "$ended" | grep -oE '[0-9]+\(' | tr -d '('); do
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  echo "ended GPU processes left behind by step $1:$ended" | tee -a "$OUT_DIR/cleanup.txt"
}

# ---- the record: summary.txt and RESULTS-gpu.md, rewritten after every step ----------
write_record() {
  {
    echo
    echo "gpu_run summary: $(cat "$OUT_DIR/device.txt" 2>/dev/null || nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo 'no GPU');"\
         "driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1 || echo none);"\
         "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); BENCH_QUICK=$quick;"\
         "budget ${budget} s, $(( $(date +%s) - t0 )) s used$([ "$dry" = 1 ] && echo '; DRY RUN')"
    printf '%-8s %-8s %6s  %s\n' step status seconds result
    printf '%s\n' "${rows[@]}"
    local left
    left=$(printf '%s\n' "${rows[@]}" | awk '$2 == "skipped" || $2 == "TIMEOUT" || $2 == "pending" {printf " %s", $1}')
    [ -n "$left" ] && echo "not done in this run:$left; a later run: $([ "$quick" = 1 ] && echo 'BENCH_QUICK=1 ')bash bench/gpu_run.sh$left"
    [ -s "$OUT_DIR/cleanup.txt" ] && cat "$OUT_DIR/cleanup.txt"
    local s
    for s in "${steps[@]}"; do
      if printf '%s\n' "${rows[@]}" | grep -qE "^$s +(FAIL|TIMEOUT)"; then
        echo; echo "-- $s: what went wrong"
        case "$s" in
          test) grep -E 'CHECK failed|SKIP|\*\*\*' "$OUT_DIR/ctest.log" 2>/dev/null | head -15 ;;
          dev) grep -E -B3 '^FAILED' "$OUT_DIR/dev.txt" 2>/dev/null | head -20 ;;
          *) ;;
        esac
        tail -n 4 "$OUT_DIR/$s.log" 2>/dev/null
      fi
    done
  } > "$OUT_DIR/summary.txt"
  {
    echo "# attnviz on the GPU"
    echo
    echo "Written by \`bash bench/gpu_run.sh\` (docs/gpu.md) in one run; device as CUDA names it:"
    echo "$(cat "$OUT_DIR/device.txt" 2>/dev/null || echo 'not known (the build step did not finish)')."
    echo
    echo '```'; sed '1{/^$/d}' "$OUT_DIR/summary.txt"; echo '```'
    echo
    for s in "${steps[@]}"; do
      if [ -s "$logs/$s.md" ]; then cat "$logs/$s.md"; echo; fi
    done
  } > "$OUT_DIR/RESULTS-gpu.md.tmp"
  mv "$OUT_DIR/RESULTS-gpu.md.tmp" "$OUT_DIR/RESULTS-gpu.md"
}

# ---- main ----------------------------------------------------------------------------
if [ "${1:-}" = "--step" ]; then   # internal: one step in its own process
  [ "$dry" = 1 ] || setup_env > /dev/null || exit 1
  one_step "$2"
  exit $?
fi
steps=()
for a in "$@"; do
  case "$a" in
    -h|--help) usage; exit 0 ;;
    info|build|test|dev|tsne|extract|viewer|proj|heads|live) steps+=("$a") ;;
    *) echo "gpu_run: unknown step '$a' (steps: ${default_steps[*]}; by name: ${named_steps[*]}; --help)"; exit 2 ;;
  esac
done
[ ${#steps[@]} -gt 0 ] || steps=("${default_steps[@]}")
case "$quick" in 0|1) ;; *) echo "gpu_run: BENCH_QUICK must be 0 or 1, not '$quick'"; exit 2 ;; esac
case "$dry" in 0|1) ;; *) echo "gpu_run: AV_GPU_DRY_RUN must be 0 or 1, not '$dry'"; exit 2 ;; esac
budget=${AV_GPU_BUDGET:-}
[ -n "$budget" ] || { [ -n "${OUT:-}" ] && budget=480 || budget=0; }
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "gpu_run: AV_GPU_BUDGET must be whole seconds, not '$budget'"; exit 2; }
need_gpu=""
for s in "${steps[@]}"; do [ "$s" = build ] || need_gpu="$need_gpu $s"; done
if [ "$dry" = 0 ] && [ -n "$need_gpu" ] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_run: no NVIDIA GPU here (nvidia-smi failed): step(s)$need_gpu need one; only 'build' runs without a GPU (AV_GPU_DRY_RUN=1 checks the steps)"
  exit 1
fi
if [ "$dry" = 0 ]; then setup_env || exit 1; fi
mkdir -p "$logs"
OUT_DIR=${OUT:-$build/gpu-out}
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR/cleanup.txt" "$logs/dry-gpu-pids" "$OUT_DIR/device.txt"
for s in "${steps[@]}"; do rm -f "$logs/$s.md" "$logs/$s.line"; done
export AV_OUT_DIR="$OUT_DIR"
[ "$dry" = 1 ] && echo "gpu_run: dry run: no GPU needed, every step's command replaced by a stand-in"
t0=$(date +%s)
rows=()
for s in "${steps[@]}"; do rows+=("$(printf '%-8s %-8s %6s  %s' "$s" pending - '')"); done
overall=0
i=0
for s in "${steps[@]}"; do
  now=$(date +%s)
  limit=0   # without a budget (a local build, the bundle check) no step is cut short
  if [ "$budget" -gt 0 ]; then
    limit=$(cap "$s")
    left=$((budget - (now - t0) - reserve))
    [ "$left" -lt "$limit" ] && limit=$left
  fi
  if [ "$budget" -gt 0 ] && [ "$limit" -lt "$(min "$s")" ]; then
    [ "$limit" -lt 0 ] && limit=0
    rows[$i]=$(printf '%-8s %-8s %6s  %s' "$s" skipped - "needs $(min "$s") s, $limit s of the budget left")
    overall=1; i=$((i + 1)); write_record; continue
  fi
  if [ "$s" != build ] && [ "$s" != info ] && [ "$dry" = 0 ] && ! cuda_built; then
    rows[$i]=$(printf '%-8s %-8s %6s  %s' "$s" skipped - "no CUDA build (run the build step)")
    overall=1; i=$((i + 1)); write_record; continue
  fi
  echo "== $s ($(date -u +%H:%M:%S)$([ "$limit" -gt 0 ] && echo ", up to $limit s"))"
  timeout -k 5 "$limit" bash "$self" --step "$s" > "$logs/$s.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - now ))
  cp "$logs/$s.log" "$OUT_DIR/$s.log"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    st=TIMEOUT; echo "stopped after $secs s (its limit: $limit s)" > "$logs/$s.line"
    [ -s "$logs/$s.md" ] || { echo "## Step $s"; echo; echo "Stopped after $secs s, at its limit of $limit s."; } > "$logs/$s.md"
  elif [ "$rc" = 0 ]; then st=ok; else st=FAIL; fi
  [ "$rc" = 0 ] || overall=1
  [ -s "$logs/$s.line" ] || tail -1 "$logs/$s.log" 2>/dev/null | cut -c1-150 > "$logs/$s.line"
  end_left_behind "$s"
  rows[$i]=$(printf '%-8s %-8s %6s  %s' "$s" "$st" "$secs" "$(cat "$logs/$s.line")")
  i=$((i + 1))
  write_record
  if [ "$dry" = 0 ] && nvidia-smi -L >/dev/null 2>&1; then
    cp "$OUT_DIR/RESULTS-gpu.md" "$root/bench/RESULTS-gpu.md"
  fi
  [ "$s" = build ] && [ "$rc" != 0 ] && [ ${#steps[@]} -gt 1 ] && echo "gpu_run: the build failed: the steps after it need it"
done
tar -C "$build" -czf "$OUT_DIR/logs.tar.gz" gpu-logs 2>/dev/null
echo "(written to $OUT_DIR: $(cd "$OUT_DIR" && ls | tr '\n' ' '))" >> "$OUT_DIR/summary.txt"
cat "$OUT_DIR/summary.txt"
exit $overall
