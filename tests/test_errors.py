"""Bad input raises a clear error, writes nothing, and never crashes.

Messages are matched on their key content (the offending value, the number
of classes, the expected shape or dtype), not on exact wording.
"""

import re
import subprocess
import sys

import numpy as np
import pytest
from numpy.exceptions import AxisError

import fastnn

ELEMENTWISE = {
    "softmax": lambda x, **kw: fastnn.softmax(x, **kw),
    "log_softmax": lambda x, **kw: fastnn.log_softmax(x, **kw),
    "sigmoid": lambda x, **kw: fastnn.sigmoid(x, **kw),
    "sigmoid_grad": lambda x, **kw: fastnn.sigmoid_grad(x, **kw),
    "sigmoid_backward": lambda x, **kw: fastnn.sigmoid_backward(np.ones_like(x), x, **kw),
}


def xent(logits, target, **kwargs):
    return fastnn.softmax_cross_entropy(logits, target, **kwargs)


@pytest.fixture
def problem(rng):
    logits = rng.standard_normal((6, 13))
    target = rng.integers(0, 13, 6)
    return logits, target


# --------------------------------------------------------------------------
# Labels out of range
# --------------------------------------------------------------------------


@pytest.mark.parametrize("label", [-1, 13, 14, 2**31, 2**40, -(2**40), np.iinfo(np.int64).max, np.iinfo(np.int64).min])
@pytest.mark.parametrize("position", [0, 3, 5])
def test_label_out_of_range(label, position, problem):
    logits, target = problem
    target[position] = label
    logits_copy, target_copy = logits.copy(), target.copy()
    with pytest.raises(ValueError) as info:
        xent(logits, target)
    message = str(info.value)
    assert str(label) in message, message
    standalone_13 = re.findall(r"(?<!\d)13(?!\d)", message)
    assert len(standalone_13) >= (2 if label == 13 else 1), f"C=13 not named: {message}"
    np.testing.assert_array_equal(logits, logits_copy)
    np.testing.assert_array_equal(target, target_copy)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [{}, {"weight": np.ones(13)}, {"label_smoothing": 0.1}, {"ignore_index": -100}])
def test_label_out_of_range_every_path(reduction, options, problem):
    logits, target = problem
    target[-1] = 13
    with pytest.raises(ValueError, match="13"):
        xent(logits, target, reduction=reduction, **options)
    target[-1] = -1
    with pytest.raises(ValueError, match="-1"):
        xent(logits.astype(np.float32), target, reduction=reduction, **options)


def test_label_equal_to_ignore_index_is_accepted_but_others_are_not(problem):
    logits, target = problem
    target[2] = -100
    xent(logits, target, ignore_index=-100)
    with pytest.raises(ValueError, match="-100"):
        xent(logits, target)
    with pytest.raises(ValueError, match="-100"):
        xent(logits, target, ignore_index=-1)
    target[3] = -5
    with pytest.raises(ValueError, match="-5"):
        xent(logits, target, ignore_index=-100)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32, np.uint64, np.int8, np.int32])
def test_label_out_of_range_any_integer_dtype(dtype, rng):
    logits = rng.standard_normal((4, 5))
    target = np.array([0, 1, 200 if dtype != np.int8 else 100, 2], dtype=dtype)
    with pytest.raises(ValueError, match=str(target[2])):
        xent(logits, target)


def test_huge_unsigned_label(rng):
    # 2**63 + 5 wraps to a negative int64: it must still be rejected.
    logits = rng.standard_normal((3, 5))
    target = np.array([0, 2**63 + 5, 1], dtype=np.uint64)
    with pytest.raises(ValueError):
        xent(logits, target)


def test_huge_labels_do_not_crash_the_interpreter(tmp_path):
    # In a fresh interpreter, so an out-of-bounds write shows up as a failing
    # return code instead of taking the test session down.
    code = """
import numpy as np, fastnn
logits = np.random.default_rng(0).standard_normal((50_000, 10))
for label in (2**40, -2**40, 10, -1, 2**62):
    target = np.zeros(50_000, dtype=np.int64)
    target[-1] = label
    try:
        fastnn.softmax_cross_entropy(logits, target)
    except ValueError:
        pass
    else:
        raise SystemExit(f"no ValueError for label {label}")
print("ok")
"""
    # cwd outside the source tree: "python -c" puts the cwd first on sys.path,
    # and the source tree's fastnn has no compiled kernels when fastnn is
    # installed (as in CI).
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "ok"


