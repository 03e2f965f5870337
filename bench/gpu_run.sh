#!/usr/bin/env bash
# The GPU run, in stages that each fit one call of the device tool (10 minutes; see
# docs/gpu.md for the exact calls). On a bare GPU machine it takes what the image lacks
# from .gpu/ (made here by scripts/gpu_bundle.sh, carried there); on a machine with the
# Debian packages of scripts/install.sh it uses those.
#   bash bench/gpu_run.sh [STAGE ...]          (no stage = all)
#   build    configure (ninja when present) and build everything into build/; CUDA
#            archs = the GPU's compute capability, 80;90 without a GPU
#   test     ctest -L gpu (every op, whole models, kNN, PCA, t-SNE, UMAP: CPU vs CUDA)
#   dev      every kernels/<op>/<op>_dev.cu program (variants checked against the CPU, timed)
#   extract  bench/bench_extract_gpu.sh (attnviz extract vs transformers, f32 and bf16)
#   proj     bench/bench_tsne_gpu.sh PARTS="sizes others otsne" (t-SNE per size, kNN,
#            PCA, UMAP, openTSNE peer)
#   heads    bench/bench_tsne_gpu.sh PARTS=heads (144 heads of 200k points: the < 10 min goal)
#   viewer   bench/bench_viewer.sh (frame times of the viewer drawn headless through EGL on
#            the card, 1M to 28.8M points; section of RESULTS-gpu.md)
#   live     build/bench_live_gpu (a live t-SNE of 200k points, 20k quick, with a display
#            taking frames through CUDA-OpenGL interop and the copy path, and none;
#            section of RESULTS-gpu.md)
#   all      build test dev extract proj heads viewer live
# Each stage after build builds only the targets it needs, so any stage works on a cold
# machine (a warm one keeps build/: nothing to rebuild). Each stage replaces its own
# section of bench/RESULTS-gpu.md (the others are kept); extract and proj/heads also
# write bench/RESULTS-gpu-extract.md and bench/RESULTS-gpu-projections.md. When $OUT is
# set (the device tool), those files, summary.txt and logs.tar.gz are copied there.
# The last thing printed is a summary table (the tool returns only the output's end).
# Environment:
#   BENCH_QUICK=1    smallest sizes: extract 64 items; proj 20k/200k-point t-SNE, 40k-point
#                    kNN/PCA/UMAP, openTSNE at 20k only; heads 12 instead of 144
#   AV_GPU_BUDGET    seconds for the whole call (default 560 when $OUT is set, else none):
#                    a stage is stopped when it would overrun, the next ones are skipped,
#                    and the summary and $OUT files are still written
#   AV_BUILD         build folder (default build)
#   AV_CMAKE_ARGS    extra cmake arguments (e.g. -DAV_CUDA=OFF to check the bundle here)
#   CUDA_ARCHS       override the CUDA architectures ("90", "80;90")
#   AV_GPU_BUNDLE    auto (default): the Debian packages of scripts/install.sh when they
#                    are installed, else .gpu/bundle.tar.xz; a path: that bundle; none:
#                    the system's packages only
# Exit status: 0 when every stage passed, 1 when one failed, timed out or was skipped
# (also when there is no NVIDIA GPU for a stage that needs one), 2 on a bad argument.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
self="$root/bench/gpu_run.sh"
all_stages=(build test dev extract proj heads viewer live)
build=${AV_BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
prefix="$build/gpu-prefix"
logs="$build/gpu-logs"
results="$root/bench/RESULTS-gpu.md"
bundle=${AV_GPU_BUNDLE:-auto}
wheels="$root/.gpu/wheels"
quick=${BENCH_QUICK:-0}

usage() {
  sed -n '2,/^set -uo/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'
}

# ---- environment: the bundle, the cmake arguments, the wheels ------------------------
# Unpacks the bundle into build/gpu-prefix (once per archive: tar keeps the files' times,
# so a re-unpack never makes ninja rebuild). Sets cmake_args and exports what the
# build needs.
setup_env() {
  cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  use_bundle=0
  if [ "$bundle" = auto ]; then
    # The system's packages where scripts/install.sh put them (the old behaviour of this
    # script), else the bundle when it was carried.
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
    # Only the card at hand (half the nvcc time of 80;90); both where there is none.
    archs=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
    [ -n "$archs" ] || archs="80;90"
  fi
  cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES="$archs")
  # shellcheck disable=SC2206
  [ -n "${AV_CMAKE_ARGS:-}" ] && cmake_args+=(${AV_CMAKE_ARGS})
  export AV_USE_BUNDLE=$use_bundle
  return 0
}

