"""fastnn on Dask: lazy kernels on chunked arrays, and MLPs trained on a cluster.

The functions here take dask arrays and return lazy dask arrays, with the
signatures and results of the NumPy functions of the same names; the
top-level functions (``fastnn.softmax`` and the others) hand dask arrays
to them, so code written for NumPy arrays stays lazy on dask arrays.
:class:`DaskMLPClassifier` and :class:`DaskMLPRegressor` train the networks
of :class:`fastnn.MLPClassifier` and :class:`fastnn.MLPRegressor` where the
chunks of the data live, on a ``dask.distributed`` cluster or with Dask's
local scheduler.

Dask does the scheduling, data placement, transport and recovery from lost
workers; fastnn adds no cluster code of its own.  Install with
``pip install ".[dask]"`` from a clone of fastnn, or ``pip install "dask[array]" distributed``.

Examples
--------
>>> import dask.array as da
>>> import fastnn
>>> x = da.random.default_rng(0).normal(size=(1000, 50), chunks=(250, 25))
>>> p = fastnn.softmax(x)  # lazy: nothing is computed yet
>>> type(p).__name__
'Array'
>>> bool(abs(p.sum(axis=1) - 1).max().compute() < 1e-12)
True
"""

try:
    import dask.array  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised without dask installed
    raise ImportError(
        "fastnn.dask needs dask: install it with pip install \"dask[array]\" distributed"
    ) from error

from ._classifier import DaskMLPClassifier
from ._regressor import DaskMLPRegressor
from ._chunked import (
    linear_cross_entropy,
    log_softmax,
    logsumexp,
    sigmoid,
    sigmoid_backward,
    sigmoid_binary_cross_entropy,
    sigmoid_grad,
    softmax,
    softmax_cross_entropy,
)

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
    "DaskMLPClassifier",
    "DaskMLPRegressor",
]
