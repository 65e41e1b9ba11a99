"""Pure-NumPy reference implementations of fastnn's kernels.

Each function here is the textbook formula, written for clarity rather than
speed, and computed in float64.  The test suite compares every compiled
kernel (and every SIMD variant of it) with these functions; nothing in the
public API calls them.
"""

import numpy as np

__all__ = [
    "softmax",
    "log_softmax",
    "max_sum_less_one",
    "sigmoid",
    "sigmoid_grad",
    "sigmoid_backward",
    "softmax_cross_entropy",
]


def _masked_logits(x, where):
    """Return float64 logits with the entries outside ``where`` set to -inf."""
    x = np.asarray(x, dtype=np.float64)
    if where is None:
        return x, None
    where = np.broadcast_to(np.asarray(where, dtype=bool), x.shape)
    return np.where(where, x, -np.inf), where


def softmax(x, axis=-1, where=None):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``, in float64.

    Entries outside ``where`` get probability 0; a row with no entry inside
    ``where`` is all zeros.
    """
    x, where = _masked_logits(x, where)
    with np.errstate(invalid="ignore"):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        e = np.exp(shifted)
        result = e / np.sum(e, axis=axis, keepdims=True)
    if where is not None:
        result = np.where(np.any(where, axis=axis, keepdims=True), result, 0.0)
    return result


def log_softmax(x, axis=-1, where=None):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``, in float64.

    Entries outside ``where`` get -inf; so does every entry of a row with no
    entry inside ``where``.
    """
    x, where = _masked_logits(x, where)
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        result = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    if where is not None:
        result = np.where(np.any(where, axis=axis, keepdims=True), result, -np.inf)
    return result


