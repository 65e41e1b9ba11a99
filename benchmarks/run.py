"""fastnn benchmark runner: fastnn against textbook NumPy, PyTorch CPU and SciPy.

Usage::

    python benchmarks/run.py            # full run, a few minutes on 2 cores
    python benchmarks/run.py --quick    # about a minute, fewer repeats
    python benchmarks/run.py --help     # sections, JSON/PNG output, exp sweep

Only NumPy is required.  PyTorch, SciPy and matplotlib are used when they are
importable; install the CPU build of PyTorch as described in
``docs/benchmarks.md``.  Results are printed as one table per kernel, then the
extra sections (memory bandwidth, scaling, axis 0, small-call latency, thread
speed-up, MLP epoch), then a "targets" section that checks each performance
target of the project against the figures measured in this run.  Everything
is also written as JSON (and a PNG chart when matplotlib is installed) to
``benchmarks/results/`` unless ``--json``/``--plot`` say otherwise.

Every time is the median over repeated batches of calls (see ``_timer.py``);
"vs" columns are peer time / fastnn time, so 10x means fastnn is ten times
faster; GB/s is the least number of bytes the kernel must read and write,
divided by fastnn's median time.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

from _peers import KERNELS, agree, import_scipy_special, import_torch  # noqa: E402
from _timer import format_seconds, measure  # noqa: E402

# Shapes (N, C) of the main tables; the last three are "large" for the targets.
SHAPES = [(1, 10), (128, 10), (100_000, 10), (4096, 1000), (64, 50_000)]
LARGE_SHAPES = [(100_000, 10), (4096, 1000), (64, 50_000)]
# Elementwise kernels are timed on 1e6 elements plus the two small shapes.
ELEMENTWISE_SHAPES = [(1, 10), (128, 10), (1000, 1000)]
ELEMENTWISE_LARGE = [(1000, 1000)]
DTYPES = [np.float32, np.float64]
SECTIONS = ["kernels", "bandwidth", "scaling", "axis0", "latency", "threads", "mlp"]
# Sections run only when named with --sections (minutes each on the full data).
OPTIONAL_SECTIONS = ["fit", "linear_xent"]


def import_fastnn():
    """Import fastnn; when it is not installed, try the repository root (in-place build).

    Only a missing package triggers the fallback: an installed fastnn that
    fails to import is reported as it is, not masked by the source tree.
    """
    try:
        import fastnn
    except ModuleNotFoundError as exc:
        if exc.name != "fastnn":
            raise
        sys.path.insert(0, REPO)
        try:
            import fastnn
        except ImportError as exc:
            sys.exit(
                f"cannot import fastnn ({exc}).\n"
                "Install it (pip install .) or build it in place "
                "(python setup.py build_ext --inplace) first."
            )
    return fastnn


def shape_label(shape):
    return "x".join(str(n) for n in shape)


def ratio_label(peer, fastnn_time):
    if peer is None or fastnn_time is None:
        return "-"
    return f"{peer / fastnn_time:.3g}x"


class Context:
    """Everything a section needs: the modules, the options, and the results."""

    def __init__(self, args):
        self.args = args
        self.fastnn = import_fastnn()
        self.torch = None if args.no_torch else import_torch()
        self.special = import_scipy_special()
        self.threads = args.threads
        self.max_threads = max(args.threads)
        self.budget = args.budget if args.budget is not None else (0.05 if args.quick else 0.2)
        self.records = []  # one dict per timed (case, implementation)
        self.sections = {}  # per-section summaries, for the targets and JSON
        self.rng = np.random.default_rng(12345)

    def set_threads(self, n):
        self.fastnn.set_num_threads(n)
        if self.torch is not None:
            self.torch.set_num_threads(n)

    def time(self, fn, **kwargs):
        kwargs.setdefault("budget_s", self.budget)
        kwargs.setdefault("min_repeats", 3 if self.args.quick else 5)
        return measure(fn, **kwargs)

    def record(self, section, impl, timing, **fields):
        entry = {"section": section, "impl": impl, **fields, **timing.as_dict()}
        self.records.append(entry)
        return entry

    def find(self, section, impl, **fields):
        """Median of the record matching every field, or None."""
        for entry in self.records:
            if entry["section"] == section and entry["impl"] == impl:
                if all(entry.get(k) == v for k, v in fields.items()):
                    return entry["median"]
        return None


# ---------------------------------------------------------------------------
# Machine description
# ---------------------------------------------------------------------------


def cpu_model():
    """The CPU's model name, with its family/model numbers (VMs often hide the name)."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    return f"{fields['model name']} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in flags]
    except OSError:
        pass
    return []


