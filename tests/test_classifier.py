"""fastnn.MLPClassifier: accuracy on real digits, estimator conventions, solvers, errors."""

import numpy as np
import pytest

import fastnn
from fastnn import MLPClassifier
from fastnn.classifier import ConvergenceWarning, NotFittedError
from fastnn.datasets import load_digits, make_spirals


@pytest.fixture(scope="module")
def digits_split():
    """The 8x8 digits, pixels scaled to [0, 1], split 75/25 with a fixed seed."""
    X, y = load_digits()
    X = X / 16.0
    order = np.random.default_rng(0).permutation(len(y))
    n_train = int(0.75 * len(y))
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


@pytest.fixture(scope="module")
def spirals():
    return make_spirals(n_samples=300, n_classes=3, noise=0.1, seed=0)


# --------------------------------------------------------------------------
# Accuracy on a real task
# --------------------------------------------------------------------------

SOLVER_SETTINGS = {
    "adam": dict(solver="adam", learning_rate=1e-2),
    "sgd-momentum": dict(solver="sgd", learning_rate=0.2, tol=1e-3),
    "lbfgs": dict(solver="lbfgs"),
}


@pytest.mark.parametrize("settings", list(SOLVER_SETTINGS.values()), ids=list(SOLVER_SETTINGS))
def test_digits_held_out_accuracy_at_least_95_percent(digits_split, settings):
    X_train, y_train, X_test, y_test = digits_split
    clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=0, **settings)
    clf.fit(X_train, y_train)  # would raise on a ConvergenceWarning (filterwarnings=error)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.n_iter_ == len(clf.loss_curve_)


def test_float32_input_trains_in_float32(digits_split):
    X_train, y_train, X_test, y_test = digits_split
    clf = MLPClassifier(learning_rate=1e-2, random_state=0)
    clf.fit(X_train.astype(np.float32), y_train)
    assert clf.params_.dtype == np.float32
    assert clf.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    assert clf.score(X_test, y_test) >= 0.95


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_other_activations_learn_spirals(spirals, activation):
    # Spirals are not linearly separable: a high score needs the hidden layer.
    X, y = spirals
    clf = MLPClassifier((50,), activation=activation, solver="lbfgs", max_epochs=2000, random_state=0)
    assert clf.fit(X, y).score(X, y) >= 0.95
    linear = MLPClassifier((), solver="lbfgs", random_state=0).fit(X, y)
    assert linear.score(X, y) < 0.7


# --------------------------------------------------------------------------
# Estimator conventions
# --------------------------------------------------------------------------


def test_fit_returns_self_and_sets_fitted_attributes(spirals):
    X, y = spirals
    clf = MLPClassifier((10,), solver="lbfgs", max_epochs=300, random_state=0)
    assert clf.fit(X, y) is clf
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_features_in_ == 2
    assert clf.params_.shape == (fastnn.num_params((2, 10, 3)),)
    assert [W.shape for W in clf.coefs_] == [(2, 10), (10, 3)]
    assert [b.shape for b in clf.intercepts_] == [(10,), (3,)]
    assert all(np.shares_memory(W, clf.params_) for W in clf.coefs_)


def test_string_labels_round_trip(spirals):
    X, y = spirals
    names = np.array(["zebra", "ant", "moose"])
    clf = MLPClassifier((30,), activation="tanh", solver="lbfgs", max_epochs=500, random_state=0)
    clf.fit(X, list(names[y]))
    np.testing.assert_array_equal(clf.classes_, ["ant", "moose", "zebra"])
    predicted = clf.predict(X)
    assert predicted.dtype.kind == "U"
    assert np.mean(predicted == names[y]) >= 0.95
    assert clf.score(X, names[y]) == np.mean(predicted == names[y])
    # Column j of predict_proba belongs to classes_[j].
    probabilities = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.classes_[probabilities.argmax(axis=1)], predicted)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)


def test_get_params_set_params_and_clone():
    clf = MLPClassifier(hidden_layer_sizes=(7, 5), solver="sgd", momentum=0.5)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (7, 5)
    assert params["solver"] == "sgd" and params["momentum"] == 0.5
    assert set(params) >= {
        "hidden_layer_sizes", "activation", "solver", "learning_rate", "batch_size",
        "max_epochs", "l2", "tol", "n_iter_no_change", "random_state", "verbose",
    }
    clone = MLPClassifier(**params)
    assert clone.get_params() == params
    assert clf.set_params(l2=0.5, max_epochs=3) is clf
    assert clf.l2 == 0.5 and clf.max_epochs == 3
    with pytest.raises(ValueError, match="invalid parameter 'alpha'"):
        clf.set_params(alpha=1.0)
    assert repr(MLPClassifier(solver="sgd")) == "MLPClassifier(solver='sgd')"


def test_random_state_makes_training_reproducible(spirals):
    X, y = spirals
    a = MLPClassifier((20,), learning_rate=1e-2, max_epochs=30, tol=0.0, n_iter_no_change=100, random_state=5)
    b = MLPClassifier(**a.get_params())
    with pytest.warns(ConvergenceWarning):
        a.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        b.fit(X, y)
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.params_, b.params_)


# --------------------------------------------------------------------------
# Solvers, stopping and progress output
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_loss_curve_decreases(digits_split, solver):
    X_train, y_train, _, _ = digits_split
    clf = MLPClassifier((30,), solver=solver, learning_rate=0.1 if solver == "sgd" else 1e-2,
                        max_epochs=15, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train, y_train)
    assert len(clf.loss_curve_) == clf.n_iter_ == 15
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]


