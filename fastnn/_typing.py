"""Type aliases shared by the annotations of fastnn's public API.

Only for annotations: nothing here is checked at run time.  The results of
the kernels are typed as ``NDArray[np.floating]`` because their dtype
(float32 or float64) follows the input's dtype at run time.
"""

from typing import Literal, Union

import numpy as np
from numpy.typing import NDArray

__all__ = ["FloatArray", "Reduction", "Seed", "Activation", "IntegerLike"]

FloatArray = NDArray[np.floating]
"""A float32 or float64 array."""

Reduction = Literal["mean", "sum", "none"]

Activation = Literal["identity", "logistic", "sigmoid", "tanh", "relu"]

IntegerLike = Union[int, np.integer]
"""A Python or NumPy integer (not a float holding an integer value)."""

Seed = Union[
    None, int, np.integer, np.random.SeedSequence, np.random.BitGenerator, np.random.Generator
]
"""A seed ``numpy.random.default_rng`` accepts."""
