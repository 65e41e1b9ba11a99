"""DaskMLPClassifier: MLPClassifier's network trained where the data live.

The estimator follows the convention of ``xgboost.dask`` and
``lightgbm.DaskLGBMClassifier``: the parameters of the in-memory estimator
plus ``client``; ``fit`` takes dask collections chunked by rows; the
predictions are lazy dask arrays; ``to_local()`` returns the in-memory
estimator.  Everything but the labels lives in the shared base
(``_base.py``); the training loops and every check are ``MLPClassifier``'s
own, and only the rows they train on differ (``_sharded_rows.py``).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike
import dask.array as da

from ..estimators._base import _stochastic_only
from ..estimators._compat import LabelBinarizer, check_is_fitted
from ..estimators.classifier import MLPClassifier
from ..estimators.labels import check_label_types, class_codes
from ._base import DaskMLPBase, _aligned, _as_rows, finish_dask_estimator
from ._sharded_rows import ChunkPreparer

__all__ = ["DaskMLPClassifier"]


class _ClassWeightedChunks(ChunkPreparer):
    """Chunks whose rows also weigh their class's weight, from ``class_weight``.

    The weight of each class is computed once over the whole data (for
    "balanced", from the class totals) and sent with every chunk.
    """

    def __init__(self, checker, class_weights):
        super().__init__(checker)
        self.class_weights = class_weights

    def row_weights(self, weights, Y):
        per_row = self.class_weights[class_codes(Y)]
        return per_row if weights is None else weights * per_row


class DaskMLPClassifier(DaskMLPBase, MLPClassifier):
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

    Each chunk is checked by :class:`fastnn.MLPClassifier`'s own input
    checks, where it lives; an error names the chunk's first row.
    ``partial_fit`` exists for ``"sgd"`` and ``"adam"`` only, as
    :class:`fastnn.MLPClassifier`'s does.

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

    _local_class = MLPClassifier
    _LIGHT_STATE = DaskMLPBase._LIGHT_STATE + ("classes_", "_label_binarizer")

    def __init__(self, client: Any = None, **params: Any) -> None:
        super().__init__(client, **params)

    # --- labels and class weights: the hooks of the Dask base -----------------------

    def _fit_outputs(self, y, first_pass):
        """classes_ and the label binarizer, from the labels' distinct values; the
        number of outputs."""
        if y.ndim == 2:
            values = np.asarray(self._compute(da.unique(y))[0])
            if not np.all(np.isin(values, [0, 1])):
                raise ValueError("a 2-D y is a multilabel indicator matrix and must hold 0 and 1")
            sample = np.vstack([np.zeros(y.shape[1], dtype=int), np.eye(y.shape[1], dtype=int)])
        else:
            sample = np.asarray(self._compute(da.unique(y))[0])
            check_label_types(sample)
        binarizer = LabelBinarizer().fit(sample)
        if first_pass:
            self._adopt_labels(binarizer)
        else:
            self._check_warm_start_classes(binarizer.classes_)
        if len(self.classes_) == 2 and not self._multilabel():
            return 1
        return len(self.classes_)

    def _dask_codes(self, y):
        """Class indices of y, lazily."""
        return y.map_blocks(_class_indices, self.classes_, dtype=np.intp)

    def _split_codes(self, y):
        if not self.early_stopping or self._multilabel():
            return None
        return self._compute(self._dask_codes(y))[0]

    def _chunk_preparer(self, y, sample_weight):
        checker = self._light_copy(with_params=False)
        if self.class_weight is None:
            return ChunkPreparer(checker)
        if self._multilabel():
            raise ValueError("class_weight is not supported for multilabel y")
        totals = None
        if isinstance(self.class_weight, str):
            totals = self._compute(da.bincount(
                self._dask_codes(y), weights=sample_weight, minlength=len(self.classes_)
            ))[0]
        return _ClassWeightedChunks(checker, self._class_weights(None, None, totals))

    def _check_some_weight(self, rows, sample_weight):
        if (sample_weight is not None or self.class_weight is not None) and (
            not rows.has_positive_weight()
        ):
            raise ValueError("the sample and class weights give every sample a zero weight")

    # --- fitting -------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DaskMLPClassifier:
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
        return self._fit_collections(X, y, sample_weight)

    def _partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Optional[ArrayLike] = None
    ) -> DaskMLPClassifier:
        """One pass of ``partial_fit`` over the row chunks, in order.

        Each chunk is computed and fed to :meth:`fastnn.MLPClassifier.partial_fit`
        in this process, one chunk at a time, as dask-ml's ``Incremental``
        wrapper does.  Only for the "sgd" and "adam" solvers.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, one per row, chunked by rows.
        y : dask.array.Array or dask.dataframe.Series of shape (n_samples,) or (n_samples, n_labels)
            Labels, or a 0/1 indicator matrix for multilabel classification.
        sample_weight : dask.array.Array or dask.dataframe.Series of shape (n_samples,), optional
            Non-negative weight of each sample in the loss.
        classes : array_like, optional
            Every class of the whole data; required on the first call
            (except for multilabel y).

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
        first_call = {} if classes is None else {"classes": classes}
        return self._partial_fit_chunks(X, y, sample_weight, **first_call)

    partial_fit = _stochastic_only(_partial_fit)

    # --- prediction ------------------------------------------------------------------

    def predict_proba(self, X: Any) -> da.Array:  # type: ignore[override]
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
        return self._lazy("predict_proba", X, self._n_columns(), self.mlp_.dtype)

    def _n_columns(self):
        check_is_fitted(self)
        return 2 if self.n_outputs_ == 1 else self.n_outputs_

    def predict_log_proba(self, X: Any) -> da.Array:  # type: ignore[override]
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
        return self._lazy("predict_log_proba", X, self._n_columns(), self.mlp_.dtype)

    def predict(self, X: Any) -> da.Array:  # type: ignore[override]
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
        check_is_fitted(self)
        columns = self.n_outputs_ if self._multilabel() else None
        return self._lazy("predict", X, columns, self.classes_.dtype)

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
            predicted right; computed (on the client's workers), not lazy.

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
            return float(self._compute(correct.mean())[0])
        w = _aligned(_as_rows(sample_weight, "sample_weight")[0], predicted.chunks[0],
                     "sample_weight", predicted.shape[0])
        hits, total = self._compute((correct * w).sum(), w.sum())
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
        return self._to_local()


finish_dask_estimator(DaskMLPClassifier)


def _class_indices(labels, classes):
    return np.searchsorted(classes, labels)
