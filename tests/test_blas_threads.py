"""Training steps with small matrix products run on one BLAS thread."""

import numpy as np
import pytest

import fastnn
from fastnn import _blas_threads
from fastnn.estimators import _base as classifier

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads_now():
    return {info["filepath"]: info["num_threads"] for info in threadpoolctl.threadpool_info()
            if info["user_api"] == "blas"}


def test_small_products_limit_every_blas_to_one_thread_and_restore():
    before = _blas_threads_now()
    assert before, "no BLAS found by threadpoolctl"
    with _blas_threads.training_blas_limit(200, (64, 256, 10)):
        assert set(_blas_threads_now().values()) == {1}
    assert _blas_threads_now() == before


def test_large_products_keep_the_blas_thread_count():
    before = _blas_threads_now()
    # 2 * 60000 * 784 * 256 flops per product: far above the limit.
    with _blas_threads.training_blas_limit(60_000, (784, 256, 10)):
        assert _blas_threads_now() == before


@pytest.mark.parametrize("solver, batch_size, expected_rows", [
    ("lbfgs", "auto", 150), ("adam", "auto", 150), ("sgd", 32, 32), ("adam", 1000, 150)])
def test_fit_limits_for_its_step_size(monkeypatch, solver, batch_size, expected_rows):
    seen = []
    real = classifier.training_blas_limit

    def recording(rows_per_step, layer_sizes):
        seen.append((rows_per_step, tuple(layer_sizes)))
        return real(rows_per_step, layer_sizes)

    monkeypatch.setattr(classifier, "training_blas_limit", recording)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((150, 4)), rng.integers(0, 3, 150)
    clf = fastnn.MLPClassifier(hidden_layer_sizes=(7,), solver=solver, batch_size=batch_size,
                               max_iter=3, random_state=0)
    with pytest.warns(Warning):  # max_iter=3 does not converge (and batch_size may be clipped)
        clf.fit(X, y)
    assert seen == [(expected_rows, (4, 7, 3))]
