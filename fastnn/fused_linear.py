"""An output layer fused with its softmax cross-entropy, in bounded memory.

``linear_cross_entropy(h, W, target)`` is ``softmax_cross_entropy(h @ W + b,
target)`` with its gradients carried back through the product, computed in
blocks so that the (N, C) logits and their gradient never exist at once.
This file validates, plans the blocks from the memory budget and runs
them; the matrix products go to the BLAS (``_blas.py``), the
softmax-minus-target of a block of whole rows to the fused cross-entropy
kernels, and the log-sum-exp of rows split over class blocks to the
two-stage reduction of ``_online_logsumexp.py``.  The derivation is in
``docs/derivations.md``.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Optional, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _dispatch
from ._blas import matmul_into
from ._config import run_kernel, threads_for
from ._dask_dispatch import lazy_module
from ._online_logsumexp import block_max_sum, merge_max_sum
from ._typing import FloatArray, IntegerLike, Reduction
from ._validation import as_array, as_float_array, is_integer, reject_masked
from ._loss_checks import (
    NO_WEIGHTS,
    check_ignore_index,
    check_index_target,
    check_reduction,
    check_smoothing,
    class_weights,
    label_error,
    unit_weights,
)

__all__ = ["linear_cross_entropy"]

_FUNC = "linear_cross_entropy"

#: The smallest row block worth running with every class at once.  Below it
#: the products that accumulate grad_W over row blocks add too few rows per
#: pass over grad_W's D x C entries to keep the BLAS busy, and the
#: class-blocked path (one more product, but short passes) takes over.
#: Provisional: to be set by measurement (benchmarks/sections/linear_xent.py).
MIN_ROWS_PER_BLOCK = 32
#: Rows per block on the class-blocked path, when the budget allows: enough
#: for the products to run at full speed, few enough to leave room for
#: wide class blocks.
CLASS_BLOCK_ROWS = 512
#: Bytes of small per-row temporaries (maxima, sums, gathered labels) budgeted
#: for each row of a block; generous, see _plan.
_ROW_SCRATCH_BYTES = 256


class _Plan(NamedTuple):
    """Block sizes: ``rows`` per block, and ``classes`` per block (all C on
    the unblocked path); ``working_bytes``: the memory planned for them."""

    rows: int
    classes: int
    class_blocked: bool
    working_bytes: int


def _plan(n_rows, n_features, n_classes, itemsize, max_memory, *, probabilities,
          convert_target, weighted, has_bias, w_contiguous_blocks, strict=True):
    """Choose the block sizes that keep the working memory within ``max_memory``.

    Counted: the per-row vectors (losses, labels, and on the class-blocked
    path the running maxima and sums), the per-class vectors (weights, a
    bias copy, partial bias gradients), and per block the logits, their
    gradient or the reduction's temporaries, a block of probability
    targets (on the unblocked path only when it must be converted) and,
    unless the weight matrix's class blocks are contiguous
    (``w_contiguous_blocks``), a copy of W's block and of its gradient
    block.  With ``strict`` False (the MLP), a budget too small is raised to
    twice the least that works instead of refused.
    """
    s = itemsize
    per_row_vectors = 16 * n_rows
    per_class_vectors = (2 * s + (8 if weighted else 0) + (s if has_bias else 0)) * n_classes
    fixed = per_row_vectors + per_class_vectors
    # Unblocked: logits and gradient of r whole rows (and the target rows).
    row_bytes = n_classes * s * (2 + int(convert_target)) + _ROW_SCRATCH_BYTES
    # Class-blocked: running maximum, sum, log-sum and target weight per row;
    # per block the logits, one temporary of the second pass and the target
    # block (the compiled max-and-sum pass needs none); per class of a block
    # W's and grad_W's columns.
    fixed_blocked = fixed + (s + 32) * n_rows
    element_bytes = s * (2 + int(probabilities))
    column_bytes = (0 if w_contiguous_blocks else 2 * n_features * s) + 2 * s

    def blocked_bytes(rows, classes):
        return fixed_blocked + rows * _ROW_SCRATCH_BYTES + classes * (rows * element_bytes
                                                                      + column_bytes)

    least = min(fixed + row_bytes, blocked_bytes(1, 1))
    if max_memory < least:
        if strict:
            raise ValueError(
                f"{_FUNC}: max_memory={max_memory} bytes is too small for N={n_rows} rows, "
                f"D={n_features} features and C={n_classes} classes: at least {least} bytes "
                "are needed (the per-row and per-class vectors, and one row and class of work)"
            )
        max_memory = 2 * least

    rows = min(n_rows, (max_memory - fixed) // row_bytes)
    if rows >= max(1, min(n_rows, MIN_ROWS_PER_BLOCK)):
        rows = _balanced(n_rows, rows)
        return _Plan(rows, n_classes, False, fixed + rows * row_bytes)
    block_rows = min(n_rows, CLASS_BLOCK_ROWS)
    while True:
        classes = (max_memory - blocked_bytes(block_rows, 0)) // (block_rows * element_bytes
                                                                 + column_bytes)
        # Square-ish blocks keep all three products efficient: halve the rows
        # until the class blocks are at least as wide.
        if classes >= min(n_classes, block_rows) or block_rows == 1:
            break
        block_rows = max(1, block_rows // 2)
    if classes < 1 or classes >= n_classes:
        # No class block fits, or one holds every class (two passes over it
        # would gain nothing): a few whole rows at a time, which fit (the
        # check of `least` above guarantees one path does).
        rows = _balanced(n_rows, rows)
        return _Plan(rows, n_classes, False, fixed + rows * row_bytes)
    block_rows, classes = _balanced(n_rows, block_rows), _balanced(n_classes, classes)
    return _Plan(block_rows, classes, True, blocked_bytes(block_rows, classes))


def _balanced(total, most):
    """The block size, at most ``most``, that splits ``total`` into as few
    blocks as ``most`` does, the last one short by less than their number.

    8,192 rows at most 8,111 to a block run as two blocks of 4,096, not as
    8,111 and 81, whose small block's products run far below the BLAS's
    speed.
    """
    if most < 1:
        return most
    blocks = -(-total // most)
    return -(-total // blocks)


def _check_max_memory(max_memory):
    if not is_integer(max_memory):
        raise TypeError(
            f"{_FUNC}: max_memory must be a positive integer number of bytes, got {max_memory!r}"
        )
    if max_memory <= 0:
        raise ValueError(
            f"{_FUNC}: max_memory must be a positive integer number of bytes, got {max_memory}"
        )
    return int(max_memory)


def _describe_dtype(original, converted):
    return str(converted) if original == converted else f"{original} (taken as {converted})"


def _float_operand(x: object, name: str) -> tuple[np.dtype[Any], NDArray[Any]]:
    """``x``'s own dtype and ``x`` as a float32 or float64 array."""
    reject_masked(x, name, _FUNC)
    given = as_array(x, name, _FUNC)
    return given.dtype, as_float_array(given, name, _FUNC)


