"""linear_cross_entropy: the unfused computation, gradients, PyTorch, memory, errors.

The reference is the unfused computation: ``softmax_cross_entropy`` of the
whole logits ``h @ W + b`` and the chain rule.  Every option combination is
compared with it on three block plans (one block; several blocks of whole
rows; blocks of rows and classes), each forced by ``max_memory`` and
checked to be the plan intended.  Gradients are also checked by finite
differences and against PyTorch, and the peak memory is measured with
tracemalloc, which sees every NumPy allocation.
"""

import functools
import tracemalloc

import numpy as np
import pytest
from scipy.optimize import check_grad

import fastnn
import fastnn.fused_linear as fused_linear
from fastnn.fused_linear import _must_convert, _plan_for

N, D, C = 40, 6, 23
REDUCTIONS = ["mean", "sum", "none"]
PATHS = ["whole", "row-blocks", "class-blocks"]


def make_problem(rng, kind, n=N, d=D, c=C, dtype=np.float64):
    """h, W, bias and the target of one kind."""
    h = rng.standard_normal((n, d)).astype(dtype)
    W = (rng.standard_normal((d, c)) * 0.8).astype(dtype)
    bias = rng.standard_normal(c).astype(dtype)
    labels = rng.integers(0, c, n)
    if kind == "index":
        target = labels
    elif kind == "ignore-in-range":
        target = labels
        target[[0, 3, 9]] = 2
        target[1] = 5
    elif kind == "ignore-100":
        target = labels
        target[[1, 4, n - 3]] = -100
    elif kind == "onehot":
        target = np.eye(c)[labels]
    else:  # soft targets whose rows do not sum to one
        target = rng.dirichlet(np.ones(c), n) * rng.uniform(0.5, 2.0, (n, 1))
    return h, W, bias, target


def ignore_index_of(kind):
    return {"ignore-in-range": 2, "ignore-100": -100}.get(kind)


def unfused(h, W, target, bias=None, **options):
    """softmax_cross_entropy of the whole logits, and the chain rule."""
    logits = h @ W if bias is None else h @ W + bias
    loss, G = fastnn.softmax_cross_entropy(logits, target, **options)
    grad_b = None if bias is None else G.sum(axis=0)
    return loss, G @ W.T, h.T @ G, grad_b


@functools.lru_cache(maxsize=None)
def _budget(path, n, d, c, dtype, probabilities, convert, weighted, has_bias, fortran):
    """A max_memory that gives the plan ``path`` for this problem."""
    h = np.empty((n, d), dtype)
    W = np.empty((d, c), dtype, order="F" if fortran else "C")
    probs = None
    if probabilities:  # a Fortran-ordered target must be converted too
        probs = np.empty((n, c), dtype, order="F" if convert else "C")
    if path == "whole":
        return 64 << 20
    for budget in range(256, 1 << 22, 16):
        try:
            plan = _plan_for(h, W, probs, weighted, has_bias, budget, True)
        except ValueError:  # too small
            continue
        if path == "row-blocks" and not plan.class_blocked and plan.rows < n:
            return budget
        # Class blocks of a few classes, several row blocks: every loop runs.
        if path == "class-blocks" and plan.class_blocked and 3 <= plan.classes <= c // 2 \
                and plan.rows < n:
            return budget
    raise AssertionError(f"no budget gives the {path} plan")


def budget_for(path, h, W, target, weighted, has_bias):
    probabilities = np.ndim(target) == 2
    convert = probabilities and _must_convert(np.asarray(target), h.dtype)
    return _budget(path, h.shape[0], h.shape[1], W.shape[1], h.dtype.type, probabilities,
                   convert, weighted, has_bias, bool(W.flags.f_contiguous))


def assert_plan(path, h, W, target, weighted, has_bias, budget):
    probs = target if np.ndim(target) == 2 else None
    plan = _plan_for(h, W, probs, weighted, has_bias, budget, True)
    if path == "whole":
        assert not plan.class_blocked and plan.rows == h.shape[0]
    elif path == "row-blocks":
        assert not plan.class_blocked and plan.rows < h.shape[0]
    else:
        assert plan.class_blocked and plan.classes < W.shape[1] and plan.rows < h.shape[0]


