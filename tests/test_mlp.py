"""fastnn.MLP and forward_backward_prop: layout, gradients, reference, dtypes, errors."""

import numpy as np
import pytest
from scipy.optimize import check_grad

import fastnn
from fastnn import _reference

SHAPES = {
    "cs224n-10-5-10": (10, 5, 10),
    "tiny-2-3-2": (2, 3, 2),
    "deep-20-16-8-4": (20, 16, 8, 4),
    "logistic-6-3": (6, 3),
}
ACTIVATIONS = ["sigmoid", "tanh", "relu"]


def make_problem(layer_sizes, target, n_samples=7, seed=0, activation="sigmoid"):
    """A network, random parameters, inputs and targets of the requested kind."""
    rng = np.random.default_rng(seed)
    net = fastnn.MLP(layer_sizes, activation=activation)
    # Normal draws larger than the initialisation push units away from 0,
    # so the check also covers the curved parts of the activations.
    params = rng.normal(scale=0.8, size=net.n_params)
    X = rng.normal(size=(n_samples, layer_sizes[0]))
    n_classes = layer_sizes[-1]
    if target == "int":
        y = rng.integers(0, n_classes, size=n_samples)
    elif target == "onehot":
        y = np.eye(n_classes)[rng.integers(0, n_classes, size=n_samples)]
    else:  # soft, rows deliberately not normalised: sum_c y_c != 1
        y = rng.uniform(0.0, 1.0, size=(n_samples, n_classes))
    return net, params, X, y


# --------------------------------------------------------------------------
# Parameter count and layout
# --------------------------------------------------------------------------


