"""Each result of docs/derivations.md, checked numerically (the doc names these tests)."""

import numpy as np
import pytest

import fastnn


def central_jacobian(f, x, h=1e-6):
    """d f(x)[i] / d x[j] by centered differences; f maps a vector to a vector."""
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((f(x + step) - f(x - step)) / (2 * h))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("offset", [-1e3, -3.5, 0.0, 7.25, 1e3], ids=lambda c: f"c={c:g}")
def test_softmax_is_invariant_to_a_constant_offset_per_row(offset):
    z = np.random.default_rng(0).normal(size=(4, 6))
    np.testing.assert_allclose(fastnn.softmax(z + offset), fastnn.softmax(z), rtol=1e-13)


def test_softmax_jacobian_is_diag_p_minus_p_p_transpose():
    z = np.random.default_rng(1).normal(size=5)
    p = fastnn.softmax(z)
    expected = np.diag(p) - np.outer(p, p)
    np.testing.assert_allclose(central_jacobian(fastnn.softmax, z), expected, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("axis", [0, 1])
def test_log_softmax_is_z_minus_logsumexp(axis):
    z = np.random.default_rng(3).normal(size=(4, 6)) * 5
    lse = fastnn.logsumexp(z, axis=axis, keepdims=True)
    np.testing.assert_allclose(fastnn.log_softmax(z, axis=axis), z - lse, rtol=1e-14, atol=1e-14)


def test_logsumexp_gradient_is_the_softmax():
    z = np.random.default_rng(4).normal(size=7)
    numerical = central_jacobian(lambda v: np.atleast_1d(fastnn.logsumexp(v)), z)
    np.testing.assert_allclose(numerical[0], fastnn.softmax(z), rtol=1e-8, atol=1e-11)


def test_sigmoid_derivative_identities():
    x = np.linspace(-12.0, 12.0, 97)
    s = fastnn.sigmoid(x)
    numerical = (fastnn.sigmoid(x + 1e-6) - fastnn.sigmoid(x - 1e-6)) / 2e-6
    # Rounding in the difference quotient is ~ machine eps / h ~ 1e-10 absolute.
    np.testing.assert_allclose(s * (1 - s), numerical, rtol=1e-7, atol=1e-9)
    # Equal in exact arithmetic; for large x, 1 - s cancels (relative error
    # ~ eps / (1 - s)) while sigmoid(-x) keeps full precision.
    np.testing.assert_allclose(s * fastnn.sigmoid(-x), s * (1 - s), rtol=1e-9)
    np.testing.assert_allclose(fastnn.sigmoid(-x), 1 - s, rtol=1e-12, atol=4e-16)
    # sigmoid_grad sees only s, so it computes s (1 - s).
    np.testing.assert_allclose(fastnn.sigmoid_grad(s), s * (1 - s), rtol=1e-12)


def test_cross_entropy_gradient_is_prediction_minus_target():
    # Sign matters: the gradient is y_hat - y, so a gradient-descent step
    # z <- z - lr (y_hat - y) raises the true class's logit.
    rng = np.random.default_rng(2)
    z = rng.normal(size=(1, 4))
    label = np.array([2])
    loss, grad = fastnn.softmax_cross_entropy(z, label, reduction="sum")
    y_hat = fastnn.softmax(z)
    expected = y_hat - np.eye(4)[label]
    np.testing.assert_allclose(grad, expected, rtol=1e-13)
    assert grad[0, 2] < 0 and np.all(np.delete(grad[0], 2) > 0)
    numerical = central_jacobian(
        lambda v: np.atleast_1d(fastnn.softmax_cross_entropy(v[None], label, reduction="sum")[0]), z[0]
    )
    np.testing.assert_allclose(numerical[0], expected[0], rtol=1e-7, atol=1e-10)
    stepped = z - 0.5 * grad
    assert fastnn.softmax_cross_entropy(stepped, label, reduction="sum")[0] < loss


def test_cross_entropy_gradient_soft_targets_is_sum_y_times_prediction_minus_target():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(3, 5))
    y = rng.uniform(0.0, 2.0, size=(3, 5))  # rows do not sum to 1
    _, grad = fastnn.softmax_cross_entropy(z, y, reduction="sum")
    expected = y.sum(axis=1, keepdims=True) * fastnn.softmax(z) - y
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)
    for n in range(3):
        numerical = central_jacobian(
            lambda v: np.atleast_1d(fastnn.softmax_cross_entropy(v[None], y[n : n + 1], reduction="sum")[0]),
            z[n],
        )
        np.testing.assert_allclose(numerical[0], expected[n], rtol=1e-6, atol=1e-9)


def test_mean_reduction_divides_the_gradient_by_n():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(6, 3))
    y = rng.integers(0, 3, size=6)
    _, total = fastnn.softmax_cross_entropy(z, y, reduction="sum")
    _, mean = fastnn.softmax_cross_entropy(z, y, reduction="mean")
    np.testing.assert_allclose(mean, total / 6, rtol=1e-14)


