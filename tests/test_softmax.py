"""softmax and log_softmax: sanity values, reference agreement, accuracy and semantics.

Accuracy bounds are fastnn's targets: float64 keeps float64 accuracy
(relative error around 1e-14), float32 has a maximum relative error of 4e-6
against a float64 reference and rows of 50,000 entries sum to 1 within 1e-5.
The float32 results are compared with the float64 reference computed from the
same float32 inputs, so only the kernel's own error is measured.
"""

import math

import numpy as np
import pytest

import fastnn
from fastnn import _reference

FLOATS = [np.float32, np.float64]
KERNELS = {"softmax": (fastnn.softmax, _reference.softmax), "log_softmax": (fastnn.log_softmax, _reference.log_softmax)}

# Probabilities below these are compared in absolute terms: their relative
# accuracy is limited by subnormal rounding, not by the kernel.
TINY = {np.float32: 1e-30, np.float64: 1e-290}
ABS_FLOOR = {np.float32: 4e-36, np.float64: 1e-303}
PROB_RTOL = {np.float32: 4e-6, np.float64: 1e-13}
LOG_TOL = {np.float32: 4e-6, np.float64: 1e-13}


def assert_probabilities_close(result, expected, dtype):
    """Relative error <= PROB_RTOL where expected is not tiny, exact special values."""
    result = np.asarray(result, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert result.shape == expected.shape
    finite = np.isfinite(expected)
    # NaN where the reference has NaN, and nowhere else.
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected))
    np.testing.assert_array_equal(result[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)])
    big = finite & (np.abs(expected) > TINY[dtype])
    if big.any():
        rel = np.abs(result[big] - expected[big]) / np.abs(expected[big])
        assert rel.max() <= PROB_RTOL[dtype], f"max relative error {rel.max():.3g}"
    small = finite & ~big
    if small.any():
        err = np.abs(result[small] - expected[small])
        assert err.max() <= ABS_FLOOR[dtype], f"max absolute error on tiny values {err.max():.3g}"


def assert_log_probabilities_close(result, expected, dtype):
    """Absolute error <= LOG_TOL * max(1, |expected|), infinities and NaN exact."""
    result = np.asarray(result, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert result.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected))
    inf = np.isinf(expected)
    np.testing.assert_array_equal(result[inf], expected[inf])
    finite = np.isfinite(expected)
    assert np.isfinite(result[finite]).all()
    if finite.any():
        err = np.abs(result[finite] - expected[finite]) / np.maximum(1.0, np.abs(expected[finite]))
        assert err.max() <= LOG_TOL[dtype], f"max scaled error {err.max():.3g}"


def check_against_reference(name, result, x, dtype, axis=-1, where=None):
    expected = KERNELS[name][1](np.asarray(x, dtype=np.float64), axis=axis, where=where)
    assert result.dtype == dtype
    assert result.shape == np.shape(x)
    if name == "softmax":
        assert_probabilities_close(result, expected, dtype)
    else:
        assert_log_probabilities_close(result, expected, dtype)


def random_logits(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# --------------------------------------------------------------------------
# Sanity values from Stanford's CS224n assignment 1 (q1_softmax.py)
# --------------------------------------------------------------------------


def test_sanity_softmax_1d():
    result = fastnn.softmax([1, 2])
    np.testing.assert_allclose(result, [0.26894142, 0.73105858], rtol=0, atol=1e-8)
    assert result.dtype == np.float64


def test_sanity_softmax_large_positive_rows():
    result = fastnn.softmax(np.array([[1001, 1002], [3, 4]]))
    np.testing.assert_allclose(result, [[0.26894142, 0.73105858], [0.26894142, 0.73105858]], rtol=0, atol=1e-8)


def test_sanity_softmax_large_negative_row():
    result = fastnn.softmax(np.array([[-1001, -1002]]))
    np.testing.assert_allclose(result, [[0.73105858, 0.26894142]], rtol=0, atol=1e-8)


@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_sanity_values_keep_dtype(dtype, variant):
    x = np.array([[1001, 1002], [3, 4], [-1001, -1002]], dtype=dtype)
    expected = np.array([[0.26894142, 0.73105858], [0.26894142, 0.73105858], [0.73105858, 0.26894142]])
    result = fastnn.softmax(x)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-7 if dtype == np.float32 else 1e-8)
    np.testing.assert_allclose(fastnn.log_softmax(x), np.log(expected), rtol=0, atol=1e-6)


