"""Find the compiled kernels when fastnn is imported from its source folder.

A clone of the repository holds fastnn's Python files in ``./fastnn`` but not
its compiled kernels: ``pip install .`` builds them into site-packages.  For
``python -c``, ``python -m`` and the interactive prompt Python puts the working
directory first on ``sys.path``, so in the repository root ``import fastnn``
finds the uncompiled source folder, not the installed package.  Python's own
message for that ("cannot import name '_kernels_baseline' from partially
initialized module 'fastnn' (most likely due to a circular import)") points
the wrong way.

`find_kernels` runs first in ``fastnn/__init__.py``.  When the package folder
has no compiled kernels, it looks on ``sys.path`` for another fastnn folder
that has them and was built from byte-identical kernel sources, and appends
that folder to the package's ``__path__``: the Python modules still come from
the source folder (it is searched first), and only what it lacks, the
compiled modules, from the build.  Otherwise it raises an ImportError that
says what happened and what to do, as NumPy and scikit-learn do.
"""

import importlib.machinery
import os
import sys

__all__ = ["find_kernels"]

# The module every build has; the SIMD variants are optional (x86-64 only).
_REQUIRED_KERNEL = "_kernels_baseline"

# Extensions of the files the compiled modules are built from (setup.py).
_KERNEL_SOURCE_SUFFIXES = (".pyx", ".pxi", ".h")


def _has_kernels(directory):
    return any(
        os.path.isfile(os.path.join(directory, _REQUIRED_KERNEL + suffix))
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def _kernel_sources(directory):
    """Names of the kernel source files in ``directory``."""
    try:
        names = os.listdir(directory)
    except OSError:
        return set()
    return {name for name in names if name.endswith(_KERNEL_SOURCE_SUFFIXES)}


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _source_differences(source, build):
    """Kernel source files that differ between two fastnn folders (empty when identical).

    The version number alone is no guard against skew: it does not change
    between commits, and the Python layer calls the kernels with signatures
    and conventions (argument order, out buffers, thread cut-offs) that may
    change in any commit.  A build whose .pyx/.pxi/.h files are byte-identical
    to the source folder's was compiled from the same kernel code as an
    in-place build of this folder would be, so borrowing it changes nothing;
    any difference, or a build that does not carry its sources (installed
    before they were shipped in the wheel), is refused.
    """
    wanted = _kernel_sources(source)
    if not wanted:
        return ["the source folder has no .pyx, .pxi or .h files to compare"]
    present = _kernel_sources(build)
    differing = sorted(wanted ^ present)
    for name in sorted(wanted & present):
        if _read(os.path.join(source, name)) != _read(os.path.join(build, name)):
            differing.append(name)
    return differing


def find_kernels(package_path, search_path=None):
    """Make fastnn's compiled modules importable from ``package_path``, or explain why not.

    Parameters
    ----------
    package_path : list of str
        The package's ``__path__``; extended in place with the folder of an
        identical build when the package's own folder has no kernels.
    search_path : list of str, optional
        Where to look for such a build; ``sys.path`` by default.

    Raises
    ------
    ImportError
        When the package folder has no compiled kernels and no identical
        build is on ``search_path``.
    """
    if any(_has_kernels(directory) for directory in package_path):
        return
    source = os.path.realpath(package_path[0])
    refused = []
    for entry in sys.path if search_path is None else search_path:
        if not isinstance(entry, str):
            continue
        candidate = os.path.realpath(os.path.join(entry or os.curdir, "fastnn"))
        if candidate == source or not _has_kernels(candidate):
            continue
        differing = _source_differences(source, candidate)
        if not differing:
            package_path.append(candidate)
            return
        refused.append((candidate, differing))

    where = (
        f"fastnn is being imported from its source folder {source}, which has no compiled "
        "kernels (Python puts the working directory first on sys.path, so in the root of a "
        "fastnn clone ./fastnn is found first)."
    )
    build_here = (
        "To use this folder, build the kernels in place with `python -m pip install -e .` "
        "(or `python setup.py build_ext --inplace`) in the repository root."
    )
    if not refused:
        # Nothing else on sys.path: running elsewhere would not help.
        message = [
            where,
            "fastnn is not installed in this Python environment either. Install it from the "
            "repository root with `python -m pip install .`, or build it in place.",
            build_here,
        ]
    else:
        message = [where, build_here]
        for candidate, differing in refused:
            message.append(
                f"An installed fastnn at {candidate} was not used because it was built from "
                f"different kernel sources ({', '.join(differing)}): reinstall it from this "
                "folder (`python -m pip install .`) to use it here, or run Python from "
                "another directory to use it as it is."
            )
    raise ImportError("\n".join(message))
