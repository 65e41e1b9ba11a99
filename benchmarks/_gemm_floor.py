"""The GEMM floor of a minibatch fit: the time of its matrix products alone.

A fit of a fully connected network with minibatches of ``batch_size`` rows
runs, at every step, the same matrix products whatever the activation, the
loss or the implementation (fastnn, scikit-learn and PyTorch all do):

- forward, for each layer l = 1..L: ``a_l = a_(l-1) @ W_l``, (rows x n_(l-1)) @ (n_(l-1) x n_l);
- backward, for each layer l = L..1: ``gW_l = a_(l-1).T @ delta_l``, and, above
  the first layer, ``delta_(l-1) = delta_l @ W_l.T`` (no gradient is taken
  with respect to the input X).

That is ``3 L - 1`` products per step, on ``rows`` = the batch size, or what
is left for the last, partial batch of an epoch.  ``time_gemm_floor`` runs
exactly these products, in this order, for every step of ``epochs`` epochs,
into preallocated outputs (``np.matmul(..., out=)``), with nothing else:
no activation, no loss, no bias, no penalty, no optimiser update, no
gathering of shuffled rows.  The BLAS runs on whatever thread count is in
force; the fit section sets it (threadpoolctl) to the row's thread count.

A fit that runs its products on the same number of BLAS threads can only be
slower than its floor (fastnn's fit drops to one BLAS thread for small
products, ``fastnn/_blas_threads.py``, which on two threads can be faster
than the floor's products).  A fit's time over the floor ("x floor") says how much the rest of the fit (the elementwise work, the optimiser and
the Python around them) adds to the products it cannot avoid.

Examples
--------
>>> import numpy as np
>>> from _gemm_floor import step_products, time_gemm_floor
>>> step_products((64, 100, 10), 200)
[(200, 64, 100), (200, 100, 10), (100, 200, 10), (200, 10, 100), (64, 200, 100)]
>>> X = np.random.default_rng(0).standard_normal((450, 64))
>>> floor = time_gemm_floor(X, (64, 100, 10), batch_size=200, epochs=2)
>>> floor.n_steps, floor.n_products    # 3 steps (200, 200, 50 rows) per epoch
(6, 30)
"""

import time
from dataclasses import dataclass, field

import numpy as np


