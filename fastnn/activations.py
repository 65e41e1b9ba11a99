"""Softmax, log-softmax and the sigmoid: validation, allocation, dispatch.

Each function here checks its arguments, picks a memory layout the compiled
kernels can run on without copying (C order, or Fortran order through the
transpose), allocates the result and calls the active kernel variant.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike
from numpy.exceptions import AxisError
from numpy.lib.array_utils import normalize_axis_index

from . import _dispatch
from ._dask_dispatch import lazy_module
from ._config import (
    PARALLEL_MIN_ELEMENTS,
    PARALLEL_MIN_ELEMENTS_CHEAP,
    PARALLEL_MIN_ELEMENTS_SIGMOID,
    run_kernel,
    threads_for,
)
from ._typing import FloatArray, IntegerLike
from ._validation import (
    as_float_array,
    check_same_shape,
    contiguous_order,
    overlaps_elsewhere,
    result_array,
    where_mask,
)

__all__ = ["softmax", "log_softmax", "sigmoid", "sigmoid_grad", "sigmoid_backward"]


def _check_axis(axis, ndim, func):
    if type(axis) is int and axis == -1 and ndim:  # the default, without the general checks
        return ndim - 1
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{func}: axis must be an integer, got {axis!r}")
    axis = int(axis)
    if ndim == 0:
        raise AxisError(
            f"{func}: x is a scalar (0-d), but {func} is taken along an axis and needs an "
            "array of at least one dimension (np.atleast_1d(x) makes one)"
        )
    if not -ndim <= axis < ndim:
        # normalize_axis_index overflows on integers beyond 64 bits.
        raise AxisError(axis, ndim, msg_prefix=func)
    return normalize_axis_index(axis, ndim, msg_prefix=func)


def _run_softmax(x, result, axis, log_output, fresh):
    """Softmax of ``x`` along ``axis`` into ``result`` (same shape and dtype).

    ``fresh`` says ``result`` was just allocated by ``result_array`` (no
    ``out`` given), so it has ``x``'s layout and shares no memory with it.
    """
    order = contiguous_order(x)
    if order is None:
        x, order = np.ascontiguousarray(x), "C"
        fresh = False
    if order == "F":
        # The transpose of a Fortran-ordered array is C-ordered: same kernels,
        # mirrored axis, no copy.
        x, result, axis = x.T, result.T, x.ndim - 1 - axis
    if fresh or (result.flags.c_contiguous and not overlaps_elsewhere(x, result)):
        buffer = result
    else:
        buffer = np.empty(x.shape, dtype=x.dtype)
    shape = x.shape
    n_threads = threads_for(x.size)
    if axis == len(shape) - 1:
        if len(shape) != 2:
            rows = (math.prod(shape[:-1]), shape[-1])
            x, buffer_view = x.reshape(rows), buffer.reshape(rows)
        else:
            buffer_view = buffer
        run_kernel(_dispatch.kernels.softmax_rows, x, buffer_view, log_output, n_threads)
    else:
        # A non-last axis: reduce down the strided axis with the contiguous
        # one in the vector lanes, instead of transposing a copy.
        blocks = (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :]))
        run_kernel(
            _dispatch.kernels.softmax_axis,
            x.reshape(blocks), buffer.reshape(blocks), log_output, n_threads,
        )
    if buffer is not result:
        np.copyto(result, buffer)


def _softmax_family(x, axis, out, where, log_output, func):
    if where is None and type(axis) is int and axis == -1:
        # Small C-ordered float arrays (and a plain out=) go straight to the
        # kernel (None: not one).
        result = _dispatch.kernels.softmax_small(x, out, log_output, PARALLEL_MIN_ELEMENTS)
        if result is not None:
            return result
    lazy = lazy_module(x, where, out)
    if lazy is not None:
        return getattr(lazy, func)(x, axis, out=out, where=where)
    x = as_float_array(x, "x", func)
    axis = _check_axis(axis, x.ndim, func)
    result = result_array(out, x, func)
    returned = result if out is None else out
    if where is not None:
        mask = where_mask(where, x.shape, func)
    if x.size == 0:
        return returned
    if where is None:
        _run_softmax(x, result, axis, log_output, out is None)
        return returned

    # Everything read from x and where is read before anything is written:
    # out may share memory with either, and the result must be the one
    # NumPy's ufuncs give for overlapping arguments (as if inputs were copied).
    # An excluded entry is an entry at -inf: probability exactly 0, and it
    # cannot be the row maximum unless the whole row is excluded.
    masked = np.where(mask, x, x.dtype.type(-np.inf))
    # Rows with nothing to normalise would be 0/0 = nan; the "safe softmax"
    # convention gives them probability 0 (log-probability -inf) instead.
    empty_rows = ~np.any(mask, axis=axis, keepdims=True)
    _run_softmax(masked, result, axis, log_output, False)
    if empty_rows.any():
        np.copyto(result, -np.inf if log_output else 0.0, where=empty_rows)
    return returned


def softmax(
    x: ArrayLike,
    axis: IntegerLike = -1,
    *,
    out: Optional[FloatArray] = None,
    where: Optional[ArrayLike] = None,
) -> FloatArray:
    r"""Numerically stable softmax along an axis.

    Parameters
    ----------
    x : array_like
        Input values (logits).  float32 stays float32 and float64 stays
        float64; integers and booleans are computed in float64, float16 in
        float32.  Any number of dimensions and any memory layout.
    axis : int, optional
        Axis along which the probabilities sum to 1.  Default: the last.
    out : ndarray, optional
        Array to write the result to, of exactly the result's shape and
        dtype.  It may be ``x`` itself (in place).
    where : array_like of bool, optional
        Entries to include, broadcastable to ``x``.  Excluded entries get
        probability 0 and take no part in the normalisation; a row (slice
        along ``axis``) with no included entry is all zeros.

    Returns
    -------
    ndarray
        ``exp(x) / sum(exp(x), axis)``, the same shape as ``x``; ``out`` when
        given.

    Notes
    -----
    The softmax is invariant to adding a constant to every entry of a row,

    .. math:: \frac{e^{x_i + c}}{\sum_j e^{x_j + c}}
              = \frac{e^c e^{x_i}}{e^c \sum_j e^{x_j}}
              = \frac{e^{x_i}}{\sum_j e^{x_j}},

    so it is computed as ``exp(x - max(x)) / sum(exp(x - max(x)))``, where
    no exponential exceeds 1 and nothing overflows.  A -inf entry gets
    probability exactly 0.  A nan anywhere in a row makes that row nan; a
    row of only -inf is nan (0/0), as in NumPy, SciPy and PyTorch, unless
    ``where`` excludes all of it.  Rows never affect one another.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> fastnn.softmax(np.array([1.0, 2.0]))
    array([0.26894142, 0.73105858])

    Large offsets do not overflow:

    >>> fastnn.softmax(np.array([[1001.0, 1002.0], [3.0, 4.0]]))
    array([[0.26894142, 0.73105858],
           [0.26894142, 0.73105858]])

    Masking, with a fully masked row giving zeros rather than nan:

    >>> x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> keep = np.array([[True, True, False], [False, False, False]])
    >>> fastnn.softmax(x, where=keep)
    array([[0.26894142, 0.73105858, 0.        ],
           [0.        , 0.        , 0.        ]])
    """
    return _softmax_family(x, axis, out, where, False, "softmax")


def log_softmax(
    x: ArrayLike,
    axis: IntegerLike = -1,
    *,
    out: Optional[FloatArray] = None,
    where: Optional[ArrayLike] = None,
) -> FloatArray:
    r"""Numerically stable logarithm of the softmax along an axis.

    Parameters
    ----------
    x : array_like
        Input values (logits); dtype rules as in :func:`softmax`.
    axis : int, optional
        Axis along which to normalise.  Default: the last.
    out : ndarray, optional
        Array to write the result to, of exactly the result's shape and
        dtype.  It may be ``x`` itself.
    where : array_like of bool, optional
        Entries to include, broadcastable to ``x``.  Excluded entries get
        -inf; a row with no included entry is all -inf.

    Returns
    -------
    ndarray
        ``x - logsumexp(x, axis)``, the same shape as ``x``.

    Notes
    -----
    Computed as :math:`x_i - m - \log \sum_j e^{x_j - m}` with
    :math:`m = \max_j x_j`, which is exact where ``log(softmax(x))`` would
    underflow to -inf: the log-probability of a very unlikely class stays
    finite.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> fastnn.log_softmax(np.array([0.0, 0.0]))
    array([-0.69314718, -0.69314718])
    >>> fastnn.log_softmax(np.array([0.0, 1000.0]))
    array([-1000.,     0.])
    """
    return _softmax_family(x, axis, out, where, True, "log_softmax")


# For each elementwise kernel: its op code in the small-call kernel, the size
# below which it stays serial, and the names of its arguments.
_ELEMENTWISE = {
    "sigmoid": (1, PARALLEL_MIN_ELEMENTS_SIGMOID, ("x",)),
    "sigmoid_grad": (2, PARALLEL_MIN_ELEMENTS_CHEAP, ("s",)),
    "sigmoid_backward": (3, PARALLEL_MIN_ELEMENTS_CHEAP, ("grad_out", "s")),
}


def _elementwise(func, out, *arrays):
    op, parallel_min, names = _ELEMENTWISE[func]
    # Small C-ordered float arrays, with no out or a plain one, go straight to
    # the kernel (None: not such a call), which takes the sigmoid's output
    # first: y * sigmoid_grad(x).
    second = arrays[0] if len(arrays) == 2 else None
    result = _dispatch.kernels.elementwise_small(op, arrays[-1], second, parallel_min, out)
    if result is not None:
        return result
    lazy = lazy_module(out, *arrays)
    if lazy is not None:
        return getattr(lazy, func)(*arrays, out=out)
    arrays = [as_float_array(a, name, func) for a, name in zip(arrays, names)]
    if len(arrays) == 2:
        check_same_shape(arrays[0], arrays[1], names[0], names[1], func)
        dtype = np.result_type(*arrays)
        arrays = [a.astype(dtype, copy=False) for a in arrays]
    first = arrays[0]
    result = result_array(out, first, func)
    returned = result if out is None else out
    if first.size == 0:
        return returned
    order = contiguous_order(*arrays)
    if order is None:
        arrays, order = [np.ascontiguousarray(a) for a in arrays], "C"
    flat_inputs = [a.ravel(order=order) for a in arrays]
    in_order = result.flags.c_contiguous if order == "C" else result.flags.f_contiguous
    direct = in_order and (out is None or not any(overlaps_elsewhere(a, out) for a in arrays))
    flat_result = result.ravel(order=order) if direct else np.empty(first.size, dtype=first.dtype)
    n_threads = threads_for(first.size, parallel_min)
    run_kernel(getattr(_dispatch.kernels, func), *flat_inputs, flat_result, n_threads)
    if not direct:
        np.copyto(result, flat_result.reshape(first.shape, order=order))
    return returned


def sigmoid(x: ArrayLike, *, out: Optional[FloatArray] = None) -> FloatArray:
    r"""The logistic sigmoid ``1 / (1 + exp(-x))``, elementwise.

    Parameters
    ----------
    x : array_like
        Input of any shape; dtype rules as in :func:`softmax`.
    out : ndarray, optional
        Array to write the result to, of exactly ``x``'s shape and the
        result dtype; may be ``x``.

    Returns
    -------
    ndarray
        Values in [0, 1], the same shape as ``x``.

    Notes
    -----
    Evaluated through :math:`e = e^{-|x|} \le 1` as :math:`1 / (1 + e)` for
    :math:`x \ge 0` and :math:`e / (1 + e)` for :math:`x < 0`, so nothing
    overflows and no warning is raised: ``sigmoid(-1e4)`` is 0.0,
    ``sigmoid(1e4)`` is 1.0 and ``sigmoid(0)`` is 0.5.  The rounding errors
    of :math:`1 + e` and of the division are corrected by their exact error
    terms, so the result is within 2 ulp of the correctly rounded value
    (within 1 ulp in float64), subnormal results included and never flushed
    to zero (checked over every float32 input, and on dense and random
    float64 sweeps).  Its derivative is
    :math:`\sigma'(x) = \sigma(x)(1 - \sigma(x)) = \sigma(x)\sigma(-x)`; see
    :func:`sigmoid_grad`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> fastnn.sigmoid(np.array([[1.0, 2.0], [-1.0, -2.0]]))
    array([[0.73105858, 0.88079708],
           [0.26894142, 0.11920292]])
    >>> fastnn.sigmoid(np.array([-1e4, 0.0, 1e4]))
    array([0. , 0.5, 1. ])
    """
    return _elementwise("sigmoid", out, x)


def sigmoid_grad(s: ArrayLike, *, out: Optional[FloatArray] = None) -> FloatArray:
    r"""Derivative of the sigmoid, given the sigmoid's output: ``s * (1 - s)``.

    Parameters
    ----------
    s : array_like
        Values of the sigmoid, ``s = sigmoid(x)`` (not ``x`` itself).
    out : ndarray, optional
        Array to write the result to; may be ``s``.

    Returns
    -------
    ndarray
        :math:`\sigma'(x) = s (1 - s)`, the same shape as ``s``.

    Notes
    -----
    From :math:`\sigma(x) = (1 + e^{-x})^{-1}`,
    :math:`\sigma'(x) = e^{-x} (1 + e^{-x})^{-2} = \sigma(x)(1 - \sigma(x))`.
    Taking ``s`` rather than ``x`` reuses the forward pass's activations,
    as backpropagation does.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> s = fastnn.sigmoid(np.array([[1.0, 2.0], [-1.0, -2.0]]))
    >>> fastnn.sigmoid_grad(s)
    array([[0.19661193, 0.10499359],
           [0.19661193, 0.10499359]])
    """
    return _elementwise("sigmoid_grad", out, s)


def sigmoid_backward(
    grad_out: ArrayLike, s: ArrayLike, *, out: Optional[FloatArray] = None
) -> FloatArray:
    r"""Backpropagate through a sigmoid: ``grad_out * s * (1 - s)`` in one pass.

    Parameters
    ----------
    grad_out : array_like
        Gradient of the loss with respect to the sigmoid's output.
    s : array_like
        The sigmoid's output from the forward pass, same shape as
        ``grad_out``.
    out : ndarray, optional
        Array to write the result to; may be ``grad_out`` or ``s``.

    Returns
    -------
    ndarray
        Gradient of the loss with respect to the sigmoid's input.  float32
        when both inputs are float32, else float64.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> s = fastnn.sigmoid(np.array([0.0, 2.0]))
    >>> fastnn.sigmoid_backward(np.array([1.0, 10.0]), s)
    array([0.25      , 1.04993585])
    """
    return _elementwise("sigmoid_backward", out, grad_out, s)
