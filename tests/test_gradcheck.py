"""fastnn.gradcheck: passes on right gradients, names the wrong one, restores x."""

import time

import numpy as np
import pytest
from scipy.optimize import check_grad

import fastnn
from fastnn.gradcheck import GradientCheckError, GradientCheckReport


def quadratic(A, c):
    """f(x) = sum(x * (A x)) / 2 + sum(c * x) for x of any shape; gradient is sym(A) x + c."""
    A_sym = (A + A.T) / 2

    def f(x):
        flat = x.ravel()
        return 0.5 * flat @ A @ flat + c.ravel() @ flat, (A_sym @ flat + c.ravel()).reshape(x.shape)

    return f


def softmax_xent(target):
    """f(z) = cross-entropy of softmax(z) rows against ``target``: a nonlinear test function."""

    def f(z):
        loss, grad = fastnn.softmax_cross_entropy(z, target)
        return loss, grad

    return f


SHAPES = {"vector": (7,), "matrix": (4, 3), "3-D": (2, 3, 2)}


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_passes_on_correct_gradient_and_reports(shape):
    rng = np.random.default_rng(0)
    size = int(np.prod(shape))
    f = quadratic(rng.normal(size=(size, size)), rng.normal(size=shape))
    x = rng.normal(size=shape)
    report = fastnn.gradcheck(f, x)
    assert isinstance(report, GradientCheckReport)
    assert report.mode == "coordinates"
    assert report.n_checked == size
    # A quadratic has no third derivative: central differences are exact up to rounding.
    assert report.max_rel_error < 1e-8
    assert isinstance(report.worst_index, tuple) and len(report.worst_index) == len(shape)


def test_passes_on_nonlinear_function_with_tight_tolerance():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 4))
    target = rng.integers(0, 4, size=5)
    report = fastnn.gradcheck(softmax_xent(target), logits, rtol=1e-7)
    assert report.max_rel_error < 1e-7


