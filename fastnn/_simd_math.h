/*
 * The exp, the sigmoid and the softmax row passes, written once against the
 * SIMD layer (simd_avx512.h, simd_avx2.h or simd_portable.h: the variant's
 * .pyx chooses) and instantiated for float and double by _vecmath.h (FNN_T
 * the element type, FNN_SUF its suffix, FNN_IS_F32).  Nothing here names an
 * instruction set.
 *
 * Sums are accumulated in double for both element types: a float
 * accumulator loses about log2(n) bits on a 50,000-wide row.  Every pass
 * runs whole vectors from the row's start and then its tail (a partial
 * vector, or element by element with the same operations), so a row is
 * computed the same way wherever it starts and whatever its output is.
 */
#define FNN_VCAT_(op, suf) fnn_v_##op##_##suf
#define FNN_VCAT(op, suf) FNN_VCAT_(op, suf)
#define FNN_V(op) FNN_VCAT(op, FNN_SUF)          /* a layer operation */
#define FNN_VTYPE_(suf) fnn_v_##suf
#define FNN_VTYPE(suf) FNN_VTYPE_(suf)
#define VT FNN_VTYPE(FNN_SUF)                    /* the vector of FNN_T */
#define FNN_MTYPE_(suf) fnn_m_##suf
#define FNN_MTYPE(suf) FNN_MTYPE_(suf)
#define MT FNN_MTYPE(FNN_SUF)                    /* its lane mask */
#define FNN_NLANES_(suf) FNN_LANES_##suf
#define FNN_NLANES(suf) FNN_NLANES_(suf)
#define LANES FNN_NLANES(FNN_SUF)
#define FNN_CAT_(a, b) a##_##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)
#define FNN_FN(name) FNN_CAT(name, FNN_SUF)
#define SET1(c) FNN_V(set1)((FNN_T)(c))

/* ---- exp -------------------------------------------------------------
 * Two reductions, chosen by what the layer does fast; both are within 1 ulp
 * over every float32 input (benchmarks/exp_accuracy.py), float64 checked by
 * tests/test_exp.py.  x is clamped first to [EXP_LO, EXP_HI], beyond which
 * the result is 0 or inf anyway (nan passes the clamp: the layer's max(a, b)
 * and min(a, b) return b when either is nan).
 *
 * With a fast table8 (a permute: AVX-512, AVX2): exp(x) = 2^(n/8) exp(r),
 * n = round(8 x / ln2), r = x - n ln2/8 with |r| <= ln2/16 (Cody and
 * Waite's two-part ln2, its high part short enough that (n/8) times it is
 * exact), 2^(j/8) for j = n mod 8 from a table of eight entries, each a sum
 * hi + lo of two numbers of the element type, and 2^floor(n/8) by the
 * layer's scale_by_pow2_floor, which rounds once, to a subnormal, 0 or inf
 * as due.  exp(r) - 1 is Taylor's polynomial, truncated where its error is
 * below 2^-29 relative for float (degree 4) and 2^-59 for double (degree
 * 8), evaluated as r + r^2 q(r) so the large terms come last; then
 * 2^(j/8) (1 + t) = hi + (hi t + lo), with one rounding that matters, the
 * last (worst error 0.77 ulp in float32).  n is rounded by adding
 * 1.5 2^(m - 3) (m the mantissa bits) in the fma that scales x by 1/ln2:
 * the sum's ulp is 1/8, so that it rounds x / ln2 to n / 8, whose integer n
 * then sits in the sum's low bits, where table8 reads j, and the scale by
 * 2^floor(n/8) needs no other operation.  The short reduced range is what
 * pays for the table: half the polynomial of a reduction by ln2.
 *
 * Without (the portable layer: SSE2 and NEON have no gather, and a load per
 * lane made this exp six times slower there): x = k ln2 + r with
 * |r| <= ln2 / 2 and Taylor's polynomial truncated where its error is below
 * 0.05 ulp (degree 7 for float, 13 for double), then (1 + t) 2^k. */
