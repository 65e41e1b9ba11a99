"""Train an MLP classifier from the command line: ``python -m fastnn.train``.

With no data file it trains on generated interleaved spirals (a 2-D problem
whose decision boundary can be drawn); ``--dataset digits`` uses the shipped
8x8 handwritten digits; a path trains on your own data from a ``.npz`` file
(arrays ``X`` and ``y``) or a ``.csv`` file (one sample per row, the label in
the last column unless ``--label-column`` says otherwise, an optional header
row).  The features are standardised with the training part's mean and
standard deviation, a random ``--test-fraction`` is held out, the training
progress is printed, then the held-out accuracy.  When matplotlib is
installed, a PNG with the loss curve (and, for 2-D data, the decision
boundary) is saved.

Examples::

    python -m fastnn.train
    python -m fastnn.train --dataset digits --hidden 64
    python -m fastnn.train my_data.csv --solver adam --max-epochs 100
"""

import argparse
import csv
import os
import sys

import numpy as np

from .classifier import SOLVERS, MLPClassifier
from .datasets import load_digits, make_spirals
from .mlp import ACTIVATIONS

__all__ = ["main", "load_data", "train"]


def _load_npz(path):
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.keys())
        for x_key, y_key in (("X", "y"), ("x", "y"), ("data", "target"), ("features", "labels")):
            if x_key in keys and y_key in keys:
                return data[x_key], data[y_key]
        if len(keys) == 2:
            return data[keys[0]], data[keys[1]]
    raise ValueError(
        f"{path}: expected arrays named 'X' and 'y' (or exactly two arrays), found {keys}"
    )


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_csv(path, label_column):
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    n_columns = len(rows[0])
    if n_columns < 2:
        raise ValueError(f"{path}: need at least one feature column and one label column")
    if not -n_columns <= label_column < n_columns:
        raise ValueError(f"{path}: --label-column {label_column} is out of range for {n_columns} columns")
    label_column %= n_columns
    feature_columns = [j for j in range(n_columns) if j != label_column]
    # A first row whose features are not numbers is a header.
    if not all(_is_number(rows[0][j]) for j in feature_columns):
        rows = rows[1:]
    for line, row in enumerate(rows, start=1):
        if len(row) != n_columns:
            raise ValueError(f"{path}: data row {line} has {len(row)} columns, expected {n_columns}")
    try:
        X = np.array([[float(row[j]) for j in feature_columns] for row in rows])
    except ValueError as error:
        raise ValueError(f"{path}: a feature is not a number ({error})") from None
    labels = [row[label_column].strip() for row in rows]
    try:
        y = np.array([int(label) for label in labels])
    except ValueError:
        y = np.array(labels)
    return X, y


def load_data(path=None, dataset="spirals", label_column=-1, seed=0):
    """Return ``(X, y, name)`` from a file, or the named built-in data set.

    Parameters
    ----------
    path : str, optional
        A ``.npz`` or ``.csv`` file; when None, ``dataset`` is used.
    dataset : {"spirals", "digits"}, default "spirals"
        Built-in data: 600 points on 3 noisy spirals, or the 1797 8x8
        handwritten digits (pixels scaled to [0, 1]).
    label_column : int, default -1
        Column of a CSV file holding the label.
    seed : int, default 0
        Seed of the generated spirals.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    name : str

    Examples
    --------
    >>> from fastnn.train import load_data
    >>> X, y, name = load_data(dataset="spirals")
    >>> X.shape, name
    ((600, 2), 'spirals')
    """
    if path is None:
        if dataset == "spirals":
            X, y = make_spirals(n_samples=600, n_classes=3, noise=0.2, seed=seed)
        elif dataset == "digits":
            X, y = load_digits()
            X = X / 16.0
        else:
            raise ValueError(f"unknown dataset {dataset!r}; choose 'spirals' or 'digits'")
        return X, y, dataset
    extension = os.path.splitext(path)[1].lower()
    if extension == ".npz":
        X, y = _load_npz(path)
    elif extension == ".csv":
        X, y = _load_csv(path, label_column)
    else:
        raise ValueError(f"{path}: unsupported file type {extension!r}; use .npz or .csv")
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    return X, np.asarray(y).ravel(), os.path.basename(path)


def _split(n_samples, test_fraction, rng):
    n_test = int(round(test_fraction * n_samples))
    if not 1 <= n_test < n_samples:
        raise ValueError(
            f"--test-fraction {test_fraction} leaves no test or no training samples "
            f"out of {n_samples}"
        )
    order = rng.permutation(n_samples)
    return order[n_test:], order[:n_test]


