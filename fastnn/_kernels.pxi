# fastnn's compiled kernels, included by each instruction-set variant
# (_kernels_baseline.pyx, _kernels_avx2.pyx), which only differ in compile
# flags.
#
# Three layers, like scikit-learn's sklearn/_loss:
#   1. span loops in _spans.h: branch-free C over one contiguous span that gcc
#      vectorises (exp, max, sums, sigmoid);
#   2. `cdef inline ... noexcept nogil` row and block kernels here, composing
#      the span loops (one row of a softmax, one row of the cross-entropy);
#   3. `def` loops over typed memoryviews that run the row kernels, serially
#      or with OpenMP over rows.
# Nothing here validates input: fastnn/*.py checks shapes, dtypes, labels and
# memory layout before calling in, and passes the thread count to use (1
# keeps the OpenMP runtime entirely out of small calls).

from cython.parallel cimport prange
from libc.math cimport log
from libc.stdint cimport int64_t
from libc.string cimport memset

ctypedef fused floating:
    float
    double

cdef extern from "_vecmath.h" nogil:
    int fnn_have_openmp()
    int fnn_cpu_has_avx2_fma()
    int omp_get_max_threads()
    int FNN_MAX_COLS

    float fnn_max_f32(const float *x, Py_ssize_t n)
    double fnn_max_f64(const double *x, Py_ssize_t n)
    double fnn_exp_store_sum_f32(const float *x, float shift, float *out, Py_ssize_t n)
    double fnn_exp_store_sum_f64(const double *x, double shift, double *out, Py_ssize_t n)
    double fnn_exp_sum_f32(const float *x, float shift, Py_ssize_t n)
    double fnn_exp_sum_f64(const double *x, double shift, Py_ssize_t n)
    void fnn_scale_f32(float *y, float factor, Py_ssize_t n)
    void fnn_scale_f64(double *y, double factor, Py_ssize_t n)
    void fnn_subtract_f32(const float *x, float c, float *out, Py_ssize_t n)
    void fnn_subtract_f64(const double *x, double c, double *out, Py_ssize_t n)
    void fnn_exp_span_f32(const float *x, float *out, Py_ssize_t n)
    void fnn_exp_span_f64(const double *x, double *out, Py_ssize_t n)
    void fnn_sigmoid_span_f32(const float *x, float *out, Py_ssize_t n)
    void fnn_sigmoid_span_f64(const double *x, double *out, Py_ssize_t n)
    void fnn_sigmoid_grad_span_f32(const float *s, float *out, Py_ssize_t n)
    void fnn_sigmoid_grad_span_f64(const double *s, double *out, Py_ssize_t n)
    void fnn_sigmoid_backward_span_f32(const float *g, const float *s, float *out, Py_ssize_t n)
    void fnn_sigmoid_backward_span_f64(const double *g, const double *s, double *out, Py_ssize_t n)
    double fnn_weighted_shifted_sum_f32(const float *z, float shift, const float *w, Py_ssize_t n)
    double fnn_weighted_shifted_sum_f64(const double *z, double shift, const double *w, Py_ssize_t n)
    void fnn_soft_target_sums_f32(const float *z, float shift, const float *t, const float *w,
                                  float keep, float spread, Py_ssize_t n,
                                  double *q_sum, double *qz_sum)
    void fnn_soft_target_sums_f64(const double *z, double shift, const double *t, const double *w,
                                  double keep, double spread, Py_ssize_t n,
                                  double *q_sum, double *qz_sum)
    void fnn_scale_minus_weight_f32(float *grad, float a, float b, const float *w, Py_ssize_t n)
    void fnn_scale_minus_weight_f64(double *grad, double a, double b, const double *w, Py_ssize_t n)
    void fnn_soft_target_grad_f32(float *grad, float a, float b, const float *t, const float *w,
                                  float keep, float spread, Py_ssize_t n)
    void fnn_soft_target_grad_f64(double *grad, double a, double b, const double *t,
                                  const double *w, double keep, double spread, Py_ssize_t n)
    void fnn_softmax_columns_f32(const float *x, float *out, Py_ssize_t K, Py_ssize_t stride,
                                 Py_ssize_t w, int log_output)
    void fnn_softmax_columns_f64(const double *x, double *out, Py_ssize_t K, Py_ssize_t stride,
                                 Py_ssize_t w, int log_output)

