"""fastnn benchmark runner: fastnn against textbook NumPy, PyTorch CPU and SciPy, and against the limit.

Usage::

    python benchmarks/run.py            # the default sections, a few minutes on 2 cores
    python benchmarks/run.py --quick    # about a minute, fewer repeats
    python benchmarks/run.py --list     # every section, and which run by default
    python benchmarks/run.py --sections kernels,threads
    python benchmarks/run.py --goals    # end with fastnn's performance goals, PASS or MISS
    python benchmarks/run.py --help     # every option

Only NumPy is required.  PyTorch, SciPy and matplotlib are used when they are
importable; install the CPU build of PyTorch as described in
``docs/benchmarks.md``.

Each section is one module of ``benchmarks/sections/`` with a ``run(ctx)``
function (``_context.Context``), listed in ``SECTIONS`` below.  This runner
only parses the options, prints the machine (``_machine.py``), runs the
chosen sections in the order of ``SECTIONS``, and ends with a summary of
the large cases (``_report.print_summary``) and, with ``--goals``, with
fastnn's performance goals checked against this run's figures
(``_targets.py``).  Everything is also written as JSON (``_report.py``; the
goals' verdicts always) and a PNG chart when matplotlib is installed
(``_chart.py``) to ``benchmarks/results/`` unless ``--json``/``--plot``/
``--no-save`` say otherwise.

Every time is the median over repeated batches of calls (``_timer.py``);
"vs" columns are peer time / fastnn time, so 10x means fastnn is ten times
faster; GB/s is the least number of bytes the kernel must read and write,
divided by fastnn's median time.  A figure marked ``*`` was measured while
other processes used more than a tenth of the CPUs (``_machine.py``).
"""

import argparse
import datetime
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # imported rather than run as a script
    sys.path.insert(0, HERE)

from _peers import KERNELS  # noqa: E402

DEFAULT = "default"
WHEN_NAMED = "when named"

# Each section is benchmarks/sections/<name>.py with a run(ctx) function; the
# report follows this order.  Adding a section is one line here.
SECTIONS = {
    "kernels": DEFAULT,
    "bandwidth": DEFAULT,
    "scaling": DEFAULT,
    "axis0": DEFAULT,
    "latency": DEFAULT,
    "threads": DEFAULT,  # reads the kernel tables, so it comes after them
    "mlp": DEFAULT,
    "contention": WHEN_NAMED,  # loads the machine on purpose
    "fit": WHEN_NAMED,  # minutes on the full data
    "dropout": WHEN_NAMED,  # a minute of fits
    "dask_fit": WHEN_NAMED,  # starts local clusters of worker processes
    "linear_xent": WHEN_NAMED,  # gigabytes of logits for the unfused peers
}
DEFAULT_SECTIONS = [name for name, when in SECTIONS.items() if when == DEFAULT]
# Sections whose tables do not mark the figures measured under load: the
# runner says, under each, how busy the machine was during the whole section.
UNMARKED = {"dask_fit", "linear_xent", "dropout"}


def load_section(name):
    """The module of section ``name`` (``benchmarks/sections/<name>.py``)."""
    return importlib.import_module(f"sections.{name}")


def describe(name):
    """The first line of the section module's docstring."""
    doc = (load_section(name).__doc__ or "").strip()
    summary = doc.splitlines()[0] if doc else ""
    prefix = f'Section "{name}": '
    return summary[len(prefix):] if summary.startswith(prefix) else summary