def machine_info(ctx):
    info = {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "fastnn": getattr(ctx.fastnn, "__version__", "?"),
        "fastnn_path": os.path.dirname(ctx.fastnn.__file__),
        "fastnn_config": ctx.fastnn.show_config(mode="dicts"),
        "torch": ctx.torch.__version__ if ctx.torch is not None else None,
        "scipy": None,
        "threads": ctx.threads,
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ},
        "quick": ctx.args.quick,
        "budget_s": ctx.budget,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    try:
        info["numpy_blas"] = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except Exception:
        info["numpy_blas"] = None
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "filepath")} for pool in threadpool_info()
        ]
    except ImportError:
        info["threadpools"] = None
    if ctx.special is not None:
        import scipy

        info["scipy"] = scipy.__version__
    return info


def print_machine(info):
    print("fastnn benchmarks")
    print(f"  machine : {info['cpu']}, {info['logical_cpus']} logical CPUs ({' '.join(info['cpu_flags'])})")
    print(f"  python  : {info['python']} on {info['platform']}")
    print(f"  numpy   : {info['numpy']} (BLAS: {info['numpy_blas']})")
    print(f"  torch   : {info['torch'] or 'not installed (see docs/benchmarks.md)'}")
    print(f"  scipy   : {info['scipy'] or 'not installed'}")
    print(f"  fastnn  : {info['fastnn']} from {info['fastnn_path']}")
    print(f"            config {info['fastnn_config']}")
    mode = "quick" if info["quick"] else "full"
    print(f"  run     : {mode}, {info['budget_s']} s of repeats per implementation and case, threads {info['threads']}")
    if info["env"]:
        print(f"  env     : {info['env']}")


class CpuMonitor:
    """CPU time used by other processes while the benchmarks run.

    Benchmarks on a 2-core machine are only meaningful when nothing else
    runs: a busy neighbour halves what two threads can do.  This reads the
    machine-wide busy time from /proc/stat and subtracts this process's own
    CPU time, giving the share of the machine other processes took.
    """

    def __init__(self):
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start = self.snapshot()

    def snapshot(self):
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # minus idle, iowait
        own = os.times()
        return busy / self.ticks, own.user + own.system + own.children_user + own.children_system, time.perf_counter()

    def others_share(self, since=None):
        """Fraction (0-1) of all CPUs' time used by other processes since ``since``."""
        since = since or self.start
        now = self.snapshot()
        if since is None or now is None:
            return None
        elapsed = now[2] - since[2]
        others = (now[0] - since[0]) - (now[1] - since[1])
        return max(0.0, others / (elapsed * (os.cpu_count() or 1))) if elapsed > 0 else None


def heading(title, note=None):
    print()
    print(title)
    print("=" * len(title))
    if note:
        print(textwrap.fill(note, 100))


# ---------------------------------------------------------------------------
# Section: one table per kernel
# ---------------------------------------------------------------------------

PEER_NOTES = {
    "softmax": "numpy: e = exp(x - max); e / e.sum | torch.softmax | scipy.special.softmax",
    "log_softmax": "numpy: s = x - max; s - log(exp(s).sum) | torch.log_softmax | scipy.special.log_softmax",
    "softmax_cross_entropy": "mean loss + gradient w.r.t. logits, integer labels | numpy: log-softmax, "
    "gather, p - onehot | torch: F.cross_entropy forward + autograd backward",
    "sigmoid": "numpy: 1 / (1 + exp(-x)) | torch.sigmoid | scipy.special.expit",
    "sigmoid_backward": "grad_out * s * (1 - s) | numpy: that expression | torch.ops.aten.sigmoid_backward",
    "sigmoid_binary_cross_entropy": "mean loss + gradient w.r.t. logits, 0/1 targets | numpy: "
    "max(z, 0) - z t + log1p(exp(-|z|)), sigmoid(z) - t | torch: "
    "F.binary_cross_entropy_with_logits forward + autograd backward",
}