def _check_operands(
    h: ArrayLike, W: ArrayLike, bias: Optional[ArrayLike]
) -> tuple[NDArray[Any], NDArray[Any], Optional[NDArray[Any]]]:
    """h, W and bias as float arrays of one dtype, h C-contiguous and W
    C- or Fortran-contiguous; raise naming what does not fit."""
    h_given, h_array = _float_operand(h, "h")
    if h_array.ndim != 2:
        raise ValueError(f"{_FUNC}: h must be 2-D with shape (N, D), got shape {h_array.shape}")
    W_given, W_array = _float_operand(W, "W")
    n_features = h_array.shape[1]
    if W_array.ndim != 2 or W_array.shape[0] != n_features:
        hint = ""
        if W_array.ndim == 2 and W_array.shape[1] == n_features:
            hint = "; W looks like PyTorch's (C, D) layout, pass its transpose"
        raise ValueError(
            f"{_FUNC}: W must have shape (D, C) with D={n_features}, the number of columns of "
            f"h, got shape {W_array.shape}{hint}"
        )
    dtype = h_array.dtype
    if W_array.dtype != dtype:
        raise TypeError(
            f"{_FUNC}: h and W must share one float dtype, got h "
            f"{_describe_dtype(h_given, dtype)} and W {_describe_dtype(W_given, W_array.dtype)}"
            f"; convert one of them with .astype()"
        )
    b_array = None
    if bias is not None:
        b_given, b_array = _float_operand(bias, "bias")
        if b_array.shape != (W_array.shape[1],):
            raise ValueError(
                f"{_FUNC}: bias must have shape ({W_array.shape[1]},), one per class, got shape "
                f"{b_array.shape}"
            )
        if b_array.dtype != dtype:
            raise TypeError(
                f"{_FUNC}: bias must have the dtype of h and W, {dtype}, got "
                f"{_describe_dtype(b_given, b_array.dtype)}; convert it with .astype()"
            )
        b_array = np.ascontiguousarray(b_array)
    if not (W_array.flags.c_contiguous or W_array.flags.f_contiguous):
        W_array = np.ascontiguousarray(W_array)
    return np.ascontiguousarray(h_array), W_array, b_array


