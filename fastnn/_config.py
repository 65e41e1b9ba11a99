"""Thread count and build information."""

from __future__ import annotations

import os
import threading
from typing import Any, Literal, Optional, overload

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

# Most threads a kernel may be asked to run: what OpenMP will honour
# (OMP_THREAD_LIMIT), and no more than 8 per CPU this process may use (at
# least 64).  More threads bring nothing, and libgomp allocates per-thread
# state up front: a count of 10**9 exhausts memory and ends the process.
_OVERSUBSCRIPTION = 8
_MIN_CEILING = 64

_num_threads = None          # set by set_num_threads; None: the OpenMP default
_openmp_started = False      # this process has run a parallel kernel
_forked_after_openmp = False  # this process was forked after its parent had
_child_executor = None       # a thread owning a fresh OpenMP pool, in such a child
_child_executor_lock = threading.Lock()


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def max_threads():
    """The largest thread count fastnn accepts on this machine."""
    ceiling = max(_MIN_CEILING, _OVERSUBSCRIPTION * _usable_cpus())
    return max(1, min(ceiling, _dispatch.kernels.openmp_thread_limit()))


def _after_fork_in_child():
    # GNU OpenMP keeps its thread pool across fork, but the pool's threads do
    # not exist in the child: its next parallel region waits for them
    # forever.  Such a child runs serially until it asks for threads itself
    # (see run_kernel).  A child of a process that never ran a parallel
    # kernel has a usable OpenMP runtime and keeps its settings.
    global _num_threads, _forked_after_openmp, _child_executor, _child_executor_lock
    _child_executor = None
    _child_executor_lock = threading.Lock()
    if _openmp_started or _forked_after_openmp:
        _forked_after_openmp = True
        _num_threads = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n: Optional[IntegerLike]) -> None:
    """Set the number of threads fastnn's kernels may use.

    Parameters
    ----------
    n : int or None
        A thread count from 1 to the most threads OpenMP can honour here, or
        None to go back to the default: the OpenMP limit
        (``OMP_NUM_THREADS``, or what ``threadpoolctl`` sets).

    Raises
    ------
    TypeError
        If ``n`` is not an integer or None.
    ValueError
        If ``n`` is below 1 or above the most threads OpenMP can honour here
        (``OMP_THREAD_LIMIT``, and at most 8 per usable CPU, at least 64).

    Notes
    -----
    The setting applies to the whole process and to calls from every
    Python thread, and takes precedence over ``OMP_NUM_THREADS`` and
    ``threadpoolctl``.  A process forked after fastnn ran threads in its
    parent starts serial (``n`` is not inherited) and may call
    ``set_num_threads`` again.

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
    limit = max_threads()
    if not 1 <= n <= limit:
        raise ValueError(
            f"set_num_threads: n must lie in [1, {limit}] (at least 1, at most the threads "
            f"OpenMP can honour on this machine), got {n}"
        )
    _num_threads = int(n)


def get_num_threads() -> int:
    """Return the number of threads fastnn's kernels use for large inputs.

    Returns
    -------
    int
        The count given to :func:`set_num_threads`, or else the OpenMP limit
        of the calling thread (``OMP_NUM_THREADS``, or a ``threadpoolctl``
        limit set in this thread), capped at the most threads fastnn
        accepts; 1 in a process forked after its parent ran threads.

    Examples
    --------
    >>> import fastnn
    >>> fastnn.get_num_threads() >= 1
    True
    """
    if _num_threads is not None:
        return _num_threads
    if _forked_after_openmp:
        return 1
    return max(1, min(_dispatch.kernels.openmp_max_threads(), max_threads()))


def threads_for(n_elements, min_elements=PARALLEL_MIN_ELEMENTS):
    """Threads to use for a call touching ``n_elements`` elements."""
    if n_elements < min_elements:
        return 1
    return get_num_threads()


def run_kernel(kernel, *args):
    """Call ``kernel(*args)``, whose last argument is its thread count.

    In a process forked after its parent ran OpenMP threads, a parallel
    call runs on a helper thread created in this process: OpenMP pools
    belong to the thread that starts them, so that thread gets a working
    pool of its own while the inherited one is never touched.
    """
    global _openmp_started, _child_executor
    if args[-1] <= 1:
        return kernel(*args)
    if not _forked_after_openmp:
        _openmp_started = True
        return kernel(*args)
    with _child_executor_lock:
        if _child_executor is None:
            from concurrent.futures import ThreadPoolExecutor

            _child_executor = ThreadPoolExecutor(1, thread_name_prefix="fastnn-openmp")
        executor = _child_executor
    return executor.submit(kernel, *args).result()


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
        calls stay serial; ``"max_threads"``, the largest count
        :func:`set_num_threads` accepts.  None with ``mode="stdout"``.

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
        "max_threads": max_threads(),
    }
    if mode == "dicts":
        return config

    openmp = "yes" if config["openmp"] else "no (built without it: every call is serial)"
    lines = [
        f"fastnn {config['version']}",
        f"  kernel variant:       {config['simd']} "
        f"(this CPU can run: {', '.join(config['simd_available'])})",
        f"  OpenMP:               {openmp}",
        f"  threads:              {config['num_threads']} for large inputs "
        f"(set_num_threads accepts 1 to {config['max_threads']}); "
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
