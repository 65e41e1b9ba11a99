"""softmax_cross_entropy: reference agreement, PyTorch semantics, gradients, special values.

The reference (``fastnn._reference.softmax_cross_entropy``) follows
``torch.nn.functional.cross_entropy``; the tests in the "semantics" section
check the PyTorch rules directly (weighted mean, ignore_index, label
smoothing, probability targets) so that they do not rest on the reference
alone.  Gradients are checked by finite differences.
"""

import numpy as np
import pytest
from scipy.optimize import check_grad

import fastnn
from fastnn import _reference

FLOATS = [np.float32, np.float64]
FLOAT_IDS = ["float32", "float64"]
REDUCTIONS = ["mean", "sum", "none"]
LOSS_TOL = {np.float32: 1e-5, np.float64: 1e-12}
GRAD_TOL = {np.float32: 1e-5, np.float64: 1e-13}

N, C = 40, 7


def make_problem(rng, kind, n=N, c=C, dtype=np.float64, ignore=None, weighted=False):
    """Logits, target, weight and ignore_index for one configuration."""
    logits = (rng.standard_normal((n, c)) * 3).astype(dtype)
    labels = rng.integers(0, c, n)
    ignore_index = None
    if kind == "index":
        target = labels
        if ignore == "in_range":
            ignore_index = 2
            target[[0, 3, 9]] = 2  # make sure some rows are ignored
            target[1] = 5 if c > 5 else 0
        elif ignore == "-100":
            ignore_index = -100
            target[[1, 4, 17]] = -100
    elif kind == "onehot":
        target = np.eye(c)[labels]
    else:
        target = rng.dirichlet(np.ones(c), n)
    weight = rng.uniform(0.5, 1.5, c) if weighted else None
    return logits, target, weight, ignore_index


def grad_scale(target, weight, reduction, ignore_index, n, c):
    """An upper bound on |grad| entries: max weight over the mean's denominator."""
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    if reduction != "mean":
        return w.max()
    target = np.asarray(target)
    if target.ndim == 2:
        return w.max() / n
    keep = target != ignore_index if ignore_index is not None else np.ones(n, bool)
    return w.max() / w[target[keep]].sum()


def assert_matches_reference(loss, grad, logits, target, dtype, reduction, weight, label_smoothing, ignore_index):
    ref_loss, ref_grad = _reference.softmax_cross_entropy(
        np.asarray(logits, dtype=np.float64),
        target,
        reduction=reduction,
        weight=weight,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
    )
    n, c = np.shape(logits)
    assert grad.dtype == dtype and grad.shape == (n, c)
    assert np.asarray(loss).dtype == dtype
    assert np.shape(loss) == ((n,) if reduction == "none" else ())
    with np.errstate(invalid="ignore"):
        _compare_loss_and_grad(loss, grad, ref_loss, ref_grad, target, weight, reduction, ignore_index, dtype, n, c)


def _compare_loss_and_grad(loss, grad, ref_loss, ref_grad, target, weight, reduction, ignore_index, dtype, n, c):
    loss64 = np.asarray(loss, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(loss64), np.isnan(ref_loss))
    ok = np.isfinite(ref_loss)
    np.testing.assert_array_equal(loss64[~ok & ~np.isnan(ref_loss)], np.asarray(ref_loss)[~ok & ~np.isnan(ref_loss)])
    err = np.abs(loss64 - ref_loss)[ok] / np.maximum(1.0, np.abs(ref_loss))[ok]
    assert err.size == 0 or err.max() <= LOSS_TOL[dtype], f"loss error {err.max():.3g}"
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(ref_grad))
    finite = np.isfinite(ref_grad)
    scale = grad_scale(target, weight, reduction, ignore_index, n, c)
    gerr = np.abs(grad.astype(np.float64) - ref_grad)[finite]
    assert gerr.size == 0 or gerr.max() <= GRAD_TOL[dtype] * scale, f"grad error {gerr.max():.3g} (scale {scale:.3g})"


def option_cases():
    cases = []
    for kind in ("index", "onehot", "soft"):
        for reduction in REDUCTIONS:
            for weighted in (False, True):
                for smoothing in (0.0, 0.25, 1.0):
                    for ignore in (None, "in_range", "-100") if kind == "index" else (None,):
                        ident = f"{kind}-{reduction}-{'w' if weighted else 'nw'}-ls{smoothing}-ign{ignore}"
                        cases.append(pytest.param(kind, reduction, weighted, smoothing, ignore, id=ident))
    return cases


