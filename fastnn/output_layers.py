"""The output layers of `fastnn.MLP`: one small class per loss and its link.

An output layer turns the last affine layer's pre-activations ``z`` (N, K)
into predictions through its inverse link, and scores them against targets
with its loss.  Each class here owns three things and nothing else:

- ``check_target``: what a target of this loss looks like, with a message
  that names the argument when it does not;
- ``predict``: the inverse link, ``softmax``, ``sigmoid``, the identity or
  ``exp``;
- ``loss_and_delta``: the loss of a batch, the weighted mean over rows of the
  loss of each row (summed over the K outputs), and its gradient with
  respect to ``z``.

Every pairing here is a *canonical* link for its loss (the link is the
derivative of the loss's log-partition function), so the gradient at the
output of row n is ``(y_hat[n] - y[n])`` times the row's share of the
batch, ``1/N`` or ``w_n / sum(w)``.  ``docs/derivations.md`` derives each.

The design follows scikit-learn's ``sklearn/_loss``: a small class per loss
with its link and a registry by name (`OUTPUT_LAYERS`), so that adding a
loss is adding a class, and the network never branches on a name.

These methods trust their arguments, as the kernels they call do: the
network checks its inputs once (`check_target` is how it checks ``y``) and
the estimators check theirs once per ``fit``.  ``z`` is a C-contiguous
array of float32 or float64 that the layer may overwrite.
"""

from __future__ import annotations

import numpy as np

from . import _dispatch
from ._config import run_kernel, threads_for
from ._validation import as_array
from .activations import _ELEMENTWISE
from .fused_linear import fused_output_layer
from ._loss_checks import unit_weights

__all__ = [
    "OutputLayer",
    "SoftmaxCrossEntropy",
    "LogisticBinaryCrossEntropy",
    "IdentitySquaredError",
    "ExpPoisson",
    "OUTPUT_LAYERS",
    "get_output_layer",
]

#: From this many classes on, a softmax output layer and its loss are
#: computed by `linear_cross_entropy` in blocks (within
#: FUSED_OUTPUT_MAX_MEMORY bytes of working memory) instead of through the
#: whole (N, classes) logits and their gradient.  Measured on a 2-core
#: Zen 3 (loss and gradient of a 100-100-C float32 network, 200 and 2000
#: rows): on one thread the blocked path is 3-42% faster from 256 classes
#: on; on two threads it is 1.4-1.6x slower from 4096 classes on, where
#: OpenMP's threads and two BLAS pools take turns on the same cores.  The
#: threshold keeps small outputs on the whole-array path and bounds the
#: memory of large ones.
FUSED_OUTPUT_MIN_CLASSES = 4096
#: The working memory of the blocked output layer (raised to what one
#: call needs, for very large batches).
FUSED_OUTPUT_MAX_MEMORY = 64 << 20

_SIGMOID_PARALLEL_MIN = _ELEMENTWISE["sigmoid"][1]


def _sigmoid_inplace(z):
    flat = z.reshape(-1)
    run_kernel(_dispatch.kernels.sigmoid, flat, flat, threads_for(flat.size, _SIGMOID_PARALLEL_MIN))
    return z


def _exp_inplace(z):
    flat = z.reshape(-1)
    run_kernel(_dispatch.kernels.exp, flat, flat, threads_for(flat.size, _SIGMOID_PARALLEL_MIN))
    return z


def _weighted_mean(row_loss, row_scale):
    """``sum_n row_scale[n] * row_loss[n]`` in float64; ``row_scale`` None: the plain mean."""
    n_rows = row_loss.shape[0]
    if row_scale is None:
        return float(_dispatch.kernels.sum_losses(row_loss)) / n_rows if n_rows else np.nan
    return float(np.dot(row_loss, row_scale))


def _scale_rows(delta, row_scale):
    """``delta`` times each row's share of the batch: ``1/N`` or ``row_scale[n]``."""
    if row_scale is None:
        delta *= delta.dtype.type(1.0 / max(delta.shape[0], 1))
    else:
        delta *= row_scale.astype(delta.dtype)[:, None]
    return delta


