"""ONNX export: ``skl2onnx.to_onnx`` converts fitted MLPClassifier and MLPRegressor models,
and onnxruntime predicts what fastnn predicts.

Skipped when skl2onnx or onnxruntime (in the test extra; the ``onnx`` extra
for users) is not installed.  The import orders run in fresh interpreters:
in this one, whichever test module imports fastnn's estimators first decides
the order.
"""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

skl2onnx = pytest.importorskip("skl2onnx")
onnxruntime = pytest.importorskip("onnxruntime")

import fastnn  # noqa: E402
from fastnn import MLPClassifier, MLPRegressor  # noqa: E402
from fastnn.estimators import _onnx  # noqa: E402
from fastnn.estimators.classifier import ConvergenceWarning  # noqa: E402

N_SAMPLES, N_FEATURES = 60, 4


def features(seed=0):
    return np.random.default_rng(seed).normal(size=(N_SAMPLES, N_FEATURES))


def fit(model, X, y):
    # A few L-BFGS iterations give a network far enough from its start to
    # test the export; convergence is not this file's subject.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def run_onnx(model, X, options=None):
    """Convert ``model`` for inputs like ``X``; return onnxruntime's outputs on ``X``."""
    onx = skl2onnx.to_onnx(model, X, options=options)
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    outputs = session.run(None, {session.get_inputs()[0].name: X})
    # The graph declares the shapes it computes (onnxruntime would only log a
    # warning, and report the shapes it inferred); dim_value 0 is an open size.
    for declared, value in zip(onx.graph.output, outputs):
        if declared.type.HasField("tensor_type"):
            sizes = [dim.dim_value for dim in declared.type.tensor_type.shape.dim]
            assert len(sizes) == value.ndim, (declared, value.shape)
            assert all(size in (0, actual) for size, actual in zip(sizes, value.shape)), declared
    return outputs


def assert_same_labels(onnx_labels, labels, probabilities, multilabel):
    """Labels equal, except where a probability is within rounding of a tie (such a
    label may round either way between precisions); most must be clear."""
    if multilabel:
        clear = np.abs(probabilities - 0.5) > 1e-5
    else:
        top_two = np.sort(probabilities, axis=1)[:, -2:]
        clear = top_two[:, 1] - top_two[:, 0] > 1e-5
    assert clear.mean() > 0.9
    assert onnx_labels.shape == labels.shape
    assert np.array_equal(onnx_labels[clear], labels[clear])


# id: (estimator, targets as a function of X); between them every hidden
# activation (fastnn's "sigmoid" alias too), no hidden layer and two of them.
CLASSIFIERS = {
    "binary-int": (
        MLPClassifier((6,), activation="sigmoid", solver="lbfgs", max_iter=20, random_state=0),
        lambda X: (X[:, 0] + X[:, 1] > 0).astype(int),
    ),
    "binary-str": (
        MLPClassifier((6,), activation="logistic", solver="lbfgs", max_iter=20, random_state=0),
        lambda X: np.where(X[:, 0] > 0, "yes", "no"),
    ),
    "multiclass-str": (
        MLPClassifier((6, 5), activation="tanh", solver="lbfgs", max_iter=20, random_state=0),
        lambda X: np.array(["red", "green", "blue"])[np.argmax(X[:, :3], axis=1)],
    ),
    "multiclass-int-no-hidden": (
        MLPClassifier((), solver="lbfgs", max_iter=20, random_state=0),
        lambda X: np.argmax(X, axis=1) * 10,
    ),
    "multilabel-3": (
        MLPClassifier((6,), activation="relu", solver="lbfgs", max_iter=20, random_state=0),
        lambda X: (X[:, :3] > 0).astype(int),
    ),
    # Two labels: skl2onnx's converter for scikit-learn's MLPClassifier takes
    # this for a binary problem (and gives four probability columns).
    "multilabel-2": (
        MLPClassifier((6,), activation="identity", solver="lbfgs", max_iter=20, random_state=0),
        lambda X: (X[:, :2] > 0).astype(int),
    ),
}

