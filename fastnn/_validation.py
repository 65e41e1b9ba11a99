"""Input checks and memory-layout helpers shared by fastnn's Python layer.

The compiled kernels trust their arguments completely; everything a user can
get wrong is caught here first, with a message naming what was expected.
"""

import numbers
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray


def as_float_array(x, name, func):
    """Return ``x`` as a float32 or float64 array without copying when possible.

    float32 and float64 pass through (converted to native byte order if
    needed); integers and booleans become float64 and float16 becomes float32
    (as in scipy.special).  Anything else
    (complex, strings, objects, extended precision) raises TypeError.
    """
    reject_masked(x, name, func)
    x = as_array(x, name, func)
    dtype = x.dtype
    if dtype == np.float64 or dtype == np.float32:
        return x
    if dtype.kind == "f" and not dtype.isnative and dtype.itemsize in (4, 8):
        return x.astype(dtype.newbyteorder("="))
    if dtype.kind in "biu":
        return x.astype(np.float64)
    if dtype.kind == "f" and dtype.itemsize == 2:  # float16, in either byte order
        return x.astype(np.float32)
    raise TypeError(
        f"{func}: {name} must be an array of real numbers (float32, float64, float16, "
        f"integer or bool), got dtype {dtype}"
    )


def reject_masked(x, name, func):
    """Raise for a masked array: np.asarray would drop its mask silently."""
    if isinstance(x, np.ma.MaskedArray):
        hint = (
            f"; to leave masked entries out, pass {name}.filled(0) with "
            f"where=~np.ma.getmaskarray({name})"
            if func in ("softmax", "log_softmax", "logsumexp")
            else f"; pass {name}.filled(value) to choose what masked entries hold"
        )
        raise TypeError(f"{func}: {name} is a masked array, whose mask fastnn cannot honour{hint}")


def where_mask(where, shape, func):
    """``where`` checked to be boolean and broadcast to ``shape`` (a view)."""
    reject_masked(where, "where", func)
    where = as_array(where, "where", func)
    if where.dtype != np.bool_:
        raise TypeError(f"{func}: where must be a boolean array, got dtype {where.dtype}")
    try:
        return np.broadcast_to(where, shape)
    except ValueError:
        raise ValueError(
            f"{func}: where has shape {where.shape}, which does not broadcast to x's "
            f"shape {shape}"
        ) from None


def check_out(out, shape, dtype, func):
    """Check a user-supplied ``out`` array against the result it will hold."""
    if out is None:
        return
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{func}: out must be a NumPy array, got {type(out).__name__}")
    reject_masked(out, "out", func)
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(
            f"{func}: out has shape {out.shape} and dtype {out.dtype}; "
            f"expected shape {shape} and dtype {np.dtype(dtype)}"
        )
    if not out.flags.writeable:
        raise ValueError(f"{func}: out is read-only")


def result_array(out, x, func):
    """The array a kernel writes ``x``'s result into: ``out`` once checked, or
    a new array in ``x``'s layout (C unless ``x`` is Fortran-ordered) that
    overlaps nothing.

    For an ``out`` of an ndarray subclass (``np.matrix``, ``np.memmap``) this
    is a plain ndarray view of its memory, since a subclass may change what
    reshaping means; the caller returns ``out`` itself, as ufuncs do.
    """
    if out is None:
        return empty_like_layout(x)
    check_out(out, x.shape, x.dtype, func)
    return out if type(out) is np.ndarray else out.view(np.ndarray)


def check_same_shape(a, b, name_a, name_b, func):
    if a.shape != b.shape:
        raise ValueError(
            f"{func}: {name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}"
        )


def overlaps_elsewhere(a, b):
    """True when ``a`` and ``b`` may share memory other than element by element.

    A kernel may write its output over its input only when each output
    element sits exactly on the input element it is computed from.
    """
    if not np.may_share_memory(a, b):
        return False
    same_start = a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    return not (same_start and a.strides == b.strides)


def contiguous_order(*arrays):
    """'C' or 'F' when every array is contiguous in that order, else None."""
    if len(arrays) == 1:
        flags = arrays[0].flags
        return "C" if flags.c_contiguous else "F" if flags.f_contiguous else None
    if all(a.flags.c_contiguous for a in arrays):
        return "C"
    if all(a.flags.f_contiguous for a in arrays):
        return "F"
    return None


def empty_like_layout(x, dtype=None):
    """A new array shaped like ``x``: Fortran order when ``x`` is, else C."""
    flags = x.flags
    order = "F" if flags.f_contiguous and not flags.c_contiguous else "C"
    return np.empty(x.shape, dtype=x.dtype if dtype is None else dtype, order=order)


def as_array(value: object, name: str, func: Optional[str] = None) -> NDArray[Any]:
    """``np.asarray(value)``, with an error that names the argument when
    NumPy cannot make one array of it (a ragged nested list, for example)."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        prefix = f"{func}: " if func else ""
        raise type(error)(
            f"{prefix}{name} must be array_like (an array or nested sequences of equal "
            f"length), got {type(value).__name__}: {error}"
        ) from None


def check_rng(
    seed: Any, name: str = "seed", func: Optional[str] = None
) -> np.random.Generator:
    """``np.random.default_rng(seed)``, with an error naming the argument."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as error:
        prefix = f"{func}: " if func else ""
        raise type(error)(
            f"{prefix}{name} must be None, an int or a numpy.random.Generator, got "
            f"{seed!r} ({error})"
        ) from None


# Boolean predicates rather than inline isinstance checks: mypy does not
# know that int and float are numbers.Real, so it would take the code after
# an inline check for unreachable and stop checking it.


def is_integer(value: object) -> bool:
    """True for Python and NumPy integers; False for bools."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: object) -> bool:
    """True for real numbers (``numbers.Real``); False for bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_sample_weight(sample_weight, n_samples, require_positive=True):
    """``sample_weight`` as a float64 (n_samples,) array, or None; a scalar is broadcast.

    The one check of sample weights: `fastnn.MLP`'s, the estimators' in
    memory and on Dask (there chunk by chunk, with ``n_samples`` the chunk's
    rows and ``require_positive`` False: only the whole data needs a
    positive weight).
    """
    if sample_weight is None:
        return None
    if is_real(sample_weight):
        weights = np.full(n_samples, float(sample_weight))
    else:
        weights = np.asarray(sample_weight)
        if weights.dtype.kind not in "biuf":
            raise ValueError(f"sample_weight must hold real numbers, got dtype {weights.dtype}")
        weights = weights.astype(np.float64)
        if weights.ndim != 1:
            raise ValueError(
                f"Sample weights must be 1D array or scalar, got {weights.ndim}D array. "
                f"Expected either a scalar value or a 1D array of length {n_samples}."
            )
        if weights.shape != (n_samples,):
            raise ValueError(
                f"sample_weight must have shape ({n_samples},), one weight per sample, got "
                f"shape {weights.shape}"
            )
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity")
    if np.any(weights < 0):
        raise ValueError("sample_weight must be non-negative")
    if require_positive and not np.any(weights > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights
