"""The log-sum-exp of a row whose entries arrive in pieces.

A row split into blocks (chunks of a dask array along the softmax axis,
or blocks of classes of an output layer too wide to hold) is reduced in
two stages.  Each block yields its maximum ``m`` and the sum of
``exp(x - m)`` over its entries; the partial pairs are merged with the
online-softmax rule

    m = max(m1, m2),    s = s1 * exp(m1 - m) + s2 * exp(m2 - m),

and ``log-sum-exp = m + log(s)``.  Carrying ``(m, s)`` instead of each
block's log-sum-exp avoids a log and an exp per merge, which at large
``|m|`` would cost relative accuracy in ``s``.

The sums are carried *less one*, as the compiled kernels accumulate them:
the maximum's own term is exactly 1, and keeping it apart lets the final
``log1p(s - 1)`` resolve a row where one entry dominates (``s - 1`` far
below the float64 epsilon).  The merge keeps that: the block holding the
larger maximum keeps its sum-less-one and receives the other block's
rescaled full sum.

Non-finite rows follow the kernels: a row holding ``nan`` or ``+inf``, or
only ``-inf`` entries, has a ``nan`` sum, and the merge propagates it.
A block with no entries (all masked, or empty) has maximum ``-inf`` and
contributes nothing.
"""

import math

import numpy as np

from . import _dispatch
from ._config import run_kernel, threads_for
from ._validation import contiguous_order

__all__ = ["block_max_sum", "merge_max_sum", "log_sum_exp"]


def block_max_sum(x, axis, where=None):
    """Maximum and sum of exps less one of ``x`` along ``axis``.

    Runs on the compiled max-and-sum kernels; ``_reference.max_sum_less_one``
    is its NumPy twin.  Nothing is validated: this is the trusted path.

    Parameters
    ----------
    x : ndarray of float32 or float64
        One block of the rows, in any memory layout (C, Fortran or strided;
        a strided block is copied).  float16 is computed in float32.
    axis : int
        The axis of the rows (normalised, non-negative).
    where : ndarray of bool, optional
        Broadcastable to ``x``; only True entries take part.

    Returns
    -------
    m : ndarray of x.dtype
        The maximum along ``axis`` (kept as a length-1 axis), as np.max
        gives it; ``-inf`` where no entry takes part.
    s_less_one : ndarray of float64
        ``sum(exp(x - m)) - 1`` along ``axis`` (kept), accumulated without
        the maximum's own term; ``-1`` where no entry takes part, ``nan``
        where the entries taking part hold a ``nan``, a ``+inf``, or only
        ``-inf``.
    """
    dtype = x.dtype
    if dtype.kind != "f":
        raise TypeError(f"block_max_sum: x must be a float array, got dtype {dtype}")
    if dtype != np.float32 and dtype != np.float64:
        # float16, or a non-native byte order: the kernels take native
        # float32 and float64; the maximum is one of x's values, exact in both.
        x = x.astype(np.float32 if dtype.itemsize <= 4 else np.float64)
    if where is not None:
        x = np.where(where, x, x.dtype.type(-np.inf))
    m, s_less_one = _run_max_sum(x, axis)
    if where is not None:
        # The kernels see an all -inf row there, whose sum is nan.
        nothing = ~np.any(np.broadcast_to(where, x.shape), axis=axis, keepdims=True)
        s_less_one[nothing] = -1.0
    return m.astype(dtype, copy=False), s_less_one


def _run_max_sum(x, axis):
    """The kernels' ``(m, s_less_one)`` along ``axis`` of a float32 or float64
    ``x``, without copying a C- or Fortran-ordered ``x``."""
    kept = x.shape[:axis] + (1,) + x.shape[axis + 1 :]
    if x.shape[axis] == 0:
        return np.full(kept, -np.inf, dtype=x.dtype), np.full(kept, -1.0)
    order = contiguous_order(x)
    if order is None:
        x, order = np.ascontiguousarray(x), "C"
    if order == "F":
        # The transpose of a Fortran-ordered array is C-ordered: same
        # kernels, mirrored axis, no copy.
        x, axis = x.T, x.ndim - 1 - axis
    shape = x.shape
    outer, length, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    m = np.empty((outer, inner), dtype=x.dtype)
    s_less_one = np.empty((outer, inner))
    n_threads = threads_for(x.size)
    if inner == 1:
        run_kernel(
            _dispatch.kernels.max_sum_rows,
            x.reshape(outer, length), m.reshape(outer), s_less_one.reshape(outer), n_threads,
        )
    else:
        # A non-last axis: reduce down the strided axis with the contiguous
        # one in the vector lanes, instead of transposing a copy.
        run_kernel(
            _dispatch.kernels.max_sum_axis,
            x.reshape(outer, length, inner), m, s_less_one, n_threads,
        )
    if order == "F":
        kept_t = kept[::-1]
        return m.reshape(kept_t).T, s_less_one.reshape(kept_t).T
    return m.reshape(kept), s_less_one.reshape(kept)


def merge_max_sum(m1, s1_less_one, m2, s2_less_one):
    """Merge two blocks' ``(max, sum less one)`` pairs of the same rows.

    Parameters
    ----------
    m1, m2 : ndarray or scalar
        The blocks' maxima (any float dtype; broadcastable).
    s1_less_one, s2_less_one : ndarray or scalar
        Their sums of ``exp(x - max)`` less one, float64.

    Returns
    -------
    m : ndarray
        ``max(m1, m2)``, with ``nan`` where either is ``nan``.
    s_less_one : ndarray of float64
        The merged sum less one, relative to ``m``.

    Examples
    --------
    >>> import numpy as np
    >>> m, s = merge_max_sum(np.array(2.0), np.array(0.0), np.array(0.0), np.array(0.0))
    >>> bool(np.isclose(m + np.log1p(s), np.logaddexp(2.0, 0.0)))
    True
    """
    m1 = np.asarray(m1)
    m2 = np.asarray(m2)
    first_larger = m1 >= m2
    m = np.where(first_larger, m1, m2)
    m_small = np.where(first_larger, m2, m1)
    kept = np.where(first_larger, s1_less_one, s2_less_one)
    added = np.where(first_larger, s2_less_one, s1_less_one)
    with np.errstate(invalid="ignore", over="ignore"):
        rescaled = np.exp((m_small - m).astype(np.float64)) * (1.0 + added)
    # A block without entries (maximum -inf) adds nothing, even beside
    # another such block (where m_small - m would be nan).  A nan maximum
    # compares false, so it lands in m_small and its nan reaches the sum.
    rescaled = np.where(m_small == -np.inf, 0.0, rescaled)
    s_less_one = kept + rescaled
    return np.where(np.isnan(m_small), m_small, m), s_less_one


def log_sum_exp(m, s_less_one):
    """``m + log1p(s_less_one)``: the log-sum-exp from a merged pair."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return m + np.log1p(s_less_one)
