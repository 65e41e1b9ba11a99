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