#if FNN_V_FAST_TABLE8
#if FNN_IS_F32
#define EXP_LO -104.0f
#define EXP_HI 89.0f
#define LOG2E 0x1.715476p+0f
#define SHIFTER 0x1.8p+20f           /* 1.5 2^23 / 8: its ulp is 1/8 */
#define LN2_HI 0x1.62ep-1f           /* 13 bits: (n / 8) LN2_HI is exact */
#define LN2_LO 0x1.0bfbe8p-15f
static const float fnn_exp2_eighths_hi_f32[8] = {
    0x1p+0f, 0x1.172b84p+0f, 0x1.306fep+0f, 0x1.4bfdaep+0f,
    0x1.6a09e6p+0f, 0x1.8ace54p+0f, 0x1.ae89fap+0f, 0x1.d5818ep+0f};
static const float fnn_exp2_eighths_lo_f32[8] = {
    0.0f, -0x1.c15742p-27f, 0x1.4636e2p-25f, -0x1.593abcp-25f,
    0x1.9fcef4p-26f, 0x1.15506ep-27f, -0x1.a94b14p-26f, -0x1.822dbcp-27f};
#else
#define EXP_LO -746.0
#define EXP_HI 710.0
#define LOG2E 0x1.71547652b82fep+0
#define SHIFTER 0x1.8p+49            /* 1.5 2^52 / 8 */
#define LN2_HI 0x1.62e42fefa4p-1       /* 39 bits: (n / 8) LN2_HI is exact */
#define LN2_LO -0x1.8432a1b0e2634p-43
static const double fnn_exp2_eighths_hi_f64[8] = {
    0x1p+0, 0x1.172b83c7d517bp+0, 0x1.306fe0a31b715p+0, 0x1.4bfdad5362a27p+0,
    0x1.6a09e667f3bcdp+0, 0x1.8ace5422aa0dbp+0, 0x1.ae89f995ad3adp+0, 0x1.d5818dcfba487p+0};
static const double fnn_exp2_eighths_lo_f64[8] = {
    0.0, -0x1.19041b9d78a76p-55, 0x1.6f46ad23182e4p-55, 0x1.d4397afec42e2p-56,
    -0x1.bdd3413b26456p-54, 0x1.6e9f156864b27p-54, 0x1.7a1cd345dcc81p-54, 0x1.2ed02d75b3707p-55};
#endif

/* exp(x) for x in [EXP_LO, EXP_HI] or nan. */
FNN_MATH VT FNN_FN(fnn_vexp_in_range)(VT x)
{
    VT shifted = FNN_V(fma)(x, SET1(LOG2E), SET1(SHIFTER));
    VT n8 = FNN_V(sub)(shifted, SET1(SHIFTER));            /* n / 8, exact */
    VT r = FNN_V(fnma)(n8, SET1(LN2_HI), x);
    r = FNN_V(fnma)(n8, SET1(LN2_LO), r);
#if FNN_IS_F32
    VT q = FNN_V(fma)(SET1(1.0f / 24), r, SET1(1.0f / 6));
    q = FNN_V(fma)(q, r, SET1(0.5f));
#else
    VT q = SET1(1.0 / 40320);
    q = FNN_V(fma)(q, r, SET1(1.0 / 5040));
    q = FNN_V(fma)(q, r, SET1(1.0 / 720));
    q = FNN_V(fma)(q, r, SET1(1.0 / 120));
    q = FNN_V(fma)(q, r, SET1(1.0 / 24));
    q = FNN_V(fma)(q, r, SET1(1.0 / 6));
    q = FNN_V(fma)(q, r, SET1(0.5));
#endif
    VT t = FNN_V(fma)(q, FNN_V(mul)(r, r), r);
    VT hi = FNN_V(table8)(FNN_FN(fnn_exp2_eighths_hi), shifted);
    VT lo = FNN_V(table8)(FNN_FN(fnn_exp2_eighths_lo), shifted);
    VT e = FNN_V(add)(hi, FNN_V(fma)(hi, t, lo));
    return FNN_V(scale_by_pow2_floor)(e, n8);
}
#else  /* the reduction by ln2 */
#if FNN_IS_F32
#define EXP_LO -104.0f
#define EXP_HI 89.0f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f          /* few mantissa bits: k * LN2_HI is exact */
#define LN2_LO -2.12194440e-4f
#else
#define EXP_LO -746.0
#define EXP_HI 710.0
#define LOG2E 1.4426950408889634074
#define LN2_HI 6.93147180369123816490e-01   /* fdlibm's split: 21 trailing zero bits */
#define LN2_LO 1.90821492927058770002e-10
#endif