def step_products(layer_sizes, rows):
    """The shapes ``(m, k, n)`` of one step's products, in the order a fit runs them.

    Parameters
    ----------
    layer_sizes : sequence of int
        The network's widths, input first: ``(n_features, hidden..., n_outputs)``.
    rows : int
        Rows of the minibatch.

    Returns
    -------
    list of (int, int, int)
        ``(m, k, n)`` for each product of an (m x k) by a (k x n) matrix:
        the forward products of every layer, then for each layer from the
        top the weight gradient and (above the first layer) the gradient
        with respect to the layer's input; ``3 L - 1`` for ``L`` layers.
    """
    sizes = [int(size) for size in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1 or int(rows) < 1:
        raise ValueError(f"layer_sizes must hold at least two positive widths and rows must be "
                         f"positive, got layer_sizes={tuple(layer_sizes)} and rows={rows}")
    rows = int(rows)
    forward = [(rows, n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    backward = []
    for layer in range(len(sizes) - 1, 0, -1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        backward.append((n_in, rows, n_out))  # a_(l-1).T @ delta_l
        if layer > 1:
            backward.append((rows, n_out, n_in))  # delta_l @ W_l.T
    return forward + backward


def batch_rows(n_samples, batch_size):
    """Rows of each minibatch of one epoch: full batches, then the partial one if any."""
    n_samples, batch_size = int(n_samples), int(batch_size)
    if n_samples < 1 or batch_size < 1:
        raise ValueError(f"n_samples and batch_size must be positive, got {n_samples} and {batch_size}")
    batch_size = min(batch_size, n_samples)
    full, rest = divmod(n_samples, batch_size)
    return [batch_size] * full + ([rest] if rest else [])


@dataclass
class GemmFloor:
    """The time of a fit's matrix products: every repeat, and what one repeat runs."""

    times: list = field(default_factory=list)  # seconds of each repeat
    n_steps: int = 0  # minibatch steps in one repeat (epochs x batches per epoch)
    n_products: int = 0  # matrix products in one repeat
    flops: float = 0.0  # 2 m k n summed over one repeat's products

    @property
    def median(self):
        return float(np.median(self.times))

    def as_dict(self):
        return {"floor": self.median, "floor_times": list(self.times), "floor_steps": self.n_steps,
                "floor_products": self.n_products, "floor_flops": self.flops}


class _Buffers:
    """The outputs of one step on ``rows`` rows, allocated once and shared by every
    step of that many rows.

    The deltas at the top are small random numbers (a product's speed does not
    depend on the values, as long as they are neither NaN nor subnormal); the
    lower deltas are the products' own outputs, as in backpropagation.
    """

    def __init__(self, weights, rows, dtype, rng):
        self.activations = [np.empty((rows, W.shape[1]), dtype=dtype) for W in weights]
        self.deltas = [np.empty((rows, W.shape[1]), dtype=dtype) for W in weights]
        self.deltas[-1][...] = 0.01 * rng.standard_normal(self.deltas[-1].shape)
        self.grads = [np.empty_like(W) for W in weights]


def _step_plan(batch, weights, buffers):
    """``(a, b, out)`` for each product of one step on ``batch``: ``out = a @ b``,
    in the order of ``step_products``."""
    inputs = [batch, *buffers.activations[:-1]]
    plan = [(inputs[layer], W, buffers.activations[layer]) for layer, W in enumerate(weights)]
    for layer in range(len(weights) - 1, -1, -1):
        plan.append((inputs[layer].T, buffers.deltas[layer], buffers.grads[layer]))
        if layer > 0:
            plan.append((buffers.deltas[layer], weights[layer].T, buffers.deltas[layer - 1]))
    return plan


def time_gemm_floor(X, layer_sizes, batch_size=200, epochs=1, dtype=None, repeats=1, seed=0):
    """Time the matrix products of ``epochs`` epochs of minibatch training on ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The training rows; batches are its consecutive slices (a fit gathers
        shuffled rows into a batch of the same shape, outside the products).
    layer_sizes : sequence of int
        The network's widths, ``layer_sizes[0] == n_features``.
    batch_size : int, default 200
        Rows per minibatch; the last batch of an epoch holds the rest.
    epochs : int, default 1
        Epochs to run; every epoch runs the same steps.
    dtype : numpy dtype, optional
        float32 or float64 (default: ``X``'s).
    repeats : int, default 1
        Times to run all the steps; each is timed on its own.
    seed : int, default 0
        Seeds the weights and the top deltas.

    Returns
    -------
    GemmFloor
        Seconds of each repeat (``median``), and the steps, products and
        floating-point operations of one repeat.
    """
    dtype = np.dtype(X.dtype if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    X = np.ascontiguousarray(X, dtype=dtype)
    sizes = [int(size) for size in layer_sizes]
    if X.ndim != 2 or X.shape[1] != sizes[0]:
        raise ValueError(f"X must have shape (n_samples, {sizes[0]}) for layer_sizes {tuple(sizes)}, "
                         f"got {X.shape}")
    if int(epochs) < 1 or int(repeats) < 1:
        raise ValueError(f"epochs and repeats must be positive, got {epochs} and {repeats}")
    rng = np.random.default_rng(seed)
    # Glorot-uniform weights, as the estimators draw them, so that the
    # products multiply values of the size a fit's do.
    weights = [rng.uniform(-1, 1, (n_in, n_out)).astype(dtype) * dtype.type(np.sqrt(6.0 / (n_in + n_out)))
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]

    epoch_rows = batch_rows(X.shape[0], batch_size)
    buffers = {rows: _Buffers(weights, rows, dtype, rng) for rows in dict.fromkeys(epoch_rows)}
    steps = []  # one plan per step of an epoch; each reads its own slice of X
    start = 0
    for rows in epoch_rows:
        steps.append(_step_plan(X[start : start + rows], weights, buffers[rows]))
        start += rows

    matmul = np.matmul
    for a, b, out in steps[0]:  # warm-up: the BLAS's first call sets up its threads
        matmul(a, b, out=out)
    result = GemmFloor(
        n_steps=len(steps) * int(epochs),
        n_products=sum(len(step) for step in steps) * int(epochs),
        flops=float(int(epochs) * sum(2.0 * m * k * n for rows in epoch_rows
                                      for m, k, n in step_products(sizes, rows))),
    )
    for _ in range(int(repeats)):
        started = time.perf_counter()
        for _ in range(int(epochs)):
            for step in steps:
                for a, b, out in step:
                    matmul(a, b, out=out)
        result.times.append(time.perf_counter() - started)
    return result