# setup_wheels: installs .gpu/wheels (the Python peers: openTSNE, umap-learn,
# pynndescent) into build/gpu-site for python3, once per set of wheels. A failure is a
# warning: only the openTSNE part of the projections needs them.
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
# -Wno-error, and the stage says so (build/gpu-logs/werror.txt names the warnings).
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

cuda_built() { [ -x "$build/dev_matmul" ]; }

# ---- one stage (run as its own process, under the call's time budget) ---------------
# Writes build/gpu-logs/STAGE.md (its section of RESULTS-gpu.md) and STAGE.line (its
# summary row); exit status 0 = passed.
stage_header() {
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
       "BENCH_QUICK=$quick, $([ "$AV_USE_BUNDLE" = 1 ] && echo 'libraries from .gpu/bundle.tar.xz' || echo 'system libraries')."
  echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo none);"\
       "CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(nproc) cores;"\
       "nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p'), $(gcc --version 2>/dev/null | head -1)."
  echo
}

one_stage() {
  local stage=$1 md="$logs/$1.md" line="$logs/$1.line" status=0
  : > "$md"
  case "$stage" in
  build)
    if build_targets; then
      local n
      n=$(find "$build" -maxdepth 1 -type f -perm -u+x | wc -l)
      if cuda_built; then
        echo "CUDA archs $(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$build/CMakeCache.txt"), $n programs" > "$line"
      elif [[ " ${AV_CMAKE_ARGS:-} " == *" -DAV_CUDA=OFF "* ]]; then
        echo "CPU only (AV_CUDA=OFF), $n programs" > "$line"
      else
        echo "no CUDA backend: cmake found no nvcc" > "$line"; status=1
      fi
      [ -f "$logs/werror.txt" ] && echo "$(cat "$line"); -Wno-error: $(tr -s ' \n' ' ' < "$logs/werror.txt")" > "$line"
    else
      echo "build failed: $(grep -m1 -E 'error|Error' "$logs/build.log" "$logs/configure.log" 2>/dev/null | cut -c1-150)" > "$line"
      status=1
    fi
    { echo "## Build"; echo; stage_header; echo "$(cat "$line")"
      [ "$AV_USE_BUNDLE" = 1 ] && [ -x "$build/attnviz" ] && { echo; echo "Libraries of build/attnviz outside the bundle (ldd):"; echo; echo '```'
        ldd "$build/attnviz" | grep -v "$prefix" | sed 's/ (0x[0-9a-f]*)//'; echo '```'; }
    } > "$md"
    ;;
  test)
    # tests/gpu_*.c, and test_backend_ops (every op on every backend: ctest's gpu_backend_ops)
    # shellcheck disable=SC2046
    build_targets $(names_of "$root/tests/gpu_*.c" "") test_backend_ops || { echo "build failed" > "$line"; return 1; }
    local log="$logs/ctest.log"
    ctest --test-dir "$build" -L gpu --output-on-failure -V > "$log" 2>&1 || status=1
    # On a GPU machine a skipped gpu test means the device was not usable: a failure here.
    grep -q 'Skipped' "$log" && status=1
    local pass fail skip
    pass=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log")
    fail=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(Failed|Exception|Timeout|Not Run)' "$log" | sed -E 's/.*Test +#[0-9]+: ([a-z_0-9]+).*/\1/' | tr '\n' ' ')
    skip=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*Skipped' "$log" | sed -E 's/.*Test +#[0-9]+: ([a-z_0-9]+).*/\1/' | tr '\n' ' ')
    echo "$pass passed${fail:+; failed: $fail}${skip:+; skipped: $skip}" > "$line"
    { echo "## Tests (ctest -L gpu)"; echo; stage_header; echo '```'
      grep -E '^[0-9]+: (  |device|SKIP|gpu_)|CHECK failed|tests passed|tests failed|Passed|Failed|Not Run|Skipped' "$log" \
        | sed 's/^[0-9]*: //'
      echo '```'; } > "$md"
    ;;
  dev)
    # shellcheck disable=SC2046
    build_targets $(names_of "$root/kernels/*/*_dev.cu" dev_) || { echo "build failed" > "$line"; return 1; }
    local prog name ok=0 bad=""
    { echo "## Kernel variants (kernels/<op>/<op>_dev.cu)"; echo; stage_header; } > "$md"
    for prog in "$build"/dev_*; do
      [ -x "$prog" ] || continue
      name=$(basename "$prog")
      { echo "### $name"; echo; echo '```'; } >> "$md"
      local rc=0
      timeout 240 "$prog" >> "$md" 2>&1 || rc=$?
      if [ $rc = 0 ]; then ok=$((ok + 1)); else status=1; bad="$bad $name"; echo "FAILED (exit $rc)" | tee -a "$md"; fi
      { echo '```'; echo; } >> "$md"
    done
    echo "$ok programs checked out${bad:+; failed:$bad}" > "$line"
    ;;
  extract)
    build_targets attnviz dev_matmul || { echo "build failed" > "$line"; return 1; }
    local log="$logs/bench_extract_gpu.log"
    if AV="$build/attnviz" bash "$root/bench/bench_extract_gpu.sh" > "$log" 2>&1 && ! grep -q 'SKIP' "$log"; then
      { echo "## Extraction"; echo; stage_header; sed '1{/^## /d}' "$root/bench/RESULTS-gpu-extract.md"; } > "$md"
    else
      status=1
    fi
    grep 'bench_extract_gpu:' "$log" | sed 's/^/\n/' >> "$md"
    if [ $status = 0 ]; then
      echo "$(grep -E '^\| (bert|gpt2)' "$root/bench/RESULTS-gpu-extract.md" | awk -F'|' '{gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $7); printf "%s %s %s; ", $2, $3, $7}')(extract / torch+q/k)" > "$line"
    else
      echo "failed: $(grep -E 'bench_extract_gpu:' "$log" | tail -1 | cut -c1-150)" > "$line"
    fi
    ;;
  proj|heads)
    build_targets bench_tsne_gpu || { echo "build failed" > "$line"; return 1; }
    setup_wheels
    local log="$logs/bench_tsne_gpu_$stage.log" parts="sizes others otsne"
    [ "$stage" = heads ] && parts=heads
    PARTS=$parts bash "$root/bench/bench_tsne_gpu.sh" "$build" > "$log" 2>&1 || status=1
    { echo "## Projections ($stage)"; echo; stage_header
      echo "bench/bench_tsne_gpu.sh PARTS=\"$parts\": figures in bench/RESULTS-gpu-projections.md."
      [ $status = 0 ] || { echo; echo "Failed: $(tail -1 "$log")"; }; } > "$md"
    if [ $status = 0 ]; then
      grep -hE '^ *[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$|heads x|GPU exact|PCA 3|UMAP 200|^ *[0-9]+ +(bh|fft) ' "$log" \
        | awk '{$1=$1; print}' | head -12 | tr '\n' ';' | sed 's/;$//; s/;/; /g' | cut -c1-400 > "$line"
    else
      echo "failed: $(tail -1 "$log" | cut -c1-150)" > "$line"
    fi
    ;;
  viewer)
    build_targets attnviz || { echo "build failed" > "$line"; return 1; }
    setup_wheels
    local log="$logs/bench_viewer.log"
    PYTHON=${PYTHON:-python3} BENCH_QUICK=$quick bash "$root/bench/bench_viewer.sh" "$build/attnviz" "" "$build/gpu-viewer-runs" \
      > "$log" 2>&1 || status=1
    grep -q '| new |' "$log" && ! grep -q 'failed' "$log" || status=1
    { echo "## Viewer (bench/bench_viewer.sh, headless EGL)"; echo; stage_header; cat "$log"; } > "$md"
    if [ $status = 0 ]; then
      # the goal rows: the largest matrix and single view, a hover and a frame that draws every point
      awk -F'|' '/\| new \|/ { gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $7); gsub(/ /, "", $8); gsub(/ /, "", $9)
                               r[$2] = $2 " " $3 " pts: full " $7 " ms, hover " $8 " ms, pan " $9 " ms" }
                 END { printf "%s; %s (%s)", r["matrix"], r["single"], renderer }' renderer="$(grep -o 'gl ".*"' "$log" | head -1)" "$log" > "$line"
    else
      echo "failed: $(grep -m1 'failed' "$log" | cut -c1-150)" > "$line"
    fi
    ;;
  live)
    build_targets bench_live_gpu || { echo "build failed" > "$line"; return 1; }
    local log="$logs/bench_live_gpu.log" rc=0
    if [ "$quick" = 1 ]; then "$build/bench_live_gpu" 20000 300 > "$log" 2>&1 || rc=$?
    else "$build/bench_live_gpu" 200000 500 > "$log" 2>&1 || rc=$?; fi
    [ $rc = 0 ] || status=1
    { echo "## Live t-SNE with a display (build/bench_live_gpu, headless EGL)"; echo; stage_header; echo '```'; cat "$log"; echo '```'; } > "$md"
    grep -E '^(no display|copy|interop) ' "$log" | awk '{printf "%s%s %s s %s it/s %s ms/frame", NR > 1 ? "; " : "", $1 == "no" ? "off" : $1, $(NF-3), $(NF-2), $NF}' > "$line"
    [ $rc = 0 ] || echo "exit $rc: $(grep -m1 -E 'impossible|failed|SKIP' "$log" | cut -c1-150); $(cat "$line")" > "$line"
    ;;
  esac
  return $status
}