/* exp(x) for x in [EXP_LO, EXP_HI] or nan. */
FNN_MATH VT FNN_FN(fnn_vexp_in_range)(VT x)
{
    VT k = FNN_V(round_to_int)(FNN_V(mul)(x, SET1(LOG2E)));
    VT r = FNN_V(fnma)(k, SET1(LN2_HI), x);
    r = FNN_V(fnma)(k, SET1(LN2_LO), r);
#if FNN_IS_F32
    VT q = SET1(1.98412698e-4f);                     /* 1/5040 */
    q = FNN_V(fma)(q, r, SET1(1.38888889e-3f));      /* 1/720 */
    q = FNN_V(fma)(q, r, SET1(8.33333333e-3f));      /* 1/120 */
    q = FNN_V(fma)(q, r, SET1(4.16666667e-2f));      /* 1/24 */
    q = FNN_V(fma)(q, r, SET1(1.66666667e-1f));      /* 1/6 */
    q = FNN_V(fma)(q, r, SET1(0.5f));
#else
    VT q = SET1(1.0 / 6227020800.0);                 /* 1/13! */
    q = FNN_V(fma)(q, r, SET1(1.0 / 479001600.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 39916800.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 3628800.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 362880.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 40320.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 5040.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 720.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 120.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 24.0));
    q = FNN_V(fma)(q, r, SET1(1.0 / 6.0));
    q = FNN_V(fma)(q, r, SET1(0.5));
#endif
    VT t = FNN_V(fma)(q, FNN_V(mul)(r, r), r);
    return FNN_V(scale_by_pow2)(FNN_V(add)(t, SET1(1)), k);
}
#endif

/* exp(x) for x <= 0 or nan (x - max in a softmax row): only the low clamp. */
FNN_MATH VT FNN_FN(fnn_vexp_nonpos)(VT x)
{
    return FNN_FN(fnn_vexp_in_range)(FNN_V(max)(SET1(EXP_LO), x));
}

FNN_MATH VT FNN_FN(fnn_vexp)(VT x)
{
    return FNN_FN(fnn_vexp_in_range)(FNN_V(min)(SET1(EXP_HI), FNN_V(max)(SET1(EXP_LO), x)));
}

/* ---- sigmoid ---------------------------------------------------------
 * Through e = exp(-|x|) <= 1, which never overflows: 1 / (1 + e) for
 * x >= 0 and e / (1 + e) for x < 0, one division either way.  The errors
 * are e's (the exp's, within 1 ulp, and halved or less in the result for
 * x >= 0), the rounding of 1 + e, and the division's: within 2 ulp of the
 * correctly rounded result over every float32 input and on the float64
 * sweeps (benchmarks/exp_accuracy.py), PyTorch's bound and the accuracy
 * fastnn chose for the sigmoid.  Carrying the rounding of 1 + e exactly
 * and dividing by (1 + e) + its rounding gave 1 ulp, at a tenth more time
 * (6.1 us against 5.5 us for 16 x 1024 floats in cache, on a CPU with one
 * AVX-512 FMA port).  The layer's division is a division
 * instruction, not a reciprocal estimate refined by FMAs: it runs on its
 * own unit, beside the exp's FMAs.  Subnormal results stay subnormal;
 * x = -inf gives 0, +inf gives 1, nan gives nan. */

FNN_MATH VT FNN_FN(fnn_vsigmoid)(VT v)
{
    const VT one = SET1(1);
    VT e = FNN_FN(fnn_vexp_nonpos)(FNN_V(sub)(SET1(0), FNN_V(abs)(v)));
    VT d = FNN_V(add)(one, e);
    MT negative = FNN_V(less)(v, SET1(0));
    VT num = FNN_V(select)(negative, e, one);
    return FNN_V(div)(num, d);
}

/* ---- elementwise spans ---------------------------------------------- */
#define FNN_ELEMENTWISE_SPAN(name, vfunc)                                          \
FNN_NOINLINE static void FNN_FN(name)(const FNN_T *x, FNN_T *out, ptrdiff_t n)     \
{                                                                                  \
    ptrdiff_t j = 0;                                                               \
    for (; j + LANES <= n; j += LANES)                                             \
        FNN_V(store)(out + j, vfunc(FNN_V(load)(x + j)));                          \
    if (j < n)                                                                     \
        FNN_V(store_partial)(out + j, vfunc(FNN_V(load_partial)(x + j, n - j, 0)), n - j); \
}
FNN_ELEMENTWISE_SPAN(fnn_exp_span, FNN_FN(fnn_vexp))
FNN_ELEMENTWISE_SPAN(fnn_sigmoid_span, FNN_FN(fnn_vsigmoid))
#undef FNN_ELEMENTWISE_SPAN

