"""The machine and versions a run measured, and how busy the machine was meanwhile.

Every report starts with the CPU, the library versions and fastnn's build
(``machine_info``, printed by ``print_machine`` and saved in the JSON), and
says when other processes took CPU time (``CpuMonitor``): on a 2-core
machine one busy neighbour halves what two threads can do.
"""

import datetime
import os
import platform
import sys
import time

import numpy as np


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
    """The vector instruction sets the CPU reports, among those fastnn's builds use."""
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
    """A JSON-ready dict: CPU, versions, fastnn's configuration, thread settings, date."""
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
    CPU time (and that of its children once they have been waited for),
    giving the share of the machine other processes took.
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


def warn_if_busy(seconds=0.5, threshold=0.1):
    """Sample the machine for ``seconds`` and warn when other processes use more than ``threshold``.

    The load average lags by minutes, so it would still blame a neighbour
    that has just finished; a short sample of /proc/stat does not.
    """
    monitor = CpuMonitor()
    time.sleep(seconds)
    busy = monitor.others_share()
    if busy is not None and busy > threshold:
        print(
            f"  WARNING : other processes are using {busy:.0%} of the CPUs; the figures (2-thread ones above "
            "all) will be slower and noisier than on an idle machine"
        )
    return busy