def test_no_classes_means_every_label_is_out_of_range(rng):
    with pytest.raises(ValueError):
        xent(np.empty((2, 0)), np.array([0, 0]))


# --------------------------------------------------------------------------
# Cross-entropy argument errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_1d_target_is_type_error(dtype, problem):
    logits, target = problem
    with pytest.raises(TypeError):
        xent(logits, target.astype(dtype))


def test_target_length_mismatch(problem):
    logits, target = problem
    with pytest.raises(ValueError, match="6"):
        xent(logits, target[:5])
    with pytest.raises(ValueError, match="6"):
        xent(logits, np.concatenate([target, target[:1]]))


def names_shape(message, shape):
    """True when the message shows ``shape``: as "(6, 13)" or as both numbers."""
    if str(shape) in message:
        return True
    return all(re.search(rf"(?<!\d){n}(?!\d)", message) for n in shape)


@pytest.mark.parametrize("shape", [(6, 12), (6, 14), (5, 13), (13, 6)], ids=str)
def test_probability_target_shape_mismatch(shape, problem, rng):
    logits, _ = problem
    with pytest.raises(ValueError) as info:
        xent(logits, rng.dirichlet(np.ones(shape[1]), shape[0]))
    assert names_shape(str(info.value), (6, 13)), str(info.value)


def test_target_of_three_dimensions(problem):
    logits, _ = problem
    with pytest.raises(ValueError):
        xent(logits, np.ones((6, 13, 1)) / 13)


@pytest.mark.parametrize("shape", [(13,), (2, 3, 13), ()], ids=str)
def test_logits_must_be_2d(shape, rng):
    logits = rng.standard_normal(shape)
    target = np.zeros(shape[0] if shape else 1, dtype=np.int64)
    with pytest.raises(ValueError, match="2"):
        xent(logits, target)


@pytest.mark.parametrize("reduction", ["avg", "MEAN", "", "elementwise"])
def test_bad_reduction(reduction, problem):
    logits, target = problem
    with pytest.raises(ValueError, match="mean"):
        xent(logits, target, reduction=reduction)


@pytest.mark.parametrize("shape", [(12,), (14,), (1, 13), (13, 1), ()], ids=str)
def test_weight_of_wrong_shape(shape, problem):
    logits, target = problem
    with pytest.raises(ValueError, match="13"):
        xent(logits, target, weight=np.ones(shape))


@pytest.mark.parametrize("eps", [-0.1, 1.0000001, 2.0, np.nan, np.inf])
def test_label_smoothing_outside_unit_interval(eps, problem):
    logits, target = problem
    with pytest.raises(ValueError):
        xent(logits, target, label_smoothing=eps)


def test_ignore_index_with_probability_targets(problem, rng):
    logits, _ = problem
    with pytest.raises(ValueError, match="ignore_index"):
        xent(logits, rng.dirichlet(np.ones(13), 6), ignore_index=-100)


@pytest.mark.parametrize("bad", ["strings", "object", "complex"])
def test_non_numeric_logits(bad, problem):
    logits, target = problem
    converted = {
        "strings": logits.astype(str),
        "object": logits.astype(object),
        "complex": logits.astype(np.complex128),
    }[bad]
    with pytest.raises(TypeError):
        xent(converted, target)


# --------------------------------------------------------------------------
# softmax / log_softmax / sigmoid family
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,axis", [((3, 4), 2), ((3, 4), -3), ((5,), 1), ((5,), -2), ((2, 3, 4), 3), ((2, 3, 4), -4)], ids=str)
def test_axis_out_of_range(name, shape, axis):
    x = np.zeros(shape)
    with pytest.raises(AxisError):
        ELEMENTWISE[name](x, axis=axis)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@pytest.mark.parametrize("bad", ["strings", "object", "complex"])
