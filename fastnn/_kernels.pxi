# fastnn's compiled kernels, included by each instruction-set variant
# (_kernels_baseline.pyx, _kernels_avx2.pyx, _kernels_avx512.pyx), which only
# differ in compile flags.
#
# Three layers, like scikit-learn's sklearn/_loss:
#   1. span loops in _spans.h: branch-free C over one contiguous span that gcc
#      vectorises (exp, max, sums, sigmoid);
#   2. `cdef inline ... noexcept nogil` row and block kernels here, composing
#      the span loops (one row of a softmax, one row of the cross-entropy);
#   3. `def` loops over typed memoryviews that run the row kernels, serially
#      or with OpenMP over rows.
# Parallel loops are schedule="dynamic", in grabs of about GRAB_ELEMENTS
# elements: when another process takes a core, the thread still running
# picks up the remaining rows instead of waiting for its descheduled twin to
# finish a share fixed in advance.  ("static" fixes halves; "guided" hands
# out half the work in its first two grabs, with the same effect.)  Each
# row is computed the same way whichever thread takes it, so results are
# bitwise identical for any thread count.
# Nothing here validates input: fastnn/*.py checks shapes, dtypes, labels and
# memory layout before calling in, and passes the thread count to use (1
# keeps the OpenMP runtime entirely out of small calls).

cimport numpy as cnp
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, NAN, ceil, log1p
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

cnp.import_array()

ctypedef fused floating:
    float
    double

cdef extern from "_vecmath.h" nogil:
    int fnn_have_openmp()
    void fnn_compiler_barrier()
    int fnn_openmp_thread_limit()
    void fnn_log_span(const double *x, double *out, Py_ssize_t n)
    void fnn_log1p_span(const double *x, double *out, Py_ssize_t n)
    double fnn_sum_f64(const double *y, Py_ssize_t n)
    void fnn_store_fence()
    void fnn_scale_stream_f32(const float *src, float factor, float *dst, Py_ssize_t n)
    void fnn_scale_stream_f64(const double *src, double factor, double *dst, Py_ssize_t n)
    int fnn_cpu_has_avx2_fma()
    int fnn_cpu_has_avx512()
    int omp_get_max_threads()
    int FNN_SHORT_ROW
    int FNN_SOFTMAX
    int FNN_LOG_SOFTMAX
    int FNN_EXP_SHIFTED
    int FNN_MAX_SUM

    float fnn_max_f32(const float *x, Py_ssize_t n)
    double fnn_max_f64(const double *x, Py_ssize_t n)
    float fnn_nan_max_f32(const float *x, Py_ssize_t n, Py_ssize_t stride, float m)
    double fnn_nan_max_f64(const double *x, Py_ssize_t n, Py_ssize_t stride, double m)
    double fnn_exp_store_sum_f32(const float *x, float shift, float *out, Py_ssize_t n)
    double fnn_exp_store_sum_f64(const double *x, double shift, double *out, Py_ssize_t n)
    double fnn_exp_store_sum_less_one_f32(const float *x, float shift, float *out, Py_ssize_t n)
    double fnn_exp_store_sum_less_one_f64(const double *x, double shift, double *out,
                                          Py_ssize_t n)
    double fnn_exp_sum_less_one_f32(const float *x, float shift, Py_ssize_t n)
    double fnn_exp_sum_less_one_f64(const double *x, double shift, Py_ssize_t n)
    void fnn_scale_f32(float *y, float factor, Py_ssize_t n)
    void fnn_scale_f64(double *y, double factor, Py_ssize_t n)
    void fnn_log_softmax_finish_f32(const float *x, float shift, float log_sum, float *out,
                                    Py_ssize_t n)
    void fnn_log_softmax_finish_stream_f32(const float *x, float shift, float log_sum, float *out,
                                           Py_ssize_t n)
    void fnn_log_softmax_finish_stream_f64(const double *x, double shift, double log_sum,
                                           double *out, Py_ssize_t n)
    void fnn_log_softmax_finish_f64(const double *x, double shift, double log_sum, double *out,
                                    Py_ssize_t n)
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
    double fnn_bce_span_f32(const float *z, const float *t, const float *w, const float *pw,
                            float scale, float *grad, float *loss, Py_ssize_t n)
    double fnn_bce_span_f64(const double *z, const double *t, const double *w, const double *pw,
                            double scale, double *grad, double *loss, Py_ssize_t n)
    void fnn_softmax_columns_f32(const float *x, float *out, Py_ssize_t K, Py_ssize_t stride,
                                 Py_ssize_t w, int mode, float *max_out, double *sum_out)
    void fnn_softmax_columns_f64(const double *x, double *out, Py_ssize_t K, Py_ssize_t stride,
                                 Py_ssize_t w, int mode, double *max_out, double *sum_out)
    void fnn_softmax_short_rows_f32(const float *x, float *out, Py_ssize_t rows, Py_ssize_t C,
                                    int mode, float *max_out, double *sum_out)
    void fnn_softmax_short_rows_f64(const double *x, double *out, Py_ssize_t rows, Py_ssize_t C,
                                    int mode, double *max_out, double *sum_out)

# Elements per parallel work item for elementwise kernels: large enough to
# amortise scheduling, small enough to balance two threads on 1e5 elements.
cdef enum:
    ELEMENTWISE_CHUNK = 8192
# Elements per grab of a dynamically scheduled loop: a grab costs an atomic
# increment (tens of nanoseconds), a few microseconds of work hide it.
cdef enum:
    GRAB_ELEMENTS = 16384
# Bytes of each row that one column block of the axis kernel covers; with
# K rows the block (K * 256 bytes) mostly stays in L2 across its three passes.
cdef enum:
    COLUMN_BLOCK_BYTES = 256
# Rows per work item when rows are short (the transposed-block kernels take
# up to FNN_MAX_COLS rows; keep the two equal).
cdef enum:
    SHORT_ROW_BLOCK = 64
# Outputs (softmax, log-softmax, cross-entropy gradient) of at least
# STREAM_MIN_BYTES, with rows of at most STREAM_MAX_ROW elements (a row is
# finished in a cache-resident scratch row), are written with streaming
# stores: with its input, such an output overflows a typical L3 cache and
# would not stay in cache anyway.  (Measured: a gain from 64 MB, none at
# 16 MB with a 32 MB L3.)  The scratch row is allocated on the heap, once per
# call and thread: a 64 KB stack array would overflow the small stacks some
# programs give their threads (threading.stack_size), even on paths that
# never use it.
cdef enum:
    STREAM_MIN_BYTES = 16 << 20
    STREAM_MAX_ROW = 8192


# ---------------------------------------------------------------------------
# Typed front ends to the C span loops (fused type -> f32/f64 instance)
# ---------------------------------------------------------------------------