@pytest.mark.parametrize("shape", [(7,), (4, 3)], ids=["vector", "matrix"])
def test_raises_on_slightly_wrong_gradient_naming_the_coordinate(shape):
    rng = np.random.default_rng(2)
    size = int(np.prod(shape))
    f = quadratic(rng.normal(size=(size, size)), rng.normal(size=shape))
    bad = (shape[0] - 1,) + (1,) * (len(shape) - 1)

    def wrong(x):
        value, grad = f(x)
        grad = grad.copy()
        grad[bad] *= 1 + 1e-3  # off by 0.1%: 100x the default rtol
        return value, grad

    x = rng.normal(size=shape)
    with pytest.raises(GradientCheckError) as info:
        fastnn.gradcheck(wrong, x)
    error = info.value
    assert isinstance(error, AssertionError)
    assert error.index == bad
    assert str(bad) in str(error)
    true_grad = f(x)[1][bad]
    np.testing.assert_allclose(error.numerical, true_grad, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(error.analytical, true_grad * (1 + 1e-3), rtol=1e-12)
    # relative to the larger of the two: 1e-3 / (1 + 1e-3)
    np.testing.assert_allclose(error.rel_error, 1e-3 / (1 + 1e-3), rtol=1e-3)
    assert f"{error.analytical:.6g}" in str(error) and f"{error.numerical:.6g}" in str(error)


def test_raises_at_first_bad_coordinate_in_c_order():
    def f(x):
        grad = 2 * x
        grad[1, 0] += 1.0
        grad[0, 2] += 1.0
        return np.sum(x**2), grad

    with pytest.raises(GradientCheckError) as info:
        fastnn.gradcheck(f, np.ones((2, 3)))
    assert info.value.index == (0, 2)


def test_rtol_decides():
    def f(x):  # gradient off by 1e-4 relative
        return np.sum(x**2), 2 * x * (1 + 1e-4)

    x = np.linspace(1.0, 2.0, 5)
    fastnn.gradcheck(f, x, rtol=1e-3)
    with pytest.raises(GradientCheckError):
        fastnn.gradcheck(f, x, rtol=1e-5)


def test_atol_covers_zero_derivatives():
    def f(x):  # true gradient is 0 at x = 0; the claim is 1e-12
        return np.sum(x**4), 4 * x**3 + 1e-12

    fastnn.gradcheck(f, np.zeros(3))
    with pytest.raises(GradientCheckError):
        fastnn.gradcheck(f, np.zeros(3), atol=0.0)


def test_nan_gradient_fails():
    def f(x):
        grad = 2 * x
        grad[1] = np.nan
        return np.sum(x**2), grad

    with pytest.raises(GradientCheckError, match=r"index \(1,\)"):
        fastnn.gradcheck(f, np.ones(3))


def test_x_is_restored_bit_for_bit_after_every_probe():
    # 0.1 + h - h != 0.1 in floating point: restoring by subtraction would drift.
    x = np.array([[0.1, 1e-3], [3.3, -7.7]])
    original = x.copy()
    seen = []

    def f(z):
        differs = z != original
        seen.append(int(differs.sum()))
        return np.sum(np.sin(z)), np.cos(z)

    fastnn.gradcheck(f, x)
    np.testing.assert_array_equal(x, original)
    # The first call sees the original; every probe after it moves exactly one entry.
    assert seen[0] == 0 and all(n == 1 for n in seen[1:])
    assert len(seen) == 1 + 2 * x.size


@pytest.mark.parametrize("n_directions", [None, 3], ids=["coordinates", "directions"])
@pytest.mark.parametrize("fail_at_call", [1, 2, 4], ids=["first-call", "plus-probe", "later-probe"])
def test_x_is_restored_when_f_raises(n_directions, fail_at_call):
    x = np.array([0.1, 0.2, 0.3])
    original = x.copy()
    calls = []

    def f(z):
        calls.append(1)
        if len(calls) == fail_at_call + 1:
            raise RuntimeError("boom")
        return np.sum(z**2), 2 * z

    with pytest.raises(RuntimeError, match="boom"):
        fastnn.gradcheck(f, x, n_directions=n_directions, seed=0)
    np.testing.assert_array_equal(x, original)


def test_directional_mode_checks_a_100k_parameter_network_in_seconds():
    layer_sizes = (784, 120, 10)
    net = fastnn.MLP(layer_sizes)
    assert net.n_params == 95_410
    rng = np.random.default_rng(3)
    params = net.init_params(seed=rng)
    X = rng.uniform(0.0, 1.0, size=(32, 784))
    y = rng.integers(0, 10, size=32)

    def f(p):
        return net.loss_and_grad(p, X, y, l2=1e-3)

    start = time.perf_counter()
    report = fastnn.gradcheck(f, params, n_directions=20, seed=0)
    elapsed = time.perf_counter() - start
    assert report.mode == "directions" and report.n_checked == 20
    assert report.max_rel_error < 1e-5
    assert elapsed < 10, f"directional check took {elapsed:.1f} s"

    def slightly_wrong(p):
        loss, grad = f(p)
        return loss, grad * (1 + 1e-3)

    with pytest.raises(GradientCheckError, match="direction 0"):
        fastnn.gradcheck(slightly_wrong, params, n_directions=20, seed=0)


def test_directional_mode_catches_one_wrong_block():
    # Only the 5 first-layer biases are wrong: a random direction still sees it.
    net = fastnn.MLP((10, 5, 10))
    rng = np.random.default_rng(4)
    params = rng.normal(size=net.n_params)
    X = rng.normal(size=(20, 10))
    y = rng.integers(0, 10, size=20)

    def wrong(p):
        loss, grad = net.loss_and_grad(p, X, y)
        grad[50:55] *= 1.5
        return loss, grad

    with pytest.raises(GradientCheckError, match="direction"):
        fastnn.gradcheck(wrong, params, n_directions=10, seed=1)


def test_directions_are_reproducible_from_the_seed():
    rng = np.random.default_rng(5)
    f = quadratic(rng.normal(size=(6, 6)), rng.normal(size=6))
    x = rng.normal(size=6)
    a = fastnn.gradcheck(f, x, n_directions=4, seed=7)
    b = fastnn.gradcheck(f, x, n_directions=4, seed=7)
    assert a == b


def test_central_differences_beat_scipy_forward_differences():
    # At the same step h, scipy.optimize.check_grad's forward difference has
    # truncation error h f''/2, gradcheck's centered one h^2 f'''/6.  On exp,
    # whose derivatives do not vanish, that is orders of magnitude apart.
    x = np.linspace(1.0, 3.0, 10)

    def f(z):
        return np.sum(np.exp(z)), np.exp(z)

    h = 1e-6
    report = fastnn.gradcheck(f, x, eps=h)
    forward_error = check_grad(
        lambda z: f(z)[0], lambda z: f(z)[1], x, epsilon=h
    ) / np.linalg.norm(np.exp(x))
    assert report.max_rel_error < 1e-8
    assert forward_error > 100 * report.max_rel_error


@pytest.mark.parametrize(
    "f, x, error, match",
    [
        (lambda x: np.sum(x), np.ones(3), TypeError, "pair"),
        (lambda x: (x, 2 * x), np.ones(3), ValueError, "scalar"),
        (lambda x: (np.sum(x), np.ones(2)), np.ones(3), ValueError, "gradient has shape"),
        (lambda x: (np.sum(x), np.ones(3)), np.ones(3, dtype=int), TypeError, "floating-point"),
    ],
    ids=["not-a-pair", "vector-value", "gradient-shape", "integer-x"],
)
def test_bad_usage_raises(f, x, error, match):
    with pytest.raises(error, match=match):
        fastnn.gradcheck(f, x)


@pytest.mark.parametrize(
    "kwargs", [{"eps": 0.0}, {"rtol": -1.0}, {"atol": np.nan}, {"n_directions": 0}],
    ids=["eps-zero", "rtol-negative", "atol-nan", "no-directions"],
)
def test_bad_options_raise(kwargs):
    with pytest.raises(ValueError):
        fastnn.gradcheck(lambda x: (np.sum(x**2), 2 * x), np.ones(3), **kwargs)


def test_read_only_x_is_rejected():
    x = np.ones(3)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        fastnn.gradcheck(lambda z: (np.sum(z**2), 2 * z), x)


def test_list_input_is_accepted():
    report = fastnn.gradcheck(lambda z: (np.sum(z**2), 2 * z), [1.0, 2.0])
    assert report.n_checked == 2
