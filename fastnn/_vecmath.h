/*
 * Vectorisable elementwise maths for fastnn's kernels.
 *
 * libm's exp() is a scalar call with error handling, which stops gcc from
 * vectorising any loop that contains it.  The exp below is branch-free C that
 * gcc turns into SIMD code inside `#pragma omp simd` loops, and it keeps the
 * IEEE semantics the kernels promise: exp(-inf) == 0, exp(+inf) == inf,
 * exp(nan) is nan, results that underflow become subnormal or 0 with a
 * single rounding, results that overflow become inf.
 *
 * Method (Cody and Waite): x = n ln2 + r with |r| <= ln2 / 2, exp(r) by a
 * polynomial, 2^n built directly in the exponent bits.  2^n is applied as two
 * factors 2^(n/2) so that both are normal numbers even when the result is
 * subnormal or close to overflow; the first product is exact, so the result
 * is rounded once.
 *
 * Accuracy: the polynomial is Taylor's, truncated where its error is below
 * 0.05 ulp on |r| <= ln2 / 2 (degree 7 for float, 13 for double), and it is
 * evaluated as 1 + r + r^2 q(r) so the large terms are added last.  The
 * float version is checked against correctly rounded values over every
 * float32 input by benchmarks/exp_accuracy.py and by a dense sweep in the
 * tests.
 */
#ifndef FASTNN_VECMATH_H
#define FASTNN_VECMATH_H

/* The SIMD layer (simd_avx512.h, simd_avx2.h or simd_portable.h) is
 * included first, by the variant's .pyx: it is the only difference between
 * the three builds. */
#ifndef FASTNN_SIMD_LAYER_H
#error "include one of simd_avx512.h, simd_avx2.h, simd_portable.h before _vecmath.h"
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#define FNN_HAVE_OPENMP 1
#else
#define FNN_HAVE_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
#endif

/* `omp simd` needs only -fopenmp-simd, not the OpenMP runtime; compilers
 * that know neither ignore the pragma and still produce correct code. */
#define FNN_PRAGMA(x) _Pragma(#x)
#define FNN_SIMD FNN_PRAGMA(omp simd)
#define FNN_SIMD_SUM(var) FNN_PRAGMA(omp simd reduction(+:var))
#define FNN_SIMD_MAX(var) FNN_PRAGMA(omp simd reduction(max:var))

/* The elementwise span loops are called once per chunk of thousands of
 * elements: kept out of line, each is vectorised once in its own function
 * rather than again (or not) in every caller it would be inlined into. */
#if defined(__GNUC__) || defined(__clang__)
#define FNN_NOINLINE __attribute__((noinline))
#else
#define FNN_NOINLINE
#endif

/* The scalar maths (exp, log, log1p) must be inlined into the span loops,
 * or those loops cannot be vectorised: in a large translation unit gcc's
 * inlining budget can run out and leave a scalar call per element. */
#if defined(__GNUC__) || defined(__clang__)
#define FNN_MATH static inline __attribute__((always_inline))
#else
#define FNN_MATH static inline
#endif

static inline int fnn_have_openmp(void) { return FNN_HAVE_OPENMP; }

/* Keeps the compiler from carrying a value computed before it into an
 * expression after it through memory: a product stored before and a
 * subtraction after are then never fused into one FMA (one rounding
 * instead of two), which would make a result depend on the code path. */
#if defined(__GNUC__) || defined(__clang__)
static inline void fnn_compiler_barrier(void) { __asm__ __volatile__("" ::: "memory"); }
#elif defined(_MSC_VER)
#include <intrin.h>
static inline void fnn_compiler_barrier(void) { _ReadWriteBarrier(); }
#else
static inline void fnn_compiler_barrier(void) {}
#endif

/* OMP_THREAD_LIMIT: the most threads OpenMP will run for this process. */
static inline int fnn_openmp_thread_limit(void)
{
#ifdef _OPENMP
    return omp_get_thread_limit();
#else
    return 1;
#endif
}

