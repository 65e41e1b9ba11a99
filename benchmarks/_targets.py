"""fastnn's performance targets, each checked against figures measured in the same run.

``evaluate(ctx, exp_result)`` returns a list of (target, measured, verdict),
the verdict PASS, MISS or "n/a (...)" when the section a target reads did not
run.  Ratio targets report the worst row they cover.
"""

from _cases import ELEMENTWISE_LARGE, LARGE_SHAPES, SHAPES, shape_label


def _worst_ratio(ctx, kernel, peer, shapes):
    """Smallest peer/fastnn ratio over the kernel-table rows of these shapes."""
    worst = None
    labels = {shape_label(s) for s in shapes}
    for entry in ctx.records:
        if entry["section"] != "kernels" or entry["impl"] != "fastnn" or entry["kernel"] != kernel:
            continue
        if entry["shape"] not in labels:
            continue
        key = {k: entry[k] for k in ("kernel", "shape", "dtype", "threads")}
        peer_time = ctx.find("kernels", peer, **key)
        if peer_time is None:
            continue
        ratio = peer_time / entry["median"]
        if worst is None or ratio < worst[0]:
            worst = (ratio, f"{entry['shape']} {entry['dtype']} {entry['threads']} thr")
    return worst


def evaluate(ctx, exp_result=None):
    """List of (target, measured, verdict) tuples; verdict PASS, MISS or n/a (...)."""
    targets = []
    have_kernels = any(r["section"] == "kernels" for r in ctx.records)
    no_torch = "n/a (torch not installed)"

    def ratio_target(label, kernel, peer, shapes, needed):
        if not have_kernels:
            targets.append((label, "-", "n/a (kernels section not run)"))
            return
        if peer == "torch" and ctx.torch is None:
            targets.append((label, "-", no_torch))
            return
        worst = _worst_ratio(ctx, kernel, peer, shapes)
        if worst is None:
            targets.append((label, "-", "n/a (not measured)"))
            return
        verdict = "PASS" if worst[0] >= needed else "MISS"
        targets.append((label, f"worst {worst[0]:.2f}x ({worst[1]})", verdict))

    for kernel in ("softmax", "log_softmax"):
        ratio_target(f"{kernel} >= 10x NumPy on the large shapes", kernel, "numpy", LARGE_SHAPES, 10)
        ratio_target(f"{kernel} >= 1.3x PyTorch on every shape", kernel, "torch", SHAPES, 1.3)
    ratio_target("softmax_cross_entropy >= 5x NumPy (large shapes)", "softmax_cross_entropy", "numpy", LARGE_SHAPES, 5)
    ratio_target(
        "softmax_cross_entropy >= 2.5x PyTorch fwd+bwd (large)", "softmax_cross_entropy", "torch", LARGE_SHAPES, 2.5
    )
    ratio_target("sigmoid >= 5x NumPy on 1e6 elements", "sigmoid", "numpy", ELEMENTWISE_LARGE, 5)
    ratio_target("sigmoid >= 1x PyTorch on 1e6 elements", "sigmoid", "torch", ELEMENTWISE_LARGE, 1)

    latency = ctx.sections.get("latency")
    if latency:
        rows = latency["rows"]
        slowest = max(rows, key=lambda r: r["fastnn"])
        targets.append(
            (
                "1x10 call under 2 us (every kernel, both dtypes)",
                f"slowest {slowest['fastnn'] * 1e6:.2f} us ({slowest['kernel']} {slowest['dtype']})",
                "PASS" if slowest["fastnn"] < 2e-6 else "MISS",
            )
        )
        for peer in ("numpy", "torch"):
            label = f"1x10 call faster than {'NumPy' if peer == 'numpy' else 'PyTorch'}"
            if peer == "torch" and ctx.torch is None:
                targets.append((label, "-", no_torch))
                continue
            compared = [r for r in rows if peer in r]
            worst = min(compared, key=lambda r: r[peer] / r["fastnn"])
            targets.append(
                (
                    label,
                    f"worst {worst[peer] / worst['fastnn']:.2f}x ({worst['kernel']} {worst['dtype']})",
                    "PASS" if all(r[peer] > r["fastnn"] for r in compared) else "MISS",
                )
            )
    else:
        targets.append(("1x10 call under 2 us, below NumPy and PyTorch", "-", "n/a (latency section not run)"))

    bandwidth = ctx.sections.get("bandwidth")
    if bandwidth:
        worst = min(bandwidth, key=lambda r: r["softmax(out=)"]["fraction"])
        targets.append(
            (
                "float32 softmax (2 thr) >= 50% of np.copyto speed",
                f"worst {worst['softmax(out=)']['fraction']:.0%} ({worst['shape']}, "
                f"{worst['softmax(out=)']['gbps']:.1f} GB/s)",
                "PASS" if worst["softmax(out=)"]["fraction"] >= 0.5 else "MISS",
            )
        )
    else:
        targets.append(("float32 softmax (2 thr) >= 50% of np.copyto speed", "-", "n/a (bandwidth not run)"))

    scaling = ctx.sections.get("scaling")
    if scaling:
        # Linear cost: from 1e5 elements on (past the fixed per-call cost) the
        # time per element may vary by at most 2x, the gap between cache- and
        # memory-resident data.
        tail = [r["fastnn"] for r in scaling if r["elements"] >= 10**5]
        spread = max(tail) / min(tail)
        targets.append(
            (
                "linear cost: ns/element within 2x from 1e5 elements up",
                f"max/min {spread:.2f} ({min(tail) * 1e9:.3g}-{max(tail) * 1e9:.3g} ns/el, up to "
                f"{scaling[-1]['elements']:.0e})",
                "PASS" if spread <= 2 else "MISS",
            )
        )
    else:
        targets.append(("linear cost across 1e3..1e8 elements", "-", "n/a (scaling not run)"))

    threads = ctx.sections.get("threads")
    if threads and threads["speedups"]:
        measured = [r for r in threads["speedups"] if r["fastnn"]]
        worst = min(measured, key=lambda r: r["fastnn"])
        targets.append(
            (
                "2 threads >= 1.7x one thread (large shapes)",
                f"worst {worst['fastnn']:.2f}x ({worst['kernel']} {worst['shape']} {worst['dtype']})",
                "PASS" if worst["fastnn"] >= 1.7 else "MISS",
            )
        )
    else:
        targets.append(("2 threads >= 1.7x one thread (large shapes)", "-", "n/a (needs kernels + threads, 1,2)"))
    pool = threads and threads.get("pool")
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
        targets.append(("no thread pool started for small inputs", measured, verdict))
    else:
        targets.append(("no thread pool started for small inputs", "-", "n/a (probe not run)"))

    axis0 = ctx.sections.get("axis0")
    if axis0:
        worst = max(axis0, key=lambda r: r["axis0_over_last"])
        targets.append(
            (
                "axis-0 softmax <= 1.5x last-axis time (4096x1000)",
                f"worst {worst['axis0_over_last']:.2f}x ({worst['dtype']} {worst['threads']} thr)",
                "PASS" if worst["axis0_over_last"] <= 1.5 else "MISS",
            )
        )
        if ctx.torch is None:
            targets.append(("axis-0 softmax >= 2x PyTorch dim=0", "-", no_torch))
        else:
            worst = min(axis0, key=lambda r: r["torch_over_fastnn"])
            targets.append(
                (
                    "axis-0 softmax >= 2x PyTorch dim=0",
                    f"worst {worst['torch_over_fastnn']:.2f}x ({worst['dtype']} {worst['threads']} thr)",
                    "PASS" if worst["torch_over_fastnn"] >= 2 else "MISS",
                )
            )
        worst = max(axis0, key=lambda r: r["extra_bytes"] / r["input_bytes"])
        targets.append(
            (
                "axis-0 softmax makes no transposed copy",
                f"peak extra NumPy allocation {worst['extra_bytes'] / 1e6:.1f} MB for a "
                f"{worst['input_bytes'] / 1e6:.1f} MB input",
                "PASS" if worst["extra_bytes"] < 0.5 * worst["input_bytes"] else "MISS",
            )
        )
    else:
        targets.append(("axis-0 softmax targets", "-", "n/a (axis0 section not run)"))

    if exp_result is not None:
        targets.append(
            (
                "float32 exp within 2 ulp (all 2^32 inputs)" if exp_result["stride"] == 1 else
                f"float32 exp within 2 ulp (every {exp_result['stride']}th input)",
                f"max {exp_result['max_ulp']} ulp, {exp_result['special_mismatches']} inf/NaN/zero mismatches",
                "PASS" if exp_result["max_ulp"] <= 2 and exp_result["special_mismatches"] == 0 else "MISS",
            )
        )
    else:
        targets.append(("float32 exp within 2 ulp", "-", "n/a (run with --exp-sweep)"))

    mismatches = sorted({f"{r['kernel']}/{r['impl']}" for r in ctx.records if r.get("agrees") is False})
    if mismatches:
        targets.append(("all implementations agree with NumPy", ", ".join(mismatches), "MISS"))
    return targets