def list_sections():
    width = max(len(name) for name in SECTIONS)
    for name, when in SECTIONS.items():
        print(f"{name:<{width}}  {when:<10}  {describe(name)}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Benchmark fastnn against textbook NumPy, PyTorch CPU and SciPy, and against the limit "
        "of the hardware (a copy of the same array).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Sections: " + ", ".join(DEFAULT_SECTIONS) + " (by default), "
        + ", ".join(n for n in SECTIONS if n not in DEFAULT_SECTIONS)
        + " (when named); --list describes each. See docs/benchmarks.md for what each column means.",
    )
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller extremes (about a minute)")
    parser.add_argument("--sections", type=lambda s: s.split(","), default=DEFAULT_SECTIONS,
                        help="comma-separated sections to run (default: " + ",".join(DEFAULT_SECTIONS) + ")")
    parser.add_argument("--kernels", type=lambda s: s.split(","), default=None,
                        help="comma-separated subset of kernels for the kernel tables: " + ",".join(KERNELS))
    parser.add_argument("--threads", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2],
                        help="thread counts for the kernel tables (default: 1,2)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of repeats per implementation and case (default 0.2, 0.05 with --quick; "
                        "0 for a smoke run of the minimum repeats)")
    parser.add_argument("--no-torch", action="store_true", help="do not compare against PyTorch even if installed")
    parser.add_argument("--no-jax", action="store_true", help="do not compare against JAX even if installed")
    parser.add_argument("--goals", action="store_true",
                        help="end with fastnn's performance goals, each PASS or MISS against this run's figures "
                        "(for those who tune fastnn; a MISS is not an error)")
    parser.add_argument("--exp-sweep", action="store_true",
                        help="also sweep float32 exp over all 2^32 inputs (every 64th with --quick)")
    parser.add_argument("--json", metavar="PATH", help="where to write results (default: benchmarks/results/)")
    parser.add_argument("--plot", metavar="PATH", help="where to write the PNG chart (default: benchmarks/results/)")
    parser.add_argument("--no-save", action="store_true", help="write no JSON or PNG unless --json/--plot are given")
    args = parser.parse_args(argv)
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {list(SECTIONS)}")
    if args.kernels and set(args.kernels) - set(KERNELS):
        parser.error(f"unknown kernel(s) {sorted(set(args.kernels) - set(KERNELS))}; choose from {list(KERNELS)}")
    if any(n < 1 for n in args.threads):
        parser.error(f"--threads must be positive integers, got {args.threads}")
    if args.budget is not None and args.budget < 0:
        parser.error(f"--budget must be >= 0 seconds, got {args.budget}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        list_sections()
        return
    from _chart import write_plot
    from _context import Context
    from _machine import BUSY_SHARE, machine_info, print_machine, sample_load
    from _report import BUSY_MARK, heading, print_summary, print_targets, write_json
    from _targets import evaluate

    ctx = Context(args)
    started = datetime.datetime.now()
    info = machine_info(ctx)
    info["load_sample_s"] = 0.5
    info["load_before_run"] = sample_load(info["load_sample_s"])
    print_machine(info)
    others_by_section = {}
    for name in SECTIONS:
        if name in args.sections:
            before = ctx.load.snapshot()
            load_section(name).run(ctx)
            share = ctx.load.load(since=before).share
            others_by_section[name] = share
            if name in UNMARKED and share is not None and share > BUSY_SHARE:
                print(f"  {BUSY_MARK} this section was measured while other processes used {share:.0%} of the CPUs")
    exp_result = None
    if args.exp_sweep:
        import exp_accuracy

        heading("float32 exp accuracy sweep (benchmarks/exp_accuracy.py)")
        exp_result = exp_accuracy.sweep(stride=64 if args.quick else 1, verbose=True)
        exp_accuracy.print_report(exp_result)
    # Always evaluated, for the JSON; printed only on request.
    targets = evaluate(ctx, exp_result)
    print_summary(ctx)
    if args.goals:
        print_targets(targets)
    elapsed = (datetime.datetime.now() - started).total_seconds()
    others = ctx.load.others_share()
    others_by_section["whole run"] = others
    print(f"\nfinished in {elapsed:.0f} s; {closing_load_text(others, ctx.records)}")
    if not args.goals:
        print("fastnn's performance goals, checked against these figures: run with --goals")
    ctx.sections["cpu_used_by_other_processes"] = others_by_section

    stamp = started.strftime("%Y%m%d-%H%M%S")
    default_dir = os.path.join(HERE, "results")
    json_path = args.json or (None if args.no_save else os.path.join(default_dir, f"run-{stamp}.json"))
    plot_path = args.plot or (None if args.no_save else os.path.join(default_dir, f"run-{stamp}.png"))
    if json_path:
        write_json(json_path, machine=info, elapsed_s=elapsed, ctx=ctx, exp_result=exp_result, targets=targets)
        print(f"results written to {json_path}")
    if plot_path:
        os.makedirs(os.path.dirname(os.path.abspath(plot_path)), exist_ok=True)
        if write_plot(ctx, plot_path, machine=info):
            print(f"chart written to {plot_path}")


def closing_load_text(others, records):
    """The run's last word on the load: the whole run's share, and how many timings were marked."""
    from _machine import BUSY_SHARE
    from _report import BUSY_MARK

    if others is None:
        return "the load of the machine could not be measured (no /proc/stat)"
    watched = [r for r in records if "busy" in r]
    marked = sum(bool(r["busy"]) for r in watched)
    text = f"other processes used {others:.0%} of the CPUs over the run"
    if marked:
        return text + f"; {marked} of {len(watched)} timings were measured under load (marked {BUSY_MARK})"
    if others > BUSY_SHARE:
        return text + " (figures are not those of an idle machine)"
    return text + ", an idle machine"


if __name__ == "__main__":
    main()
