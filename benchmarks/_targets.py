"""fastnn's performance goals, each checked against figures measured in the same run.

Every goal is a ratio of two medians timed in this run at the same thread
count: against PyTorch and JAX, the fastest peers (JAX on its own thread
pool, against fastnn at the run's largest thread count); against ``np.copyto`` of the same
array, the physical limit for long rows; against ``np.exp(x, out=)`` for short
rows; against fastnn's own softmax for the fused cross-entropy; 1 thread
against 2; against scikit-learn's fit; and against the GEMM floor, the time of
a fit's matrix products alone.  A goal reports its **worst** case over the rows it covers, with
PASS or MISS, or says why it could not be checked ("n/a (...)") when the
section it reads did not run.  A few checks of behaviour follow (results
agree with NumPy, no thread pool for small inputs, no transposed copy, the
float32 exp's accuracy).

``evaluate(ctx, exp_result)`` returns a list of (goal, measured, verdict).
"""

from _cases import shapes_for, shape_label
from _peers import KERNELS
from _report import format_ratio

TORCH_SPEEDUP = 1.25  # every kernel against PyTorch and JAX, every shape, dtype and thread count
COPY_LIMIT = {1: 2.0, 2: 1.3}  # float32 softmax/log_softmax(out=) time / np.copyto time, by threads
COPY_SHAPES = ["4096x1000", "64x50000"]
XENT_OVER_SOFTMAX = 1.15  # fused loss + gradient time / softmax time,
XENT_MIN_ROWS = 4096  # on the shapes with at least this many rows
SHORT_ROW_OVER_EXP = 1.5  # softmax(out=) time / np.exp(x, out=) time, rows of <= 16 classes
SMALL_CALL_OVER_EXP = {"1x10": 1.5, "128x10": 2.0}  # every kernel's (out=) / np.exp(x, out=)
SIGMOID_OVER_COPY = 1.6  # float32 sigmoid(out=) / np.copyto, 4096x1000, 1 thread, on AVX-512
GRAD_OVER_ADD = 1.1  # sigmoid_backward(out=), sigmoid_grad(out=) / np.add(a, b, out=c)
TWO_THREAD_SPEEDUP = 1.8  # 1-thread time / 2-thread time on the large shapes
COMPUTE_BOUND_OVER_COPY = 2.0  # that are compute-bound: 1-thread time / np.copyto time of the array
LOADED_OVER_QUIET = 1.0  # loaded 2-thread median / quiet 1-thread median
FIT_SPEEDUP = 1.5  # scikit-learn fit time / fastnn fit time
REGRESSOR_FIT_SPEEDUP = 1.5  # the same for MLPRegressor, at equal R²:
REGRESSOR_R2_GAP = 0.02  # |fastnn's held-out R² - scikit-learn's| on every row
FIT_OVER_FLOOR = 1.3  # fastnn's MLPRegressor fit time / the GEMM floor of the same fit,
FLOOR_GOAL_DATA = "make_regression 50000x100"  # on this data (not run with --quick)


def _verdict(ok):
    return "PASS" if ok else "MISS"


def _case(entry):
    return f"{entry['shape']} {entry['dtype']} {entry['threads']} thr"


def _peer_goals(ctx, have_kernels, peer, peer_name, scope):
    """Every kernel >= TORCH_SPEEDUP x ``peer`` on every row the peer was timed in."""
    goals = []
    for name in KERNELS:
        label = f"{name} >= {TORCH_SPEEDUP}x {peer_name} ({scope})"
        if getattr(KERNELS[name], peer) is None or not KERNELS[name].peer_goal:
            continue  # no such peer for this kernel, or no such goal
        if not have_kernels:
            goals.append((label, "-", "n/a (kernels section not run)"))
            continue
        if getattr(ctx, peer, None) is None:
            goals.append((label, "-", f"n/a ({peer} not installed)"))
            continue
        labels = {shape_label(s) for s in shapes_for(name)}
        worst = None
        for entry in ctx.records:
            if (entry["section"], entry["impl"], entry.get("kernel")) != ("kernels", "fastnn", name):
                continue
            if entry["shape"] not in labels:
                continue
            key = {k: entry[k] for k in ("kernel", "shape", "dtype", "threads")}
            peer_time = ctx.find("kernels", peer, **key)
            if peer_time is None:
                continue
            ratio = peer_time / entry["median"]
            if worst is None or ratio < worst[0]:
                worst = (ratio, _case(entry))
        if worst is None:
            goals.append((label, "-", "n/a (not measured)"))
        else:
            goals.append((label, f"worst {format_ratio(worst[0])} ({worst[1]})", _verdict(worst[0] >= TORCH_SPEEDUP)))
    return goals