def _check_probability_target(target, shape):
    if target.shape != shape:
        raise ValueError(
            f"{_FUNC}: a 2-D target holds class probabilities and must have shape (N, C) = "
            f"{shape}, got {target.shape}"
        )
    dtype = target.dtype
    # The dtypes as_float_array accepts; checked without converting, since a
    # converted copy would be as large as the logits this function avoids.
    if not (dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize <= 8)):
        raise TypeError(
            f"{_FUNC}: target must be an array of real numbers (float32, float64, float16, "
            f"integer or bool), got dtype {dtype}"
        )


# The overloads tell a type checker that "mean" and "sum" give a scalar loss
# and "none" an array of per-sample losses.
@overload
def linear_cross_entropy(
    h: ArrayLike,
    W: ArrayLike,
    target: ArrayLike,
    *,
    bias: Optional[ArrayLike] = ...,
    weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ...,
    label_smoothing: float = ...,
    ignore_index: Optional[IntegerLike] = ...,
    max_memory: IntegerLike = ...,
) -> tuple[np.floating, FloatArray, FloatArray, Optional[FloatArray]]: ...
@overload
def linear_cross_entropy(
    h: ArrayLike,
    W: ArrayLike,
    target: ArrayLike,
    *,
    bias: Optional[ArrayLike] = ...,
    weight: Optional[ArrayLike] = ...,
    reduction: Literal["none"],
    label_smoothing: float = ...,
    ignore_index: Optional[IntegerLike] = ...,
    max_memory: IntegerLike = ...,
) -> tuple[FloatArray, FloatArray, FloatArray, Optional[FloatArray]]: ...
@overload
def linear_cross_entropy(
    h: ArrayLike,
    W: ArrayLike,
    target: ArrayLike,
    *,
    bias: Optional[ArrayLike] = ...,
    weight: Optional[ArrayLike] = ...,
    reduction: Reduction,
    label_smoothing: float = ...,
    ignore_index: Optional[IntegerLike] = ...,
    max_memory: IntegerLike = ...,
) -> tuple[Union[np.floating, FloatArray], FloatArray, FloatArray, Optional[FloatArray]]: ...
def linear_cross_entropy(
    h: ArrayLike,
    W: ArrayLike,
    target: ArrayLike,
    *,
    bias: Optional[ArrayLike] = None,
    weight: Optional[ArrayLike] = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    ignore_index: Optional[IntegerLike] = None,
    max_memory: IntegerLike = 64 << 20,
) -> tuple[Union[np.floating, FloatArray], FloatArray, FloatArray, Optional[FloatArray]]:
    r"""Cross-entropy of ``softmax(h @ W + bias)`` and its gradients, in bounded memory.

    The output layer of a classifier and its loss in one call, computed in
    blocks of rows (and of classes when the classes are many) so that the
    (N, C) logits and their gradient are never held whole: for tens of
    thousands of classes they would take gigabytes.

    Parameters
    ----------
    h : array_like, shape (N, D)
        The layer's input, one sample per row.
    W : array_like, shape (D, C)
        The weight matrix, laid out as in :class:`fastnn.MLP` (``h @ W``).
        PyTorch's ``Linear.weight`` and ``F.linear_cross_entropy`` use the
        transposed layout (C, D): pass ``weight.T``.  A Fortran-ordered W
        (such as that transpose) is used without a copy.
    target : array_like, shape (N,) or (N, C)
        Integer class indices in ``[0, C)``, or class probabilities (one-hot
        or soft) with one row per sample.
    bias : array_like, shape (C,), optional
        Added to every row of logits.
    weight : array_like, shape (C,), optional
        A rescaling weight for each class, as in
        :func:`fastnn.softmax_cross_entropy`.
    reduction : {"mean", "sum", "none"}, optional
        As in :func:`fastnn.softmax_cross_entropy`: "mean" divides by the
        number of non-ignored samples (by the sum of their targets' weights
        with ``weight`` and index targets, by N with probability targets).
        "none" returns the per-sample losses, and the gradients of their
        sum.
    label_smoothing : float in [0, 1], optional
        Mixes the target with the uniform distribution:
        ``(1 - label_smoothing) * target + label_smoothing / C``.
    ignore_index : int, optional
        Samples whose class index equals this value contribute neither loss
        nor gradient and are not counted by "mean".  Index targets only.
    max_memory : int, optional
        Bytes of working memory the call may allocate, 64 MiB by default.
        The outputs (including grad_W, as large as W) are not counted.  The
        block sizes are chosen from it; a budget too small for even one row
        and one class of work raises ``ValueError``.

    Returns
    -------
    loss : float32 or float64 scalar, or ndarray of shape (N,)
        The loss, in the dtype of h; per sample for ``reduction="none"``.
    grad_h : ndarray, shape (N, D)
        Gradient of ``loss`` (of its sum, for "none") with respect to h.
    grad_W : ndarray, shape (D, C)
        Gradient with respect to W, in W's memory order.
    grad_b : ndarray of shape (C,), or None
        Gradient with respect to the bias; None when no bias is given.

    Raises
    ------
    ValueError
        If the shapes do not fit together (D of h and W, C of W, bias,
        weight and target, N of h and target), a class index lies outside
        ``[0, C)`` (and is not ``ignore_index``), ``reduction`` is unknown,
        ``label_smoothing`` lies outside [0, 1], ``max_memory`` is not
        positive or too small.  Every check runs before any computation.
    TypeError
        If h, W and bias do not share one float dtype, a 1-D target does
        not hold integers, ``max_memory`` is not an integer, or an input
        does not hold real numbers.

    Notes
    -----
    With logits :math:`z = h W + b`, the per-sample class coefficients
    :math:`q` and loss :math:`\ell` of :func:`fastnn.softmax_cross_entropy`
    and :math:`G = \partial \ell / \partial z` (rows
    :math:`(\sum_c q_c)\,\mathrm{softmax}(z) - q`, scaled by the reduction),

    .. math:: \frac{\partial \ell}{\partial h} = G W^T, \qquad
              \frac{\partial \ell}{\partial W} = h^T G, \qquad
              \frac{\partial \ell}{\partial b} = \sum_n G_n .

    Both products are sums over blocks: a block of rows contributes its
    rows of :math:`G W^T` and adds :math:`h_{\mathrm{blk}}^T G_{\mathrm{blk}}`
    to :math:`\partial \ell / \partial W`; a block of classes adds
    :math:`G_{\mathrm{blk}} W_{\mathrm{blk}}^T` to
    :math:`\partial \ell / \partial h` and gives its columns of
    :math:`\partial \ell / \partial W`.  When the logits of at least 32
    whole rows (``fastnn.fused_linear.MIN_ROWS_PER_BLOCK``, or all N) fit
    in ``max_memory``, each block of rows is computed once
    and its softmax-minus-target comes from the fused cross-entropy kernel.
    Otherwise a first pass over blocks of classes computes each row's
    log-sum-exp (merging per-block maxima and sums), and a second pass
    recomputes each block's logits and forms
    :math:`G = (\sum_c q_c)\, e^{z - \mathrm{lse}} - q` from it; that costs
    one more matrix product.  ``docs/derivations.md`` derives both.

    Inputs of another dtype (integers are taken as float64) or of a layout
    the BLAS cannot read in place (h not C-contiguous, W neither C- nor
    Fortran-contiguous) are converted first; those copies, at most the
    size of the outputs, are outside ``max_memory``.  The matrix products
    run on the BLAS's threads (``threadpoolctl`` or ``OPENBLAS_NUM_THREADS``
    set them), the fused kernel on fastnn's (:func:`fastnn.set_num_threads`);
    the two take turns, never run at once, and the class-blocked path keeps
    its elementwise steps on the calling thread, so that fastnn's pool is
    not woken between every two BLAS calls.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((6, 4))
    >>> W = rng.standard_normal((4, 10))
    >>> b = rng.standard_normal(10)
    >>> target = np.array([0, 3, 9, 3, 1, 0])
    >>> loss, grad_h, grad_W, grad_b = fastnn.linear_cross_entropy(h, W, target, bias=b)
    >>> grad_h.shape, grad_W.shape, grad_b.shape
    ((6, 4), (4, 10), (10,))

    The same numbers as the loss of the logits and the chain rule:

    >>> ref_loss, G = fastnn.softmax_cross_entropy(h @ W + b, target)
    >>> bool(np.isclose(loss, ref_loss))
    True
    >>> bool(np.allclose(grad_h, G @ W.T) and np.allclose(grad_W, h.T @ G))
    True

    A tiny budget splits the classes into blocks and gives the same result:

    >>> small = fastnn.linear_cross_entropy(h, W, target, bias=b, max_memory=4096)
    >>> bool(np.allclose(small[1], grad_h) and np.allclose(small[2], grad_W))
    True
    """
    lazy = lazy_module(h, target)
    if lazy is not None:
        return lazy.linear_cross_entropy(
            h, W, target, bias=bias, weight=weight, reduction=reduction,
            label_smoothing=label_smoothing, ignore_index=ignore_index, max_memory=max_memory,
        )
    check_reduction(reduction, _FUNC)
    smoothing = check_smoothing(label_smoothing, _FUNC)
    check_ignore_index(ignore_index, _FUNC)
    budget = _check_max_memory(max_memory)
    h, W, bias = _check_operands(h, W, bias)
    n_rows, n_classes = h.shape[0], W.shape[1]
    dtype = h.dtype
    w, w64, weight_sum = class_weights(weight, n_classes, dtype, _FUNC)
    reject_masked(target, "target", _FUNC)
    target = as_array(target, "target", _FUNC)
    labels = probs = None
    use_ignore = ignore_index is not None
    ignore = int(ignore_index) if ignore_index is not None else 0
    if target.ndim == 1:
        labels = check_index_target(target, n_rows, n_classes, _FUNC, rows_of="h")
        bad_row, denominator = _dispatch.kernels.check_labels(
            labels, n_classes, ignore, use_ignore, NO_WEIGHTS if w64 is None else w64
        )
        if bad_row >= 0:
            raise label_error(labels, bad_row, n_classes, ignore_index, _FUNC)
        # A mean over nothing is nan, as in softmax_cross_entropy.
        scale = (1.0 / denominator if denominator else np.inf) if reduction == "mean" else 1.0
    elif target.ndim == 2:
        if use_ignore:
            raise ValueError(
                f"{_FUNC}: ignore_index applies to class-index targets, not to probabilities"
            )
        _check_probability_target(target, (n_rows, n_classes))
        probs = target
        denominator = float(n_rows)
        scale = 1.0 / denominator if reduction == "mean" and n_rows else 1.0
    else:
        raise ValueError(
            f"{_FUNC}: target must be class indices of shape ({n_rows},) or probabilities of "
            f"shape ({n_rows}, {n_classes}), got an array of shape {target.shape}"
        )
    plan = _plan_for(h, W, probs, w64 is not None, bias is not None, budget, strict=True)

    row_loss, grad_h, grad_W, grad_b = _run(
        plan, h, W, bias, labels, probs, w, w64, weight_sum, smoothing, ignore, use_ignore,
        scale,
    )
    total = _dispatch.kernels.sum_losses(row_loss)
    cast = dtype.type
    if reduction == "none":
        loss: Union[np.floating, FloatArray] = row_loss.astype(dtype)
    elif reduction == "sum":
        loss = cast(total)
    else:
        loss = cast(total / denominator) if denominator else cast(np.nan)
    assert grad_h is not None and grad_W is not None
    return loss, grad_h, grad_W, grad_b


