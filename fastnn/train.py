"""Train an MLP classifier from the command line: ``python -m fastnn.train``.

With no data file it trains on generated interleaved spirals (a 2-D problem
whose decision boundary can be drawn); ``--dataset digits`` uses the shipped
8x8 handwritten digits; a path trains on your own data from a ``.npz`` file
(arrays ``X`` and ``y``) or a ``.csv`` file (comma-separated, one sample per
row, the label in the last column unless ``--label-column`` says otherwise,
an optional header row).  The features are standardised with the training
part's mean and standard deviation, a random ``--test-fraction`` is held out,
and after one line saying what is trained a short summary is printed: the
iterations (or epochs), the time, the final training loss and the training
and held-out accuracies.  When matplotlib is installed, a PNG with the loss
curve (and, for 2-D data, the decision boundary with a legend of the classes)
is saved.

Examples::

    python -m fastnn.train
    python -m fastnn.train --dataset digits --hidden 64
    python -m fastnn.train my_data.csv --solver adam --max-epochs 100
"""

import argparse
import csv
import inspect
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any, Literal, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .estimators.classifier import SOLVERS, MLPClassifier
from .datasets import load_digits, make_spirals
from .mlp import ACTIVATIONS

__all__ = ["main", "load_data", "train"]

# Command-line option (its argparse ``dest``) -> MLPClassifier parameter: the
# one place where this module names the classifier's parameters.
CLASSIFIER_PARAMETERS = {
    "hidden": "hidden_layer_sizes",
    "activation": "activation",
    "solver": "solver",
    "learning_rate": "learning_rate_init",
    "batch_size": "batch_size",
    "max_epochs": "max_iter",
    "l2": "alpha",
}

# Why a command-line default differs from MLPClassifier's, by option.
_WHY_DEFAULT_DIFFERS = {
    "solver": "full-batch L-BFGS is the quickest and surest on the small data sets this "
              "command is meant for",
    "max_epochs": "L-BFGS counts iterations, not passes over the data, and the spirals "
                  "take a few hundred",
}


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


# Delimiters people use instead of commas, for the message about a file
# that parses to one column.
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars", " ": "spaces"}


def _one_column_error(path, line, text):
    message = (
        f"{path}: line {line} parses to a single column, but a .csv file must separate its "
        "values with commas (at least one feature column and one label column)"
    )
    for delimiter, name in _OTHER_DELIMITERS.items():
        if delimiter in text.strip():
            message += f"; this line seems to be separated by {name}: convert the file to commas"
            break
    return ValueError(message)


def _describe_column(index, n_columns, header):
    text = f"column {index}"
    if header is not None and header[index].strip():
        text += f" {header[index].strip()!r}"
    if index == n_columns - 1:
        text += ", the last"
    return text


_PICK_THE_LABEL = (
    "If the label is in another column, choose it with --label-column "
    "(0 is the first column, -1 the last)."
)


def _parse_labels(path, labels, lines, column):
    """Class labels from the label column's text; integers when every label is one.

    A label column that holds a feature by mistake is caught here: almost
    every value distinct is an error (most classes would have one sample and
    nothing could be learnt), and numbers that are not integers give a
    warning (they may be meant as class names, such as grades 0.5, 1, 1.5).
    """
    numeric = all(_is_number(label) for label in labels)
    values = [float(label) for label in labels] if numeric else labels
    n_rows, n_distinct = len(labels), len(set(values))
    if n_distinct > 2 and n_distinct > n_rows / 2:
        raise ValueError(
            f"{path}: the label column ({column}) has {n_distinct} distinct values in "
            f"{n_rows} rows, so most classes would have a single sample: it looks like a "
            f"feature, not a class label. {_PICK_THE_LABEL}"
        )
    if not numeric:
        return np.array(labels)
    for value, label, line in zip(values, labels, lines):
        if not (math.isfinite(value) and value == int(value)):
            warnings.warn(
                f"{path}: the label column ({column}) holds numbers that are not integers, "
                f"such as {label!r} on line {line}; each distinct value is taken as a class. "
                f"{_PICK_THE_LABEL}",
                UserWarning,
                stacklevel=4,
            )
            return np.array(labels)
    return np.array([int(value) for value in values])