def _copy_goals(ctx):
    goals = []
    bandwidth = ctx.sections.get("bandwidth")
    for kernel in ("softmax", "log_softmax"):
        for threads, limit in COPY_LIMIT.items():
            label = (f"float32 {kernel}(out=) <= {limit}x np.copyto time, {threads} thr "
                     f"({', '.join(COPY_SHAPES)})")
            if not bandwidth:
                goals.append((label, "-", "n/a (bandwidth section not run)"))
                continue
            rows = [r for r in bandwidth["long_rows"] if r["shape"] in COPY_SHAPES and r["threads"] == threads]
            if not rows:
                goals.append((label, "-", f"n/a (not measured on {threads} thr)"))
                continue
            ratios = [(r[f"{kernel}(out=)"]["median"] / r["np.copyto"]["median"], r["shape"]) for r in rows]
            worst = max(ratios)
            goals.append((label, f"worst {format_ratio(worst[0])} ({worst[1]})", _verdict(worst[0] <= limit)))
    return goals


def _xent_goal(ctx, have_kernels):
    label = (f"softmax_cross_entropy (loss + grad) <= {XENT_OVER_SOFTMAX}x softmax time "
             f"(N >= {XENT_MIN_ROWS})")
    if not have_kernels:
        return label, "-", "n/a (kernels section not run)"
    worst = None
    for entry in ctx.records:
        if (entry["section"], entry["impl"], entry.get("kernel")) != ("kernels", "fastnn", "softmax_cross_entropy"):
            continue
        if int(entry["shape"].split("x")[0]) < XENT_MIN_ROWS:
            continue  # small calls: fixed costs (the loss's reduction, checks) dominate
        softmax = ctx.find("kernels", "fastnn", kernel="softmax", shape=entry["shape"], dtype=entry["dtype"],
                           threads=entry["threads"])
        if softmax is None:
            continue
        ratio = entry["median"] / softmax
        if worst is None or ratio > worst[0]:
            worst = (ratio, _case(entry))
    if worst is None:
        return label, "-", "n/a (needs softmax and softmax_cross_entropy in the kernels section)"
    return label, f"worst {format_ratio(worst[0])} ({worst[1]})", _verdict(worst[0] <= XENT_OVER_SOFTMAX)


def _short_row_goal(ctx):
    label = f"softmax(out=), rows of <= 16 classes, <= {SHORT_ROW_OVER_EXP}x np.exp(x, out=) time"
    bandwidth = ctx.sections.get("bandwidth")
    if not bandwidth:
        return label, "-", "n/a (bandwidth section not run)"
    worst = max(bandwidth["short_rows"], key=lambda r: r["out_over_exp"])
    return label, f"worst {format_ratio(worst['out_over_exp'])} ({_case(worst)})", _verdict(
        worst["out_over_exp"] <= SHORT_ROW_OVER_EXP
    )


def _elementwise_goals(ctx):
    bandwidth = ctx.sections.get("bandwidth") or {}
    rows = bandwidth.get("elementwise")
    sigmoid_label = f"float32 sigmoid(out=) <= {SIGMOID_OVER_COPY}x np.copyto time, 1 thr, on AVX-512"
    grad_label = (f"sigmoid_backward(out=), sigmoid_grad(out=) <= {GRAD_OVER_ADD}x "
                  "np.add(a, b, out=c) time (every thread count)")
    if not rows:
        return [(label, "-", "n/a (bandwidth section not run)") for label in (sigmoid_label, grad_label)]
    goals = []
    variant = ctx.fastnn._dispatch.active
    one_thread = [r for r in rows if r["threads"] == 1]
    if variant != "avx512":
        goals.append((sigmoid_label, "-", f"n/a (this run used the {variant} kernels)"))
    elif not one_thread:
        goals.append((sigmoid_label, "-", "n/a (not measured on 1 thr)"))
    else:
        worst = max(one_thread, key=lambda r: r["sigmoid(out=)"]["over_limit"])
        ratio = worst["sigmoid(out=)"]["over_limit"]
        goals.append((sigmoid_label, f"worst {format_ratio(ratio)} ({worst['shape']})",
                      _verdict(ratio <= SIGMOID_OVER_COPY)))
    cases = [(r[k]["over_limit"], f"{k} {r['shape']} {r['threads']} thr")
             for r in rows for k in ("sigmoid_backward(out=)", "sigmoid_grad(out=)")]
    ratio, case = max(cases)
    goals.append((grad_label, f"worst {format_ratio(ratio)} ({case})", _verdict(ratio <= GRAD_OVER_ADD)))
    return goals


