"""The machine and versions a run measured, and how busy the machine was meanwhile.

Every report starts with the CPU, the library versions and fastnn's build
(``machine_info``, printed by ``print_machine`` and saved in the JSON).
``CpuMonitor`` measures the share of the CPUs that other processes took
over any stretch of the run: ``Context.time`` asks it about every timing,
and the tables mark each figure measured while that share was above
``BUSY_SHARE`` (on a 2-core machine one busy neighbour halves what two
threads can do).
"""

import collections
import datetime
import os
import platform
import sys
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

try:
    import resource
except ImportError:  # Windows, where there is no /proc/stat to compare with anyway
    resource = None

# A figure is marked as measured under load when other processes took more
# than this share of the CPUs while it was timed.  An idle machine's own
# housekeeping stays well under it; one busy neighbour on 2 cores is 50%.
BUSY_SHARE = 0.10
# /proc/stat counts in clock ticks (10 ms), so a share over a shorter window
# is mostly rounding: a timing shorter than this is judged on the last
# MIN_WINDOW_S of the run instead (see CpuMonitor.load).
MIN_WINDOW_S = 0.25


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
        "jax": ctx.jax.__version__ if getattr(ctx, "jax", None) is not None else None,
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


def config_lines(config, indent=""):
    """``show_config(mode="dicts")`` as aligned ``key  value`` lines, one setting a line.

    Sequences are joined with commas, booleans read yes/no, and nested
    dictionaries are flattened to ``outer.inner`` keys.
    """
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}{key}.", inner)
        else:
            flat[prefix[:-1]] = value

    walk("", config)
    if not flat:
        return []
    width = max(len(key) for key in flat)

    def text(value):
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return str(value)

    return [f"{indent}{key:<{width}}  {text(value)}" for key, value in flat.items()]


def load_text(share, window):
    """How busy the machine was ``window`` (e.g. "in the 0.5 s before the run"), in words."""
    if share is None:
        return "unknown (no /proc/stat on this system)"
    if share > BUSY_SHARE:
        return (f"busy: other processes used {share:.0%} of the CPUs {window}; figures measured under load "
                "are marked * (slower and noisier than on an idle machine)")
    return f"idle: other processes used {share:.0%} of the CPUs {window}"


def print_machine(info):
    config = dict(info["fastnn_config"])
    config.pop("version", None)  # printed on the line above
    print("fastnn benchmarks")
    print(f"  machine : {info['cpu']}, {info['logical_cpus']} logical CPUs ({' '.join(info['cpu_flags'])})")
    print(f"  python  : {info['python']} on {info['platform']}")
    print(f"  numpy   : {info['numpy']} (BLAS: {info['numpy_blas']})")
    print(f"  torch   : {info['torch'] or 'not installed (see docs/benchmarks.md)'}")
    print(f"  jax     : {info.get('jax') or 'not installed (see docs/benchmarks.md)'}")
    print(f"  scipy   : {info['scipy'] or 'not installed'}")
    print(f"  fastnn  : {info['fastnn']} from {info['fastnn_path']}")
    for line in config_lines(config, indent=" " * 12):
        print(line)
    mode = "quick" if info["quick"] else "full"
    print(f"  run     : {mode}, {info['budget_s']} s of repeats per implementation and case, "
          f"threads {', '.join(str(n) for n in info['threads'])}")
    if info["env"]:
        print(f"  env     : {' '.join(f'{k}={v}' for k, v in info['env'].items())}")
    if "load_before_run" in info:
        window = f"in the {info['load_sample_s']} s before the run"
        print(f"  load    : {load_text(info['load_before_run'], window)}")


class CpuSnapshot(collections.namedtuple("CpuSnapshot", "busy own wall")):
    """CPU-seconds the watched CPUs were busy, CPU-seconds of this run's own processes, and
    ``time.perf_counter()``, at one moment."""


@dataclass
class Load:
    """How busy the machine was over a window: the share (0-1) of the CPUs that other
    processes took, None when it cannot be measured; ``window_s`` is the window's length."""

    share: Optional[float] = None
    window_s: float = 0.0

    @property
    def busy(self):
        """True when other processes took more than ``BUSY_SHARE`` of the CPUs."""
        return self.share is not None and self.share > BUSY_SHARE