# --------------------------------------------------------------------------
# Agreement with the reference over every option combination
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind,reduction,weighted,smoothing,ignore", option_cases())
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_matches_reference_all_options(kind, reduction, weighted, smoothing, ignore, dtype, variant, rng):
    logits, target, weight, ignore_index = make_problem(rng, kind, dtype=dtype, ignore=ignore, weighted=weighted)
    loss, grad = fastnn.softmax_cross_entropy(
        logits, target, reduction=reduction, weight=weight, label_smoothing=smoothing, ignore_index=ignore_index
    )
    assert_matches_reference(loss, grad, logits, target, dtype, reduction, weight, smoothing, ignore_index)


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (5, 1), (64, 10), (3, 1000), (2, 50_000)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("kind", ["index", "soft"])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_matches_reference_shapes_and_layouts(shape, kind, dtype, layout, variant, rng):
    n, c = shape
    logits, target, _, _ = make_problem(rng, kind, n=n, c=c, dtype=dtype)
    loss, grad = fastnn.softmax_cross_entropy(layout(logits), layout(target))
    assert_matches_reference(loss, grad, logits, target, dtype, "mean", None, 0.0, None)
    loss, grad = fastnn.softmax_cross_entropy(layout(logits), layout(target), reduction="none", label_smoothing=0.1)
    assert_matches_reference(loss, grad, logits, target, dtype, "none", None, 0.1, None)


@pytest.mark.parametrize("c", list(range(1, 35)) + [63, 64, 65])
def test_every_small_class_count(c, variant, rng):
    # Remainder loops and row blocking for small C.
    for dtype in FLOATS:
        for n in (1, 5, 16):
            logits, target, weight, _ = make_problem(rng, "index", n=n, c=c, dtype=dtype, weighted=True)
            loss, grad = fastnn.softmax_cross_entropy(logits, target, weight=weight, reduction="none", label_smoothing=0.1)
            assert_matches_reference(loss, grad, logits, target, dtype, "none", weight, 0.1, None)


