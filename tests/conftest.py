"""Shared fixtures for fastnn's tests.

Fixtures here are generic so that every test module can use them:

``rng``
    A seeded ``numpy.random.Generator``; every test gets the same stream, so a
    failure reproduces exactly.
``variant``
    Parametrised over every SIMD variant that this CPU can run
    (``fastnn._dispatch.available``); the test body runs with that variant
    active.  A kernel that is correct in one variant and wrong in another is
    caught only this way.
``layout``
    Parametrised over memory layouts; the value is a function that returns an
    array equal to its argument but laid out differently (C, Fortran, strided
    with negative steps, read-only, read-only memory map).
``as_layout``
    The same conversion as a plain function of ``(array, name)``, for tests
    that choose the layout themselves.
``public_name``, ``public_names``
    Parametrised over the dotted name of every public object (see
    ``public_api_names``), for tests that check the whole public API; and
    the whole list.
"""

import inspect
import itertools
import types

import numpy as np
import pytest

LAYOUTS = ("C", "F", "strided", "readonly", "memmap")
_memmap_counter = itertools.count()


def pytest_generate_tests(metafunc):
    # The variant list comes from the compiled package, so it is read at
    # collection time rather than when conftest is imported: a missing build
    # then shows up as a clear ImportError in the tests that need it.
    if "variant" in metafunc.fixturenames:
        from fastnn import _dispatch

        metafunc.parametrize("variant", list(_dispatch.available), indirect=True)
    if "public_name" in metafunc.fixturenames:
        metafunc.parametrize("public_name", public_api_names())


def public_api_names():
    """Dotted names of every public object of fastnn.

    Everything in ``fastnn.__all__`` (and ``fastnn.dask.__all__`` when dask
    is installed) except modules, the public methods
    defined by its classes, the public functions of ``fastnn.datasets`` and
    ``fastnn.train``, and ``GradientCheckReport`` (which ``gradcheck``
    returns).  Read from the package, so a new public function is covered
    without editing any list.
    """
    import fastnn
    import fastnn.train

    packages = [fastnn]
    try:
        import fastnn.dask
    except ImportError:  # dask is an optional extra
        pass
    else:
        packages.append(fastnn.dask)
    names = []
    for package in packages:
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.ismodule(obj):
                continue
            names.append(f"{package.__name__}.{name}")
            if inspect.isclass(obj):
                names += [
                    f"{package.__name__}.{name}.{attribute}"
                    for attribute, value in vars(obj).items()
                    if not attribute.startswith("_")
                    and isinstance(value, (types.FunctionType, classmethod, staticmethod))
                ]
    for module in (fastnn.datasets, fastnn.train):
        names += [f"{module.__name__}.{name}" for name in module.__all__]
    names.append("fastnn.gradcheck.GradientCheckReport")
    return names


@pytest.fixture(scope="session")
def public_names():
    """The list ``public_api_names()``, for tests that check it as a whole."""
    return public_api_names()


@pytest.fixture
def variant(request):
    """Run the test with one SIMD variant of the kernels active."""
    from fastnn import _dispatch

    name = request.param
    with _dispatch.use(name):
        yield name


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def _strided_copy(x):
    """A view into a NaN-filled buffer twice the size: every other element, last axis reversed.

    The gaps hold NaN (or 0 for non-float data), so a kernel that reads
    outside the view, for example by assuming contiguity, produces NaN and
    fails the comparison.  The reversed last axis gives a negative inner
    stride, the case a row-major kernel is most likely to get wrong.
    """
    if x.ndim == 0:
        return x.copy()
    fill = np.nan if x.dtype.kind == "f" else 0
    big = np.full(tuple(2 * s for s in x.shape), fill, dtype=x.dtype)
    index = tuple(slice(None, None, 2) for _ in x.shape[:-1]) + (slice(None, None, -2),)
    view = big[index]
    view[...] = x
    assert view.shape == x.shape
    return view


def _as_layout(x, name, tmp_dir=None):
    x = np.asarray(x)
    # Always a copy, so an in-place call never touches the caller's array
    # (np.ascontiguousarray would also turn a 0-d array into 1-d).
    if name == "C":
        return x.copy(order="C")
    if name == "F":
        return x.copy(order="F")
    if name == "strided":
        return _strided_copy(x)
    if name == "readonly":
        y = x.copy()
        y.setflags(write=False)
        return y
    if name == "memmap":
        if tmp_dir is None:
            raise ValueError("memmap layout needs a temporary directory")
        path = tmp_dir / f"memmap_{next(_memmap_counter)}.dat"
        if x.size == 0:
            # np.memmap cannot map an empty file; an empty read-only array is
            # the closest equivalent.
            y = x.copy()
            y.setflags(write=False)
            return y
        writer = np.memmap(path, dtype=x.dtype, mode="w+", shape=x.shape)
        writer[...] = x
        writer.flush()
        del writer
        return np.memmap(path, dtype=x.dtype, mode="r", shape=x.shape)
    raise ValueError(f"unknown layout {name!r}")


@pytest.fixture
def as_layout(tmp_path):
    """``as_layout(x, name)``: ``x`` copied into layout ``name`` (one of LAYOUTS)."""

    def convert(x, name):
        return _as_layout(x, name, tmp_path)

    return convert


@pytest.fixture(params=LAYOUTS)
def layout(request, tmp_path):
    """A function returning its argument in one memory layout (parametrised)."""

    def convert(x):
        return _as_layout(x, request.param, tmp_path)

    convert.name = request.param
    return convert
