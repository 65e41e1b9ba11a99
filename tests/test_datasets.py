"""fastnn.datasets.make_friedman1: shapes, seeding, the target's formula and its checks."""

import numpy as np
import pytest

import fastnn.datasets
from fastnn.datasets import make_friedman1


def friedman1_formula(X):
    """Friedman's noiseless target, written out independently of the generator."""
    return (
        10 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20 * (X[:, 2] - 0.5) ** 2
        + 10 * X[:, 3]
        + 5 * X[:, 4]
    )


def test_make_friedman1_is_public():
    assert "make_friedman1" in fastnn.datasets.__all__
    assert fastnn.datasets.make_friedman1 is make_friedman1


@pytest.mark.parametrize(
    "n_samples, n_features", [(100, 10), (7, 5), (1, 12), (50.0, 6)],
    ids=["defaults", "fewest-features", "one-sample", "whole-float-count"],
)
def test_shapes_dtypes_and_range(n_samples, n_features):
    X, y = make_friedman1(n_samples=n_samples, n_features=n_features, noise=0.3, seed=0)
    assert X.shape == (int(n_samples), n_features) and X.dtype == np.float64
    assert y.shape == (int(n_samples),) and y.dtype == np.float64
    assert np.all((X >= 0) & (X < 1))


def test_defaults_match_scikit_learns():
    # n_samples=100, n_features=10, noise=0.0, as in sklearn.datasets.make_friedman1.
    X, y = make_friedman1(seed=1)
    assert X.shape == (100, 10)
    np.testing.assert_allclose(y, friedman1_formula(X), rtol=1e-12)


@pytest.mark.parametrize("n_features", [5, 10, 20])
def test_noiseless_target_is_the_formula_and_ignores_the_extra_features(n_features):
    X, y = make_friedman1(n_samples=40, n_features=n_features, noise=0.0, seed=2)
    np.testing.assert_allclose(y, friedman1_formula(X), rtol=1e-12)
    # A few rows by hand, from the scalar formula.
    for row, target in zip(X[:3], y[:3]):
        x0, x1, x2, x3, x4 = row[:5]
        by_hand = 10 * np.sin(np.pi * x0 * x1) + 20 * (x2 - 0.5) ** 2 + 10 * x3 + 5 * x4
        assert target == pytest.approx(by_hand, rel=1e-12)
    assert np.all((y >= 0) & (y < 30))


def test_seed_makes_it_deterministic():
    X1, y1 = make_friedman1(n_samples=30, noise=1.0, seed=7)
    X2, y2 = make_friedman1(n_samples=30, noise=1.0, seed=7)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, y3 = make_friedman1(n_samples=30, noise=1.0, seed=8)
    assert not np.array_equal(X1, X3) and not np.array_equal(y1, y3)
    # A Generator is accepted as the seed, and advances.
    rng = np.random.default_rng(7)
    X4, y4 = make_friedman1(n_samples=30, noise=1.0, seed=rng)
    np.testing.assert_array_equal(X4, X1)
    X5, _ = make_friedman1(n_samples=30, noise=1.0, seed=rng)
    assert not np.array_equal(X5, X1)


def test_noise_is_added_after_the_features_are_drawn():
    # The features are drawn first, so the noise level changes only the target.
    X_clean, y_clean = make_friedman1(n_samples=20000, noise=0.0, seed=3)
    X_noisy, y_noisy = make_friedman1(n_samples=20000, noise=2.0, seed=3)
    np.testing.assert_array_equal(X_clean, X_noisy)
    residual = y_noisy - y_clean
    # Standard normal noise times 2: mean 0 and standard deviation 2, within
    # a few standard errors for 20000 draws.
    assert abs(residual.mean()) < 4 * 2.0 / np.sqrt(20000)
    assert residual.std() == pytest.approx(2.0, rel=0.03)


def test_target_moments_match_the_notes():
    # The docstring's mean 14.41 and variance 23.8, from the integrals.
    _, y = make_friedman1(n_samples=200000, noise=0.0, seed=4)
    assert y.mean() == pytest.approx(14.41, abs=0.05)
    assert y.var() == pytest.approx(23.8, rel=0.02)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_samples": 0}, ValueError, "n_samples must be a positive integer, got 0"),
        ({"n_samples": 2.5}, ValueError, "n_samples must be a positive integer, got 2.5"),
        ({"n_samples": "10"}, TypeError, "n_samples must be a positive integer, got '10'"),
        ({"n_features": 4}, ValueError, "n_features must be an integer of at least 5, got 4"),
        ({"n_features": None}, TypeError, "n_features must be an integer of at least 5, got None"),
        ({"noise": -0.1}, ValueError, "noise must be a non-negative number, got -0.1"),
        ({"noise": float("nan")}, ValueError, "noise must be a non-negative number, got nan"),
        ({"noise": "1"}, TypeError, "noise must be a non-negative number, got '1'"),
        ({"seed": "seven"}, TypeError, "seed must be None, an int or a numpy.random.Generator"),
    ],
    ids=["no-samples", "fractional-samples", "text-samples", "four-features", "no-features",
         "negative-noise", "nan-noise", "text-noise", "text-seed"],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_friedman1(**{"n_samples": 10, "noise": 0.0, **kwargs})
