"""fastnn.MLPClassifier on its own: accuracy, conventions, solvers, weights, continuation, errors.

Nothing here needs scikit-learn; tests/compat/ checks the classifier inside
scikit-learn's tools and against scikit-learn's own MLPClassifier.
"""

import pickle
import warnings

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


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3, "yes", "no")
    return X, y


@pytest.fixture(scope="module")
def multilabel_data():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 5))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] * X[:, 4] > 0]).astype(int)
    return X, Y


# --------------------------------------------------------------------------
# Accuracy on a real task
# --------------------------------------------------------------------------

SOLVER_SETTINGS = {
    "adam": dict(solver="adam", learning_rate_init=1e-2),
    "sgd-nesterov": dict(solver="sgd", learning_rate_init=0.2, tol=1e-3),
    "lbfgs": dict(solver="lbfgs"),
}


@pytest.mark.parametrize("settings", list(SOLVER_SETTINGS.values()), ids=list(SOLVER_SETTINGS))
def test_digits_held_out_accuracy_at_least_95_percent(digits_split, settings):
    X_train, y_train, X_test, y_test = digits_split
    clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=0, **settings)
    clf.fit(X_train, y_train)  # would raise on a ConvergenceWarning (filterwarnings=error)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.n_iter_ == len(clf.loss_curve_)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_float32_input_trains_in_float32(digits_split, solver):
    X_train, y_train, X_test, y_test = digits_split
    clf = MLPClassifier((30,), solver=solver, learning_rate_init=1e-2, max_iter=40, tol=0,
                        random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train.astype(np.float32), y_train)
    assert clf.params_.dtype == np.float32
    assert all(W.dtype == np.float32 for W in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    assert clf.predict_proba(X_test).dtype == np.float32  # the network keeps its dtype
    assert clf.score(X_test, y_test) >= 0.9


@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_other_activations_learn_spirals(spirals, activation):
    # Spirals are not linearly separable: a high score needs the hidden layer.
    X, y = spirals
    clf = MLPClassifier((50,), activation=activation, solver="lbfgs", max_iter=3000,
                        random_state=0)
    assert clf.fit(X, y).score(X, y) >= 0.95
    linear = MLPClassifier((), activation="identity", solver="lbfgs", random_state=0).fit(X, y)
    assert linear.score(X, y) < 0.7


def test_sigmoid_is_another_name_for_logistic(spirals):
    X, y = spirals
    a = MLPClassifier((10,), activation="sigmoid", solver="lbfgs", max_iter=50, random_state=0)
    b = MLPClassifier((10,), activation="logistic", solver="lbfgs", max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning):
        a.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        b.fit(X, y)
    np.testing.assert_array_equal(a.params_, b.params_)


# --------------------------------------------------------------------------
# Estimator conventions and the output layer
# --------------------------------------------------------------------------


def test_fit_returns_self_and_sets_fitted_attributes(spirals):
    X, y = spirals
    clf = MLPClassifier((10,), solver="lbfgs", max_iter=300, tol=1e-2, random_state=0)
    assert clf.fit(X, y) is clf
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_features_in_ == 2
    assert clf.params_.shape == (fastnn.num_params((2, 10, 3)),)
    assert [W.shape for W in clf.coefs_] == [(2, 10), (10, 3)]
    assert [b.shape for b in clf.intercepts_] == [(10,), (3,)]
    assert all(np.shares_memory(W, clf.params_) for W in clf.coefs_)
    assert (clf.n_layers_, clf.n_outputs_, clf.out_activation_) == (3, 3, "softmax")
    assert clf.loss_ == clf.loss_curve_[-1]
    assert not hasattr(clf, "feature_names_in_")


def test_two_classes_use_one_logistic_unit(binary_data):
    X, y = binary_data
    clf = MLPClassifier((8,), solver="lbfgs", max_iter=500, random_state=0).fit(X, y)
    assert (clf.n_outputs_, clf.out_activation_) == (1, "logistic")
    assert [W.shape for W in clf.coefs_] == [(4, 8), (8, 1)]
    probabilities = clf.predict_proba(X)
    assert probabilities.shape == (120, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-15)
    # Column 1 is the sigmoid of the single output unit.
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    logit = (hidden @ clf.coefs_[1] + clf.intercepts_[1]).ravel()
    np.testing.assert_allclose(probabilities[:, 1], 1 / (1 + np.exp(-logit)), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), np.where(logit > 0, "yes", "no"))
    assert clf.score(X, y) >= 0.95


