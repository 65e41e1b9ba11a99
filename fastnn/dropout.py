"""Inverted-dropout masks that depend only on a seed, a step and each row's position.

During training, inverted dropout keeps each hidden unit with probability
``1 - p`` and scales the kept ones by ``1 / (1 - p)``, so that a unit's
expected value is unchanged and prediction needs no rescaling.  The masks
here are drawn by a *counter-based* generator: the decision for hidden
layer ``l``, unit ``j`` of the row at position ``r`` of the whole data, at
training step ``t``, is a hash of ``(seed, t, l, r, j)``.  Nothing else
enters it: not the batch the row is in, its place in the batch, the worker
that holds it or how many rows come before it in this call.  So the same
seed gives the same masks in memory and on any number of Dask workers, and a
gradient check can draw the same masks again.

The hash is SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014), whose output passes BigCrush
when fed a counter.  Each hash decides two neighbouring units: 24 of its
bits give each a uniform number on ``[0, 1)`` in steps of ``2^-24``, the
top 24 for the first and the 24 below them for the second, which halves the
cost of a mask (the multiplies of 64-bit integers are most of it).  The
compiled kernel ``dropout_mask`` computes the masks;
`dropout_masks_reference` is its NumPy twin, the same arithmetic step for
step, which the tests hold it to.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _dispatch
from ._config import PARALLEL_MIN_ELEMENTS, run_kernel, threads_for

__all__ = ["dropout_masks", "dropout_masks_reference", "check_dropout", "draw_masks"]

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix_scalar(value):
    """SplitMix64's finaliser on a Python int (exact: no NumPy overflow warnings)."""
    z = (value + _GOLDEN) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _mix(values):
    """SplitMix64's finaliser on a uint64 array (NumPy's uint64 arithmetic wraps)."""
    z = values + np.uint64(_GOLDEN)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def check_dropout(dropout: Union[float, Sequence[float]], n_hidden: int,
                  name: str = "dropout") -> tuple[float, ...]:
    """The dropout rate of each hidden layer, or a ValueError naming ``name``.

    ``dropout`` is one rate for every hidden layer or a sequence with one
    rate per hidden layer; each rate lies in [0, 1).
    """
    if isinstance(dropout, (numbers.Real, np.floating, np.integer)) and not isinstance(
        dropout, (bool, np.bool_)
    ):
        rates = (float(dropout),) * n_hidden
    else:
        try:
            if isinstance(dropout, (str, bytes)):
                raise TypeError
            rates = tuple(dropout)  # type: ignore[arg-type]
        except TypeError:
            raise ValueError(
                f"{name} must be a rate in [0, 1) or a sequence of one rate per hidden layer, "
                f"got {dropout!r}"
            ) from None
        if len(rates) != n_hidden:
            raise ValueError(
                f"{name} must hold one rate per hidden layer ({n_hidden}), got {len(rates)}: "
                f"{dropout!r}"
            )
        if not all(isinstance(r, (numbers.Real, np.floating, np.integer))
                   and not isinstance(r, (bool, np.bool_)) for r in rates):
            raise ValueError(f"{name} must hold numbers, got {dropout!r}")
        rates = tuple(float(r) for r in rates)
    for rate in rates:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"{name} rates must lie in [0, 1), got {dropout!r}")
    return rates


