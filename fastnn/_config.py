"""Thread count and build information."""

from typing import Optional

import numpy as np

from . import _dispatch
from ._typing import IntegerLike

__all__ = ["set_num_threads", "get_num_threads", "show_config"]

# Below these many elements a kernel runs on the calling thread only: the
# OpenMP fork/join (a few microseconds) would cost more than it saves, and
# small calls never wake the thread pool.  Kernels with an exp per element
# (softmax family, cross-entropy) pay off from 32k elements; the sigmoid is
# cheaper per element, its gradient cheaper still (memory-bound).  The higher
# bars also keep the activations of a typical minibatch (256 x 256) serial:
# alternating between OpenMP's and the BLAS's spinning thread pools on the
# same cores costs far more than either saves.
PARALLEL_MIN_ELEMENTS = 1 << 15
PARALLEL_MIN_ELEMENTS_SIGMOID = 1 << 17
PARALLEL_MIN_ELEMENTS_CHEAP = 1 << 19

_num_threads = None


def set_num_threads(n: Optional[IntegerLike]) -> None:
    """Set the number of threads fastnn's kernels may use.

    Parameters
    ----------
    n : int or None
        A positive thread count, or None to go back to the default: the
        OpenMP limit (``OMP_NUM_THREADS``, or what ``threadpoolctl`` sets).

    Examples
    --------
    >>> import fastnn
    >>> fastnn.set_num_threads(1)
    >>> fastnn.get_num_threads()
    1
    >>> fastnn.set_num_threads(None)
    """
    global _num_threads
    if n is None:
        _num_threads = None
        return
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"set_num_threads: n must be a positive int or None, got {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be a positive number of threads, got {n}")
    _num_threads = int(n)


def get_num_threads() -> int:
    """Return the number of threads fastnn's kernels use for large inputs.

    Returns
    -------
    int
        The count set by :func:`set_num_threads`, or else the OpenMP limit
        (at least 1).  Inputs below a size cut-off always run on the calling
        thread alone.

    Examples
    --------
    >>> import fastnn
    >>> fastnn.get_num_threads() >= 1
    True
    """
    if _num_threads is not None:
        return _num_threads
    return max(1, _dispatch.kernels.openmp_max_threads())


def threads_for(n_elements, min_elements=PARALLEL_MIN_ELEMENTS):
    """Threads to use for a call touching ``n_elements`` elements."""
    if n_elements < min_elements:
        return 1
    return get_num_threads()


def show_config():
    """Describe how fastnn was built and what it will use on this machine.

    Returns
    -------
    config : dict
        ``"version"``; ``"simd"``, the active kernel variant (``"avx512"``
        for the AVX-512 build, ``"avx2"`` for the AVX2+FMA build,
        ``"baseline"`` otherwise); ``"simd_available"``,
        the variants this CPU can run; ``"openmp"``, whether the kernels were
        compiled with OpenMP; ``"num_threads"``, the threads large inputs use;
        ``"parallel_min_elements"``, the size below which calls stay serial.

    Examples
    --------
    >>> import fastnn
    >>> config = fastnn.show_config()
    >>> config["simd"] in config["simd_available"]
    True
    """
    from . import __version__

    return {
        "version": __version__,
        "simd": _dispatch.active,
        "simd_available": _dispatch.available,
        "openmp": _dispatch.kernels.openmp_enabled(),
        "num_threads": get_num_threads(),
        "parallel_min_elements": PARALLEL_MIN_ELEMENTS,
    }