def test_multilabel_indicator_targets(multilabel_data):
    X, Y = multilabel_data
    clf = MLPClassifier((20,), solver="lbfgs", max_iter=500, random_state=0).fit(X, Y)
    assert (clf.n_outputs_, clf.out_activation_) == (3, "logistic")
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    probabilities = clf.predict_proba(X)
    assert probabilities.shape == (150, 3)
    np.testing.assert_array_equal(clf.predict(X), (probabilities > 0.5).astype(int))
    assert clf.score(X, Y) >= 0.9  # exact match of all three labels


def test_partial_fit_on_multilabel_needs_no_classes(multilabel_data):
    X, Y = multilabel_data
    clf = MLPClassifier((10,), random_state=0)
    for start in range(0, 150, 50):
        clf.partial_fit(X[start : start + 50], Y[start : start + 50])
    assert clf.predict(X).shape == (150, 3)
    assert clf.t_ == 150


def test_string_labels_round_trip(spirals):
    X, y = spirals
    names = np.array(["zebra", "ant", "moose"])
    clf = MLPClassifier((30,), activation="tanh", solver="lbfgs", max_iter=500, random_state=0)
    clf.fit(X, list(names[y]))
    np.testing.assert_array_equal(clf.classes_, ["ant", "moose", "zebra"])
    predicted = clf.predict(X)
    assert predicted.dtype.kind == "U"
    assert np.mean(predicted == names[y]) >= 0.95
    assert clf.score(X, names[y]) == np.mean(predicted == names[y])
    probabilities = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.classes_[probabilities.argmax(axis=1)], predicted)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), probabilities, rtol=1e-12)


@pytest.mark.parametrize(
    "y",
    [np.array([1, "a"] * 60, dtype=object), [1.5, "b"] * 60, np.array([None, 2] * 60, dtype=object)],
    ids=["int-and-str", "float-and-str-list", "none-and-int"],
)
def test_mixed_label_types_raise_an_error_naming_y(y):
    X = np.random.default_rng(0).normal(size=(120, 3))
    with pytest.raises(ValueError, match=r"^y mixes labels of different types"):
        MLPClassifier(max_iter=2).fit(X, y)


def test_get_params_set_params_and_repr():
    clf = MLPClassifier(hidden_layer_sizes=(7, 5), solver="sgd", momentum=0.5)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (7, 5)
    assert params["solver"] == "sgd" and params["momentum"] == 0.5
    assert set(params) == {
        "hidden_layer_sizes", "activation", "solver", "alpha", "batch_size", "learning_rate",
        "learning_rate_init", "power_t", "max_iter", "shuffle", "random_state", "tol",
        "verbose", "warm_start", "momentum", "nesterovs_momentum", "early_stopping",
        "validation_fraction", "beta_1", "beta_2", "epsilon", "n_iter_no_change", "max_fun",
        "class_weight", "init", "dropout",
    }
    assert MLPClassifier(**params).get_params() == params
    assert clf.set_params(alpha=0.5, max_iter=3) is clf
    assert clf.alpha == 0.5 and clf.max_iter == 3
    with pytest.raises(ValueError, match="l2"):
        clf.set_params(l2=1.0)
    assert repr(MLPClassifier(solver="sgd")) == "MLPClassifier(solver='sgd')"


