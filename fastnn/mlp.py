"""Multilayer perceptron: forward pass, loss and backpropagation on fastnn's kernels.

The network is a stack of affine layers with an elementwise activation between
them and a softmax output trained with the mean cross-entropy::

    z1 = X W1 + b1,  h1 = act(z1),  ...,  zL = h(L-1) WL + bL,  y_hat = softmax(zL)
    J  = -(1/N) sum_n sum_c y[n, c] log y_hat[n, c]  (+ 0.5 * l2 * sum_l ||Wl||^2)

or with another output layer (``output_layers.py``): independent sigmoid
outputs with the binary cross-entropy (``"logistic"``), the identity with
half the squared error (``"identity"``) or ``exp`` with the Poisson deviance
(``"exp"``).  The network never branches on which: the output layer object
checks the targets, predicts and returns the loss and its gradient at the
output.  Sample weights turn the mean
over the batch into a weighted mean, and ``X`` may be a SciPy sparse matrix:
only the first layer's products touch it, through ``scipy.sparse``.

All parameters live in one flat vector, in the order W1 (row-major, n_in x
n_out), b1, W2, b2, ...  This is the layout of the CS224n assignment 1 network
fastnn grew out of, and the layout ``scipy.optimize`` wants.  The heavy
elementwise work (the sigmoid and relu with their backward passes, dropout's
masks, the fused softmax-cross-entropy) runs in fastnn's compiled kernels;
the matrix products go to NumPy's BLAS.  No Python loop runs over samples,
only over layers.  With many classes the
output layer and its loss run in blocks (``fused_linear.py``), so that the
(N, classes) logits are never held whole.

The derivations of every gradient computed here are in ``docs/derivations.md``.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Optional, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _dispatch
from ._config import run_kernel, threads_for
from ._typing import Activation, FloatArray, IntegerLike, Seed
from ._validation import as_array, check_rng, check_sample_weight
from .activations import _ELEMENTWISE
from .dropout import ArrayMask
from .output_layers import OUTPUT_LAYERS, OutputLayer, get_output_layer

__all__ = ["MLP", "num_params", "forward_backward_prop"]

#: Hidden-layer activations; "sigmoid" is another name for "logistic".
ACTIVATIONS = ("identity", "logistic", "sigmoid", "tanh", "relu")
#: Output layers by name (`fastnn.output_layers`): softmax with the
#: cross-entropy, independent sigmoids with the binary cross-entropy, the
#: identity with the squared error and exp with the Poisson deviance.
OUTPUTS = tuple(OUTPUT_LAYERS)
#: Initial-weight schemes of `MLP._draw_params`.
INIT_SCHEMES = ("glorot", "he")


def _is_sparse(X):
    """True for a SciPy sparse matrix or array.

    Looked up in ``sys.modules`` so that importing fastnn does not import
    ``scipy.sparse``: when it was never imported, ``X`` cannot be sparse.
    """
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)

_Scalar = TypeVar("_Scalar", bound=np.generic)


def _check_layer_sizes(layer_sizes, name="layer_sizes"):
    """Return ``layer_sizes`` as a tuple of positive Python ints, or raise.

    ``name`` is the argument's name in the caller's signature, for the message.
    """
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of positive integers, got {layer_sizes!r}"
        ) from None
    if len(sizes) < 2:
        raise ValueError(f"{name} needs at least an input and an output size, got {sizes!r}")
    for size in sizes:
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
            raise ValueError(f"{name} must hold positive integers, got {sizes!r}")
    return tuple(int(size) for size in sizes)


def _check_l2(l2):
    """Return the weight-penalty strength as a float, or raise naming ``l2``."""
    if isinstance(l2, (bool, np.bool_)) or not isinstance(l2, numbers.Real):
        raise TypeError(f"l2 must be a non-negative number, got {l2!r}")
    value = float(l2)
    # An infinite penalty would make the loss inf and the gradient nan.
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"l2 must be a non-negative finite number, got {l2!r}")
    return value


def num_params(layer_sizes: Iterable[IntegerLike]) -> int:
    """Number of parameters of a fully connected network.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(Dx, H1, ..., Dy)``: input size, hidden sizes, output size.

    Returns
    -------
    int
        ``sum over layers of (n_in + 1) * n_out``: every layer has an
        ``n_in x n_out`` weight matrix and ``n_out`` biases.

    Notes
    -----
    For one hidden layer ``(Dx, H, Dy)`` this is ``(Dx + 1) H + (H + 1) Dy``.

    Examples
    --------
    >>> import fastnn
    >>> fastnn.num_params((10, 5, 10))  # (10 + 1) * 5 + (5 + 1) * 10
    115
    >>> fastnn.num_params([784, 100, 10])
    79510
    """
    sizes = _check_layer_sizes(layer_sizes)
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


# --- activations --------------------------------------------------------------
# Every function works in place on a buffer the caller owns (the fastnn
# kernels accept an ``out`` that is exactly their input).  Each backward
# function takes the gradient with respect to the activation's OUTPUT and the
# output itself: all three derivatives can be written through the output, so
# the pre-activations never need to be kept.


# The trusted path calls the kernels directly: both arrays are fresh
# C-contiguous products of the network's dtype.
_SIGMOID_PARALLEL_MIN = _ELEMENTWISE["sigmoid"][1]
_BACKWARD_PARALLEL_MIN = _ELEMENTWISE["sigmoid_backward"][1]


def _sigmoid_forward(z, b):
    z += b
    flat = z.reshape(-1)
    run_kernel(_dispatch.kernels.sigmoid, flat, flat, threads_for(flat.size, _SIGMOID_PARALLEL_MIN))
    return z


def _sigmoid_backward(grad_out, h):
    # sigmoid'(z) = s (1 - s) with s = sigmoid(z) = h
    flat = grad_out.reshape(-1)
    run_kernel(
        _dispatch.kernels.sigmoid_backward, flat, h.reshape(-1), flat,
        threads_for(flat.size, _BACKWARD_PARALLEL_MIN),
    )
    return grad_out


def _tanh_forward(z, b):
    z += b
    return np.tanh(z, out=z)


def _tanh_backward(grad_out, h):
    # tanh'(z) = 1 - tanh(z)^2
    grad_out *= 1 - h * h
    return grad_out


def _relu_forward(z, b):
    # relu(z + b) in one pass, as np.maximum(z + b, 0) rounds it.
    run_kernel(_dispatch.kernels.bias_relu, z, b, threads_for(z.size, _BACKWARD_PARALLEL_MIN))
    return z


def _relu_backward(grad_out, h, scale=1.0):
    # grad_out * (h > 0 ? scale : 0); the subgradient at 0 is taken as 0, like
    # every mainstream library.  ``scale`` is dropout's kept-unit factor when
    # h is already masked (see _MASKS_IN_PLACE).
    run_kernel(_dispatch.kernels.relu_backward, grad_out, h, scale,
               threads_for(grad_out.size, _BACKWARD_PARALLEL_MIN))
    return grad_out


def _identity_forward(z, b):
    z += b
    return z


def _identity_backward(grad_out, h):
    return grad_out


_FORWARD = {
    "identity": _identity_forward,
    "logistic": _sigmoid_forward,
    "sigmoid": _sigmoid_forward,
    "tanh": _tanh_forward,
    "relu": _relu_forward,
}
_BACKWARD = {
    "identity": _identity_backward,
    "logistic": _sigmoid_backward,
    "sigmoid": _sigmoid_backward,
    "tanh": _tanh_backward,
    "relu": _relu_backward,
}
#: Activations whose backward pass reads their output only through its sign
#: (relu) or not at all (identity).  A dropout mask, non-negative, is applied
#: to such an output in place, and the backward pass runs on the masked
#: output: the same bits, since the upstream gradient is multiplied by the
#: mask first, which zeroes it wherever the mask changed the sign test.  It
#: saves a layer-sized array per step, which for float64 batches pushed
#: the allocator into returning and re-faulting memory on every step.  For
#: relu and a mask of 0s and one factor (a `DrawnMask`), the factor and the
#: sign test are one multiply: a dropped unit's masked output is 0.
_MASKS_IN_PLACE = frozenset({"identity", "relu"})


def _relu_folds(activation, mask):
    """True when relu's passes take the dropout ``mask`` in (a `DrawnMask`): the
    forward pass draws it into relu(z + b), the backward pass multiplies by its
    factor where the masked output is positive."""
    return activation == "relu" and mask is not None and mask.scale is not None


class MLP:
    """A fully connected classifier network on a flat parameter vector.

    The object holds only the architecture; parameters are passed to every
    method as one flat vector, so the methods can be handed directly to
    ``scipy.optimize.minimize`` or ``scipy.optimize.check_grad``.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(Dx, H1, ..., Dy)``: input size, hidden layer sizes, number of
        outputs.  ``(Dx, Dy)`` alone is (multinomial) logistic regression.
    activation : {"sigmoid", "logistic", "tanh", "relu", "identity"}, default "sigmoid"
        Activation of the hidden layers ("logistic" is the sigmoid's other
        name).
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        Floating type of the parameters and of every computation.  Inputs
        and parameters of another type are converted.
    output : {"softmax", "logistic", "identity", "exp"} or OutputLayer, default "softmax"
        The output layer (`fastnn.output_layers`).  "softmax": the outputs
        are class probabilities trained with the cross-entropy.
        "logistic": every output is an independent probability
        ``sigmoid(z)`` trained with the binary cross-entropy (one unit for
        two classes, one per label for multilabel targets).  "identity":
        real-valued outputs ``z`` trained with half the squared error.
        "exp": non-negative outputs ``exp(z)`` trained with the Poisson
        deviance (log link).

    Attributes
    ----------
    layer_sizes : tuple of int
        The layer sizes, as positive Python ints.
    activation : str
        The hidden layers' activation.
    dtype : numpy.dtype
        float32 or float64.
    output : str
        The output layer's name.
    output_layer : OutputLayer
        The output layer, which checks targets, predicts and computes the
        loss and its gradient at the output.
    n_params : int
        Length of the flat parameter vector, ``num_params(layer_sizes)``.

    Notes
    -----
    With the softmax output the loss of a sample is the cross-entropy
    ``l_n = -sum_c y[n, c] log softmax(zL)[n, c]``; with the logistic output
    it is the binary cross-entropy summed over the outputs,
    ``l_n = -sum_k (y[n, k] log s_k + (1 - y[n, k]) log(1 - s_k))`` with
    ``s = sigmoid(zL)``; with the identity output half the squared error
    ``l_n = 0.5 * sum_k (zL[n, k] - y[n, k])^2``, and with the exp output
    ``l_n = sum_k (exp(zL[n, k]) - y[n, k] zL[n, k])``, half the Poisson
    deviance less a term free of the parameters.  Each output layer's
    link is canonical for its loss, so the gradient at the output is
    ``y_hat - y`` for every one.  The loss of a batch is their mean, or with sample
    weights ``w`` their weighted mean ``sum_n w_n l_n / sum_n w_n``, plus,
    when ``l2 > 0``, the penalty ``0.5 * l2 * sum_l ||Wl||_F^2`` on the
    weight matrices only (biases are not penalised, and the penalty is not
    divided by N).  For the softmax output ``y`` is either integer class
    indices (N,) or class probabilities (N, Dy); with probabilities whose
    rows do not sum to one the gradient with respect to the logits is
    ``(sum_c y_c) y_hat - y`` (see ``docs/derivations.md``).  For the
    logistic output ``y`` holds targets in [0, 1] of shape (N, Dy), or (N,)
    when Dy is 1; for the identity and exp outputs, real (exp:
    non-negative) targets of the same shapes.  ``X`` may be a SciPy sparse matrix.

    From ``fastnn.output_layers.FUSED_OUTPUT_MIN_CLASSES`` softmax outputs on, the
    output layer and its loss are computed in blocks by
    :func:`fastnn.linear_cross_entropy`, so that the losses and gradients
    never hold the (N, Dy) logits or their gradient (`forward` still returns
    the (N, Dy) probabilities); the results are the same to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> net = fastnn.MLP((4, 8, 3))
    >>> net.n_params
    67
    >>> params = net.init_params(seed=0)
    >>> X = np.random.default_rng(0).normal(size=(5, 4))
    >>> y = np.array([0, 2, 1, 1, 0])
    >>> net.forward(params, X).sum(axis=1)
    array([1., 1., 1., 1., 1.])
    >>> loss, grad = net.loss_and_grad(params, X, y, l2=1e-3)
    >>> grad.shape
    (67,)
    >>> W1, b1 = net.unpack(params)[0]
    >>> W1.shape, np.shares_memory(W1, params)
    ((4, 8), True)

    A two-class problem with one logistic output unit and sample weights:

    >>> binary = fastnn.MLP((4, 8, 1), activation="relu", output="logistic")
    >>> p = binary.init_params(seed=0)
    >>> binary.forward(p, X).shape
    (5, 1)
    >>> loss, grad = binary.loss_and_grad(p, X, [0, 1, 1, 0, 1],
    ...                                   sample_weight=[1, 2, 1, 1, 0.5])
    """

    layer_sizes: tuple[int, ...]
    activation: Activation
    dtype: np.dtype[Any]
    output: str
    output_layer: OutputLayer
    n_params: int

    def __init__(
        self,
        layer_sizes: Iterable[IntegerLike],
        activation: Activation = "sigmoid",
        dtype: DTypeLike = np.float64,
        output: Union[Literal["softmax", "logistic", "identity", "exp"], OutputLayer] = "softmax",
    ) -> None:
        self.layer_sizes = _check_layer_sizes(layer_sizes)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {self.dtype}")
        self.output_layer = get_output_layer(output)
        self.output = self.output_layer.name
        self.n_params = num_params(self.layer_sizes)

    def __repr__(self) -> str:
        extra = "" if self.output == "softmax" else f", output={self.output!r}"
        return (
            f"MLP({self.layer_sizes!r}, activation={self.activation!r}, "
            f"dtype=np.{self.dtype.name}{extra})"
        )

    # --- parameters -----------------------------------------------------------

    def init_params(self, seed: Seed = None) -> FloatArray:
        """Draw a random initial parameter vector.

        Parameters
        ----------
        seed : None, int or numpy.random.Generator
            Seed for ``numpy.random.default_rng``; the same seed gives the
            same parameters.

        Returns
        -------
        ndarray of shape (n_params,)
            Weights drawn uniformly from ``[-a, a]`` with Glorot's bound
            ``a = sqrt(6 / (n_in + n_out))`` (He's ``sqrt(6 / n_in)`` for
            relu layers), biases zero.

        Notes
        -----
        Glorot's bound keeps the variance of activations and gradients
        roughly constant from layer to layer for tanh and sigmoid units;
        relu halves the variance, which He's bound compensates.

        Examples
        --------
        >>> import numpy as np
        >>> import fastnn
        >>> net = fastnn.MLP((2, 3, 2))
        >>> np.array_equal(net.init_params(seed=1), net.init_params(seed=1))
        True
        """
        rng = check_rng(seed)
        params = np.zeros(self.n_params, dtype=self.dtype)
        layers = self.unpack(params)
        for index, (W, _) in enumerate(layers):
            n_in, n_out = W.shape
            is_hidden_relu = self.activation == "relu" and index < len(layers) - 1
            bound = np.sqrt(6.0 / n_in) if is_hidden_relu else np.sqrt(6.0 / (n_in + n_out))
            W[...] = rng.uniform(-bound, bound, size=W.shape)
        return params

    def _draw_params(self, random_state, scheme="glorot"):
        """Initial parameters drawn as scikit-learn's MLPClassifier draws them.

        ``random_state`` is a ``numpy.random.RandomState``.  "glorot": for
        each layer in turn, the weights and then the biases are drawn
        uniformly from ``[-a, a]`` with ``a = sqrt(f / (n_in + n_out))``,
        ``f = 2`` for logistic hidden units and 6 otherwise (scikit-learn's
        ``_init_coef``, draw for draw, so a seed gives scikit-learn's
        initial network).  "he": He et al.'s ``a = sqrt(6 / n_in)`` for the
        hidden layers and Glorot's ``sqrt(6 / (n_in + n_out))`` for the
        output layer, biases zero.
        """
        params = np.empty(self.n_params, dtype=self.dtype)
        layers = self._unpack_trusted(params)
        logistic = self.activation in ("logistic", "sigmoid")
        for index, (W, b) in enumerate(layers):
            n_in, n_out = W.shape
            if scheme == "glorot":
                bound = np.sqrt((2.0 if logistic else 6.0) / (n_in + n_out))
                W[...] = random_state.uniform(-bound, bound, (n_in, n_out))
                b[...] = random_state.uniform(-bound, bound, n_out)
            else:
                hidden = index < len(layers) - 1
                bound = np.sqrt(6.0 / n_in) if hidden else np.sqrt(6.0 / (n_in + n_out))
                W[...] = random_state.uniform(-bound, bound, (n_in, n_out))
                b[...] = 0.0
        return params

    def _unpack_trusted(self, params):
        layers = []
        offset = 0
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            W = params[offset : offset + n_in * n_out].reshape(n_in, n_out)
            offset += n_in * n_out
            b = params[offset : offset + n_out]
            offset += n_out
            layers.append((W, b))
        return layers

    def unpack(
        self, params: NDArray[_Scalar]
    ) -> list[tuple[NDArray[_Scalar], NDArray[_Scalar]]]:
        """Split the flat parameter vector into per-layer ``(W, b)`` views.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            The flat parameter vector, of any dtype.

        Returns
        -------
        list of (W, b)
            One pair per layer; ``W`` has shape (n_in, n_out) and ``b``
            shape (n_out,).  They are views: writing to them writes to
            ``params`` (when ``params`` is contiguous, as every vector this
            class creates is).

        Examples
        --------
        >>> import numpy as np
        >>> import fastnn
        >>> net = fastnn.MLP((2, 3, 2))
        >>> params = np.arange(net.n_params, dtype=float)
        >>> (W1, b1), (W2, b2) = net.unpack(params)
        >>> W1
        array([[0., 1., 2.],
               [3., 4., 5.]])
        >>> b2
        array([15., 16.])
        """
        if not isinstance(params, np.ndarray):
            raise TypeError(f"params must be a NumPy array, got {type(params).__name__}")
        if params.shape != (self.n_params,):
            raise ValueError(
                f"params must have shape ({self.n_params},) for layer sizes "
                f"{self.layer_sizes}, got {params.shape}"
            )
        return self._unpack_trusted(params)

    # --- input checking -------------------------------------------------------

    def _check_params(self, params):
        params = as_array(params, "params")
        if not np.issubdtype(params.dtype, np.number) or np.iscomplexobj(params):
            raise TypeError(f"params must be real numbers, got dtype {params.dtype}")
        return np.ascontiguousarray(params, dtype=self.dtype)

    def _check_X(self, X):
        if _is_sparse(X):
            if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X.data):
                raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
            if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
                raise ValueError(
                    f"X must have shape (n_samples, {self.layer_sizes[0]}), got {X.shape}"
                )
            return X.tocsr().astype(self.dtype, copy=False)
        X = as_array(X, "X")
        if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"X must have shape (n_samples, {self.layer_sizes[0]}), got {X.shape}"
            )
        return X.astype(self.dtype, copy=False)

    def _check_y(self, y, n_samples, name="y"):
        """``name`` is the argument's name in the public caller's signature."""
        return self.output_layer.check_target(y, n_samples, self.layer_sizes[-1], self.dtype, name)

    def _check_sample_weight(self, sample_weight, n_samples):
        return check_sample_weight(sample_weight, n_samples)

    # --- computation ----------------------------------------------------------

    def _hidden_forward(self, layers, X, with_logits=True, masks=None):
        """Return the list of layer inputs ``[X, h1, ..., h(L-1)]`` and the
        logits (None when not ``with_logits``).

        With dropout ``masks`` (one per hidden layer, or None for a layer
        without) each input is its layer's activation times the mask, and
        the unmasked activations, which the backward pass differentiates
        through, are returned third (None without masks).
        """
        activate = _FORWARD[self.activation]
        inputs = [X]
        unmasked = [X] if masks is not None else None
        for index, (W, b) in enumerate(layers):
            layer_input = inputs[-1]
            if index == len(layers) - 1 and not with_logits:
                return inputs, None, unmasked
            if index == 0 and _is_sparse(layer_input):
                # scipy.sparse computes the product; X is never densified.  The
                # kernels below want rows of contiguous units.
                z = np.ascontiguousarray(layer_input @ W)
            else:
                z = layer_input @ W
            if index == len(layers) - 1:
                z += b
                return inputs, z, unmasked
            mask = None if masks is None else masks[index]
            if _relu_folds(self.activation, mask):
                h = masked = mask.bias_relu(z, b)
            elif mask is None:
                masked = h = activate(z, b)
            else:
                h = activate(z, b)
                masked = h if self.activation in _MASKS_IN_PLACE else h.copy()
                mask.multiply(masked)
            if unmasked is not None:
                unmasked.append(h)
            inputs.append(masked)

    def _predict_trusted(self, params, X):
        """The output layer's predictions for checked inputs (no validation)."""
        _, logits, _ = self._hidden_forward(self._unpack_trusted(params), X)
        return self.output_layer.predict(logits)

    def forward(self, params: ArrayLike, X: ArrayLike) -> FloatArray:
        """Output probabilities of every sample.

        Parameters
        ----------
        params : array_like of shape (n_params,)
            The flat parameter vector; converted to the network's dtype.
        X : array_like or sparse matrix of shape (N, Dx)
            One sample per row.

        Returns
        -------
        ndarray of shape (N, Dy)
            ``softmax(zL)``, whose rows sum to 1, or ``sigmoid(zL)`` for the
            logistic output.

        Examples
        --------
        >>> import numpy as np
        >>> import fastnn
        >>> net = fastnn.MLP((3, 2))
        >>> net.forward(np.zeros(net.n_params), np.ones((1, 3)))  # all logits equal
        array([[0.5, 0.5]])
        """
        checked = self._check_params(params)
        self.unpack(checked)
        return self._predict_trusted(checked, self._check_X(X))

    def _loss_and_grad_trusted(self, params, X, y, sample_weight, l2, want_grad=True,
                               loss_scale=1.0, masks=None):
        """Loss and flat gradient of checked inputs, without any validation.

        The classifier's training loop calls this once per minibatch, after
        validating the whole data set once.  ``params`` is a contiguous
        vector of the network's dtype, ``X`` a C-contiguous array or CSR
        matrix of that dtype, ``y`` intp class indices (softmax) or an
        (N, Dy) array of the dtype (logistic), ``sample_weight`` None or a
        non-negative float64 (N,) array with a positive sum, ``l2`` a
        non-negative float.
        """
        loss, grad, _ = self._backprop_trusted(
            params, X, y, sample_weight, l2, want_grad, False, loss_scale, masks
        )
        return loss, grad

    def _uses_fused_output(self, X):
        """True when the output layer and its loss run blocked (many classes)."""
        return self.output_layer.uses_blocked_path(
            self.layer_sizes[-1], len(self.layer_sizes) == 2 and _is_sparse(X)
        )

    def _backprop_trusted(self, params, X, y, sample_weight, l2, want_param_grad, want_input_grad,
                          loss_scale=1.0, masks=None):
        """Loss, flat parameter gradient and input gradient (each when wanted) of checked
        inputs.  ``loss_scale`` multiplies the reported data loss (not its gradient, nor
        the penalty): the estimators use it for scikit-learn's loss conventions."""
        layers = self._unpack_trusted(params)
        fused = self._uses_fused_output(X)
        inputs, logits, unmasked = self._hidden_forward(layers, X, not fused, masks)
        n_samples = X.shape[0]
        grad = np.empty(self.n_params, dtype=self.dtype) if want_param_grad else None
        grad_layers = self._unpack_trusted(grad) if want_param_grad else None
        top_input_grad = None
        row_scale = None if sample_weight is None else sample_weight / np.sum(sample_weight)
        if fused:
            loss, top_input_grad = self.output_layer.blocked_loss(
                layers[-1], inputs[-1], y, row_scale,
                grad_layers[-1] if grad_layers is not None else None,
                # The hidden layers' gradients start from the output layer's input
                # gradient; a loss-only call needs neither.
                want_input_grad=want_input_grad or (want_param_grad and len(layers) > 1),
            )
        else:
            loss, delta = self.output_layer.loss_and_delta(
                logits, y, row_scale, want_delta=want_param_grad or want_input_grad
            )
        loss = float(loss) * loss_scale
        if l2:
            loss += 0.5 * l2 * sum(float(np.vdot(W, W)) for W, _ in layers)
        if not (want_param_grad or want_input_grad):
            return loss, None, None

        backward = _BACKWARD[self.activation]
        input_grad = None
        for index in range(len(layers) - 1, -1, -1):
            W, _ = layers[index]
            layer_input = inputs[index]
            blocked_top = fused and index == len(layers) - 1
            if want_param_grad:
                gW, gb = grad_layers[index]
                if not blocked_top:  # the blocked output layer has written its own
                    if index == 0 and _is_sparse(layer_input):
                        gW[...] = layer_input.T @ delta
                    else:
                        np.matmul(layer_input.T, delta, out=gW)
                    np.sum(delta, axis=0, out=gb)
                if l2:
                    gW += l2 * W
            if index == 0 and not want_input_grad:
                break
            # The gradient with respect to this layer's input, then (below
            # the first layer) back through the activation.
            upstream = top_input_grad if blocked_top else delta @ W.T
            if index > 0:
                mask = None if masks is None else masks[index - 1]
                if mask is None:
                    delta = backward(upstream, layer_input)
                elif _relu_folds(self.activation, mask):
                    delta = _relu_backward(upstream, layer_input, mask.scale)
                else:
                    # d(h * mask) = mask * dh: through the mask, then through the
                    # activation at its unmasked output.
                    mask.multiply(upstream)
                    delta = backward(upstream, unmasked[index])
            else:
                input_grad = upstream
        return loss, grad, input_grad

    def _backprop(self, params, X, y, l2, want_param_grad, want_input_grad, sample_weight=None,
                  y_name="y", dropout_masks=None):
        """Validate, then loss, flat parameter gradient and input gradient (each when wanted)."""
        l2 = _check_l2(l2)
        params = self._check_params(params)
        self.unpack(params)
        X = self._check_X(X)
        y = self._check_y(y, X.shape[0], y_name)
        sample_weight = self._check_sample_weight(sample_weight, X.shape[0])
        masks = self._check_dropout_masks(dropout_masks, X.shape[0])
        return self._backprop_trusted(
            params, X, y, sample_weight, l2, want_param_grad, want_input_grad, masks=masks
        )

    def _check_dropout_masks(self, dropout_masks, n_samples):
        """The masks as `ArrayMask` of the network's dtype (None where a layer has none), or None."""
        if dropout_masks is None:
            return None
        hidden = self.layer_sizes[1:-1]
        try:
            masks = list(dropout_masks)
        except TypeError:
            raise TypeError(
                f"dropout_masks must be a sequence with one mask (or None) per hidden layer, "
                f"got {dropout_masks!r}"
            ) from None
        if len(masks) != len(hidden):
            raise ValueError(
                f"dropout_masks must hold one mask (or None) per hidden layer ({len(hidden)}), "
                f"got {len(masks)}"
            )
        checked = []
        for layer, (mask, units) in enumerate(zip(masks, hidden)):
            if mask is None:
                checked.append(None)
                continue
            mask = as_array(mask, f"dropout_masks[{layer}]")
            if mask.shape != (n_samples, units):
                raise ValueError(
                    f"dropout_masks[{layer}] must have shape ({n_samples}, {units}), got "
                    f"{mask.shape}"
                )
            if mask.dtype.kind not in "biuf" or not np.all(np.isfinite(mask)) or np.any(mask < 0):
                raise ValueError(
                    f"dropout_masks[{layer}] must hold finite non-negative scales (0 for a "
                    "dropped unit, 1 / (1 - p) for a kept one)"
                )
            checked.append(ArrayMask(np.ascontiguousarray(mask, dtype=self.dtype)))
        return checked

    def loss_and_grad(
        self,
        params: ArrayLike,
        X: ArrayLike,
        y: ArrayLike,
        l2: float = 0.0,
        sample_weight: Optional[ArrayLike] = None,
        *,
        dropout_masks: Optional[Sequence[Optional[ArrayLike]]] = None,
    ) -> tuple[float, FloatArray]:
        """Loss and its gradient with respect to the flat parameter vector.

        Parameters
        ----------
        params : array_like of shape (n_params,)
            The flat parameter vector; converted to the network's dtype.
        X : array_like or sparse matrix of shape (N, Dx)
            One sample per row.
        y : array_like
            Softmax output: class indices in ``[0, Dy)`` of shape (N,), or
            target probabilities of shape (N, Dy).  Logistic output: targets
            in [0, 1] of shape (N, Dy), or (N,) when Dy is 1.
        l2 : float, default 0.0
            Strength of the weight penalty ``0.5 * l2 * sum_l ||Wl||^2``
            (weights only; biases are never penalised).
        sample_weight : array_like of shape (N,), optional
            Non-negative weights, not all zero: the loss becomes the
            weighted mean ``sum_n w_n l_n / sum_n w_n``.
        dropout_masks : sequence of array_like or None, optional
            Inverted dropout during training: one (N, units) array per
            hidden layer (None for a layer without dropout) that multiplies
            the layer's activations, 0 for a dropped unit and ``1 / (1 - p)``
            for a kept one; `fastnn.dropout.dropout_masks` draws them.  The
            gradient is that of the loss with these masks fixed.

        Returns
        -------
        loss : float
            Mean (or weighted mean) loss over the N samples plus the penalty.
        grad : ndarray of shape (n_params,)
            Gradient of ``loss``, laid out like ``params``, of the
            network's dtype.

        Notes
        -----
        Backpropagation, with ``delta_L = (y_hat - y) / N`` (for soft
        targets ``((sum_c y_c) y_hat - y) / N``; row n multiplied by
        ``N w_n / sum(w)`` with sample weights) and, for each layer from
        the top, ``dJ/dWl = h(l-1)^T delta_l + l2 Wl``,
        ``dJ/dbl = sum_n delta_l``, ``delta_(l-1) = (delta_l Wl^T) * act'``.
        The logistic output has the same ``delta_L = (sigmoid(zL) - y) / N``.

        Examples
        --------
        >>> import numpy as np
        >>> import fastnn
        >>> net = fastnn.MLP((2, 2))
        >>> loss, grad = net.loss_and_grad(np.zeros(net.n_params), [[1.0, 2.0]], [1])
        >>> round(loss, 6)  # -log(1/2)
        0.693147
        >>> grad  # (y_hat - y) = (0.5, -0.5); dJ/dW = x^T (y_hat - y)
        array([ 0.5, -0.5,  1. , -1. ,  0.5, -0.5])
        """
        loss, grad, _ = self._backprop(params, X, y, l2, True, False, sample_weight,
                                       dropout_masks=dropout_masks)
        return loss, grad

    def loss(
        self,
        params: ArrayLike,
        X: ArrayLike,
        y: ArrayLike,
        l2: float = 0.0,
        sample_weight: Optional[ArrayLike] = None,
        *,
        dropout_masks: Optional[Sequence[Optional[ArrayLike]]] = None,
    ) -> float:
        """The loss alone; see `loss_and_grad`.

        With `grad` it forms the pair of callables ``scipy.optimize.check_grad``
        and ``scipy.optimize.minimize(fun, x0, jac=grad)`` take.

        Parameters
        ----------
        params : array_like of shape (n_params,)
            The flat parameter vector; converted to the network's dtype.
        X : array_like of shape (N, Dx)
            One sample per row.
        y : array_like of int, shape (N,), or of float, shape (N, Dy)
            Class indices in ``[0, Dy)`` or target probabilities.
        l2 : float, default 0.0
            Strength of the weight penalty ``0.5 * l2 * sum_l ||Wl||^2``.
        sample_weight : array_like of shape (N,), optional
            Non-negative weights, not all zero: the loss becomes the
            weighted mean ``sum_n w_n l_n / sum_n w_n``.
        dropout_masks : sequence of array_like or None, optional
            Inverted dropout during training: one (N, units) array per
            hidden layer (None for a layer without dropout) that multiplies
            the layer's activations, 0 for a dropped unit and ``1 / (1 - p)``
            for a kept one; `fastnn.dropout.dropout_masks` draws them.  The
            gradient is that of the loss with these masks fixed.

        Returns
        -------
        float
            Mean cross-entropy over the N samples plus the penalty.

        Examples
        --------
        >>> import numpy as np
        >>> import fastnn
        >>> from scipy.optimize import check_grad
        >>> net = fastnn.MLP((3, 4, 2))
        >>> X = np.random.default_rng(0).normal(size=(6, 3))
        >>> y = np.array([0, 1, 1, 0, 1, 0])
        >>> err = check_grad(net.loss, net.grad, net.init_params(seed=0), X, y)
        >>> bool(err < 1e-6)
        True
        """
        return self._backprop(params, X, y, l2, False, False, sample_weight,
                              dropout_masks=dropout_masks)[0]

    def grad(
        self,
        params: ArrayLike,
        X: ArrayLike,
        y: ArrayLike,
        l2: float = 0.0,
        sample_weight: Optional[ArrayLike] = None,
        *,
        dropout_masks: Optional[Sequence[Optional[ArrayLike]]] = None,
    ) -> FloatArray:
        """The gradient alone; see `loss_and_grad`.

        Parameters
        ----------
        params : array_like of shape (n_params,)
            The flat parameter vector; converted to the network's dtype.
        X : array_like of shape (N, Dx)
            One sample per row.
        y : array_like of int, shape (N,), or of float, shape (N, Dy)
            Class indices in ``[0, Dy)`` or target probabilities.
        l2 : float, default 0.0
            Strength of the weight penalty ``0.5 * l2 * sum_l ||Wl||^2``.
        sample_weight : array_like of shape (N,), optional
            Non-negative weights, not all zero: the loss becomes the
            weighted mean ``sum_n w_n l_n / sum_n w_n``.
        dropout_masks : sequence of array_like or None, optional
            Inverted dropout during training: one (N, units) array per
            hidden layer (None for a layer without dropout) that multiplies
            the layer's activations, 0 for a dropped unit and ``1 / (1 - p)``
            for a kept one; `fastnn.dropout.dropout_masks` draws them.  The
            gradient is that of the loss with these masks fixed.

        Returns
        -------
        ndarray of shape (n_params,)
            Gradient of the loss, laid out like ``params``, of the network's
            dtype.

        Examples
        --------
        >>> import numpy as np
        >>> import fastnn
        >>> net = fastnn.MLP((3, 2))
        >>> net.grad(np.zeros(net.n_params), np.ones((2, 3)), [0, 1]).shape
        (8,)
        """
        return self._backprop(params, X, y, l2, True, False, sample_weight,
                              dropout_masks=dropout_masks)[1]

    def input_grad(self, params: ArrayLike, X: ArrayLike, y: ArrayLike) -> FloatArray:
        """Gradient of the mean loss with respect to the inputs.

        Parameters
        ----------
        params : array_like of shape (n_params,)
            The flat parameter vector; converted to the network's dtype.
        X : array_like of shape (N, Dx)
            One sample per row.
        y : array_like
            Targets, as for `loss_and_grad`.

        Returns
        -------
        ndarray of shape (N, Dx)
            ``dJ/dX = delta_1 W1^T``, where ``delta_1`` is the gradient
            with respect to the first layer's pre-activations.  Row n is
            the gradient of the mean loss, i.e. ``1/N`` times the gradient
            of sample n's own loss.  The weight penalty does not depend on
            X and does not appear.

        Notes
        -----
        Useful for saliency maps and for adversarial examples (the fast
        gradient sign method steps along ``sign(input_grad)``).

        Examples
        --------
        >>> import numpy as np
        >>> import fastnn
        >>> net = fastnn.MLP((2, 2))
        >>> params = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])  # W = identity
        >>> net.input_grad(params, [[0.0, 0.0]], [0])  # (y_hat - y) W^T
        array([[-0.5,  0.5]])
        """
        return self._backprop(params, X, y, 0.0, False, True)[2]


