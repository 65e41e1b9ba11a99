"""Against the limit: long rows against np.copyto, short rows against np.exp(x, out=), the sigmoid
family against np.copyto and np.add(a, b, out=c), and small calls against np.exp(x, out=).

A softmax must read its input and write its output at least once, so on long
rows ``np.copyto`` of the same array is the fastest it could possibly run.  On
short rows (C <= 16) the exponentials dominate, and ``np.exp(x, out=)`` on the
same array is the bar.  fastnn is timed both writing into a preallocated
array (``out=``, as the copy and ``np.exp(out=)`` do; the goals use this
figure) and allocating its result; every figure at each thread count of
``--threads``, the limit included, so that every ratio compares figures of
the same conditions.
"""

import numpy as np

from _cases import DTYPES, dtype_name, shape_label
from _report import cell, heading, is_busy, print_load_legend, ratio_label, time_cell

# Float32 long rows: 16 MB (fits the last-level cache of many CPUs), 13 MB in
# long rows, and 66 MB (does not fit).
LONG_SHAPES = [(4096, 1000), (64, 50_000), (16384, 1000)]
# Rows of 16 classes or fewer: one call, a few rows, and many rows.
SHORT_SHAPES = [(1, 10), (128, 10), (100_000, 10)]
# The sigmoid family against its memory-bound limits.
ELEMENTWISE_LIMIT_SHAPES = [(4096, 1000)]
# Small calls, every kernel that takes out=, against np.exp(x, out=).
SMALL_CALL_SHAPES = [(1, 10), (128, 10)]
SMALL_CALLS = ["softmax", "log_softmax", "logsumexp", "sigmoid", "sigmoid_grad", "sigmoid_backward"]


def _long_rows(ctx):
    heading(
        "against the limit, long rows: float32 softmax and log_softmax vs np.copyto",
        "Bytes moved = one read + one write of the array. '(out=)' writes into a preallocated array, like "
        "np.copyto does, and is the figure the goals use; the plain calls also allocate their result. "
        "fraction = copy time / kernel time (its share of the copy's bandwidth); x copy = its reciprocal.",
    )
    print(f"{'shape':>11} {'MB':>6} {'thr':>3} {'impl':>19} {'time ':>9} {'GB/s ':>7} {'fraction ':>9} "
          f"{'x copy ':>7}")
    summary, timings = [], []
    for shape in LONG_SHAPES:
        x = ctx.rng.standard_normal(shape).astype(np.float32)
        dst = np.empty_like(x)
        out = np.empty_like(x)
        impls = {
            "np.copyto": lambda: np.copyto(dst, x),
            "softmax(out=)": lambda: ctx.fastnn.softmax(x, out=out),
            "softmax": lambda: ctx.fastnn.softmax(x),
            "log_softmax(out=)": lambda: ctx.fastnn.log_softmax(x, out=out),
            "log_softmax": lambda: ctx.fastnn.log_softmax(x),
        }
        if ctx.torch is not None:
            t = ctx.torch.from_numpy(x)
            impls["torch.softmax"] = lambda: ctx.torch.softmax(t, dim=-1)
            impls["torch.log_softmax"] = lambda: ctx.torch.log_softmax(t, dim=-1)
        nbytes = 2 * x.nbytes
        for threads in ctx.threads:
            ctx.set_threads(threads)
            copy = None
            row = {"shape": shape_label(shape), "threads": threads, "bytes": nbytes}
            for impl, fn in impls.items():
                timing = ctx.time(fn)
                ctx.record("bandwidth", impl, timing, shape=shape_label(shape), dtype="float32", threads=threads,
                           bytes=nbytes)
                timings.append(timing)
                copy = copy or timing  # np.copyto comes first
                fraction = copy.median / timing.median
                row[impl] = {"median": timing.median, "gbps": nbytes / timing.median / 1e9, "fraction": fraction,
                             "busy": timing.busy}
                print(
                    f"{shape_label(shape):>11} {x.nbytes / 1e6:>6.0f} {threads:>3} {impl:>19} "
                    f"{time_cell(timing):>9} {cell(f'{nbytes / timing.median / 1e9:.1f}', timing.busy):>7} "
                    f"{cell(f'{fraction:.2f}', is_busy(copy, timing)):>9} {ratio_label(timing, copy):>7}",
                    flush=True,
                )
            summary.append(row)
    print_load_legend(timings)
    return summary