def test_defaults_are_scikit_learns():
    clf = MLPClassifier()
    assert (clf.hidden_layer_sizes, clf.activation, clf.solver, clf.alpha) == ((100,), "relu", "adam", 1e-4)
    assert (clf.batch_size, clf.learning_rate, clf.learning_rate_init) == ("auto", "constant", 1e-3)
    assert (clf.max_iter, clf.tol, clf.n_iter_no_change, clf.max_fun) == (200, 1e-4, 10, 15000)
    assert (clf.class_weight, clf.init) == (None, "glorot")


def test_random_state_makes_training_reproducible(spirals):
    X, y = spirals
    a = MLPClassifier((20,), learning_rate_init=1e-2, max_iter=30, tol=0.0, random_state=5)
    b = MLPClassifier(**a.get_params())
    with pytest.warns(ConvergenceWarning):
        a.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        b.fit(X, y)
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.params_, b.params_)
    with pytest.warns(ConvergenceWarning):
        c = MLPClassifier(**{**a.get_params(), "random_state": 6}).fit(X, y)
    assert not np.array_equal(a.params_, c.params_)


def test_pickle_round_trip_keeps_predictions_and_views(spirals):
    X, y = spirals
    clf = MLPClassifier((10,), solver="lbfgs", max_iter=400, tol=1e-2, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert all(np.shares_memory(W, copy.params_) for W in copy.coefs_)


def test_coefs_can_be_assigned(spirals):
    X, y = spirals
    clf = MLPClassifier((4,), solver="lbfgs", max_iter=400, tol=1e-2, random_state=0).fit(X, y)
    clf.coefs_ = [np.zeros_like(W) for W in clf.coefs_]
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_]
    np.testing.assert_array_equal(clf.params_, 0.0)
    np.testing.assert_allclose(clf.predict_proba(X), 1 / 3)


# --------------------------------------------------------------------------
# Solvers, schedules, stopping and progress output
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_loss_curve_decreases(digits_split, solver):
    X_train, y_train, _, _ = digits_split
    clf = MLPClassifier((30,), solver=solver, learning_rate_init=0.1 if solver == "sgd" else 1e-2,
                        max_iter=15, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train, y_train)
    assert len(clf.loss_curve_) == clf.n_iter_ == 15
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy-ball", "nesterov"])
def test_sgd_momentum_speeds_up_training(digits_split, nesterov):
    X_train, y_train, _, _ = digits_split
    final = {}
    for momentum in (0.0, 0.9):
        clf = MLPClassifier((30,), solver="sgd", learning_rate_init=0.02, momentum=momentum,
                            nesterovs_momentum=nesterov, max_iter=10, tol=0.0, random_state=0)
        with pytest.warns(ConvergenceWarning):
            clf.fit(X_train, y_train)
        final[momentum] = clf.loss_curve_[-1]
    assert final[0.9] < final[0.0]