def _check_real_target(y, n_samples, n_outputs, dtype, name, what):
    """An (N, K) contiguous array of ``dtype`` from a 1-D (K = 1) or 2-D real target."""
    y = as_array(y, name)
    if y.ndim == 1 and n_outputs == 1:
        y = y.reshape(-1, 1)
    if y.shape != (n_samples, n_outputs):
        raise ValueError(
            f"{name} of the {what} output must have shape ({n_samples}, {n_outputs})"
            + (f" or ({n_samples},)" if n_outputs == 1 else "")
            + f", got {y.shape}"
        )
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_) or np.iscomplexobj(y):
        raise TypeError(f"{name} must hold real numbers, got dtype {y.dtype}")
    return np.ascontiguousarray(y, dtype=dtype)


class OutputLayer:
    """The output layer's interface: a link and a loss; see the module docstring.

    Attributes
    ----------
    name : str
        The registry name, which `fastnn.MLP` takes as ``output``.
    activation : str
        The inverse link's name, as scikit-learn's ``out_activation_``.
    loss : str
        The loss's name.
    """

    name = ""
    activation = ""
    loss = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def check_target(self, y, n_samples, n_outputs, dtype, name="y"):
        """The target as this loss's kernels take it, or a ValueError/TypeError naming ``name``."""
        raise NotImplementedError

    def predict(self, z):
        """The predictions ``inverse_link(z)``; may overwrite ``z``."""
        raise NotImplementedError

    def loss_and_delta(self, z, y, row_scale, want_delta=True):
        """``(loss, delta)``: the weighted mean over rows of each row's loss, as a float,
        and its gradient with respect to ``z`` (None unless ``want_delta``).

        ``row_scale`` is None (every row weighs ``1/N``) or float64 ``w / sum(w)``.
        ``z`` may be overwritten.
        """
        raise NotImplementedError

    def uses_blocked_path(self, n_outputs, input_is_sparse):
        """Whether the output layer's product and loss run blocked (`blocked_loss`)."""
        return False


