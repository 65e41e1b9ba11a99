"""fastnn.MLPClassifier inside scikit-learn's tools, and against scikit-learn's MLPClassifier.

Skipped when scikit-learn is not installed.
"""

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.datasets import make_classification, make_multilabel_classification  # noqa: E402
from sklearn.ensemble import VotingClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.inspection import permutation_importance  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastnn  # noqa: E402
from fastnn import MLPClassifier  # noqa: E402
from fastnn.datasets import load_digits  # noqa: E402


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=200, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    return X * 10 + 3, y  # badly scaled on purpose: the pipeline's scaler matters


def test_is_a_scikit_learn_estimator():
    from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier
    from sklearn.utils import get_tags

    assert issubclass(MLPClassifier, BaseEstimator) and issubclass(MLPClassifier, ClassifierMixin)
    assert is_classifier(MLPClassifier())
    tags = get_tags(MLPClassifier())
    assert tags.input_tags.sparse and tags.classifier_tags.multi_label
    assert fastnn.classifier.NotFittedError is NotFittedError
    assert fastnn.classifier.ConvergenceWarning is ConvergenceWarning


# Some grid points stop at max_iter; convergence is not this test's subject.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_grid_search_equals_a_hand_made_loop(data):
    X, y = data
    pipeline = Pipeline([("scale", StandardScaler()),
                         ("mlp", MLPClassifier((10,), solver="lbfgs", max_iter=300, tol=1e-3,
                                               random_state=0))])
    grid = {"mlp__alpha": [1e-4, 1.0], "mlp__activation": ["relu", "tanh"]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(pipeline, grid, cv=cv).fit(X, y)
    assert np.isfinite(search.best_score_)

    best_by_hand, best_params = -np.inf, None
    for alpha in grid["mlp__alpha"]:
        for activation in grid["mlp__activation"]:
            scores = []
            for train, test in cv.split(X, y):
                model = clone(pipeline).set_params(mlp__alpha=alpha, mlp__activation=activation)
                scores.append(model.fit(X[train], y[train]).score(X[test], y[test]))
            if np.mean(scores) > best_by_hand:
                best_by_hand = np.mean(scores)
                best_params = {"mlp__alpha": alpha, "mlp__activation": activation}
    assert search.best_score_ == pytest.approx(best_by_hand, abs=1e-12)
    assert search.best_params_ == best_params
    assert search.score(X, y) > 0.8


def test_cross_val_score_clone_and_pickle(data):
    X, y = data
    model = make_pipeline(StandardScaler(), MLPClassifier((10,), solver="lbfgs", max_iter=300,
                                                          tol=1e-3, random_state=0))
    scores = cross_val_score(model, X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.6)

    clf = MLPClassifier((10,), solver="lbfgs", max_iter=300, tol=1e-3, random_state=0)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "coefs_")
    clf.fit(StandardScaler().fit_transform(X), y)
    restored = pickle.loads(pickle.dumps(clf))
    Xs = StandardScaler().fit_transform(X)
    np.testing.assert_array_equal(restored.predict_proba(Xs), clf.predict_proba(Xs))


def test_calibration_voting_and_permutation_importance(data):
    X, y = data
    X = StandardScaler().fit_transform(X)
    mlp = MLPClassifier((10,), solver="lbfgs", max_iter=300, tol=1e-3, random_state=0)
    calibrated = CalibratedClassifierCV(mlp, cv=3).fit(X, y)
    np.testing.assert_allclose(calibrated.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)
    voting = VotingClassifier([("mlp", mlp), ("lr", LogisticRegression())], voting="soft")
    assert voting.fit(X, y).score(X, y) > 0.8
    result = permutation_importance(clone(mlp).fit(X, y), X, y, n_repeats=3, random_state=0)
    assert result.importances_mean.shape == (8,)
    assert result.importances_mean.max() > 0.05


def test_dataframe_feature_names_are_checked(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(StandardScaler().fit_transform(X), columns=[f"f{i}" for i in range(8)])
    clf = MLPClassifier((10,), solver="lbfgs", max_iter=300, tol=1e-3, random_state=0)
    clf.fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    clf.predict(frame)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame[frame.columns[::-1]])
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame.rename(columns={"f0": "other"}))


# --------------------------------------------------------------------------
# The same results as scikit-learn's MLPClassifier
# --------------------------------------------------------------------------


def _datasets():
    X_digits, y_digits = load_digits()
    X_multi, y_multi = make_classification(n_samples=300, n_features=10, n_informative=6,
                                           n_classes=4, random_state=1)
    X_binary, y_binary = make_classification(n_samples=300, n_features=10, random_state=2)
    X_label, Y_label = make_multilabel_classification(n_samples=300, n_features=10, n_classes=3,
                                                      random_state=3)
    return {
        "digits": (X_digits[:600] / 16, y_digits[:600]),
        "multiclass": (X_multi, y_multi),
        "binary": (X_binary, y_binary),
        "multilabel": (X_label / 10, Y_label),
    }


DATASETS = _datasets()
SOLVERS = {
    "adam": dict(solver="adam", learning_rate_init=1e-2),
    "sgd": dict(solver="sgd", learning_rate_init=0.05),
    "lbfgs": dict(solver="lbfgs"),
}


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_same_network_as_scikit_learn(dataset, activation, solver):
    """With the same seed, fastnn draws the same start, shuffles the same way and
    takes the same steps as scikit-learn, so after a few epochs (iterations) in
    float64 the weights agree to rounding and the accuracy is the same."""
    X, y = DATASETS[dataset]
    params = dict(hidden_layer_sizes=(16,), activation=activation, max_iter=8, random_state=0,
                  **SOLVERS[solver])
    with pytest.warns(ConvergenceWarning):
        ours = MLPClassifier(**params).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        theirs = SklearnMLPClassifier(**params).fit(X, y)
    assert ours.n_outputs_ == theirs.n_outputs_ and ours.out_activation_ == theirs.out_activation_
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, reference, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-7)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-7)
    # Tolerance: one sample in a hundred may sit on the decision boundary.
    assert abs(ours.score(X, y) - theirs.score(X, y)) <= 0.01


@pytest.mark.parametrize("dataset", ["digits", "binary", "multilabel"])
def test_float32_accuracy_matches_scikit_learn(dataset):
    """float32 rounds differently from scikit-learn (which mixes in float64), so
    the runs drift apart; the accuracy after training stays within 3 points."""
    X, y = DATASETS[dataset]
    X = X.astype(np.float32)
    params = dict(hidden_layer_sizes=(32,), learning_rate_init=1e-2, max_iter=60, random_state=0)
    ours = MLPClassifier(**params)
    theirs = SklearnMLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    assert ours.coefs_[0].dtype == np.float32
    assert abs(ours.score(X, y) - theirs.score(X, y)) <= 0.03