def relative_error(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    if want.size == 0:
        return 0.0
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def assert_close(result, expected, tol):
    names = ("loss", "grad_h", "grad_W", "grad_b")
    for name, got, want in zip(names, result, expected):
        if want is None:
            assert got is None, name
            continue
        error = relative_error(got, want)
        assert error <= tol, f"{name}: relative error {error:.3g}"


def option_cases():
    cases = []
    for kind in ("index", "ignore-in-range", "ignore-100", "onehot", "soft"):
        for weighted in (False, True):
            for smoothing in (0.0, 0.2):
                ident = f"{kind}-{'w' if weighted else 'nw'}-ls{smoothing}"
                cases.append(pytest.param(kind, weighted, smoothing, id=ident))
    return cases


# --------------------------------------------------------------------------
# Agreement with the unfused computation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind,weighted,smoothing", option_cases())
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
def test_matches_unfused_float64(kind, weighted, smoothing, reduction, path, with_bias, rng):
    h, W, bias, target = make_problem(rng, kind)
    weight = rng.uniform(0.5, 2.0, C) if weighted else None
    bias = bias if with_bias else None
    options = dict(weight=weight, reduction=reduction, label_smoothing=smoothing,
                   ignore_index=ignore_index_of(kind))
    budget = budget_for(path, h, W, target, weighted, with_bias)
    assert_plan(path, h, W, target, weighted, with_bias, budget)
    result = fastnn.linear_cross_entropy(h, W, target, bias=bias, max_memory=budget, **options)
    expected = unfused(h, W, target, bias, **options)
    assert_close(result, expected, 1e-12)
    loss = result[0]
    assert loss.dtype == np.float64
    assert np.shape(loss) == ((N,) if reduction == "none" else ())
    assert result[1].dtype == result[2].dtype == np.float64


@pytest.mark.parametrize("kind", ["index", "soft"])
@pytest.mark.parametrize("path", PATHS)
def test_fortran_ordered_W_pytorch_layout_transposed(kind, path, rng):
    # PyTorch's (C, D) weight, transposed: a Fortran-ordered (D, C) view.
    h, W, bias, target = make_problem(rng, kind)
    W_torch_layout = np.ascontiguousarray(W.T)
    W_view = W_torch_layout.T
    assert W_view.flags.f_contiguous and not W_view.flags.c_contiguous
    budget = budget_for(path, h, W_view, target, False, True)
    assert_plan(path, h, W_view, target, False, True, budget)
    result = fastnn.linear_cross_entropy(h, W_view, target, bias=bias, max_memory=budget,
                                         label_smoothing=0.1)
    assert result[2].flags.f_contiguous  # grad_W in W's memory order
    assert_close(result, unfused(h, W, target, bias, label_smoothing=0.1), 1e-12)


@pytest.mark.parametrize("kind", ["ignore-100", "soft"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_blocked_and_unblocked_paths_agree(kind, reduction, rng):
    h, W, bias, target = make_problem(rng, kind)
    options = dict(bias=bias, weight=rng.uniform(0.5, 2.0, C), reduction=reduction,
                   label_smoothing=0.3, ignore_index=ignore_index_of(kind))
    results = []
    for path in PATHS:
        budget = budget_for(path, h, W, target, True, True)
        assert_plan(path, h, W, target, True, True, budget)
        results.append(fastnn.linear_cross_entropy(h, W, target, max_memory=budget, **options))
    for other in results[1:]:
        assert_close(other, results[0], 1e-13)


@pytest.mark.parametrize("path", PATHS)
def test_probability_targets_of_another_dtype_or_layout(path, rng):
    h, W, bias, target = make_problem(rng, "soft")
    expected = unfused(h, W, target, bias)
    for variant in (target.astype(np.float32).astype(np.float64), np.asfortranarray(target),
                    target[::-1][::-1]):
        budget = budget_for(path, h, W, variant, False, True)
        result = fastnn.linear_cross_entropy(h, W, variant, bias=bias, max_memory=budget)
        assert_close(result, unfused(h, W, variant, bias), 1e-12)
    # float32 probabilities with float64 h are converted block by block.
    t32 = target.astype(np.float32)
    budget = budget_for(path, h, W, t32, False, True)
    assert_plan(path, h, W, t32, False, True, budget)
    result = fastnn.linear_cross_entropy(h, W, t32, bias=bias, max_memory=budget)
    assert_close(result, unfused(h, W, t32, bias), 1e-12)
    assert relative_error(result[1], expected[1]) < 1e-6


@pytest.mark.parametrize("path", PATHS)
def test_integer_probability_targets(path, rng):
    h, W, bias, target = make_problem(rng, "onehot")
    one_hot = target.astype(np.int8)
    budget = budget_for(path, h, W, one_hot, False, True)
    result = fastnn.linear_cross_entropy(h, W, one_hot, bias=bias, max_memory=budget)
    assert_close(result, unfused(h, W, target, bias), 1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_dominated_rows_keep_their_tiny_losses(path, rng):
    # A true class leading by about 45 has loss log1p(sum exp(-45 ...)) ~ 1e-19:
    # the log-sum-exp must be carried as max + log1p(sum less one), or the
    # loss rounds to 0 (or to garbage, from lse - z with lse ~ z).
    h, W, bias, _ = make_problem(rng, "index")
    labels = np.arange(N) % C
    # One extra feature per class carries the lead through the product.
    h_big = np.hstack([h, np.eye(C)[labels] * 45.0])
    W_big = np.vstack([W, np.eye(C)])
    budget = budget_for(path, h_big, W_big, labels, False, True)
    result = fastnn.linear_cross_entropy(h_big, W_big, labels, bias=bias, reduction="none",
                                         max_memory=budget)
    expected = unfused(h_big, W_big, labels, bias, reduction="none")
    assert np.all(expected[0] < 1e-15) and np.all(expected[0] > 0)
    np.testing.assert_allclose(result[0], expected[0], rtol=1e-12, atol=0)


@pytest.mark.parametrize("path", PATHS)
def test_none_reduction_gradients_are_those_of_the_sum(path, rng):
    # The per-row losses come out, and the gradients of their sum: the
    # fused-kernel libraries that returned the mean's (or no) gradient here
    # were wrong.
    h, W, bias, target = make_problem(rng, "ignore-100")
    options = dict(bias=bias, ignore_index=-100, label_smoothing=0.1,
                   max_memory=budget_for(path, h, W, target, False, True))
    none = fastnn.linear_cross_entropy(h, W, target, reduction="none", **options)
    total = fastnn.linear_cross_entropy(h, W, target, reduction="sum", **options)
    mean = fastnn.linear_cross_entropy(h, W, target, reduction="mean", **options)
    assert np.isclose(none[0].sum(), total[0], rtol=1e-14)
    for grad_none, grad_sum, grad_mean in zip(none[1:], total[1:], mean[1:]):
        np.testing.assert_allclose(grad_none, grad_sum, rtol=1e-13, atol=1e-15)
        assert not np.allclose(grad_none, grad_mean)
    # And against finite differences of the sum of the per-row losses.
    n, d, c = 10, 3, 9
    h, W, bias, target = make_problem(rng, "ignore-100", n=n, d=d, c=c)
    options = dict(bias=bias, ignore_index=-100, label_smoothing=0.1, reduction="none",
                   max_memory=budget_for(path, h, W, target, False, True))

    def summed(flat_h):
        return float(np.sum(fastnn.linear_cross_entropy(flat_h.reshape(n, d), W, target,
                                                        **options)[0]))

    def gradient(flat_h):
        return fastnn.linear_cross_entropy(flat_h.reshape(n, d), W, target, **options)[1].ravel()

    x = h.ravel()
    assert check_grad(summed, gradient, x) < 1e-6 * np.linalg.norm(gradient(x))


# --------------------------------------------------------------------------
# Gradients by finite differences
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind,reduction,options", [
    ("index", "mean", {}),
    ("ignore-100", "mean", {"weight": True, "label_smoothing": 0.15}),
    ("soft", "sum", {"weight": True, "label_smoothing": 0.1}),
    ("index", "sum", {"label_smoothing": 0.3}),
], ids=["index-mean", "ignore-weight-smoothing", "soft-weight-smoothing", "index-sum-smoothing"])
@pytest.mark.parametrize("path", ["whole", "class-blocks"])
def test_check_grad_on_h_W_and_b(kind, reduction, options, path, rng):
    n, d, c = 12, 4, 9
    h, W, bias, target = make_problem(rng, kind, n=n, d=d, c=c)
    options = dict(options)
    if options.pop("weight", False):
        options["weight"] = rng.uniform(0.5, 2.0, c)
    options.update(reduction=reduction, ignore_index=ignore_index_of(kind),
                   max_memory=budget_for(path, h, W, target, "weight" in options, True))
    sizes = np.cumsum([h.size, W.size])

    def split(x):
        return x[: sizes[0]].reshape(n, d), x[sizes[0]: sizes[1]].reshape(d, c), x[sizes[1]:]

    def loss(x):
        h_, W_, b_ = split(x)
        return float(fastnn.linear_cross_entropy(h_, W_, target, bias=b_, **options)[0])

    def grad(x):
        h_, W_, b_ = split(x)
        _, grad_h, grad_W, grad_b = fastnn.linear_cross_entropy(h_, W_, target, bias=b_,
                                                                **options)
        return np.concatenate([grad_h.ravel(), grad_W.ravel(), grad_b])

    x = np.concatenate([h.ravel(), W.ravel(), bias])
    g = grad(x)
    assert check_grad(loss, grad, x) < 1e-6 * np.linalg.norm(g)
    # The criterion catches a wrong gradient: drop the bias gradient.
    wrong = g.copy()
    wrong[sizes[1]:] = 0.0
    assert np.linalg.norm(wrong - g) > 1e-3 * np.linalg.norm(g)


# --------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------


def torch_cases():
    cases = []
    for kind in ("index", "ignore-100", "soft"):
        for reduction in REDUCTIONS:
            for weighted in (False, True):
                for smoothing in (0.0, 0.2):
                    ident = f"{kind}-{reduction}-{'w' if weighted else 'nw'}-ls{smoothing}"
                    cases.append(pytest.param(kind, reduction, weighted, smoothing, id=ident))
    return cases


@pytest.mark.parametrize("kind,reduction,weighted,smoothing", torch_cases())
@pytest.mark.parametrize("path", ["whole", "class-blocks"])
def test_against_pytorch_linear_cross_entropy(kind, reduction, weighted, smoothing, path, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    if not hasattr(F, "linear_cross_entropy"):
        pytest.skip("this PyTorch has no F.linear_cross_entropy")
    h, W, bias, target = make_problem(rng, kind)
    weight = rng.uniform(0.5, 2.0, C) if weighted else None
    ignore_index = ignore_index_of(kind)
    result = fastnn.linear_cross_entropy(
        h, W, target, bias=bias, weight=weight, reduction=reduction,
        label_smoothing=smoothing, ignore_index=ignore_index,
        max_memory=budget_for(path, h, W, target, weighted, True),
    )
    # Index targets without smoothing also go through PyTorch's chunked path.
    chunked = np.ndim(target) == 1 and smoothing == 0.0
    for options in [None] + ([torch.nn.LinearCrossEntropyOptions()] if chunked else []):
        h_t = torch.tensor(h, requires_grad=True)
        W_t = torch.tensor(np.ascontiguousarray(W.T), requires_grad=True)  # (C, D)
        b_t = torch.tensor(bias, requires_grad=True)
        kwargs = dict(linear_bias=b_t, reduction=reduction, label_smoothing=smoothing,
                      options=options)
        if weight is not None:
            kwargs["weight"] = torch.tensor(weight)
        if ignore_index is not None:
            kwargs["ignore_index"] = ignore_index
        loss = F.linear_cross_entropy(h_t, W_t, torch.tensor(target), **kwargs)
        loss.sum().backward()
        expected = (loss.detach().numpy(), h_t.grad.numpy(), W_t.grad.numpy().T,
                    b_t.grad.numpy())
        assert_close(result, expected, 1e-10)


# --------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------


def peak_extra_bytes(call):
    """Peak bytes allocated while ``call()`` runs, less its outputs' bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    outputs = sum(np.asarray(part).nbytes for part in result if part is not None)
    return peak - before - outputs


@pytest.mark.parametrize("kind", ["index", "soft-float32"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("path,max_memory", [("row-blocks", 8 << 20), ("class-blocks", 1 << 20)])
def test_peak_memory_stays_within_max_memory(kind, dtype, path, max_memory, rng):
    n, d, c = 1024, 8, 8192
    h = rng.standard_normal((n, d)).astype(dtype)
    W = rng.standard_normal((d, c)).astype(dtype)
    bias = rng.standard_normal(c).astype(dtype)
    if kind == "index":
        target = rng.integers(0, c, n)
    else:  # converted to h's dtype block by block (for float64 h)
        target = np.zeros((n, c), np.float32)
        target[np.arange(n), rng.integers(0, c, n)] = 1.0
    # The whole logits alone would be far beyond the budget.
    assert n * c * np.dtype(dtype).itemsize >= 4 * max_memory
    probs = target if target.ndim == 2 else None
    plan = _plan_for(h, W, probs, False, True, max_memory, True)
    assert plan.class_blocked == (path == "class-blocks") and plan.rows < n
    # First call outside the measurement: SciPy's BLAS module is imported then.
    fastnn.linear_cross_entropy(h[:2], W, target[:2], bias=bias)
    extra = peak_extra_bytes(lambda: fastnn.linear_cross_entropy(
        h, W, target, bias=bias, max_memory=max_memory, label_smoothing=0.1,
        weight=np.ones(c)))
    # Slack for Python objects (frames, array headers, small index arrays).
    assert extra <= max_memory + (64 << 10), f"{extra} bytes for a budget of {max_memory}"
    # The budget is used, not wasted: at least half of it.
    assert extra >= max_memory // 2


def test_unfused_computation_would_exceed_the_budget(rng):
    # The measurement above can fail: the same tracemalloc count sees the
    # unfused computation's (N, C) logits and gradient.
    n, d, c = 256, 8, 4096
    h = rng.standard_normal((n, d))
    W = rng.standard_normal((d, c))
    target = rng.integers(0, c, n)
    extra = peak_extra_bytes(lambda: unfused(h, W, target))
    assert extra >= 2 * n * c * 8


# --------------------------------------------------------------------------
# float32, threads, layouts, edge cases
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ignore-100", "soft"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("path", PATHS)
def test_float32_stays_float32_and_matches_float64(kind, reduction, path, rng):
    h, W, bias, target = make_problem(rng, kind, dtype=np.float32)
    options = dict(bias=bias, reduction=reduction, label_smoothing=0.1,
                   ignore_index=ignore_index_of(kind), weight=rng.uniform(0.5, 2.0, C))
    budget = budget_for(path, h, W, target, True, True)
    assert_plan(path, h, W, target, True, True, budget)
    result = fastnn.linear_cross_entropy(h, W, target, max_memory=budget, **options)
    for part in result:
        assert part.dtype == np.float32
    exact = unfused(h.astype(np.float64), W.astype(np.float64), target,
                    **dict(options, bias=bias.astype(np.float64)))
    assert_close(result, exact, 2e-5)


@pytest.mark.parametrize("path", ["whole", "row-blocks"])
def test_results_do_not_depend_on_fastnns_thread_count(path, rng):
    # Enough rows x classes per block for the kernel to run on threads.
    n, d, c = 512, 8, 600
    h, W, bias, target = make_problem(rng, "index", n=n, d=d, c=c)
    budget = budget_for(path, h, W, target, False, True)
    results = []
    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        try:
            results.append(fastnn.linear_cross_entropy(h, W, target, bias=bias,
                                                       max_memory=budget))
        finally:
            fastnn.set_num_threads(None)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_inputs_are_not_modified_and_read_only_inputs_work(rng):
    h, W, bias, target = make_problem(rng, "soft")
    copies = [x.copy() for x in (h, W, bias, target)]
    for x in (h, W, bias, target):
        x.setflags(write=False)
    for path in PATHS:
        fastnn.linear_cross_entropy(h, W, target, bias=bias, label_smoothing=0.1,
                                    max_memory=budget_for(path, h, W, target, False, True))
    for x, copy in zip((h, W, bias, target), copies):
        np.testing.assert_array_equal(x, copy)


def test_strided_and_integer_inputs_are_converted(rng):
    h, W, bias, target = make_problem(rng, "index")
    expected = unfused(h, W, target, bias)
    strided_h = np.repeat(h, 2, axis=1)[:, ::2]
    strided_W = np.repeat(W, 2, axis=0)[::2]
    assert not strided_W.flags.c_contiguous and not strided_W.flags.f_contiguous
    result = fastnn.linear_cross_entropy(strided_h, strided_W, target, bias=bias)
    assert_close(result, expected, 1e-12)
    # Integers are taken as float64, as everywhere in fastnn.
    h_int = np.round(h * 3).astype(np.int32)
    result = fastnn.linear_cross_entropy(h_int, W, target.tolist(), bias=list(bias))
    assert_close(result, unfused(h_int.astype(np.float64), W, target, bias), 1e-12)


def test_no_bias_gives_no_bias_gradient(rng):
    h, W, _, target = make_problem(rng, "index")
    assert fastnn.linear_cross_entropy(h, W, target)[3] is None


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", ["index", "soft"])
def test_empty_batch(reduction, kind):
    h = np.zeros((0, D))
    W = np.ones((D, C))
    target = np.zeros(0, np.int64) if kind == "index" else np.zeros((0, C))
    result = fastnn.linear_cross_entropy(h, W, target, bias=np.zeros(C), reduction=reduction)
    expected = unfused(h, W, target, np.zeros(C), reduction=reduction)
    np.testing.assert_array_equal(result[0], expected[0])  # nan for the mean, as unfused
    assert result[1].shape == (0, D)
    np.testing.assert_array_equal(result[2], np.zeros((D, C)))
    np.testing.assert_array_equal(result[3], np.zeros(C))


def test_no_classes_with_every_row_ignored(rng):
    h = rng.standard_normal((3, D))
    target = np.full(3, -1)
    result = fastnn.linear_cross_entropy(h, np.zeros((D, 0)), target, ignore_index=-1,
                                         reduction="none")
    np.testing.assert_array_equal(result[0], np.zeros(3))
    np.testing.assert_array_equal(result[1], np.zeros((3, D)))
    assert result[2].shape == (D, 0)


@pytest.mark.parametrize("path", PATHS)
def test_no_features_gives_the_bias_logits(path, rng):
    _, _, bias, target = make_problem(rng, "index")
    h, W = np.zeros((N, 0)), np.zeros((0, C))
    budget = budget_for(path, h, W, target, False, True)
    result = fastnn.linear_cross_entropy(h, W, target, bias=bias, max_memory=budget)
    assert_close(result, unfused(h, W, target, bias), 1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_every_row_ignored_or_weighted_zero(path, rng):
    h, W, bias, target = make_problem(rng, "index")
    budget = budget_for(path, h, W, target, True, True)
    # All ignored: a nan mean with zero gradients, as unfused.
    ignored = np.full(N, -100)
    result = fastnn.linear_cross_entropy(h, W, ignored, bias=bias, ignore_index=-100,
                                         max_memory=budget)
    assert np.isnan(result[0])
    for grad in result[1:]:
        np.testing.assert_array_equal(grad, 0.0)
    # Zero total weight: nan loss and nan gradients, as unfused (and PyTorch).
    weight = np.ones(C)
    weight[np.unique(target)] = 0.0
    result = fastnn.linear_cross_entropy(h, W, target, bias=bias, weight=weight,
                                         max_memory=budget)
    expected = unfused(h, W, target, bias, weight=weight)
    assert np.isnan(result[0]) and np.isnan(expected[0])
    for got, want in zip(result[1:], expected[1:]):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


@pytest.mark.parametrize("path", PATHS)
def test_weight_of_a_class_absent_from_the_batch_does_not_reach_the_gradient(path, rng):
    # Without smoothing only the labels' weights enter (an infinite inverse
    # frequency of an absent class is harmless), as in softmax_cross_entropy.
    h, W, bias, target = make_problem(rng, "index")
    target[target == 7] = 8
    weight = np.ones(C)
    weight[7] = np.inf
    budget = budget_for(path, h, W, target, True, True)
    result = fastnn.linear_cross_entropy(h, W, target, bias=bias, weight=weight,
                                         max_memory=budget)
    expected = unfused(h, W, target, bias, weight=weight)
    for part in result:
        assert np.all(np.isfinite(part))
    assert_close(result, expected, 1e-12)


# --------------------------------------------------------------------------
# Bad input: a clear error, before any work
# --------------------------------------------------------------------------


def _error_cases():
    h = np.ones((4, 3))
    W = np.ones((3, 5))
    y = np.array([0, 1, 4, 2])
    P = np.full((4, 5), 0.2)
    return [
        ("D-mismatch", (h, np.ones((2, 5)), y), {}, ValueError, r"W must have shape \(D, C\) with D=3"),
        ("pytorch-layout", (h, np.ones((5, 3)), y), {}, ValueError, r"PyTorch's \(C, D\) layout"),
        ("h-1-D", (np.ones(3), W, y[:1]), {}, ValueError, r"h must be 2-D"),
        ("W-3-D", (h, np.ones((3, 5, 1)), y), {}, ValueError, r"W must have shape"),
        ("dtype-mismatch", (h.astype(np.float32), W, y), {}, TypeError,
         r"h and W must share one float dtype, got h float32 and W float64"),
        ("int-h-with-float32-W", (h.astype(np.int64), W.astype(np.float32), y), {}, TypeError,
         r"h int64 \(taken as float64\) and W float32"),
        ("bias-shape", (h, W, y), {"bias": np.ones(4)}, ValueError,
         r"bias must have shape \(5,\), one per class, got shape \(4,\)"),
        ("bias-2-D", (h, W, y), {"bias": np.ones((1, 5))}, ValueError, r"bias must have shape"),
        ("bias-dtype", (h, W, y), {"bias": np.ones(5, np.float32)}, TypeError,
         r"bias must have the dtype of h and W, float64, got float32"),
        ("label-too-large", (h, W, np.array([0, 1, 5, 2])), {}, ValueError,
         r"target\[2\] = 5 is not a class index: labels must lie in \[0, 5\)"),
        ("label-negative", (h, W, np.array([0, -1, 1, 2])), {}, ValueError,
         r"target\[1\] = -1 is not a class index"),
        ("label-vs-ignore", (h, W, np.array([0, -1, 1, 2])), {"ignore_index": -100}, ValueError,
         r"or equal ignore_index=-100"),
        ("float-labels", (h, W, y.astype(float)), {}, TypeError, r"must have an integer dtype"),
        ("label-count", (h, W, y[:3]), {}, ValueError, r"target has 3 labels but h has 4 rows"),
        ("target-3-D", (h, W, np.ones((4, 5, 1))), {}, ValueError,
         r"target must be class indices of shape \(4,\) or probabilities of shape \(4, 5\)"),
        ("probabilities-shape", (h, W, np.ones((4, 6))), {}, ValueError,
         r"must have shape \(N, C\) = \(4, 5\), got \(4, 6\)"),
        ("probabilities-complex", (h, W, P.astype(complex)), {}, TypeError, r"real numbers"),
        ("ignore-with-probabilities", (h, W, P), {"ignore_index": 0}, ValueError,
         r"ignore_index applies to class-index targets"),
        ("max_memory-zero", (h, W, y), {"max_memory": 0}, ValueError,
         r"max_memory must be a positive integer number of bytes, got 0"),
        ("max_memory-negative", (h, W, y), {"max_memory": -5}, ValueError, r"got -5"),
        ("max_memory-float", (h, W, y), {"max_memory": 1e6}, TypeError, r"got 1000000.0"),
        ("max_memory-bool", (h, W, y), {"max_memory": True}, TypeError, r"max_memory"),
        ("max_memory-str", (h, W, y), {"max_memory": "64M"}, TypeError, r"max_memory"),
        ("max_memory-too-small", (h, W, y), {"max_memory": 64}, ValueError,
         r"max_memory=64 bytes is too small for N=4 rows, D=3 features and C=5 classes: "
         r"at least \d+ bytes"),
        ("reduction", (h, W, y), {"reduction": "avg"}, ValueError, r"reduction must be one of"),
        ("label_smoothing", (h, W, y), {"label_smoothing": 2.0}, ValueError,
         r"label_smoothing must lie in \[0, 1\]"),
        ("weight-shape", (h, W, y), {"weight": np.ones(4)}, ValueError,
         r"weight must have shape \(5,\)"),
        ("weight-overflow", (h.astype(np.float32), W.astype(np.float32), y),
         {"weight": np.full(5, 1e300)}, ValueError, r"overflows the logits' dtype float32"),
        ("ignore_index-float", (h, W, y), {"ignore_index": 1.5}, TypeError, r"ignore_index"),
        ("masked-h", (np.ma.masked_array(h), W, y), {}, TypeError, r"h is a masked array"),
        ("masked-target", (h, W, np.ma.masked_array(y)), {}, TypeError,
         r"target is a masked array"),
        ("ragged-h", ([[1.0, 2.0], [3.0]], W, y), {}, ValueError, r"h must be array_like"),
        ("string-W", (h, np.full((3, 5), "a"), y), {}, TypeError, r"W must be an array of real"),
    ]


@pytest.mark.parametrize("args,kwargs,error,message",
                         [pytest.param(*case[1:], id=case[0]) for case in _error_cases()])
def test_bad_input_gets_a_clear_error_before_any_work(args, kwargs, error, message, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before the input was checked")

    monkeypatch.setattr(fused_linear, "matmul_into", no_work)
    monkeypatch.setattr(fused_linear, "_run", no_work)
    with pytest.raises(error, match=message) as info:
        fastnn.linear_cross_entropy(*args, **kwargs)
    assert str(info.value).startswith("linear_cross_entropy: ")


def test_max_memory_accepts_numpy_integers(rng):
    h, W, bias, target = make_problem(rng, "index")
    result = fastnn.linear_cross_entropy(h, W, target, max_memory=np.int64(1 << 20))
    assert_close(result, unfused(h, W, target), 1e-12)


# --------------------------------------------------------------------------
# The BLAS helper behind the blocks
# --------------------------------------------------------------------------


def _ordered(x, order):
    return np.asfortranarray(x) if order == "F" else np.ascontiguousarray(x)


@pytest.mark.parametrize("orders", ["CCC", "CFC", "FCF", "FFF", "CCF", "FFC"])
@pytest.mark.parametrize("accumulate", [False, True], ids=["overwrite", "accumulate"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_matmul_into_writes_in_place_without_copies(orders, accumulate, dtype, rng):
    from fastnn._blas import matmul_into

    m, k, n = 50, 40, 30
    a = _ordered(rng.standard_normal((m, k)).astype(dtype), orders[0])
    b = _ordered(rng.standard_normal((k, n)).astype(dtype), orders[1])
    start = rng.standard_normal((m, n)).astype(dtype)
    out = _ordered(np.full((m, n), np.nan, dtype), orders[2])
    expected = a.astype(np.float64) @ b + (start if accumulate else 0.0)
    matmul_into(out, a, b)  # imports SciPy's BLAS outside the measurement
    out[...] = start if accumulate else np.nan
    tracemalloc.start()
    try:
        returned = matmul_into(out, a, b, accumulate=accumulate)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert returned is out
    assert peak < out.nbytes // 4  # neither an operand nor the result was copied
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    # Transposed views are contiguous too: out.T = b.T @ a.T.
    matmul_into(out.T, b.T, a.T)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=tol, atol=tol)


def test_matmul_into_empty_and_non_contiguous(rng):
    from fastnn._blas import matmul_into

    out = np.full((3, 4), 7.0)
    matmul_into(out, np.ones((3, 0)), np.ones((0, 4)))
    np.testing.assert_array_equal(out, 0.0)  # an empty sum
    matmul_into(out, np.ones((3, 0)), np.ones((0, 4)), accumulate=True)
    np.testing.assert_array_equal(out, 0.0)
    matmul_into(np.empty((0, 4)), np.ones((0, 2)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="operands must be C- or Fortran-contiguous"):
        matmul_into(out, np.ones((3, 4))[:, ::2].T.T, np.ones((2, 4)))
    with pytest.raises(ValueError, match="out must be"):
        matmul_into(np.ones((3, 8))[:, ::2], np.ones((3, 2)), np.ones((2, 4)))


@pytest.mark.parametrize("path", PATHS)
def test_a_nan_row_stays_in_its_row(path, rng):
    h, W, bias, target = make_problem(rng, "index")
    h[5, 2] = np.nan
    budget = budget_for(path, h, W, target, False, True)
    loss, grad_h, grad_W, _ = fastnn.linear_cross_entropy(h, W, target, bias=bias,
                                                          reduction="none", max_memory=budget)
    expected = unfused(h, W, target, bias, reduction="none")
    np.testing.assert_array_equal(np.isnan(loss), np.arange(N) == 5)
    np.testing.assert_array_equal(np.isnan(grad_h).any(axis=1), np.arange(N) == 5)
    keep = np.arange(N) != 5
    assert relative_error(loss[keep], expected[0][keep]) < 1e-12
    assert relative_error(grad_h[keep], expected[1][keep]) < 1e-12
    assert np.isnan(grad_W).all() == np.isnan(expected[2]).all()


@pytest.mark.parametrize("n_rows, n_classes", [(8192, 1000), (1000, 32000), (333, 5000), (10, 7)])
@pytest.mark.parametrize("budget", [1 << 16, 1 << 20, 4 << 20, 64 << 20])
@pytest.mark.parametrize("itemsize", [4, 8])
def test_blocks_are_balanced(n_rows, n_classes, budget, itemsize):
    # A block plan never ends with a sliver: the last row or class block is
    # short of the others by less than the number of blocks.
    from fastnn.fused_linear import _plan

    plan = _plan(n_rows, 64, n_classes, itemsize, budget, probabilities=False,
                 convert_target=False, weighted=False, has_bias=True,
                 w_contiguous_blocks=False, strict=False)
    for total, size in ((n_rows, plan.rows), (n_classes, plan.classes)):
        blocks = -(-total // size)
        last = total - (blocks - 1) * size
        assert 0 <= size - last < blocks


def test_default_budget_splits_8192_rows_of_1000_classes_evenly():
    h = np.empty((8192, 512), np.float32)
    W = np.empty((512, 1000), np.float32)
    plan = _plan_for(h, W, None, False, True, 64 << 20, True)
    assert not plan.class_blocked
    assert 8192 % plan.rows == 0 and plan.rows < 8192
