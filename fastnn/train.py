"""Train an MLP classifier or regressor from the command line: ``python -m fastnn.train``.

With no data file it trains on generated interleaved spirals (a 2-D
classification problem whose decision boundary can be drawn); ``--dataset
digits`` uses the shipped 8x8 handwritten digits and ``--dataset friedman1``
generates Friedman's regression problem; a path (given first, or with
``--data``) trains on your own data from a ``.npz`` file (arrays ``X`` and
``y``) or a ``.csv`` file (comma-separated, one sample per row, the label or
target in the last column unless ``--label-column`` says otherwise, an
optional header row).

``--task auto``, the default, trains an `MLPRegressor` when the target looks
continuous (numbers, not all integers, with more than 20 distinct values or
more distinct values than 5% of the rows) and an `MLPClassifier` otherwise,
and says which it picked; ``--task classification`` or ``--task regression``
decides instead.  The features, and a regression target, are standardised
with the training part's mean and standard deviation, a random
``--test-fraction`` is held out, and after lines saying what is trained a
short summary is printed: the iterations (or epochs), the time, the final
training loss and the training and held-out accuracies (R² for a regressor).
When matplotlib is installed, a PNG is saved with the loss curve and, for
2-D classification, the decision boundary (its axes named after the CSV
header's columns) with a legend of the classes, or, for regression, the
predicted against the true targets.  Without ``--plot`` it is
``fastnn_train.png`` in the current directory, or ``fastnn_train-2.png``,
``-3``... when that exists: a run never overwrites an earlier one's plot.
``--plot PATH`` writes PATH, replacing it if it exists.

Every option is checked before any data is read, and errors and notes name
the options, never the estimators' parameters: a usage error exits with
status 2, and training that stops at ``--max-epochs`` before converging
prints a one-line note.

Examples::

    python -m fastnn.train
    python -m fastnn.train --dataset digits --hidden 64
    python -m fastnn.train --dataset friedman1
    python -m fastnn.train my_data.csv --solver adam --max-epochs 100
    python -m fastnn.train --data my_data.csv --plot runs/first.png
    python -m fastnn.train prices.csv --task regression
"""

from __future__ import annotations

import argparse
import csv
import inspect
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any, Literal, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .estimators._scores import r2_score
from .estimators.classifier import SOLVERS, ConvergenceWarning, MLPClassifier
from .estimators.regressor import MLPRegressor
from .datasets import load_digits, make_friedman1, make_spirals
from .mlp import ACTIVATIONS

__all__ = ["main", "load_data", "choose_task", "train"]

TASKS = ("auto", "classification", "regression")

# --task auto's rule: a target is continuous when it holds numbers, not all
# integers, with more distinct values than class labels would have.  Either
# bound suffices: 20 distinct values catch a large file whose target is
# rounded to a few digits, 5% of the rows a small file.  Integer targets stay
# classes (scikit-learn's type_of_target says "multiclass" for them too), and
# so do a few non-integer codes such as grades 0.5, 1, 1.5.
MANY_DISTINCT_VALUES = 20
MANY_DISTINCT_SHARE = 0.05

# The task of each built-in data set.
DATASET_TASKS = {"spirals": "classification", "digits": "classification", "friedman1": "regression"}

# Command-line option (its argparse ``dest``) -> estimator parameter, the same
# name in MLPClassifier and MLPRegressor: the one place where this module
# names the estimators' parameters.
ESTIMATOR_PARAMETERS = {
    "hidden": "hidden_layer_sizes",
    "activation": "activation",
    "solver": "solver",
    "learning_rate": "learning_rate_init",
    "batch_size": "batch_size",
    "max_epochs": "max_iter",
    "l2": "alpha",
}

# Why a command-line default differs from the estimators', by option.
_WHY_DEFAULT_DIFFERS = {
    "solver": "full-batch L-BFGS is the quickest and surest on the small data sets this "
              "command is meant for",
    "max_epochs": "L-BFGS counts iterations, not passes over the data, and the spirals "
                  "take a few hundred",
}

# The plot's file when --plot is not given; a later run numbers its own
# (fastnn_train-2.png, ...) rather than overwrite it.
DEFAULT_PLOT = "fastnn_train.png"

# The data files this command reads, by extension.
DATA_EXTENSIONS = (".csv", ".npz")


def _flag(option):
    """The command-line flag of an argparse ``dest``: "max_epochs" -> "--max-epochs"."""
    return "--" + option.replace("_", "-")


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


