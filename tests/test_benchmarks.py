"""The benchmark runner picks its sections as asked.

No timing is checked here (CI machines are noisy): the one run of the runner
is a smoke run of the cheapest section with the minimum number of repeats.
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
    targets = {t["target"]: t["verdict"] for t in saved["targets"]}
    assert targets["softmax >= 1.3x PyTorch on every shape"] == "n/a (kernels section not run)"
    assert not list(tmp_path.glob("*.png"))  # --json alone saves no chart
