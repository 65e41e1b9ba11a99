"""Run the Examples sections of every public docstring as doctests.

The examples are part of the documentation users copy from; running them
here keeps them true.  The installed package is tested, like every other
test in this directory.
"""

import doctest
import importlib

import numpy as np
import pytest

MODULES = [
    "fastnn",
    "fastnn.activations",
    "fastnn.losses",
    "fastnn._config",
    "fastnn.mlp",
    "fastnn.gradcheck",
    "fastnn.classifier",
    "fastnn.datasets",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    with np.printoptions(legacy=False):
        for test in tests:
            runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} docstring example(s) failed in {name}"
    if name in ("fastnn.activations", "fastnn.losses", "fastnn.mlp", "fastnn.gradcheck"):
        assert results.attempted > 0, f"{name} has no docstring examples"
