"""MLP: one epoch of minibatch SGD with fastnn.MLP against the same network in NumPy.

A 784-256-10 sigmoid network on 60000 synthetic samples (10000 with
``--quick``), batch 256; the NumPy network is in ``benchmarks/_mlp.py``.  Both
use NumPy's BLAS for the matrix products, start from the same parameters, see
the same batches and must reach the same loss.  One row per fastnn thread
count: this is where fastnn's OpenMP team and the BLAS pool take turns on the
same cores.
"""

import numpy as np

from _cases import DTYPES, dtype_name
from _report import heading, print_load_legend, ratio_label, time_cell, watched


def _blas_threads():
    """Threads of NumPy's BLAS, when threadpoolctl can tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None


def run(ctx):
    from _mlp import make_data, numpy_loss_and_grad, time_epochs

    n_samples = 10_000 if ctx.args.quick else 60_000
    sizes = (784, 256, 10)
    batch, lr, repeats = 256, 0.1, (1 if ctx.args.quick else 3)
    blas = _blas_threads()
    heading(
        f"MLP: one epoch of minibatch SGD, {n_samples}x{sizes[0]} -> {sizes[1]} (sigmoid) -> {sizes[2]}, "
        f"batch {batch}",
        "fastnn.MLP.loss_and_grad against the same network in NumPy (benchmarks/_mlp.py); both use "
        f"NumPy's BLAS for the matrix products ({blas or 'its default number of'} threads). 'thr' is "
        f"fastnn's thread count; the NumPy network has no other threads. Median of up to {repeats} epoch(s) (fewer past 15 s), "
        "each from the same start; both must end at the same loss.",
    )
    MLP = getattr(ctx.fastnn, "MLP", None)
    if MLP is None:
        print("  skipped: fastnn.MLP is not available in this build")
        ctx.sections["mlp"] = {"skipped": "fastnn.MLP not importable"}
        return
    print(f"{'dtype':>7} {'thr':>3} {'fastnn ':>9} {'numpy ':>9} {'vs ':>6} {'fastnn loss':>12} {'numpy loss':>12}")
    summary, figures = [], []
    for dtype in DTYPES:
        X, y = make_data(n_samples, sizes[0], sizes[2], dtype)
        net = MLP(sizes, dtype=dtype)
        params0 = np.asarray(net.init_params(seed=0), dtype=dtype)

        def fast(params, Xb, yb):
            return net.loss_and_grad(params, Xb, yb)

        def slow(params, Xb, yb):
            return numpy_loss_and_grad(params, Xb, yb, sizes)

        loss_f, grad_f = fast(params0.copy(), X[:batch], y[:batch])
        loss_n, grad_n = slow(params0.copy(), X[:batch], y[:batch])
        tol = 1e-3 if dtype == np.float32 else 1e-8
        agrees = bool(
            np.isclose(loss_f, loss_n, rtol=tol)
            and np.allclose(grad_f, grad_n, rtol=tol, atol=tol * np.abs(grad_n).max())
        )
        with ctx.watch_load() as load_numpy:
            t_numpy, times_numpy, end_numpy = time_epochs(slow, params0, X, y, batch, lr, repeats)
        for threads in ctx.threads:
            ctx.set_threads(threads)
            with ctx.watch_load() as load_fast:
                t_fast, times_fast, end_fast = time_epochs(fast, params0, X, y, batch, lr, repeats)
            row = {
                "dtype": dtype_name(dtype),
                "threads": threads,
                "blas_threads": blas,
                "fastnn": t_fast,
                "numpy": t_numpy,
                "fastnn_times": times_fast,
                "numpy_times": times_numpy,
                "fastnn_final_loss": end_fast,
                "numpy_final_loss": end_numpy,
                "first_batch_agrees": agrees,
                "fastnn_busy": load_fast.busy,
                "numpy_busy": load_numpy.busy,
                "others_cpu_share": {"fastnn": load_fast.share, "numpy": load_numpy.share},
            }
            summary.append(row)
            fast_figure, numpy_figure = watched(t_fast, load_fast), watched(t_numpy, load_numpy)
            figures += [fast_figure, numpy_figure]
            print(
                f"{row['dtype']:>7} {threads:>3} {time_cell(fast_figure):>9} {time_cell(numpy_figure):>9} "
                f"{ratio_label(numpy_figure, fast_figure):>6} {end_fast:>12.5g} {end_numpy:>12.5g}"
                + ("" if agrees else "  WARNING: first-batch loss/gradient differ from the NumPy network"),
                flush=True,
            )
    print_load_legend(figures)
    ctx.set_threads(ctx.max_threads)
    ctx.sections["mlp"] = {"sizes": sizes, "samples": n_samples, "batch": batch, "rows": summary}
