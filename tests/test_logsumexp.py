"""The max-and-sum pass and fastnn.logsumexp built on it.

The first part compares the compiled pass (``_online_logsumexp.block_max_sum``,
the trusted path the chunked reductions use) with its NumPy twin
``_reference.max_sum_less_one``: every dtype, memory layout, axis, the row
lengths on either side of the short-row cut-off (16) and of the vector
widths, one and two threads, and the special values.  The maximum must equal
np.max's exactly (nan included); the sum of exps less one is held to the
kernels' accumulation error.
"""

import numpy as np
import pytest

import fastnn
from fastnn import _reference
from fastnn._online_logsumexp import block_max_sum

FLOATS = [np.float32, np.float64]
FLOAT_IDS = ["float32", "float64"]
# The float32 pass rounds x - max and each exp to float32 and keeps partial
# sums of 16 terms per lane in float32 before moving them to float64.
SUM_RTOL = {np.float32: 1e-5, np.float64: 1e-13}
ROW_LENGTHS = [1, 2, 15, 16, 17, 100, 5000]


@pytest.fixture
def restore_threads():
    yield
    fastnn.set_num_threads(None)


def assert_max_sum_equal(got, expected, dtype):
    (m, s), (m_ref, s_ref) = got, expected
    assert m.dtype == dtype and s.dtype == np.float64
    assert m.shape == m_ref.shape and s.shape == s_ref.shape
    np.testing.assert_array_equal(m, m_ref)
    # nan exactly where the reference has nan; -1 and 0 exactly.
    np.testing.assert_allclose(s, s_ref, rtol=SUM_RTOL[dtype], atol=0)


