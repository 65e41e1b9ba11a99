"""Importing fastnn: what it costs, and what happens in a source folder without compiled kernels."""

import os
import shutil
import site
import subprocess
import sys

import pytest

import fastnn
from fastnn._locate import find_kernels

# The folder of the fastnn under test, compiled kernels included: the
# "installed build" that a source folder without kernels may borrow from.
BUILD = os.path.dirname(os.path.realpath(fastnn.__file__))


def run_python(args, cwd, **env):
    """Run a fresh interpreter in ``cwd``; return (exit status, stdout, stderr)."""
    environment = dict(os.environ, **env)
    # Make the fastnn under test findable in the child wherever it lives (an
    # in-place build found through PYTHONPATH, or site-packages).
    parent = os.path.dirname(BUILD)
    if parent not in site.getsitepackages():
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (parent, environment.get("PYTHONPATH")) if p
        )
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
        "import sys, fastnn\n"
        "print(sorted(m for m in ('scipy.optimize', 'matplotlib') if m in sys.modules))\n"
        "import fastnn.train\n"
        "print('matplotlib' in sys.modules)"
    )
    status, out, err = run_python(["-c", code], cwd=tmp_path)
    assert status == 0, err
    # fastnn.train builds an MLPClassifier, which is a scikit-learn estimator
    # (and so imports scikit-learn, and with it scipy.optimize) when
    # scikit-learn is installed; it still loads matplotlib only to plot.
    assert out.split("\n")[:2] == ["[]", "False"]


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


# --------------------------------------------------------------------------
# A source folder without compiled kernels (a fresh clone's root)
# --------------------------------------------------------------------------


def _is_compiled(name):
    return name.endswith((".so", ".pyd", ".c")) or name == "__pycache__"


@pytest.fixture
def clone(tmp_path):
    """A repository root whose fastnn/ is the package under test minus its compiled modules."""
    root = tmp_path / "clone"
    shutil.copytree(BUILD, root / "fastnn", ignore=lambda _, names: [n for n in names if _is_compiled(n)])
    assert not [n for n in os.listdir(root / "fastnn") if n.startswith("_kernels_") and n.endswith(".so")]
    return root


def test_import_from_a_source_folder_borrows_an_identical_build(clone):
    code = (
        "import numpy as np, fastnn\n"
        "print(fastnn.__file__)\n"
        "print(fastnn._dispatch.kernels.__file__)\n"
        "print(fastnn.softmax(np.zeros(4)).tolist())\n"
        "fastnn.show_config()"
    )
    status, out, err = run_python(["-c", code], cwd=clone)
    assert status == 0, err
    package_file, kernels_file, result, *config = out.splitlines()
    # show_config says where the kernels come from.
    borrowed = [line.split(":", 1)[1].strip() for line in config if "compiled kernels:" in line]
    assert [os.path.realpath(path) for path in borrowed] == [BUILD]
    # The Python modules come from the source folder, the kernels from the build.
    assert os.path.realpath(package_file) == os.path.realpath(clone / "fastnn" / "__init__.py")
    assert os.path.dirname(os.path.realpath(kernels_file)) == BUILD
    assert result == "[0.25, 0.25, 0.25, 0.25]"


def test_train_module_runs_from_a_source_folder(clone):
    status, out, err = run_python(["-m", "fastnn.train", "--help"], cwd=clone)
    assert status == 0, err
    assert out.startswith("usage: python -m fastnn.train")


def test_source_folder_with_edited_kernels_gets_a_clear_error(clone):
    # An edited kernel must not run with a build of the old one.
    with open(clone / "fastnn" / "_kernels.pxi", "a") as f:
        f.write("\n# edited\n")
    status, out, err = run_python(["-c", "import fastnn"], cwd=clone)
    assert status != 0
    assert "circular import" not in err
    assert f"fastnn is being imported from its source folder {os.path.realpath(clone / 'fastnn')}" in err
    assert "python -m pip install -e ." in err and "python setup.py build_ext --inplace" in err
    assert f"An installed fastnn at {BUILD} was not used" in err
    assert "different kernel sources (_kernels.pxi)" in err
    # Here an installed fastnn exists: running elsewhere would use it, and the message says so.
    assert "run Python from another directory to use it as it is" in err
    assert "not installed in this Python environment" not in err


def test_no_build_anywhere_says_what_to_do(clone):
    with pytest.raises(ImportError) as info:
        find_kernels([str(clone / "fastnn")], search_path=[])
    message = str(info.value)
    assert "has no compiled kernels" in message
    # Running elsewhere cannot help when nothing is installed: the message must not say so.
    assert "another directory" not in message and "hides" not in message
    assert "fastnn is not installed in this Python environment either" in message
    assert "python -m pip install ." in message and "python -m pip install -e ." in message
    assert "An installed fastnn" not in message


@pytest.mark.parametrize(
    "change", ["missing-sources", "extra-source", "edited-header"],
)
def test_a_build_with_other_kernel_sources_is_refused(clone, tmp_path, change):
    # A build folder that is a copy of the package under test, then altered.
    other = tmp_path / "other"
    shutil.copytree(BUILD, other / "fastnn", ignore=lambda _, names: ["__pycache__"])
    if change == "missing-sources":
        for name in os.listdir(other / "fastnn"):
            if name.endswith((".pyx", ".pxi", ".h")):
                os.remove(other / "fastnn" / name)
    elif change == "extra-source":
        (other / "fastnn" / "_extra.h").write_text("/* not in the source folder */\n")
    else:
        with open(other / "fastnn" / "_vecmath.h", "a") as f:
            f.write("\n/* edited */\n")
    path = [str(clone / "fastnn")]
    with pytest.raises(ImportError, match="built from different kernel sources"):
        find_kernels(path, search_path=[str(other)])
    assert path == [str(clone / "fastnn")]


def test_an_identical_build_is_appended_after_the_source_folder(clone, tmp_path):
    path = [str(clone / "fastnn")]
    find_kernels(path, search_path=["/nonexistent", str(clone), os.path.dirname(BUILD)])
    assert path == [str(clone / "fastnn"), BUILD]


def test_a_package_with_kernels_is_left_alone():
    path = [BUILD]
    find_kernels(path, search_path=[])
    assert path == [BUILD]