@pytest.mark.parametrize("layer_sizes", list(SHAPES.values()), ids=list(SHAPES))
def test_num_params_counts_weights_and_biases(layer_sizes):
    expected = sum((a + 1) * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    assert fastnn.num_params(layer_sizes) == expected
    assert fastnn.MLP(layer_sizes).n_params == expected


def test_num_params_one_hidden_layer_formula():
    # (Dx + 1) H + (H + 1) Dy, not Dx H + H Dy and not H.
    Dx, H, Dy = 10, 5, 10
    assert fastnn.num_params([Dx, H, Dy]) == (Dx + 1) * H + (H + 1) * Dy == 115


@pytest.mark.parametrize(
    "layer_sizes", [(3,), (), (3, 0, 2), (3, -1), (2.5, 2), (True, 2)],
    ids=["one-size", "empty", "zero", "negative", "float", "bool"],
)
def test_num_params_rejects_bad_sizes(layer_sizes):
    with pytest.raises(ValueError, match="layer"):
        fastnn.num_params(layer_sizes)


def test_unpack_is_row_major_w1_b1_w2_b2_and_returns_views():
    net = fastnn.MLP((2, 3, 4))
    params = np.arange(net.n_params, dtype=np.float64)
    (W1, b1), (W2, b2) = net.unpack(params)
    np.testing.assert_array_equal(W1, np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(b1, [6, 7, 8])
    np.testing.assert_array_equal(W2, np.arange(9, 21).reshape(3, 4))
    np.testing.assert_array_equal(b2, [21, 22, 23, 24])
    for view in (W1, b1, W2, b2):
        assert np.shares_memory(view, params)
    W2[1, 2] = -1.0
    assert params[9 + 1 * 4 + 2] == -1.0


@pytest.mark.parametrize("shape", [(114,), (116,), (115, 1)], ids=["short", "long", "2-D"])
def test_unpack_rejects_wrong_shape(shape):
    with pytest.raises(ValueError, match=r"\(115,\)"):
        fastnn.MLP((10, 5, 10)).unpack(np.zeros(shape))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_init_params_reproducible_scaled_and_zero_biases(activation):
    net = fastnn.MLP((30, 20, 5), activation=activation)
    a, b = net.init_params(seed=3), net.init_params(seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, net.init_params(seed=4))
    (W1, b1), (W2, b2) = net.unpack(a)
    assert not b1.any() and not b2.any()
    glorot1 = np.sqrt(6 / 50)
    bound1 = np.sqrt(6 / 30) if activation == "relu" else glorot1
    assert np.abs(W1).max() <= bound1
    assert np.abs(W1).max() > 0.9 * bound1  # uses the whole range, 600 draws
    assert np.abs(W2).max() <= np.sqrt(6 / 25)


@pytest.mark.parametrize("activation", ["sigmoid", "spline"], ids=["ok", "unknown"])
def test_activation_is_validated(activation):
    if activation == "spline":
        with pytest.raises(ValueError, match="activation"):
            fastnn.MLP((2, 2), activation=activation)
    else:
        assert fastnn.MLP((2, 2), activation=activation).activation == "sigmoid"


# --------------------------------------------------------------------------
# Gradients checked with scipy.optimize.check_grad (forward differences)
# --------------------------------------------------------------------------


# check_grad uses forward differences with step h = sqrt(eps) ~ 1.5e-8: each
# coordinate carries a truncation error ~ h |f''| / 2 and a rounding error
# ~ eps |f| / h, both ~ 1e-8 times the size of the loss.  Summed in a norm
# over a few hundred coordinates that is up to ~1e-6 of the gradient's norm;
# a real bug (a missing term, a wrong sign, a factor of N) is O(1e-2) or
# more, as test_check_grad_criterion_catches_a_wrong_gradient shows.
CHECK_GRAD_RTOL = 1e-5


def relative_check_grad(func, grad, x0, *args):
    """check_grad's absolute error divided by the gradient's norm."""
    error = check_grad(func, grad, x0, *args)
    return error / np.linalg.norm(grad(x0, *args))


@pytest.mark.parametrize("l2", [0.0, 0.3], ids=["no-l2", "l2"])
@pytest.mark.parametrize("target", ["int", "soft"])
@pytest.mark.parametrize("layer_sizes", list(SHAPES.values()), ids=list(SHAPES))
def test_param_grad_check_grad(layer_sizes, target, l2):
    net, params, X, y = make_problem(layer_sizes, target)
    # Forward differences with scipy's step sqrt(eps) ~ 1.5e-8 leave a
    # truncation error of about 1e-8 relative to the gradient.
    assert relative_check_grad(net.loss, net.grad, params, X, y, l2) < CHECK_GRAD_RTOL


@pytest.mark.parametrize(
    "bug", ["b1-gradient-dropped", "output-sign-flipped", "hidden-scaled-by-N"]
)
def test_check_grad_criterion_catches_a_wrong_gradient(bug):
    net, params, X, y = make_problem((10, 5, 10), "int")
    n_hidden_params = 10 * 5 + 5

    def buggy_grad(p, X, y):
        g = net.grad(p, X, y).copy()
        if bug == "b1-gradient-dropped":
            g[50:55] = 0.0
        elif bug == "output-sign-flipped":
            g[n_hidden_params:] *= -1
        else:
            g[:n_hidden_params] *= X.shape[0]
        return g

    assert relative_check_grad(net.loss, buggy_grad, params, X, y) > 100 * CHECK_GRAD_RTOL


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("target", ["int", "soft"])
def test_param_grad_check_grad_other_activations(activation, target):
    net, params, X, y = make_problem((8, 6, 5, 3), target, activation=activation)
    assert relative_check_grad(net.loss, net.grad, params, X, y, 0.1) < CHECK_GRAD_RTOL


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("target", ["int", "soft"])
@pytest.mark.parametrize("layer_sizes", list(SHAPES.values()), ids=list(SHAPES))
def test_input_grad_check_grad(layer_sizes, target, activation):
    net, params, X, y = make_problem(layer_sizes, target, activation=activation)
    shape = X.shape

    def loss_of_x(flat_x):
        return net.loss(params, flat_x.reshape(shape), y)

    def grad_of_x(flat_x):
        return net.input_grad(params, flat_x.reshape(shape), y).ravel()

    assert net.input_grad(params, X, y).shape == shape
    assert relative_check_grad(loss_of_x, grad_of_x, X.ravel()) < CHECK_GRAD_RTOL


def test_input_grad_ignores_l2_and_equals_delta1_times_W1_transpose():
    # dJ/dX = delta1 W1^T for a linear first layer: check it by hand.
    net, params, X, y = make_problem((4, 3), "int")
    (W, b), = net.unpack(params)
    probabilities = net.forward(params, X)
    delta = (probabilities - np.eye(3)[y]) / X.shape[0]
    np.testing.assert_allclose(net.input_grad(params, X, y), delta @ W.T, rtol=1e-12)


# --------------------------------------------------------------------------
# Properties of the loss
# --------------------------------------------------------------------------


def test_l2_penalises_weights_only():
    net, params, X, y = make_problem((10, 5, 10), "int")
    l2 = 0.25
    loss0, grad0 = net.loss_and_grad(params, X, y)
    loss1, grad1 = net.loss_and_grad(params, X, y, l2=l2)
    layers = net.unpack(params)
    penalty = 0.5 * l2 * sum(np.sum(W**2) for W, _ in layers)
    np.testing.assert_allclose(loss1 - loss0, penalty, rtol=1e-12)
    expected = np.concatenate([np.concatenate([l2 * W.ravel(), 0 * b]) for W, b in layers])
    np.testing.assert_allclose(grad1 - grad0, expected, rtol=1e-12, atol=1e-15)


def test_onehot_targets_equal_integer_targets():
    net, params, X, y = make_problem((10, 5, 10), "int")
    loss_int, grad_int = net.loss_and_grad(params, X, y)
    loss_hot, grad_hot = net.loss_and_grad(params, X, np.eye(10)[y])
    np.testing.assert_allclose(loss_hot, loss_int, rtol=1e-14)
    np.testing.assert_allclose(grad_hot, grad_int, rtol=1e-13, atol=1e-16)


def test_loss_is_mean_over_samples():
    net, params, X, y = make_problem((10, 5, 10), "int", n_samples=6)
    per_sample = [net.loss(params, X[i : i + 1], y[i : i + 1]) for i in range(6)]
    np.testing.assert_allclose(net.loss(params, X, y), np.mean(per_sample), rtol=1e-14)


def test_loss_and_grad_agree_with_loss_and_grad_methods():
    net, params, X, y = make_problem((10, 5, 10), "soft")
    loss, grad = net.loss_and_grad(params, X, y, 0.1)
    assert isinstance(loss, float)
    assert loss == net.loss(params, X, y, 0.1)
    np.testing.assert_array_equal(grad, net.grad(params, X, y, 0.1))


def test_inputs_are_not_modified():
    net, params, X, y = make_problem((10, 5, 10), "soft")
    copies = [a.copy() for a in (params, X, y)]
    net.loss_and_grad(params, X, y, 0.1)
    net.input_grad(params, X, y)
    net.forward(params, X)
    for original, copy in zip((params, X, y), copies):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_saturated_network_stays_finite_without_warnings(activation):
    # Huge pre-activations: sigmoid saturates to exactly 0/1, logits are
    # ~1e4 apart.  The fused loss must not take log(0) (pytest turns any
    # RuntimeWarning into an error here).
    net, params, X, y = make_problem((10, 5, 10), "int", activation=activation)
    loss, grad = net.loss_and_grad(params * 1e3, X * 1e3, y)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert np.all(np.isfinite(net.input_grad(params * 1e3, X * 1e3, y)))


def test_forward_rows_are_probabilities():
    net, params, X, _ = make_problem((20, 16, 8, 4), "int")
    probabilities = net.forward(params, X)
    assert probabilities.shape == (X.shape[0], 4)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-14)


# --------------------------------------------------------------------------
# Against the from-scratch reference MLP
# --------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("target", ["int", "soft"])
@pytest.mark.parametrize("layer_sizes", list(SHAPES.values()), ids=list(SHAPES))
def test_matches_reference_mlp(layer_sizes, target, activation):
    net, params, X, y = make_problem(layer_sizes, target, n_samples=11, activation=activation)
    loss, grad = net.loss_and_grad(params, X, y, l2=0.05)
    ref_loss, ref_grad, ref_input_grad = _reference.mlp_loss_and_grads(
        params, X, y, layer_sizes, activation, l2=0.05
    )
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-15 * np.abs(ref_grad).max())
    np.testing.assert_allclose(
        net.input_grad(params, X, y), ref_input_grad,
        rtol=1e-11, atol=1e-15 * np.abs(ref_input_grad).max(),
    )
    np.testing.assert_allclose(
        net.forward(params, X), _reference.mlp_forward(params, X, layer_sizes, activation),
        rtol=1e-13, atol=1e-300,
    )


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_float32_network_matches_float64_reference(activation):
    layer_sizes = (20, 16, 8, 4)
    net64, params, X, y = make_problem(layer_sizes, "int", n_samples=50, activation=activation)
    net = fastnn.MLP(layer_sizes, activation=activation, dtype=np.float32)
    loss, grad = net.loss_and_grad(params.astype(np.float32), X.astype(np.float32), y)
    assert grad.dtype == np.float32
    assert net.forward(params, X).dtype == np.float32
    assert net.input_grad(params, X, y).dtype == np.float32
    ref_loss, ref_grad, _ = _reference.mlp_loss_and_grads(
        params.astype(np.float32), X.astype(np.float32), y, layer_sizes, activation
    )
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    # float32 keeps ~7 digits; sums over 50 samples lose about one more.
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-3, atol=1e-5 * np.abs(ref_grad).max())


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, error, match",
    [
        ("X-wrong-width", ValueError, r"shape \(n_samples, 10\)"),
        ("X-1-D", ValueError, r"shape \(n_samples, 10\)"),
        ("X-strings", TypeError, "real numbers"),
        ("y-out-of-range", ValueError, r"\[0, 10\)"),
        ("y-negative", ValueError, r"\[0, 10\)"),
        ("y-float-1-D", TypeError, "integer class indices"),
        ("y-wrong-length", ValueError, "labels for"),
        ("y-soft-wrong-width", ValueError, "probability targets"),
        ("params-wrong-length", ValueError, r"\(115,\)"),
        ("l2-negative", ValueError, "l2"),
    ],
)
def test_invalid_inputs_raise_clear_errors(case, error, match):
    net, params, X, y = make_problem((10, 5, 10), "int")
    args = {"params": params, "X": X, "y": y, "l2": 0.0}
    replacement = {
        "X-wrong-width": ("X", X[:, :9]),
        "X-1-D": ("X", X[0]),
        "X-strings": ("X", X.astype(str)),
        "y-out-of-range": ("y", np.where(y == y[0], 10, y)),
        "y-negative": ("y", np.where(y == y[0], -1, y)),
        "y-float-1-D": ("y", y.astype(float)),
        "y-wrong-length": ("y", y[:-1]),
        "y-soft-wrong-width": ("y", np.ones((X.shape[0], 9))),
        "params-wrong-length": ("params", params[:-1]),
        "l2-negative": ("l2", -1.0),
    }[case]
    args[replacement[0]] = replacement[1]
    with pytest.raises(error, match=match):
        net.loss_and_grad(args["params"], args["X"], args["y"], args["l2"])


