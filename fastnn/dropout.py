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

Two hashes make the decision.  The row's 32-bit key is the top half of
SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014) of the layer's key and the
row's position; unit ``j`` then hashes ``row_key + j * 0x9E3779B9`` with
MurmurHash3's 32-bit finaliser (Appleby), whose top 24 bits give a uniform
number on ``[0, 1)`` in steps of ``2^-24``.  The per-unit hash multiplies
32-bit integers only, which every vector instruction set does in one
instruction; 64-bit multiplies have no vector instruction below AVX-512.
The compiled kernels ``dropout_mask`` (the mask) and ``dropout_apply`` (the
mask multiplied into the activations as it is drawn) compute them;
`dropout_masks_reference` is their NumPy twin, the same arithmetic step for
step, which the tests hold them to.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _dispatch
from ._config import PARALLEL_MIN_ELEMENTS, run_kernel, threads_for

__all__ = ["dropout_masks", "dropout_masks_reference", "check_dropout", "draw_masks", "drawn_masks",
           "DrawnMask", "ArrayMask"]

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_WEYL32 = 0x9E3779B9  # 2^32 / golden ratio, odd: j -> j * _WEYL32 is a bijection


def _mix_scalar(value):
    """SplitMix64's finaliser on a Python int (exact: no NumPy overflow warnings)."""
    z = (value + _GOLDEN) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _fmix32(values):
    """MurmurHash3's 32-bit finaliser on a uint32 array (NumPy's uint32 arithmetic wraps)."""
    x = values ^ (values >> np.uint32(16))
    x *= np.uint32(0x85EBCA6B)
    x ^= x >> np.uint32(13)
    x *= np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


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
    Unit ``j`` of layer ``l`` in the row at position ``r`` is kept when
    ``u >= p``, where ``u = (fmix32(k + j * 0x9E3779B9 mod 2^32) >> 8) /
    2^24``, ``k`` is the top 32 bits of ``mix(key(seed, step, l) ^ r)``,
    ``mix`` is SplitMix64's finaliser and ``fmix32`` MurmurHash3's.  The
    decision depends on nothing else, so a row's mask is the same whichever
    rows are drawn with it.

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


def draw_masks(positions, hidden_sizes, rates, seed, step, dtype):
    """`dropout_masks` for checked arguments, as arrays.

    ``positions`` is a contiguous uint64 array, ``rates`` one rate per hidden
    layer in [0, 1), ``dtype`` float32 or float64.
    """
    masks: list[Optional[NDArray[np.floating]]] = []
    for layer, (units, rate) in enumerate(zip(hidden_sizes, rates)):
        if rate == 0.0:
            masks.append(None)
            continue
        mask = np.empty((positions.shape[0], units), dtype=dtype)
        run_kernel(_dispatch.kernels.dropout_mask, positions, _layer_key(seed, step, layer),
                   rate, mask, threads_for(mask.size, PARALLEL_MIN_ELEMENTS))
        masks.append(mask)
    return masks


class DrawnMask:
    """One hidden layer's dropout mask at one step, drawn wherever it is applied.

    Multiplying an array by it draws the mask of `draw_masks` into the
    product as it goes, so that a training step never writes a mask out and
    reads it back: the forward pass multiplies the activations by it and the
    backward pass the upstream gradient.  The masks are the estimators';
    `MLP` also takes explicit arrays (`ArrayMask`).

    Parameters
    ----------
    positions : ndarray of uint64, shape (N,)
        The rows' positions in the whole data, contiguous.
    key : int
        The layer's key at this step (of the seed, the step and the layer).
    rate : float
        The dropout rate in (0, 1).
    """

    __slots__ = ("positions", "key", "rate", "scale")

    def __init__(self, positions, key, rate):
        self.positions = positions
        self.key = key
        self.rate = rate
        #: A kept unit's factor; every other factor is 0.
        self.scale = 1.0 / (1.0 - rate)

    def multiply(self, a):
        """``a *= mask`` for a C-contiguous (N, units) array of float32 or float64."""
        run_kernel(_dispatch.kernels.dropout_apply, self.positions, self.key, self.rate, a,
                   threads_for(a.size, PARALLEL_MIN_ELEMENTS))

    def bias_relu(self, z, b):
        """``z = relu(z + b) * mask`` in one pass, for C-contiguous ``z`` and ``b``."""
        run_kernel(_dispatch.kernels.bias_relu_dropout, z, b, self.positions, self.key,
                   self.rate, threads_for(z.size, PARALLEL_MIN_ELEMENTS))
        return z


class ArrayMask:
    """An explicit dropout mask: an (N, units) array of non-negative factors."""

    __slots__ = ("array",)
    #: No single factor for a kept unit: the array's factors may be anything.
    scale = None

    def __init__(self, array):
        self.array = array

    def multiply(self, a):
        """``a *= mask``."""
        np.multiply(a, self.array, out=a)


def drawn_masks(positions, rates, seed, step):
    """The `DrawnMask` of each hidden layer (None where its rate is 0) for checked arguments."""
    return [None if rate == 0.0 else DrawnMask(positions, _layer_key(seed, step, layer), rate)
            for layer, rate in enumerate(rates)]


def _layer_key(seed, step, layer):
    return _mix_scalar(_mix_scalar(_mix_scalar(int(seed)) ^ int(step)) ^ layer)


def dropout_masks_reference(positions, hidden_sizes, rates, seed, step, dtype):
    """`dropout_masks`' NumPy twin: the same keys and hashes, in wrapping integer arrays.

    ``positions`` is a uint64 array and ``rates`` one rate per layer, as
    `dropout_masks` checks them.
    """
    dtype = np.dtype(dtype)
    masks = []
    for layer, (units, rate) in enumerate(zip(hidden_sizes, rates)):
        if rate == 0.0:
            masks.append(None)
            continue
        row_keys = (_mix(positions ^ np.uint64(_layer_key(seed, step, layer)))
                    >> np.uint64(32)).astype(np.uint32)
        weyl = np.arange(units, dtype=np.uint32) * np.uint32(_WEYL32)
        bits = _fmix32(row_keys[:, None] + weyl) >> np.uint32(8)
        uniform = bits.astype(np.float64) * 2.0**-24
        masks.append(np.where(uniform >= rate, dtype.type(1.0 / (1.0 - rate)), dtype.type(0.0)))
    return masks
