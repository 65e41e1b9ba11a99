"""The pure-NumPy binary cross-entropy with logits (fastnn._reference).

It is the twin the compiled kernel is compared with, so it is checked here on
its own: against the textbook formula, by finite differences, at extreme
logits, and for PyTorch's weight, pos_weight and reduction semantics.
"""

import numpy as np
import pytest
from scipy.optimize import check_grad

from fastnn._reference import sigmoid_binary_cross_entropy as bce


def textbook(z, t, w=1.0, pw=1.0):
    p = 1 / (1 + np.exp(-z))
    return -w * (pw * t * np.log(p) + (1 - t) * np.log(1 - p))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_the_textbook_formula(rng, reduction):
    z = rng.normal(scale=3, size=(6, 4))
    t = rng.random((6, 4))
    w = rng.random((6, 1))
    pw = rng.random(4) + 0.5
    loss, grad = bce(z, t, weight=w, pos_weight=pw, reduction=reduction)
    elementwise = textbook(z, t, w, pw)
    expected = {"mean": elementwise.mean(), "sum": elementwise.sum(), "none": elementwise}[reduction]
    np.testing.assert_allclose(loss, expected, rtol=1e-13)
    assert grad.shape == z.shape


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gradient_by_finite_differences(rng, reduction):
    t = rng.random((5, 3))
    w = rng.random(3) + 0.1
    pw = rng.random((5, 3)) + 0.5

    def loss(flat):
        return float(bce(flat.reshape(5, 3), t, weight=w, pos_weight=pw, reduction=reduction)[0])

    def grad(flat):
        return bce(flat.reshape(5, 3), t, weight=w, pos_weight=pw, reduction=reduction)[1].ravel()

    z = rng.normal(scale=2, size=15)
    assert check_grad(loss, grad, z) < 1e-6 * np.linalg.norm(grad(z))


def test_extreme_logits_stay_finite_and_exact():
    z = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    loss, grad = bce(z, np.ones_like(z), reduction="none")
    # -log(sigmoid(z)) = softplus(-z): z itself for very negative z, 0 for large z.
    np.testing.assert_allclose(loss[0], [1000.0, 40.0, np.log(2), np.exp(-40.0), 0.0], rtol=1e-15)
    np.testing.assert_allclose(grad[0], [-1.0, -1.0, -0.5, -np.exp(-40.0), 0.0], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_follows_the_logits(dtype):
    loss, grad = bce(np.zeros((2, 2), dtype=dtype), np.ones((2, 2)))
    assert loss.dtype == dtype and grad.dtype == dtype
    np.testing.assert_allclose(loss, np.log(2), rtol=1e-7)
    np.testing.assert_allclose(grad, -0.5 / 4, rtol=1e-7)


def test_mean_over_no_elements_is_nan_and_errors_are_clear():
    loss, grad = bce(np.zeros((0, 3)), np.zeros((0, 3)))
    assert np.isnan(loss) and grad.shape == (0, 3)
    with pytest.raises(ValueError, match="reduction"):
        bce(np.zeros(3), np.zeros(3), reduction="max")
    with pytest.raises(ValueError, match="shape"):
        bce(np.zeros(3), np.zeros(4))


def test_agrees_with_pytorch(rng):
    torch = pytest.importorskip("torch")
    z = rng.normal(scale=4, size=(7, 3))
    t = rng.random((7, 3))
    w = rng.random((7, 1))
    pw = rng.random(3) + 0.5
    for reduction in ("mean", "sum", "none"):
        zt = torch.tensor(z, requires_grad=True)
        expected = torch.nn.functional.binary_cross_entropy_with_logits(
            zt, torch.tensor(t), weight=torch.tensor(w), pos_weight=torch.tensor(pw),
            reduction=reduction,
        )
        expected.sum().backward()
        loss, grad = bce(z, t, weight=w, pos_weight=pw, reduction=reduction)
        np.testing.assert_allclose(loss, expected.detach().numpy(), rtol=1e-12)
        # PyTorch forms sigmoid(z) - t, which cancels to 0 for confident units.
        np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-12, atol=1e-16)