REGRESSORS = {
    "single": (
        MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs", max_iter=20,
                     random_state=0),
        lambda X: 3 * X[:, 0] - X[:, 1] ** 2,
    ),
    # skl2onnx's converter for scikit-learn's MLPRegressor flattens these to one column.
    "multi-output": (
        MLPRegressor(hidden_layer_sizes=(6, 5), solver="lbfgs", max_iter=20, random_state=0),
        lambda X: np.column_stack([X[:, 0] + X[:, 1], 2 * X[:, 2], -X[:, 3]]),
    ),
    # The exp output, which skl2onnx's converter for scikit-learn's MLPRegressor refuses.
    "poisson": (
        MLPRegressor("poisson", (6,), activation="sigmoid", solver="lbfgs", max_iter=20,
                     random_state=0),
        lambda X: np.random.default_rng(1).poisson(np.exp(X[:, 0] / 2 + 1)),
    ),
    "poisson-multi-output": (
        MLPRegressor("poisson", (), solver="lbfgs", max_iter=20, random_state=0),
        lambda X: np.random.default_rng(2).poisson(np.exp(X[:, :2] / 2)),
    ),
}


def fitted(cases, case, dtype):
    """A fresh copy of the case's estimator, fitted on ``dtype`` features (its network's dtype)."""
    estimator, targets = cases[case]
    X = features()
    return fit(fresh(estimator), X.astype(dtype), targets(X))


def fresh(estimator):
    return type(estimator)(**estimator.get_params())


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("fit_dtype", [np.float64, np.float32], ids=["fit64", "fit32"])
@pytest.mark.parametrize("case", CLASSIFIERS)
def test_classifier_round_trip(case, fit_dtype):
    clf = fitted(CLASSIFIERS, case, fit_dtype)
    X = features(seed=1).astype(np.float32)
    onnx_labels, onnx_probabilities = run_onnx(clf, X, options={"zipmap": False})
    probabilities = clf.predict_proba(X)
    assert onnx_probabilities.shape == probabilities.shape
    np.testing.assert_allclose(onnx_probabilities, probabilities, rtol=0, atol=1e-5)
    assert_same_labels(onnx_labels, clf.predict(X), probabilities,
                       multilabel=case.startswith("multilabel"))


@pytest.mark.parametrize("fit_dtype", [np.float64, np.float32], ids=["fit64", "fit32"])
@pytest.mark.parametrize("case", REGRESSORS)
def test_regressor_round_trip(case, fit_dtype):
    reg = fitted(REGRESSORS, case, fit_dtype)
    X = features(seed=1).astype(np.float32)
    (predicted,) = run_onnx(reg, X)
    assert predicted.shape == (N_SAMPLES, reg.n_outputs_)
    np.testing.assert_allclose(predicted, reg.predict(X).reshape(N_SAMPLES, -1),
                               rtol=1e-5, atol=1e-5)
    if reg.out_activation_ == "exp":
        assert np.all(predicted > 0)


@pytest.mark.parametrize("case", [*CLASSIFIERS, *REGRESSORS])
def test_float64_graph_matches_a_float64_network_to_rounding(case):
    # A float64 X gives a double graph: agreement far beyond float32's 1e-7.
    cases = CLASSIFIERS if case in CLASSIFIERS else REGRESSORS
    model = fitted(cases, case, np.float64)
    X = features(seed=1)
    if case in CLASSIFIERS:
        onnx_labels, onnx_output = run_onnx(model, X, options={"zipmap": False})
        output = model.predict_proba(X)
        assert np.array_equal(onnx_labels, model.predict(X))
    else:
        (onnx_output,) = run_onnx(model, X)
        output = model.predict(X).reshape(N_SAMPLES, -1)
    assert onnx_output.dtype == np.float64
    np.testing.assert_allclose(onnx_output, output, rtol=1e-10, atol=1e-12)


def test_zipmap_output_is_predict_proba_by_class():
    clf = fitted(CLASSIFIERS, "multiclass-str", np.float64)
    X = features(seed=1).astype(np.float32)
    labels, rows = run_onnx(clf, X)  # skl2onnx's default: a list of {class: probability}
    assert [sorted(row) for row in rows] == [sorted(clf.classes_)] * N_SAMPLES
    by_class = np.array([[row[c] for c in clf.classes_] for row in rows])
    np.testing.assert_allclose(by_class, clf.predict_proba(X), rtol=0, atol=1e-5)


