"""Contention: softmax and the cross-entropy with one competing CPU-bound process.

On a machine shared with other work, an OpenMP team can lose a whole
scheduler time slice whenever one of its threads is descheduled at a
barrier.  This section times fastnn (and PyTorch, when installed) on a
4096x1000 float32 array on 1 and 2 threads with the machine quiet, then
again while one busy-looping Python process, started and stopped by the
section, competes for the CPUs.  It reports the median and the 95th
percentile of single calls: a slow tail is what contention costs first.

It loads the machine on purpose, so it runs only when named
(``--sections contention``).
"""

import subprocess
import sys
import time

import numpy as np

from _cases import shape_label
from _machine import CpuMonitor
from _peers import KERNELS
from _report import cell, heading, print_load_legend, ratio_label
from _timer import format_seconds

SHAPE = (4096, 1000)
KERNEL_NAMES = ["softmax", "softmax_cross_entropy"]
THREADS = [1, 2]
COMPETITOR = "while True: pass"
# Enough single calls for a 95th percentile that is not simply the maximum.
MIN_REPEATS = 20


def start_competitor():
    """One CPU-bound Python process; the caller must kill it."""
    return subprocess.Popen(
        [sys.executable, "-c", COMPETITOR],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _time_all(ctx, impls, load, results):
    for threads in THREADS:
        ctx.set_threads(threads)
        for (kernel, impl), fn in impls.items():
            # min_batch_s=0: every sample is one call, so the 95th percentile is a call's.
            timing = ctx.time(fn, min_repeats=MIN_REPEATS, min_batch_s=0)
            ctx.record("contention", impl, timing, kernel=kernel, shape=shape_label(SHAPE), dtype="float32",
                       threads=threads, load=load)
            # The competitor is this run's child, so ctx.time counts it as the run's own
            # work: "busy" marks only load from processes outside the run.
            results[(kernel, impl)][f"{load}_{threads}"] = {"median": timing.median, "p95": timing.p95,
                                                            "busy": timing.busy,
                                                            "others_cpu_share": timing.others_cpu_share}


def run(ctx):
    heading(
        f"contention: float32 {shape_label(SHAPE)} with one competing CPU-bound process",
        "Each cell is the median / 95th percentile of single calls. 'quiet': nothing else started; "
        "'loaded': while one busy-looping Python process runs beside the benchmark. 'loaded 2 / quiet 1' "
        "is the loaded 2-thread median over the quiet 1-thread median: above 1, two threads under load are "
        "slower than one thread on a quiet machine.",
    )
    impls = {}
    for name in KERNEL_NAMES:
        kernel = KERNELS[name]
        inputs = kernel.make_inputs(SHAPE, np.float32, ctx.rng)
        impls[(name, "fastnn")] = kernel.fastnn(ctx.fastnn, inputs)
        if ctx.torch is not None and kernel.torch is not None:
            impls[(name, "torch")] = kernel.torch(ctx.torch, inputs)
    results = {key: {} for key in impls}
    _time_all(ctx, impls, "quiet", results)

    monitor = CpuMonitor(children_are_own=False)  # the competitor is the load this section adds
    competitor = start_competitor()
    try:
        time.sleep(0.2)  # let it start and reach its loop
        before = monitor.snapshot()
        _time_all(ctx, impls, "loaded", results)
        competitor_share = monitor.others_share(before)
        competitor_ran = competitor.poll() is None
    finally:
        competitor.kill()
        competitor.wait()
    ctx.set_threads(ctx.max_threads)

    columns = [f"{load} {threads}" for load in ("quiet", "loaded") for threads in THREADS]
    print(f"{'kernel':>22} {'impl':>7}" + "".join(f" {c + ' thr ':>22}" for c in columns)
          + f" {'loaded 2 / quiet 1 ':>20}")
    summary = {"shape": shape_label(SHAPE), "dtype": "float32", "competitor": COMPETITOR,
               "competitor_ran": competitor_ran, "others_share_while_loaded": competitor_share, "rows": []}
    for (name, impl), cells in results.items():
        ratio = cells["loaded_2"]["median"] / cells["quiet_1"]["median"]
        summary["rows"].append({"kernel": name, "impl": impl, **cells, "loaded2_over_quiet1": ratio})
        line = f"{name:>22} {impl:>7}"
        for load in ("quiet", "loaded"):
            for threads in THREADS:
                figure = cells[f"{load}_{threads}"]
                text = f"{format_seconds(figure['median'])} / {format_seconds(figure['p95'])}"
                line += f" {cell(text, figure['busy']):>22}"
        print(line + f" {ratio_label(cells['loaded_2'], cells['quiet_1']):>20}", flush=True)
    print_load_legend(figure for cells in results.values() for figure in cells.values())
    share = "unknown" if competitor_share is None else f"{competitor_share:.0%}"
    print(f"  other processes (the competitor included) used {share} of the CPUs during the loaded timings")
    if not competitor_ran:
        print("  WARNING: the competing process had stopped before the loaded timings ended")
    ctx.sections["contention"] = summary
