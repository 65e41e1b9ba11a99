"""Section "linear_xent": an output layer with many classes and its loss, forward and backward.

Every implementation computes the mean cross-entropy of ``softmax(h @ W + b)``
for integer labels and its gradients with respect to h, W and b, on the
same float32 data: N = 8192 rows, D = 512 features, C in {1,000, 32,000,
128,000} classes, with 1 and 2 threads (fastnn's, PyTorch's and the BLAS's
alike, the BLAS through threadpoolctl when it is installed):

- ``fastnn``: ``fastnn.linear_cross_entropy`` with its default 64 MiB budget
  (the "plan" column says how it split the work: row blocks, or row and
  class blocks);
- ``fastnn unfused``: ``h @ W + b``, ``fastnn.softmax_cross_entropy``, then
  ``G @ W.T``, ``h.T @ G`` and ``G.sum(0)``;
- ``numpy``: the same with the softmax and its gradient written in NumPy;
- ``GEMM floor``: not an implementation but a limit, the three products of
  the fused call alone (logits ``h @ W``, ``G @ W.T``, ``h.T @ G``), on the
  same row and class blocks as fastnn's plan, into preallocated blocks, with
  the logits standing in for their gradient G: what the fused call would
  take if its softmax, loss and gradient cost nothing;
- ``torch``: ``F.linear_cross_entropy`` forward and ``backward()``, with
  ``options=None`` (the reference path: whole logits), with
  ``LinearCrossEntropyOptions()`` (its chunking, "auto"), and with
  ``batch_chunk_size`` equal to fastnn's row block (about the same memory).
  PyTorch's weight is (C, D): it gets a contiguous copy of ``W.T``.

Times are medians of whole calls after one warm-up call.  Memory is given two
ways, each from a call of its own: "numpy MB" is the peak of NumPy
allocations seen by tracemalloc, less the outputs (PyTorch's allocator is
invisible to it: "-"); "rss MB" is the rise of the process's resident set
high-water mark (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``)
over the resident set before the call, which counts every allocator,
PyTorch's included, and the outputs (the section makes glibc return every
freed block of 128 KiB or more to the system, so that a call's peak shows
even when an earlier call allocated the same sizes).  An implementation whose whole logits
(and their gradient) would not fit in the memory available is skipped.

Run it with ``python benchmarks/run.py --sections linear_xent``; ``--quick``
runs tiny sizes (N = 256, D = 32, C up to 4,000), only to check that the
section works.
"""

import os
import statistics
import time

import numpy as np

from _context import limit_blas, numpy_peak

FULL = dict(n_rows=8192, n_features=512, classes=(1_000, 32_000, 128_000), repeats=3)
QUICK = dict(n_rows=256, n_features=32, classes=(100, 1_000, 4_000), repeats=1)
#: Logits at least this large (C = 128,000 at full size: 4 GiB) take tens of
#: seconds per call: one timed call, memory measured at one thread count.
BIG_LOGITS_BYTES = 2 << 30
DTYPE = np.float32
# The speed-up over PyTorch that the first of the section's goals asks for.
GOAL_VS_TORCH = 1.3
# The fused call's time over its GEMM floor, at this many classes.
GOAL_OVER_FLOOR = 1.15
FLOOR_GOAL_CLASSES = 32_000


# ---------------------------------------------------------------------------
# Implementations: each a function of (data) returning (loss, grad_h, grad_W, grad_b)
# ---------------------------------------------------------------------------


def _fastnn_fused(fastnn, d):
    return fastnn.linear_cross_entropy(d["h"], d["W"], d["labels"], bias=d["b"])


def _fastnn_unfused(fastnn, d):
    h, W = d["h"], d["W"]
    logits = h @ W
    logits += d["b"]
    loss, G = fastnn.softmax_cross_entropy(logits, d["labels"])
    del logits
    return loss, G @ W.T, h.T @ G, G.sum(axis=0)


