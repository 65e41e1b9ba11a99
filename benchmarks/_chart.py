"""The PNG chart: speed-up over each peer per kernel, and time per element against size.

Left: peer time / fastnn time on the large shapes, float32, the largest thread
count, from the kernel tables (the cases of the report's summary), each bar
labelled with its value.  Right: float32 softmax time per element from the
scaling section, with ``np.copyto`` of the same array drawn as the limit
line.  The subtitle names the CPU, the instruction set of fastnn's kernels,
the thread counts and the date; bars and points measured while other
processes used the CPUs are hatched or ringed and their labels marked ``*``,
as in the tables.  Needs matplotlib; without it the chart is skipped with a
message.
"""

import numpy as np

from _report import BUSY_MARK, PEER_ORDER, format_ratio, headline_rows, is_busy, kernel_peers

# Ticks of the speed-up axis (log scale): round values a reader can tell apart.
RATIO_TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000]
BUSY_HATCH = "///"


def _share(records):
    """The largest share of the CPUs other processes took while the busy records were measured."""
    shares = [r.get("others_cpu_share") for r in records if r and r.get("busy")]
    shares = [s for s in shares if s is not None]
    return max(shares) if shares else None


def _tick_label(value, _position=None):
    return f"{value:g}x"


def _plain_label(value, _position=None):
    return f"{value:g}"


def _leading_digit(value):
    return int(f"{value:e}"[0])


def _peer_color(peer, ctx):
    """The same colour for a peer in every chart, whichever peers this run had."""
    known = PEER_ORDER + sorted(set(kernel_peers(ctx)) - set(PEER_ORDER))
    return f"C{known.index(peer)}"


def _speedups(ax, ctx):
    """Draw the bars; return the records they were computed from."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    rows = headline_rows(ctx)
    peers = [p for p in kernel_peers(ctx) if any(r["peers"][p] for r in rows)]
    if not rows or not peers:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no kernel tables in this run", ha="center", va="center", transform=ax.transAxes)
        return []
    positions = np.arange(len(rows))
    width = 0.8 / len(peers)
    used, values = [], []
    for i, peer in enumerate(peers):
        heights, labels, hatches = [], [], []
        for row in rows:
            record, fast = row["peers"][peer], row["fastnn"]
            if record is None:
                heights.append(np.nan)
                labels.append("")
                hatches.append(None)
                continue
            ratio = record["median"] / fast["median"]
            busy = is_busy(record, fast)
            heights.append(ratio)
            values.append(ratio)
            labels.append(format_ratio(ratio) + (BUSY_MARK if busy else ""))
            hatches.append(BUSY_HATCH if busy else None)
            used += [record, fast]
        bars = ax.bar(positions + i * width, heights, width, label=f"{peer} time / fastnn time",
                      color=_peer_color(peer, ctx))
        for bar, hatch in zip(bars, hatches):
            if hatch:
                bar.set_hatch(hatch)
                bar.set_edgecolor("black")
        ax.bar_label(bars, labels=labels, rotation=90, padding=2, fontsize=7)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    # Room above the tallest bar for its label, and a tick below the lowest.
    low, high = min(values), max(values)
    ax.set_ylim(min(low, 1.0) / 1.6, max(high, 1.0) * 3.0)
    bottom, top = ax.get_ylim()
    ticks = [t for t in RATIO_TICKS if bottom <= t <= top]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(_tick_label))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_xticks(positions + width * (len(peers) - 1) / 2)
    ax.set_xticklabels([f"{r['kernel']}\n{r['shape']}" for r in rows], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("speed-up of fastnn (log scale; above 1x fastnn is faster)")
    ax.set_title(f"float32, large shapes, {ctx.max_threads} thread{'s' if ctx.max_threads > 1 else ''}: "
                 "speed-up over each peer", pad=28)
    handles, _ = ax.get_legend_handles_labels()
    if is_busy(*used):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch=BUSY_HATCH,
                             label=f"{BUSY_MARK} measured under load"))
    # Above the plot area, where it cannot hide a bar.
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=min(len(handles), 4),
              fontsize=8, frameon=False, borderaxespad=0.2)
    return used


def _time_per_element(ax, ctx):
    """Draw the scaling curves; return the records of the points."""
    from matplotlib.ticker import FuncFormatter

    scaling = ctx.sections.get("scaling")
    if not scaling:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no scaling section in this run", ha="center", va="center", transform=ax.transAxes)
        return []
    sizes = [r["elements"] for r in scaling]
    used, busy_points = [], ([], [])
    for impl in ("fastnn", "numpy", "torch", "np.copyto"):
        if impl not in scaling[0]:
            continue
        per_element = [r[impl] * 1e9 for r in scaling]
        if impl == "np.copyto":
            ax.loglog(sizes, per_element, color="black", linestyle="--", label="np.copyto of the same array (limit)")
        else:
            ax.loglog(sizes, per_element, marker="o", label=impl)
        for n, value in zip(sizes, per_element):
            record = ctx.find_record("scaling", impl, elements=n)
            used.append(record)
            if record and record.get("busy"):
                busy_points[0].append(n)
                busy_points[1].append(value)
    if busy_points[0]:
        ax.scatter(*busy_points, s=160, facecolors="none", edgecolors="red", linewidths=1.5, zorder=3,
                   label=f"{BUSY_MARK} measured under load")
    ax.set_xlabel("elements (C = 1000)")
    ax.set_ylabel("ns per element (log scale)")
    # Plain numbers (0.5, 1, 2, 5) rather than powers of ten; minor ticks at 2x and 5x.
    ax.yaxis.set_major_formatter(FuncFormatter(_plain_label))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: _plain_label(v) if _leading_digit(v) in (2, 5) else ""))
    threads = ctx.max_threads
    ax.set_title(f"float32 softmax time per element, {threads} thread{'s' if threads > 1 else ''}")
    ax.grid(True, which="both", alpha=0.3)
    # Beside the plot area, where it cannot hide a curve.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, borderaxespad=0.0)
    return [r for r in used if r]


def subtitle(machine, share=None):
    """The chart's subtitle: CPU, fastnn's instruction set, thread counts, date; and the load."""
    machine = machine or {}
    config = machine.get("fastnn_config") or {}
    parts = [machine.get("cpu", "unknown CPU")]
    if machine.get("logical_cpus"):
        parts[0] += f", {machine['logical_cpus']} logical CPUs"
    parts.append(f"fastnn {machine.get('fastnn', '?')}, {config.get('simd', '?')} kernels")
    threads = machine.get("threads")
    if threads:
        parts.append(f"threads {', '.join(str(n) for n in threads)}")
    date = machine.get("date")
    if date:
        parts.append(date.replace("T", " ")[:16])
    text = " | ".join(parts)
    if share is not None:
        text += (f"\n{BUSY_MARK} hatched bars, ringed points: measured while other processes used up to "
                 f"{share:.0%} of the CPUs (slower than on an idle machine)")
    return text


def make_figure(ctx, machine=None):
    """The chart as a matplotlib Figure (matplotlib must be importable)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 6.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.6, 1])
    used = _speedups(left, ctx) + _time_per_element(right, ctx)
    fig.suptitle("fastnn benchmarks\n" + subtitle(machine, _share(used)), fontsize=10)
    return fig


def write_plot(ctx, path, machine=None):
    """Draw the chart into ``path``; False (with a message) when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401  (the Figure API needs no backend or pyplot)
    except ImportError:
        print(f"plot skipped: matplotlib is not installed (pip install matplotlib) - no {path}")
        return False
    fig = make_figure(ctx, machine)
    fig.savefig(path, dpi=110)
    return True
