"""Threads: set/get_num_threads, the multi-threaded path, concurrent callers, show_config.

Inputs of 20000 x 100 are far above any serial cutoff, so with two threads
the OpenMP path runs.  Its results must be bitwise those of one thread (rows
are split between threads, never within a row) and must match the
reference.  Concurrent calls from Python threads (the kernels release the
GIL) must give the same bits as serial calls.
"""

import os
import platform
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastnn
from fastnn import _reference

FLOATS = [np.float32, np.float64]
FLOAT_IDS = ["float32", "float64"]
BIG = (20_000, 100)


@pytest.fixture
def restore_threads():
    before = fastnn.get_num_threads()
    yield
    fastnn.set_num_threads(before)


def big_inputs(rng, dtype):
    logits = (rng.standard_normal(BIG) * 3).astype(dtype)
    labels = rng.integers(0, BIG[1], BIG[0])
    soft = rng.dirichlet(np.ones(BIG[1]), BIG[0])
    upstream = rng.standard_normal(BIG).astype(dtype)
    return logits, labels, soft, upstream


def run_all(logits, labels, soft, upstream):
    """Every kernel on the big inputs: a dict of name -> array."""
    s = fastnn.sigmoid(logits)
    results = {
        "softmax": fastnn.softmax(logits),
        "softmax_axis0": fastnn.softmax(logits, axis=0),
        "log_softmax": fastnn.log_softmax(logits),
        "log_softmax_F": fastnn.log_softmax(np.asfortranarray(logits)),
        "softmax_where": fastnn.softmax(logits, where=logits > -2),
        "softmax_3d_axis1": fastnn.softmax(logits.reshape(200, 100, 100), axis=1),
        "log_softmax_3d_axis0": fastnn.log_softmax(logits.reshape(200, 100, 100), axis=0),
        "sigmoid": s,
        "sigmoid_grad": fastnn.sigmoid_grad(s),
        "sigmoid_backward": fastnn.sigmoid_backward(upstream, s),
    }
    for reduction in ("mean", "none"):
        loss, grad = fastnn.softmax_cross_entropy(
            logits, labels, reduction=reduction, weight=np.linspace(0.5, 2, BIG[1]), label_smoothing=0.1
        )
        results[f"xent_index_{reduction}_loss"] = np.asarray(loss)
        results[f"xent_index_{reduction}_grad"] = grad
        loss, grad = fastnn.softmax_cross_entropy(logits, soft, reduction=reduction)
        results[f"xent_soft_{reduction}_loss"] = np.asarray(loss)
        results[f"xent_soft_{reduction}_grad"] = grad
    return results


def assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_get_and_set_num_threads(restore_threads):
    n = fastnn.get_num_threads()
    assert isinstance(n, int) and n >= 1
    fastnn.set_num_threads(1)
    assert fastnn.get_num_threads() == 1
    fastnn.set_num_threads(2)
    if fastnn.show_config(mode="dicts")["openmp"]:
        assert fastnn.get_num_threads() == 2
    else:
        assert fastnn.get_num_threads() >= 1


def test_show_config():
    config = fastnn.show_config(mode="dicts")
    from fastnn import _dispatch

    assert isinstance(config, dict)
    assert {"simd", "simd_available", "openmp", "num_threads"} <= config.keys()
    assert isinstance(config["simd_available"], tuple) and config["simd_available"]
    assert config["simd"] in config["simd_available"]
    assert tuple(config["simd_available"]) == tuple(_dispatch.available)
    assert isinstance(config["openmp"], bool)
    assert config["num_threads"] == fastnn.get_num_threads()


def test_show_config_prints_a_summary_by_default(capsys):
    from fastnn import _dispatch

    assert fastnn.show_config() is None
    output = capsys.readouterr().out
    lines = output.splitlines()
    assert lines[0] == f"fastnn {fastnn.__version__}"
    assert f"kernel variant:       {_dispatch.active} " in output
    assert f"threads:              {fastnn.get_num_threads()} for large inputs" in output
    assert ("OpenMP:               yes" in output) == _dispatch.kernels.openmp_enabled()
    assert fastnn.show_config(mode="stdout") is None
    assert capsys.readouterr().out == output
    fastnn.show_config(mode="dicts")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("mode", ["dict", "STDOUT", None, 1], ids=["dict", "upper-case", "none", "int"])
def test_show_config_rejects_an_unknown_mode(mode):
    with pytest.raises(ValueError, match="mode must be 'stdout' or 'dicts'"):
        fastnn.show_config(mode=mode)


def test_show_config_reports_the_active_variant(variant):
    assert fastnn.show_config(mode="dicts")["simd"] == variant