def test_invscaling_schedule_lowers_the_rate_after_each_epoch(spirals):
    X, y = spirals
    clf = MLPClassifier((5,), solver="sgd", learning_rate="invscaling", power_t=0.5,
                        learning_rate_init=0.1, max_iter=3, tol=0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.t_ == 900
    assert clf._optimizer.learning_rate == pytest.approx(0.1 / 901**0.5, rel=1e-15)


def test_adaptive_schedule_divides_the_rate_by_five(spirals, capsys):
    X, y = spirals
    clf = MLPClassifier((5,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.1,
                        n_iter_no_change=1, tol=1e9, max_iter=3, verbose=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    # Every epoch "fails" to improve by tol=1e9; after two such epochs the rate drops.
    assert clf._optimizer.learning_rate == pytest.approx(0.02, rel=1e-15)
    assert "Setting learning rate to 0.020000" in capsys.readouterr().out


def test_lbfgs_minimises_the_full_batch_objective(spirals):
    X, y = spirals
    alpha = 0.3
    clf = MLPClassifier((10,), solver="lbfgs", alpha=alpha, max_iter=1000, tol=1e-7, random_state=0)
    clf.fit(X, y)
    # scikit-learn's objective: mean cross-entropy + alpha / (2 n) sum ||W||^2.
    loss, grad = clf.mlp_.loss_and_grad(clf.params_, X, y, l2=alpha / len(y))
    np.testing.assert_allclose(clf.loss_, loss, rtol=1e-12)
    np.testing.assert_allclose(clf.loss_curve_[-1], loss, rtol=1e-12)
    start = clf.mlp_._draw_params(np.random.RandomState(0))
    _, start_grad = clf.mlp_.loss_and_grad(start, X, y, l2=alpha / len(y))
    # Near a minimum: the gradient shrank by orders of magnitude.
    assert np.linalg.norm(grad) < 1e-2 * np.linalg.norm(start_grad)


def test_stops_when_loss_stops_improving(spirals):
    X, y = spirals
    tol, patience = 1e-2, 3
    clf = MLPClassifier((5,), learning_rate_init=1e-2, max_iter=10_000, tol=tol,
                        n_iter_no_change=patience, random_state=0)
    clf.fit(X, y)
    curve = clf.loss_curve_
    assert patience < clf.n_iter_ < 10_000
    # As in scikit-learn, training stops once more than `patience` epochs in
    # a row failed to beat the best loss before them by tol.
    for i in range(len(curve) - patience - 1, len(curve)):
        assert curve[i] > min(curve[:i]) - tol
    assert clf.best_loss_ == min(curve)


def test_max_iter_reached_warns(spirals):
    X, y = spirals
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\) reached"):
        MLPClassifier((5,), max_iter=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((5,), solver="lbfgs", max_iter=2, random_state=0).fit(X, y)


def test_early_stopping_keeps_best_validation_epoch(digits_split, capsys):
    X_train, y_train, X_test, y_test = digits_split
    clf = MLPClassifier(learning_rate_init=1e-2, early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=5, random_state=0, verbose=True)
    clf.fit(X_train, y_train)
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("Validation score:") for line in lines) == clf.n_iter_
    assert clf.score(X_test, y_test) >= 0.9


def test_validation_loss_curve_is_the_held_out_log_loss(digits_split):
    from fastnn.estimators._compat import check_random_state, train_test_split

    X, y, _, _ = digits_split
    clf = MLPClassifier((20,), early_stopping=True, max_iter=1, random_state=7)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    # Replay the random stream: the initial draw, then the stratified split.
    random_state = check_random_state(7)
    fastnn.MLP((64, 20, 10), "relu")._draw_params(random_state)
    _, X_val, _, y_val = train_test_split(X, y, random_state=random_state, test_size=0.1,
                                          stratify=y)
    p = clf.predict_proba(X_val)  # the weights of the only (so the best) epoch
    expected = -np.mean(np.log(p[np.arange(len(y_val)), y_val]))
    np.testing.assert_allclose(clf.validation_loss_curve_[0], expected, rtol=1e-10)
    assert clf.validation_scores_[0] == np.mean(p.argmax(axis=1) == y_val)


def test_verbose_prints_one_line_per_epoch(spirals, capsys):
    X, y = spirals
    with pytest.warns(ConvergenceWarning):
        MLPClassifier((5,), max_iter=4, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("Iteration 1, loss = ")
    with pytest.warns(ConvergenceWarning):
        MLPClassifier((5,), max_iter=4, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_divergence_raises_scikit_learns_error(spirals):
    X, y = spirals
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        MLPClassifier((5,), solver="sgd", learning_rate_init=1e12, random_state=0).fit(X * 1e3, y)


# --------------------------------------------------------------------------
# Sample weights, class weights, sparse input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["multiclass", "binary"])
def test_sample_weight_two_equals_duplicated_rows(spirals, binary_data, kind):
    X, y = spirals if kind == "multiclass" else binary_data
    rows = np.arange(0, len(y), 3)
    weights = np.ones(len(y))
    weights[rows] = 2.0
    X_repeated, y_repeated = np.vstack([X, X[rows]]), np.concatenate([y, y[rows]])
    # Without hidden layer the objective is strictly convex (alpha > 0):
    # both fits converge to the same unique minimum.
    convex = dict(hidden_layer_sizes=(), solver="lbfgs", alpha=1e-2, tol=1e-12, max_iter=5000,
                  random_state=0)
    weighted = MLPClassifier(**convex).fit(X, y, sample_weight=weights)
    repeated = MLPClassifier(**convex).fit(X_repeated, y_repeated)
    np.testing.assert_allclose(weighted.loss_, repeated.loss_, rtol=1e-12)
    np.testing.assert_allclose(weighted.params_, repeated.params_, rtol=1e-6, atol=1e-8)
    # With a hidden layer: the same objective from the same start, so the
    # first L-BFGS iterations agree to rounding.
    network = dict(hidden_layer_sizes=(6,), solver="lbfgs", alpha=1e-3, max_iter=15,
                   random_state=0)
    with pytest.warns(ConvergenceWarning):
        weighted = MLPClassifier(**network).fit(X, y, sample_weight=weights)
    with pytest.warns(ConvergenceWarning):
        repeated = MLPClassifier(**network).fit(X_repeated, y_repeated)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(weighted.params_, repeated.params_, rtol=1e-9, atol=1e-12)


def test_zero_sample_weight_removes_the_sample(spirals):
    X, y = spirals
    weights = np.ones(len(y))
    weights[::2] = 0.0
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=15, random_state=0)
    with pytest.warns(ConvergenceWarning):
        weighted = MLPClassifier(**params).fit(X, y, sample_weight=weights)
    with pytest.warns(ConvergenceWarning):
        removed = MLPClassifier(**params).fit(X[1::2], y[1::2])
    np.testing.assert_allclose(weighted.params_, removed.params_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_balanced_class_weight_equals_matching_sample_weight(spirals, solver):
    X, y = spirals
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 2)[:10]])
    X, y = X[keep], y[keep]
    counts = np.bincount(y)
    sample_weight = len(y) / (3 * counts[y])
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=30, tol=0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        balanced = MLPClassifier(class_weight="balanced", **params).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        weighted = MLPClassifier(**params).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_array_equal(balanced.params_, weighted.params_)
    with pytest.warns(ConvergenceWarning):
        plain = MLPClassifier(**params).fit(X, y)
    assert not np.array_equal(plain.params_, balanced.params_)


def test_class_weight_dict_multiplies_sample_weight(spirals):
    X, y = spirals
    params = dict(hidden_layer_sizes=(8,), max_iter=5, tol=0, random_state=0)
    sample_weight = np.linspace(0.5, 1.5, len(y))
    with pytest.warns(ConvergenceWarning):
        a = MLPClassifier(class_weight={0: 2.0, 2: 0.5}, **params).fit(X, y, sample_weight=sample_weight)
    with pytest.warns(ConvergenceWarning):
        b = MLPClassifier(**params).fit(X, y, sample_weight=sample_weight * np.array([2.0, 1.0, 0.5])[y])
    np.testing.assert_array_equal(a.params_, b.params_)
    with pytest.raises(ValueError, match="class_weight has the labels \\[7\\]"):
        MLPClassifier(class_weight={7: 1.0}, **params).fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_X_equals_dense(spirals, solver, fmt):
    import scipy.sparse

    X, y = spirals
    X = np.column_stack([X, np.zeros((len(y), 3))])  # some structural zeros
    sparse = getattr(scipy.sparse, f"{fmt}_matrix")(X)
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=20, tol=0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        dense_fit = MLPClassifier(**params).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        sparse_fit = MLPClassifier(**params).fit(sparse, y)
    np.testing.assert_allclose(sparse_fit.params_, dense_fit.params_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse_fit.predict_proba(sparse), dense_fit.predict_proba(X),
                               rtol=1e-9, atol=1e-12)


def test_sparse_X_is_never_densified(spirals, monkeypatch):
    import scipy.sparse

    X, y = spirals
    sparse = scipy.sparse.csr_matrix(X)

    def refuse(*args, **kwargs):
        raise AssertionError("X was densified")

    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(scipy.sparse.csr_matrix, "todense", refuse)
    monkeypatch.setattr(scipy.sparse.csr_matrix, "__array__", refuse, raising=False)
    with pytest.warns(ConvergenceWarning):
        clf = MLPClassifier((5,), max_iter=2, random_state=0).fit(sparse, y)
    clf.predict(sparse)


# --------------------------------------------------------------------------
# Continuing: warm start and partial_fit keep the optimiser state
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_twice_ten_epochs_equals_twenty(spirals, solver):
    X, y = spirals
    params = dict(hidden_layer_sizes=(10,), solver=solver, learning_rate_init=1e-2, tol=0,
                  random_state=0)
    once = MLPClassifier(max_iter=20, **params)
    with pytest.warns(ConvergenceWarning):
        once.fit(X, y)
    twice = MLPClassifier(max_iter=10, warm_start=True, **params)
    with pytest.warns(ConvergenceWarning):
        twice.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        twice.fit(X, y)
    np.testing.assert_array_equal(twice.params_, once.params_)
    assert twice.loss_curve_ == once.loss_curve_
    assert twice.t_ == once.t_ == 20 * len(y)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_calls_equal_fit_epochs(spirals, solver):
    X, y = spirals
    params = dict(hidden_layer_sizes=(10,), solver=solver, learning_rate_init=1e-2, tol=0,
                  random_state=3)
    fitted = MLPClassifier(max_iter=5, **params)
    with pytest.warns(ConvergenceWarning):
        fitted.fit(X, y)
    incremental = MLPClassifier(**params)
    for _ in range(5):
        incremental.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(incremental.params_, fitted.params_)
    assert incremental.loss_curve_ == fitted.loss_curve_


def test_partial_fit_checks_classes_and_solver(spirals):
    X, y = spirals
    clf = MLPClassifier((5,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.n_outputs_ == 3  # every class of `classes`, not only those seen
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y + 5)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------

X_OK = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
Y_OK = np.array([0, 1, 1, 0])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (X_OK[0], Y_OK, "2D"),
        (np.where(X_OK == 1.0, np.nan, X_OK), Y_OK, "NaN"),
        (np.where(X_OK == 1.0, np.inf, X_OK), Y_OK, "infinity"),
        (np.empty((0, 2)), Y_OK[:0], "0 sample"),
        (X_OK, Y_OK[:3], "inconsistent numbers of samples"),
        (X_OK, np.zeros(4), "only one class"),
        (X_OK, np.array([0.5, 1.5, 0.25, 2.0]), "Unknown label type"),
    ],
    ids=["X-1-D", "X-nan", "X-inf", "X-empty", "y-length", "y-one-class", "y-continuous"],
)
def test_fit_rejects_bad_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier().fit(X, y)


