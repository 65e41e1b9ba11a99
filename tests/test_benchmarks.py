"""The benchmark runner picks its sections as asked, its report reads the same way everywhere, and its
goals are computed from the run's figures.

No timing is checked here (CI machines are noisy): the goals, the summary and
the chart are built from hand-made figures, the load of the machine is faked
where a test needs a busy or an idle machine, and the runs of the runner are
smoke runs of cheap sections with the minimum number of repeats.
"""

import importlib
import json
import os
import re
import site
import subprocess
import sys
import types

import pytest

import fastnn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, "benchmarks")
RUNNER = os.path.join(BENCHMARKS, "run.py")

pytestmark = pytest.mark.skipif(
    not os.path.exists(RUNNER), reason="the tests are not inside a clone of the repository"
)


def run_runner(*args):
    """Run benchmarks/run.py in a fresh interpreter that imports the fastnn under test."""
    environment = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.realpath(fastnn.__file__)))
    if parent not in site.getsitepackages():
        environment["PYTHONPATH"] = os.pathsep.join(p for p in (parent, environment.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, RUNNER, *args], cwd=REPO, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def bench(monkeypatch):
    """Import a module of benchmarks/ by name, as the runner does."""
    monkeypatch.syspath_prepend(BENCHMARKS)
    return importlib.import_module


# --------------------------------------------------------------------------
# Sections: registration and selection
# --------------------------------------------------------------------------


def section_files():
    folder = os.path.join(BENCHMARKS, "sections")
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and name != "__init__.py")


def test_every_section_file_is_registered_with_a_run_function(bench):
    run = bench("run")
    assert sorted(run.SECTIONS) == section_files()
    for name in run.SECTIONS:
        assert callable(run.load_section(name).run), name


