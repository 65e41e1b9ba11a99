"""Thread count and build information."""

from typing import Any, Literal, overload

import numpy as np

from . import _dispatch

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


def set_num_threads(n):
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
        raise TypeError(f"set_num_threads: expected a positive int or None, got {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    _num_threads = int(n)


def get_num_threads():
    """Return the number of threads fastnn's kernels use for large inputs.

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


@overload
def show_config(mode: Literal["stdout"] = ...) -> None: ...
@overload
def show_config(mode: Literal["dicts"]) -> dict[str, Any]: ...


def show_config(mode: str = "stdout") -> dict[str, Any] | None:
    """Show how fastnn was built and what it will use on this machine.

    As ``numpy.show_config``: by default the configuration is printed, and
    ``mode="dicts"`` returns it instead.

    Parameters
    ----------
    mode : {"stdout", "dicts"}, default "stdout"
        "stdout" prints a readable summary and returns None; "dicts"
        returns the configuration as a dict and prints nothing.

    Returns
    -------
    dict or None
        With ``mode="dicts"``: ``"version"``; ``"simd"``, the active kernel
        variant (``"avx512"`` for the AVX-512 build, ``"avx2"`` for the
        AVX2+FMA build, ``"baseline"`` otherwise); ``"simd_available"``, the
        variants this CPU can run, slowest first; ``"openmp"``, whether the
        kernels were compiled with OpenMP; ``"num_threads"``, the threads
        large inputs use; ``"parallel_min_elements"``, the size below which
        calls stay serial.  None with ``mode="stdout"``.

    Raises
    ------
    ValueError
        If ``mode`` is neither "stdout" nor "dicts".

    See Also
    --------
    get_num_threads : The thread count on its own.

    Examples
    --------
    >>> import fastnn
    >>> fastnn.show_config()  # doctest: +ELLIPSIS
    fastnn 0.1.0
      kernel variant:       ...
      OpenMP:               ...
    >>> config = fastnn.show_config(mode="dicts")
    >>> config["simd"] in config["simd_available"]
    True
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"show_config: mode must be 'stdout' or 'dicts', got {mode!r}")
    from . import __version__

    config = {
        "version": __version__,
        "simd": _dispatch.active,
        "simd_available": _dispatch.available,
        "openmp": _dispatch.kernels.openmp_enabled(),
        "num_threads": get_num_threads(),
        "parallel_min_elements": PARALLEL_MIN_ELEMENTS,
    }
    if mode == "dicts":
        return config
    import os

    openmp = "yes" if config["openmp"] else "no (built without it: every call is serial)"
    lines = [
        f"fastnn {config['version']}",
        f"  kernel variant:       {config['simd']} "
        f"(this CPU can run: {', '.join(config['simd_available'])})",
        f"  OpenMP:               {openmp}",
        f"  threads:              {config['num_threads']} for large inputs; "
        "small ones run on the calling thread",
        f"  parallel from:        {config['parallel_min_elements']} elements "
        "(softmax family, cross-entropy; higher for the sigmoid kernels)",
        f"  package:              {os.path.dirname(os.path.abspath(__file__))}",
    ]
    kernels_file = _dispatch.kernels.__file__
    if kernels_file is not None:
        kernels_dir = os.path.dirname(os.path.abspath(kernels_file))
        if kernels_dir != os.path.dirname(os.path.abspath(__file__)):
            # Only when a source folder borrows an installed build (see _locate.py).
            lines.append(f"  compiled kernels:     {kernels_dir}")
    print("\n".join(lines))
    return None