def section_kernels(ctx):
    kernels = ctx.args.kernels or list(KERNELS)
    peers = ["numpy", "torch", "scipy"]
    for name in kernels:
        kernel = KERNELS[name]
        elementwise = name.startswith("sigmoid")
        shapes = ELEMENTWISE_SHAPES if elementwise else SHAPES
        heading(f"{name}", PEER_NOTES[name])
        header = f"{'shape':>11} {'dtype':>7} {'thr':>3} {'fastnn':>9}"
        for peer in peers:
            header += f" {peer:>9} {'vs':>6}"
        header += f" {'GB/s':>6}"
        print(header)
        for shape in shapes:
            for dtype in DTYPES:
                inputs = kernel.make_inputs(shape, dtype, ctx.rng)
                impls = {"fastnn": kernel.fastnn(ctx.fastnn, inputs), "numpy": kernel.numpy(inputs)}
                if ctx.torch is not None and kernel.torch is not None:
                    impls["torch"] = kernel.torch(ctx.torch, inputs)
                if ctx.special is not None and kernel.scipy is not None:
                    impls["scipy"] = kernel.scipy(ctx.special, inputs)
                # Reference: the NumPy formula in float64 on the same data.
                inputs64 = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in inputs.items()}
                expected = kernel.numpy(inputs64)()
                mismatched = [impl for impl, fn in impls.items() if not agree(fn(), expected, dtype)]
                nbytes = kernel.bytes_moved(inputs)
                for threads in ctx.threads:
                    ctx.set_threads(threads)
                    medians = {}
                    for impl, fn in impls.items():
                        timing = ctx.time(fn)
                        medians[impl] = timing.median
                        ctx.record(
                            "kernels",
                            impl,
                            timing,
                            kernel=name,
                            shape=shape_label(shape),
                            dtype=np.dtype(dtype).name,
                            threads=threads,
                            bytes=nbytes,
                            agrees=impl not in mismatched,
                        )
                    fast = medians["fastnn"]
                    line = f"{shape_label(shape):>11} {np.dtype(dtype).name:>7} {threads:>3} {format_seconds(fast):>9}"
                    for peer in peers:
                        line += f" {format_seconds(medians.get(peer)):>9} {ratio_label(medians.get(peer), fast):>6}"
                    line += f" {nbytes / fast / 1e9:>6.1f}"
                    if mismatched:
                        line += f"  WARNING: results differ: {', '.join(mismatched)}"
                    print(line, flush=True)
    ctx.set_threads(ctx.max_threads)


# ---------------------------------------------------------------------------
# Section: memory bandwidth against np.copyto
# ---------------------------------------------------------------------------


def section_bandwidth(ctx):
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


# ---------------------------------------------------------------------------
# Section: time per element from 1e3 to 1e8 elements
# ---------------------------------------------------------------------------


def section_scaling(ctx):
    threads = ctx.max_threads
    top = 7 if ctx.args.quick else 8
    heading(
        f"scaling: float32 softmax, C = 1000, {threads} threads",
        "Time per element should level off as size grows (linear cost). Sizes above 1e7 use 3 repeats."
        + (" --quick stops at 1e7 elements." if ctx.args.quick else ""),
    )
    ctx.set_threads(threads)
    impls = ["fastnn", "numpy"] + (["torch"] if ctx.torch is not None else [])
    print(f"{'elements':>9} {'shape':>11}" + "".join(f" {impl + ' ns/el':>15}" for impl in impls) + f" {'fastnn GB/s':>12}")
    summary = []
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
        row = {"elements": n, "shape": shape_label(shape)}
        line = f"{n:>9.0e} {shape_label(shape):>11}"
        for impl in impls:
            timing = ctx.time(fns[impl], min_repeats=3 if big else 5, budget_s=0 if big else ctx.budget)
            ctx.record("scaling", impl, timing, shape=shape_label(shape), elements=n, dtype="float32", threads=threads)
            row[impl] = timing.median / n
            line += f" {timing.median / n * 1e9:>15.3g}"
        line += f" {2 * x.nbytes / (row['fastnn'] * n) / 1e9:>12.1f}"
        print(line, flush=True)
        summary.append(row)
        del x, fns
    ctx.sections["scaling"] = summary


# ---------------------------------------------------------------------------
# Section: softmax along axis 0 of a C-ordered array
# ---------------------------------------------------------------------------


