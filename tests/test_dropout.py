"""Inverted dropout: the counter-based masks, and the network's gradient with masks fixed."""

import numpy as np
import pytest
from scipy.optimize import check_grad

import fastnn
from fastnn.dropout import check_dropout, dropout_masks

CHECK_GRAD_RTOL = 1e-5


# --------------------------------------------------------------------------
# The masks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kept_fraction_and_scale(rate, dtype):
    n_rows, units = 4000, 50
    (mask,) = dropout_masks(n_rows, [units], rate, seed=3, step=11, dtype=dtype)
    assert mask.dtype == dtype
    kept = mask != 0
    # Every kept unit is scaled by exactly 1 / (1 - p), in the network's dtype.
    assert np.all(mask[kept] == dtype(1.0 / (1.0 - rate)))
    n = mask.size
    sigma = np.sqrt(n * rate * (1 - rate))
    assert abs(kept.sum() - n * (1 - rate)) < 4 * sigma


def test_units_and_rows_are_independent():
    # Neighbouring counters must not give correlated decisions: the kept
    # fraction of each column and of each row of a large mask stays near 1 - p,
    # and two adjacent columns agree as often as independent coins do.
    (mask,) = dropout_masks(20000, [8], 0.5, seed=5)
    kept = mask != 0
    for column in kept.T:
        assert abs(column.mean() - 0.5) < 4 * np.sqrt(0.25 / 20000)
    agree = np.mean(kept[:, 0] == kept[:, 1])
    assert abs(agree - 0.5) < 4 * np.sqrt(0.25 / 20000)
    # Adjacent rows (row keys of neighbouring positions) agree no more often.
    agree_rows = np.mean(kept[1:] == kept[:-1])
    assert abs(agree_rows - 0.5) < 4 * np.sqrt(0.25 / kept[1:].size)


def test_wide_rows_keep_the_rate_along_the_row():
    # Within a row the per-unit hashes run through a Weyl sequence: over a
    # wide layer every stretch of units still keeps about 1 - p of them.
    (mask,) = dropout_masks(64, [4096], 0.3, seed=11, step=1)
    kept = (mask != 0).reshape(64, 16, 256).mean(axis=(0, 2))  # 16 stretches of 256 units
    assert np.all(np.abs(kept - 0.7) < 4 * np.sqrt(0.21 / (64 * 256)))


def test_a_rows_mask_depends_only_on_seed_step_and_position():
    full = dropout_masks(100, [7, 5], [0.3, 0.6], seed=9, step=4)
    rows = np.array([70, 3, 3, 99, 41])
    part = dropout_masks(rows, [7, 5], [0.3, 0.6], seed=9, step=4)
    for whole, some in zip(full, part):
        np.testing.assert_array_equal(some, whole[rows])
    again = dropout_masks(100, [7, 5], [0.3, 0.6], seed=9, step=4)
    for a, b in zip(full, again):
        np.testing.assert_array_equal(a, b)
    for other in (dropout_masks(100, [7, 5], [0.3, 0.6], seed=10, step=4),
                  dropout_masks(100, [7, 5], [0.3, 0.6], seed=9, step=5)):
        assert not np.array_equal(other[0], full[0])


def test_layers_draw_different_masks_and_a_zero_rate_gives_none():
    first, second, third = dropout_masks(500, [20, 20, 20], [0.5, 0.5, 0.0], seed=1)
    assert third is None
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("dropout, match", [
    (1.0, r"rates must lie in \[0, 1\)"),
    (-0.1, r"rates must lie in \[0, 1\)"),
    ([0.1], r"one rate per hidden layer \(2\), got 1"),
    ("half", "dropout must be"),
    (True, "dropout must be"),
    ([0.1, None], "dropout must hold numbers"),
])
def test_bad_rates_are_errors_naming_dropout(dropout, match):
    with pytest.raises(ValueError, match=match):
        check_dropout(dropout, 2)


def test_bad_rows_seed_and_step_are_errors():
    with pytest.raises(ValueError, match="rows"):
        dropout_masks(np.array([[1, 2]]), [3], 0.5, seed=0)
    with pytest.raises(ValueError, match="seed"):
        dropout_masks(3, [3], 0.5, seed=-1)
    with pytest.raises(ValueError, match="step"):
        dropout_masks(3, [3], 0.5, seed=0, step=-2)


# --------------------------------------------------------------------------
# The network with masks
# --------------------------------------------------------------------------

OUTPUTS = ["softmax", "logistic", "identity", "exp"]


