"""Section "fit": MLPClassifier.fit and MLPRegressor.fit against scikit-learn (and PyTorch), and their GEMM floor.

Every implementation trains the same network with the same settings: one
hidden layer of 100 units (relu or logistic), Adam with scikit-learn's
defaults (learning rate 1e-3, batch 200, alpha 1e-4 divided by the batch
size), shuffling every epoch, a fixed number of epochs (``tol=0``, so that
no implementation stops earlier than another), float32 or float64, 1 or 2
threads.  The classifiers end in a softmax trained with the cross-entropy,
the regressors in an identity output trained with half the squared error.
fastnn and scikit-learn start from the same seed, so in float64 they
compute the same network (fastnn draws scikit-learn's initial weights and
shuffles); PyTorch starts from a copy of those initial weights and adds the
same penalty to its loss (``cross_entropy``, or ``0.5 * mse_loss``, the
mean over the batch).  Threads are limited for the BLAS (threadpoolctl),
fastnn's kernels and PyTorch alike.

The figures are the median time of whole ``fit`` calls, the ratio
scikit-learn time / fastnn time (and PyTorch time / fastnn time), the
held-out accuracy or R² of each model, measured in the same run, and each
estimator's time over the GEMM floor: the time of the fit's own matrix
products alone, same shapes, same order, same number of steps, same BLAS
thread count (``benchmarks/_gemm_floor.py``).

Run it with ``python benchmarks/run.py --sections fit`` (``--quick`` for a
smoke run on small data).
"""

import time
import warnings

import numpy as np

from _context import limit_blas
from _gemm_floor import time_gemm_floor
from _report import heading, print_load_legend, ratio_label, time_cell, watched

from fastnn._blas_threads import training_blas_limit

ACTIVATIONS = ("relu", "logistic")
HIDDEN = 100
BATCH = 200  # scikit-learn's batch_size="auto" on data of 200 rows or more
REGRESSION_NOISE = 50.0  # about 1/5 of the signal's spread: the best R² is about 0.96
FRIEDMAN_NOISE = 1.0  # Friedman's own choice; the best R² is about 0.96 too


def regression_name(n_samples):
    """The label of the make_regression rows (``_targets.py`` picks the floor goal's by it)."""
    return f"make_regression {n_samples}x100"


def _split(name, X_all, y_all):
    """(name, X_train, y_train, X_test, y_test): a seeded 80/20 split."""
    order = np.random.default_rng(0).permutation(len(y_all))
    n_train = int(0.8 * len(y_all))
    train, test = order[:n_train], order[n_train:]
    return name, X_all[train], y_all[train], X_all[test], y_all[test]


def _classification_datasets(quick):
    """Splits of the digits and of a 10-class make_classification."""
    from sklearn.datasets import make_classification

    from fastnn.datasets import load_digits

    X, y = load_digits()
    X = X / 16.0
    n_large = 5_000 if quick else 50_000
    X_big, y_big = make_classification(n_samples=n_large, n_features=100, n_informative=20,
                                       n_classes=10, random_state=0)
    return [_split("digits", X, y), _split(f"classification {n_large}x100", X_big, y_big)]


def _make_friedman1(n_samples):
    """Friedman #1 (10 features, 5 of them used), from fastnn.datasets when it has it.

    Returns (X, y, source).
    """
    from fastnn import datasets

    if hasattr(datasets, "make_friedman1"):
        X, y = datasets.make_friedman1(n_samples=n_samples, noise=FRIEDMAN_NOISE, seed=0)
        return X, y, "fastnn.datasets"
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=n_samples, noise=FRIEDMAN_NOISE, random_state=0)
    return X, y, "sklearn.datasets"


