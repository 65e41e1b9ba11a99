"""The report: section headings, the tables' cells, the closing summary, the goals' verdicts, and the JSON.

Every section prints its own table under ``heading``.  Its cells come from
here, so that every table reads the same way:

* ``format_ratio`` is the one rule for ratios (2 decimals below 10x, 1 from
  10x); ratios read "peer time / fastnn time" (``ratio_label``), so 10x
  means fastnn is ten times faster;
* ``time_cell``, ``ratio_label`` and ``cell`` end every figure with one
  mark column: ``*`` when the figure was measured while other processes
  took more than ``_machine.BUSY_SHARE`` of the CPUs, a space otherwise, so
  that marked and unmarked figures stay aligned; ``print_load_legend``
  prints the line under a table that says what the mark means;
* ``column_width`` sizes a column of names from its content.

``print_summary`` ends the default report (fastnn's time, the speed-up
over each peer and the share of a copy's bandwidth, on the large shapes);
``print_targets`` prints the performance goals, only with ``--goals``.  The
PNG chart is drawn by ``_chart.py``.
"""

import json
import math
import os
import textwrap

from _cases import large_shapes_for, shape_label
from _peers import KERNELS
from _timer import format_seconds

BUSY_MARK = "*"
# The peers' order in the summary and the chart; a peer the kernel tables time
# that is not listed here (a new one) comes after these, by name.
PEER_ORDER = ["numpy", "torch", "jax", "scipy"]
LIMIT = "np.copyto"  # the kernel tables' copy of the same bytes: the limit, not a peer


def heading(title, note=None):
    """A section title, underlined, and a paragraph saying how to read the table."""
    print()
    print(title)
    print("=" * len(title))
    if note:
        print(textwrap.fill(note, 100))


def format_ratio(ratio):
    """A ratio as the report prints every ratio: "0.57x", "3.11x", "15.6x"; "-" when missing.

    Two decimals below 10x, one from 10x: enough to tell 0.57x from 0.58x,
    and no false precision on the large ones.
    """
    if ratio is None or not math.isfinite(ratio):
        return "-"
    return f"{ratio:.2f}x" if round(ratio, 2) < 10 else f"{ratio:.1f}x"


def _figure(value):
    """(seconds, measured under load, other processes' share of the CPUs meanwhile) of a Timing, a
    record, a number of seconds (never marked), or None."""
    if value is None:
        return None, False, None
    if isinstance(value, dict):
        return value.get("median"), bool(value.get("busy")), value.get("others_cpu_share")
    if isinstance(value, (int, float)):
        return float(value), False, None
    return value.median, bool(getattr(value, "busy", False)), getattr(value, "others_cpu_share", None)


def watched(seconds, load):
    """A figure timed outside ``ctx.time`` (as a record-like dict), with the ``Load`` measured meanwhile."""
    return {"median": seconds, "busy": load.busy, "others_cpu_share": load.share}


def is_busy(*figures):
    """True when any of the figures (Timings or records) was measured under load."""
    return any(_figure(f)[1] for f in figures)


def cell(text, busy=False):
    """``text`` and its mark column: ``*`` when measured under load, else a space."""
    return f"{text}{BUSY_MARK if busy else ' '}"


def time_cell(figure):
    """A Timing's (or record's) median as "2.81 ms", marked when measured under load."""
    seconds, busy, _ = _figure(figure)
    return cell(format_seconds(seconds), busy and seconds is not None)


def ratio_label(peer, fastnn_time):
    """``peer / fastnn_time`` by ``format_ratio``, marked when either was measured under load.

    Takes Timings, records or numbers of seconds; "-" when either is missing.
    """
    (top, top_busy, _), (bottom, bottom_busy, _) = _figure(peer), _figure(fastnn_time)
    if top is None or bottom is None:
        return cell("-")
    return cell(format_ratio(top / bottom), top_busy or bottom_busy)


def column_width(title, values):
    """The width of a column holding ``values`` under ``title``: the longest of them."""
    return max(len(str(v)) for v in (title, *values))


def load_legend(figures):
    """The line under a table saying what its ``*`` means, or None when nothing was marked.

    ``figures`` are the table's Timings or records; the share printed is the
    range of the marked ones'.
    """
    shares = [share for _, busy, share in map(_figure, figures) if busy and share is not None]
    if not shares:
        return None
    low, high = f"{min(shares):.0%}", f"{max(shares):.0%}"
    span = low if low == high else f"{low[:-1]}-{high}"
    return (f"  {BUSY_MARK} measured while other processes used {span} of the CPUs: slower and noisier than "
            "on an idle machine")


def print_load_legend(figures):
    """Print :func:`load_legend` when the table has marked figures."""
    line = load_legend(figures)
    if line:
        print(line)


def kernel_peers(ctx):
    """The peers the kernel tables timed, in ``PEER_ORDER`` and then by name."""
    found = {r["impl"] for r in ctx.records if r["section"] == "kernels"} - {"fastnn", LIMIT}
    return [p for p in PEER_ORDER if p in found] + sorted(found - set(PEER_ORDER))


