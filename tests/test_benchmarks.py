"""The benchmark runner picks its sections as asked, and its goals are computed from the run's figures.

No timing is checked here (CI machines are noisy): the goals are evaluated
on hand-made figures, and the one run of the runner is a smoke run of the
cheapest section with the minimum number of repeats.
"""

import importlib
import json
import os
import site
import subprocess
import sys

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
    result = run_runner("--quick", "--budget", "0", "--no-torch", "--sections", "latency", "--json", str(path))
    assert result.returncode == 0, result.stderr
    assert "small-call latency" in result.stdout
    assert "scaling:" not in result.stdout and "MLP:" not in result.stdout
    saved = json.loads(path.read_text())
    assert {r["section"] for r in saved["records"]} == {"latency"}
    assert "latency" in saved["sections"] and "kernels" not in saved["sections"]
    goals = {g["target"]: g["verdict"] for g in saved["targets"]}
    assert goals["softmax >= 1.25x PyTorch (every shape, dtype, thread count)"] == "n/a (kernels section not run)"
    assert not list(tmp_path.glob("*.png"))  # --json alone saves no chart


# --------------------------------------------------------------------------
# Goals: computed from the figures of the run
# --------------------------------------------------------------------------


class FakeRun:
    """The parts of a run's Context that the goals read, filled by hand."""

    def __init__(self, bench, torch=True):
        self.records = []
        self.sections = {}
        self.torch = object() if torch else None
        self.fastnn = fastnn
        self.find = bench("_context").Context.find.__get__(self)

    def kernel(self, kernel, impl, median, shape="4096x1000", dtype="float32", threads=1):
        self.records.append({"section": "kernels", "impl": impl, "kernel": kernel, "shape": shape, "dtype": dtype,
                             "threads": threads, "median": median, "agrees": True})


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


def test_pytorch_goal_without_torch_is_not_applicable(bench):
    run = FakeRun(bench, torch=False)
    run.kernel("softmax", "fastnn", 1.0)
    assert goal(bench("_targets").evaluate(run), "softmax >= 1.25x")[2] == "n/a (torch not installed)"


@pytest.mark.parametrize("xent_time, verdict", [(1.10, "PASS"), (1.20, "MISS")])
def test_cross_entropy_goal_compares_with_softmax_of_the_same_case(bench, xent_time, verdict):
    run = FakeRun(bench)
    run.kernel("softmax", "fastnn", 2.0, threads=2)  # another thread count: not compared
    run.kernel("softmax", "fastnn", 1.0)
    run.kernel("softmax_cross_entropy", "fastnn", xent_time)
    _, measured, got = goal(bench("_targets").evaluate(run), "softmax_cross_entropy (loss + grad)")
    assert (got, measured) == (verdict, f"worst {xent_time:.2f}x (4096x1000 float32 1 thr)")


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
    import types

    import numpy as np

    fit = bench("sections.fit")
    ctx = types.SimpleNamespace(threads=[1], torch=None, set_threads=fastnn.set_num_threads)
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
        assert line.endswith(f"{row['sklearn_over_floor']:.2f}x")
