"""Wrong uses of fastnn's public API: mypy must report an error on each line
marked ``# E: <error code>``, with that code, and on no other line.

Type-checked by tests/test_typing.py, never run or collected by pytest.
"""

import numpy as np

import fastnn
from fastnn.datasets import make_spirals
from fastnn.train import load_data

x = np.zeros((4, 3))
labels = np.array([0, 2, 1, 1])
net = fastnn.MLP((3, 8, 3))
params = net.init_params(seed=0)

fastnn.softmax(x, axis="1")  # E: arg-type
fastnn.log_softmax(x, axis=1.0)  # E: arg-type
fastnn.softmax(x, out=[0.0, 0.0, 0.0])  # E: arg-type
fastnn.sigmoid(x, out=x.tolist())  # E: arg-type
fastnn.softmax(x, -1, None)  # E: call-arg
fastnn.logsumexp(x, axis=[0, 1])  # E: call-overload
fastnn.logsumexp(x, 1, True)  # E: call-overload
fastnn.softmax_cross_entropy(x, labels, reduction=True)  # E: call-overload
fastnn.softmax_cross_entropy(x, labels, reduction="avg")  # E: call-overload
fastnn.softmax_cross_entropy(x, labels, ignore_index=1.5)  # E: call-overload
fastnn.linear_cross_entropy(x, x.T, labels, reduction="avg")  # E: call-overload
fastnn.linear_cross_entropy(x, x.T, labels, max_memory=1e6)  # E: call-overload
fastnn.linear_cross_entropy(x, x.T, labels, None)  # E: call-overload
fastnn.set_num_threads("4")  # E: arg-type
threads: str = fastnn.get_num_threads()  # E: assignment
fastnn.MLP((3, 3), activation="gelu")  # E: arg-type
fastnn.MLP("33")  # E: arg-type
net.loss_and_grad(params, x, labels, l2=None)  # E: arg-type
net.init_params(seed="0")  # E: arg-type
fastnn.forward_backward_prop(x, labels, params, [3, 8, 3], reduction="none")  # E: arg-type
fastnn.gradcheck(lambda p: (0.0, p), np.ones(3), n_directions=2.5)  # E: arg-type
fastnn.gradcheck(np.ones(3), np.ones(3))  # E: arg-type
make_spirals(n_samples="100")  # E: arg-type
load_data(dataset="mnist")  # E: arg-type
loss, grad = fastnn.softmax_cross_entropy(x, labels, reduction="none")
loss_value: float = loss  # E: assignment
