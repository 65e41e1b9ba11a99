/*
 * Loops over one contiguous span of elements that the compiler vectorises
 * under `omp simd` (the exp, the sigmoid and the softmax row passes are
 * written against the SIMD layer, in _simd_math.h), instantiated
 * for float and double by _vecmath.h (FNN_T is the element type, FNN_SUF the
 * name suffix, FNN_EXP the matching exp).  Every loop is branch-free so that
 * gcc vectorises it under `omp simd`; the Cython kernels compose these into
 * row and column kernels.  FNN_EXP_NONPOS is the exp for arguments <= 0
 * (or nan): x - max, and -|x|.
 *
 * Sums are accumulated in double for both element types: a float
 * accumulator loses about log2(n) bits on a 50,000-wide row.
 */
#include <stddef.h>

#define FNN_CAT_(a, b) a##_##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)
#define FNN_FN(name) FNN_CAT(name, FNN_SUF)


/* Sum of y[0..n) in double.  FNN_LANES independent accumulators hide the
 * latency of the vector adds: four chains of AVX2 adds (three with
 * AVX-512) keep both add ports busy, where two left the loop waiting on
 * add latency (a tenth of a float32 softmax's time on 1000-wide rows). */
#define FNN_LANES 16
static inline double FNN_FN(fnn_sum)(const FNN_T *y, ptrdiff_t n)
{
    double acc[FNN_LANES] = {0.0};
    ptrdiff_t j = 0;
    for (; j + FNN_LANES <= n; j += FNN_LANES) {
        FNN_SIMD
        for (int l = 0; l < FNN_LANES; l++)
            acc[l] += y[j + l];
    }
    double s = 0.0;
    for (; j < n; j++)
        s += y[j];
    for (int l = 0; l < FNN_LANES; l++)
        s += acc[l];
    return s;
}

/* The maximum as np.max gives it, for a span of n entries x[k * stride]
 * whose sum of exps less one came out nan: nan when the span holds a nan
 * (which fnn_max and the column kernel's max may pass over), else m, then
 * +inf or, for a span of only -inf, -inf.  A scalar loop, run only for such
 * spans. */
static inline FNN_T FNN_FN(fnn_nan_max)(const FNN_T *x, ptrdiff_t n, ptrdiff_t stride, FNN_T m)
{
    for (ptrdiff_t k = 0; k < n; k++)
        if (x[k * stride] != x[k * stride])
            return x[k * stride];
    return m;
}

FNN_NOINLINE static void FNN_FN(fnn_sigmoid_grad_span)(const FNN_T *s, FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = s[j] * ((FNN_T)1 - s[j]);
}

FNN_NOINLINE static void FNN_FN(fnn_sigmoid_backward_span)(const FNN_T *grad, const FNN_T *s, FNN_T *out,
                                                     ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = grad[j] * (s[j] * ((FNN_T)1 - s[j]));
}

/* Sum of w[j] * (z[j] - shift), where a zero weight contributes exactly 0
 * even against a -inf logit (0 * -inf would be nan). */
static inline double FNN_FN(fnn_weighted_shifted_sum)(const FNN_T *z, FNN_T shift, const FNN_T *w,
                                                      ptrdiff_t n)
{
    double s = 0.0;
    FNN_SIMD_SUM(s)
    for (ptrdiff_t j = 0; j < n; j++)
        s += w[j] != 0 ? (double)w[j] * (double)(z[j] - shift) : 0.0;
    return s;
}

/* Soft-target coefficients q[j] = w[j] * (t[j] * keep + spread): accumulates
 * sum(q) into *q_sum and sum(q * (z - shift)) into *qz_sum. */
static inline void FNN_FN(fnn_soft_target_sums)(const FNN_T *z, FNN_T shift, const FNN_T *t,
                                                const FNN_T *w, FNN_T keep, FNN_T spread,
                                                ptrdiff_t n, double *q_sum, double *qz_sum)
{
    double qs = 0.0, qzs = 0.0;
    FNN_PRAGMA(omp simd reduction(+:qs, qzs))
    for (ptrdiff_t j = 0; j < n; j++) {
        double q = (double)(w[j] * (t[j] * keep + spread));
        qs += q;
        qzs += q != 0.0 ? q * (double)(z[j] - shift) : 0.0;
    }
    *q_sum = qs;
    *qz_sum = qzs;
}

/* grad[j] = e[j] * a - b * w[j] (e is stored in grad already). */
static inline void FNN_FN(fnn_scale_minus_weight)(FNN_T *grad, FNN_T a, FNN_T b, const FNN_T *w,
                                                  ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        grad[j] = grad[j] * a - b * w[j];
}

/* grad[j] = e[j] * a - b * q[j], recomputing the soft-target coefficients. */
static inline void FNN_FN(fnn_soft_target_grad)(FNN_T *grad, FNN_T a, FNN_T b, const FNN_T *t,
                                                const FNN_T *w, FNN_T keep, FNN_T spread,
                                                ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        grad[j] = grad[j] * a - b * (w[j] * (t[j] * keep + spread));
}

