"""fastnn imports and trains with scikit-learn unavailable.

A fresh interpreter blocks every ``sklearn`` import (``sys.modules["sklearn"]
= None`` makes ``import sklearn`` raise ImportError), then exercises the
classifier and the regressor through the NumPy-only stand-ins of
``fastnn.estimators._compat``.  This
runs whether or not scikit-learn is installed.
"""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import pickle
    import sys
    import warnings

    sys.modules["sklearn"] = None  # `import sklearn` now raises ImportError
    warnings.simplefilter("error")

    import numpy as np
    import scipy.sparse

    import fastnn
    from fastnn import MLPClassifier
    from fastnn.classifier import ConvergenceWarning, NotFittedError
    from fastnn.estimators import _base, _compat
    from fastnn.datasets import load_digits

    assert not _compat.SKLEARN_INSTALLED
    assert not any(name.startswith("sklearn.") for name in sys.modules)
    assert MLPClassifier.__mro__[1:] == (
        _compat.ClassifierMixin, _base.BaseMultilayerPerceptron, _compat.BaseEstimator, object
    )
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert issubclass(ConvergenceWarning, UserWarning)

    X, y = load_digits()
    X = X / 16
    clf = MLPClassifier((30,), solver="lbfgs", max_iter=200, tol=1e-3, random_state=0)
    assert clf.fit(X[:1200], y[:1200]) is clf
    assert clf.score(X[1200:], y[1200:]) > 0.9, clf.score(X[1200:], y[1200:])
    assert clf.predict_proba(X[:3]).shape == (3, 10)
    assert repr(clf).startswith("MLPClassifier(hidden_layer_sizes=(30,)")
    copy = type(clf)(**clf.get_params())
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "coefs_")
    restored = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(restored.predict(X), clf.predict(X))
    try:
        clf.set_params(l2=1.0)
    except ValueError as error:
        assert "Invalid parameter 'l2'" in str(error)
    else:
        raise AssertionError("set_params accepted an unknown name")

    # Binary string labels: one logistic unit; early stopping with the
    # stand-in stratified split; float32 kept.
    labels = np.where(y < 5, "low", "high")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((20,), early_stopping=True, max_iter=30, learning_rate_init=1e-2,
                            random_state=0).fit(X.astype(np.float32), labels)
    assert clf.n_outputs_ == 1 and clf.coefs_[0].dtype == np.float32
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.score(X, labels) > 0.9
    assert set(clf.predict(X[:20])) <= {"low", "high"}

    # Multilabel, sparse X, class weights, partial_fit.
    Y = np.column_stack([y % 2, y > 4]).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((20,), max_iter=20, random_state=0).fit(scipy.sparse.csr_matrix(X), Y)
    assert clf.out_activation_ == "logistic" and clf.predict(X).shape == (len(y), 2)
    clf = MLPClassifier((10,), solver="lbfgs", max_iter=50, class_weight="balanced", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    clf = MLPClassifier((10,), random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    clf.partial_fit(X[100:200], y[100:200])
    assert clf.t_ == 200

    # Errors name what is wrong.
    try:
        MLPClassifier().predict(X)
    except NotFittedError as error:
        assert "not fitted" in str(error)
    for bad_y, message in [
        (np.array([1, "a"] * 60, dtype=object), "y mixes labels of different types"),
        (np.linspace(0, 1, 120), "Unknown label type"),
    ]:
        try:
            MLPClassifier(max_iter=2).fit(X[:120], bad_y)
        except ValueError as error:
            assert str(error).startswith(message), error
        else:
            raise AssertionError("bad labels accepted")
    X_nan = X[:50].copy()
    X_nan[3, 3] = np.nan
    try:
        MLPClassifier().fit(X_nan, y[:50])
    except ValueError as error:
        assert "Input X contains NaN" in str(error)
    else:
        raise AssertionError("NaN accepted")
    print("OK without scikit-learn")
    """
)

PANDAS_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["sklearn"] = None
    import numpy as np
    import pandas as pd
    from fastnn import MLPClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (frame["a"] > 0).to_numpy()
    clf = MLPClassifier((5,), solver="lbfgs", max_iter=500, random_state=0).fit(frame, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c"]
    clf.predict(frame)
    try:
        clf.predict(frame[["c", "b", "a"]])
    except ValueError as error:
        assert "feature names should match" in str(error)
    else:
        raise AssertionError("reordered columns accepted")
    print("OK pandas")
    """
)


def _run(script):
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)