# replace_section FILE NAME BODY ORDER...: FILE's "<!-- stage NAME -->" block becomes BODY;
# the other stages' blocks are kept, in ORDER; text outside the blocks is dropped.
replace_section() {
  local file=$1 name=$2 body=$3 tmp="$1.tmp.$$" s
  shift 3
  {
    echo "# attnviz on the GPU"
    echo
    echo "Written by \`bash bench/gpu_run.sh STAGE\` (docs/gpu.md), one section per stage; a stage"
    echo "replaces its own section and keeps the others, so sections may come from different runs."
    echo
    for s in "$@"; do
      if [ "$s" = "$name" ]; then
        echo "<!-- stage $s -->"; cat "$body"; echo "<!-- end $s -->"; echo
      elif [ -f "$file" ]; then
        awk -v b="<!-- stage $s -->" -v e="<!-- end $s -->" '$0 == b {p = 1} p {print} $0 == e {p = 0; print ""}' "$file"
      fi
    done
  } > "$tmp" && mv "$tmp" "$file"
}

# ---- main ----------------------------------------------------------------------------
if [ "${1:-}" = "--one" ]; then   # internal: one stage in its own process
  mkdir -p "$logs"
  setup_env || exit 1
  one_stage "$2"
  exit $?
fi
stages=()
for a in "$@"; do
  case "$a" in
    -h|--help) usage; exit 0 ;;
    all) stages+=("${all_stages[@]}") ;;
    build|test|dev|extract|proj|heads|viewer|live) stages+=("$a") ;;
    *) echo "gpu_run: unknown stage '$a' (stages: ${all_stages[*]} all; --help)"; exit 2 ;;
  esac