@pytest.mark.parametrize(
    "weights, match",
    [
        (np.zeros(4), "at least one non-zero"),
        (np.array([1.0, -1.0, 1.0, 1.0]), "non-negative"),
        (np.array([1.0, np.nan, 1.0, 1.0]), "NaN"),
        (np.ones(3), "shape"),
        (np.ones((4, 1)), "1D"),
    ],
    ids=["all-zero", "negative", "nan", "length", "2-D"],
)
def test_fit_rejects_bad_sample_weight(weights, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier().fit(X_OK, Y_OK, sample_weight=weights)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"solver": "newton"}, "solver"),
        ({"activation": "softplus"}, "activation"),
        ({"learning_rate": 0.01}, "learning_rate"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"max_iter": 0}, "max_iter"),
        ({"alpha": -1.0}, "alpha"),
        ({"tol": -1.0}, "tol"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"momentum": 1.5}, "momentum"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"beta_2": 1.0}, "beta_2"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"class_weight": "uniform"}, "class_weight"),
        ({"init": "zeros"}, "init"),
        ({"shuffle": "yes"}, "shuffle"),
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
    assert clf.mlp_.layer_sizes == (2, 4, 1)


def test_predict_before_fit_and_wrong_width():
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPClassifier().predict(X_OK)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    clf = MLPClassifier((3,), solver="lbfgs", random_state=0).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 2"):
        clf.predict(np.ones((2, 3)))