def _gemm_floor(d, plan):
    """The fused call's three matrix products alone, on its blocks (see the module docstring)."""
    h, W = d["h"], d["W"]
    n_rows, n_classes = h.shape[0], W.shape[1]
    block = np.empty((plan.rows, plan.classes), dtype=h.dtype)
    grad_h = np.empty_like(h)
    grad_W = np.empty_like(W)
    for r in range(0, n_rows, plan.rows):
        h_rows = h[r:r + plan.rows]
        for c in range(0, n_classes, plan.classes):
            W_cols = W[:, c:c + plan.classes]
            z = block[:h_rows.shape[0], :W_cols.shape[1]]
            np.matmul(h_rows, W_cols, out=z)
            if c == 0:
                np.matmul(z, W_cols.T, out=grad_h[r:r + plan.rows])
            else:
                grad_h[r:r + plan.rows] += z @ W_cols.T
            if r == 0:
                np.matmul(h_rows.T, z, out=grad_W[:, c:c + plan.classes])
            else:
                grad_W[:, c:c + plan.classes] += h_rows.T @ z
    return None  # a limit: no result to compare


def _numpy_unfused(d):
    h, W, labels = d["h"], d["W"], d["labels"]
    n = h.shape[0]
    rows = np.arange(n)
    z = h @ W + d["b"]
    z -= z.max(axis=1, keepdims=True)
    G = np.exp(z)
    total = G.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(total[:, 0]) - z[rows, labels])
    del z
    G /= total
    G[rows, labels] -= 1
    G /= n
    return loss, G @ W.T, h.T @ G, G.sum(axis=0)


def _torch_call(torch, d, options):
    """A callable running F.linear_cross_entropy forward and backward."""
    F = torch.nn.functional
    h = torch.from_numpy(d["h"]).requires_grad_(True)
    # PyTorch's (C, D) layout: one copy, shared by the variants.
    W_t = d.setdefault("W_t", np.ascontiguousarray(d["W"].T))
    W = torch.from_numpy(W_t).requires_grad_(True)
    b = torch.from_numpy(d["b"]).requires_grad_(True)
    labels = torch.from_numpy(d["labels"])

    def call():
        for tensor in (h, W, b):
            tensor.grad = None
        loss = F.linear_cross_entropy(h, W, labels, linear_bias=b, options=options)
        loss.backward()
        return loss.detach(), h.grad, W.grad.T, b.grad

    return call


# ---------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------


def _median_time(fn, repeats):
    """Median of ``repeats`` timed calls (the caller has made a warm-up call)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def _numpy_peak(fn):
    """Peak bytes of NumPy allocations while fn() runs, less its outputs."""
    peak, result = numpy_peak(fn)
    outputs = sum(np.asarray(part).nbytes for part in result if isinstance(part, np.ndarray))
    return peak - outputs


def _kib(path, field):
    """A ``field: <n> kB`` line of a /proc file, in KiB, or None."""
    with open(path) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _return_freed_memory_to_the_system():
    """Make glibc serve every block of 128 KiB or more by mmap, and unmap it on free.

    By default glibc raises that threshold after the first large free, so a
    second call's arrays come from (and go back to) the heap, which stays
    resident: the high-water mark would then not rise at all.  Returns
    whether the setting took (False off glibc: the rss column may then
    under-state repeated calls).
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        M_MMAP_THRESHOLD = -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 128 << 10))
    except (OSError, AttributeError):
        return False