def _watched_cpus():
    """The CPUs this process may run on, or None when that is all of them."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    return None if len(allowed) == (os.cpu_count() or len(allowed)) else sorted(allowed)


class CpuMonitor:
    """The share of the CPUs other processes take while the benchmarks run.

    Other processes' CPU time is the busy time of the CPUs this process may
    run on (/proc/stat: user, nice, system, irq, softirq and steal, so that
    a virtual machine's neighbours count too) minus this run's own: the CPU
    time of every thread of this process (``time.process_time``, to the
    nanosecond), of its children that have ended (``getrusage``) and, with
    ``children_are_own``, of its live descendants (``/proc/<pid>/stat``),
    such as Dask's workers.  OpenMP and BLAS threads spinning in this
    process are thus its own work, never load.  /proc/stat counts in clock
    ticks of 10 ms, so shares over windows shorter than ``MIN_WINDOW_S``
    are mostly rounding: :meth:`load` widens such windows.
    """

    def __init__(self, children_are_own=True):
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.cpus = _watched_cpus()
        self.n_cpus = len(self.cpus) if self.cpus else (os.cpu_count() or 1)
        self.children_are_own = children_are_own
        self.clock = time.perf_counter
        self.history = collections.deque()  # recent snapshots, oldest first, for load()
        self.start = self.snapshot()

    def machine_busy(self):
        """CPU-seconds the watched CPUs have been busy since boot, or None without /proc/stat."""
        try:
            with open("/proc/stat") as f:
                lines = [line.split() for line in f if line.startswith("cpu")]
        except OSError:
            return None
        wanted = {"cpu"} if self.cpus is None else {f"cpu{n}" for n in self.cpus}
        total = 0
        for fields in lines:
            if fields[0] in wanted:
                # user nice system idle iowait irq softirq steal (guest time is already in user).
                values = [int(v) for v in fields[1:9]]
                total += sum(values) - values[3] - values[4]
        return total / self.ticks

    def own_cpu(self):
        """CPU-seconds used by this process's threads and children (and live descendants)."""
        own = time.process_time()
        if resource is not None:
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            own += children.ru_utime + children.ru_stime
        if self.children_are_own:
            own += self._live_descendants_cpu()
        return own

    def _live_descendants_cpu(self):
        # Each thread lists the children it started (/proc/<pid>/task/<tid>/children);
        # a live child's cutime and cstime hold its own ended children.
        total, pending = 0, [os.getpid()]
        while pending:
            pid = pending.pop()
            try:
                threads = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in threads:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children") as f:
                        children = [int(c) for c in f.read().split()]
                except (OSError, ValueError):
                    continue
                for child in children:
                    try:
                        with open(f"/proc/{child}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                    except (OSError, IndexError):
                        continue
                    total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
                    pending.append(child)
        return total / self.ticks

    def snapshot(self):
        """A :class:`CpuSnapshot` of now (kept for :meth:`load`), or None without /proc/stat."""
        # The clock right after /proc/stat, and this process's own time first
        # in own_cpu(): the three readings describe the same moment.
        busy = self.machine_busy()
        wall = self.clock()
        if busy is None:
            return None
        now = CpuSnapshot(busy, self.own_cpu(), wall)
        self.history.append(now)
        # Keep one snapshot at least MIN_WINDOW_S old, and those after it.
        while len(self.history) > 1 and self.history[1].wall <= now.wall - MIN_WINDOW_S:
            self.history.popleft()
        return now

    def load(self, since=None, min_window=0.0):
        """The :class:`Load` from the snapshot ``since`` (the monitor's start by default) to now.

        A window shorter than ``min_window`` seconds is widened back to the
        latest snapshot at least that old (or the oldest kept): a timing of a
        few milliseconds is judged on the machine's load around it.
        """
        since = since or self.start
        now = self.snapshot()
        if since is None or now is None:
            return Load()
        if now.wall - since.wall < min_window:
            older = [s for s in self.history if s.wall <= since.wall]
            reaching = [s for s in older if s.wall <= now.wall - min_window]
            since = reaching[-1] if reaching else (older[0] if older else since)
        elapsed = now.wall - since.wall
        if elapsed <= 0:
            return Load()
        others = (now.busy - since.busy) - (now.own - since.own)
        return Load(max(0.0, others / (elapsed * self.n_cpus)), elapsed)

    def others_share(self, since=None):
        """Fraction (0-1) of the CPUs' time used by other processes since ``since``, or None."""
        return self.load(since).share


def sample_load(seconds=0.5):
    """The share of the CPUs other processes take during the next ``seconds``, or None.

    The load average lags by minutes, so it would still blame a neighbour
    that has just finished; a short sample of /proc/stat does not.
    """
    monitor = CpuMonitor()
    time.sleep(seconds)
    return monitor.others_share()