def test_sgd_momentum_speeds_up_training(digits_split):
    X_train, y_train, _, _ = digits_split
    final = {}
    for momentum in (0.0, 0.9):
        clf = MLPClassifier((30,), solver="sgd", learning_rate=0.05, momentum=momentum,
                            max_epochs=10, tol=0.0, random_state=0)
        with pytest.warns(ConvergenceWarning):
            clf.fit(X_train, y_train)
        final[momentum] = clf.loss_curve_[-1]
    assert final[0.9] < final[0.0]


def test_lbfgs_minimises_the_full_batch_objective(spirals):
    X, y = spirals
    clf = MLPClassifier((10,), solver="lbfgs", l2=1e-3, max_epochs=1000, tol=1e-6, random_state=0)
    clf.fit(X, y)
    loss, grad = clf.mlp_.loss_and_grad(clf.params_, X, y, l2=1e-3)
    np.testing.assert_allclose(clf.loss_curve_[-1], loss, rtol=1e-12)
    initial = clf.mlp_.init_params(seed=np.random.default_rng(0))
    _, initial_grad = clf.mlp_.loss_and_grad(initial, X, y, l2=1e-3)
    # Near a minimum: the gradient shrank by orders of magnitude.
    assert np.linalg.norm(grad) < 1e-3 * np.linalg.norm(initial_grad)


def test_stops_when_loss_stops_improving(spirals):
    X, y = spirals
    tol, patience = 1e-2, 3
    clf = MLPClassifier((5,), learning_rate=1e-2, max_epochs=10_000, tol=tol,
                        n_iter_no_change=patience, random_state=0)
    clf.fit(X, y)
    curve = clf.loss_curve_
    assert patience < clf.n_iter_ < 10_000
    # Each of the last `patience` epochs failed to beat the best loss before it by tol.
    for i in range(len(curve) - patience, len(curve)):
        assert curve[i] > min(curve[:i]) - tol


def test_max_epochs_reached_warns(spirals):
    X, y = spirals
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        MLPClassifier((5,), max_epochs=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="L-BFGS"):
        MLPClassifier((5,), solver="lbfgs", max_epochs=2, random_state=0).fit(X, y)


def test_early_stopping_keeps_best_validation_epoch(digits_split, capsys):
    X_train, y_train, X_test, y_test = digits_split
    clf = MLPClassifier(learning_rate=1e-2, early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=5, random_state=0, verbose=True)
    clf.fit(X_train, y_train)
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    lines = capsys.readouterr().out.splitlines()
    epoch_lines = [line for line in lines if line.startswith("Epoch")]
    assert len(epoch_lines) == clf.n_iter_
    assert "validation accuracy" in epoch_lines[0]
    assert clf.score(X_test, y_test) >= 0.9


def test_verbose_prints_one_line_per_epoch(spirals, capsys):
    X, y = spirals
    with pytest.warns(ConvergenceWarning):
        MLPClassifier((5,), max_epochs=4, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("Epoch    1: loss ")
    MLPClassifier((5,), max_epochs=4, random_state=0, tol=1e9, n_iter_no_change=1).fit(X, y)
    assert capsys.readouterr().out == ""


def test_divergence_raises_a_clear_error(spirals):
    X, y = spirals
    with pytest.raises(ValueError, match="diverged"):
        MLPClassifier((5,), activation="relu", solver="sgd", learning_rate=1e12, random_state=0).fit(X * 1e3, y)


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------

X_OK = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
Y_OK = np.array([0, 1, 1, 0])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (X_OK[0], Y_OK, "2-D"),
        (np.where(X_OK == 1.0, np.nan, X_OK), Y_OK, "NaN or infinity"),
        (np.where(X_OK == 1.0, np.inf, X_OK), Y_OK, "NaN or infinity"),
        (X_OK.astype(str), Y_OK, "real numbers"),
        (np.empty((0, 2)), Y_OK[:0], "at least one sample"),
        (X_OK, Y_OK[:3], "4 samples but y has 3"),
        (X_OK, Y_OK[:, None], "column vector"),
        (X_OK, np.zeros(4), "at least 2 distinct classes"),
    ],
    ids=["X-1-D", "X-nan", "X-inf", "X-strings", "X-empty", "y-length", "y-column", "y-one-class"],
)
def test_fit_rejects_bad_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier().fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"solver": "newton"}, "solver"),
        ({"activation": "softplus"}, "activation"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"l2": -1.0}, "l2"),
        ({"tol": -1.0}, "tol"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"momentum": 1.0}, "momentum"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": "ten"}, "hidden_layer_sizes"),
    ],
    ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else "",
)
def test_fit_rejects_bad_hyperparameters(params, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X_OK, Y_OK)


def test_int_hidden_layer_size_is_accepted():
    clf = MLPClassifier(hidden_layer_sizes=4, solver="lbfgs", random_state=0).fit(X_OK, Y_OK)
    assert clf.mlp_.layer_sizes == (2, 4, 2)


def test_predict_before_fit_and_wrong_width():
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPClassifier().predict(X_OK)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    clf = MLPClassifier((3,), solver="lbfgs", random_state=0).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="3 features, but the classifier was fitted with 2"):
        clf.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        clf.score(X_OK, Y_OK[:2])


def test_batch_size_larger_than_data_is_clipped():
    with pytest.warns(ConvergenceWarning):
        clf = MLPClassifier((3,), batch_size=1000, max_epochs=3, random_state=0).fit(X_OK, Y_OK)
    assert clf.n_iter_ == 3


def test_training_data_is_not_modified(spirals):
    X, y = spirals
    X_copy, y_copy = X.copy(), y.copy()
    MLPClassifier((5,), solver="lbfgs", max_epochs=400, random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
