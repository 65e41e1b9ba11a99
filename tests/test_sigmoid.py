"""sigmoid, sigmoid_grad and sigmoid_backward: sanity values, reference, stability, gradients."""

import warnings

import numpy as np
import pytest
from scipy.optimize import check_grad

import fastnn
from fastnn import _reference

FLOATS = [np.float32, np.float64]
FLOAT_IDS = ["float32", "float64"]
RTOL = {np.float32: 4e-6, np.float64: 1e-14}
# Below these the result is subnormal (or nearly): compare absolutely.
TINY = {np.float32: 1e-30, np.float64: 1e-290}
ABS_FLOOR = {np.float32: 4e-36, np.float64: 1e-303}


def assert_close_to_reference(result, expected, dtype):
    result = np.asarray(result, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert result.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected))
    inf = np.isinf(expected)
    np.testing.assert_array_equal(result[inf], expected[inf])
    finite = np.isfinite(expected)
    big = finite & (np.abs(expected) > TINY[dtype])
    if big.any():
        rel = np.abs(result[big] - expected[big]) / np.abs(expected[big])
        assert rel.max() <= RTOL[dtype], f"max relative error {rel.max():.3g}"
    small = finite & ~big
    if small.any():
        assert np.abs(result[small] - expected[small]).max() <= ABS_FLOOR[dtype]


# --------------------------------------------------------------------------
# Sanity values from Stanford's CS224n assignment 1 (q2_sigmoid.py)
# --------------------------------------------------------------------------

SANITY_S = [[0.73105858, 0.88079708], [0.26894142, 0.11920292]]
SANITY_GRAD = [[0.19661193, 0.10499359], [0.19661193, 0.10499359]]


def test_sanity_sigmoid():
    s = fastnn.sigmoid(np.array([[1, 2], [-1, -2]]))
    assert s.dtype == np.float64
    np.testing.assert_allclose(s, SANITY_S, rtol=0, atol=1e-8)


def test_sanity_sigmoid_grad():
    s = fastnn.sigmoid(np.array([[1, 2], [-1, -2]]))
    np.testing.assert_allclose(fastnn.sigmoid_grad(s), SANITY_GRAD, rtol=0, atol=1e-8)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sanity_values_keep_dtype(dtype, variant):
    x = np.array([[1, 2], [-1, -2]], dtype=dtype)
    s = fastnn.sigmoid(x)
    g = fastnn.sigmoid_grad(s)
    assert s.dtype == dtype and g.dtype == dtype
    np.testing.assert_allclose(s, SANITY_S, rtol=0, atol=1e-7)
    np.testing.assert_allclose(g, SANITY_GRAD, rtol=0, atol=1e-7)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_stable_extremes_without_warnings(dtype, variant):
    x = np.array([-1e4, 1e4, 0.0, -0.0, -1e30, 1e30, -np.inf, np.inf], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            s = fastnn.sigmoid(x)
    assert s.dtype == dtype
    np.testing.assert_array_equal(s, [0.0, 1.0, 0.5, 0.5, 0.0, 1.0, 0.0, 1.0])
    assert fastnn.sigmoid(np.array(-1e4, dtype=dtype)) == 0.0
    assert fastnn.sigmoid(np.array(1e4, dtype=dtype)) == 1.0
    assert fastnn.sigmoid(np.array(0.0, dtype=dtype)) == 0.5


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_nan_propagates_elementwise(dtype, variant):
    x = np.array([1.0, np.nan, -2.0, np.nan, 0.0], dtype=dtype)
    s = fastnn.sigmoid(x)
    np.testing.assert_array_equal(np.isnan(s), np.isnan(x))
    np.testing.assert_array_equal(s[[0, 2, 4]], fastnn.sigmoid(x[[0, 2, 4]]))
    g = fastnn.sigmoid_grad(s)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(x))


# --------------------------------------------------------------------------
# Agreement with the reference
# --------------------------------------------------------------------------

