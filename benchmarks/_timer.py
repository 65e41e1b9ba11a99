"""Adaptive wall-clock timing: the median of repeated batches, like timeit.

A case is timed in three steps:

1. one warm-up call (caches, lazy initialisation, the OpenMP pool);
2. calibration: the number of calls per batch is raised until one batch takes
   at least ``min_batch_s``, so that a sub-microsecond call is not drowned in
   timer resolution;
3. as many batches as fit in ``budget_s`` (at least ``min_repeats``, at most
   ``max_repeats``), each timed with ``time.perf_counter``.

The reported figure is the median time per call over the batches; the minimum,
the quartiles and the 95th percentile travel along in the JSON (the 95th
percentile is a batch's time per call, so it shows slow calls only when a
batch is one call, as for the large arrays).  Each implementation is timed as
one block rather than interleaved with its peers: fastnn and PyTorch bring
their own OpenMP runtimes, whose idle threads spin for a while after a
parallel region, and on a 2-core machine round-robin interleaving would make
each runtime's spinning threads steal the other's cores.  The warm-up call at
the start of each block absorbs that hand-over.
"""

import gc
import math
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Optional


@dataclass
class Timing:
    """Per-call times in seconds, from ``repeats`` batches of ``number`` calls.

    ``others_cpu_share`` and ``busy`` say how busy the machine was while the
    batches ran.  The timer does not watch the machine: ``Context.time``
    fills them in (``_machine.CpuMonitor``), and they stay None and False
    for a bare :func:`measure`.
    """

    median: float
    minimum: float
    q1: float
    q3: float
    p95: float
    repeats: int
    number: int
    others_cpu_share: Optional[float] = None
    busy: bool = False

    def as_dict(self):
        return asdict(self)


def _time_batch(fn, number):
    """Seconds taken by ``number`` back-to-back calls of ``fn``."""
    loop = range(number)
    start = time.perf_counter()
    for _ in loop:
        fn()
    return time.perf_counter() - start


def measure(fn, *, budget_s=0.2, min_repeats=5, max_repeats=100_000, min_batch_s=2e-4):
    """Time ``fn()`` adaptively and return a :class:`Timing`.

    The total time spent is about ``budget_s`` plus one warm-up call, except
    that at least ``min_repeats`` batches are always run (slow cases overrun
    the budget rather than report a median of one).
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        first = _time_batch(fn, 1)
        number = 1
        per_call = first
        # Grow the batch until it is long enough to time reliably.
        while number * per_call < min_batch_s:
            number = max(number * 2, math.ceil(min_batch_s / max(per_call, 1e-9)))
            per_call = _time_batch(fn, number) / number
        repeats = int(budget_s / max(number * per_call, 1e-12))
        repeats = max(min_repeats, min(max_repeats, repeats))
        samples = [_time_batch(fn, number) / number for _ in range(repeats)]
    finally:
        if gc_was_enabled:
            gc.enable()
    return _summarise(samples, number)


def measure_interleaved(fns, *, budget_s=0.2, min_repeats=5):
    """Time each of ``fns`` (a dict of callables) in turn, round after round.

    For slow calls compared with one another, such as two configurations of
    the same fit: a drift of the machine's speed over the run (frequency,
    a neighbour on the host) then lands on every one of them alike instead
    of on whichever was timed in a slow stretch.  Each call is its own
    batch; after one warm-up call each, rounds run until ``budget_s`` is
    spent, at least ``min_repeats`` of them.  Returns a dict of
    :class:`Timing` with the same keys.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    samples = {key: [] for key in fns}
    try:
        for fn in fns.values():
            _time_batch(fn, 1)
        start = time.perf_counter()
        rounds = 0
        while rounds < min_repeats or time.perf_counter() - start < budget_s:
            for key, fn in fns.items():
                samples[key].append(_time_batch(fn, 1))
            rounds += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    return {key: _summarise(times, 1) for key, times in samples.items()}


def _summarise(samples, number):
    """The :class:`Timing` of per-call times ``samples`` from batches of ``number`` calls."""
    samples = sorted(samples)
    repeats = len(samples)
    if len(samples) >= 4:
        q1, _, q3 = statistics.quantiles(samples, n=4)
    else:
        q1, q3 = samples[0], samples[-1]
    # "inclusive" keeps the percentile within the samples when there are few.
    p95 = statistics.quantiles(samples, n=20, method="inclusive")[-1] if len(samples) >= 2 else samples[0]
    return Timing(
        median=statistics.median(samples),
        minimum=samples[0],
        q1=q1,
        q3=q3,
        p95=p95,
        repeats=repeats,
        number=number,
    )


def format_seconds(seconds):
    """A time with a unit chosen so that 3-4 significant digits show."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