def test_best_variant_is_chosen_by_default():
    # The fast paths must be available and active: on an x86-64 CPU with AVX2 and FMA the avx2
    # variant (or a faster one) is usable, and the default is the fastest
    # usable variant (``available`` lists them slowest first) unless
    # FASTNN_SIMD asks for another.
    from fastnn import _dispatch

    config = fastnn.show_config(mode="dicts")
    assert "baseline" in _dispatch.available
    requested = os.environ.get("FASTNN_SIMD", "").strip().lower()
    assert config["simd"] == (requested or _dispatch.available[-1])
    if platform.machine().lower() in ("x86_64", "amd64") and os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
        if {"avx2", "fma"} <= flags:
            assert "avx2" in _dispatch.available
            assert _dispatch.available.index("avx2") > _dispatch.available.index("baseline")
            if not requested:
                assert config["simd"] != "baseline"


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_one_and_two_threads_bitwise_identical(dtype, variant, rng, restore_threads):
    inputs = big_inputs(rng, dtype)
    fastnn.set_num_threads(1)
    serial = run_all(*inputs)
    fastnn.set_num_threads(2)
    parallel = run_all(*inputs)
    assert_bitwise_equal(serial, parallel)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_big_inputs_match_reference(dtype, rng, restore_threads):
    fastnn.set_num_threads(2)
    logits, labels, soft, upstream = big_inputs(rng, dtype)
    results = run_all(logits, labels, soft, upstream)
    x = logits.astype(np.float64)
    rtol = 4e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(results["softmax"], _reference.softmax(x), rtol=rtol, atol=0)
    np.testing.assert_allclose(results["softmax_axis0"], _reference.softmax(x, axis=0), rtol=rtol, atol=0)
    np.testing.assert_allclose(results["softmax_where"], _reference.softmax(x, where=x > -2), rtol=rtol, atol=0)
    x3 = x.reshape(200, 100, 100)
    np.testing.assert_allclose(results["softmax_3d_axis1"], _reference.softmax(x3, axis=1), rtol=rtol, atol=0)
    ref_log3 = _reference.log_softmax(x3, axis=0)
    np.testing.assert_allclose(results["log_softmax_3d_axis0"], ref_log3, rtol=0, atol=rtol * np.abs(ref_log3).max())
    ref_log = _reference.log_softmax(x)
    np.testing.assert_allclose(results["log_softmax"], ref_log, rtol=0, atol=rtol * np.abs(ref_log).max())
    np.testing.assert_allclose(results["log_softmax_F"], ref_log, rtol=0, atol=rtol * np.abs(ref_log).max())
    np.testing.assert_allclose(results["sigmoid"], _reference.sigmoid(x), rtol=rtol, atol=0)
    s = results["sigmoid"].astype(np.float64)
    np.testing.assert_allclose(results["sigmoid_grad"], _reference.sigmoid_grad(s), rtol=rtol, atol=0)
    np.testing.assert_allclose(results["sigmoid_backward"], _reference.sigmoid_backward(upstream, s), rtol=rtol, atol=0)
    weight = np.linspace(0.5, 2, BIG[1])
    loss_tol = 1e-5 if dtype == np.float32 else 1e-12
    for reduction in ("mean", "none"):
        ref_loss, ref_grad = _reference.softmax_cross_entropy(
            x, labels, reduction=reduction, weight=weight, label_smoothing=0.1
        )
        np.testing.assert_allclose(results[f"xent_index_{reduction}_loss"], ref_loss, rtol=loss_tol)
        np.testing.assert_allclose(results[f"xent_index_{reduction}_grad"], ref_grad, rtol=0, atol=loss_tol * np.abs(ref_grad).max())
        ref_loss, ref_grad = _reference.softmax_cross_entropy(x, soft, reduction=reduction)
        np.testing.assert_allclose(results[f"xent_soft_{reduction}_loss"], ref_loss, rtol=loss_tol)
        np.testing.assert_allclose(results[f"xent_soft_{reduction}_grad"], ref_grad, rtol=0, atol=loss_tol * np.abs(ref_grad).max())


def test_bad_label_in_parallel_path_raises(rng, restore_threads):
    # The label check must also hold when rows are split between threads.
    fastnn.set_num_threads(2)
    logits = rng.standard_normal(BIG)
    labels = rng.integers(0, BIG[1], BIG[0])
    labels[BIG[0] - 3] = BIG[1]
    with pytest.raises(ValueError, match=str(BIG[1])):
        fastnn.softmax_cross_entropy(logits, labels)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
@pytest.mark.parametrize("num_threads", [1, 2])
def test_concurrent_python_threads(dtype, num_threads, rng, restore_threads):
    fastnn.set_num_threads(num_threads)
    jobs = []
    for _ in range(6):
        logits = (rng.standard_normal((3000, 64)) * 3).astype(dtype)
        labels = rng.integers(0, 64, 3000)
        soft = rng.dirichlet(np.ones(64), 3000)
        upstream = rng.standard_normal((3000, 64)).astype(dtype)
        jobs.append((logits, labels, soft, upstream))

    def work(job):
        logits, labels, soft, upstream = job
        s = fastnn.sigmoid(logits)
        loss, grad = fastnn.softmax_cross_entropy(logits, labels, label_smoothing=0.05, reduction="none")
        soft_loss, soft_grad = fastnn.softmax_cross_entropy(logits, soft)
        return {
            "softmax": fastnn.softmax(logits),
            "log_softmax_axis0": fastnn.log_softmax(logits, axis=0),
            "sigmoid": s,
            "sigmoid_backward": fastnn.sigmoid_backward(upstream, s),
            "loss": loss,
            "grad": grad,
            "soft_loss": np.asarray(soft_loss),
            "soft_grad": soft_grad,
        }

    serial = [work(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            concurrent = list(pool.map(work, jobs * 2))
            for i, result in enumerate(concurrent):
                assert_bitwise_equal(serial[i % len(jobs)], result)


def test_concurrent_out_buffers_do_not_mix(rng):
    # Several threads writing into their own out= arrays at once.
    xs = [rng.standard_normal((2000, 50)) for _ in range(8)]
    outs = [np.empty_like(x) for x in xs]
    expected = [fastnn.softmax(x) for x in xs]

    def work(i):
        return fastnn.softmax(xs[i], out=outs[i]) is outs[i]

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, range(8)))
    for out, e in zip(outs, expected):
        np.testing.assert_array_equal(out, e)