def _regression_datasets(quick):
    """Splits of a 100-feature make_regression and of Friedman #1, y standardised.

    Also returns, for each, the best held-out R² the noise allows
    (1 - noise variance / variance of the held-out targets), and where
    Friedman #1 came from.
    """
    from sklearn.datasets import make_regression

    n_linear = 5_000 if quick else 50_000
    n_friedman = 2_000 if quick else 20_000
    X_lin, y_lin = make_regression(n_samples=n_linear, n_features=100, n_informative=20,
                                   noise=REGRESSION_NOISE, random_state=0)
    X_fr, y_fr, source = _make_friedman1(n_friedman)
    sets, ceilings = [], {}
    for name, X, y, noise in ((regression_name(n_linear), X_lin, y_lin, REGRESSION_NOISE),
                              (f"friedman1 {n_friedman}x{X_fr.shape[1]}", X_fr, y_fr, FRIEDMAN_NOISE)):
        name, X_train, y_train, X_test, y_test = _split(name, X, y)
        # Scaled by the training part's mean and spread: Adam's default step
        # (1e-3) suits targets of unit scale, and make_regression's spread
        # over hundreds, which 20 epochs would not reach.
        mean, scale = y_train.mean(), y_train.std()
        ceilings[name] = float(1.0 - noise ** 2 / y_test.var())
        sets.append((name, X_train, (y_train - mean) / scale, X_test, (y_test - mean) / scale))
    return sets, ceilings, source


def _r2(y_true, y_pred):
    """The coefficient of determination, in float64."""
    y_true = np.asarray(y_true, dtype=np.float64)
    residual = y_true - np.asarray(y_pred, dtype=np.float64)
    return float(1.0 - residual @ residual / np.sum((y_true - y_true.mean()) ** 2))


