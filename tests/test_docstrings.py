"""Every public docstring is valid numpydoc, and its Examples run.

The examples are part of the documentation users copy from; running them
here keeps them true.  The installed package is tested, like every other
test in this directory.
"""

import doctest
import importlib
import io
from contextlib import redirect_stdout

import numpy as np
import pytest

MODULES = [
    "fastnn",
    "fastnn.activations",
    "fastnn.losses",
    "fastnn.reductions",
    "fastnn.fused_linear",
    "fastnn._config",
    "fastnn.mlp",
    "fastnn.gradcheck",
    "fastnn.output_layers",
    "fastnn.estimators.classifier",
    "fastnn.estimators.regressor",
    "fastnn.datasets",
    "fastnn.train",
    "fastnn.dask",
    "fastnn.dask._chunked",
    "fastnn.dask._classifier",
    "fastnn.dask._regressor",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    if name.startswith("fastnn.dask"):
        pytest.importorskip("dask.array", reason="dask is an optional extra")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    with np.printoptions(legacy=False):
        for test in tests:
            runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} docstring example(s) failed in {name}"
    if name in ("fastnn.activations", "fastnn.losses", "fastnn.reductions", "fastnn.fused_linear",
                "fastnn.mlp", "fastnn.gradcheck", "fastnn.train", "fastnn.dask._chunked",
                "fastnn.estimators.classifier", "fastnn.estimators.regressor",
                "fastnn.dask._classifier", "fastnn.dask._regressor"):
        assert results.attempted > 0, f"{name} has no docstring examples"


# numpydoc checks the project does not require, and why:
# - ES01 (extended summary): the one-line summary, the parameter
#   descriptions and the Notes section already say what an extended summary
#   would; requiring one invites a paragraph that repeats them.
# - SA01 (See Also): related functions are named where they matter, inline
#   (":func:`softmax`"); a See Also section on every object would list the
#   same few functions everywhere.
# Parameter, return-value and example checks are all enforced.
_IGNORED_CHECKS = {"ES01", "SA01"}

# Public objects whose docstrings another change is rewriting.  Each is an
# expected failure until then, with strict xfail: once its docstring is
# valid the test fails as XPASS, and the name must be removed from here.
_BEING_REWRITTEN: set = set()


def test_numpydoc_validation(public_name, request):
    validate = pytest.importorskip(
        "numpydoc.validate", reason="numpydoc is not installed (it is in the test extra)"
    ).validate
    if public_name in _BEING_REWRITTEN:
        request.applymarker(
            pytest.mark.xfail(reason="docstring being rewritten elsewhere", strict=True)
        )
    # numpydoc prints warnings about the objects it inspects; keep them out of
    # pytest's output, the errors below say everything.
    with redirect_stdout(io.StringIO()):
        result = validate(public_name)
    errors = [
        f"{code}: {message}" for code, message in result["errors"] if code not in _IGNORED_CHECKS
    ]
    assert not errors, f"{public_name}:\n" + "\n".join(errors)


def test_public_api_list_is_complete(public_names):
    names = set(public_names)
    for expected in (
        "fastnn.softmax",
        "fastnn.softmax_cross_entropy",
        "fastnn.logsumexp",
        "fastnn.linear_cross_entropy",
        "fastnn.set_num_threads",
        "fastnn.MLP",
        "fastnn.MLP.loss_and_grad",
        "fastnn.MLP.input_grad",
        "fastnn.gradcheck",
        "fastnn.GradientCheckError",
        "fastnn.MLPClassifier.fit",
        "fastnn.MLPRegressor.fit",
        "fastnn.MLPRegressor.predict",
        "fastnn.datasets.make_spirals",
        "fastnn.train.main",
    ):
        assert expected in names
    assert _BEING_REWRITTEN <= names, "a name in _BEING_REWRITTEN is no longer public"


def test_help_shows_each_parameter_as_written(public_names):
    # Postponed annotations keep help() and inspect.signature readable: an
    # evaluated ArrayLike alone prints as a Union of several hundred characters.
    import inspect
    import pydoc

    checked, too_long = 0, []
    for name in public_names:
        obj = pydoc.locate(name)
        if obj is None or not callable(obj):
            continue
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):  # builtins without a signature
            continue
        checked += 1
        too_long += [f"{name}: {p}" for p in signature.parameters.values() if len(str(p)) > 120]
        if "_array_like" in str(signature) or "_Buffer" in str(signature):
            too_long.append(f"{name}: {signature}")
    assert checked >= 40, f"only {checked} signatures found: the scan is broken"
    assert not too_long, "\n".join(too_long)