def _as_numbers(y):
    """``y`` as a float64 array when every value is a number (text such as "1.5" too), else None."""
    y = np.asarray(y)
    if y.dtype.kind in "biuf":
        return y.astype(np.float64).ravel()
    if y.dtype.kind not in "USO":
        return None
    try:
        return np.array([float(value) for value in y.ravel()], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def choose_task(
    y: ArrayLike, task: Literal["auto", "classification", "regression"] = "auto"
) -> tuple[Literal["classification", "regression"], str]:
    """Decide whether ``y`` is a classification or a regression target, and say why.

    Parameters
    ----------
    y : array_like of shape (n_samples,)
        The labels or targets: numbers, or text (text holding numbers, as a
        CSV column does, counts as numbers).
    task : {"auto", "classification", "regression"}, default "auto"
        "auto" applies the rule below; the other two are returned as given.

    Returns
    -------
    task : {"classification", "regression"}
        The task to train.
    reason : str
        Why, in a few words, for the user.

    Raises
    ------
    ValueError
        For a ``task`` that is not one of the three.

    Notes
    -----
    "auto" picks regression when every value of ``y`` is a number, at least
    one is not an integer, and there are more than ``MANY_DISTINCT_VALUES``
    (20) distinct values or more than ``MANY_DISTINCT_SHARE`` (5%) of the
    rows are distinct; otherwise classification.  Integer targets are
    classes, as in scikit-learn's ``type_of_target``: pass
    ``task="regression"`` for integer-valued quantities such as counts.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.train import choose_task
    >>> choose_task(np.linspace(0.0, 1.0, 50))
    ('regression', 'the target holds 50 distinct values in 50 rows, not all integers')
    >>> choose_task(["0.5", "1.5", "0.5", "1.5"] * 30)[0]
    'classification'
    >>> choose_task([0, 1, 1, 0], task="regression")
    ('regression', 'chosen by the caller')
    """
    if not isinstance(task, str) or task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}")
    if task != "auto":
        return task, "chosen by the caller"
    values = _as_numbers(y)
    if values is None:
        return "classification", "the labels are not all numbers"
    n_rows, n_distinct = values.size, np.unique(values).size
    finite = values[np.isfinite(values)]
    if finite.size == values.size and np.all(finite == np.round(finite)):
        return "classification", f"the target holds integers, {n_distinct} distinct values"
    if n_distinct > MANY_DISTINCT_VALUES or n_distinct > MANY_DISTINCT_SHARE * n_rows:
        return (
            "regression",
            f"the target holds {n_distinct} distinct values in {n_rows} rows, not all integers",
        )
    return "classification", f"the target holds only {n_distinct} distinct values in {n_rows} rows"


def _parse_targets(path, labels, lines, column, task):
    """The label column's text as the ``task`` wants it: real targets or class labels."""
    chosen, _ = choose_task(labels, task)
    if chosen == "regression":
        return _parse_continuous(path, labels, lines, column)
    # An explicit --task classification has said what the numbers are.
    return _parse_labels(path, labels, lines, column, warn_non_integer=task == "auto")


def _parse_continuous(path, labels, lines, column):
    """Regression targets from the label column's text; errors name the line."""
    y = np.empty(len(labels))
    for i, (label, line) in enumerate(zip(labels, lines)):
        try:
            value = float(label)
            problem = None if math.isfinite(value) else f"{label!r}, not a finite number"
        except ValueError:
            # Only an explicit --task regression reads text here: auto would have taken classes.
            problem = f"{label!r}, not a number"
        if problem:
            hint = " For class labels, pass --task classification." if "not a number" in problem else ""
            raise ValueError(
                f"{path}: line {line}: the target ({column}) is {problem}; a regression "
                f"needs a finite number in every row. {_PICK_THE_LABEL}{hint}"
            )
        y[i] = value
    return y


def _parse_labels(path, labels, lines, column, warn_non_integer=True):
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
        hint = " If it is a continuous target, pass --task regression." if numeric else ""
        raise ValueError(
            f"{path}: the label column ({column}) has {n_distinct} distinct values in "
            f"{n_rows} rows, so most classes would have a single sample: it looks like a "
            f"feature, not a class label. {_PICK_THE_LABEL}{hint}"
        )
    if not numeric:
        return np.array(labels)
    for value, label, line in zip(values, labels, lines):
        if not (math.isfinite(value) and value == int(value)):
            if warn_non_integer:
                warnings.warn(
                    f"{path}: the label column ({column}) holds numbers that are not integers, "
                    f"such as {label!r} on line {line}, but too few distinct values for "
                    f"--task auto to take them as a continuous target; each distinct value "
                    f"is taken as a class. {_PICK_THE_LABEL} For a regression, pass "
                    f"--task regression.",
                    UserWarning,
                    stacklevel=5,
                )
            return np.array(labels)
    return np.array([int(value) for value in values])


def _load_csv(path, label_column, task):
    """Features, labels (or targets) and feature names of a comma-separated file.

    Errors name the line and the column: lines are numbered from 1 as in
    the file (a header included), columns from 0 as ``--label-column``
    counts them.  A feature is named by its header cell, or "column j" when
    the file has no header or the cell is blank.
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
    y = _parse_targets(
        path, labels, [line for line, _ in rows], _describe_column(label_column, n_columns, header),
        task,
    )
    names = [(header[j].strip() if header is not None else "") or f"column {j}"
             for j in feature_columns]
    return X, y, names


def _dataset_task_conflict(dataset, task):
    """The message for a --task that contradicts --dataset's task, or None."""
    own = DATASET_TASKS.get(dataset)
    if task == "auto" or own is None or task == own:
        return None
    return (
        f"--task {task} does not fit --dataset {dataset}, which is a {own} problem: "
        f"leave --task out or pass --task {own}"
    )


