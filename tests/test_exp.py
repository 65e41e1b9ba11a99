"""The vectorised exp inside the kernels (``fastnn._dispatch.kernels.exp``).

The float32 exp is within 2 ulp of the correctly rounded result over
its whole input range (here a dense sweep; the exhaustive sweep lives in the
benchmarks), and the float64 exp keeps float64 accuracy (here: within 4 ulp of
``np.exp``, itself within about 1 ulp).  Special values are exact.  Every test
runs for every SIMD variant this CPU supports.

Distances are counted in units in the last place by mapping each float's bit
pattern to an integer that increases with the float's value; subnormals sit
between zero and the smallest normal with no gap, so they are handled
correctly, and +inf is one step above the largest finite float.  Overflow and
underflow must still agree exactly (finite vs inf, zero vs not) where the
reference is clear of the threshold.
"""

import numpy as np
import pytest

F32_OVERFLOW = np.float32(88.72283935546875)  # smallest float32 whose exp rounds to inf
F64_OVERFLOW = 709.782712893384


def kernels():
    from fastnn import _dispatch

    return _dispatch.kernels


def run_exp(x):
    x = np.ascontiguousarray(x)
    out = np.full_like(x, 12345.0)
    result = kernels().exp(x, out)
    # The kernel writes into out; whatever it returns must not contradict it.
    if result is not None:
        np.testing.assert_array_equal(np.asarray(result), out)
    return out


def ordered_bits(a):
    """Map floats to int64 so that consecutive floats differ by 1 (sign-magnitude to two's complement)."""
    a = np.asarray(a)
    if a.dtype == np.float32:
        bits = a.view(np.int32).astype(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)
    bits = a.view(np.int64)
    magnitude = bits & np.int64(0x7FFFFFFFFFFFFFFF)
    return np.where(bits < 0, -magnitude, magnitude)


def ulp_distance(result, expected):
    return np.abs(ordered_bits(result) - ordered_bits(expected))


def expected_f32(x):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(x.astype(np.float64)).astype(np.float32)


def assert_within_ulp(x, result, expected, max_ulp):
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(result), nan, err_msg="NaN where the reference has none (or vice versa)")
    np.testing.assert_array_equal(np.isinf(result), np.isinf(expected), err_msg="overflow disagrees")
    dist = ulp_distance(result[~nan], expected[~nan])
    if dist.size:
        worst = int(np.argmax(dist))
        assert dist[worst] <= max_ulp, (
            f"exp({x[~nan][worst]!r}) = {result[~nan][worst]!r}, expected {expected[~nan][worst]!r}: "
            f"{dist[worst]} ulp"
        )


def test_ulp_distance_helper_handles_subnormals():
    # The helper itself must count across the normal/subnormal boundary.
    smallest_normal = np.finfo(np.float32).tiny
    below = np.nextafter(smallest_normal, np.float32(0))
    assert ulp_distance(np.array([smallest_normal]), np.array([below]))[0] == 1
    assert ulp_distance(np.array([np.float32(0)]), np.array([np.float32(1e-45)]))[0] == 1
    assert ulp_distance(np.array([np.float32(-0.0)]), np.array([np.float32(0.0)]))[0] == 0
    assert ulp_distance(np.array([np.float64(5e-324)]), np.array([np.float64(0.0)]))[0] == 1
    big = np.finfo(np.float32).max
    assert ulp_distance(np.array([big]), np.array([np.float32(np.inf)]))[0] == 1


# --------------------------------------------------------------------------
# float32
# --------------------------------------------------------------------------


def test_float32_dense_sweep(variant):
    # 6 million evenly spaced inputs over the whole interesting range: from
    # results that underflow to zero, through the subnormals, to overflow.
    x = np.linspace(-104.0, 89.0, 6_000_001).astype(np.float32)
    assert_within_ulp(x, run_exp(x), expected_f32(x), 2)


def test_float32_subnormal_results(variant):
    # exp(x) is subnormal for x in about [-103.97, -87.34]: sweep it densely.
    x = np.linspace(-104.0, -87.0, 2_000_001).astype(np.float32)
    result = run_exp(x)
    expected = expected_f32(x)
    assert (expected[(x > -103.0) & (x < -87.5)] < np.finfo(np.float32).tiny).all()
    assert_within_ulp(x, result, expected, 2)


