"""Check an analytical gradient against centered finite differences.

``scipy.optimize.check_grad`` uses forward differences, whose truncation error
is O(eps), and returns one absolute error for the whole vector (scipy issue
#7766), which says little about which coordinate is wrong or whether an error
is large relative to the gradient.  `gradcheck` uses centered differences
(truncation error O(eps^2)), judges every coordinate against a relative
tolerance, names the first one that disagrees, and can check random
directional derivatives instead of all coordinates of a large vector.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._typing import IntegerLike, Seed
from ._validation import check_rng, is_integer, is_real

__all__ = ["gradcheck", "GradientCheckError", "GradientCheckReport"]


class GradientCheckError(AssertionError):
    """An analytical gradient disagrees with its finite-difference estimate.

    It is an ``AssertionError``, so a failed check inside a test reads like
    any failed assertion.  `gradcheck` raises it; its attributes hold the
    values the message shows, for programs that inspect the failure.

    Parameters
    ----------
    message : str
        The error message.
    index : tuple of int or int
        Stored as the ``index`` attribute.
    analytical : float
        Stored as the ``analytical`` attribute.
    numerical : float
        Stored as the ``numerical`` attribute.
    rel_error : float
        Stored as the ``rel_error`` attribute.

    Attributes
    ----------
    index : tuple of int or int
        The coordinate of ``x`` that disagrees (an index tuple, as for
        ``x[index]``), or, in directional mode, the number of the direction.
    analytical : float
        The derivative computed by ``f``.
    numerical : float
        The centered finite-difference estimate.
    rel_error : float
        ``|analytical - numerical| / max(|analytical|, |numerical|)``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> def wrong_square(x):
    ...     return float(x @ x), 3 * x  # the derivative of x @ x is 2 x
    >>> try:
    ...     fastnn.gradcheck(wrong_square, np.array([1.0, 2.0]))
    ... except fastnn.GradientCheckError as error:
    ...     print(error.index, error.analytical, round(error.numerical, 6))
    (0,) 3.0 2.0
    """

    index: Union[tuple[int, ...], int]
    analytical: float
    numerical: float
    rel_error: float

    def __init__(
        self,
        message: str,
        index: Union[tuple[int, ...], int],
        analytical: float,
        numerical: float,
        rel_error: float,
    ) -> None:
        super().__init__(message)
        self.index = index
        self.analytical = analytical
        self.numerical = numerical
        self.rel_error = rel_error


@dataclass(frozen=True)
class GradientCheckReport:
    """What `gradcheck` measured when every derivative agreed.

    `gradcheck` creates it; each parameter is also a read-only attribute of
    the same name.

    Parameters
    ----------
    max_rel_error : float
        Largest ``|analytical - numerical| / max(|analytical|, |numerical|)``
        over the checked derivatives (0 where both are exactly 0).
    max_abs_error : float
        Largest ``|analytical - numerical|``.
    worst_index : tuple of int or int or None
        Where ``max_rel_error`` occurred: a coordinate of ``x``, or the
        number of a direction in directional mode.
    n_checked : int
        How many derivatives were compared.
    mode : {"coordinates", "directions"}
        Whether single coordinates or random directions were checked.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> report = fastnn.gradcheck(lambda x: (float(x @ x), 2 * x), np.array([1.0, -2.0]))
    >>> report.mode, report.n_checked
    ('coordinates', 2)
    >>> repr(report).startswith("GradientCheckReport(passed: 2 coordinates agree")
    True
    >>> bool(report.max_rel_error < 1e-8)
    True
    """

    max_rel_error: float
    max_abs_error: float
    worst_index: Union[tuple[int, ...], int, None]
    n_checked: int
    mode: Literal["coordinates", "directions"]

    def __repr__(self) -> str:
        # A report exists only when the check passed (a failure raises
        # GradientCheckError), and its repr says so first.
        what = "coordinates" if self.mode == "coordinates" else "directions"
        return (
            f"GradientCheckReport(passed: {self.n_checked} {what} agree, "
            f"max_rel_error={self.max_rel_error:.3g}, max_abs_error={self.max_abs_error:.3g}, "
            f"worst_index={self.worst_index!r})"
        )


def _evaluate(f, x):
    """Call ``f(x)`` and return its value as a float and its gradient."""
    result = f(x)
    try:
        value, gradient = result
    except (TypeError, ValueError):
        raise TypeError(
            "f must return a pair (value, gradient), got "
            f"{type(result).__name__}"
        ) from None
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"f must return a scalar value, got shape {value.shape}")
    return float(value.reshape(())), gradient


def gradcheck(
    f: Callable[[NDArray[Any]], tuple[ArrayLike, ArrayLike]],
    x: ArrayLike,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    n_directions: Optional[IntegerLike] = None,
    seed: Seed = None,
) -> GradientCheckReport:
    """Compare the gradient returned by ``f`` with centered finite differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> (value, gradient)`` with a scalar ``value`` and a
        ``gradient`` of the same shape as ``x``.  It is called with ``x``
        itself, perturbed in place, so it must not keep a reference to
        ``x`` between calls.
    x : ndarray of float
        Point at which to check; a vector, matrix or any shape.  It is
        perturbed in place during the check and restored bit for bit after
        every probe, also when ``f`` raises.  Use float64: float32 leaves
        too few digits for a finite difference.  Anything else array_like
        is first copied into a new float64 array.
    eps : float, default 1e-6
        Step, relative to ``max(1, |x_i|)`` in coordinate mode and to
        ``max(1, rms(x))`` in directional mode.  The default balances the
        O(eps^2) truncation error against the O(machine epsilon / eps)
        rounding error for float64 values of order one.
    rtol, atol : float, default 1e-5 and 1e-8
        A derivative passes when ``|analytical - numerical| <= atol + rtol *
        max(|analytical|, |numerical|)``.  ``atol`` matters only for
        derivatives near zero, where relative error means nothing.
    n_directions : int, optional
        When given, check this many random directional derivatives
        ``gradient . v`` (``v`` uniform on the unit sphere) instead of every
        coordinate: 2 evaluations of ``f`` per direction instead of 2 per
        coordinate, so a network with 100,000 parameters is checked in
        seconds.  A wrong gradient is caught by a random direction with
        probability one, unless the error is tiny.
    seed : None, int or numpy.random.Generator
        Seed for the random directions.

    Returns
    -------
    GradientCheckReport
        Maximum relative and absolute error, where the worst one occurred,
        and how many derivatives were checked.

    Raises
    ------
    GradientCheckError
        At the first derivative that disagrees (in C order of the
        coordinates), naming its index and both values.  It subclasses
        ``AssertionError``.

    Notes
    -----
    The centered difference ``(f(x + h e_i) - f(x - h e_i)) / (x_i + h - (x_i - h))``
    divides by the step actually taken in floating point, not by ``2 h``,
    which removes the representation error of ``x_i +- h``.

    References
    ----------
    .. [1] scipy issue #7766, "check_grad should use a relative error".

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> def quadratic(x):
    ...     return 0.5 * x @ A @ x, A @ x
    >>> report = fastnn.gradcheck(quadratic, np.array([1.0, -2.0]))
    >>> bool(report.max_rel_error < 1e-8), report.n_checked
    (True, 2)

    A gradient that is wrong in one coordinate is named:

    >>> def wrong(x):
    ...     value, grad = quadratic(x)
    ...     return value, grad + np.array([0.0, 1e-3])
    >>> fastnn.gradcheck(wrong, np.array([1.0, -2.0]))
    Traceback (most recent call last):
    ...
    fastnn.gradcheck.GradientCheckError: gradient mismatch at index (1,): analytical -4.999, numerical -5 (relative error 0.0002)
    """
    if not callable(f):
        raise TypeError(f"f must be a callable returning (value, gradient), got {f!r}")
    if isinstance(x, np.ndarray):
        point = x
    else:
        try:
            point = np.array(x, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"x must be a floating-point array, got {x!r} ({error})") from None
    if not np.issubdtype(point.dtype, np.floating):
        raise TypeError(f"x must be a floating-point array, got dtype {point.dtype}")
    if not point.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place and restored")
    for name, value in (("eps", eps), ("rtol", rtol), ("atol", atol)):
        if not is_real(value):
            raise TypeError(f"{name} must be a non-negative finite number, got {value!r}")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    if n_directions is not None:
        if not is_integer(n_directions):
            raise TypeError(f"n_directions must be a positive integer, got {n_directions!r}")
        if n_directions < 1:
            raise ValueError(f"n_directions must be a positive integer, got {n_directions!r}")
    x = point

    x_saved = x.copy()
    try:
        _, gradient = _evaluate(f, x)
    finally:
        x[...] = x_saved
    # Copy: f may return a buffer it reuses on the next call.
    gradient = np.array(gradient, dtype=np.float64)
    if gradient.shape != x.shape:
        raise ValueError(f"gradient has shape {gradient.shape}, x has shape {x.shape}")

    mode: Literal["coordinates", "directions"]
    if n_directions is None:
        probes = _coordinate_probes(f, x, gradient, eps)
        mode = "coordinates"
    else:
        probes = _direction_probes(f, x, x_saved, gradient, eps, int(n_directions), seed)
        mode = "directions"

    max_rel = max_abs = 0.0
    worst = None
    n_checked = 0
    for index, analytical, numerical in probes:
        n_checked += 1
        abs_error = abs(analytical - numerical)
        scale = max(abs(analytical), abs(numerical))
        rel_error = abs_error / scale if scale > 0 else 0.0
        if not abs_error <= atol + rtol * scale:  # "not <=" also catches NaN
            where = f"direction {index}" if mode == "directions" else f"index {index}"
            raise GradientCheckError(
                f"gradient mismatch at {where}: analytical {analytical:.6g}, "
                f"numerical {numerical:.6g} (relative error {rel_error:.3g})",
                index,
                analytical,
                numerical,
                rel_error,
            )
        if worst is None or rel_error > max_rel:
            worst = index
        max_rel = max(max_rel, rel_error)
        max_abs = max(max_abs, abs_error)
    return GradientCheckReport(max_rel, max_abs, worst, n_checked, mode)


def _coordinate_probes(f, x, gradient, eps):
    """Yield ``(index, analytical, numerical)`` for every coordinate of x."""
    for index in np.ndindex(x.shape):
        original = x[index]
        step = eps * max(1.0, abs(float(original)))
        try:
            x[index] = original + step
            upper = x[index]
            f_plus, _ = _evaluate(f, x)
            x[index] = original - step
            lower = x[index]
            f_minus, _ = _evaluate(f, x)
        finally:
            x[index] = original
        numerical = (f_plus - f_minus) / float(upper - lower)
        yield index, float(gradient[index]), numerical


def _direction_probes(f, x, x_saved, gradient, eps, n_directions, seed):
    """Yield ``(k, gradient . v_k, numerical derivative along v_k)``."""
    rng = check_rng(seed)
    rms = float(np.sqrt(np.mean(np.square(x_saved, dtype=np.float64)))) if x.size else 0.0
    step = eps * max(1.0, rms)
    for k in range(n_directions):
        direction = rng.standard_normal(x.shape)
        direction /= np.linalg.norm(direction)
        try:
            x[...] = x_saved + step * direction
            f_plus, _ = _evaluate(f, x)
            x[...] = x_saved - step * direction
            f_minus, _ = _evaluate(f, x)
        finally:
            x[...] = x_saved
        numerical = (f_plus - f_minus) / (2 * step)
        yield k, float(np.vdot(gradient, direction)), numerical
