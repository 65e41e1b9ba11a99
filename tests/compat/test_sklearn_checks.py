"""scikit-learn's own estimator checks, run on fastnn.MLPClassifier and fastnn.MLPRegressor.

Skipped when scikit-learn is not installed.
"""

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnn import MLPClassifier, MLPRegressor  # noqa: E402

# The checks test the API on small data with few iterations; whether the
# solver converged there is not their subject (scikit-learn's own test suite
# runs them with the same max_iter).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Small networks keep the checks quick; the default (adam, 100 units) is
# checked as it comes, with scikit-learn's own test setting max_iter=100.
ESTIMATORS = [
    MLPClassifier(max_iter=100),
    MLPClassifier(hidden_layer_sizes=(20,), solver="sgd", max_iter=100),
    MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=100),
    MLPClassifier(hidden_layer_sizes=(20,), class_weight="balanced", max_iter=100),
    MLPRegressor(max_iter=100),
    MLPRegressor(hidden_layer_sizes=(20,), solver="sgd", max_iter=100),
    MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=100),
    MLPRegressor(hidden_layer_sizes=(20,), loss="poisson", solver="lbfgs", max_iter=100),
    MLPClassifier(hidden_layer_sizes=(20,), dropout=0.2, max_iter=100),
    MLPRegressor(hidden_layer_sizes=(20,), dropout=0.2, max_iter=100),
]

_BALANCED_PARTIAL_FIT = (
    "partial_fit sees one batch at a time, so it refuses class_weight='balanced' with a "
    "ValueError asking for explicit weights, as SGDClassifier.partial_fit does"
)
_BALANCED_MULTILABEL = (
    "class weights are per class of a single label; for multilabel y they are undefined and "
    "fit raises a ValueError saying so"
)


_DROPOUT_DUPLICATES = (
    "with dropout every copy of a duplicated row draws its own mask, while a weight of 2 counts "
    "one masked row twice: the two fits are equal in expectation, not draw for draw"
)

_DROPOUT_NOISY_STOP = (
    "the check trains on unscaled, very noisy blobs and relies on the stop when the training "
    "loss has not improved by tol for 20 epochs; with dropout that loss is itself random, so "
    "the stop comes after 42-154 epochs instead of 191-345, and whether the 1000:0.0001 class "
    "weights have moved 87% of the predictions to class 0 by then depends on the seed (0.40-1.0 "
    "over seeds 0-2 and both problems, against 1.0 for every seed without dropout)"
)


def expected_failed_checks(estimator):
    """The class_weight='balanced' and dropout instances fail a few checks, by design."""
    if estimator.dropout:
        return {
            "check_sample_weight_equivalence_on_dense_data": _DROPOUT_DUPLICATES,
            "check_sample_weight_equivalence_on_sparse_data": _DROPOUT_DUPLICATES,
            "check_class_weight_classifiers": _DROPOUT_NOISY_STOP,
        }
    if getattr(estimator, "class_weight", None) != "balanced":
        return {}
    return {
        "check_fit_score_takes_y": _BALANCED_PARTIAL_FIT,
        "check_n_features_in_after_fitting": _BALANCED_PARTIAL_FIT,
        "check_estimators_partial_fit_n_features": _BALANCED_PARTIAL_FIT,
        "check_classifiers_multilabel_representation_invariance": _BALANCED_MULTILABEL,
        "check_classifiers_multilabel_output_format_predict": _BALANCED_MULTILABEL,
        "check_classifiers_multilabel_output_format_predict_proba": _BALANCED_MULTILABEL,
        "check_classifiers_multilabel_output_format_decision_function": _BALANCED_MULTILABEL,
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