/* Binary cross-entropy with logits, elementwise, PyTorch's
 * binary_cross_entropy_with_logits: with e = exp(-|z|) <= 1,
 *   loss = w * (pw * t * softplus(-z) + (1 - t) * softplus(z)),
 *   softplus(+-z) = max(+-z, 0) + log1p(e),
 *   grad = scale * w * ((1 - t) * sigmoid(z) - pw * t * sigmoid(-z)),
 * where sigmoid(|z|) = 1 / (1 + e) and sigmoid(-|z|) = e / (1 + e).  Every
 * term is non-negative for t in [0, 1], so nothing cancels and nothing
 * overflows.  w and pw may be NULL (ones), loss may be NULL (not stored);
 * each case is compiled as its own loop (the flags are constants after
 * inlining).  Returns the sum of the losses, in double. */
FNN_MATH double FNN_FN(fnn_bce_core)(
    const FNN_T *z, const FNN_T *t, const FNN_T *w, const FNN_T *pw, FNN_T scale, FNN_T *grad,
    FNN_T *loss, ptrdiff_t n, const int has_w, const int has_pw, const int store_loss)
{
    double total = 0.0;
    FNN_SIMD_SUM(total)
    for (ptrdiff_t j = 0; j < n; j++) {
        FNN_T v = z[j];
        FNN_T minus_abs = v < 0 ? v : -v;
        FNN_T e = FNN_EXP_NONPOS(minus_abs);
        FNN_T r = (FNN_T)1 / ((FNN_T)1 + e);
        FNN_T s_pos = v < 0 ? e * r : r;      /* sigmoid(z) */
        FNN_T s_neg = v < 0 ? r : e * r;      /* sigmoid(-z) = 1 - sigmoid(z), exactly */
        FNN_T log_term = (FNN_T)fnn_log1p((double)e);
        FNN_T plus = v > 0 ? v : (FNN_T)0;
        FNN_T minus = v < 0 ? -v : (FNN_T)0;
        FNN_T tj = t[j];
        FNN_T wj = has_w ? w[j] : (FNN_T)1;
        FNN_T pos = has_pw ? pw[j] * tj : tj;
        FNN_T neg = (FNN_T)1 - tj;
        FNN_T lj = wj * (pos * (minus + log_term) + neg * (plus + log_term));
        grad[j] = (scale * wj) * (neg * s_pos - pos * s_neg);
        if (store_loss)
            loss[j] = lj;
        total += (double)lj;
    }
    return total;
}

FNN_NOINLINE static double FNN_FN(fnn_bce_span)(const FNN_T *z, const FNN_T *t, const FNN_T *w,
                                                const FNN_T *pw, FNN_T scale, FNN_T *grad,
                                                FNN_T *loss, ptrdiff_t n)
{
    switch ((w != NULL) | (pw != NULL) << 1 | (loss != NULL) << 2) {
    case 0: return FNN_FN(fnn_bce_core)(z, t, w, pw, scale, grad, loss, n, 0, 0, 0);
    case 1: return FNN_FN(fnn_bce_core)(z, t, w, pw, scale, grad, loss, n, 1, 0, 0);
    case 2: return FNN_FN(fnn_bce_core)(z, t, w, pw, scale, grad, loss, n, 0, 1, 0);
    case 3: return FNN_FN(fnn_bce_core)(z, t, w, pw, scale, grad, loss, n, 1, 1, 0);
    case 4: return FNN_FN(fnn_bce_core)(z, t, w, pw, scale, grad, loss, n, 0, 0, 1);
    case 5: return FNN_FN(fnn_bce_core)(z, t, w, pw, scale, grad, loss, n, 1, 0, 1);
    case 6: return FNN_FN(fnn_bce_core)(z, t, w, pw, scale, grad, loss, n, 0, 1, 1);
    default: return FNN_FN(fnn_bce_core)(z, t, w, pw, scale, grad, loss, n, 1, 1, 1);
    }
}

/* Softmax over k of the columns x[k * stride + c], c < w, for a block of
 * w <= FNN_MAX_COLS adjacent columns: the reduction runs down the strided
 * axis while the vector lanes run along the contiguous one, so a non-last
 * axis needs no transposed copy.  out may be x.  For FNN_EXP_SHIFTED,
 * max_out[c] and sum_out[c] receive each column's max and its sum of exps
 * less one (see fnn_careful_pass in _simd_math.h).  FNN_MAX_SUM writes only those two, and
 * not out (which may be NULL); its max is np.max's, nan for a column that
 * holds a nan (see fnn_nan_max), and a nan sum is always the same nan. */