def peak_numpy_allocation(fn):
    """Peak bytes allocated through NumPy (tracemalloc) while ``fn()`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak - before


def section_axis0(ctx):
    shape = (4096, 1000)
    heading(
        f"softmax along axis 0 of a C-ordered {shape_label(shape)} array",
        "axis0/axis-1 is fastnn's axis-0 time over its last-axis time; 'vs' is the peer's axis-0 time over "
        "fastnn's. 'extra MB' is the peak NumPy allocation during one axis-0 call minus the result "
        "itself: a transposed copy of the input would show up as its size.",
    )
    print(
        f"{'dtype':>7} {'thr':>3} {'axis -1':>9} {'axis 0':>9} {'0/-1':>6} {'numpy ax0':>10} {'vs':>6} "
        f"{'torch dim0':>10} {'vs':>6} {'extra MB':>9}"
    )
    summary = []
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
        extra = peak_numpy_allocation(lambda: ctx.fastnn.softmax(x, axis=0)) - x.nbytes
        for threads in ctx.threads:
            ctx.set_threads(threads)
            medians = {}
            for impl, fn in fns.items():
                timing = ctx.time(fn)
                medians[impl] = timing.median
                ctx.record("axis0", impl, timing, shape=shape_label(shape), dtype=np.dtype(dtype).name, threads=threads)
            last, first = medians["fastnn axis=-1"], medians["fastnn axis=0"]
            row = {
                "dtype": np.dtype(dtype).name,
                "threads": threads,
                "axis0_over_last": first / last,
                "numpy_over_fastnn": medians["numpy axis=0"] / first,
                "torch_over_fastnn": medians["torch dim=0"] / first if "torch dim=0" in medians else None,
                "extra_bytes": extra,
                "input_bytes": x.nbytes,
                "agrees": agrees,
            }
            summary.append(row)
            print(
                f"{np.dtype(dtype).name:>7} {threads:>3} {format_seconds(last):>9} {format_seconds(first):>9} "
                f"{first / last:>6.2f} {format_seconds(medians['numpy axis=0']):>10} "
                f"{ratio_label(medians['numpy axis=0'], first):>6} "
                f"{format_seconds(medians.get('torch dim=0')):>10} {ratio_label(medians.get('torch dim=0'), first):>6} "
                f"{extra / 1e6:>9.1f}" + ("" if agrees else "  WARNING: axis-0 result differs from NumPy"),
                flush=True,
            )
    ctx.set_threads(ctx.max_threads)
    ctx.sections["axis0"] = summary


# ---------------------------------------------------------------------------
# Section: small-call latency
# ---------------------------------------------------------------------------


def section_latency(ctx):
    threads = ctx.max_threads
    budget = 0.1 if ctx.args.quick else 0.5
    heading(
        f"small-call latency: 1x10 inputs, {threads} threads allowed",
        "Median microseconds per call, argument checking and result allocation included. "
        "Each call goes through a Python lambda, whose own cost is shown as 'empty call'.",
    )
    empty = measure(lambda: None, budget_s=budget)
    print(f"  empty call: {empty.median * 1e6:.3f} us")
    impls = ["fastnn", "numpy", "torch", "scipy"]
    print(f"{'kernel':>22} {'dtype':>7}" + "".join(f" {impl + ' us':>10}" for impl in impls))
    ctx.set_threads(threads)
    summary = []
    for name, kernel in KERNELS.items():
        for dtype in DTYPES:
            inputs = kernel.make_inputs((1, 10), dtype, ctx.rng)
            fns = {"fastnn": kernel.fastnn(ctx.fastnn, inputs), "numpy": kernel.numpy(inputs)}
            if ctx.torch is not None and kernel.torch is not None:
                fns["torch"] = kernel.torch(ctx.torch, inputs)
            if ctx.special is not None and kernel.scipy is not None:
                fns["scipy"] = kernel.scipy(ctx.special, inputs)
            row = {"kernel": name, "dtype": np.dtype(dtype).name}
            for impl, fn in fns.items():
                timing = measure(fn, budget_s=budget, min_repeats=20)
                ctx.record("latency", impl, timing, kernel=name, shape="1x10", dtype=row["dtype"], threads=threads)
                row[impl] = timing.median
            summary.append(row)
            print(
                f"{name:>22} {row['dtype']:>7}"
                + "".join(f" {row[impl] * 1e6:>10.3f}" if impl in row else f" {'-':>10}" for impl in impls),
                flush=True,
            )
    ctx.sections["latency"] = {"empty_call": empty.median, "rows": summary}


# ---------------------------------------------------------------------------
# Section: two threads against one, and no pool for small inputs
# ---------------------------------------------------------------------------

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


def section_threads(ctx):
    heading(
        "threads: speed-up of 2 threads over 1 on the large shapes (t1 / t2)",
        "Taken from the kernel tables. torch shown for comparison.",
    )
    summary = {"speedups": [], "pool": None}
    if not {1, 2} <= set(ctx.threads) or not any(r["section"] == "kernels" for r in ctx.records):
        print("  needs the kernels section run with --threads 1,2")
    else:
        print(f"{'kernel':>22} {'shape':>11} {'dtype':>7} {'fastnn':>7} {'torch':>7}")
        for name in ctx.args.kernels or list(KERNELS):
            shapes = ELEMENTWISE_LARGE if name.startswith("sigmoid") else LARGE_SHAPES
            for shape in shapes:
                for dtype in DTYPES:
                    key = {"kernel": name, "shape": shape_label(shape), "dtype": np.dtype(dtype).name}
                    speedups = {}
                    for impl in ("fastnn", "torch"):
                        t1 = ctx.find("kernels", impl, threads=1, **key)
                        t2 = ctx.find("kernels", impl, threads=2, **key)
                        speedups[impl] = t1 / t2 if t1 and t2 else None
                    summary["speedups"].append({**key, **speedups})
                    print(
                        f"{name:>22} {key['shape']:>11} {key['dtype']:>7} "
                        + " ".join(f"{s:>7.2f}" if s else f"{'-':>7}" for s in speedups.values())
                    )
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


# ---------------------------------------------------------------------------
# Section: one epoch of MLP training
# ---------------------------------------------------------------------------


def _blas_threads():
    """Threads of NumPy's BLAS, when threadpoolctl can tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None