done
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")
case "$quick" in 0|1) ;; *) echo "gpu_run: BENCH_QUICK must be 0 or 1, not '$quick'"; exit 2 ;; esac
budget=${AV_GPU_BUDGET:-}
[ -n "$budget" ] || { [ -n "${OUT:-}" ] && budget=560 || budget=0; }
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "gpu_run: AV_GPU_BUDGET must be whole seconds, not '$budget'"; exit 2; }
need_gpu=""
for s in "${stages[@]}"; do [ "$s" = build ] || need_gpu="$need_gpu $s"; done
if [ -n "$need_gpu" ] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_run: no NVIDIA GPU here (nvidia-smi failed): stage(s)$need_gpu need one; only 'build' runs without a GPU"
  exit 1
fi
setup_env || exit 1
mkdir -p "$logs"
t0=$(date +%s)
summary="$logs/summary.txt"
rows=()
overall=0
for s in "${stages[@]}"; do
  now=$(date +%s)
  left=0
  [ "$budget" -gt 0 ] && left=$((budget - (now - t0)))
  if [ "$budget" -gt 0 ] && [ "$left" -lt 30 ]; then
    rows+=("$(printf '%-8s %-8s %6s  %s' "$s" skipped - "not started: AV_GPU_BUDGET=$budget s spent")"); overall=1; continue
  fi
  echo "== $s ($(date -u +%H:%M:%S))"
  rm -f "$logs/$s.line" "$logs/$s.md"
  if [ "$budget" -gt 0 ]; then
    timeout -k 10 "$left" bash "$self" --one "$s" 2>&1 | tee "$logs/$s.out"; rc=${PIPESTATUS[0]}
  else
    bash "$self" --one "$s" 2>&1 | tee "$logs/$s.out"; rc=${PIPESTATUS[0]}
  fi
  secs=$(( $(date +%s) - now ))
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    st=TIMEOUT; echo "stopped after $secs s (AV_GPU_BUDGET=$budget)" > "$logs/$s.line"
    { echo "## Stage $s"; echo; echo "Stopped after $secs s, at the end of AV_GPU_BUDGET=$budget s, on $(date -u '+%Y-%m-%d %H:%M UTC')."; } > "$logs/$s.md"
  elif [ "$rc" = 0 ]; then st=ok; else st=FAIL; fi
  [ "$rc" = 0 ] || overall=1
  [ -s "$logs/$s.line" ] || echo "$(tail -1 "$logs/$s.out" 2>/dev/null | cut -c1-150)" > "$logs/$s.line"
  # Only a GPU machine writes bench/RESULTS-gpu.md (a build-only check elsewhere does not).
  if [ -s "$logs/$s.md" ] && nvidia-smi -L >/dev/null 2>&1; then
    replace_section "$results" "$s" "$logs/$s.md" "${all_stages[@]}"
  fi
  rows+=("$(printf '%-8s %-8s %6s  %s' "$s" "$st" "$secs" "$(cat "$logs/$s.line")")")
