"""fastnn.MLPRegressor: scikit-learn's MLPRegressor, step for step, and fastnn's additions."""

import pickle
import warnings

import numpy as np
import pytest

from fastnn import MLPRegressor
from fastnn.classifier import ConvergenceWarning

sklearn = pytest.importorskip("sklearn")
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor  # noqa: E402

SOLVERS = ["sgd", "adam", "lbfgs"]
ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]


def friedman(n_samples, seed, n_outputs=1):
    """Friedman #1 targets (standardised), with a second, transformed output when asked."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n_samples, 6))
    y = (10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3]
         + 5 * X[:, 4] + rng.normal(size=n_samples))
    y = (y - y.mean()) / y.std()
    if n_outputs == 2:
        y = np.c_[y, np.tanh(y) + 0.1 * X[:, 5]]
    return X, y


def counts(n_samples, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n_samples, 4))
    return X, rng.poisson(np.exp(0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.5)).astype(float)


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def assert_same_fit(ours, theirs, atol=1e-8):
    for mine, reference in zip(ours.coefs_ + ours.intercepts_,
                               theirs.coefs_ + theirs.intercepts_, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=0, atol=atol)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9, abs=1e-12)
    if hasattr(theirs, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9, atol=1e-12)
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_outputs_ == theirs.n_outputs_


# --------------------------------------------------------------------------
# The same steps as scikit-learn
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_takes_scikit_learns_steps(solver, loss, weighted):
    X, y = counts(300, 0) if loss == "poisson" else friedman(300, 0)
    weights = np.random.default_rng(1).uniform(0, 2, len(y)) if weighted else None
    params = dict(loss=loss, hidden_layer_sizes=(15,), activation="tanh", solver=solver,
                  max_iter=25, random_state=3, alpha=1e-3)
    ours = fit_quietly(MLPRegressor(**params), X, y, sample_weight=weights)
    theirs = fit_quietly(SklearnMLPRegressor(**params), X, y, sample_weight=weights)
    assert_same_fit(ours, theirs)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_early_stopping_scores_r2_as_scikit_learn(solver, loss):
    X, y = counts(400, 2) if loss == "poisson" else friedman(400, 2)
    params = dict(loss=loss, hidden_layer_sizes=(10,), solver=solver, max_iter=40,
                  random_state=0, early_stopping=True, n_iter_no_change=3, tol=1e-3)
    ours = fit_quietly(MLPRegressor(**params), X, y)
    theirs = fit_quietly(SklearnMLPRegressor(**params), X, y)
    assert_same_fit(ours, theirs)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, atol=1e-10)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)
    assert ours.best_loss_ is None
    assert len(ours.validation_loss_curve_) == ours.n_iter_


@pytest.mark.parametrize("solver", SOLVERS)
def test_multi_output_takes_scikit_learns_steps(solver):
    X, Y = friedman(200, 4, n_outputs=2)
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=20, random_state=1)
    ours = fit_quietly(MLPRegressor(**params), X, Y)
    theirs = fit_quietly(SklearnMLPRegressor(**params), X, Y)
    assert_same_fit(ours, theirs)
    assert ours.predict(X).shape == (200, 2)


# --------------------------------------------------------------------------
# Held-out R², every activation and solver
# --------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_held_out_r2_is_at_least_scikit_learns(activation, solver):
    X, y = friedman(600, 5)
    params = dict(hidden_layer_sizes=(30,), activation=activation, solver=solver,
                  max_iter=150, random_state=0,
                  learning_rate_init=0.01 if solver != "lbfgs" else 0.001)
    ours = fit_quietly(MLPRegressor(**params), X[:450], y[:450])
    theirs = fit_quietly(SklearnMLPRegressor(**params), X[:450], y[:450])
    assert ours.score(X[450:], y[450:]) >= theirs.score(X[450:], y[450:]) - 0.02


# --------------------------------------------------------------------------
# Weights, sparse, dtypes, shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_sample_weight_two_equals_duplicated_rows(loss):
    X, y = counts(120, 6) if loss == "poisson" else friedman(120, 6)
    twice = np.arange(0, 120, 3)
    weights = np.ones(len(y))
    weights[twice] = 2
    X_dup, y_dup = np.r_[X, X[twice]], np.r_[y, y[twice]]
    params = dict(loss=loss, hidden_layer_sizes=(6,), solver="lbfgs", max_iter=50,
                  random_state=0)
    weighted = fit_quietly(MLPRegressor(**params), X, y, sample_weight=weights)
    duplicated = fit_quietly(MLPRegressor(**params), X_dup, y_dup)
    np.testing.assert_allclose(weighted.params_, duplicated.params_, rtol=1e-7, atol=1e-9)
    assert weighted.loss_ == pytest.approx(duplicated.loss_, rel=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_equals_dense(solver):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = friedman(150, 7)
    X[X < 0.5] = 0.0
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=15, random_state=0)
    dense = fit_quietly(MLPRegressor(**params), X, y)
    sparse = fit_quietly(MLPRegressor(**params), scipy_sparse.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.params_, dense.params_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.predict(scipy_sparse.csr_matrix(X)), dense.predict(X))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_float32_stays_float32(solver, loss):
    X, y = counts(100, 8) if loss == "poisson" else friedman(100, 8)
    reg = fit_quietly(MLPRegressor(loss=loss, hidden_layer_sizes=(5,), solver=solver,
                                   max_iter=10, random_state=0), X.astype(np.float32), y)
    assert reg.params_.dtype == np.float32
    assert all(W.dtype == np.float32 for W in reg.coefs_)
    assert reg.predict(X.astype(np.float32)).dtype == np.float32


def test_prediction_shapes_follow_y():
    X, Y = friedman(60, 9, n_outputs=2)
    one = fit_quietly(MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5), X, Y[:, 0])
    assert one.predict(X).shape == (60,) and one.n_outputs_ == 1
    two = fit_quietly(MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5), X, Y)
    assert two.predict(X).shape == (60, 2) and two.n_outputs_ == 2
    with pytest.warns(sklearn.exceptions.DataConversionWarning, match="column-vector y"):
        fit_quietly(MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5), X, Y[:, :1])


# --------------------------------------------------------------------------
# Poisson
# --------------------------------------------------------------------------


def test_poisson_predictions_are_positive_and_its_loss_is_scikit_learns():
    X, y = counts(200, 10)
    reg = fit_quietly(MLPRegressor(loss="poisson", hidden_layer_sizes=(6,), solver="lbfgs",
                                   max_iter=100, random_state=0), X, y)
    assert reg.out_activation_ == "exp"
    assert np.all(reg.predict(X) > 0)
    # loss_ is scikit-learn's half Poisson deviance (its constant term included) plus the
    # penalty, at the fitted weights.
    from sklearn.neural_network._base import poisson_loss

    penalty = 0.5 * reg.alpha * sum(float(np.vdot(W, W)) for W in reg.coefs_) / len(y)
    expected = poisson_loss(y.reshape(-1, 1), reg.predict(X).reshape(-1, 1)) + penalty
    assert reg.loss_ == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_poisson_refuses_negative_targets(method):
    X, y = counts(20, 11)
    y[3] = -1.0
    with pytest.raises(ValueError, match="y must be non-negative for loss='poisson'"):
        getattr(MLPRegressor(loss="poisson"), method)(X, y)


# --------------------------------------------------------------------------
# State kept across calls, validation curves
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_ten_and_ten_epochs_equal_twenty(solver):
    X, y = friedman(100, 12)
    params = dict(hidden_layer_sizes=(5,), solver=solver, tol=0, random_state=0)
    once = fit_quietly(MLPRegressor(max_iter=20, **params), X, y)
    twice = MLPRegressor(max_iter=10, warm_start=True, **params)
    fit_quietly(twice, X, y)
    fit_quietly(twice, X, y)
    np.testing.assert_array_equal(twice.params_, once.params_)
    incremental = MLPRegressor(**params)
    for _ in range(20):
        incremental.partial_fit(X, y)
    np.testing.assert_array_equal(incremental.params_, once.params_)
    assert incremental.t_ == once.t_ == 2000


def test_validation_loss_curve_is_the_held_out_loss():
    from sklearn.model_selection import train_test_split

    X, y = friedman(200, 13)
    reg = fit_quietly(MLPRegressor(hidden_layer_sizes=(6,), early_stopping=True, max_iter=8, tol=0,
                                   random_state=0), X, y)
    # The split draws from the estimator's stream right after the initial weights.
    stream = np.random.RandomState(0)
    reg.mlp_._draw_params(stream)
    _, validation = train_test_split(np.arange(200), random_state=stream, test_size=0.1)
    best = int(np.argmax(reg.validation_scores_))
    residual = reg.predict(X[validation]) - y[validation]
    assert len(reg.validation_loss_curve_) == reg.n_iter_
    assert reg.validation_loss_curve_[best] == pytest.approx(0.5 * np.mean(residual**2), rel=1e-12)
    assert reg.best_validation_score_ == pytest.approx(reg.score(X[validation], y[validation]))


def test_divergence_raises_scikit_learns_error():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        MLPRegressor().fit(X, y)


# --------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["absolute_error", None, 3])
def test_unknown_loss_is_an_error_naming_it(loss):
    with pytest.raises(ValueError, match="'loss' parameter of MLPRegressor"):
        MLPRegressor(loss=loss).fit([[0.0], [1.0]], [0.0, 1.0])


def test_hasattr_partial_fit_only_for_stochastic_solvers():
    assert hasattr(MLPRegressor(solver="adam"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


# --------------------------------------------------------------------------
# scikit-learn tools
# --------------------------------------------------------------------------


def test_scikit_learn_tools():
    from sklearn.base import clone
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = friedman(300, 14)
    y = 50 + 10 * y  # a target worth standardising
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs",
                                                               max_iter=300, random_state=0)),
        transformer=StandardScaler(),
    )
    fit_quietly(model, X[:240], y[:240])
    assert model.score(X[240:], y[240:]) > 0.8

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(
            MLPRegressor(solver="lbfgs", max_iter=100, random_state=0),
            {"hidden_layer_sizes": [(5,), (20,)], "alpha": [1e-4, 1e-1]},
            scoring="neg_mean_squared_error", cv=3,
        ).fit(X, (y - 50) / 10)
        scores = cross_val_score(MLPRegressor(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=100,
                                              random_state=0), X, (y - 50) / 10, cv=3)
    assert search.best_score_ < 0 and set(search.best_params_) == {"hidden_layer_sizes",
                                                                   "alpha"}
    assert scores.shape == (3,) and np.all(scores > 0.5)

    reg = fit_quietly(MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30, random_state=0), X, y)
    copy = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(copy.predict(X), reg.predict(X))
    fresh = clone(reg)
    assert not hasattr(fresh, "coefs_") and fresh.get_params() == reg.get_params()


def test_feature_names_are_checked():
    pd = pytest.importorskip("pandas")
    X, y = friedman(50, 15)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    reg = fit_quietly(MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5), frame, y)
    np.testing.assert_array_equal(reg.feature_names_in_, frame.columns)
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(frame.rename(columns={"x0": "other"}))


@pytest.mark.parametrize("solver, method", [("lbfgs", "fit"), ("adam", "fit"),
                                            ("adam", "partial_fit")])
def test_convergence_warnings_point_at_the_callers_line(solver, method):
    X, y = friedman(40, 16)
    reg = MLPRegressor(hidden_layer_sizes=(3,), solver=solver, max_iter=1, batch_size=100)
    with pytest.warns(Warning) as record:
        getattr(reg, method)(X, y)
    assert record, "no warning"
    assert {w.filename for w in record} == {__file__}