def section_mlp(ctx):
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
    print(f"{'dtype':>7} {'thr':>3} {'fastnn':>9} {'numpy':>9} {'vs':>6} {'fastnn loss':>12} {'numpy loss':>12}")
    summary = []
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
        t_numpy, times_numpy, end_numpy = time_epochs(slow, params0, X, y, batch, lr, repeats)
        for threads in ctx.threads:
            ctx.set_threads(threads)
            t_fast, times_fast, end_fast = time_epochs(fast, params0, X, y, batch, lr, repeats)
            row = {
                "dtype": np.dtype(dtype).name,
                "threads": threads,
                "blas_threads": blas,
                "fastnn": t_fast,
                "numpy": t_numpy,
                "fastnn_times": times_fast,
                "numpy_times": times_numpy,
                "fastnn_final_loss": end_fast,
                "numpy_final_loss": end_numpy,
                "first_batch_agrees": agrees,
            }
            summary.append(row)
            print(
                f"{row['dtype']:>7} {threads:>3} {format_seconds(t_fast):>9} {format_seconds(t_numpy):>9} "
                f"{t_numpy / t_fast:>5.2f}x {end_fast:>12.5g} {end_numpy:>12.5g}"
                + ("" if agrees else "  WARNING: first-batch loss/gradient differ from the NumPy network"),
                flush=True,
            )
    ctx.set_threads(ctx.max_threads)
    ctx.sections["mlp"] = {"sizes": sizes, "samples": n_samples, "batch": batch, "rows": summary}


# ---------------------------------------------------------------------------
# Performance targets
# ---------------------------------------------------------------------------


def _worst_ratio(ctx, kernel, peer, shapes):
    """Smallest peer/fastnn ratio over the kernel-table rows of these shapes."""
    worst = None
    labels = {shape_label(s) for s in shapes}
    for entry in ctx.records:
        if entry["section"] != "kernels" or entry["impl"] != "fastnn" or entry["kernel"] != kernel:
            continue
        if entry["shape"] not in labels:
            continue
        key = {k: entry[k] for k in ("kernel", "shape", "dtype", "threads")}
        peer_time = ctx.find("kernels", peer, **key)
        if peer_time is None:
            continue
        ratio = peer_time / entry["median"]
        if worst is None or ratio < worst[0]:
            worst = (ratio, f"{entry['shape']} {entry['dtype']} {entry['threads']} thr")
    return worst