static inline void FNN_FN(fnn_softmax_columns)(const FNN_T *x, FNN_T *out, ptrdiff_t K,
                                               ptrdiff_t stride, ptrdiff_t w, int mode,
                                               FNN_T *max_out, double *sum_out)
{
    FNN_T m[FNN_MAX_COLS];
    double s[FNN_MAX_COLS];
    double ones[FNN_MAX_COLS];
    FNN_T factor[FNN_MAX_COLS];
    for (ptrdiff_t c = 0; c < w; c++) {
        m[c] = x[c];
        s[c] = 0.0;
        ones[c] = 0.0;
    }
    for (ptrdiff_t k = 1; k < K; k++) {
        const FNN_T *row = x + k * stride;
        FNN_SIMD
        for (ptrdiff_t c = 0; c < w; c++)
            m[c] = row[c] > m[c] ? row[c] : m[c];
    }
    if (mode == FNN_SOFTMAX) {
        for (ptrdiff_t k = 0; k < K; k++)
            FNN_FN(fnn_exp_columns_row)(x + k * stride, m, out + k * stride, s, NULL, w);
        for (ptrdiff_t c = 0; c < w; c++)
            factor[c] = (FNN_T)(1.0 / s[c]);
        for (ptrdiff_t k = 0; k < K; k++) {
            FNN_T *orow = out + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++)
                orow[c] *= factor[c];
        }
    } else if (mode == FNN_EXP_SHIFTED) {
        /* Sums less one, for the log-sum-exp (see fnn_careful_pass in _simd_math.h). */
        for (ptrdiff_t k = 0; k < K; k++)
            FNN_FN(fnn_exp_columns_row)(x + k * stride, m, out + k * stride, s, ones, w);
        for (ptrdiff_t c = 0; c < w; c++) {
            max_out[c] = m[c];
            sum_out[c] = (ones[c] - 1.0) + s[c];
        }
    } else {
        /* The log-softmax, or the statistics alone: sums less one. */
        for (ptrdiff_t k = 0; k < K; k++)
            FNN_FN(fnn_exp_columns_row)(x + k * stride, m, NULL, s, ones, w);
        if (mode == FNN_MAX_SUM) {
            for (ptrdiff_t c = 0; c < w; c++) {
                double sum = (ones[c] - 1.0) + s[c];
                max_out[c] = sum == sum ? m[c] : FNN_FN(fnn_nan_max)(x + c, K, stride, m[c]);
                /* One nan for every such column: the sign a nan sum picks up
                 * depends on the order of the additions, which differs
                 * between vectorised builds of the same loop. */
                sum_out[c] = sum == sum ? sum : (double)NAN;
            }
            return;
        }
        FNN_SIMD
        for (ptrdiff_t c = 0; c < w; c++)
            factor[c] = (FNN_T)fnn_log1p((ones[c] - 1.0) + s[c]);
        for (ptrdiff_t k = 0; k < K; k++) {
            const FNN_T *row = x + k * stride;
            FNN_T *orow = out + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++)
                orow[c] = (row[c] - m[c]) - factor[c];
        }
    }
}

/* The column kernel applied to `rows` <= FNN_MAX_COLS short rows of
 * length C <= FNN_SHORT_ROW: a row of 10 classes fills barely one vector,
 * so the block is transposed into a scratch buffer where the vector lanes
 * run across rows instead.  out may be x; with FNN_MAX_SUM it is not
 * written (and may be NULL). */
/* gcc cannot see that the column pass reads only the rows x C entries the
 * transpose has just written (its loop bounds are the same rows and C), and
 * warns that block "may be used uninitialized"; clearing the whole buffer
 * to silence it would cost a pass over it for every few rows. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
static inline void FNN_FN(fnn_softmax_short_rows)(const FNN_T *x, FNN_T *out, ptrdiff_t rows,
                                                  ptrdiff_t C, int mode, FNN_T *max_out,
                                                  double *sum_out)
{
    FNN_T block[FNN_SHORT_ROW * FNN_MAX_COLS];
    /* Rows innermost on the way in: the vector lanes run over the rows with a
     * stride-C gather, where columns innermost moved one element at a time.
     * The way out keeps columns innermost: a scatter (none below AVX-512,
     * and slow there) measured slower than the short contiguous stores. */
    for (ptrdiff_t c = 0; c < C; c++) {
        FNN_SIMD
        for (ptrdiff_t i = 0; i < rows; i++)
            block[c * rows + i] = x[i * C + c];
    }
    FNN_FN(fnn_softmax_columns)(block, block, C, rows, rows, mode, max_out, sum_out);
    if (mode == FNN_MAX_SUM)
        return;
    for (ptrdiff_t i = 0; i < rows; i++)
        for (ptrdiff_t c = 0; c < C; c++)
            out[i * C + c] = block[c * rows + i];
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#undef FNN_FN
#undef FNN_CAT
#undef FNN_CAT_
