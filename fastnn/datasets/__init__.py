"""Small data sets for examples and tests, available without a download.

``load_digits`` returns a shipped copy of a standard 8x8 handwritten-digits
set; ``make_spirals`` generates interleaved spirals, the classic toy problem a
linear classifier cannot solve and a one-hidden-layer network can;
``make_friedman1`` generates Friedman's first regression problem, a
continuous target with a non-linear interaction and irrelevant features.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numpy.typing import NDArray

from .._typing import IntegerLike, Seed
from .._validation import check_rng, is_real

__all__ = ["load_digits", "make_spirals", "make_friedman1"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def load_digits() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Load the 8x8 handwritten digits (1797 images, 10 classes).

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        Each row is an 8x8 image flattened row by row; pixel values are the
        integers 0 to 16 (divide by 16 to scale them to [0, 1]).
    y : ndarray of int64, shape (1797,)
        The digit, 0 to 9; about 180 images per class.

    Notes
    -----
    This is the test part of the UCI "Optical Recognition of Handwritten
    Digits" data set (E. Alpaydin and C. Kaynak, 1998), the same 1797 images
    as ``sklearn.datasets.load_digits``.  Each 8x8 image counts the "on"
    pixels in the 4x4 blocks of a normalised 32x32 bitmap.  It is licensed
    CC BY 4.0; see ``DIGITS_LICENSE.txt`` beside this file.

    References
    ----------
    .. [1] E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten
       Digits", UCI Machine Learning Repository, 1998.
       https://doi.org/10.24432/C50P49

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y.shape
    ((1797, 64), (1797,))
    >>> np.bincount(y)
    array([178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    """
    with np.load(os.path.join(_HERE, "digits.npz")) as data:
        X = data["data"].astype(np.float64)
        y = data["target"].astype(np.int64)
    return X, y


def make_spirals(
    n_samples: IntegerLike = 300,
    n_classes: IntegerLike = 3,
    noise: float = 0.2,
    seed: Seed = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Generate interleaved 2-D spirals, one arm per class.

    Parameters
    ----------
    n_samples : int, default 300
        Total number of points, split as evenly as possible between classes.
    n_classes : int, default 3
        Number of spiral arms.
    noise : float, default 0.2
        Standard deviation of the Gaussian noise added to each point's angle
        (in radians); 0 gives perfect spirals.
    seed : None, int or numpy.random.Generator
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
        Points inside the unit disc.
    y : ndarray of int64, shape (n_samples,)
        Arm (class) of each point, ``0 .. n_classes - 1``, in blocks.

    Notes
    -----
    Point ``i`` of an arm with ``m`` points has radius ``r = i / (m - 1)``
    and angle ``4 r + 2 pi k / n_classes + noise``, for arm ``k``: each arm
    makes about two thirds of a turn, rotated from its neighbours by an equal
    angle, so the classes interleave and are not linearly separable.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.datasets import make_spirals
    >>> X, y = make_spirals(n_samples=100, n_classes=2, noise=0.1, seed=0)
    >>> X.shape, np.bincount(y)
    ((100, 2), array([50, 50]))
    >>> bool(np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0))
    True
    """
    for name, value in (("n_samples", n_samples), ("n_classes", n_classes)):
        # A float holding a whole number (300.0) is accepted, as it always was.
        if not is_real(value):
            raise TypeError(f"{name} must be a positive integer, got {value!r}")
        if not (math.isfinite(value) and int(value) == value and value >= 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not is_real(noise):
        raise TypeError(f"noise must be a non-negative number, got {noise!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    rng = check_rng(seed)
    n_samples, n_classes = int(n_samples), int(n_classes)
    counts = np.full(n_classes, n_samples // n_classes)
    counts[: n_samples % n_classes] += 1
    y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    # Position along the arm, 0 at the centre, 1 at the tip.
    radius = np.concatenate([np.linspace(0.0, 1.0, m) for m in counts])
    angle = 4.0 * radius + 2.0 * np.pi * y / n_classes + noise * rng.standard_normal(n_samples)
    X = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return X, y


def make_friedman1(
    n_samples: IntegerLike = 100,
    n_features: IntegerLike = 10,
    noise: float = 0.0,
    seed: Seed = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""Generate Friedman's first regression problem ("Friedman #1").

    Parameters
    ----------
    n_samples : int, default 100
        Number of samples.
    n_features : int, default 10
        Number of features, at least 5; only the first five enter the target,
        the others are noise the model has to learn to ignore.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to the target; 0 gives
        the exact formula.
    seed : None, int or numpy.random.Generator
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, n_features)
        Features drawn independently and uniformly on [0, 1).
    y : ndarray of float64, shape (n_samples,)
        The target.

    Notes
    -----
    The target is

    .. math::

        y = 10 \sin(\pi x_0 x_1) + 20 (x_2 - 0.5)^2 + 10 x_3 + 5 x_4
            + \text{noise} \cdot \varepsilon, \qquad \varepsilon \sim N(0, 1).

    Without noise it lies in [0, 30), with mean 14.41 and variance 23.8
    (from the integrals over the unit cube), so ``noise=1`` (Friedman's
    choice) caps the attainable R² near ``1 - 1 / 24.8 = 0.96``.

    The features are drawn first, as one ``(n_samples, n_features)`` block,
    then the noise: the recipe of ``sklearn.datasets.make_friedman1``, but
    with a ``numpy.random.Generator`` instead of a ``RandomState``, so the
    same seed gives different data.

    References
    ----------
    .. [1] J. H. Friedman, "Multivariate adaptive regression splines", The
       Annals of Statistics 19(1), 1-67, 1991.
       https://doi.org/10.1214/aos/1176347963
    .. [2] L. Breiman, "Bagging predictors", Machine Learning 24, 123-140,
       1996. https://doi.org/10.1007/BF00058655

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.datasets import make_friedman1
    >>> X, y = make_friedman1(n_samples=200, noise=0.0, seed=0)
    >>> X.shape, y.shape
    ((200, 10), (200,))
    >>> expected = (10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2
    ...             + 10 * X[:, 3] + 5 * X[:, 4])
    >>> bool(np.allclose(y, expected))
    True
    """
    # Whole-number floats (100.0) are accepted, as make_spirals accepts them.
    for name, value, least in (("n_samples", n_samples, 1), ("n_features", n_features, 5)):
        expected = "a positive integer" if least == 1 else f"an integer of at least {least}"
        if not is_real(value):
            raise TypeError(f"{name} must be {expected}, got {value!r}")
        if not (math.isfinite(value) and int(value) == value and value >= least):
            raise ValueError(f"{name} must be {expected}, got {value!r}")
    if not is_real(noise):
        raise TypeError(f"noise must be a non-negative number, got {noise!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    rng = check_rng(seed)
    n_samples, n_features = int(n_samples), int(n_features)
    X = rng.uniform(size=(n_samples, n_features))
    y = (
        10.0 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20.0 * (X[:, 2] - 0.5) ** 2
        + 10.0 * X[:, 3]
        + 5.0 * X[:, 4]
        + noise * rng.standard_normal(n_samples)
    )
    return X, y
