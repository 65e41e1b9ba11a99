"""What every section receives: the modules under test, the options, and the results so far.

A section is a function ``run(ctx)`` (see ``benchmarks/sections/``).  It times
through ``ctx.time``, stores each timing with ``ctx.record`` (one JSON record
per case and implementation) and its summary in ``ctx.sections[name]``, which
the performance goals (``_targets.py``) and the chart read after the run.
``ctx.time`` also asks ``ctx.load`` (``_machine.CpuMonitor``) how busy the
machine was during each timing; the tables mark the figures measured under
load (``_report.time_cell``), and timings made without ``ctx.time`` can be
watched with ``ctx.watch_load()``.
"""

import contextlib
import os
import sys
import tracemalloc

import numpy as np

from _machine import MIN_WINDOW_S, CpuMonitor, Load
from _peers import import_jax, import_scipy_special, import_torch
from _timer import measure, measure_interleaved

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


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


def limit_blas(n):
    """A context manager limiting every BLAS to ``n`` threads (threadpoolctl).

    Does nothing when ``n`` is None or threadpoolctl is not installed.
    """
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def numpy_peak(fn):
    """``(peak bytes allocated through NumPy while fn() runs, fn's result)``, by tracemalloc."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before, result


class Context:
    """Everything a section needs: the modules, the options, and the results."""

    def __init__(self, args):
        self.args = args
        self.fastnn = import_fastnn()
        self.torch = None if args.no_torch else import_torch()
        self.jax = None if getattr(args, "no_jax", False) else import_jax()
        self.special = import_scipy_special()
        self.threads = args.threads
        self.max_threads = max(args.threads)
        self.budget = args.budget if args.budget is not None else (0.05 if args.quick else 0.2)
        self.records = []  # one dict per timed (case, implementation)
        self.sections = {}  # per-section summaries, for the targets and JSON
        self.rng = np.random.default_rng(12345)
        self.load = CpuMonitor()  # how busy the machine is; tests put a fake one here

    def set_threads(self, n):
        """Give fastnn and PyTorch the same number of threads."""
        self.fastnn.set_num_threads(n)
        if self.torch is not None:
            self.torch.set_num_threads(n)

    def time(self, fn, **kwargs):
        """:func:`_timer.measure` with the run's budget and repeats, and the machine's load meanwhile."""
        kwargs.setdefault("budget_s", self.budget)
        kwargs.setdefault("min_repeats", 3 if self.args.quick else 5)
        with self.watch_load() as load:
            timing = measure(fn, **kwargs)
        timing.others_cpu_share, timing.busy = load.share, load.busy
        return timing

    def time_interleaved(self, fns, **kwargs):
        """:func:`_timer.measure_interleaved` with the run's budget and repeats, and the load."""
        kwargs.setdefault("budget_s", self.budget)
        kwargs.setdefault("min_repeats", 3 if self.args.quick else 5)
        with self.watch_load() as load:
            timings = measure_interleaved(fns, **kwargs)
        for timing in timings.values():
            timing.others_cpu_share, timing.busy = load.share, load.busy
        return timings

    @contextlib.contextmanager
    def watch_load(self):
        """Yield a :class:`_machine.Load` that holds, once the block ends, how busy the machine was."""
        load = Load()
        start = self.load.snapshot()
        yield load
        measured = self.load.load(since=start, min_window=MIN_WINDOW_S)
        load.share, load.window_s = measured.share, measured.window_s

    def record(self, section, impl, timing, **fields):
        """Keep one timing for the JSON, labelled by its section, implementation and case."""
        entry = {"section": section, "impl": impl, **fields, **timing.as_dict()}
        self.records.append(entry)
        return entry

    def find_record(self, section, impl, **fields):
        """The first record matching every field, or None."""
        for entry in self.records:
            if entry["section"] == section and entry["impl"] == impl:
                if all(entry.get(k) == v for k, v in fields.items()):
                    return entry
        return None

    def find(self, section, impl, **fields):
        """Median of the record matching every field, or None."""
        entry = self.find_record(section, impl, **fields)
        return None if entry is None else entry["median"]
