"""Mathematical properties, checked with hypothesis on generated arrays.

* translation (offset) invariance: softmax(x + c) == softmax(x);
* rows of softmax sum to 1 and lie in [0, 1]; exp(log_softmax) == softmax;
* sigmoid(-x) == 1 - sigmoid(x) and sigmoid'(x) == sigmoid(x) * sigmoid(-x);
* cross-entropy is non-negative and its unweighted gradient rows sum to 0.

Where a property is exact in real arithmetic but not in floating point the
inputs are built so that the floating-point operations in the test itself are
exact (for example x has few fraction bits and c is an integer, so x + c is
exact); the tolerance then only covers the kernel's own rounding.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import fastnn

# The variant fixture is function scoped; it is entered once around all of a
# test's examples, which is what we want.  derandomize: the same examples on
# every run, like the seeded RNG everywhere else.
SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

FLOATS = [np.float32, np.float64]
FLOAT_IDS = ["float32", "float64"]


def logits(dtype, min_dims=1, max_dims=3, max_side=12, bound=40.0):
    return arrays(
        dtype,
        array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side),
        elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=np.dtype(dtype).itemsize * 8),
    )


def quantised(dtype, bound=40):
    """Arrays whose entries are multiples of 1/256: adding an integer to them is exact."""
    return arrays(
        np.int32,
        array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12),
        elements=st.integers(-bound * 256, bound * 256),
    ).map(lambda a: (a / 256).astype(dtype))


def exact_shift_examples(dtype):
    """x with few fraction bits, an integer c, an axis: x + c is exact in dtype."""

    @st.composite
    def build(draw):
        x = draw(quantised(dtype), label="x")
        c = draw(st.integers(-2000, 2000), label="c")
        axis = draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
        shifted = (x.astype(np.float64) + c).astype(dtype)
        assert np.array_equal(shifted.astype(np.float64) - c, x.astype(np.float64))
        return x, shifted, axis

    return build()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_translation_invariance_softmax(dtype, variant):
    @SETTINGS
    @given(example=exact_shift_examples(dtype))
    def check(example):
        x, shifted, axis = example
        # Both have relative error <= 4e-6 (float32) / ~1e-14 (float64).
        rtol = 1e-5 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(
            fastnn.softmax(shifted, axis=axis),
            fastnn.softmax(x, axis=axis),
            rtol=rtol,
            atol=1e-35 if dtype == np.float32 else 1e-300,
        )

    check()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_translation_invariance_log_softmax(dtype, variant):
    @SETTINGS
    @given(example=exact_shift_examples(dtype))
    def check(example):
        x, shifted, axis = example
        lp = fastnn.log_softmax(x, axis=axis).astype(np.float64)
        lq = fastnn.log_softmax(shifted, axis=axis).astype(np.float64)
        tol = (1e-5 if dtype == np.float32 else 1e-13) * np.maximum(1.0, np.abs(lp))
        assert (np.abs(lq - lp) <= tol).all(), f"max error {np.abs(lq - lp).max():.3g}"

    check()


def test_translation_invariance_arbitrary_offset(variant):
    # float64 with any finite x and moderate c: x + c is rounded, which moves
    # each logit by at most ulp(|x + c|) / 2, so p moves by about that much.
    @SETTINGS
    @given(x=logits(np.float64), c=st.floats(-100, 100))
    def check(x, c):
        p = fastnn.softmax(x)
        q = fastnn.softmax(x + c)
        np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-300)

    check()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_rows_sum_to_one_and_lie_in_unit_interval(dtype, variant):
    @SETTINGS
    @given(x=logits(dtype, bound=300.0 if dtype == np.float64 else 80.0), data=st.data())
    def check(x, data):
        axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
        p = fastnn.softmax(x, axis=axis)
        assert p.dtype == dtype
        assert ((p >= 0) & (p <= 1)).all()
        sums = p.astype(np.float64).sum(axis=axis)
        np.testing.assert_allclose(sums, 1.0, rtol=0, atol=1e-5 if dtype == np.float32 else 1e-14)

    check()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_exp_of_log_softmax_is_softmax(dtype, variant):
    @SETTINGS
    @given(x=logits(dtype, bound=30.0))
    def check(x):
        p = fastnn.softmax(x).astype(np.float64)
        lp = fastnn.log_softmax(x).astype(np.float64)
        assert (lp <= 0).all()
        # Compare in the log domain: log_softmax's error is relative to |lp|.
        live = p > 1e-30
        tol = (1e-5 if dtype == np.float32 else 1e-13) * np.maximum(1.0, np.abs(lp[live]))
        assert (np.abs(np.log(p[live]) - lp[live]) <= tol).all()
        assert (lp[~live] < -60).all()

    check()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_where_rows(dtype, variant):
    @SETTINGS
    @given(data=st.data())
    def check(data):
        x = data.draw(logits(dtype, min_dims=2, max_dims=2), label="x")
        where = data.draw(arrays(np.bool_, x.shape), label="where")
        p = fastnn.softmax(x, where=where)
        lp = fastnn.log_softmax(x, where=where)
        assert not np.isnan(p).any() and not np.isnan(lp).any()
        assert (p[~where] == 0).all() and np.isneginf(lp[~where]).all()
        live = where.any(axis=1)
        np.testing.assert_allclose(p.astype(np.float64).sum(axis=1)[live], 1.0, atol=1e-5 if dtype == np.float32 else 1e-14)
        assert (p[~live] == 0).all()

    check()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sigmoid_symmetry(dtype, variant):
    @SETTINGS
    @given(x=logits(dtype, bound=60.0))
    def check(x):
        s = fastnn.sigmoid(x).astype(np.float64)
        s_neg = fastnn.sigmoid(-x).astype(np.float64)
        # 1 - s is exact for s >= 0.5; the error is that of s near 1, a few
        # ulp of 1 in the output dtype.
        atol = 4 * np.finfo(dtype).eps
        np.testing.assert_allclose(s_neg, 1.0 - s, rtol=0, atol=atol)
        assert ((s >= 0) & (s <= 1)).all()

    check()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sigmoid_derivative_identity(dtype, variant):
    @SETTINGS
    @given(x=logits(dtype, bound=60.0))
    def check(x):
        d = fastnn.sigmoid_grad(fastnn.sigmoid(x)).astype(np.float64)
        expected = fastnn.sigmoid(x).astype(np.float64) * fastnn.sigmoid(-x).astype(np.float64)
        np.testing.assert_allclose(d, expected, rtol=0, atol=4 * np.finfo(dtype).eps)
        assert ((d >= 0) & (d <= 0.25)).all()

    check()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_sigmoid_backward_is_product(dtype, variant):
    @SETTINGS
    @given(data=st.data())
    def check(data):
        s = data.draw(arrays(dtype, array_shapes(max_dims=3), elements=st.floats(0, 1, width=np.dtype(dtype).itemsize * 8)))
        g = data.draw(arrays(dtype, s.shape, elements=st.floats(-1e3, 1e3, width=np.dtype(dtype).itemsize * 8)))
        result = fastnn.sigmoid_backward(g, s).astype(np.float64)
        expected = g.astype(np.float64) * fastnn.sigmoid_grad(s).astype(np.float64)
        # atol covers products that land in the subnormals.
        np.testing.assert_allclose(result, expected, rtol=4 * np.finfo(dtype).eps, atol=1e-36 if dtype == np.float32 else 1e-300)

    check()


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_cross_entropy_properties(dtype, variant):
    @SETTINGS
    @given(data=st.data())
    def check(data):
        z = data.draw(logits(dtype, min_dims=2, max_dims=2, max_side=10, bound=30.0), label="logits")
        n, c = z.shape
        target = data.draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)), label="target")
        eps = data.draw(st.sampled_from([0.0, 0.1, 0.5]), label="label_smoothing")
        loss, grad = fastnn.softmax_cross_entropy(z, target, reduction="none", label_smoothing=eps)
        assert (loss >= -1e-6).all()
        np.testing.assert_allclose(grad.astype(np.float64).sum(axis=1), 0.0, atol=1e-5 if dtype == np.float32 else 1e-13)
        # Without smoothing the gradient is softmax - onehot.
        if eps == 0.0:
            expected = fastnn.softmax(z).astype(np.float64) - np.eye(c)[target]
            np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-5 if dtype == np.float32 else 1e-15)
        # Offset invariance of the loss (x + 64 is rounded, moving each logit
        # by at most half an ulp of 94).
        shifted_loss, _ = fastnn.softmax_cross_entropy((z.astype(np.float64) + 64).astype(dtype), target, reduction="none", label_smoothing=eps)
        tol = 1e-4 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(shifted_loss, loss, rtol=tol, atol=tol)

    check()