def headline_rows(ctx):
    """The kernel-table cases the summary and the chart show: float32, the large shapes, the
    largest thread count.  Each row: kernel, shape, and the records of fastnn, each peer (None
    when not timed) and the copy."""
    rows = []
    peers = kernel_peers(ctx)
    for name in KERNELS:
        for shape in large_shapes_for(name):
            case = {"shape": shape_label(shape), "dtype": "float32", "threads": ctx.max_threads}
            fast = ctx.find_record("kernels", "fastnn", kernel=name, **case)
            if fast is None:
                continue
            rows.append({
                "kernel": name,
                "shape": case["shape"],
                "fastnn": fast,
                "peers": {p: ctx.find_record("kernels", p, kernel=name, **case) for p in peers},
                "copy": ctx.find_record("kernels", LIMIT, **case),
            })
    return rows


def of_copy(fast, copy):
    """fastnn's GB/s over the copy's (records with "median" and "bytes"), or None."""
    if not fast or not copy or "bytes" not in fast or "bytes" not in copy:
        return None
    return (fast["bytes"] / fast["median"]) / (copy["bytes"] / copy["median"])


def print_summary(ctx):
    """End the default report: the headline cases, and whether every implementation agreed with NumPy."""
    rows = headline_rows(ctx)
    if not rows:
        return
    peers = kernel_peers(ctx)
    heading(
        f"summary: float32, the large shapes, {ctx.max_threads} thread{'s' if ctx.max_threads > 1 else ''}",
        "fastnn's median time; 'vs <peer>' is the peer's time / fastnn's (above 1x fastnn is faster); "
        "'of copy' is fastnn's GB/s over np.copyto's on an array of the result's size (100% = as fast as "
        "copying the data once). Every case is in the tables above.",
    )
    kernel_w = column_width("kernel", (r["kernel"] for r in rows))
    shape_w = column_width("shape", (r["shape"] for r in rows))
    titles = [f"vs {p}" for p in peers]
    widths = [max(len(t) + 1, 7) for t in titles]
    print(f"{'kernel':<{kernel_w}} {'shape':>{shape_w}} {'fastnn ':>9}"
          + "".join(f" {t + ' ':>{w}}" for t, w in zip(titles, widths)) + f" {'of copy ':>8}")
    figures = []
    for row in rows:
        fast = row["fastnn"]
        line = f"{row['kernel']:<{kernel_w}} {row['shape']:>{shape_w}} {time_cell(fast):>9}"
        for peer, w in zip(peers, widths):
            line += f" {ratio_label(row['peers'][peer], fast):>{w}}"
        share = of_copy(fast, row["copy"])
        line += f" {cell('-' if share is None else f'{share:.0%}', is_busy(fast, row['copy'])):>8}"
        print(line)
        figures += [fast, row["copy"], *row["peers"].values()]
    print_load_legend(f for f in figures if f)
    checked = [r for r in ctx.records if "agrees" in r]
    if checked:
        differ = sorted({f"{r['kernel']}/{r['impl']}" for r in checked if r["agrees"] is False})
        cases = len({(r["kernel"], r["shape"], r["dtype"]) for r in checked})
        if differ:
            print(f"  WARNING: results differ from NumPy's in float64: {', '.join(differ)} - a broken build "
                  "or install; run the test suite")
        else:
            print(f"  every implementation agreed with NumPy in float64 ({cases} cases)")


def print_targets(targets):
    """Print (goal, measured, verdict) rows and a count of each verdict."""
    heading(
        "performance goals, checked against this run's figures",
        "Each line is one of fastnn's performance goals, with the figure measured in this run. MISS means "
        "this machine, in this run, did not reach the goal (a busy machine misses often); it is not an "
        "error and says nothing about the results' correctness.",
    )
    width = max(len(t[0]) for t in targets)
    for label, measured, verdict in targets:
        print(f"  {verdict:<5} {label:<{width}}  {measured}" if verdict in ("PASS", "MISS") else
              f"  {'-':<5} {label:<{width}}  {verdict}")
    passed = sum(v == "PASS" for _, _, v in targets)
    missed = sum(v == "MISS" for _, _, v in targets)
    print(f"  {passed} PASS, {missed} MISS, {len(targets) - passed - missed} not applicable")


def write_json(path, *, machine, elapsed_s, ctx, exp_result, targets):
    """Every record and summary of the run, with the machine and versions, as JSON."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(
            {
                "machine": machine,
                "elapsed_s": elapsed_s,
                "records": ctx.records,
                "sections": ctx.sections,
                "exp_accuracy": exp_result,
                "targets": [{"target": t, "measured": m, "verdict": v} for t, m, v in targets],
            },
            f,
            indent=1,
            default=lambda o: o.item() if hasattr(o, "item") else str(o),
        )
