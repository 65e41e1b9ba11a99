"""Section "dask_fit": DaskMLPClassifier on a LocalCluster of 1 and 2 worker processes.

What the scaling model in ``docs/distributed.md`` needs, measured in one run:

* the compute per sample: one in-process forward and backward pass over a
  minibatch, per sample, on one thread;
* the parameter size;
* the fixed cost of one synchronous step on the cluster (a minibatch of
  two rows: all round trip, no compute), for 1 and 2 workers;
* the epoch time of ``solver="adam"`` at two batch sizes on 20,000 rows,
  and the time of one full-batch ``solver="lbfgs"`` evaluation on 200,000
  rows, for 1 and 2 workers and for the in-memory ``MLPClassifier`` (one
  thread);
* the bytes sent to the workers per step (``bytes_sent_`` over the steps).

Every worker has one thread (``threads_per_worker=1``, and Dask limits its
BLAS to one thread), so 2 workers use both cores of a 2-core machine.
Times are medians of repeated fits; an epoch's time is the difference
between fits of 1 + k and 1 epochs, divided by k, so that the one-off
loading of the shards is left out.

Run it with ``python benchmarks/run.py --sections dask_fit`` (``--quick``
for fewer repeats); it needs ``dask[array]`` and ``distributed``.
"""

import time
import warnings

import numpy as np

from _context import limit_blas
from _report import heading
from _timer import format_seconds

N_SAMPLES, N_FEATURES, N_CLASSES, HIDDEN, CHUNK = 20_000, 100, 10, 100, 2_000
N_LARGE = 200_000  # for the full-batch (lbfgs) evaluations


def _data(n_samples):
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(N_CLASSES, N_FEATURES))
    y = rng.integers(0, N_CLASSES, n_samples)
    X = centers[y] + rng.normal(scale=2.0, size=(n_samples, N_FEATURES))
    return X, y


def _median_fit_time(make, fit_args, repeats):
    times = []
    for _ in range(repeats):
        estimator = make()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(*fit_args)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), estimator