# --------------------------------------------------------------------------
# Agreement with the reference: dtypes, layouts, shapes, axes, variants
# --------------------------------------------------------------------------

SHAPES_2D = [(1, 1), (1, 7), (7, 1), (5, 13), (33, 17), (3, 1000), (2, 50_000)]


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("shape", SHAPES_2D, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_matches_reference_2d(name, shape, dtype, layout, variant, rng):
    x = random_logits(rng, shape, dtype)
    result = KERNELS[name][0](layout(x))
    check_against_reference(name, result, x, dtype)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_matches_reference_every_axis_3d(name, axis, dtype, layout, variant, rng):
    x = random_logits(rng, (4, 5, 6), dtype)
    result = KERNELS[name][0](layout(x), axis=axis)
    check_against_reference(name, result, x, dtype, axis=axis)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1])
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_matches_reference_4d_strided(name, axis, dtype, variant, rng, as_layout):
    x = random_logits(rng, (3, 4, 2, 5), dtype)
    for layout_name in ("C", "F", "strided"):
        result = KERNELS[name][0](as_layout(x, layout_name), axis=axis)
        check_against_reference(name, result, x, dtype, axis=axis)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_matches_reference_1d(name, dtype, variant, rng):
    for n in (1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1001):
        x = random_logits(rng, (n,), dtype)
        check_against_reference(name, KERNELS[name][0](x), x, dtype)
        check_against_reference(name, KERNELS[name][0](x[::-1]), x[::-1], dtype)
        check_against_reference(name, KERNELS[name][0](x, axis=0), x, dtype, axis=0)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_row_lengths_around_vector_width(name, dtype, variant, rng):
    # Every row length from 1 to 70 and a few row counts: catches remainder
    # loops and row blocking that only work for multiples of the vector width.
    for c in range(1, 71):
        for n in (1, 3, 8):
            x = random_logits(rng, (n, c), dtype)
            check_against_reference(name, KERNELS[name][0](x), x, dtype)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_short_rows_in_row_blocks(name, dtype, variant, rng):
    # Short rows may be processed many rows at a time (rows in vector lanes):
    # row counts around multiples of such blocks, with a NaN row and a -inf
    # row inside a block that must not disturb their neighbours.
    for c in range(1, 21):
        for n in (63, 64, 65, 129, 200):
            x = random_logits(rng, (n, c), dtype)
            good = KERNELS[name][0](x)
            check_against_reference(name, good, x, dtype)
            bad = x.copy()
            bad[n // 2, c // 2] = np.nan
            bad[n // 3] = -np.inf
            result = KERNELS[name][0](bad)
            others = np.ones(n, dtype=bool)
            others[[n // 2, n // 3]] = False
            np.testing.assert_array_equal(result[others], good[others])
            assert np.isnan(result[n // 2]).all() and np.isnan(result[n // 3]).all()


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_non_last_axis_every_inner_size(name, dtype, variant, rng):
    # A reduction down a strided axis keeps the contiguous axis in the vector
    # lanes: every inner size from 1 to 70 exercises full and partial blocks.
    for inner in list(range(1, 71)) + [127, 128, 129, 255, 256, 257, 513]:
        for length in (1, 3, 17):
            x = random_logits(rng, (2, length, inner), dtype)
            check_against_reference(name, KERNELS[name][0](x, axis=1), x, dtype, axis=1)
        x = random_logits(rng, (5, inner), dtype)
        check_against_reference(name, KERNELS[name][0](x, axis=0), x, dtype, axis=0)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("scale", [0.01, 30.0, 300.0], ids=["narrow", "wide", "underflowing"])
def test_dynamic_range(name, dtype, scale, variant, rng):
    # "underflowing": most exp(x - max) underflow to subnormals or zero.
    x = random_logits(rng, (16, 257), dtype, scale=scale)
    check_against_reference(name, KERNELS[name][0](x), x, dtype)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("offset", [-1e4, -88.0, 80.0, 1e4, 1e6], ids=lambda o: f"offset{o:g}")
def test_large_offsets_are_stable(name, dtype, offset, variant, rng):
    # Logits that overflow exp without the max subtraction.  The offset is an
    # integer and the fractional parts have few bits, so x + offset is exact
    # and the answer must equal that of x itself.
    # Fraction bits such that |offset| + 8 still fits the significand.
    significand = 24 if dtype == np.float32 else 53
    fraction_bits = min(9, significand - 1 - int(np.ceil(np.log2(abs(offset) + 8))))
    base = np.round(rng.standard_normal((6, 40)) * 2.0**fraction_bits) / 2.0**fraction_bits
    x = (base + offset).astype(dtype)
    assert np.array_equal(x.astype(np.float64) - offset, base)
    result = KERNELS[name][0](x)
    expected = KERNELS[name][1](base, axis=-1)
    if name == "softmax":
        assert_probabilities_close(result, expected, dtype)
    else:
        assert_log_probabilities_close(result, expected, dtype)


# --------------------------------------------------------------------------
# Accuracy targets
# --------------------------------------------------------------------------


@pytest.mark.parametrize("distribution", ["normal", "uniform", "zeros", "linspace", "spiky"])
def test_float32_wide_rows_sum_to_one(distribution, variant, rng):
    c = 50_000
    if distribution == "normal":
        x = rng.standard_normal((4, c)) * 3
    elif distribution == "uniform":
        x = rng.uniform(0, 1, (4, c))
    elif distribution == "zeros":
        x = np.zeros((4, c))
    elif distribution == "linspace":
        x = np.tile(np.linspace(-10, 0, c), (4, 1))
    else:
        # One dominant entry and many small ones: a naive float32 accumulator
        # adds each small term to a large partial sum and loses it.
        x = rng.uniform(-12, -9, (4, c))
        x[np.arange(4), rng.integers(0, c, 4)] = 0.0
    x = x.astype(np.float32)
    result = fastnn.softmax(x)
    assert result.dtype == np.float32
    row_sums = result.astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(row_sums, 1.0, rtol=0, atol=1e-5)
    assert_probabilities_close(result, _reference.softmax(x.astype(np.float64)), np.float32)


@pytest.mark.parametrize("c", [10, 1000, 50_000])
def test_float64_relative_error_1e_14(c, variant, rng):
    # Against an accurately summed float64 softmax (math.fsum): the target
    # is a relative error <= 1e-14, which a naive float64 running sum over
    # 50,000 terms can miss.
    x = rng.standard_normal((3, c)) * 4
    result = fastnn.softmax(x)
    for row, out_row in zip(x, result):
        e = np.exp(row - row.max())
        expected = e / math.fsum(e)
        rel = np.abs(out_row - expected) / expected
        assert rel.max() <= 1e-14, f"max relative error {rel.max():.3g}"
        np.testing.assert_allclose(out_row.sum(), 1.0, rtol=0, atol=1.5e-14)


# --------------------------------------------------------------------------
# Special values and row independence
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_minus_inf_logit_gets_exact_zero(dtype, variant):
    x = np.array([[0.0, -np.inf, 1.0, -np.inf], [-np.inf, 5.0, -np.inf, -np.inf]], dtype=dtype)
    p = fastnn.softmax(x)
    logp = fastnn.log_softmax(x)
    assert p[0, 1] == 0 and p[0, 3] == 0 and p[1, 0] == 0 and p[1, 2] == 0 and p[1, 3] == 0
    assert p[1, 1] == 1.0
    assert np.isneginf(logp[0, [1, 3]]).all() and np.isneginf(logp[1, [0, 2, 3]]).all()
    assert logp[1, 1] == 0.0
    np.testing.assert_allclose(p[0, [0, 2]], _reference.softmax([0.0, 1.0]), rtol=1e-6)
    check_against_reference("softmax", p, x, dtype)
    check_against_reference("log_softmax", logp, x, dtype)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_all_minus_inf_row_is_nan_without_where(name, dtype, variant):
    x = np.array([[-np.inf, -np.inf, -np.inf], [1.0, 2.0, 3.0]], dtype=dtype)
    result = KERNELS[name][0](x)
    assert np.isnan(result[0]).all()
    assert np.isfinite(result[1]).all()


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "posinf", "neginf"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_bad_row_leaves_other_rows_alone(name, dtype, bad, axis, variant, rng):
    # Rows are independent: the untouched rows are bitwise the same as without
    # the bad value (same positions in memory, so the same code path).  With
    # axis=0 the "rows" being normalised are the columns.
    x = random_logits(rng, (37, 29), dtype)
    good = KERNELS[name][0](x, axis=axis)
    bad_x = x.copy()
    bad_x[11, 7] = bad
    result = KERNELS[name][0](bad_x, axis=axis)
    touched = np.zeros(x.shape, dtype=bool)
    if axis == 0:
        touched[:, 7] = True
    else:
        touched[11, :] = True
    np.testing.assert_array_equal(result[~touched], good[~touched])
    if np.isnan(bad) or bad == np.inf:
        assert np.isnan(result[touched]).all()
    else:
        check_against_reference(name, result, bad_x, dtype, axis=axis)
        assert (result[11, 7] == 0) if name == "softmax" else np.isneginf(result[11, 7])


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_nan_row_is_all_nan(name, dtype, variant):
    x = np.array([[1.0, np.nan, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], [np.nan] * 4, [0.0, 0.0, 0.0, np.nan]], dtype=dtype)
    result = KERNELS[name][0](x)
    assert np.isnan(result[[0, 2, 3]]).all()
    check_against_reference(name, result[1:2], x[1:2], dtype)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_special_values_match_reference(name, dtype, variant):
    specials = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e30, -1e30, 5e-324, -88.7, 88.7, 709.0, -745.0]
    x = np.array(specials, dtype=np.float64)
    rows = np.array([[a, b, 0.5] for a in x for b in x]).astype(dtype)
    check_against_reference(name, KERNELS[name][0](rows), rows, dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_subnormal_inputs(dtype, variant):
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([[tiny, 0.0, -tiny], [tiny, tiny, tiny]], dtype=dtype)
    np.testing.assert_allclose(fastnn.softmax(x), np.full((2, 3), 1 / 3), rtol=1e-6 if dtype == np.float32 else 1e-15)


# --------------------------------------------------------------------------
# where= (masked, "safe" softmax)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("mask_shape", ["full", "row", "column", "scalar"])
def test_where_matches_reference(name, dtype, mask_shape, variant, rng):
    x = random_logits(rng, (9, 13), dtype)
    if mask_shape == "full":
        where = rng.random((9, 13)) < 0.6
        where[3] = False  # fully masked row
        where[4] = True
    elif mask_shape == "row":
        where = rng.random(13) < 0.5
    elif mask_shape == "column":
        where = np.array([True, False] * 4 + [True])[:, None]
    else:
        where = np.bool_(True)
    result = KERNELS[name][0](x, where=where)
    check_against_reference(name, result, x, dtype, where=where)
    w = np.broadcast_to(where, x.shape)
    masked_value = 0.0 if name == "softmax" else -np.inf
    np.testing.assert_array_equal(result[~w], masked_value)
    if name == "softmax":
        live = w.any(axis=1)
        np.testing.assert_allclose(result.sum(axis=1)[live], 1.0, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_fully_masked_row_is_not_nan(name, dtype, variant):
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=dtype)
    where = np.array([[False, False, False], [True, False, True]])
    result = KERNELS[name][0](x, where=where)
    expected_row0 = 0.0 if name == "softmax" else -np.inf
    np.testing.assert_array_equal(result[0], expected_row0)
    assert not np.isnan(result).any()
    check_against_reference(name, result, x, dtype, where=where)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_where_ignores_masked_nan_and_inf(name, dtype, variant):
    # A masked-out entry is left out of the normalisation, whatever it holds.
    x = np.array([[np.nan, 1.0, 2.0], [np.inf, 1.0, 2.0], [-np.inf, -np.inf, 3.0]], dtype=dtype)
    where = np.array([[False, True, True], [False, True, True], [True, True, False]])
    result = KERNELS[name][0](x, where=where)
    assert not np.isnan(result[:2]).any()
    check_against_reference(name, result, x, dtype, where=where)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_where_along_every_axis(name, axis, variant, rng, as_layout):
    x = random_logits(rng, (4, 5, 6), np.float64)
    where = rng.random((4, 1, 6)) < 0.5
    for layout_name in ("C", "F", "strided"):
        result = KERNELS[name][0](as_layout(x, layout_name), axis=axis, where=where)
        check_against_reference(name, result, x, np.float64, axis=axis, where=where)


@pytest.mark.parametrize("name", KERNELS)
def test_where_all_true_equals_no_where(name, variant, rng):
    x = random_logits(rng, (7, 19), np.float64)
    np.testing.assert_array_equal(KERNELS[name][0](x, where=np.ones(x.shape, bool)), KERNELS[name][0](x))


# --------------------------------------------------------------------------
# dtype promotion and array-likes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize(
    "in_dtype,out_dtype",
    [
        (np.int8, np.float64),
        (np.int32, np.float64),
        (np.int64, np.float64),
        (np.uint16, np.float64),
        (np.bool_, np.float64),
        (np.float16, np.float32),
        (np.float32, np.float32),
        (np.float64, np.float64),
    ],
    ids=lambda d: np.dtype(d).name,
)
def test_dtype_promotion(name, in_dtype, out_dtype, rng):
    x = rng.integers(-5, 6, (4, 6)).astype(in_dtype) if in_dtype != np.uint16 else rng.integers(0, 9, (4, 6)).astype(in_dtype)
    result = KERNELS[name][0](x)
    assert result.dtype == out_dtype
    check_against_reference(name, result, x, out_dtype)


@pytest.mark.parametrize("name", KERNELS)
def test_nested_lists_accepted(name):
    result = KERNELS[name][0]([[1.5, 2.0, -1.0], [0.0, 0.0, 0.0]])
    assert isinstance(result, np.ndarray) and result.dtype == np.float64
    check_against_reference(name, result, [[1.5, 2.0, -1.0], [0.0, 0.0, 0.0]], np.float64)


# --------------------------------------------------------------------------
# out=, aliasing, inputs untouched, empty arrays
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("out_layout", ["C", "F", "strided"])
@pytest.mark.parametrize("axis", [0, -1])
def test_out_is_written_and_returned(name, dtype, out_layout, axis, variant, rng, as_layout):
    x = random_logits(rng, (11, 23), dtype)
    expected = KERNELS[name][0](x, axis=axis)
    out = as_layout(np.full(x.shape, 7.0, dtype=dtype), out_layout)
    result = KERNELS[name][0](x, axis=axis, out=out)
    assert result is out
    assert np.shares_memory(result, out)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("x_layout", ["C", "F", "strided"])
@pytest.mark.parametrize("out_layout", ["C", "F", "strided"])
@pytest.mark.parametrize("axis", [0, -1])
def test_out_with_where_overwrites_everything(name, x_layout, out_layout, axis, variant, rng, as_layout):
    # out starts as garbage: masked entries and fully masked rows must be
    # written (0 or -inf), not left as they were.
    x0 = random_logits(rng, (10, 14), np.float32)
    where = rng.random((10, 14)) < 0.5
    where[:, 3] = False
    where[4] = False
    out = as_layout(np.full(x0.shape, 7.0, dtype=np.float32), out_layout)
    result = KERNELS[name][0](as_layout(x0, x_layout), axis=axis, where=where, out=out)
    assert result is out
    check_against_reference(name, out, x0, np.float32, axis=axis, where=where)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize("x_layout", ["C", "F", "strided"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_in_place(name, dtype, x_layout, axis, variant, rng, as_layout):
    # Compared with the reference, not bitwise with the C-ordered result: a
    # kernel may take another (equally accurate) path for another layout.
    x0 = random_logits(rng, (9, 35), dtype)
    x = as_layout(x0, x_layout)
    result = KERNELS[name][0](x, axis=axis, out=x)
    assert result is x
    check_against_reference(name, x, x0, dtype, axis=axis)


@pytest.mark.parametrize("name", KERNELS)
def test_in_place_with_where(name, variant, rng):
    x0 = random_logits(rng, (5, 8), np.float64)
    where = rng.random((5, 8)) < 0.5
    where[2] = False
    expected = KERNELS[name][0](x0, where=where)
    x = x0.copy()
    assert KERNELS[name][0](x, where=where, out=x) is x
    np.testing.assert_array_equal(x, expected)


@pytest.mark.parametrize("name", KERNELS)
def test_out_overlapping_input_view(name, variant, rng):
    # out is a transposed view of the input: same memory, other order.
    x = random_logits(rng, (16, 16), np.float64)
    x0 = x.T.copy()
    result = KERNELS[name][0](x.T, out=x.T)
    assert np.shares_memory(result, x)
    check_against_reference(name, result, x0, np.float64)
    check_against_reference(name, x.T, x0, np.float64)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("view", ["rows_reversed", "columns_reversed", "both_reversed"])
@pytest.mark.parametrize("axis", [0, -1])
def test_out_aliasing_a_permuted_view_of_the_input(name, view, axis, variant, rng):
    # out shares memory with x but element i of out is not element i of x:
    # the kernel must not overwrite input it still has to read.
    x0 = random_logits(rng, (12, 9), np.float64)
    x = x0.copy()
    index = {"rows_reversed": np.s_[::-1], "columns_reversed": np.s_[:, ::-1], "both_reversed": np.s_[::-1, ::-1]}[view]
    out = x[index]
    result = KERNELS[name][0](x, axis=axis, out=out)
    assert result is out
    check_against_reference(name, out, x0, np.float64, axis=axis)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_inputs_not_modified(name, dtype, variant, rng):
    x = random_logits(rng, (8, 12), dtype)
    where = rng.random((8, 12)) < 0.7
    x_copy, where_copy = x.copy(), where.copy()
    KERNELS[name][0](x)
    KERNELS[name][0](x, axis=0)
    KERNELS[name][0](x, where=where)
    KERNELS[name][0](x[:, ::-1], axis=0, where=where[:, ::-1])
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(where, where_copy)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
@pytest.mark.parametrize(
    "shape,axis",
    [((0,), 0), ((0, 5), -1), ((0, 5), 0), ((5, 0), -1), ((5, 0), 0), ((2, 0, 3), 1), ((2, 0, 3), 2), ((0, 0), -1)],
    ids=lambda v: str(v),
)
def test_empty_arrays(name, dtype, shape, axis, variant):
    x = np.empty(shape, dtype=dtype)
    result = KERNELS[name][0](x, axis=axis)
    assert result.shape == shape and result.dtype == dtype
    out = np.empty(shape, dtype=dtype)
    assert KERNELS[name][0](x, axis=axis, out=out) is out


# --------------------------------------------------------------------------
# where= sharing memory with out= (NumPy's ufunc overlap rules: the result is
# as if every input had been copied before anything was written)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("func", [fastnn.softmax, fastnn.log_softmax])
def test_where_that_is_a_view_of_out(func):
    # The reported case: the mask is a bool view into out's own bytes.
    o = np.full((1, 4), np.nextafter(1, 2))
    w = np.ndarray((1, 4), bool, o, strides=(32, 8))
    expected = func(np.zeros((1, 4)), where=w.copy())
    result = func(np.zeros((1, 4)), out=o, where=w)
    assert result is o
    np.testing.assert_array_equal(o, expected)
    assert np.allclose(expected, 0.25 if func is fastnn.softmax else np.log(0.25))


@pytest.mark.parametrize("func", [fastnn.softmax, fastnn.log_softmax])
@pytest.mark.parametrize("axis", [0, 1])
def test_overlapping_x_where_and_out_match_copied_inputs(func, axis, rng):
    # out is x itself, and the mask lives in out's memory too: a row is fully
    # masked exactly where the bytes of the original x say so.
    for _ in range(20):
        x = rng.choice([0.0, 1.0, np.nextafter(1, 2), 2.5], size=(5, 4))
        w = np.ndarray((5, 4), bool, x, strides=(32, 8))
        expected = func(x.copy(), axis=axis, where=w.copy())
        result = func(x, axis=axis, out=x, where=w)
        assert result is x
        np.testing.assert_array_equal(x, expected)
