"""Choice of the compiled kernel variant for the running CPU.

setup.py builds the kernels once per instruction set; this module imports
every variant that was built, keeps those the CPU can run, and makes the
fastest of them active.  The environment variable ``FASTNN_SIMD`` (for
example ``FASTNN_SIMD=baseline``) overrides the choice at import time.

Attributes
----------
kernels : module
    The active compiled module.  fastnn's Python functions look it up on
    every call, so :func:`use` takes effect immediately.
active : str
    Name of the active variant.
available : tuple of str
    Variants this CPU can run, slowest first.
"""

import importlib
import os
from contextlib import contextmanager

from . import _kernels_baseline

# Each variant with the check that the CPU can run it, slowest first.
_CANDIDATES = (
    ("avx2", _kernels_baseline.cpu_has_avx2_fma),
    ("avx512", _kernels_baseline.cpu_has_avx512),
)

_variants = {"baseline": _kernels_baseline}
for _name, _cpu_supports in _CANDIDATES:
    if _cpu_supports():
        try:
            _variants[_name] = importlib.import_module(f"fastnn._kernels_{_name}")
        except ImportError:  # not built for this architecture
            pass

available = tuple(_variants)


def _initial_variant():
    requested = os.environ.get("FASTNN_SIMD", "").strip().lower()
    if not requested:
        return available[-1]
    if requested not in _variants:
        raise ImportError(
            f"FASTNN_SIMD={requested!r} is not available on this machine; "
            f"choose one of {', '.join(available)}"
        )
    return requested


active = _initial_variant()
kernels = _variants[active]


@contextmanager
def use(name):
    """Make the kernel variant ``name`` active inside a ``with`` block.

    Not thread-safe: meant for tests and benchmarks that compare variants.
    """
    global kernels, active
    if name not in _variants:
        raise ValueError(f"unknown kernel variant {name!r}; available: {', '.join(available)}")
    saved = active
    kernels, active = _variants[name], name
    try:
        yield kernels
    finally:
        kernels, active = _variants[saved], saved