@pytest.mark.parametrize("target_dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64, np.intp])
def test_any_integer_target_dtype(target_dtype, variant, rng):
    logits, target, weight, _ = make_problem(rng, "index", weighted=True)
    expected = fastnn.softmax_cross_entropy(logits, target.astype(np.int64), weight=weight)
    loss, grad = fastnn.softmax_cross_entropy(logits, target.astype(target_dtype), weight=weight)
    assert loss == expected[0]
    np.testing.assert_array_equal(grad, expected[1])


@pytest.mark.parametrize("logits_dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("target_dtype", FLOATS, ids=FLOAT_IDS)
def test_probability_target_dtype_may_differ(logits_dtype, target_dtype, rng):
    logits, target, _, _ = make_problem(rng, "soft", dtype=logits_dtype)
    target = target.astype(target_dtype)
    loss, grad = fastnn.softmax_cross_entropy(logits, target, reduction="sum")
    assert_matches_reference(loss, grad, logits, target.astype(np.float64), logits_dtype, "sum", None, 0.0, None)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reduced_loss_is_numpy_scalar_of_logits_dtype(dtype, reduction, rng):
    logits, target, _, _ = make_problem(rng, "index", dtype=dtype)
    loss, grad = fastnn.softmax_cross_entropy(logits, target, reduction=reduction)
    assert isinstance(loss, np.floating) and loss.dtype == dtype
    loss, grad = fastnn.softmax_cross_entropy(logits, np.eye(C)[target], reduction=reduction)
    assert isinstance(loss, np.floating) and loss.dtype == dtype


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_none_reduction_shape(dtype, rng):
    logits, target, _, _ = make_problem(rng, "index", dtype=dtype)
    loss, grad = fastnn.softmax_cross_entropy(logits, target, reduction="none")
    assert isinstance(loss, np.ndarray) and loss.shape == (N,) and loss.dtype == dtype


# --------------------------------------------------------------------------
# PyTorch semantics, checked directly
# --------------------------------------------------------------------------


def log_probs(logits):
    return _reference.log_softmax(np.asarray(logits, dtype=np.float64), axis=1)


def test_plain_mean_is_mean_nll_and_grad_is_softmax_minus_onehot(variant, rng):
    logits, target, _, _ = make_problem(rng, "index")
    loss, grad = fastnn.softmax_cross_entropy(logits, target)
    nll = -log_probs(logits)[np.arange(N), target]
    np.testing.assert_allclose(loss, nll.mean(), rtol=1e-13)
    np.testing.assert_allclose(grad, (_reference.softmax(logits) - np.eye(C)[target]) / N, rtol=1e-12, atol=1e-15)
    loss_sum, grad_sum = fastnn.softmax_cross_entropy(logits, target, reduction="sum")
    np.testing.assert_allclose(loss_sum, nll.sum(), rtol=1e-13)
    np.testing.assert_allclose(grad_sum, grad * N, rtol=1e-12, atol=1e-15)


def test_weighted_mean_divides_by_sum_of_target_weights(variant, rng):
    logits, target, weight, _ = make_problem(rng, "index", weighted=True)
    loss, grad = fastnn.softmax_cross_entropy(logits, target, weight=weight)
    nll = -log_probs(logits)[np.arange(N), target]
    denominator = weight[target].sum()
    np.testing.assert_allclose(loss, np.sum(weight[target] * nll) / denominator, rtol=1e-13)
    expected_grad = weight[target][:, None] * (_reference.softmax(logits) - np.eye(C)[target]) / denominator
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)
    loss_none, _ = fastnn.softmax_cross_entropy(logits, target, weight=weight, reduction="none")
    np.testing.assert_allclose(loss_none, weight[target] * nll, rtol=1e-13)


@pytest.mark.parametrize("ignore_index", [-100, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_ignore_index_rows_vanish(ignore_index, weighted, variant, rng):
    logits, target, weight, _ = make_problem(rng, "index", weighted=weighted)
    target[[2, 5, 6, 30]] = ignore_index
    ignored = target == ignore_index
    kept = ~ignored
    loss_none, grad_none = fastnn.softmax_cross_entropy(
        logits, target, reduction="none", weight=weight, ignore_index=ignore_index, label_smoothing=0.2
    )
    assert (loss_none[ignored] == 0).all()
    assert (grad_none[ignored] == 0).all()
    for reduction in ("mean", "sum", "none"):
        loss, grad = fastnn.softmax_cross_entropy(
            logits, target, reduction=reduction, weight=weight, ignore_index=ignore_index, label_smoothing=0.2
        )
        sub_loss, sub_grad = fastnn.softmax_cross_entropy(
            logits[kept], target[kept], reduction=reduction, weight=weight, label_smoothing=0.2
        )
        # The ignored rows leave the mean's denominator: the result is that of
        # the kept rows alone.
        np.testing.assert_allclose(loss if reduction != "none" else loss[kept], sub_loss, rtol=1e-13)
        np.testing.assert_allclose(grad[kept], sub_grad, rtol=1e-12, atol=1e-16)
        np.testing.assert_array_equal(grad[ignored], 0.0)


def test_label_smoothing_matches_pytorch_formula(variant, rng):
    eps = 0.3
    logits, target, _, _ = make_problem(rng, "index")
    logp = log_probs(logits)
    nll = -logp[np.arange(N), target]
    smooth = -logp.mean(axis=1)
    loss, _ = fastnn.softmax_cross_entropy(logits, target, label_smoothing=eps, reduction="none")
    np.testing.assert_allclose(loss, (1 - eps) * nll + eps * smooth, rtol=1e-13)


def test_label_smoothing_with_weights_matches_pytorch_formula(variant, rng):
    # PyTorch: mean of (1 - eps) * w[t] * nll + eps / C * sum_c w_c * (-logp_c),
    # both divided by the sum of the targets' weights.
    eps = 0.15
    logits, target, weight, _ = make_problem(rng, "index", weighted=True)
    logp = log_probs(logits)
    nll = -logp[np.arange(N), target]
    smooth = -(logp * weight).sum(axis=1) / C
    expected = ((1 - eps) * weight[target] * nll + eps * smooth).sum() / weight[target].sum()
    loss, _ = fastnn.softmax_cross_entropy(logits, target, weight=weight, label_smoothing=eps)
    np.testing.assert_allclose(loss, expected, rtol=1e-13)


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_onehot_target_equals_index_target(eps, variant, rng):
    logits, target, weight, _ = make_problem(rng, "index", weighted=True)
    onehot = np.eye(C)[target]
    for reduction in ("mean", "sum", "none"):
        a = fastnn.softmax_cross_entropy(logits, target, reduction=reduction, label_smoothing=eps)
        b = fastnn.softmax_cross_entropy(logits, onehot, reduction=reduction, label_smoothing=eps)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-13)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-16)
    # With weights only the sums agree: a probability-target mean divides by N.
    a = fastnn.softmax_cross_entropy(logits, target, reduction="sum", weight=weight, label_smoothing=eps)
    b = fastnn.softmax_cross_entropy(logits, onehot, reduction="sum", weight=weight, label_smoothing=eps)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-13)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-16)


