"""The PNG chart: speed-up over each peer per kernel, and time per element against size.

Left: peer time / fastnn time on the large shapes, float32, the largest thread
count, from the kernel tables.  Right: float32 softmax time per element from
the scaling section, with ``np.copyto`` of the same array drawn as the limit
line.  Needs matplotlib; without it the chart is skipped with a message.
"""

import numpy as np

from _cases import large_shapes_for, shape_label
from _peers import KERNELS

PEERS = ["numpy", "torch", "scipy"]


def _speedups(ax, ctx):
    labels, series = [], {peer: [] for peer in PEERS}
    for name in KERNELS:
        for shape in large_shapes_for(name):
            key = {"kernel": name, "shape": shape_label(shape), "dtype": "float32", "threads": ctx.max_threads}
            fast = ctx.find("kernels", "fastnn", **key)
            if fast is None:
                continue
            labels.append(f"{name}\n{shape_label(shape)}")
            for peer in series:
                peer_time = ctx.find("kernels", peer, **key)
                series[peer].append(peer_time / fast if peer_time else 0.0)
    if not labels:
        return
    positions = np.arange(len(labels))
    peers = [p for p in series if any(series[p])]
    width = 0.8 / max(len(peers), 1)
    for i, peer in enumerate(peers):
        ax.bar(positions + i * width, series[peer], width, label=f"{peer} time / fastnn time")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(positions + width * (len(peers) - 1) / 2)
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("speed-up of fastnn (log scale)")
    ax.set_title(f"float32, {ctx.max_threads} threads: speed-up over peers")
    ax.legend(fontsize=8)


def _time_per_element(ax, ctx):
    scaling = ctx.sections.get("scaling")
    if not scaling:
        return
    sizes = [r["elements"] for r in scaling]
    for impl in ("fastnn", "numpy", "torch"):
        if impl in scaling[0]:
            ax.loglog(sizes, [r[impl] * 1e9 for r in scaling], marker="o", label=impl)
    if "np.copyto" in scaling[0]:
        ax.loglog(sizes, [r["np.copyto"] * 1e9 for r in scaling], color="black", linestyle="--",
                  label="np.copyto of the same array (limit)")
    ax.set_xlabel("elements (C = 1000)")
    ax.set_ylabel("ns per element")
    ax.set_title(f"float32 softmax time per element, {ctx.max_threads} threads")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def write_plot(ctx, path):
    """Draw the chart into ``path``; False (with a message) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib) - no {path}")
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    _speedups(left, ctx)
    _time_per_element(right, ctx)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