def _problem(output, layer_sizes, activation, seed=0, n_samples=9):
    rng = np.random.default_rng(seed)
    net = fastnn.MLP(layer_sizes, activation=activation, output=output)
    params = rng.normal(scale=0.6, size=net.n_params)
    X = rng.normal(size=(n_samples, layer_sizes[0]))
    k = layer_sizes[-1]
    y = {"softmax": rng.integers(0, k, n_samples),
         "logistic": (rng.random((n_samples, k)) < 0.5) * 1.0,
         "identity": rng.normal(size=(n_samples, k)),
         "exp": rng.poisson(2.0, size=(n_samples, k)).astype(float)}[output]
    return net, params, X, y


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu", "identity"])
@pytest.mark.parametrize("layer_sizes", [(4, 6, 3), (4, 6, 5, 3)], ids=["one-hidden", "two-hidden"])
def test_check_grad_with_fixed_masks(output, activation, layer_sizes):
    net, params, X, y = _problem(output, layer_sizes, activation)
    masks = dropout_masks(X.shape[0], layer_sizes[1:-1], 0.4, seed=2, step=3)
    weights = np.linspace(0.5, 1.5, X.shape[0])

    def loss(p):
        return net.loss(p, X, y, 0.1, weights, dropout_masks=masks)

    def grad(p):
        return net.grad(p, X, y, 0.1, weights, dropout_masks=masks)

    error = check_grad(loss, grad, params)
    assert error < CHECK_GRAD_RTOL * np.linalg.norm(grad(params))


def test_masks_change_the_loss_and_ones_do_not():
    net, params, X, y = _problem("softmax", (4, 6, 3), "tanh")
    plain = net.loss_and_grad(params, X, y)
    ones = net.loss_and_grad(params, X, y, dropout_masks=[np.ones((9, 6))])
    np.testing.assert_array_equal(ones[1], plain[1])
    assert ones[0] == plain[0]
    dropped = net.loss(params, X, y, dropout_masks=dropout_masks(9, [6], 0.5, seed=0))
    assert dropped != plain[0]


def test_masked_loss_is_the_formula():
    net, params, X, y = _problem("identity", (4, 6, 2), "tanh")
    (mask,) = dropout_masks(9, [6], 0.5, seed=4)
    (W1, b1), (W2, b2) = net.unpack(params)
    prediction = (np.tanh(X @ W1 + b1) * mask) @ W2 + b2
    expected = np.mean(0.5 * np.sum((prediction - y) ** 2, axis=1))
    np.testing.assert_allclose(net.loss(params, X, y, dropout_masks=[mask]), expected, rtol=1e-13)


@pytest.mark.parametrize("masks, error, match", [
    ([np.ones((9, 5))], ValueError, r"dropout_masks\[0\] must have shape \(9, 6\)"),
    ([np.ones((9, 6)), None], ValueError, r"one mask \(or None\) per hidden layer \(1\), got 2"),
    ([-np.ones((9, 6))], ValueError, "finite non-negative"),
    (3.0, TypeError, "dropout_masks must be a sequence"),
])
def test_bad_masks_are_errors(masks, error, match):
    net, params, X, y = _problem("softmax", (4, 6, 3), "tanh")
    with pytest.raises(error, match=match):
        net.loss(params, X, y, dropout_masks=masks)


# --------------------------------------------------------------------------
# The estimators
# --------------------------------------------------------------------------

def _digits(n=400):
    from fastnn.datasets import load_digits

    X, y = load_digits()
    return X[:n] / 16, y[:n]


def _fit(estimator, X, y, **kwargs):
    import warnings

    from fastnn.classifier import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("Estimator", [fastnn.MLPClassifier, fastnn.MLPRegressor])
def test_dropout_zero_is_bit_identical_to_no_dropout(Estimator, solver):
    X, y = _digits()
    y = y if Estimator is fastnn.MLPClassifier else y / 9.0
    params = dict(hidden_layer_sizes=(20, 10), solver=solver, max_iter=6, random_state=0,
                  early_stopping=solver != "lbfgs")
    default = _fit(Estimator(**params), X, y)
    zero = _fit(Estimator(dropout=0.0, **params), X, y)
    per_layer = _fit(Estimator(dropout=[0, 0], **params), X, y)
    np.testing.assert_array_equal(zero.params_, default.params_)
    np.testing.assert_array_equal(per_layer.params_, default.params_)
    assert zero.loss_curve_ == default.loss_curve_


