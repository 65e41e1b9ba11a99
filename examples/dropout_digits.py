"""Dropout against overfitting: the digits with few training rows and a wide hidden layer.

Run it from the repository root (or give this file's path from anywhere)::

    python examples/dropout_digits.py

It trains fastnn's MLPClassifier on 200 of the shipped 8x8 digits, with a
hidden layer of 512 units, once without dropout and once with
``dropout=0.5``, one epoch at a time, and records the training loss and the
log-loss of 1,000 held-out digits after every epoch.  Without dropout the
training loss falls towards zero while the held-out loss turns back up
(the network memorises its 200 rows); dropout keeps the two closer.  It
then repeats both fits over several seeds and prints the held-out accuracy
of each.  With matplotlib installed it saves the curves to
``dropout_digits.png`` (or the path given as the first argument).
"""

import sys
import warnings

import numpy as np

from fastnn import MLPClassifier
from fastnn.datasets import load_digits

EPOCHS = 300
SEEDS = range(5)


def held_out_log_loss(clf, X, y):
    probabilities = clf.predict_proba(X)[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.maximum(probabilities, 1e-300))))


def curves(dropout, X_train, y_train, X_test, y_test, seed):
    """Training and held-out loss after each epoch, and the final held-out accuracy."""
    clf = MLPClassifier(hidden_layer_sizes=(512,), learning_rate_init=1e-2, alpha=0.0,
                        dropout=dropout, random_state=seed)
    training, held_out = [], []
    for _ in range(EPOCHS):
        clf.partial_fit(X_train, y_train, classes=np.arange(10))
        training.append(clf.loss_)
        held_out.append(held_out_log_loss(clf, X_test, y_test))
    return training, held_out, clf.score(X_test, y_test)


def main(path="dropout_digits.png"):
    X, y = load_digits()
    X = X / 16.0
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:200], order[200:1200]
    X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]

    results = {}
    for dropout in (0.0, 0.5):
        training, held_out, _ = curves(dropout, X_train, y_train, X_test, y_test, seed=0)
        results[dropout] = (training, held_out)
        best = int(np.argmin(held_out))
        print(f"dropout={dropout}: after {EPOCHS} epochs training loss {training[-1]:.4f}, "
              f"held-out loss {held_out[-1]:.4f} (lowest {held_out[best]:.4f} at epoch "
              f"{best + 1})")

    for dropout in (0.0, 0.5):
        scores = [curves(dropout, X_train, y_train, X_test, y_test, seed)[2] for seed in SEEDS]
        print(f"dropout={dropout}: held-out accuracy over seeds {list(SEEDS)}: "
              f"{', '.join(f'{s:.3f}' for s in scores)} (mean {np.mean(scores):.4f})")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no plot was saved (pip install matplotlib).")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    epochs = np.arange(1, EPOCHS + 1)
    for dropout, color in ((0.0, "tab:red"), (0.5, "tab:blue")):
        training, held_out = results[dropout]
        ax.plot(epochs, training, color=color, linestyle="--", label=f"training, dropout={dropout}")
        ax.plot(epochs, held_out, color=color, label=f"held out, dropout={dropout}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("log-loss")
    ax.set_title(f"{len(train)} training digits, 512 hidden units")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"Saved {path}")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        main(*sys.argv[1:2])
