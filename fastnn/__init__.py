"""fastnn: fast, numerically careful building blocks for neural-network classifiers.

Compiled kernels (float32 and float64, GIL released, OpenMP for large
inputs) for the softmax, log-softmax, log-sum-exp, sigmoid and a fused
softmax cross-entropy, with a NumPy-style API.

Examples
--------
>>> import numpy as np
>>> import fastnn
>>> fastnn.softmax(np.array([1.0, 2.0]))
array([0.26894142, 0.73105858])
"""

__version__ = "0.1.0"

# First of all: in a source folder without compiled kernels, borrow those of
# an identical installed build or say clearly what to do (see _locate.py).
from ._locate import find_kernels as _find_kernels

_find_kernels(__path__)
del _find_kernels

from ._config import get_num_threads, set_num_threads, show_config
from .activations import log_softmax, sigmoid, sigmoid_backward, sigmoid_grad, softmax
from .losses import sigmoid_binary_cross_entropy, softmax_cross_entropy
from .reductions import logsumexp
from .fused_linear import linear_cross_entropy
from .mlp import MLP, forward_backward_prop, num_params
from .gradcheck import GradientCheckError, gradcheck
from . import datasets


_ESTIMATORS = ("MLPClassifier", "MLPRegressor")


def __getattr__(name):
    # The estimators are imported on first use: they bring in scikit-learn
    # when that is installed, which `import fastnn` alone should not pay for.
    if name in _ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS))

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "sigmoid_grad",
    "sigmoid_backward",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "linear_cross_entropy",
    "set_num_threads",
    "get_num_threads",
    "show_config",
    "MLP",
    "num_params",
    "forward_backward_prop",
    "gradcheck",
    "GradientCheckError",
    "MLPClassifier",
    "MLPRegressor",
    "datasets",
]
