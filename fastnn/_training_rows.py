"""The rows an MLPClassifier trains on, behind one small interface.

The training loops in ``classifier.py`` ask their data for three things:
the loss and gradient over some rows, a subset of rows (the early-stopping
split), and the score and loss over all rows (the validation set).  Here
the rows are arrays in this process; ``fastnn.dask`` answers the same
questions from chunks that live on a cluster, so both estimators share
one loop and one set of stopping rules.
"""

import numpy as np


def correct_predictions(probabilities, targets, logistic):
    """Whether each sample's prediction is right (all of its labels, for logistic outputs)."""
    if logistic:
        return np.all((probabilities > 0.5) == (targets > 0.5), axis=1)
    return np.argmax(probabilities, axis=1) == targets


def take_rows(X, targets, weights, rows):
    """``(X, targets, weights)`` at ``rows`` (None: all of them; weights may be None)."""
    if rows is None:
        return X, targets, weights
    return X[rows], targets[rows], None if weights is None else weights[rows]


class InMemoryRows:
    """Checked training arrays held in this process.

    Parameters
    ----------
    mlp : fastnn.MLP
        The network the classifier trains.
    X : ndarray or CSR matrix of the network's dtype
    targets : ndarray
        Class indices (softmax output) or 0/1 targets (logistic output).
    weights : ndarray of float64, or None
        The per-sample weights of the loss.
    """

    def __init__(self, mlp, X, targets, weights):
        self.mlp = mlp
        self.X = X
        self.targets = targets
        self.weights = weights
        self.n_samples = X.shape[0]

    def subset(self, indices):
        """The rows ``indices``, as rows of their own."""
        return InMemoryRows(self.mlp, *take_rows(self.X, self.targets, self.weights, indices))

    def has_positive_weight(self):
        return self.weights is None or bool(np.any(self.weights > 0))

    def loss_and_grad(self, params, rows, alpha):
        """Mean loss and gradient over ``rows`` (None: all), with the L2 term.

        ``alpha`` is divided by the rows' total weight (their number without
        weights), as scikit-learn does per minibatch.
        """
        X, targets, weights = take_rows(self.X, self.targets, self.weights, rows)
        total = X.shape[0] if weights is None else float(np.sum(weights))
        return self.mlp._loss_and_grad_trusted(params, X, targets, weights, alpha / total)

    def score_and_loss(self, params):
        """Weighted accuracy and mean loss (without L2) over all rows."""
        probabilities = self.mlp._predict_trusted(params, self.X)
        correct = correct_predictions(probabilities, self.targets, self.mlp.output == "logistic")
        score = float(np.average(correct, weights=self.weights))
        loss = self.mlp._loss_and_grad_trusted(
            params, self.X, self.targets, self.weights, 0.0, False
        )[0]
        return score, loss
