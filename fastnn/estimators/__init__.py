"""fastnn's scikit-learn estimators: `MLPClassifier` and `MLPRegressor`.

One shared core (``_base.py``) owns the network's life cycle, both solvers
and early stopping; ``classifier.py`` adds labels, class weights and
probabilities, ``regressor.py`` targets and R².  ``labels.py`` holds the
label helpers that ``fastnn.dask`` shares, ``_optimizers.py`` SGD and Adam,
``_training_rows.py`` the rows the loops train on, ``_scores.py`` the
validation scores and ``_compat.py`` the optional scikit-learn names.
"""

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