SHAPES = [(), (1,), (7,), (33,), (1, 1), (3, 50_000), (5, 13), (2, 3, 4), (4, 1, 6, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)) or "scalar")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sigmoid_matches_reference(shape, dtype, layout, variant, rng):
    x = (rng.standard_normal(shape) * 8).astype(dtype)
    result = fastnn.sigmoid(layout(x))
    assert np.asarray(result).dtype == dtype and np.shape(result) == shape
    assert_close_to_reference(result, _reference.sigmoid(x), dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sigmoid_whole_range(dtype, variant):
    # Every regime: exp overflow for very negative x, results down into the
    # subnormals, saturation at 1, and every remainder length of a SIMD loop.
    hi = 120.0 if dtype == np.float32 else 800.0
    x = np.linspace(-hi, hi, 200_003).astype(dtype)
    assert_close_to_reference(fastnn.sigmoid(x), _reference.sigmoid(x), dtype)
    for n in range(1, 40):
        part = x[100_000 - n : 100_000 + 2 * n]
        assert_close_to_reference(fastnn.sigmoid(part), _reference.sigmoid(part), dtype)


def _ulp_distance(got, expected):
    """Distance in representable values between two float arrays of one dtype."""
    itype = np.int32 if got.dtype == np.float32 else np.int64

    def ordered(v):  # the bit patterns as integers in the order of the floats
        bits = v.view(itype).astype(np.int64)
        return np.where(bits < 0, -(bits & np.iinfo(itype).max), bits)

    return np.abs(ordered(got) - ordered(expected))


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sigmoid_within_two_ulp_of_correctly_rounded(dtype, variant, rng):
    # Against the sigmoid in long double (64-bit significand) rounded to the
    # dtype: every regime from the subnormals to saturation, densely, and
    # random bit patterns.  A naive 1 / (1 + e) or e / (1 + e) is up to 3 ulp
    # off in float32 and 2 in float64; fastnn carries the rounding of 1 + e
    # and corrects the quotient, and holds 2 ulp (PyTorch's bound; the
    # exp's own error remains).  (All 2^32 float32 inputs:
    # benchmarks/exp_accuracy.py --function sigmoid.)
    if np.finfo(np.longdouble).nmant < 60:
        pytest.skip("needs an 80-bit long double for the reference")
    lo = -104.0 if dtype == np.float32 else -746.0
    itype = np.uint32 if dtype == np.float32 else np.uint64
    random_bits = rng.integers(0, np.iinfo(itype).max, 200_000, dtype=itype, endpoint=True).view(dtype)
    x = np.concatenate([np.linspace(lo, 40.0, 400_001).astype(dtype), random_bits])
    x = x[np.isfinite(x)]
    with np.errstate(over="ignore"):
        exact = (1 / (1 + np.exp(-x.astype(np.longdouble)))).astype(dtype)
    dist = _ulp_distance(np.asarray(fastnn.sigmoid(x)), exact)
    worst = int(np.argmax(dist))
    assert dist[worst] <= 2, f"sigmoid({x[worst]!r}) is {dist[worst]} ulp from the correctly rounded value"


@pytest.mark.parametrize("shape", [(), (9,), (5, 13), (3, 50_000)], ids=lambda s: "x".join(map(str, s)) or "scalar")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sigmoid_grad_matches_reference(shape, dtype, layout, variant, rng):
    s = rng.uniform(0, 1, shape).astype(dtype)
    result = fastnn.sigmoid_grad(layout(s))
    assert np.asarray(result).dtype == dtype
    # s * (1 - s) with one rounding for 1 - s and one for the product.
    np.testing.assert_allclose(result, _reference.sigmoid_grad(s), rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("shape", [(9,), (5, 13), (3, 50_000)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sigmoid_backward_matches_reference(shape, dtype, layout, variant, rng):
    s = rng.uniform(0, 1, shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    result = fastnn.sigmoid_backward(layout(g), layout(s))
    assert result.dtype == dtype and result.shape == shape
    np.testing.assert_allclose(result, _reference.sigmoid_backward(g, s), rtol=6 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize(
    "g_dtype,s_dtype,expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float64, np.float64),
        (np.float32, np.float64, np.float64),
        (np.float64, np.float32, np.float64),
    ],
    ids=["f32-f32", "f64-f64", "f32-f64", "f64-f32"],
)
def test_sigmoid_backward_result_dtype(g_dtype, s_dtype, expected, rng):
    s = rng.uniform(0, 1, (4, 5)).astype(s_dtype)
    g = rng.standard_normal((4, 5)).astype(g_dtype)
    result = fastnn.sigmoid_backward(g, s)
    assert result.dtype == expected
    np.testing.assert_allclose(result, _reference.sigmoid_backward(g, s), rtol=1e-6 if expected == np.float32 else 1e-15)


def test_sigmoid_grad_special_values(variant):
    s = np.array([0.0, 1.0, 0.5, 0.25])
    np.testing.assert_array_equal(fastnn.sigmoid_grad(s), [0.0, 0.0, 0.25, 0.1875])
    np.testing.assert_array_equal(fastnn.sigmoid_backward(np.array([2.0, 2.0, 2.0, -4.0]), s), [0.0, 0.0, 0.5, -0.75])


@pytest.mark.parametrize(
    "in_dtype,out_dtype",
    [(np.int8, np.float64), (np.int64, np.float64), (np.bool_, np.float64), (np.float16, np.float32)],
    ids=lambda d: np.dtype(d).name,
)
def test_sigmoid_dtype_promotion(in_dtype, out_dtype, rng):
    x = rng.integers(-3, 4, (3, 4)).astype(in_dtype)
    result = fastnn.sigmoid(x)
    assert result.dtype == out_dtype
    assert_close_to_reference(result, _reference.sigmoid(x), out_dtype)


def test_sigmoid_accepts_lists():
    np.testing.assert_allclose(fastnn.sigmoid([0.0, 2.0]), _reference.sigmoid([0.0, 2.0]), rtol=1e-15)


# --------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------


def test_sigmoid_grad_check_grad(rng):
    # d/dx sum(sigmoid(x)) is the elementwise derivative sigmoid'(x).  Few
    # elements: check_grad's forward differences lose about ulp(f) / 1.5e-8
    # per component to rounding, so f must stay small.
    x0 = rng.standard_normal(10) * 3
    grad = fastnn.sigmoid_grad(fastnn.sigmoid(x0))
    error = check_grad(lambda x: float(np.sum(fastnn.sigmoid(x))), lambda x: fastnn.sigmoid_grad(fastnn.sigmoid(x)), x0)
    assert error <= 1e-6 * max(1.0, np.linalg.norm(grad))


def test_sigmoid_grad_central_differences(rng):
    x = np.concatenate([rng.standard_normal(50) * 4, [0.0, -30.0, 30.0, 1e-8]])
    h = 1e-3
    # Fourth-order central differences: truncation error O(h**4).
    numeric = (
        -fastnn.sigmoid(x + 2 * h) + 8 * fastnn.sigmoid(x + h) - 8 * fastnn.sigmoid(x - h) + fastnn.sigmoid(x - 2 * h)
    ) / (12 * h)
    analytic = fastnn.sigmoid_grad(fastnn.sigmoid(x))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-8, atol=1e-12)


def test_sigmoid_backward_chain_rule(rng):
    x0 = rng.standard_normal(12)
    upstream = rng.standard_normal(12)

    def f(x):
        return float(np.dot(upstream, fastnn.sigmoid(x)))

    def g(x):
        return fastnn.sigmoid_backward(upstream, fastnn.sigmoid(x))

    assert check_grad(f, g, x0) <= 1e-6 * max(1.0, np.linalg.norm(g(x0)))


# --------------------------------------------------------------------------
# out=, in place, inputs untouched, empty
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("out_layout", ["C", "F", "strided"])
def test_out_is_written_and_returned(dtype, out_layout, variant, rng, as_layout):
    x = (rng.standard_normal((13, 21)) * 5).astype(dtype)
    s_expected = fastnn.sigmoid(x)
    out = as_layout(np.full(x.shape, 3.0, dtype=dtype), out_layout)
    assert fastnn.sigmoid(x, out=out) is out
    np.testing.assert_array_equal(out, s_expected)

    out = as_layout(np.full(x.shape, 3.0, dtype=dtype), out_layout)
    assert fastnn.sigmoid_grad(s_expected, out=out) is out
    np.testing.assert_array_equal(out, fastnn.sigmoid_grad(s_expected))

    upstream = rng.standard_normal(x.shape).astype(dtype)
    out = as_layout(np.full(x.shape, 3.0, dtype=dtype), out_layout)
    assert fastnn.sigmoid_backward(upstream, s_expected, out=out) is out
    assert np.shares_memory(fastnn.sigmoid_backward(upstream, s_expected, out=out), out)
    np.testing.assert_array_equal(out, fastnn.sigmoid_backward(upstream, s_expected))


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("x_layout", ["C", "F", "strided"])
def test_in_place(dtype, x_layout, variant, rng, as_layout):
    x0 = (rng.standard_normal((9, 35)) * 5).astype(dtype)
    s0 = fastnn.sigmoid(x0)
    g0 = rng.standard_normal(x0.shape).astype(dtype)

    x = as_layout(x0, x_layout)
    assert fastnn.sigmoid(x, out=x) is x
    np.testing.assert_array_equal(x, s0)

    s = as_layout(s0, x_layout)
    assert fastnn.sigmoid_grad(s, out=s) is s
    np.testing.assert_array_equal(s, fastnn.sigmoid_grad(s0))

    expected = fastnn.sigmoid_backward(g0, s0)
    g, s = as_layout(g0, x_layout), as_layout(s0, x_layout)
    assert fastnn.sigmoid_backward(g, s, out=g) is g
    np.testing.assert_array_equal(g, expected)
    g, s = as_layout(g0, x_layout), as_layout(s0, x_layout)
    assert fastnn.sigmoid_backward(g, s, out=s) is s
    np.testing.assert_array_equal(s, expected)


@pytest.mark.parametrize("view", ["reversed", "transposed"])
def test_out_aliasing_a_permuted_view_of_the_input(view, variant, rng):
    x0 = rng.standard_normal((16, 16)) * 4
    s0 = _reference.sigmoid(x0)
    g0 = rng.standard_normal((16, 16))

    def permuted(a):
        return a[::-1, ::-1] if view == "reversed" else a.T

    x = x0.copy()
    assert fastnn.sigmoid(x, out=permuted(x)) is not None
    assert_close_to_reference(permuted(x), s0, np.float64)

    s = s0.copy()
    fastnn.sigmoid_grad(s, out=permuted(s))
    np.testing.assert_allclose(permuted(s), _reference.sigmoid_grad(s0), rtol=1e-15)

    g, s = g0.copy(), s0.copy()
    fastnn.sigmoid_backward(g, s, out=permuted(s))
    np.testing.assert_allclose(permuted(s), _reference.sigmoid_backward(g0, s0), rtol=1e-15)
    np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_inputs_not_modified(dtype, variant, rng):
    x = (rng.standard_normal((6, 7)) * 5).astype(dtype)
    s = fastnn.sigmoid(x)
    g = rng.standard_normal(x.shape).astype(dtype)
    copies = [a.copy() for a in (x, s, g)]
    fastnn.sigmoid(x)
    fastnn.sigmoid(x.T)
    fastnn.sigmoid_grad(s)
    fastnn.sigmoid_backward(g, s)
    for a, c in zip((x, s, g), copies):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("shape", [(0,), (0, 4), (4, 0), (2, 0, 3)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_empty(shape, dtype, variant):
    x = np.empty(shape, dtype=dtype)
    for result in (fastnn.sigmoid(x), fastnn.sigmoid_grad(x), fastnn.sigmoid_backward(x, x)):
        assert result.shape == shape and result.dtype == dtype
    out = np.empty(shape, dtype=dtype)
    assert fastnn.sigmoid(x, out=out) is out