def _small_call_goals(ctx):
    bandwidth = ctx.sections.get("bandwidth") or {}
    rows = bandwidth.get("small_calls")
    goals = []
    for shape, limit in SMALL_CALL_OVER_EXP.items():
        label = f"every kernel with out= on {shape} <= {limit}x np.exp(x, out=) time"
        measured = [r for r in rows or [] if r["shape"] == shape]
        if not measured:
            goals.append((label, "-", "n/a (bandwidth section not run)"))
            continue
        ratio, case = max((ratio, f"{kernel} {r['dtype']}") for r in measured
                          for kernel, ratio in r["over_exp"].items())
        goals.append((label, f"worst {format_ratio(ratio)} ({case})", _verdict(ratio <= limit)))
    return goals


def _threads_goal(ctx):
    label = (f"2 threads >= {TWO_THREAD_SPEEDUP}x faster than 1 (large shapes whose 1-thread time "
             f">= {COMPUTE_BOUND_OVER_COPY}x a copy)")
    threads = ctx.sections.get("threads")
    rows = [r for r in (threads or {}).get("speedups", []) if r["fastnn"]]
    if not rows:
        return label, "-", "n/a (needs the kernels and threads sections, --threads 1,2)"
    measured = [r for r in rows if r.get("compute_bound")]
    if not measured:
        return label, "-", "n/a (no large shape is compute-bound here)"
    worst = min(measured, key=lambda r: r["fastnn"])
    return (label, f"worst {format_ratio(worst['fastnn'])} ({worst['kernel']} {worst['shape']} {worst['dtype']})",
            _verdict(worst["fastnn"] >= TWO_THREAD_SPEEDUP))


def _contention_goal(ctx):
    label = "one competing process: 2-thread median <= quiet 1-thread median"
    contention = ctx.sections.get("contention")
    if not contention:
        return label, "-", "n/a (run with --sections contention)"
    rows = [r for r in contention["rows"] if r["impl"] == "fastnn"]
    worst = max(rows, key=lambda r: r["loaded2_over_quiet1"])
    return (
        label,
        f"worst {format_ratio(worst['loaded2_over_quiet1'])} ({worst['kernel']} {contention['shape']}; loaded 2-thread "
        f"p95 {format_ratio(worst['loaded_2']['p95'] / worst['quiet_1']['median'])} the quiet 1-thread median)",
        _verdict(worst["loaded2_over_quiet1"] <= LOADED_OVER_QUIET),
    )


def _fit_goal(ctx):
    label = f"MLPClassifier.fit >= {FIT_SPEEDUP}x scikit-learn's"
    fit = ctx.sections.get("fit")
    if not fit or not fit.get("rows"):
        reason = fit.get("skipped") if fit else "run with --sections fit"
        return label, "-", f"n/a ({reason})"
    worst = min(fit["rows"], key=lambda r: r["sklearn"] / r["fastnn"])
    return (
        label,
        f"worst {format_ratio(worst['sklearn'] / worst['fastnn'])} ({worst['data']} {worst['activation']} "
        f"{worst['dtype']} {worst['threads']} thr)",
        _verdict(worst["sklearn"] / worst["fastnn"] >= FIT_SPEEDUP),
    )


def _regressor_rows(ctx):
    """The fit section's MLPRegressor rows, or the reason there are none."""
    fit = ctx.sections.get("fit")
    if not fit:
        return None, "run with --sections fit"
    if not fit.get("regressor_rows"):
        return None, fit.get("skipped", "no MLPRegressor rows")
    return fit["regressor_rows"], None


def _row_case(row):
    return f"{row['data']} {row['activation']} {row['dtype']} {row['threads']} thr"