/* ---- softmax row passes ---------------------------------------------- */

/* Largest of x[0..n), n >= 1; four accumulators hide the max's latency.
 * nan may or may not win here; the exp pass that follows turns any nan of
 * the span into a nan sum either way. */
static inline FNN_T FNN_FN(fnn_max)(const FNN_T *x, ptrdiff_t n)
{
    const FNN_T neg_inf = -(FNN_T)INFINITY;
    VT m0 = SET1(neg_inf), m1 = m0, m2 = m0, m3 = m0;
    ptrdiff_t j = 0;
    for (; j + 4 * LANES <= n; j += 4 * LANES) {
        m0 = FNN_V(max)(FNN_V(load)(x + j), m0);
        m1 = FNN_V(max)(FNN_V(load)(x + j + LANES), m1);
        m2 = FNN_V(max)(FNN_V(load)(x + j + 2 * LANES), m2);
        m3 = FNN_V(max)(FNN_V(load)(x + j + 3 * LANES), m3);
    }
    for (; j + LANES <= n; j += LANES)
        m0 = FNN_V(max)(FNN_V(load)(x + j), m0);
    if (j < n)
        m1 = FNN_V(max)(FNN_V(load_partial)(x + j, n - j, neg_inf), m1);
    return FNN_V(reduce_max)(FNN_V(max)(FNN_V(max)(m0, m1), FNN_V(max)(m2, m3)));
}

/* acc += v in double: both halves of a float vector, or the double vector. */
FNN_MATH void FNN_FN(fnn_vaccumulate)(fnn_v_f64 *lo, fnn_v_f64 *hi, VT v)
{
#if FNN_IS_F32
    *lo = fnn_v_add_f64(*lo, fnn_v_low_to_f64(v));
    *hi = fnn_v_add_f64(*hi, fnn_v_high_to_f64(v));
#else
    (void)hi;
    *lo = fnn_v_add_f64(*lo, v);
#endif
}

/* exp(x[j] - shift) for the vector at x + j, of `valid` lanes (the others,
 * loaded as -inf, give 0). */
FNN_MATH VT FNN_FN(fnn_vexp_shifted)(const FNN_T *x, VT shift, ptrdiff_t valid)
{
    VT v = valid == LANES ? FNN_V(load)(x) : FNN_V(load_partial)(x, valid, -(FNN_T)INFINITY);
    return FNN_FN(fnn_vexp_nonpos)(FNN_V(sub)(v, shift));
}

/* The sums below run FNN_CHAINS independent chains of double vectors, one
 * per vector of a group of FNN_CHAINS: besides hiding the adds' latency,
 * shorter chains bound the rounding error (a 1000-entry float64 row summed
 * in one chain of 4 lanes came out 4.5 ulp off; the bound grows with the
 * chain length).  The tail joins chain 0.  The order is fixed by n alone. */
#define FNN_CHAINS 4
FNN_MATH double FNN_FN(fnn_chains_total)(const fnn_v_f64 *lo, const fnn_v_f64 *hi)
{
    fnn_v_f64 a = fnn_v_add_f64(fnn_v_add_f64(lo[0], hi[0]), fnn_v_add_f64(lo[1], hi[1]));
    fnn_v_f64 b = fnn_v_add_f64(fnn_v_add_f64(lo[2], hi[2]), fnn_v_add_f64(lo[3], hi[3]));
    return fnn_v_reduce_sum_f64(fnn_v_add_f64(a, b));
}

/* The exp pass: e[j] = exp(x[j] - shift), stored in out unless out is NULL,
 * and their plain sum in double.  The sum is the same whether or not e is
 * stored. */
