#!/usr/bin/env bash
# cli_gpu_bundle.sh - scripts/gpu_bundle.sh end to end into a scratch folder (no wheels,
# so no network): the archive holds what CMakeLists.txt needs (MANIFEST), no link points
# outside it, it stays well under the 64 MiB the GPU run's one call carries, its
# pkg-config answers from the bundle alone with paths that resolve to the bundle's own
# files, every shared library's dependencies resolve inside the bundle or to glibc / the
# GCC runtime, and a second run with nothing changed rewrites nothing.
# (scripts/gpu_bundle_check.sh goes further: a whole build with the Debian files hidden.)
set -u
: "${AV_SRC:?}" "${AV_TMP:?}"
rm -rf "$AV_TMP" && mkdir -p "$AV_TMP"
cd "$AV_SRC"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
dest="$AV_TMP/gpu"

AV_GPU_NO_WHEELS=1 AV_GPU_XZ_LEVEL=0 AV_GPU_BUNDLE_DIR="$dest" bash scripts/gpu_bundle.sh > "$AV_TMP/first" 2>&1 \
  || { echo "FAIL: gpu_bundle.sh: $(tail -1 "$AV_TMP/first")" >&2; exit 1; }
[ -f "$dest/bundle.tar.xz" ] || { echo "FAIL: no $dest/bundle.tar.xz" >&2; exit 1; }
[ -e "$dest/bundle.tar.xz.tmp" ] && fail "a temporary file was left beside the archive"
# The GPU run carries .gpu/ (bundle and wheels, ~5 MB) in one call of at most 64 MiB: even
# uncompressed-level xz (this test's level 0) must leave room.
size=$(stat -c %s "$dest/bundle.tar.xz")
[ "$size" -lt $((48 << 20)) ] || fail "the bundle is $((size >> 20)) MiB at xz level 0: too close to the 64 MiB a call carries"
p="$AV_TMP/prefix"
mkdir -p "$p" && tar -C "$p" -xJf "$dest/bundle.tar.xz" || { echo "FAIL: cannot unpack" >&2; exit 1; }

# What CMakeLists.txt links and includes.
for f in lib/libopenblas.so lib/libopenblas.so.0 lib/liblapacke.so lib/libcjson.so lib/libutf8proc.so \
         lib/libfftw3.so lib/libglfw.so lib/libEGL.so lib/libGL.so lib/libgfortran.so.5 lib/libfaiss.a \
         faiss_c/lib/libfaiss_c.a faiss_c/include/faiss/c_api/IndexFlat_c.h include/cjson/cJSON.h \
         include/utf8proc.h include/lapacke.h include/openblas/cblas.h include/fftw3.h include/GLFW/glfw3.h \
         include/GL/gl.h include/EGL/egl.h include/KHR/khrplatform.h include/stb_image.h \
         include/stb_image_write.h include/stb_truetype.h bin/pkg-config MANIFEST; do
  [ -s "$p/$f" ] || fail "$f is missing or empty"
done
grep -q '^lib/libopenblas.so.0 .* libopenblas0-pthread ' "$p/MANIFEST" || fail "MANIFEST does not name libopenblas's package"
# No link may leave the bundle (a relative name in the same folder, and it resolves).
while read -r l; do
  t=$(readlink "$l")
  case "$t" in /*|*/*) fail "${l#"$p"/} -> $t leaves its folder" ;; esac
  [ -e "$l" ] || fail "${l#"$p"/} -> $t is dangling"
done < <(find "$p" -type l)

# pkg-config: the bundle's modules, paths into the bundle, the system's modules invisible.
pc="$p/bin/pkg-config"
for m in openblas libcjson glfw3 fftw3; do
  "$pc" --exists "$m" || fail "the bundle's pkg-config does not know $m"
done
inc=$("$pc" --cflags-only-I libcjson | tr ' ' '\n' | sed -n 's/^-I//p' | tail -1)
[ -f "$inc/cJSON.h" ] || fail "pkg-config --cflags libcjson gives $inc, which has no cJSON.h"
ldir=$("$pc" --libs-only-L openblas | sed 's/^ *-L//; s/ *$//')
[ -f "$ldir/libopenblas.so" ] || fail "pkg-config --libs openblas gives -L$ldir, which has no libopenblas.so"
if pkg-config --exists zlib 2>/dev/null; then
  "$pc" --exists zlib && fail "the bundle's pkg-config sees the system's zlib.pc"
fi
env -u PKG_CONFIG_LIBDIR "$pc" --modversion libcjson > /dev/null || fail "pkg-config fails without PKG_CONFIG_LIBDIR"

# Every shared library's dependencies: the bundle, else glibc and the GCC runtime.
for f in "$p"/lib/*.so.*; do
  [ -L "$f" ] && continue
  while read -r name path; do
    case "$path" in "$p"/lib/*) continue ;; esac
    case "$name" in libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libgcc_s.so.*|libstdc++.so.*|libgomp.so.*) continue ;; esac
    fail "${f#"$p"/}: $name resolves to $path, outside the bundle"
  done < <(LD_LIBRARY_PATH="$p/lib" ldd "$f" | awk '$2 == "=>" {print $1, $3}')
done

# Nothing changed: the second run keeps the archive as it is.
before=$(stat -c '%Y %s' "$dest/bundle.tar.xz")
AV_GPU_NO_WHEELS=1 AV_GPU_XZ_LEVEL=0 AV_GPU_BUNDLE_DIR="$dest" bash scripts/gpu_bundle.sh > "$AV_TMP/second" 2>&1 || fail "second run: $(tail -1 "$AV_TMP/second")"
grep -q 'is up to date' "$AV_TMP/second" || fail "second run did not find the archive up to date: $(head -1 "$AV_TMP/second")"
[ "$(stat -c '%Y %s' "$dest/bundle.tar.xz")" = "$before" ] || fail "second run rewrote the archive"
[ $fails = 0 ] && echo "cli_gpu_bundle: all checks passed ($(du -h "$dest/bundle.tar.xz" | cut -f1))"
exit $((fails > 0))
