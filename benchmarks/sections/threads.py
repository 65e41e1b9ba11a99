"""Threads: the speed-up of 2 threads over 1 on the large shapes, and no pool for small inputs.

The speed-ups are read from the kernel tables of the same run (so this
section needs the kernels section with ``--threads 1,2``).  Then a fresh
interpreter counts its OS threads after importing fastnn, after calling every
kernel on small inputs, and after one large softmax: small inputs must run on
the calling thread and start no thread pool.
"""

import json
import os
import subprocess
import sys

from _cases import DTYPES, dtype_name, large_shapes_for, shape_label
from _peers import KERNELS
from _report import column_width, format_ratio, heading, is_busy, print_load_legend, ratio_label
from _targets import COMPUTE_BOUND_OVER_COPY

POOL_PROBE = r"""
import json, os, sys
import numpy as np
import fastnn

def n_threads():
    return len(os.listdir("/proc/self/task"))

fastnn.set_num_threads(2)
rng = np.random.default_rng(0)
before = n_threads()
for shape in [(1, 10), (128, 10), (16, 100)]:
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal(shape).astype(dtype)
        labels = rng.integers(0, shape[1], size=shape[0])
        fastnn.softmax(x); fastnn.log_softmax(x); fastnn.softmax(x, axis=0)
        fastnn.sigmoid(x); fastnn.sigmoid_grad(x); fastnn.sigmoid_backward(x, x)
        fastnn.softmax_cross_entropy(x, labels)
after_small = n_threads()
fastnn.softmax(rng.standard_normal((4096, 1000)))
after_large = n_threads()
print(json.dumps({"before": before, "after_small": after_small, "after_large": after_large}))
"""


def probe_thread_pool(ctx):
    """Count OS threads in a fresh interpreter before/after small and large calls."""
    if not os.path.isdir("/proc/self/task"):
        return None
    # Run from the directory that holds the fastnn imported here, so that the
    # child imports the same one (with -c, the working directory comes first
    # on sys.path, and a source checkout there would shadow an installed fastnn).
    root = os.path.dirname(os.path.dirname(os.path.abspath(ctx.fastnn.__file__)))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", POOL_PROBE], cwd=root, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit status {proc.returncode}: {last[0]}"}


def run(ctx):
    heading(
        "threads: speed-up of 2 threads over 1 on the large shapes (t1 / t2)",
        "Taken from the kernel tables (a speed-up is marked when either of its times is). torch shown for "
        "comparison. t1/copy: fastnn's one-thread time over np.copyto's of the same array; at "
        f"{format_ratio(COMPUTE_BOUND_OVER_COPY)} or more the shape is compute-bound, and only those "
        "carry the two-thread goal.",
    )
    summary = {"speedups": [], "pool": None}
    if not {1, 2} <= set(ctx.threads) or not any(r["section"] == "kernels" for r in ctx.records):
        print("  needs the kernels section run with --threads 1,2")
    else:
        names = ctx.args.kernels or list(KERNELS)
        kernel_w = column_width("kernel", names)
        shape_w = column_width("shape", (shape_label(s) for name in names for s in large_shapes_for(name)))
        print(f"{'kernel':<{kernel_w}} {'shape':>{shape_w}} {'dtype':>7} {'fastnn ':>7} {'torch ':>7} "
              f"{'t1/copy':>7}")
        used = []
        for name in names:
            for shape in large_shapes_for(name):
                for dtype in DTYPES:
                    key = {"kernel": name, "shape": shape_label(shape), "dtype": dtype_name(dtype)}
                    speedups, cells, one_thread = {}, [], {}
                    for impl in ("fastnn", "torch"):
                        t1 = one_thread[impl] = ctx.find_record("kernels", impl, threads=1, **key)
                        t2 = ctx.find_record("kernels", impl, threads=2, **key)
                        speedups[impl] = t1["median"] / t2["median"] if t1 and t2 else None
                        speedups[f"{impl}_busy"] = is_busy(t1, t2)
                        cells.append(ratio_label(t1, t2))
                        used += [r for r in (t1, t2) if r]
                    # Compute-bound: one thread takes at least COMPUTE_BOUND_OVER_COPY x
                    # a copy of the array; below that, memory bandwidth caps both.
                    fast = one_thread["fastnn"]
                    copy = ctx.find_record("kernels", "np.copyto", threads=1, shape=key["shape"],
                                           dtype=key["dtype"])
                    over_copy = fast["median"] / copy["median"] if fast and copy else None
                    speedups["one_thread_over_copy"] = over_copy
                    speedups["compute_bound"] = (over_copy is not None
                                                 and over_copy >= COMPUTE_BOUND_OVER_COPY)
                    summary["speedups"].append({**key, **speedups})
                    bound = "-" if over_copy is None else format_ratio(over_copy)
                    print(f"{name:<{kernel_w}} {key['shape']:>{shape_w}} {key['dtype']:>7} "
                          + " ".join(f"{c:>7}" for c in cells) + f" {bound:>7}")
        print_load_legend(used)
    pool = probe_thread_pool(ctx)
    summary["pool"] = pool
    if pool is None:
        print("  thread-pool probe: not available (no /proc)")
    elif "error" in pool:
        print(f"  thread-pool probe failed: {pool['error']}")
    else:
        print(
            f"  OS threads in a fresh interpreter: {pool['before']} after import, {pool['after_small']} after "
            f"every kernel on small inputs, {pool['after_large']} after a 4096x1000 softmax"
        )
    ctx.sections["threads"] = summary
