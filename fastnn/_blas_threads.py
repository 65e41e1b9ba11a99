"""One BLAS thread for training steps whose matrix products are small.

An MLP step alternates matrix products (the BLAS) with elementwise kernels
(fastnn's OpenMP) and, under L-BFGS, vector updates on the parameters
(SciPy's own OpenBLAS, a second copy beside NumPy's).  Each of these thread
pools spins for a while after its work, waiting for more, so on a machine
with few cores the pools take turns stealing the cores from one another.
On a 2-core machine an L-BFGS fit of the digits (1797 x 64 -> 256) took
0.54 s with every pool at two threads and 0.19 s with the BLAS at one,
quiet; with one competing process, 2.9 s and 0.18 s.  A product of that
size gains little from a second BLAS thread even alone (1.4x), so
training whose largest product per step is below ``SMALL_PRODUCT_FLOPS``
runs with every BLAS limited to one thread.  Larger products keep the
BLAS's own thread count: their second thread pays (1.8x at 8e8 flops).

The limit is set with threadpoolctl, which scikit-learn installs; without
it nothing is limited.  It is set once per fit, never per product (a
change costs tens of microseconds), and restored afterwards.
"""

import contextlib

__all__ = ["SMALL_PRODUCT_FLOPS", "training_blas_limit"]

#: Products below this many floating-point operations (2 m k n) run on one
#: BLAS thread during training; see the module docstring for measurements.
SMALL_PRODUCT_FLOPS = 2e8

_controller = None  # threadpoolctl.ThreadpoolController, made on first use


def _blas_controller():
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
        except ImportError:
            _controller = False
        else:
            # The controller knows the libraries loaded when it is made:
            # load SciPy's OpenBLAS (L-BFGS's) first, beside NumPy's.
            import scipy.linalg  # noqa: F401

            _controller = ThreadpoolController()
    return _controller


def training_blas_limit(rows_per_step, layer_sizes):
    """A context in which training steps of ``rows_per_step`` rows run.

    Parameters
    ----------
    rows_per_step : int
        Rows in one step's products: the batch size, or every sample for a
        full-batch solver.
    layer_sizes : sequence of int
        The network's layer widths, input first.

    Returns
    -------
    context manager
        Limits every BLAS to one thread when the largest product of a step
        has fewer than ``SMALL_PRODUCT_FLOPS`` operations and threadpoolctl
        is installed; otherwise does nothing.
    """
    widest = max((a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])), default=0)
    if 2.0 * rows_per_step * widest >= SMALL_PRODUCT_FLOPS:
        return contextlib.nullcontext()
    controller = _blas_controller()
    if not controller:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")
