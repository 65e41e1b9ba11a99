"""Axis: softmax along axis 0 of a C-ordered 4096x1000 array, and whether it copies the input.

fastnn's axis-0 time against its own last-axis time, NumPy's formula along
axis 0 and PyTorch's ``dim=0``, float32 and float64, each thread count of
``--threads``; and the peak memory NumPy allocates during one axis-0 call,
where a transposed copy of the input would show up as its size.
"""


import numpy as np

from _cases import DTYPES, dtype_name, shape_label
from _context import numpy_peak
from _peers import KERNELS, agree
from _report import heading, print_load_legend, ratio_label, time_cell


def run(ctx):
    shape = (4096, 1000)
    heading(
        f"softmax along axis 0 of a C-ordered {shape_label(shape)} array",
        "axis0/axis-1 is fastnn's axis-0 time over its last-axis time; 'vs' is the peer's axis-0 time over "
        "fastnn's. 'extra MB' is the peak NumPy allocation during one axis-0 call minus the result "
        "itself: a transposed copy of the input would show up as its size.",
    )
    print(
        f"{'dtype':>7} {'thr':>3} {'axis -1 ':>9} {'axis 0 ':>9} {'0/-1 ':>6} {'numpy ax0 ':>10} {'vs ':>6} "
        f"{'torch dim0 ':>10} {'vs ':>6} {'extra MB':>9}"
    )
    summary, timings = [], []
    for dtype in DTYPES:
        x = ctx.rng.standard_normal(shape).astype(dtype)
        fns = {
            "fastnn axis=-1": lambda: ctx.fastnn.softmax(x, axis=-1),
            "fastnn axis=0": lambda: ctx.fastnn.softmax(x, axis=0),
            "numpy axis=0": lambda: (lambda e: e / e.sum(axis=0, keepdims=True))(np.exp(x - x.max(axis=0, keepdims=True))),
        }
        if ctx.torch is not None:
            t = ctx.torch.from_numpy(x)
            fns["torch dim=0"] = lambda: ctx.torch.softmax(t, dim=0)
        expected = KERNELS["softmax"].numpy({"x": x.astype(np.float64).T})().T
        agrees = agree(ctx.fastnn.softmax(x, axis=0), expected, dtype)
        ctx.set_threads(ctx.max_threads)
        extra = numpy_peak(lambda: ctx.fastnn.softmax(x, axis=0))[0] - x.nbytes
        for threads in ctx.threads:
            ctx.set_threads(threads)
            medians, timed = {}, {}
            for impl, fn in fns.items():
                timing = ctx.time(fn)
                medians[impl], timed[impl] = timing.median, timing
                ctx.record("axis0", impl, timing, shape=shape_label(shape), dtype=dtype_name(dtype), threads=threads)
            timings += timed.values()
            last, first = medians["fastnn axis=-1"], medians["fastnn axis=0"]
            row = {
                "dtype": dtype_name(dtype),
                "threads": threads,
                "axis0_over_last": first / last,
                "numpy_over_fastnn": medians["numpy axis=0"] / first,
                "torch_over_fastnn": medians["torch dim=0"] / first if "torch dim=0" in medians else None,
                "extra_bytes": extra,
                "input_bytes": x.nbytes,
                "agrees": agrees,
            }
            summary.append(row)
            axis0, torch = timed["fastnn axis=0"], timed.get("torch dim=0")
            print(
                f"{dtype_name(dtype):>7} {threads:>3} {time_cell(timed['fastnn axis=-1']):>9} {time_cell(axis0):>9} "
                f"{ratio_label(axis0, timed['fastnn axis=-1']):>6} {time_cell(timed['numpy axis=0']):>10} "
                f"{ratio_label(timed['numpy axis=0'], axis0):>6} "
                f"{time_cell(torch):>10} {ratio_label(torch, axis0):>6} "
                f"{extra / 1e6:>9.1f}" + ("" if agrees else "  WARNING: axis-0 result differs from NumPy"),
                flush=True,
            )
    print_load_legend(timings)
    ctx.set_threads(ctx.max_threads)
    ctx.sections["axis0"] = summary