def test_batch_size_larger_than_data_is_clipped():
    with pytest.warns(UserWarning, match="clipped"):
        with pytest.warns(ConvergenceWarning):
            clf = MLPClassifier((3,), batch_size=1000, max_iter=3, random_state=0).fit(X_OK, Y_OK)
    assert clf.n_iter_ == 3


def test_he_init_draws_hidden_layers_with_hes_bound():
    clf = MLPClassifier((50,), init="he", solver="lbfgs", max_iter=1, random_state=0)
    X = np.random.default_rng(0).normal(size=(40, 30))
    y = np.arange(40) % 4
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    # Before training: redraw the start with the same seed.
    start = clf.mlp_._draw_params(np.random.RandomState(0), "he")
    (W1, b1), (W2, b2) = clf.mlp_.unpack(start)
    assert np.abs(W1).max() <= np.sqrt(6 / 30) and np.abs(W1).max() > np.sqrt(6 / 80)
    assert np.abs(W2).max() <= np.sqrt(6 / 54)
    assert not b1.any() and not b2.any()


def test_training_data_is_not_modified(spirals):
    X, y = spirals
    X_copy, y_copy = X.copy(), y.copy()
    weights = np.ones(len(y))
    MLPClassifier((5,), solver="lbfgs", max_iter=400, random_state=0, class_weight="balanced").fit(
        X, y, sample_weight=weights
    )
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(weights, 1.0)


