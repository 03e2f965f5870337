#!/usr/bin/env python3
"""Gathers bench/RESULTS-*.md into bench/RESULTS.md under a summary of the goals (bench/goals.py)
and a description of the machine and the versions, and draws the plots of bench/data/*.json
into bench/plots/.

A data file is {"title", "xlabel", "ylabel", "logx", "logy", "series": [{"label", "x", "y"}],
"fit": true|false, "fit_var": name of x in the legend (default n)}; with fit, each series gets
its growth exponent (slope in log-log) in the legend."""
import glob
import json
import os
import platform
import re
import subprocess

import numpy as np

import goals

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


def machine():
    cpu = sh("lscpu | grep 'Model name' | sed 's/.*: *//'") or platform.processor()
    gpu = sh("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1") or "none"
    mem = sh("free -g | awk '/Mem:/{print $2}'")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    vers = sh(f"{HERE}/../.deps/venv/bin/pip freeze 2>/dev/null | grep -iE '^(torch|transformers|tokenizers|safetensors|openTSNE|umap-learn|numba|scikit-learn|faiss-cpu|numpy|matplotlib)=='")
    return (f"- CPU: {cpu}, {os.cpu_count()} cores, {mem} GiB; load average {load} when collected\n- GPU: {gpu}\n"
            f"- OS: {platform.platform()}\n- compiler: {sh('cc --version | head -1')}\n"
            f"- peers: {', '.join(vers.split())}\n")


def this_run():
    """Mode, and each benchmark's duration and end, from the list bench/run.sh keeps."""
    stamp = f"commit {sh('git -C ' + HERE + ' rev-parse --short HEAD') or '?'}; {sh('date -u +%Y-%m-%dT%H:%MZ')}"
    path = os.environ.get("BENCH_DURATIONS", "")
    if not (path and os.path.exists(path)):
        return (f"\n## This run\n\ncollect.py run alone ({stamp}): every table is from its "
                "benchmark's last run.\n")
    mode = "quick (BENCH_QUICK=1: smallest sizes)" if os.environ.get("BENCH_QUICK") == "1" else "full"
    out = [f"\n## This run\n", f"Mode: {mode}; {stamp}.\n"]
    out += ["| benchmark | seconds | result |", "|---|---|---|"]
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) == 3:
            out.append(f"| {f[0]} | {f[1]} | {f[2]} |")
    out.append("\nTables of benchmarks not run this time are those of their last run (see each "
               "section's own machine line).\n")
    return "\n".join(out)


def plot(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    d = json.load(open(path))
    if not isinstance(d, dict) or "series" not in d:
        return None  # a benchmark's own data (e.g. rows kept between runs), not a plot
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for s in d["series"]:
        x, y = np.asarray(s["x"], float), np.asarray(s["y"], float)
        label = s["label"]
        if d.get("fit") and len(x) >= 2 and np.all(x > 0) and np.all(y > 0):
            k = np.polyfit(np.log(x), np.log(y), 1)[0]
            label += f" (grows as {d.get('fit_var', 'n')}^{k:.2f})"
        ax.plot(x, y, "o-", label=label)
    if d.get("logx"):
        ax.set_xscale("log")
    if d.get("logy"):
        ax.set_yscale("log")
    ax.set_xlabel(d.get("xlabel", ""))
    ax.set_ylabel(d.get("ylabel", ""))
    ax.set_title(d.get("title", ""))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = os.path.join(HERE, "plots", os.path.basename(path).replace(".json", ".png"))
    fig.savefig(out)
    plt.close(fig)
    return out


def nest(text, name):
    """A topic file under "Results by topic": its headings shifted so its top level is ###
    (a file without a heading gets its name as one), code blocks untouched."""
    lines, fence, heads = text.splitlines(), False, []
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"^(#{1,6}) ", line)
        if m:
            heads.append((i, len(m.group(1))))
    if not heads:
        return f"### {name}\n\n" + text
    shift = 3 - min(level for _, level in heads)
    for i, level in heads:
        lines[i] = "#" * min(6, level + shift) + lines[i][level:]
    return "\n".join(lines)


def main():
    parts = ["# attnviz benchmark results\n",
             "Produced by `bash bench/run.sh` (bench/collect.py). Every ratio is measured side by side in "
             "one run on the same machine, same input, same threads. Figures from different machines "
             "are never put in one ratio.\n", goals.summary(HERE), "\n## Machine\n", machine(), this_run()]
    plots = []
    os.makedirs(os.path.join(HERE, "plots"), exist_ok=True)
    for path in sorted(glob.glob(os.path.join(HERE, "data", "*.json"))):
        try:
            out = plot(path)
            if out:
                plots.append(out)
        except Exception as e:  # a broken data file must not hide the tables
            parts.append(f"\n(plot of {os.path.basename(path)} failed: {e})\n")
    if plots:
        parts.append("\n## Plots\n")
        for p in plots:
            parts.append(f"![{os.path.basename(p)}](plots/{os.path.basename(p)})\n")
    parts.append("\n## Results by topic\n")
    for path in sorted(glob.glob(os.path.join(HERE, "RESULTS-*.md"))):
        parts.append("\n" + nest(open(path).read().strip(), os.path.basename(path)) + "\n")
    for path in sorted(glob.glob(os.path.join(HERE, "RESULTS-*.failed"))):
        parts.append("\n**" + open(path).read().strip() + "**\n")
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
