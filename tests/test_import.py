"""Importing fastnn: what it costs, and what happens in a source folder without compiled kernels."""

import os
import subprocess
import sys

import pytest

import fastnn


def run_python(args, cwd, **env):
    """Run a fresh interpreter in ``cwd``; return (exit status, stdout, stderr)."""
    environment = dict(os.environ, **env)
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )
    return result.returncode, result.stdout, result.stderr


# --------------------------------------------------------------------------
# Import cost
# --------------------------------------------------------------------------


def test_import_does_not_load_scipy_optimize_or_matplotlib(tmp_path):
    # scipy.optimize alone took 0.5 s of a 0.64 s import; only the L-BFGS
    # solver needs it, and only the plotting in fastnn.train needs matplotlib.
    code = (
        "import sys, fastnn, fastnn.train\n"
        "print(sorted(m for m in ('scipy.optimize', 'matplotlib') if m in sys.modules))"
    )
    status, out, err = run_python(["-c", code], cwd=tmp_path)
    assert status == 0, err
    assert out.strip() == "[]"


def test_lbfgs_still_works_after_the_lazy_import(tmp_path):
    code = (
        "import sys, numpy as np, fastnn\n"
        "X = np.array([[-1.0], [-0.5], [0.5], [1.0]])\n"
        "clf = fastnn.MLPClassifier((), solver='lbfgs').fit(X, [0, 0, 1, 1])\n"
        "print(clf.score(X, [0, 0, 1, 1]), 'scipy.optimize' in sys.modules)"
    )
    status, out, err = run_python(["-c", code], cwd=tmp_path)
    assert status == 0, err
    assert out.split() == ["1.0", "True"]
