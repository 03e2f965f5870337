#!/usr/bin/env bash
# Packs, on this Debian 12 machine, everything a bare GPU machine (the device tool's
# CUDA image: nvcc, CMake, ninja, gcc, python3 with torch, but no apt and none of our
# Debian -dev packages) lacks to build and run attnviz, into .gpu/ (ignored, carried to
# the device with `carry: [".gpu"]`; see docs/gpu.md):
#   .gpu/bundle.tar.xz   a relocatable prefix, unpacked there by bench/gpu_run.sh:
#     lib/               the shared libraries we link (OpenBLAS, LAPACKE, cJSON, utf8proc,
#                        FFTW, GLFW, libglvnd's EGL/GL) and their non-glibc dependencies
#                        (libgfortran, libquadmath, X11/xcb, ...), each under its soname,
#                        symlinks resolved; linker names (libfoo.so) as relative links;
#                        Debian's libfaiss.a
#     lib/pkgconfig/     openblas, libcjson, glfw3, fftw3 .pc files, prefix=${pcfiledir}/../..
#     include/           the headers the build includes from those packages (the gcc -M
#                        closure of our includes, glibc's own left out); OpenBLAS's under
#                        include/openblas/ as Debian keeps them apart
#     faiss_c/           FAISS's C API built by scripts/install.sh (.deps/faiss_c)
#     bin/pkg-config     Debian's pkgconf (the image may have no pkg-config), a wrapper
#                        that finds its libpkgconf in lib/
#     MANIFEST           what went in, from which Debian package and version
#   .gpu/wheels/*.whl    openTSNE, umap-learn, pynndescent for CPython 3.12 manylinux
#                        x86_64 (the GPU side's peers; the image has their dependencies)
# Idempotent: the archive is rebuilt only when a source file changed (a stamp lists
# every source with its size and time), the wheels are fetched once.
#   bash scripts/gpu_bundle.sh           (AV_GPU_NO_WHEELS=1 skips the wheels;
#                                         AV_GPU_BUNDLE_DIR=DIR writes DIR instead of .gpu;
#                                         AV_GPU_XZ_LEVEL=0-9, default 6)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dest=${AV_GPU_BUNDLE_DIR:-$root/.gpu}   # another folder only for tests/cli_gpu_bundle.sh
mkdir -p "$dest"
arch=/usr/lib/x86_64-linux-gnu

die() { echo "gpu_bundle: $*" >&2; exit 1; }
[ -f "$root/.deps/faiss_c/lib/libfaiss_c.a" ] || die ".deps/faiss_c is missing: run bash scripts/install.sh first"
for t in gcc ldd dpkg-query xz tar; do command -v $t >/dev/null || die "$t not found"; done

# ---- what goes in -------------------------------------------------------------------
# The libraries the build links by name (CMakeLists.txt: pkg-config modules and
# find_library), as linker name -> the file the linker would take here.
seeds=("$arch/openblas-pthread/libopenblas.so" "$arch/libcjson.so" "$arch/libglfw.so"
       "$arch/libfftw3.so" "$arch/libutf8proc.so" "$arch/liblapacke.so" "$arch/libEGL.so"
       "$arch/libGL.so" "$arch/libpkgconf.so.3")
for s in "${seeds[@]}"; do [ -e "$s" ] || die "$s is missing: run bash scripts/install.sh first"; done
# Everything else ldd finds, except what every Linux with a C/C++ compiler has (glibc,
# the GCC runtime, OpenMP's libgomp) and CUDA's own libraries (the image has them).
keep_lib() {
  case "$1" in
    linux-vdso*|ld-linux*|libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libutil.so.*|\
    libresolv.so.*|libstdc++.so.*|libgcc_s.so.*|libgomp.so.*|libcuda*|libcublas*|libcusolver*|\
    libcusparse*|libnvJitLink*) return 1 ;;
  esac
  return 0
}
declare -A libs=()   # soname -> resolved file
for s in "${seeds[@]}"; do
  so=$(objdump -p "$s" 2>/dev/null | awk '$1 == "SONAME" {print $2}')
  [ -n "$so" ] || so=$(basename "$s")
  libs[$so]=$(readlink -f "$s")
  while read -r name _ path _; do
    keep_lib "$name" && [ -n "$path" ] && libs[$name]=$(readlink -f "$path")
  done < <(ldd "$s" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $2, $3}')
