#!/usr/bin/env python3
"""bench_scaling.py - how the wall time of `attnviz extract` + `attnviz project` grows
(1) with the number of heads projected and (2) with the number of tokens.

(1) heads: a bert-base-shaped checkpoint (12 layers x 12 heads, d_head 64, hidden 768;
    random weights from transformers' BertModel(BertConfig()), seed 0, with the real
    uncased vocab of all-MiniLM-L6-v2) written once into the work folder; one extract of
    --heads-tokens tokens, then `attnviz project --heads` with 1 head (5:3), 12 heads (one
    per layer, L:L) and all 144, for t-SNE and PCA (2-D).
(2) tokens: the real all-MiniLM-L6-v2 (6 x 12 heads, d_head 32); for each size an extract
    of that many tokens, then t-SNE and PCA of one head (2:3) and of all 72 heads. A series
    stops growing once its next size is predicted (from its last two points) to take more
    than --cap seconds, so the run stays bounded; the cap and where each series stopped are
    written into the results.
Data: datasets/samples/sentences.txt (1000 sentences, ~28k MiniLM tokens) repeated as
often as needed (--data). Extract stores q/k as f16 (the default) and always all heads:
`--heads` selects what `project` computes. Threads: OMP_NUM_THREADS (bench_scaling.sh: 2).

Measure: wall seconds of each command (and CPU seconds of the child, all threads: the
steadier figure on a shared machine); a command that takes under --repeat-below seconds is
run 3 times and the median kept. Writes bench/RESULTS-scaling.md, bench/data/scaling_heads.json
and bench/data/scaling_tokens.json ("fit": the plot shows each series' growth exponent)."""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MINILM = os.path.join(ROOT, ".deps", "models", "all-MiniLM-L6-v2")


def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def run(cmd):
    """(wall, cpu) seconds of one command; raises with its last line of stderr on failure."""
    w, c = time.perf_counter(), child_cpu()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    w, c = time.perf_counter() - w, child_cpu() - c
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed (exit {r.returncode}): {last}")
    return w, c


def measure(cmd, repeat_below):
    """Median (wall, cpu) of 3 runs when one run is short, else of 1; and the run count."""
    first = run(cmd)
    if first[0] >= repeat_below:
        return first[0], first[1], 1
    runs = [first, run(cmd), run(cmd)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), 3


def make_bert_base(path):
    """bert-base-uncased shapes with random weights (no model hub: the vocab is MiniLM's,
    which is bert-base-uncased's)."""
    if os.path.exists(os.path.join(path, "model.safetensors")):
        return
    import torch
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    BertModel(BertConfig(), add_pooling_layer=False).eval().save_pretrained(tmp, safe_serialization=True)
    for f in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(MINILM, f), tmp)
    os.rename(tmp, path)


def extract(av, model, data, tokens, run_dir, repeat_below):
    cmd = [av, "extract", model, data, "-o", run_dir, "--max-tokens", str(tokens), "--quiet", "--force"]
    w, c, n = measure(cmd, repeat_below)
    m = json.load(open(os.path.join(run_dir, "manifest.json")))
    return w, c, n, m["num_tokens"]


_has_force = {}


def project(av, run_dir, method, heads, repeat_below):
    """Every run recomputes its heads: `project` keeps heads finished earlier (resume), so
    --force where the command has it."""
    if av not in _has_force:
        h = subprocess.run([av, "project", "--help"], capture_output=True, text=True)
        _has_force[av] = "--force" in h.stdout + h.stderr
    cmd = [av, "project", run_dir, "--method", method, "--dim", "2", "--heads", heads]
    if _has_force[av]:
        return measure(cmd + ["--force"], repeat_below)
    runs = []
    for _ in range(3):
        shutil.rmtree(os.path.join(run_dir, "proj"), ignore_errors=True)
        runs.append(run(cmd))
        if runs[0][0] >= repeat_below:
            break
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), len(runs)


def predict(xs, ys, x_next, default_exp):
    """Time at x_next extrapolated from the last two points (power law), or with
    default_exp from the last one."""
    import math
    if len(xs) >= 2 and ys[-2] > 0 and ys[-1] > 0 and xs[-1] != xs[-2]:
        e = max(math.log(ys[-1] / ys[-2]) / math.log(xs[-1] / xs[-2]), default_exp)
    else:
        e = default_exp
    return ys[-1] * (x_next / xs[-1]) ** e


