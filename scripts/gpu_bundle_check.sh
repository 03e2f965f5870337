#!/usr/bin/env bash
# Checks .gpu/bundle.tar.xz (scripts/gpu_bundle.sh) on this Debian 12 machine as if it
# were the bare GPU image: in a private mount namespace (unshare -m, root; nothing
# outside this script's processes sees it) every Debian file the bundle replaces is
# hidden (the -dev packages' headers, every .pc file, pkg-config, libfaiss.a, FAISS's C
# API in .deps/faiss_c, the math libraries' shared objects), then
#   1. bench/gpu_run.sh build configures and builds a fresh folder (default build-bare)
#      from the bundle alone;
#   2. ldd: every library of build-bare/attnviz other than glibc, the GCC runtime
#      (libstdc++, libgcc_s, libgomp) and CUDA's resolves into the bundle;
#   3. ninja's dependency records: no header outside the repository, the bundle, glibc's
#      and GCC's own (libc6-dev, linux-libc-dev, libgcc-*-dev, libstdc++-*-dev) and CUDA's;
#   4. ctest -L cpu -LE slow on that build, cli_gpu_bundle aside (it packs a bundle from
#      the hidden files); the X/GL runtime stays visible: Xvfb needs it.
#   bash scripts/gpu_bundle_check.sh [BUILD_DIR]     (AV_CMAKE_ARGS as for gpu_run.sh;
#   default -DAV_CUDA=OFF, since nvcc on a 2-core machine takes long; AV_CHECK_TESTS=0
#   skips step 4)
# Exit status 0 when every check passed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${1:-build-bare}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
[ -f .gpu/bundle.tar.xz ] || { echo "gpu_bundle_check: .gpu/bundle.tar.xz is missing: run bash scripts/gpu_bundle.sh"; exit 1; }

