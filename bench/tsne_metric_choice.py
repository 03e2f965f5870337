"""tsne_metric_choice.py - the measurement behind attnviz project's default --metric.

Extracts every head's q and k of all-MiniLM-L6-v2 (the embedded default model) on the
28 sentences of tests/fixtures/projections/make_fixtures.py with transformers, writes
them as a run folder, projects a spread of heads with `attnviz project` under both
metrics, and scores each projection by what the picture is for: a query should land
near the keys it attends to. Per query, over the keys of its own sentence, the Spearman
correlation between the attention logit q.k and minus the 2-D distance (higher is
better), averaged over queries and heads; plus kNN preservation at 10 against the
metric's own neighbours (the --quality figure). Writes bench/RESULTS-tsne-metric.md.
    .deps/venv/bin/python bench/tsne_metric_choice.py [--av build/attnviz]"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
from scipy.stats import spearmanr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def sentences():
    spec = importlib.util.spec_from_file_location(
        "mf", os.path.join(ROOT, "tests", "fixtures", "projections", "make_fixtures.py"))
    mf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mf)
    return mf.SENTENCES


def extract(path):
    import torch
    from transformers import AutoModel, AutoTokenizer
    model_dir = os.path.join(ROOT, ".deps", "models", "all-MiniLM-L6-v2")
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    L, H = model.config.num_hidden_layers, model.config.num_attention_heads
    dh = model.config.hidden_size // H
    qs, ks, items = [], [], []
    with torch.no_grad():
        for i, s in enumerate(sentences()):
            enc = tok(s, return_tensors="pt")
            hs = model(**enc, output_hidden_states=True).hidden_states
            T = enc["input_ids"].shape[1]
            q = np.stack([model.encoder.layer[l].attention.self.query(hs[l][0]).numpy().reshape(T, H, dh)
                          for l in range(L)])
            k = np.stack([model.encoder.layer[l].attention.self.key(hs[l][0]).numpy().reshape(T, H, dh)
                          for l in range(L)])
            qs.append(q.transpose(0, 2, 1, 3)); ks.append(k.transpose(0, 2, 1, 3)); items += [i] * T
    Q = np.concatenate(qs, axis=2).astype(np.float32)
    K = np.concatenate(ks, axis=2).astype(np.float32)
    T = Q.shape[2]
    os.makedirs(path)
    np.save(os.path.join(path, "q.npy"), Q)
    np.save(os.path.join(path, "k.npy"), K)
    items = np.array(items, np.int32)
    pos = np.concatenate([np.arange((items == i).sum()) for i in range(items.max() + 1)]).astype(np.int32)
    np.save(os.path.join(path, "token_item.npy"), items)
    np.save(os.path.join(path, "token_pos.npy"), pos)
    shape = [L, H, T, dh]
    json.dump({"format": "attnviz-run", "version": 1, "model_type": "bert", "model_dir": model_dir,
               "num_layers": L, "num_heads": H, "head_dim": dh, "num_items": int(items.max() + 1),
               "num_tokens": T, "dtype": "f32",
               "arrays": {"q": {"file": "q.npy", "dtype": "f32", "shape": shape},
                          "k": {"file": "k.npy", "dtype": "f32", "shape": shape},
                          "token_item": {"file": "token_item.npy", "dtype": "i32", "shape": [T]},
                          "token_pos": {"file": "token_pos.npy", "dtype": "i32", "shape": [T]}}},
              open(os.path.join(path, "manifest.json"), "w"))
    return Q, K, items


def agreement(Q, K, Y, items):
    T = len(Q)
    Yq, Yk = Y[:T], Y[T:]
    rs = []
    for i in range(T):
        same = np.where(items == items[i])[0]
        logit = K[same] @ Q[i]
        dist = np.linalg.norm(Yk[same] - Yq[i], axis=1)
        rs.append(spearmanr(logit, -dist).statistic)
    return float(np.nanmean(rs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--av", default=os.path.join(ROOT, "build", "attnviz"))
    ap.add_argument("--heads", default=",".join(f"{l}:{h}" for l in range(6) for h in (0, 4, 8)))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="metric_")
    try:
        run = os.path.join(tmp, "run")
        Q, K, items = extract(run)
        heads = [tuple(map(int, x.split(":"))) for x in a.heads.split(",")]
        res = {}
        for metric in ("euclidean", "cosine"):
            subprocess.run([a.av, "project", run, "--metric", metric, "--heads", a.heads, "--quality",
                            "--force"], check=True, stderr=subprocess.DEVNULL)
            Y = np.load(os.path.join(run, "proj", "tsne-2d.npy"))
            m = json.load(open(os.path.join(run, "manifest.json")))["projections"]["tsne-2d"]["heads"]
            pres = {(h["layer"], h["head"]): h["knn_preservation10"] for h in m}
            res[metric] = []
            for (l, h) in heads:
                # the agreement is about the cloud attnviz draws: translated keys change
                # no logit, so the raw q, k give the logits
                res[metric].append((l, h, agreement(Q[l, h], K[l, h], Y[l, h], items), pres[(l, h)]))
        lines = ["# t-SNE default metric: euclidean or cosine", "",
                 "Measured by bench/tsne_metric_choice.py on all-MiniLM-L6-v2, 28 sentences "
                 f"({Q.shape[2]} tokens, {2 * Q.shape[2]} points per head), {len(heads)} heads, "
                 "t-SNE 2-D with attnviz's defaults (perplexity 30, 1000 iterations, seed 42, keys translated).",
                 "", "Agreement = mean over queries of Spearman(q.k, -2-D distance) over the keys of the "
                 "query's sentence (higher: queries land nearer the keys they attend to). kNN preservation "
                 "at 10 is measured against each metric's own neighbours.", "",
                 "| head | agreement euclidean | agreement cosine | kNN pres. euclidean | kNN pres. cosine |",
                 "|---|---|---|---|---|"]
        for e, c in zip(res["euclidean"], res["cosine"]):
            lines.append(f"| {e[0]}:{e[1]} | {e[2]:.3f} | {c[2]:.3f} | {e[3]:.3f} | {c[3]:.3f} |")
        me = np.mean([r[2] for r in res["euclidean"]]); mc = np.mean([r[2] for r in res["cosine"]])
        pe = np.mean([r[3] for r in res["euclidean"]]); pc = np.mean([r[3] for r in res["cosine"]])
        wins = sum(e[2] > c[2] for e, c in zip(res["euclidean"], res["cosine"]))
        lines += [f"| mean | {me:.3f} | {mc:.3f} | {pe:.3f} | {pc:.3f} |", "",
                  f"Euclidean gives the higher agreement on {wins} of {len(heads)} heads."]
        out = os.path.join(HERE, "RESULTS-tsne-metric.md")
        open(out, "w").write("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