def _short_rows(ctx):
    heading(
        "against the limit, short rows: softmax vs np.exp(x, out=) on the same array",
        "x exp = the call's time over np.exp(x, out=)'s: how much the maximum, the sum and the division "
        "cost on top of the exponentials, argument checking included.",
    )
    print(f"{'shape':>11} {'dtype':>7} {'thr':>3} {'np.exp(out=) ':>13} {'softmax(out=) ':>14} {'x exp ':>6} "
          f"{'softmax ':>9} {'x exp ':>6}")
    summary, timings = [], []
    for shape in SHORT_SHAPES:
        for dtype in DTYPES:
            x = (3 * ctx.rng.standard_normal(shape)).astype(dtype)
            out = np.empty_like(x)
            impls = {
                "np.exp(out=)": lambda: np.exp(x, out=out),
                "softmax(out=)": lambda: ctx.fastnn.softmax(x, out=out),
                "softmax": lambda: ctx.fastnn.softmax(x),
            }
            for threads in ctx.threads:
                ctx.set_threads(threads)
                medians, timed = {}, {}
                for impl, fn in impls.items():
                    timing = ctx.time(fn)
                    ctx.record("bandwidth", impl, timing, shape=shape_label(shape), dtype=dtype_name(dtype),
                               threads=threads, bytes=2 * x.nbytes)
                    medians[impl], timed[impl] = timing.median, timing
                timings += timed.values()
                exp_time = medians["np.exp(out=)"]
                summary.append({
                    "shape": shape_label(shape),
                    "dtype": dtype_name(dtype),
                    "threads": threads,
                    **medians,
                    "out_over_exp": medians["softmax(out=)"] / exp_time,
                    "alloc_over_exp": medians["softmax"] / exp_time,
                    "busy": is_busy(*timed.values()),
                })
                exp = timed["np.exp(out=)"]
                print(
                    f"{shape_label(shape):>11} {dtype_name(dtype):>7} {threads:>3} {time_cell(exp):>13} "
                    f"{time_cell(timed['softmax(out=)']):>14} {ratio_label(timed['softmax(out=)'], exp):>6} "
                    f"{time_cell(timed['softmax']):>9} {ratio_label(timed['softmax'], exp):>6}",
                    flush=True,
                )
    print_load_legend(timings)
    return summary


def _elementwise(ctx):
    heading(
        "against the limit, elementwise: the sigmoid family vs np.copyto and np.add(a, b, out=c)",
        "float32, writing into a preallocated array. The sigmoid reads one array and writes one, as "
        "np.copyto does; sigmoid_backward(g, s) reads two and writes one, as np.add(a, b, out=c) does "
        "(sigmoid_grad reads one, and is held to the same bar). x limit = time over the limit's.",
    )
    print(f"{'shape':>11} {'thr':>3} {'impl':>22} {'time ':>9} {'limit':>12} {'x limit':>8}")
    summary, timings = [], []
    for shape in ELEMENTWISE_LIMIT_SHAPES:
        x = ctx.rng.standard_normal(shape).astype(np.float32)
        s = ctx.fastnn.sigmoid(ctx.rng.standard_normal(shape).astype(np.float32))
        dst = np.empty_like(x)
        out = np.empty_like(x)
        impls = {
            "np.copyto": ("-", lambda: np.copyto(dst, x)),
            "np.add(out=)": ("-", lambda: np.add(x, s, out=out)),
            "sigmoid(out=)": ("np.copyto", lambda: ctx.fastnn.sigmoid(x, out=out)),
            "sigmoid_grad(out=)": ("np.add(out=)", lambda: ctx.fastnn.sigmoid_grad(s, out=out)),
            "sigmoid_backward(out=)": ("np.add(out=)",
                                       lambda: ctx.fastnn.sigmoid_backward(x, s, out=out)),
        }
        if ctx.torch is not None:
            t, t_out = ctx.torch.from_numpy(x), ctx.torch.from_numpy(out)
            impls["torch.sigmoid(out=)"] = ("np.copyto", lambda: ctx.torch.sigmoid(t, out=t_out))
        for threads in ctx.threads:
            ctx.set_threads(threads)
            row = {"shape": shape_label(shape), "threads": threads}
            timed = {}
            for impl, (limit, fn) in impls.items():
                timing = ctx.time(fn)
                ctx.record("bandwidth", impl, timing, shape=shape_label(shape), dtype="float32",
                           threads=threads)
                timed[impl] = timing
                timings.append(timing)
                over = "-" if limit == "-" else ratio_label(timing, timed[limit])
                row[impl] = {"median": timing.median, "busy": timing.busy, "limit": limit,
                             "over_limit": None if limit == "-" else timing.median / timed[limit].median}
                print(f"{shape_label(shape):>11} {threads:>3} {impl:>22} {time_cell(timing):>9} "
                      f"{limit:>12} {over:>8}", flush=True)
            summary.append(row)
    print_load_legend(timings)
    return summary


