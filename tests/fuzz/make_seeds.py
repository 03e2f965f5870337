#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz_safetensors.c,
tests/fuzz_config.c) from the committed fixtures, keeping every seed a few KB:

  tests/fuzz/safetensors/seed-*   each broken checkpoint of tests/fixtures/models/bad/,
                                  a valid image of every dtype, and the real headers of
                                  the transformers-written fixtures with the data cut short
  tests/fuzz/config/seed-*        every fixture config.json / preprocessor_config.json
                                  (good and bad) and a few hand-written variants

Files named crash-* / slow-* / found-* in these folders are inputs the fuzzer found
(kept as regression cases; this script does not touch them).
    python3 tests/fuzz/make_seeds.py"""
import glob
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "fixtures", "models")


def write(folder, name, data):
    os.makedirs(os.path.join(HERE, folder), exist_ok=True)
    with open(os.path.join(HERE, folder, "seed-" + name), "wb") as f:
        f.write(data)


for folder in ("safetensors", "config"):
    for old in glob.glob(os.path.join(HERE, folder, "seed-*")):
        os.remove(old)

# safetensors ------------------------------------------------------------------------
for path in sorted(glob.glob(os.path.join(MODELS, "bad", "*", "*.safetensors"))):
    parts = path.split(os.sep)
    write("safetensors", f"bad-{parts[-2]}-{parts[-1]}", open(path, "rb").read())
entries, data, off = {}, b"", 0
for dtype, size in (("F32", 4), ("F16", 2), ("BF16", 2), ("F64", 8), ("I64", 8), ("I32", 4), ("I16", 2),
                    ("I8", 1), ("U8", 1), ("BOOL", 1), ("U16", 2), ("U32", 4), ("U64", 8),
                    ("F8_E4M3", 1), ("F8_E5M2", 1)):
    entries["t." + dtype] = {"dtype": dtype, "shape": [2, 1], "data_offsets": [off, off + 2 * size]}
    data += bytes(range(off % 200, off % 200 + 2 * size))
    off += 2 * size
entries["__metadata__"] = {"format": "pt"}
h = json.dumps(entries).encode()
write("safetensors", "all-dtypes", struct.pack("<Q", len(h)) + h + data)
h = json.dumps({"e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
                "s": {"dtype": "F16", "shape": [], "data_offsets": [0, 2]}}).encode() + b"   "
write("safetensors", "empty-and-scalar", struct.pack("<Q", len(h)) + h + b"\x00\x3c")
write("safetensors", "empty-header", struct.pack("<Q", 2) + b"{}")
for model in ("bert-tiny", "gpt2-tiny", "vit-tiny", "gpt2-tiny-sharded/model-00003-of-00003"):
    path = os.path.join(MODELS, model + ("" if model.endswith("3") else "/model") + ".safetensors")
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    write("safetensors", "real-header-" + model.split("/")[0], raw[:8 + n + 64])

# config -----------------------------------------------------------------------------
for path in sorted(glob.glob(os.path.join(MODELS, "*", "*config.json")) +
                   glob.glob(os.path.join(MODELS, "bad", "config-*", "config.json"))):
    parts = path.split(os.sep)
    write("config", f"{parts[-2]}-{parts[-1]}", open(path, "rb").read())
write("config", "gpt2-n-inner", json.dumps({"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": 8,
                                            "n_inner": 16, "n_positions": 4, "vocab_size": 3,
                                            "activation_function": "gelu_fast"}).encode())
write("config", "vit-list-sizes", json.dumps({"model_type": "vit", "num_hidden_layers": 1, "num_attention_heads": 1,
                                              "hidden_size": 8, "intermediate_size": 8, "image_size": [64, 64],
                                              "patch_size": [16, 16], "qkv_bias": False}).encode())
write("config", "pre-shortest-edge", json.dumps({"size": {"shortest_edge": 224}, "image_mean": 0.5,
                                                 "image_std": [0.2, 0.3, 0.4], "resample": 3}).encode())
write("config", "pre-int-size", b'{"size": 384, "do_resize": false, "rescale_factor": 0.5}')