FNN_MATH double FNN_FN(fnn_exp_pass)(const FNN_T *x, FNN_T shift, FNN_T *out, ptrdiff_t n)
{
    const VT vshift = SET1(shift);
    fnn_v_f64 lo[FNN_CHAINS], hi[FNN_CHAINS];
    for (int u = 0; u < FNN_CHAINS; u++)
        lo[u] = hi[u] = fnn_v_set1_f64(0.0);
    ptrdiff_t j = 0;
    for (; j + FNN_CHAINS * LANES <= n; j += FNN_CHAINS * LANES) {
        for (int u = 0; u < FNN_CHAINS; u++) {
            VT e = FNN_FN(fnn_vexp_shifted)(x + j + u * LANES, vshift, LANES);
            if (out)
                FNN_V(store)(out + j + u * LANES, e);
            FNN_FN(fnn_vaccumulate)(&lo[u], &hi[u], e);
        }
    }
    for (; j < n; j += LANES) {
        ptrdiff_t valid = n - j < LANES ? n - j : LANES;
        VT e = FNN_FN(fnn_vexp_shifted)(x + j, vshift, valid);
        if (out) {
            if (valid == LANES)
                FNN_V(store)(out + j, e);
            else
                FNN_V(store_partial)(out + j, e, valid);
        }
        FNN_FN(fnn_vaccumulate)(&lo[0], &hi[0], e);
    }
    return FNN_FN(fnn_chains_total)(lo, hi);
}

/* The exponential to add at x + j (of `valid` lanes) in the careful pass:
 * read from e, or recomputed from x when e is NULL, the same values. */
FNN_MATH VT FNN_FN(fnn_vexp_again)(const FNN_T *x, VT shift, const FNN_T *e, ptrdiff_t valid)
{
    if (e == NULL)
        return FNN_FN(fnn_vexp_shifted)(x, shift, valid);
    return valid == LANES ? FNN_V(load)(e) : FNN_V(load_partial)(e, valid, 0);
}

/* Sum of exp(x[j] - max) less one, in double, with each exponential equal
 * to 1 (the maximum, or a tie with it) counted apart and never added to
 * the small ones, so that when one entry dominates the result keeps every
 * bit of the others (log1p of it is then accurate where log(1 + tiny)
 * would give 0).  The exponentials are read from e, or recomputed from x
 * when e is NULL. */
FNN_MATH double FNN_FN(fnn_careful_pass)(const FNN_T *x, FNN_T shift, const FNN_T *e, ptrdiff_t n)
{
    const VT vshift = SET1(shift), one = SET1(1), zero = SET1(0);
    fnn_v_f64 lo[FNN_CHAINS], hi[FNN_CHAINS];
    for (int u = 0; u < FNN_CHAINS; u++)
        lo[u] = hi[u] = fnn_v_set1_f64(0.0);
    VT ones = zero;   /* exact: at most 2^24 per lane */
    ptrdiff_t j = 0;
    for (; j + FNN_CHAINS * LANES <= n; j += FNN_CHAINS * LANES) {
        for (int u = 0; u < FNN_CHAINS; u++) {
            ptrdiff_t at = j + u * LANES;
            VT v = FNN_FN(fnn_vexp_again)(x + at, vshift, e == NULL ? NULL : e + at, LANES);
            VT is_one = FNN_V(select)(FNN_V(equal)(v, one), one, zero);
            ones = FNN_V(add)(ones, is_one);
            FNN_FN(fnn_vaccumulate)(&lo[u], &hi[u], FNN_V(sub)(v, is_one));
        }
    }
    for (; j < n; j += LANES) {
        ptrdiff_t valid = n - j < LANES ? n - j : LANES;
        VT v = FNN_FN(fnn_vexp_again)(x + j, vshift, e == NULL ? NULL : e + j, valid);
        VT is_one = FNN_V(select)(FNN_V(equal)(v, one), one, zero);
        ones = FNN_V(add)(ones, is_one);
        FNN_FN(fnn_vaccumulate)(&lo[0], &hi[0], FNN_V(sub)(v, is_one));
    }
    fnn_v_f64 count_lo = fnn_v_set1_f64(0.0), count_hi = count_lo;
    FNN_FN(fnn_vaccumulate)(&count_lo, &count_hi, ones);
    double count = fnn_v_reduce_sum_f64(fnn_v_add_f64(count_lo, count_hi));
    return (count - 1.0) + FNN_FN(fnn_chains_total)(lo, hi);
}
#undef FNN_CHAINS

