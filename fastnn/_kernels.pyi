# Signatures of the compiled kernel modules fastnn._kernels_baseline and
# fastnn._kernels_avx2 (both built from _kernels.pxi).  The C types are in
# the comments; `floating` is float32 or float64, the same for every array
# argument of one call.  These functions trust their arguments: call the
# validating functions in fastnn instead.
import numpy as np
from numpy.typing import NDArray

_Float = NDArray[np.float32] | NDArray[np.float64]

def openmp_enabled() -> bool: ...
def openmp_max_threads() -> int: ...
def openmp_thread_limit() -> int: ...
def cpu_has_avx2_fma() -> bool: ...
def cpu_has_avx512() -> bool: ...
def softmax_rows(
    x: _Float,  # const floating[:, ::1], (N, C), C >= 1
    out: _Float,  # floating[:, ::1], (N, C), may be x
    log_output: bool,
    n_threads: int,
) -> None: ...
def softmax_axis(
    x: _Float,  # const floating[:, :, ::1], (outer, K, inner), K >= 1
    out: _Float,  # floating[:, :, ::1]
    log_output: bool,
    n_threads: int,
) -> None: ...
def max_sum_rows(
    x: _Float,  # const floating[:, ::1], (N, C), C >= 1
    max_out: _Float,  # floating[::1], (N,)
    sum_out: NDArray[np.float64],  # double[::1], (N,) sums of exp(x - max) less one
    n_threads: int,
) -> None: ...
def max_sum_axis(
    x: _Float,  # const floating[:, :, ::1], (outer, K, inner), K >= 1
    max_out: _Float,  # floating[:, ::1], (outer, inner)
    sum_out: NDArray[np.float64],  # double[:, ::1], (outer, inner)
    n_threads: int,
) -> None: ...
def exp(x: _Float, out: _Float, n_threads: int = 1) -> None: ...  # floating[::1]
def sigmoid(x: _Float, out: _Float, n_threads: int) -> None: ...  # floating[::1]
def sigmoid_grad(s: _Float, out: _Float, n_threads: int) -> None: ...  # floating[::1]
def sigmoid_backward(grad: _Float, s: _Float, out: _Float, n_threads: int) -> None: ...
def check_labels(
    target: NDArray[np.int64],  # const int64_t[::1], (N,)
    n_classes: int,  # Py_ssize_t
    ignore_index: int,  # int64_t
    use_ignore: bool,
    weight: NDArray[np.float64],  # const double[::1], (C,) or (0,) for no weights
) -> tuple[int, float]: ...
def xent_index_rows(
    logits: _Float,  # const floating[:, ::1], (N, C)
    target: NDArray[np.int64],  # const int64_t[::1], (N,)
    weight: _Float,  # const floating[::1], (C,)
    weighted: bool,
    weight_sum: float,
    smoothing: float,
    ignore_index: int,
    use_ignore: bool,
    scale: float,
    grad_out: _Float,  # floating[:, ::1], (N, C)
    loss_out: NDArray[np.float64],  # double[::1], (N,)
    n_threads: int,
) -> None: ...
def xent_prob_rows(
    logits: _Float,  # const floating[:, ::1], (N, C)
    target: _Float,  # const floating[:, ::1], (N, C)
    weight: _Float,  # const floating[::1], (C,)
    smoothing: float,
    scale: float,
    grad_out: _Float,  # floating[:, ::1], (N, C)
    loss_out: NDArray[np.float64],  # double[::1], (N,)
    n_threads: int,
) -> None: ...
def binary_xent(
    logits: _Float,      # const floating[::1]
    target: _Float,      # const floating[::1]
    weight: _Float,      # const floating[::1], (n,) or (0,)
    pos_weight: _Float,  # const floating[::1], (n,) or (0,)
    scale: float,
    grad_out: _Float,    # floating[::1]
    loss_out: _Float,    # floating[::1], (n,) or (0,)
    chunk_loss_out: NDArray[np.float64],  # double[::1]
    n_threads: int,
) -> None: ...
def element_count_per_chunk() -> int: ...
def log_span(x: NDArray[np.float64], out: NDArray[np.float64]) -> None: ...  # double[::1], x > 0
def log1p_span(x: NDArray[np.float64], out: NDArray[np.float64]) -> None: ...  # double[::1], x >= -0.5
def softmax_small(x: object, out: object, log_output: bool, max_size: int) -> _Float | None: ...
def logsumexp_finish(
    m: _Float,  # const floating[::1], (N,)
    s_less_one: NDArray[np.float64],  # const double[::1], (N,)
    out: _Float,  # floating[::1], (N,)
) -> None: ...
def logsumexp_short_rows(
    x: _Float,  # const floating[:, ::1], (N, C)
    out: _Float,  # floating[::1], (N,)
    n_threads: int,
) -> bool: ...
def logsumexp_small(x: object, out: object, keepdims: bool, max_size: int) -> _Float | np.floating | None: ...
def elementwise_small(op: int, x: object, y: object, max_size: int, out: object = ...) -> _Float | None: ...
def xent_small(
    logits: object, target: object, reduction: int, max_size: int
) -> tuple[float, _Float, NDArray[np.float64]] | None: ...
def sum_losses(row_loss: NDArray[np.float64]) -> float: ...  # const double[::1]
def dropout_mask(
    positions: NDArray[np.uint64],  # const uint64_t[::1], (N,)
    key: int,  # uint64_t
    rate: float,
    out: _Float,  # floating[:, ::1], (N, units)
    n_threads: int,
) -> None: ...
def dropout_apply(
    positions: NDArray[np.uint64],  # const uint64_t[::1], (N,)
    key: int,  # uint64_t
    rate: float,
    h: _Float,  # floating[:, ::1], (N, units), multiplied in place
    n_threads: int,
) -> None: ...
def relu_backward(
    grad: _Float,  # floating[:, ::1], (N, units), multiplied in place
    h: _Float,  # const floating[:, ::1], (N, units)
    scale: float,
    n_threads: int,
) -> None: ...
def bias_relu(
    z: _Float,  # floating[:, ::1], (N, units), relu(z + b) in place
    b: _Float,  # const floating[::1], (units,)
    n_threads: int,
) -> None: ...
def bias_relu_dropout(
    z: _Float,  # floating[:, ::1], (N, units), relu(z + b) * mask in place
    b: _Float,  # const floating[::1], (units,)
    positions: NDArray[np.uint64],  # const uint64_t[::1], (N,)
    key: int,  # uint64_t
    rate: float,
    n_threads: int,
) -> None: ...
