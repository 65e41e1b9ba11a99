"""The log-sum-exp: validation, axis handling and the finishing step.

The compiled max-and-sum pass (see ``_online_logsumexp.block_max_sum``)
gives each row's maximum and its sum of exps less one; this module checks
the arguments, brings the reduced axes together without copying where the
memory layout allows, and finishes with ``max + log1p(sum less one)``.
"""

from __future__ import annotations

import math
from typing import Literal, Optional, Union, overload

import numpy as np
from numpy.exceptions import AxisError
from numpy.lib.array_utils import normalize_axis_index
from numpy.typing import ArrayLike

from . import _dispatch
from ._config import PARALLEL_MIN_ELEMENTS, run_kernel, threads_for
from ._dask_dispatch import lazy_module
from ._online_logsumexp import block_max_sum
from ._typing import FloatArray, IntegerLike
from ._validation import as_float_array, check_out, is_integer, where_mask

__all__ = ["logsumexp"]

Axis = Union[IntegerLike, tuple[IntegerLike, ...], None]


def _check_axes(axis, ndim, func):
    """``axis`` (an integer, a tuple of them, or None) as a sorted tuple of
    distinct non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    if not all(is_integer(a) for a in items):
        raise TypeError(
            f"{func}: axis must be an integer, a tuple of integers or None, got {axis!r}"
        )
    axes = []
    for a in items:
        a = int(a)
        if ndim == 0:
            raise AxisError(
                f"{func}: x is a scalar (0-d), and has no axis {a}; pass axis=None to reduce "
                "over all of it, or an array of at least one dimension"
            )
        if not -ndim <= a < ndim:
            # normalize_axis_index overflows on integers beyond 64 bits.
            raise AxisError(a, ndim, msg_prefix=func)
        axes.append(normalize_axis_index(a, ndim))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{func}: axis {axis!r} names the same axis more than once")
    return tuple(sorted(axes))


def _max_sum_over(x, axes):
    """``(max, sum less one)`` of ``x`` over ``axes``, each reduced axis kept
    with length 1."""
    kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    if len(axes) == 1:
        return block_max_sum(x, axes[0])
    contiguous = x.flags.c_contiguous or x.flags.f_contiguous
    if axes and axes[-1] - axes[0] == len(axes) - 1 and contiguous:
        # Adjacent axes of a C- or Fortran-ordered array merge into one
        # without a copy.
        first, last = axes[0], axes[-1]
        merged = x.shape[:first] + (math.prod(x.shape[first : last + 1]),) + x.shape[last + 1 :]
        order = "C" if x.flags.c_contiguous else "F"
        m, s_less_one = block_max_sum(x.reshape(merged, order=order), first)
    else:
        # Otherwise the reduced axes go last, into one row per result (a
        # copy; for no axes at all, rows of one entry).
        rest = [i for i in range(x.ndim) if i not in axes]
        rows = np.transpose(x, rest + list(axes)).reshape(
            tuple(x.shape[i] for i in rest) + (math.prod(x.shape[i] for i in axes),)
        )
        m, s_less_one = block_max_sum(rows, len(rest))
    return m.reshape(kept), s_less_one.reshape(kept)


def _logsumexp(x, axis, keepdims, where, out, func):
    if where is None and type(axis) is int and axis == -1 and type(keepdims) is bool:
        # Small C-ordered float arrays (and a plain out=) go straight to the
        # kernel (None: not one).
        result = _dispatch.kernels.logsumexp_small(x, out, keepdims, PARALLEL_MIN_ELEMENTS)
        if result is not None:
            return result
    lazy = lazy_module(x, where, out)
    if lazy is not None:
        return lazy.logsumexp(x, axis, keepdims=keepdims, where=where, out=out)
    x = as_float_array(x, "x", func)
    axes = _check_axes(axis, x.ndim, func)
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"{func}: keepdims must be True or False, got {keepdims!r}")
    shape = tuple(
        1 if i in axes else n for i, n in enumerate(x.shape) if keepdims or i not in axes
    )
    check_out(out, shape, x.dtype, func)
    if where is None and axes == (x.ndim - 1,) and x.size and x.flags.c_contiguous:
        # Short rows: max-and-sum and the finish in one parallel pass, which
        # declines (False) rows too long for it.
        result = np.empty(x.shape[:-1], dtype=x.dtype)
        if run_kernel(_dispatch.kernels.logsumexp_short_rows, x.reshape(-1, x.shape[-1]),
                      result.reshape(-1), threads_for(x.size)):
            return _logsumexp_result(result.reshape(shape), keepdims, out)
    if where is not None:
        # An excluded entry is an entry at -inf: exp(-inf) adds exactly 0.
        x = np.where(where_mask(where, x.shape, func), x, x.dtype.type(-np.inf))
    m, s_less_one = _max_sum_over(x, axes)
    # max + log1p(sum less one), rounded once to x's dtype; an infinite
    # maximum is the answer itself (the compiled finish, which the small
    # path shares, so that both give the same bits).
    result = np.empty(m.size, dtype=x.dtype)
    _dispatch.kernels.logsumexp_finish(np.ascontiguousarray(m).reshape(-1),
                                       np.ascontiguousarray(s_less_one).reshape(-1), result)
    return _logsumexp_result(result.reshape(shape), keepdims, out)


def _logsumexp_result(result, keepdims, out):
    """``result`` written to ``out`` and returned, or returned (a NumPy scalar
    when it has no axis left and not ``keepdims``)."""
    if out is not None:
        np.copyto(out, result)
        return out
    if result.ndim == 0 and not keepdims:
        return result[()]
    return result


@overload
def logsumexp(
    x: ArrayLike,
    axis: Axis = ...,
    *,
    keepdims: Literal[False] = ...,
    where: Optional[ArrayLike] = ...,
    out: None = ...,
) -> Union[FloatArray, np.floating]: ...
@overload
def logsumexp(
    x: ArrayLike,
    axis: Axis = ...,
    *,
    keepdims: bool = ...,
    where: Optional[ArrayLike] = ...,
    out: FloatArray,
) -> FloatArray: ...
@overload
def logsumexp(
    x: ArrayLike,
    axis: Axis = ...,
    *,
    keepdims: Literal[True],
    where: Optional[ArrayLike] = ...,
    out: Optional[FloatArray] = ...,
) -> FloatArray: ...


def logsumexp(
    x: ArrayLike,
    axis: Axis = -1,
    *,
    keepdims: bool = False,
    where: Optional[ArrayLike] = None,
    out: Optional[FloatArray] = None,
) -> Union[FloatArray, np.floating]:
    r"""Logarithm of the sum of exponentials, ``log(sum(exp(x)))``, along axes.

    Parameters
    ----------
    x : array_like
        Input values; dtype rules as in :func:`softmax`: float32 stays
        float32 and float64 stays float64, integers and booleans are
        computed in float64, float16 in float32.  Any memory layout.
    axis : int, tuple of ints or None, optional
        Axis or axes to reduce over; None reduces over every axis.
        Default: the last axis.
    keepdims : bool, optional
        Keep the reduced axes in the result, with length 1, so that it
        broadcasts against ``x``.  Default: False.
    where : array_like of bool, optional
        Entries to include, broadcastable to ``x``.  Excluded entries take
        no part in the sum; where every entry is excluded the result is
        ``-inf``, the log of an empty sum.
    out : ndarray, optional
        Array to write the result to, of exactly the result's shape and
        dtype.

    Returns
    -------
    ndarray or numpy scalar
        The log-sum-exp, of ``x``'s shape without the reduced axes (with
        them as length 1 when ``keepdims``); a NumPy scalar when that
        leaves no axis and ``keepdims`` is False; ``out`` when given.

    Raises
    ------
    numpy.exceptions.AxisError
        If an axis is out of range for ``x``.
    ValueError
        If ``axis`` repeats an axis, ``where`` does not broadcast to ``x``,
        or ``out`` has the wrong shape or dtype or is read-only.
    TypeError
        If ``x`` is not real, ``x`` or ``where`` is a masked array, ``axis``
        is not an integer, a tuple of integers or None, ``keepdims`` is not
        a bool, ``where`` is not boolean, or ``out`` is not an ndarray.

    Notes
    -----
    With :math:`m = \max_i x_i`,

    .. math:: \log \sum_i e^{x_i} = m + \log\Bigl(1 + \sum_{i \ne i^*} e^{x_i - m}\Bigr)
              = m + \operatorname{log1p}(t),

    where :math:`i^*` is the position of the maximum.  No exponent exceeds
    0, so nothing overflows, and the sum :math:`t` of the other terms is
    accumulated apart from the maximum's exact 1 (in float64 for both
    dtypes): when one entry dominates, ``log(1 + t)`` would round ``t``
    away, while ``log1p(t)`` keeps it.  ``logsumexp([0, -40, -60])`` is
    ``4.2483542640481e-18``, where ``log(sum(exp(x)))`` gives 0.

    Special values follow ``scipy.special.logsumexp``: a nan among the
    reduced entries gives nan; otherwise a +inf gives +inf; entries that
    are all -inf, or none at all (an empty axis), give -inf.

    References
    ----------
    .. [1] P. Blanchard, D. J. Higham and N. J. Higham, "Accurately
       computing the log-sum-exp and softmax functions", IMA Journal of
       Numerical Analysis 41, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> x = np.array([[1.0, 2.0, 3.0], [1001.0, 1002.0, 1003.0]])
    >>> fastnn.logsumexp(x)
    array([   3.40760596, 1003.40760596])
    >>> fastnn.logsumexp(x, axis=0, keepdims=True)
    array([[1001., 1002., 1003.]])
    >>> fastnn.logsumexp(x, axis=None)
    np.float64(1003.4076059644444)

    When one term dominates, the others still count:

    >>> fastnn.logsumexp(np.array([0.0, -40.0, -60.0]))
    np.float64(4.2483542640481e-18)

    Excluded entries take no part:

    >>> fastnn.logsumexp(x, where=np.array([True, True, False]))
    array([   2.31326169, 1002.31326169])
    """
    return _logsumexp(x, axis, keepdims, where, out, "logsumexp")