def _must_convert(probs, dtype):
    """True when probability targets are not already C-contiguous rows of ``dtype``."""
    return probs is not None and not (probs.dtype == dtype and probs.flags.c_contiguous)


def _plan_for(h, W, probs, weighted, has_bias, max_memory, strict):
    n_rows, n_features = h.shape
    n_classes = W.shape[1]
    return _plan(
        n_rows, n_features, n_classes, h.dtype.itemsize, max_memory,
        probabilities=probs is not None, convert_target=_must_convert(probs, h.dtype),
        weighted=weighted, has_bias=has_bias,
        w_contiguous_blocks=bool(W.flags.f_contiguous), strict=strict,
    )


def fused_output_layer(h, W, bias, target, scale, row_scale=None, grad_W_out=None,
                       grad_b_out=None, want_param_grads=True, want_input_grad=True,
                       max_memory=64 << 20):
    """The MLP's trusted entry: no validation, no class weights or smoothing.

    ``target`` is int64 (intp) class indices in ``[0, C)`` or an (N, C)
    array of probabilities of h's dtype; ``scale`` multiplies every row's
    gradient (1/N for a mean), ``row_scale`` (h's dtype, optional) each
    row's in turn.  The gradients are written into ``grad_W_out`` and
    ``grad_b_out`` when given (as the MLP's flat gradient's views).
    Returns ``(row_loss, grad_h)``: the unscaled float64 per-row losses and
    the input gradient (None unless wanted).  ``max_memory`` is raised to
    what the call needs when it is smaller.
    """
    h = np.ascontiguousarray(h)
    labels = probs = None
    if target.ndim == 1:
        labels = np.ascontiguousarray(target, dtype=np.int64)
    else:
        probs = target
    plan = _plan_for(h, W, probs, False, bias is not None, max_memory, strict=False)
    w = unit_weights(W.shape[1], h.dtype)
    row_loss, grad_h, _, _ = _run(
        plan, h, W, bias, labels, probs, w, None, float(W.shape[1]), 0.0, 0, False, scale,
        row_scale=row_scale, grad_W_out=grad_W_out, grad_b_out=grad_b_out,
        want_param_grads=want_param_grads, want_input_grad=want_input_grad,
    )
    return row_loss, grad_h