def test_non_numeric_input(name, bad):
    x = {
        "strings": np.array([["a", "b"], ["c", "d"]]),
        "object": np.array([[1.0, 2.0], [3.0, None]], dtype=object),
        "complex": np.array([[1 + 1j, 2.0], [3.0, 4.0]]),
    }[bad]
    with pytest.raises(TypeError):
        ELEMENTWISE[name](x)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@pytest.mark.parametrize(
    "out_shape,out_dtype",
    [((4, 6), np.float32), ((6, 4), np.float64), ((4, 5), np.float64), ((4, 6, 1), np.float64), ((24,), np.float64)],
    ids=["wrong-dtype", "transposed", "wrong-shape", "extra-dim", "flat"],
)
def test_out_of_wrong_shape_or_dtype(name, out_shape, out_dtype, rng):
    x = rng.uniform(0, 1, (4, 6))
    out = np.zeros(out_shape, dtype=out_dtype)
    with pytest.raises(ValueError) as info:
        ELEMENTWISE[name](x, out=out)
    message = str(info.value)
    # The message names what was expected.
    assert "(4, 6)" in message and "float64" in message, message
    assert (out == 0).all()


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_out_float64_for_float32_input(name, rng):
    x = rng.uniform(0, 1, (4, 6)).astype(np.float32)
    with pytest.raises(ValueError, match="float32"):
        ELEMENTWISE[name](x, out=np.zeros((4, 6)))


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@pytest.mark.parametrize("out", [[[0.0] * 6] * 4, 3.0, "out"], ids=["list", "float", "str"])
def test_out_not_an_ndarray(name, out, rng):
    with pytest.raises(TypeError):
        ELEMENTWISE[name](rng.uniform(0, 1, (4, 6)), out=out)


def test_out_read_only_is_rejected(rng):
    x = rng.uniform(0, 1, (4, 6))
    out = np.zeros((4, 6))
    out.setflags(write=False)
    with pytest.raises(ValueError):
        fastnn.softmax(x, out=out)
    assert (out == 0).all()


@pytest.mark.parametrize("shapes", [((4, 6), (6, 4)), ((4, 6), (4, 5)), ((3,), (4,)), ((4, 1), (4, 6))], ids=str)
def test_sigmoid_backward_shape_mismatch(shapes, rng):
    grad_out = rng.standard_normal(shapes[0])
    s = rng.uniform(0, 1, shapes[1])
    with pytest.raises(ValueError):
        fastnn.sigmoid_backward(grad_out, s)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_where_not_broadcastable(name):
    with pytest.raises(ValueError):
        ELEMENTWISE[name](np.zeros((3, 4)), where=np.ones((3, 5), dtype=bool))


# --------------------------------------------------------------------------
# Threads and process-wide state
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, -1, -8])
def test_set_num_threads_rejects_non_positive(n):
    before = fastnn.get_num_threads()
    with pytest.raises(ValueError):
        fastnn.set_num_threads(n)
    assert fastnn.get_num_threads() == before


def test_import_leaves_subnormals_alone(tmp_path):
    # A library built with -ffast-math sets flush-to-zero for the whole
    # process when it is loaded; a fresh interpreter shows it.
    code = (
        "import fastnn, numpy as np; "
        "assert np.float64(5e-324) * 1.0 != 0; "
        "assert np.float32(1e-45) * np.float32(1) != 0; "
        "assert np.float64(2.2250738585072014e-308) / 2 != 0; "
        "x = np.array([1e-310, 5e-324]); assert (x * 1.0 == x).all(); "
        "fastnn.softmax(np.zeros((100, 100))); fastnn.sigmoid(np.zeros(100_000)); "
        "assert np.float64(5e-324) * 1.0 != 0"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------
# Byte orders, ndarray subclasses and masked arrays
# --------------------------------------------------------------------------


@pytest.mark.parametrize("code", [">f2", "<f2"])
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_float16_in_either_byte_order_is_computed_in_float32(code, name):
    x = np.array([[0.5, -1.0, 2.0]], dtype=code)
    result = ELEMENTWISE[name](x)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, ELEMENTWISE[name](x.astype(np.float32)))


