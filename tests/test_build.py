"""The kernels build without a single compiler or setuptools warning.

A warning in the build is either a real defect (a value that may be used
uninitialised) or noise that hides the next real one; either way a newcomer
reads it as a failure.  The build runs in a copy of the sources, so the
clone is left as it was.  Skipped outside a clone, or without Cython.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(REPO, "setup.py")),
    reason="the tests are not inside a clone of the repository",
)

_WARNING = re.compile(r"warning\b|Warning:", re.IGNORECASE)


def test_kernels_build_without_warnings(tmp_path):
    pytest.importorskip("Cython", reason="Cython is needed to build the kernels")
    source = tmp_path / "source"
    shutil.copytree(
        os.path.join(REPO, "fastnn"), source / "fastnn",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "_kernels_*.c"),
    )
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(REPO, name), source / name)
    result = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "-b", str(tmp_path / "lib"),
         "-t", str(tmp_path / "tmp")],
        cwd=source, capture_output=True, text=True, timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = [line for line in output.splitlines() if _WARNING.search(line)]
    assert not warnings, f"{len(warnings)} warning lines, the first:\n" + "\n".join(warnings[:10])
    built = os.listdir(tmp_path / "lib" / "fastnn")
    assert any(name.startswith("_kernels_baseline") for name in built), built
