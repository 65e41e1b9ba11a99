"""fastnn's kernels on chunked dask arrays, lazily.

Each function checks what the array's metadata can tell (dtype, shape,
axis, argument values) at once, as the NumPy functions do, and returns a
lazy dask array whose tasks run the compiled kernels chunk by chunk.

The softmax family is a reduction along its axis.  When that axis lies in
one chunk, every chunk is an independent call.  When it is split, each
chunk first yields its rows' maximum and sum of exponentials; those
partial pairs are merged with the online-softmax rule (see
``fastnn._online_logsumexp``), and one blockwise pass normalises.  The
data are read twice and never gathered into whole rows.
"""

from __future__ import annotations

import operator
from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike
import dask
import dask.array as da
from dask.array.core import handle_out

from .. import _dispatch
from .. import activations as _activations
from .. import fused_linear as _fused_linear
from .. import _loss_checks
from .. import losses as _losses
from .. import reductions as _reductions
from .._online_logsumexp import block_max_sum, merge_max_sum
from .._typing import IntegerLike, Reduction
from .._validation import as_float_array

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
]


def _as_dask(x, name, func):
    """``x`` as a dask array (array-likes are wrapped as one chunk)."""
    if isinstance(x, da.Array):
        return x
    if isinstance(x, np.ma.MaskedArray):
        # Same message as the NumPy functions give.
        as_float_array(x, name, func)
    return da.asarray(x)


def _float_dtype(dtype, name, func):
    """The dtype fastnn computes ``dtype`` in, with the NumPy functions' errors."""
    return as_float_array(np.empty(0, dtype=dtype), name, func).dtype


def _check_out(out, result, func):
    """``result``, stored in ``out`` when that is a dask array (as dask's ufuncs do)."""
    if out is None:
        return result
    if not isinstance(out, da.Array):
        raise TypeError(
            f"{func}: out must be a dask array for a dask input (the result is lazy), got "
            f"{type(out).__name__}"
        )
    if out.dtype != result.dtype:
        raise ValueError(f"{func}: out has dtype {out.dtype}; expected {result.dtype}")
    return handle_out(out, result)


# --- softmax and log-softmax ---------------------------------------------------


def _row_statistics(block, axis, where=None):
    """One chunk's (max, sum of exps less one), side by side along ``axis``.

    Stacked into one float64 array (two entries along ``axis``) so that a
    chunk is a single task; the maximum is exact in float64 either way.
    """
    m, s_less_one = block_max_sum(block, axis, where)
    return np.concatenate([m.astype(np.float64), s_less_one], axis=axis)


def _merge_statistics(stats, axis):
    """Fold a row of chunks' (max, sum less one) pairs into one pair."""
    n_chunks = stats.shape[axis] // 2
    take = lambda j: np.take(stats, [j], axis=axis)  # noqa: E731
    m, s_less_one = take(0), take(1)
    for j in range(1, n_chunks):
        m, s_less_one = merge_max_sum(m, s_less_one, take(2 * j), take(2 * j + 1))
    return np.concatenate([m, s_less_one], axis=axis)