@pytest.mark.parametrize("dtype", [bool, np.int8, np.float32], ids=lambda d: np.dtype(d).name)
def test_one_hot_targets_of_any_real_dtype_are_accepted(dtype):
    # The checks that name y must not turn away one-hot rows stored as bool
    # or integers, which the network has always read as probabilities.
    net, params, X, y = make_problem((10, 5, 10), "int")
    one_hot = np.eye(10)[y]
    loss, grad = net.loss_and_grad(params, X, one_hot.astype(dtype))
    expected_loss, expected_grad = net.loss_and_grad(params, X, one_hot)
    assert loss == expected_loss
    np.testing.assert_array_equal(grad, expected_grad)


# --------------------------------------------------------------------------
# forward_backward_prop (the signature of CS224n assignment 1's q2_neural.py)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_forward_backward_prop_matches_mlp(reduction):
    dimensions = [10, 5, 10]
    net, params, X, labels = make_problem(dimensions, "onehot", n_samples=20)
    cost, grad = fastnn.forward_backward_prop(X, labels, params, dimensions, reduction=reduction)
    loss, expected_grad = net.loss_and_grad(params, X, labels)
    scale = 20 if reduction == "sum" else 1
    np.testing.assert_allclose(cost, scale * loss, rtol=1e-14)
    np.testing.assert_allclose(grad, scale * expected_grad, rtol=1e-14)