# Elements per parallel work item for elementwise kernels: large enough to
# amortise scheduling, small enough to balance two threads on 1e5 elements.
cdef enum:
    ELEMENTWISE_CHUNK = 8192
# Bytes of each row that one column block of the axis kernel covers; with
# K rows the block (K * 128 bytes) stays in L2 across its three passes.
cdef enum:
    COLUMN_BLOCK_BYTES = 128


# ---------------------------------------------------------------------------
# Typed front ends to the C span loops (fused type -> f32/f64 instance)
# ---------------------------------------------------------------------------

cdef inline floating span_max(const floating *x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fnn_max_f32(x, n)
    else:
        return fnn_max_f64(x, n)


cdef inline double span_exp_store_sum(const floating *x, floating shift, floating *out,
                                      Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fnn_exp_store_sum_f32(x, shift, out, n)
    else:
        return fnn_exp_store_sum_f64(x, shift, out, n)


cdef inline double span_exp_sum(const floating *x, floating shift, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fnn_exp_sum_f32(x, shift, n)
    else:
        return fnn_exp_sum_f64(x, shift, n)


cdef inline void span_scale(floating *y, floating factor, Py_ssize_t n) noexcept nogil:
    if floating is float:
        fnn_scale_f32(y, factor, n)
    else:
        fnn_scale_f64(y, factor, n)


cdef inline void span_subtract(const floating *x, floating c, floating *out,
                               Py_ssize_t n) noexcept nogil:
    if floating is float:
        fnn_subtract_f32(x, c, out, n)
    else:
        fnn_subtract_f64(x, c, out, n)


cdef inline double span_weighted_shifted_sum(const floating *z, floating shift, const floating *w,
                                             Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fnn_weighted_shifted_sum_f32(z, shift, w, n)
    else:
        return fnn_weighted_shifted_sum_f64(z, shift, w, n)


cdef inline void span_scale_minus_weight(floating *grad, floating a, floating b, const floating *w,
                                         Py_ssize_t n) noexcept nogil:
    if floating is float:
        fnn_scale_minus_weight_f32(grad, a, b, w, n)
    else:
        fnn_scale_minus_weight_f64(grad, a, b, w, n)


cdef inline void span_elementwise(int op, const floating *x, const floating *y, floating *out,
                                  Py_ssize_t n) noexcept nogil:
    # op: 0 exp(x), 1 sigmoid(x), 2 sigmoid_grad(x), 3 y * sigmoid_grad(x)
    if floating is float:
        if op == 0:
            fnn_exp_span_f32(x, out, n)
        elif op == 1:
            fnn_sigmoid_span_f32(x, out, n)
        elif op == 2:
            fnn_sigmoid_grad_span_f32(x, out, n)
        else:
            fnn_sigmoid_backward_span_f32(y, x, out, n)
    else:
        if op == 0:
            fnn_exp_span_f64(x, out, n)
        elif op == 1:
            fnn_sigmoid_span_f64(x, out, n)
        elif op == 2:
            fnn_sigmoid_grad_span_f64(x, out, n)
        else:
            fnn_sigmoid_backward_span_f64(y, x, out, n)


# ---------------------------------------------------------------------------
# Row and block kernels
# ---------------------------------------------------------------------------

cdef inline void softmax_row(const floating *x, floating *out, Py_ssize_t n) noexcept nogil:
    # Shifting by the row maximum changes nothing mathematically (softmax is
    # invariant to adding a constant to a row) and makes every exp <= 1.
    cdef floating m = span_max(x, n)
    cdef double s = span_exp_store_sum(x, m, out, n)
    span_scale(out, <floating>(1.0 / s), n)


cdef inline void log_softmax_row(const floating *x, floating *out, Py_ssize_t n) noexcept nogil:
    cdef floating m = span_max(x, n)
    cdef double s = span_exp_sum(x, m, n)
    span_subtract(x, <floating>(m + log(s)), out, n)


cdef inline void softmax_columns(const floating *x, floating *out, Py_ssize_t K, Py_ssize_t stride,
                                 Py_ssize_t width, bint log_output) noexcept nogil:
    if floating is float:
        fnn_softmax_columns_f32(x, out, K, stride, width, log_output)
    else:
        fnn_softmax_columns_f64(x, out, K, stride, width, log_output)


cdef inline double xent_index_row(const floating *z, int64_t label, floating *grad, Py_ssize_t C,
                                  const floating *weight, bint weighted, double weight_sum,
                                  double smoothing, double scale) noexcept nogil:
    # Loss -sum_c q_c log p_c with q = w * ((1 - eps) onehot(label) + eps / C);
    # its gradient is p * sum(q) - q, written in the pass that computes exp.
    cdef floating m = span_max(z, C)
    cdef double s = span_exp_store_sum(z, m, grad, C)
    cdef double log_s = log(s)
    cdef double w_label = weight[label] if weighted else 1.0
    cdef double keep = 1.0 - smoothing
    cdef double spread = smoothing / C
    # -log p_label = log_s - (z_label - m): two non-negative terms, no cancellation.
    cdef double loss = keep * w_label * (log_s - (<double>z[label] - m))
    cdef double q_sum = keep * w_label + spread * weight_sum
    if smoothing != 0.0:
        loss += spread * (weight_sum * log_s - span_weighted_shifted_sum(z, m, weight, C))
        span_scale_minus_weight(grad, <floating>(scale * q_sum / s), <floating>(scale * spread),
                                weight, C)
    else:
        span_scale(grad, <floating>(scale * q_sum / s), C)
    grad[label] -= <floating>(scale * keep * w_label)
    return loss


cdef inline double xent_prob_row(const floating *z, const floating *target, floating *grad,
                                 Py_ssize_t C, const floating *weight, double smoothing,
                                 double scale) noexcept nogil:
    cdef floating m = span_max(z, C)
    cdef double s = span_exp_store_sum(z, m, grad, C)
    cdef floating keep = <floating>(1.0 - smoothing)
    cdef floating spread = <floating>(smoothing / C)
    cdef double q_sum, qz_sum
    if floating is float:
        fnn_soft_target_sums_f32(z, m, target, weight, keep, spread, C, &q_sum, &qz_sum)
        fnn_soft_target_grad_f32(grad, <float>(scale * q_sum / s), <float>scale, target, weight,
                                 keep, spread, C)
    else:
        fnn_soft_target_sums_f64(z, m, target, weight, keep, spread, C, &q_sum, &qz_sum)
        fnn_soft_target_grad_f64(grad, scale * q_sum / s, scale, target, weight, keep, spread, C)
    # -sum q (z - m - log s)
    return q_sum * log(s) - qz_sum


# ---------------------------------------------------------------------------
# Python-callable loops
# ---------------------------------------------------------------------------

def openmp_enabled():
    """True when this module was compiled with OpenMP."""
    return bool(fnn_have_openmp())


def openmp_max_threads():
    """omp_get_max_threads(): OMP_NUM_THREADS or threadpoolctl's limit."""
    return omp_get_max_threads()


def cpu_has_avx2_fma():
    """True when the running CPU and OS support AVX2 and FMA."""
    return bool(fnn_cpu_has_avx2_fma())


def softmax_rows(const floating[:, ::1] x,   # IN (N, C), C >= 1
                 floating[:, ::1] out,       # OUT (N, C), may be x
                 bint log_output,
                 int n_threads):
    """Softmax (or log-softmax) of every row of a C-contiguous matrix."""
    cdef Py_ssize_t i, n_rows = x.shape[0], n_cols = x.shape[1]
    if n_rows == 0:
        return
    if n_threads <= 1:
        with nogil:
            for i in range(n_rows):
                if log_output:
                    log_softmax_row(&x[i, 0], &out[i, 0], n_cols)
                else:
                    softmax_row(&x[i, 0], &out[i, 0], n_cols)
    else:
        for i in prange(n_rows, nogil=True, schedule="static", num_threads=n_threads):
            if log_output:
                log_softmax_row(&x[i, 0], &out[i, 0], n_cols)
            else:
                softmax_row(&x[i, 0], &out[i, 0], n_cols)


def softmax_axis(const floating[:, :, ::1] x,   # IN (outer, K, inner), K >= 1
                 floating[:, :, ::1] out,       # OUT same shape, may be x
                 bint log_output,
                 int n_threads):
    """Softmax (or log-softmax) along axis 1 of a C-contiguous 3-D array."""
    cdef Py_ssize_t outer = x.shape[0], K = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t width = COLUMN_BLOCK_BYTES // sizeof(floating)
    cdef Py_ssize_t n_blocks = (inner + width - 1) // width
    cdef Py_ssize_t item, o, c0
    if outer == 0 or inner == 0:
        return
    if n_threads <= 1:
        with nogil:
            for item in range(outer * n_blocks):
                o = item // n_blocks
                c0 = (item % n_blocks) * width
                softmax_columns(&x[o, 0, c0], &out[o, 0, c0], K, inner,
                                min(width, inner - c0), log_output)
    else:
        for item in prange(outer * n_blocks, nogil=True, schedule="static",
                           num_threads=n_threads):
            o = item // n_blocks
            c0 = (item % n_blocks) * width
            softmax_columns(&x[o, 0, c0], &out[o, 0, c0], K, inner,
                            min(width, inner - c0), log_output)


cdef void elementwise(int op,
                      const floating[::1] x,   # IN (n,)
                      const floating[::1] y,   # IN (n,), the second operand of op 3
                      floating[::1] out,       # OUT (n,)
                      int n_threads) noexcept nogil:
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t n_chunks = (n + ELEMENTWISE_CHUNK - 1) // ELEMENTWISE_CHUNK
    cdef Py_ssize_t chunk, start
    if n == 0:
        return
    if n_threads <= 1:
        span_elementwise(op, &x[0], &y[0], &out[0], n)
    else:
        for chunk in prange(n_chunks, schedule="static", num_threads=n_threads):
            start = chunk * ELEMENTWISE_CHUNK
            span_elementwise(op, &x[start], &y[start], &out[start],
                             min(ELEMENTWISE_CHUNK, n - start))


def exp(const floating[::1] x, floating[::1] out, int n_threads=1):
    """out = exp(x) with the exp the kernels use (exposed for accuracy tests)."""
    elementwise(0, x, x, out, n_threads)


def sigmoid(const floating[::1] x, floating[::1] out, int n_threads):
    """out = 1 / (1 + exp(-x)), stable for any x."""
    elementwise(1, x, x, out, n_threads)


def sigmoid_grad(const floating[::1] s, floating[::1] out, int n_threads):
    """out = s * (1 - s)."""
    elementwise(2, s, s, out, n_threads)


def sigmoid_backward(const floating[::1] grad, const floating[::1] s, floating[::1] out,
                     int n_threads):
    """out = grad * s * (1 - s)."""
    elementwise(3, s, grad, out, n_threads)


def check_labels(const int64_t[::1] target,  # IN (N,)
                 Py_ssize_t n_classes,
                 int64_t ignore_index,
                 bint use_ignore,
                 const double[::1] weight):   # IN (C,), or empty for no weights
    """Validate class labels before any kernel writes through them.

    Returns ``(first_bad_row, denominator)``: the first row whose label is
    outside [0, n_classes) and not ignore_index (-1 if none), and the
    denominator of a "mean" reduction: the sum of the weights of the kept
    rows' labels, or their count without weights.
    """
    cdef Py_ssize_t i, n = target.shape[0]
    cdef bint weighted = weight.shape[0] > 0
    cdef double denominator = 0.0
    cdef Py_ssize_t first_bad = -1
    cdef int64_t label
    with nogil:
        for i in range(n):
            label = target[i]
            if use_ignore and label == ignore_index:
                continue
            if label < 0 or label >= n_classes:
                first_bad = i
                break
            denominator += weight[label] if weighted else 1.0
    return first_bad, denominator


cdef inline void xent_index_dispatch(const floating *z, int64_t label, floating *grad,
                                     Py_ssize_t C, const floating *weight, bint weighted,
                                     double weight_sum, double smoothing, int64_t ignore_index,
                                     bint use_ignore, double scale,
                                     double *loss) noexcept nogil:
    # Ignored rows, and (defensively: check_labels has rejected them already)
    # out-of-range labels, never index the gradient.
    if (use_ignore and label == ignore_index) or label < 0 or label >= C:
        memset(grad, 0, C * sizeof(floating))
        loss[0] = 0.0
    else:
        loss[0] = xent_index_row(z, label, grad, C, weight, weighted, weight_sum, smoothing, scale)


def xent_prob_rows(const floating[:, ::1] logits,   # IN (N, C), C >= 1
                   const floating[:, ::1] target,   # IN (N, C) probabilities
                   const floating[::1] weight,      # IN (C,)
                   double smoothing,
                   double scale,
                   floating[:, ::1] grad_out,       # OUT (N, C)
                   double[::1] loss_out,            # OUT (N,)
                   int n_threads):
    """Fused softmax cross-entropy with probability targets: loss and gradient."""
    cdef Py_ssize_t i, n_rows = logits.shape[0], C = logits.shape[1]
    if n_rows == 0:
        return
    if n_threads <= 1:
        with nogil:
            for i in range(n_rows):
                loss_out[i] = xent_prob_row(&logits[i, 0], &target[i, 0], &grad_out[i, 0], C,
                                            &weight[0], smoothing, scale)
    else:
        for i in prange(n_rows, nogil=True, schedule="static", num_threads=n_threads):
            loss_out[i] = xent_prob_row(&logits[i, 0], &target[i, 0], &grad_out[i, 0], C,
                                        &weight[0], smoothing, scale)


def xent_index_rows(const floating[:, ::1] logits,   # IN (N, C), C >= 1
                    const int64_t[::1] target,       # IN (N,), checked by check_labels
                    const floating[::1] weight,      # IN (C,)
                    bint weighted,
                    double weight_sum,
                    double smoothing,
                    int64_t ignore_index,
                    bint use_ignore,
                    double scale,
                    floating[:, ::1] grad_out,       # OUT (N, C)
                    double[::1] loss_out,            # OUT (N,) unscaled row losses
                    int n_threads):
    """Fused softmax cross-entropy with class-index targets: loss and gradient."""
    cdef Py_ssize_t i, n_rows = logits.shape[0], C = logits.shape[1]
    if n_rows == 0:
        return
    if n_threads <= 1:
        with nogil:
            for i in range(n_rows):
                xent_index_dispatch(&logits[i, 0], target[i], &grad_out[i, 0], C, &weight[0],
                                    weighted, weight_sum, smoothing, ignore_index, use_ignore,
                                    scale, &loss_out[i])
    else:
        for i in prange(n_rows, nogil=True, schedule="static", num_threads=n_threads):
            xent_index_dispatch(&logits[i, 0], target[i], &grad_out[i, 0], C, &weight[0],
                                weighted, weight_sum, smoothing, ignore_index, use_ignore,
                                scale, &loss_out[i])