def test_converts_inside_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = features() * 10 + 3
    estimator, targets = REGRESSORS["poisson"]
    pipeline = fit(make_pipeline(StandardScaler(), fresh(estimator)), X, targets(X))
    X_new = (features(seed=1) * 10 + 3).astype(np.float32)
    (predicted,) = run_onnx(pipeline, X_new)
    np.testing.assert_allclose(predicted.ravel(), pipeline.predict(X_new), rtol=1e-5)


def test_an_output_layer_without_an_onnx_form_is_refused_by_name():
    reg = fitted(REGRESSORS, "single", np.float64)
    reg.out_activation_ = "softplus"  # an output layer the converter does not know
    with pytest.raises(NotImplementedError, match="out_activation_='softplus'"):
        skl2onnx.to_onnx(reg, features().astype(np.float32))


def test_a_failed_automatic_registration_warns(monkeypatch):
    # Registering inside someone else's `import skl2onnx` must not raise.
    def broken():
        raise AttributeError("no update_registered_converter")

    monkeypatch.setattr(_onnx, "register_onnx_converters", broken)
    with pytest.warns(RuntimeWarning, match="could not register its ONNX converters"):
        _onnx.install_registration()


# --- when the converters are registered ---------------------------------------------------

# The start of every script: fit() a classifier and a Poisson regressor,
# check() that onnxruntime predicts what they predict.
PRELUDE = """
import sys
import warnings

import numpy as np

warnings.simplefilter("error")
X = np.linspace(-2, 2, 40, dtype=np.float32).reshape(-1, 2)


def fit():
    from fastnn import MLPClassifier, MLPRegressor
    from fastnn.estimators.classifier import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((4,), solver="lbfgs", max_iter=30, random_state=0)
        reg = MLPRegressor("poisson", (4,), solver="lbfgs", max_iter=30, random_state=0)
        return clf.fit(X, np.where(X[:, 0] > 0.1, "b", "a")), reg.fit(X, np.arange(20) % 4)


def check(clf, reg):
    import onnxruntime
    from skl2onnx import to_onnx

    for model, options in ((clf, {"zipmap": False}), (reg, None)):
        onx = to_onnx(model, X, options=options)
        session = onnxruntime.InferenceSession(onx.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        outputs = session.run(None, {"X": X})
        if model is clf:
            assert np.array_equal(outputs[0], clf.predict(X))
            assert np.allclose(outputs[1], clf.predict_proba(X), rtol=0, atol=1e-5)
        else:
            assert np.allclose(outputs[0].ravel(), reg.predict(X), rtol=1e-5, atol=1e-5)
"""

SCRIPTS = {
    "skl2onnx-then-fastnn": """
        import skl2onnx
        check(*fit())
    """,
    "fastnn-then-skl2onnx": """
        models = fit()
        # fastnn alone never imports skl2onnx or onnx (they take seconds).
        assert not {"skl2onnx", "onnx", "onnxruntime"} & set(sys.modules)
        import skl2onnx
        check(*models)
        # The import hook has removed itself and left skl2onnx as imported.
        from fastnn.estimators import _onnx
        assert not any(isinstance(f, _onnx._RegisterAfterImport) for f in sys.meta_path)
        assert not isinstance(skl2onnx.__loader__, _onnx._RegisteringLoader)
        assert skl2onnx.__spec__.loader is skl2onnx.__loader__
    """,
    "explicit-registration": """
        from fastnn.estimators import _onnx, register_onnx_converters
        models = fit()
        # As if an import hook manager had reset sys.meta_path.
        sys.meta_path[:] = [
            f for f in sys.meta_path if not isinstance(f, _onnx._RegisterAfterImport)
        ]
        import skl2onnx
        try:
            skl2onnx.to_onnx(models[0], X)
        except RuntimeError as error:
            assert "MLPClassifier" in str(error), error
        else:
            raise AssertionError("converted without registered converters")
        register_onnx_converters()
        register_onnx_converters()  # again: harmless
        check(*models)
    """,
}


@pytest.mark.parametrize("order", SCRIPTS)
def test_import_orders_in_a_fresh_interpreter(order):
    script = PRELUDE + textwrap.dedent(SCRIPTS[order]) + "print('converted')\n"
    # The fastnn under test, wherever the child would otherwise look.
    parent = os.path.dirname(os.path.dirname(os.path.realpath(fastnn.__file__)))
    path = os.pathsep.join(p for p in (parent, os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=path), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["converted"]