if [ "${AV_BUNDLE_CHECK_INSIDE:-0}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "gpu_bundle_check: needs root (unshare -m)"; exit 1; }
  AV_BUNDLE_CHECK_INSIDE=1 exec unshare -m bash "$0" "$@"
fi

# ---- hide what the bundle replaces (this namespace only) ----------------------------
mount --make-rprivate / 2>/dev/null
hidden=0
hide_dir() { [ -d "$1" ] && mount -t tmpfs -o size=1m none "$1" && hidden=$((hidden + 1)); }
hide_file() { [ -e "$1" ] && mount --bind /dev/null "$1" && hidden=$((hidden + 1)); }
arch=/usr/lib/x86_64-linux-gnu
dev_pkgs=(libcjson-dev libutf8proc-dev liblapacke-dev libopenblas-pthread-dev libopenblas-dev
          libfftw3-dev libglfw3-dev libgl-dev libegl-dev libglvnd-dev libstb-dev libfaiss-dev
          libx11-dev libxcb1-dev libxau-dev libxdmcp-dev liblapack-dev libblas-dev)
for p in "${dev_pkgs[@]}"; do
  dpkg-query -W "$p" >/dev/null 2>&1 || continue
  while read -r f; do
    case "$f" in /usr/include/*) [ -f "$f" ] && [ ! -L "$f" ] && hide_file "$f" ;; esac
  done < <(dpkg -L "$p")
done
for d in /usr/include/x86_64-linux-gnu/openblas-pthread "$arch/openblas-pthread" "$arch/pkgconfig" \
         /usr/share/pkgconfig /usr/lib/pkgconfig /usr/include/faiss "$(readlink -f "$root/.deps")/faiss_c"; do
  hide_dir "$d"
done
for f in /usr/bin/pkg-config /usr/bin/pkgconf /usr/bin/x86_64-linux-gnu-pkg-config "$arch/libfaiss.a"; do hide_file "$f"; done
# The math libraries, linker names and runtime files alike (nothing else here uses them).
for base in libopenblas libblas liblapack liblapacke libtmglib libgfortran libquadmath libcjson \
            libutf8proc libfftw3 libglfw; do
  for f in "$arch/$base".so* "$arch/$base".a; do [ -e "$f" ] && [ ! -L "$f" ] && hide_file "$f"; done
done
for f in /usr/lib/gcc/x86_64-linux-gnu/*/libgfortran.*; do hide_file "$(readlink -f "$f")"; done
echo "gpu_bundle_check: $hidden Debian files and folders hidden in this namespace"
if pkg-config --version >/dev/null 2>&1 || [ -s /usr/include/cjson/cJSON.h ] || [ -s "$arch/libfaiss.a" ]; then
  echo "gpu_bundle_check: hiding failed (pkg-config, cJSON.h or libfaiss.a still there)"; exit 1
fi

# ---- 0. the control: without the bundle, configuring must now fail ------------------
status=0
rm -rf "$build"
if AV_BUILD="$build" AV_GPU_BUNDLE=none AV_CMAKE_ARGS="${AV_CMAKE_ARGS:--DAV_CUDA=OFF}" AV_GPU_BUDGET=0 OUT= \
   bash bench/gpu_run.sh build > "$root/build-bare-control.log" 2>&1; then
  echo "gpu_bundle_check: FAIL: the build works without the bundle too, so hiding proves nothing"; exit 1
fi
echo "gpu_bundle_check: ok: without the bundle the build fails here ($(grep -m1 -E 'Could NOT|not found' "$build/gpu-logs/configure.log" | cut -c1-100))"
rm -rf "$build" "$root/build-bare-control.log"

# ---- 1. build from the bundle alone --------------------------------------------------
AV_BUILD="$build" AV_GPU_BUNDLE="$root/.gpu/bundle.tar.xz" AV_CMAKE_ARGS="${AV_CMAKE_ARGS:--DAV_CUDA=OFF}" AV_GPU_BUDGET=0 OUT= \
  bash bench/gpu_run.sh build || { echo "gpu_bundle_check: FAIL: the build"; exit 1; }
prefix="$build/gpu-prefix"
# gpu_run.sh builds what the GPU run needs; the cpu tests of step 4 need the rest too
if [ "${AV_CHECK_TESTS:-1}" = 1 ]; then
  cmake --build "$build" -j"$(nproc)" > "$build/build-all.log" 2>&1 || { echo "gpu_bundle_check: FAIL: building the tests"; exit 1; }
fi

# ---- 2. libraries ----------------------------------------------------------------------
outside=$(ldd "$build/attnviz" | awk '$2 == "=>" {print $1, $3}' | grep -v " $prefix/" \
  | grep -vE '^(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|libgomp)\.so|^(libcu|libnv)' || true)
missing=$(ldd "$build/attnviz" | grep 'not found' || true)
if [ -n "$outside$missing" ]; then
  echo "gpu_bundle_check: FAIL: libraries outside the bundle:"; echo "$outside$missing"; status=1
else
  echo "gpu_bundle_check: ok: every library of attnviz but glibc, the GCC runtime and CUDA's comes from the bundle ($(ldd "$build/attnviz" | grep -c " $prefix/") of them)"
fi

# ---- 3. headers ------------------------------------------------------------------------
deps=$(ninja -C "$build" -t deps | awk '/^ +\// {print $1}' | sort -u)
foreign=""
nb=0
while read -r h; do
  case "$h" in "$prefix"/*) nb=$((nb + 1)); continue ;; esac
  case "$h" in "$root"/*|/usr/local/cuda*) continue ;; esac
  pkg=$(dpkg-query -S "$(readlink -f "$h")" 2>/dev/null | cut -d: -f1)
  case "$pkg" in libc6-dev|linux-libc-dev|libgcc-*-dev|libstdc++-*-dev) ;; *) foreign="$foreign
  $h ($pkg)" ;; esac
done <<< "$deps"
if [ -n "$foreign" ]; then
  echo "gpu_bundle_check: FAIL: $(echo "$foreign" | grep -c .) headers from outside the bundle:"
  echo "$foreign" | grep . | head -20; status=1
else
  echo "gpu_bundle_check: ok: $(wc -l <<< "$deps") headers recorded; $nb from the bundle, the rest the repository's, glibc's, GCC's or CUDA's"
fi

# ---- 4. the cpu tests ------------------------------------------------------------------
if [ "${AV_CHECK_TESTS:-1}" = 1 ]; then
  # cli_gpu_bundle makes a bundle, from the very Debian files hidden here: not this test's.
  if ctest --test-dir "$build" -L cpu -LE slow -E '^cli_gpu_bundle$' -j2 --output-on-failure > "$build/ctest-cpu.log" 2>&1; then
    echo "gpu_bundle_check: ok: $(grep -E 'tests passed' "$build/ctest-cpu.log")"
  else
    echo "gpu_bundle_check: FAIL: ctest -L cpu: $(grep -E 'tests passed|tests failed' "$build/ctest-cpu.log")"
    grep -E '^\s+[0-9]+ - ' "$build/ctest-cpu.log"; status=1
  fi
fi
exit $status