def test_float32_random_bit_patterns(variant, rng):
    # Random floats of every exponent, including huge and tiny magnitudes.
    bits = rng.integers(0, 2**32, 2_000_000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    assert_within_ulp(x, run_exp(x), expected_f32(x), 2)


def test_float32_near_zero(variant):
    # exp(x) = 1 + x + ...: small inputs stress the polynomial's low terms.
    x = np.concatenate(
        [np.linspace(-1e-3, 1e-3, 200_001), np.geomspace(1e-45, 1e-3, 100_000), -np.geomspace(1e-45, 1e-3, 100_000)]
    ).astype(np.float32)
    assert_within_ulp(x, run_exp(x), expected_f32(x), 2)


def test_float32_overflow_threshold(variant):
    below = np.nextafter(F32_OVERFLOW, np.float32(0))
    x = np.array([F32_OVERFLOW, below, np.nextafter(below, np.float32(0)), np.nextafter(F32_OVERFLOW, np.float32(np.inf))], dtype=np.float32)
    result = run_exp(x)
    assert result[0] == np.inf and result[3] == np.inf
    assert np.isfinite(result[1]) and np.isfinite(result[2])
    assert_within_ulp(x, result, expected_f32(x), 2)
    # The neighbourhood of the threshold, every float32 in it.
    start = F32_OVERFLOW.view(np.int32) - 5000
    x = np.arange(start, start + 10_000, dtype=np.int32).view(np.float32)
    assert_within_ulp(x, run_exp(x), expected_f32(x), 2)


@pytest.mark.parametrize("centre", [-103.27893, -103.97208], ids=["smallest_subnormal", "rounds_to_zero"])
def test_float32_underflow_threshold(centre, variant):
    # Every float32 around the input whose exp is the smallest subnormal
    # (-149 ln 2) and around the one below which exp rounds to zero (-150 ln 2).
    middle = np.float32(centre).view(np.int32)
    x = np.arange(middle - 20_000, middle + 20_000, dtype=np.int32).view(np.float32)
    assert_within_ulp(x, run_exp(x), expected_f32(x), 2)


def test_float32_special_values_exact(variant):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1000.0, -1000.0, 3.4e38, -3.4e38, 1.0], dtype=np.float32)
    result = run_exp(x)
    assert result[0] == 1.0 and result[1] == 1.0
    assert result[2] == np.inf and result[3] == 0.0
    assert np.isnan(result[4]) and np.isnan(result[5])
    assert result[6] == np.inf and result[7] == 0.0
    assert result[8] == np.inf and result[9] == 0.0
    assert ulp_distance(result[10:], np.array([np.e], dtype=np.float32))[0] <= 1
    assert not np.signbit(result[3]) and not np.signbit(result[7])


# --------------------------------------------------------------------------
# float64
# --------------------------------------------------------------------------


def test_float64_dense_sweep(variant):
    x = np.linspace(-745.2, 709.8, 4_000_001)
    with np.errstate(over="ignore"):
        expected = np.exp(x)
    assert_within_ulp(x, run_exp(x), expected, 4)


def test_float64_subnormal_results(variant):
    x = np.linspace(-745.2, -708.0, 1_000_001)
    assert_within_ulp(x, run_exp(x), np.exp(x), 4)


def test_float64_random_inputs(variant, rng):
    x = np.concatenate([rng.uniform(-746, 710, 1_000_000), rng.standard_normal(200_000), rng.uniform(-1e-6, 1e-6, 100_000)])
    with np.errstate(over="ignore"):
        expected = np.exp(x)
    assert_within_ulp(x, run_exp(x), expected, 4)


def test_float64_thresholds(variant):
    top = np.float64(F64_OVERFLOW)
    x = np.array([np.nextafter(top, 0), top, np.nextafter(top, np.inf), 709.78, 709.79, -745.13, -745.14, -745.2])
    with np.errstate(over="ignore"):
        expected = np.exp(x)
    result = run_exp(x)
    assert result[4] == np.inf and np.isfinite(result[3])
    assert_within_ulp(x, result, expected, 4)


def test_float64_special_values_exact(variant):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e4, -1e4, 1e300, -1e300, 1.0])
    result = run_exp(x)
    assert result[0] == 1.0 and result[1] == 1.0
    assert result[2] == np.inf and result[3] == 0.0
    assert np.isnan(result[4])
    assert result[5] == np.inf and result[6] == 0.0
    assert result[7] == np.inf and result[8] == 0.0
    assert ulp_distance(result[9:], np.array([np.e]))[0] <= 1


# --------------------------------------------------------------------------
# Lengths: vector bodies and remainders
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_every_length_and_remainder(dtype, variant, rng):
    # Every length from 0 to 70 and a few larger ones: a SIMD loop with a bad
    # tail would leave the last elements unwritten or wrong.
    for n in list(range(71)) + [127, 128, 129, 1023, 1025]:
        x = rng.uniform(-20, 20, n).astype(dtype)
        result = run_exp(x)
        expected = expected_f32(x) if dtype == np.float32 else np.exp(x)
        assert_within_ulp(x, result, expected, 2 if dtype == np.float32 else 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_exp_does_not_write_past_out(dtype, variant, rng):
    # out is a window of a larger buffer: the guard cells must survive.
    x = rng.uniform(-5, 5, 37).astype(dtype)
    buffer = np.full(37 + 32, -7.0, dtype=dtype)
    out = buffer[16:-16]
    kernels().exp(x, out)
    assert (buffer[:16] == -7.0).all() and (buffer[-16:] == -7.0).all()
    np.testing.assert_allclose(out, np.exp(x.astype(np.float64)), rtol=1e-6)


def test_exp_input_unchanged(variant, rng):
    x = rng.uniform(-50, 50, 1000).astype(np.float32)
    copy = x.copy()
    run_exp(x)
    np.testing.assert_array_equal(x, copy)