cdef inline floating span_max(const floating *x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fnn_max_f32(x, n)
    else:
        return fnn_max_f64(x, n)


cdef inline floating span_nan_max(const floating *x, Py_ssize_t n, Py_ssize_t stride,
                                   floating m) noexcept nogil:
    # For a span whose sum of exps is nan: nan if it holds one, else m.
    if floating is float:
        return fnn_nan_max_f32(x, n, stride, m)
    else:
        return fnn_nan_max_f64(x, n, stride, m)


cdef inline double span_exp_store_sum(const floating *x, floating shift, floating *out,
                                      Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fnn_exp_store_sum_f32(x, shift, out, n)
    else:
        return fnn_exp_store_sum_f64(x, shift, out, n)


cdef inline double span_exp_store_sum_less_one(const floating *x, floating shift, floating *out,
                                               Py_ssize_t n) noexcept nogil:
    # shift must be the maximum of x; the result is sum(exp(x - shift)) - 1,
    # accurate also when it is tiny (see _spans.h).
    if floating is float:
        return fnn_exp_store_sum_less_one_f32(x, shift, out, n)
    else:
        return fnn_exp_store_sum_less_one_f64(x, shift, out, n)


cdef inline double span_exp_sum_less_one(const floating *x, floating shift,
                                         Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fnn_exp_sum_less_one_f32(x, shift, n)
    else:
        return fnn_exp_sum_less_one_f64(x, shift, n)


cdef inline void span_scale(floating *y, floating factor, Py_ssize_t n) noexcept nogil:
    if floating is float:
        fnn_scale_f32(y, factor, n)
    else:
        fnn_scale_f64(y, factor, n)


cdef inline void span_log_softmax_finish(const floating *x, floating shift, floating log_sum,
                                         floating *out, Py_ssize_t n) noexcept nogil:
    if floating is float:
        fnn_log_softmax_finish_f32(x, shift, log_sum, out, n)
    else:
        fnn_log_softmax_finish_f64(x, shift, log_sum, out, n)


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


cdef inline void span_scale_stream(const floating *src, floating factor, floating *dst,
                                   Py_ssize_t n) noexcept nogil:
    # dst = src * factor with streaming stores (factor 1 copies exactly).
    if floating is float:
        fnn_scale_stream_f32(src, factor, dst, n)
    else:
        fnn_scale_stream_f64(src, factor, dst, n)


cdef inline void softmax_row_streamed(const floating *x, floating *out, floating *scratch,
                                      Py_ssize_t n) noexcept nogil:
    # The exps go to a cache-resident scratch row; the scaled result is then
    # streamed to out without reading out's cache lines first.
    cdef floating m = span_max(x, n)
    cdef double s = span_exp_store_sum(x, m, scratch, n)
    span_scale_stream(scratch, <floating>(1.0 / s), out, n)


cdef inline void log_softmax_row(const floating *x, floating *out, Py_ssize_t n) noexcept nogil:
    # log(sum) as log1p(sum - 1), with the sum less one accumulated apart
    # from the maximum's exact 1: when one entry dominates, log(1 + tiny)
    # would round to 0 and lose the log-probability of the largest entry.
    cdef floating m = span_max(x, n)
    cdef double s_less_one = 0.0
    if out != x:
        # The exponentials are stored in out, which the finishing pass
        # overwrites: a row dominated by its maximum is then summed again
        # from them instead of from x.  Both sums are the same bits (see
        # fnn_exp_sum_less_one_to), so the result does not depend on out.
        s_less_one = span_exp_store_sum_less_one(x, m, out, n)
    else:
        s_less_one = span_exp_sum_less_one(x, m, n)
    span_log_softmax_finish(x, m, <floating>log1p(s_less_one), out, n)


cdef inline void log_softmax_row_streamed(const floating *x, floating *out, floating *scratch,
                                          Py_ssize_t n) noexcept nogil:
    # As log_softmax_row into a new array (the exponentials go to the
    # scratch row), with the finishing pass streamed to out: the same bits.
    cdef floating m = span_max(x, n)
    cdef double s_less_one = span_exp_store_sum_less_one(x, m, scratch, n)
    if floating is float:
        fnn_log_softmax_finish_stream_f32(x, m, <floating>log1p(s_less_one), out, n)
    else:
        fnn_log_softmax_finish_stream_f64(x, m, <floating>log1p(s_less_one), out, n)


cdef inline void softmax_columns(const floating *x, floating *out, Py_ssize_t K, Py_ssize_t stride,
                                 Py_ssize_t width, int mode) noexcept nogil:
    if floating is float:
        fnn_softmax_columns_f32(x, out, K, stride, width, mode, NULL, NULL)
    else:
        fnn_softmax_columns_f64(x, out, K, stride, width, mode, NULL, NULL)


cdef inline void max_sum_columns(const floating *x, Py_ssize_t K, Py_ssize_t stride,
                                 Py_ssize_t width, floating *max_out,
                                 double *sum_out) noexcept nogil:
    if floating is float:
        fnn_softmax_columns_f32(x, NULL, K, stride, width, FNN_MAX_SUM, max_out, sum_out)
    else:
        fnn_softmax_columns_f64(x, NULL, K, stride, width, FNN_MAX_SUM, max_out, sum_out)


cdef inline void softmax_short_rows(const floating *x, floating *out, Py_ssize_t rows, Py_ssize_t C,
                                    int mode, floating *max_out, double *sum_out) noexcept nogil:
    if floating is float:
        fnn_softmax_short_rows_f32(x, out, rows, C, mode, max_out, sum_out)
    else:
        fnn_softmax_short_rows_f64(x, out, rows, C, mode, max_out, sum_out)


cdef inline double xent_index_finish(const floating *z, int64_t label, floating *grad,
                                     floating *dst, Py_ssize_t C, floating m, double s,
                                     double log_s, const floating *weight, bint weighted,
                                     double weight_sum, double smoothing,
                                     double scale) noexcept nogil:
    # grad holds exp(z - m), s is its sum and log_s = log(s); the gradient
    # is written to grad itself (dst == grad) or, from a scratch row grad,
    # streamed to dst (the same bits: see span_scale_stream).  Loss
    # -sum_c q_c log p_c with q = w * ((1 - eps) onehot(label) + eps / C); its
    # gradient is p * sum(q) - q, so grad only needs rescaling and one
    # subtraction.
    cdef double w_label = weight[label] if weighted else 1.0
    cdef double keep = 1.0 - smoothing
    cdef double spread = smoothing / C
    # -log p_label = log_s - (z_label - m): two non-negative terms, no cancellation.
    # A label of zero weight contributes nothing, even with a -inf logit
    # (0 * inf would be nan), as the soft-target path and _reference agree.
    cdef double loss = (keep * w_label * (log_s - (<double>z[label] - m))
                        if keep * w_label != 0.0 else 0.0)
    # Without smoothing only the label's weight enters (as in PyTorch): the
    # other classes' weights, which may be inf or nan (inverse frequencies
    # of a class absent from the data), must not reach the gradient through
    # 0 * weight_sum.
    cdef double q_sum = keep * w_label
    cdef floating factor
    if smoothing != 0.0:
        q_sum += spread * weight_sum
        loss += spread * (weight_sum * log_s - span_weighted_shifted_sum(z, m, weight, C))
        span_scale_minus_weight(grad, <floating>(scale * q_sum / s), <floating>(scale * spread),
                                weight, C)
        fnn_compiler_barrier()
        grad[label] -= <floating>(scale * keep * w_label)
        if dst != grad:
            span_scale_stream(grad, 1, dst, C)
    elif dst == grad:
        span_scale(grad, <floating>(scale * q_sum / s), C)
        fnn_compiler_barrier()
        grad[label] -= <floating>(scale * keep * w_label)
    else:
        # One streamed pass, the scaling included, around the label's entry,
        # which is written apart (never a normal store into a line being
        # streamed).  That entry is scaled as in place and then corrected by
        # a separate subtraction, behind a compiler barrier in both paths:
        # otherwise the compiler may fuse the product and the subtraction
        # into an FMA in one path and not the other, a last-bit difference.
        factor = <floating>(scale * q_sum / s)
        span_scale(grad + label, factor, 1)
        fnn_compiler_barrier()
        grad[label] -= <floating>(scale * keep * w_label)
        span_scale_stream(grad, factor, dst, label)
        dst[label] = grad[label]
        span_scale_stream(grad + label + 1, factor, dst + label + 1, C - label - 1)
    return loss


cdef inline double xent_prob_finish(const floating *z, const floating *target, floating *grad,
                                    Py_ssize_t C, floating m, double s, double log_s,
                                    const floating *weight, double smoothing,
                                    double scale) noexcept nogil:
    # grad holds exp(z - m) and s its sum; q = w * ((1 - eps) target + eps / C).
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
    return q_sum * log_s - qz_sum


cdef inline Py_ssize_t blocks_per_grab(Py_ssize_t elements_per_block) noexcept nogil:
    # Work items a thread takes at once in a dynamically scheduled loop.
    return max(1, GRAB_ELEMENTS // max(1, elements_per_block))


cdef inline Py_ssize_t rows_per_block(Py_ssize_t C) noexcept nogil:
    # Short rows go through the transposed-block kernels 64 at a time; long
    # rows one at a time, so that even a few rows spread over the threads.
    return SHORT_ROW_BLOCK if C <= FNN_SHORT_ROW else 1


cdef inline void softmax_block(const floating *x, floating *out, Py_ssize_t rows, Py_ssize_t C,
                               int mode, floating *scratch) noexcept nogil:
    # scratch: a row of C elements to stream each result row through, or
    # NULL to write out directly.
    cdef Py_ssize_t i
    if C <= FNN_SHORT_ROW:
        softmax_short_rows(x, out, rows, C, mode, NULL, NULL)
    elif scratch != NULL:
        for i in range(rows):
            if mode == FNN_LOG_SOFTMAX:
                log_softmax_row_streamed(x + i * C, out + i * C, scratch, C)
            else:
                softmax_row_streamed(x + i * C, out + i * C, scratch, C)
        fnn_store_fence()
    elif mode == FNN_LOG_SOFTMAX:
        for i in range(rows):
            log_softmax_row(x + i * C, out + i * C, C)
    else:
        for i in range(rows):
            softmax_row(x + i * C, out + i * C, C)


cdef inline void max_sum_block(const floating *x, Py_ssize_t rows, Py_ssize_t C,
                               floating *max_out, double *sum_out) noexcept nogil:
    # Each row's maximum and its sum of exp(x - max) less one, which the
    # caller turns into max + log1p(sum less one); nothing else is written.
    cdef Py_ssize_t i
    cdef floating m
    cdef double s
    if C <= FNN_SHORT_ROW:
        softmax_short_rows(x, <floating *>NULL, rows, C, FNN_MAX_SUM, max_out, sum_out)
        return
    for i in range(rows):
        m = span_max(x + i * C, C)
        s = span_exp_sum_less_one(x + i * C, m, C)
        # A nan sum (a nan, +inf or only -inf in the row) is rare: only then
        # is the row scanned again, for the nan that np.max would return.
        # Such a sum is always the same nan: the sign of the nan the
        # additions produce depends on their order, which differs between
        # the serial and the parallel build of the same loop.
        if s == s:
            max_out[i] = m
            sum_out[i] = s
        else:
            max_out[i] = span_nan_max(x + i * C, C, 1, m)
            sum_out[i] = NAN


cdef inline bint use_streaming_stores(Py_ssize_t n_rows, Py_ssize_t C,
                                      Py_ssize_t itemsize) noexcept nogil:
    return FNN_SHORT_ROW < C <= STREAM_MAX_ROW and n_rows * C * itemsize >= STREAM_MIN_BYTES


cdef inline void *stream_scratch(bint stream, Py_ssize_t C, Py_ssize_t itemsize) noexcept nogil:
    # A scratch row for streaming stores, or NULL: without streaming, or when
    # the allocation fails (the kernels then write directly, with the same
    # results).  Free it with free().
    return malloc(C * itemsize) if stream else NULL


cdef inline void xent_index_block(const floating *z, const int64_t *labels, floating *grad,
                                  double *loss, Py_ssize_t rows, Py_ssize_t C,
                                  const floating *weight, bint weighted, double weight_sum,
                                  double smoothing, int64_t ignore_index, bint use_ignore,
                                  double scale, floating *scratch) noexcept nogil:
    # With a scratch row (not NULL), each long row's gradient is finished in
    # it and then streamed out (see softmax_row_streamed).
    cdef bint stream = scratch != NULL
    cdef floating *row_grad
    cdef floating m[SHORT_ROW_BLOCK]
    cdef double s_less_one[SHORT_ROW_BLOCK]
    cdef double log_s[SHORT_ROW_BLOCK]
    cdef bint short_rows = C <= FNN_SHORT_ROW
    cdef Py_ssize_t i
    cdef int64_t label
    # Cleared only so that gcc, which cannot follow the two branches that fill
    # it row by row, does not warn it "may be used uninitialized" (512 bytes).
    memset(s_less_one, 0, sizeof(s_less_one))
    if short_rows:
        softmax_short_rows(z, grad, rows, C, FNN_EXP_SHIFTED, m, s_less_one)
        # One vectorised log1p for the block instead of a libm call per row.
        fnn_log1p_span(s_less_one, log_s, rows)
    for i in range(rows):
        label = labels[i]
        # Ignored rows, and (defensively: check_labels has rejected them
        # already) out-of-range labels, never index the gradient.
        if (use_ignore and label == ignore_index) or label < 0 or label >= C:
            memset(grad + i * C, 0, C * sizeof(floating))
            loss[i] = 0.0
            continue
        row_grad = scratch if stream else grad + i * C
        if not short_rows:
            m[i] = span_max(z + i * C, C)
            s_less_one[i] = span_exp_store_sum_less_one(z + i * C, m[i], row_grad, C)
            log_s[i] = log1p(s_less_one[i])
        loss[i] = xent_index_finish(z + i * C, label, row_grad, grad + i * C, C, m[i],
                                    1.0 + s_less_one[i], log_s[i], weight, weighted, weight_sum,
                                    smoothing, scale)
    if stream:
        fnn_store_fence()


cdef inline void xent_prob_block(const floating *z, const floating *target, floating *grad,
                                 double *loss, Py_ssize_t rows, Py_ssize_t C,
                                 const floating *weight, double smoothing,
                                 double scale, floating *scratch) noexcept nogil:
    cdef bint stream = scratch != NULL
    cdef floating *row_grad
    cdef floating m[SHORT_ROW_BLOCK]
    cdef double s_less_one[SHORT_ROW_BLOCK]
    cdef double log_s[SHORT_ROW_BLOCK]
    cdef bint short_rows = C <= FNN_SHORT_ROW
    cdef Py_ssize_t i
    # Cleared only so that gcc, which cannot follow the two branches that fill
    # it row by row, does not warn it "may be used uninitialized" (512 bytes).
    memset(s_less_one, 0, sizeof(s_less_one))
    if short_rows:
        softmax_short_rows(z, grad, rows, C, FNN_EXP_SHIFTED, m, s_less_one)
        fnn_log1p_span(s_less_one, log_s, rows)
    for i in range(rows):
        row_grad = scratch if stream else grad + i * C
        if not short_rows:
            m[i] = span_max(z + i * C, C)
            s_less_one[i] = span_exp_store_sum_less_one(z + i * C, m[i], row_grad, C)
            log_s[i] = log1p(s_less_one[i])
        loss[i] = xent_prob_finish(z + i * C, target + i * C, row_grad, C, m[i],
                                   1.0 + s_less_one[i], log_s[i], weight, smoothing, scale)
        if stream:
            span_scale_stream(scratch, 1, grad + i * C, C)
    if stream:
        fnn_store_fence()


# ---------------------------------------------------------------------------
# Python-callable loops
# ---------------------------------------------------------------------------

def openmp_enabled():
    """True when this module was compiled with OpenMP."""
    return bool(fnn_have_openmp())


def openmp_max_threads():
    """omp_get_max_threads(): OMP_NUM_THREADS or threadpoolctl's limit."""
    return omp_get_max_threads()


def openmp_thread_limit():
    """omp_get_thread_limit(): OMP_THREAD_LIMIT, or INT_MAX when unset."""
    return fnn_openmp_thread_limit()


def cpu_has_avx2_fma():
    """True when the running CPU and OS support AVX2 and FMA."""
    return bool(fnn_cpu_has_avx2_fma())


def cpu_has_avx512():
    """True when the running CPU and OS support AVX-512 F, BW, DQ and VL (and AVX2, FMA)."""
    return bool(fnn_cpu_has_avx512())


cdef inline void softmax_rows_serial(const floating *x, floating *out, Py_ssize_t n_rows,
                                     Py_ssize_t C, int mode) noexcept nogil:
    cdef Py_ssize_t block = rows_per_block(C)
    cdef Py_ssize_t start = 0
    cdef floating *scratch = <floating *>stream_scratch(
        use_streaming_stores(n_rows, C, sizeof(floating)), C, sizeof(floating))
    while start < n_rows:
        softmax_block(x + start * C, out + start * C, min(block, n_rows - start), C, mode,
                      scratch)
        start += block
    free(scratch)


def softmax_rows(const floating[:, ::1] x,   # IN (N, C), C >= 1
                 floating[:, ::1] out,       # OUT (N, C), may be x
                 bint log_output,
                 int n_threads):
    """Softmax (or log-softmax) of every row of a C-contiguous matrix."""
    cdef Py_ssize_t n_rows = x.shape[0], C = x.shape[1]
    cdef Py_ssize_t block = rows_per_block(C)
    cdef Py_ssize_t n_blocks = (n_rows + block - 1) // block
    cdef Py_ssize_t b, start
    cdef int mode = FNN_LOG_SOFTMAX if log_output else FNN_SOFTMAX
    cdef bint stream
    cdef floating *scratch = NULL
    if n_rows == 0:
        return
    if n_threads <= 1:
        with nogil:
            softmax_rows_serial(&x[0, 0], &out[0, 0], n_rows, C, mode)
    else:
        stream = use_streaming_stores(n_rows, C, sizeof(floating))
        with nogil, parallel(num_threads=n_threads):
            scratch = <floating *>stream_scratch(stream, C, sizeof(floating))
            for b in prange(n_blocks, schedule="dynamic",
                            chunksize=blocks_per_grab(block * C)):
                start = b * block
                softmax_block(&x[start, 0], &out[start, 0], min(block, n_rows - start), C,
                              mode, scratch)
            free(scratch)


def softmax_axis(const floating[:, :, ::1] x,   # IN (outer, K, inner), K >= 1
                 floating[:, :, ::1] out,       # OUT same shape, may be x
                 bint log_output,
                 int n_threads):
    """Softmax (or log-softmax) along axis 1 of a C-contiguous 3-D array."""
    cdef Py_ssize_t outer = x.shape[0], K = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t width = COLUMN_BLOCK_BYTES // sizeof(floating)
    cdef Py_ssize_t n_blocks = (inner + width - 1) // width
    cdef Py_ssize_t item, o, c0
    cdef int mode = FNN_LOG_SOFTMAX if log_output else FNN_SOFTMAX
    if outer == 0 or inner == 0:
        return
    if n_threads <= 1:
        with nogil:
            for item in range(outer * n_blocks):
                o = item // n_blocks
                c0 = (item % n_blocks) * width
                softmax_columns(&x[o, 0, c0], &out[o, 0, c0], K, inner,
                                min(width, inner - c0), mode)
    else:
        for item in prange(outer * n_blocks, nogil=True, schedule="dynamic",
                           chunksize=blocks_per_grab(K * width), num_threads=n_threads):
            o = item // n_blocks
            c0 = (item % n_blocks) * width
            softmax_columns(&x[o, 0, c0], &out[o, 0, c0], K, inner,
                            min(width, inner - c0), mode)


def max_sum_rows(const floating[:, ::1] x,   # IN (N, C), C >= 1
                 floating[::1] max_out,      # OUT (N,) each row's maximum
                 double[::1] sum_out,        # OUT (N,) sum of exp(x - max) less one
                 int n_threads):
    """Maximum and sum of exps less one of every row of a C-contiguous matrix.

    The maximum is np.max's (nan for a row holding a nan); the sum is nan
    for a row holding a nan or +inf, or only -inf.
    """
    cdef Py_ssize_t n_rows = x.shape[0], C = x.shape[1]
    cdef Py_ssize_t block = rows_per_block(C)
    cdef Py_ssize_t n_blocks = (n_rows + block - 1) // block
    cdef Py_ssize_t b, start
    if n_rows == 0:
        return
    if n_threads <= 1:
        with nogil:
            for b in range(n_blocks):
                start = b * block
                max_sum_block(&x[start, 0], min(block, n_rows - start), C, &max_out[start],
                              &sum_out[start])
    else:
        for b in prange(n_blocks, nogil=True, schedule="dynamic",
                       chunksize=blocks_per_grab(block * C), num_threads=n_threads):
            start = b * block
            max_sum_block(&x[start, 0], min(block, n_rows - start), C, &max_out[start],
                          &sum_out[start])


def max_sum_axis(const floating[:, :, ::1] x,   # IN (outer, K, inner), K >= 1
                 floating[:, ::1] max_out,      # OUT (outer, inner) maxima along axis 1
                 double[:, ::1] sum_out,        # OUT (outer, inner) sums of exps less one
                 int n_threads):
    """max_sum_rows along axis 1 of a C-contiguous 3-D array, in column blocks."""
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
                max_sum_columns(&x[o, 0, c0], K, inner, min(width, inner - c0),
                                &max_out[o, c0], &sum_out[o, c0])
    else:
        for item in prange(outer * n_blocks, nogil=True, schedule="dynamic",
                           chunksize=blocks_per_grab(K * width), num_threads=n_threads):
            o = item // n_blocks
            c0 = (item % n_blocks) * width
            max_sum_columns(&x[o, 0, c0], K, inner, min(width, inner - c0),
                            &max_out[o, c0], &sum_out[o, c0])


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
        for chunk in prange(n_chunks, schedule="dynamic", num_threads=n_threads):
            start = chunk * ELEMENTWISE_CHUNK
            span_elementwise(op, &x[start], &y[start], &out[start],
                             min(ELEMENTWISE_CHUNK, n - start))


def exp(const floating[::1] x, floating[::1] out, int n_threads=1):
    """out = exp(x) with the exp the kernels use (exposed for accuracy tests)."""
    with nogil:
        elementwise(0, x, x, out, n_threads)


def log_span(const double[::1] x, double[::1] out):
    """out = log(x) with the vectorised log the kernels use, for x > 0 (exposed for tests)."""
    if x.shape[0]:
        with nogil:
            fnn_log_span(&x[0], &out[0], x.shape[0])


def log1p_span(const double[::1] x, double[::1] out):
    """out = log1p(x) with the vectorised log1p the kernels use, for x >= -0.5 (for tests)."""
    if x.shape[0]:
        with nogil:
            fnn_log1p_span(&x[0], &out[0], x.shape[0])


def sigmoid(const floating[::1] x, floating[::1] out, int n_threads):
    """out = 1 / (1 + exp(-x)), stable for any x."""
    with nogil:
        elementwise(1, x, x, out, n_threads)


def sigmoid_grad(const floating[::1] s, floating[::1] out, int n_threads):
    """out = s * (1 - s)."""
    with nogil:
        elementwise(2, s, s, out, n_threads)


def sigmoid_backward(const floating[::1] grad, const floating[::1] s, floating[::1] out,
                     int n_threads):
    """out = grad * s * (1 - s)."""
    with nogil:
        elementwise(3, s, grad, out, n_threads)


cdef inline double bce_span(const floating *z, const floating *t, const floating *w,
                            const floating *pw, floating scale, floating *grad, floating *loss,
                            Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fnn_bce_span_f32(z, t, w, pw, scale, grad, loss, n)
    else:
        return fnn_bce_span_f64(z, t, w, pw, scale, grad, loss, n)


def binary_xent(const floating[::1] logits,   # IN (n,)
                const floating[::1] target,   # IN (n,)
                const floating[::1] weight,   # IN (n,) or (0,) for none
                const floating[::1] pos_weight,  # IN (n,) or (0,) for none
                double scale,
                floating[::1] grad_out,       # OUT (n,)
                floating[::1] loss_out,       # OUT (n,) per-element losses, or (0,) for none
                double[::1] chunk_loss_out,   # OUT (ceil(n / ELEMENTWISE_CHUNK),) partial sums
                int n_threads):
    """Sigmoid binary cross-entropy with logits, elementwise: gradient, and the
    loss summed per chunk of ELEMENTWISE_CHUNK elements (fixed chunks, so the
    total is the same for any thread count)."""
    cdef Py_ssize_t n = logits.shape[0]
    cdef Py_ssize_t n_chunks = (n + ELEMENTWISE_CHUNK - 1) // ELEMENTWISE_CHUNK
    cdef Py_ssize_t chunk, start, length
    cdef bint has_w = weight.shape[0] > 0, has_pw = pos_weight.shape[0] > 0
    cdef bint store = loss_out.shape[0] > 0
    if n == 0:
        return
    if n_threads <= 1:
        with nogil:
            for chunk in range(n_chunks):
                start = chunk * ELEMENTWISE_CHUNK
                length = min(ELEMENTWISE_CHUNK, n - start)
                chunk_loss_out[chunk] = bce_span(
                    &logits[start], &target[start], &weight[start] if has_w else NULL,
                    &pos_weight[start] if has_pw else NULL, <floating>scale, &grad_out[start],
                    &loss_out[start] if store else NULL, length)
    else:
        for chunk in prange(n_chunks, nogil=True, schedule="dynamic", num_threads=n_threads):
            start = chunk * ELEMENTWISE_CHUNK
            length = min(ELEMENTWISE_CHUNK, n - start)
            chunk_loss_out[chunk] = bce_span(
                &logits[start], &target[start], &weight[start] if has_w else NULL,
                &pos_weight[start] if has_pw else NULL, <floating>scale, &grad_out[start],
                &loss_out[start] if store else NULL, length)


def element_count_per_chunk():
    """Elements per work item (and per partial loss sum) of binary_xent."""
    return ELEMENTWISE_CHUNK


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


cdef inline void xent_index_rows_serial(const floating *z, const int64_t *labels, floating *grad,
                                        double *loss, Py_ssize_t n_rows, Py_ssize_t C,
                                        const floating *weight, bint weighted,
                                        double weight_sum, double smoothing,
                                        int64_t ignore_index, bint use_ignore,
                                        double scale) noexcept nogil:
    cdef Py_ssize_t block = rows_per_block(C)
    cdef Py_ssize_t start = 0
    cdef floating *scratch = <floating *>stream_scratch(
        use_streaming_stores(n_rows, C, sizeof(floating)), C, sizeof(floating))
    while start < n_rows:
        xent_index_block(z + start * C, labels + start, grad + start * C, loss + start,
                         min(block, n_rows - start), C, weight, weighted, weight_sum, smoothing,
                         ignore_index, use_ignore, scale, scratch)
        start += block
    free(scratch)


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
    cdef Py_ssize_t n_rows = logits.shape[0], C = logits.shape[1]
    cdef Py_ssize_t block = rows_per_block(C)
    cdef Py_ssize_t n_blocks = (n_rows + block - 1) // block
    cdef Py_ssize_t b, start
    cdef bint stream
    cdef floating *scratch = NULL
    if n_rows == 0:
        return
    if n_threads <= 1:
        with nogil:
            xent_index_rows_serial(&logits[0, 0], &target[0], &grad_out[0, 0], &loss_out[0],
                                   n_rows, C, &weight[0], weighted, weight_sum, smoothing,
                                   ignore_index, use_ignore, scale)
    else:
        stream = use_streaming_stores(n_rows, C, sizeof(floating))
        with nogil, parallel(num_threads=n_threads):
            scratch = <floating *>stream_scratch(stream, C, sizeof(floating))
            for b in prange(n_blocks, schedule="dynamic",
                            chunksize=blocks_per_grab(block * C)):
                start = b * block
                xent_index_block(&logits[start, 0], &target[start], &grad_out[start, 0],
                                 &loss_out[start], min(block, n_rows - start), C, &weight[0],
                                 weighted, weight_sum, smoothing, ignore_index, use_ignore,
                                 scale, scratch)
            free(scratch)


def xent_prob_rows(const floating[:, ::1] logits,   # IN (N, C), C >= 1
                   const floating[:, ::1] target,   # IN (N, C) probabilities
                   const floating[::1] weight,      # IN (C,)
                   double smoothing,
                   double scale,
                   floating[:, ::1] grad_out,       # OUT (N, C)
                   double[::1] loss_out,            # OUT (N,)
                   int n_threads):
    """Fused softmax cross-entropy with probability targets: loss and gradient."""
    cdef Py_ssize_t n_rows = logits.shape[0], C = logits.shape[1]
    cdef Py_ssize_t block = rows_per_block(C)
    cdef Py_ssize_t n_blocks = (n_rows + block - 1) // block
    cdef Py_ssize_t b, start
    cdef bint stream = use_streaming_stores(n_rows, C, sizeof(floating))
    cdef floating *scratch = NULL
    if n_rows == 0:
        return
    if n_threads <= 1:
        with nogil:
            scratch = <floating *>stream_scratch(stream, C, sizeof(floating))
            for b in range(n_blocks):
                start = b * block
                xent_prob_block(&logits[start, 0], &target[start, 0], &grad_out[start, 0],
                                &loss_out[start], min(block, n_rows - start), C, &weight[0],
                                smoothing, scale, scratch)
            free(scratch)
    else:
        with nogil, parallel(num_threads=n_threads):
            scratch = <floating *>stream_scratch(stream, C, sizeof(floating))
            for b in prange(n_blocks, schedule="dynamic",
                            chunksize=blocks_per_grab(block * C)):
                start = b * block
                xent_prob_block(&logits[start, 0], &target[start, 0], &grad_out[start, 0],
                                &loss_out[start], min(block, n_rows - start), C, &weight[0],
                                smoothing, scale, scratch)
            free(scratch)


# ---------------------------------------------------------------------------
# Small-call fast paths
#
# For tiny inputs the cost of a call is Python, not arithmetic: acquiring
# typed memoryviews alone takes longer than a 1 x 10 softmax.  These entry
# points take the common case (ndarrays of float32 or float64, C-contiguous
# and aligned, below the parallel cut-off) straight through the NumPy C API,
# serially, and return None for anything else; the Python layer then takes
# its general, fully validating path.
# ---------------------------------------------------------------------------

cdef inline bint is_small_float_carray(object x, Py_ssize_t max_size) noexcept:
    if type(x) is not cnp.ndarray:
        return False
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int typenum = cnp.PyArray_TYPE(a)
    if typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64:
        return False
    if not cnp.PyArray_ISCARRAY_RO(a) or cnp.PyArray_NDIM(a) == 0:
        return False
    cdef Py_ssize_t size = cnp.PyArray_SIZE(a)
    return 0 < size < max_size


cdef inline bint is_plain_out_for(object out, cnp.ndarray a) noexcept:
    # out is an ndarray of a's shape and dtype, C-ordered, aligned and
    # writeable, and either a itself (in place) or sharing no memory with it.
    if type(out) is not cnp.ndarray:
        return False
    cdef cnp.ndarray o = <cnp.ndarray>out
    cdef int ndim = cnp.PyArray_NDIM(a)
    if (cnp.PyArray_TYPE(o) != cnp.PyArray_TYPE(a) or cnp.PyArray_NDIM(o) != ndim
            or not cnp.PyArray_ISCARRAY(o)):
        return False
    cdef int d
    for d in range(ndim):
        if cnp.PyArray_DIM(o, d) != cnp.PyArray_DIM(a, d):
            return False
    return cnp.PyArray_DATA(o) == cnp.PyArray_DATA(a) or shares_no_memory(a, o)


cdef inline bint shares_no_memory(cnp.ndarray a, cnp.ndarray o) noexcept:
    # Two C-ordered arrays' byte ranges do not overlap.
    cdef char *a_data = <char *>cnp.PyArray_DATA(a)
    cdef char *o_data = <char *>cnp.PyArray_DATA(o)
    return o_data + cnp.PyArray_NBYTES(o) <= a_data or a_data + cnp.PyArray_NBYTES(a) <= o_data


def softmax_small(object x, object out, bint log_output, Py_ssize_t max_size):
    """Softmax (or log-softmax) over the last axis of a small array, or None.

    ``out``: None to allocate the result, or an array to write it to; None
    is returned (the general path takes the call) unless it has ``x``'s
    shape and dtype, is C-ordered and writeable, and is ``x`` or shares no
    memory with it.
    """
    if not is_small_float_carray(x, max_size):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x
    if out is not None and not is_plain_out_for(out, a):
        return None
    cdef int ndim = cnp.PyArray_NDIM(a)
    cdef int typenum = cnp.PyArray_TYPE(a)
    cdef Py_ssize_t C = cnp.PyArray_DIM(a, ndim - 1)
    cdef Py_ssize_t n_rows = cnp.PyArray_SIZE(a) // C
    cdef int mode = FNN_LOG_SOFTMAX if log_output else FNN_SOFTMAX
    if out is None:
        out = cnp.PyArray_EMPTY(ndim, cnp.PyArray_DIMS(a), typenum, 0)
    cdef void *x_data = cnp.PyArray_DATA(a)
    cdef void *out_data = cnp.PyArray_DATA(<cnp.ndarray>out)
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            softmax_rows_serial(<const float *>x_data, <float *>out_data, n_rows, C, mode)
        else:
            softmax_rows_serial(<const double *>x_data, <double *>out_data, n_rows, C, mode)
    return out


cdef inline void logsumexp_finish_span(const floating *m, const double *s_less_one,
                                       floating *out, Py_ssize_t n) noexcept nogil:
    # max + log1p(sum less one), in double for both dtypes so that a float32
    # result is rounded once, with the kernels' vectorised log1p (a libm call
    # per row cost more than the max-and-sum pass on rows of 10).  An infinite
    # maximum is the answer itself: the sum is nan for +inf (np.max's +inf,
    # only without a nan) and -1 or nan for a row of only -inf; a nan maximum
    # stays nan whatever the log1p of its nan sum gives.
    cdef double log_s[64]
    cdef Py_ssize_t start, count, i
    for start in range(0, n, 64):
        count = min(64, n - start)
        fnn_log1p_span(s_less_one + start, log_s, count)
        for i in range(count):
            if m[start + i] == INFINITY or m[start + i] == -INFINITY:
                out[start + i] = m[start + i]
            else:
                out[start + i] = <floating>(<double>m[start + i] + log_s[i])


def logsumexp_finish(const floating[::1] m,    # IN (N,) each row's maximum
                     const double[::1] s_less_one,  # IN (N,) its sum of exps less one
                     floating[::1] out):       # OUT (N,) the log-sum-exp
    if m.shape[0]:
        with nogil:
            logsumexp_finish_span(&m[0], &s_less_one[0], &out[0], m.shape[0])


def logsumexp_short_rows(const floating[:, ::1] x,   # IN (N, C)
                         floating[::1] out,         # OUT (N,) each row's log-sum-exp
                         int n_threads):
    """The log-sum-exp of every row, max-and-sum and finish in one pass, for
    rows of C <= FNN_SHORT_ROW; returns False (nothing written) for longer ones.

    Each block of 64 rows is finished as logsumexp_small finishes it, so the
    bits are the same for any thread count and either entry point.
    """
    cdef Py_ssize_t n_rows = x.shape[0], C = x.shape[1], b, start
    cdef Py_ssize_t n_blocks = (n_rows + 63) // 64
    if C > FNN_SHORT_ROW or C == 0:
        return False
    if n_rows == 0:
        return True
    if n_threads <= 1:
        with nogil:
            logsumexp_rows_serial(&x[0, 0], &out[0], n_rows, C)
        return True
    for b in prange(n_blocks, nogil=True, schedule="dynamic",
                    chunksize=blocks_per_grab(64 * C), num_threads=n_threads):
        start = b * 64
        logsumexp_rows_serial(&x[start, 0], &out[start], min(64, n_rows - start), C)
    return True


def logsumexp_small(object x, object out, bint keepdims, Py_ssize_t max_size):
    """The log-sum-exp over the last axis of a small array, or None.

    ``out``: None to allocate the result, or an array to write it to; None
    is returned (the general path takes the call) unless it has the result's
    shape and x's dtype, is C-ordered and writeable, and shares no memory
    with x.  Without ``keepdims`` a 1-D x gives a NumPy scalar.
    """
    if not is_small_float_carray(x, max_size):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(a)
    cdef int typenum = cnp.PyArray_TYPE(a)
    cdef int out_ndim = ndim if keepdims else ndim - 1
    cdef cnp.npy_intp dims[64]  # NPY_MAXDIMS
    cdef int d
    for d in range(out_ndim):
        dims[d] = cnp.PyArray_DIM(a, d) if d < ndim - 1 else 1
    cdef cnp.ndarray o
    if out is None:
        o = cnp.PyArray_EMPTY(out_ndim, dims, typenum, 0)
    else:
        if type(out) is not cnp.ndarray:
            return None
        o = <cnp.ndarray>out
        if (cnp.PyArray_TYPE(o) != typenum or cnp.PyArray_NDIM(o) != out_ndim
                or not cnp.PyArray_ISCARRAY(o)):
            return None
        for d in range(out_ndim):
            if cnp.PyArray_DIM(o, d) != dims[d]:
                return None
        if not shares_no_memory(a, o):
            return None
    cdef Py_ssize_t C = cnp.PyArray_DIM(a, ndim - 1)
    cdef Py_ssize_t n_rows = cnp.PyArray_SIZE(a) // C
    cdef void *x_data = cnp.PyArray_DATA(a)
    cdef void *out_data = cnp.PyArray_DATA(o)
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            logsumexp_rows_serial(<const float *>x_data, <float *>out_data, n_rows, C)
        else:
            logsumexp_rows_serial(<const double *>x_data, <double *>out_data, n_rows, C)
    if out is None and out_ndim == 0:
        return o[()]
    return o


cdef inline void logsumexp_rows_serial(const floating *x, floating *out, Py_ssize_t n_rows,
                                       Py_ssize_t C) noexcept nogil:
    # max_sum_block in chunks of rows whose maxima and sums fit on the stack.
    cdef floating maxima[64]
    cdef double sums[64]
    cdef Py_ssize_t start, rows
    for start in range(0, n_rows, 64):
        rows = min(64, n_rows - start)
        max_sum_block(x + start * C, rows, C, maxima, sums)
        logsumexp_finish_span(maxima, sums, out + start, rows)


def elementwise_small(int op, object x, object y, Py_ssize_t max_size, object out=None):
    """sigmoid (op 1), sigmoid_grad (op 2) of x, or y * sigmoid_grad(x) (op 3)
    for a small array, or None.  y must be None unless op is 3.

    ``out``: None to allocate the result, or an array to write it to, as in
    softmax_small (None is returned, for the general path, unless it is a
    plain C-ordered array of the inputs' shape and dtype that is each input
    or shares no memory with it)."""
    if not is_small_float_carray(x, max_size):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef cnp.ndarray b = a
    cdef int typenum = cnp.PyArray_TYPE(a)
    if op == 3:
        if not is_small_float_carray(y, max_size):
            return None
        b = <cnp.ndarray>y
        if cnp.PyArray_TYPE(b) != typenum or not cnp.PyArray_SAMESHAPE(a, b):
            return None
    if out is None:
        out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), typenum, 0)
    elif not is_plain_out_for(out, a) or not is_plain_out_for(out, b):
        return None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(a)
    cdef void *x_data = cnp.PyArray_DATA(a)
    cdef void *y_data = cnp.PyArray_DATA(b)
    cdef void *out_data = cnp.PyArray_DATA(<cnp.ndarray>out)
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            span_elementwise(op, <const float *>x_data, <const float *>y_data, <float *>out_data, n)
        else:
            span_elementwise(op, <const double *>x_data, <const double *>y_data,
                             <double *>out_data, n)
    return out


def xent_small(object logits, object target, int reduction, Py_ssize_t max_size):
    """Fused cross-entropy of small logits with int64 class indices and no
    weights, smoothing or ignore_index; or None.  reduction: 0 "none", 1 "sum",
    2 "mean".  Returns (sum of the per-sample losses, grad, per-sample
    losses).  Invalid labels also give None: the general path reports them."""
    if reduction < 0 or reduction > 2:
        return None
    if not is_small_float_carray(logits, max_size) or type(target) is not cnp.ndarray:
        return None
    cdef cnp.ndarray z = <cnp.ndarray>logits
    cdef cnp.ndarray t = <cnp.ndarray>target
    if cnp.PyArray_NDIM(z) != 2 or cnp.PyArray_NDIM(t) != 1:
        return None
    if cnp.PyArray_TYPE(t) != cnp.NPY_INT64 or not cnp.PyArray_ISCARRAY_RO(t):
        return None
    cdef Py_ssize_t n_rows = cnp.PyArray_DIM(z, 0), C = cnp.PyArray_DIM(z, 1), i
    if cnp.PyArray_DIM(t, 0) != n_rows:
        return None
    cdef const int64_t *labels = <const int64_t *>cnp.PyArray_DATA(t)
    for i in range(n_rows):
        if labels[i] < 0 or labels[i] >= C:
            return None
    cdef int typenum = cnp.PyArray_TYPE(z)
    cdef cnp.ndarray grad = cnp.PyArray_EMPTY(2, cnp.PyArray_DIMS(z), typenum, 0)
    cdef cnp.ndarray row_loss = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(z), cnp.NPY_FLOAT64, 0)
    cdef double *loss = <double *>cnp.PyArray_DATA(row_loss)
    cdef double scale = 1.0 / n_rows if reduction == 2 else 1.0
    cdef double total
    cdef void *z_data = cnp.PyArray_DATA(z)
    cdef void *grad_data = cnp.PyArray_DATA(grad)
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            xent_index_rows_serial(<const float *>z_data, labels, <float *>grad_data, loss,
                                   n_rows, C, NULL, False, C, 0.0, 0, False, scale)
        else:
            xent_index_rows_serial(<const double *>z_data, labels, <double *>grad_data, loss,
                                   n_rows, C, NULL, False, C, 0.0, 0, False, scale)
        total = fnn_sum_f64(loss, n_rows)
    return total, grad, row_loss


def sum_losses(const double[::1] row_loss):
    """Sum of per-sample losses, the same way on every path (16 partial sums, as fnn_sum)."""
    if row_loss.shape[0] == 0:
        return 0.0
    return fnn_sum_f64(&row_loss[0], row_loss.shape[0])


# --- dropout masks -----------------------------------------------------------------
# A counter-based generator.  The row at position p gets a 32-bit key, the
# top half of SplitMix64(key ^ p); unit j of that row gets the 32-bit hash
# fmix32(row_key + j * 0x9E3779B9), MurmurHash3's finaliser, whose top 24
# bits, read as a fraction of 2^24, keep the unit when they are at least the
# rate.  The per-unit hash uses 32-bit multiplies only, which SSE4.1, AVX2,
# AVX-512 and NEON all have as one vector instruction: the 64-bit multiplies
# of a SplitMix64 per unit have none below AVX-512 and made the mask several
# times slower there.  fastnn/dropout.py holds the NumPy twin of the same
# arithmetic (wrapping integers), so both give the same masks bit for bit.

cdef inline uint64_t splitmix64(uint64_t z) noexcept nogil:
    z = z + <uint64_t>0x9E3779B97F4A7C15ULL
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint32_t murmur3_fmix32(uint32_t x) noexcept nogil:
    x = (x ^ (x >> 16)) * <uint32_t>0x85EBCA6BU
    x = (x ^ (x >> 13)) * <uint32_t>0xC2B2AE35U
    return x ^ (x >> 16)


cdef inline int32_t keep_threshold(double rate) noexcept nogil:
    # (bits) / 2^24 >= rate exactly when the 24-bit integer is at least
    # ceil(rate 2^24).  Signed, like the bits compared with it: AVX2 has no
    # unsigned comparison, and 24 bits fit either way.
    return <int32_t>ceil(rate * 16777216.0)


cdef inline uint32_t row_weyl_start(uint64_t position, uint64_t key) noexcept nogil:
    # The row's 32-bit key, where its units' Weyl sequence starts.
    return <uint32_t>(splitmix64(key ^ position) >> 32)


cdef inline floating kept_factor(uint32_t weyl, int32_t threshold, floating scale) noexcept nogil:
    # scale * 1 for a kept unit, scale * 0 for a dropped one: a multiply by
    # it gives the bits of a multiply by the mask (inf * 0 is NaN in both),
    # and the loop has no branch to mispredict.
    return scale * <floating>(<int32_t>(murmur3_fmix32(weyl) >> 8) >= threshold)


cdef inline void dropout_scale_row(uint64_t position, uint64_t key, int32_t threshold,
                                   floating scale, floating *h, Py_ssize_t units) noexcept nogil:
    # h[j] *= the unit's factor.  The Weyl sequence row_key + j * 0x9E3779B9
    # is stepped, not multiplied out, to keep the loop in 32-bit vector lanes.
    cdef Py_ssize_t j
    cdef uint32_t weyl = row_weyl_start(position, key)
    for j in range(units):
        h[j] *= kept_factor(weyl, threshold, scale)
        weyl = weyl + <uint32_t>0x9E3779B9U


cdef inline void dropout_mask_row(uint64_t position, uint64_t key, int32_t threshold,
                                  floating scale, floating *out, Py_ssize_t units) noexcept nogil:
    # The mask is the dropout of a row of ones: 1 * scale and 1 * 0 are exact.
    cdef Py_ssize_t j
    for j in range(units):
        out[j] = 1
    dropout_scale_row(position, key, threshold, scale, out, units)


def dropout_mask(const uint64_t[::1] positions,   # IN (N,) the rows' positions in the data
                 uint64_t key, double rate,
                 floating[:, ::1] out,             # OUT (N, units): 0 or 1 / (1 - rate)
                 int n_threads):
    cdef Py_ssize_t n_rows = out.shape[0], units = out.shape[1], i
    cdef floating scale = <floating>(1.0 / (1.0 - rate))
    cdef int32_t threshold = keep_threshold(rate)
    if n_rows == 0 or units == 0:
        return
    if n_threads <= 1:
        with nogil:
            for i in range(n_rows):
                dropout_mask_row(positions[i], key, threshold, scale,
                                 &out[i, 0], units)
        return
    with nogil:
        for i in prange(n_rows, num_threads=n_threads, schedule="dynamic",
                        chunksize=blocks_per_grab(units)):
            dropout_mask_row(positions[i], key, threshold, scale, &out[i, 0],
                             units)


def dropout_apply(const uint64_t[::1] positions,   # IN (N,) the rows' positions in the data
                  uint64_t key, double rate,
                  floating[:, ::1] h,                # IN/OUT (N, units): multiplied by the mask
                  int n_threads):
    # dropout_mask's masks, multiplied into h as they are drawn: the same
    # bits as h * mask, without writing the mask or reading it back.
    cdef Py_ssize_t n_rows = h.shape[0], units = h.shape[1], i
    cdef floating scale = <floating>(1.0 / (1.0 - rate))
    cdef int32_t threshold = keep_threshold(rate)
    if n_rows == 0 or units == 0:
        return
    if n_threads <= 1:
        with nogil:
            for i in range(n_rows):
                dropout_scale_row(positions[i], key, threshold, scale,
                                  &h[i, 0], units)
        return
    with nogil:
        for i in prange(n_rows, num_threads=n_threads, schedule="dynamic",
                        chunksize=blocks_per_grab(units)):
            dropout_scale_row(positions[i], key, threshold, scale, &h[i, 0],
                              units)


def relu_backward(floating[:, ::1] grad,         # IN/OUT (N, units): upstream, then delta
                  const floating[:, ::1] h,      # IN (N, units): the layer's relu output
                  double scale, int n_threads):
    # grad *= (h > 0 ? scale : 0), as a multiply: with scale 1 these are the
    # bits of NumPy's grad *= h > 0, and with dropout's scale those of
    # grad * mask * (h > 0) for h already multiplied by the mask (a dropped
    # unit's h is 0, a kept one's is positive exactly where relu's input was).
    cdef Py_ssize_t n_rows = grad.shape[0], units = grad.shape[1], i, j
    cdef floating s = <floating>scale, zero = 0
    if n_rows == 0 or units == 0:
        return
    if n_threads <= 1:
        with nogil:
            for i in range(n_rows):
                for j in range(units):
                    grad[i, j] *= s if h[i, j] > 0 else zero
        return
    with nogil:
        for i in prange(n_rows, num_threads=n_threads, schedule="static"):
            for j in range(units):
                grad[i, j] *= s if h[i, j] > 0 else zero


# --- relu with its bias, and with dropout ---------------------------------------------
# One pass for z = relu(z + b) [* mask] instead of NumPy's two or three: the
# training step of a small batch is made of calls this short, so each one
# saved is worth more than the bandwidth.

cdef inline floating relu_of(floating v) noexcept nogil:
    # np.maximum(v, 0) as NumPy computes it: NaN passes through (it is not
    # <= 0) and -0.0 gives +0.0.  One comparison, so the loop stays a select.
    return v if not (v <= 0) else <floating>0


cdef inline void bias_relu_row(floating *z, const floating *b, Py_ssize_t units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(units):
        z[j] = relu_of(z[j] + b[j])


cdef inline void bias_relu_dropout_row(floating *z, const floating *b, Py_ssize_t units,
                                       uint64_t position, uint64_t key, int32_t threshold,
                                       floating scale) noexcept nogil:
    # relu(z + b) * mask, the mask drawn as in dropout_scale_row.
    cdef Py_ssize_t j
    cdef uint32_t weyl = row_weyl_start(position, key)
    for j in range(units):
        z[j] = relu_of(z[j] + b[j]) * kept_factor(weyl, threshold, scale)
        weyl = weyl + <uint32_t>0x9E3779B9U


def bias_relu(floating[:, ::1] z,            # IN/OUT (N, units): z, then relu(z + b)
              const floating[::1] b,         # IN (units,)
              int n_threads):
    cdef Py_ssize_t n_rows = z.shape[0], units = z.shape[1], i
    if n_rows == 0 or units == 0:
        return
    if n_threads <= 1:
        with nogil:
            for i in range(n_rows):
                bias_relu_row(&z[i, 0], &b[0], units)
        return
    with nogil:
        for i in prange(n_rows, num_threads=n_threads, schedule="static"):
            bias_relu_row(&z[i, 0], &b[0], units)


def bias_relu_dropout(floating[:, ::1] z,             # IN/OUT (N, units): z, then relu(z + b) * mask
                      const floating[::1] b,          # IN (units,)
                      const uint64_t[::1] positions,  # IN (N,) the rows' positions in the data
                      uint64_t key, double rate, int n_threads):
    cdef Py_ssize_t n_rows = z.shape[0], units = z.shape[1], i
    cdef floating scale = <floating>(1.0 / (1.0 - rate))
    cdef int32_t threshold = keep_threshold(rate)
    if n_rows == 0 or units == 0:
        return
    if n_threads <= 1:
        with nogil:
            for i in range(n_rows):
                bias_relu_dropout_row(&z[i, 0], &b[0], units, positions[i], key, threshold,
                                      scale)
        return
    with nogil:
        for i in prange(n_rows, num_threads=n_threads, schedule="dynamic",
                        chunksize=blocks_per_grab(units)):
            bias_relu_dropout_row(&z[i, 0], &b[0], units, positions[i], key, threshold, scale)