def test_imports_and_trains_without_scikit_learn():
    result = _run(SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("OK without scikit-learn")


def test_dataframe_feature_names_without_scikit_learn():
    import pytest

    pytest.importorskip("pandas")
    result = _run(PANDAS_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert "OK pandas" in result.stdout


REGRESSOR_SCRIPT = textwrap.dedent(
    """
    import pickle
    import sys
    import warnings

    sys.modules["sklearn"] = None
    warnings.simplefilter("error")

    import numpy as np

    from fastnn import MLPRegressor
    from fastnn.estimators import _base, _compat
    from fastnn.estimators._scores import r2_score

    assert MLPRegressor.__mro__[1:] == (
        _compat.RegressorMixin, _base.BaseMultilayerPerceptron, _compat.BaseEstimator, object
    )
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    reg = MLPRegressor(hidden_layer_sizes=(30,), activation="tanh", solver="lbfgs",
                       max_iter=300, random_state=0).fit(X[:240], y[:240])
    score = reg.score(X[240:], y[240:])
    assert score > 0.9, score
    # The stand-in's R² is the textbook formula.
    residual = y[240:] - reg.predict(X[240:])
    expected = 1 - np.sum(residual**2) / np.sum((y[240:] - y[240:].mean()) ** 2)
    assert abs(score - expected) < 1e-12, (score, expected)
    weights = rng.uniform(0.5, 2.0, size=60)
    mean = np.average(y[240:], weights=weights)
    expected = 1 - np.sum(weights * residual**2) / np.sum(weights * (y[240:] - mean) ** 2)
    assert abs(reg.score(X[240:], y[240:], sample_weight=weights) - expected) < 1e-12
    assert abs(r2_score(y[240:], reg.predict(X[240:])) - score) < 1e-15
    multi = MLPRegressor(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=50,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _compat.ConvergenceWarning)
        multi.fit(X, np.c_[y, -y])
    assert multi.predict(X).shape == (300, 2)
    poisson = MLPRegressor("poisson", hidden_layer_sizes=(), solver="lbfgs", max_iter=200)
    counts = rng.poisson(np.exp(X[:, 0] + 1))
    assert np.all(poisson.fit(X, counts).predict(X) > 0)
    try:
        MLPRegressor("poisson").fit(X, -counts - 1.0)
    except ValueError as error:
        assert "non-negative" in str(error)
    else:
        raise AssertionError("negative Poisson targets accepted")
    copy = pickle.loads(pickle.dumps(reg))
    assert np.array_equal(copy.predict(X), reg.predict(X))
    print("OK regressor without scikit-learn")
    """
)


def test_regressor_trains_without_scikit_learn():
    result = _run(REGRESSOR_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("OK regressor without scikit-learn")


FEATURE_NAME_WARNING_SCRIPT = textwrap.dedent(
    """
    import sys
    import warnings

    sys.modules["sklearn"] = None
    import numpy as np
    import pandas as pd
    from fastnn import MLPRegressor

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 2)), columns=["a", "b"])
    reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(frame, frame["a"].to_numpy())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1  # the next line: where the warning must point
        values = reg.predict(frame.to_numpy())
    assert [str(w.message) for w in caught] == [
        "X does not have valid feature names, but MLPRegressor was fitted with feature names"
    ], caught
    assert caught[0].filename == "<string>" and caught[0].lineno == line, caught[0]
    assert np.array_equal(values, reg.predict(frame))
    plain = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain.fit(frame.to_numpy(), frame["a"].to_numpy())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain.predict(frame)
    assert [str(w.message) for w in caught] == [
        "X has feature names, but MLPRegressor was fitted without feature names"
    ], caught
    print("OK names")
    """
)


def test_feature_names_on_one_side_warn_as_in_scikit_learn():
    import pytest

    pytest.importorskip("pandas")
    result = _run(FEATURE_NAME_WARNING_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("OK names")