def test_import_fastnn_does_not_import_scikit_learn_or_the_optimizers():
    import subprocess
    import sys

    script = (
        "import sys, fastnn\n"
        "assert 'sklearn' not in sys.modules and 'scipy.optimize' not in sys.modules\n"
        "assert 'fastnn.estimators' not in sys.modules and 'MLPClassifier' in dir(fastnn)\n"
        "assert 'MLPRegressor' in dir(fastnn)\n"
        "from fastnn import MLPClassifier, MLPRegressor\n"
        "assert MLPClassifier is fastnn.estimators.classifier.MLPClassifier\n"
        "assert MLPRegressor is fastnn.estimators.regressor.MLPRegressor\n"
        "assert 'scipy.optimize' not in sys.modules or 'sklearn' in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --------------------------------------------------------------------------
# Many classes: the blocked output layer
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weights"])
def test_fit_with_the_blocked_output_layer_equals_the_whole_array_fit(spirals, solver, weighted,
                                                                      monkeypatch):
    # The classifier trains through MLP's trusted path, which switches to
    # linear_cross_entropy from FUSED_OUTPUT_MIN_CLASSES classes on; moving
    # the threshold below the 3 classes of the spirals must change nothing
    # but rounding (also with early stopping's validation loss).
    from fastnn import output_layers as output_layers_module

    X, y = spirals
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    settings = dict(hidden_layer_sizes=(12,), solver=solver, max_iter=15, tol=0.0,
                    random_state=0, early_stopping=solver == "adam")
    calls = []
    original = output_layers_module.fused_output_layer

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(output_layers_module, "fused_output_layer", spy)
    fits = []
    for threshold in (4, 3):
        monkeypatch.setattr(output_layers_module, "FUSED_OUTPUT_MIN_CLASSES", threshold)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(MLPClassifier(**settings).fit(X, y, sample_weight=sample_weight))
        assert bool(calls) == (threshold == 3)
    whole, blocked = fits
    np.testing.assert_allclose(blocked.loss_curve_, whole.loss_curve_, rtol=1e-9)
    for got, want in zip(blocked.coefs_ + blocked.intercepts_, whole.coefs_ + whole.intercepts_):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