def _run(plan, h, W, bias, labels, probs, w, w64, weight_sum, smoothing, ignore, use_ignore,
         scale, row_scale=None, grad_W_out=None, grad_b_out=None, want_param_grads=True,
         want_input_grad=True):
    """Allocate the outputs and run the planned blocks.

    Returns ``(row_loss, grad_h, grad_W, grad_b)``, the per-row losses in
    float64 and each gradient or None when not wanted.
    """
    n_rows, n_features = h.shape
    n_classes = W.shape[1]
    dtype = h.dtype
    row_loss = np.zeros(n_rows, dtype=np.float64)
    grad_h = np.empty((n_rows, n_features), dtype=dtype) if want_input_grad else None
    grad_W = grad_b = None
    if want_param_grads:
        order = "F" if W.flags.f_contiguous and not W.flags.c_contiguous else "C"
        grad_W = grad_W_out if grad_W_out is not None else np.empty(W.shape, dtype, order=order)
        if bias is not None:
            grad_b = grad_b_out if grad_b_out is not None else np.empty(n_classes, dtype)
    if n_rows == 0 or n_classes == 0:
        # No logits: zero loss and gradients (with C = 0 every label was ignored).
        for grad in (grad_h, grad_W, grad_b):
            if grad is not None:
                grad[...] = 0
        return row_loss, grad_h, grad_W, grad_b
    blocks = _ClassBlocks if plan.class_blocked else _RowBlocks
    blocks(plan, h, W, bias, labels, probs, w, w64, weight_sum, smoothing, ignore, use_ignore,
           scale, row_scale, row_loss, grad_h, grad_W, grad_b).run()
    return row_loss, grad_h, grad_W, grad_b


