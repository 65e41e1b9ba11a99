/*
 * fastnn's SIMD layer for AVX2 with FMA: the operations of simd_avx512.h
 * (read its header comment) on 256-bit vectors.  Masks are vectors whose
 * lanes are all ones or all zeros.
 */
#ifndef FASTNN_SIMD_LAYER_H
#define FASTNN_SIMD_LAYER_H
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define FNN_SIMD_LAYER_NAME "avx2"
#define FNN_LANES_f32 8
#define FNN_LANES_f64 4
#define FNN_V_STREAM_ALIGN 32
/* table8 is one permute (a gather for double). */
#define FNN_V_FAST_TABLE8 1

typedef __m256 fnn_v_f32;
typedef __m256d fnn_v_f64;
typedef __m256 fnn_m_f32;
typedef __m256d fnn_m_f64;

#define FNN_V_INLINE static inline __attribute__((always_inline))

/* Lanes 0 .. n-1 set, for the partial loads and stores. */
FNN_V_INLINE __m256i fnn_v_first_f32(ptrdiff_t n)
{ return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
FNN_V_INLINE __m256i fnn_v_first_f64(ptrdiff_t n)
{ return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }

/* ---- float ---- */
FNN_V_INLINE fnn_v_f32 fnn_v_set1_f32(float a) { return _mm256_set1_ps(a); }
FNN_V_INLINE fnn_v_f32 fnn_v_load_f32(const float *p) { return _mm256_loadu_ps(p); }
FNN_V_INLINE void fnn_v_store_f32(float *p, fnn_v_f32 v) { _mm256_storeu_ps(p, v); }
/* Masked lanes are not read, so a partial load never touches memory past p + n. */
FNN_V_INLINE fnn_v_f32 fnn_v_load_partial_f32(const float *p, ptrdiff_t n, float fill)
{
    __m256i m = fnn_v_first_f32(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
FNN_V_INLINE void fnn_v_store_partial_f32(float *p, fnn_v_f32 v, ptrdiff_t n)
{ _mm256_maskstore_ps(p, fnn_v_first_f32(n), v); }
FNN_V_INLINE void fnn_v_store_stream_f32(float *p, fnn_v_f32 v) { _mm256_stream_ps(p, v); }
FNN_V_INLINE fnn_v_f32 fnn_v_add_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm256_add_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_sub_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm256_sub_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_mul_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm256_mul_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_div_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm256_div_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_fma_f32(fnn_v_f32 a, fnn_v_f32 b, fnn_v_f32 c) { return _mm256_fmadd_ps(a, b, c); }
FNN_V_INLINE fnn_v_f32 fnn_v_fnma_f32(fnn_v_f32 a, fnn_v_f32 b, fnn_v_f32 c) { return _mm256_fnmadd_ps(a, b, c); }
FNN_V_INLINE fnn_v_f32 fnn_v_max_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm256_max_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_min_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm256_min_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_abs_f32(fnn_v_f32 a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
FNN_V_INLINE fnn_v_f32 fnn_v_round_to_int_f32(fnn_v_f32 a)
{ return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* x * 2^n for integer-valued n, |n| <= 252, as x 2^(n/2) 2^(n - n/2): both
 * factors are normal numbers, the first product is exact for x in [0.5, 2],
 * so the result is rounded once.  A factor's bits are built from n + bias
 * placed in the low mantissa bits of 1.5 * 2^23 and shifted into the
 * exponent field (no float-to-int conversion, which is undefined for nan). */
FNN_V_INLINE fnn_v_f32 fnn_v_pow2_f32(__m256 k)
{ return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(_mm256_add_ps(k, _mm256_set1_ps(12582912.0f + 127.0f))), 23)); }
FNN_V_INLINE fnn_v_f32 fnn_v_scale_by_pow2_f32(fnn_v_f32 x, fnn_v_f32 n)
{
    __m256 k1 = _mm256_round_ps(_mm256_mul_ps(n, _mm256_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    return _mm256_mul_ps(_mm256_mul_ps(x, fnn_v_pow2_f32(k1)), fnn_v_pow2_f32(_mm256_sub_ps(n, k1)));
}
/* x * 2^floor(n) */
FNN_V_INLINE fnn_v_f32 fnn_v_scale_by_pow2_floor_f32(fnn_v_f32 x, fnn_v_f32 n)
{ return fnn_v_scale_by_pow2_f32(x, _mm256_floor_ps(n)); }
/* table[i & 7], i the integer in the low bits of the lane's bit pattern
 * (see simd_avx512.h). */
FNN_V_INLINE fnn_v_f32 fnn_v_table8_f32(const float *table, fnn_v_f32 i)
{ return _mm256_permutevar8x32_ps(_mm256_loadu_ps(table), _mm256_castps_si256(i)); }
FNN_V_INLINE fnn_m_f32 fnn_v_less_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
FNN_V_INLINE fnn_m_f32 fnn_v_equal_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
FNN_V_INLINE fnn_v_f32 fnn_v_select_f32(fnn_m_f32 m, fnn_v_f32 a, fnn_v_f32 b) { return _mm256_blendv_ps(b, a, m); }
FNN_V_INLINE float fnn_v_reduce_max_f32(fnn_v_f32 a)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}
FNN_V_INLINE fnn_v_f64 fnn_v_low_to_f64(fnn_v_f32 a) { return _mm256_cvtps_pd(_mm256_castps256_ps128(a)); }
FNN_V_INLINE fnn_v_f64 fnn_v_high_to_f64(fnn_v_f32 a) { return _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)); }

/* ---- double ---- */
FNN_V_INLINE fnn_v_f64 fnn_v_set1_f64(double a) { return _mm256_set1_pd(a); }
FNN_V_INLINE fnn_v_f64 fnn_v_load_f64(const double *p) { return _mm256_loadu_pd(p); }
FNN_V_INLINE void fnn_v_store_f64(double *p, fnn_v_f64 v) { _mm256_storeu_pd(p, v); }
FNN_V_INLINE fnn_v_f64 fnn_v_load_partial_f64(const double *p, ptrdiff_t n, double fill)
{
    __m256i m = fnn_v_first_f64(n);
    return _mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m));
}
FNN_V_INLINE void fnn_v_store_partial_f64(double *p, fnn_v_f64 v, ptrdiff_t n)
{ _mm256_maskstore_pd(p, fnn_v_first_f64(n), v); }
FNN_V_INLINE void fnn_v_store_stream_f64(double *p, fnn_v_f64 v) { _mm256_stream_pd(p, v); }
FNN_V_INLINE fnn_v_f64 fnn_v_add_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm256_add_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_sub_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm256_sub_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_mul_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm256_mul_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_div_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm256_div_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_fma_f64(fnn_v_f64 a, fnn_v_f64 b, fnn_v_f64 c) { return _mm256_fmadd_pd(a, b, c); }
FNN_V_INLINE fnn_v_f64 fnn_v_fnma_f64(fnn_v_f64 a, fnn_v_f64 b, fnn_v_f64 c) { return _mm256_fnmadd_pd(a, b, c); }
FNN_V_INLINE fnn_v_f64 fnn_v_max_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm256_max_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_min_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm256_min_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_abs_f64(fnn_v_f64 a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
FNN_V_INLINE fnn_v_f64 fnn_v_round_to_int_f64(fnn_v_f64 a)
{ return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* As the float version, for |n| <= 2044, with 1.5 * 2^52 and 64-bit lanes. */
FNN_V_INLINE fnn_v_f64 fnn_v_pow2_f64(__m256d k)
{ return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(6755399441055744.0 + 1023.0))), 52)); }
FNN_V_INLINE fnn_v_f64 fnn_v_scale_by_pow2_f64(fnn_v_f64 x, fnn_v_f64 n)
{
    __m256d k1 = _mm256_round_pd(_mm256_mul_pd(n, _mm256_set1_pd(0.5)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    return _mm256_mul_pd(_mm256_mul_pd(x, fnn_v_pow2_f64(k1)), fnn_v_pow2_f64(_mm256_sub_pd(n, k1)));
}
FNN_V_INLINE fnn_v_f64 fnn_v_scale_by_pow2_floor_f64(fnn_v_f64 x, fnn_v_f64 n)
{ return fnn_v_scale_by_pow2_f64(x, _mm256_floor_pd(n)); }
/* Eight doubles span two registers: a gather instead of two permutes and
 * a blend (simpler; the two were not compared for speed). */
FNN_V_INLINE fnn_v_f64 fnn_v_table8_f64(const double *table, fnn_v_f64 i)
{ return _mm256_i64gather_pd(table, _mm256_and_si256(_mm256_castpd_si256(i), _mm256_set1_epi64x(7)), 8); }
FNN_V_INLINE fnn_m_f64 fnn_v_less_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
FNN_V_INLINE fnn_m_f64 fnn_v_equal_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
FNN_V_INLINE fnn_v_f64 fnn_v_select_f64(fnn_m_f64 m, fnn_v_f64 a, fnn_v_f64 b) { return _mm256_blendv_pd(b, a, m); }
FNN_V_INLINE double fnn_v_reduce_max_f64(fnn_v_f64 a)
{
    __m128d m = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_max_sd(m, _mm_unpackhi_pd(m, m)));
}
FNN_V_INLINE double fnn_v_reduce_sum_f64(fnn_v_f64 a)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

#endif /* FASTNN_SIMD_LAYER_H */
