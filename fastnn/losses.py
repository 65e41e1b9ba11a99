"""The fused softmax cross-entropy: validation, allocation, dispatch."""

from __future__ import annotations

from typing import Literal, Optional, Union, overload

import numpy as np
from numpy.typing import ArrayLike

from . import _dispatch
from ._config import PARALLEL_MIN_ELEMENTS, run_kernel, threads_for
from ._dask_dispatch import lazy_module
from ._typing import FloatArray, IntegerLike, Reduction
from ._loss_checks import (
    NO_WEIGHTS,
    broadcast_weight,
    check_ignore_index,
    check_index_target,
    check_reduction,
    check_smoothing,
    class_weights,
    label_error,
)
from ._validation import as_array, as_float_array, reject_masked

__all__ = ["softmax_cross_entropy", "sigmoid_binary_cross_entropy"]

_FUNC = "softmax_cross_entropy"
_FAST_REDUCTION = {"none": 0, "sum": 1, "mean": 2}
# The overloads tell a type checker that "mean" and "sum" give a scalar loss
# and "none" an array of per-sample losses.
@overload
def softmax_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    reduction: Literal["mean", "sum"] = ...,
    weight: Optional[ArrayLike] = ...,
    label_smoothing: float = ...,
    ignore_index: Optional[IntegerLike] = ...,
) -> tuple[np.floating, FloatArray]: ...
@overload
def softmax_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    reduction: Literal["none"],
    weight: Optional[ArrayLike] = ...,
    label_smoothing: float = ...,
    ignore_index: Optional[IntegerLike] = ...,
) -> tuple[FloatArray, FloatArray]: ...
@overload
def softmax_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    reduction: Reduction,
    weight: Optional[ArrayLike] = ...,
    label_smoothing: float = ...,
    ignore_index: Optional[IntegerLike] = ...,
) -> tuple[Union[np.floating, FloatArray], FloatArray]: ...
def softmax_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    reduction: Reduction = "mean",
    weight: Optional[ArrayLike] = None,
    label_smoothing: float = 0.0,
    ignore_index: Optional[IntegerLike] = None,
) -> tuple[Union[np.floating, FloatArray], FloatArray]:
    r"""Cross-entropy of ``softmax(logits)`` and its gradient, in one fused pass.

    Parameters
    ----------
    logits : array_like, shape (N, C)
        Unnormalised scores; float32 stays float32, everything else as in
        :func:`fastnn.softmax`.
    target : array_like, shape (N,) or (N, C)
        Integer class indices in ``[0, C)``, or class probabilities (one-hot
        or soft) with one row per sample.
    reduction : {"mean", "sum", "none"}, optional
        How the per-sample losses are combined.  "mean" divides by the
        number of non-ignored samples, or with ``weight`` and index targets
        by the sum of their targets' weights; with probability targets it
        divides by N.  "none" returns the per-sample losses.
    weight : array_like, shape (C,), optional
        A rescaling weight for each class, taken in float64.  With class
        indices and no label smoothing only the weights of the labels
        present enter, so an infinite weight for a class absent from the
        batch changes nothing; with smoothing or probability targets every
        weight enters, as in PyTorch.  A finite weight too large for the
        logits' dtype raises ``ValueError``.
    label_smoothing : float in [0, 1], optional
        Mixes the target with the uniform distribution:
        ``(1 - label_smoothing) * target + label_smoothing / C``.
    ignore_index : int, optional
        Samples whose class index equals this value contribute neither loss
        nor gradient and are not counted by "mean".  Index targets only.

    Returns
    -------
    loss : float32 or float64 scalar, or ndarray of shape (N,)
        The loss, in the dtype of the logits; per sample for
        ``reduction="none"``.
    grad : ndarray, shape (N, C)
        Gradient of ``loss`` (of its sum, for "none") with respect to the
        logits.

    Raises
    ------
    ValueError
        If a class index lies outside ``[0, C)`` (and is not
        ``ignore_index``): checked for every sample before anything is
        written.  Also for shapes that do not match, an unknown reduction,
        or ``label_smoothing`` outside [0, 1].
    TypeError
        If a 1-D target does not hold integers, or the inputs are not real
        numbers.

    Notes
    -----
    The semantics are those of PyTorch's ``torch.nn.functional.cross_entropy``.
    With :math:`p = \mathrm{softmax}(z)` and the per-sample class
    coefficients :math:`q_c = w_c \left((1 - \epsilon) y_c + \epsilon / C\right)`
    (:math:`y` one-hot or given probabilities), the loss of a sample is

    .. math:: \ell = -\sum_c q_c \log p_c, \qquad
              \frac{\partial \ell}{\partial z_j} = p_j \sum_c q_c - q_j .

    With one-hot :math:`y` and no weights or smoothing this is the familiar
    :math:`\hat y - y`; for a soft target it is
    :math:`(\sum_c y_c)\,\hat y - y`.  The kernel computes
    :math:`\log p_c = z_c - m - \log \sum_j e^{z_j - m}` with the row
    maximum :math:`m`, writes :math:`e^{z_j - m}` straight into the gradient
    and rescales it in place, so logits are read twice and the gradient
    written once.  As in PyTorch, a mean over no samples is nan: with every
    sample ignored the gradient is zero, with a zero total weight it is nan.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    >>> loss, grad = fastnn.softmax_cross_entropy(logits, np.array([0, 1]))
    >>> round(float(loss), 6)
    0.31854
    >>> grad
    array([[-0.17049943,  0.12121649,  0.04928295],
           [ 0.05430187, -0.09876047,  0.04445861]])

    Each row of the gradient sums to zero, and the per-sample losses are
    available too:

    >>> bool(np.allclose(grad.sum(axis=1), 0.0))
    True
    >>> fastnn.softmax_cross_entropy(logits, np.array([0, 1]), reduction="none")[0]
    array([0.41703002, 0.22004952])
    """
    if (
        weight is None
        and ignore_index is None
        and type(label_smoothing) in (int, float)
        and label_smoothing == 0
        and type(reduction) is str
    ):
        # Small float logits with int64 labels go straight to the kernel.
        fast = _dispatch.kernels.xent_small(
            logits, target, _FAST_REDUCTION.get(reduction, -1), PARALLEL_MIN_ELEMENTS
        )
        if fast is not None:
            total, grad, row_loss = fast
            return _reduce(reduction, total, row_loss, float(len(row_loss)), grad)
    lazy = lazy_module(logits, target, weight)
    if lazy is not None:
        return lazy.softmax_cross_entropy(
            logits, target, reduction=reduction, weight=weight, label_smoothing=label_smoothing,
            ignore_index=ignore_index,
        )
    z = as_float_array(logits, "logits", _FUNC)
    if z.ndim != 2:
        raise ValueError(f"{_FUNC}: logits must be 2-D with shape (N, C), got shape {z.shape}")
    z = np.ascontiguousarray(z)
    n_rows, n_classes = z.shape
    check_reduction(reduction, _FUNC)
    smoothing = check_smoothing(label_smoothing, _FUNC)
    w, w64, weight_sum = class_weights(weight, n_classes, z.dtype, _FUNC)
    check_ignore_index(ignore_index, _FUNC)

    reject_masked(target, "target", _FUNC)
    target = as_array(target, "target", _FUNC)
    kernels = _dispatch.kernels
    grad = np.empty_like(z)
    row_loss = np.empty(n_rows, dtype=np.float64)
    n_threads = threads_for(z.size)
    if target.ndim == 1:
        labels = check_index_target(target, n_rows, n_classes, _FUNC)
        use_ignore = ignore_index is not None
        ignore = int(ignore_index) if ignore_index is not None else 0
        bad_row, denominator = kernels.check_labels(
            labels,
            n_classes,
            ignore,
            use_ignore,
            NO_WEIGHTS if w64 is None else w64,
        )
        if bad_row >= 0:
            raise label_error(labels, bad_row, n_classes, ignore_index, _FUNC)
        # A mean over nothing (all ignored, or zero total weight) is nan, as in
        # PyTorch; an infinite scale makes the kept rows' gradient nan too,
        # while ignored rows keep their zero gradient.
        scale = (1.0 / denominator if denominator else np.inf) if reduction == "mean" else 1.0
        if n_classes:
            run_kernel(
                kernels.xent_index_rows, z, labels, w, weight is not None, weight_sum, smoothing,
                ignore, use_ignore, scale, grad, row_loss, n_threads,
            )
        else:  # every label was ignored (none can lie in [0, 0))
            row_loss[:] = 0.0
    elif target.ndim == 2:
        if ignore_index is not None:
            raise ValueError(
                f"{_FUNC}: ignore_index applies to class-index targets, not to probabilities"
            )
        if target.shape != z.shape:
            raise ValueError(
                f"{_FUNC}: a 2-D target holds class probabilities and must have the logits' "
                f"shape {z.shape}, got {target.shape}"
            )
        probs = np.ascontiguousarray(as_float_array(target, "target", _FUNC), dtype=z.dtype)
        denominator = float(n_rows)
        scale = 1.0 / denominator if reduction == "mean" and n_rows else 1.0
        if n_classes:
            run_kernel(
                kernels.xent_prob_rows, z, probs, w, smoothing, scale, grad, row_loss, n_threads
            )
        else:
            row_loss[:] = 0.0
    else:
        raise ValueError(
            f"{_FUNC}: target must be class indices of shape ({n_rows},) or probabilities of "
            f"shape {z.shape}, got an array of shape {target.shape}"
        )

    return _reduce(reduction, kernels.sum_losses(row_loss), row_loss, denominator, grad)