done

# ---- summary (printed last) and $OUT --------------------------------------------------
{
  echo
  echo "gpu_run summary: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo 'no GPU');"\
       "nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p'); $(gcc -dumpfullversion 2>/dev/null | sed 's/^/gcc /');"\
       "$(cmake --version 2>/dev/null | head -1); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); BENCH_QUICK=$quick;"\
       "$([ "$AV_USE_BUNDLE" = 1 ] && echo bundle || echo 'system libraries')"
  printf '%-8s %-8s %6s  %s\n' stage status seconds result
  printf '%s\n' "${rows[@]}"
  left_over=$(printf '%s\n' "${rows[@]}" | awk '$2 == "skipped" || $2 == "TIMEOUT" {printf " %s", $1}')
  [ -n "$left_over" ] && echo "next call: ${BENCH_QUICK:+BENCH_QUICK=$quick }bash bench/gpu_run.sh$left_over"
  for s in "${stages[@]}"; do
    if [ "$s" = extract ] && [ -f "$root/bench/RESULTS-gpu-extract.md" ] && grep -q '^| bert' "$root/bench/RESULTS-gpu-extract.md"; then
      echo; grep -E '^\| (model|bert|gpt2)' "$root/bench/RESULTS-gpu-extract.md"
    fi
  done
  for s in "${stages[@]}"; do
    if grep -q "^$s *\(FAIL\|TIMEOUT\)" <(printf '%s\n' "${rows[@]}"); then
      echo; echo "-- $s: what went wrong"
      case "$s" in
        build) tail -n 12 "$logs/$s.out" 2>/dev/null ;;
        test) grep -E 'CHECK failed|SKIP|\*\*\*' "$logs/ctest.log" 2>/dev/null | head -15 || tail -n 5 "$logs/ctest.log" 2>/dev/null ;;
        dev) grep -E -B3 '^FAILED' "$logs/dev.md" 2>/dev/null | head -20 ;;
        extract) tail -n 8 "$logs/bench_extract_gpu.log" 2>/dev/null ;;
        proj|heads) grep -E -B2 'FAILED|bench_tsne_gpu:' "$logs/bench_tsne_gpu_$s.log" 2>/dev/null | tail -n 12 ;;
        viewer) tail -n 12 "$logs/bench_viewer.log" 2>/dev/null ;;
        live) tail -n 8 "$logs/bench_live_gpu.log" 2>/dev/null ;;
      esac
      tail -n 3 "$logs/$s.out" 2>/dev/null
    fi
  done
} > "$summary"
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
  for f in "$results" "$root/bench/RESULTS-gpu-extract.md" "$root/bench/RESULTS-gpu-projections.md"; do
    [ -f "$f" ] && cp "$f" "$OUT/"
  done
  cp "$summary" "$OUT/summary.txt"
  tar -C "$build" -czf "$OUT/logs.tar.gz" gpu-logs 2>/dev/null
  echo "(copied to \$OUT: $(cd "$OUT" && ls | tr '\n' ' '))" >> "$summary"
fi
cat "$summary"
exit $overall