def run(ctx):
    try:
        import dask.array as da
        import distributed
        from fastnn.dask import DaskMLPClassifier
    except ImportError as exc:
        print(f"dask_fit: skipped ({exc}); pip install 'dask[array]' distributed")
        ctx.sections["dask_fit"] = {"skipped": str(exc)}
        return
    from fastnn import MLPClassifier

    heading(
        "DaskMLPClassifier on a LocalCluster: epoch time and bytes per step",
        f"{N_SAMPLES}x{N_FEATURES} float64, {N_CLASSES} classes, {HIDDEN} hidden units, "
        f"row chunks of {CHUNK}; 1 thread per worker",
    )
    repeats = 3 if ctx.args.quick else 5
    extra_epochs = 2 if ctx.args.quick else 4
    X, y = _data(N_SAMPLES)
    Xd, yd = da.from_array(X, chunks=CHUNK), da.from_array(y, chunks=CHUNK)
    big_X, big_y = _data(N_LARGE)
    big_Xd = da.from_array(big_X, chunks=N_LARGE // 10)
    big_yd = da.from_array(big_y, chunks=N_LARGE // 10)
    base = dict(hidden_layer_sizes=(HIDDEN,), random_state=0, tol=0.0, shuffle=True)

    # Compute per sample, in process, one thread: a forward and backward pass.
    mlp_probe = MLPClassifier(**base, max_iter=1, batch_size=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp_probe.fit(X[:2000], y[:2000])
    params = mlp_probe.params_
    batch_X, batch_y = X[:2000], y[:2000]
    ctx.set_threads(1)
    with limit_blas(1):
        timing = ctx.time(lambda: mlp_probe.mlp_._loss_and_grad_trusted(
            params, batch_X, batch_y, None, 0.0))
    per_sample = timing.median / 2000
    n_params = params.size
    print(f"  compute per sample (forward+backward, 1 thread): {format_seconds(per_sample)}")
    print(f"  parameters: {n_params} ({n_params * 8 / 1e6:.2f} MB in float64)")
    summary = {"per_sample_s": per_sample, "n_params": n_params, "workers": {}}

    configs = [("adam, batch 200", dict(solver="adam", batch_size=200)),
               ("adam, batch 2000", dict(solver="adam", batch_size=2000))]
    rows = []
    for n_workers in (None, 1, 2):
        label = "in memory" if n_workers is None else f"{n_workers} worker(s)"
        cluster = client = None
        if n_workers is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                                   processes=True, dashboard_address=None)
                client = distributed.Client(cluster, set_as_default=False)
        try:
            result = {}
            for name, options in configs:
                if n_workers is None:
                    ctx.set_threads(1)

                    def make(k, options=options):
                        return MLPClassifier(**base, **options, max_iter=k)
                    args = (X, y)
                else:
                    def make(k, options=options):
                        return DaskMLPClassifier(client, **base, **options, max_iter=k)
                    args = (Xd, yd)
                with limit_blas(1 if n_workers is None else None):
                    t1, _ = _median_fit_time(lambda: make(1), args, repeats)
                    tk, fitted = _median_fit_time(lambda: make(1 + extra_epochs), args, repeats)
                epoch = (tk - t1) / extra_epochs
                steps = fitted.n_iter_ * -(-N_SAMPLES // options["batch_size"])
                sent = getattr(fitted, "bytes_sent_", 0) / steps
                result[name] = {"epoch_s": epoch, "bytes_per_step": sent}
                rows.append((label, name, epoch, sent))
            # Fixed cost per step: minibatches of two rows, one epoch over 400 rows.
            if n_workers is not None:
                tiny = da.from_array(X[:400], chunks=200), da.from_array(y[:400], chunks=200)
                t_step, _ = _median_fit_time(
                    lambda: DaskMLPClassifier(client, **base, solver="adam", batch_size=2,
                                              max_iter=2), tiny, repeats)
                t_one, _ = _median_fit_time(
                    lambda: DaskMLPClassifier(client, **base, solver="adam", batch_size=2,
                                              max_iter=1), tiny, repeats)
                result["step_overhead_s"] = (t_step - t_one) / 200
                print(f"  {label}: fixed cost of one step "
                      f"{format_seconds(result['step_overhead_s'])}")
                make_lbfgs = lambda k: DaskMLPClassifier(  # noqa: E731
                    client, **base, solver="lbfgs", max_iter=k, max_fun=k)
                lbfgs_args = (big_Xd, big_yd)
            else:
                make_lbfgs = lambda k: MLPClassifier(  # noqa: E731
                    **base, solver="lbfgs", max_iter=k, max_fun=k)
                lbfgs_args = (big_X, big_y)
            # One full-batch lbfgs evaluation on the large data: the difference
            # between fits of 1 + k and 1 evaluations, over k.
            with limit_blas(1 if n_workers is None else None):
                t1, _ = _median_fit_time(lambda: make_lbfgs(1), lbfgs_args, repeats)
                tk, _ = _median_fit_time(lambda: make_lbfgs(1 + extra_epochs), lbfgs_args,
                                         repeats)
            t_lbfgs = (tk - t1) / extra_epochs
            result["lbfgs_evaluation_s"] = t_lbfgs
            summary["workers"][label] = result
        finally:
            if client is not None:
                client.close()
                cluster.close()
    print()
    print(f"  {'':14s} {'solver':18s} {'epoch':>10s} {'bytes sent/step':>16s}")
    for label, name, epoch, sent in rows:
        print(f"  {label:14s} {name:18s} {format_seconds(epoch):>10s} {sent:16,.0f}")
    for label, result in summary["workers"].items():
        print(f"  {label:14s} lbfgs, one evaluation on {N_LARGE} rows: "
              f"{format_seconds(result['lbfgs_evaluation_s'])}")
    ctx.sections["dask_fit"] = summary
