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