def _regressor_fit_goal(ctx):
    label = (f"MLPRegressor.fit >= {REGRESSOR_FIT_SPEEDUP}x scikit-learn's at equal R² "
             f"(within {REGRESSOR_R2_GAP})")
    rows, reason = _regressor_rows(ctx)
    if rows is None:
        return label, "-", f"n/a ({reason})"
    slowest = min(rows, key=lambda r: r["sklearn"] / r["fastnn"])
    widest = max(rows, key=lambda r: abs(r["r2_fastnn"] - r["r2_sklearn"]))
    speedup = slowest["sklearn"] / slowest["fastnn"]
    gap = abs(widest["r2_fastnn"] - widest["r2_sklearn"])
    return (
        label,
        f"worst {format_ratio(speedup)} ({_row_case(slowest)}); largest R² gap {gap:.4f} ({_row_case(widest)})",
        _verdict(speedup >= REGRESSOR_FIT_SPEEDUP and gap <= REGRESSOR_R2_GAP),
    )


def _floor_goal(ctx):
    label = f"MLPRegressor.fit <= {FIT_OVER_FLOOR}x its GEMM floor ({FLOOR_GOAL_DATA})"
    rows, reason = _regressor_rows(ctx)
    if rows is None:
        return label, "-", f"n/a ({reason})"
    rows = [r for r in rows if r["data"] == FLOOR_GOAL_DATA]
    if not rows:
        return label, "-", f"n/a (needs the full-size {FLOOR_GOAL_DATA} rows; --quick runs smaller data)"
    worst = max(rows, key=lambda r: r["fastnn_over_floor"])
    return (label, f"worst {format_ratio(worst['fastnn_over_floor'])} ({_row_case(worst)})",
            _verdict(worst["fastnn_over_floor"] <= FIT_OVER_FLOOR))


def _checks(ctx, exp_result):
    """Behaviour rather than speed: agreement, no pool for small inputs, no copy, exp accuracy."""
    checks = []
    checked = [r for r in ctx.records if "agrees" in r]
    if checked:
        mismatches = sorted({f"{r['kernel']}/{r['impl']}" for r in checked if r["agrees"] is False})
        cases = {(r["kernel"], r["shape"], r["dtype"]) for r in checked}
        checks.append(("every implementation agrees with NumPy in float64",
                       ", ".join(mismatches) or f"{len(cases)} cases checked", _verdict(not mismatches)))

    threads = ctx.sections.get("threads")
    pool = threads and threads.get("pool")
    label = "no thread pool started for small inputs"
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
        checks.append((label, measured, verdict))
    else:
        reason = ("threads section not run" if not threads else "no /proc to count threads" if pool is None
                  else f"probe failed: {pool['error']}")
        checks.append((label, "-", f"n/a ({reason})"))

    axis0 = ctx.sections.get("axis0")
    label = "axis-0 softmax makes no transposed copy"
    if axis0:
        worst = max(axis0, key=lambda r: r["extra_bytes"] / r["input_bytes"])
        checks.append((
            label,
            f"peak extra NumPy allocation {worst['extra_bytes'] / 1e6:.1f} MB for a "
            f"{worst['input_bytes'] / 1e6:.1f} MB input",
            _verdict(worst["extra_bytes"] < 0.5 * worst["input_bytes"]),
        ))
    else:
        checks.append((label, "-", "n/a (axis0 section not run)"))

    if exp_result is not None:
        checks.append((
            "float32 exp within 1 ulp (all 2^32 inputs)" if exp_result["stride"] == 1 else
            f"float32 exp within 1 ulp (every {exp_result['stride']}th input)",
            f"max {exp_result['max_ulp']} ulp, {exp_result['special_mismatches']} inf/NaN/zero mismatches",
            _verdict(exp_result["max_ulp"] <= 1 and exp_result["special_mismatches"] == 0),
        ))
    else:
        checks.append(("float32 exp within 1 ulp", "-", "n/a (run with --exp-sweep)"))
    return checks


def evaluate(ctx, exp_result=None):
    """List of (goal, measured, verdict) tuples; verdict PASS, MISS or "n/a (...)"."""
    have_kernels = any(r["section"] == "kernels" for r in ctx.records)
    return [
        *_peer_goals(ctx, have_kernels, "torch", "PyTorch", "every shape, dtype, thread count"),
        *_peer_goals(ctx, have_kernels, "jax", "JAX", "every shape and dtype, JAX's own threads"),
        *_copy_goals(ctx),
        _xent_goal(ctx, have_kernels),
        _short_row_goal(ctx),
        *_elementwise_goals(ctx),
        *_small_call_goals(ctx),
        _threads_goal(ctx),
        _contention_goal(ctx),
        _fit_goal(ctx),
        _regressor_fit_goal(ctx),
        _floor_goal(ctx),
        *_checks(ctx, exp_result),
    ]