def _continuous_target(name, y):
    """``y`` as finite float64 regression targets, or an error naming the first bad row.

    ``name`` (a file's) starts the message when given.
    """
    prefix = f"{name}: " if name else ""
    values = _as_numbers(y)
    if values is None:
        raise ValueError(
            f"{prefix}a regression needs numbers in y, but it holds {y.dtype} values such as "
            f"{y.ravel()[:1].tolist()[0]!r}; for class labels pass --task classification"
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(
            f"{prefix}a regression needs a finite number in every row of y, but row {bad[0]} "
            f"(counted from 0) holds {values[bad[0]].item()!r}"
        )
    return values


def _check_class_labels(name, y):
    """Reject float labels that are not whole numbers, which the classifier cannot take.

    A CSV file's such labels are kept as text (see `_parse_labels`); an
    array of floats would reach the classifier as a continuous target and
    fail there, after the lines that announce training.
    """
    if y.dtype.kind != "f":
        return
    bad = np.flatnonzero(~(np.isfinite(y) & (y == np.round(y))))
    if bad.size:
        raise ValueError(
            f"{name}: class labels must be integers or text, but row {bad[0]} (counted from 0) "
            f"of y holds {y[bad[0]].item()!r}; for a continuous target pass --task regression"
        )


def load_data(
    path: Optional[str] = None,
    dataset: Literal["spirals", "digits", "friedman1"] = "spirals",
    label_column: int = -1,
    seed: int = 0,
    task: Literal["auto", "classification", "regression"] = "auto",
) -> tuple[NDArray[np.float64], NDArray[Any], str]:
    """Return ``(X, y, name)`` from a file, or the named built-in data set.

    Parameters
    ----------
    path : str, optional
        A ``.npz`` or ``.csv`` file; when None, ``dataset`` is used.
    dataset : {"spirals", "digits", "friedman1"}, default "spirals"
        Built-in data: 600 points on 3 noisy spirals, or the 1797 8x8
        handwritten digits (pixels scaled to [0, 1]), both classification
        problems; or 600 samples of Friedman's regression problem (10
        features, noise 1.0).
    label_column : int, default -1
        Column of a CSV file holding the label (or target), from 0; negative
        values count from the last column.
    seed : int, default 0
        Seed of the generated spirals and Friedman data.
    task : {"auto", "classification", "regression"}, default "auto"
        How to read the labels: as class labels, as real targets, or as
        `choose_task` decides.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples,)
        For regression, float64 targets.  For classification, the labels:
        integers when every CSV label is an integer, else strings.
    name : str
        The file's name, or the data set's.

    Raises
    ------
    ValueError
        For an unusable file, or a ``task`` that contradicts the built-in
        ``dataset``.  CSV errors give the line (counted from 1 in the file,
        header included) and the column: a blank label, a feature that is
        blank or not a finite number, a file that is not comma-separated, a
        regression target that is not a finite number, and class labels
        with about as many distinct values as rows (a feature, most likely).
        A ``.npz`` file's ``y`` must be finite numbers for regression, and
        integers or text for classification.

    Warns
    -----
    UserWarning
        When ``task`` is "auto" and CSV labels are numbers that are not all
        integers but too few distinct values to be a continuous target.

    Examples
    --------
    >>> from fastnn.train import load_data
    >>> X, y, name = load_data(dataset="spirals")
    >>> X.shape, name
    ((600, 2), 'spirals')
    >>> X, y, name = load_data(dataset="friedman1")
    >>> X.shape, y.dtype
    ((600, 10), dtype('float64'))
    """
    X, y, name, _ = _load(path, dataset, label_column, seed, task)
    return X, y, name


def _load(path, dataset, label_column, seed, task):
    """`load_data`'s ``(X, y, name)`` and the feature names: a CSV file's, else None."""
    if not isinstance(task, str) or task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}")
    if path is None:
        conflict = _dataset_task_conflict(dataset, task)
        if conflict:
            raise ValueError(conflict)
        y: NDArray[Any]  # class labels (int64) or targets (float64)
        if dataset == "spirals":
            X, y = make_spirals(n_samples=600, n_classes=3, noise=0.2, seed=seed)
        elif dataset == "digits":
            X, y = load_digits()
            X = X / 16.0
        elif dataset == "friedman1":
            X, y = make_friedman1(n_samples=600, n_features=10, noise=1.0, seed=seed)
        else:
            raise ValueError(
                f"unknown dataset {dataset!r}; choose {', '.join(map(repr, DATASET_TASKS))}"
            )
        return X, y, dataset, None
    name = os.path.basename(path)
    extension = os.path.splitext(path)[1].lower()
    feature_names = None
    if extension == ".npz":
        X, y = _load_npz(path)
        y = np.asarray(y).ravel()
        if choose_task(y, task)[0] == "regression":
            y = _continuous_target(name, y)
        else:
            _check_class_labels(name, y)
    elif extension == ".csv":
        X, y, feature_names = _load_csv(path, label_column, task)
    else:
        raise ValueError(f"{path}: unsupported file type {extension!r}; use .npz or .csv")
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    return X, np.asarray(y).ravel(), name, feature_names


def _split(n_samples, test_fraction, rng, least=1):
    """Shuffled training and held-out rows, each part at least ``least`` rows."""
    n_test = int(round(test_fraction * n_samples))
    if not 1 <= n_test < n_samples:
        raise ValueError(
            f"--test-fraction {test_fraction} leaves no test or no training samples "
            f"out of {n_samples}"
        )
    if min(n_test, n_samples - n_test) < least:
        raise ValueError(
            f"--test-fraction {test_fraction} holds out {n_test} of {n_samples} samples, "
            f"but R² needs at least {least} samples in the training and the held-out part"
        )
    order = rng.permutation(n_samples)
    return order[n_test:], order[:n_test]