def rows_with_special_values(rng, n_rows, C, dtype):
    """Random rows, then rows holding nan, +inf, -inf, only -inf, ties and
    both infinities, placed both first and last in the row."""
    x = (rng.standard_normal((n_rows, C)) * 3).astype(dtype)
    x[1, 0] = np.nan
    x[2, -1] = np.nan
    x[3, C // 2] = np.inf
    x[4, :] = -np.inf
    x[5, 0] = -np.inf
    x[6, :] = 2.5  # every entry ties with the maximum: s = C - 1
    x[7, -1] = np.inf
    x[7, 0] = -np.inf
    x[8, 0] = np.inf
    x[8, -1] = np.nan
    x[9, :] = np.finfo(dtype).max
    x[9, 0] = -np.finfo(dtype).max  # x - max overflows to -inf: exp gives 0
    return x


def n_rows_for(C):
    # More than one 64-row block for the short rows, with a partial last one.
    return 70 if C <= 100 else 12


# --------------------------------------------------------------------------
# The compiled pass against its twin
# --------------------------------------------------------------------------


@pytest.mark.parametrize("C", ROW_LENGTHS, ids=lambda c: f"C{c}")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_matches_reference_along_rows(C, dtype, layout, variant, rng):
    x = rows_with_special_values(rng, n_rows_for(C), C, dtype)
    got = block_max_sum(layout(x), 1)
    assert_max_sum_equal(got, _reference.max_sum_less_one(x, 1), dtype)


@pytest.mark.parametrize("C", ROW_LENGTHS, ids=lambda c: f"C{c}")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_matches_reference_along_columns(C, dtype, layout, variant, rng):
    # axis 0 of the transpose: the column kernel for C-ordered input, the
    # row kernel (through the transpose) for Fortran-ordered input.
    x = np.ascontiguousarray(rows_with_special_values(rng, n_rows_for(C), C, dtype).T)
    got = block_max_sum(layout(x), 0)
    assert_max_sum_equal(got, _reference.max_sum_less_one(x, 0), dtype)


@pytest.mark.parametrize("axis", [0, 1, 2, 3])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_every_axis_4d(axis, dtype, variant, rng, as_layout):
    x = (rng.standard_normal((3, 17, 2, 20)) * 3).astype(dtype)
    x[0, 1, 0, 2] = np.nan
    x[1, 2, 1, 3] = np.inf
    x[2, :, 0, :] = -np.inf
    for name in ("C", "F", "strided"):
        got = block_max_sum(as_layout(x, name), axis)
        assert_max_sum_equal(got, _reference.max_sum_less_one(x, axis), dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_non_last_axis_every_inner_size(dtype, variant, rng):
    # Column blocks are 64 float32 or 32 float64 columns wide.
    for inner in (1, 2, 7, 31, 32, 33, 63, 64, 65, 100):
        for K in (1, 3, 17):
            x = (rng.standard_normal((2, K, inner)) * 3).astype(dtype)
            x[1, 0, -1] = np.nan
            got = block_max_sum(x, 1)
            assert_max_sum_equal(got, _reference.max_sum_less_one(x, 1), dtype)


@pytest.mark.parametrize(
    "shape, axis",
    [((2000, 17), 1), ((3000, 11), 1), ((40, 1000), 0), ((30, 20, 100), 1), ((2, 40_000), 1)],
    ids=["long-rows", "short-rows", "axis0", "3d-axis1", "two-rows"],
)
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_one_and_two_threads_bitwise_identical(shape, axis, dtype, variant, rng, restore_threads):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    assert x.size >= fastnn.show_config(mode="dicts")["parallel_min_elements"]
    flat = x.reshape(-1)
    flat[rng.integers(0, x.size, 20)] = np.nan
    flat[rng.integers(0, x.size, 20)] = np.inf
    flat[rng.integers(0, x.size, 200)] = -np.inf
    fastnn.set_num_threads(1)
    m1, s1 = block_max_sum(x, axis)
    fastnn.set_num_threads(2)
    m2, s2 = block_max_sum(x, axis)
    assert m1.tobytes() == m2.tobytes()
    assert s1.tobytes() == s2.tobytes()
    assert_max_sum_equal((m2, s2), _reference.max_sum_less_one(x, axis), dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_special_rows(dtype, variant):
    inf, nan = np.inf, np.nan
    x = np.array(
        [
            [0.0, -inf, -inf],  # the maximum alone: s = 0
            [1.0, 1.0, 1.0],  # ties: the other two 1s count
            [-inf, -inf, -inf],  # only -inf: nan sum, -inf max
            [inf, 0.0, 0.0],  # +inf: nan sum, +inf max
            [0.0, nan, inf],  # nan wins the max, as in np.max
            [nan, 0.0, 0.0],
        ],
        dtype=dtype,
    )
    for C in (3, 40):  # the short-row block and the long-row kernel
        wide = np.concatenate([x, np.full((6, C - 3), -inf, dtype)], axis=1)
        for rows, axis in ((wide, 1), (np.ascontiguousarray(wide.T), 0)):
            m, s = block_max_sum(rows, axis)
            np.testing.assert_array_equal(m.ravel(), [0.0, 1.0, -inf, inf, nan, nan])
            np.testing.assert_array_equal(s.ravel(), [0.0, 2.0, nan, nan, nan, nan])


@pytest.mark.parametrize("C", [1, 5, 40])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_single_entry_rows_with_nan_or_inf(C, dtype, variant):
    # A row whose only (or only included) entry is nan or +inf has a nan sum.
    x = np.full((3, C), -np.inf, dtype=dtype)
    x[0, 0], x[1, -1], x[2, 0] = np.nan, np.inf, 0.0
    for m, s in (block_max_sum(x, 1), _reference.max_sum_less_one(x, 1)):
        np.testing.assert_array_equal(m.ravel(), [np.nan, np.inf, 0.0])
        np.testing.assert_array_equal(s.ravel(), [np.nan, np.nan, 0.0])


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize(
    "mask_shape", [(70, 17), (70, 1), (1, 17), (17,)], ids=["full", "per-row", "per-column", "1-D"]
)
def test_max_sum_where(dtype, mask_shape, variant, rng):
    x = rows_with_special_values(rng, 70, 17, dtype)
    where = rng.random(mask_shape) < 0.6
    for axis in (0, 1):
        got = block_max_sum(x, axis, where=where)
        assert_max_sum_equal(got, _reference.max_sum_less_one(x, axis, where=where), dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_where_nothing_included_and_excluded_specials(dtype, variant):
    x = np.array([[np.nan, np.inf, 1.0], [2.0, 3.0, 4.0], [-np.inf, 0.0, 0.0]], dtype=dtype)
    where = np.array([[False, False, True], [False, False, False], [True, False, False]])
    m, s = block_max_sum(x, 1, where=where)
    np.testing.assert_array_equal(m.ravel(), [1.0, -np.inf, -np.inf])
    # Nothing included: -1; included entries all -inf: nan.
    np.testing.assert_array_equal(s.ravel(), [0.0, -1.0, np.nan])


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_max_sum_empty(dtype):
    m, s = block_max_sum(np.empty((3, 0), dtype), 1)
    assert m.shape == s.shape == (3, 1) and m.dtype == dtype
    np.testing.assert_array_equal(m, -np.inf)
    np.testing.assert_array_equal(s, -1.0)
    for shape, axis in (((0, 4), 1), ((0, 4), 0), ((2, 0, 3), 0)):
        m, s = block_max_sum(np.empty(shape, dtype), axis)
        m_ref, s_ref = _reference.max_sum_less_one(np.empty(shape, dtype), axis)
        assert m.shape == m_ref.shape and s.shape == s_ref.shape
        np.testing.assert_array_equal(m, m_ref)
        np.testing.assert_array_equal(s, s_ref)


def test_max_sum_float16_and_byte_order_keep_the_dtype(rng):
    x = rng.standard_normal((5, 20))
    for dtype in (np.float16, np.dtype(">f4"), np.dtype(">f8")):
        m, s = block_max_sum(x.astype(dtype), 1)
        assert m.dtype == dtype
        m_ref, s_ref = _reference.max_sum_less_one(x.astype(dtype), 1)
        np.testing.assert_array_equal(m, m_ref)
        np.testing.assert_allclose(s, s_ref, rtol=1e-5)
    with pytest.raises(TypeError, match="float"):
        block_max_sum(np.ones((2, 3), dtype=int), 1)


# --------------------------------------------------------------------------
# fastnn.logsumexp against scipy.special.logsumexp
# --------------------------------------------------------------------------

scipy_special = pytest.importorskip("scipy.special")

# Tolerances scaled by 1 + |expected|: the result is m + log1p(t), with an
# absolute error of a few ulp of m plus the relative error of t.
LSE_TOL = {np.float32: 2e-6, np.float64: 1e-13}
AXES_3D = [0, 1, 2, -1, -3, None, (0, 1), (1, 2), (0, 2), (2, 0), (0, 1, 2), ()]


def axis_id(axis):
    return "None" if axis is None else str(axis).replace(" ", "")


def assert_lse_close(got, expected, dtype):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    infinite = np.isinf(expected)
    np.testing.assert_array_equal(got[infinite], expected[infinite])
    finite = np.isfinite(expected)
    assert np.isfinite(got[finite]).all()
    if finite.any():
        error = np.abs(got[finite] - expected[finite]) / (1.0 + np.abs(expected[finite]))
        assert error.max() <= LSE_TOL[dtype], f"max scaled error {error.max():.3g}"


def scipy_lse(x, axis, keepdims=False):
    """scipy's log-sum-exp of x's values in float64 (scipy keeps float32 in
    float32, with float32's rounding of every term; fastnn's own error is
    measured against the float64 value)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return scipy_special.logsumexp(np.asarray(x, dtype=np.float64), axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
@pytest.mark.parametrize("axis", AXES_3D, ids=axis_id)
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_logsumexp_matches_scipy_every_axis(axis, keepdims, dtype, layout, rng):
    x = (rng.standard_normal((4, 5, 19)) * 5).astype(dtype)
    got = fastnn.logsumexp(layout(x), axis=axis, keepdims=keepdims)
    expected = scipy_lse(x, axis, keepdims)
    assert np.shape(got) == np.shape(expected)
    assert got.dtype == dtype
    assert_lse_close(got, expected, dtype)


@pytest.mark.parametrize("C", ROW_LENGTHS, ids=lambda c: f"C{c}")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_logsumexp_matches_scipy_row_lengths(C, dtype, variant, rng):
    x = rows_with_special_values(rng, n_rows_for(C), C, dtype)
    x[9] = 0.0  # finfo.max rows overflow in scipy's own sum
    for axis, data in ((1, x), (0, np.ascontiguousarray(x.T)), (0, x.T)):
        assert_lse_close(fastnn.logsumexp(data, axis=axis), scipy_lse(data, axis), dtype)


@pytest.mark.parametrize("axis", [-1, 0, None, (0, 1)], ids=axis_id)
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_logsumexp_special_values_as_scipy(axis, dtype, variant):
    inf, nan = np.inf, np.nan
    rows = [
        [0.0, 1.0, 2.0],
        [nan, 1.0, 2.0],
        [inf, 1.0, 2.0],
        [inf, -inf, 2.0],
        [nan, inf, 2.0],
        [inf, inf, inf],
        [-inf, -inf, -inf],
        [-inf, 0.0, -inf],
        [1e300, 1e300, -1e300] if dtype == np.float64 else [3e38, 3e38, -3e38],
    ]
    for row in rows:
        x = np.array([row, [0.5, 0.25, -1.0]], dtype=dtype)
        got = fastnn.logsumexp(x, axis=axis)
        with np.errstate(all="ignore"):
            expected = scipy_special.logsumexp(x, axis=axis)
        assert_lse_close(got, expected, dtype)


def test_logsumexp_special_values_named():
    inf, nan = np.inf, np.nan
    assert np.isnan(fastnn.logsumexp([nan, inf, 0.0]))
    assert fastnn.logsumexp([inf, -inf, 0.0]) == inf
    assert fastnn.logsumexp([-inf, -inf]) == -inf
    assert fastnn.logsumexp(np.empty(0)) == -inf
    np.testing.assert_array_equal(fastnn.logsumexp(np.empty((0, 3)), axis=0), [-inf] * 3)
    assert fastnn.logsumexp(np.empty((0, 3)), axis=1).shape == (0,)
    assert fastnn.logsumexp(np.empty((2, 0)), axis=None) == -inf
    # Ties with the maximum: log(3 e^5).
    assert fastnn.logsumexp([5.0, 5.0, 5.0]) == pytest.approx(5 + np.log(3), rel=1e-15)


@pytest.mark.parametrize(
    "in_dtype, out_dtype",
    [(np.float64, np.float64), (np.float32, np.float32), (np.float16, np.float32),
     (np.int64, np.float64), (np.int8, np.float64), (np.uint32, np.float64), (np.bool_, np.float64)],
    ids=lambda d: np.dtype(d).name,
)
def test_logsumexp_dtype_rules_as_softmax(in_dtype, out_dtype):
    x = np.array([[1, 0, 1], [0, 0, 1]]).astype(in_dtype)
    got = fastnn.logsumexp(x)
    assert got.dtype == out_dtype == fastnn.softmax(x).dtype
    assert_lse_close(got, scipy_lse(x, -1), out_dtype)


def test_logsumexp_accepts_lists_and_scalars():
    assert fastnn.logsumexp([[0.0, 0.0], [1.0, 1.0]], axis=0).tolist() == pytest.approx(
        [np.logaddexp(0.0, 1.0)] * 2, rel=1e-15
    )
    assert fastnn.logsumexp(3.0, axis=None) == 3.0
    assert fastnn.logsumexp(3.0, axis=()) == 3.0


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_logsumexp_full_reduction_is_a_scalar_as_in_scipy(dtype, rng):
    x = rng.standard_normal((3, 4)).astype(dtype)
    for axis in (None, (0, 1), (1, 0)):
        got = fastnn.logsumexp(x, axis=axis)
        assert type(got) is np.dtype(dtype).type
        assert type(scipy_special.logsumexp(x, axis=axis)) is type(got)
    kept = fastnn.logsumexp(x, axis=None, keepdims=True)
    assert isinstance(kept, np.ndarray) and kept.shape == (1, 1)
    assert fastnn.logsumexp(x[0]).shape == ()


@pytest.mark.parametrize("axis", [-1, 0, None, (0, 2), (1, 2)], ids=axis_id)
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_logsumexp_one_and_two_threads_bitwise_identical(axis, dtype, rng, restore_threads):
    x = (rng.standard_normal((40, 30, 60)) * 4).astype(dtype)
    x[3, 4, 5], x[7, 0, 0], x[9, :, 2] = np.nan, np.inf, -np.inf
    results = []
    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        results.append(fastnn.logsumexp(x, axis=axis))
        results.append(fastnn.logsumexp(np.asfortranarray(x), axis=axis))
    assert results[0].tobytes() == results[2].tobytes()
    assert results[1].tobytes() == results[3].tobytes()
    assert_lse_close(results[2], scipy_lse(x, axis), dtype)


# --------------------------------------------------------------------------
# Accuracy when one term dominates, against mpmath
# --------------------------------------------------------------------------


def mpmath_lse(row):
    """log(sum(exp(row))) to 60 digits, from the row's float values."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):
        return mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row))


def ulps_from_exact(got, exact, dtype, top=0.0, n_terms=1):
    """|got - exact| in ulp of the larger of the result and log1p(t).

    The result is ``top + log1p(t)`` with ``top`` the row's maximum; when
    the two terms nearly cancel, log1p(t), itself known to about an ulp of
    its own size, bounds what any method working in dtype can achieve.  As
    in test_accuracy.py, each exponential below dtype's normal range is
    rounded to the subnormal grid before it is summed: up to half the
    smallest subnormal per term, taken off first.
    """
    mpmath = pytest.importorskip("mpmath")
    underflow = 0.5 * float(np.finfo(dtype).smallest_subnormal) * (n_terms - 1)
    with mpmath.workdps(60):
        scale = max(abs(float(exact)), abs(float(exact - float(top))))
        spacing = float(np.spacing(dtype(scale)))
        error = float(abs(mpmath.mpf(float(got)) - exact))
    return max(error - underflow, 0.0) / spacing


@pytest.mark.parametrize(
    "row, dtype",
    [([0.0, -40.0, -60.0], np.float64), ([0.0, -20.0], np.float32), ([-60.0, 0.0, -40.0], np.float64),
     ([0.0, -30.0, -35.0, -45.0], np.float64), ([0.0, -12.0, -15.0], np.float32)],
    ids=["f64-0,-40,-60", "f32-0,-20", "f64-max-in-the-middle", "f64-0,-30,-35,-45", "f32-0,-12,-15"],
)
def test_logsumexp_keeps_the_tail_of_a_dominated_row(row, dtype, variant):
    x = np.array(row, dtype=dtype)
    exact = mpmath_lse(x)
    # The naive formula loses the tail: its error is many ulp (often the
    # whole tail), so this row really tests the log1p treatment.
    naive = np.log(np.sum(np.exp(x.astype(dtype)), dtype=dtype))
    assert ulps_from_exact(naive, exact, dtype) > 100
    for C in (len(row), 40):  # the short-row block, then the long-row kernel
        padded = np.concatenate([x, np.full(C - len(row), -np.inf, dtype)])
        for data, axis in ((padded, -1), (padded[:, None], 0), (np.tile(padded, (3, 1)).T, 0)):
            got = fastnn.logsumexp(data, axis=axis)
            for value in np.ravel(got):
                assert ulps_from_exact(value, exact, dtype) <= 2, (C, axis, value, exact)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("d", [1, 10, 40, 100], ids=lambda d: f"lead{d}")
@pytest.mark.parametrize("C", [3, 12, 40, 1000], ids=lambda c: f"C{c}")
def test_logsumexp_when_one_term_dominates(C, d, dtype, variant):
    # Random rows on a grid both dtypes hold exactly (see test_accuracy.py);
    # the maximum leads every other entry by at least d.
    rng = np.random.default_rng(C * 1000 + d)
    n_rows = 5
    top = rng.integers(-5 * 1024, 5 * 1024, n_rows) / 1024
    top[0] = 0.0  # the result is then log1p(t) itself, tail and all
    rows = top[:, None] - d - rng.integers(0, 10 * 1024, (n_rows, C)) / 1024
    winner = rng.integers(0, C, n_rows)
    rows[np.arange(n_rows), winner] = top
    x = rows.astype(dtype)
    assert np.array_equal(x.astype(np.float64), rows)
    # Along rows, four ulp, as in test_accuracy.py (with a lead of 1, a
    # thousand terms of about an ulp each add up to a sum t far from 0).
    # Down columns, the column kernel keeps one running float64 sum per
    # column, whose rounding errors add up like a random walk over the C
    # terms: sqrt(C) ulp more.
    along_rows = fastnn.logsumexp(x)
    down_columns = fastnn.logsumexp(np.ascontiguousarray(x.T), axis=0)
    for got, bound in ((along_rows, 4), (down_columns, 4 + np.sqrt(C))):
        for i in range(n_rows):
            exact = mpmath_lse(x[i])
            error = ulps_from_exact(got[i], exact, dtype, top[i], C)
            assert error <= bound, (i, got[i], exact, error)


# --------------------------------------------------------------------------
# where=
# --------------------------------------------------------------------------


def numpy_masked_lse(x, axis, where, keepdims=False):
    """log(sum(exp(x))) over the included entries, straight from NumPy (the
    values are moderate, so nothing overflows)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(x), axis=axis, where=where, keepdims=keepdims))


@pytest.mark.parametrize(
    "mask_shape", [(6, 7, 20), (6, 1, 20), (1, 7, 1), (20,)], ids=["full", "middle-1", "broadcast", "1-D"]
)
@pytest.mark.parametrize("axis", [-1, 0, 1, None, (0, 2)], ids=axis_id)
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_logsumexp_where_matches_numpy(mask_shape, axis, dtype, variant, rng):
    x = (rng.standard_normal((6, 7, 20)) * 3).astype(dtype)
    where = rng.random(mask_shape) < 0.5
    for keepdims in (False, True):
        got = fastnn.logsumexp(x, axis=axis, where=where, keepdims=keepdims)
        expected = numpy_masked_lse(x, axis, np.broadcast_to(where, x.shape), keepdims)
        assert got.dtype == dtype
        assert_lse_close(got, expected, dtype)


def test_logsumexp_where_excludes_specials_and_empty_rows_give_minus_inf():
    x = np.array([[np.nan, np.inf, 1.0], [2.0, 3.0, 4.0], [-np.inf, 5.0, 0.0]])
    where = np.array([[False, False, True], [False, False, False], [True, False, True]])
    got = fastnn.logsumexp(x, where=where)
    np.testing.assert_array_equal(got[:2], [1.0, -np.inf])
    assert got[2] == 0.0
    np.testing.assert_array_equal(fastnn.logsumexp(x, axis=0, where=False), [-np.inf] * 3)
    assert fastnn.logsumexp(x, axis=None, where=np.zeros(3, bool)) == -np.inf


# --------------------------------------------------------------------------
# out=, inputs, layouts
# --------------------------------------------------------------------------


@pytest.mark.parametrize("axis, keepdims", [(-1, False), (0, True), (None, True), ((0, 2), False)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_logsumexp_out_is_written_and_returned(axis, keepdims, dtype, rng, as_layout):
    x = rng.standard_normal((4, 5, 6)).astype(dtype)
    expected = fastnn.logsumexp(x, axis=axis, keepdims=keepdims)
    for name in ("C", "F", "strided"):
        out = as_layout(np.full(np.shape(expected), np.nan, dtype), name)
        result = fastnn.logsumexp(x, axis=axis, keepdims=keepdims, out=out)
        assert result is out
        np.testing.assert_array_equal(out, expected)


def test_logsumexp_out_for_a_full_reduction_is_0_d():
    out = np.empty((), dtype=np.float64)
    assert fastnn.logsumexp(np.zeros((2, 2)), axis=None, out=out) is out
    assert out == pytest.approx(np.log(4.0), rel=1e-15)


def test_logsumexp_out_overlapping_the_input_is_as_if_copied(rng):
    x = rng.standard_normal((5, 5))
    expected = fastnn.logsumexp(x, axis=0)
    fastnn.logsumexp(x, axis=0, out=x[0])  # out is x's first row
    np.testing.assert_array_equal(x[0], expected)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself
def test_logsumexp_out_may_be_an_ndarray_subclass():
    x = np.arange(6.0).reshape(2, 3)
    out = np.asmatrix(np.empty((2, 1)))
    assert fastnn.logsumexp(x, keepdims=True, out=out) is out
    np.testing.assert_array_equal(np.asarray(out), fastnn.logsumexp(x, keepdims=True))


@pytest.mark.parametrize(
    "out, message",
    [
        (np.empty(3), r"out has shape \(3,\) and dtype float64; expected shape \(2,\) and dtype float64"),
        (np.empty(2, np.float32), r"expected shape \(2,\) and dtype float64"),
        (np.empty((2, 1)), r"expected shape \(2,\)"),
        (np.broadcast_to(0.0, (2,)), "out is read-only"),
    ],
    ids=["shape", "dtype", "keepdims-shape", "read-only"],
)
def test_logsumexp_bad_out(out, message):
    with pytest.raises(ValueError, match=message):
        fastnn.logsumexp(np.zeros((2, 3)), out=out)


def test_logsumexp_inputs_not_modified(rng):
    x = rng.standard_normal((4, 6))
    where = rng.random((4, 6)) < 0.5
    x_copy, where_copy = x.copy(), where.copy()
    fastnn.logsumexp(x, axis=(0, 1), where=where)
    fastnn.logsumexp(x, axis=0)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(where, where_copy)


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(axis=2), np.exceptions.AxisError, "logsumexp: axis 2 is out of bounds for array of dimension 2"),
        (dict(axis=(0, -3)), np.exceptions.AxisError, "axis -3 is out of bounds"),
        (dict(axis=2**100), np.exceptions.AxisError, "out of bounds"),
        (dict(axis=(1, -1)), ValueError, r"axis \(1, -1\) names the same axis more than once"),
        (dict(axis=1.0), TypeError, "axis must be an integer, a tuple of integers or None, got 1.0"),
        (dict(axis=[0, 1]), TypeError, r"got \[0, 1\]"),
        (dict(axis=(0, "1")), TypeError, "axis must be an integer"),
        (dict(axis=True), TypeError, "axis must be an integer"),
        (dict(keepdims="yes"), TypeError, "keepdims must be True or False, got 'yes'"),
        (dict(keepdims=None), TypeError, "keepdims must be True or False"),
        (dict(where=np.ones((2, 3))), TypeError, "where must be a boolean array, got dtype float64"),
        (dict(where=np.ones(4, bool)), ValueError, r"where has shape \(4,\), which does not broadcast"),
        (dict(where=np.ma.masked_array(np.ones(3, bool))), TypeError, "where is a masked array"),
        (dict(out=[0.0, 0.0]), TypeError, "out must be a NumPy array, got list"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_logsumexp_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        fastnn.logsumexp(np.zeros((2, 3)), **kwargs)


def test_logsumexp_bad_x():
    with pytest.raises(TypeError, match=r"x is a masked array.*where=~np.ma.getmaskarray\(x\)"):
        fastnn.logsumexp(np.ma.masked_array([1.0, 2.0], mask=[False, True]))
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        fastnn.logsumexp(np.ones(3, complex))
    with pytest.raises(ValueError, match="x must be array_like"):
        fastnn.logsumexp([[1.0, 2.0], [3.0]])
    with pytest.raises(np.exceptions.AxisError):
        fastnn.logsumexp(3.0)  # the default axis -1 of a 0-d input


def test_logsumexp_suggested_masked_call_leaves_masked_entries_out():
    x = np.ma.masked_array([1.0, 50.0, 3.0], mask=[False, True, False])
    got = fastnn.logsumexp(x.filled(0), where=~np.ma.getmaskarray(x))
    assert got == pytest.approx(np.logaddexp(1.0, 3.0), rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 10), (128, 10), (10,), (3, 4, 7), (70, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_small_calls_give_the_general_paths_bits(shape, keepdims, dtype, variant, rng):
    # Small C-ordered arrays over the last axis take a compiled shortcut;
    # a where= of all True takes the general path, and both must agree bit for
    # bit, special rows included, as must out= and the returned type.
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    flat = x.reshape(-1, shape[-1])
    if flat.shape[0] >= 4:
        flat[0, 0] = np.nan
        flat[1, :] = -np.inf
        flat[2, -1] = np.inf
        flat[3, 0] = 1e30
    fast = fastnn.logsumexp(x, keepdims=keepdims)
    general = fastnn.logsumexp(x, keepdims=keepdims, where=np.ones(shape, dtype=bool))
    assert type(fast) is type(general)
    np.testing.assert_array_equal(np.atleast_1d(fast).view(np.uint8),
                                  np.atleast_1d(general).view(np.uint8))
    out = np.empty(np.shape(general), dtype=dtype)
    assert fastnn.logsumexp(x, keepdims=keepdims, out=out) is out
    np.testing.assert_array_equal(np.atleast_1d(out).view(np.uint8),
                                  np.atleast_1d(general).view(np.uint8))