def _torch_fit(torch, X, y, X_test, params0_layers, activation, max_iter, seed, dtype, regression):
    """Adam on the same network in PyTorch; returns (seconds, held-out predictions).

    The predictions are class indices, or the regression's values.
    """
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    generator = torch.Generator().manual_seed(seed)
    (W1, b1), (W2, b2) = params0_layers
    hidden = torch.nn.Linear(W1.shape[0], W1.shape[1], dtype=torch_dtype)
    output = torch.nn.Linear(W2.shape[0], W2.shape[1], dtype=torch_dtype)
    with torch.no_grad():
        hidden.weight.copy_(torch.from_numpy(np.ascontiguousarray(W1.T)))
        hidden.bias.copy_(torch.from_numpy(b1))
        output.weight.copy_(torch.from_numpy(np.ascontiguousarray(W2.T)))
        output.bias.copy_(torch.from_numpy(b2))
    act = torch.relu if activation == "relu" else torch.sigmoid
    optimizer = torch.optim.Adam([*hidden.parameters(), *output.parameters()], lr=1e-3,
                                 betas=(0.9, 0.999), eps=1e-8)
    X_t = torch.from_numpy(X.astype(dtype))
    if regression:
        y_t = torch.from_numpy(np.ascontiguousarray(y, dtype=dtype).reshape(-1, 1))
        mse_loss = torch.nn.functional.mse_loss

        def data_loss(outputs, targets):
            # scikit-learn's squared error: half the mean over the batch.
            return 0.5 * mse_loss(outputs, targets)
    else:
        y_t = torch.from_numpy(y.astype(np.int64))
        data_loss = torch.nn.functional.cross_entropy
    n, batch, alpha = len(y), min(BATCH, len(y)), 1e-4
    start = time.perf_counter()
    for _ in range(max_iter):
        order = torch.randperm(n, generator=generator)
        for s in range(0, n, batch):
            index = order[s : s + batch]
            loss = data_loss(output(act(hidden(X_t[index]))), y_t[index])
            # scikit-learn's penalty: alpha / (2 * batch) * sum ||W||^2, weights only.
            loss = loss + 0.5 * alpha / len(index) * (
                hidden.weight.pow(2).sum() + output.weight.pow(2).sum()
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        outputs = output(act(hidden(torch.from_numpy(X_test.astype(dtype)))))
    return seconds, (outputs[:, 0] if regression else outputs.argmax(dim=1)).numpy()


# Columns of both tables: header, width.  The score columns (acc or r2) come
# before the floor's.  A figure's column ends with its mark (_report.cell),
# so its title ends with a space to stand over the digits.
_COLUMNS = (("data", 26), ("act", 8), ("dtype", 7), ("thr", 3), ("fastnn ", 9), ("sklearn ", 9),
            ("vs sklearn ", 11), ("torch ", 9), ("vs torch ", 9))
_FLOOR_COLUMNS = (("floor ", 9), ("x floor ", 8), ("sk x floor ", 11))


def _score_columns(score):
    return ((f"{score} fastnn", 10), (f"{score} sklearn", 11), (f"{score} torch", 9))


def _header(score):
    return " ".join(f"{title:>{width}}" for title, width in (*_COLUMNS, *_score_columns(score), *_FLOOR_COLUMNS))


def _line(row, score):
    """One row of a table, as the header of ``_header(score)`` reads."""
    busy = row.get("busy", False)  # the fits of a row are timed together
    fast = {"median": row["fastnn"], "busy": busy}
    sklearn = {"median": row["sklearn"], "busy": busy}
    torch = {"median": row["torch"], "busy": busy} if row.get("torch") else None
    floor = {"median": row["floor"], "busy": row.get("floor_busy", False)}
    cells = [
        row["data"], row["activation"], row["dtype"], row["threads"],
        time_cell(fast), time_cell(sklearn), ratio_label(sklearn, fast), time_cell(torch), ratio_label(torch, fast),
        f"{row[f'{score}_fastnn']:.4f}", f"{row[f'{score}_sklearn']:.4f}",
        f"{row[f'{score}_torch']:.4f}" if torch else "-",
        time_cell(floor), ratio_label(fast, floor), ratio_label(sklearn, floor),
    ]
    widths = [width for _, width in (*_COLUMNS, *_score_columns(score), *_FLOOR_COLUMNS)]
    return " ".join(f"{text:>{width}}" for text, width in zip(cells, widths))


def run(ctx):
    """The section runner called by ``benchmarks/run.py``."""
    try:
        from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
        from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
    except ImportError:
        print("\nfit section skipped: scikit-learn is not installed")
        ctx.sections["fit"] = {"skipped": "scikit-learn not installed"}
        return
    from fastnn import MLPClassifier, MLPRegressor

    quick = ctx.args.quick
    max_iter = 2 if quick else 20
    # A fit on the digits takes about 0.1 s, where the spread between runs
    # is a third of the time: more repeats there, for a stable median.
    small_repeats, large_repeats = (1, 1) if quick else (9, 3)
    protocol = (
        f"hidden layer of {HIDDEN} units, Adam, batch {BATCH}, alpha 1e-4, {max_iter} epochs "
        f"(tol=0), 80/20 split; median of {small_repeats} fits on data of under 10,000 training "
        f"rows and {large_repeats} on the larger. 'vs sklearn' and 'vs torch' are "
        "their time divided by fastnn's. 'floor' is the time of the same fit's matrix products "
        "alone (same shapes and order, same steps, the row's BLAS thread count, nothing "
        "elementwise); 'x floor' is fastnn's time over it, 'sk x floor' scikit-learn's."
    )
    torch_note = " and PyTorch" if ctx.torch else ""
    floors = {}  # (data, dtype, threads) -> GemmFloor: the activation does not change it

    heading(f"MLPClassifier.fit: fastnn against scikit-learn{torch_note}",
            f"{protocol} acc is the held-out accuracy of each model.")
    print(_header("acc"), flush=True)
    rows = _table(ctx, SklearnMLPClassifier, MLPClassifier, _classification_datasets(quick),
                  max_iter, (small_repeats, large_repeats), floors, "acc")

    regression_sets, ceilings, friedman_source = _regression_datasets(quick)
    heading(
        f"MLPRegressor.fit: fastnn against scikit-learn{torch_note}",
        f"{protocol} r2 is the held-out R² of each model; y is standardised. The best R² the noise "
        "allows: " + ", ".join(f"{name} {value:.3f}" for name, value in ceilings.items())
        + f" (Friedman #1 from {friedman_source}).",
    )
    print(_header("r2"), flush=True)
    regressor_rows = _table(ctx, SklearnMLPRegressor, MLPRegressor, regression_sets, max_iter,
                            (small_repeats, large_repeats), floors, "r2")
    ctx.set_threads(ctx.max_threads)
    ctx.sections["fit"] = {"max_iter": max_iter, "repeats": [small_repeats, large_repeats],
                           "batch_size": BATCH, "rows": rows, "regressor_rows": regressor_rows,
                           "r2_ceilings": ceilings, "friedman1_source": friedman_source}


def _table(ctx, Sklearn, Fastnn, datasets, max_iter, repeats_by_size, floors, score):
    """Measure, print and return the rows of one estimator's table."""
    rows, figures = [], []
    regression = score == "r2"
    for name, X_train, y_train, X_test, y_test in datasets:
        repeats = repeats_by_size[0] if len(y_train) < 10_000 else repeats_by_size[1]
        for activation in ACTIVATIONS:
            for dtype in (np.float32, np.float64):
                Xtr, Xte = X_train.astype(dtype), X_test.astype(dtype)
                # Regression targets in the data's dtype: scikit-learn would
                # otherwise subtract float64 targets from float32 outputs and
                # run the backward pass in float64.
                ytr = y_train.astype(dtype) if regression else y_train
                settings = dict(hidden_layer_sizes=(HIDDEN,), activation=activation,
                                max_iter=max_iter, tol=0.0, random_state=0)
                for threads in ctx.threads:
                    with limit_blas(threads):
                        ctx.set_threads(threads)
                        row, layer_sizes = _measure(ctx, Sklearn, Fastnn, settings, Xtr, ytr, Xte,
                                                    y_test, repeats, activation, max_iter, dtype,
                                                    score)
                        key = (name, np.dtype(dtype).name, threads)
                        if key not in floors:
                            # On the BLAS threads the fit itself uses: fastnn's fit
                            # runs products this small on one BLAS thread.
                            with training_blas_limit(min(BATCH, len(Xtr)), layer_sizes), \
                                    ctx.watch_load() as floor_load:
                                floors[key] = (time_gemm_floor(Xtr, layer_sizes, BATCH, max_iter,
                                                               repeats=repeats), floor_load)
                    floor, floor_load = floors[key]
                    row.update(data=name, activation=activation, dtype=np.dtype(dtype).name,
                               threads=threads, estimator=Fastnn.__name__, **floor.as_dict(),
                               fastnn_over_floor=row["fastnn"] / floor.median,
                               sklearn_over_floor=row["sklearn"] / floor.median,
                               floor_busy=floor_load.busy, floor_others_cpu_share=floor_load.share)
                    rows.append(row)
                    print(_line(row, score), flush=True)
                    figures += [row, watched(floor.median, floor_load)]
    print_load_legend(figures)
    return rows


def _measure(ctx, Sklearn, Fastnn, settings, X, y, X_test, y_test, repeats, activation,
             max_iter, dtype, score):
    """Time both estimators (and PyTorch); return the row and the network's layer sizes."""
    times = {"fastnn": [], "sklearn": [], "torch": []}
    models = {}
    with ctx.watch_load() as load:
        for _ in range(repeats):
            for label, Estimator in (("fastnn", Fastnn), ("sklearn", Sklearn)):
                model = Estimator(**settings)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # max_iter is reached on purpose
                    start = time.perf_counter()
                    model.fit(X, y)
                    times[label].append(time.perf_counter() - start)
                models[label] = model
            if ctx.torch is not None:
                layers = models["fastnn"].mlp_.unpack(
                    models["fastnn"].mlp_._draw_params(np.random.RandomState(0))
                )
                seconds, predicted = _torch_fit(ctx.torch, X, y, X_test, layers, activation,
                                                max_iter, 0, dtype, regression=score == "r2")
                times["torch"].append(seconds)
                models["torch_predicted"] = predicted
    row = {
        "fastnn": float(np.median(times["fastnn"])),
        "sklearn": float(np.median(times["sklearn"])),
        "fastnn_times": times["fastnn"],
        "sklearn_times": times["sklearn"],
        # score() is the accuracy of a classifier and the R² of a regressor.
        f"{score}_fastnn": float(models["fastnn"].score(X_test, y_test)),
        f"{score}_sklearn": float(models["sklearn"].score(X_test, y_test)),
        # The fits of a row are timed together: one load for all of them.
        "busy": load.busy,
        "others_cpu_share": load.share,
    }
    if times["torch"]:
        row["torch"] = float(np.median(times["torch"]))
        row["torch_times"] = times["torch"]
        predicted = models["torch_predicted"]
        row[f"{score}_torch"] = (_r2(y_test, predicted) if score == "r2"
                                 else float(np.mean(predicted == y_test)))
    return row, models["fastnn"].mlp_.layer_sizes