def _class_colours(n_classes):
    """One RGBA colour per class, distinct for up to 20 classes."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n_classes <= 10 else "tab20"]
    return cmap(np.arange(n_classes) % cmap.N)


def plot_figure(
    estimator: Union[MLPClassifier, MLPRegressor],
    X_train: NDArray[Any],
    y_train: NDArray[Any],
    X_test: NDArray[Any],
    y_test: NDArray[Any],
    *,
    target_mean: float = 0.0,
    target_scale: float = 1.0,
    feature_names: Optional[Sequence[str]] = None,
) -> Any:
    """The figure saved by ``--plot``: the loss curve and a second panel that shows the fit.

    For a classifier on 2-D data the second panel is the decision boundary,
    colouring every class the same way in the regions, the points and the
    legend, which names the classes, with the axes named after the features
    (other classifiers get the loss curve alone).  For a regressor it plots
    the predicted against the true targets of both parts, with the line
    where they are equal and the R² of each part in the title.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        A fitted estimator.
    X_train, y_train, X_test, y_test : ndarray
        The standardised features and the labels (or targets, in their own
        units) of both parts.
    target_mean, target_scale : float, default 0.0 and 1.0
        For a regressor fitted on ``(y - target_mean) / target_scale``: its
        predictions are mapped back to ``y``'s units before they are drawn.
    feature_names : sequence of str, optional
        One name per feature, such as a CSV file's header, for the axes of
        the decision boundary; "feature 0" and "feature 1" when None.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, not yet saved or closed.

    Raises
    ------
    ValueError
        When ``feature_names`` does not hold one name per feature.
    """
    import matplotlib.pyplot as plt

    feature_names = _checked_feature_names(feature_names, X_train.shape[1])

    regression = isinstance(estimator, MLPRegressor)
    two_panels = regression or X_train.shape[1] == 2
    figure, axes = plt.subplots(1, 2 if two_panels else 1, figsize=(11 if two_panels else 5.5, 4.5))
    axes = np.atleast_1d(axes)
    axes[0].plot(np.arange(1, len(estimator.loss_curve_) + 1), estimator.loss_curve_)
    axes[0].set_xlabel("iteration" if estimator.solver == "lbfgs" else "epoch")
    axes[0].set_ylabel("training loss (standardised target)" if regression else "training loss")
    axes[0].set_yscale("log")
    axes[0].set_title("Loss curve")
    if regression:
        _draw_predictions(axes[1], estimator, X_train, y_train, X_test, y_test,
                          target_mean, target_scale)
    elif two_panels:
        _draw_decision_boundary(axes[1], estimator, X_train, y_train, X_test, y_test)
        axes[1].set_xlabel(feature_names[0])
        axes[1].set_ylabel(feature_names[1])
    figure.tight_layout()
    return figure


def _checked_feature_names(feature_names, n_features):
    """``feature_names`` as a list of ``n_features`` str: "feature j" for each when None."""
    if feature_names is None:
        return [f"feature {j}" for j in range(n_features)]
    names = [str(name) for name in feature_names]
    if len(names) != n_features:
        raise ValueError(
            f"feature_names must hold one name per feature, {n_features}, got {len(names)}: {names}"
        )
    return names


def _draw_predictions(axis, regressor, X_train, y_train, X_test, y_test, target_mean, target_scale):
    """Predicted against true targets of both parts, in the target's units, with their R²."""
    scores, extremes = [], []
    for X_part, y_part, marker, label in ((X_train, y_train, "o", "train"),
                                          (X_test, y_test, "x", "held out")):
        predicted = target_mean + target_scale * regressor.predict(X_part)
        scores.append(r2_score(y_part, predicted))
        extremes += [y_part.min(), y_part.max(), predicted.min(), predicted.max()]
        axis.scatter(y_part, predicted, marker=marker, s=14, alpha=0.7, label=label)
    low, high = min(extremes), max(extremes)
    axis.plot([low, high], [low, high], color="0.3", linestyle="--", linewidth=1,
              label="predicted = true")
    axis.set_xlabel("true target")
    axis.set_ylabel("predicted target")
    axis.set_title(f"Predicted against true: R² {scores[0]:.3f} train, {scores[1]:.3f} held out")
    axis.legend(loc="upper left", fontsize="small")


def _draw_decision_boundary(axis, classifier, X_train, y_train, X_test, y_test):
    """The predicted class over the plane, the points of both parts, and a legend of the classes."""
    from matplotlib.lines import Line2D

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
    axis.contourf(grid_x, grid_y, predicted, alpha=0.3, colors=colours,
                  levels=np.arange(len(labels) + 1) - 0.5)
    for X_part, y_part, marker in ((X_train, y_train, "o"), (X_test, y_test, "x")):
        codes = np.searchsorted(labels, y_part)
        axis.scatter(X_part[:, 0], X_part[:, 1], c=colours[codes], marker=marker, s=14)
    handles = [
        Line2D([], [], linestyle="", marker="s", markersize=8, color=colour, label=str(name))
        for name, colour in zip(labels, colours)
    ]
    handles += [
        Line2D([], [], linestyle="", marker=marker, color="0.3", label=label)
        for marker, label in (("o", "train"), ("x", "test"))
    ]
    axis.legend(handles=handles, loc="upper right", title="class", fontsize="small")
    axis.set_title("Decision boundary (standardised features)")


def _numbered(path, number):
    """``path`` with ``-number`` before its extension: "run.png", 2 -> "run-2.png"."""
    stem, extension = os.path.splitext(path)
    return path if number == 1 else f"{stem}-{number}{extension}"


def _create_new_file(path):
    """Create the first of ``path``, ``path-2``, ``path-3``... that does not exist; return
    the open binary file and its path.

    The file is created exclusively (``"xb"``), so neither an earlier run's
    plot nor one that another run saves meanwhile is overwritten.
    """
    number = 1
    while True:
        candidate = _numbered(path, number)
        try:
            return open(candidate, "xb"), candidate
        except FileExistsError:
            number += 1


