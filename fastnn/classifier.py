"""``fastnn.classifier``: where `MLPClassifier` was first published; it now lives in
``fastnn.estimators``.  Kept so that ``from fastnn.classifier import ...``
goes on working."""

from .estimators.classifier import SOLVERS, ConvergenceWarning, MLPClassifier, NotFittedError

__all__ = ["MLPClassifier", "ConvergenceWarning", "NotFittedError", "SOLVERS"]
