"""Scaling with size: float32 softmax time per element from 1e3 to 1e8 elements, against a copy.

Rows of C = 1000 classes, N = elements / 1000 rows, on the largest thread
count of ``--threads``.  Time per element should level off as the size grows
(linear cost); ``np.copyto`` of the same array is the floor, drawn as the
limit line in the chart.
"""

import numpy as np

from _cases import shape_label
from _peers import KERNELS
from _report import cell, heading, print_load_legend


def run(ctx):
    threads = ctx.max_threads
    top = 7 if ctx.args.quick else 8
    heading(
        f"scaling: float32 softmax, C = 1000, {threads} threads",
        "Time per element should level off as size grows (linear cost); np.copyto of the same array is the "
        "limit. Sizes above 1e7 use 3 repeats." + (" --quick stops at 1e7 elements." if ctx.args.quick else ""),
    )
    ctx.set_threads(threads)
    impls = ["fastnn", "numpy"] + (["torch"] if ctx.torch is not None else []) + ["np.copyto"]
    print(f"{'elements':>9} {'shape':>11}" + "".join(f" {impl + ' ns/el ':>16}" for impl in impls)
          + f" {'fastnn GB/s ':>13}")
    summary, timings = [], []
    for exponent in range(3, top + 1):
        n = 10**exponent
        shape = (n // 1000, 1000)
        x = ctx.rng.standard_normal(shape, dtype=np.float32)
        fns = {
            "fastnn": lambda: ctx.fastnn.softmax(x),
            "numpy": lambda: KERNELS["softmax"].numpy({"x": x})(),
        }
        if ctx.torch is not None:
            t = ctx.torch.from_numpy(x)
            fns["torch"] = lambda: ctx.torch.softmax(t, dim=-1)
        big = n >= 10**7
        row, timed = {"elements": n, "shape": shape_label(shape)}, {}
        line = f"{n:>9.0e} {shape_label(shape):>11}"
        for impl in impls:
            # The copy's destination exists only while the copy is timed: at
            # 1e8 elements it is 400 MB more.
            dst = np.empty_like(x) if impl == "np.copyto" else None
            fn = (lambda: np.copyto(dst, x)) if impl == "np.copyto" else fns[impl]
            timing = ctx.time(fn, min_repeats=3 if big else 5, budget_s=0 if big else ctx.budget)
            del dst, fn
            ctx.record("scaling", impl, timing, shape=shape_label(shape), elements=n, dtype="float32", threads=threads)
            row[impl] = timing.median / n
            timed[impl] = timing
            line += f" {cell(f'{timing.median / n * 1e9:.3g}', timing.busy):>16}"
        timings += timed.values()
        row["busy"] = sorted(impl for impl, timing in timed.items() if timing.busy)
        gbps = 2 * x.nbytes / timed["fastnn"].median / 1e9
        line += f" {cell(f'{gbps:.1f}', timed['fastnn'].busy):>13}"
        print(line, flush=True)
        summary.append(row)
        del x, fns
    print_load_legend(timings)
    ctx.sections["scaling"] = summary
