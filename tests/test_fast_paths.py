"""The small-call fast paths agree bit for bit with the general path.

Small C-ordered float arrays skip the Python-level validation and go straight
to the compiled kernels; everything else (and any small call the fast path
declines) takes the general path.  Both must give the same results.
"""

import numpy as np
import pytest

import fastnn
from fastnn import _config, _dispatch

FLOATS = [np.float32, np.float64]
SHAPES = [(10,), (1, 10), (7, 3), (64, 16), (5, 17), (2, 3, 4)]


def shape_id(shape):
    return "x".join(map(str, shape))


@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_fast_and_general_paths_agree(shape, dtype, variant):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    s = fastnn.sigmoid(x)
    last = x.ndim - 1
    # axis given as a NumPy integer, or an out= array, selects the general path.
    np.testing.assert_array_equal(fastnn.softmax(x), fastnn.softmax(x, axis=np.int64(last)))
    np.testing.assert_array_equal(
        fastnn.log_softmax(x), fastnn.log_softmax(x, out=np.empty_like(x))
    )
    np.testing.assert_array_equal(s, fastnn.sigmoid(x, out=np.empty_like(x)))
    np.testing.assert_array_equal(fastnn.sigmoid_grad(s), fastnn.sigmoid_grad(s, out=np.empty_like(s)))
    np.testing.assert_array_equal(
        fastnn.sigmoid_backward(g, s), fastnn.sigmoid_backward(g, s, out=np.empty_like(s))
    )
    assert fastnn.softmax(x).dtype == dtype


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_cross_entropy_fast_and_general_paths_agree(reduction, dtype, variant):
    rng = np.random.default_rng(7)
    z = (rng.standard_normal((130, 10)) * 4).astype(dtype)
    target = rng.integers(0, 10, 130)
    fast_loss, fast_grad = fastnn.softmax_cross_entropy(z, target, reduction=reduction)
    # A NumPy scalar for label_smoothing selects the general path.
    loss, grad = fastnn.softmax_cross_entropy(
        z, target, reduction=reduction, label_smoothing=np.float64(0.0)
    )
    np.testing.assert_array_equal(fast_grad, grad)
    assert fast_grad.dtype == dtype
    assert np.asarray(fast_loss).dtype == dtype and np.shape(fast_loss) == np.shape(loss)
    np.testing.assert_array_equal(fast_loss, loss)


def test_fast_paths_are_taken_for_small_arrays_only():
    k = _dispatch.kernels
    small = np.ones((4, 10))
    assert k.softmax_small(small, None, False, _config.PARALLEL_MIN_ELEMENTS) is not None
    assert k.elementwise_small(1, small, None, _config.PARALLEL_MIN_ELEMENTS_SIGMOID) is not None
    assert k.xent_small(small, np.zeros(4, dtype=np.int64), 2, 1 << 15) is not None
    declined = [
        np.ones((4, 10), dtype=np.float16),  # needs conversion
        np.ones((4, 10), dtype=np.int64),  # needs conversion
        np.ones((10, 4)).T,  # not C-ordered
        np.ones((4, 20))[:, ::2],  # strided
        np.ones((0, 10)),  # empty
        np.float64(1.0),  # not an ndarray
        [[1.0, 2.0]],  # not an ndarray
        np.ones((200, 200)),  # at or above the parallel cut-off
    ]
    for x in declined:
        assert k.softmax_small(x, None, False, _config.PARALLEL_MIN_ELEMENTS) is None
        assert k.elementwise_small(1, x, None, 1 << 15) is None
    # Labels the fast path cannot vouch for are left to the general path's errors.
    for labels in ([0, 1, 2, 10], [0, -1, 2, 3]):
        assert k.xent_small(small, np.array(labels, dtype=np.int64), 2, 1 << 15) is None
    assert k.xent_small(small, np.zeros(4, dtype=np.int32), 2, 1 << 15) is None
    assert k.xent_small(small, np.zeros(3, dtype=np.int64), 2, 1 << 15) is None
    assert k.xent_small(small, np.zeros(4, dtype=np.int64), 3, 1 << 15) is None


