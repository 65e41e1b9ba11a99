"""DaskMLPClassifier: MLPClassifier's network trained where the data live.

The estimator follows the convention of ``xgboost.dask`` and
``lightgbm.DaskLGBMClassifier``: the parameters of the in-memory estimator
plus ``client``; ``fit`` takes dask collections chunked by rows; the
predictions are lazy dask arrays; ``to_local()`` returns the in-memory
estimator.  The training loops are ``MLPClassifier``'s own; only the rows
they train on differ (``_sharded_rows.py``).
"""

import inspect
from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike
import dask
import dask.array as da

from ..estimators.classifier import MLPClassifier
from ..estimators.labels import check_label_types
from ..estimators._compat import LabelBinarizer, check_is_fitted
from ._sharded_rows import ChunkedRows, DistributedRunner, LocalRunner, prepare_chunk

__all__ = ["DaskMLPClassifier"]


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
    if sample_weight is not None:
        sample_weight = _as_rows(sample_weight, "sample_weight")[0]
        if sample_weight.ndim != 1:
            raise ValueError(f"sample_weight must be 1-D, got shape {sample_weight.shape}")
        sample_weight = _aligned(sample_weight, X.chunks[0], "sample_weight", X.shape[0])
    return X, y, sample_weight, names


class DaskMLPClassifier(MLPClassifier):
    """MLPClassifier trained on dask arrays, on a cluster or Dask's local scheduler.

    It takes ``client`` and every parameter of :class:`fastnn.MLPClassifier`,
    whose documentation describes them; the network, solvers and stopping
    rules are the same.

    Parameters
    ----------
    client : distributed.Client, optional
        The cluster to train on.  By default the current ``dask.distributed``
        client, if there is one; otherwise Dask's local scheduler (threads:
        fastnn's kernels and the BLAS release the GIL).
    **params
        The parameters of :class:`fastnn.MLPClassifier`, as keywords.

    Attributes
    ----------
    bytes_sent_ : int
        The NumPy bytes sent to the workers during the last ``fit``
        (parameters and row numbers): what the communication per step
        costs, times the number of steps.  The other fitted attributes
        are :class:`fastnn.MLPClassifier`'s (``classes_``, ``coefs_``,
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
      :class:`fastnn.MLPClassifier`, each worker computes the gradient of
      the rows of the minibatch it holds, and the summed gradient makes one
      update.  The result is deterministic for a given ``random_state`` and
      number of workers, and a one-worker fit equals the in-memory fit.
      Each step costs a round trip to the workers, so large batches use a
      cluster best.

    Without a distributed client every chunk is read from its source
    whenever it is needed, so arrays larger than memory (over a memory map
    or zarr) train chunk by chunk.

    A worker lost during training is survived as Dask survives it: its
    shard is recomputed from the task graph on another worker, and the fit
    continues with the same result.  The client is not pickled: an
    unpickled estimator has ``client=None``.

    Examples
    --------
    >>> import dask.array as da
    >>> from fastnn.dask import DaskMLPClassifier
    >>> from fastnn.datasets import load_digits
    >>> X, y = load_digits()
    >>> X, y = da.from_array(X / 16, chunks=600), da.from_array(y, chunks=600)
    >>> clf = DaskMLPClassifier(hidden_layer_sizes=(30,), solver="lbfgs", max_iter=300,
    ...                         random_state=0).fit(X, y)
    >>> clf.predict(X[:5])  # lazy
    dask.array<_predict_chunk, shape=(5,), dtype=int64, chunksize=(5,), chunktype=numpy.ndarray>
    >>> clf.predict(X[:5]).compute()
    array([0, 1, 2, 3, 4])
    >>> clf.score(X, y) > 0.95
    True
    >>> type(clf.to_local()).__name__
    'MLPClassifier'
    """

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

    # --- fitting -------------------------------------------------------------------

    def _client(self):
        if self.client is None:
            return _current_client()
        if not hasattr(self.client, "scheduler_info"):
            raise TypeError(
                f"client must be a dask.distributed Client or None, got {self.client!r}"
            )
        return self.client

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "DaskMLPClassifier":
        """Fit the network to dask collections chunked by rows.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples; chunks of rows (a chunked feature axis is joined
            per row chunk).
        y : dask.array.Array or dask.dataframe.Series of shape (n_samples,) or (n_samples, n_labels)
            Labels, or a 0/1 indicator matrix for multilabel classification.
        sample_weight : dask.array.Array or dask.dataframe.Series of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.

        Returns
        -------
        DaskMLPClassifier
            The fitted estimator itself.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPClassifier
        >>> X = da.from_array(np.array([[-1.0], [-0.5], [0.5], [1.0]]), chunks=2)
        >>> y = da.from_array(np.array(["no", "no", "yes", "yes"]), chunks=2)
        >>> clf = DaskMLPClassifier(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> clf.n_iter_ > 0, clf.classes_.tolist()
        (True, ['no', 'yes'])
        """
        hidden_sizes = self._validate_hyperparameters()
        client = self._client()
        X, y, sample_weight, names = _collections(X, y, sample_weight)
        first_pass = "params_" not in self.__dict__ or not self.warm_start
        self._fit_labels(y, first_pass)
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
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        n_outputs = 1 if len(self.classes_) == 2 and not self._multilabel() else len(self.classes_)
        self._prepare_network(first_pass, (X.shape[1], *hidden_sizes, n_outputs), dtype)

        rows, runner = self._training_rows(X, y, sample_weight, client)
        try:
            if (sample_weight is not None or self.class_weight is not None) and (
                not rows.has_positive_weight()
            ):
                raise ValueError("the sample and class weights give every sample a zero weight")
            codes = None
            if self.early_stopping and not self._multilabel():
                codes = self._dask_codes(y).compute()
            self._train(rows, codes, incremental=False)
        finally:
            self.bytes_sent_ = runner.bytes_sent
            runner.close()
        return self

    def _training_rows(self, X, y, sample_weight, client):
        """The rows to train on (and their runner, to close), for the current network.

        X, y and sample_weight are dask arrays with the same row chunks (see
        ``_collections``).
        """
        class_weights = self._dask_class_weights(y, sample_weight)
        softmax = self.out_activation_ == "softmax"
        weight_parts = (
            [None] * X.numblocks[0] if sample_weight is None
            else sample_weight.to_delayed().ravel()
        )
        offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
        prepared = [
            dask.delayed(prepare_chunk)(
                x_part, y_part, w_part, int(offset), self._label_binarizer, softmax,
                class_weights, self.mlp_.dtype,
            )
            for x_part, y_part, w_part, offset in zip(
                X.to_delayed().ravel(), y.to_delayed().ravel(), weight_parts, offsets
            )
        ]
        if client is not None:
            runner = DistributedRunner(client, prepared, X.chunks[0])
        else:
            runner = LocalRunner(prepared, X.chunks[0])
        return ChunkedRows(runner, self.mlp_, self._validation_scorer()), runner

    def _multilabel(self):
        return self._label_binarizer.y_type_ == "multilabel-indicator"

    def _fit_labels(self, y, first_pass):
        """classes_ and the label binarizer, from the labels' distinct values."""
        if y.ndim == 2 and y.shape[1] > 1:
            values = np.asarray(da.unique(y).compute())
            if not np.all(np.isin(values, [0, 1])):
                raise ValueError("a 2-D y is a multilabel indicator matrix and must hold 0 and 1")
            sample = np.vstack([np.zeros(y.shape[1], dtype=int), np.eye(y.shape[1], dtype=int)])
        else:
            if y.ndim == 2:
                y = y[:, 0]
            sample = np.asarray(da.unique(y).compute())
            check_label_types(sample)
        binarizer = LabelBinarizer().fit(sample)
        if first_pass:
            self._adopt_labels(binarizer)
        else:
            self._check_warm_start_classes(binarizer.classes_)

    def _dask_codes(self, y):
        """Class indices of y, lazily (for the stratified early-stopping split)."""
        if y.ndim == 2:
            y = y[:, 0]
        return y.map_blocks(_class_indices, self.classes_, dtype=np.intp)

    def _dask_class_weights(self, y, sample_weight):
        """Per-class weights for class_weight, or None."""
        if self.class_weight is None:
            return None
        if self._multilabel():
            raise ValueError("class_weight is not supported for multilabel y")
        totals = None
        if isinstance(self.class_weight, str):
            totals = da.bincount(
                self._dask_codes(y), weights=sample_weight, minlength=len(self.classes_)
            ).compute()
        return self._class_weights(None, None, totals)

    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Optional[ArrayLike] = None
    ) -> "DaskMLPClassifier":
        """One pass of ``partial_fit`` over the row chunks, in order.

        Each chunk is computed and fed to :meth:`fastnn.MLPClassifier.partial_fit`
        in this process, one chunk at a time, as dask-ml's ``Incremental``
        wrapper does.  Only for the "sgd" and "adam" solvers.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.
        y : dask.array.Array or dask.dataframe.Series of shape (n_samples,)
            Labels.
        sample_weight : dask.array.Array or dask.dataframe.Series of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.
        classes : array_like, optional
            Every class of the whole data; required on the first call.

        Returns
        -------
        DaskMLPClassifier
            The estimator itself.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPClassifier
        >>> X = da.from_array(np.array([[0.0], [1.0], [2.0], [3.0]]), chunks=2)
        >>> y = da.from_array(np.array(["a", "a", "b", "b"]), chunks=2)
        >>> clf = DaskMLPClassifier(hidden_layer_sizes=(5,), random_state=0)
        >>> clf.partial_fit(X, y, classes=["a", "b"]).t_  # samples seen
        4
        """
        X, y, sample_weight, _ = _collections(X, y, sample_weight)
        parts = [X.to_delayed().ravel(), y.to_delayed().ravel()]
        if sample_weight is not None:
            parts.append(sample_weight.to_delayed().ravel())
        for chunk in zip(*parts):
            values = dask.compute(*chunk)
            weights = values[2] if len(values) == 3 else None
            super().partial_fit(values[0], values[1], weights, classes)
            classes = None
        return self

    # --- prediction ------------------------------------------------------------------

    def _rows_for_prediction(self, X):
        check_is_fitted(self)
        X, _ = _as_rows(X, "X")
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has shape {X.shape}, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    def predict_proba(self, X: Any) -> "da.Array":  # type: ignore[override]
        """Class probabilities, lazily.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.

        Returns
        -------
        dask.array.Array of shape (n_samples, n_classes)
            Column j is the probability of ``classes_[j]``, chunked as X's
            rows, in the network's dtype.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPClassifier
        >>> X = da.from_array(np.array([[-1.0], [-0.5], [0.5], [1.0]]), chunks=2)
        >>> y = da.from_array(np.array(["no", "no", "yes", "yes"]), chunks=2)
        >>> clf = DaskMLPClassifier(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> clf.predict_proba(X).sum(axis=1).compute()
        array([1., 1., 1., 1.])
        """
        X = self._rows_for_prediction(X)
        n_columns = 2 if self.n_outputs_ == 1 else self.n_outputs_
        return X.map_blocks(
            _predict_proba_chunk, self.mlp_, self.params_, chunks=(X.chunks[0], (n_columns,)),
            dtype=self.mlp_.dtype, meta=np.empty((0, 0), dtype=self.mlp_.dtype),
        )

    def predict_log_proba(self, X: Any) -> "da.Array":  # type: ignore[override]
        """Return the logarithms of the class probabilities, lazily.

        As for :meth:`fastnn.MLPClassifier.predict_log_proba`, a probability
        that rounds to 0 gives -inf.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.

        Returns
        -------
        dask.array.Array of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, lazily.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPClassifier
        >>> X = da.from_array(np.array([[-1.0], [-0.5], [0.5], [1.0]]), chunks=2)
        >>> y = da.from_array(np.array(["no", "no", "yes", "yes"]), chunks=2)
        >>> clf = DaskMLPClassifier(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> bool(np.allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X)))
        True
        """
        return da.map_blocks(_log_without_warning, self.predict_proba(X))

    def predict(self, X: Any) -> "da.Array":  # type: ignore[override]
        """Predicted labels, lazily.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.

        Returns
        -------
        dask.array.Array of shape (n_samples,), or (n_samples, n_labels) for multilabel y
            Values from ``classes_`` (0/1 indicators for multilabel y),
            chunked as X's rows.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPClassifier
        >>> X = da.from_array(np.array([[-1.0], [-0.5], [0.5], [1.0]]), chunks=2)
        >>> y = da.from_array(np.array(["no", "no", "yes", "yes"]), chunks=2)
        >>> clf = DaskMLPClassifier(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> clf.predict(X).compute()
        array(['no', 'no', 'yes', 'yes'], dtype='<U3')
        """
        X = self._rows_for_prediction(X)
        chunks: tuple
        if self._multilabel():
            chunks, drop = (X.chunks[0], (self.n_outputs_,)), None
        else:
            chunks, drop = (X.chunks[0],), 1
        return X.map_blocks(
            _predict_chunk, self.mlp_, self.params_, self._label_binarizer, self.n_outputs_,
            chunks=chunks, drop_axis=drop, dtype=self.classes_.dtype,
            meta=np.empty((0,) * len(chunks), dtype=self.classes_.dtype),
        )

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy (subset accuracy for multilabel y) on dask collections.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.
        y : dask.array.Array or dask.dataframe.Series of shape (n_samples,) or (n_samples, n_labels)
            The true labels.
        sample_weight : dask.array.Array or dask.dataframe.Series of shape (n_samples,), optional
            Weights of the samples in the mean.

        Returns
        -------
        float
            The fraction (weighted, with sample weights) of samples
            predicted right; computed, not lazy.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPClassifier
        >>> X = da.from_array(np.array([[-1.0], [-0.5], [0.5], [1.0]]), chunks=2)
        >>> y = da.from_array(np.array(["no", "no", "yes", "yes"]), chunks=2)
        >>> clf = DaskMLPClassifier(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> clf.score(X, y)
        1.0
        """
        predicted = self.predict(X)
        y = _aligned(_as_rows(y, "y")[0], predicted.chunks[0], "y", predicted.shape[0])
        correct = predicted == y
        if correct.ndim == 2:
            correct = correct.all(axis=1)
        if sample_weight is None:
            return float(correct.mean().compute())
        w = _aligned(_as_rows(sample_weight, "sample_weight")[0], predicted.chunks[0],
                     "sample_weight", predicted.shape[0])
        hits, total = dask.compute((correct * w).sum(), w.sum())
        return float(hits / total)

    def to_local(self) -> MLPClassifier:
        """The fitted model as a :class:`fastnn.MLPClassifier` (for NumPy input).

        Returns
        -------
        fastnn.MLPClassifier
            With the same parameters (without ``client``) and fitted state.

        Examples
        --------
        >>> import numpy as np
        >>> import dask.array as da
        >>> from fastnn.dask import DaskMLPClassifier
        >>> X = da.from_array(np.array([[-1.0], [-0.5], [0.5], [1.0]]), chunks=2)
        >>> y = da.from_array(np.array(["no", "no", "yes", "yes"]), chunks=2)
        >>> clf = DaskMLPClassifier(hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
        >>> clf.to_local().predict(np.array([[2.0]]))
        array(['yes'], dtype='<U3')
        """
        params = self.get_params()
        params.pop("client")
        local = MLPClassifier(**params)
        for key, value in self.__dict__.items():
            if key not in params and key not in ("client", "bytes_sent_"):
                local.__dict__[key] = value
        return local


def _documented_parameters(doc):
    """``doc`` with ``**params`` replaced by MLPClassifier's own parameter list."""
    source = MLPClassifier.__doc__
    start = source.index("    Parameters\n    ----------\n") + len("    Parameters\n    ----------\n")
    end = source.index("\n    Attributes\n")
    placeholder = doc[doc.index("    **params\n"):doc.index("\n\n    Attributes\n")]
    return doc.replace(placeholder, source[start:end].rstrip("\n"))


DaskMLPClassifier.__doc__ = _documented_parameters(DaskMLPClassifier.__doc__)

# sklearn reads the parameter names from the signature: client, then
# MLPClassifier's parameters (keyword-only here).
DaskMLPClassifier.__init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("client", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                          annotation="Optional[distributed.Client]"),
    ]
    + [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for name, p in inspect.signature(MLPClassifier.__init__).parameters.items()
        if name != "self"
    ],
    return_annotation=None,
)


def _class_indices(labels, classes):
    return np.searchsorted(classes, labels)


def _checked_chunk(mlp, X):
    X = np.asarray(X)
    if not np.all(np.isfinite(X)):
        raise ValueError("Input X contains NaN or infinity.")
    return np.ascontiguousarray(X, dtype=mlp.dtype)


def _predict_proba_chunk(X, mlp, params):
    probabilities = mlp._predict_trusted(params, _checked_chunk(mlp, X))
    if probabilities.shape[1] == 1:
        p = probabilities[:, 0]
        return np.stack([1 - p, p], axis=1)
    return probabilities


def _predict_chunk(X, mlp, params, binarizer, n_outputs):
    probabilities = mlp._predict_trusted(params, _checked_chunk(mlp, X))
    if n_outputs == 1:
        probabilities = probabilities.ravel()
    return binarizer.inverse_transform(probabilities)


def _log_without_warning(p):
    with np.errstate(divide="ignore"):
        return np.log(p)
