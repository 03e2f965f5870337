"""goals.py - the summary table at the top of bench/RESULTS.md: every performance goal of
the issues, the figure the benchmarks measured, and how far it is from the goal.

The figures are read from what each benchmark writes (bench/RESULTS-<topic>.md tables,
bench/data/*.json); nothing here measures. A goal whose figures are absent, or written in
a shape this file does not recognise, says "not measured" and where the figure should come
from, never a guess. Used by collect.py; `python bench/goals.py` prints the table alone."""
import json
import math
import os
import re

NUM = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def num(cell, which=0):
    """The which-th number in a table cell ("2.97x / 3.45x" -> 2.97, 3.45), or None."""
    found = [m.group(0).replace(",", "") for m in NUM.finditer(cell or "")]
    try:
        return float(found[which])
    except (IndexError, ValueError):
        return None


def tables(path):
    """Every markdown table of a file, as lists of {header: cell} rows."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return []
    out, i = [], 0
    while i + 1 < len(lines):
        if lines[i].lstrip().startswith("|") and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1]):
            head = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(dict(zip(head, cells)))
                i += 1
            out.append(rows)
        else:
            i += 1
    return out


def col(row, *names):
    """The cell of the first column whose header contains one of names (case-insensitive)."""
    for name in names:
        for h, v in row.items():
            if name.lower() in h.lower():
                return v
    return None


def table_with(path, *headers):
    """Rows of the first table of path that has columns matching every one of headers."""
    for rows in tables(path):
        if rows and all(col(rows[0], h) is not None for h in headers):
            return rows
    return []


def verdict(ok):
    return "**met**" if ok else "**not met**"


def goal_extract_cpu(d):
    rows = table_with(os.path.join(d, "RESULTS-extract.md"), "model", "attnviz / pytorch")
    vals = [(r["model"], num(col(r, "attnviz / pytorch"))) for r in rows]
    vals = [(m, v) for m, v in vals if v is not None]
    if not vals:
        return "not measured (bench_extract_cpu.sh writes RESULTS-extract.md)", ""
    worst = min(vals, key=lambda x: x[1])
    fig = ", ".join(f"{m} {v:.2f}x" for m, v in vals) + " PyTorch's tokens/s"
    return fig, f"{verdict(worst[1] >= 1.0)}: worst {worst[1]:.2f}x vs 1.00x ({(worst[1] - 1) * 100:+.0f} %)"


def gpu_extract_rows(d):
    for name in sorted(os.listdir(d)):
        if name.startswith("RESULTS-gpu") and name.endswith(".md"):
            rows = table_with(os.path.join(d, name), "precision", "batches / (torch")
            if rows:
                return rows
    return []


def goal_extract_gpu(d, precision, target):
    rows = [r for r in gpu_extract_rows(d) if precision in (col(r, "precision") or "").lower()]
    vals = [(col(r, "model"), num(col(r, "batches / (torch"))) for r in rows]
    vals = [(m, v) for m, v in vals if v is not None and v > 0]
    if not vals:
        return "not measured (no GPU in this run; bench/gpu_run.sh writes RESULTS-gpu.md)", ""
    worst = min(vals, key=lambda x: x[1])
    fig = ", ".join(f"{m} {v:.2f}x" for m, v in vals)
    return fig, f"{verdict(worst[1] >= target)}: worst {worst[1]:.2f}x vs {target:.1f}x"


def tsne_rows(d):
    """(n, dim, tool, seconds, knn_pres) and which seconds ("CPU" or "wall") from bench_tsne's
    rows file (8 fields: n, dim, tool, wall, cpu, pres, kl, note), else from its table (CPU s
    where it has that column, else its one time column)."""
    p = os.path.join(d, "data", "tsne_rows.json")
    if os.path.exists(p):
        try:
            rows = json.load(open(p))
            if rows and all(len(r) >= 8 for r in rows):
                return [(r[0], r[1], r[2], r[4], r[5]) for r in rows], "CPU"
        except (ValueError, TypeError):
            pass
    out, kind = [], "wall"
    for r in table_with(os.path.join(d, "RESULTS-tsne.md"), "tool", "knn pres"):
        t = col(r, "cpu s")
        kind = "CPU" if t is not None else "wall"
        if t is None:
            t = col(r, "wall s", "seconds")
        v = (num(r.get("N")), num(r.get("dim")), r.get("tool", ""), num(t), num(col(r, "knn pres")))
        if None not in v:
            out.append(v)
    return out, kind


def goal_tsne(d):
    rows, kind = tsne_rows(d)
    cases, worst_t, worst_q = [], None, None
    for n, dim in sorted({(r[0], r[1]) for r in rows}):
        sel = [r for r in rows if (r[0], r[1]) == (n, dim)]
        ours = [r for r in sel if r[2].startswith("attnviz")]
        peers = [r for r in sel if r[2].startswith("openTSNE")]
        if not ours or not peers:
            continue
        # the row of the method `attnviz project` runs by default (--tsne-method auto:
        # FFT in 2-D from AV_TSNE_FFT_AUTO_N = 20000 points, kernels/tsne/tsne.h), when measured
        auto = "attnviz FFT" if dim == 2 and n >= 20000 else "attnviz BH"
        o = next((r for r in ours if r[2] == auto), ours[0])
        fastest = min(peers, key=lambda r: r[3])
        speed = fastest[3] / o[3] if o[3] > 0 else math.inf
        dq = o[4] - fastest[4]
        cases.append(f"{int(n) // 1000}k {int(dim)}-D {speed:.2f}x ({dq:+.3f})")
        worst_t = speed if worst_t is None else min(worst_t, speed)
        worst_q = dq if worst_q is None else min(worst_q, dq)
    if not cases:
        return "not measured (bench_tsne.sh writes RESULTS-tsne.md)", ""
    fig = f"speed-up over openTSNE's fastest, {kind} seconds (kNN pres. diff): " + ", ".join(cases)
    return fig, (f"{verdict(worst_t > 1 and worst_q >= -0.01)}: worst speed-up {worst_t:.2f}x vs > 1x, "
                 f"worst kNN preservation diff {worst_q:+.3f} vs >= -0.01")


def goal_umap(d):
    rows = table_with(os.path.join(d, "RESULTS-umap.md"), "speed-up", "trust attnviz")
    cases, worst_s, worst_q = [], None, None
    for r in rows:
        s, c = num(col(r, "speed-up"), 0), num(col(r, "speed-up"), 1)
        diff = num(col(r, "diff"))
        if s is None or diff is None:
            continue
        cases.append(f"{r.get('N', '?')}: {s:.2f}x wall" + (f" / {c:.2f}x CPU" if c else "") + f" ({diff:+.4f})")
        worst_s = s if worst_s is None else min(worst_s, s)
        worst_q = diff if worst_q is None else min(worst_q, diff)
    if not cases:
        return "not measured (bench_umap.sh writes RESULTS-umap.md)", ""
    fig = "speed-up over umap-learn (trustworthiness diff): " + ", ".join(cases)
    return fig, (f"{verdict(worst_s >= 2 and worst_q >= -0.01)}: worst {worst_s:.2f}x vs 2x, "
                 f"worst trustworthiness diff {worst_q:+.4f} vs >= -0.01")


def goal_pca(d):
    rows = table_with(os.path.join(d, "RESULTS-umap.md"), "component diff")
    vals = [(r.get("N", "?"), num(col(r, "component diff"))) for r in rows]
    vals = [(n, v) for n, v in vals if v is not None]
    if not vals:
        return "not measured (bench_umap.sh writes the PCA table of RESULTS-umap.md)", ""
    worst = max(v for _, v in vals)
    fig = "largest component difference vs scikit-learn (up to sign): " + ", ".join(f"{n}: {v:.1e}" for n, v in vals)
    return fig, f"{verdict(worst <= 1e-4)}: worst {worst:.1e} vs <= 1e-4 (float32 round-off)"


def goal_viewer(d):
    path = os.path.join(d, "RESULTS-viewer.md")
    if not os.path.exists(path):
        return "not measured (bench_viewer.sh writes RESULTS-viewer.md)", ""
    text = open(path, encoding="utf-8").read()
    best = None
    for rows in tables(path):
        for r in rows:
            pts, ms = num(col(r, "points")), num(col(r, "ms"))
            if pts and ms and pts >= 9.9e6:
                best = ms if best is None else min(best, ms)
    gpu = re.search(r"nvidia|geforce|rtx|h100|a100", text, re.I) and not re.search(r"llvmpipe|software", text, re.I)
    if best is None:
        return "no 10M-point frame time in RESULTS-viewer.md", "not measured"
    fig = f"10M points: {best:.0f} ms/frame = {1000 / best:.1f} fps"
    if not gpu:
        return fig + " on the CPU software renderer (llvmpipe)", "not measured on a GPU (the goal's machine)"
    return fig, f"{verdict(1000 / best >= 60)}: {1000 / best:.1f} fps vs 60"


def goal_144_heads(d):
    """Only a GPU run decides this; on the CPU the scaling fit gives an estimate."""
    for name in sorted(os.listdir(d)):
        if name.startswith("RESULTS-gpu") and name.endswith(".md"):
            text = open(os.path.join(d, name), encoding="utf-8").read()
            m = re.search(r"144 heads( estimated[^:]*)?:?[^\n]*?(\d+(?:\.\d+)?)\s*(s|min)\b", text)
            if m and "Measured by" in text:
                mins = float(m.group(2)) / (60 if m.group(3) == "s" else 1)
                how = f"{name}, estimated from fewer heads" if m.group(1) else name
                return f"{mins:.1f} min ({how})", f"{verdict(mins < 10)}: vs < 10 min"
    est = ""
    p = os.path.join(d, "data", "scaling_tokens.json")
    if os.path.exists(p):
        for s in json.load(open(p)).get("series", []):
            x, y = s.get("x", []), s.get("y", [])
            if s.get("label", "").startswith("tsne 1 head") and len(x) >= 2 and min(x) > 0 and min(y) > 0:
                k, c = [float(v) for v in _polyfit(x, y)]
                t = math.exp(c) * 100000 ** k * 144
                est = (f"; CPU estimate from the scaling fit (wall ~ n^{k:.2f}, one head at a time, under this run's load): "
                       f"{t / 3600:.1f} h on this machine")
    return "not measured (needs an H100: bench/gpu_run.sh)" + est, ""


def _polyfit(x, y):
    import numpy as np
    return np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)


def goal_tokenizers(d):
    rows = table_with(os.path.join(d, "RESULTS-tokenizers.md"), "tokenizer", "c mb/s", "hf 1 thread")
    vals = []
    for r in rows:
        c, hf = num(col(r, "c mb/s")), num(col(r, "hf 1 thread"))
        if c is not None:
            vals.append((col(r, "tokenizer"), c, hf))
    if not vals:
        return "not measured (bench_tokenizers.sh writes RESULTS-tokenizers.md)", ""
    worst = min(v[1] for v in vals)
    fig = ", ".join(f"{t} {c:.1f} MB/s" + (f" ({c / hf:.1f}x HF tokenizers, one thread)" if hf else "")
                    for t, c, hf in vals)
    return fig, f"{verdict(worst >= 10)}: slowest {worst:.1f} MB/s vs >= 10 MB/s"


def info_knn(d):
    rows = table_with(os.path.join(d, "RESULTS-knn.md"), "tool", "recall")
    appr = [r for r in rows if col(r, "tool") == "attnviz approx"]
    if not appr:
        return "not measured (bench_knn.sh writes RESULTS-knn.md)", ""
    rec = min(num(col(r, "recall")) for r in appr)
    big = max(appr, key=lambda r: num(col(r, "n")) or 0)
    ratio = col(big, "faiss-cpu /")
    return (f"HNSW recall@k >= {rec:.4f} in every case; largest n {col(big, 'n')} ({col(big, 'cloud')}, "
            f"k {col(big, 'k')}): {col(big, 'wall s')} s, faiss-cpu / attnviz {ratio}"), "no goal set (RESULTS-knn.md)"


def info_scaling(d):
    out = []
    for name in ("scaling_heads", "scaling_tokens"):
        p = os.path.join(d, "data", name + ".json")
        if not os.path.exists(p):
            continue
        for s in json.load(open(p)).get("series", []):
            x, y = s.get("x", []), s.get("y", [])
            # the per-stage series; the extract + project sums add nothing to read here
            if len(x) >= 2 and min(x) > 0 and min(y) > 0 and not s["label"].startswith("extract +"):
                out.append(f"{s['label']} ~ {'heads' if 'heads' in name else 'tokens'}^{_polyfit(x, y)[0]:.2f}")
    if not out:
        return "not measured (bench_scaling.sh writes data/scaling_*.json)", ""
    return "; ".join(out), "no goal set (RESULTS-scaling.md, plots)"


GOALS = [
    ("extract on the CPU >= PyTorch (tokens/s)", goal_extract_cpu),
    ("extract on the GPU >= 1.5x PyTorch eager f32", lambda d: goal_extract_gpu(d, "f32", 1.5)),
    ("extract on the GPU >= 1.0x PyTorch bf16 autocast", lambda d: goal_extract_gpu(d, "bf16", 1.0)),
    ("tokenizers: tens of MB/s, never the bottleneck", goal_tokenizers),
    ("t-SNE faster than openTSNE's fastest at every N, kNN preservation within 0.01", goal_tsne),
    ("UMAP >= 2x umap-learn, trustworthiness within 0.01", goal_umap),
    ("PCA: the same components as scikit-learn", goal_pca),
    ("viewer: 10M points at 60 fps on a GPU", goal_viewer),
    ("144 heads x 100k tokens t-SNE < 10 min on an H100", goal_144_heads),
    ("neighbour search: FAISS exact / HNSW time and recall", info_knn),
    ("scaling: growth exponent of wall time", info_scaling),
]


def summary(d):
    lines = ["## Summary: the goals, the figures, the distance", "",
             "Read from the per-topic results below (bench/goals.py); \"not measured\" means that "
             "benchmark wrote no figure in this run.", "",
             "| goal | measured | distance from the goal |", "|---|---|---|"]
    for name, fn in GOALS:
        try:
            fig, dist = fn(d)
        except Exception as e:  # one unreadable file must not hide the other goals
            fig, dist = f"not measured (could not read its results: {type(e).__name__}: {e})", ""
        lines.append(f"| {name} | {fig.replace('|', '/')} | {dist.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(summary(os.path.dirname(os.path.abspath(__file__))))