def _reduce(reduction, total, row_loss, denominator, grad):
    """The reduced loss, in the gradient's dtype, from the per-sample losses
    and their sum (computed by the kernels the same way on every path)."""
    dtype = grad.dtype.type
    if reduction == "none":
        return row_loss.astype(dtype), grad
    if reduction == "sum":
        return dtype(total), grad
    if denominator == 0:
        return dtype(np.nan), grad
    return dtype(total / denominator), grad


_BCE = "sigmoid_binary_cross_entropy"


@overload
def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: Optional[ArrayLike] = ...,
    pos_weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ...,
) -> tuple[np.floating, FloatArray]: ...
@overload
def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: Optional[ArrayLike] = ...,
    pos_weight: Optional[ArrayLike] = ...,
    reduction: Literal["none"],
) -> tuple[FloatArray, FloatArray]: ...
@overload
def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: Optional[ArrayLike] = ...,
    pos_weight: Optional[ArrayLike] = ...,
    reduction: Reduction,
) -> tuple[Union[np.floating, FloatArray], FloatArray]: ...
def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    weight: Optional[ArrayLike] = None,
    pos_weight: Optional[ArrayLike] = None,
    reduction: Reduction = "mean",
) -> tuple[Union[np.floating, FloatArray], FloatArray]:
    r"""Binary cross-entropy of ``sigmoid(logits)`` and its gradient, in one pass.

    Parameters
    ----------
    logits : array_like
        Unnormalised scores of any shape; float32 stays float32, everything
        else as in :func:`fastnn.softmax`.
    target : array_like
        Targets in [0, 1] (0/1 labels or probabilities), of the logits'
        shape.  Integers and booleans are accepted.
    weight : array_like, optional
        A rescaling weight for each element, broadcast to the logits' shape
        (a per-sample weight of shape (N, 1), a per-output weight of shape
        (C,), or a full array).
    pos_weight : array_like, optional
        A weight for the positive part of each element's loss, broadcast to
        the logits' shape; usually one per output, of shape (C,).  Values
        above 1 raise recall, below 1 precision.
    reduction : {"mean", "sum", "none"}, optional
        "mean" divides the sum of the elementwise losses by their number
        (weights do not change the denominator), "sum" adds them, "none"
        returns them.

    Returns
    -------
    loss : float32 or float64 scalar, or ndarray
        The loss, in the dtype of the logits; elementwise, of the logits'
        shape, for ``reduction="none"``.
    grad : ndarray
        Gradient of ``loss`` (of its sum, for "none") with respect to the
        logits.

    Raises
    ------
    ValueError
        If ``target`` does not have the logits' shape, ``weight`` or
        ``pos_weight`` does not broadcast to it, a finite weight overflows
        the logits' dtype, or ``reduction`` is unknown.
    TypeError
        If an argument does not hold real numbers.

    Notes
    -----
    The semantics are those of PyTorch's
    ``torch.nn.functional.binary_cross_entropy_with_logits``.  With
    :math:`\sigma(z) = 1 / (1 + e^{-z})`, weight :math:`w` and positive
    weight :math:`p`, the loss of an element and its derivative are

    .. math:: \ell = -w \left[p\, t \log \sigma(z) + (1 - t) \log(1 - \sigma(z))\right],
              \qquad
              \frac{\partial \ell}{\partial z} = w \left[(1 - t)\,\sigma(z) - p\, t\, \sigma(-z)\right].

    With :math:`e = e^{-|z|} \le 1`, :math:`-\log \sigma(\pm z) = \max(\mp z, 0) +
    \operatorname{log1p}(e)` and :math:`\sigma(|z|) = 1 / (1 + e)`,
    :math:`\sigma(-|z|) = e / (1 + e)`: nothing overflows, and for targets in
    [0, 1] every term is non-negative, so nothing cancels either.  Without
    ``pos_weight`` and with 0/1 targets the gradient is the familiar
    :math:`\sigma(z) - t`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> logits = np.array([[2.0, -1.0], [0.5, 3.0]])
    >>> target = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> loss, grad = fastnn.sigmoid_binary_cross_entropy(logits, target)
    >>> round(float(loss), 6)
    0.365714
    >>> bool(np.allclose(grad, (fastnn.sigmoid(logits) - target) / 4))
    True

    Large logits neither overflow nor lose the loss of a confident mistake:

    >>> fastnn.sigmoid_binary_cross_entropy(np.array([800.0]), np.array([0.0]))[0]
    np.float64(800.0)
    """
    lazy = lazy_module(logits, target, weight, pos_weight)
    if lazy is not None:
        return lazy.sigmoid_binary_cross_entropy(
            logits, target, weight=weight, pos_weight=pos_weight, reduction=reduction
        )
    check_reduction(reduction, _BCE)
    z = as_float_array(logits, "logits", _BCE)
    t = as_float_array(target, "target", _BCE)
    if t.shape != z.shape:
        raise ValueError(
            f"{_BCE}: target must have the logits' shape {z.shape}, got {t.shape}"
        )
    dtype = z.dtype
    shape = z.shape
    flat_z = np.ascontiguousarray(z).reshape(-1)
    flat_t = np.ascontiguousarray(t, dtype=dtype).reshape(-1)
    none = np.empty(0, dtype=dtype)
    w = none if weight is None else broadcast_weight(weight, "weight", shape, dtype, _BCE)
    pw = (
        none if pos_weight is None
        else broadcast_weight(pos_weight, "pos_weight", shape, dtype, _BCE)
    )
    n = flat_z.size
    kernels = _dispatch.kernels
    grad = np.empty(shape, dtype=dtype)
    elements = np.empty(shape, dtype=dtype) if reduction == "none" else none
    chunk = kernels.element_count_per_chunk()
    chunk_loss = np.zeros((n + chunk - 1) // chunk, dtype=np.float64)
    scale = 1.0 / n if reduction == "mean" and n else 1.0
    run_kernel(
        kernels.binary_xent, flat_z, flat_t, w, pw, scale, grad.reshape(-1),
        elements.reshape(-1), chunk_loss, threads_for(n),
    )
    if reduction == "none":
        return elements, grad
    total = kernels.sum_losses(chunk_loss)
    if reduction == "sum":
        return dtype.type(total), grad
    return dtype.type(total / n if n else np.nan), grad
