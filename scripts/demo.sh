#!/usr/bin/env bash
# Installs, builds and runs the main job on the embedded default: the real
# all-MiniLM-L6-v2 model (6 layers x 12 heads) over 60 of the bundled sentences:
# extract every head's q/k, t-SNE every head's joint cloud, compute the head
# statistics, and render the matrix view and one head's single view to PNGs.
# About 5-10 minutes on 2 CPU cores (the 72 t-SNE runs dominate).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
run=runs/minilm-sentences
./build/attnviz run .deps/models/all-MiniLM-L6-v2 datasets/samples/sentences.txt -o "$run" \
    --max-items 60 --force
./build/attnviz render "$run" --view matrix -o "$run/matrix.png"
./build/attnviz render "$run" --view single --head 0:2 --item 3 -o "$run/single-0-2.png"
./build/attnviz render "$run" --view sentence --head 0:2 --item 3 -o "$run/sentence-0-2.png"
echo
echo "Done. Pictures: $run/matrix.png, $run/single-0-2.png, $run/sentence-0-2.png"
echo "Statistics: ./build/attnviz stats $run    Explore: ./build/attnviz view $run"