class SoftmaxCrossEntropy(OutputLayer):
    """Softmax with the cross-entropy: one probability per class, rows summing to one.

    Targets are class indices in ``[0, K)`` (N,) or class probabilities
    (N, K).  With ``K >= FUSED_OUTPUT_MIN_CLASSES`` the last affine layer and
    the loss run in blocks through `linear_cross_entropy`, so that the
    (N, K) logits never exist whole.
    """

    name = "softmax"
    activation = "softmax"
    loss = "log_loss"

    def check_target(self, y, n_samples, n_outputs, dtype, name="y"):
        y = as_array(y, name)
        n_classes = n_outputs
        if y.ndim == 1:
            if not np.issubdtype(y.dtype, np.integer):
                raise TypeError(
                    f"{name}: 1-D targets must be integer class indices, got dtype "
                    f"{y.dtype}; pass probabilities as an (N, {n_classes}) array"
                )
            if y.shape[0] != n_samples:
                raise ValueError(f"{name} has {y.shape[0]} labels for {n_samples} samples")
            if y.size and (y.min() < 0 or y.max() >= n_classes):
                bad = y[(y < 0) | (y >= n_classes)]
                raise ValueError(
                    f"{name}: class indices must lie in [0, {n_classes}), got "
                    f"{int(bad[0])}" + (f" and {bad.size - 1} more out of range" if bad.size > 1
                                        else "")
                )
            return np.ascontiguousarray(y, dtype=np.intp)
        if y.ndim == 2:
            if y.dtype.kind not in "biuf":
                raise TypeError(
                    f"{name}: probability targets must be real numbers, got dtype {y.dtype}"
                )
            if y.shape != (n_samples, n_classes):
                raise ValueError(
                    f"{name}: probability targets must have shape ({n_samples}, {n_classes}), "
                    f"got {y.shape}"
                )
            return np.ascontiguousarray(y, dtype=dtype)
        raise ValueError(
            f"{name} must be class indices (N,) or probabilities (N, {n_classes}), "
            f"got shape {y.shape}"
        )

    def predict(self, z):
        run_kernel(_dispatch.kernels.softmax_rows, z, z, False, threads_for(z.size))
        return z

    def loss_and_delta(self, z, y, row_scale, want_delta=True):
        kernels = _dispatch.kernels
        n_rows, n_classes = z.shape
        # The gradient kernel writes d(loss)/dz of every row, scaled by
        # `scale`; per-row weights multiply it afterwards.
        scale = 1.0 / n_rows if row_scale is None and n_rows else 1.0
        delta = np.empty_like(z)
        row_loss = np.empty(n_rows, dtype=np.float64)
        n_threads = threads_for(z.size)
        ones = unit_weights(n_classes, z.dtype)
        if y.ndim == 1:
            run_kernel(
                kernels.xent_index_rows, z, y, ones, False, float(n_classes), 0.0, 0, False,
                scale, delta, row_loss, n_threads,
            )
        else:
            run_kernel(kernels.xent_prob_rows, z, y, ones, 0.0, scale, delta, row_loss, n_threads)
        if row_scale is None:
            # softmax_cross_entropy's mean: the kernels' sum, rounded to z's dtype.
            loss = float(z.dtype.type(kernels.sum_losses(row_loss) / n_rows if n_rows else np.nan))
        else:
            loss = float(np.dot(row_loss, row_scale))
            delta *= row_scale.astype(z.dtype)[:, None]
        return loss, delta if want_delta else None

    def uses_blocked_path(self, n_outputs, input_is_sparse):
        # A sparse X feeding the output layer directly stays with scipy.sparse.
        return n_outputs >= FUSED_OUTPUT_MIN_CLASSES and not input_is_sparse

    def blocked_loss(self, layer, h, y, row_scale, grad_layer, want_input_grad):
        """Loss of the softmax output layer and the gradient with respect to its
        input ``h``, computed in blocks by `linear_cross_entropy`; the layer's
        parameter gradients go into ``grad_layer`` when given.  The same
        numbers, to rounding, as `loss_and_delta` of the whole logits followed
        by the network's products."""
        W, b = layer
        n_samples = h.shape[0]
        if row_scale is None:
            scale, scale_rows = (1.0 / n_samples if n_samples else 1.0), None
        else:
            scale, scale_rows = 1.0, row_scale.astype(h.dtype)
        grad_W, grad_b = grad_layer if grad_layer is not None else (None, None)
        row_loss, input_grad = fused_output_layer(
            h, W, b, y, scale, scale_rows, grad_W, grad_b,
            want_param_grads=grad_layer is not None, want_input_grad=want_input_grad,
            max_memory=FUSED_OUTPUT_MAX_MEMORY,
        )
        if row_scale is None:
            total = _dispatch.kernels.sum_losses(row_loss)
            loss = float(h.dtype.type(total / n_samples if n_samples else np.nan))
        else:
            loss = float(np.dot(row_loss.astype(h.dtype).astype(np.float64), row_scale))
        return loss, input_grad


