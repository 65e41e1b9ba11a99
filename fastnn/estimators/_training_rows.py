"""The rows an estimator trains on, behind one small interface.

The training loops in ``_base.py`` ask their data for three things: the
loss and gradient over some rows, a subset of rows (the early-stopping
split), and the score and loss over all rows (the validation set).  Here
the rows are arrays in this process; ``fastnn.dask`` answers the same
questions from chunks that live on a cluster, so every estimator shares
one loop and one set of stopping rules.
"""

import numpy as np

from ..dropout import drawn_masks


def take_rows(X, targets, weights, rows):
    """``(X, targets, weights)`` at ``rows`` (None: all of them; weights may be None)."""
    if rows is None:
        return X, targets, weights
    return X[rows], targets[rows], None if weights is None else weights[rows]


class LossConvention:
    """How an estimator reports the network's loss, as scikit-learn does.

    The network's loss is the weighted mean over rows of each row's loss.
    scikit-learn averages the squared error over the outputs as well
    (``scale = 1 / n_outputs``) and keeps the Poisson deviance's constant
    term (``offsets``, one per row, whose weighted mean is added); neither
    changes the gradient.

    Parameters
    ----------
    scale : float
    offsets : ndarray of float64 of shape (n_samples,), or None
    """

    def __init__(self, scale=1.0, offsets=None):
        self.scale = scale
        self.offsets = offsets

    def subset(self, rows):
        return LossConvention(self.scale, None if self.offsets is None else self.offsets[rows])

    def offset(self, rows, weights):
        """The weighted mean of the offsets of ``rows`` (0.0 without offsets)."""
        if self.offsets is None:
            return 0.0
        offsets = self.offsets if rows is None else self.offsets[rows]
        return float(np.average(offsets, weights=weights))


class InMemoryRows:
    """Checked training arrays held in this process.

    Parameters
    ----------
    mlp : fastnn.MLP
        The network the estimator trains.
    X : ndarray or CSR matrix of the network's dtype
    targets : ndarray
        The targets as the network's output layer takes them.
    weights : ndarray of float64, or None
        The per-sample weights of the loss.
    scorer : Accuracy or RSquared
        The validation score (``_scores.py``).
    convention : LossConvention, optional
        How the loss is reported.
    """

    def __init__(self, mlp, X, targets, weights, scorer, convention=None, positions=None):
        self.mlp = mlp
        self.X = X
        self.targets = targets
        self.weights = weights
        self.scorer = scorer
        self.convention = LossConvention() if convention is None else convention
        self.n_samples = X.shape[0]
        # Each row's position in the whole data, which its dropout masks depend on.
        self.positions = np.arange(self.n_samples, dtype=np.uint64) if positions is None \
            else positions

    def subset(self, indices):
        """The rows ``indices``, as rows of their own."""
        return InMemoryRows(
            self.mlp, *take_rows(self.X, self.targets, self.weights, indices), self.scorer,
            self.convention.subset(indices), self.positions[indices],
        )

    def has_positive_weight(self):
        return self.weights is None or bool(np.any(self.weights > 0))

    def loss_and_grad(self, params, rows, alpha, want_grad=True, dropout=None):
        """Mean loss and gradient over ``rows`` (None: all), with the L2 term.

        ``alpha`` is divided by the rows' total weight (their number without
        weights), as scikit-learn does per minibatch.  ``dropout`` is None or
        ``(rates, seed, step)``, from which each row's masks are drawn by its
        position.
        """
        X, targets, weights = take_rows(self.X, self.targets, self.weights, rows)
        total = X.shape[0] if weights is None else float(np.sum(weights))
        masks = None
        if dropout is not None:
            positions = self.positions if rows is None else self.positions[rows]
            masks = drawn_masks(positions, *dropout)
        loss, grad = self.mlp._loss_and_grad_trusted(
            params, X, targets, weights, alpha / total, want_grad, self.convention.scale, masks
        )
        return loss + self.convention.offset(rows, weights), grad

    def score_and_loss(self, params):
        """The validation score and mean loss (without L2) over all rows."""
        predictions = self.mlp._predict_trusted(params, self.X)
        score = self.scorer.combine([self.scorer.partial(predictions, self.targets, self.weights)])
        loss = self.loss_and_grad(params, None, 0.0, want_grad=False)[0]
        return score, loss
