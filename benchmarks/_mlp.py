"""One epoch of minibatch SGD: ``fastnn.MLP`` against the same network in NumPy.

The network is the CS224n one: z1 = X W1 + b1, h = sigmoid(z1),
z2 = h W2 + b2, mean softmax cross-entropy.  Parameters are one flat vector
in fastnn's order (W1 row-major, b1, W2, b2).  Both versions run the same
matrix products through the same BLAS, so the difference is the elementwise
work (sigmoid, its backward, the fused softmax-cross-entropy) and the Python
glue.  The NumPy version is written as a careful user would: gradients go
straight into views of one flat buffer, no concatenation.

The data are synthetic (uniform pixels, labels from a random linear teacher),
shuffled once outside the timed region, so each batch is a contiguous view.
Both versions start from the same parameters and see the same batches, so
their losses after one epoch must agree; the runner checks that.
"""

import time

import numpy as np

from _peers import numpy_sigmoid, numpy_softmax_cross_entropy


def make_data(n_samples, n_features, n_classes, dtype, seed=0):
    """Uniform inputs in [0, 1) and labels from a random linear teacher."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, n_features)).astype(dtype)
    teacher = rng.standard_normal((n_features, n_classes))
    y = np.argmax(X @ teacher, axis=1).astype(np.int64)
    return X, y


def numpy_loss_and_grad(params, X, y, sizes):
    """Mean cross-entropy of the one-hidden-layer network and its flat gradient."""
    n_in, n_hidden, n_out = sizes
    grad = np.empty_like(params)
    offsets = np.cumsum([0, n_in * n_hidden, n_hidden, n_hidden * n_out, n_out])
    W1, b1, W2, b2 = (params[a:b] for a, b in zip(offsets[:-1], offsets[1:]))
    gW1, gb1, gW2, gb2 = (grad[a:b] for a, b in zip(offsets[:-1], offsets[1:]))
    W1 = W1.reshape(n_in, n_hidden)
    W2 = W2.reshape(n_hidden, n_out)

    h = numpy_sigmoid(X @ W1 + b1)
    loss, delta2 = numpy_softmax_cross_entropy(h @ W2 + b2, y)
    np.matmul(h.T, delta2, out=gW2.reshape(n_hidden, n_out))
    np.sum(delta2, axis=0, out=gb2)
    delta1 = (delta2 @ W2.T) * h * (1 - h)
    np.matmul(X.T, delta1, out=gW1.reshape(n_in, n_hidden))
    np.sum(delta1, axis=0, out=gb1)
    return loss, grad


def sgd_epoch(loss_and_grad, params, X, y, batch_size, learning_rate):
    """One pass over (X, y) in contiguous minibatches; returns the last loss."""
    loss = None
    for start in range(0, X.shape[0], batch_size):
        loss, grad = loss_and_grad(params, X[start : start + batch_size], y[start : start + batch_size])
        params -= learning_rate * grad
    return float(loss)


def time_epochs(loss_and_grad, params0, X, y, batch_size, learning_rate, repeats, max_seconds=15.0):
    """Median seconds per epoch over ``repeats`` epochs, each from ``params0``.

    A few batches are run first as a warm-up.  Repeating stops early once
    ``max_seconds`` have been spent (at least one epoch is always timed), so
    a pathologically slow configuration cannot stall the whole run.  Returns
    (median, all times, loss at the end of the last epoch).
    """
    sgd_epoch(loss_and_grad, params0.copy(), X[: 4 * batch_size], y[: 4 * batch_size], batch_size, learning_rate)
    times = []
    loss = None
    for _ in range(repeats):
        if sum(times) > max_seconds:
            break
        params = params0.copy()
        start = time.perf_counter()
        loss = sgd_epoch(loss_and_grad, params, X, y, batch_size, learning_rate)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), times, loss