def test_fast_path_errors_are_the_general_paths():
    with pytest.raises(ValueError, match=r"target\[2\] = 7 .*C=5"):
        fastnn.softmax_cross_entropy(np.zeros((3, 5)), np.array([0, 1, 7]))
    with pytest.raises(ValueError, match="reduction"):
        fastnn.softmax_cross_entropy(np.zeros((3, 5)), np.array([0, 1, 2]), reduction="avg")


@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("offset", [0, 1], ids=["aligned-out", "misaligned-out"])
def test_streaming_stores_for_large_outputs_change_nothing(dtype, offset, variant):
    # Outputs of 16 MiB and more are written with streaming stores; the
    # values must be bit for bit those of the cached path (small calls), for
    # softmax, log-softmax and the cross-entropy gradient.
    rng = np.random.default_rng(11)
    n_rows = (16 << 20) // (1000 * np.dtype(dtype).itemsize) + 30
    x = (rng.standard_normal((n_rows, 1000)) * 5).astype(dtype)
    assert x.nbytes >= 16 << 20
    storage = np.empty(x.size + offset, dtype=dtype)
    out = storage[offset:].reshape(x.shape)
    labels = rng.integers(0, 1000, len(x))
    labels[7] = -100
    probs = fastnn.softmax(rng.standard_normal(x.shape).astype(dtype))
    for func in (fastnn.softmax, fastnn.log_softmax):
        assert func(x, out=out) is out
        for rows in (slice(0, 1), slice(500, 530), slice(n_rows - 30, n_rows)):
            np.testing.assert_array_equal(out[rows], func(x[rows]))
    for target, options in ((labels, {"ignore_index": -100}), (probs, {})):
        loss, grad = fastnn.softmax_cross_entropy(x, target, reduction="none", **options)
        for rows in (slice(0, 10), slice(n_rows - 30, n_rows)):
            part_loss, part_grad = fastnn.softmax_cross_entropy(
                x[rows], target[rows], reduction="none", **options
            )
            np.testing.assert_array_equal(grad[rows], part_grad)
            np.testing.assert_array_equal(loss[rows], part_loss)


@pytest.mark.parametrize("log_output", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_out_fast_path_takes_plain_outputs_only(dtype, log_output):
    k = _dispatch.kernels
    limit = _config.PARALLEL_MIN_ELEMENTS
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 10)).astype(dtype)
    expected = k.softmax_small(x, None, log_output, limit)
    out = np.full_like(x, np.nan)
    assert k.softmax_small(x, out, log_output, limit) is out
    np.testing.assert_array_equal(out, expected)
    in_place = x.copy()
    assert k.softmax_small(in_place, in_place, log_output, limit) is in_place
    np.testing.assert_array_equal(in_place, expected)
    buffer = np.zeros(120, dtype=dtype)
    read_only = np.empty_like(x)
    read_only.flags.writeable = False
    declined = [
        np.empty((5, 10), dtype=np.float64 if dtype == np.float32 else np.float32),  # dtype
        np.empty((10, 5), dtype=dtype),  # shape
        np.empty((50,), dtype=dtype),  # ndim
        np.empty((10, 5), dtype=dtype).T,  # not C-ordered
        read_only,
        np.empty((5, 10), dtype=dtype).view(np.recarray),  # a subclass
        [[0.0] * 10] * 5,  # not an array
    ]
    for bad in declined:
        assert k.softmax_small(x, bad, log_output, limit) is None
    # Partial overlap with the input: left to the general path.
    x_in = buffer[:50].reshape(5, 10)
    x_in[...] = x
    assert k.softmax_small(x_in, buffer[10:60].reshape(5, 10), log_output, limit) is None
    func = fastnn.log_softmax if log_output else fastnn.softmax
    result = func(x_in, out=buffer[10:60].reshape(5, 10))
    np.testing.assert_array_equal(result, expected)
