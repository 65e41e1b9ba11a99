"""fastnn.dask: lazy kernels on chunked arrays, and DaskMLPClassifier and DaskMLPRegressor
on a cluster.

The cluster tests share one two-worker LocalCluster of processes (as a
real cluster: data and tasks cross process boundaries).  The client is not
made the default, so the tests of Dask's local scheduler run beside it.
"""

import os
import pickle
import signal
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import fastnn  # noqa: E402
import fastnn.dask as fd  # noqa: E402
from fastnn import _reference, MLPClassifier, MLPRegressor  # noqa: E402
from fastnn.classifier import ConvergenceWarning  # noqa: E402
from fastnn.dask import DaskMLPClassifier, DaskMLPRegressor  # noqa: E402
from fastnn.estimators._compat import DataConversionWarning  # noqa: E402
from fastnn.datasets import load_digits  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own deprecation noise on startup
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        c = distributed.Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X / 16, y


@pytest.fixture(scope="module")
def regression():
    """Features, two real targets, Poisson counts and sample weights (some zero)."""
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, size=(1000, 6))
    Y = np.stack([np.sin(3 * X[:, 0]) + X[:, 1] * X[:, 2], X[:, 3] ** 2 - X[:, 4] + 5], axis=1)
    counts = rng.poisson(np.exp(X[:, 0] + 0.5 * X[:, 5])).astype(float)
    weights = rng.random(1000) * (rng.random(1000) > 0.1)
    return X, Y, counts, weights


@pytest.fixture(scope="module")
def one_worker():
    """A cluster of one worker thread: the Dask fit must equal the in-memory one bit for bit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                           dashboard_address=None)
        c = distributed.Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


class TaskSizes(dask.callbacks.Callback):
    """Records the largest result any task of a local computation returns
    (but the final gathering of the answer)."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def _posttask(self, key, result, dsk, state, worker_id):
        name = key[0] if isinstance(key, tuple) else key
        if str(name).startswith("finalize"):
            return  # the gathering of the result that compute() returns
        for value in result if isinstance(result, tuple) else (result,):
            if isinstance(value, np.ndarray):
                self.largest = max(self.largest, value.nbytes)


# --- lazy kernels ---------------------------------------------------------------------

CHUNKINGS = [(37, 23), (10, 5), (7, (1, 2, 20)), (37, 1), ((30, 0, 7), (11, 0, 12))]


