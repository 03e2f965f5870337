#!/usr/bin/env bash
# Installs, builds and runs every test:
#   1. release build (CUDA compiled when nvcc is present), ctest -L cpu, then -L gpu
#      (the gpu tests SKIP when no device is present)
#   2. the CPU tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the libFuzzer targets (clang), each for a bounded time over its committed corpus
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install.sh
jobs=$(nproc)

echo "== release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
echo "== cpu tests"
ctest --test-dir build -L cpu --output-on-failure -j"$jobs"
echo "== gpu tests (skipped where no CUDA device is present)"
ctest --test-dir build -L gpu --output-on-failure

echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAV_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L cpu -LE slow --output-on-failure -j"$jobs"

echo "== fuzz targets (clang libFuzzer)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DAV_FUZZ=ON -DAV_CUDA=OFF >/dev/null
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz -L fuzz --output-on-failure
