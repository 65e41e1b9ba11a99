"""DaskMLPRegressor: MLPRegressor's network trained where the data live.

The regressor's counterpart of `DaskMLPClassifier`, on the same shared
base (``_base.py``): the parameters of :class:`fastnn.MLPRegressor` plus
``client``, dask collections in, lazy predictions out, and ``to_local()``.
Its own part is small: the number of outputs, and R² computed chunk by
chunk.  The targets' checks (real and finite; non-negative for the Poisson
loss) and the loss's convention (the squared error averaged over the
outputs, the Poisson deviance's constant per row) are ``MLPRegressor``'s
own hooks, run on each chunk where it lives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import dask

from ..estimators._base import _stochastic_only, check_sample_weight
from ..estimators._compat import check_is_fitted
from ..estimators._scores import RSquared
from ..estimators.regressor import MLPRegressor
from ._base import DaskMLPBase, _aligned, _as_rows, finish_dask_estimator

__all__ = ["DaskMLPRegressor"]


class DaskMLPRegressor(DaskMLPBase, MLPRegressor):
    """MLPRegressor trained on dask arrays, on a cluster or Dask's local scheduler.

    It takes ``client`` and every parameter of :class:`fastnn.MLPRegressor`,
    whose documentation describes them; the network, losses, solvers and
    stopping rules are the same.

    Parameters
    ----------
    client : distributed.Client, optional
        The cluster to train on.  By default the current ``dask.distributed``
        client, if there is one; otherwise Dask's local scheduler (threads:
        fastnn's kernels and the BLAS release the GIL).
    **params
        The parameters of :class:`fastnn.MLPRegressor`, as keywords.

    Attributes
    ----------
    bytes_sent_ : int
        The NumPy bytes sent to the workers during the last ``fit``
        (parameters and row numbers): what the communication per step
        costs, times the number of steps.  The other fitted attributes
        are :class:`fastnn.MLPRegressor`'s (``coefs_``, ``loss_``,
        ``loss_curve_``, ``n_iter_`` and so on).

    Notes
    -----
    The data are never gathered on the client.  With a ``dask.distributed``
    client the rows are cut into one shard of consecutive chunks per worker;
    each shard is loaded, checked and converted on its worker once and
    kept there.  Each evaluation then sends the parameters to the workers
    and brings back one loss and one gradient per worker:

    * ``solver="lbfgs"`` evaluates the exact full-batch loss and gradient,
      summed over the shards, so the fit equals an in-memory fit up to the
      order of summation;
    * ``"adam"`` and ``"sgd"`` are synchronous data-parallel minibatch
      training: the client draws the same minibatches as
      :class:`fastnn.MLPRegressor`, each worker computes the gradient of
      the rows of the minibatch it holds, and the summed gradient makes one
      update.  The result is deterministic for a given ``random_state`` and
      number of workers, and a one-worker fit equals the in-memory fit.

    Each worker reports its loss as :class:`fastnn.MLPRegressor` reports
    it (scikit-learn's values): the squared error averaged over the outputs
    as well, or the Poisson deviance with its constant term, whose per-row
    values are computed once with the chunk's checks.  Early stopping
    scores the held-out rows by R², merged over the workers from per-worker
    sums.

    Each chunk is checked by :class:`fastnn.MLPRegressor`'s own input
    checks, where it lives; an error names the chunk's first row.  Without
    a distributed client every chunk is read from its source whenever it is
    needed, so arrays larger than memory train chunk by chunk.  A worker
    lost during training is recomputed by Dask from the task graph, and the
    fit continues with the same result.  The client is not pickled: an
    unpickled estimator has ``client=None``.  ``partial_fit`` exists for
    ``"sgd"`` and ``"adam"`` only, as :class:`fastnn.MLPRegressor`'s does.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from fastnn.dask import DaskMLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(400, 2))
    >>> X = da.from_array(x, chunks=100)
    >>> y = da.from_array(np.sin(3 * x[:, 0]) + x[:, 1] ** 2, chunks=100)
    >>> reg = DaskMLPRegressor(hidden_layer_sizes=(30,), activation="tanh", solver="lbfgs",
    ...                        max_iter=300, random_state=0).fit(X, y)
    >>> reg.predict(X[:5])  # lazy
    dask.array<_predict_chunk, shape=(5,), dtype=float64, chunksize=(5,), chunktype=numpy.ndarray>
    >>> reg.predict(X[:5]).shape
    (5,)
    >>> reg.score(X, y) > 0.99
    True
    >>> type(reg.to_local()).__name__
    'MLPRegressor'
    """

    _local_class = MLPRegressor

    def __init__(self, client: Any = None, **params: Any) -> None:
        super().__init__(client, **params)

    # --- the hooks of the Dask base ------------------------------------------------------

    def _fit_outputs(self, y, first_pass):
        return 1 if y.ndim == 1 else y.shape[1]

    # --- fitting -------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DaskMLPRegressor:
        """Fit the network to dask collections chunked by rows.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples; chunks of rows (a chunked feature axis is joined
            per row chunk).
        y : dask.array.Array, dask.dataframe.Series or DataFrame of shape (n_samples,) or (n_samples, n_outputs)
            The targets (non-negative for ``loss="poisson"``).
        sample_weight : dask.array.Array or dask.dataframe.Series of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.

        Returns
        -------
        DaskMLPRegressor
            The fitted estimator itself.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPRegressor
        >>> x = np.linspace(-1, 1, 50).reshape(-1, 1)
        >>> X, y = da.from_array(x, chunks=20), da.from_array(3 * x[:, 0] + 1, chunks=20)
        >>> reg = DaskMLPRegressor(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> np.round(reg.predict(X[[25, 49]]).compute(), 3)
        array([1.061, 4.   ])
        """
        return self._fit_collections(X, y, sample_weight)

    def _partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> DaskMLPRegressor:
        """One pass of ``partial_fit`` over the row chunks, in order.

        Each chunk is computed and fed to :meth:`fastnn.MLPRegressor.partial_fit`
        in this process, one chunk at a time, as dask-ml's ``Incremental``
        wrapper does.  Only for the "sgd" and "adam" solvers.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.
        y : dask.array.Array or dask.dataframe.Series of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : dask.array.Array or dask.dataframe.Series of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.

        Returns
        -------
        DaskMLPRegressor
            The estimator itself.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPRegressor
        >>> X = da.from_array(np.array([[0.0], [1.0], [2.0], [3.0]]), chunks=2)
        >>> y = da.from_array(np.array([0.0, 1.0, 2.0, 3.0]), chunks=2)
        >>> reg = DaskMLPRegressor(hidden_layer_sizes=(5,), random_state=0)
        >>> reg.partial_fit(X, y).t_  # samples seen
        4
        """
        return self._partial_fit_chunks(X, y, sample_weight)

    partial_fit = _stochastic_only(_partial_fit)

    # --- prediction ------------------------------------------------------------------

    def predict(self, X: Any) -> dask.array.Array:  # type: ignore[override]
        """Predicted targets, lazily.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.

        Returns
        -------
        dask.array.Array of shape (n_samples,), or (n_samples, n_outputs) for a 2-D y
            Chunked as X's rows, in the network's dtype; positive for
            ``loss="poisson"``.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPRegressor
        >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> X = da.from_array(x, chunks=2)
        >>> Y = da.from_array(np.c_[x[:, 0], -x[:, 0]], chunks=2)
        >>> reg = DaskMLPRegressor(hidden_layer_sizes=(), solver="lbfgs").fit(X, Y)
        >>> reg.predict(X).shape
        (4, 2)
        """
        check_is_fitted(self)
        columns = None if self.n_outputs_ == 1 else self.n_outputs_
        return self._lazy("predict", X, columns, self.mlp_.dtype)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² of the predictions on dask collections, averaged over the outputs.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.
        y : dask.array.Array, dask.dataframe.Series or DataFrame of shape (n_samples,) or (n_samples, n_outputs)
            The true targets.
        sample_weight : dask.array.Array or dask.dataframe.Series of shape (n_samples,), optional
            Weights of the samples.

        Returns
        -------
        float
            The coefficient of determination (scikit-learn's ``r2_score``
            with ``multioutput="uniform_average"``); computed, not lazy.

        Notes
        -----
        Each chunk of rows is reduced where it lives to a few sums per
        output (its total weight, the weighted mean of its targets, their
        weighted sum of squared deviations, and the weighted sum of squared
        residuals); only these come back to the client, which merges them
        pairwise (Chan, Golub and LeVeque's update, so that no chunk's sums
        lose digits to a large mean).  The result equals
        :meth:`fastnn.MLPRegressor.score` up to rounding.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPRegressor
        >>> x = np.linspace(-1, 1, 40).reshape(-1, 1)
        >>> X, y = da.from_array(x, chunks=10), da.from_array(2 * x[:, 0], chunks=10)
        >>> reg = DaskMLPRegressor(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> round(reg.score(X, y), 6)
        1.0
        """
        predicted = self.predict(X)
        n_rows, row_chunks = predicted.shape[0], predicted.chunks[0]
        y = _aligned(_as_rows(y, "y")[0], row_chunks, "y", n_rows)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if y.ndim > 2 or n_outputs != self.n_outputs_:
            raise ValueError(
                f"y must have {self.n_outputs_} output(s) like the fitted network, got shape "
                f"{y.shape}"
            )
        weight_parts: list = [None] * len(row_chunks)
        if sample_weight is not None:
            weights = _as_rows(sample_weight, "sample_weight")[0]
            weights = _aligned(weights, row_chunks, "sample_weight", n_rows)
            weight_parts = list(weights.to_delayed().ravel())
        scorer = RSquared()
        parts = [
            dask.delayed(_r2_sums)(scorer, p, t, w)
            for p, t, w in zip(predicted.to_delayed().ravel(), y.to_delayed().ravel(),
                               weight_parts)
        ]
        return scorer.combine(list(self._compute(*parts)))

    def to_local(self) -> MLPRegressor:
        """The fitted model as a :class:`fastnn.MLPRegressor` (for NumPy input).

        Returns
        -------
        fastnn.MLPRegressor
            With the same parameters (without ``client``) and fitted state.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPRegressor
        >>> x = np.linspace(-1, 1, 40).reshape(-1, 1)
        >>> X, y = da.from_array(x, chunks=10), da.from_array(2 * x[:, 0], chunks=10)
        >>> reg = DaskMLPRegressor(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> np.round(reg.to_local().predict(np.array([[0.5]])), 3)
        array([1.])
        """
        return self._to_local()


finish_dask_estimator(DaskMLPRegressor)


def _r2_sums(scorer, predictions, targets, weights):
    """One chunk's part of R² (``RSquared.partial``)."""
    targets = np.asarray(targets, dtype=np.float64)
    targets = targets.reshape(targets.shape[0], -1)
    weights = check_sample_weight(weights, targets.shape[0], require_positive=False)
    return scorer.partial(np.asarray(predictions, dtype=np.float64), targets, weights)