def dropout_masks(
    rows: Union[int, ArrayLike],
    hidden_sizes: Sequence[int],
    dropout: Union[float, Sequence[float]],
    seed: int,
    step: int = 0,
    dtype: DTypeLike = np.float64,
) -> list[Optional[NDArray[np.floating]]]:
    """Inverted-dropout masks for some rows, one per hidden layer.

    Parameters
    ----------
    rows : int or array_like of int
        The rows' positions in the whole data: ``n`` means rows ``0 .. n-1``.
    hidden_sizes : sequence of int
        Units of each hidden layer, ``layer_sizes[1:-1]`` of an `MLP`.
    dropout : float or sequence of float
        The rate ``p`` in [0, 1) of every hidden layer, or one rate per layer.
    seed : int
        A non-negative integer below 2^64.
    step : int, default 0
        The training step; each step draws new masks.
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        The masks' dtype (the network's).

    Returns
    -------
    list of ndarray or None
        For each hidden layer, an array of shape (len(rows), units) holding
        0 for a dropped unit and ``1 / (1 - p)`` for a kept one, or None
        where the layer's rate is 0.  `MLP.loss_and_grad` takes the list
        as ``dropout_masks``.

    Notes
    -----
    Unit ``j`` of layer ``l`` in row ``r`` has the counter
    ``c = r * units + j`` and is kept when ``u >= p``, where
    ``z = mix(key(seed, step, l) ^ (c >> 1))``, with ``mix`` SplitMix64's
    finaliser, and ``u`` is bits 40-63 of ``z`` for even ``c`` and bits
    16-39 for odd ``c``, divided by ``2^24``.  The decision depends on
    nothing else, so a row's mask is the same whichever rows are drawn with
    it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.dropout import dropout_masks
    >>> (mask,) = dropout_masks(4, [6], 0.5, seed=7)
    >>> mask.shape, sorted(set(mask.ravel().tolist()))
    ((4, 6), [0.0, 2.0])
    >>> (again,) = dropout_masks([2, 3], [6], 0.5, seed=7)
    >>> bool(np.array_equal(again, mask[2:]))  # a row's mask depends on its position only
    True
    """
    hidden_sizes = [int(size) for size in hidden_sizes]
    rates = check_dropout(dropout, len(hidden_sizes))
    if isinstance(rows, (numbers.Integral, np.integer)) and not isinstance(rows, bool):
        positions = np.arange(int(rows), dtype=np.uint64)
    else:
        positions = np.asarray(rows)
        if positions.ndim != 1 or positions.dtype.kind not in "iu":
            raise ValueError(f"rows must be a count or a 1-D array of row positions, got {rows!r}")
        if positions.size and positions.min() < 0:
            raise ValueError("rows must be non-negative row positions")
        positions = positions.astype(np.uint64)
    if not isinstance(seed, (numbers.Integral, np.integer)) or not 0 <= int(seed) <= _MASK64:
        raise ValueError(f"seed must be an integer in [0, 2^64), got {seed!r}")
    if not isinstance(step, (numbers.Integral, np.integer)) or int(step) < 0:
        raise ValueError(f"step must be a non-negative integer, got {step!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return draw_masks(np.ascontiguousarray(positions, dtype=np.uint64), hidden_sizes, rates,
                      int(seed), int(step), dtype)


def draw_masks(positions, hidden_sizes, rates, seed, step, dtype, reuse=None):
    """`dropout_masks` for checked arguments: the estimators' minibatch path.

    ``positions`` is a contiguous uint64 array, ``rates`` one rate per hidden
    layer in [0, 1), ``dtype`` float32 or float64.  ``reuse`` is None or the
    list this function returned for as many rows before, whose arrays are
    overwritten instead of allocated again: a training loop's masks live for
    one step, and a new layer-sized array every step costs more than drawing
    it when the allocator hands such arrays back to the system each time.
    """
    masks: list[Optional[NDArray[np.floating]]] = []
    for layer, (units, rate) in enumerate(zip(hidden_sizes, rates)):
        if rate == 0.0:
            masks.append(None)
            continue
        mask = reuse[layer] if reuse is not None else None
        if mask is None or mask.shape != (positions.shape[0], units) or mask.dtype != dtype:
            mask = np.empty((positions.shape[0], units), dtype=dtype)
        run_kernel(_dispatch.kernels.dropout_mask, positions, _layer_key(seed, step, layer),
                   rate, mask, threads_for(mask.size, PARALLEL_MIN_ELEMENTS))
        masks.append(mask)
    return masks


def _layer_key(seed, step, layer):
    return _mix_scalar(_mix_scalar(_mix_scalar(int(seed)) ^ int(step)) ^ layer)


def dropout_masks_reference(positions, hidden_sizes, rates, seed, step, dtype):
    """`dropout_masks`' NumPy twin: the same counters and hash, in wrapping uint64 arrays.

    ``positions`` is a uint64 array and ``rates`` one rate per layer, as
    `dropout_masks` checks them.
    """
    dtype = np.dtype(dtype)
    masks = []
    for layer, (units, rate) in enumerate(zip(hidden_sizes, rates)):
        if rate == 0.0:
            masks.append(None)
            continue
        counters = positions[:, None] * np.uint64(units) + np.arange(units, dtype=np.uint64)
        hashes = _mix((counters >> np.uint64(1)) ^ np.uint64(_layer_key(seed, step, layer)))
        bits = np.where(counters & np.uint64(1), (hashes >> np.uint64(16)) & np.uint64(0xFFFFFF),
                        hashes >> np.uint64(40))
        uniform = bits.astype(np.float64) * 2.0**-24
        masks.append(np.where(uniform >= rate, dtype.type(1.0 / (1.0 - rate)), dtype.type(0.0)))
    return masks