def test_probability_target_mean_divides_by_n(variant, rng):
    logits, target, weight, _ = make_problem(rng, "soft", weighted=True)
    loss_sum, grad_sum = fastnn.softmax_cross_entropy(logits, target, reduction="sum", weight=weight)
    loss_mean, grad_mean = fastnn.softmax_cross_entropy(logits, target, reduction="mean", weight=weight)
    np.testing.assert_allclose(loss_mean, loss_sum / N, rtol=1e-14)
    np.testing.assert_allclose(grad_mean, grad_sum / N, rtol=1e-14)
    expected = -(target * weight * log_probs(logits)).sum(axis=1)
    loss_none, _ = fastnn.softmax_cross_entropy(logits, target, reduction="none", weight=weight)
    np.testing.assert_allclose(loss_none, expected, rtol=1e-13)


def test_soft_target_label_smoothing(variant, rng):
    eps = 0.4
    logits, target, _, _ = make_problem(rng, "soft")
    smoothed = target * (1 - eps) + eps / C
    expected = -(smoothed * log_probs(logits)).sum(axis=1)
    loss, grad = fastnn.softmax_cross_entropy(logits, target, reduction="none", label_smoothing=eps)
    np.testing.assert_allclose(loss, expected, rtol=1e-13)
    np.testing.assert_allclose(grad, _reference.softmax(logits) - smoothed, rtol=1e-12, atol=1e-15)


def test_unweighted_gradient_rows_sum_to_zero(variant, rng):
    for kind in ("index", "soft"):
        logits, target, _, _ = make_problem(rng, kind)
        _, grad = fastnn.softmax_cross_entropy(logits, target, reduction="sum", label_smoothing=0.1)
        np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-14)