def test_list_shows_every_section_and_which_run_by_default():
    result = run_runner("--list")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert sorted(rows) == section_files()
    for name in ("kernels", "bandwidth", "scaling", "axis0", "latency", "threads", "mlp"):
        assert rows[name].split()[1] == "default", rows[name]
    # Contention loads the machine on purpose and fit takes minutes: only when named.
    for name in ("contention", "fit"):
        assert "when named" in rows[name], rows[name]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sections", "kernels,nope"], "unknown section(s) ['nope']"),
        (["--kernels", "softmaks"], "unknown kernel(s) ['softmaks']"),
        (["--threads", "0,2"], "--threads must be positive integers"),
        (["--budget", "-1"], "--budget must be >= 0 seconds"),
    ],
    ids=["section", "kernel", "threads", "budget"],
)
def test_bad_option_is_refused_with_what_was_expected(args, message):
    result = run_runner(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_runner_runs_only_the_named_section(tmp_path):
    path = tmp_path / "run.json"
    result = run_runner("--quick", "--budget", "0", "--no-torch", "--sections", "latency", "--json", str(path),
                        "--no-save")  # no chart in benchmarks/results/ at every test run
    assert result.returncode == 0, result.stderr
    assert "small-call latency" in result.stdout
    assert "scaling:" not in result.stdout and "MLP:" not in result.stdout
    saved = json.loads(path.read_text())
    assert {r["section"] for r in saved["records"]} == {"latency"}
    assert "latency" in saved["sections"] and "kernels" not in saved["sections"]
    goals = {g["target"]: g["verdict"] for g in saved["targets"]}
    assert goals["softmax >= 1.25x PyTorch (every shape, dtype, thread count)"] == "n/a (kernels section not run)"
    assert not list(tmp_path.glob("*.png"))  # --json with --no-save saves no chart


# --------------------------------------------------------------------------
# Goals: computed from the figures of the run
# --------------------------------------------------------------------------


class FakeRun:
    """The parts of a run's Context that the goals read, filled by hand."""

    def __init__(self, bench, torch=True, jax=False):
        self.records = []
        self.sections = {}
        self.torch = object() if torch else None
        self.jax = object() if jax else None
        self.fastnn = fastnn
        self.max_threads = 2
        self.find = bench("_context").Context.find.__get__(self)
        self.find_record = bench("_context").Context.find_record.__get__(self)

    def kernel(self, kernel, impl, median, shape="4096x1000", dtype="float32", threads=1, busy=False, share=0.0,
               agrees=True):
        self.records.append({"section": "kernels", "impl": impl, "kernel": kernel, "shape": shape, "dtype": dtype,
                             "threads": threads, "median": median, "agrees": agrees, "bytes": 8e6, "busy": busy,
                             "others_cpu_share": share})


def goal(targets, start):
    (found,) = [t for t in targets if t[0].startswith(start)]
    return found


@pytest.mark.parametrize("torch_time, verdict", [(1.30, "PASS"), (1.20, "MISS")])
def test_pytorch_goal_is_the_worst_measured_ratio(bench, torch_time, verdict):
    run = FakeRun(bench)
    run.kernel("softmax", "fastnn", 1.0, shape="128x10")
    run.kernel("softmax", "torch", 9.0, shape="128x10")
    run.kernel("softmax", "fastnn", 1.0, threads=2)
    run.kernel("softmax", "torch", torch_time, threads=2)
    label, measured, got = goal(bench("_targets").evaluate(run), "softmax >= 1.25x PyTorch")
    assert got == verdict
    assert measured == f"worst {torch_time:.2f}x (4096x1000 float32 2 thr)"


@pytest.mark.parametrize("jax_time, verdict", [(1.30, "PASS"), (1.20, "MISS")])
def test_jax_goal_reads_the_rows_jax_was_timed_in(bench, jax_time, verdict):
    # JAX runs on its own thread pool, timed only at the run's largest thread
    # count: the 1-thread row has no JAX figure and is not compared.
    run = FakeRun(bench, jax=True)
    run.kernel("sigmoid", "fastnn", 1.0, shape="1000x1000")
    run.kernel("sigmoid", "fastnn", 1.0, shape="1000x1000", threads=2)
    run.kernel("sigmoid", "jax", jax_time, shape="1000x1000", threads=2)
    targets = bench("_targets").evaluate(run)
    _, measured, got = goal(targets, "sigmoid >= 1.25x JAX")
    assert (got, measured) == (verdict, f"worst {jax_time:.2f}x (1000x1000 float32 2 thr)")
    # sigmoid_backward has no JAX peer, so no JAX goal.
    assert not [t for t in targets if t[0].startswith("sigmoid_backward >= 1.25x JAX")]


def test_jax_goal_without_jax_is_not_applicable(bench):
    run = FakeRun(bench)
    run.kernel("softmax", "fastnn", 1.0)
    assert goal(bench("_targets").evaluate(run), "softmax >= 1.25x JAX")[2] == "n/a (jax not installed)"


def test_pytorch_goal_without_torch_is_not_applicable(bench):
    run = FakeRun(bench, torch=False)
    run.kernel("softmax", "fastnn", 1.0)
    assert goal(bench("_targets").evaluate(run), "softmax >= 1.25x PyTorch")[2] == "n/a (torch not installed)"


@pytest.mark.parametrize("xent_time, verdict", [(1.10, "PASS"), (1.20, "MISS")])
def test_cross_entropy_goal_compares_with_softmax_of_the_same_case(bench, xent_time, verdict):
    run = FakeRun(bench)
    run.kernel("softmax", "fastnn", 2.0, threads=2)  # another thread count: not compared
    run.kernel("softmax", "fastnn", 1.0)
    run.kernel("softmax_cross_entropy", "fastnn", xent_time)
    _, measured, got = goal(bench("_targets").evaluate(run), "softmax_cross_entropy (loss + grad)")
    assert (got, measured) == (verdict, f"worst {xent_time:.2f}x (4096x1000 float32 1 thr)")


def test_cross_entropy_goal_leaves_out_small_calls(bench):
    # Below 4096 rows the loss's fixed costs dominate; the goal covers N >= 4096.
    run = FakeRun(bench)
    run.kernel("softmax", "fastnn", 1.0)
    run.kernel("softmax_cross_entropy", "fastnn", 1.10)
    run.kernel("softmax", "fastnn", 1.0, shape="1x10")
    run.kernel("softmax_cross_entropy", "fastnn", 3.0, shape="1x10")
    _, measured, got = goal(bench("_targets").evaluate(run), "softmax_cross_entropy (loss + grad)")
    assert (got, measured) == ("PASS", "worst 1.10x (4096x1000 float32 1 thr)")


def long_row(shape, threads, copy, softmax_out, log_softmax_out):
    return {"shape": shape, "threads": threads, "np.copyto": {"median": copy},
            "softmax(out=)": {"median": softmax_out}, "log_softmax(out=)": {"median": log_softmax_out}}


def test_copy_goals_use_each_thread_counts_limit(bench):
    run = FakeRun(bench)
    run.sections["bandwidth"] = {
        "long_rows": [
            long_row("4096x1000", 1, 1.0, 1.9, 2.1),
            long_row("64x50000", 1, 1.0, 1.5, 1.5),
            long_row("4096x1000", 2, 1.0, 1.2, 1.4),
            long_row("64x50000", 2, 1.0, 1.0, 1.0),
            long_row("16384x1000", 2, 1.0, 9.0, 9.0),  # not one of the goal's shapes
        ],
        "short_rows": [{"shape": "1x10", "dtype": "float32", "threads": 1, "out_over_exp": 1.4}],
    }
    targets = bench("_targets").evaluate(run)
    assert goal(targets, "float32 softmax(out=) <= 2.0x np.copyto time, 1 thr")[1:] == (
        "worst 1.90x (4096x1000)", "PASS")
    assert goal(targets, "float32 log_softmax(out=) <= 2.0x np.copyto time, 1 thr")[1:] == (
        "worst 2.10x (4096x1000)", "MISS")
    assert goal(targets, "float32 softmax(out=) <= 1.3x np.copyto time, 2 thr")[2] == "PASS"
    assert goal(targets, "float32 log_softmax(out=) <= 1.3x np.copyto time, 2 thr")[2] == "MISS"
    assert goal(targets, "softmax(out=), rows of <= 16 classes")[1:] == ("worst 1.40x (1x10 float32 1 thr)", "PASS")


@pytest.mark.parametrize("loaded, verdict", [(0.9, "PASS"), (1.1, "MISS")])
def test_contention_goal_compares_loaded_two_threads_with_quiet_one(bench, loaded, verdict):
    run = FakeRun(bench)
    cells = {"quiet_1": {"median": 1.0, "p95": 1.0}, "loaded_2": {"median": loaded, "p95": 2.0}}
    run.sections["contention"] = {"shape": "4096x1000", "rows": [
        {"kernel": "softmax", "impl": "fastnn", **cells, "loaded2_over_quiet1": loaded},
        {"kernel": "softmax", "impl": "torch", **cells, "loaded2_over_quiet1": 5.0},  # a peer: not a goal
    ]}
    _, measured, got = goal(bench("_targets").evaluate(run), "one competing process")
    assert got == verdict
    assert measured.startswith(f"worst {loaded:.2f}x (softmax 4096x1000; loaded 2-thread p95 2.00x")


def test_goals_of_sections_not_run_say_so(bench):
    targets = bench("_targets").evaluate(FakeRun(bench))
    assert all(verdict.startswith("n/a") for _, _, verdict in targets)
    assert goal(targets, "one competing process")[2] == "n/a (run with --sections contention)"
    assert goal(targets, "MLPClassifier.fit")[2] == "n/a (run with --sections fit)"


# --------------------------------------------------------------------------
# The fit section: regressor goals, the GEMM floor, the rows the goals read
# --------------------------------------------------------------------------


def regressor_row(data, speedup, r2_gap, over_floor, activation="relu", dtype="float32", threads=1):
    return {"data": data, "activation": activation, "dtype": dtype, "threads": threads,
            "fastnn": 1.0, "sklearn": speedup, "r2_fastnn": 0.9, "r2_sklearn": 0.9 + r2_gap,
            "floor": 1.0 / over_floor, "fastnn_over_floor": over_floor}


@pytest.mark.parametrize(
    "speedup, r2_gap, verdict",
    [(1.6, 0.01, "PASS"), (1.4, 0.01, "MISS"), (1.6, 0.03, "MISS"), (1.6, -0.03, "MISS")],
    ids=["fast-equal", "slow", "fastnn-worse", "fastnn-better"],
)
def test_regressor_fit_goal_needs_the_speed_and_an_equal_r2(bench, speedup, r2_gap, verdict):
    run = FakeRun(bench)
    run.sections["fit"] = {"rows": [], "regressor_rows": [
        regressor_row("friedman1 20000x10", 2.0, 0.0, 3.0),
        regressor_row("make_regression 50000x100", speedup, r2_gap, 1.2, dtype="float64", threads=2),
    ]}
    _, measured, got = goal(bench("_targets").evaluate(run), "MLPRegressor.fit >= 1.5x")
    assert got == verdict
    assert measured == (f"worst {min(speedup, 2.0):.2f}x (make_regression 50000x100 relu float64 2 thr); "
                        f"largest R² gap {abs(r2_gap):.4f} (make_regression 50000x100 relu float64 2 thr)")


@pytest.mark.parametrize("over_floor, verdict", [(1.25, "PASS"), (1.35, "MISS")])
def test_floor_goal_reads_only_the_full_size_make_regression_rows(bench, over_floor, verdict):
    run = FakeRun(bench)
    run.sections["fit"] = {"rows": [], "regressor_rows": [
        regressor_row("friedman1 20000x10", 2.0, 0.0, 9.0),  # small products: not the goal's data
        regressor_row("make_regression 50000x100", 2.0, 0.0, 1.1),
        regressor_row("make_regression 50000x100", 2.0, 0.0, over_floor, activation="logistic"),
    ]}
    _, measured, got = goal(bench("_targets").evaluate(run), "MLPRegressor.fit <= 1.3x its GEMM floor")
    assert (got, measured) == (verdict, f"worst {over_floor:.2f}x (make_regression 50000x100 logistic float32 1 thr)")


def test_floor_goal_is_not_applicable_to_quick_data(bench):
    run = FakeRun(bench)
    run.sections["fit"] = {"rows": [], "regressor_rows": [regressor_row("make_regression 5000x100", 2.0, 0.0, 1.0)]}
    targets = bench("_targets").evaluate(run)
    assert goal(targets, "MLPRegressor.fit <= 1.3x")[2].startswith("n/a (needs the full-size make_regression")
    assert goal(targets, "MLPRegressor.fit >= 1.5x")[2] == "PASS"  # the speed goal reads every row


def test_floor_goal_names_the_data_the_fit_section_runs(bench):
    assert bench("sections.fit").regression_name(50_000) == bench("_targets").FLOOR_GOAL_DATA


def test_step_products_are_forward_then_backward_from_the_top(bench):
    # (m, k, n) of an (m x k) @ (k x n) product; no gradient with respect to X.
    assert bench("_gemm_floor").step_products((5, 7, 6, 3), 4) == [
        (4, 5, 7), (4, 7, 6), (4, 6, 3),  # a_l = a_(l-1) @ W_l
        (6, 4, 3), (4, 3, 6),  # top layer: a_2.T @ delta_3, delta_3 @ W_3.T
        (7, 4, 6), (4, 6, 7),  # middle layer
        (5, 4, 7),  # first layer: its weight gradient only
    ]


@pytest.mark.parametrize("layer_sizes", [(5, 7, 3), (5, 7, 6, 1)], ids=["2-layers", "3-layers"])
@pytest.mark.parametrize("n_samples, batch_size", [(450, 200), (400, 200), (30, 200)],
                         ids=["partial-batch", "full-batches", "one-small-batch"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_floor_times_each_product_of_each_step(bench, monkeypatch, layer_sizes, n_samples, batch_size,
                                                    dtype):
    import numpy as np

    floor_module = bench("_gemm_floor")
    seen = []
    real_matmul = np.matmul

    def counting_matmul(a, b, out):
        seen.append((a.shape[0], a.shape[1], b.shape[1], a.dtype.name, b.dtype.name, out.shape))
        return real_matmul(a, b, out=out)

    monkeypatch.setattr(np, "matmul", counting_matmul)
    X = np.random.default_rng(0).standard_normal((n_samples, layer_sizes[0]))
    epochs, repeats = 3, 2
    floor = floor_module.time_gemm_floor(X, layer_sizes, batch_size, epochs, dtype=dtype, repeats=repeats)

    steps_per_epoch = -(-n_samples // batch_size)
    products_per_step = 3 * (len(layer_sizes) - 1) - 1
    assert floor.n_steps == epochs * steps_per_epoch
    assert floor.n_products == floor.n_steps * products_per_step
    assert len(floor.times) == repeats and all(t > 0 for t in floor.times) and floor.median > 0
    # One step's products as a warm-up, then every product of every step, in order.
    epoch = [shape for rows in floor_module.batch_rows(n_samples, batch_size)
             for shape in floor_module.step_products(layer_sizes, rows)]
    warm_up = floor_module.step_products(layer_sizes, min(batch_size, n_samples))
    assert [s[:3] for s in seen] == warm_up + epoch * epochs * repeats
    assert {s[3:5] for s in seen} == {(dtype, dtype)}
    assert all(out == (m, n) for m, _, n, _, _, out in seen)
    assert floor.flops == pytest.approx(epochs * sum(2.0 * m * k * n for m, k, n in epoch))


def test_gemm_floor_refuses_x_of_the_wrong_width(bench):
    import numpy as np

    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 5\)"):
        bench("_gemm_floor").time_gemm_floor(np.zeros((10, 4)), (5, 7, 3))


def test_fit_section_regressor_rows_carry_what_the_goals_read(bench, capsys):
    # One tiny table, not a benchmark: the rows' fields and the printed line.
    pytest.importorskip("sklearn")
    import contextlib
    import types

    import numpy as np

    fit = bench("sections.fit")
    idle = bench("_machine").Load(share=0.0)
    ctx = types.SimpleNamespace(threads=[1], torch=None, set_threads=fastnn.set_num_threads,
                                watch_load=lambda: contextlib.nullcontext(idle))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = X @ rng.standard_normal(4)
    data = [fit._split("tiny 300x4", X, y)]
    floors = {}
    from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

    rows = fit._table(ctx, SklearnMLPRegressor, fastnn.MLPRegressor, data, 1, (1, 1), floors, "r2")
    printed = capsys.readouterr().out.splitlines()
    assert len(rows) == len(printed) == len(fit.ACTIVATIONS) * 2  # activations x dtypes
    assert len(floors) == 2  # one floor per dtype, shared by the activations
    for row, line in zip(rows, printed):
        assert row["estimator"] == "MLPRegressor"
        assert -1.0 < row["r2_fastnn"] <= 1.0 and row["r2_fastnn"] == pytest.approx(row["r2_sklearn"], abs=0.02)
        assert row["floor_products"] == 5 * row["floor_steps"] and row["floor_steps"] == 2  # 240 rows: 200 + 40
        assert row["fastnn_over_floor"] == pytest.approx(row["fastnn"] / row["floor"])
        assert row["sklearn_over_floor"] == pytest.approx(row["sklearn"] / row["floor"])
        assert line.split()[:4] == ["tiny", "300x4", row["activation"], row["dtype"]]
        assert line.rstrip().endswith(bench("_report").format_ratio(row["sklearn_over_floor"]))


# --------------------------------------------------------------------------
# The default report: the figures a user came for; the goals with --goals
# --------------------------------------------------------------------------

VERDICT_LINE = re.compile(r"^\s*(PASS|MISS)\b|\b\d+ PASS, \d+ MISS\b")


@pytest.mark.parametrize("goals", [False, True], ids=["default", "--goals"])
def test_goals_are_reported_only_with_the_goals_option(goals):
    args = ["--quick", "--budget", "0", "--no-torch", "--sections", "kernels", "--kernels", "sigmoid_backward",
            "--threads", "1", "--no-save"]
    result = run_runner(*args, *(["--goals"] if goals else []))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    verdicts = [line for line in lines if VERDICT_LINE.search(line)]
    assert ("performance goals, checked against this run's figures" in lines) is goals
    if goals:
        assert any(line.split()[:3] == ["PASS", "every", "implementation"] for line in verdicts), verdicts
    else:
        assert verdicts == []
        assert any("run with --goals" in line for line in lines[-3:])
    # What a user came for, either way: fastnn's time, the speed-up over each peer, the copy.
    assert "summary: float32, the large shapes, 1 thread" in lines
    row = next(line for line in lines if line.startswith("sigmoid_backward") and "1000x1000" in line)
    assert re.search(r"\d+(\.\d+)? [mun]?s[ *] .*\d\.\d+x[ *] .*\d+%", row), row


@pytest.mark.parametrize("ratio, text", [
    (0.5714, "0.57x"), (0.584, "0.58x"), (3.114, "3.11x"), (9.994, "9.99x"), (9.996, "10.0x"), (15.63, "15.6x"),
    (123.45, "123.5x"), (None, "-"), (float("nan"), "-"),
], ids=["0.57", "0.584", "3.11", "9.99", "rounds-to-10", "15.6", "123", "none", "nan"])
def test_every_ratio_has_two_decimals_below_10x_and_one_from_10x(bench, ratio, text):
    assert bench("_report").format_ratio(ratio) == text


def test_no_ratio_is_formatted_by_hand():
    # One rule for every ratio of the report: _report.format_ratio.  A format
    # spec written straight before an "x" ({r:.2f}x, {r:>6.3g}x) is another rule.
    by_hand = re.compile(r"\{[^{}]*:[^{}]*\.\d+[fg]\}x")
    offenders = []
    for folder in (BENCHMARKS, os.path.join(BENCHMARKS, "sections")):
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py") or name in ("_report.py", "exp_accuracy.py"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                offenders += [f"{name}:{n}: {line.strip()}" for n, line in enumerate(f, 1) if by_hand.search(line)]
    assert not offenders, "\n".join(offenders)


def test_configuration_prints_as_aligned_lines(bench, capsys):
    config = {"version": "0.1.0", "simd": "avx512", "simd_available": ("baseline", "avx2", "avx512"),
              "openmp": True, "num_threads": 2, "parallel_min_elements": 32768}
    info = {"cpu": "a CPU", "logical_cpus": 2, "cpu_flags": ["avx2"], "python": "3.11", "platform": "Linux",
            "numpy": "2.4", "numpy_blas": "openblas", "torch": None, "scipy": "1.17", "fastnn": "0.1.0",
            "fastnn_path": "/somewhere", "fastnn_config": config, "quick": True, "budget_s": 0.0,
            "threads": [1, 2], "env": {}}
    bench("_machine").print_machine(info)
    out = capsys.readouterr().out
    assert "{" not in out and "'" not in out  # no raw dict
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith(" " * 12)}
    assert sorted(lines) == sorted(set(config) - {"version"})  # the version is on the fastnn line
    assert lines["simd_available"].split(None, 1)[1] == "baseline, avx2, avx512"
    assert lines["openmp"].split()[1] == "yes"
    starts = {re.match(r" {12}\S+ +", line).end() for line in lines.values()}
    assert len(starts) == 1, out  # every value starts in the same column


def table_lines(out, first_title):
    """The header and the rows of the table whose header's first column is ``first_title``."""
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.split()[:1] == [first_title])
    table = [lines[first]]
    for line in lines[first + 1:]:
        note = line.startswith("  ") and not (line[2].isspace() or line[2].isdigit())  # a legend or a note
        if not line.strip() or note:
            break
        table.append(line)
    return table


def make_context(bench, *args):
    return bench("_context").Context(bench("run").parse_args(["--quick", "--budget", "0", "--no-torch", *args]))


def test_latency_columns_are_as_wide_as_the_longest_kernel_name(bench, capsys):
    bench("sections.latency").run(make_context(bench))
    table = table_lines(capsys.readouterr().out, "kernel")
    assert len(table) == 1 + 2 * len(bench("_peers").KERNELS)
    assert {len(line) for line in table} == {len(table[0])}, "\n".join(table)
    assert any(line.startswith("sigmoid_binary_cross_entropy ") for line in table)
    assert {line.index("float") + len("float32") for line in table[1:]} == {table[0].index("dtype") + len("dtype")}


def test_threads_columns_are_as_wide_as_the_longest_kernel_name(bench, monkeypatch, capsys):
    threads = bench("sections.threads")
    monkeypatch.setattr(threads, "probe_thread_pool", lambda ctx: None)
    run = FakeRun(bench)
    run.threads = [1, 2]
    run.args = types.SimpleNamespace(kernels=["softmax", "sigmoid_binary_cross_entropy"])
    for name, shapes in (("softmax", ["100000x10", "4096x1000", "64x50000"]),
                         ("sigmoid_binary_cross_entropy", ["1000x1000"])):
        for shape in shapes:
            for dtype in ("float32", "float64"):
                run.kernel(name, "fastnn", 2.0, shape=shape, dtype=dtype, threads=1)
                run.kernel(name, "fastnn", 1.0, shape=shape, dtype=dtype, threads=2)
    threads.run(run)
    table = table_lines(capsys.readouterr().out, "kernel")
    assert len(table) == 1 + 2 * 4
    assert {len(line) for line in table} == {len(table[0])}, "\n".join(table)
    assert all(line.split()[3] == "2.00x" for line in table[1:])


# --------------------------------------------------------------------------
# The machine's load: measured per timing, marked beside every figure
# --------------------------------------------------------------------------


def fake_load(monkeypatch, bench, share):
    """Make every CpuMonitor see other processes using ``share`` of the CPUs, on top of this process's own
    CPU time (the sections timed here start no process)."""
    import time

    monitor = bench("_machine").CpuMonitor
    monkeypatch.setattr(monitor, "machine_busy", lambda self: time.process_time() + share * self.n_cpus * self.clock())


def scripted_monitor(bench, monkeypatch, readings):
    """A CpuMonitor reading (seconds, machine busy, own) from ``readings`` at each snapshot."""
    monitor = bench("_machine").CpuMonitor()
    monitor.history.clear()
    steps = iter(readings)
    current = {}

    def advance():
        current["wall"], current["busy"], current["own"] = next(steps)
        return current["busy"]

    monkeypatch.setattr(monitor, "machine_busy", advance)
    monkeypatch.setattr(monitor, "own_cpu", lambda: current["own"])
    monkeypatch.setattr(monitor, "clock", lambda: current["wall"])
    monitor.n_cpus = 2
    return monitor


def test_load_is_other_processes_cpu_time_over_the_cpus_time(bench, monkeypatch):
    # 2 CPUs for 1 s: 2 CPU-seconds.  The machine was busy 1.6 of them, this
    # run 1.5 (its threads and children): others took 0.1, a 5% share.
    monitor = scripted_monitor(bench, monkeypatch, [(0.0, 100.0, 10.0), (1.0, 101.6, 11.5), (2.0, 101.6, 13.5)])
    start = monitor.snapshot()
    load = monitor.load(since=start)
    assert load.share == pytest.approx(0.05) and load.window_s == pytest.approx(1.0) and not load.busy
    # The run's own work cannot make the share negative (/proc/stat counts in ticks).
    assert monitor.load(since=start).share == 0.0


def test_a_short_timing_is_judged_on_the_last_quarter_second(bench, monkeypatch):
    # Busy for the first second (1 of 2 CPUs taken by others), then a timing of
    # 10 ms in which /proc/stat's ticks happen not to move.
    monitor = scripted_monitor(bench, monkeypatch, [(0.0, 0.0, 0.0), (1.0, 1.0, 0.0), (1.01, 1.0, 0.0),
                                                    (1.02, 1.0, 0.0)])
    monitor.snapshot()
    start = monitor.snapshot()
    assert monitor.load(since=start, min_window=0.25).share == pytest.approx(1.0 / (2 * 1.01))
    assert monitor.load(since=start).share == 0.0  # the bare window: mostly rounding


def test_this_process_threads_and_children_are_its_own_cpu_time(bench):
    import threading
    import time

    monitor = bench("_machine").CpuMonitor()
    before = monitor.own_cpu()
    stop = time.perf_counter() + 0.4

    def spin():  # hashing a large buffer releases the GIL: a second thread really runs
        import hashlib

        data = b"x" * (1 << 20)
        while time.perf_counter() < stop:
            hashlib.sha256(data).digest()

    worker = threading.Thread(target=spin)
    worker.start()
    worker.join()
    after_thread = monitor.own_cpu()
    assert after_thread - before > 0.1  # the worker thread's time, on a shared machine too

    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.6: pass"])
    try:
        time.sleep(0.5)
        assert monitor.own_cpu() - after_thread > 0.1  # a live child's time, before it is waited for
    finally:
        child.wait()


@pytest.mark.parametrize("share, marked", [(0.6, True), (0.0, False)], ids=["busy", "idle"])
def test_kernel_and_threads_tables_mark_every_figure_measured_under_load(bench, monkeypatch, capsys, share, marked):
    fake_load(monkeypatch, bench, share)
    monkeypatch.setattr(bench("sections.threads"), "probe_thread_pool", lambda ctx: None)
    ctx = make_context(bench, "--kernels", "sigmoid_backward")
    bench("sections.kernels").run(ctx)
    bench("sections.threads").run(ctx)
    out = capsys.readouterr().out
    legend = "  * measured while other processes used 60% of the CPUs"
    for header in ("shape", "kernel"):  # the kernel table, then the threads table
        table = table_lines(out, header)
        figures = [cell for line in table[1:] for cell in re.findall(r"\d[\d.]*\s?(?:[mun]?s|x|%)?[ *]", line)
                   if not re.match(r"\d+x\d+", cell)]
        assert figures
        assert all(cell.endswith("*") == marked for cell in figures if cell[:-1].strip()[-1:] in "sx%"), table
        after = out.splitlines()[out.splitlines().index(table[-1]) + 1]
        assert after.startswith(legend) is marked, after
    records = [r for r in ctx.records if r["section"] == "kernels"]
    assert records and all(r["busy"] is marked and r["others_cpu_share"] == pytest.approx(share, abs=0.02)
                           for r in records), [(r["others_cpu_share"], r["busy"]) for r in records]


def test_latency_marks_its_figures_under_load(bench, monkeypatch, capsys):
    fake_load(monkeypatch, bench, 0.35)
    bench("sections.latency").run(make_context(bench))
    out = capsys.readouterr().out
    table = table_lines(out, "kernel")
    assert all(cell.endswith("*") for line in table[1:] for cell in re.findall(r"\d+\.\d{3}.", line))
    assert "  * measured while other processes used 35% of the CPUs" in out


def headline_run(bench, busy_kernel=None):
    """A hand-made run with the summary's and the chart's cases: float32, large shapes, 2 threads."""
    run = FakeRun(bench)
    cases = bench("_cases")
    ratios = {"numpy": 3.0, "torch": 0.5, "scipy": 12.0}
    for name in bench("_peers").KERNELS:
        for shape in map(cases.shape_label, cases.large_shapes_for(name)):
            busy = name == busy_kernel
            run.kernel(name, "fastnn", 1e-3, shape=shape, threads=2, busy=busy, share=0.6 if busy else 0.0)
            for peer, ratio in ratios.items():
                run.kernel(name, peer, ratio * 1e-3, shape=shape, threads=2)
            run.records.append({"section": "kernels", "impl": "np.copyto", "shape": shape, "dtype": "float32",
                                "threads": 2, "median": 0.5e-3, "bytes": 8e6})
    return run


def test_summary_ends_the_default_report_with_the_headline_cases(bench, capsys):
    run = headline_run(bench, busy_kernel="softmax")
    run.kernel("softmax", "scipy", 1.0, shape="1x10", agrees=False)  # not a headline case, but a mismatch
    bench("_report").print_summary(run)
    out = capsys.readouterr().out
    table = table_lines(out, "kernel")
    assert table[0].split() == ["kernel", "shape", "fastnn", "vs", "numpy", "vs", "torch", "vs", "scipy", "of",
                                "copy"]
    assert {len(line) for line in table} == {len(table[0])}
    rows = {(line.split()[0], line.split()[1]): line.split()[2:] for line in table[1:]}
    assert rows[("sigmoid", "1000x1000")] == ["1", "ms", "3.00x", "0.50x", "12.0x", "50%"]
    assert rows[("softmax", "4096x1000")] == ["1", "ms*", "3.00x*", "0.50x*", "12.0x*", "50%*"]
    assert "  * measured while other processes used 60% of the CPUs" in out
    assert "WARNING: results differ from NumPy's in float64: softmax/scipy" in out


def chart(bench, run, machine=None):
    """The chart of ``run``, with a scaling section of four sizes, drawn on Agg."""
    pytest.importorskip("matplotlib")
    sizes = [10**3, 10**4, 10**5, 10**6]
    run.sections["scaling"] = [{"elements": n, "fastnn": 1e-9, "numpy": 4e-9, "np.copyto": 0.5e-9} for n in sizes]
    for n in sizes:
        for impl in ("fastnn", "numpy", "np.copyto"):
            run.records.append({"section": "scaling", "impl": impl, "elements": n, "median": 1e-3, "busy": False})
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = bench("_chart").make_figure(run, machine)
    FigureCanvasAgg(fig).draw()
    return fig


MACHINE = {"cpu": "Test CPU 9000 (family 6, model 1)", "logical_cpus": 2, "fastnn": "0.1.0",
           "fastnn_config": {"simd": "avx2", "openmp": True}, "threads": [1, 2], "date": "2026-12-02T17:30:05"}


def test_chart_bars_carry_their_values_and_ticks_are_readable(bench):
    fig = chart(bench, headline_run(bench), MACHINE)
    speedups = fig.axes[0]
    labels = [t.get_text() for t in speedups.texts if t.get_text()]
    n_cases = sum(len(bench("_cases").large_shapes_for(k)) for k in bench("_peers").KERNELS)
    assert sorted(set(labels)) == ["0.50x", "12.0x", "3.00x"] and len(labels) == 3 * n_cases
    ticks = [t.get_text() for t in speedups.get_yticklabels() if t.get_text()]
    assert {"0.5x", "1x", "2x", "3x", "5x", "10x"} <= set(ticks)
    assert not any("^" in t for t in ticks)  # no 10^0, 10^1
    assert not any(bar.get_hatch() for bar in speedups.patches)


def test_chart_legends_stay_outside_the_plot_areas(bench):
    fig = chart(bench, headline_run(bench), MACHINE)
    for ax in fig.axes:
        legend, area = ax.get_legend().get_window_extent(), ax.get_window_extent()
        overlap_x = min(legend.x1, area.x1) - max(legend.x0, area.x0)
        overlap_y = min(legend.y1, area.y1) - max(legend.y0, area.y0)
        assert overlap_x <= 1 or overlap_y <= 1, (ax.get_title(), legend, area)


def test_chart_subtitle_names_the_machine_instruction_set_threads_and_date(bench):
    title = chart(bench, headline_run(bench), MACHINE).get_suptitle()
    for part in ("Test CPU 9000", "avx2 kernels", "threads 1, 2", "2026-12-02 17:30"):
        assert part in title, title
    assert "measured while" not in title


def test_chart_marks_the_bars_measured_under_load(bench):
    fig = chart(bench, headline_run(bench, busy_kernel="sigmoid"), MACHINE)
    speedups = fig.axes[0]
    hatched = [bar for bar in speedups.patches if bar.get_hatch()]
    assert len(hatched) == 3  # sigmoid's one large shape, against each of the three peers
    marked = [t.get_text() for t in speedups.texts if t.get_text().endswith("*")]
    assert sorted(marked) == ["0.50x*", "12.0x*", "3.00x*"]
    assert "* measured under load" in [t.get_text() for t in speedups.get_legend().get_texts()]
    assert "measured while other processes used up to 60% of the CPUs" in fig.get_suptitle()
