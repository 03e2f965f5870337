#!/usr/bin/env python3
"""Helpers of bench/bench_extract_gpu.sh (GPU machine; torch + transformers, no network).

  models OUT N        random-weight bert-base-uncased and gpt2 (small) shaped checkpoints
                      in OUT/{bert-base,gpt2}/ (save_pretrained, safetensors, seed 0) with
                      tokenizer files our engine reads, and OUT/{bert,gpt2}.txt: N lines
                      that tokenize to exactly 128 tokens each (BERT: 126 vocab words +
                      [CLS] [SEP]; GPT-2: 128 letters, one byte-level token each, since the
                      merges list is empty)
  torch DIR N DTYPE [QK_OUT]
                      transformers on the GPU, batch 32 x 128, N items of random ids:
                      prints JSON {forward_tok_s, extract_tok_s}. forward = the forward pass
                      alone; extract = forward + every layer's q and k to the host as f16 in
                      the run folder's [L, H, tokens, d] layout, written to QK_OUT/q.npy and
                      k.npy (np.lib.format.open_memmap), i.e. the job attnviz extract does.
                      DTYPE f32 or bf16 (torch.autocast).
  peak M K N          the GEMM ceiling measured through torch (cuBLAS) at the models'
                      widest GEMM shape, f32 (TF32 off, as attnviz's f32) and bf16: JSON
                      {"f32": TFLOP/s, "bf16": TFLOP/s}, each the median of 50 timed runs
                      (CUDA events) after warm-up, on random data
  flops DIR           GEMM FLOPs per token of the checkpoint in DIR at 128 tokens (every
                      linear layer, plus the attention products q.k and p.v): JSON
Tokens per second count real tokens (no padding here: every item is 128 long)."""
import json
import os
import sys
import time

import numpy as np

SEQ, BATCH = 128, 32


