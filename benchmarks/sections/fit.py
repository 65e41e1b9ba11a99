"""Section "fit": MLPClassifier.fit against scikit-learn's MLPClassifier (and PyTorch).

Every implementation trains the same network with the same settings: one
hidden layer of 100 units (relu or logistic), softmax output, Adam with
scikit-learn's defaults (learning rate 1e-3, batch 200, alpha 1e-4 divided by
the batch size), shuffling every epoch, a fixed number of epochs (``tol=0``,
so that no implementation stops earlier than another), float32 or float64,
1 or 2 threads.  fastnn and scikit-learn start from the same seed, so in
float64 they compute the same network (fastnn draws scikit-learn's initial
weights and shuffles); PyTorch starts from a copy of those initial weights
and adds the same penalty to its loss.  Threads are limited for the BLAS
(threadpoolctl), fastnn's kernels and PyTorch alike.

The figures are the median time of whole ``fit`` calls, the ratio
scikit-learn time / fastnn time (and PyTorch time / fastnn time), and the
held-out accuracy of each model, measured in the same run.

Run it with ``python benchmarks/run.py --sections fit`` (``--quick`` for a
smoke run on small data).
"""

import time
import warnings

import numpy as np

from _context import limit_blas
from _report import heading
from _timer import format_seconds

ACTIVATIONS = ("relu", "logistic")
HIDDEN = 100


def _datasets(quick):
    """(name, X_train, y_train, X_test, y_test) for digits and a 10-class make_classification."""
    from sklearn.datasets import make_classification

    from fastnn.datasets import load_digits

    X, y = load_digits()
    X = X / 16.0
    n_large = 5_000 if quick else 50_000
    X_big, y_big = make_classification(n_samples=n_large, n_features=100, n_informative=20,
                                       n_classes=10, random_state=0)
    sets = []
    for name, X_all, y_all in (("digits", X, y), (f"classification {n_large}x100", X_big, y_big)):
        order = np.random.default_rng(0).permutation(len(y_all))
        n_train = int(0.8 * len(y_all))
        train, test = order[:n_train], order[n_train:]
        sets.append((name, X_all[train], y_all[train], X_all[test], y_all[test]))
    return sets


def _torch_fit(torch, X, y, X_test, params0_layers, activation, max_iter, seed, dtype):
    """Adam on the same network in PyTorch; returns (seconds, held-out accuracy)."""
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
    y_t = torch.from_numpy(y.astype(np.int64))
    n, batch, alpha = len(y), min(200, len(y)), 1e-4
    start = time.perf_counter()
    for _ in range(max_iter):
        order = torch.randperm(n, generator=generator)
        for s in range(0, n, batch):
            index = order[s : s + batch]
            logits = output(act(hidden(X_t[index])))
            loss = torch.nn.functional.cross_entropy(logits, y_t[index])
            # scikit-learn's penalty: alpha / (2 * batch) * sum ||W||^2, weights only.
            loss = loss + 0.5 * alpha / len(index) * (
                hidden.weight.pow(2).sum() + output.weight.pow(2).sum()
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        predicted = output(act(hidden(torch.from_numpy(X_test.astype(dtype))))).argmax(dim=1)
    return seconds, predicted.numpy()


def run(ctx):
    """The section runner called by ``benchmarks/run.py``."""
    try:
        from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
    except ImportError:
        print("\nfit section skipped: scikit-learn is not installed")
        ctx.sections["fit"] = {"skipped": "scikit-learn not installed"}
        return
    from fastnn import MLPClassifier

    quick = ctx.args.quick
    max_iter = 2 if quick else 20
    # A fit on the digits takes about 0.1 s, where the spread between runs
    # is a third of the time: more repeats there, for a stable median.
    small_repeats, large_repeats = (1, 1) if quick else (9, 3)
    heading(
        f"MLPClassifier.fit: fastnn against scikit-learn{' and PyTorch' if ctx.torch else ''}",
        f"hidden layer of {HIDDEN} units, Adam, batch 200, alpha 1e-4, {max_iter} epochs "
        f"(tol=0), 80/20 split; median of {small_repeats} fits on the digits and "
        f"{large_repeats} on the larger data. 'vs sklearn' and 'vs torch' are "
        "their time divided by fastnn's; acc is the held-out accuracy of each model.",
    )
    columns = (f"{'data':>26} {'act':>8} {'dtype':>7} {'thr':>3} {'fastnn':>9} {'sklearn':>9} "
               f"{'vs sklearn':>10} {'torch':>9} {'vs torch':>8} {'acc fastnn':>10} "
               f"{'acc sklearn':>11} {'acc torch':>9}")
    print(columns)
    rows = []
    for name, X_train, y_train, X_test, y_test in _datasets(quick):
        repeats = small_repeats if len(y_train) < 10_000 else large_repeats
        for activation in ACTIVATIONS:
            for dtype in (np.float32, np.float64):
                Xtr, Xte = X_train.astype(dtype), X_test.astype(dtype)
                settings = dict(hidden_layer_sizes=(HIDDEN,), activation=activation,
                                max_iter=max_iter, tol=0.0, random_state=0)
                for threads in ctx.threads:
                    with limit_blas(threads):
                        ctx.set_threads(threads)
                        row = _measure(ctx, SklearnMLPClassifier, MLPClassifier, settings, Xtr,
                                       y_train, Xte, y_test, repeats, activation, max_iter, dtype)
                    row.update(data=name, activation=activation, dtype=np.dtype(dtype).name,
                               threads=threads)
                    rows.append(row)
                    torch_time = row.get("torch")
                    print(
                        f"{name:>26} {activation:>8} {row['dtype']:>7} {threads:>3} "
                        f"{format_seconds(row['fastnn']):>9} {format_seconds(row['sklearn']):>9} "
                        f"{row['sklearn'] / row['fastnn']:>9.2f}x "
                        f"{format_seconds(torch_time):>9} "
                        + (f"{torch_time / row['fastnn']:>7.2f}x " if torch_time else f"{'-':>8} ")
                        + f"{row['acc_fastnn']:>10.4f} {row['acc_sklearn']:>11.4f} "
                        + (f"{row['acc_torch']:>9.4f}" if torch_time else f"{'-':>9}"),
                        flush=True,
                    )
    ctx.set_threads(ctx.max_threads)
    ctx.sections["fit"] = {"max_iter": max_iter, "repeats": [small_repeats, large_repeats],
                           "rows": rows}


def _measure(ctx, Sklearn, Fastnn, settings, X, y, X_test, y_test, repeats, activation,
             max_iter, dtype):
    times = {"fastnn": [], "sklearn": [], "torch": []}
    models = {}
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
                                            max_iter, 0, dtype)
            times["torch"].append(seconds)
            models["torch_predicted"] = predicted
    row = {
        "fastnn": float(np.median(times["fastnn"])),
        "sklearn": float(np.median(times["sklearn"])),
        "fastnn_times": times["fastnn"],
        "sklearn_times": times["sklearn"],
        "acc_fastnn": float(models["fastnn"].score(X_test, y_test)),
        "acc_sklearn": float(models["sklearn"].score(X_test, y_test)),
    }
    if times["torch"]:
        row["torch"] = float(np.median(times["torch"]))
        row["torch_times"] = times["torch"]
        row["acc_torch"] = float(np.mean(models["torch_predicted"] == y_test))
    return row
