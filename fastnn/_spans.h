/*
 * Loops over one contiguous span of elements, written once and instantiated
 * for float and double by _vecmath.h (FNN_T is the element type, FNN_SUF the
 * name suffix, FNN_EXP the matching exp).  Every loop is branch-free so that
 * gcc vectorises it under `omp simd`; the Cython kernels compose these into
 * row and column kernels.
 *
 * Sums are accumulated in double for both element types: a float
 * accumulator loses about log2(n) bits on a 50,000-wide row.
 */
#include <stddef.h>

#define FNN_CAT_(a, b) a##_##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)
#define FNN_FN(name) FNN_CAT(name, FNN_SUF)

/* Widest block of columns the column kernels handle at once. */
#ifndef FNN_MAX_COLS
#define FNN_MAX_COLS 64
#endif

/* Largest of x[0..n), n >= 1.  nan may or may not win here; the exp pass
 * that follows turns any nan of the span into a nan sum either way. */
static inline FNN_T FNN_FN(fnn_max)(const FNN_T *x, ptrdiff_t n)
{
    FNN_T m = x[0];
    FNN_SIMD_MAX(m)
    for (ptrdiff_t j = 1; j < n; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

/* out[j] = exp(x[j] - shift); returns the sum of out.  out may be x. */
static inline double FNN_FN(fnn_exp_store_sum)(const FNN_T *x, FNN_T shift, FNN_T *out, ptrdiff_t n)
{
    double s = 0.0;
    FNN_SIMD_SUM(s)
    for (ptrdiff_t j = 0; j < n; j++) {
        FNN_T e = FNN_EXP(x[j] - shift);
        out[j] = e;
        s += e;
    }
    return s;
}

/* Sum of exp(x[j] - shift). */
static inline double FNN_FN(fnn_exp_sum)(const FNN_T *x, FNN_T shift, ptrdiff_t n)
{
    double s = 0.0;
    FNN_SIMD_SUM(s)
    for (ptrdiff_t j = 0; j < n; j++)
        s += FNN_EXP(x[j] - shift);
    return s;
}

/* y[j] *= factor */
static inline void FNN_FN(fnn_scale)(FNN_T *y, FNN_T factor, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        y[j] *= factor;
}

/* out[j] = x[j] - c.  out may be x. */
static inline void FNN_FN(fnn_subtract)(const FNN_T *x, FNN_T c, FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = x[j] - c;
}

static inline void FNN_FN(fnn_exp_span)(const FNN_T *x, FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = FNN_EXP(x[j]);
}

/* The logistic function through exp(-|x|), which never overflows:
 * 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0. */
static inline void FNN_FN(fnn_sigmoid_span)(const FNN_T *x, FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++) {
        FNN_T v = x[j];
        FNN_T minus_abs = v < 0 ? v : -v;
        FNN_T e = FNN_EXP(minus_abs);
        FNN_T r = (FNN_T)1 / ((FNN_T)1 + e);
        out[j] = v < 0 ? e * r : r;
    }
}

static inline void FNN_FN(fnn_sigmoid_grad_span)(const FNN_T *s, FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = s[j] * ((FNN_T)1 - s[j]);
}

static inline void FNN_FN(fnn_sigmoid_backward_span)(const FNN_T *grad, const FNN_T *s, FNN_T *out,
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

/* Softmax (or log-softmax) over k of the columns x[k * stride + c], c < w,
 * for a block of w <= FNN_MAX_COLS adjacent columns: the reduction runs down
 * the strided axis while the vector lanes run along the contiguous one, so a
 * non-last axis needs no transposed copy. */
static inline void FNN_FN(fnn_softmax_columns)(const FNN_T *x, FNN_T *out, ptrdiff_t K,
                                               ptrdiff_t stride, ptrdiff_t w, int log_output)
{
    FNN_T m[FNN_MAX_COLS];
    double s[FNN_MAX_COLS];
    FNN_T factor[FNN_MAX_COLS];
    for (ptrdiff_t c = 0; c < w; c++) {
        m[c] = x[c];
        s[c] = 0.0;
    }
    for (ptrdiff_t k = 1; k < K; k++) {
        const FNN_T *row = x + k * stride;
        FNN_SIMD
        for (ptrdiff_t c = 0; c < w; c++)
            m[c] = row[c] > m[c] ? row[c] : m[c];
    }
    if (!log_output) {
        for (ptrdiff_t k = 0; k < K; k++) {
            const FNN_T *row = x + k * stride;
            FNN_T *orow = out + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++) {
                FNN_T e = FNN_EXP(row[c] - m[c]);
                orow[c] = e;
                s[c] += e;
            }
        }
        for (ptrdiff_t c = 0; c < w; c++)
            factor[c] = (FNN_T)(1.0 / s[c]);
        for (ptrdiff_t k = 0; k < K; k++) {
            FNN_T *orow = out + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++)
                orow[c] *= factor[c];
        }
    } else {
        for (ptrdiff_t k = 0; k < K; k++) {
            const FNN_T *row = x + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++)
                s[c] += FNN_EXP(row[c] - m[c]);
        }
        for (ptrdiff_t c = 0; c < w; c++)
            factor[c] = (FNN_T)((double)m[c] + log(s[c]));
        for (ptrdiff_t k = 0; k < K; k++) {
            const FNN_T *row = x + k * stride;
            FNN_T *orow = out + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++)
                orow[c] = row[c] - factor[c];
        }
    }
}

#undef FNN_FN
#undef FNN_CAT
#undef FNN_CAT_