def _rss_peak(fn):
    """Rise of the resident set's high-water mark while fn() runs, in bytes,
    or None where Linux's /proc/self/clear_refs is not available."""
    try:
        rss = _kib("/proc/self/status", "VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident set
        fn()
        hwm = _kib("/proc/self/status", "VmHWM")
    except OSError:
        return None
    if rss is None or hwm is None:
        return None
    return max(0, hwm - rss) * 1024


def _available_bytes():
    """Memory available to new allocations (Linux), or None."""
    try:
        available = _kib("/proc/meminfo", "MemAvailable")
    except OSError:
        return None
    return None if available is None else available * 1024


def _make_data(n_rows, n_features, n_classes, rng):
    h = rng.standard_normal((n_rows, n_features)).astype(DTYPE)
    # Logits of a few units: neither flat nor one-hot.
    W = (rng.standard_normal((n_features, n_classes)) * (2.0 / np.sqrt(n_features))).astype(DTYPE)
    b = (0.1 * rng.standard_normal(n_classes)).astype(DTYPE)
    labels = rng.integers(0, n_classes, n_rows)
    return {"h": h, "W": W, "b": b, "labels": labels}


def _agrees(result, expected):
    from _peers import agree, to_numpy

    return agree(to_numpy(result), to_numpy(expected), DTYPE)


def _plan_label(fastnn, d):
    from fastnn.fused_linear import _plan_for

    plan = _plan_for(d["h"], d["W"], None, False, True, 64 << 20, True)
    if plan.class_blocked:
        return f"{plan.rows}x{plan.classes} blocks", plan
    return f"{plan.rows}-row blocks", plan


# ---------------------------------------------------------------------------
# The section
# ---------------------------------------------------------------------------


def run(ctx):
    """The section runner called by ``benchmarks/run.py``."""
    from _report import format_ratio, heading
    from _timer import format_seconds

    fastnn = ctx.fastnn
    torch = ctx.torch
    sizes = QUICK if ctx.args.quick else FULL
    n, d_in, repeats = sizes["n_rows"], sizes["n_features"], sizes["repeats"]
    heading(
        f"linear_cross_entropy: output layer + loss, forward and backward, N={n}, D={d_in}, "
        f"float32{' (quick: tiny sizes, a smoke test)' if ctx.args.quick else ''}",
        f"Median of {repeats} call(s) after a warm-up (one call, the first, where the logits "
        "would take 2 GiB or more; its memory is then measured at the first thread count "
        "only). 'vs fastnn' is the implementation's "
        "time over fastnn's. 'numpy MB': peak NumPy allocations (tracemalloc) less the outputs; "
        "'rss MB': rise of the resident-set high-water mark, every allocator and the outputs "
        "included. fastnn's budget is max_memory = 64 MiB.",
    )
    print(f"{'C':>7} {'thr':>3} {'implementation':<26} {'time':>9} {'vs fastnn':>9} "
          f"{'numpy MB':>9} {'rss MB':>8}  plan / note")
    rows = []
    available = _available_bytes()
    if not _return_freed_memory_to_the_system():
        print("  (not glibc: the rss column may under-state memory reused between calls)")
    for n_classes in sizes["classes"]:
        data = _make_data(n, d_in, n_classes, ctx.rng)
        plan_text, plan = _plan_label(fastnn, data)
        logits_bytes = n * n_classes * np.dtype(DTYPE).itemsize
        impls = [
            ("fastnn", lambda: _fastnn_fused(fastnn, data), 0, plan_text),
            ("fastnn unfused", lambda: _fastnn_unfused(fastnn, data), 2, ""),
            ("numpy", lambda: _numpy_unfused(data), 3, ""),
        ]
        if torch is not None and hasattr(torch.nn.functional, "linear_cross_entropy"):
            options = torch.nn.LinearCrossEntropyOptions
            impls += [
                ("torch", _torch_call(torch, data, None), 3, "options=None"),
                ("torch chunked (auto)", _torch_call(torch, data, options()), 1,
                 "LinearCrossEntropyOptions()"),
                ("torch chunked (fastnn rows)",
                 _torch_call(torch, data, options(batch_chunk_size=plan.rows,
                                                  chunking_method=None)), 1,
                 f"batch_chunk_size={plan.rows}"),
            ]
        impls.append(("GEMM floor", lambda: _gemm_floor(data, plan), 0,
                      "the products alone, on fastnn's blocks"))
        expected = None
        for threads in ctx.threads:
            with limit_blas(threads):
                ctx.set_threads(threads)
                for name, call, whole_arrays, note in impls:
                    row = {"classes": n_classes, "threads": threads, "impl": name, "note": note}
                    need = whole_arrays * logits_bytes
                    if available is not None and need > 0.7 * available:
                        row["skipped"] = f"needs about {need / 2**30:.1f} GiB"
                        rows.append(row)
                        print(f"{n_classes:>7} {threads:>3} {name:<26} {'-':>9} {'-':>9} "
                              f"{'-':>9} {'-':>8}  skipped: {row['skipped']}", flush=True)
                        continue
                    # The first call checks the result and warms up (imports, thread
                    # pools, first touch of buffers).  A call on the largest shape
                    # takes tens of seconds: that first call is then the one timed,
                    # and memory, which does not depend on the thread count, is
                    # measured at the first thread count only.
                    big = logits_bytes >= BIG_LOGITS_BYTES
                    start = time.perf_counter()
                    result = call()
                    first_time = time.perf_counter() - start
                    if expected is None:
                        expected = result
                    row["agrees"] = result is None or bool(_agrees(result, expected))
                    del result
                    if big:
                        row["time"], row["times"] = first_time, [first_time]
                    else:
                        row["time"], row["times"] = _median_time(call, repeats)
                    measure_memory = not big or threads == ctx.threads[0]
                    limit = name == "GEMM floor"  # its memory is not a result
                    row["numpy_peak"] = (None if name.startswith("torch") or limit
                                         or not measure_memory else _numpy_peak(call))
                    row["rss_peak"] = _rss_peak(call) if measure_memory and not limit else None
                    rows.append(row)
                    fastnn_time = next((r["time"] for r in rows if r["impl"] == "fastnn"
                                        and r["classes"] == n_classes
                                        and r["threads"] == threads and "time" in r), None)
                    ratio = format_ratio(row["time"] / fastnn_time) if fastnn_time else "-"
                    mb = (lambda v: "-" if v is None else f"{v / 2**20:.1f}")
                    print(f"{n_classes:>7} {threads:>3} {name:<26} "
                          f"{format_seconds(row['time']):>9} {ratio:>9} "
                          f"{mb(row['numpy_peak']):>9} {mb(row['rss_peak']):>8}  {note}"
                          + ("" if row["agrees"] else "  WARNING: results differ from fastnn's"),
                          flush=True)
        del data
    ctx.set_threads(ctx.max_threads)
    goals = _goals(rows)
    if getattr(ctx.args, "goals", False):  # the goals are for those who tune fastnn (run.py --goals)
        for goal, verdict in goals:
            print(f"  {verdict:<5} {goal}")
    ctx.sections["linear_xent"] = {**sizes, "rows": rows, "goals": goals}


def _goals(rows):
    """(goal, PASS/MISS/n/a) for the section's four performance goals."""
    def timed(impl):
        return {(r["classes"], r["threads"]): r["time"] for r in rows
                if r["impl"] == impl and "time" in r}

    fastnn = timed("fastnn")
    torch_best = {}
    for impl in ("torch", "torch chunked (auto)", "torch chunked (fastnn rows)"):
        for key, t in timed(impl).items():
            torch_best[key] = min(t, torch_best.get(key, np.inf))
    unfused = timed("fastnn unfused")
    peaks = [r["numpy_peak"] for r in rows
             if r["impl"] == "fastnn" and r.get("numpy_peak") is not None]

    def verdict(pairs, ok):
        if not pairs:
            return "n/a"
        return "PASS" if all(ok(a, b) for a, b in pairs) else "MISS"

    vs_torch = [(torch_best[k] / fastnn[k], None) for k in fastnn if k in torch_best]
    vs_unfused = [(unfused[k], fastnn[k]) for k in fastnn if k in unfused]
    floor = timed("GEMM floor")
    vs_floor = [(fastnn[k], floor[k]) for k in fastnn if k in floor and k[0] == FLOOR_GOAL_CLASSES]
    return [
        (f"at least {GOAL_VS_TORCH}x faster than PyTorch's fastest variant",
         verdict(vs_torch, lambda ratio, _: ratio >= GOAL_VS_TORCH)),
        ("no slower than the unfused fastnn path where it fits in memory",
         verdict(vs_unfused, lambda unfused_time, fused_time: fused_time <= unfused_time)),
        (f"within {GOAL_OVER_FLOOR}x the GEMM floor at {FLOOR_GOAL_CLASSES:,} classes",
         verdict(vs_floor, lambda fused_time, floor_time: fused_time <= GOAL_OVER_FLOOR * floor_time)),
        ("peak extra NumPy memory within max_memory (64 MiB)",
         "n/a" if not peaks else ("PASS" if max(peaks) <= 64 << 20 else "MISS")),
    ]