def _load_csv(path, label_column):
    """Features and labels of a comma-separated file; errors name the line and column.

    Lines are numbered from 1 as in the file (a header included), columns
    from 0 as ``--label-column`` counts them.
    """
    with open(path, newline="") as f:
        reader = csv.reader(f)
        # (line number, cells) of every line that is not blank.
        rows = [(reader.line_num, row) for row in reader if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    n_columns = len(rows[0][1])
    if n_columns < 2:
        raise _one_column_error(path, rows[0][0], rows[0][1][0])
    if not -n_columns <= label_column < n_columns:
        raise ValueError(f"{path}: --label-column {label_column} is out of range for {n_columns} columns")
    label_column %= n_columns
    feature_columns = [j for j in range(n_columns) if j != label_column]
    header = None
    # A first row whose features are not numbers is a header.
    if not all(_is_number(rows[0][1][j]) for j in feature_columns):
        header = rows[0][1]
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")
    X = np.empty((len(rows), len(feature_columns)))
    for i, (line, row) in enumerate(rows):
        if len(row) != n_columns:
            raise ValueError(f"{path}: line {line} has {len(row)} columns, expected {n_columns}")
        if not row[label_column].strip():
            raise ValueError(
                f"{path}: line {line}: the label "
                f"({_describe_column(label_column, n_columns, header)}) is blank"
            )
        for k, j in enumerate(feature_columns):
            cell = row[j].strip()
            try:
                value = float(cell)
                problem = None if math.isfinite(value) else f"{cell!r} is not a finite number"
            except ValueError:
                problem = f"{cell!r} is not a number" if cell else "the value is blank"
            if problem:
                raise ValueError(
                    f"{path}: line {line}, {_describe_column(j, n_columns, header)}: {problem}; "
                    f"features must be numbers. If this column holds the label, choose it "
                    f"with --label-column {j}."
                )
            X[i, k] = value
    labels = [row[label_column].strip() for _, row in rows]
    y = _parse_labels(
        path, labels, [line for line, _ in rows], _describe_column(label_column, n_columns, header)
    )
    return X, y


def load_data(
    path: Optional[str] = None,
    dataset: Literal["spirals", "digits"] = "spirals",
    label_column: int = -1,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[Any], str]:
    """Return ``(X, y, name)`` from a file, or the named built-in data set.

    Parameters
    ----------
    path : str, optional
        A ``.npz`` or ``.csv`` file; when None, ``dataset`` is used.
    dataset : {"spirals", "digits"}, default "spirals"
        Built-in data: 600 points on 3 noisy spirals, or the 1797 8x8
        handwritten digits (pixels scaled to [0, 1]).
    label_column : int, default -1
        Column of a CSV file holding the label, from 0; negative values
        count from the last column.
    seed : int, default 0
        Seed of the generated spirals.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples,)
        The labels: integers when every CSV label is an integer, else strings.
    name : str
        The file's name, or the data set's.

    Raises
    ------
    ValueError
        For an unusable file.  CSV errors give the line (counted from 1 in
        the file, header included) and the column: a blank label, a feature
        that is blank or not a finite number, a file that is not
        comma-separated, and a label column with about as many distinct
        values as rows (a feature, most likely).

    Warns
    -----
    UserWarning
        When CSV labels are numbers that are not all integers.

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


def _class_colours(n_classes):
    """One RGBA colour per class, distinct for up to 20 classes."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n_classes <= 10 else "tab20"]
    return cmap(np.arange(n_classes) % cmap.N)


def plot_figure(
    classifier: MLPClassifier,
    X_train: NDArray[Any],
    y_train: NDArray[Any],
    X_test: NDArray[Any],
    y_test: NDArray[Any],
) -> Any:
    """The figure saved by ``--plot``: the loss curve and, for 2-D data, the decision boundary.

    The decision-boundary panel colours every class the same way in the
    regions, the points and the legend, which names the classes.

    Parameters
    ----------
    classifier : MLPClassifier
        A fitted classifier.
    X_train, y_train, X_test, y_test : ndarray
        The standardised features and the labels of both parts.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, not yet saved or closed.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    two_d = X_train.shape[1] == 2
    figure, axes = plt.subplots(1, 2 if two_d else 1, figsize=(11 if two_d else 5.5, 4.5))
    axes = np.atleast_1d(axes)
    axes[0].plot(np.arange(1, len(classifier.loss_curve_) + 1), classifier.loss_curve_)
    axes[0].set_xlabel("iteration" if classifier.solver == "lbfgs" else "epoch")
    axes[0].set_ylabel("training loss")
    axes[0].set_yscale("log")
    axes[0].set_title("Loss curve")
    if two_d:
        # The held-out part may hold a class the training part lacks (the
        # classifier never predicts it), so colours follow all labels seen.
        labels = np.unique(np.concatenate([y_train, y_test]))
        colours = _class_colours(len(labels))
        X_all = np.vstack([X_train, X_test])
        low, high = X_all.min(axis=0) - 0.5, X_all.max(axis=0) + 0.5
        grid_x, grid_y = np.meshgrid(np.linspace(low[0], high[0], 300), np.linspace(low[1], high[1], 300))
        grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
        predicted = np.argmax(classifier.predict_proba(grid), axis=1).reshape(grid_x.shape)
        predicted = np.searchsorted(labels, classifier.classes_)[predicted]
        # Level k - 0.5 .. k + 0.5 holds label k, so its band gets colours[k].
        axes[1].contourf(grid_x, grid_y, predicted, alpha=0.3, colors=colours,
                         levels=np.arange(len(labels) + 1) - 0.5)
        for X_part, y_part, marker in ((X_train, y_train, "o"), (X_test, y_test, "x")):
            codes = np.searchsorted(labels, y_part)
            axes[1].scatter(X_part[:, 0], X_part[:, 1], c=colours[codes], marker=marker, s=14)
        handles = [
            Line2D([], [], linestyle="", marker="s", markersize=8, color=colour, label=str(name))
            for name, colour in zip(labels, colours)
        ]
        handles += [
            Line2D([], [], linestyle="", marker=marker, color="0.3", label=label)
            for marker, label in (("o", "train"), ("x", "test"))
        ]
        axes[1].legend(handles=handles, loc="upper right", title="class", fontsize="small")
        axes[1].set_title("Decision boundary (standardised features)")
    figure.tight_layout()
    return figure


def _save_plot(path, classifier, X_train, y_train, X_test, y_test):
    """Save `plot_figure` as a PNG; return whether it was saved."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no plot was saved (pip install matplotlib).")
        return False
    figure = plot_figure(classifier, X_train, y_train, X_test, y_test)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"Saved {path}")
    return True