def max_sum_less_one(x, axis, where=None):
    """Maximum and sum of exps less one of ``x`` along ``axis``, kept as a length-1 axis.

    The twin of the compiled max-and-sum pass behind ``fastnn.logsumexp``
    and ``_online_logsumexp.block_max_sum``: ``m = max(x)`` in ``x``'s dtype
    and ``s = sum(exp(x - m)) - 1`` in float64, where the maximum's own term,
    exactly 1, is left out of the sum rather than subtracted from it.
    Entries outside ``where`` (broadcastable to ``x``) take no part.

    Where nothing takes part (an empty axis, or everything outside
    ``where``), ``m`` is -inf and ``s`` is -1.  Where the entries that take
    part hold a nan, a +inf, or only -inf, ``s`` is nan (``m`` is np.max's:
    nan, +inf or -inf).
    """
    x = np.asarray(x)
    if where is not None:
        where = np.broadcast_to(np.asarray(where, dtype=bool), x.shape)
        x = np.where(where, x, x.dtype.type(-np.inf))
    if x.shape[axis] == 0:
        kept = x.shape[:axis] + (1,) + x.shape[axis + 1 :]
        return np.full(kept, -np.inf, dtype=x.dtype), np.full(kept, -1.0)
    m = np.max(x, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.exp(x.astype(np.float64) - m.astype(np.float64))
    # Drop the maximum's own term (at one position only: ties keep their 1s).
    np.put_along_axis(terms, np.argmax(x, axis=axis, keepdims=True), 0.0, axis=axis)
    s_less_one = np.sum(terms, axis=axis, keepdims=True)
    s_less_one[~np.isfinite(m)] = np.nan
    if where is not None:
        s_less_one[~np.any(where, axis=axis, keepdims=True)] = -1.0
    return m, s_less_one


def sigmoid(x):
    """``1 / (1 + exp(-x))`` in float64 (exp overflow gives the correct 0)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def sigmoid_grad(s):
    """Derivative of the sigmoid expressed through its value: ``s * (1 - s)``."""
    s = np.asarray(s, dtype=np.float64)
    return s * (1.0 - s)


def sigmoid_backward(grad_out, s):
    """Chain rule through a sigmoid: ``grad_out * s * (1 - s)``."""
    return np.asarray(grad_out, dtype=np.float64) * sigmoid_grad(s)


def softmax_cross_entropy(
    logits, target, reduction="mean", weight=None, label_smoothing=0.0, ignore_index=None
):
    """Cross-entropy of ``softmax(logits)`` and its gradient, in float64.

    Follows ``torch.nn.functional.cross_entropy``: ``target`` holds class
    indices (N,) or probabilities (N, C); ``weight`` rescales each class;
    ``label_smoothing`` mixes the target with the uniform distribution;
    rows whose index target equals ``ignore_index`` contribute nothing.  A
    weighted mean over index targets divides by the sum of the targets'
    weights, a mean over probability targets by N.

    The gradient is obtained from the loss written as ``-sum_c q_c log p_c``
    with per-row class coefficients ``q`` (weights, smoothing and one-hot
    folded in): ``d loss / d z_j = p_j * sum_c q_c - q_j``.
    """
    z = np.asarray(logits, dtype=np.float64)
    n, c = z.shape
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    eps = float(label_smoothing)
    target = np.asarray(target)
    if target.ndim == 1:
        keep = np.ones(n, dtype=bool) if ignore_index is None else target != ignore_index
        onehot = np.zeros((n, c))
        rows = np.flatnonzero(keep)
        onehot[rows, target[rows]] = 1.0
        y = onehot * (1.0 - eps) + eps / c
        q = y * w * keep[:, None]
        denominator = np.sum(w[target[rows]])
    else:
        y = np.asarray(target, dtype=np.float64) * (1.0 - eps) + eps / c
        q = y * w
        denominator = float(n)
    logp = log_softmax(z, axis=1)
    p = np.exp(logp)
    with np.errstate(invalid="ignore"):
        # 0 * -inf: a class the target gives no weight contributes no loss.
        terms = np.where(q == 0.0, 0.0, q * logp)
    row_loss = -np.sum(terms, axis=1)
    row_grad = p * np.sum(q, axis=1, keepdims=True) - q
    if reduction == "none":
        return row_loss, row_grad
    if reduction == "sum":
        return np.sum(row_loss), row_grad
    with np.errstate(invalid="ignore", divide="ignore"):
        grad = row_grad / denominator
    if target.ndim == 1:
        # Ignored rows have no gradient, even when the mean itself is nan.
        grad[~keep] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(row_loss) / denominator, grad


# =============================================================================
# Reference MLP
#
# A from-scratch NumPy twin of fastnn.MLP: the same network and parameter
# layout, written as the textbook backpropagation with an explicit one-hot
# target and explicit log-probabilities, computed in float64.  It shares no
# code with fastnn/mlp.py, so the test comparing the two checks the layout,
# the forward pass and every gradient independently.
# =============================================================================


def mlp_unpack(params, layer_sizes):
    """Split a flat vector into ``[(W1, b1), (W2, b2), ...]`` (copies)."""
    params = np.asarray(params, dtype=np.float64)
    layers, offset = [], 0
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        W = params[offset : offset + n_in * n_out].reshape(n_in, n_out).copy()
        offset += n_in * n_out
        b = params[offset : offset + n_out].copy()
        offset += n_out
        layers.append((W, b))
    assert offset == params.size, "params does not match layer_sizes"
    return layers


def _mlp_activation(z, activation):
    if activation == "sigmoid":
        return sigmoid(z)
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.where(z > 0, z, 0.0)
    raise ValueError(activation)


def _mlp_activation_derivative(z, activation):
    """Derivative of the activation at the pre-activation ``z``."""
    if activation == "sigmoid":
        s = sigmoid(z)
        return s * (1.0 - s)
    if activation == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if activation == "relu":
        return (z > 0).astype(np.float64)
    raise ValueError(activation)


def mlp_forward(params, X, layer_sizes, activation="sigmoid"):
    """Class probabilities ``softmax(zL)`` of the network, in float64."""
    X = np.asarray(X, dtype=np.float64)
    layers = mlp_unpack(params, layer_sizes)
    h = X
    for W, b in layers[:-1]:
        h = _mlp_activation(h @ W + b, activation)
    W, b = layers[-1]
    return softmax(h @ W + b, axis=1)


def mlp_loss_and_grads(params, X, y, layer_sizes, activation="sigmoid", l2=0.0):
    """Loss, flat parameter gradient and input gradient of the reference MLP.

    ``J = -(1/N) sum_n sum_c Y[n, c] log softmax(zL)[n, c] + 0.5 l2 sum ||Wl||^2``
    with ``Y`` the one-hot rows of integer labels ``y`` (N,) or the given
    probabilities (N, Dy).  Returns ``(J, dJ/dparams, dJ/dX)``; the input
    gradient leaves out the penalty, which does not depend on X.
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples = X.shape[0]
    n_classes = layer_sizes[-1]
    y = np.asarray(y)
    if y.ndim == 1:
        Y = np.zeros((n_samples, n_classes))
        Y[np.arange(n_samples), y] = 1.0
    else:
        Y = np.asarray(y, dtype=np.float64)
    layers = mlp_unpack(params, layer_sizes)

    # Forward pass, keeping every pre-activation z and layer input a.
    inputs, pre_activations = [X], []
    for index, (W, b) in enumerate(layers):
        z = inputs[-1] @ W + b
        pre_activations.append(z)
        if index < len(layers) - 1:
            inputs.append(_mlp_activation(z, activation))
    logp = log_softmax(pre_activations[-1], axis=1)
    J = -np.sum(Y * logp) / n_samples + 0.5 * l2 * sum(np.sum(W * W) for W, _ in layers)

    # Backward pass: delta = dJ/dz for the current layer.
    delta = (np.exp(logp) * Y.sum(axis=1, keepdims=True) - Y) / n_samples
    grads = []
    for index in range(len(layers) - 1, -1, -1):
        W, _ = layers[index]
        grads.append((inputs[index].T @ delta + l2 * W, delta.sum(axis=0)))
        dJ_dinput = delta @ W.T
        if index > 0:
            delta = dJ_dinput * _mlp_activation_derivative(pre_activations[index - 1], activation)
    grads.reverse()
    flat = np.concatenate([np.concatenate([gW.ravel(), gb]) for gW, gb in grads])
    return J, flat, dJ_dinput


__all__ += ["mlp_unpack", "mlp_forward", "mlp_loss_and_grads"]


# =============================================================================
# Binary cross-entropy with logits
#
# The twin of the compiled ``fastnn.sigmoid_binary_cross_entropy``: PyTorch's
# ``binary_cross_entropy_with_logits``, written out in float64.
# =============================================================================

_BCE_REDUCTIONS = ("mean", "sum", "none")


def sigmoid_binary_cross_entropy(logits, target, *, weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(logits)`` against ``target``, and its gradient.

    The semantics of ``torch.nn.functional.binary_cross_entropy_with_logits``:
    the loss of one element is

        l = -w * [pos_weight * t * log(sigmoid(z)) + (1 - t) * log(1 - sigmoid(z))]

    with ``w = weight`` and ``pos_weight`` broadcast to the logits' shape.
    ``log(sigmoid(z)) = -(log1p(exp(-|z|)) + max(-z, 0))`` and
    ``log(1 - sigmoid(z)) = -(log1p(exp(-|z|)) + max(z, 0))``, so nothing
    overflows and a saturated unit costs exactly its margin.  The gradient
    with respect to ``z`` is ``w * (sigmoid(z) * (1 + (pos_weight - 1) * t)
    - pos_weight * t)``, computed as ``w * ((1 - t) * sigmoid(z) - pos_weight
    * t * sigmoid(-z))`` so that a confident correct unit keeps its tiny
    gradient, and divided by the number of elements for "mean".
    "mean" and "sum" reduce over every element; "none" returns the
    elementwise losses (and the gradient of their sum).

    Everything is computed in float64; the loss and gradient are returned in
    the logits' dtype when that is float32, in float64 otherwise.
    """
    if reduction not in _BCE_REDUCTIONS:
        raise ValueError(f"reduction must be one of {_BCE_REDUCTIONS}, got {reduction!r}")
    logits = np.asarray(logits)
    out_dtype = np.float32 if logits.dtype == np.float32 else np.float64
    z = logits.astype(np.float64)
    t = np.asarray(target, dtype=np.float64)
    if t.shape != z.shape:
        raise ValueError(f"target must have the logits' shape {z.shape}, got {t.shape}")
    w = np.ones_like(z) if weight is None else np.broadcast_to(np.asarray(weight, dtype=np.float64), z.shape)
    pw = np.ones_like(z) if pos_weight is None else np.broadcast_to(
        np.asarray(pos_weight, dtype=np.float64), z.shape
    )
    softplus_tail = np.log1p(np.exp(-np.abs(z)))
    minus_log_p = softplus_tail + np.maximum(-z, 0.0)  # -log(sigmoid(z))
    minus_log_q = softplus_tail + np.maximum(z, 0.0)  # -log(1 - sigmoid(z))
    elementwise = w * (pw * t * minus_log_p + (1.0 - t) * minus_log_q)
    with np.errstate(over="ignore"):
        p = 1.0 / (1.0 + np.exp(-z))  # sigmoid(z)
        q = 1.0 / (1.0 + np.exp(z))  # 1 - sigmoid(z), without cancellation
    # sigmoid(z) (1 + (pw - 1) t) - pw t rewritten as (1 - t) p - pw t q: no
    # cancellation when the unit is right and saturated (t = 1, z large).
    grad = w * ((1.0 - t) * p - pw * t * q)
    if reduction == "none":
        return elementwise.astype(out_dtype), grad.astype(out_dtype)
    total = np.sum(elementwise)
    if reduction == "sum":
        return out_dtype(total), grad.astype(out_dtype)
    n = z.size
    with np.errstate(invalid="ignore", divide="ignore"):
        return out_dtype(total / n if n else np.nan), (grad / max(n, 1)).astype(out_dtype)


__all__ += ["sigmoid_binary_cross_entropy"]