class _Blocks:
    """The state shared by both block loops: inputs, outputs and buffers."""

    def __init__(self, plan, h, W, bias, labels, probs, w, w64, weight_sum, smoothing, ignore,
                 use_ignore, scale, row_scale, row_loss, grad_h, grad_W, grad_b):
        self.plan = plan
        self.h, self.W, self.bias = h, W, bias
        self.labels, self.probs = labels, probs
        self.w, self.w64, self.weighted, self.weight_sum = w, w64, w64 is not None, weight_sum
        self.smoothing, self.ignore, self.use_ignore = smoothing, ignore, use_ignore
        self.scale, self.row_scale = scale, row_scale
        self.row_loss, self.grad_h, self.grad_W, self.grad_b = row_loss, grad_h, grad_W, grad_b
        self.dtype = h.dtype
        self.n_rows, self.n_features = h.shape
        self.n_classes = W.shape[1]
        size = plan.rows * plan.classes
        self.logits_buffer = np.empty(size, dtype=self.dtype)
        # The unblocked path reads probability targets in place when it can;
        # the class-blocked path turns each block into coefficients in place.
        self.target_buffer = None
        if probs is not None and (plan.class_blocked or _must_convert(probs, self.dtype)):
            self.target_buffer = np.empty(size, dtype=self.dtype)

    def block(self, buffer, rows, classes):
        """The first rows x classes entries of a flat buffer, as a C-contiguous block."""
        return buffer[: rows * classes].reshape(rows, classes)

    def logits(self, out, h_rows, W_block, bias_block):
        """out = h_rows @ W_block (+ bias_block): the bias first, the product added to it."""
        if bias_block is None:
            return matmul_into(out, h_rows, W_block)
        np.copyto(out, bias_block)
        return matmul_into(out, h_rows, W_block, accumulate=True)

    def target_block(self, start, stop, c0, c1):
        """Rows start:stop, classes c0:c1 of the probability target in h's
        dtype: a copy in the target buffer when there is one, else a view."""
        source = self.probs[start:stop, c0:c1]
        if self.target_buffer is None:
            return source
        out = self.block(self.target_buffer, stop - start, c1 - c0)
        np.copyto(out, source, casting="unsafe")
        return out


