"""bench_umap.py - driven by bench/bench_umap.sh: UMAP of attnviz vs umap-learn and
PCA vs scikit-learn on real q/k clouds (all-MiniLM-L6-v2, layer 2 head 3, keys
translated), at N = 10k and 50k points. Same threads (2, set by the caller), same
n_neighbors (15), min_dist (0.1) and epochs (500 up to 10k points, else 200).
Trustworthiness (k = 15) is computed by scikit-learn on the same random 5000-point
subset of every layout (the full O(N^2) version does not fit this machine at 50k).
Writes bench/RESULTS-umap.md, bench/data/umap_time.json (plot) and the measured rows
bench/data/umap_rows.json, pca_rows.json (so --what umap|pca can rerun one part)."""
import argparse
import json
import os
import platform
import random
import subprocess
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", ".deps", "models", "all-MiniLM-L6-v2")


def sentences(count, seed):
    rng = random.Random(seed)
    subj = ["the old man", "a small dog", "my sister", "the committee", "every student", "the river",
            "our neighbour", "a young engineer", "the city council", "the cat", "a tired nurse", "the band"]
    verb = ["walked along", "looked at", "wrote about", "argued with", "painted", "carried", "ignored",
            "visited", "repaired", "described", "sold", "remembered"]
    obj = ["the bridge", "a long letter", "the broken window", "her friends", "the mountain", "an empty house",
           "the final report", "the blue car", "a quiet garden", "the market", "an old song", "the harbour"]
    tail = ["yesterday", "in the morning", "before the storm", "without a word", "again", "after dinner",
            "for an hour", "with great care", "last summer", "on Sunday", "at midnight", "twice"]
    out = []
    for _ in range(count):
        s = f"{rng.choice(subj)} {rng.choice(verb)} {rng.choice(obj)} {rng.choice(tail)}"
        if rng.random() < 0.6:
            s += f", and {rng.choice(subj)} {rng.choice(verb)} {rng.choice(obj)} {rng.choice(tail)}"
        out.append(s[0].upper() + s[1:] + ".")
    return out