done

# Headers: the gcc -M closure of every <...> include of ours that is not glibc's or
# CUDA's; the roots are where Debian puts them (OpenBLAS and stb in their own folders).
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cat > "$probe/h.c" <<'EOF'
#include <cjson/cJSON.h>
#include <utf8proc.h>
#include <cblas.h>
#include <lapacke.h>
#include <fftw3.h>
#include <GLFW/glfw3.h>
#include <GL/gl.h>
#include <GL/glext.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <stb_truetype.h>
EOF
blas_inc=/usr/include/x86_64-linux-gnu/openblas-pthread
gcc -M -I"$blas_inc" -I/usr/include/stb "$probe/h.c" > "$probe/deps" || die "a header is missing: run bash scripts/install.sh first"
declare -A hdrs=()   # destination under include/ -> source file
for f in $(tr ' \\' '\n\n' < "$probe/deps" | grep '^/usr/include/'); do
  pkg=$(dpkg-query -S "$(readlink -f "$f")" 2>/dev/null | cut -d: -f1 || true)
  case "$pkg" in libc6-dev|linux-libc-dev|"") continue ;; esac
  case "$f" in
    "$blas_inc"/*) hdrs["openblas/${f#"$blas_inc"/}"]=$f ;;
    /usr/include/stb/*) hdrs["${f#/usr/include/stb/}"]=$f ;;
    *) hdrs["${f#/usr/include/}"]=$f ;;
  esac
done
faiss_a="$arch/libfaiss.a"
[ -f "$faiss_a" ] || die "$faiss_a is missing (libfaiss-dev): run bash scripts/install.sh first"

# ---- the stamp: skip the archive when nothing changed -------------------------------
level=${AV_GPU_XZ_LEVEL:-6}   # tests/cli_gpu_bundle.sh packs with 0: 18 MB instead of 11, in a fraction of the time
[[ "$level" =~ ^[0-9]$ ]] || die "AV_GPU_XZ_LEVEL must be 0-9, not '$level'"
stamp_new="$probe/stamp"
{
  echo "format 1, xz -$level"
  sha256sum "$0" | cut -d' ' -f1
  for so in $(printf '%s\n' "${!libs[@]}" | sort); do stat -c "lib $so %n %s %Y" "${libs[$so]}"; done
  for h in $(printf '%s\n' "${!hdrs[@]}" | sort); do stat -c "inc $h %n %s %Y" "${hdrs[$h]}"; done
  stat -c "faiss %n %s %Y" "$faiss_a"
  find "$root/.deps/faiss_c" -type f -printf 'faiss_c %P %s %T@\n' | sort
} > "$stamp_new"
archive="$dest/bundle.tar.xz"
if [ -f "$archive" ] && cmp -s "$stamp_new" "$dest/bundle.stamp"; then
  echo "gpu_bundle: $archive is up to date ($(du -h "$archive" | cut -f1))"
else
  stage="$probe/prefix"
  mkdir -p "$stage/lib/pkgconfig" "$stage/include" "$stage/bin" "$stage/libexec"
  for so in "${!libs[@]}"; do cp -L --preserve=timestamps "${libs[$so]}" "$stage/lib/$so"; done
  # Linker names for what CMakeLists.txt links with -l / find_library.
  for s in "${seeds[@]}"; do
    case "$s" in *.so)
      so=$(objdump -p "$s" | awk '$1 == "SONAME" {print $2}')
      ln -sf "$so" "$stage/lib/$(basename "$s")" ;;
    esac
  done
  cp --preserve=timestamps "$faiss_a" "$stage/lib/"
  for h in "${!hdrs[@]}"; do
    mkdir -p "$(dirname "$stage/include/$h")"
    cp -L --preserve=timestamps "${hdrs[$h]}" "$stage/include/$h"
  done
  cp -a "$root/.deps/faiss_c" "$stage/faiss_c"
  # pkg-config files: the four modules CMakeLists.txt asks for, relocatable.
  pc() {   # pc NAME INCLUDEDIR-UNDER-PREFIX VERSION LIBS-PRIVATE CFLAGS-EXTRA
    cat > "$stage/lib/pkgconfig/$1.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/$2
Name: $1
Description: $1 from Debian 12, packed by scripts/gpu_bundle.sh
Version: $3
Libs: -L\${libdir} -l$6
Libs.private: $4
Cflags: -I\${includedir}$5
EOF
  }
  pc openblas include/openblas "$(pkg-config --modversion openblas)" "-lm -lpthread -lgfortran" "" openblas
  pc libcjson include "$(pkg-config --modversion libcjson)" "-lm" ' -I${includedir}/cjson' cjson
  pc glfw3 include "$(pkg-config --modversion glfw3)" "-lrt -lm -ldl" "" glfw
  pc fftw3 include "$(pkg-config --modversion fftw3)" "-lm" "" fftw3
  # Debian's pkgconf, found through a wrapper so that it needs nothing installed.
  cp -L --preserve=timestamps "$(readlink -f /usr/bin/pkgconf)" "$stage/libexec/pkgconf"
  cat > "$stage/bin/pkg-config" <<'EOF'
#!/bin/sh
# Debian 12's pkgconf from scripts/gpu_bundle.sh; reads only this prefix's .pc files
# unless PKG_CONFIG_LIBDIR says otherwise.
here=$(cd "$(dirname "$0")/.." && pwd)
: "${PKG_CONFIG_LIBDIR:=$here/lib/pkgconfig}"
export PKG_CONFIG_LIBDIR
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/libexec/pkgconf" "$@"
EOF
  chmod +x "$stage/bin/pkg-config"
  {
    echo "attnviz GPU bundle, made by scripts/gpu_bundle.sh on $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "from $(. /etc/os-release; echo "$PRETTY_NAME"), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    for so in $(printf '%s\n' "${!libs[@]}" | sort); do
      pkg=$(dpkg-query -S "${libs[$so]}" 2>/dev/null | cut -d: -f1 || echo '?')
      echo "lib/$so  ${libs[$so]}  $pkg $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)"
    done
    echo "lib/libfaiss.a  $faiss_a  libfaiss-dev $(dpkg-query -W -f='${Version}' libfaiss-dev 2>/dev/null || true)"
    for h in $(printf '%s\n' "${!hdrs[@]}" | sort); do echo "include/$h  ${hdrs[$h]}"; done
    echo "faiss_c/  .deps/faiss_c (scripts/install.sh)"
    echo "libexec/pkgconf  /usr/bin/pkgconf  pkgconf $(dpkg-query -W -f='${Version}' pkgconf 2>/dev/null || true)"
  } > "$stage/MANIFEST"
  tar -C "$stage" -cf - . | xz -T0 "-$level" > "$archive.tmp"
  mv "$archive.tmp" "$archive"
  cp "$stamp_new" "$dest/bundle.stamp"
  echo "gpu_bundle: wrote $archive ($(du -h "$archive" | cut -f1); ${#libs[@]} libraries, ${#hdrs[@]} headers)"
fi

# ---- wheels for the GPU side's Python peers ------------------------------------------
# The image's python3 is CPython 3.12 with numpy, scipy, scikit-learn, numba, tqdm,
# joblib (docs/gpu.md); these three are what it lacks. Pinned to the versions of
# bench/requirements.txt so the GPU and CPU peers are the same code.
if [ "${AV_GPU_NO_WHEELS:-0}" != 1 ]; then
  wheels="$dest/wheels"
  mkdir -p "$wheels"
  want=(openTSNE==1.0.4 umap-learn==0.5.12 pynndescent==0.7.0)
  have=1
  for w in opentsne-1.0.4 umap_learn-0.5.12 pynndescent-0.7.0; do
    ls "$wheels" 2>/dev/null | grep -qi "^$w-" || have=0
  done
  if [ $have = 0 ]; then
    pip=(python3 -m pip)
    [ -x "$root/.deps/venv/bin/python" ] && pip=("$root/.deps/venv/bin/python" -m pip)
    "${pip[@]}" download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$wheels" "${want[@]}" || die "pip download failed (PyPI reachable?); AV_GPU_NO_WHEELS=1 skips the wheels"
  fi
  echo "gpu_bundle: wheels: $(cd "$wheels" && ls | tr '\n' ' ')"
fi
echo "gpu_bundle: .gpu holds $(du -sh "$dest" | cut -f1) (carry limit: 64 MiB with the working tree)"