class _RowBlocks(_Blocks):
    """Blocks of whole rows: each block's softmax-minus-target from the fused kernel."""

    def __init__(self, *args):
        super().__init__(*args)
        self.grad_buffer = np.empty(self.plan.rows * self.n_classes, dtype=self.dtype)
        self.bias_partial = (
            np.empty(self.n_classes, dtype=self.dtype) if self.grad_b is not None else None
        )

    def run(self):
        kernels = _dispatch.kernels
        n_classes = self.n_classes
        W, grad_W, grad_b = self.W, self.grad_W, self.grad_b
        for start in range(0, self.n_rows, self.plan.rows):
            stop = min(self.n_rows, start + self.plan.rows)
            rows = stop - start
            h_rows = self.h[start:stop]
            logits = self.logits(self.block(self.logits_buffer, rows, n_classes), h_rows, W,
                                 self.bias)
            grad = self.block(self.grad_buffer, rows, n_classes)
            n_threads = threads_for(rows * n_classes)
            if self.labels is not None:
                run_kernel(
                    kernels.xent_index_rows, logits, self.labels[start:stop], self.w,
                    self.weighted, self.weight_sum, self.smoothing, self.ignore, self.use_ignore,
                    self.scale, grad, self.row_loss[start:stop], n_threads,
                )
            else:
                run_kernel(
                    kernels.xent_prob_rows, logits, self.target_block(start, stop, 0, n_classes),
                    self.w, self.smoothing, self.scale, grad, self.row_loss[start:stop],
                    n_threads,
                )
            if self.row_scale is not None:
                grad *= self.row_scale[start:stop, None]
            if self.grad_h is not None:
                matmul_into(self.grad_h[start:stop], grad, W.T)
            if grad_W is not None:
                matmul_into(grad_W, h_rows.T, grad, accumulate=start > 0)
            if grad_b is not None:
                if start == 0:
                    np.sum(grad, axis=0, out=grad_b)
                else:
                    grad_b += np.sum(grad, axis=0, out=self.bias_partial)


