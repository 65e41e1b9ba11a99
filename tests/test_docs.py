"""The README, docs and examples say what is true, to a reader who has only this repository."""

import ast
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastnn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")

pytestmark = pytest.mark.skipif(
    not os.path.exists(README), reason="the tests are not inside a clone of the repository"
)


def read(relative_path):
    with open(os.path.join(REPO, relative_path), encoding="utf-8") as f:
        return f.read()


def test_readme_check_grad_comment_is_the_measured_value():
    from scipy.optimize import check_grad

    comment = re.search(r"check_grad\(net\.loss, net\.grad, params, X, y\)\s*# (\S+),", read("README.md"))
    assert comment, "the README's check_grad line was not found"
    # The README's snippet, as written there.
    net = fastnn.MLP((10, 5, 10))
    params = net.init_params(seed=0)
    X = np.random.default_rng(0).standard_normal((20, 10))
    y = np.arange(20) % 10
    measured = check_grad(net.loss, net.grad, params, X, y)
    # The figure is finite-difference error, which moves with the last bits of
    # the loss: the portable build, whose exp rounds differently from the
    # AVX2 and AVX-512 builds', measures 3.0e-07 where they measure 2.9e-07.
    assert float(comment.group(1)) == pytest.approx(measured, rel=0.1)


def test_readme_scaling_out_example_runs_as_written(tmp_path):
    pytest.importorskip("distributed")
    readme = read("README.md")
    section = readme[readme.index("## Scaling out with Dask"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "scaling_out.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = done.stdout.strip().splitlines()[-1]
    assert printed == re.search(r"print\(clf.score\(X, y\)\)\s*# .*: (\S+)", code).group(1)


def test_readme_says_which_where_entries_get_zero():
    # where=True means "kept", so "masked entries" could mean either.
    readme = read("README.md")
    line = next(line for line in readme.splitlines() if "fastnn.softmax(x, where=" in line)
    assert "where `where` is False get 0" in line
    x = np.array([[1.0, 2.0], [1001.0, 1002.0]])
    result = fastnn.softmax(x, where=x > 1.5)
    assert result[0, 0] == 0.0 and result[0, 1] == 1.0


def test_gitignore_ignores_the_quickstart_venv():
    # The Quickstart creates .venv inside the clone.
    assert "python3 -m venv .venv" in read("README.md")
    patterns = read(".gitignore").split()
    assert ".venv/" in patterns or ".venv" in patterns


# Phrases that only make sense to someone who has read the project's tracker.
TRACKER_TALK = re.compile(
    r"\bthe assignment\b|\bthe performance issue\b|\bissue tracker\b|\bissues? \d+\b|\bthe issue\b",
    re.IGNORECASE,
)


def _text_files():
    for top in ("README.md", "docs", "benchmarks", "fastnn", "examples", "tests"):
        path = os.path.join(REPO, top)
        if os.path.isfile(path):
            yield path
            continue
        for folder, _, names in os.walk(path):
            for name in names:
                if name.endswith((".py", ".md", ".pyx", ".pxi", ".pyi", ".h")):
                    yield os.path.join(folder, name)


def test_no_text_refers_to_the_tracker_or_an_unnamed_assignment():
    offenders = []
    for path in _text_files():
        if os.path.abspath(path) == os.path.abspath(__file__):
            continue
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if TRACKER_TALK.search(line):
                    offenders.append(f"{os.path.relpath(path, REPO)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_example_command_works_where_its_docstring_says(tmp_path):
    script = os.path.join(REPO, "examples", "train_mlp.py")
    with open(script, encoding="utf-8") as f:
        docstring = ast.get_docstring(ast.parse(f.read()))
    command = next(line.split() for line in docstring.splitlines() if line.strip().startswith("python "))
    assert command[1:] == ["examples/train_mlp.py"]
    where = REPO if "from the repository root" in docstring else str(tmp_path)
    result = subprocess.run(
        [sys.executable, *command[1:]], cwd=where, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "Held-out accuracy:" in result.stdout


def test_pytorch_recipe_installs_fastnn_where_the_runner_runs():
    # A --system-site-packages environment sees the system's packages, not the
    # virtual environment fastnn was installed into, so the runner found only
    # the uncompiled source folder.
    text = read("docs/benchmarks.md")
    block = next(b for b in re.findall(r"```sh\n(.*?)```", text, re.DOTALL) if "torch==" in b)
    lines = block.strip().splitlines()
    assert "--system-site-packages" not in block
    venv = lines[0].split()[-1]
    assert lines[0] == f"python3 -m venv {venv}"
    assert lines[1].startswith(f'{venv}/bin/python -m pip install ".[bench]" torch==')
    assert lines[2] == f"{venv}/bin/python benchmarks/run.py"


def _install_targets(text):
    """The package arguments of every ``pip install`` line in ``text``."""
    targets = []
    for line in re.findall(r"pip install ([^`\n]*)", text):
        for word in line.replace("&&", " ").split():
            word = word.strip("'\"\\,;.")
            if word.startswith("-") or not word or word in ("python", "pip"):
                continue
            targets.append(word)
    return targets


def test_install_lines_install_this_project():
    # PyPI's "fastnn" is someone else's project: an install line must name this
    # one's distribution, or install from the clone (".", ".[extra]").
    name = re.search(r'^name = "([^"]+)"', read("pyproject.toml"), re.M).group(1)
    assert name != "fastnn"
    files = ["README.md", "docs/benchmarks.md", "docs/distributed.md", "examples/train_mlp.py"]
    files += [os.path.relpath(os.path.join(root, f), REPO)
              for root, _, names in os.walk(os.path.join(REPO, "fastnn")) for f in names
              if f.endswith(".py")]
    checked = 0
    for path in files:
        for target in _install_targets(read(path)):
            checked += 1
            base = re.split(r"[\[=<>]", target)[0]
            assert base.lower() != "fastnn", f"{path}: 'pip install {target}' installs PyPI's fastnn"
    assert checked >= 5, "no install line found: the scan is broken"


def test_example_states_the_accuracy_it_prints():
    stated = re.search(r"held-out accuracy \((\d\.\d+) on (\d+) images", read("examples/train_mlp.py"))
    result = subprocess.run([sys.executable, os.path.join(REPO, "examples", "train_mlp.py")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    printed = re.search(r"Held-out accuracy: (\d\.\d+) on (\d+) images", result.stdout)
    assert stated and printed and stated.groups() == printed.groups(), (stated, printed)


def test_readme_parameter_count_lines_show_the_values():
    block = read("README.md")
    assert "net.n_params                                  # 115" in block
    net = fastnn.MLP((10, 5, 10))
    assert net.n_params == fastnn.num_params((10, 5, 10)) == 115