def train(
    X: ArrayLike,
    y: ArrayLike,
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    plot: Optional[str] = None,
    quiet: bool = False,
    **classifier_params: Any,
) -> tuple[MLPClassifier, float]:
    """Split, standardise, fit, print a summary and optionally plot.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Features.
    y : array_like of shape (n_samples,)
        Labels.
    test_fraction : float, default 0.25
        Share of the samples held out for the accuracy.
    seed : int, default 0
        Seeds the split and the classifier.
    plot : str, optional
        PNG path for the loss curve and decision boundary.
    quiet : bool, default False
        Print only the summary, not the line saying what is trained.
    **classifier_params
        Passed to `fastnn.MLPClassifier`.

    Returns
    -------
    classifier : MLPClassifier
        The fitted classifier.
    accuracy : float
        Held-out accuracy.

    Examples
    --------
    >>> from fastnn.datasets import make_spirals
    >>> from fastnn.train import train
    >>> X, y = make_spirals(n_samples=200, n_classes=2, seed=0)
    >>> classifier, accuracy = train(X, y, quiet=True, hidden_layer_sizes=(20,),
    ...                              solver="lbfgs")  # doctest: +ELLIPSIS
    Trained for ...
    >>> 0.0 <= accuracy <= 1.0
    True
    """
    features = np.asarray(X, dtype=np.float64)
    labels = np.asarray(y)
    rng = np.random.default_rng(seed)
    train_index, test_index = _split(features.shape[0], test_fraction, rng)
    mean = features[train_index].mean(axis=0)
    scale = features[train_index].std(axis=0)
    # Constant features (blank pixels) carry nothing: leave them at 0.
    scale[scale == 0] = 1.0
    features = (features - mean) / scale
    X_train, y_train = features[train_index], labels[train_index]
    X_test, y_test = features[test_index], labels[test_index]
    # No output per iteration or epoch: this command prints its own summary.
    classifier = MLPClassifier(random_state=seed, **{"verbose": False, **classifier_params})
    if not quiet:
        print(f"Training ({classifier.solver}) on {len(train_index)} samples, "
              f"holding out {len(test_index)}...", flush=True)
    start = time.perf_counter()
    classifier.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = classifier.score(X_test, y_test)
    unit = "iterations" if classifier.solver == "lbfgs" else "epochs"
    print(f"Trained for {classifier.n_iter_} {unit} ({classifier.solver}) in {seconds:.2f} s")
    print(f"Final training loss: {classifier.loss_curve_[-1]:.4f}")
    print(f"Training accuracy:   {classifier.score(X_train, y_train):.4f} on {len(train_index)} samples")
    print(f"Held-out accuracy:   {accuracy:.4f} on {len(test_index)} samples")
    if plot:
        _save_plot(plot, classifier, X_train, y_train, X_test, y_test)
    return classifier, accuracy