def _save_plot(path, estimator, X_train, y_train, X_test, y_test, overwrite=True, **figure_options):
    """Save `plot_figure` to ``path`` (or, without ``overwrite``, to its first free numbered
    name); return the path saved, or None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no plot was saved (pip install matplotlib).")
        return None
    figure = plot_figure(estimator, X_train, y_train, X_test, y_test, **figure_options)
    # savefig infers the format from a path, not from an open file.
    image_format = os.path.splitext(path)[1][1:].lower() or "png"
    try:
        if overwrite:
            replaced = os.path.exists(path)
            figure.savefig(path, dpi=100, format=image_format)
        else:
            replaced = False
            file, path = _create_new_file(path)
            try:
                with file:
                    figure.savefig(file, dpi=100, format=image_format)
            except BaseException:
                os.remove(path)  # an empty or partial file is no plot
                raise
    finally:
        plt.close(figure)
    print(f"Saved {path}" + (" (replacing the previous file)" if replaced else ""))
    return path


def _r_squared_name():
    """The summary's name for R²: "R^2" where standard output cannot encode "²" (ASCII)."""
    try:
        "R²".encode(getattr(sys.stdout, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "R^2"
    return "R²"


def _mean_and_scale(values):
    """Mean and standard deviation of ``values``; a zero deviation (a constant) counts as 1."""
    mean, scale = values.mean(axis=0), values.std(axis=0)
    # A constant column (blank pixels) carries nothing: leave it at 0.
    return mean, np.where(scale == 0, 1.0, scale)


def train(
    X: ArrayLike,
    y: ArrayLike,
    *,
    task: Literal["auto", "classification", "regression"] = "auto",
    test_fraction: float = 0.25,
    seed: int = 0,
    plot: Optional[str] = None,
    plot_overwrite: bool = True,
    feature_names: Optional[Sequence[str]] = None,
    quiet: bool = False,
    **estimator_params: Any,
) -> tuple[Union[MLPClassifier, MLPRegressor], float]:
    """Split, standardise, fit, print a summary and optionally plot.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Features.
    y : array_like of shape (n_samples,)
        Labels, or real targets for regression.
    task : {"auto", "classification", "regression"}, default "auto"
        Train an `MLPClassifier` or an `MLPRegressor`; "auto" lets
        `choose_task` decide from ``y``.
    test_fraction : float, default 0.25
        Share of the samples held out for the score.
    seed : int, default 0
        Seeds the split and the estimator.
    plot : str, optional
        Image path (PNG, or another format matplotlib writes, by its
        extension) for the loss curve and the decision boundary (2-D
        classification) or the predicted against the true targets
        (regression).  The path saved is printed.
    plot_overwrite : bool, default True
        Replace ``plot`` if it exists.  When False, the plot goes to the
        first of ``plot``, then ``plot`` numbered ``-2``, ``-3``... before
        its extension, that does not exist (``run.png``, ``run-2.png``...).
    feature_names : sequence of str, optional
        One name per column of ``X``, for the axes of the decision
        boundary; "feature 0" and "feature 1" when None.
    quiet : bool, default False
        Print only the summary, not the line saying what is trained.
    **estimator_params
        Passed to `fastnn.MLPClassifier` or `fastnn.MLPRegressor`.

    Returns
    -------
    estimator : MLPClassifier or MLPRegressor
        The fitted estimator.  It was trained on the standardised features
        and, for regression, the standardised target (the training part's
        mean subtracted, divided by its standard deviation), so its
        ``loss_curve_`` and predictions are in those units.
    score : float
        Held-out accuracy, or held-out R² for regression.

    Raises
    ------
    ValueError
        For an unknown ``task``, a regression target that is not finite
        numbers, a ``test_fraction`` that leaves a part empty (or, for
        regression, with fewer than 2 samples, too few for R²), or
        ``feature_names`` without one name per feature.

    Warns
    -----
    ConvergenceWarning
        From the estimator's ``fit``, when training stops before it
        converges (at ``max_iter``, for instance).

    Examples
    --------
    >>> from fastnn.datasets import make_friedman1, make_spirals
    >>> from fastnn.train import train
    >>> X, y = make_spirals(n_samples=200, n_classes=2, seed=0)
    >>> classifier, accuracy = train(X, y, quiet=True, hidden_layer_sizes=(20,),
    ...                              solver="lbfgs")  # doctest: +ELLIPSIS
    Trained for ...
    >>> 0.0 <= accuracy <= 1.0
    True
    >>> X, y = make_friedman1(n_samples=200, noise=0.5, seed=0)
    >>> regressor, r2 = train(X, y, quiet=True, hidden_layer_sizes=(10,),
    ...                       solver="lbfgs", max_iter=2000)  # doctest: +ELLIPSIS
    Trained for ...
    Held-out R...
    >>> type(regressor).__name__, bool(r2 > 0.5)
    ('MLPRegressor', True)
    """
    task, _ = choose_task(y, task)
    regression = task == "regression"
    features = np.asarray(X, dtype=np.float64)
    if features.ndim == 2:  # else the estimator's fit says what X must be
        feature_names = _checked_feature_names(feature_names, features.shape[1])
    labels = _continuous_target(None, np.asarray(y)) if regression else np.asarray(y)
    rng = np.random.default_rng(seed)
    train_index, test_index = _split(features.shape[0], test_fraction, rng, least=2 if regression else 1)
    mean, scale = _mean_and_scale(features[train_index])
    features = (features - mean) / scale
    X_train, y_train = features[train_index], labels[train_index]
    X_test, y_test = features[test_index], labels[test_index]
    # No output per iteration or epoch: this command prints its own summary.
    params = {"random_state": seed, "verbose": False, **estimator_params}
    if regression:
        estimator: Union[MLPClassifier, MLPRegressor] = MLPRegressor(**params)
        # The target is standardised like the features: Adam's and SGD's
        # steps, about learning_rate_init each, would take too many epochs to
        # reach a target in the thousands, and R² is the same in either unit.
        target_mean, target_scale = _mean_and_scale(y_train)
        fit_train = (y_train - target_mean) / target_scale
        fit_test = (y_test - target_mean) / target_scale
        score_name = _r_squared_name()
        target_units = {"target_mean": float(target_mean), "target_scale": float(target_scale)}
    else:
        estimator = MLPClassifier(**params)
        fit_train, fit_test = y_train, y_test
        score_name = "accuracy"
        target_units = {}
    if not quiet:
        print(f"Training ({estimator.solver}) on {len(train_index)} samples, "
              f"holding out {len(test_index)}...", flush=True)
    start = time.perf_counter()
    estimator.fit(X_train, fit_train)
    seconds = time.perf_counter() - start
    score = float(estimator.score(X_test, fit_test))
    unit = "iterations" if estimator.solver == "lbfgs" else "epochs"
    print(f"Trained for {estimator.n_iter_} {unit} ({estimator.solver}) in {seconds:.2f} s")
    if regression:
        print(f"Final training loss: {estimator.loss_curve_[-1]:.4g} (standardised target)")
    else:
        print(f"Final training loss: {estimator.loss_curve_[-1]:.4f}")
    train_score = float(estimator.score(X_train, fit_train))
    print(f"{'Training ' + score_name + ':':<21}{train_score:.4f} on {len(train_index)} samples")
    print(f"{'Held-out ' + score_name + ':':<21}{score:.4f} on {len(test_index)} samples")
    if plot:
        _save_plot(plot, estimator, X_train, y_train, X_test, y_test, overwrite=plot_overwrite,
                   feature_names=feature_names, **target_units)
    return estimator, score


# --------------------------------------------------------------------------
# The command line: each option is checked as it is parsed, their combinations
# and the plot's path before any data is read
# --------------------------------------------------------------------------


def _hidden_sizes(text):
    """``--hidden``: comma-separated positive layer sizes, "64,32" -> (64, 32)."""
    try:
        # A trailing comma ("64,32,") is forgiven; an empty list is not.
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected the sizes of the hidden layers, positive integers separated by commas "
            f"such as 100 or 64,32, got {text!r}"
        )
    return sizes


def _batch_size(text):
    """``--batch-size``: a positive integer, or "auto"."""
    if text == "auto":
        return text
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or auto, got {text!r}")
    return size


def _number(convert, expected, accept):
    """An argparse ``type``: ``convert(text)`` when ``accept`` takes it, else a usage error
    saying ``expected``."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        # float() takes "nan" and "inf": accept() sees them and must refuse them.
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_integer = _number(int, "a positive integer", lambda value: value >= 1)
_positive_number = _number(
    float, "a positive number such as 0.001", lambda value: math.isfinite(value) and value > 0
)
_non_negative_number = _number(
    float, "a number >= 0 such as 0.0001", lambda value: math.isfinite(value) and value >= 0
)
_fraction = _number(float, "a number between 0 and 1 (both excluded) such as 0.25",
                    lambda value: 0 < value < 1)
# The estimators seed NumPy's RandomState, which takes 0 ... 2**32 - 1.
_seed = _number(int, f"an integer from 0 to {2**32 - 1}", lambda value: 0 <= value < 2**32)


def _dataset_name(text):
    """``--dataset``: a built-in data set's name; a file's name is refused with the way to
    give it.

    Before argparse's ``choices``, which would say only "invalid choice".
    """
    if text not in DATASET_TASKS and (
        text.lower().endswith(DATA_EXTENSIONS) or os.path.isfile(text)
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r} looks like a data file, but --dataset takes the name of built-in data "
            f"({', '.join(DATASET_TASKS)}); pass a data file first, as in "
            f"'python -m fastnn.train {text}', or with --data {text}"
        )
    return text


class _GivenOnce(argparse.Action):
    """Store an option's value, refusing a second one rather than keeping the last silently."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = getattr(namespace, self.dest, None)
        if given is not None:
            raise argparse.ArgumentError(
                self, f"the data file is given twice, {given!r} and {values!r}; give it once"
            )
        setattr(namespace, self.dest, values)


def estimator_params(args: argparse.Namespace) -> dict[str, Any]:
    """The estimator parameters given by parsed command-line options.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``python -m fastnn.train``.

    Returns
    -------
    dict
        Parameter name to value, for every option in
        ``ESTIMATOR_PARAMETERS``: the same names in MLPClassifier and
        MLPRegressor.
    """
    return {parameter: getattr(args, option) for option, parameter in ESTIMATOR_PARAMETERS.items()}


def _default_help(option, default):
    """Help text for a default, saying where and why it differs from the estimators'."""
    text = f"default: {default}"
    parameter = ESTIMATOR_PARAMETERS.get(option)
    if parameter is None:
        return text
    if option == "hidden":
        default = _hidden_sizes(default)
    owns = {}
    for estimator in (MLPClassifier, MLPRegressor):
        own = inspect.signature(estimator).parameters[parameter].default
        if option == "hidden":
            own = tuple(own) if isinstance(own, (list, tuple)) else (own,)
        owns[estimator.__name__] = own
    differing = {name: own for name, own in owns.items() if own != default}
    if not differing:
        return text
    if len(set(map(repr, differing.values()))) == 1:
        names = "'s and ".join(differing)
        text += f"; {names}'s default is {next(iter(differing.values()))!r}"
    else:
        text += "; " + ", ".join(f"{name}'s default is {own!r}" for name, own in differing.items())
    if option in _WHY_DEFAULT_DIFFERS:
        text += f", but {_WHY_DEFAULT_DIFFERS[option]}"
    return text


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m fastnn.train",
        description="Train a fastnn MLPClassifier or MLPRegressor and report its held-out "
                    "accuracy or R².",
        epilog="Options that set estimator parameters say where their default differs "
               "from MLPClassifier's and MLPRegressor's, and why. Every option is checked "
               "before any data is read. Options must be spelt in full: --data is not "
               "--dataset.",
        # An abbreviation reads "--data my.csv" as "--dataset my.csv", and a
        # future option could change what an abbreviation means.
        allow_abbrev=False,
    )
    parser.add_argument("data", nargs="?", metavar="FILE",
                        help=".npz (arrays X and y) or comma-separated .csv (label or target in "
                             "the last column) file; default: the --dataset")
    parser.add_argument("--data", "--file", dest="data_option", metavar="FILE", action=_GivenOnce,
                        help="the data file, as an option: the same as giving FILE first")
    # No argparse default: a --dataset given with a data file is an error,
    # and only an absent one may default to spirals.
    parser.add_argument("--dataset", type=_dataset_name, choices=tuple(DATASET_TASKS),
                        help="built-in data when no file is given: spirals and digits are "
                             "classification problems, friedman1 a regression (default: spirals)")
    options = [
        ("--label-column", dict(type=int, default=-1,
                                help="CSV column holding the label or target, from 0; -1 is the "
                                     "last")),
        ("--task", dict(choices=TASKS, default="auto",
                        help="classification trains an MLPClassifier, regression an "
                             "MLPRegressor; auto picks regression when the target holds "
                             "numbers, not all integers, with more than "
                             f"{MANY_DISTINCT_VALUES} distinct values or more distinct values "
                             f"than {MANY_DISTINCT_SHARE * 100:g}%% of the rows, and classification "
                             "otherwise, and prints which it picked")),
        ("--hidden", dict(type=_hidden_sizes, default="100", help="hidden layer sizes, e.g. 100 or 64,32")),
        ("--activation", dict(choices=ACTIVATIONS, default="relu", help="hidden-layer activation")),
        ("--solver", dict(choices=SOLVERS, default="lbfgs", help="optimiser")),
        ("--learning-rate", dict(type=_positive_number, default=1e-3, help="adam/sgd step size")),
        ("--batch-size", dict(type=_batch_size, default="auto",
                              help="adam/sgd mini-batch size, or auto for min(200, n_samples)")),
        ("--max-epochs", dict(type=_positive_integer, default=1000,
                              help="most epochs (adam, sgd) or iterations (lbfgs); training that "
                                   "stops here before converging prints a note")),
        ("--l2", dict(type=_non_negative_number, default=1e-4, help="weight penalty")),
        ("--test-fraction", dict(type=_fraction, default=0.25, help="share of the samples held out")),
        ("--seed", dict(type=_seed, default=0,
                        help="seeds the generated data, the split and the network")),
    ]
    for flag, spec in options:
        option = flag[2:].replace("-", "_")
        spec["help"] += f" ({_default_help(option, spec['default'])})"
        parser.add_argument(flag, **spec)
    parser.add_argument("--plot", metavar="PATH",
                        help="image file for the loss curve and the decision boundary (2-D "
                             "classification) or the predicted against the true targets "
                             "(regression): PNG, or another format matplotlib writes, by the "
                             "extension; PATH is replaced if it exists (default: "
                             f"{DEFAULT_PLOT} in the current directory, or "
                             f"{_numbered(DEFAULT_PLOT, 2)}, -3, ... if it exists: a run never "
                             "replaces an earlier run's plot)")
    parser.add_argument("--no-plot", action="store_true", help="do not save a plot")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the final summary (iterations or epochs, time, loss, "
                             "accuracies or R²) and the plot's path: no description of the data, "
                             "no task and no line before training; notes and warnings still go "
                             "to standard error")
    return parser