def forward_backward_prop(
    X: ArrayLike,
    labels: ArrayLike,
    params: ArrayLike,
    dimensions: Iterable[IntegerLike],
    *,
    reduction: Literal["mean", "sum"] = "mean",
) -> tuple[float, FloatArray]:
    """Cost and gradient of a sigmoid network, with the CS224n assignment's signature.

    A thin wrapper over `MLP` for readers who know ``forward_backward_prop``
    from Stanford's CS224n assignment 1 (``q2_neural.py``).

    Parameters
    ----------
    X : array_like of shape (N, Dx)
        One sample per row.
    labels : array_like of shape (N, Dy)
        One-hot rows (or any class probabilities; class indices (N,) work too).
    params : array_like of shape ((Dx + 1) * H + (H + 1) * Dy,)
        W1, b1, W2, b2 flattened in that order, each weight matrix row-major.
    dimensions : sequence of int
        ``[Dx, H, Dy]``; longer sequences give deeper sigmoid networks.
    reduction : {"mean", "sum"}, default "mean"
        The cost is averaged over the N samples (``"mean"``, fastnn's
        convention), or summed (``"sum"``, N times larger, as some versions
        of that assignment's solution compute it).

    Returns
    -------
    cost : float
        Cross-entropy of ``softmax(sigmoid(X W1 + b1) W2 + b2)`` against
        ``labels``, averaged or summed over the batch.
    grad : ndarray of shape (len(params),)
        Gradient of ``cost`` in the layout of ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> rng = np.random.default_rng(0)
    >>> dimensions = [10, 5, 10]
    >>> X = rng.normal(size=(20, 10))
    >>> labels = np.eye(10)[rng.integers(0, 10, size=20)]
    >>> params = rng.normal(size=fastnn.num_params(dimensions))
    >>> cost, grad = fastnn.forward_backward_prop(X, labels, params, dimensions)
    >>> grad.shape
    (115,)
    >>> report = fastnn.gradcheck(
    ...     lambda p: fastnn.forward_backward_prop(X, labels, p, dimensions), params)
    >>> bool(report.max_rel_error < 1e-5)
    True
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    net = MLP(_check_layer_sizes(dimensions, "dimensions"), activation="sigmoid")
    X_array = as_array(X, "X")
    cost, grad, _ = net._backprop(params, X_array, labels, 0.0, True, False, y_name="labels")
    if reduction == "sum":
        n_samples = X_array.shape[0]
        cost *= n_samples
        grad *= n_samples
    return cost, grad
