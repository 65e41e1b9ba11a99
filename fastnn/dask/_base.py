"""The Dask estimators' shared part: the client, where the data go, and the way back to memory.

In the manner of LightGBM's ``_DaskLGBMModel``: one base holds everything
that distribution needs, and `DaskMLPClassifier` and `DaskMLPRegressor`
are thin.  `DaskMLPBase` is mixed in before the in-memory estimator
(``class DaskMLPRegressor(DaskMLPBase, MLPRegressor)``), so the network,
the solvers, the stopping rules and every check of the input are the
in-memory estimator's own:

- ``fit`` places the rows (``_sharded_rows.py``) and runs the core's
  ``_train`` on them; each chunk is checked and converted by the
  in-memory estimator's hooks (``_validate_input``, ``_targets``,
  ``_loss_convention``), run where the chunk lives;
- predictions map the in-memory estimator's own ``predict`` (or
  ``predict_proba``...) over the row chunks, lazily;
- ``partial_fit`` feeds the chunks, one at a time, to the in-memory
  ``partial_fit``;
- ``to_local()`` returns the in-memory estimator, and pickling or
  cloning leaves the client (a live connection) out.

Each estimator fills in a few hooks: ``_fit_outputs`` (what ``y`` says about
the outputs, before the network exists), ``_chunk_preparer`` (how a chunk
is checked), ``_split_codes`` (the classes to stratify early stopping on)
and ``_check_some_weight``.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import dask
import dask.array as da

from ..estimators._base import warn_at_caller
from ..estimators._compat import DataConversionWarning, check_is_fitted
from ._sharded_rows import (
    ChunkedRows,
    ChunkPreparer,
    DistributedRunner,
    LocalRunner,
    prepare_chunk,
)

__all__ = ["DaskMLPBase"]


def _current_client():
    """The dask.distributed client in use, or None (then: Dask's local scheduler)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _as_rows(X, name):
    """A dask array chunked by rows only, and the column names of a DataFrame."""
    names = None
    if hasattr(X, "to_dask_array"):  # a dask DataFrame or Series
        if hasattr(X, "columns"):
            names = list(X.columns)
        X = X.to_dask_array(lengths=True)
    elif not isinstance(X, da.Array):
        X = da.asarray(np.asarray(X))
    if any(np.isnan(c) for chunks in X.chunks for c in chunks):
        raise ValueError(f"{name} has chunks of unknown size; call {name}.compute_chunk_sizes()")
    if X.ndim == 2 and X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X, names


def _aligned(array, row_chunks, name, n_rows):
    if array.shape[0] != n_rows:
        raise ValueError(f"{name} has {array.shape[0]} rows, but X has {n_rows}")
    return array.rechunk({0: row_chunks})


def _collections(X, y, sample_weight):
    """X, y and sample_weight as dask arrays with the same row chunks, and X's column names."""
    X, names = _as_rows(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    y = _aligned(_as_rows(y, "y")[0], X.chunks[0], "y", X.shape[0])
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
    if sample_weight is not None:
        sample_weight = _as_rows(sample_weight, "sample_weight")[0]
        if sample_weight.ndim != 1:
            raise ValueError(f"sample_weight must be 1-D, got shape {sample_weight.shape}")
        sample_weight = _aligned(sample_weight, X.chunks[0], "sample_weight", X.shape[0])
    return X, y, sample_weight, names


def _training_collections(X, y, sample_weight):
    """`_collections`, with a column-vector y made 1-D once, with the in-memory estimators'
    warning (their chunk-by-chunk checks would otherwise warn once per chunk)."""
    X, y, sample_weight, names = _collections(X, y, sample_weight)
    if y.ndim == 2 and y.shape[1] == 1:
        warn_at_caller(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples, ), for example using ravel().",
            DataConversionWarning,
        )
        y = y[:, 0]
    return X, y, sample_weight, names


def _predict_chunk(X, predictor, method):
    """The in-memory estimator's ``method`` on one chunk of rows."""
    if X.shape[0] == 0:
        # scikit-learn's checks refuse an empty array; one row of zeros gives
        # the result's dtype and trailing shape.
        return getattr(predictor, method)(np.zeros((1, X.shape[1])))[:0]
    return getattr(predictor, method)(X)


class DaskMLPBase:
    """The shared part of the Dask estimators; mixed in before the in-memory estimator.

    Not for direct use: see `DaskMLPClassifier` and `DaskMLPRegressor`.
    Each subclass sets ``_local_class`` (the in-memory estimator), defines
    its own ``__init__(self, client=None, **params)`` calling this one,
    and calls `finish_dask_estimator` on itself.
    """

    #: The in-memory estimator: `to_local()` returns one, and its hooks check every chunk.
    _local_class: type
    #: The fitted attributes that the in-memory estimator's checks (``_validate_input``,
    #: ``_targets``, ``_loss_convention``) and predictions read; the copy sent
    #: to the workers holds these and nothing else (no optimiser state, no
    #: feature names: the chunks are plain arrays).
    _LIGHT_STATE: tuple = ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_",
                           "mlp_")

    def __init__(self, client: Any = None, **params: Any) -> None:
        self.client = client
        super().__init__(**params)

    def __sklearn_clone__(self):
        # scikit-learn's clone deep-copies parameters, which a client (a live
        # connection) cannot be; the clone shares the same client instead.
        client = self.client
        self.client = None
        try:
            new = super().__sklearn_clone__()
        finally:
            self.client = client
        new.client = client
        return new

    def __getstate__(self):
        # A copy: object.__getstate__ may return the instance's own __dict__.
        state = dict(super().__getstate__())
        state["client"] = None  # a connection, not part of the model
        return state

    # --- the client -------------------------------------------------------------------

    def _client(self):
        if self.client is None:
            return _current_client()
        if not hasattr(self.client, "scheduler_info"):
            raise TypeError(
                f"client must be a dask.distributed Client or None, got {self.client!r}"
            )
        return self.client

    def _compute(self, *collections):
        """``dask.compute`` on the estimator's client (Dask's local scheduler without one)."""
        client = self._client()
        if client is None:
            return dask.compute(*collections)
        return dask.compute(*collections, scheduler=client)

    # --- copies of the in-memory estimator ------------------------------------------------

    def _local_params(self):
        params = self.get_params()
        params.pop("client")
        return params

    def _light_copy(self, with_params):
        """The in-memory estimator with the state its checks (and, ``with_params``, its
        predictions) read: what is sent to the workers."""
        light = self._local_class(**self._local_params())
        names = self._LIGHT_STATE + (("params_",) if with_params else ())
        for name in names:
            if name in self.__dict__:
                light.__dict__[name] = self.__dict__[name]
        return light

    def _to_local(self):
        local = self._local_class(**self._local_params())
        for key, value in self.__dict__.items():
            if key not in ("client", "bytes_sent_") and key not in local.__dict__:
                local.__dict__[key] = value
        return local

    # --- fitting -------------------------------------------------------------------------

    def _fit_collections(self, X, y, sample_weight):
        """``fit`` on dask collections: place the rows, then the core's training loop."""
        hidden_sizes = self._validate_hyperparameters()
        client = self._client()
        X, y, sample_weight, names = _training_collections(X, y, sample_weight)
        first_pass = "params_" not in self.__dict__ or not self.warm_start
        n_outputs = self._fit_outputs(y, first_pass)
        self._check_features(X, names, first_pass)
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        self._prepare_network(first_pass, (X.shape[1], *hidden_sizes, n_outputs), dtype)

        rows, runner = self._training_rows(X, y, sample_weight, client)
        try:
            self._check_some_weight(rows, sample_weight)
            self._train(rows, self._split_codes(y), incremental=False)
        finally:
            self.bytes_sent_ = runner.bytes_sent
            runner.close()
        return self

    def _check_features(self, X, names, first_pass):
        """``n_features_in_`` and ``feature_names_in_``, as the in-memory ``fit`` records them."""
        expected = self.__dict__.get("n_features_in_")
        if not first_pass and X.shape[1] != expected:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{expected} features as input."
            )
        self.n_features_in_ = X.shape[1]
        if names is not None and all(isinstance(n, str) for n in names):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif "feature_names_in_" in self.__dict__:
            del self.feature_names_in_

    def _training_rows(self, X, y, sample_weight, client):
        """The rows to train on (and their runner, to close), for the current network.

        X, y and sample_weight are dask arrays with the same row chunks (see
        ``_collections``).
        """
        preparer = self._chunk_preparer(y, sample_weight)
        weight_parts = (
            [None] * X.numblocks[0] if sample_weight is None
            else sample_weight.to_delayed().ravel()
        )
        first_rows = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
        prepared = [
            dask.delayed(prepare_chunk)(x_part, y_part, w_part, int(first_row), preparer)
            for x_part, y_part, w_part, first_row in zip(
                X.to_delayed().ravel(), y.to_delayed().ravel(), weight_parts, first_rows
            )
        ]
        if client is not None:
            runner = DistributedRunner(client, prepared, X.chunks[0])
        else:
            runner = LocalRunner(prepared, X.chunks[0])
        return ChunkedRows(runner, self.mlp_, self._validation_scorer()), runner

    def _chunk_preparer(self, y, sample_weight):
        """How each chunk is checked and converted (``_sharded_rows.ChunkPreparer``)."""
        return ChunkPreparer(self._light_copy(with_params=False))

    def _split_codes(self, y):
        """Class indices to stratify the early-stopping split on (computed), or None."""
        return None

    def _check_some_weight(self, rows, sample_weight):
        """Refuse weights that are zero for every row (each chunk alone may be all zero)."""
        if sample_weight is not None and not rows.has_positive_weight():
            raise ValueError("Sample weights must contain at least one non-zero number.")

    def _partial_fit_chunks(self, X, y, sample_weight, **first_call):
        """The in-memory ``partial_fit`` on each row chunk in turn, computed one at a time;
        ``first_call``: keywords for the first call only (the classifier's ``classes``)."""
        X, y, sample_weight, _ = _training_collections(X, y, sample_weight)
        parts = [X.to_delayed().ravel(), y.to_delayed().ravel()]
        if sample_weight is not None:
            parts.append(sample_weight.to_delayed().ravel())
        local_partial_fit = self._local_class._partial_fit
        for chunk in zip(*parts):
            values = self._compute(*chunk)
            if values[0].shape[0] == 0:
                continue
            weights = values[2] if len(values) == 3 else None
            local_partial_fit(self, values[0], values[1], weights, **first_call)
            first_call = {}
        return self

    # --- prediction ----------------------------------------------------------------------

    def _rows_for_prediction(self, X):
        """X as a dask array chunked by rows, checked against the fitted network."""
        check_is_fitted(self)
        X, _ = _as_rows(X, "X")
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has shape {X.shape}, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    def _lazy(self, method, X, columns, dtype):
        """The in-memory estimator's ``method`` mapped over the row chunks of X, lazily.

        ``columns``: the result's number of columns, or None for a 1-D result.
        Each chunk is checked and predicted by the in-memory estimator
        itself, so the predictions are `to_local()`'s.
        """
        X = self._rows_for_prediction(X)
        if columns is None:
            chunks, drop_axis = (X.chunks[0],), 1
        else:
            chunks, drop_axis = (X.chunks[0], (columns,)), None
        return X.map_blocks(
            _predict_chunk, self._light_copy(with_params=True), method,
            chunks=chunks, drop_axis=drop_axis, dtype=dtype,
            meta=np.empty((0,) * len(chunks), dtype=dtype), token=f"_{method}_chunk",
        )


def finish_dask_estimator(cls):
    """Give a Dask estimator its in-memory estimator's parameters: in ``__init__``'s
    signature (scikit-learn reads the parameter names from it) and in the docstring
    (in place of ``**params``)."""
    local = cls._local_class
    if "__init__" not in vars(cls):
        raise TypeError(f"{cls.__name__} must define its own __init__")
    cls.__init__.__signature__ = inspect.Signature(
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("client", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                              annotation="Optional[distributed.Client]"),
        ]
        + [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for name, p in inspect.signature(local.__init__).parameters.items()
            if name != "self"
        ],
        return_annotation=None,
    )
    header = "    Parameters\n    ----------\n"
    source = local.__doc__
    start = source.index(header) + len(header)
    end = source.index("\n    Attributes\n")
    doc = cls.__doc__
    placeholder = doc[doc.index("    **params\n"):doc.index("\n\n    Attributes\n")]
    cls.__doc__ = doc.replace(placeholder, source[start:end].rstrip("\n"))
    return cls
