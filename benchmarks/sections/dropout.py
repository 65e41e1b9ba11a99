"""Section "dropout": what dropout adds to an epoch of training.

One epoch of Adam (batch 200, one hidden layer of 100 relu units) on the fit
section's 50,000 x 100 10-class data, with ``dropout=0.5`` and without, for
MLPClassifier and MLPRegressor, float32 and float64, on one thread (BLAS and
fastnn).  The ratio is the cost of drawing the masks, applying them and
carrying them back through the backward pass: fastnn's goal is below 1.15.
"""

import warnings

import numpy as np

from _context import limit_blas
from _report import format_ratio, heading
from _timer import format_seconds

EPOCHS = 2


def _data(quick):
    from sklearn.datasets import make_classification

    n = 10_000 if quick else 50_000
    X, y = make_classification(n_samples=n, n_features=100, n_informative=40, n_classes=10,
                               random_state=0)
    return X, y, (X @ np.linspace(-1, 1, 100)) / 10.0


def run(ctx):
    try:
        X, y_class, y_real = _data(ctx.args.quick)
    except ImportError as exc:
        print(f"dropout: skipped ({exc}); it needs scikit-learn for its data")
        return {"skipped": str(exc)}
    heading(
        f"dropout: one epoch of Adam on {X.shape[0]} x {X.shape[1]}, 1 thread",
        "Per-epoch time (median of several fits of 2 epochs each, the two kinds of fit "
        "alternating) with dropout=0.5 over the time without; the goal is below 1.15x.",
    )
    from fastnn import MLPClassifier, MLPRegressor

    print(f"{'estimator':<14} {'dtype':<8} {'no dropout':>11} {'dropout=0.5':>12} {'ratio':>7}")
    rows = []
    with limit_blas(1):
        ctx.set_threads(1)
        for Estimator, y in ((MLPClassifier, y_class), (MLPRegressor, y_real)):
            for dtype in (np.float32, np.float64):
                Xd = X.astype(dtype)
                fits = {}
                for rate in (0.0, 0.5):
                    def fit(rate=rate):
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            Estimator(hidden_layer_sizes=(100,), max_iter=EPOCHS, tol=0,
                                      random_state=0, dropout=rate).fit(Xd, y)
                    fits[rate] = fit

                # The two fits alternate, so that the machine's drift over the run
                # falls on both alike and stays out of their ratio.
                timings = ctx.time_interleaved(fits, min_repeats=3,
                                               budget_s=0 if ctx.args.quick else 10)
                times = {}
                for rate, timing in timings.items():
                    ctx.record("dropout", "fastnn", timing, estimator=Estimator.__name__,
                               dtype=np.dtype(dtype).name, dropout=rate)
                    times[rate] = timing.median / EPOCHS
                ratio = times[0.5] / times[0.0]
                rows.append({"estimator": Estimator.__name__, "dtype": np.dtype(dtype).name,
                             "epoch": times[0.0], "epoch_dropout": times[0.5], "ratio": ratio})
                print(f"{Estimator.__name__:<14} {np.dtype(dtype).name:<8} "
                      f"{format_seconds(times[0.0]):>11} {format_seconds(times[0.5]):>12} "
                      f"{format_ratio(ratio):>7}", flush=True)
    return {"rows": rows}