def evaluate_targets(ctx, exp_result):
    """List of (target, measured, verdict) tuples; verdict PASS, MISS or n/a (...)."""
    targets = []
    have_kernels = any(r["section"] == "kernels" for r in ctx.records)
    no_torch = "n/a (torch not installed)"

    def ratio_target(label, kernel, peer, shapes, needed):
        if not have_kernels:
            targets.append((label, "-", "n/a (kernels section not run)"))
            return
        if peer == "torch" and ctx.torch is None:
            targets.append((label, "-", no_torch))
            return
        worst = _worst_ratio(ctx, kernel, peer, shapes)
        if worst is None:
            targets.append((label, "-", "n/a (not measured)"))
            return
        verdict = "PASS" if worst[0] >= needed else "MISS"
        targets.append((label, f"worst {worst[0]:.2f}x ({worst[1]})", verdict))

    for kernel in ("softmax", "log_softmax"):
        ratio_target(f"{kernel} >= 10x NumPy on the large shapes", kernel, "numpy", LARGE_SHAPES, 10)
        ratio_target(f"{kernel} >= 1.3x PyTorch on every shape", kernel, "torch", SHAPES, 1.3)
    ratio_target("softmax_cross_entropy >= 5x NumPy (large shapes)", "softmax_cross_entropy", "numpy", LARGE_SHAPES, 5)
    ratio_target(
        "softmax_cross_entropy >= 2.5x PyTorch fwd+bwd (large)", "softmax_cross_entropy", "torch", LARGE_SHAPES, 2.5
    )
    ratio_target("sigmoid >= 5x NumPy on 1e6 elements", "sigmoid", "numpy", ELEMENTWISE_LARGE, 5)
    ratio_target("sigmoid >= 1x PyTorch on 1e6 elements", "sigmoid", "torch", ELEMENTWISE_LARGE, 1)

    latency = ctx.sections.get("latency")
    if latency:
        rows = latency["rows"]
        slowest = max(rows, key=lambda r: r["fastnn"])
        targets.append(
            (
                "1x10 call under 2 us (every kernel, both dtypes)",
                f"slowest {slowest['fastnn'] * 1e6:.2f} us ({slowest['kernel']} {slowest['dtype']})",
                "PASS" if slowest["fastnn"] < 2e-6 else "MISS",
            )
        )
        for peer in ("numpy", "torch"):
            label = f"1x10 call faster than {'NumPy' if peer == 'numpy' else 'PyTorch'}"
            if peer == "torch" and ctx.torch is None:
                targets.append((label, "-", no_torch))
                continue
            compared = [r for r in rows if peer in r]
            worst = min(compared, key=lambda r: r[peer] / r["fastnn"])
            targets.append(
                (
                    label,
                    f"worst {worst[peer] / worst['fastnn']:.2f}x ({worst['kernel']} {worst['dtype']})",
                    "PASS" if all(r[peer] > r["fastnn"] for r in compared) else "MISS",
                )
            )
    else:
        targets.append(("1x10 call under 2 us, below NumPy and PyTorch", "-", "n/a (latency section not run)"))

    bandwidth = ctx.sections.get("bandwidth")
    if bandwidth:
        worst = min(bandwidth, key=lambda r: r["softmax(out=)"]["fraction"])
        targets.append(
            (
                "float32 softmax (2 thr) >= 50% of np.copyto speed",
                f"worst {worst['softmax(out=)']['fraction']:.0%} ({worst['shape']}, "
                f"{worst['softmax(out=)']['gbps']:.1f} GB/s)",
                "PASS" if worst["softmax(out=)"]["fraction"] >= 0.5 else "MISS",
            )
        )
    else:
        targets.append(("float32 softmax (2 thr) >= 50% of np.copyto speed", "-", "n/a (bandwidth not run)"))

    scaling = ctx.sections.get("scaling")
    if scaling:
        # Linear cost: from 1e5 elements on (past the fixed per-call cost) the
        # time per element may vary by at most 2x, the gap between cache- and
        # memory-resident data.
        tail = [r["fastnn"] for r in scaling if r["elements"] >= 10**5]
        spread = max(tail) / min(tail)
        targets.append(
            (
                "linear cost: ns/element within 2x from 1e5 elements up",
                f"max/min {spread:.2f} ({min(tail) * 1e9:.3g}-{max(tail) * 1e9:.3g} ns/el, up to "
                f"{scaling[-1]['elements']:.0e})",
                "PASS" if spread <= 2 else "MISS",
            )
        )
    else:
        targets.append(("linear cost across 1e3..1e8 elements", "-", "n/a (scaling not run)"))

    threads = ctx.sections.get("threads")
    if threads and threads["speedups"]:
        measured = [r for r in threads["speedups"] if r["fastnn"]]
        worst = min(measured, key=lambda r: r["fastnn"])
        targets.append(
            (
                "2 threads >= 1.7x one thread (large shapes)",
                f"worst {worst['fastnn']:.2f}x ({worst['kernel']} {worst['shape']} {worst['dtype']})",
                "PASS" if worst["fastnn"] >= 1.7 else "MISS",
            )
        )
    else:
        targets.append(("2 threads >= 1.7x one thread (large shapes)", "-", "n/a (needs kernels + threads, 1,2)"))
    pool = threads and threads.get("pool")
    if pool and "error" not in pool:
        started_small = pool["after_small"] > pool["before"]
        started_large = pool["after_large"] > pool["after_small"]
        measured = f"{pool['before']} -> {pool['after_small']} threads on small calls"
        if started_small:
            verdict = "MISS"
        elif started_large:
            verdict = "PASS"
            measured += f" (-> {pool['after_large']} on a large one)"
        elif not ctx.fastnn.show_config(mode="dicts").get("openmp", True):
            verdict = "PASS"
            measured += " (built without OpenMP)"
        else:
            verdict = "n/a (no pool seen even for a large call)"
        targets.append(("no thread pool started for small inputs", measured, verdict))
    else:
        targets.append(("no thread pool started for small inputs", "-", "n/a (probe not run)"))

    axis0 = ctx.sections.get("axis0")
    if axis0:
        worst = max(axis0, key=lambda r: r["axis0_over_last"])
        targets.append(
            (
                "axis-0 softmax <= 1.5x last-axis time (4096x1000)",
                f"worst {worst['axis0_over_last']:.2f}x ({worst['dtype']} {worst['threads']} thr)",
                "PASS" if worst["axis0_over_last"] <= 1.5 else "MISS",
            )
        )
        if ctx.torch is None:
            targets.append(("axis-0 softmax >= 2x PyTorch dim=0", "-", no_torch))
        else:
            worst = min(axis0, key=lambda r: r["torch_over_fastnn"])
            targets.append(
                (
                    "axis-0 softmax >= 2x PyTorch dim=0",
                    f"worst {worst['torch_over_fastnn']:.2f}x ({worst['dtype']} {worst['threads']} thr)",
                    "PASS" if worst["torch_over_fastnn"] >= 2 else "MISS",
                )
            )
        worst = max(axis0, key=lambda r: r["extra_bytes"] / r["input_bytes"])
        targets.append(
            (
                "axis-0 softmax makes no transposed copy",
                f"peak extra NumPy allocation {worst['extra_bytes'] / 1e6:.1f} MB for a "
                f"{worst['input_bytes'] / 1e6:.1f} MB input",
                "PASS" if worst["extra_bytes"] < 0.5 * worst["input_bytes"] else "MISS",
            )
        )
    else:
        targets.append(("axis-0 softmax targets", "-", "n/a (axis0 section not run)"))

    if exp_result is not None:
        targets.append(
            (
                "float32 exp within 2 ulp (all 2^32 inputs)" if exp_result["stride"] == 1 else
                f"float32 exp within 2 ulp (every {exp_result['stride']}th input)",
                f"max {exp_result['max_ulp']} ulp, {exp_result['special_mismatches']} inf/NaN/zero mismatches",
                "PASS" if exp_result["max_ulp"] <= 2 and exp_result["special_mismatches"] == 0 else "MISS",
            )
        )
    else:
        targets.append(("float32 exp within 2 ulp", "-", "n/a (run with --exp-sweep)"))

    mismatches = sorted({f"{r['kernel']}/{r['impl']}" for r in ctx.records if r.get("agrees") is False})
    if mismatches:
        targets.append(("all implementations agree with NumPy", ", ".join(mismatches), "MISS"))
    return targets