def _normalise(block, stats, axis, log_output, where=None):
    """softmax or log_softmax of one chunk, given its rows' merged statistics."""
    dtype = block.dtype.type
    m = np.take(stats, [0], axis=axis)
    s_less_one = np.take(stats, [1], axis=axis)
    if where is not None:
        block = np.where(where, block, dtype(-np.inf))
    # Rows where nothing takes part (every entry excluded by where) get
    # probability 0, as the NumPy function's "safe softmax" gives.
    empty = (m == -np.inf) & (s_less_one == -1.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = np.subtract(block, m.astype(block.dtype), dtype=block.dtype)
        if log_output:
            result = np.subtract(shifted, np.log1p(s_less_one).astype(block.dtype), out=shifted)
        else:
            result = _exp_inplace(shifted)
            result *= (1.0 / (1.0 + s_less_one)).astype(block.dtype)
    if empty.any():
        np.copyto(result, dtype(-np.inf if log_output else 0.0), where=empty)
    return result


def _exp_inplace(x):
    """exp(x) in place through the compiled kernel (NumPy's exp for strided x)."""
    if x.flags.c_contiguous and x.size:
        flat = x.reshape(-1)
        _dispatch.kernels.exp(flat, flat, 1)
        return x
    return np.exp(x, out=x)


def _merged_statistics(args, axis):
    """Each row's merged (max, sum less one), two entries along ``axis``.

    ``args`` is ``[x]`` or ``[x, where]`` (``where`` already broadcast and
    chunked as ``x``).  Stage 1 reduces every chunk to its pairs; stage 2
    merges a row's pairs, which are small (two numbers per chunk of the
    axis) and so are joined into one chunk along the axis.
    """
    x = args[0]
    stats_chunks = tuple(
        (2,) * len(c) if i == axis else c for i, c in enumerate(x.chunks)
    )
    stats = da.map_blocks(
        lambda block, mask=None: _row_statistics(block, axis, mask),
        *args, chunks=stats_chunks, dtype=np.float64,
        meta=np.empty((0,) * x.ndim, dtype=np.float64),
    )
    stats = stats.rechunk({axis: -1})
    merged_chunks = tuple((2,) if i == axis else c for i, c in enumerate(x.chunks))
    return stats.map_blocks(
        _merge_statistics, axis, chunks=merged_chunks, dtype=np.float64,
        meta=np.empty((0,) * x.ndim, dtype=np.float64),
    )


def _broadcast_where(where, x, func):
    """``where`` as a boolean dask array of x's shape and chunks."""
    where = _as_dask(where, "where", func)
    if where.dtype != np.bool_:
        raise TypeError(f"{func}: where must be a boolean array, got dtype {where.dtype}")
    try:
        return da.broadcast_to(where, x.shape).rechunk(x.chunks)
    except ValueError:
        raise ValueError(
            f"{func}: where has shape {where.shape}, which does not broadcast to x's "
            f"shape {x.shape}"
        ) from None


def _finish_logsumexp(merged, axis):
    """``m + log1p(s_less_one)`` in float64; the maximum itself where it is infinite."""
    m = np.take(merged, [0], axis=axis)
    s_less_one = np.take(merged, [1], axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = m + np.log1p(s_less_one)
    return np.where(np.isinf(m), m, result)


def logsumexp(
    x: Any,
    axis: Any = -1,
    *,
    keepdims: bool = False,
    where: Any = None,
    out: Optional[da.Array] = None,
) -> da.Array:
    """Lazy :func:`fastnn.logsumexp` of a dask array.

    Parameters
    ----------
    x : dask.array.Array
        The values; array-likes are wrapped as one chunk.
    axis : int, tuple of ints or None, optional
        Axis or axes to reduce over (None: all).  Each may be split into
        chunks: every chunk yields its maximum and sum of exponentials, and
        the pairs are merged with the online-softmax rule.  Several axes are
        reduced one after another, in float64.
    keepdims : bool, optional
        Keep the reduced axes, with length 1.
    where : array_like of bool, optional
        Broadcastable to ``x``; only True entries are summed.
    out : dask.array.Array, optional
        A dask array that receives the result.

    Returns
    -------
    dask.array.Array
        Lazy, in float32 for float32 input and float64 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> import fastnn.dask
    >>> x = da.from_array(np.array([[0.0, -40.0, -60.0]]), chunks=(1, 1))
    >>> fastnn.dask.logsumexp(x).compute()  # the dominated tail is kept
    array([4.24835426e-18])
    """
    func = "logsumexp"
    x = _as_dask(x, "x", func)
    dtype = _float_dtype(x.dtype, "x", func)
    axes = _reductions._check_axes(axis, x.ndim, func)
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"{func}: keepdims must be True or False, got {keepdims!r}")
    values = x.astype(np.float64)
    args = [values] if where is None else [values, _broadcast_where(where, x, func)]
    for axis_index in axes:
        if values.shape[axis_index] == 0:
            values = da.full(
                tuple(1 if i == axis_index else n for i, n in enumerate(values.shape)),
                -np.inf, chunks=tuple(
                    (1,) if i == axis_index else c for i, c in enumerate(values.chunks)),
            )
        else:
            merged = _merged_statistics(args, axis_index)
            values = merged.map_blocks(
                _finish_logsumexp, axis_index,
                chunks=tuple((1,) if i == axis_index else c
                             for i, c in enumerate(merged.chunks)),
                dtype=np.float64, meta=np.empty((0,) * x.ndim, dtype=np.float64),
            )
        args = [values]  # excluded entries are -inf now, and add nothing
    result = values.astype(dtype)
    if not keepdims:
        result = result.squeeze(axis=axes)
    return _check_out(out, result, func)


def _softmax_family(x, axis, out, where, log_output, func):
    x = _as_dask(x, "x", func)
    dtype = _float_dtype(x.dtype, "x", func)
    axis = _activations._check_axis(axis, x.ndim, func)
    x = x.astype(dtype)
    args = [x]
    if where is not None:
        where = _broadcast_where(where, x, func)
        args.append(where)
    if x.numblocks[axis] == 1 or x.size == 0:
        kernel = _activations.log_softmax if log_output else _activations.softmax
        result = da.map_blocks(
            lambda block, mask=None: kernel(block, axis, where=mask),
            *args, dtype=dtype, meta=np.empty((0,) * x.ndim, dtype=dtype),
        )
        return _check_out(out, result, func)

    merged = _merged_statistics(args, axis)
    # Stage 3: normalise every chunk of x blockwise against the merge,
    # broadcast the one merged block along the axis to every chunk of x.
    index = "".join(chr(ord("a") + i) for i in range(x.ndim))
    stats_index = index[:axis] + "z" + index[axis + 1 :]
    blockwise_args = [x, index, merged, stats_index]
    if where is not None:
        blockwise_args += [where, index]
    result = da.blockwise(
        lambda block, stats_block, mask=None: _normalise(
            block, stats_block, axis, log_output, mask
        ),
        index, *blockwise_args, dtype=dtype, concatenate=True,
        meta=np.empty((0,) * x.ndim, dtype=dtype),
    )
    return _check_out(out, result, func)


def softmax(
    x: Any, axis: IntegerLike = -1, *, out: Optional[da.Array] = None, where: Any = None
) -> da.Array:
    """Lazy :func:`fastnn.softmax` of a dask array.

    Parameters
    ----------
    x : dask.array.Array
        The scores; array-likes are wrapped as one chunk.
    axis : int, optional
        The axis the probabilities sum to 1 along.  It may be split into
        several chunks: the rows are then reduced in two stages (each
        chunk's maximum and sum of exponentials, merged with the
        online-softmax rule) and never gathered into one chunk.
    out : dask.array.Array, optional
        A dask array that receives the result, as for dask's ufuncs.
    where : array_like of bool, optional
        Broadcastable to ``x``; entries where it is False take no part and
        get probability 0 (rows with no entry get 0 throughout).

    Returns
    -------
    dask.array.Array
        Lazy, with ``x``'s chunks, in float32 for float32 input and float64
        otherwise.

    Examples
    --------
    >>> import dask.array as da
    >>> import fastnn.dask
    >>> x = da.from_array([[1.0, 2.0, 3.0, 4.0]], chunks=(1, 2))
    >>> p = fastnn.dask.softmax(x)
    >>> p.numblocks
    (1, 2)
    >>> float(p.sum().compute())
    1.0
    """
    return _softmax_family(x, axis, out, where, False, "softmax")


def log_softmax(
    x: Any, axis: IntegerLike = -1, *, out: Optional[da.Array] = None, where: Any = None
) -> da.Array:
    """Lazy :func:`fastnn.log_softmax` of a dask array.

    Parameters
    ----------
    x : dask.array.Array
        The scores; array-likes are wrapped as one chunk.
    axis : int, optional
        The axis to normalise along; it may be split into several chunks
        (see :func:`softmax`).
    out : dask.array.Array, optional
        A dask array that receives the result.
    where : array_like of bool, optional
        Broadcastable to ``x``; excluded entries get ``-inf``.

    Returns
    -------
    dask.array.Array
        Lazy, with ``x``'s chunks and fastnn's dtype rules.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> import fastnn.dask
    >>> x = da.from_array(np.array([[0.0, -40.0, -60.0]]), chunks=(1, 1))
    >>> fastnn.dask.log_softmax(x)[0, 0].compute()  # log1p keeps the dominant entry's tail
    np.float64(-4.2483542640481e-18)
    """
    return _softmax_family(x, axis, out, where, True, "log_softmax")


# --- elementwise kernels ----------------------------------------------------------


def _elementwise(kernel, out, func, names, *arrays):
    arrays = [_as_dask(a, name, func) for a, name in zip(arrays, names)]
    dtypes = [_float_dtype(a.dtype, name, func) for a, name in zip(arrays, names)]
    if len(arrays) == 2 and arrays[0].shape != arrays[1].shape:
        raise ValueError(
            f"{func}: {names[0]} and {names[1]} must have the same shape, got "
            f"{arrays[0].shape} and {arrays[1].shape}"
        )
    dtype = np.result_type(*dtypes)
    arrays = [arrays[0]] + [a.rechunk(arrays[0].chunks) for a in arrays[1:]]
    result = da.map_blocks(
        kernel, *arrays, dtype=dtype, meta=np.empty((0,) * arrays[0].ndim, dtype=dtype)
    )
    return _check_out(out, result, func)


def sigmoid(x: Any, *, out: Optional[da.Array] = None) -> da.Array:
    """Lazy :func:`fastnn.sigmoid` of a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array
        Any shape and chunks.
    out : dask.array.Array, optional
        A dask array that receives the result.

    Returns
    -------
    dask.array.Array
        ``1 / (1 + exp(-x))``, lazy, with ``x``'s chunks.

    Examples
    --------
    >>> import dask.array as da
    >>> import fastnn.dask
    >>> fastnn.dask.sigmoid(da.zeros(4, chunks=2)).compute()
    array([0.5, 0.5, 0.5, 0.5])
    """
    return _elementwise(_activations.sigmoid, out, "sigmoid", ("x",), x)


def sigmoid_grad(s: Any, *, out: Optional[da.Array] = None) -> da.Array:
    """Lazy :func:`fastnn.sigmoid_grad`: ``s * (1 - s)`` chunk by chunk.

    Parameters
    ----------
    s : dask.array.Array
        Sigmoid outputs.
    out : dask.array.Array, optional
        A dask array that receives the result.

    Returns
    -------
    dask.array.Array
        Lazy, with ``s``'s chunks.

    Examples
    --------
    >>> import dask.array as da
    >>> import fastnn.dask
    >>> fastnn.dask.sigmoid_grad(da.full(2, 0.5, chunks=1)).compute()
    array([0.25, 0.25])
    """
    return _elementwise(_activations.sigmoid_grad, out, "sigmoid_grad", ("s",), s)


def sigmoid_backward(grad_out: Any, s: Any, *, out: Optional[da.Array] = None) -> da.Array:
    """Lazy :func:`fastnn.sigmoid_backward`: ``grad_out * s * (1 - s)``.

    Parameters
    ----------
    grad_out : dask.array.Array
        Gradient with respect to the sigmoid's output.
    s : dask.array.Array
        The sigmoid's output, same shape (the chunks are aligned).
    out : dask.array.Array, optional
        A dask array that receives the result.

    Returns
    -------
    dask.array.Array
        Lazy gradient with respect to the sigmoid's input.

    Examples
    --------
    >>> import dask.array as da
    >>> import fastnn.dask
    >>> fastnn.dask.sigmoid_backward(da.ones(2, chunks=1), da.full(2, 0.5, chunks=1)).compute()
    array([0.25, 0.25])
    """
    return _elementwise(
        _activations.sigmoid_backward, out, "sigmoid_backward", ("grad_out", "s"), grad_out, s
    )


# --- losses ------------------------------------------------------------------------


def _row_blocks(logits, target):
    """Logits with whole rows per chunk, and the target chunked by the same rows."""
    if logits.numblocks[1] != 1:
        # A row's loss needs all its classes; rows stay split as they were.
        logits = logits.rechunk({1: -1})
    row_chunks = logits.chunks[0]
    if target.ndim == 1:
        target = target.rechunk((row_chunks,))
    else:
        target = target.rechunk((row_chunks, -1))
    return logits, target


def _per_block(func, arrays, dtype, *args):
    """Run ``func`` on every block of ``arrays`` (same chunks): (loss part, grad block).

    Returns the list of per-block loss parts (lazy, in block order) and the
    gradient assembled from the grad blocks, with the arrays' chunks.  Both
    come from one task per block, so computing them together reads each
    block once.
    """
    first = arrays[0]
    grids = [a.to_delayed() for a in arrays]
    tasks = np.empty(first.numblocks, dtype=object)
    grad_blocks = np.empty(first.numblocks, dtype=object)
    for index in np.ndindex(*first.numblocks):
        task = dask.delayed(func, nout=2)(*(grid[index] for grid in grids), index, *args)
        shape = tuple(first.chunks[d][i] for d, i in enumerate(index))
        tasks[index] = task[0]
        grad_blocks[index] = da.from_delayed(task[1], shape, dtype)
    if first.size == 0:
        return [], da.zeros(first.shape, dtype=dtype)
    return list(tasks.ravel()), da.block(grad_blocks.tolist())


def _xent_chunk(logits, target, index, offsets, denominator, kwargs):
    """One row chunk's loss and gradient; "mean" over the global denominator."""
    reduction, ignore_index = kwargs["reduction"], kwargs["ignore_index"]
    _check_chunk_labels(target, logits.shape[1], ignore_index, offsets[index[0]],
                        "softmax_cross_entropy")
    local = dict(kwargs, reduction="none" if reduction == "none" else "sum")
    loss, grad = _losses.softmax_cross_entropy(logits, target, **local)
    kept = None
    if ignore_index is not None and target.ndim == 1:
        kept = target != ignore_index
    return loss, _scaled(grad, reduction, denominator, kept)


def _check_chunk_labels(target, n_classes, ignore_index, offset, func):
    """Range-check a chunk's class indices, naming a bad row by its place in
    the whole array (the chunk's own call would number it within the chunk)."""
    if target.ndim != 1:
        return
    bad = (target < 0) | (target >= n_classes)
    if ignore_index is not None:
        bad &= target != ignore_index
    if bad.any():
        raise _loss_checks.label_error(target, int(np.argmax(bad)), n_classes, ignore_index,
                                         func=func, offset=offset)


def _mean_denominator(target, n_classes, kwargs):
    """The lazy "mean" denominator of the whole target, or None for other reductions."""
    if kwargs["reduction"] != "mean":
        return None
    return dask.delayed(sum)([
        dask.delayed(_xent_denominator)(part, n_classes, kwargs)
        for part in target.to_delayed().ravel()
    ])


def _scaled(grad, reduction, denominator, kept=None):
    """The gradient of the sum, rescaled to that of the global mean.

    As in the NumPy functions, a mean over nothing (a zero denominator)
    makes the gradient nan, except on the ``kept == False`` (ignored) rows,
    which stay zero.
    """
    if reduction == "mean":
        scale = grad.dtype.type(1.0 / denominator if denominator else np.inf)
        with np.errstate(invalid="ignore"):
            if kept is None:
                grad *= scale
            else:
                grad[kept] *= scale
    return grad


def _xent_denominator(target, n_classes, kwargs):
    """This chunk's share of the "mean" denominator, by the kernel the NumPy
    function counts it with (0 for a chunk with a bad label: its loss task
    raises the range error)."""
    if target.ndim == 2:
        return float(target.shape[0])
    ignore_index, weight = kwargs["ignore_index"], kwargs["weight"]
    bad_row, denominator = _dispatch.kernels.check_labels(
        np.ascontiguousarray(target, dtype=np.int64),
        n_classes,
        0 if ignore_index is None else int(ignore_index),
        ignore_index is not None,
        _loss_checks.NO_WEIGHTS if weight is None
        else np.ascontiguousarray(weight, dtype=np.float64),
    )
    return 0.0 if bad_row >= 0 else float(denominator)


def _total(parts, denominator, dtype):
    """The reduced loss from the chunks' sums, in the logits' dtype."""
    total = float(np.sum(np.asarray(parts, dtype=np.float64)))
    if denominator is None:
        return dtype.type(total)
    return dtype.type(total / denominator if denominator else np.nan)


def _reduced(parts, reduction, denominator, dtype):
    """Lazy loss: the per-element parts joined ("none"), or a lazy scalar."""
    if reduction == "none":
        return parts
    return da.from_delayed(dask.delayed(_total)(parts, denominator, dtype), (), dtype)


def softmax_cross_entropy(
    logits: Any,
    target: Any,
    *,
    reduction: Reduction = "mean",
    weight: Optional[ArrayLike] = None,
    label_smoothing: float = 0.0,
    ignore_index: Optional[IntegerLike] = None,
) -> tuple["da.Array", "da.Array"]:
    """Lazy :func:`fastnn.softmax_cross_entropy` over row chunks.

    Parameters
    ----------
    logits : dask.array.Array of shape (N, C)
        Chunked by rows (a chunked class axis is joined per row chunk).
    target : dask.array.Array of shape (N,) or (N, C)
        Class indices or probabilities, rechunked to the logits' rows.
    reduction : {"mean", "sum", "none"}, optional
        As for the NumPy function; "mean" divides by the denominator of the
        whole array (the non-ignored rows, or their targets' total weight),
        so the result equals one call on the gathered data.
    weight : array_like of shape (C,), optional
        Class weights, sent to every chunk.
    label_smoothing : float, optional
        As for the NumPy function.
    ignore_index : int, optional
        As for the NumPy function.

    Returns
    -------
    loss : dask.array.Array
        A lazy scalar, or the per-row losses of shape (N,) for "none".
    grad : dask.array.Array
        The lazy gradient with respect to the logits, chunked by the
        logits' rows.

    Examples
    --------
    >>> import numpy as np
    >>> import dask
    >>> import dask.array as da
    >>> import fastnn, fastnn.dask
    >>> z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    >>> y = np.array([0, 1])
    >>> loss, grad = fastnn.dask.softmax_cross_entropy(da.from_array(z, chunks=1), y)
    >>> loss, grad = dask.compute(loss, grad)
    >>> bool(np.isclose(loss, fastnn.softmax_cross_entropy(z, y)[0]))
    True
    """
    func = "softmax_cross_entropy"
    logits = _as_dask(logits, "logits", func)
    target = _as_dask(target, "target", func)
    dtype = _float_dtype(logits.dtype, "logits", func)
    if logits.ndim != 2:
        raise ValueError(f"{func}: logits must be 2-D with shape (N, C), got shape {logits.shape}")
    n_rows, n_classes = logits.shape
    if target.ndim == 1:
        if target.dtype.kind not in "iu":
            raise TypeError(
                f"{func}: a 1-D target holds class indices and must be integers, got dtype "
                f"{target.dtype}"
            )
    elif target.ndim == 2 and target.shape == logits.shape:
        _float_dtype(target.dtype, "target", func)
    if target.shape not in ((n_rows,), logits.shape):
        raise ValueError(
            f"{func}: target must be class indices of shape ({n_rows},) or probabilities of "
            f"shape {logits.shape}, got an array of shape {target.shape}"
        )
    if isinstance(weight, da.Array):
        weight = weight.compute()
    kwargs: dict[str, Any] = dict(reduction=reduction, weight=weight,
                                  label_smoothing=label_smoothing, ignore_index=ignore_index)
    # Every check of the arguments the NumPy function makes, run on no rows
    # now, so that mistakes surface here and not at compute time.
    probe = np.zeros((0,) + target.shape[1:], dtype=np.int64 if target.ndim == 1 else dtype)
    _losses.softmax_cross_entropy(np.zeros((0, n_classes), dtype=dtype), probe, **kwargs)
    logits, target = _row_blocks(logits.astype(dtype), target)
    offsets = np.concatenate([[0], np.cumsum(logits.chunks[0])]).astype(int)
    denominator = _mean_denominator(target, n_classes, kwargs)
    target_2d = target if target.ndim == 2 else target[:, None]
    parts, grad = _per_block(
        lambda z, t, index, *args: _xent_chunk(z, t if t.shape == z.shape else t[:, 0],
                                               index, *args),
        [logits, target_2d], dtype, offsets, denominator, kwargs,
    )
    if reduction == "none":
        rows = [
            da.from_delayed(part, (n,), dtype) for part, n in zip(parts, logits.chunks[0])
        ]
        return (da.concatenate(rows) if rows else da.zeros((0,), dtype=dtype)), grad
    return _reduced(parts, reduction, denominator, dtype), grad


def _bce_chunk(logits, target, weight, pos_weight, index, reduction, denominator):
    local = "none" if reduction == "none" else "sum"
    loss, grad = _losses.sigmoid_binary_cross_entropy(
        logits, target, weight=weight, pos_weight=pos_weight, reduction=local
    )
    return loss, _scaled(grad, reduction, denominator)


def sigmoid_binary_cross_entropy(
    logits: Any,
    target: Any,
    *,
    weight: Any = None,
    pos_weight: Any = None,
    reduction: Reduction = "mean",
) -> tuple["da.Array", "da.Array"]:
    """Lazy :func:`fastnn.sigmoid_binary_cross_entropy`, chunk by chunk.

    Parameters
    ----------
    logits : dask.array.Array
        Any shape and chunks.
    target : dask.array.Array
        Targets in [0, 1], of the logits' shape (rechunked to match).
    weight, pos_weight : array_like, optional
        Broadcast to the logits' shape, as for the NumPy function.
    reduction : {"mean", "sum", "none"}, optional
        "mean" divides by the number of elements of the whole array.

    Returns
    -------
    loss : dask.array.Array
        A lazy scalar, or the elementwise losses for "none".
    grad : dask.array.Array
        The lazy gradient with respect to the logits, with their chunks.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> import fastnn.dask
    >>> z = da.from_array(np.array([[2.0, -1.0], [0.5, 3.0]]), chunks=1)
    >>> t = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> loss, grad = fastnn.dask.sigmoid_binary_cross_entropy(z, t)
    >>> round(float(loss.compute()), 6)
    0.365714
    """
    func = "sigmoid_binary_cross_entropy"
    logits = _as_dask(logits, "logits", func)
    target = _as_dask(target, "target", func)
    dtype = _float_dtype(logits.dtype, "logits", func)
    _float_dtype(target.dtype, "target", func)
    if target.shape != logits.shape:
        raise ValueError(
            f"{func}: target must have the logits' shape {logits.shape}, got {target.shape}"
        )
    arrays = [logits.astype(dtype), target]
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is None:
            arrays.append(None)
            continue
        value = _as_dask(value, name, func)
        _float_dtype(value.dtype, name, func)
        try:
            arrays.append(da.broadcast_to(value, logits.shape))
        except ValueError:
            raise ValueError(
                f"{func}: {name} has shape {value.shape}, which does not broadcast to the "
                f"logits' shape {logits.shape}"
            ) from None
    # The NumPy function's remaining checks (reduction, weights that overflow
    # the dtype: those are checked per chunk at compute time), on one element.
    _losses.sigmoid_binary_cross_entropy(
        np.zeros(1, dtype=dtype), np.zeros(1), reduction=reduction
    )
    present = [a.rechunk(logits.chunks) for a in arrays if a is not None]
    has_weight, has_pos_weight = arrays[2] is not None, arrays[3] is not None
    denominator = float(logits.size) if reduction == "mean" else None

    def chunk(z, t, *rest):
        rest = list(rest)
        w = rest.pop(0) if has_weight else None
        pw = rest.pop(0) if has_pos_weight else None
        return _bce_chunk(z, t, w, pw, *rest)

    parts, grad = _per_block(chunk, present, dtype, reduction, denominator)
    if reduction == "none":
        losses = np.empty(logits.numblocks, dtype=object)
        for position, (index, part) in enumerate(zip(np.ndindex(*logits.numblocks), parts)):
            shape = tuple(logits.chunks[d][i] for d, i in enumerate(index))
            losses[index] = da.from_delayed(part, shape, dtype)
        if logits.size == 0:
            return da.zeros(logits.shape, dtype=dtype), grad
        return da.block(losses.tolist()), grad
    return _reduced(parts, reduction, denominator, dtype), grad


def _linear_xent_chunk(h, target, offset, denominator, W, kwargs):
    """One row chunk's loss and gradients; "mean" over the global denominator."""
    reduction = kwargs["reduction"]
    _check_chunk_labels(target, W.shape[1], kwargs["ignore_index"], offset,
                        "linear_cross_entropy")
    if reduction == "mean" and not denominator:
        # A mean over nothing: every chunk's own denominator is 0 too, so the
        # chunk's mean has the NumPy function's nan (or zero) gradients.
        local = kwargs
    else:
        local = dict(kwargs, reduction="none" if reduction == "none" else "sum")
    loss, grad_h, grad_W, grad_b = _fused_linear.linear_cross_entropy(h, W, target, **local)
    if reduction == "mean" and denominator:
        scale = grad_h.dtype.type(1.0 / denominator)
        for grad in (grad_h, grad_W, grad_b):
            if grad is not None:
                grad *= scale
    return loss, grad_h, grad_W, grad_b


def _add_all(arrays):
    """The sum of the chunks' parameter gradients (None stays None)."""
    if arrays[0] is None:
        return None
    total = arrays[0].copy()
    for a in arrays[1:]:
        total += a
    return total


def linear_cross_entropy(
    h: Any,
    W: ArrayLike,
    target: Any,
    *,
    bias: Optional[ArrayLike] = None,
    weight: Optional[ArrayLike] = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    ignore_index: Optional[IntegerLike] = None,
    max_memory: IntegerLike = 64 << 20,
) -> tuple["da.Array", "da.Array", "da.Array", Optional[da.Array]]:
    """Lazy :func:`fastnn.linear_cross_entropy` over row chunks of ``h``.

    Parameters
    ----------
    h : dask.array.Array of shape (N, D)
        The layer's input, chunked by rows (a chunked feature axis is
        joined per row chunk).
    W : array_like of shape (D, C)
        The weight matrix, sent to every chunk.
    target : dask.array.Array of shape (N,) or (N, C)
        Class indices or probabilities, rechunked to h's rows.
    bias : array_like of shape (C,), optional
        Added to every row of logits.
    weight : array_like of shape (C,), optional
        Class weights.
    reduction : {"mean", "sum", "none"}, optional
        As for the NumPy function; "mean" divides by the denominator of the
        whole array.
    label_smoothing : float, optional
        As for the NumPy function.
    ignore_index : int, optional
        As for the NumPy function.
    max_memory : int, optional
        The working-memory budget of each chunk's call.

    Returns
    -------
    loss : dask.array.Array
        A lazy scalar, or the per-row losses for "none".
    grad_h : dask.array.Array
        Chunked as h's rows.
    grad_W : dask.array.Array
        The chunks' gradients summed, one (D, C) chunk.
    grad_b : dask.array.Array or None
        None without ``bias``.

    Examples
    --------
    >>> import numpy as np
    >>> import dask
    >>> import dask.array as da
    >>> import fastnn, fastnn.dask
    >>> rng = np.random.default_rng(0)
    >>> h, W, y = rng.normal(size=(6, 3)), rng.normal(size=(3, 4)), np.array([0, 1, 2, 3, 0, 1])
    >>> lazy = fastnn.dask.linear_cross_entropy(da.from_array(h, chunks=2), W, y)
    >>> loss, grad_h, grad_W, _ = dask.compute(*lazy[:3], None)
    >>> bool(np.isclose(loss, fastnn.linear_cross_entropy(h, W, y)[0]))
    True
    """
    func = "linear_cross_entropy"
    h = _as_dask(h, "h", func)
    target = _as_dask(target, "target", func)
    # The weight matrix, bias and class weights go whole to every chunk.
    weights = np.asarray(W.compute() if isinstance(W, da.Array) else W)
    biases, class_weights = (
        None if a is None else np.asarray(a.compute() if isinstance(a, da.Array) else a)
        for a in (bias, weight)
    )
    dtype = _float_dtype(h.dtype, "h", func)
    if h.ndim != 2:
        raise ValueError(f"{func}: h must be 2-D with shape (N, D), got shape {h.shape}")
    if target.ndim == 1 and target.dtype.kind not in "iu":
        raise TypeError(
            f"{func}: a 1-D target holds class indices and must be integers, got dtype "
            f"{target.dtype}"
        )
    if target.shape[:1] != h.shape[:1] or target.ndim not in (1, 2):
        raise ValueError(
            f"{func}: target must have one row per row of h ({h.shape[0]}), got shape "
            f"{target.shape}"
        )
    kwargs: dict[str, Any] = dict(bias=biases, weight=class_weights, reduction=reduction,
                                  label_smoothing=label_smoothing, ignore_index=ignore_index,
                                  max_memory=max_memory)
    # Every check of the arguments the NumPy function makes, run on no rows.
    probe = np.zeros((0,) + target.shape[1:], dtype=np.int64 if target.ndim == 1 else dtype)
    _fused_linear.linear_cross_entropy(np.zeros((0, h.shape[1]), dtype=dtype), weights, probe,
                                       **kwargs)
    n_classes = weights.shape[1]
    h, target = _row_blocks(h.astype(dtype), target)
    row_chunks = h.chunks[0]
    offsets = np.concatenate([[0], np.cumsum(row_chunks)]).astype(int)
    denominator = _mean_denominator(target, n_classes, kwargs)
    tasks = [
        dask.delayed(_linear_xent_chunk, nout=4)(part_h, part_t, int(offset), denominator,
                                                 weights, kwargs)
        for part_h, part_t, offset in zip(
            h.to_delayed().ravel(), target.to_delayed().ravel(), offsets
        )
    ]
    out_dtype = np.result_type(dtype, weights.dtype)
    grad_h = da.concatenate([
        da.from_delayed(task[1], (n, h.shape[1]), out_dtype)
        for task, n in zip(tasks, row_chunks)
    ])
    grad_W = da.from_delayed(dask.delayed(_add_all)([task[2] for task in tasks]),
                             weights.shape, out_dtype)
    grad_b = None
    if biases is not None:
        grad_b = da.from_delayed(dask.delayed(_add_all)([task[3] for task in tasks]),
                                 biases.shape, out_dtype)
    losses = [task[0] for task in tasks]
    if reduction == "none":
        loss = da.concatenate([
            da.from_delayed(part, (n,), out_dtype) for part, n in zip(losses, row_chunks)
        ])
    else:
        loss = _reduced(losses, reduction, denominator, np.dtype(out_dtype))
    return loss, grad_h, grad_W, grad_b
