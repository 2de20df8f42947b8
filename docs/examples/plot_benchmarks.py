"""
The benchmark plot
==================

fastconv's speed-up over each peer (peer time divided by fastconv's time: above 1 means
fastconv is faster) on the cases of the benchmark list, at 1 thread and at all cores, from
the committed results of one run of ``fastconv bench`` (``benchmarks/results/results.json``).
Produce your own with ``fastconv bench --json results.json --plot results.png``.
"""

import json
import os

import matplotlib.pyplot as plt
import numpy as np


def find_results(name="results.json"):
    """The committed results file, found from this script's folder upwards."""
    here = os.path.abspath(os.path.dirname(globals().get("__file__", "x")))
    for _ in range(6):
        path = os.path.join(here, "benchmarks", "results", name)
        if os.path.exists(path):
            return path
        here = os.path.dirname(here)
    raise FileNotFoundError(name)


with open(find_results()) as fh:
    data = json.load(fh)
rows = [r for r in data["results"] if r["speedup"]]
machine = data["machine"]
threads = sorted({r["threads"] for r in rows})
fig, axes = plt.subplots(len(threads), 1, figsize=(11, 3.8 * len(threads)), squeeze=False)
for ax, nt in zip(axes[:, 0], threads):
    sel = [r for r in rows if r["threads"] == nt]
    peers = sorted({r["impl"] for r in sel})
    cases = list(dict.fromkeys(r["case"] for r in sel))
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        vals = [next((r["speedup"] for r in sel if r["case"] == c and r["impl"] == peer), np.nan) for c in cases]
        ax.bar(np.arange(len(cases)) + i * width, vals, width, label=peer)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(cases)) + 0.4 - width / 2)
    ax.set_xticklabels(cases)
    ax.set_ylabel("fastconv speed-up")
    ax.set_title(f"{nt} thread(s): {machine['cores']} cores, SIMD {machine['simd']}, {machine['date']}")
    ax.legend(fontsize=7, ncol=3)
fig.tight_layout()
plt.show()