/* acc[0..n) += the first n lanes of v, in double (n <= LANES). */
FNN_MATH void FNN_FN(fnn_vadd_into_doubles)(double *acc, VT v, ptrdiff_t n)
{
#if FNN_IS_F32
    const ptrdiff_t half = LANES / 2;
    fnn_v_f64 parts[2] = {fnn_v_low_to_f64(v), fnn_v_high_to_f64(v)};
#else
    const ptrdiff_t half = LANES;
    fnn_v_f64 parts[1] = {v};
#endif
    for (ptrdiff_t p = 0; p * half < n; p++) {
        double *a = acc + p * half;
        ptrdiff_t valid = n - p * half < half ? n - p * half : half;
        if (valid == half)
            fnn_v_store_f64(a, fnn_v_add_f64(fnn_v_load_f64(a), parts[p]));
        else
            fnn_v_store_partial_f64(a, fnn_v_add_f64(fnn_v_load_partial_f64(a, valid, 0.0), parts[p]),
                                    valid);
    }
}

/* One row of the column kernels (_spans.h): e[c] = exp(row[c] - m[c]) for
 * c < w, stored in out unless it is NULL, and added to sums[c] in double.
 * With ones set, each e equal to 1 is counted in ones[c] instead of added
 * (the careful sum, see fnn_careful_pass).  Column c's sum is the same
 * sequence of additions however w is split into vectors. */
FNN_MATH void FNN_FN(fnn_exp_columns_row)(const FNN_T *row, const FNN_T *m, FNN_T *out,
                                          double *sums, double *ones, ptrdiff_t w)
{
    for (ptrdiff_t c = 0; c < w; c += LANES) {
        ptrdiff_t valid = w - c < LANES ? w - c : LANES;
        VT x = valid == LANES ? FNN_V(load)(row + c) : FNN_V(load_partial)(row + c, valid, 0);
        VT shift = valid == LANES ? FNN_V(load)(m + c) : FNN_V(load_partial)(m + c, valid, 0);
        VT e = FNN_FN(fnn_vexp_nonpos)(FNN_V(sub)(x, shift));
        if (out) {
            if (valid == LANES)
                FNN_V(store)(out + c, e);
            else
                FNN_V(store_partial)(out + c, e, valid);
        }
        if (ones) {
            VT is_one = FNN_V(select)(FNN_V(equal)(e, SET1(1)), SET1(1), SET1(0));
            FNN_FN(fnn_vadd_into_doubles)(ones + c, is_one, valid);
            e = FNN_V(sub)(e, is_one);
        }
        FNN_FN(fnn_vadd_into_doubles)(sums + c, e, valid);
    }
}

/* out[j] = exp(x[j] - shift); returns the sum of out.  out may be x. */
static inline double FNN_FN(fnn_exp_store_sum)(const FNN_T *x, FNN_T shift, FNN_T *out, ptrdiff_t n)
{
    return FNN_FN(fnn_exp_pass)(x, shift, out, n);
}

/* Sum of exp(x[j] - max) less one (shift must be the maximum of x), the
 * exponentials stored in out unless it is NULL; the same bits either way,
 * so that a log-softmax does not depend on where it is written.
 *
 * The plain sum is taken first, with a rounding error below n 2^-53 of
 * itself (the careful sum's bound relative to its excess over one).  When
 * the sum is at least FNN_PLAIN_SUM_RATIO times its excess over one,
 * subtracting the one costs at most that factor in relative accuracy: in
 * double, a factor 2 on the careful bound; in float, 1024 n 2^-53, below a
 * float ulp (2^-24) for rows of up to 2^19 entries.  A row dominated by its
 * maximum (sum close to 1) is summed again by the careful pass.  The plain
 * sum needs half the operations of the careful one. */
#define FNN_PLAIN_SUM_RATIO (FNN_IS_F32 ? 1024.0 : 2.0)
static inline double FNN_FN(fnn_exp_sum_less_one_to)(const FNN_T *x, FNN_T shift, FNN_T *out,
                                                      ptrdiff_t n)
{
    double s = FNN_FN(fnn_exp_pass)(x, shift, out, n);
    /* False for a nan sum, which the careful sum returns as nan too. */
    if ((s - 1.0) * FNN_PLAIN_SUM_RATIO >= s)
        return s - 1.0;
    return FNN_FN(fnn_careful_pass)(x, shift, out, n);
}
#undef FNN_PLAIN_SUM_RATIO

