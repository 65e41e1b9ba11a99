"""Argument checks shared by the loss functions: class indices, class weights,
reductions, label smoothing and ``ignore_index``.

``losses.py`` and ``fused_linear.py`` validate the same arguments the same
way, with messages that name the calling function (``func``) and the
argument; the compiled kernels then trust what these return.
"""

import numbers
from functools import lru_cache

import numpy as np

from ._validation import as_float_array

__all__ = [
    "NO_WEIGHTS",
    "REDUCTIONS",
    "broadcast_weight",
    "cast_weights",
    "check_ignore_index",
    "check_index_target",
    "check_reduction",
    "check_smoothing",
    "class_weights",
    "label_error",
    "unit_weights",
]

REDUCTIONS = ("mean", "sum", "none")
_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min

NO_WEIGHTS = np.empty(0, dtype=np.float64)


def cast_weights(w64, name, dtype, func, remedy="rescale them"):
    """float64 weights ``w64`` as a contiguous array of the logits' ``dtype``.

    An infinite weight is the user's choice; a finite one made infinite by
    the cast would silently change the loss, so it raises instead.
    """
    with np.errstate(over="ignore"):
        w = np.ascontiguousarray(w64, dtype=dtype)
    overflowed = np.isfinite(w64) & ~np.isfinite(w)
    if overflowed.any():
        bad = np.unravel_index(int(np.argmax(overflowed)), w64.shape)
        where = f"[{', '.join(map(str, bad))}]" if w64.ndim else ""
        raise ValueError(
            f"{func}: {name}{where} = {float(w64[bad])!r} overflows the logits' dtype "
            f"{np.dtype(dtype)}; {remedy} or pass float64 logits"
        )
    return w


@lru_cache(maxsize=16)
def unit_weights(n_classes, dtype):
    """Read-only ones, the class weights when none are given."""
    ones = np.ones(n_classes, dtype=dtype)
    ones.flags.writeable = False
    return ones


def check_index_target(target, n_rows, n_classes, func, rows_of="logits"):
    """A 1-D target as contiguous int64 class indices (range checked later).

    ``rows_of`` names the argument whose rows the labels must match.
    """
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{func}: a 1-D target holds class indices and must have an integer dtype, "
            f"got {target.dtype}; pass probabilities as an (N, C) array"
        )
    if target.shape[0] != n_rows:
        raise ValueError(
            f"{func}: target has {target.shape[0]} labels but {rows_of} has {n_rows} rows"
        )
    if target.dtype == np.uint64 and target.size and target.max() > _INT64_MAX:
        bad = int(np.argmax(target > _INT64_MAX))
        raise ValueError(
            f"{func}: target[{bad}] = {int(target[bad])} is not a class index: "
            f"labels must lie in [0, {n_classes}) for C={n_classes} classes"
        )
    return np.ascontiguousarray(target, dtype=np.int64)


def label_error(target, row, n_classes, ignore_index, func, offset=0):
    """The error for ``target[row]``, named as row ``row + offset`` of the whole target."""
    allowed = f"[0, {n_classes})"
    if ignore_index is not None:
        allowed += f" or equal ignore_index={ignore_index}"
    return ValueError(
        f"{func}: target[{row + offset}] = {int(target[row])} is not a class index: labels must lie in "
        f"{allowed} for C={n_classes} classes"
    )


def check_reduction(reduction, func):
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{func}: reduction must be one of {', '.join(map(repr, REDUCTIONS))}, "
            f"got {reduction!r}"
        )


def check_smoothing(label_smoothing, func):
    """``label_smoothing`` as a float in [0, 1], or raise naming it."""
    if isinstance(label_smoothing, (bool, np.bool_)) or not isinstance(
        label_smoothing, numbers.Real
    ):
        raise TypeError(f"{func}: label_smoothing must be a number, got {label_smoothing!r}")
    smoothing = float(label_smoothing)
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"{func}: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    return smoothing


def check_ignore_index(ignore_index, func):
    if ignore_index is not None and (
        isinstance(ignore_index, (bool, np.bool_))
        or not isinstance(ignore_index, (int, np.integer))
    ):
        raise TypeError(f"{func}: ignore_index must be an integer or None, got {ignore_index!r}")
    if ignore_index is not None and not _INT64_MIN <= ignore_index <= _INT64_MAX:
        raise ValueError(
            f"{func}: ignore_index={ignore_index} does not fit in a 64-bit integer; no label "
            f"can equal it"
        )


def class_weights(weight, n_classes, dtype, func):
    """``(w, w64, weight_sum)``: the class weights in ``dtype`` for the
    kernels, in float64 (None without weights) and their float64 sum."""
    if weight is None:
        return unit_weights(n_classes, dtype), None, float(n_classes)
    w64 = np.ascontiguousarray(as_float_array(weight, "weight", func), dtype=np.float64)
    if w64.shape != (n_classes,):
        raise ValueError(
            f"{func}: weight must have shape ({n_classes},), one per class, got {w64.shape}"
        )
    w = cast_weights(
        w64, "weight", dtype, func,
        "rescale the weights (only their ratios matter for reduction='mean')",
    )
    return w, w64, float(np.sum(w64))



def broadcast_weight(value, name, shape, dtype, func):
    """``value`` broadcast to ``shape``, as a flat contiguous array of ``dtype``."""
    w64 = as_float_array(value, name, func).astype(np.float64, copy=False)
    try:
        w64 = np.broadcast_to(w64, shape)
    except ValueError:
        raise ValueError(
            f"{func}: {name} has shape {w64.shape}, which does not broadcast to the logits' "
            f"shape {shape}"
        ) from None
    return cast_weights(w64, name, dtype, func).reshape(-1)
