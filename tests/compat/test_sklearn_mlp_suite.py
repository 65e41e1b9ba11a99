"""scikit-learn's own MLP tests, run against fastnn's estimators.

The module loads ``sklearn/neural_network/tests/test_mlp.py`` from the
installed scikit-learn, changes its one import of the estimators so that
``MLPClassifier`` and ``MLPRegressor`` are fastnn's, and runs every test in
it unchanged.  The few tests that cannot apply to fastnn are skipped below,
each with its reason.  Skips cleanly without scikit-learn, or with a
scikit-learn installed without its tests.
"""

import importlib.util
import pathlib

import pytest

pytest.importorskip("sklearn")
_spec = importlib.util.find_spec("sklearn.neural_network.tests.test_mlp")
if _spec is None or _spec.origin is None:
    pytest.skip("this scikit-learn was installed without its tests", allow_module_level=True)

_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
_source = pathlib.Path(_spec.origin).read_text()
if _source.count(_IMPORT) != 1:
    pytest.skip(f"this scikit-learn's test_mlp.py no longer has the line {_IMPORT!r}",
                allow_module_level=True)
exec(compile(_source.replace(_IMPORT, "from fastnn import MLPClassifier, MLPRegressor"),
             _spec.origin, "exec"))


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture (from its conftest), at its default seed."""
    return 42


#: The tests that cannot apply to fastnn, and why.
EXCLUDED = {
    "test_fit": (
        "sets scikit-learn's private attributes (_coef_grads, _intercept_grads, the activation "
        "and delta lists) and calls its private _forward_pass; fastnn's network keeps no such "
        "lists (its equivalent steps are checked against scikit-learn in test_regressor.py and "
        "test_classifier.py)"
    ),
    "test_gradient": (
        "calls scikit-learn's private _loss_grad_lbfgs with its activation and delta lists; "
        "fastnn's gradients are checked with scipy.optimize.check_grad in test_mlp.py"
    ),
}
#: The tests that meet a difference from scikit-learn that the README documents.
DOCUMENTED_DIFFERENCES = {
    "test_early_stopping_stratified": (
        "fastnn stratifies the early-stopping split of every single-label problem and falls "
        "back to a random split when a class has one sample, where scikit-learn raises"
    ),
}
for _name, _reason in {**EXCLUDED, **DOCUMENTED_DIFFERENCES}.items():
    globals()[_name] = pytest.mark.skip(reason=_reason)(globals()[_name])

_preserve_feature_names = test_preserve_feature_names  # noqa: F821 (defined by the exec)


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])  # noqa: F821
def test_preserve_feature_names(Estimator):
    if Estimator is MLPClassifier:  # noqa: F821
        pytest.skip(
            "fits a classifier on y with a single class, which fastnn refuses with a "
            "ValueError (a documented difference)"
        )
    _preserve_feature_names(Estimator)
