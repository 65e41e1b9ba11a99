"""fastnn's scikit-learn estimators: `MLPClassifier` and `MLPRegressor`.

One shared core (``_base.py``) owns the network's life cycle, both solvers
and early stopping; ``classifier.py`` adds labels, class weights and
probabilities, ``regressor.py`` targets and R².  ``labels.py`` holds the
label helpers that ``fastnn.dask`` shares, ``_optimizers.py`` SGD and Adam,
``_training_rows.py`` the rows the loops train on, ``_scores.py`` the
validation scores, ``_compat.py`` the optional scikit-learn names and
``_onnx.py`` the ONNX export through skl2onnx (registered with skl2onnx once
both are imported, without importing it here).
"""

from .classifier import MLPClassifier
from .regressor import MLPRegressor
from ._onnx import install_registration as _install_onnx_registration
from ._onnx import register_onnx_converters

_install_onnx_registration()

__all__ = ["MLPClassifier", "MLPRegressor", "register_onnx_converters"]