@pytest.mark.parametrize("Estimator", [fastnn.MLPClassifier, fastnn.MLPRegressor])
def test_the_same_seed_gives_the_same_fit_and_another_seed_another(Estimator):
    X, y = _digits()
    y = y if Estimator is fastnn.MLPClassifier else y / 9.0
    params = dict(hidden_layer_sizes=(30,), max_iter=5, dropout=0.4)
    first = _fit(Estimator(random_state=1, **params), X, y)
    again = _fit(Estimator(random_state=1, **params), X, y)
    other = _fit(Estimator(random_state=2, **params), X, y)
    np.testing.assert_array_equal(first.params_, again.params_)
    assert not np.array_equal(first.params_, other.params_)


def test_warm_start_and_partial_fit_continue_the_masks():
    X, y = _digits()
    params = dict(hidden_layer_sizes=(20,), dropout=0.5, random_state=0, tol=0)
    once = _fit(fastnn.MLPClassifier(max_iter=6, **params), X, y)
    twice = fastnn.MLPClassifier(max_iter=3, warm_start=True, **params)
    _fit(twice, X, y)
    _fit(twice, X, y)
    np.testing.assert_array_equal(twice.params_, once.params_)
    incremental = fastnn.MLPClassifier(**params)
    for _ in range(6):
        incremental.partial_fit(X, y, classes=np.arange(10))
    np.testing.assert_array_equal(incremental.params_, once.params_)


def test_prediction_uses_every_unit():
    X, y = _digits()
    clf = _fit(fastnn.MLPClassifier((20,), dropout=0.5, max_iter=3, random_state=0), X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.mlp_.forward(clf.params_, X))


@pytest.mark.parametrize("dropout, match", [
    (1.0, r"dropout rates must lie in \[0, 1\)"),
    ([0.1, 0.2], r"dropout must hold one rate per hidden layer \(1\), got 2"),
    ("0.2", "dropout must be a rate"),
])
def test_bad_dropout_is_an_error_naming_it(dropout, match):
    X, y = _digits(50)
    with pytest.raises(ValueError, match=match):
        fastnn.MLPClassifier((5,), dropout=dropout).fit(X, y)


def test_lbfgs_refuses_dropout_and_says_why():
    X, y = _digits(50)
    with pytest.raises(ValueError, match="needs a stochastic solver: L-BFGS's line search"):
        fastnn.MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", dropout=0.2).fit(X, y / 9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_rows", [0, 1, 7, 3000])
def test_kernel_equals_its_numpy_twin(variant, dtype, n_rows):
    from fastnn.dropout import dropout_masks_reference

    rng = np.random.default_rng(n_rows)
    positions = rng.integers(0, 2**40, size=n_rows).astype(np.uint64)
    hidden, rates = [13, 64, 5], [0.25, 0.5, 0.0]
    for seed, step in [(0, 0), (2**63 + 5, 7), (12345, 2**40)]:
        fast = dropout_masks(positions, hidden, rates, seed=seed, step=step, dtype=dtype)
        twin = dropout_masks_reference(positions, hidden, rates, seed, step, dtype)
        for mine, reference in zip(fast, twin):
            if reference is None:
                assert mine is None
            else:
                assert mine.dtype == dtype
                np.testing.assert_array_equal(mine, reference)


def test_kernel_gives_the_same_masks_on_any_thread_count():
    positions = np.arange(100_000, dtype=np.uint64)
    with _Threads(1):
        one = dropout_masks(positions, [64], 0.3, seed=1, step=2)
    with _Threads(2):
        two = dropout_masks(positions, [64], 0.3, seed=1, step=2)
    np.testing.assert_array_equal(one[0], two[0])