def test_forward_backward_prop_passes_gradcheck_like_cs224n_q2_neural():
    dimensions = [10, 5, 10]
    _, params, X, labels = make_problem(dimensions, "onehot", n_samples=20, seed=31415)
    report = fastnn.gradcheck(
        lambda p: fastnn.forward_backward_prop(X, labels, p, dimensions), params
    )
    assert report.n_checked == 115
    assert report.max_rel_error < 1e-5


def test_forward_backward_prop_rejects_bad_arguments():
    dimensions = [10, 5, 10]
    _, params, X, labels = make_problem(dimensions, "onehot")
    with pytest.raises(ValueError, match="reduction"):
        fastnn.forward_backward_prop(X, labels, params, dimensions, reduction="max")
    with pytest.raises(ValueError, match=r"\(115,\)"):
        fastnn.forward_backward_prop(X, labels, params[:100], dimensions)


# --------------------------------------------------------------------------
# Logistic outputs, sample weights, sparse X and the trusted path
# --------------------------------------------------------------------------


def make_logistic_problem(layer_sizes, n_samples=9, seed=1, activation="tanh"):
    rng = np.random.default_rng(seed)
    net = fastnn.MLP(layer_sizes, activation=activation, output="logistic")
    params = rng.normal(scale=0.8, size=net.n_params)
    X = rng.normal(size=(n_samples, layer_sizes[0]))
    Y = (rng.random((n_samples, layer_sizes[-1])) < 0.5).astype(float)
    return net, params, X, Y