/* Whether this CPU (and its OS) can run the AVX2+FMA build of the kernels. */
static inline int fnn_cpu_has_avx2_fma(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* Whether this CPU (and its OS) can run the AVX-512 build (F, BW, DQ, VL on
 * top of AVX2 and FMA). */
static inline int fnn_cpu_has_avx512(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return fnn_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f")
           && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
           && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/* exp(x) = (1 + t) * s1 * s2, the parts fnn_expf_nonpos and the sigmoid
 * assemble: t = exp(r) - 1 for the reduced argument |r| <= ln2 / 2, and
 * 2^n as two factors s1 s2 = 2^(n/2) 2^(n - n/2), both normal numbers even
 * when the result is subnormal or close to overflow.  Valid for
 * -104 <= x <= 88.8; outside, the parts are garbage, which the callers
 * replace (cheaper in a vector loop than clamping x first: gcc turns a
 * clamp that must let nan through into compare-and-mask sequences twice as
 * long).  nan poisons t. */
FNN_MATH void fnn_expf_parts(float x, float *t, float *s1, float *s2)
{
    /* Round x / ln2 to the nearest integer by adding 1.5 * 2^23: the integer
     * then sits in the low mantissa bits, with no float->int conversion
     * (undefined for nan). */
    const float shifter = 12582912.0f;
    float kf = x * 1.44269504088896341f + shifter;
    float n = kf - shifter;
    int32_t bits;
    memcpy(&bits, &kf, sizeof bits);
    /* Unsigned arithmetic: for nan or x out of range the bits are
     * arbitrary and must not overflow a signed int. */
    int32_t k = (int32_t)((uint32_t)bits - 0x4B400000u);
    /* ln2 split in a part with few mantissa bits (n * ln2_hi is exact) and
     * a correction. */
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float q = 1.98412698e-4f;              /* 1/5040 */
    q = q * r + 1.38888889e-3f;            /* 1/720 */
    q = q * r + 8.33333333e-3f;            /* 1/120 */
    q = q * r + 4.16666667e-2f;            /* 1/24 */
    q = q * r + 1.66666667e-1f;            /* 1/6 */
    q = q * r + 0.5f;
    *t = q * (r * r) + r;
    int32_t k1 = k >> 1;
    int32_t k2 = k - k1;
    uint32_t b1 = ((uint32_t)k1 + 127u) << 23;
    uint32_t b2 = ((uint32_t)k2 + 127u) << 23;
    memcpy(s1, &b1, sizeof *s1);
    memcpy(s2, &b2, sizeof *s2);
}

FNN_MATH void fnn_exp_parts(double x, double *t, double *s1, double *s2)
{
    const double shifter = 6755399441055744.0;   /* 1.5 * 2^52 */
    double kf = x * 1.4426950408889634074 + shifter;
    double n = kf - shifter;
    int64_t bits;
    memcpy(&bits, &kf, sizeof bits);
    int64_t k = (int64_t)((uint64_t)bits - UINT64_C(0x4338000000000000));
    /* fdlibm's split of ln2: the high part has 21 trailing zero bits. */
    double r = x - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    double q = 1.0 / 6227020800.0;         /* 1/13! */
    q = q * r + 1.0 / 479001600.0;
    q = q * r + 1.0 / 39916800.0;
    q = q * r + 1.0 / 3628800.0;
    q = q * r + 1.0 / 362880.0;
    q = q * r + 1.0 / 40320.0;
    q = q * r + 1.0 / 5040.0;
    q = q * r + 1.0 / 720.0;
    q = q * r + 1.0 / 120.0;
    q = q * r + 1.0 / 24.0;
    q = q * r + 1.0 / 6.0;
    q = q * r + 0.5;
    *t = q * (r * r) + r;
    int64_t k1 = k >> 1;
    int64_t k2 = k - k1;
    uint64_t b1 = ((uint64_t)k1 + 1023u) << 52;
    uint64_t b2 = ((uint64_t)k2 + 1023u) << 52;
    memcpy(s1, &b1, sizeof *s1);
    memcpy(s2, &b2, sizeof *s2);
}

/* exp(x) for x <= 88.8 or nan (the exp of a shifted softmax entry,
 * x - max <= 0, or of -|x|); fnn_expf takes any x.  The first product by
 * 2^(n/2) is exact, so the result is rounded once. */
FNN_MATH float fnn_expf_nonpos(float x)
{
    float t, s1, s2;
    fnn_expf_parts(x, &t, &s1, &s2);
    float e = ((t + 1.0f) * s1) * s2;
    return x < -104.0f ? 0.0f : e;
}

FNN_MATH float fnn_expf(float x)
{
    return x > 88.8f ? HUGE_VALF : fnn_expf_nonpos(x);
}

/* exp(x) for x <= 710 or nan, as fnn_expf_nonpos. */
FNN_MATH double fnn_exp_nonpos(double x)
{
    double t, s1, s2;
    fnn_exp_parts(x, &t, &s1, &s2);
    double e = ((t + 1.0) * s1) * s2;
    return x < -746.0 ? 0.0 : e;
}

FNN_MATH double fnn_exp(double x)
{
    return x > 710.0 ? HUGE_VAL : fnn_exp_nonpos(x);
}

/* Whether fmaf / fma compile to a fused multiply-add instruction: the
 * sigmoid's exact residual (in _spans.h) then takes one, and otherwise
 * Dekker's splitting, which must not be contracted into FMAs (libm's fma()
 * would be a slow call per element). */
#if defined(__FMA__) || defined(__AVX512F__) || defined(__FP_FAST_FMAF)
#define FNN_FAST_FMA_F32 1
#else
#define FNN_FAST_FMA_F32 0
#endif
#if defined(__FMA__) || defined(__AVX512F__) || defined(__FP_FAST_FMA)
#define FNN_FAST_FMA_F64 1
#else
#define FNN_FAST_FMA_F64 0
#endif

/* Natural logarithm for x > 0, branch-free and vectorisable, accurate to
 * about 1 ulp; nan and +inf are returned unchanged.  (The kernels only take
 * logs of sums of exponentials, which are >= 1 or nan.)
 *
 * x = 2^e m with m in [sqrt(1/2), sqrt(2)), and log m = 2 atanh(t) with
 * t = (m - 1) / (m + 1), |t| <= 0.1716, from its series
 * 2 (t + t^3/3 + t^5/5 + ...), truncated after t^23 (error below 1e-18). */
FNN_MATH double fnn_log(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    /* The biased exponent as a double without an int64 -> double conversion
     * (AVX2 has none, and a loop that needs one is not vectorised): placed
     * in the mantissa of 2^52, it is read off by subtracting 2^52. */
    uint64_t ebits = ((bits >> 52) & 0x7ff) | UINT64_C(0x4330000000000000);
    double biased;
    memcpy(&biased, &ebits, sizeof biased);
    uint64_t mbits = (bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000);
    double m;
    memcpy(&m, &mbits, sizeof m);
    int big = m > 1.4142135623730951;
    m = big ? 0.5 * m : m;
    double ef = (biased - 4503599627370496.0 - 1023.0) + (big ? 1.0 : 0.0);
    double t = (m - 1.0) / (m + 1.0);
    double t2 = t * t;
    double q = 1.0 / 23.0;
    q = q * t2 + 1.0 / 21.0;
    q = q * t2 + 1.0 / 19.0;
    q = q * t2 + 1.0 / 17.0;
    q = q * t2 + 1.0 / 15.0;
    q = q * t2 + 1.0 / 13.0;
    q = q * t2 + 1.0 / 11.0;
    q = q * t2 + 1.0 / 9.0;
    q = q * t2 + 1.0 / 7.0;
    q = q * t2 + 1.0 / 5.0;
    q = q * t2 + 1.0 / 3.0;
    double log_m = 2.0 * t + (2.0 * t) * (t2 * q);
    double r = ef * 6.93147180369123816490e-01 + (log_m + ef * 1.90821492927058770002e-10);
    return x < HUGE_VAL ? r : x;
}

/* log(1 + x) for x >= -0.5, accurate to a few ulp even where 1 + x rounds
 * to 1.  With u = 1 + x rounded, log1p(x) = log(u) * x / (u - 1): the
 * factor x / (u - 1) corrects for the rounding of u (Goldberg, "What every
 * computer scientist should know about floating-point arithmetic", 1991,
 * Theorem 4).  Where u == 1, log1p(x) = x to within x^2 / 2.  nan and +inf
 * are returned unchanged.
 *
 * The kernels take log1p of the sum of exponentials less one, so that the
 * log-sum-exp of a row whose largest entry dominates keeps the small terms
 * that log(1 + tiny) would round away (Blanchard, Higham and Higham,
 * "Accurately computing the log-sum-exp and softmax functions", IMA J.
 * Numer. Anal. 41, 2021). */
FNN_MATH double fnn_log1p(double x)
{
    double u = 1.0 + x;
    double r = fnn_log(u) * (x / (u - 1.0));
    r = u == 1.0 ? x : r;
    return u < HUGE_VAL ? r : u;
}

FNN_NOINLINE static void fnn_log_span(const double *x, double *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = fnn_log(x[j]);
}

FNN_NOINLINE static void fnn_log1p_span(const double *x, double *out, ptrdiff_t n)
{
    FNN_SIMD
    for (ptrdiff_t j = 0; j < n; j++)
        out[j] = fnn_log1p(x[j]);
}

/* Streaming (non-temporal) stores for outputs too large to stay in cache:
 * a normal store first reads the destination line into cache (read for
 * ownership), a streaming store does not, which saves a third of the memory
 * traffic of a softmax over a large array.  dst[j] = src[j] * factor gives
 * bit for bit the result of the in-place scaling it replaces.  Call
 * fnn_store_fence() once the streamed rows are written. */
#if defined(__SSE2__) || defined(_M_X64)
#include <immintrin.h>
static inline void fnn_store_fence(void) { _mm_sfence(); }
#else
static inline void fnn_store_fence(void) {}
#endif

/* Widest block of columns the column kernels handle at once, and the
 * longest row the short-row (transposed block) kernels take. */
#define FNN_MAX_COLS 64
#define FNN_SHORT_ROW 16

/* What the column kernels write: the softmax, the log-softmax, the
 * unnormalised exp(x - max) together with each column's max and sum (the
 * cross-entropy finishes those itself), or only each column's max and sum
 * (the log-sum-exp). */
enum { FNN_SOFTMAX = 0, FNN_LOG_SOFTMAX = 1, FNN_EXP_SHIFTED = 2, FNN_MAX_SUM = 3 };

/* Span loops, instantiated once per element type. */
#define FNN_T float
#define FNN_SUF f32
#define FNN_EXP fnn_expf
#define FNN_EXP_NONPOS fnn_expf_nonpos
#define FNN_EXP_PARTS fnn_expf_parts
#define FNN_EXP_LO -104.0f
#define FNN_FMA fmaf
#define FNN_FAST_FMA FNN_FAST_FMA_F32
#define FNN_SPLIT 4097.0f                   /* 2^12 + 1 */
#define FNN_IS_F32 1
#include "_simd_math.h"
#include "_spans.h"
#undef FNN_IS_F32
#undef FNN_T
#undef FNN_SUF
#undef FNN_EXP
#undef FNN_EXP_NONPOS
#undef FNN_EXP_PARTS
#undef FNN_EXP_LO
#undef FNN_FMA
#undef FNN_FAST_FMA
#undef FNN_SPLIT

#define FNN_T double
#define FNN_SUF f64
#define FNN_EXP fnn_exp
#define FNN_EXP_NONPOS fnn_exp_nonpos
#define FNN_EXP_PARTS fnn_exp_parts
#define FNN_EXP_LO -746.0
#define FNN_FMA fma
#define FNN_FAST_FMA FNN_FAST_FMA_F64
#define FNN_SPLIT 134217729.0               /* 2^27 + 1 */
#define FNN_IS_F32 0
#include "_simd_math.h"
#include "_spans.h"
#undef FNN_IS_F32
#undef FNN_T
#undef FNN_SUF
#undef FNN_EXP
#undef FNN_EXP_NONPOS
#undef FNN_EXP_PARTS
#undef FNN_EXP_LO
#undef FNN_FMA
#undef FNN_FAST_FMA
#undef FNN_SPLIT

#endif /* FASTNN_VECMATH_H */
