#!/usr/bin/env bash
# Installs, builds and runs the main job on the embedded default: the real
# all-MiniLM-L6-v2 model over the bundled sentences.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/attnviz info .deps/models/all-MiniLM-L6-v2