def print_targets(targets):
    heading("performance targets, measured in this run")
    width = max(len(t[0]) for t in targets)
    for label, measured, verdict in targets:
        print(f"  {verdict:<5} {label:<{width}}  {measured}" if verdict in ("PASS", "MISS") else
              f"  {'-':<5} {label:<{width}}  {verdict}")
    passed = sum(v == "PASS" for _, _, v in targets)
    missed = sum(v == "MISS" for _, _, v in targets)
    print(f"  {passed} PASS, {missed} MISS, {len(targets) - passed - missed} not applicable")


# ---------------------------------------------------------------------------
# Output files
# ---------------------------------------------------------------------------


def write_plot(ctx, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib) - no {path}")
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    # Left: speed-ups over each peer on the large shapes, float32, most threads.
    labels, series = [], {"numpy": [], "torch": [], "scipy": []}
    for name in KERNELS:
        shapes = ELEMENTWISE_LARGE if name.startswith("sigmoid") else LARGE_SHAPES
        for shape in shapes:
            key = {"kernel": name, "shape": shape_label(shape), "dtype": "float32", "threads": ctx.max_threads}
            fast = ctx.find("kernels", "fastnn", **key)
            if fast is None:
                continue
            labels.append(f"{name}\n{shape_label(shape)}")
            for peer in series:
                peer_time = ctx.find("kernels", peer, **key)
                series[peer].append(peer_time / fast if peer_time else 0.0)
    if labels:
        positions = np.arange(len(labels))
        peers = [p for p in series if any(series[p])]
        width = 0.8 / max(len(peers), 1)
        for i, peer in enumerate(peers):
            left.bar(positions + i * width, series[peer], width, label=f"{peer} time / fastnn time")
        left.axhline(1.0, color="black", linewidth=0.8)
        left.set_yscale("log")
        left.set_xticks(positions + width * (len(peers) - 1) / 2)
        left.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
        left.set_ylabel("speed-up of fastnn (log scale)")
        left.set_title(f"float32, {ctx.max_threads} threads: speed-up over peers")
        left.legend(fontsize=8)
    # Right: time per element versus size.
    scaling = ctx.sections.get("scaling")
    if scaling:
        sizes = [r["elements"] for r in scaling]
        for impl in ("fastnn", "numpy", "torch"):
            if impl in scaling[0]:
                right.loglog(sizes, [r[impl] * 1e9 for r in scaling], marker="o", label=impl)
        right.set_xlabel("elements (C = 1000)")
        right.set_ylabel("ns per element")
        right.set_title(f"float32 softmax time per element, {ctx.max_threads} threads")
        right.grid(True, which="both", alpha=0.3)
        right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


SECTION_RUNNERS = {
    "kernels": section_kernels,
    "bandwidth": section_bandwidth,
    "scaling": section_scaling,
    "axis0": section_axis0,
    "latency": section_latency,
    "threads": section_threads,
    "mlp": section_mlp,
}
assert list(SECTION_RUNNERS) == SECTIONS


def section_fit(ctx):
    from sections import fit

    fit.run(ctx)


SECTION_RUNNERS["fit"] = section_fit


