#!/usr/bin/env bash
# Creates (once) the Python virtual environment .deps/venv with the peers of
# bench/requirements.txt. Only benchmarks and fixture scripts use it; tests never do.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.deps/venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp="$venv/.requirements.sha"
want=$(sha256sum "$root/bench/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$root/bench/requirements.txt"
  echo "$want" > "$stamp"
fi
