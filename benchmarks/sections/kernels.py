"""One table per kernel: fastnn against textbook NumPy, PyTorch, JAX and SciPy, and against a copy.

Every kernel of ``_peers.KERNELS`` (or those of ``--kernels``) on the shapes of
``_cases`` (two small, three large; 1e6 elements for the sigmoid family),
float32 and float64, each thread count of ``--threads``.  fastnn allocates
its result, as its peers do.  Before timing, every implementation's result is
compared with the NumPy formula in float64.  The last column is fastnn's
share of the memory bandwidth of ``np.copyto`` of an array of the result's
size, timed in the same run at the same thread count.  JAX runs on XLA's
own thread pool, which cannot be resized: it is timed in the rows of the
run's largest thread count only.
"""

import numpy as np

from _cases import DTYPES, dtype_name, shape_label, shapes_for
from _peers import KERNELS, agree
from _report import cell, heading, is_busy, print_load_legend, ratio_label, time_cell

PEERS = ["numpy", "torch", "jax", "scipy"]

PEER_NOTES = {
    "softmax": "numpy: e = exp(x - max); e / e.sum | torch.softmax | jax.jit(jax.nn.softmax) | "
    "scipy.special.softmax",
    "log_softmax": "numpy: s = x - max; s - log(exp(s).sum) | torch.log_softmax | "
    "jax.jit(jax.nn.log_softmax) | scipy.special.log_softmax",
    "logsumexp": "log(sum(exp(x))) of each row | numpy: m + log(exp(x - m).sum) | torch.logsumexp | "
    "jax.jit(jax.nn.logsumexp) | scipy.special.logsumexp",
    "softmax_cross_entropy": "mean loss + gradient w.r.t. logits, integer labels | numpy: log-softmax, "
    "gather, p - onehot | torch: F.cross_entropy forward + autograd backward | jax: jit of "
    "value_and_grad of the mean of -log_softmax at the labels",
    "sigmoid": "numpy: 1 / (1 + exp(-x)) | torch.sigmoid | jax.jit(jax.nn.sigmoid) | scipy.special.expit",
    "sigmoid_backward": "grad_out * s * (1 - s) | numpy: that expression | torch.ops.aten.sigmoid_backward",
    "sigmoid_binary_cross_entropy": "mean loss + gradient w.r.t. logits, 0/1 targets | numpy: "
    "max(z, 0) - z t + log1p(exp(-|z|)), sigmoid(z) - t | torch: "
    "F.binary_cross_entropy_with_logits forward + autograd backward | jax: jit of value_and_grad "
    "of the same formula",
}
COPY_NOTE = (
    " | 'of copy': fastnn's GB/s over np.copyto's on an array of the result's size (100% = as fast as "
    "copying the data once)"
)


def _copy_time(ctx, shape, dtype, threads, cache):
    """Median time of np.copyto between two arrays of this shape and dtype, timed once per case."""
    key = (shape, np.dtype(dtype).name, threads)
    if key not in cache:
        src = np.ones(shape, dtype=dtype)
        dst = np.empty_like(src)
        timing = ctx.time(lambda: np.copyto(dst, src))
        ctx.record("kernels", "np.copyto", timing, shape=shape_label(shape), dtype=key[1], threads=threads,
                   bytes=2 * src.nbytes)
        cache[key] = (timing, 2 * src.nbytes)
    return cache[key]


def run(ctx):
    copies = {}
    for name in ctx.args.kernels or list(KERNELS):
        kernel = KERNELS[name]
        heading(f"{name}", PEER_NOTES[name] + COPY_NOTE)
        header = f"{'shape':>11} {'dtype':>7} {'thr':>3} {'fastnn ':>9}"
        for peer in PEERS:
            header += f" {peer + ' ':>9} {'vs ':>6}"
        header += f" {'GB/s ':>6} {'of copy ':>8}"
        print(header)
        figures = []  # every timing a cell of this table shows, for the legend
        for shape in shapes_for(name):
            for dtype in DTYPES:
                inputs = kernel.make_inputs(shape, dtype, ctx.rng)
                impls = {"fastnn": kernel.fastnn(ctx.fastnn, inputs), "numpy": kernel.numpy(inputs)}
                if ctx.torch is not None and kernel.torch is not None:
                    impls["torch"] = kernel.torch(ctx.torch, inputs)
                if ctx.jax is not None and kernel.jax is not None:
                    impls["jax"] = kernel.jax(ctx.jax, inputs)
                if ctx.special is not None and kernel.scipy is not None:
                    impls["scipy"] = kernel.scipy(ctx.special, inputs)
                # Reference: the NumPy formula in float64 on the same data.
                inputs64 = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in inputs.items()}
                expected = kernel.numpy(inputs64)()
                mismatched = [impl for impl, fn in impls.items() if not agree(fn(), expected, dtype)]
                nbytes = kernel.bytes_moved(inputs)
                for threads in ctx.threads:
                    ctx.set_threads(threads)
                    copy, copy_bytes = _copy_time(ctx, shape, dtype, threads, copies)
                    timings = {}
                    for impl, fn in impls.items():
                        if impl == "jax" and threads != ctx.max_threads:
                            continue  # one set of rows: XLA's pool has its own size
                        timing = ctx.time(fn)
                        timings[impl] = timing
                        ctx.record(
                            "kernels",
                            impl,
                            timing,
                            kernel=name,
                            shape=shape_label(shape),
                            dtype=dtype_name(dtype),
                            threads=threads,
                            bytes=nbytes,
                            agrees=impl not in mismatched,
                        )
                    fast = timings["fastnn"]
                    figures += [*timings.values(), copy]
                    of_copy = (nbytes / fast.median) / (copy_bytes / copy.median)
                    line = f"{shape_label(shape):>11} {dtype_name(dtype):>7} {threads:>3} {time_cell(fast):>9}"
                    for peer in PEERS:
                        line += f" {time_cell(timings.get(peer)):>9} {ratio_label(timings.get(peer), fast):>6}"
                    line += (f" {cell(f'{nbytes / fast.median / 1e9:.1f}', fast.busy):>6}"
                             f" {cell(f'{of_copy:.0%}', is_busy(fast, copy)):>8}")
                    if mismatched:
                        line += f"  WARNING: results differ: {', '.join(mismatched)}"
                    print(line, flush=True)
        print_load_legend(figures)
    ctx.set_threads(ctx.max_threads)