def section_linear_xent(ctx):
    from sections import linear_xent

    linear_xent.run(ctx)


SECTION_RUNNERS["linear_xent"] = section_linear_xent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Benchmark fastnn against textbook NumPy, PyTorch CPU and SciPy.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Sections: " + ", ".join(SECTIONS) + " (by default), " + ", ".join(OPTIONAL_SECTIONS)
        + " (when named). See docs/benchmarks.md for what each column means.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller extremes (about a minute)")
    parser.add_argument("--sections", type=lambda s: s.split(","), default=SECTIONS,
                        help="comma-separated subset of sections to run (default: all)")
    parser.add_argument("--kernels", type=lambda s: s.split(","), default=None,
                        help="comma-separated subset of kernels for the kernel tables: " + ",".join(KERNELS))
    parser.add_argument("--threads", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2],
                        help="thread counts for the kernel tables (default: 1,2)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of repeats per implementation and case (default 0.2, 0.05 with --quick)")
    parser.add_argument("--no-torch", action="store_true", help="do not compare against PyTorch even if installed")
    parser.add_argument("--exp-sweep", action="store_true",
                        help="also sweep float32 exp over all 2^32 inputs (every 64th with --quick)")
    parser.add_argument("--json", metavar="PATH", help="where to write results (default: benchmarks/results/)")
    parser.add_argument("--plot", metavar="PATH", help="where to write the PNG chart (default: benchmarks/results/)")
    parser.add_argument("--no-save", action="store_true", help="write no JSON or PNG unless --json/--plot are given")
    args = parser.parse_args(argv)
    unknown = set(args.sections) - set(SECTIONS + OPTIONAL_SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS + OPTIONAL_SECTIONS}")
    if args.kernels and set(args.kernels) - set(KERNELS):
        parser.error(f"unknown kernel(s) {sorted(set(args.kernels) - set(KERNELS))}; choose from {list(KERNELS)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    ctx = Context(args)
    started = datetime.datetime.now()
    info = machine_info(ctx)
    print_machine(info)
    monitor = CpuMonitor()
    # Sample what other processes use right now (the load average lags by
    # minutes, so it would still blame a neighbour that has just finished).
    time.sleep(0.5)
    busy = monitor.others_share()
    if busy is not None and busy > 0.1:
        print(
            f"  WARNING : other processes are using {busy:.0%} of the CPUs; the figures (2-thread ones above "
            "all) will be slower and noisier than on an idle machine"
        )
    monitor = CpuMonitor()
    contention = {}
    for section in SECTIONS + OPTIONAL_SECTIONS:
        if section in args.sections:
            before = monitor.snapshot()
            SECTION_RUNNERS[section](ctx)
            contention[section] = monitor.others_share(before)
            if contention[section] is not None and contention[section] > 0.05:
                print(f"  NOTE: other processes used {contention[section]:.0%} of the CPUs during this section")
    exp_result = None
    if args.exp_sweep:
        import exp_accuracy

        heading("float32 exp accuracy sweep (benchmarks/exp_accuracy.py)")
        exp_result = exp_accuracy.sweep(stride=64 if args.quick else 1, verbose=True)
        exp_accuracy.print_report(exp_result)
    targets = evaluate_targets(ctx, exp_result)
    print_targets(targets)
    elapsed = (datetime.datetime.now() - started).total_seconds()
    others = monitor.others_share()
    contention["whole run"] = others
    print(f"\nfinished in {elapsed:.0f} s", end="")
    if others is not None:
        print(f"; other processes used {others:.0%} of the CPUs meanwhile"
              + (" (figures are not those of an idle machine)" if others > 0.05 else ""))
    else:
        print()
    ctx.sections["cpu_used_by_other_processes"] = contention

    stamp = started.strftime("%Y%m%d-%H%M%S")
    default_dir = os.path.join(HERE, "results")
    json_path = args.json or (None if args.no_save else os.path.join(default_dir, f"run-{stamp}.json"))
    plot_path = args.plot or (None if args.no_save else os.path.join(default_dir, f"run-{stamp}.png"))
    if json_path:
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        with open(json_path, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "elapsed_s": elapsed,
                    "records": ctx.records,
                    "sections": ctx.sections,
                    "exp_accuracy": exp_result,
                    "targets": [{"target": t, "measured": m, "verdict": v} for t, m, v in targets],
                },
                f,
                indent=1,
                default=lambda o: o.item() if hasattr(o, "item") else str(o),
            )
        print(f"results written to {json_path}")
    if plot_path:
        os.makedirs(os.path.dirname(os.path.abspath(plot_path)), exist_ok=True)
        if write_plot(ctx, plot_path):
            print(f"chart written to {plot_path}")


if __name__ == "__main__":
    main()
