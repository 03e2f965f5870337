#!/usr/bin/env python3
"""The PyTorch side of bench/bench_extract_cpu.sh, and the random-weight checkpoints it uses.

  make OUT            writes OUT/bert-base (bert-base-uncased shapes, 12 x 12, d 64, with the
                      real uncased vocab from all-MiniLM-L6-v2) and OUT/gpt2 (GPT-2 small shapes
                      with the real GPT-2 vocab.json/merges.txt), random weights, save_pretrained.
  torch MODEL DATA N BATCH
                      what `attnviz extract` does, in transformers: the first N lines of DATA,
                      tokenized by the `tokenizers` library, sorted by length, batches of BATCH,
                      eager attention, every layer's q and k (and |v|) per head copied into
                      [L, H, T, d] float16 arrays through forward hooks. Prints one JSON line
                      with tokens, seconds and cpu_seconds (forward + copying only, as
                      attnviz's progress line counts, model loading and tokenizing excluded).
Thread count: torch.set_num_threads($OMP_NUM_THREADS).
"""
import json
import os
import resource
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make(out):
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model
    import shutil
    torch.manual_seed(0)
    d = os.path.join(out, "bert-base")
    if not os.path.exists(os.path.join(d, "model.safetensors")):
        os.makedirs(d, exist_ok=True)
        BertModel(BertConfig(), add_pooling_layer=False).eval().save_pretrained(d, safe_serialization=True)
        minilm = os.path.join(ROOT, ".deps", "models", "all-MiniLM-L6-v2")
        for f in ("vocab.txt", "tokenizer_config.json"):
            shutil.copy(os.path.join(minilm, f), d)
    d = os.path.join(out, "gpt2")
    if not os.path.exists(os.path.join(d, "model.safetensors")):
        os.makedirs(d, exist_ok=True)
        GPT2Model(GPT2Config()).eval().save_pretrained(d, safe_serialization=True)
        tok = os.path.join(ROOT, ".deps", "models", "gpt2-tokenizer")
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(tok, f), d)


def run_torch(model_dir, data, n, batch):
    from transformers import AutoModel
    from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    with open(data, encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip()][:n]
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    gpt2 = model.config.model_type == "gpt2"
    if gpt2:
        tok = ByteLevelBPETokenizer(os.path.join(model_dir, "vocab.json"), os.path.join(model_dir, "merges.txt"))
        enc = [tok.encode(l).ids[:model.config.n_positions] for l in lines]
    else:
        tok = BertWordPieceTokenizer(os.path.join(model_dir, "vocab.txt"), lowercase=True)
        enc = [tok.encode(l).ids[:model.config.max_position_embeddings] for l in lines]
    L, H = model.config.num_hidden_layers, model.config.num_attention_heads
    C = model.config.hidden_size
    d = C // H
    T = sum(len(e) for e in enc)
    off = np.cumsum([0] + [len(e) for e in enc])
    q = np.empty((L, H, T, d), np.float16)
    k = np.empty((L, H, T, d), np.float16)
    vn = np.empty((L, H, T), np.float16)
    order = sorted(range(len(enc)), key=lambda i: -len(enc[i]))
    state = {}

    def store(l, qq, kk, vv):
        for b, i in enumerate(state["items"]):
            n = len(enc[i])
            q[l, :, off[i]:off[i] + n] = qq[b, :n].reshape(n, H, d).transpose(0, 1).numpy()
            k[l, :, off[i]:off[i] + n] = kk[b, :n].reshape(n, H, d).transpose(0, 1).numpy()
            vn[l, :, off[i]:off[i] + n] = vv[b, :n].reshape(n, H, d).norm(dim=-1).T.numpy()

    hooks = []
    if gpt2:
        for l, blk in enumerate(model.h):
            hooks.append(blk.attn.c_attn.register_forward_hook(
                lambda m, i, o, l=l: store(l, o[..., :C], o[..., C:2 * C], o[..., 2 * C:])))
    else:
        for l, layer in enumerate(model.encoder.layer):
            a = layer.attention.self
            cap = {}
            hooks.append(a.query.register_forward_hook(lambda m, i, o, cap=cap: cap.__setitem__("q", o)))
            hooks.append(a.key.register_forward_hook(lambda m, i, o, cap=cap: cap.__setitem__("k", o)))
            hooks.append(a.value.register_forward_hook(
                lambda m, i, o, cap=cap, l=l: store(l, cap["q"], cap["k"], o)))
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    with torch.inference_mode():
        for s in range(0, len(order), batch):
            items = order[s:s + batch]
            w = len(enc[items[0]])
            ids = torch.zeros(len(items), w, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for b, i in enumerate(items):
                ids[b, :len(enc[i])] = torch.tensor(enc[i])
                mask[b, :len(enc[i])] = 1
            state["items"] = items
            model(input_ids=ids, attention_mask=mask)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(json.dumps({"tokens": int(T), "seconds": dt, "cpu_seconds": cpu, "items": len(enc)}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        run_torch(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
