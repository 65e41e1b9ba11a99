/*
 * Loops over one contiguous span of elements, written once and instantiated
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

/* Sum of y[0..n) less one, in double, for the exponentials exp(x - max) of
 * a row: each entry equal to 1 (the maximum, or a tie with it) is counted
 * apart and never added to the small ones, so that when one entry dominates
 * the result keeps every bit of the others (log1p of it is then accurate
 * where log(1 + tiny) would give 0).  A nan entry makes the result nan. */
static inline double FNN_FN(fnn_sum_less_one)(const FNN_T *y, ptrdiff_t n)
{
    double acc[FNN_LANES] = {0.0};
    double ones[FNN_LANES] = {0.0};
    ptrdiff_t j = 0;
    for (; j + FNN_LANES <= n; j += FNN_LANES) {
        FNN_SIMD
        for (int l = 0; l < FNN_LANES; l++) {
            FNN_T one = y[j + l] == (FNN_T)1 ? (FNN_T)1 : (FNN_T)0;
            acc[l] += y[j + l] - one;
            ones[l] += one;
        }
    }
    double s = 0.0, count = 0.0;
    for (; j < n; j++) {
        FNN_T one = y[j] == (FNN_T)1 ? (FNN_T)1 : (FNN_T)0;
        s += y[j] - one;
        count += one;
    }
    for (int l = 0; l < FNN_LANES; l++) {
        s += acc[l];
        count += ones[l];
    }
    return (count - 1.0) + s;
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

/* out[j] = exp(x[j] - shift); returns the sum of out.  out may be x.
 * Summing in a second pass over out (still in cache) is faster than
 * converting to double inside the exp loop. */
static inline double FNN_FN(fnn_exp_store_sum)(const FNN_T *x, FNN_T shift, FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = FNN_EXP_NONPOS(x[j] - shift);
    return FNN_FN(fnn_sum)(out, n);
}

/* out[j] = exp(x[j] - max); returns the sum of out less one, as
 * fnn_sum_less_one (shift must be the maximum of x).  out may be x.
 *
 * The plain sum is taken first, with a rounding error below n 2^-53 of
 * itself (the careful sum's bound relative to its excess over one).  When
 * the sum is at least FNN_PLAIN_SUM_RATIO times its excess over one,
 * subtracting the one costs at most that factor in relative accuracy: in
 * double, a factor 2 on the careful bound; in float, 1024 n 2^-53, below a
 * float ulp (2^-24) for rows of up to 2^19 entries.  A row dominated by its
 * maximum (sum close to 1) is summed again with the ones counted apart.
 * The plain sum needs half the operations of the careful one. */
#define FNN_PLAIN_SUM_RATIO (sizeof(FNN_T) == 4 ? 1024.0 : 2.0)
static inline double FNN_FN(fnn_exp_store_sum_less_one)(const FNN_T *x, FNN_T shift, FNN_T *out,
                                                        ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = FNN_EXP_NONPOS(x[j] - shift);
    double s = FNN_FN(fnn_sum)(out, n);
    /* False for a nan sum, which the careful sum returns as nan too. */
    if ((s - 1.0) * FNN_PLAIN_SUM_RATIO >= s)
        return s - 1.0;
    return FNN_FN(fnn_sum_less_one)(out, n);
}

/* Sum of exp(x[j] - max) less one, without storing, as fnn_sum_less_one
 * (shift must be the maximum of x).  Partial sums of FNN_FLUSH_EVERY
 * elements per lane are kept in FNN_T, then moved to double, which bounds
 * their rounding error to about 16 ulp of FNN_T; the exponentials equal to 1
 * are counted apart, exactly. */
#define FNN_FLUSH_EVERY 16
#define FNN_EXP_LANES 16
static inline double FNN_FN(fnn_exp_sum_less_one)(const FNN_T *x, FNN_T shift, ptrdiff_t n)
{
    double total[FNN_EXP_LANES] = {0.0};
    double total_ones[FNN_EXP_LANES] = {0.0};
    ptrdiff_t j = 0;
    const ptrdiff_t block = FNN_EXP_LANES * FNN_FLUSH_EVERY;
    for (; j + block <= n; j += block) {
        FNN_T acc[FNN_EXP_LANES] = {0};
        FNN_T ones[FNN_EXP_LANES] = {0};
        for (ptrdiff_t b = 0; b < block; b += FNN_EXP_LANES) {
            FNN_SIMD
            for (int l = 0; l < FNN_EXP_LANES; l++) {
                FNN_T e = FNN_EXP_NONPOS(x[j + b + l] - shift);
                FNN_T one = e == (FNN_T)1 ? (FNN_T)1 : (FNN_T)0;
                acc[l] += e - one;
                ones[l] += one;
            }
        }
        for (int l = 0; l < FNN_EXP_LANES; l++) {
            total[l] += acc[l];
            total_ones[l] += ones[l];
        }
    }
    double s = 0.0, count = 0.0;
    FNN_PRAGMA(omp simd reduction(+:s, count))
    for (ptrdiff_t t = j; t < n; t++) {
        FNN_T e = FNN_EXP_NONPOS(x[t] - shift);
        FNN_T one = e == (FNN_T)1 ? (FNN_T)1 : (FNN_T)0;
        s += e - one;
        count += one;
    }
    for (int l = 0; l < FNN_EXP_LANES; l++) {
        s += total[l];
        count += total_ones[l];
    }
    return (count - 1.0) + s;
}

/* y[j] *= factor */
static inline void FNN_FN(fnn_scale)(FNN_T *y, FNN_T factor, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        y[j] *= factor;
}

/* out[j] = (x[j] - shift) - log_sum.  Subtracting the shift first keeps
 * the error at the size of the result: m + log_sum, rounded at the
 * magnitude of a large m, would lose the low bits of log_sum.  out may be x. */
static inline void FNN_FN(fnn_log_softmax_finish)(const FNN_T *x, FNN_T shift, FNN_T log_sum,
                                                  FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = (x[j] - shift) - log_sum;
}

FNN_NOINLINE static void FNN_FN(fnn_exp_span)(const FNN_T *x, FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = FNN_EXP(x[j]);
}

/* The logistic function through exp(-|x|), which never overflows:
 * 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0. */
/* num - y * d exactly, for y = num / d rounded (so that num - y d is
 * representable): one FMA, or Dekker's exact product with Veltkamp's
 * splitting where the FMA is not an instruction (see FNN_FAST_FMA_F32). */
FNN_MATH FNN_T FNN_FN(fnn_exact_residual)(FNN_T num, FNN_T y, FNN_T d)
{
#if FNN_FAST_FMA
    return FNN_FMA(-y, d, num);
#else
    FNN_T cy = FNN_SPLIT * y, cd = FNN_SPLIT * d;
    FNN_T y_hi = cy - (cy - y), y_lo = y - y_hi;
    FNN_T d_hi = cd - (cd - d), d_lo = d - d_hi;
    FNN_T prod = y * d;
    FNN_T prod_err = ((y_hi * d_hi - prod) + y_hi * d_lo + y_lo * d_hi) + y_lo * d_lo;
    return (num - prod) - prod_err;
#endif
}

/* The logistic function through e = exp(-|x|) <= 1, which never
 * overflows: 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0.  Rounded
 * naively, e's last rounding, 1 + e and the division add up to 3 ulp in
 * float and 2 in double.  Here each of them is corrected by its exact
 * error term, so what remains is the reduced argument's rounding, the
 * polynomial's and the final rounding: within 1 ulp of the correctly
 * rounded result (every float32 input, and a dense and a random float64
 * sweep, in benchmarks/exp_accuracy.py).  e = (p + p_lo) s1 s2 from the
 * exp's parts, 0 below the exp's range. */
FNN_MATH FNN_T FNN_FN(fnn_sigmoid)(FNN_T v)
{
    FNN_T a = v < 0 ? v : -v;
    FNN_T t, s1, s2;
    FNN_EXP_PARTS(a, &t, &s1, &s2);
    FNN_T p = t + (FNN_T)1;
    FNN_T p_lo = ((FNN_T)1 - p) + t;         /* exact: |t| < 1 */
    FNN_T e = (p * s1) * s2;
    FNN_T e_lo = (p_lo * s1) * s2;
    e = a < FNN_EXP_LO ? (FNN_T)0 : e;
    e_lo = a < FNN_EXP_LO ? (FNN_T)0 : e_lo;
    FNN_T d = (FNN_T)1 + e;
    FNN_T d_lo = ((FNN_T)1 - d) + e;         /* exact: e <= 1 */
    FNN_T num = v < 0 ? e : (FNN_T)1;
    FNN_T num_lo = v < 0 ? e_lo : (FNN_T)0;
    FNN_T y = num / d;
    /* num + num_lo - y (d + d_lo + e_lo), with num - y d exact, divided by
     * d: the correction is a few ulp of y, so 1 / d needs only a few bits,
     * and it is y itself or 1 - y (1/(1+e) = 1 - e/(1+e)), which saves a
     * second division. */
    FNN_T residual = FNN_FN(fnn_exact_residual)(num, y, d) + (num_lo - y * (d_lo + e_lo));
    FNN_T inv_d = v < 0 ? (FNN_T)1 - y : y;
    return y + residual * inv_d;
}

FNN_NOINLINE static void FNN_FN(fnn_sigmoid_span)(const FNN_T *x, FNN_T *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = FNN_FN(fnn_sigmoid)(x[j]);
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
 * less one (see fnn_sum_less_one).  FNN_MAX_SUM writes only those two, and
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
        for (ptrdiff_t k = 0; k < K; k++) {
            const FNN_T *row = x + k * stride;
            FNN_T *orow = out + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++) {
                FNN_T e = FNN_EXP_NONPOS(row[c] - m[c]);
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
    } else if (mode == FNN_EXP_SHIFTED) {
        /* Sums less one, for the log-sum-exp (see fnn_sum_less_one). */
        for (ptrdiff_t k = 0; k < K; k++) {
            const FNN_T *row = x + k * stride;
            FNN_T *orow = out + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++) {
                FNN_T e = FNN_EXP_NONPOS(row[c] - m[c]);
                FNN_T one = e == (FNN_T)1 ? (FNN_T)1 : (FNN_T)0;
                orow[c] = e;
                s[c] += e - one;
                ones[c] += one;
            }
        }
        for (ptrdiff_t c = 0; c < w; c++) {
            max_out[c] = m[c];
            sum_out[c] = (ones[c] - 1.0) + s[c];
        }
    } else {
        /* The log-softmax, or the statistics alone: sums less one. */
        for (ptrdiff_t k = 0; k < K; k++) {
            const FNN_T *row = x + k * stride;
            FNN_SIMD
            for (ptrdiff_t c = 0; c < w; c++) {
                FNN_T e = FNN_EXP_NONPOS(row[c] - m[c]);
                FNN_T one = e == (FNN_T)1 ? (FNN_T)1 : (FNN_T)0;
                s[c] += e - one;
                ones[c] += one;
            }
        }
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
static inline void FNN_FN(fnn_softmax_short_rows)(const FNN_T *x, FNN_T *out, ptrdiff_t rows,
                                                  ptrdiff_t C, int mode, FNN_T *max_out,
                                                  double *sum_out)
{
    FNN_T block[FNN_SHORT_ROW * FNN_MAX_COLS];
    for (ptrdiff_t i = 0; i < rows; i++)
        for (ptrdiff_t c = 0; c < C; c++)
            block[c * rows + i] = x[i * C + c];
    FNN_FN(fnn_softmax_columns)(block, block, C, rows, rows, mode, max_out, sum_out);
    if (mode == FNN_MAX_SUM)
        return;
    for (ptrdiff_t i = 0; i < rows; i++)
        for (ptrdiff_t c = 0; c < C; c++)
            out[i * C + c] = block[c * rows + i];
}

#undef FNN_FN
#undef FNN_CAT
#undef FNN_CAT_