class LogisticBinaryCrossEntropy(OutputLayer):
    """Independent sigmoids with the binary cross-entropy, summed over the outputs.

    One unit for a two-class problem, one per label for multilabel
    targets; targets in [0, 1] of shape (N, K), or (N,) when K is 1.
    """

    name = "logistic"
    activation = "logistic"
    loss = "binary_log_loss"

    def check_target(self, y, n_samples, n_outputs, dtype, name="y"):
        return _check_real_target(y, n_samples, n_outputs, dtype, name, "logistic")

    def predict(self, z):
        return _sigmoid_inplace(z)

    def loss_and_delta(self, z, y, row_scale, want_delta=True):
        kernels = _dispatch.kernels
        n_rows = z.shape[0]
        size = z.size
        none = np.empty(0, dtype=z.dtype)
        if row_scale is None:
            weight, scale = none, 1.0 / n_rows if n_rows else 1.0
        else:
            # Each row's share of the batch as an elementwise weight: the
            # weighted mean over rows of the loss summed over outputs, in one
            # pass of the kernel.
            weight = np.repeat(row_scale.astype(z.dtype), z.shape[1])
            scale = 1.0
        delta = np.empty_like(z)
        chunk = kernels.element_count_per_chunk()
        chunk_loss = np.zeros((size + chunk - 1) // chunk, dtype=np.float64)
        run_kernel(
            kernels.binary_xent, z.reshape(-1), y.reshape(-1), weight, none, scale,
            delta.reshape(-1), none, chunk_loss, threads_for(size),
        )
        total = kernels.sum_losses(chunk_loss)
        if row_scale is None:
            total = total / n_rows if n_rows else np.nan
        loss = float(z.dtype.type(total))
        return loss, delta if want_delta else None


class _RegressionOutput(OutputLayer):
    """Shared by the regression outputs: real targets, one loss per output unit."""

    def check_target(self, y, n_samples, n_outputs, dtype, name="y"):
        y = _check_real_target(y, n_samples, n_outputs, dtype, name, self.name)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name} must be finite, got NaN or infinity")
        return y


class IdentitySquaredError(_RegressionOutput):
    """The identity with half the squared error, summed over the outputs.

    The loss of row n is ``0.5 * sum_k (z[n, k] - y[n, k]) ** 2`` and its
    gradient ``z[n] - y[n]``.
    """

    name = "identity"
    activation = "identity"
    loss = "squared_error"

    def predict(self, z):
        return z

    def loss_and_delta(self, z, y, row_scale, want_delta=True):
        delta = np.subtract(z, y, out=z)
        row_loss = np.einsum("ij,ij->i", delta, delta, dtype=np.float64)
        loss = 0.5 * _weighted_mean(row_loss, row_scale)
        return loss, _scale_rows(delta, row_scale) if want_delta else None


class ExpPoisson(_RegressionOutput):
    """``exp`` with the Poisson deviance, half of it and without its constant term.

    The prediction is ``y_hat = exp(z)`` (the log link); the loss of row n is
    ``sum_k (exp(z[n, k]) - y[n, k] * z[n, k])``, which differs from half the
    Poisson deviance ``sum_k (y log(y / y_hat) - y + y_hat)`` only by a term
    that does not depend on the network; its gradient is ``y_hat[n] - y[n]``.
    Targets must be non-negative.
    """

    name = "exp"
    activation = "exp"
    loss = "poisson"

    def check_target(self, y, n_samples, n_outputs, dtype, name="y"):
        y = super().check_target(y, n_samples, n_outputs, dtype, name)
        if y.size and y.min() < 0:
            raise ValueError(
                f"{name} must be non-negative for the Poisson loss, got a minimum of {float(y.min())!r}"
            )
        return y

    def predict(self, z):
        return _exp_inplace(z)

    def loss_and_delta(self, z, y, row_scale, want_delta=True):
        row_linear = np.einsum("ij,ij->i", y, z, dtype=np.float64)
        y_hat = _exp_inplace(z)
        row_loss = np.sum(y_hat, axis=1, dtype=np.float64)
        row_loss -= row_linear
        loss = _weighted_mean(row_loss, row_scale)
        if not want_delta:
            return loss, None
        return loss, _scale_rows(np.subtract(y_hat, y, out=y_hat), row_scale)


#: The output layers by name, as `fastnn.MLP` takes them.
OUTPUT_LAYERS: dict[str, OutputLayer] = {
    layer.name: layer
    for layer in (
        SoftmaxCrossEntropy(), LogisticBinaryCrossEntropy(), IdentitySquaredError(), ExpPoisson()
    )
}


def get_output_layer(output: str | OutputLayer) -> OutputLayer:
    """The output layer named ``output`` (or ``output`` itself, an `OutputLayer`)."""
    if isinstance(output, OutputLayer):
        return output
    if isinstance(output, str) and output in OUTPUT_LAYERS:
        return OUTPUT_LAYERS[output]
    raise ValueError(f"output must be one of {tuple(OUTPUT_LAYERS)}, got {output!r}")