def _data(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(37, 23)) * 8).astype(dtype)
    where = rng.random((37, 23)) > 0.4
    where[3] = False  # a row with nothing to normalise
    where[:, 5] = False  # a column with nothing to normalise (axis 0)
    return x, where


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("log_output", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_softmax_matches_reference(chunks, axis, log_output, dtype):
    x, where = _data(dtype)
    X = da.from_array(x, chunks=chunks)
    lazy, reference = (
        (fd.log_softmax, _reference.log_softmax) if log_output else (fd.softmax, _reference.softmax)
    )
    result = lazy(X, axis=axis)
    assert isinstance(result, da.Array) and result.chunks == X.chunks and result.dtype == dtype
    rtol = 2e-6 if dtype == np.float32 else 1e-13
    expected = reference(x.astype(np.float64), axis=axis)
    np.testing.assert_allclose(result.compute(), expected, rtol=rtol, atol=rtol)
    masked = lazy(X, axis=axis, where=da.from_array(where, chunks=7)).compute()
    expected = reference(x.astype(np.float64), axis=axis, where=where)
    np.testing.assert_allclose(masked, expected, rtol=rtol, atol=rtol)
    # and the NumPy-level function, special entries included
    np.testing.assert_array_equal(
        np.isinf(masked), np.isinf(getattr(fastnn, lazy.__name__)(x, axis=axis, where=where))
    )


@pytest.mark.parametrize("row", [
    [np.inf, 1.0, 2.0, 3.0], [np.nan, 1.0, 2.0, 3.0], [-np.inf] * 4, [1.0, 2.0, -np.inf, 0.0],
    [0.0, -40.0, -60.0, -800.0],
])
@pytest.mark.parametrize("log_output", [False, True])
def test_chunked_softmax_special_rows_match_the_numpy_function(row, log_output):
    x = np.array([row, [0.0, 1.0, 2.0, 3.0]])
    func = "log_softmax" if log_output else "softmax"
    for chunks in [(2, 1), (2, 2), (1, 3)]:
        lazy = getattr(fd, func)(da.from_array(x, chunks=chunks)).compute()
        np.testing.assert_allclose(lazy, getattr(fastnn, func)(x), rtol=1e-15, atol=0)


def test_chunked_log_softmax_keeps_a_dominant_entry():
    # log p of the largest entry is -log1p(exp(-40) + exp(-60)), about
    # -4.25e-18: it rounds to 0 if the sum is formed as 1 + tiny.
    x = da.from_array(np.array([[0.0, -40.0, -60.0]]), chunks=(1, 1))
    value = fd.log_softmax(x)[0, 0].compute()
    assert value == pytest.approx(-(np.exp(-40.0) + np.exp(-60.0)), rel=1e-14)


def test_split_axis_is_never_gathered_into_one_chunk():
    x = np.random.default_rng(1).normal(size=(64, 4000))
    X = da.from_array(x, chunks=(64, 500))  # eight 256 KB chunks along the axis
    sizes = TaskSizes()
    with sizes, dask.config.set(scheduler="sync"):
        result = fd.softmax(X).compute()
    np.testing.assert_allclose(result, _reference.softmax(x), rtol=1e-13)
    assert 0 < sizes.largest <= 64 * 500 * 8 * 2


def test_functions_are_lazy():
    calls = []

    def counted(block):
        calls.append(1)
        return block

    x = da.from_array(np.ones((6, 4)), chunks=(3, 2)).map_blocks(
        counted, dtype=np.float64, meta=np.empty((0, 0))
    )
    y = da.from_array(np.array([0, 1, 2, 3, 0, 1]), chunks=3)
    results = [
        fastnn.softmax(x), fastnn.log_softmax(x, axis=0), fastnn.logsumexp(x), fastnn.sigmoid(x),
        fastnn.sigmoid_grad(x), fastnn.sigmoid_backward(x, x),
        *fastnn.softmax_cross_entropy(x, y), *fastnn.sigmoid_binary_cross_entropy(x, x * 0),
    ]
    assert calls == []
    assert all(isinstance(r, da.Array) for r in results)
    dask.compute(*results)
    assert calls


@pytest.mark.parametrize("axis", [0, 1, -1, (0, 2), (2, 1), None])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_logsumexp_matches_scipy(axis, keepdims, dtype):
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(9)
    x = (rng.normal(size=(7, 9, 5)) * 30).astype(dtype)
    x[0, 0, 0] = np.inf
    x[1, :, 0] = -np.inf
    x[2, 3, 1] = np.nan
    where = rng.random(x.shape) > 0.3
    X = da.from_array(x, chunks=(3, 4, 2))
    result = fastnn.logsumexp(X, axis, keepdims=keepdims)
    assert isinstance(result, da.Array) and result.dtype == dtype
    expected = special.logsumexp(x.astype(np.float64), axis=axis, keepdims=keepdims)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(result.compute(), expected, rtol=rtol)
    masked = fd.logsumexp(X, axis, keepdims=keepdims, where=da.from_array(where, chunks=4))
    np.testing.assert_allclose(
        masked.compute(), fastnn.logsumexp(x, axis, keepdims=keepdims, where=where), rtol=rtol
    )


def test_chunked_logsumexp_keeps_a_dominated_tail():
    x = da.from_array(np.array([[0.0, -40.0, -60.0]]), chunks=(1, 1))
    assert fd.logsumexp(x)[0].compute() == pytest.approx(np.exp(-40.0) + np.exp(-60.0),
                                                         rel=1e-14)


@pytest.mark.parametrize("func", ["sigmoid", "sigmoid_grad"])
def test_elementwise_match(func):
    x = np.random.default_rng(2).normal(size=(3, 11, 5)) * 5
    lazy = getattr(fastnn, func)(da.from_array(x, chunks=(2, 4, 5)))
    np.testing.assert_array_equal(lazy.compute(), getattr(fastnn, func)(x))


def test_sigmoid_backward_aligns_chunks():
    g, s = np.random.default_rng(3).random((2, 9, 7))
    lazy = fastnn.sigmoid_backward(da.from_array(g, chunks=4), da.from_array(s, chunks=3))
    np.testing.assert_array_equal(lazy.compute(), fastnn.sigmoid_backward(g, s))


def test_out_receives_the_lazy_result():
    x = da.from_array(np.arange(6.0).reshape(2, 3), chunks=1)
    out = da.zeros((2, 3), chunks=1)
    assert fastnn.softmax(x, out=out) is out
    np.testing.assert_allclose(out.compute(), fastnn.softmax(np.arange(6.0).reshape(2, 3)))
    with pytest.raises(TypeError, match="out must be a dask array"):
        fd.softmax(x, out=np.empty((2, 3)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [
    {}, {"weight": True}, {"ignore_index": -100}, {"label_smoothing": 0.2},
    {"weight": True, "ignore_index": 3, "label_smoothing": 0.1}, {"probabilities": True},
    {"probabilities": True, "weight": True, "label_smoothing": 0.3},
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_on_row_chunks_equals_one_call(reduction, options, dtype):
    rng = np.random.default_rng(4)
    z = (rng.normal(size=(53, 7)) * 3).astype(dtype)
    kwargs = {"reduction": reduction}
    if options.get("probabilities"):
        target = rng.dirichlet(np.ones(7), 53).astype(dtype)
    else:
        target = rng.integers(0, 7, 53)
        if "ignore_index" in options:
            kwargs["ignore_index"] = options["ignore_index"]
            target[::4] = options["ignore_index"]
    if options.get("weight"):
        kwargs["weight"] = rng.random(7) + 0.1
    if "label_smoothing" in options:
        kwargs["label_smoothing"] = options["label_smoothing"]
    loss, grad = fastnn.softmax_cross_entropy(
        da.from_array(z, chunks=(10, 3)), da.from_array(target, chunks=17), **kwargs
    )
    loss, grad = dask.compute(loss, grad)
    expected_loss, expected_grad = fastnn.softmax_cross_entropy(z, target, **kwargs)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    assert np.asarray(loss).dtype == dtype and grad.dtype == dtype
    np.testing.assert_allclose(loss, expected_loss, rtol=rtol)
    np.testing.assert_allclose(grad, expected_grad, rtol=rtol, atol=rtol * 1e-3)


def test_cross_entropy_mean_over_nothing_is_nan_as_in_numpy():
    z = np.zeros((4, 3))
    target = np.full(4, -1)
    loss, grad = dask.compute(*fd.softmax_cross_entropy(
        da.from_array(z, chunks=2), da.from_array(target, chunks=2), ignore_index=-1))
    expected = fastnn.softmax_cross_entropy(z, target, ignore_index=-1)
    assert np.isnan(loss) and np.isnan(expected[0])
    np.testing.assert_array_equal(grad, expected[1])


def test_cross_entropy_label_error_names_the_global_row():
    target = np.zeros(50, dtype=int)
    target[43] = 9
    _, grad = fd.softmax_cross_entropy(da.zeros((50, 7), chunks=20), da.from_array(target, chunks=20))
    with pytest.raises(ValueError, match=r"target\[43\] = 9 is not a class index"):
        grad.compute()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [{}, {"ignore_index": 2, "weight": True, "bias": True},
                                     {"probabilities": True, "label_smoothing": 0.1}])
def test_linear_cross_entropy_on_row_chunks_equals_one_call(reduction, options):
    rng = np.random.default_rng(10)
    h, W = rng.normal(size=(41, 6)), rng.normal(size=(6, 9))
    kwargs = {"reduction": reduction}
    if options.get("probabilities"):
        target = rng.dirichlet(np.ones(9), 41)
    else:
        target = rng.integers(0, 9, 41)
    for key in ("ignore_index", "label_smoothing"):
        if key in options:
            kwargs[key] = options[key]
    if options.get("weight"):
        kwargs["weight"] = rng.random(9) + 0.5
    if options.get("bias"):
        kwargs["bias"] = rng.normal(size=9)
    lazy = fastnn.linear_cross_entropy(
        da.from_array(h, chunks=(10, 4)), W, da.from_array(target, chunks=13), **kwargs
    )
    assert all(isinstance(r, da.Array) for r in lazy if r is not None)
    results = dask.compute(*[r for r in lazy if r is not None])
    expected = [e for e in fastnn.linear_cross_entropy(h, W, target, **kwargs) if e is not None]
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_linear_cross_entropy_label_error_names_the_global_row():
    target = np.zeros(30, dtype=int)
    target[25] = 7
    lazy = fd.linear_cross_entropy(da.zeros((30, 2), chunks=10), np.zeros((2, 4)),
                                   da.from_array(target, chunks=10))
    with pytest.raises(ValueError, match=r"target\[25\] = 7 is not a class index"):
        lazy[1].compute()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_on_chunks_equals_one_call(reduction):
    rng = np.random.default_rng(5)
    z = rng.normal(size=(31, 6)) * 4
    t = (rng.random((31, 6)) > 0.5).astype(float)
    w, pw = rng.random((31, 1)), rng.random(6) + 0.5
    loss, grad = dask.compute(*fastnn.sigmoid_binary_cross_entropy(
        da.from_array(z, chunks=(8, 4)), t, weight=w, pos_weight=pw, reduction=reduction))
    expected = fastnn.sigmoid_binary_cross_entropy(z, t, weight=w, pos_weight=pw,
                                                   reduction=reduction)
    np.testing.assert_allclose(loss, expected[0], rtol=1e-13)
    np.testing.assert_allclose(grad, expected[1], rtol=1e-13, atol=1e-17)


def test_bad_arguments_fail_at_once():
    x = da.zeros((4, 3), chunks=2)
    with pytest.raises(TypeError, match="where must be a boolean array"):
        fd.softmax(x, where=da.zeros((4, 3), chunks=2))
    with pytest.raises(ValueError, match="does not broadcast"):
        fd.softmax(x, where=np.ones(4, dtype=bool))
    with pytest.raises(np.exceptions.AxisError):
        fd.log_softmax(x, axis=2)
    with pytest.raises(TypeError, match="real numbers"):
        fd.softmax(da.zeros(3, dtype=complex))
    with pytest.raises(ValueError, match="same shape"):
        fd.sigmoid_backward(x, da.zeros((4, 2)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        fd.softmax_cross_entropy(x, da.zeros(4, dtype=int), reduction="avg")
    with pytest.raises(ValueError, match="weight must have shape"):
        fd.softmax_cross_entropy(x, da.zeros(4, dtype=int), weight=np.ones(2))
    with pytest.raises(ValueError, match="target must be class indices"):
        fd.softmax_cross_entropy(x, da.zeros(5, dtype=int))
    with pytest.raises(TypeError, match="must be integers"):
        fd.softmax_cross_entropy(x, da.zeros(4))
    with pytest.raises(ValueError, match="does not broadcast"):
        fd.sigmoid_binary_cross_entropy(x, x, weight=np.ones(5))


# --- DaskMLPClassifier --------------------------------------------------------------------


def _fit_both(X, y, client=None, chunks=400, sample_weight=None,
              pair=(MLPClassifier, DaskMLPClassifier), **params):
    """The in-memory estimator and its Dask twin (``pair``), fitted with the same parameters."""
    params = {"hidden_layer_sizes": (15,), "max_iter": 12, "random_state": 0, **params}
    Xd, yd = da.from_array(X, chunks=chunks), da.from_array(y, chunks=chunks)
    wd = None if sample_weight is None else da.from_array(sample_weight, chunks=chunks)
    in_memory, on_dask = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = in_memory(**params).fit(X, y, sample_weight=sample_weight)
        chunked = on_dask(client, **params).fit(Xd, yd, sample_weight=wd)
    return local, chunked


REGRESSORS = (MLPRegressor, DaskMLPRegressor)


def _killed_worker_data(kind, digits, regression):
    if kind == "classifier":
        return (*digits, {})
    X, Y, _, _ = regression
    return X, Y, {"pair": REGRESSORS}


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_fit_on_the_cluster_matches_the_in_memory_fit(client, digits, solver):
    X, y = digits
    local, chunked = _fit_both(X, y, client, solver=solver)
    # Summation order differs (two workers); nothing else does.
    np.testing.assert_allclose(chunked.params_, local.params_, rtol=1e-9, atol=1e-11)
    assert chunked.n_iter_ == local.n_iter_
    np.testing.assert_allclose(chunked.loss_curve_, local.loss_curve_, rtol=1e-10)
    Xd = da.from_array(X, chunks=500)
    assert chunked.score(Xd, da.from_array(y, chunks=500)) == local.score(X, y)
    proba = chunked.predict_proba(Xd)
    assert isinstance(proba, da.Array) and proba.chunks[0] == Xd.chunks[0]
    np.testing.assert_allclose(proba.compute(), local.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(chunked.predict(Xd).compute(), local.predict(X))
    # per step: the parameters to each of the two workers (and row numbers)
    assert chunked.bytes_sent_ >= 2 * chunked.params_.nbytes * chunked.n_iter_


def test_lbfgs_gradient_equals_the_gathered_gradient(client, digits):
    X, y = digits
    w = np.random.default_rng(6).random(len(y))
    est = DaskMLPClassifier(client, hidden_layer_sizes=(10,), solver="lbfgs", max_iter=1,
                            alpha=0.01, random_state=0, class_weight="balanced")
    Xd, yd, wd = (da.from_array(a, chunks=300) for a in (X, y, w))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(Xd, yd, sample_weight=wd)
    rows, runner = est._training_rows(Xd, yd, wd, client)
    try:
        params = est.mlp_.init_params(3)
        loss, grad = rows.loss_and_grad(params, None, est.alpha)
    finally:
        runner.close()
    assert len(runner.workers) == 2
    counts = np.bincount(y, weights=w)
    weights = w * (counts.sum() / (10 * counts))[y]
    expected_loss, expected_grad = est.mlp_.loss_and_grad(
        params, X, y, l2=est.alpha / weights.sum(), sample_weight=weights
    )
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_one_worker_fit_equals_mlpclassifier(digits, solver):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                           dashboard_address=None)
    with cluster, distributed.Client(cluster, set_as_default=False) as one:
        local, chunked = _fit_both(X, y, one, solver=solver, early_stopping=solver != "lbfgs")
    if solver == "lbfgs":
        # The worker's BLAS runs on one thread, the test's on several.
        np.testing.assert_allclose(chunked.params_, local.params_, rtol=1e-9, atol=1e-11)
    else:
        np.testing.assert_array_equal(chunked.params_, local.params_)
        assert chunked.validation_scores_ == local.validation_scores_


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_fit_is_deterministic_and_survives_a_lost_worker(client, digits, regression, kind,
                                                         monkeypatch):
    X, y, pair = _killed_worker_data(kind, digits, regression)
    params = dict(solver="adam", batch_size=300, max_iter=6, **pair)
    _, first = _fit_both(X, y, client, **params)
    _, second = _fit_both(X, y, client, **params)
    np.testing.assert_array_equal(first.params_, second.params_)

    from fastnn.dask import _sharded_rows

    original = _sharded_rows.ChunkedRows.loss_and_grad
    calls, killed = [], []

    def kill_a_worker_on_the_fifth_step(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            victim = self.runner.workers[0]
            pid = self.runner.client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            killed.append(victim)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(_sharded_rows.ChunkedRows, "loss_and_grad",
                        kill_a_worker_on_the_fifth_step)
    _, survivor = _fit_both(X, y, client, **params)
    assert len(calls) > 5 and len(killed) == 1
    # The worker is gone (its nanny starts a new one, at a new address), and
    # its shard was recomputed: the result is the undisturbed one.
    assert killed[0] not in client.scheduler_info()["workers"]
    np.testing.assert_array_equal(survivor.params_, first.params_)
    client.wait_for_workers(2, timeout=60)


def test_local_scheduler_trains_chunk_by_chunk(digits, tmp_path):
    X, y = digits
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    Xd, yd = da.from_array(mapped, chunks=(200, 64)), da.from_array(y, chunks=200)
    params = dict(hidden_layer_sizes=(15,), solver="lbfgs", max_iter=10, random_state=0)
    sizes = TaskSizes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with sizes, dask.config.set(scheduler="sync"):
            chunked = DaskMLPClassifier(**params).fit(Xd, yd)
        local = MLPClassifier(**params).fit(X, y)
    np.testing.assert_allclose(chunked.params_, local.params_, rtol=1e-9, atol=1e-11)
    # No task ever held more than a chunk of X (200 x 64 float64 = 100 KB)
    # beside a gradient: X was never gathered.
    assert 0 < sizes.largest <= 200 * 64 * 8 + chunked.params_.nbytes


def test_dataframe_input_and_multilabel(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 4))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0], axis=1).astype(int)
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcd")), npartitions=3)
    est = DaskMLPClassifier(client, hidden_layer_sizes=(8,), solver="lbfgs", max_iter=200,
                            random_state=0)
    est.fit(frame, da.from_array(Y, chunks=100))
    assert list(est.feature_names_in_) == list("abcd")
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 2
    predicted = est.predict(frame)
    assert predicted.shape == (300, 2)
    assert est.score(frame, da.from_array(Y, chunks=100)) > 0.9
    local = est.to_local()
    np.testing.assert_array_equal(local.predict(pd.DataFrame(X, columns=list("abcd"))),
                                  predicted.compute())


def test_string_labels_sample_weight_and_verbose(client, capsys):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(240, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    w = rng.random(240)
    local, chunked = _fit_both(X, y, client, chunks=60, sample_weight=w, solver="sgd",
                               verbose=True, max_iter=3)
    output = capsys.readouterr().out
    assert output.count("Iteration") == 6  # three epochs, from each estimator
    np.testing.assert_allclose(chunked.params_, local.params_, rtol=1e-9, atol=1e-12)
    Xd = da.from_array(X, chunks=60)
    assert chunked.predict(Xd).compute().tolist() == local.predict(X).tolist()
    assert chunked.score(Xd, da.from_array(y, chunks=60), da.from_array(w, chunks=60)) == (
        pytest.approx(local.score(X, y, sample_weight=w), rel=1e-12)
    )


def test_estimator_pickles_and_converts_to_local(client, digits):
    X, y = digits
    _, est = _fit_both(X, y, client, solver="lbfgs", max_iter=5)
    assert est.get_params()["client"] is client
    restored = pickle.loads(pickle.dumps(est))
    assert restored.client is None and est.client is client
    np.testing.assert_array_equal(restored.params_, est.params_)
    local = est.to_local()
    assert type(local) is MLPClassifier and "client" not in local.get_params()
    np.testing.assert_array_equal(local.predict(X),
                                  est.predict(da.from_array(X, chunks=900)).compute())
    assert DaskMLPClassifier(hidden_layer_sizes=(3,)).get_params()["hidden_layer_sizes"] == (3,)
    sklearn_base = pytest.importorskip("sklearn.base")
    copy = sklearn_base.clone(est)  # shares the client, which cannot be copied
    assert copy.client is client and copy.get_params()["max_iter"] == 5
    assert not hasattr(copy, "params_")


def test_warm_start_continues_like_mlpclassifier(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(10,), solver="adam", max_iter=2, random_state=0,
                  warm_start=True)
    Xd, yd = da.from_array(X, chunks=X.shape[0]), da.from_array(y, chunks=X.shape[0])
    local, chunked = MLPClassifier(**params), DaskMLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            local.fit(X, y)
            chunked.fit(Xd, yd)
    # One chunk on the local scheduler: the same computation, call for call.
    np.testing.assert_array_equal(chunked.params_, local.params_)
    assert chunked.loss_curve_ == local.loss_curve_ and len(local.loss_curve_) == 4
    with pytest.raises(ValueError, match="same classes"):
        chunked.fit(Xd, yd % 3)


def test_bad_fit_input_gets_a_clear_error(client):
    X = da.zeros((10, 3), chunks=5)
    with pytest.raises(ValueError, match="y has 9 rows, but X has 10"):
        DaskMLPClassifier(client).fit(X, da.zeros(9, chunks=5))
    with pytest.raises(TypeError, match="client must be a dask.distributed Client"):
        DaskMLPClassifier((10,)).fit(X, da.arange(10, chunks=5) % 2)
    bad = da.from_array(np.array([[np.nan, 0, 0]] + [[0, 0, 0]] * 9), chunks=5)
    # MLPClassifier's own check, run on the chunk, says where
    with pytest.raises(ValueError, match="In rows 0 to 4: Input X contains NaN"):
        DaskMLPClassifier(client, max_iter=1).fit(bad, da.arange(10, chunks=5) % 2)
    with pytest.raises(ValueError, match="only one class"):
        DaskMLPClassifier(client).fit(X, da.zeros(10, chunks=5))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_paths(digits, regression, kind):
    if kind == "classifier":
        (X, y), (in_memory, on_dask), first = digits, (MLPClassifier, DaskMLPClassifier), {
            "classes": np.arange(10)}
    else:
        X, y, _, _ = regression
        in_memory, on_dask, first = MLPRegressor, DaskMLPRegressor, {}
    w = np.random.default_rng(12).random(len(y))
    Xd, yd, wd = (da.from_array(a, chunks=600) for a in (X, y, w))
    est = on_dask(hidden_layer_sizes=(10,), random_state=0, shuffle=False)
    est.partial_fit(Xd, yd, wd, **first)  # scikit-learn 1.9's order: sample_weight third
    local = in_memory(hidden_layer_sizes=(10,), random_state=0, shuffle=False)
    for start in range(0, len(y), 600):
        rows = slice(start, start + 600)
        local.partial_fit(X[rows], y[rows], w[rows], **first)
    np.testing.assert_array_equal(est.params_, local.params_)
    assert est.t_ == local.t_ == len(y)
    # As in memory, only the stochastic solvers have partial_fit.
    assert hasattr(est, "partial_fit") and not hasattr(on_dask(solver="lbfgs"), "partial_fit")
    with pytest.raises(AttributeError, match="lbfgs is not stochastic"):
        on_dask(solver="lbfgs").partial_fit(Xd, yd)


def test_dask_ml_incremental_wraps_mlpclassifier(digits):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = digits
    Xd, yd = da.from_array(X, chunks=600), da.from_array(y, chunks=600)
    params = dict(hidden_layer_sizes=(20,), learning_rate_init=0.01, random_state=0)
    inc = wrappers.Incremental(MLPClassifier(**params), scoring="accuracy",
                               shuffle_blocks=False)
    local = MLPClassifier(**params)
    with dask.config.set(scheduler="sync"):
        for _ in range(4):
            inc.partial_fit(Xd, yd, classes=np.arange(10))
            for start in range(0, len(y), 600):
                local.partial_fit(X[start:start + 600], y[start:start + 600],
                                  classes=np.arange(10))
        np.testing.assert_array_equal(inc.estimator_.params_, local.params_)
        assert inc.score(Xd, yd) > 0.85


# --- DaskMLPRegressor ---------------------------------------------------------------------

# Each case: the loss, the targets (two real outputs, or Poisson counts), and the solver's
# parameters; every case has sample weights (some zero).
REGRESSION_CASES = {
    "squared-2-outputs-lbfgs": ("squared_error", "Y", {"solver": "lbfgs"}),
    "squared-2-outputs-adam-early-stopping": (
        "squared_error", "Y", {"solver": "adam", "learning_rate_init": 0.01, "batch_size": 150,
                               "early_stopping": True, "n_iter_no_change": 3}),
    "poisson-lbfgs": ("poisson", "counts", {"solver": "lbfgs"}),
    "poisson-sgd-early-stopping": (
        "poisson", "counts", {"solver": "sgd", "learning_rate_init": 0.01,
                              "early_stopping": True}),
}


def _regression_case(regression, case):
    X, Y, counts, weights = regression
    loss, target, params = REGRESSION_CASES[case]
    return X, (Y if target == "Y" else counts), weights, {"loss": loss, "pair": REGRESSORS,
                                                          **params}


@pytest.mark.parametrize("case", list(REGRESSION_CASES))
def test_regressor_on_the_cluster_matches_the_in_memory_fit(client, regression, case):
    X, y, w, params = _regression_case(regression, case)
    local, chunked = _fit_both(X, y, client, chunks=250, sample_weight=w, **params)
    # Summation order differs (two workers); nothing else does.
    np.testing.assert_allclose(chunked.params_, local.params_, rtol=1e-9, atol=1e-11)
    assert chunked.n_iter_ == local.n_iter_ and chunked.n_outputs_ == local.n_outputs_
    # The loss as scikit-learn reports it: averaged over the outputs, or with the
    # Poisson deviance's constant: each worker adds its rows' share.
    np.testing.assert_allclose(chunked.loss_curve_, local.loss_curve_, rtol=1e-10)
    if params.get("early_stopping"):
        np.testing.assert_allclose(chunked.validation_scores_, local.validation_scores_,
                                   rtol=1e-10)
        np.testing.assert_allclose(chunked.validation_loss_curve_,
                                   local.validation_loss_curve_, rtol=1e-10)
        assert chunked.best_validation_score_ == max(chunked.validation_scores_)
    Xd, yd, wd = (da.from_array(a, chunks=300) for a in (X, y, w))
    predicted = chunked.predict(Xd)
    assert isinstance(predicted, da.Array) and predicted.chunks[0] == Xd.chunks[0]
    assert predicted.shape == local.predict(X).shape == y.shape
    np.testing.assert_allclose(predicted.compute(), local.predict(X), rtol=1e-9, atol=1e-12)
    assert chunked.score(Xd, yd, wd) == pytest.approx(local.score(X, y, sample_weight=w),
                                                      rel=1e-9)
    assert chunked.score(Xd, yd) == pytest.approx(local.score(X, y), rel=1e-9)
    assert chunked.bytes_sent_ >= 2 * chunked.params_.nbytes * chunked.n_iter_


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_lbfgs_gets_the_exact_full_batch_gradient(client, regression, loss):
    X, Y, counts, w = regression
    y = Y if loss == "squared_error" else counts
    est = DaskMLPRegressor(client, loss=loss, hidden_layer_sizes=(10,), solver="lbfgs",
                           max_iter=1, alpha=0.01, random_state=0)
    Xd, yd, wd = (da.from_array(a, chunks=300) for a in (X, y, w))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(Xd, yd, sample_weight=wd)
    rows, runner = est._training_rows(Xd, yd, wd, client)
    try:
        params = est.mlp_.init_params(3)
        loss_value, grad = rows.loss_and_grad(params, None, est.alpha)
    finally:
        runner.close()
    assert len(runner.workers) == 2
    # The gathered data's loss and gradient, with scikit-learn's conventions
    # written out: the squared error averaged over the outputs as well, the
    # Poisson deviance with its constant y log y - y.
    l2 = est.alpha / w.sum()
    data_loss, expected_grad = est.mlp_.loss_and_grad(params, X, y, l2=l2, sample_weight=w)
    penalty = 0.5 * l2 * sum(float(np.sum(W**2)) for W, _ in est.mlp_.unpack(params))
    data_loss -= penalty
    if loss == "squared_error":
        expected_loss = data_loss / y.shape[1] + penalty
    else:
        constant = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0) - y
        expected_loss = data_loss + penalty + np.average(constant, weights=w)
    assert loss_value == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("case", list(REGRESSION_CASES))
def test_one_worker_regressor_fit_equals_mlpregressor(one_worker, regression, case):
    X, y, w, params = _regression_case(regression, case)
    local, chunked = _fit_both(X, y, one_worker, chunks=250, sample_weight=w, **params)
    np.testing.assert_array_equal(chunked.params_, local.params_)
    assert chunked.loss_curve_ == local.loss_curve_
    for name in ("validation_scores_", "validation_loss_curve_"):  # early stopping only
        assert getattr(chunked, name, None) == getattr(local, name, None)


def test_regressor_predictions_are_lazy_and_to_local_predicts_the_same(client, regression):
    X, Y, _, _ = regression
    _, est = _fit_both(X, Y, client, chunks=250, pair=REGRESSORS, solver="lbfgs", max_iter=5)
    calls = []

    def counted(block):
        calls.append(1)
        return block

    Xd = da.from_array(X, chunks=200).map_blocks(counted, dtype=X.dtype, meta=np.empty((0, 0)))
    predicted = est.predict(Xd)
    assert calls == [] and isinstance(predicted, da.Array)
    local = est.to_local()
    assert type(local) is MLPRegressor and "client" not in local.get_params()
    assert local.get_params() == {k: v for k, v in est.get_params().items() if k != "client"}
    np.testing.assert_array_equal(predicted.compute(scheduler="sync"), local.predict(X))
    assert calls
    assert local.score(X, Y) == pytest.approx(est.score(da.from_array(X, chunks=300),
                                                        da.from_array(Y, chunks=300)), rel=1e-12)


def test_regressor_pickles_and_clones_without_the_client(client, regression):
    X, Y, _, _ = regression
    _, est = _fit_both(X, Y, client, chunks=250, pair=REGRESSORS, solver="lbfgs", max_iter=5)
    assert est.get_params()["client"] is client and est.get_params()["loss"] == "squared_error"
    restored = pickle.loads(pickle.dumps(est))
    assert restored.client is None and est.client is client
    np.testing.assert_array_equal(restored.params_, est.params_)
    sklearn_base = pytest.importorskip("sklearn.base")
    copy = sklearn_base.clone(est)
    assert copy.client is client and copy.get_params()["max_iter"] == 5
    assert not hasattr(copy, "params_")


def test_regressor_dataframes_and_a_column_vector(client, regression):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, Y, _, _ = regression
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcdef")), npartitions=4)
    targets = dd.from_pandas(pd.DataFrame(Y, columns=["u", "v"]), npartitions=4)
    est = DaskMLPRegressor(client, hidden_layer_sizes=(8,), solver="lbfgs", max_iter=50,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(frame, targets)
        assert list(est.feature_names_in_) == list("abcdef") and est.n_outputs_ == 2
        np.testing.assert_allclose(
            est.predict(frame).compute(),
            est.to_local().predict(pd.DataFrame(X, columns=list("abcdef"))), rtol=1e-12)
        # A column vector: the in-memory estimators' warning, once, and 1-D predictions.
        Xd = da.from_array(X, chunks=250)
        with pytest.warns(DataConversionWarning, match="column-vector y") as caught:
            est.fit(Xd, da.from_array(Y[:, :1], chunks=250))
    assert len([w for w in caught if w.category is DataConversionWarning]) == 1
    assert est.n_outputs_ == 1 and est.predict(Xd).shape == (len(X),)


def test_regressor_empty_chunks_and_warm_start(regression):
    X, Y, _, _ = regression
    # An empty chunk (a filtered-out partition) adds no rows; one chunk on the
    # local scheduler is the in-memory computation, call for call.
    Xd = da.from_array(X, chunks=((1000, 0), 6))
    Yd = da.from_array(Y, chunks=((1000, 0), 2))
    params = dict(hidden_layer_sizes=(10,), solver="adam", max_iter=2, random_state=0,
                  warm_start=True)
    local, chunked = MLPRegressor(**params), DaskMLPRegressor(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            local.fit(X, Y)
            chunked.fit(Xd, Yd)
    np.testing.assert_array_equal(chunked.params_, local.params_)
    assert chunked.loss_curve_ == local.loss_curve_ and len(local.loss_curve_) == 4
    predicted = chunked.predict(Xd)
    assert predicted.chunks == ((1000, 0), (2,))
    np.testing.assert_array_equal(predicted.compute(), local.predict(X))


def test_regressor_bad_input_gets_the_in_memory_errors_with_the_rows(client):
    X = da.from_array(np.zeros((10, 3)), chunks=5)
    counts = np.arange(10.0)
    counts[7] = -1.0
    with pytest.raises(ValueError, match=r"In rows 5 to 9: y must be non-negative for "
                                         r"loss='poisson'.*minimum of .*-1.0"):
        DaskMLPRegressor(client, loss="poisson", max_iter=1).fit(X, da.from_array(counts, 5))
    y = np.arange(10.0)
    y[2] = np.nan
    with pytest.raises(ValueError, match="In rows 0 to 4: Input y contains NaN"):
        DaskMLPRegressor(client, max_iter=1).fit(X, da.from_array(y, chunks=5))
    with pytest.raises(ValueError, match="y has 9 rows, but X has 10"):
        DaskMLPRegressor(client).fit(X, da.zeros(9, chunks=5))
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero"):
        DaskMLPRegressor(client, max_iter=1).fit(X, da.zeros(10, chunks=5),
                                                 sample_weight=da.zeros(10, chunks=5))
    with pytest.raises(ValueError, match="The 'loss' parameter of DaskMLPRegressor"):
        DaskMLPRegressor(client, loss="absolute_error").fit(X, da.zeros(10, chunks=5))
    fitted = DaskMLPRegressor(client, solver="lbfgs", max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(X, da.zeros(10, chunks=5))
    with pytest.raises(ValueError, match=r"y must have 1 output\(s\)"):
        fitted.score(X, da.zeros((10, 2), chunks=5))
    with pytest.raises(ValueError, match="expecting 3 features"):
        fitted.predict(da.zeros((4, 2), chunks=2))


# --------------------------------------------------------------------------
# Dropout: each row's masks follow its position, not its worker
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_dropout_fit_is_the_same_on_one_and_two_workers(client, one_worker, digits, regression,
                                                       kind, solver):
    if kind == "classifier":
        X, y = digits
        X, y = X[:600], y[:600]
        pair = (MLPClassifier, DaskMLPClassifier)
    else:
        X, y = regression[0], regression[1]
        pair = REGRESSORS
    params = dict(solver=solver, dropout=0.3, max_iter=4, batch_size=64, pair=pair)
    local, on_one = _fit_both(X, y, one_worker, chunks=150, **params)
    _, on_two = _fit_both(X, y, client, chunks=150, **params)
    # One worker sums exactly as in memory; two differ only in the order of summation.
    np.testing.assert_array_equal(on_one.params_, local.params_)
    np.testing.assert_allclose(on_two.params_, local.params_, rtol=1e-10, atol=1e-12)
    plain, _ = _fit_both(X, y, None, chunks=150, **{**params, "dropout": 0.0})
    assert not np.allclose(plain.params_, local.params_)
