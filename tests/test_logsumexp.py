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
