#!/usr/bin/env python3
"""bench_knn.py - the neighbour search side by side: attnviz's av_knn_build (kernels/knn/knn_cpu.c:
FAISS IndexFlatL2 = exact, HNSW32 with efSearch max(2k, 128) and an exact re-ranking of
k + 9 candidates = approx) against faiss-cpu called from Python (IndexFlatL2, IndexHNSWFlat
32 with the same efSearch; the HNSW once more with FAISS_SIMD_LEVEL=NONE, to tell the SIMD
level from the FAISS version) and scikit-learn's NearestNeighbors (algorithm auto), all with
the same thread count, on the same clouds:
  - Gaussian: n points of N(0, I) in d = 64 (bert-base's head size);
  - real: one head's joint q/k cloud (keys translated, docs/technique.md) from an `attnviz
    extract` run of all-MiniLM-L6-v2 over datasets/samples/sentences.txt (d = 32).
Euclidean metric everywhere. Every point's k neighbours exclude the point itself.

Measure: wall and CPU seconds (all threads) of index build + search of all n points,
median of --repeats runs; the tools take turns (tool A, B, C, then A, B, C again) so load
changes on a shared machine hit every tool alike. Recall@k against the engine's exact lists
(FAISS flat re-ranked in double), counting ties: a returned neighbour is a hit when its
squared distance is within the k-th true one (q/k clouds are full of duplicate points, so
which of several equally near points is listed is arbitrary).

Writes bench/RESULTS-knn.md and bench/data/knn_time.json. Run through bench/bench_knn.sh."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def drop_self(I, k):
    """The first k entries of each row of I [n, k+1] that are not the row's own index."""
    n = I.shape[0]
    out = np.empty((n, k), dtype=np.int64)
    own = I == np.arange(n)[:, None]
    for i in np.nonzero(own.any(1))[0]:
        out[i] = I[i][~own[i]][:k]
    rest = ~own.any(1)
    out[rest] = I[rest, :k]
    return out


def run_engine(driver, method, xpath, k, work):
    ipath = os.path.join(work, f"idx_{method}.npy")
    r = subprocess.run([driver, method, xpath, str(k), ipath], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"bench_knn_driver {method}: {r.stderr.strip()}")
    t = json.loads(r.stdout)
    return t["wall_s"], t["cpu_s"], np.load(ipath).astype(np.int64)


def run_faiss(X, k, method, threads):
    import faiss
    faiss.omp_set_num_threads(threads)
    d = X.shape[1]

    def go():
        if method == "exact":
            index = faiss.IndexFlatL2(d)
        else:
            index = faiss.IndexHNSWFlat(d, 32)
            index.hnsw.efSearch = max(2 * k, 128)
        index.add(X)
        _, I = index.search(X, k + 1)
        return drop_self(I, k)
    return timed(go)


SIMD_OFF = r"""
import json, sys, time, numpy as np, faiss
X = np.load(sys.argv[1]); k = int(sys.argv[2]); faiss.omp_set_num_threads(int(sys.argv[3]))
w, c = time.perf_counter(), time.process_time()
index = faiss.IndexHNSWFlat(X.shape[1], 32)
index.hnsw.efSearch = max(2 * k, 128)
index.add(X)
_, I = index.search(X, k + 1)
w, c = time.perf_counter() - w, time.process_time() - c
np.save(sys.argv[4], I)
print(json.dumps({"wall_s": w, "cpu_s": c, "simd": faiss.get_compile_options().strip()}))
"""


def run_faiss_simd_off(xpath, k, threads, work):
    """faiss-cpu's HNSW with its SIMD kernels switched off (FAISS_SIMD_LEVEL=NONE), in a
    fresh process: separates what the SIMD level explains of the gap between the FAISS
    builds from what their versions explain."""
    ipath = os.path.join(work, "idx_simd_off.npy")
    env = dict(os.environ, FAISS_SIMD_LEVEL="NONE")
    r = subprocess.run([sys.executable, "-c", SIMD_OFF, xpath, str(k), str(threads), ipath],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"faiss-cpu with FAISS_SIMD_LEVEL=NONE: {r.stderr.strip()[-300:]}")
    t = json.loads(r.stdout.strip().splitlines()[-1])
    return t["wall_s"], t["cpu_s"], drop_self(np.load(ipath), k)


