"""The cases several sections share: shapes, dtypes and how they are labelled.

The row kernels (softmax, log_softmax, the softmax cross-entropy) are timed on
two small and three large (N, C) shapes; the elementwise sigmoid family on
the two small ones and 1e6 elements.  The kernel tables, the thread speed-ups,
the performance goals and the chart all read the same lists, so that they
speak of the same cases.
"""

import numpy as np

# (N, C) shapes of the row kernels' tables; the last three are the large ones.
SHAPES = [(1, 10), (128, 10), (100_000, 10), (4096, 1000), (64, 50_000)]
LARGE_SHAPES = [(100_000, 10), (4096, 1000), (64, 50_000)]
# Elementwise kernels: the two small shapes and 1e6 elements.
ELEMENTWISE_SHAPES = [(1, 10), (128, 10), (1000, 1000)]
ELEMENTWISE_LARGE = [(1000, 1000)]
DTYPES = [np.float32, np.float64]


def is_elementwise(kernel):
    """True for the sigmoid family, which is timed on ELEMENTWISE_SHAPES."""
    return kernel.startswith("sigmoid")


def shapes_for(kernel):
    """Every shape the kernel tables time ``kernel`` on."""
    return ELEMENTWISE_SHAPES if is_elementwise(kernel) else SHAPES


def large_shapes_for(kernel):
    """The shapes of ``kernel`` large enough to run on several threads."""
    return ELEMENTWISE_LARGE if is_elementwise(kernel) else LARGE_SHAPES


def shape_label(shape):
    """``(4096, 1000)`` -> ``"4096x1000"``, the form used in tables and JSON."""
    return "x".join(str(n) for n in shape)


def dtype_name(dtype):
    """``np.float32`` -> ``"float32"``."""
    return np.dtype(dtype).name