def make_models(out, n):
    import torch
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model
    torch.manual_seed(0)
    bdir = os.path.join(out, "bert-base")
    BertModel(BertConfig(), add_pooling_layer=False).save_pretrained(bdir, safe_serialization=True)
    words = [f"w{i}" for i in range(30522 - 5)]
    with open(os.path.join(bdir, "vocab.txt"), "w") as f:
        f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n")
    with open(os.path.join(bdir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    rng = np.random.default_rng(0)
    with open(os.path.join(out, "bert.txt"), "w") as f:
        for _ in range(n):
            f.write(" ".join(words[i] for i in rng.integers(0, len(words), SEQ - 2)) + "\n")

    gdir = os.path.join(out, "gpt2")
    GPT2Model(GPT2Config()).save_pretrained(gdir, safe_serialization=True)
    # GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest above 255.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    k = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + k)
            k += 1
    vocab = {chr(c): i for i, c in enumerate(cs)}
    for i in range(len(vocab), 50256):
        vocab[f"tok{i}"] = i
    vocab["<|endoftext|>"] = 50256
    with open(os.path.join(gdir, "vocab.json"), "w") as f:
        json.dump(vocab, f)
    with open(os.path.join(gdir, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n")
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    with open(os.path.join(out, "gpt2.txt"), "w") as f:
        for _ in range(n):
            f.write("".join(rng.choice(letters, SEQ)) + "\n")


def qk_modules(model):
    """Per layer, (module, how to get q and k from its output [B, T, *])."""
    mods = dict(model.named_modules())
    layers = []
    if model.config.model_type == "bert":
        for i in range(model.config.num_hidden_layers):
            p = f"encoder.layer.{i}.attention.self."
            layers.append(((mods[p + "query"], "q"), (mods[p + "key"], "k")))
    else:
        C = model.config.n_embd
        for i in range(model.config.n_layer):
            layers.append(((mods[f"h.{i}.attn.c_attn"], ("qkv", C)),))
    return layers


def run_torch(model_dir, n, dtype, qk_out, device="cuda"):
    import torch
    from transformers import AutoModel
    dev = torch.device(device)
    model = AutoModel.from_pretrained(model_dir).to(dev).eval()
    cfg = model.config
    L = cfg.num_hidden_layers if cfg.model_type == "bert" else cfg.n_layer
    H = cfg.num_attention_heads if cfg.model_type == "bert" else cfg.n_head
    C = cfg.hidden_size if cfg.model_type == "bert" else cfg.n_embd
    d = C // H
    ids = torch.randint(0, cfg.vocab_size, (n, SEQ), generator=torch.Generator().manual_seed(0))
    total = n * SEQ
    state = {"off": 0, "n": 0}
    qmm = kmm = None
    if qk_out:
        os.makedirs(qk_out, exist_ok=True)
        qmm = np.lib.format.open_memmap(os.path.join(qk_out, "q.npy"), "w+", np.float16, (L, H, total, d))
        kmm = np.lib.format.open_memmap(os.path.join(qk_out, "k.npy"), "w+", np.float16, (L, H, total, d))

    def store(mm, layer, x):
        # [B, T, C] -> [H, B*T, d] f16 on the host, at this batch's token offset.
        h = x.reshape(-1, H, d).transpose(0, 1).to(torch.float16).cpu().numpy()
        mm[layer, :, state["off"]:state["off"] + state["n"], :] = h

    hooks = []
    if qk_out:
        for layer, entries in enumerate(qk_modules(model)):
            for mod, what in entries:
                def hook(m, inp, out, layer=layer, what=what):
                    if what == "q":
                        store(qmm, layer, out)
                    elif what == "k":
                        store(kmm, layer, out)
                    else:
                        store(qmm, layer, out[..., :what[1]])
                        store(kmm, layer, out[..., what[1]:2 * what[1]])
                hooks.append(mod.register_forward_hook(hook))

    def once():
        for s in range(0, n, BATCH):
            batch = ids[s:s + BATCH].to(dev, non_blocking=True)
            state["off"], state["n"] = s * SEQ, batch.numel()
            with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dtype == "bf16"):
                model(input_ids=batch)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    once()   # warm-up: cuBLAS heuristics, allocator, page cache of the memmap
    t = time.perf_counter()
    once()
    dt = time.perf_counter() - t
    for h in hooks:
        h.remove()
    if qmm is not None:
        qmm.flush()
        kmm.flush()
    return total / dt


def gemm_peak(M, K, N):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    out = {}
    for name, dt in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        g = torch.Generator(device="cuda").manual_seed(0)
        a = torch.randn(M, K, device="cuda", dtype=dt, generator=g)
        b = torch.randn(K, N, device="cuda", dtype=dt, generator=g)
        for _ in range(10):
            a @ b
        times = []
        for _ in range(50):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            a @ b
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e) / 1e3)
        times.sort()
        out[name] = 2.0 * M * K * N / times[len(times) // 2] / 1e12
    return out


def flops_per_token(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    L = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    C = cfg.get("hidden_size", cfg.get("n_embd"))
    I = cfg.get("intermediate_size") or cfg.get("n_inner") or 4 * C
    linear = 2 * (4 * C * C + 2 * C * I)   # q, k, v, out; MLP up and down
    attention = 2 * 2 * SEQ * C            # q.k over the keys, p.v over the values
    return L * (linear + attention)


def main():
    if sys.argv[1] == "peak":
        print(json.dumps(gemm_peak(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    elif sys.argv[1] == "flops":
        print(json.dumps(flops_per_token(sys.argv[2])))
    elif sys.argv[1] == "models":
        make_models(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "torch":
        model_dir, n, dtype = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        qk_out = sys.argv[5] if len(sys.argv) > 5 else None
        fwd = run_torch(model_dir, n, dtype, None)
        ext = run_torch(model_dir, n, dtype, qk_out) if qk_out else None
        print(json.dumps({"forward_tok_s": fwd, "extract_tok_s": ext}))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
