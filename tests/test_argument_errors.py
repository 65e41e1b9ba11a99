"""Every public argument that is validated names itself in its error.

One parametrised test over the whole public API outside the estimator: each
case passes one bad argument and checks that the exception is of the
expected type and that its message contains the argument's name as a word,
so a user can tell which of several arguments was wrong.  Other test files
check the rest of each message (the expected range, shape or dtype).
"""

import re

import numpy as np
import pytest

import fastnn
from fastnn.datasets import make_spirals


def _net():
    return fastnn.MLP((2, 3, 2))


def _params():
    return _net().init_params(seed=0)


X = np.ones((4, 2))
Y = np.array([0, 1, 0, 1])
RAGGED = [[1.0, 2.0], [3.0]]


def _square(x):
    return float(x @ x), 2 * x


# (id, call, exception type, argument name)
CASES = [
    # --- MLP ----------------------------------------------------------------
    ("MLP-layer_sizes-zero", lambda: fastnn.MLP((2, 0)), ValueError, "layer_sizes"),
    ("MLP-layer_sizes-str-entry", lambda: fastnn.MLP((2, "a")), ValueError, "layer_sizes"),
    ("MLP-layer_sizes-short", lambda: fastnn.MLP((2,)), ValueError, "layer_sizes"),
    ("MLP-layer_sizes-not-iterable", lambda: fastnn.MLP(3), TypeError, "layer_sizes"),
    ("MLP-activation", lambda: fastnn.MLP((2, 2), activation="gelu"), ValueError, "activation"),
    ("MLP-dtype-unknown", lambda: fastnn.MLP((2, 2), dtype="foo"), TypeError, "dtype"),
    ("MLP-dtype-int", lambda: fastnn.MLP((2, 2), dtype=np.int32), TypeError, "dtype"),
    ("init_params-seed", lambda: _net().init_params(seed="abc"), TypeError, "seed"),
    ("unpack-params-list", lambda: _net().unpack([0.0] * 17), TypeError, "params"),
    ("unpack-params-shape", lambda: _net().unpack(np.zeros(3)), ValueError, "params"),
    ("loss_and_grad-l2-None", lambda: _net().loss_and_grad(_params(), X, Y, l2=None), TypeError, "l2"),
    ("loss_and_grad-l2-str", lambda: _net().loss_and_grad(_params(), X, Y, l2="0.1"), TypeError, "l2"),
    ("loss_and_grad-l2-bool", lambda: _net().loss_and_grad(_params(), X, Y, l2=True), TypeError, "l2"),
    ("loss_and_grad-l2-negative", lambda: _net().loss_and_grad(_params(), X, Y, l2=-1.0), ValueError, "l2"),
    ("loss_and_grad-l2-inf", lambda: _net().loss_and_grad(_params(), X, Y, l2=np.inf), ValueError, "l2"),
    ("loss-l2-None", lambda: _net().loss(_params(), X, Y, l2=None), TypeError, "l2"),
    ("grad-l2-None", lambda: _net().grad(_params(), X, Y, l2=None), TypeError, "l2"),
    ("forward-params-ragged", lambda: _net().forward([1.0, [2.0]], X), ValueError, "params"),
    ("forward-params-str", lambda: _net().forward(np.array(["a"] * 17), X), TypeError, "params"),
    ("forward-params-shape", lambda: _net().forward(np.zeros(3), X), ValueError, "params"),
    ("forward-X-ragged", lambda: _net().forward(_params(), RAGGED), ValueError, "X"),
    ("forward-X-shape", lambda: _net().forward(_params(), np.ones((4, 3))), ValueError, "X"),
    ("forward-X-str", lambda: _net().forward(_params(), X.astype(str)), TypeError, "X"),
    ("loss_and_grad-y-float-1-D", lambda: _net().loss_and_grad(_params(), X, Y.astype(float)), TypeError, "y"),
    ("loss_and_grad-y-out-of-range", lambda: _net().loss_and_grad(_params(), X, Y + 1), ValueError, "y"),
    ("loss_and_grad-y-length", lambda: _net().loss_and_grad(_params(), X, Y[:3]), ValueError, "y"),
    ("loss_and_grad-y-prob-shape", lambda: _net().loss_and_grad(_params(), X, np.ones((4, 3))), ValueError, "y"),
    ("loss_and_grad-y-prob-str", lambda: _net().loss_and_grad(_params(), X, np.full((4, 2), "a")), TypeError, "y"),
    ("loss_and_grad-y-3-D", lambda: _net().loss_and_grad(_params(), X, np.ones((4, 2, 1))), ValueError, "y"),
    ("loss_and_grad-y-ragged", lambda: _net().loss_and_grad(_params(), X, [[0.5, 0.5], [1.0]]), ValueError, "y"),
    ("input_grad-y-out-of-range", lambda: _net().input_grad(_params(), X, Y - 1), ValueError, "y"),
    # --- num_params, forward_backward_prop ----------------------------------
    ("num_params-layer_sizes", lambda: fastnn.num_params((10, -5)), ValueError, "layer_sizes"),
    ("fbp-dimensions", lambda: fastnn.forward_backward_prop(X, Y, _params(), (2, 0, 2)), ValueError, "dimensions"),
    ("fbp-labels-out-of-range", lambda: fastnn.forward_backward_prop(X, Y + 1, _params(), (2, 3, 2)), ValueError, "labels"),
    ("fbp-labels-shape", lambda: fastnn.forward_backward_prop(X, np.ones((4, 3)), _params(), (2, 3, 2)), ValueError, "labels"),
    ("fbp-params-shape", lambda: fastnn.forward_backward_prop(X, Y, np.zeros(3), (2, 3, 2)), ValueError, "params"),
    ("fbp-X-ragged", lambda: fastnn.forward_backward_prop(RAGGED, Y, _params(), (2, 3, 2)), ValueError, "X"),
    ("fbp-reduction", lambda: fastnn.forward_backward_prop(X, Y, _params(), (2, 3, 2), reduction="none"), ValueError, "reduction"),
    # --- gradcheck ----------------------------------------------------------
    ("gradcheck-f", lambda: fastnn.gradcheck(3, np.ones(2)), TypeError, "f"),
    ("gradcheck-x-str", lambda: fastnn.gradcheck(_square, "abc"), TypeError, "x"),
    ("gradcheck-x-int", lambda: fastnn.gradcheck(_square, np.ones(2, dtype=int)), TypeError, "x"),
    ("gradcheck-eps-str", lambda: fastnn.gradcheck(_square, np.ones(2), eps="a"), TypeError, "eps"),
    ("gradcheck-eps-None", lambda: fastnn.gradcheck(_square, np.ones(2), eps=None), TypeError, "eps"),
    ("gradcheck-eps-zero", lambda: fastnn.gradcheck(_square, np.ones(2), eps=0.0), ValueError, "eps"),
    ("gradcheck-rtol-str", lambda: fastnn.gradcheck(_square, np.ones(2), rtol="a"), TypeError, "rtol"),
    ("gradcheck-atol-nan", lambda: fastnn.gradcheck(_square, np.ones(2), atol=np.nan), ValueError, "atol"),
    ("gradcheck-n_directions-str", lambda: fastnn.gradcheck(_square, np.ones(2), n_directions="a"), TypeError, "n_directions"),
    ("gradcheck-n_directions-zero", lambda: fastnn.gradcheck(_square, np.ones(2), n_directions=0), ValueError, "n_directions"),
    ("gradcheck-seed", lambda: fastnn.gradcheck(_square, np.ones(2), n_directions=2, seed="abc"), TypeError, "seed"),
    # --- datasets -----------------------------------------------------------
    ("make_spirals-n_samples-str", lambda: make_spirals(n_samples="a"), TypeError, "n_samples"),
    ("make_spirals-n_samples-None", lambda: make_spirals(n_samples=None), TypeError, "n_samples"),
    ("make_spirals-n_samples-zero", lambda: make_spirals(n_samples=0), ValueError, "n_samples"),
    ("make_spirals-n_samples-fraction", lambda: make_spirals(n_samples=2.5), ValueError, "n_samples"),
    ("make_spirals-n_samples-inf", lambda: make_spirals(n_samples=np.inf), ValueError, "n_samples"),
    ("make_spirals-n_classes-None", lambda: make_spirals(n_classes=None), TypeError, "n_classes"),
    ("make_spirals-noise-str", lambda: make_spirals(noise="a"), TypeError, "noise"),
    ("make_spirals-noise-negative", lambda: make_spirals(noise=-1.0), ValueError, "noise"),
    ("make_spirals-seed", lambda: make_spirals(seed="abc"), TypeError, "seed"),
    # --- threads ------------------------------------------------------------
    ("set_num_threads-str", lambda: fastnn.set_num_threads("a"), TypeError, "n"),
    ("set_num_threads-float", lambda: fastnn.set_num_threads(2.0), TypeError, "n"),
    ("set_num_threads-zero", lambda: fastnn.set_num_threads(0), ValueError, "n"),
    ("set_num_threads-negative", lambda: fastnn.set_num_threads(-3), ValueError, "n"),
    # --- kernels ------------------------------------------------------------
    ("softmax-x-ragged", lambda: fastnn.softmax(RAGGED), ValueError, "x"),
    ("softmax-x-str", lambda: fastnn.softmax(["a", "b"]), TypeError, "x"),
    ("softmax-axis-str", lambda: fastnn.softmax(X, axis="a"), TypeError, "axis"),
    ("softmax-axis-float", lambda: fastnn.softmax(X, axis=1.0), TypeError, "axis"),
    ("log_softmax-axis-out-of-range", lambda: fastnn.log_softmax(X, axis=2), np.exceptions.AxisError, "axis"),
    ("softmax-out-list", lambda: fastnn.softmax(X, out=[0.0] * 8), TypeError, "out"),
    ("softmax-out-shape", lambda: fastnn.softmax(X, out=np.empty((2, 4))), ValueError, "out"),
    ("sigmoid-out-dtype", lambda: fastnn.sigmoid(X, out=np.empty((4, 2), np.float32)), ValueError, "out"),
    ("sigmoid-out-read-only", lambda: fastnn.sigmoid(X, out=np.broadcast_to(0.0, (4, 2))), ValueError, "out"),
    ("softmax-where-int", lambda: fastnn.softmax(X, where=np.ones((4, 2), int)), TypeError, "where"),
    ("softmax-where-shape", lambda: fastnn.softmax(X, where=np.ones(3, bool)), ValueError, "where"),
    ("softmax-where-ragged", lambda: fastnn.softmax(X, where=[[True, False], [True]]), ValueError, "where"),
    ("logsumexp-x-ragged", lambda: fastnn.logsumexp(RAGGED), ValueError, "x"),
    ("logsumexp-x-complex", lambda: fastnn.logsumexp(X + 1j), TypeError, "x"),
    ("logsumexp-x-masked", lambda: fastnn.logsumexp(np.ma.masked_array(X)), TypeError, "x"),
    ("logsumexp-axis-out-of-range", lambda: fastnn.logsumexp(X, axis=2), np.exceptions.AxisError, "axis"),
    ("logsumexp-axis-tuple-out-of-range", lambda: fastnn.logsumexp(X, axis=(0, -3)), np.exceptions.AxisError, "axis"),
    ("logsumexp-axis-repeated", lambda: fastnn.logsumexp(X, axis=(1, -1)), ValueError, "axis"),
    ("logsumexp-axis-float", lambda: fastnn.logsumexp(X, axis=1.0), TypeError, "axis"),
    ("logsumexp-axis-list", lambda: fastnn.logsumexp(X, axis=[0, 1]), TypeError, "axis"),
    ("logsumexp-keepdims-str", lambda: fastnn.logsumexp(X, keepdims="yes"), TypeError, "keepdims"),
    ("logsumexp-where-int", lambda: fastnn.logsumexp(X, where=np.ones((4, 2), int)), TypeError, "where"),
    ("logsumexp-where-shape", lambda: fastnn.logsumexp(X, where=np.ones(3, bool)), ValueError, "where"),
    ("logsumexp-where-masked", lambda: fastnn.logsumexp(X, where=np.ma.masked_array(np.ones(2, bool))), TypeError, "where"),
    ("logsumexp-out-list", lambda: fastnn.logsumexp(X, out=[0.0] * 4), TypeError, "out"),
    ("logsumexp-out-shape", lambda: fastnn.logsumexp(X, out=np.empty((4, 1))), ValueError, "out"),
    ("logsumexp-out-dtype", lambda: fastnn.logsumexp(X, out=np.empty(4, np.float32)), ValueError, "out"),
    ("sigmoid-x-complex", lambda: fastnn.sigmoid(X + 1j), TypeError, "x"),
    ("sigmoid_grad-s-str", lambda: fastnn.sigmoid_grad(["a"]), TypeError, "s"),
    ("sigmoid_backward-grad_out-str", lambda: fastnn.sigmoid_backward(["a"], [0.5]), TypeError, "grad_out"),
    ("sigmoid_backward-s-ragged", lambda: fastnn.sigmoid_backward(X, RAGGED), ValueError, "s"),
    ("sigmoid_backward-shapes", lambda: fastnn.sigmoid_backward(X, X[:2]), ValueError, "grad_out"),
    ("xent-logits-ragged", lambda: fastnn.softmax_cross_entropy(RAGGED, Y[:2]), ValueError, "logits"),
    ("xent-logits-1-D", lambda: fastnn.softmax_cross_entropy(X[0], Y[:1]), ValueError, "logits"),
    ("xent-target-ragged", lambda: fastnn.softmax_cross_entropy(X, [[1.0, 0.0], [1.0]]), ValueError, "target"),
    ("xent-target-float-1-D", lambda: fastnn.softmax_cross_entropy(X, Y.astype(float)), TypeError, "target"),
    ("xent-target-length", lambda: fastnn.softmax_cross_entropy(X, Y[:3]), ValueError, "target"),
    ("xent-target-out-of-range", lambda: fastnn.softmax_cross_entropy(X, Y + 1), ValueError, "target"),
    ("xent-target-3-D", lambda: fastnn.softmax_cross_entropy(X, np.ones((4, 2, 1))), ValueError, "target"),
    ("xent-reduction-bool", lambda: fastnn.softmax_cross_entropy(X, Y, reduction=True), ValueError, "reduction"),
    ("xent-reduction-unknown", lambda: fastnn.softmax_cross_entropy(X, Y, reduction="avg"), ValueError, "reduction"),
    ("xent-weight-str", lambda: fastnn.softmax_cross_entropy(X, Y, weight="ab"), TypeError, "weight"),
    ("xent-weight-shape", lambda: fastnn.softmax_cross_entropy(X, Y, weight=np.ones(3)), ValueError, "weight"),
    ("xent-weight-ragged", lambda: fastnn.softmax_cross_entropy(X, Y, weight=[1.0, [2.0]]), ValueError, "weight"),
    ("xent-label_smoothing-str", lambda: fastnn.softmax_cross_entropy(X, Y, label_smoothing="0.1"), TypeError, "label_smoothing"),
    ("xent-label_smoothing-range", lambda: fastnn.softmax_cross_entropy(X, Y, label_smoothing=1.5), ValueError, "label_smoothing"),
    ("xent-ignore_index-float", lambda: fastnn.softmax_cross_entropy(X, Y, ignore_index=1.5), TypeError, "ignore_index"),
    ("xent-ignore_index-huge", lambda: fastnn.softmax_cross_entropy(X, Y, ignore_index=2**70), ValueError, "ignore_index"),
    ("xent-ignore_index-probabilities", lambda: fastnn.softmax_cross_entropy(X, np.ones((4, 2)) / 2, ignore_index=0), ValueError, "ignore_index"),
    # --- linear_cross_entropy ----------------------------------------------
    ("lxent-h-1-D", lambda: fastnn.linear_cross_entropy(X[0], np.ones((2, 2)), Y[:1]), ValueError, "h"),
    ("lxent-h-ragged", lambda: fastnn.linear_cross_entropy(RAGGED, np.ones((2, 2)), Y[:2]), ValueError, "h"),
    ("lxent-W-D", lambda: fastnn.linear_cross_entropy(X, np.ones((3, 2)), Y), ValueError, "W"),
    ("lxent-W-dtype", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2), np.float32), Y), TypeError, "W"),
    ("lxent-bias-shape", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, bias=np.ones(3)), ValueError, "bias"),
    ("lxent-bias-dtype", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, bias=np.ones(2, np.float32)), TypeError, "bias"),
    ("lxent-target-range", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y + 1), ValueError, "target"),
    ("lxent-target-3-D", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), np.ones((4, 2, 1))), ValueError, "target"),
    ("lxent-weight-shape", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, weight=np.ones(3)), ValueError, "weight"),
    ("lxent-reduction", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, reduction="avg"), ValueError, "reduction"),
    ("lxent-label_smoothing", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, label_smoothing=-0.1), ValueError, "label_smoothing"),
    ("lxent-ignore_index", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, ignore_index="0"), TypeError, "ignore_index"),
    ("lxent-max_memory-zero", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, max_memory=0), ValueError, "max_memory"),
    ("lxent-max_memory-float", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, max_memory=2.0**20), TypeError, "max_memory"),
    ("lxent-max_memory-small", lambda: fastnn.linear_cross_entropy(X, np.ones((2, 2)), Y, max_memory=8), ValueError, "max_memory"),
]


@pytest.fixture(autouse=True)
def _restore_threads():
    yield
    fastnn.set_num_threads(None)


@pytest.mark.parametrize(
    "call, error, argument", [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_error_names_the_argument(call, error, argument):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    # As a whole word: "X" must not be found inside "max", nor "n" in "int".
    assert re.search(rf"(?<![\w.]){re.escape(argument)}(?!\w)", message), (
        f"the error does not name {argument!r}: {type(info.value).__name__}: {message}"
    )


def test_case_ids_are_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))