# Estimator parameter -> the flag that sets it, to speak the command line's
# names in the estimators' messages.
_FLAG_OF_PARAMETER = {parameter: _flag(option) for option, parameter in ESTIMATOR_PARAMETERS.items()}


def _in_cli_terms(message):
    """An estimator's message with its parameters named by the flags that set them."""
    # scikit-learn's form, which the estimators share.
    match = re.fullmatch(r"The '(\w+)' parameter of \w+ must be (.+?)\.? Got (.+?) instead\.?",
                         message.strip(), flags=re.DOTALL)
    if match and match[1] in _FLAG_OF_PARAMETER:
        return f"{_FLAG_OF_PARAMETER[match[1]]} must be {match[2]}, got {match[3]}"
    for parameter, flag in _FLAG_OF_PARAMETER.items():
        message = re.sub(rf"'{parameter}'|\b{parameter}\b(?==)", flag, message)
        message = message.replace(f"{flag}=", f"{flag} ")
        # A bare name only when it has an underscore: "solver" or "alpha" may be
        # plain English in a message, "max_iter" never is.
        if "_" in parameter:
            message = re.sub(rf"\b{parameter}\b", flag, message)
    return message


def _image_formats():
    """The file extensions matplotlib writes, or None without matplotlib."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        return None
    return set(FigureCanvasBase.get_supported_filetypes())


def _checked_plot_path(parser, path, explicit):
    """The plot's path, checked before any training: its directory exists and is writable,
    and matplotlib writes its format.  A path without an extension gets ".png"."""
    name = "argument --plot: " if explicit else ""
    what = repr(path) if explicit else f"the plot, {path} (--plot's default),"
    if not path:
        parser.error(f"{name}expected a file path, got ''")
    if os.path.isdir(path):
        parser.error(f"{name}{path!r} is a directory; give a file path such as "
                     f"{os.path.join(path, DEFAULT_PLOT)}")
    directory = os.path.dirname(path) or os.curdir
    if not os.path.isdir(directory):
        problem = "is not a directory" if os.path.exists(directory) else "does not exist"
        parser.error(f"{name}the directory {directory!r} of {path!r} {problem}: create it "
                     f"first, or choose another --plot path")
    if not os.access(directory, os.W_OK | os.X_OK):
        hint = "" if explicit else ": pass --plot PATH elsewhere, or --no-plot"
        parser.error(f"{name}cannot write {what} in {os.path.abspath(directory)!r}{hint}")
    extension = os.path.splitext(path)[1][1:].lower()
    if not extension:
        # matplotlib would add it, and the "Saved" line must name the file written.
        return path + ".png"
    formats = _image_formats()
    if formats is not None and extension not in formats:
        parser.error(f"{name}matplotlib cannot write .{extension} files; use .png or one of "
                     f"{', '.join('.' + f for f in sorted(formats) if f != 'png')}")
    return path


def _check_arguments(parser, args):
    """Check what parsing each option alone cannot, before any data is read: the options'
    combinations, the estimators' own rules and the plot's path.

    Fills in ``args.data`` (the file, given first or with --data),
    ``args.dataset``, ``args.plot`` (None for no plot) and
    ``args.plot_overwrite`` (only an explicit --plot replaces a file).
    """
    data = args.data
    if data is not None and args.data_option is not None:
        parser.error(f"the data file is given twice, {data!r} first and {args.data_option!r} "
                     f"with --data; give it once")
    data = args.data_option if data is None else data
    if data is not None and data in DATASET_TASKS and not os.path.exists(data):
        parser.error(f"{data!r} is built-in data, not a file: pass --dataset {data}")
    if data is not None and args.dataset is not None:
        parser.error(f"both --dataset {args.dataset} and the data file {data!r} are given; "
                     f"give one (the file would replace the built-in data)")
    args.data, args.dataset = data, args.dataset or "spirals"
    conflict = _dataset_task_conflict(args.dataset, args.task) if data is None else None
    if conflict:
        parser.error(conflict)
    extension = None if data is None else os.path.splitext(data)[1].lower()
    if args.label_column != -1 and extension in (None, ".npz"):
        what = (f"the built-in {args.dataset}" if data is None
                else f"{data!r}, a .npz file whose arrays X and y say which is the label")
        parser.error(f"--label-column applies to .csv files only, and the data is {what}: "
                     f"leave --label-column out")
    # The estimators' own checks, a safety net under the parsers above: a rule
    # an estimator gains later still stops the command before any training.
    try:
        MLPClassifier(**estimator_params(args))._validate_hyperparameters()
    except ValueError as error:
        parser.error(_in_cli_terms(str(error)))
    args.plot_overwrite = args.plot is not None
    if args.no_plot:
        if args.plot is not None:
            parser.error("both --plot and --no-plot are given; give one")
        args.plot = None
    else:
        explicit = args.plot is not None
        args.plot = _checked_plot_path(parser, args.plot if explicit else DEFAULT_PLOT, explicit)


def _warning_lines(caught, estimator, max_epochs):
    """One line per distinct warning caught while training, in the command line's terms.

    Training that stops at --max-epochs is a note, not a warning: the
    model is usable, and the remedy is one flag.
    """
    lines = []
    for warning in caught:
        message = " ".join(_in_cli_terms(str(warning.message)).split())
        if not issubclass(warning.category, ConvergenceWarning):
            line = f"warning: {message}"
        elif estimator is not None and estimator.n_iter_ >= max_epochs:
            unit = "L-BFGS iterations" if estimator.solver == "lbfgs" else "epochs"
            line = (f"note: training stopped at --max-epochs {max_epochs} ({unit}) before "
                    f"converging; raise --max-epochs to train longer")
        else:
            line = f"note: training stopped before converging: {message}"
        if line not in lines:
            lines.append(line)
    return lines


def _describe_target(y, task):
    """The end of the "Data:" line: the classes, or the target's mean and spread."""
    if task == "classification":
        return f"{len(np.unique(y))} classes"
    return f"a continuous target with mean {np.mean(y):.3g} and standard deviation {np.std(y):.3g}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m fastnn.train``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success, 2 for unusable data.

    Raises
    ------
    SystemExit
        With status 2 for a usage error, reported before any data is read:
        an option argparse rejects (a value out of range, an abbreviated
        flag), options that contradict each other (``--task`` against a
        built-in ``--dataset``, a data file with ``--dataset``), or a
        ``--plot`` path that cannot be written; and with 0 after ``--help``.

    Examples
    --------
    >>> from fastnn.train import main
    >>> main(["--dataset", "spirals", "--hidden", "20", "--quiet", "--no-plot"])
    ... # doctest: +ELLIPSIS
    Trained for ...
    0
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            X, y, name, feature_names = _load(args.data, args.dataset, args.label_column,
                                              args.seed, task=args.task)
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
        task, reason = choose_task(y, args.task)
        if not args.quiet:
            print(f"Data: {name}, {X.shape[0]} samples, {X.shape[1]} features, "
                  f"{_describe_target(y, task)}")
            how = f"--task auto: {reason}" if args.task == "auto" else f"--task {task}"
            print(f"Task: {task} ({how})")
        estimator = None
        # The estimators' warnings name their parameters and come with a
        # source line; they are reported below, one line each, in this
        # command's terms.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)  # ConvergenceWarning is one
            warnings.simplefilter("always", RuntimeWarning)
            try:
                estimator, _ = train(
                    X, y,
                    task=task,
                    test_fraction=args.test_fraction,
                    seed=args.seed,
                    plot=args.plot,
                    plot_overwrite=args.plot_overwrite,
                    feature_names=feature_names,
                    quiet=args.quiet,
                    **estimator_params(args),
                )
            finally:
                for line in _warning_lines(caught, estimator, args.max_epochs):
                    print(line, file=sys.stderr)
    except (OSError, ValueError) as error:
        print(f"error: {_in_cli_terms(str(error))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
