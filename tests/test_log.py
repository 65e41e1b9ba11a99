"""The vectorised logarithm the kernels use for log-sum-exp."""

import numpy as np
import pytest

from fastnn import _dispatch


def ulp_distance(a, b):
    """Distance in units in the last place between float64 arrays of one sign."""
    return np.abs(a.view(np.int64) - b.view(np.int64))


@pytest.fixture(params=_dispatch.available)
def kernels(request):
    with _dispatch.use(request.param) as module:
        yield module


def test_log_is_within_two_ulp_of_numpy(kernels):
    rng = np.random.default_rng(0)
    # The kernels take logs of sums of exponentials: 1 <= s <= C, and wider.
    x = np.concatenate(
        [
            np.linspace(1.0, 2.0, 200_001),
            rng.uniform(1.0, 60_000.0, 200_000),
            np.exp(rng.uniform(-700.0, 700.0, 200_000)),
            [np.sqrt(0.5), np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 2), 0.5, 2.0, 1e-300, 1e300],
        ]
    )
    out = np.empty_like(x)
    kernels.log_span(x, out)
    expected = np.log(x)
    far_from_zero = np.abs(expected) > 0.5
    assert ulp_distance(out[far_from_zero], expected[far_from_zero]).max() <= 2
    # Near x = 1 the result is tiny; its error is measured against 1.
    bound = 2 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(expected))
    assert np.all(np.abs(out - expected) <= bound)


def test_log_exact_points_and_specials(kernels):
    x = np.array([1.0, 2.0, 0.5, np.inf, np.nan])
    out = np.empty_like(x)
    kernels.log_span(x, out)
    assert out[0] == 0.0
    assert out[1] == np.log(2.0) and out[2] == -np.log(2.0)
    assert out[3] == np.inf
    assert np.isnan(out[4])


def test_log1p_is_accurate_where_one_plus_x_rounds(kernels):
    # The kernels take log1p of a sum of exponentials less one, which is tiny
    # when one logit dominates: log(1 + x) would round it to 0.
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            np.exp(rng.uniform(-745.0, 0.0, 100_000)),
            rng.uniform(-0.5, 60_000.0, 100_000),
            [0.0, 1e-300, 4.248354255291589e-18, 2.0**-53, 2.0**-52, -0.5],
        ]
    )
    out = np.empty_like(x)
    kernels.log1p_span(x, out)
    expected = np.log1p(x)
    assert ulp_distance(np.abs(out), np.abs(expected)).max() <= 3
    assert out[-6] == 0.0


def test_log1p_specials(kernels):
    x = np.array([np.inf, np.nan])
    out = np.empty_like(x)
    kernels.log1p_span(x, out)
    assert out[0] == np.inf and np.isnan(out[1])