def qk_cloud(n_points, path, layer=2, head=3):
    if os.path.exists(path):
        return np.load(path)
    import torch
    from transformers import AutoTokenizer, BertModel
    tok = AutoTokenizer.from_pretrained(MODEL)
    model = BertModel.from_pretrained(MODEL).eval()
    att = model.encoder.layer[layer].attention.self
    d = model.config.hidden_size // model.config.num_attention_heads
    got = {}
    att.query.register_forward_hook(lambda m, i, o: got.__setitem__("q", o))
    att.key.register_forward_hook(lambda m, i, o: got.__setitem__("k", o))
    qs, ks, n, T = [], [], 0, n_points // 2
    sents = sentences(4 * T // 10 + 100, 3)
    for b in range(0, len(sents), 64):
        enc = tok(sents[b:b + 64], return_tensors="pt", padding=True)
        with torch.no_grad():
            model(**enc)
        mask = enc["attention_mask"].bool()
        qs.append(got["q"][mask][:, head * d:(head + 1) * d].numpy())
        ks.append(got["k"][mask][:, head * d:(head + 1) * d].numpy())
        n += qs[-1].shape[0]
        if n >= T:
            break
    Q, K = np.concatenate(qs)[:T], np.concatenate(ks)[:T]
    K = K - K.mean(0) + Q.mean(0)
    X = np.concatenate([Q, K]).astype(np.float32)
    np.save(path, X)
    return X


def trust(X, Y, idx):
    from sklearn.manifold import trustworthiness
    return float(trustworthiness(X[idx], Y[idx], n_neighbors=15))


def run_umap(a, sizes):
    import umap
    umap.UMAP(n_neighbors=15, n_jobs=2).fit_transform(np.random.default_rng(0).normal(size=(600, 8)))  # numba JIT warm-up
    rows = []
    for n in sizes:
        xpath, ypath = os.path.join(a.work, f"qk_{n}.npy"), os.path.join(a.work, f"umap_{n}.npy")
        X = qk_cloud(n, xpath)
        epochs = 500 if n <= 10000 else 200
        idx = np.random.default_rng(0).choice(n, size=min(n, 5000), replace=False)
        t0, c0 = time.time(), time.process_time()
        Yr = umap.UMAP(n_neighbors=15, min_dist=0.1, n_epochs=epochs, n_jobs=2).fit_transform(X)
        t_ref, c_ref = time.time() - t0, time.process_time() - c0
        np.save(os.path.join(a.work, f"umap_learn_{n}.npy"), Yr.astype(np.float32))
        out = subprocess.run([a.driver, "umap", xpath, ypath, str(epochs)], capture_output=True, text=True, check=True)
        ours = json.loads(out.stdout)
        Y = np.load(ypath)
        rows.append({"n": n, "epochs": epochs, "ref_s": t_ref, "ours_s": ours["total_s"],
                     "ref_cpu": c_ref, "ours_cpu": ours["cpu_s"], "knn_s": ours["knn_s"], "layout_s": ours["layout_s"],
                     "ref_trust": trust(X, Yr, idx), "ours_trust": trust(X, Y, idx), "engine_knn": a.engine_knn})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def run_pca(a, sizes):
    from sklearn.decomposition import PCA
    rows = []
    for n in sizes:
        xpath = os.path.join(a.work, f"qk_{n}.npy")
        X = qk_cloud(n, xpath)
        best = {}
        for rep in range(3):   # best of 3: both sides take well under a second
            t0, c0 = time.time(), time.process_time()
            p = PCA(n_components=2, svd_solver="full").fit(X)
            t_sk, c_sk = time.time() - t0, time.process_time() - c0
            yp, cp = os.path.join(a.work, f"pca_{n}.npy"), os.path.join(a.work, f"pcac_{n}.npy")
            out = subprocess.run([a.driver, "pca", xpath, yp, cp, "2"], capture_output=True, text=True, check=True)
            po = json.loads(out.stdout)
            best["sk_s"] = min(best.get("sk_s", 1e9), t_sk)
            best["sk_cpu"] = min(best.get("sk_cpu", 1e9), c_sk)
            best["ours_s"] = min(best.get("ours_s", 1e9), po["total_s"])
            best["ours_cpu"] = min(best.get("ours_cpu", 1e9), po["cpu_s"])
        C = np.load(cp)
        diff = max(min(np.abs(C[i] - p.components_[i]).max(), np.abs(C[i] + p.components_[i]).max()) for i in range(2))
        rows.append({"n": n, **best, "comp_diff": float(diff)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def render():
    import sklearn
    import umap
    rows = json.load(open(os.path.join(HERE, "data", "umap_rows.json"))) if os.path.exists(os.path.join(HERE, "data", "umap_rows.json")) else []
    pca_rows = json.load(open(os.path.join(HERE, "data", "pca_rows.json"))) if os.path.exists(os.path.join(HERE, "data", "pca_rows.json")) else []
    cpu = subprocess.run("lscpu | grep 'Model name' | sed 's/.*: *//'", shell=True, capture_output=True, text=True).stdout.strip()
    engine_knn = any(r.get("engine_knn") for r in rows)
    lines = ["## UMAP and PCA vs umap-learn / scikit-learn", "",
             f"Machine: {cpu}, {os.cpu_count()} cores (shared with other jobs while measured), {platform.platform()}.",
             f"Peers: umap-learn {umap.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}; "
             "threads 2 on both sides (OMP/NUMBA/OPENBLAS_NUM_THREADS=2, n_jobs=2).",
             "Data: real q/k clouds (all-MiniLM-L6-v2 layer 2 head 3, keys translated), d = 32. "
             "n_neighbors 15, min_dist 0.1, epochs 500 (N <= 10k) / 200. umap-learn: NN-descent + its "
             "SGD, numba compiled beforehand (warm-up run not timed). attnviz: kNN graph (" +
             ("av_knn_build, the engine's FAISS path" if engine_knn else
              "exact FAISS IndexFlatL2 called by the driver; kernels/knn/knn_cpu.c was not yet in that build") +
             ") + av_umap_from_knn (spectral init by Lanczos, SGD).",
             "Trustworthiness k = 15 by scikit-learn on one random 5000-point subset of each layout.",
             "Times: wall seconds, and CPU seconds of all threads (the steadier figure on a shared machine).", "",
             "| N | epochs | umap-learn wall / CPU s | attnviz wall (kNN + layout) / CPU s | speed-up wall / CPU | trust umap-learn | trust attnviz | diff |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['n']} | {r['epochs']} | {r['ref_s']:.2f} / {r['ref_cpu']:.2f} | {r['ours_s']:.2f} ({r['knn_s']:.2f} + {r['layout_s']:.2f}) / {r['ours_cpu']:.2f} | "
                     f"{r['ref_s'] / r['ours_s']:.2f}x / {r['ref_cpu'] / r['ours_cpu']:.2f}x | {r['ref_trust']:.4f} | {r['ours_trust']:.4f} | {r['ours_trust'] - r['ref_trust']:+.4f} |")
    if rows:
        goal = all(r["ref_s"] / r["ours_s"] >= 2 and r["ours_trust"] >= r["ref_trust"] - 0.01 for r in rows)
        lines += ["", "Goal (>= 2x faster wall time, trustworthiness at most 0.01 below umap-learn; higher is better): "
                  f"{'met' if goal else 'NOT met'} at every size measured."]
    if pca_rows:
        lines += ["", "PCA (2 components; best of 3 runs each): scikit-learn PCA(svd_solver='full') vs av_pca.", "",
                  "| N | scikit-learn wall / CPU s | attnviz av_pca wall / CPU s | speed-up wall | max component diff (up to sign) |",
                  "|---|---|---|---|---|"]
        for r in pca_rows:
            lines.append(f"| {r['n']} | {r['sk_s']:.3f} / {r['sk_cpu']:.3f} | {r['ours_s']:.3f} / {r['ours_cpu']:.3f} | "
                         f"{r['sk_s'] / r['ours_s']:.2f}x | {r['comp_diff']:.1e} |")
    else:
        lines += ["", "PCA: not measured yet (bench/bench_pca.sh)."]
    lines += ["", "Notes:",
              "- The machine these figures come from is shared by several jobs (load average far above the",
              "  core count while measuring), so wall times carry large noise; CPU seconds are the steadier",
              "  comparison. Rerun on a quiet machine before quoting a speed-up.",
              "- Where the attnviz time goes (perf, 10k points, 1 thread): the SGD epochs ~85% (a third of",
              "  it in powf), Lanczos spectral init ~8%, the exact kNN graph ~3%.",
              "- The SGD does the same number of edge and negative samples as umap-learn (same",
              "  epochs_per_sample schedule); the speed-up comes from the FAISS kNN graph (exact BLAS search",
              "  up to 20k points, HNSW re-ranked above) instead of NN-descent, the Lanczos init instead of",
              "  ARPACK through scipy, and float32 C loops.",
              "- attnviz's trustworthiness is higher than umap-learn's: by ~0.01 at 10k, by ~0.14 at 50k,",
              "  where umap-learn's layout mixes queries and keys far more (seen in a scatter plot; its",
              "  layouts are kept in build/bench_umap/umap_learn_*.npy). The 50k figure repeated in an",
              "  earlier run (exact kNN in the driver: umap-learn 0.8030, attnviz 0.9391, 3.0x faster in",
              "  wall and CPU). Not the kNN graph: NN-descent's recall@15 against the exact graph is 0.970",
              "  there, and both graphs have 419 connected components. The likely cause is where the",
              "  components start: umap-learn places them by a spectral embedding of exp(-d^2) between",
              "  component centroids, nearly the identity matrix at centroid distances of several units",
              "  (so unrelated components end up side by side), attnviz by the centroids' PCA",
              "  (kernels/umap/umap_init.c), so neighbouring components start near each other."]
    with open(os.path.join(HERE, "RESULTS-umap.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if rows:
        with open(os.path.join(HERE, "data", "umap_time.json"), "w") as f:
            json.dump({"title": "UMAP time, q/k cloud, 2 threads", "xlabel": "points", "ylabel": "seconds",
                       "logx": True, "logy": True, "fit": True,
                       "series": [{"label": "umap-learn", "x": [r["n"] for r in rows], "y": [r["ref_s"] for r in rows]},
                                  {"label": "attnviz", "x": [r["n"] for r in rows], "y": [r["ours_s"] for r in rows]}]}, f)
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--pca", type=int, default=0, help="1 when the driver was built with av_pca")
    ap.add_argument("--engine-knn", type=int, default=0)
    ap.add_argument("--what", choices=["all", "umap", "pca", "render"], default="all")
    a = ap.parse_args()
    sizes = [10000] if a.quick else [10000, 50000]
    # each part keeps its rows in bench/data/, so the PCA and UMAP parts can run apart
    if a.what in ("all", "umap"):
        json.dump(run_umap(a, sizes), open(os.path.join(HERE, "data", "umap_rows.json"), "w"), indent=1)
    if a.what in ("all", "pca") and a.pca:
        json.dump(run_pca(a, sizes), open(os.path.join(HERE, "data", "pca_rows.json"), "w"), indent=1)
    render()


if __name__ == "__main__":
    main()