@pytest.mark.parametrize("layer_sizes", [(5, 4, 1), (5, 6, 3), (4, 3), (6, 4, 3, 2)],
                         ids=["binary", "multilabel", "no-hidden", "deep"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_logistic_output_check_grad(layer_sizes, activation, weighted):
    net, params, X, Y = make_logistic_problem(layer_sizes, activation=activation)
    weights = np.linspace(0.0, 2.0, X.shape[0]) if weighted else None
    l2 = 0.2
    error = check_grad(
        lambda p: net.loss(p, X, Y, l2, sample_weight=weights),
        lambda p: net.grad(p, X, Y, l2, sample_weight=weights),
        params,
    )
    assert error < CHECK_GRAD_RTOL * np.linalg.norm(net.grad(params, X, Y, l2, weights))


def test_logistic_output_loss_is_the_summed_binary_cross_entropy():
    net, params, X, Y = make_logistic_problem((5, 4, 3), activation="relu")
    layers = _reference.mlp_unpack(params, (5, 4, 3))
    logits = np.maximum(X @ layers[0][0] + layers[0][1], 0) @ layers[1][0] + layers[1][1]
    p = 1 / (1 + np.exp(-logits))
    expected = -np.mean(np.sum(Y * np.log(p) + (1 - Y) * np.log(1 - p), axis=1))
    np.testing.assert_allclose(net.loss(params, X, Y), expected, rtol=1e-13)
    np.testing.assert_allclose(net.forward(params, X), p, rtol=1e-13)


@pytest.mark.parametrize("output", ["softmax", "logistic"])
def test_sample_weight_two_equals_repeating_the_row(output):
    rng = np.random.default_rng(5)
    net = fastnn.MLP((4, 5, 3), activation="tanh", output=output)
    params = rng.normal(size=net.n_params)
    X = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, size=6) if output == "softmax" else (rng.random((6, 3)) < 0.5) * 1.0
    weights = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 0.0])
    repeated = np.repeat(np.arange(6), weights.astype(int))
    loss_w, grad_w = net.loss_and_grad(params, X, y, 0.1, sample_weight=weights)
    loss_r, grad_r = net.loss_and_grad(params, X[repeated], y[repeated], 0.1)
    np.testing.assert_allclose(loss_w, loss_r, rtol=1e-13)
    np.testing.assert_allclose(grad_w, grad_r, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("layer_sizes", [(5, 4, 3), (5, 3)], ids=["hidden", "no-hidden"])
def test_softmax_sample_weight_check_grad(layer_sizes):
    net, params, X, y = make_problem(layer_sizes, "int", n_samples=8, activation="relu")
    weights = np.linspace(0.1, 3.0, 8)
    error = check_grad(
        lambda p: net.loss(p, X, y, 0.3, sample_weight=weights),
        lambda p: net.grad(p, X, y, 0.3, sample_weight=weights),
        params,
    )
    assert error < CHECK_GRAD_RTOL * np.linalg.norm(net.grad(params, X, y, 0.3, weights))


@pytest.mark.parametrize("output", ["softmax", "logistic"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_X_gives_the_dense_results(output, dtype):
    import scipy.sparse

    rng = np.random.default_rng(2)
    net = fastnn.MLP((7, 5, 3), activation="relu", output=output, dtype=dtype)
    params = net.init_params(seed=0)
    X = rng.normal(size=(10, 7)) * (rng.random((10, 7)) < 0.3)
    y = rng.integers(0, 3, size=10) if output == "softmax" else (rng.random((10, 3)) < 0.5) * 1.0
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    for container in (scipy.sparse.csr_matrix, scipy.sparse.csc_array):
        sparse = container(X)
        loss_s, grad_s = net.loss_and_grad(params, sparse, y, 0.1)
        loss_d, grad_d = net.loss_and_grad(params, X, y, 0.1)
        assert grad_s.dtype == dtype
        np.testing.assert_allclose(loss_s, loss_d, rtol=rtol)
        np.testing.assert_allclose(grad_s, grad_d, rtol=rtol, atol=rtol * 1e-2)
        np.testing.assert_allclose(net.forward(params, sparse), net.forward(params, X), rtol=rtol)


@pytest.mark.parametrize("output", ["softmax", "logistic"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_trusted_path_agrees_with_the_public_path(output, weighted):
    rng = np.random.default_rng(8)
    net = fastnn.MLP((6, 5, 3), activation="logistic", output=output)
    params = rng.normal(size=net.n_params)
    X = rng.normal(size=(12, 6))
    if output == "softmax":
        y = rng.integers(0, 3, size=12)
        targets = y.astype(np.intp)
    else:
        y = (rng.random((12, 3)) < 0.5).astype(int)
        targets = y.astype(np.float64)
    weights = rng.random(12) if weighted else None
    public = net.loss_and_grad(params, X, y, 0.05, sample_weight=weights)
    trusted = net._loss_and_grad_trusted(params, X, targets, weights, 0.05)
    assert public[0] == trusted[0]
    np.testing.assert_array_equal(public[1], trusted[1])


@pytest.mark.parametrize(
    "case, error, match",
    [
        ("weight-negative", ValueError, "non-negative"),
        ("weight-all-zero", ValueError, "non-zero"),
        ("weight-length", ValueError, r"shape \(7,\)"),
        ("logistic-target-shape", ValueError, "y of the logistic output"),
        ("output-unknown", ValueError, "output must be one of"),
    ],
)
def test_new_arguments_are_validated(case, error, match):
    net, params, X, y = make_problem((10, 5, 10), "int")
    with pytest.raises(error, match=match):
        if case == "weight-negative":
            net.loss_and_grad(params, X, y, sample_weight=-np.ones(7))
        elif case == "weight-all-zero":
            net.loss_and_grad(params, X, y, sample_weight=np.zeros(7))
        elif case == "weight-length":
            net.loss_and_grad(params, X, y, sample_weight=np.ones(6))
        elif case == "logistic-target-shape":
            fastnn.MLP((10, 5, 2), output="logistic").loss(np.zeros(67), X, np.ones((7, 3)))
        else:
            fastnn.MLP((10, 5, 2), output="tanh")


@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_glorot_draw_is_scikit_learns(activation):
    # scikit-learn's _init_coef: per layer, W then b from U(-a, a) with
    # a = sqrt(f / (n_in + n_out)), f = 2 for logistic units and 6 otherwise.
    net = fastnn.MLP((6, 4, 3), activation=activation)
    params = net._draw_params(np.random.RandomState(0), "glorot")
    reference = np.random.RandomState(0)
    factor = 2.0 if activation == "logistic" else 6.0
    for (W, b), (n_in, n_out) in zip(net.unpack(params), [(6, 4), (4, 3)]):
        bound = np.sqrt(factor / (n_in + n_out))
        np.testing.assert_array_equal(W, reference.uniform(-bound, bound, (n_in, n_out)))
        np.testing.assert_array_equal(b, reference.uniform(-bound, bound, n_out))


# --------------------------------------------------------------------------
# The blocked output layer for many classes
# --------------------------------------------------------------------------


def _spy_on_blocked_output(monkeypatch):
    """Count the calls of the blocked output layer from fastnn.mlp."""
    from fastnn import output_layers as output_layers_module

    calls = []
    original = output_layers_module.fused_output_layer

    def spy(*args, **kwargs):
        calls.append(kwargs.get("max_memory"))
        return original(*args, **kwargs)

    monkeypatch.setattr(output_layers_module, "fused_output_layer", spy)
    return calls


def _both_sides_of_the_threshold(monkeypatch, net, call, max_memory):
    """``call()`` with the output layer whole, then blocked; asserts which ran."""
    from fastnn import output_layers as output_layers_module

    calls = _spy_on_blocked_output(monkeypatch)
    n_classes = net.layer_sizes[-1]
    monkeypatch.setattr(output_layers_module, "FUSED_OUTPUT_MIN_CLASSES", n_classes + 1)
    whole = call()
    assert calls == []
    monkeypatch.setattr(output_layers_module, "FUSED_OUTPUT_MIN_CLASSES", n_classes)
    monkeypatch.setattr(output_layers_module, "FUSED_OUTPUT_MAX_MEMORY", max_memory)
    blocked = call()
    assert calls and set(calls) == {max_memory}
    return whole, blocked


def _assert_same_to_rounding(whole, blocked, dtype):
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for got, want in zip(blocked, whole):
        if want is None:
            assert got is None
            continue
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        assert np.max(np.abs(got - want)) <= tol * max(np.max(np.abs(want)), 1e-300)


@pytest.mark.parametrize("layer_sizes", [(6, 9), (6, 7, 9), (6, 5, 4, 9)],
                         ids=["no-hidden", "one-hidden", "two-hidden"])
@pytest.mark.parametrize("target", ["int", "soft"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weights"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("plan", ["one-block", "class-blocks"])
def test_blocked_output_layer_gives_the_whole_array_results(layer_sizes, target, weighted, dtype,
                                                            plan, monkeypatch):
    _, params, X, y = make_problem(layer_sizes, target, n_samples=30, activation="tanh")
    net = fastnn.MLP(layer_sizes, activation="tanh", dtype=dtype)
    sample_weight = np.random.default_rng(1).uniform(0.0, 2.0, 30) if weighted else None
    max_memory = 64 << 20
    if plan == "class-blocks":  # with several row blocks: the smallest budget that gives them
        from fastnn.fused_linear import _plan_for

        h = np.empty((30, layer_sizes[-2]), dtype)
        W = np.empty((layer_sizes[-2], 9), dtype)
        probs = np.empty((30, 9), dtype) if target == "soft" else None
        for max_memory in range(512, 1 << 16, 8):
            try:
                chosen = _plan_for(h, W, probs, False, True, max_memory, True)
            except ValueError:  # too small
                continue
            if chosen.class_blocked and 3 <= chosen.classes < 9 and chosen.rows < 30:
                break
        else:
            raise AssertionError("no budget gives class blocks")

    def everything():
        loss, grad, input_grad = net._backprop(params, X, y, 1e-3, True, True, sample_weight)
        loss_only = net.loss(params, X, y, 1e-3, sample_weight)
        return loss, grad, input_grad, loss_only, net.input_grad(params, X, y)

    whole, blocked = _both_sides_of_the_threshold(monkeypatch, net, everything, max_memory)
    _assert_same_to_rounding(whole, blocked, dtype)
    assert blocked[1].dtype == dtype and blocked[2].dtype == dtype


def test_blocked_output_layer_check_grad(monkeypatch):
    from fastnn import output_layers as output_layers_module

    monkeypatch.setattr(output_layers_module, "FUSED_OUTPUT_MIN_CLASSES", 2)
    calls = _spy_on_blocked_output(monkeypatch)
    net, params, X, y = make_problem((5, 4, 6), "int", n_samples=9)
    sample_weight = np.linspace(0.5, 2.0, 9)
    error = check_grad(net.loss, net.grad, params, X, y, 1e-3, sample_weight)
    assert calls
    assert error < 1e-6 * np.linalg.norm(net.grad(params, X, y, 1e-3, sample_weight))


def test_a_network_with_50000_classes_trains_in_bounded_memory(monkeypatch):
    import tracemalloc

    from fastnn import output_layers as output_layers_module

    max_memory = 4 << 20
    monkeypatch.setattr(output_layers_module, "FUSED_OUTPUT_MAX_MEMORY", max_memory)
    n_samples, n_classes = 300, 50_000
    net = fastnn.MLP((8, 16, n_classes), activation="relu")
    assert n_classes >= output_layers_module.FUSED_OUTPUT_MIN_CLASSES
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, 8))
    y = rng.integers(0, n_classes, n_samples)
    params = net.init_params(seed=0)
    net.loss_and_grad(params, X[:2], y[:2])  # imports outside the measurement
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        loss, grad = net.loss_and_grad(params, X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The whole logits and their gradient would take 2 * 300 * 50000 * 8 = 240 MB;
    # the blocked layer takes max_memory besides the gradient vector and the
    # hidden layer's activations (and their gradient).
    hidden = 2 * n_samples * 16 * 8
    assert peak - before <= grad.nbytes + hidden + max_memory + (256 << 10)
    # And it trains: gradient steps lower the loss.
    for _ in range(3):
        params = params - 10.0 * grad
        new_loss, grad = net.loss_and_grad(params, X, y)
        assert new_loss < loss
        loss = new_loss


# --------------------------------------------------------------------------
# Every output layer: gradients, losses against their formulas, targets
# --------------------------------------------------------------------------

OUTPUTS = ["softmax", "logistic", "identity", "exp"]


def make_output_problem(output, layer_sizes, activation="tanh", n_samples=9, seed=3):
    """A network with the given output layer, parameters, inputs and targets it accepts."""
    rng = np.random.default_rng(seed)
    net = fastnn.MLP(layer_sizes, activation=activation, output=output)
    params = rng.normal(scale=0.6, size=net.n_params)
    X = rng.normal(size=(n_samples, layer_sizes[0]))
    n_outputs = layer_sizes[-1]
    if output == "softmax":
        y = rng.integers(0, n_outputs, size=n_samples)
    elif output == "logistic":
        y = (rng.random((n_samples, n_outputs)) < 0.5) * 1.0
    elif output == "identity":
        y = rng.normal(size=(n_samples, n_outputs))
    else:
        y = rng.poisson(2.0, size=(n_samples, n_outputs)).astype(float)
    return net, params, X, y


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("layer_sizes", [(5, 4, 3), (4, 2), (6, 4, 3, 1)],
                         ids=["hidden", "no-hidden", "deep-one-output"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_every_output_layer_passes_check_grad_with_weights_and_l2(output, layer_sizes, weighted):
    if output == "softmax" and layer_sizes[-1] == 1:
        layer_sizes = layer_sizes[:-1] + (2,)
    net, params, X, y = make_output_problem(output, layer_sizes)
    weights = np.linspace(0.0, 2.0, X.shape[0]) if weighted else None
    l2 = 0.3
    error = check_grad(
        lambda p: net.loss(p, X, y, l2, sample_weight=weights),
        lambda p: net.grad(p, X, y, l2, sample_weight=weights),
        params,
    )
    assert error < CHECK_GRAD_RTOL * np.linalg.norm(net.grad(params, X, y, l2, weights))


@pytest.mark.parametrize("output", OUTPUTS)
def test_every_output_layer_input_grad_passes_check_grad(output):
    net, params, X, y = make_output_problem(output, (4, 5, 3))

    def loss_of_inputs(flat):
        return net.loss(params, flat.reshape(X.shape), y)

    def grad_of_inputs(flat):
        return net.input_grad(params, flat.reshape(X.shape), y).ravel()

    error = check_grad(loss_of_inputs, grad_of_inputs, X.ravel())
    assert error < CHECK_GRAD_RTOL * np.linalg.norm(grad_of_inputs(X.ravel()))


def _top_logits(net, params, X):
    layers = _reference.mlp_unpack(params, net.layer_sizes)
    h = X
    for W, b in layers[:-1]:
        h = np.tanh(h @ W + b)
    W, b = layers[-1]
    return h @ W + b


@pytest.mark.parametrize("output", ["identity", "exp"])
def test_regression_output_losses_and_predictions_are_their_formulas(output):
    net, params, X, y = make_output_problem(output, (4, 5, 3))
    weights = np.linspace(0.5, 2.0, X.shape[0])
    z = _top_logits(net, params, X)
    if output == "identity":
        per_row = 0.5 * np.sum((z - y) ** 2, axis=1)
        predictions = z
    else:
        per_row = np.sum(np.exp(z) - y * z, axis=1)
        predictions = np.exp(z)
    np.testing.assert_allclose(net.forward(params, X), predictions, rtol=1e-13)
    np.testing.assert_allclose(net.loss(params, X, y), per_row.mean(), rtol=1e-13)
    np.testing.assert_allclose(net.loss(params, X, y, sample_weight=weights),
                               np.average(per_row, weights=weights), rtol=1e-13)


@pytest.mark.parametrize("output", ["logistic", "identity", "exp"])
def test_canonical_link_gradient_at_the_output_is_prediction_minus_target(output):
    # With no hidden layer the bias gradient is the output's delta summed over rows:
    # sum_n (y_hat_n - y_n) / N for every canonical link.
    net, params, X, y = make_output_problem(output, (4, 3))
    grad = net.grad(params, X, y)
    bias_grad = net.unpack(grad)[0][1]
    expected = np.mean(net.forward(params, X) - y, axis=0)
    np.testing.assert_allclose(bias_grad, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("output, y, error, match", [
    ("exp", [[1.0], [-0.5]], ValueError, "y must be non-negative for the Poisson loss"),
    ("identity", [[1.0], [np.nan]], ValueError, "y must be finite"),
    ("identity", [[1.0, 2.0], [3.0, 4.0]], ValueError, r"y of the identity output must have "
                                                        r"shape \(2, 1\) or \(2,\)"),
    ("identity", [["a"], ["b"]], TypeError, "y must hold real numbers"),
], ids=["exp-negative", "identity-nan", "identity-shape", "identity-strings"])
def test_regression_targets_are_checked(output, y, error, match):
    net = fastnn.MLP((2, 1), output=output)
    with pytest.raises(error, match=match):
        net.loss(np.zeros(net.n_params), np.ones((2, 2)), y)


def test_unknown_output_layer_is_an_error_naming_output():
    with pytest.raises(ValueError, match=r"output must be one of \('softmax', 'logistic', "
                                         r"'identity', 'exp'\)"):
        fastnn.MLP((2, 1), output="huber")


def test_output_layer_objects_are_accepted_and_named():
    from fastnn.output_layers import OUTPUT_LAYERS, ExpPoisson

    net = fastnn.MLP((3, 2), output=ExpPoisson())
    assert net.output == "exp" and isinstance(net.output_layer, ExpPoisson)
    assert {name: layer.activation for name, layer in OUTPUT_LAYERS.items()} == {
        "softmax": "softmax", "logistic": "logistic", "identity": "identity", "exp": "exp"}
