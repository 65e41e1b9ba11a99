"""sigmoid_binary_cross_entropy: against the reference, finite differences,
PyTorch when installed, extreme logits, threads, and bad input."""

import numpy as np
import pytest
from scipy.optimize import check_grad

import fastnn
from fastnn import _reference

TOL = {np.float32: dict(rtol=2e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


def bce(*args, **kwargs):
    return fastnn.sigmoid_binary_cross_entropy(*args, **kwargs)


def make(rng, shape, dtype=np.float64, soft=False):
    z = (3 * rng.standard_normal(shape)).astype(dtype)
    t = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape)
    return z, t.astype(dtype)


WEIGHTS = {
    "none": lambda shape, rng: None,
    "per-output": lambda shape, rng: rng.uniform(0.5, 2.0, shape[-1:]),
    "per-sample": lambda shape, rng: rng.uniform(0.5, 2.0, shape[:-1] + (1,)),
    "full": lambda shape, rng: rng.uniform(0.5, 2.0, shape),
    "scalar": lambda shape, rng: 1.5,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", sorted(WEIGHTS))
@pytest.mark.parametrize("pos_weight", ["none", "per-output", "full"])
@pytest.mark.parametrize("soft", [False, True], ids=["labels", "probabilities"])
def test_matches_reference(dtype, reduction, weight, pos_weight, soft, variant, rng):
    shape = (37, 5)
    z, t = make(rng, shape, dtype, soft)
    w = WEIGHTS[weight](shape, rng)
    pw = WEIGHTS[pos_weight](shape, rng)
    loss, grad = bce(z, t, weight=w, pos_weight=pw, reduction=reduction)
    ref_loss, ref_grad = _reference.sigmoid_binary_cross_entropy(
        z, t, weight=w, pos_weight=pw, reduction=reduction
    )
    assert grad.dtype == dtype and grad.shape == shape
    assert np.asarray(loss).dtype == dtype
    np.testing.assert_allclose(loss, ref_loss, **TOL[dtype])
    np.testing.assert_allclose(grad, ref_grad, **TOL[dtype])


@pytest.mark.parametrize("shape", [(7,), (1, 1), (200, 1), (3, 4, 5), (20000, 3)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_and_layouts(shape, dtype, layout, variant, rng):
    z, t = make(rng, shape, dtype)
    loss, grad = bce(layout(z), layout(t), reduction="none")
    ref_loss, ref_grad = _reference.sigmoid_binary_cross_entropy(z, t, reduction="none")
    assert loss.shape == shape and grad.shape == shape
    np.testing.assert_allclose(loss, ref_loss, **TOL[dtype])
    np.testing.assert_allclose(grad, ref_grad, **TOL[dtype])


def test_plain_gradient_is_sigmoid_minus_target(rng):
    z, t = make(rng, (50, 4))
    _, grad = bce(z, t, reduction="sum")
    # sigmoid(z) - 1 cancels (absolute error up to eps / 2); the kernel's
    # -sigmoid(-z) does not, so compare at that absolute tolerance.
    np.testing.assert_allclose(grad, fastnn.sigmoid(z) - t, rtol=0, atol=2.3e-16)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("options", ["plain", "weighted"])
def test_check_grad(reduction, options, rng):
    z, t = make(rng, (6, 3), soft=True)
    kwargs = {}
    if options == "weighted":
        kwargs = dict(weight=rng.uniform(0.5, 2, (6, 1)), pos_weight=rng.uniform(0.5, 3, 3))

    def f(flat):
        return float(bce(flat.reshape(z.shape), t, reduction=reduction, **kwargs)[0])

    def g(flat):
        return bce(flat.reshape(z.shape), t, reduction=reduction, **kwargs)[1].ravel()

    error = check_grad(f, g, z.ravel())
    assert error < 1e-6 * max(1.0, np.linalg.norm(g(z.ravel())))


def test_none_gradient_is_that_of_the_sum(rng):
    z, t = make(rng, (8, 3))
    loss_none, grad_none = bce(z, t, reduction="none")
    loss_sum, grad_sum = bce(z, t, reduction="sum")
    np.testing.assert_array_equal(grad_none, grad_sum)
    assert loss_sum == pytest.approx(loss_none.sum(), rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_exact_and_warning_free(dtype):
    z = np.array([800.0, -800.0, 800.0, -800.0, 40.0, -40.0], dtype=dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0], dtype=dtype)
    loss, grad = bce(z, t, reduction="none")
    # A confident right answer costs about exp(-|z|); a confident wrong one |z|.
    expected = np.array([0.0, 0.0, 800.0, 800.0, np.exp(-40.0), np.exp(-40.0)])
    np.testing.assert_allclose(loss, expected.astype(dtype), rtol=4 * np.finfo(dtype).eps)
    np.testing.assert_array_equal(grad[:4], np.array([0.0, 0.0, 1.0, -1.0], dtype=dtype))


def test_nan_logit_poisons_only_its_element(rng):
    z, t = make(rng, (4, 3))
    z[1, 2] = np.nan
    loss, grad = bce(z, t, reduction="none")
    assert np.isnan(loss[1, 2]) and np.isnan(grad[1, 2])
    assert np.isfinite(np.delete(loss.ravel(), 5)).all()
    assert np.isfinite(np.delete(grad.ravel(), 5)).all()


def test_results_do_not_depend_on_the_thread_count(rng):
    z, t = make(rng, (300, 400), np.float32, soft=True)
    try:
        fastnn.set_num_threads(1)
        one = bce(z, t, pos_weight=np.full(400, 2.0))
        fastnn.set_num_threads(2)
        two = bce(z, t, pos_weight=np.full(400, 2.0))
    finally:
        fastnn.set_num_threads(None)
    assert one[0] == two[0]
    np.testing.assert_array_equal(one[1], two[1])


def test_integer_and_bool_targets(rng):
    z, t = make(rng, (5, 2), np.float32)
    expected = bce(z, t)
    for cast in (np.int64, bool):
        loss, grad = bce(z, t.astype(cast))
        assert grad.dtype == np.float32
        assert loss == expected[0]
        np.testing.assert_array_equal(grad, expected[1])


def test_empty_input():
    loss, grad = bce(np.empty((0, 3)), np.empty((0, 3)))
    assert np.isnan(loss) and grad.shape == (0, 3)
    loss, grad = bce(np.empty((0, 3)), np.empty((0, 3)), reduction="sum")
    assert loss == 0.0


def test_inputs_are_not_modified(rng):
    z, t = make(rng, (5, 3))
    w, pw = rng.uniform(size=3), rng.uniform(size=3)
    copies = [a.copy() for a in (z, t, w, pw)]
    bce(z, t, weight=w, pos_weight=pw)
    for a, b in zip((z, t, w, pw), copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(target=np.zeros((4, 2))), ValueError, r"target must have the logits' shape \(4, 3\)"),
        (dict(weight=np.ones(2)), ValueError, r"weight has shape \(2,\).*\(4, 3\)"),
        (dict(pos_weight=np.ones((2, 3))), ValueError, r"pos_weight has shape \(2, 3\)"),
        (dict(reduction="avg"), ValueError, r"reduction must be one of"),
        (dict(target=np.array([["a"] * 3] * 4)), TypeError, r"target must be an array of real"),
        (dict(weight=np.ma.masked_array(np.ones(3))), TypeError, r"weight is a masked array"),
    ],
    ids=["target-shape", "weight-shape", "pos-weight-shape", "reduction", "target-text", "masked"],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    args = dict(logits=np.zeros((4, 3)), target=np.zeros((4, 3)))
    args.update(kwargs)
    logits, target = args.pop("logits"), args.pop("target")
    with pytest.raises(error, match=match):
        bce(logits, target, **args)


def test_weight_overflowing_float32_is_rejected():
    with pytest.raises(ValueError, match=r"weight\[1\] = 1e\+39 overflows.*float32"):
        bce(np.zeros(3, np.float32), np.zeros(3), weight=[1.0, 1e39, 1.0])


def test_against_pytorch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        z, t = make(rng, (16, 5), dtype, soft=True)
        w, pw = rng.uniform(0.5, 2, (16, 1)), rng.uniform(0.5, 3, 5)
        for reduction in ("mean", "sum", "none"):
            zt = torch.tensor(z, requires_grad=True)
            ref = F.binary_cross_entropy_with_logits(
                zt, torch.tensor(t), weight=torch.tensor(w.astype(dtype)),
                pos_weight=torch.tensor(pw.astype(dtype)), reduction=reduction,
            )
            ref.sum().backward()
            loss, grad = bce(z, t, weight=w, pos_weight=pw, reduction=reduction)
            np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=tol)
            np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=tol, atol=tol * 1e-2)