class _ClassBlocks(_Blocks):
    """Blocks of rows and classes, in two passes over the class blocks.

    The first pass merges each row's maximum and sum of exponentials over
    the class blocks (and, for probability targets, the weighted target
    sum); the second recomputes every block's logits, adds its terms of
    the loss, and forms its gradient block from the row's log-sum-exp.
    Classes are the outer loop, so that each block of W is read (and each
    block of grad_W written) once per pass, while the rows are streamed.
    """

    def __init__(self, *args):
        super().__init__(*args)
        D, classes = self.n_features, self.plan.classes
        self.W_buffer = None if self.W.flags.f_contiguous else np.empty(D * classes, self.dtype)
        self.grad_W_buffer = None
        if self.grad_W is not None and not self.grad_W.flags.f_contiguous:
            self.grad_W_buffer = np.empty(D * classes, self.dtype)
        self.bias_partial = np.empty(classes, self.dtype) if self.grad_b is not None else None

    def W_block(self, c0, c1):
        block = self.W[:, c0:c1]
        if block.flags.f_contiguous or block.flags.c_contiguous:
            return block
        out = self.block(self.W_buffer, self.n_features, c1 - c0)
        np.copyto(out, block)
        return out

    def class_blocks(self):
        for c0 in range(0, self.n_classes, self.plan.classes):
            yield c0, min(self.n_classes, c0 + self.plan.classes)

    def row_blocks(self):
        for start in range(0, self.n_rows, self.plan.rows):
            yield start, min(self.n_rows, start + self.plan.rows)

    def run(self):
        # Every step mirrors the fused kernel, which never warns: a mean over
        # no samples (scale inf) or non-finite logits give nan where the
        # kernel does, without a RuntimeWarning.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            self.first_pass()
            self.second_pass()

    def first_pass(self):
        n_rows = self.n_rows
        self.row_max = np.full(n_rows, -np.inf, dtype=self.dtype)
        row_sum_less_one = np.full(n_rows, -1.0)
        target_sum = np.zeros(n_rows) if self.probs is not None else None
        for c0, c1 in self.class_blocks():
            W_block = self.W_block(c0, c1)
            bias_block = None if self.bias is None else self.bias[c0:c1]
            for start, stop in self.row_blocks():
                logits = self.logits(self.block(self.logits_buffer, stop - start, c1 - c0),
                                     self.h[start:stop], W_block, bias_block)
                block_max, block_sum = block_max_sum(logits, axis=1)
                self.row_max[start:stop], row_sum_less_one[start:stop] = merge_max_sum(
                    self.row_max[start:stop], row_sum_less_one[start:stop],
                    block_max[:, 0], block_sum[:, 0],
                )
                if target_sum is not None:
                    t = self.target_block(start, stop, c0, c1)
                    if self.weighted:
                        target_sum[start:stop] += np.einsum("ij,j->i", t, self.w[c0:c1])
                    else:
                        target_sum[start:stop] += np.sum(t, axis=1, dtype=np.float64)
        # log of the sum of exp(z - row_max): lse = row_max + log_sum.
        self.log_sum = np.log1p(row_sum_less_one)
        keep = 1.0 - self.smoothing
        spread = self.smoothing / self.n_classes
        if self.labels is not None:
            self.kept = self.labels != self.ignore if self.use_ignore else None
            safe_labels = self.labels if self.kept is None else np.where(self.kept, self.labels, 0)
            label_weight = self.w64[safe_labels] if self.weighted else np.ones(n_rows)
            # As in the kernel: without smoothing only the label's weight enters.
            self.target_weight = keep * label_weight
            q_sum = self.target_weight.copy()
            if self.smoothing != 0.0:
                q_sum += spread * self.weight_sum
            if self.kept is not None:
                q_sum[~self.kept] = 0.0
        else:
            q_sum = keep * target_sum + spread * self.weight_sum
        self.grad_factor = self.scale * q_sum

    def second_pass(self):
        kernels = _dispatch.kernels
        keep = 1.0 - self.smoothing
        spread = self.smoothing / self.n_classes
        dtype = self.dtype
        grad_W, grad_b, grad_h = self.grad_W, self.grad_b, self.grad_h
        for c0, c1 in self.class_blocks():
            classes = c1 - c0
            W_block = self.W_block(c0, c1)
            bias_block = None if self.bias is None else self.bias[c0:c1]
            w_block = self.w[c0:c1]
            grad_W_block = None
            copy_grad_W = False
            if grad_W is not None:
                grad_W_block = grad_W[:, c0:c1]
                if not (grad_W_block.flags.f_contiguous or grad_W_block.flags.c_contiguous):
                    # BLAS writes contiguous blocks only: accumulate apart, copy once.
                    grad_W_block = self.block(self.grad_W_buffer, self.n_features, classes)
                    copy_grad_W = True
            for start, stop in self.row_blocks():
                rows = stop - start
                z = self.logits(self.block(self.logits_buffer, rows, classes),
                                self.h[start:stop], W_block, bias_block)
                z -= self.row_max[start:stop, None]
                log_sum = self.log_sum[start:stop]
                loss = self.row_loss[start:stop]
                # The loss: -sum_c q_c log p_c = sum_c q_c (log_sum - (z_c - max)),
                # two non-negative terms per class, as in the kernel.
                if self.labels is not None:
                    labels = self.labels[start:stop]
                    inside = (labels >= c0) & (labels < c1)
                    if self.kept is not None:
                        inside &= self.kept[start:stop]
                    rows_in = np.flatnonzero(inside)
                    cols_in = labels[rows_in] - c0
                    label_coef = self.target_weight[start:stop][rows_in]
                    shifted = z[rows_in, cols_in].astype(np.float64)
                    # A label of zero weight adds nothing, even with a -inf logit.
                    loss[rows_in] += np.where(
                        label_coef != 0.0, label_coef * (log_sum[rows_in] - shifted), 0.0
                    )
                    if self.smoothing != 0.0:
                        if self.weighted:
                            weighted_z = np.einsum("ij,j->i", z, w_block).astype(np.float64)
                            block_weight = float(np.sum(self.w64[c0:c1]))
                        else:
                            weighted_z = np.sum(z, axis=1, dtype=np.float64)
                            block_weight = float(classes)
                        loss += spread * (block_weight * log_sum - weighted_z)
                else:
                    q = self.target_block(start, stop, c0, c1)  # a copy: changed in place
                    q *= dtype.type(keep)
                    q += dtype.type(spread)
                    if self.weighted:
                        q *= w_block
                    loss += (np.sum(q, axis=1, dtype=np.float64) * log_sum
                             - np.einsum("ij,ij->i", q, z).astype(np.float64))
                # The gradient: scale * (q_sum * exp(z - lse) - q).
                np.subtract(z, log_sum[:, None], out=z, casting="same_kind")
                flat = z.reshape(-1)
                # Serial, like the NumPy steps around it: waking fastnn's
                # thread pool for one step of many, between BLAS calls, would
                # mostly set the two pools spinning against each other.
                kernels.exp(flat, flat, 1)
                z *= self.grad_factor[start:stop, None].astype(dtype)
                if self.labels is not None:
                    if self.smoothing != 0.0:
                        z -= dtype.type(self.scale * spread) * w_block
                    z[rows_in, cols_in] -= (self.scale * label_coef).astype(dtype)
                    if self.kept is not None:
                        z[~self.kept[start:stop]] = 0.0
                else:
                    q *= dtype.type(self.scale)
                    z -= q
                if self.row_scale is not None:
                    z *= self.row_scale[start:stop, None]
                if grad_W_block is not None:
                    matmul_into(grad_W_block, self.h[start:stop].T, z, accumulate=start > 0)
                if grad_b is not None:
                    if start == 0:
                        np.sum(z, axis=0, out=grad_b[c0:c1])
                    else:
                        grad_b[c0:c1] += np.sum(z, axis=0, out=self.bias_partial[:classes])
                if grad_h is not None:
                    matmul_into(grad_h[start:stop], z, W_block.T, accumulate=c0 > 0)
            if copy_grad_W:
                grad_W[:, c0:c1] = grad_W_block
        if self.labels is not None and self.kept is not None:
            self.row_loss[~self.kept] = 0.0