def _small_calls(ctx):
    heading(
        "against the limit, small calls: every kernel with out= vs np.exp(x, out=) on the same array",
        "x exp = the call's time over np.exp(x, out=)'s: the fixed cost of a call (argument checks, "
        "dispatch) next to NumPy's own.",
    )
    print(f"{'shape':>7} {'dtype':>7} {'np.exp(out=)':>12} " + " ".join(f"{k:>17}" for k in SMALL_CALLS))
    summary, timings = [], []
    for shape in SMALL_CALL_SHAPES:
        for dtype in DTYPES:
            x = (3 * ctx.rng.standard_normal(shape)).astype(dtype)
            s = ctx.fastnn.sigmoid(x)
            out = np.empty_like(x)
            rows_out = np.empty(shape[:-1], dtype=dtype)
            impls = {
                "np.exp(out=)": lambda: np.exp(x, out=out),
                "softmax": lambda: ctx.fastnn.softmax(x, out=out),
                "log_softmax": lambda: ctx.fastnn.log_softmax(x, out=out),
                "logsumexp": lambda: ctx.fastnn.logsumexp(x, out=rows_out),
                "sigmoid": lambda: ctx.fastnn.sigmoid(x, out=out),
                "sigmoid_grad": lambda: ctx.fastnn.sigmoid_grad(s, out=out),
                "sigmoid_backward": lambda: ctx.fastnn.sigmoid_backward(x, s, out=out),
            }
            ctx.set_threads(ctx.max_threads)
            timed = {}
            for impl, fn in impls.items():
                timing = ctx.time(fn)
                ctx.record("bandwidth", impl + ("" if impl.startswith("np.") else "(out=)"), timing,
                           shape=shape_label(shape), dtype=dtype_name(dtype), threads=ctx.max_threads)
                timed[impl] = timing
                timings.append(timing)
            exp = timed["np.exp(out=)"]
            summary.append({"shape": shape_label(shape), "dtype": dtype_name(dtype),
                            "np.exp(out=)": exp.median,
                            "over_exp": {k: timed[k].median / exp.median for k in SMALL_CALLS},
                            "busy": is_busy(*timed.values())})
            cells = " ".join(f"{time_cell(timed[k]) + ' ' + ratio_label(timed[k], exp):>17}"
                             for k in SMALL_CALLS)
            print(f"{shape_label(shape):>7} {dtype_name(dtype):>7} {time_cell(exp):>12} {cells}",
                  flush=True)
    print_load_legend(timings)
    return summary


def run(ctx):
    long_rows = _long_rows(ctx)
    short_rows = _short_rows(ctx)
    elementwise = _elementwise(ctx)
    small_calls = _small_calls(ctx)
    ctx.set_threads(ctx.max_threads)
    ctx.sections["bandwidth"] = {"long_rows": long_rows, "short_rows": short_rows,
                                 "elementwise": elementwise, "small_calls": small_calls}