def test_float16_logits_in_either_byte_order():
    for code in (">f2", "<f2"):
        logits = np.array([[0.5, -1.0, 2.0]], dtype=code)
        loss, grad = xent(logits, np.array([1]))
        assert grad.dtype == np.float32
        np.testing.assert_array_equal(grad, xent(logits.astype(np.float32), np.array([1]))[1])


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_out_may_be_an_ndarray_subclass_and_is_returned(name):
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, 3.0]])
    out = np.asmatrix(np.empty((2, 3)))
    result = ELEMENTWISE[name](x, out=out)
    assert result is out and type(result) is np.matrix
    np.testing.assert_array_equal(np.asarray(out), ELEMENTWISE[name](x))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_out_subclass_works_along_a_non_last_axis():
    x = np.arange(6.0).reshape(2, 3)
    out = np.asmatrix(np.empty((2, 3)))
    assert fastnn.softmax(x, axis=0, out=out) is out
    np.testing.assert_array_equal(np.asarray(out), fastnn.softmax(x, axis=0))


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_masked_arrays_are_rejected_naming_the_argument(name):
    x = np.ma.masked_array([[1.0, 2.0, 3.0]], mask=[[False, True, False]])
    with pytest.raises(TypeError, match=r"masked array"):
        ELEMENTWISE[name](x)
    with pytest.raises(TypeError, match=r"out is a masked array"):
        ELEMENTWISE[name](x.filled(0), out=np.ma.masked_array(np.empty((1, 3))))


def test_masked_array_error_for_softmax_says_how_to_keep_the_mask():
    x = np.ma.masked_array([[1.0, 2.0, 3.0]], mask=[[False, True, False]])
    with pytest.raises(TypeError, match=r"x is a masked array.*where=~np.ma.getmaskarray\(x\)"):
        fastnn.softmax(x)
    # The suggested call leaves the masked entry out.
    result = fastnn.softmax(x.filled(0), where=~np.ma.getmaskarray(x))
    np.testing.assert_allclose(result, [[np.exp(1) / (np.exp(1) + np.exp(3)), 0.0,
                                         np.exp(3) / (np.exp(1) + np.exp(3))]])
    with pytest.raises(TypeError, match=r"where is a masked array"):
        fastnn.softmax(x.filled(0), where=np.ma.masked_array([[True, True, True]]))


@pytest.mark.parametrize("argument", ["logits", "target", "weight"])
def test_masked_cross_entropy_arguments_are_rejected(argument):
    args = {
        "logits": np.array([[1.0, 2.0, 3.0]]),
        "target": np.array([2]),
        "weight": np.ones(3),
    }
    args[argument] = np.ma.masked_array(args[argument])
    with pytest.raises(TypeError, match=rf"{argument} is a masked array"):
        fastnn.softmax_cross_entropy(args["logits"], args["target"], weight=args["weight"])


# --------------------------------------------------------------------------
# Messages a newcomer meets first: they read as the user wrote the input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("func", ["softmax", "log_softmax"])
def test_a_scalar_has_no_axis_to_take_the_softmax_along(func):
    with pytest.raises(np.exceptions.AxisError, match=rf"{func}: x is a scalar \(0-d\), but "
                                                      rf"{func} is taken along an axis"):
        getattr(fastnn, func)(3.0)


def test_logsumexp_of_a_scalar_points_to_axis_none():
    with pytest.raises(np.exceptions.AxisError, match="pass axis=None"):
        fastnn.logsumexp(3.0)
    assert fastnn.logsumexp(3.0, axis=None) == 3.0


@pytest.mark.parametrize("labels, shown", [([1, 1, 1], "1"), (["a", "a", "a"], "'a'"),
                                           (np.array(["b", "b", "b"]), "'b'")])
def test_one_class_is_named_as_the_user_wrote_it(labels, shown):
    pytest.importorskip("scipy")
    with pytest.raises(ValueError, match=rf"y has only one class, {shown}; a classifier"):
        fastnn.MLPClassifier().fit(np.ones((3, 2)), labels)


def test_a_class_index_out_of_range_is_named_once():
    net = fastnn.MLP((2, 3))
    with pytest.raises(ValueError, match=r"y: class indices must lie in \[0, 3\), got 3$"):
        net.loss(np.zeros(net.n_params), np.ones((2, 2)), [0, 3])
    with pytest.raises(ValueError, match=r"got -1 and 1 more out of range$"):
        net.loss(np.zeros(net.n_params), np.ones((3, 2)), [-1, 0, 7])
