"""Results do not depend on where they are written.

A kernel called in place (``out=x``), into a preallocated array (``out=``)
and into a new array returns the same bits, for every kernel, axis, dtype,
thread count and SIMD variant, just as the results do not depend on the
thread count.  (Before the row passes were written against the SIMD layer,
``log_softmax(x, out=x)`` in float64 summed its exponentials in another
order than ``log_softmax(x)`` and differed in the last bit on about 14% of
the entries.)
"""

import numpy as np
import pytest

import fastnn

FLOATS = [np.float32, np.float64]
FLOAT_IDS = ["float32", "float64"]

# (shape, axis): short rows (the transposed-block kernels), long rows with a
# partial vector at the end, a non-last axis (the column kernels) and, for
# the row kernels, an array large enough for the streaming stores.
CASES = [((64, 10), -1), ((40, 1003), -1), ((33, 1000), 0), ((7, 21, 19), 1),
         ((2100, 1000), -1)]
CASE_IDS = ["64x10", "40x1003", "33x1000-axis0", "7x21x19-axis1", "2100x1000-streamed"]


def logits(shape, dtype, seed=0):
    """Random logits with the regimes that take different code paths: rows
    where one entry dominates (the careful sum less one), ties with the
    maximum, and -inf entries."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 4
    flat = x.reshape(-1, shape[-1])
    flat[::3, 0] += 60.0                  # dominated rows
    flat[1::7, :2] = flat[1::7, :2].max()  # ties
    flat[2::11, -1] = -np.inf
    return x.astype(dtype)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("func", [fastnn.softmax, fastnn.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_family_same_bits_in_place_and_out_of_place(variant, func, dtype, case, threads):
    shape, axis = case
    x = logits(shape, dtype)
    previous = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        fresh = func(x, axis=axis)
        into = np.empty_like(x)
        returned = func(x, axis=axis, out=into)
        in_place = x.copy()
        func(in_place, axis=axis, out=in_place)
    finally:
        fastnn.set_num_threads(previous)
    assert returned is into
    np.testing.assert_array_equal(into.view(np.uint8), fresh.view(np.uint8))
    np.testing.assert_array_equal(in_place.view(np.uint8), fresh.view(np.uint8))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("name", ["sigmoid", "sigmoid_grad", "sigmoid_backward"])
def test_elementwise_same_bits_in_place_and_out_of_place(variant, name, dtype, threads):
    rng = np.random.default_rng(1)
    n = 100_003
    x = (rng.standard_normal(n) * 30).astype(dtype)
    s = rng.random(n).astype(dtype)
    func = getattr(fastnn, name)
    args = {"sigmoid": (x,), "sigmoid_grad": (s,), "sigmoid_backward": (x, s)}[name]
    previous = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        fresh = func(*args)
        into = np.empty_like(fresh)
        func(*args, out=into)
        for k in range(len(args)):
            inputs = [a.copy() for a in args]
            func(*inputs, out=inputs[k])
            np.testing.assert_array_equal(inputs[k].view(np.uint8), fresh.view(np.uint8))
    finally:
        fastnn.set_num_threads(previous)
    np.testing.assert_array_equal(into.view(np.uint8), fresh.view(np.uint8))


@pytest.mark.parametrize("case", CASES[:4], ids=CASE_IDS[:4])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_logsumexp_same_bits_into_out(variant, dtype, case):
    shape, axis = case
    x = logits(shape, dtype)
    fresh = fastnn.logsumexp(x, axis=axis)
    into = np.empty_like(fresh)
    fastnn.logsumexp(x, axis=axis, out=into)
    np.testing.assert_array_equal(into.view(np.uint8), fresh.view(np.uint8))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_cross_entropy_streamed_gradient_same_bits_as_small_calls(variant, dtype, smoothing):
    # A gradient of 16 MiB or more is finished in a scratch row and streamed
    # out; computed in small calls it is written in place.  Same bits.
    rng = np.random.default_rng(2)
    n, C = 4200, 1001
    z = (rng.standard_normal((n, C)) * 5).astype(dtype)
    labels = rng.integers(0, C, n)
    _, grad = fastnn.softmax_cross_entropy(z, labels, reduction="sum", label_smoothing=smoothing)
    assert grad.nbytes >= 16 << 20
    pieces = [fastnn.softmax_cross_entropy(z[i:i + 100], labels[i:i + 100], reduction="sum",
                                           label_smoothing=smoothing)[1] for i in range(0, n, 100)]
    np.testing.assert_array_equal(grad.view(np.uint8), np.concatenate(pieces).view(np.uint8))


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("name", ["sigmoid", "sigmoid_grad", "sigmoid_backward"])
def test_small_elementwise_call_with_out(variant, name, dtype):
    # Small calls with a plain out= take the kernel's fast path; an out that
    # overlaps an input other than element by element takes the general one.
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((128, 10)) * 8).astype(dtype)
    s = rng.random((128, 10)).astype(dtype)
    func = getattr(fastnn, name)
    args = (x,) if name == "sigmoid" else (s,) if name == "sigmoid_grad" else (x, s)
    fresh = func(*args)
    out = np.empty_like(fresh)
    assert func(*args, out=out) is out
    np.testing.assert_array_equal(out, fresh)
    buffer = np.concatenate([args[-1].ravel(), np.zeros(1, dtype)])
    shifted_in, shifted_out = buffer[:-1].reshape(128, 10), buffer[1:].reshape(128, 10)
    expected = func(*args[:-1], shifted_in.copy())
    assert func(*args[:-1], shifted_in, out=shifted_out) is shifted_out
    np.testing.assert_array_equal(shifted_out, expected)