static inline double FNN_FN(fnn_exp_store_sum_less_one)(const FNN_T *x, FNN_T shift, FNN_T *out,
                                                        ptrdiff_t n)
{
    return FNN_FN(fnn_exp_sum_less_one_to)(x, shift, out, n);
}

static inline double FNN_FN(fnn_exp_sum_less_one)(const FNN_T *x, FNN_T shift, ptrdiff_t n)
{
    return FNN_FN(fnn_exp_sum_less_one_to)(x, shift, NULL, n);
}

/* dst[j] = src[j] * factor; dst may be src.  With stream set, dst is
 * written with streaming stores, which do not first read its cache lines
 * (a third of the memory traffic of a softmax over an array too large for
 * the cache): the same bits.  Call fnn_store_fence() once streamed rows
 * are written. */
FNN_MATH void FNN_FN(fnn_scale_pass)(const FNN_T *src, FNN_T factor, FNN_T *dst, ptrdiff_t n,
                                    const int stream)
{
    const VT f = SET1(factor);
    ptrdiff_t j = 0;
    if (stream)
        for (; j < n && ((uintptr_t)(dst + j) & (FNN_V_STREAM_ALIGN - 1)); j++)
            dst[j] = src[j] * factor;
    for (; j + LANES <= n; j += LANES) {
        VT y = FNN_V(mul)(FNN_V(load)(src + j), f);
        if (stream)
            FNN_V(store_stream)(dst + j, y);
        else
            FNN_V(store)(dst + j, y);
    }
    /* The tail element by element (the same products): a masked vector
     * store would stall a load of one of its elements that follows at once,
     * as the cross-entropy's correction of the label's entry does. */
    for (; j < n; j++)
        dst[j] = src[j] * factor;
}

/* y[j] *= factor */
static inline void FNN_FN(fnn_scale)(FNN_T *y, FNN_T factor, ptrdiff_t n)
{
    FNN_FN(fnn_scale_pass)(y, factor, y, n, 0);
}

static inline void FNN_FN(fnn_scale_stream)(const FNN_T *src, FNN_T factor, FNN_T *dst, ptrdiff_t n)
{
    FNN_FN(fnn_scale_pass)(src, factor, dst, n, 1);
}

/* out[j] = (x[j] - shift) - log_sum.  Subtracting the shift first keeps
 * the error at the size of the result: m + log_sum, rounded at the
 * magnitude of a large m, would lose the low bits of log_sum.  out may be
 * x.  With stream set, out is written with streaming stores (see
 * fnn_scale_pass): the same bits. */
FNN_MATH void FNN_FN(fnn_log_softmax_pass)(const FNN_T *x, FNN_T shift, FNN_T log_sum, FNN_T *out,
                                           ptrdiff_t n, const int stream)
{
    const VT s = SET1(shift), l = SET1(log_sum);
    ptrdiff_t j = 0;
    if (stream)
        for (; j < n && ((uintptr_t)(out + j) & (FNN_V_STREAM_ALIGN - 1)); j++)
            out[j] = (x[j] - shift) - log_sum;
    for (; j + LANES <= n; j += LANES) {
        VT y = FNN_V(sub)(FNN_V(sub)(FNN_V(load)(x + j), s), l);
        if (stream)
            FNN_V(store_stream)(out + j, y);
        else
            FNN_V(store)(out + j, y);
    }
    for (; j < n; j++)
        out[j] = (x[j] - shift) - log_sum;
}

static inline void FNN_FN(fnn_log_softmax_finish)(const FNN_T *x, FNN_T shift, FNN_T log_sum,
                                                  FNN_T *out, ptrdiff_t n)
{
    FNN_FN(fnn_log_softmax_pass)(x, shift, log_sum, out, n, 0);
}

static inline void FNN_FN(fnn_log_softmax_finish_stream)(const FNN_T *x, FNN_T shift, FNN_T log_sum,
                                                         FNN_T *out, ptrdiff_t n)
{
    FNN_FN(fnn_log_softmax_pass)(x, shift, log_sum, out, n, 1);
}

#undef EXP_LO
#undef EXP_HI
#undef LOG2E
#undef SHIFTER
#undef LN2_HI
#undef LN2_LO
#undef SET1
#undef LANES
#undef VT
#undef MT
#undef FNN_V
#undef FNN_FN