def _save_plot(path, classifier, X_train, y_train, X_test, y_test):
    """Save the loss curve, and for 2-D data the decision boundary; return success."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no plot was saved (pip install matplotlib).")
        return False
    two_d = X_train.shape[1] == 2
    figure, axes = plt.subplots(1, 2 if two_d else 1, figsize=(11 if two_d else 5.5, 4.5))
    axes = np.atleast_1d(axes)
    axes[0].plot(np.arange(1, len(classifier.loss_curve_) + 1), classifier.loss_curve_)
    axes[0].set_xlabel("iteration" if classifier.solver == "lbfgs" else "epoch")
    axes[0].set_ylabel("training loss")
    axes[0].set_yscale("log")
    axes[0].set_title("Loss curve")
    if two_d:
        X_all = np.vstack([X_train, X_test])
        low, high = X_all.min(axis=0) - 0.5, X_all.max(axis=0) + 0.5
        grid_x, grid_y = np.meshgrid(np.linspace(low[0], high[0], 300), np.linspace(low[1], high[1], 300))
        grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
        predicted = np.argmax(classifier.predict_proba(grid), axis=1).reshape(grid_x.shape)
        axes[1].contourf(grid_x, grid_y, predicted, alpha=0.3, cmap="tab10",
                         levels=np.arange(len(classifier.classes_) + 1) - 0.5)
        for X_part, y_part, marker, label in ((X_train, y_train, "o", "train"), (X_test, y_test, "x", "test")):
            codes = np.searchsorted(classifier.classes_, y_part)
            axes[1].scatter(X_part[:, 0], X_part[:, 1], c=codes, cmap="tab10", marker=marker,
                            s=14, vmin=-0.5, vmax=len(classifier.classes_) - 0.5, label=label)
        axes[1].legend(loc="upper right")
        axes[1].set_title("Decision boundary (standardised features)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"Saved {path}")
    return True


def train(X, y, *, test_fraction=0.25, seed=0, plot=None, **classifier_params):
    """Split, standardise, fit, print the held-out accuracy and optionally plot.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    y : array_like of shape (n_samples,)
    test_fraction : float, default 0.25
        Share of the samples held out for the accuracy.
    seed : int, default 0
        Seeds the split and the classifier.
    plot : str, optional
        PNG path for the loss curve and decision boundary.
    **classifier_params
        Passed to `fastnn.MLPClassifier`.

    Returns
    -------
    classifier : MLPClassifier
    accuracy : float
        Held-out accuracy.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    train_index, test_index = _split(X.shape[0], test_fraction, rng)
    mean = X[train_index].mean(axis=0)
    scale = X[train_index].std(axis=0)
    # Constant features (blank pixels) carry nothing: leave them at 0.
    scale[scale == 0] = 1.0
    X = (X - mean) / scale
    X_train, y_train, X_test, y_test = X[train_index], y[train_index], X[test_index], y[test_index]
    classifier = MLPClassifier(random_state=seed, **classifier_params)
    classifier.fit(X_train, y_train)
    accuracy = classifier.score(X_test, y_test)
    print(f"Trained for {classifier.n_iter_} {'iterations' if classifier.solver == 'lbfgs' else 'epochs'}, "
          f"final training loss {classifier.loss_curve_[-1]:.4f}")
    print(f"Training accuracy: {classifier.score(X_train, y_train):.4f}")
    print(f"Held-out accuracy: {accuracy:.4f} ({len(test_index)} test samples)")
    if plot:
        _save_plot(plot, classifier, X_train, y_train, X_test, y_test)
    return classifier, accuracy


def _hidden_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 100 or 64,32, got {text!r}") from None
    return sizes


def main(argv=None):
    """Entry point of ``python -m fastnn.train``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m fastnn.train",
        description="Train a fastnn MLPClassifier and report its held-out accuracy.",
    )
    parser.add_argument("data", nargs="?", help=".npz (arrays X and y) or .csv (label in the last column) file")
    parser.add_argument("--dataset", choices=("spirals", "digits"), default="spirals",
                        help="built-in data when no file is given (default: spirals)")
    parser.add_argument("--label-column", type=int, default=-1, help="CSV column of the label (default: -1)")
    parser.add_argument("--hidden", type=_hidden_sizes, default=(100,), help="hidden layer sizes, e.g. 100 or 64,32")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="sigmoid")
    parser.add_argument("--solver", choices=SOLVERS, default="lbfgs")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="adam/sgd step size")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--max-epochs", type=int, default=1000, help="epochs (adam, sgd) or iterations (lbfgs)")
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="fastnn_train.png", help="PNG path (default: fastnn_train.png)")
    parser.add_argument("--no-plot", action="store_true", help="do not save a plot")
    parser.add_argument("--quiet", action="store_true", help="do not print one line per epoch")
    args = parser.parse_args(argv)

    try:
        X, y, name = load_data(args.data, args.dataset, args.label_column, args.seed)
        print(f"Data: {name}, {X.shape[0]} samples, {X.shape[1]} features, "
              f"{len(np.unique(y))} classes")
        train(
            X, y,
            test_fraction=args.test_fraction,
            seed=args.seed,
            plot=None if args.no_plot else args.plot,
            hidden_layer_sizes=args.hidden,
            activation=args.activation,
            solver=args.solver,
            learning_rate_init=args.learning_rate,
            batch_size=args.batch_size,
            max_iter=args.max_epochs,
            alpha=args.l2,
            verbose=not args.quiet,
        )
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