def run_sklearn(X, k, threads):
    from sklearn.neighbors import NearestNeighbors
    from threadpoolctl import threadpool_limits

    def go():
        with threadpool_limits(threads):
            nn = NearestNeighbors(n_neighbors=k + 1, n_jobs=threads).fit(X)
            _, I = nn.kneighbors(X)
        return drop_self(I, k)
    return timed(go)


def sqdist(X, I):
    """Squared distances from every point i to the points I[i], in double."""
    out = np.empty(I.shape, dtype=np.float64)
    step = 8192
    for s in range(0, len(I), step):
        a = X[s:s + step].astype(np.float64)[:, None, :]
        b = X[I[s:s + step]].astype(np.float64)
        out[s:s + step] = ((a - b) ** 2).sum(-1)
    return out


def recall(X, I, kth):
    """Fraction of listed neighbours no farther than the k-th true neighbour (ties count)."""
    ok = (I >= 0) & (I != np.arange(len(I))[:, None])
    dist = sqdist(X, np.where(I >= 0, I, 0))
    return float((ok & (dist <= kth[:, None] * (1 + 1e-6) + 1e-12)).mean())


def real_cloud(run, n, layer, head):
    m = json.load(open(os.path.join(run, "manifest.json")))
    T = min(n // 2, m["num_tokens"])
    q = np.load(os.path.join(run, "q.npy"), mmap_mode="r")[layer, head, :T].astype(np.float32)
    k = np.load(os.path.join(run, "k.npy"), mmap_mode="r")[layer, head, :T].astype(np.float32)
    k = k - k.mean(0) + q.mean(0)  # key translation, as attnviz project does by default
    return np.ascontiguousarray(np.concatenate([q, k]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--run", help="an extract run folder for the real clouds")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 200000])
    ap.add_argument("--ks", type=int, nargs="+", default=[15, 90])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="runs per tool up to 50k points (median)")
    ap.add_argument("--sklearn-max", type=int, default=50000)
    ap.add_argument("--layer", type=int, default=2)
    ap.add_argument("--head", type=int, default=3)
    a = ap.parse_args()
    rows = []
    work = tempfile.mkdtemp(prefix="bench_knn_")
    rng = np.random.default_rng(0)
    try:
        clouds = []
        for n in a.sizes:
            clouds.append(("gaussian", n, lambda n=n: rng.standard_normal((n, 64), dtype=np.float32)))
            if a.run:
                clouds.append(("real q/k", n, lambda n=n: real_cloud(a.run, n, a.layer, a.head)))
        for data, n, make in clouds:
            X = make()
            n = len(X)
            xpath = os.path.join(work, "X.npy")
            np.save(xpath, X)
            for k in a.ks:
                tools = [("attnviz exact", lambda: run_engine(a.driver, "exact", xpath, k, work)),
                         ("attnviz approx", lambda: run_engine(a.driver, "approx", xpath, k, work)),
                         ("faiss-cpu flat", lambda: run_faiss(X, k, "exact", a.threads)),
                         ("faiss-cpu HNSW32", lambda: run_faiss(X, k, "approx", a.threads)),
                         ("faiss-cpu HNSW32, SIMD off", lambda: run_faiss_simd_off(xpath, k, a.threads, work))]
                if n <= a.sklearn_max:
                    tools.append(("sklearn NearestNeighbors", lambda: run_sklearn(X, k, a.threads)))
                reps = a.repeats if n <= 50000 else 1
                times = {name: [] for name, _ in tools}
                lists = {}
                for _ in range(reps):
                    for name, fn in tools:
                        w, c, I = fn()
                        times[name].append((w, c))
                        lists[name] = I
                truth = lists["attnviz exact"]
                kth = sqdist(X, truth[:, -1:])[:, 0]
                for name, _ in tools:
                    w = statistics.median(t[0] for t in times[name])
                    c = statistics.median(t[1] for t in times[name])
                    r = recall(X, lists[name], kth)
                    rows.append({"data": data, "n": n, "d": X.shape[1], "k": k, "tool": name,
                                 "wall_s": w, "cpu_s": c, "recall": r, "runs": reps})
                    print(json.dumps(rows[-1]), flush=True)
                write(a, rows)
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


def write(a, rows):
    import faiss
    import sklearn
    cpu = subprocess.run("lscpu | grep 'Model name' | sed 's/.*: *//'", shell=True,
                         capture_output=True, text=True).stdout.strip()
    peer = {"attnviz exact": "faiss-cpu flat", "attnviz approx": "faiss-cpu HNSW32"}
    lines = ["## Neighbour search: attnviz (FAISS C API) vs faiss-cpu and scikit-learn", "",
             f"Machine: {cpu or platform.machine()}, {os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.1f} when written; {a.threads} threads for every tool (OpenMP and BLAS).",
             f"Peers: faiss-cpu {faiss.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}.",
             "Clouds: Gaussian N(0, I) in d = 64; real = all-MiniLM-L6-v2 layer "
             f"{a.layer} head {a.head}, queries + translated keys (d = 32) of the first n/2 tokens of "
             "datasets/samples/sentences.txt (repeated when n/2 exceeds its ~27k tokens). Euclidean.",
             "attnviz exact = IndexFlatL2; approx = HNSW32, efSearch max(2k, 128), k + 9 candidates "
             "re-ranked by exact distance (kernels/knn/knn_cpu.c). faiss-cpu: the same indexes called plainly "
             "(k + 1, no re-ranking). scikit-learn: NearestNeighbors(algorithm='auto'), "
             f"up to {a.sklearn_max} points.",
             "Time: index build + search of every point, median of the runs (tools alternate). "
             "Recall@k: against attnviz exact, ties counted (see bench/bench_knn.py).", "",
             "| cloud | n | d | k | tool | wall s | CPU s | recall@k | runs | faiss-cpu / attnviz, wall / CPU |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = ""
        p = next((q for q in rows if q["tool"] == peer.get(r["tool"]) and
                  (q["data"], q["n"], q["k"]) == (r["data"], r["n"], r["k"])), None)
        if p:
            ratio = f"{p['wall_s'] / r['wall_s']:.2f}x / {p['cpu_s'] / max(r['cpu_s'], 1e-9):.2f}x"
        lines.append(f"| {r['data']} | {r['n']} | {r['d']} | {r['k']} | {r['tool']} | {r['wall_s']:.3f} | "
                     f"{r['cpu_s']:.3f} | {r['recall']:.4f} | {r['runs']} | {ratio} |")
    lines += ["", "faiss-cpu / attnviz > 1: attnviz faster than the same FAISS index called from Python. "
              "The engine also re-ranks in double and drops the point itself, which the plain calls do not."]
    # the two FAISS builds differ in their SIMD kernels, which decides HNSW's speed
    deb = "/usr/lib/x86_64-linux-gnu/libfaiss.a"
    avx2 = subprocess.run(f"nm -C {deb} 2>/dev/null | grep -ci avx2", shell=True, capture_output=True,
                          text=True).stdout.strip()
    try:
        opts = faiss.get_compile_options().strip()
    except AttributeError:
        opts = "?"
    lines += ["", f"FAISS builds: attnviz links Debian's {deb} (FAISS 1.7.3; symbols naming AVX2: "
              f"{avx2 or '?'}); faiss-cpu {faiss.__version__} was built with `{opts}` and picks the widest "
              "SIMD level its CPU has. The row \"faiss-cpu HNSW32, SIMD off\" runs it with "
              "FAISS_SIMD_LEVEL=NONE: what remains of the HNSW gap between it and attnviz approx comes "
              "from the two FAISS versions and builds (same index, same parameters), not the SIMD width. The flat "
              "index's time is a BLAS GEMM in both."]
    with open(os.path.join(HERE, "RESULTS-knn.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    series = {}
    for r in rows:
        if r["data"] == "gaussian" and r["k"] == min(a.ks):
            s = series.setdefault(r["tool"], {"x": [], "y": []})
            s["x"].append(r["n"])
            s["y"].append(r["wall_s"])
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    with open(os.path.join(HERE, "data", "knn_time.json"), "w") as f:
        json.dump({"title": f"kNN graph (k = {min(a.ks)}), Gaussian d = 64, {a.threads} threads",
                   "xlabel": "points", "ylabel": "wall seconds", "logx": True, "logy": True, "fit": True,
                   "series": [{"label": k, **v} for k, v in series.items()]}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