class _Threads:
    """set_num_threads(n) for the block, then the default again."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        fastnn.set_num_threads(self.n)

    def __exit__(self, *exc):
        fastnn.set_num_threads(None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_apply_kernel_multiplies_by_the_twins_mask(variant, dtype, threads):
    # dropout_apply draws the mask into the product: the bits of h * mask,
    # special values included (inf * 0 is NaN, -x * 0 is -0).
    from fastnn import _dispatch
    from fastnn.dropout import DrawnMask, _layer_key, dropout_masks_reference

    rng = np.random.default_rng(1)
    positions = rng.integers(0, 2**40, size=600).astype(np.uint64)
    h = rng.standard_normal((600, 77)).astype(dtype)
    h[::7, ::5] = np.inf
    h[1::9, ::4] = -np.inf
    h[2::11, 1::3] = np.nan
    h[3::5, 2::6] = -0.0
    (mask,) = dropout_masks_reference(positions, [77], [0.4], 6, 3, dtype)
    applied = h.copy()
    with _Threads(threads):
        DrawnMask(positions, _layer_key(6, 3, 0), 0.4).multiply(applied)
    assert _dispatch.kernels.__name__.endswith(variant)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(applied.view(np.uint8), (h * mask).view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_relu_backward_kernel_is_numpys_and_folds_the_scale(variant, dtype, threads):
    from fastnn import _dispatch
    from fastnn._config import run_kernel

    rng = np.random.default_rng(2)
    h = np.maximum(rng.standard_normal((300, 200)), 0).astype(dtype)
    h[::3] *= (rng.random((100, 200)) > 0.5) * 2  # a masked output: 0 or 2 h
    grad = rng.standard_normal((300, 200)).astype(dtype)
    grad[::13, ::7] = np.inf
    grad[1::17, ::3] = -0.0
    h[2::19, ::5] = np.nan
    with np.errstate(invalid="ignore"):
        expected = grad * (h > 0)
        mine = grad.copy()
        run_kernel(_dispatch.kernels.relu_backward, mine, h, 1.0, threads)
        np.testing.assert_array_equal(mine.view(np.uint8), expected.view(np.uint8))
        # With dropout's factor s: (h > 0 ? s : 0), one multiply.
        scaled = grad.copy()
        run_kernel(_dispatch.kernels.relu_backward, scaled, h, 2.0, threads)
        np.testing.assert_array_equal(scaled.view(np.uint8),
                                      (grad * np.where(h > 0, dtype(2), dtype(0))).view(np.uint8))


@pytest.mark.parametrize("activation", ["relu", "identity", "tanh", "logistic"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_drawn_masks_give_the_explicit_masks_gradient_bit_for_bit(activation, dtype):
    # The estimators draw each mask where it is applied (DrawnMask); the
    # gradient is the one MLP.loss_and_grad gives for the same masks as arrays.
    from fastnn.dropout import drawn_masks

    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 6)).astype(dtype)
    y = rng.integers(0, 3, size=50)
    net = fastnn.MLP((6, 9, 8, 3), activation=activation, dtype=dtype)
    params = net.init_params(seed=0)
    positions = np.arange(100, 150, dtype=np.uint64)
    rates = (0.3, 0.6)
    explicit = dropout_masks(positions, [9, 8], rates, seed=4, step=5, dtype=dtype)
    loss, grad = net.loss_and_grad(params, X, y, 0.01, dropout_masks=explicit)
    checked_params = net._check_params(params)
    drawn_loss, drawn_grad = net._loss_and_grad_trusted(
        checked_params, X, y.astype(np.intp), None, 0.01, True, 1.0,
        drawn_masks(positions, rates, 4, 5))
    assert drawn_loss == loss
    np.testing.assert_array_equal(drawn_grad, grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_bias_relu_kernels_are_numpys_maximum_times_the_mask(variant, dtype, threads):
    # relu(z + b) rounds as np.maximum(z + b, 0) (NaN passes through, -0.0
    # gives +0.0), and the dropout kernel multiplies that by the twin's mask.
    from fastnn import _dispatch
    from fastnn._config import run_kernel
    from fastnn.dropout import DrawnMask, _layer_key, dropout_masks_reference

    rng = np.random.default_rng(4)
    z = rng.standard_normal((700, 90)).astype(dtype)
    b = rng.standard_normal(90).astype(dtype)
    z[::9, ::4] = np.nan
    z[1::7, ::5] = np.inf
    z[2::5, 3] = -b[3]  # z + b = 0 exactly
    b[7] = -0.0
    z[:, 7] = -0.0  # -0.0 + -0.0 = -0.0, whose relu is +0.0
    positions = rng.integers(0, 2**40, size=700).astype(np.uint64)
    with np.errstate(invalid="ignore"):
        expected = np.maximum(z + b, 0)
        assert not np.signbit(expected[:, 7]).any()
        relu = z.copy()
        run_kernel(_dispatch.kernels.bias_relu, relu, b, threads)
        np.testing.assert_array_equal(relu.view(np.uint8), expected.view(np.uint8))
        (mask,) = dropout_masks_reference(positions, [90], [0.35], 8, 9, dtype)
        dropped = z.copy()
        with _Threads(threads):
            DrawnMask(positions, _layer_key(8, 9, 0), 0.35).bias_relu(dropped, b)
        np.testing.assert_array_equal(dropped.view(np.uint8), (expected * mask).view(np.uint8))
