"""Against the limit: float32 softmax against np.copyto of the same array.

A softmax must read its input and write its output at least once, so
``np.copyto`` of the same array is the fastest it could possibly run.  fastnn
is timed both writing into a preallocated array (``out=``, as the copy does)
and allocating its result, on the largest thread count of ``--threads``.
"""

import numpy as np

from _cases import shape_label
from _report import heading
from _timer import format_seconds


def run(ctx):
    threads = ctx.max_threads
    heading(
        f"memory bandwidth: float32 softmax vs np.copyto, {threads} threads",
        "Bytes moved = one read + one write of the array. 'softmax(out=)' writes into a preallocated "
        "array, like np.copyto does, and is the figure the target uses; 'softmax' also allocates its "
        "result. fraction = copy time / softmax time.",
    )
    ctx.set_threads(threads)
    print(f"{'shape':>11} {'MB':>6} {'impl':>16} {'time':>9} {'GB/s':>7} {'fraction':>9}")
    summary = []
    for shape in [(4096, 1000), (16384, 1000)]:
        x = ctx.rng.standard_normal(shape).astype(np.float32)
        dst = np.empty_like(x)
        out = np.empty_like(x)
        impls = {
            "np.copyto": lambda: np.copyto(dst, x),
            "softmax(out=)": lambda: ctx.fastnn.softmax(x, out=out),
            "softmax": lambda: ctx.fastnn.softmax(x),
        }
        if ctx.torch is not None:
            t = ctx.torch.from_numpy(x)
            impls["torch.softmax"] = lambda: ctx.torch.softmax(t, dim=-1)
        nbytes = 2 * x.nbytes
        copy_time = None
        row = {"shape": shape_label(shape), "bytes": nbytes}
        for impl, fn in impls.items():
            timing = ctx.time(fn)
            ctx.record("bandwidth", impl, timing, shape=shape_label(shape), dtype="float32", threads=threads, bytes=nbytes)
            if copy_time is None:
                copy_time = timing.median
            fraction = copy_time / timing.median
            row[impl] = {"median": timing.median, "gbps": nbytes / timing.median / 1e9, "fraction": fraction}
            print(
                f"{shape_label(shape):>11} {x.nbytes / 1e6:>6.0f} {impl:>16} {format_seconds(timing.median):>9} "
                f"{nbytes / timing.median / 1e9:>7.1f} {fraction:>9.2f}",
                flush=True,
            )
        summary.append(row)
    ctx.sections["bandwidth"] = summary