def heads_part(a, rows, notes):
    model = os.path.join(a.work, "bert-base-random")
    make_bert_base(model)
    rd = os.path.join(a.work, "run_heads")
    w, c, n, T = extract(a.av, model, a.data, a.heads_tokens, rd, a.repeat_below)
    rows.append({"part": "heads", "model": "bert-base (random)", "tokens": T, "step": "extract (all 144 heads)",
                 "heads": 144, "wall_s": w, "cpu_s": c, "runs": n})
    print(json.dumps(rows[-1]), flush=True)
    sel = {1: "5:3", 12: ",".join(f"{l}:{l}" for l in range(12)), 144: "all"}
    for method in ("pca", "tsne"):
        prev = None
        for h in (1, 12, 144):
            # linear in heads is the worst case (heads share the threads): skip past the cap
            if prev and prev[1] * h / prev[0] > a.cap:
                notes.append(f"Heads: project {method} of {h} heads skipped (predicted "
                             f"{prev[1] * h / prev[0]:.0f} s, over the {a.cap:.0f} s cap).")
                break
            pw, pc, pn = project(a.av, rd, method, sel[h], a.repeat_below)
            prev = (h, pw)
            rows.append({"part": "heads", "model": "bert-base (random)", "tokens": T,
                         "step": f"project {method}", "heads": h, "wall_s": pw, "cpu_s": pc, "runs": pn})
            print(json.dumps(rows[-1]), flush=True)
    shutil.rmtree(rd, ignore_errors=True)
    notes.append(f"Heads: bert-base-shaped random checkpoint, {T} tokens ({2 * T} points per head).")


def tokens_part(a, rows, notes):
    series = {"extract": [], "project tsne 1 head": [], "project pca 1 head": [],
              "project tsne 72 heads": [], "project pca 72 heads": []}
    stopped = {}
    rd = os.path.join(a.work, "run_tokens")
    for size in a.sizes:
        # extract is needed by every series: stop when it alone would pass the cap
        ex = series["extract"]
        if ex and predict([r[0] for r in ex], [r[1] for r in ex], size, 1.0) > a.cap:
            stopped.setdefault("extract", size)
            break
        w, c, n, T = extract(a.av, MINILM, a.data, size, rd, a.repeat_below)
        ex.append((T, w))
        rows.append({"part": "tokens", "model": "all-MiniLM-L6-v2", "tokens": T, "step": "extract (all 72 heads)",
                     "heads": 72, "wall_s": w, "cpu_s": c, "runs": n})
        print(json.dumps(rows[-1]), flush=True)
        for method, heads, hsel, exp in (("pca", 1, "2:3", 1.0), ("tsne", 1, "2:3", 1.0),
                                         ("pca", 72, "all", 1.0), ("tsne", 72, "all", 1.0)):
            key = f"project {method} {heads} head" + ("s" if heads > 1 else "")
            s = series[key]
            if key in stopped:
                continue
            if s:
                guess = predict([r[0] for r in s], [r[1] for r in s], T, exp)
            elif heads > 1 and series[f"project {method} 1 head"]:
                # no point of its own yet: one head's time at this size, heads side by side
                guess = series[f"project {method} 1 head"][-1][1] * heads / a.threads
            else:
                guess = 0
            if guess > a.cap:
                stopped[key] = T
                continue
            pw, pc, pn = project(a.av, rd, method, hsel, a.repeat_below)
            s.append((T, pw))
            rows.append({"part": "tokens", "model": "all-MiniLM-L6-v2", "tokens": T, "step": f"project {method}",
                         "heads": heads, "wall_s": pw, "cpu_s": pc, "runs": pn})
            print(json.dumps(rows[-1]), flush=True)
    shutil.rmtree(rd, ignore_errors=True)
    for key, at in stopped.items():
        notes.append(f"Tokens: `{key}` stopped before {at} tokens (predicted over the {a.cap:.0f} s cap).")
    return series


