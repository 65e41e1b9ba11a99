"""The validation scores of early stopping, computable over rows held in parts.

Early stopping scores the held-out rows after every epoch: the classifier by
its accuracy, the regressor by R².  The rows may be split over the shards
of a Dask cluster, so each score is computed in two steps: ``partial``
reduces the predictions of one part of the rows to a few sums, and
``combine`` merges the parts' sums into the score.  In memory there is one
part, and the result equals scikit-learn's ``accuracy_score`` and
``r2_score`` (to rounding).
"""

import numpy as np

__all__ = ["Accuracy", "RSquared", "r2_score"]


class Accuracy:
    """The weighted share of rows whose predicted class (or every label) is right.

    Parameters
    ----------
    multilabel : bool
        The outputs are independent probabilities, each thresholded at 0.5
        (the logistic output); otherwise the row's class is the argmax.
    """

    def __init__(self, multilabel):
        self.multilabel = multilabel

    def correct(self, predictions, targets):
        """Whether each row's prediction is right: class indices, or 0/1 targets."""
        if self.multilabel:
            return np.all((predictions > 0.5) == (targets > 0.5), axis=1)
        return np.argmax(predictions, axis=1) == targets

    def partial(self, predictions, targets, weights):
        correct = self.correct(predictions, targets)
        if weights is None:
            return np.array([np.sum(correct), correct.shape[0]], dtype=np.float64)
        return np.array([np.sum(correct * weights), np.sum(weights)])

    def combine(self, parts):
        hits, total = np.sum(parts, axis=0)
        return float(hits / total)


class RSquared:
    """The coefficient of determination, averaged over the outputs, with sample weights.

    Each part contributes, per output, its total weight, the weighted mean
    of the targets, their weighted sum of squared deviations from that
    mean, and the weighted sum of squared residuals; `combine` merges the
    parts' means and deviations pairwise (Chan, Golub and LeVeque's update),
    so that no part's sums lose digits to a large mean.  An output whose
    targets are constant scores 1 when it is predicted exactly and 0
    otherwise, and non-finite predictions score nan, as in scikit-learn.
    """

    def partial(self, predictions, targets, weights):
        predictions = predictions.reshape(targets.shape)
        if not np.all(np.isfinite(predictions)):
            return None
        w = np.ones(targets.shape[0]) if weights is None else weights
        total = np.sum(w)
        if total == 0:
            return np.zeros((4, targets.shape[1]))
        mean = np.average(targets, axis=0, weights=w)
        squares = (w[:, None] * (targets - mean) ** 2).sum(axis=0)
        residual = (w[:, None] * (targets - predictions) ** 2).sum(axis=0)
        return np.vstack([np.full(targets.shape[1], total), mean, squares, residual])

    def combine(self, parts):
        if any(part is None for part in parts):
            return float("nan")
        total, mean, squares, residual = (np.array(v, dtype=np.float64) for v in parts[0])
        for other_total, other_mean, other_squares, other_residual in parts[1:]:
            merged = total + other_total
            share = np.divide(other_total, merged, out=np.zeros_like(merged), where=merged > 0)
            delta = other_mean - mean
            squares = squares + other_squares + delta**2 * total * share
            mean = mean + delta * share
            residual = residual + other_residual
            total = merged
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(
                squares != 0, 1 - residual / squares, np.where(residual == 0, 1.0, 0.0)
            )
        return float(np.mean(scores))


def r2_score(y_true, y_pred, sample_weight=None):
    """R² of ``y_pred`` against ``y_true``, averaged over the outputs (scikit-learn's default)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true.reshape(-1, 1)
    if y_pred.size != y_true.size:
        raise ValueError(f"y must have {y_pred.shape[0]} rows like the predictions, got "
                         f"{y_true.shape[0]}")
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    scorer = RSquared()
    return scorer.combine([scorer.partial(y_pred, y_true, weights)])
