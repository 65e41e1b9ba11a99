"""Edge cases found in review: byte order, argument types and ranges that
used to slip through, and the zero-weight convention."""

import numpy as np
import pytest
from numpy.exceptions import AxisError

import fastnn
from fastnn import _reference


@pytest.mark.parametrize("dtype", [">f4", ">f8", "<f4", "<f8"])
def test_non_native_byte_order_is_accepted(dtype):
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]], dtype=dtype)
    native = x.astype(np.dtype(dtype).newbyteorder("="))
    for func in (fastnn.softmax, fastnn.log_softmax, fastnn.sigmoid):
        result = func(x)
        assert result.dtype == native.dtype and result.dtype.isnative
        np.testing.assert_array_equal(result, func(native))
    loss, grad = fastnn.softmax_cross_entropy(x, np.array([2, 0]), weight=np.array([1, 2, 3], dtype=dtype))
    expected = fastnn.softmax_cross_entropy(native, np.array([2, 0]), weight=np.array([1.0, 2, 3]))
    np.testing.assert_allclose(loss, expected[0], rtol=1e-6)
    np.testing.assert_allclose(grad, expected[1], rtol=1e-6)


def test_huge_axis_raises_axis_error():
    with pytest.raises(AxisError):
        fastnn.softmax(np.ones((2, 3)), axis=2**100)
    with pytest.raises(AxisError):
        fastnn.log_softmax(np.ones((2, 3)), axis=-(2**70))


def test_ignore_index_beyond_int64_raises_value_error():
    with pytest.raises(ValueError, match="64-bit"):
        fastnn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), ignore_index=2**70)


@pytest.mark.parametrize("bad", ["0.5", None, True, [0.1]])
def test_label_smoothing_must_be_a_number(bad):
    with pytest.raises(TypeError, match="label_smoothing"):
        fastnn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=bad)


def test_where_is_checked_even_for_empty_input():
    with pytest.raises(ValueError, match="broadcast"):
        fastnn.softmax(np.zeros((0, 3)), where=np.ones((5, 5), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        fastnn.log_softmax(np.zeros((0, 3)), where=np.ones((0, 3)))


def test_zero_weight_label_with_minus_inf_logit_contributes_nothing():
    z = np.array([[-np.inf, 1.0, 2.0], [0.5, 0.0, -1.0]])
    target = np.array([0, 1])
    weight = np.array([0.0, 1.0, 2.0])
    for reduction in ("none", "sum", "mean"):
        loss, grad = fastnn.softmax_cross_entropy(z, target, weight=weight, reduction=reduction)
        ref_loss, ref_grad = _reference.softmax_cross_entropy(z, target, reduction, weight)
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-14)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-14, atol=1e-16)
        assert np.all(np.isfinite(loss))


def test_no_classes_with_every_row_ignored():
    loss, grad = fastnn.softmax_cross_entropy(
        np.empty((3, 0)), np.array([-1, -1, -1]), ignore_index=-1, reduction="none"
    )
    np.testing.assert_array_equal(loss, np.zeros(3))
    assert grad.shape == (3, 0)
    loss, _ = fastnn.softmax_cross_entropy(np.empty((3, 0)), np.array([-1, -1, -1]), ignore_index=-1)
    assert np.isnan(loss)