def write(a, rows, notes):
    cpu = subprocess.run("lscpu | grep 'Model name' | sed 's/.*: *//'", shell=True,
                         capture_output=True, text=True).stdout.strip()
    gpu = subprocess.run("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1", shell=True,
                         capture_output=True, text=True).stdout.strip()
    lines = ["## Scaling: extract + project wall time vs heads and tokens", "",
             f"Machine: {cpu or platform.machine()}, {os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.1f} when written; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '?')}; "
             f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '?')}; GPU: {gpu or 'none'} "
             "(extract and project run with --device auto: on the GPU where there is one).",
             "Method and data: see bench/bench_scaling.py. t-SNE: 1000 iterations, perplexity 30; "
             "PCA: exact (covariance + LAPACK). Wall s = median of 3 when a run is under "
             f"{a.repeat_below:.0f} s, else 1 run; CPU s = the command's CPU time, all threads.",
             f"Cap: a series stops growing once its next size is predicted to take over {a.cap:.0f} s "
             "(BENCH_SCALING_CAP); 1M tokens is for a GPU machine (bench/run.sh there, a larger cap).", ""]
    fixed = ["Every command pays a fixed start of about 0.15 s (shared-library constructors, "
             "bench/RESULTS-safetensors.md), which flattens the smallest sizes and the fitted exponents."]
    lines += [f"- {n}" for n in notes + fixed]
    lines += ["", "| part | model | tokens | step | heads | wall s | CPU s | runs |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['part']} | {r['model']} | {r['tokens']} | {r['step']} | {r['heads']} | "
                     f"{r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['runs']} |")
    # per-head cost and the 144-head figure it predicts
    hv = {(r["step"], r["heads"]): r for r in rows if r["part"] == "heads"}
    for m in ("tsne", "pca"):
        one, all_ = hv.get((f"project {m}", 1)), hv.get((f"project {m}", 144))
        if one and all_:
            lines.append(f"\n{m}: 144 heads took {all_['wall_s'] / one['wall_s']:.1f}x the time of 1 head "
                         f"(linear in heads would be 144x; below that, heads run side by side on the threads).")
    with open(os.path.join(HERE, "RESULTS-scaling.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    ex = next((r for r in rows if r["part"] == "heads" and r["step"].startswith("extract")), None)
    hs = {}
    for r in rows:
        if r["part"] == "heads" and r["step"].startswith("project"):
            m = r["step"].split()[1]
            hs.setdefault(f"{m} only", {"x": [], "y": []})
            hs[f"{m} only"]["x"].append(r["heads"])
            hs[f"{m} only"]["y"].append(r["wall_s"])
            if ex:
                hs.setdefault(f"extract + {m}", {"x": [], "y": []})
                hs[f"extract + {m}"]["x"].append(r["heads"])
                hs[f"extract + {m}"]["y"].append(r["wall_s"] + ex["wall_s"])
    if hs:
        json.dump({"title": f"wall time vs heads projected (bert-base shape, {ex['tokens'] if ex else '?'} tokens)",
                   "xlabel": "heads", "ylabel": "wall seconds", "logx": True, "logy": True, "fit": True, "fit_var": "heads",
                   "series": [{"label": k, **v} for k, v in hs.items()]},
                  open(os.path.join(HERE, "data", "scaling_heads.json"), "w"), indent=1)
    ts = {}
    for r in rows:
        if r["part"] == "tokens":
            label = "extract (72 heads)" if r["step"].startswith("extract") else \
                f"{r['step'].split()[1]} {r['heads']} head{'s' if r['heads'] > 1 else ''}"
            ts.setdefault(label, {"x": [], "y": []})
            ts[label]["x"].append(r["tokens"])
            ts[label]["y"].append(r["wall_s"])
    if ts:
        json.dump({"title": f"wall time vs tokens (all-MiniLM-L6-v2, {gpu or 'CPU'})", "xlabel": "tokens",
                   "ylabel": "wall seconds", "logx": True, "logy": True, "fit": True, "fit_var": "tokens",
                   "series": [{"label": k, **v} for k, v in ts.items()]},
                  open(os.path.join(HERE, "data", "scaling_tokens.json"), "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--av", required=True)
    ap.add_argument("--data", required=True, help="text file, one sentence per line")
    ap.add_argument("--work", required=True, help="scratch folder (checkpoint, run folders)")
    ap.add_argument("--heads-tokens", type=int, default=4096)
    ap.add_argument("--sizes", type=int, nargs="+",
                    default=[1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000])
    ap.add_argument("--cap", type=float, default=600, help="seconds one measurement may be predicted to take")
    ap.add_argument("--repeat-below", type=float, default=5)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    ap.add_argument("--parts", nargs="+", default=["heads", "tokens"])
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows, notes = [], []
    try:
        if "heads" in a.parts:
            heads_part(a, rows, notes)
            write(a, rows, notes)
        if "tokens" in a.parts:
            tokens_part(a, rows, notes)
    finally:
        write(a, rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