def _hidden_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 100 or 64,32, got {text!r}") from None
    return sizes


def _batch_size(text):
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or auto, got {text!r}") from None


def classifier_params(args: argparse.Namespace) -> dict[str, Any]:
    """The MLPClassifier parameters given by parsed command-line options.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``python -m fastnn.train``.

    Returns
    -------
    dict
        MLPClassifier parameter name to value, for every option in
        ``CLASSIFIER_PARAMETERS``.
    """
    return {parameter: getattr(args, option) for option, parameter in CLASSIFIER_PARAMETERS.items()}


def _default_help(option, default):
    """Help text for a default, saying where and why it differs from MLPClassifier's."""
    text = f"default: {default}"
    parameter = CLASSIFIER_PARAMETERS.get(option)
    if parameter is None:
        return text
    own = inspect.signature(MLPClassifier).parameters[parameter].default
    if option == "hidden":
        default = _hidden_sizes(default)
        own = tuple(own) if isinstance(own, (list, tuple)) else (own,)
    if default != own:
        text += f"; MLPClassifier's default is {own!r}"
        if option in _WHY_DEFAULT_DIFFERS:
            text += f", but {_WHY_DEFAULT_DIFFERS[option]}"
    return text


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m fastnn.train",
        description="Train a fastnn MLPClassifier and report its held-out accuracy.",
        epilog="Options that set MLPClassifier parameters say where their default differs "
               "from MLPClassifier's, and why.",
    )
    options = [
        ("--dataset", dict(choices=("spirals", "digits"), default="spirals",
                           help="built-in data when no file is given")),
        ("--label-column", dict(type=int, default=-1,
                                help="CSV column holding the label, from 0; -1 is the last")),
        ("--hidden", dict(type=_hidden_sizes, default="100", help="hidden layer sizes, e.g. 100 or 64,32")),
        ("--activation", dict(choices=ACTIVATIONS, default="relu", help="hidden-layer activation")),
        ("--solver", dict(choices=SOLVERS, default="lbfgs", help="optimiser")),
        ("--learning-rate", dict(type=float, default=1e-3, help="adam/sgd step size")),
        ("--batch-size", dict(type=_batch_size, default="auto",
                              help="adam/sgd mini-batch size, or auto for min(200, n_samples)")),
        ("--max-epochs", dict(type=int, default=1000,
                              help="most epochs (adam, sgd) or iterations (lbfgs)")),
        ("--l2", dict(type=float, default=1e-4, help="weight penalty")),
        ("--test-fraction", dict(type=float, default=0.25, help="share of the samples held out")),
        ("--seed", dict(type=int, default=0, help="seeds the spirals, the split and the network")),
        ("--plot", dict(default="fastnn_train.png", help="PNG path for the loss curve and decision boundary")),
    ]
    parser.add_argument("data", nargs="?",
                        help=".npz (arrays X and y) or comma-separated .csv (label in the last column) "
                             "file; default: the --dataset")
    for flag, spec in options:
        option = flag[2:].replace("-", "_")
        spec["help"] += f" ({_default_help(option, spec['default'])})"
        parser.add_argument(flag, **spec)
    parser.add_argument("--no-plot", action="store_true", help="do not save a plot")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the final summary (iterations or epochs, time, loss, "
                             "accuracies) and the plot's path: no description of the data and "
                             "no line before training")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m fastnn.train``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success, 2 for unusable data or options.

    Examples
    --------
    >>> from fastnn.train import main
    >>> main(["--dataset", "spirals", "--hidden", "20", "--quiet", "--no-plot"])
    ... # doctest: +ELLIPSIS
    Trained for ...
    0
    """
    args = _build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            X, y, name = load_data(args.data, args.dataset, args.label_column, args.seed)
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
        if not args.quiet:
            print(f"Data: {name}, {X.shape[0]} samples, {X.shape[1]} features, "
                  f"{len(np.unique(y))} classes")
        train(
            X, y,
            test_fraction=args.test_fraction,
            seed=args.seed,
            plot=None if args.no_plot else args.plot,
            quiet=args.quiet,
            **classifier_params(args),
        )
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