def test_against_pytorch(rng):
    """An extra: direct comparison with F.cross_entropy when torch is installed."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    for kind in ("index", "soft"):
        for reduction in REDUCTIONS:
            for weighted in (False, True):
                for eps in (0.0, 0.1):
                    for ignore in ((None, -100) if kind == "index" else (None,)):
                        logits, target, weight, _ = make_problem(rng, kind, weighted=weighted)
                        if ignore is not None:
                            target[[1, 3]] = ignore
                        z = torch.tensor(logits, requires_grad=True)
                        t = torch.tensor(target)
                        kwargs = dict(reduction=reduction, label_smoothing=eps)
                        if weighted:
                            kwargs["weight"] = torch.tensor(weight)
                        if ignore is not None:
                            kwargs["ignore_index"] = ignore
                        expected = F.cross_entropy(z, t, **kwargs)
                        expected.sum().backward()
                        loss, grad = fastnn.softmax_cross_entropy(
                            logits, target, reduction=reduction, weight=weight, label_smoothing=eps, ignore_index=ignore
                        )
                        np.testing.assert_allclose(loss, expected.detach().numpy(), rtol=1e-12)
                        np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-11, atol=1e-15)


# --------------------------------------------------------------------------
# Gradients by finite differences (float64)
# --------------------------------------------------------------------------


def grad_cases():
    cases = []
    for kind in ("index", "soft"):
        for reduction in REDUCTIONS:
            options = ["plain", "weighted", "smoothed"] + (["ignored", "everything"] if kind == "index" else ["weighted+smoothed"])
            for option in options:
                cases.append(pytest.param(kind, reduction, option, id=f"{kind}-{reduction}-{option}"))
    return cases


def configure(rng, kind, option, n=5, c=4):
    logits, target, _, _ = make_problem(rng, kind, n=n, c=c)
    kwargs = {}
    if option in ("weighted", "everything", "weighted+smoothed"):
        kwargs["weight"] = rng.uniform(0.5, 2.0, c)
    if option in ("smoothed", "everything", "weighted+smoothed"):
        kwargs["label_smoothing"] = 0.2
    if option in ("ignored", "everything"):
        kwargs["ignore_index"] = -100
        target[1] = -100
    return logits, target, kwargs


@pytest.mark.parametrize("kind,reduction,option", grad_cases())
def test_check_grad(kind, reduction, option, variant, rng):
    logits, target, kwargs = configure(rng, kind, option)
    n, c = logits.shape

    def loss(z):
        value, _ = fastnn.softmax_cross_entropy(z.reshape(n, c), target, reduction=reduction, **kwargs)
        # For "none" the returned grad is that of the sum of the row losses.
        return float(np.sum(value))

    def grad(z):
        _, g = fastnn.softmax_cross_entropy(z.reshape(n, c), target, reduction=reduction, **kwargs)
        return g.ravel()

    z0 = logits.ravel()
    g0 = grad(z0)
    assert np.abs(g0).max() > 0.01  # a zero gradient would pass trivially
    assert check_grad(loss, grad, z0) <= 1e-6 * max(1.0, np.linalg.norm(g0))


@pytest.mark.parametrize("kind,reduction,option", grad_cases())
def test_central_differences_one_class_at_a_time(kind, reduction, option, variant, rng):
    # Fourth-order central differences, one logit at a time (offsetting a
    # whole row would not change the loss): error O(h**4) + O(eps / h).
    logits, target, kwargs = configure(rng, kind, option, n=4, c=5)
    n, c = logits.shape

    def f(z):
        return float(np.sum(fastnn.softmax_cross_entropy(z, target, reduction=reduction, **kwargs)[0]))

    _, analytic = fastnn.softmax_cross_entropy(logits, target, reduction=reduction, **kwargs)
    h = 1e-3
    numeric = np.empty_like(logits)
    for i in range(n):
        for j in range(c):
            step = np.zeros_like(logits)
            step[i, j] = h
            numeric[i, j] = (-f(logits + 2 * step) + 8 * f(logits + step) - 8 * f(logits - step) + f(logits - 2 * step)) / (
                12 * h
            )
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-10)


# --------------------------------------------------------------------------
# Special values and row independence
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["index", "soft"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "posinf"])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_bad_row_is_nan_and_leaves_other_rows_alone(kind, reduction, bad, dtype, variant, rng):
    logits, target, weight, _ = make_problem(rng, kind, dtype=dtype, weighted=True)
    good_loss, good_grad = fastnn.softmax_cross_entropy(logits, target, reduction=reduction, weight=weight)
    bad_logits = logits.copy()
    bad_logits[13, 2] = bad
    loss, grad = fastnn.softmax_cross_entropy(bad_logits, target, reduction=reduction, weight=weight)
    assert np.isnan(grad[13]).all()
    others = np.arange(N) != 13
    np.testing.assert_array_equal(grad[others], good_grad[others])
    if reduction == "none":
        assert np.isnan(loss[13])
        np.testing.assert_array_equal(loss[others], good_loss[others])
    else:
        assert np.isnan(loss)


@pytest.mark.parametrize("kind", ["index", "soft"])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_short_rows_in_row_blocks(kind, dtype, variant, rng):
    # Short rows may be processed many at a time: a NaN row in the middle of
    # such a block, row counts around block multiples, ignored rows inside.
    for c in (1, 2, 3, 5, 10, 16, 17, 20):
        for n in (63, 64, 65, 129):
            logits, target, weight, _ = make_problem(rng, kind, n=n, c=c, dtype=dtype, weighted=True)
            options = dict(reduction="none", weight=weight, label_smoothing=0.1)
            if kind == "index":
                target[n // 4] = -100
                options["ignore_index"] = -100
            good_loss, good_grad = fastnn.softmax_cross_entropy(logits, target, **options)
            assert_matches_reference(good_loss, good_grad, logits, target, dtype, "none", weight, 0.1, options.get("ignore_index"))
            bad = logits.copy()
            bad[n // 2, c // 2] = np.nan
            loss, grad = fastnn.softmax_cross_entropy(bad, target, **options)
            others = np.arange(n) != n // 2
            np.testing.assert_array_equal(loss[others], good_loss[others])
            np.testing.assert_array_equal(grad[others], good_grad[others])
            assert np.isnan(loss[n // 2]) and np.isnan(grad[n // 2]).all()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_minus_inf_logit(dtype, variant):
    logits = np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, -np.inf], [-np.inf, 3.0, 0.0]], dtype=dtype)
    target = np.array([0, 2, 0])
    loss, grad = fastnn.softmax_cross_entropy(logits, target, reduction="none")
    # Not the target: probability exactly 0, gradient exactly 0, loss finite.
    assert np.isfinite(loss[0]) and grad[0, 1] == 0
    # The target has probability 0: infinite loss, finite gradient.
    assert loss[1] == np.inf and loss[2] == np.inf
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad[1], [*_reference.softmax([2.0, 0.5]), -1.0], rtol=1e-6)
    assert_matches_reference(loss, grad, logits, target, dtype, "none", None, 0.0, None)
    # A soft target that puts no mass on the -inf class: finite loss.
    soft = np.array([[0.5, 0.0, 0.5], [0.3, 0.7, 0.0], [0.0, 0.9, 0.1]])
    loss, grad = fastnn.softmax_cross_entropy(logits, soft, reduction="none")
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert_matches_reference(loss, grad, logits, soft, dtype, "none", None, 0.0, None)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_large_logits_are_stable(dtype, variant, rng):
    logits, target, _, _ = make_problem(rng, "index", dtype=dtype)
    shifted = (logits.astype(np.float64) + 1e4).astype(dtype)
    loss, grad = fastnn.softmax_cross_entropy(shifted, target, reduction="none")
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert_matches_reference(loss, grad, shifted, target, dtype, "none", None, 0.0, None)
    loss, grad = fastnn.softmax_cross_entropy(-shifted, target, reduction="none")
    assert_matches_reference(loss, grad, -shifted, target, dtype, "none", None, 0.0, None)


def test_all_rows_ignored(variant, rng):
    # Nothing to average: the mean is nan (0/0, as in PyTorch and the
    # reference), without a warning; "sum" and "none" are zeros.
    logits, target, _, _ = make_problem(rng, "index")
    target[:] = -100
    loss, _ = fastnn.softmax_cross_entropy(logits, target, ignore_index=-100)
    assert np.isnan(loss)
    loss, grad = fastnn.softmax_cross_entropy(logits, target, ignore_index=-100, reduction="sum")
    assert loss == 0 and (grad == 0).all()
    loss, grad = fastnn.softmax_cross_entropy(logits, target, ignore_index=-100, reduction="none")
    assert (loss == 0).all() and (grad == 0).all()


# --------------------------------------------------------------------------
# Inputs untouched, read-only inputs, empty batches
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["index", "soft"])
def test_inputs_not_modified(kind, variant, rng):
    logits, target, weight, _ = make_problem(rng, kind, weighted=True)
    copies = [logits.copy(), target.copy(), weight.copy()]
    fastnn.softmax_cross_entropy(logits, target, weight=weight, label_smoothing=0.1)
    fastnn.softmax_cross_entropy(logits, target, weight=weight, reduction="none")
    for a, c in zip((logits, target, weight), copies):
        np.testing.assert_array_equal(a, c)


def test_read_only_weight(rng):
    logits, target, weight, _ = make_problem(rng, "index", weighted=True)
    weight.setflags(write=False)
    loss, grad = fastnn.softmax_cross_entropy(logits, target, weight=weight)
    assert_matches_reference(loss, grad, logits, target, np.float64, "mean", weight, 0.0, None)


@pytest.mark.parametrize("kind", ["index", "soft"])
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_empty_batch(kind, dtype, variant):
    logits = np.empty((0, 5), dtype=dtype)
    target = np.empty(0, dtype=np.int64) if kind == "index" else np.empty((0, 5))
    loss, grad = fastnn.softmax_cross_entropy(logits, target, reduction="sum")
    assert loss == 0 and np.asarray(loss).dtype == dtype
    assert grad.shape == (0, 5) and grad.dtype == dtype
    loss, grad = fastnn.softmax_cross_entropy(logits, target, reduction="none")
    assert loss.shape == (0,) and loss.dtype == dtype
    assert grad.shape == (0, 5)


def test_mean_over_nothing_is_nan_with_pytorchs_gradients():
    """All rows ignored: nan loss, zero gradient; zero total weight: nan gradient."""
    z = np.random.default_rng(3).standard_normal((3, 4))
    loss, grad = fastnn.softmax_cross_entropy(z, np.array([-100, -100, -100]), ignore_index=-100)
    assert np.isnan(loss)
    np.testing.assert_array_equal(grad, np.zeros_like(z))
    loss, grad = fastnn.softmax_cross_entropy(
        z, np.array([0, 0, 0]), weight=np.array([0.0, 1.0, 1.0, 1.0])
    )
    assert np.isnan(loss)
    assert np.isnan(grad).all()
    loss, grad = fastnn.softmax_cross_entropy(np.empty((0, 4)), np.empty(0, dtype=np.int64))
    assert np.isnan(loss) and grad.shape == (0, 4)


# --------------------------------------------------------------------------
# Non-finite and huge class weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("bad_weight", [np.nan, np.inf])
@pytest.mark.parametrize("C", [3, 40], ids=["short-rows", "long-rows"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_of_an_unused_class_does_not_reach_the_gradient(bad_weight, C, dtype, variant, rng):
    # Inverse-frequency weights are inf for a class absent from the batch;
    # without smoothing only the labels' weights matter (as in PyTorch), so
    # the result equals the one with any finite weight for that class.
    logits = rng.standard_normal((8, C)).astype(dtype)
    target = rng.integers(0, C - 1, 8)           # class C - 1 never occurs
    weight = rng.uniform(0.5, 2.0, C)
    for reduction in ("mean", "sum", "none"):
        expected = xent_weighted(logits, target, weight, reduction)
        weight[-1] = bad_weight
        loss, grad = fastnn.softmax_cross_entropy(logits, target, weight=weight, reduction=reduction)
        weight[-1] = 1.0
        assert np.all(np.isfinite(grad)) and np.all(np.isfinite(loss))
        np.testing.assert_array_equal(loss, expected[0])
        np.testing.assert_array_equal(grad, expected[1])


def xent_weighted(logits, target, weight, reduction):
    return fastnn.softmax_cross_entropy(logits, target, weight=weight, reduction=reduction)


def test_the_reported_nan_weight_case():
    logits = np.array([[1.0, 2, 3], [0.5, 0.1, -1]])
    loss, grad = fastnn.softmax_cross_entropy(
        logits, np.array([0, 2]), weight=np.array([1.0, np.nan, 1.0])
    )
    ref_loss, ref_grad = _reference.softmax_cross_entropy(logits, np.array([0, 2]))
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("smoothing", [0.1, 1.0])
def test_with_smoothing_every_weight_enters_as_in_pytorch(smoothing, rng):
    # With label smoothing every class is a target, so an infinite weight
    # makes the loss and the gradient non-finite, as in PyTorch (whose loss
    # is inf where fastnn's, computed as inf - inf, is nan).
    logits = rng.standard_normal((4, 5))
    target = np.array([0, 1, 2, 3])
    weight = np.array([1.0, 1.0, 1.0, 1.0, np.inf])
    loss, grad = fastnn.softmax_cross_entropy(
        logits, target, weight=weight, label_smoothing=smoothing, reduction="sum"
    )
    assert not np.isfinite(loss)
    assert not np.all(np.isfinite(grad))


def test_float64_weight_that_overflows_float32_is_rejected(rng):
    logits = rng.standard_normal((3, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"weight\[2\] = 1e\+39.*float32"):
        fastnn.softmax_cross_entropy(logits, np.array([0, 1, 2]), weight=[1.0, 1.0, 1e39, 1.0])
    # float64 logits keep such a weight, and only ratios matter for "mean".
    loss64, grad64 = fastnn.softmax_cross_entropy(
        logits.astype(np.float64), np.array([0, 1, 2]), weight=[1e39, 1e39, 1e39, 1e39]
    )
    loss, grad = fastnn.softmax_cross_entropy(logits.astype(np.float64), np.array([0, 1, 2]))
    np.testing.assert_allclose(loss64, loss, rtol=1e-14)
    np.testing.assert_allclose(grad64, grad, rtol=1e-13)


def test_huge_weight_ratios_are_computed_in_float64(rng):
    # The mean's denominator comes from the float64 weights: a float32 sum
    # of these would overflow to inf and give a zero gradient.
    logits = rng.standard_normal((2, 3)).astype(np.float32)
    weight = np.array([3e38, 3e38, 1.0])
    loss, grad = fastnn.softmax_cross_entropy(logits, np.array([0, 1]), weight=weight)
    expected_loss, expected_grad = fastnn.softmax_cross_entropy(
        logits.astype(np.float64), np.array([0, 1]), weight=weight / 3e38
    )
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-6)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-7)
