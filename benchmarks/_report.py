"""The report: section headings, ratio cells, the goals' verdicts, and the JSON file.

Every section prints its own table under ``heading``; ratios read "peer time
/ fastnn time" (``ratio_label``), so 10x means fastnn is ten times faster.
The PNG chart is drawn by ``_chart.py``.
"""

import json
import os
import textwrap


def heading(title, note=None):
    """A section title, underlined, and a paragraph saying how to read the table."""
    print()
    print(title)
    print("=" * len(title))
    if note:
        print(textwrap.fill(note, 100))


def ratio_label(peer, fastnn_time):
    """``peer / fastnn_time`` as "3.2x", or "-" when either is missing."""
    if peer is None or fastnn_time is None:
        return "-"
    return f"{peer / fastnn_time:.3g}x"


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
