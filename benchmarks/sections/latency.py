"""Latency: every kernel on a 1x10 input, in microseconds per call.

Argument checking and result allocation included, on the largest thread count
of ``--threads`` (small inputs run on the calling thread whatever it is).
Each call goes through a Python lambda, whose own cost is shown as "empty
call".  Timed for 0.5 s per implementation and case (0.1 s with ``--quick``,
``--budget`` when given), at least 20 batches.
"""

from _cases import DTYPES, dtype_name
from _peers import KERNELS
from _report import cell, column_width, heading, print_load_legend
from _timer import measure

IMPLS = ["fastnn", "numpy", "torch", "scipy"]


def run(ctx):
    threads = ctx.max_threads
    budget = ctx.args.budget if ctx.args.budget is not None else (0.1 if ctx.args.quick else 0.5)
    heading(
        f"small-call latency: 1x10 inputs, {threads} threads allowed",
        "Median microseconds per call, argument checking and result allocation included. "
        "Each call goes through a Python lambda, whose own cost is shown as 'empty call'.",
    )
    empty = measure(lambda: None, budget_s=budget)
    print(f"  empty call: {empty.median * 1e6:.3f} us")
    width = column_width("kernel", KERNELS)
    print(f"{'kernel':<{width}} {'dtype':>7}" + "".join(f" {impl + ' us ':>11}" for impl in IMPLS))
    ctx.set_threads(threads)
    summary, timings = [], []
    for name, kernel in KERNELS.items():
        for dtype in DTYPES:
            inputs = kernel.make_inputs((1, 10), dtype, ctx.rng)
            fns = {"fastnn": kernel.fastnn(ctx.fastnn, inputs), "numpy": kernel.numpy(inputs)}
            if ctx.torch is not None and kernel.torch is not None:
                fns["torch"] = kernel.torch(ctx.torch, inputs)
            if ctx.special is not None and kernel.scipy is not None:
                fns["scipy"] = kernel.scipy(ctx.special, inputs)
            row, cells = {"kernel": name, "dtype": dtype_name(dtype)}, {}
            for impl, fn in fns.items():
                timing = ctx.time(fn, budget_s=budget, min_repeats=20)
                ctx.record("latency", impl, timing, kernel=name, shape="1x10", dtype=row["dtype"], threads=threads)
                row[impl] = timing.median
                cells[impl] = cell(f"{timing.median * 1e6:.3f}", timing.busy)
                timings.append(timing)
            summary.append(row)
            print(f"{name:<{width}} {row['dtype']:>7}" + "".join(f" {cells.get(impl, cell('-')):>11}"
                                                                 for impl in IMPLS), flush=True)
    print_load_legend(timings)
    ctx.sections["latency"] = {"empty_call": empty.median, "rows": summary}