@pytest.mark.parametrize("target", ["int", "soft"])
def test_one_hidden_layer_gradients_in_closed_form(target):
    """The formulas of the doc, typed in directly, against centered differences and fastnn.MLP."""
    rng = np.random.default_rng(5)
    N, Dx, H, Dy = 8, 10, 5, 10
    X = rng.normal(size=(N, Dx))
    W1, b1 = rng.normal(size=(Dx, H)), rng.normal(size=H)
    W2, b2 = rng.normal(size=(H, Dy)), rng.normal(size=Dy)
    Y = np.eye(Dy)[rng.integers(0, Dy, size=N)] if target == "int" else rng.uniform(size=(N, Dy))

    def loss(X, W1, b1, W2, b2):
        h = fastnn.sigmoid(X @ W1 + b1)
        return -np.sum(Y * fastnn.log_softmax(h @ W2 + b2)) / N

    # Forward.
    z1 = X @ W1 + b1
    h = fastnn.sigmoid(z1)
    z2 = h @ W2 + b2
    y_hat = fastnn.softmax(z2)
    # Backward, exactly as written in docs/derivations.md.
    delta2 = (Y.sum(axis=1, keepdims=True) * y_hat - Y) / N
    dW2 = h.T @ delta2
    db2 = delta2.sum(axis=0)
    delta1 = (delta2 @ W2.T) * h * (1 - h)
    dW1 = X.T @ delta1
    db1 = delta1.sum(axis=0)
    dX = delta1 @ W1.T

    arguments = [X, W1, b1, W2, b2]
    for position, closed_form in enumerate([dX, dW1, db1, dW2, db2]):
        def f(v, position=position):
            args = list(arguments)
            args[position] = v
            return loss(*args), closed_form

        fastnn.gradcheck(f, arguments[position].copy(), rtol=1e-6)

    net = fastnn.MLP((Dx, H, Dy))
    params = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])
    labels = Y.argmax(axis=1) if target == "int" else Y
    J, grad = net.loss_and_grad(params, X, labels)
    np.testing.assert_allclose(J, loss(*arguments), rtol=1e-13)
    np.testing.assert_allclose(grad, np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2]), rtol=1e-11, atol=1e-17)
    np.testing.assert_allclose(net.input_grad(params, X, labels), dX, rtol=1e-11, atol=1e-17)


@pytest.mark.parametrize("Dx, H, Dy", [(10, 5, 10), (2, 3, 2), (784, 100, 10)])
def test_parameter_count(Dx, H, Dy):
    net = fastnn.MLP((Dx, H, Dy))
    assert net.n_params == (Dx + 1) * H + (H + 1) * Dy
    # Every parameter is a distinct coordinate with its own gradient entry.
    params = net.init_params(seed=0)
    X = np.random.default_rng(6).normal(size=(3, Dx))
    assert net.grad(params, X, np.arange(3) % Dy).shape == (net.n_params,)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_other_activation_derivatives_through_their_outputs(activation):
    z = np.linspace(-3.0, 3.0, 61) + 0.025  # keep relu's kink off the grid
    f = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0.0))
    h = f(z)
    numerical = (f(z + 1e-6) - f(z - 1e-6)) / 2e-6
    through_output = 1 - h * h if activation == "tanh" else (h > 0).astype(float)
    np.testing.assert_allclose(through_output, numerical, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("output", ["identity", "exp"])
def test_regression_output_gradients_are_prediction_minus_target(output):
    # One sample, no hidden layer, W = 0: the logits are the biases b, so the
    # bias gradient is d loss / d z, which must be y_hat - y.
    rng = np.random.default_rng(7)
    net = fastnn.MLP((2, 3), output=output)
    params = np.zeros(net.n_params)
    b = net.unpack(params)[0][1]
    b[:] = rng.normal(size=3)
    x = rng.normal(size=(1, 2))
    y = rng.uniform(0.5, 3.0, size=(1, 3))
    y_hat = b if output == "identity" else np.exp(b)
    grad = net.unpack(net.grad(params, x, y))[0][1]
    np.testing.assert_allclose(grad, y_hat - y[0], rtol=1e-12, atol=1e-15)

    def loss_of_bias(bias):
        p = params.copy()
        net.unpack(p)[0][1][:] = bias
        return np.atleast_1d(net.loss(p, x, y))

    numerical = central_jacobian(loss_of_bias, b.copy())[0]
    np.testing.assert_allclose(numerical, y_hat - y[0], rtol=1e-7, atol=1e-9)


def test_poisson_loss_differs_from_the_deviance_by_a_constant():
    rng = np.random.default_rng(8)
    net = fastnn.MLP((3, 2), output="exp")
    X = rng.normal(size=(5, 3))
    y = rng.poisson(2.0, size=(5, 2)).astype(float)
    logy = np.log(np.where(y > 0, y, 1.0))
    constant = np.mean(np.sum(y * logy - y, axis=1))
    for seed in range(3):
        params = net.init_params(seed=seed)
        y_hat = net.forward(params, X)
        half_deviance = np.mean(np.sum(y * (logy - np.log(y_hat)) - y + y_hat, axis=1))
        np.testing.assert_allclose(net.loss(params, X, y) + constant, half_deviance, rtol=1e-12)
