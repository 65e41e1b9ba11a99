"""Correct uses of fastnn's public API: mypy must report no error here.

Type-checked by tests/test_typing.py, never run or collected by pytest.
``assert_type`` fails the check if an inferred type is not the one stated.
"""

import numpy as np
from numpy.typing import NDArray
from typing_extensions import assert_type

import fastnn
from fastnn.datasets import load_digits, make_spirals
from fastnn.gradcheck import GradientCheckReport
from fastnn.train import load_data, main, train

FloatArray = NDArray[np.floating]

x = np.zeros((4, 3))
x32 = np.zeros((4, 3), dtype=np.float32)
labels = np.array([0, 2, 1, 1])

# Kernels: arrays, nested lists and scalars are accepted; axis may be a NumPy integer.
assert_type(fastnn.softmax(x), FloatArray)
assert_type(fastnn.softmax([[1, 2], [3, 4]], axis=0), FloatArray)
assert_type(fastnn.log_softmax(x, np.int64(0), out=np.empty_like(x)), FloatArray)
assert_type(fastnn.softmax(x, where=x > 0), FloatArray)
assert_type(fastnn.log_softmax(x32, where=[True, False, True]), FloatArray)
assert_type(fastnn.sigmoid(0.5), FloatArray)
assert_type(fastnn.sigmoid(x, out=x), FloatArray)
assert_type(fastnn.sigmoid_grad(fastnn.sigmoid(x)), FloatArray)
assert_type(fastnn.sigmoid_backward(x, fastnn.sigmoid(x), out=x), FloatArray)

# logsumexp: a scalar or an array by default (that depends on x's shape), an
# array with keepdims or out.
assert_type(fastnn.logsumexp(x), FloatArray | np.floating)
assert_type(fastnn.logsumexp(x, axis=(0, 1)), FloatArray | np.floating)
assert_type(fastnn.logsumexp(x, None, where=x > 0), FloatArray | np.floating)
assert_type(fastnn.logsumexp(x32, axis=np.int64(0), keepdims=True), FloatArray)
assert_type(fastnn.logsumexp([[1, 2], [3, 4]], out=np.empty(2)), FloatArray)

# The loss is a scalar for "mean" and "sum", an array for "none".
loss, grad = fastnn.softmax_cross_entropy(x, labels)
assert_type(loss, np.floating)
assert_type(grad, FloatArray)
assert_type(fastnn.softmax_cross_entropy(x, labels, reduction="sum")[0], np.floating)
assert_type(fastnn.softmax_cross_entropy(x, labels, reduction="none")[0], FloatArray)
fastnn.softmax_cross_entropy(
    x32, np.eye(3)[labels], weight=[1.0, 2.0, 1.0], label_smoothing=0.1
)
fastnn.softmax_cross_entropy(x, labels, ignore_index=-100, label_smoothing=0)
print(float(loss) + 1.0)

# The fused output layer: the same reductions, three gradients and an optional fourth.
W_out = np.zeros((3, 5))
fused_loss, grad_h, grad_W, grad_b = fastnn.linear_cross_entropy(x, W_out, labels)
assert_type(fused_loss, np.floating)
assert_type(grad_h, FloatArray)
assert_type(grad_b, FloatArray | None)
assert_type(fastnn.linear_cross_entropy(x, W_out, labels, reduction="none")[0], FloatArray)
fastnn.linear_cross_entropy(
    x32, W_out.astype(np.float32), labels, bias=np.zeros(5, np.float32), weight=[1.0] * 5,
    label_smoothing=0.1, ignore_index=-100, max_memory=np.int64(1 << 20),
)

# Threads.
fastnn.set_num_threads(2)
fastnn.set_num_threads(np.int32(1))
fastnn.set_num_threads(None)
assert_type(fastnn.get_num_threads(), int)

# The network on a flat parameter vector.
net = fastnn.MLP((3, 8, 3), activation="relu", dtype=np.float32)
net64 = fastnn.MLP([3, 3])
params = net.init_params(seed=0)
net.init_params(seed=np.random.default_rng(1))
assert_type(net.n_params, int)
assert_type(net.layer_sizes, tuple[int, ...])
assert_type(net.forward(params, x), FloatArray)
value, gradient = net.loss_and_grad(params, x, labels, l2=1e-4)
assert_type(value, float)
assert_type(gradient, FloatArray)
assert_type(net.loss(params, x.tolist(), labels, 0), float)
assert_type(net.grad(params, x, np.eye(3)[labels]), FloatArray)
assert_type(net.input_grad(params, x, labels), FloatArray)
for W, b in net.unpack(np.zeros(net.n_params)):
    assert_type(W, NDArray[np.float64])
assert_type(fastnn.num_params((3, 8, 3)), int)
cost, cost_grad = fastnn.forward_backward_prop(x, np.eye(3)[labels], params, [3, 8, 3], reduction="sum")
assert_type(cost, float)


# The gradient check accepts a function typed with a precise float dtype.
def quadratic(point: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    return float(point @ point), 2 * point


report = fastnn.gradcheck(quadratic, np.ones(3), eps=1e-6, n_directions=2, seed=0)
assert_type(report, GradientCheckReport)
assert_type(report.max_rel_error, float)
fastnn.gradcheck(lambda p: net64.loss_and_grad(p, x, labels), net64.init_params())
try:
    fastnn.gradcheck(quadratic, [1.0, 2.0], rtol=1e-3, atol=0)
except fastnn.GradientCheckError as error:
    print(error.index, error.analytical - error.numerical)

# Data sets and the command line.
X_digits, y_digits = load_digits()
assert_type(X_digits, NDArray[np.float64])
X_spirals, y_spirals = make_spirals(n_samples=100, n_classes=2, noise=0.0, seed=3)
assert_type(y_spirals, NDArray[np.int64])
X_loaded, y_loaded, name = load_data(dataset="digits")
assert_type(name, str)
classifier, accuracy = train(X_spirals, y_spirals, test_fraction=0.2, plot=None, solver="lbfgs")
assert_type(accuracy, float)
assert_type(main(["--no-plot"]), int)
