/*
 * fastnn's SIMD layer for AVX-512 (F, DQ; built with BW and VL too).
 *
 * One of three implementations of the same operations (simd_avx2.h,
 * simd_portable.h): a vector type per element type and one-line inline
 * operations, named by what they do.  Everything numerical (the exp, the
 * sigmoid, the row passes) is written once above the layer, in
 * _simd_math.h.  Masks select lanes; `n` of a partial load or store is the
 * number of leading lanes used, 0 <= n < lanes.
 */
#ifndef FASTNN_SIMD_LAYER_H
#define FASTNN_SIMD_LAYER_H
#include <immintrin.h>
#include <stddef.h>

#define FNN_SIMD_LAYER_NAME "avx512"
#define FNN_LANES_f32 16
#define FNN_LANES_f64 8
/* Streaming stores need this alignment of the destination, in bytes. */
#define FNN_V_STREAM_ALIGN 64
/* table8 is one permute. */
#define FNN_V_FAST_TABLE8 1

typedef __m512 fnn_v_f32;
typedef __m512d fnn_v_f64;
typedef __mmask16 fnn_m_f32;
typedef __mmask8 fnn_m_f64;

#define FNN_V_INLINE static inline __attribute__((always_inline))

/* ---- float ---- */
FNN_V_INLINE fnn_v_f32 fnn_v_set1_f32(float a) { return _mm512_set1_ps(a); }
FNN_V_INLINE fnn_v_f32 fnn_v_load_f32(const float *p) { return _mm512_loadu_ps(p); }
FNN_V_INLINE void fnn_v_store_f32(float *p, fnn_v_f32 v) { _mm512_storeu_ps(p, v); }
/* Masked lanes are not read, so a partial load never touches memory past p + n. */
FNN_V_INLINE fnn_v_f32 fnn_v_load_partial_f32(const float *p, ptrdiff_t n, float fill)
{ return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << n) - 1), p); }
FNN_V_INLINE void fnn_v_store_partial_f32(float *p, fnn_v_f32 v, ptrdiff_t n)
{ _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), v); }
/* p aligned to FNN_V_STREAM_ALIGN; bypasses the cache. */
FNN_V_INLINE void fnn_v_store_stream_f32(float *p, fnn_v_f32 v) { _mm512_stream_ps(p, v); }
FNN_V_INLINE fnn_v_f32 fnn_v_add_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm512_add_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_sub_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm512_sub_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_mul_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm512_mul_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_div_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm512_div_ps(a, b); }
/* a * b + c and c - a * b */
FNN_V_INLINE fnn_v_f32 fnn_v_fma_f32(fnn_v_f32 a, fnn_v_f32 b, fnn_v_f32 c) { return _mm512_fmadd_ps(a, b, c); }
FNN_V_INLINE fnn_v_f32 fnn_v_fnma_f32(fnn_v_f32 a, fnn_v_f32 b, fnn_v_f32 c) { return _mm512_fnmadd_ps(a, b, c); }
/* a > b ? a : b and a < b ? a : b: b when either is nan, as in C. */
FNN_V_INLINE fnn_v_f32 fnn_v_max_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm512_max_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_min_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm512_min_ps(a, b); }
FNN_V_INLINE fnn_v_f32 fnn_v_abs_f32(fnn_v_f32 a) { return _mm512_abs_ps(a); }
/* Nearest integer, ties to even (any x). */
FNN_V_INLINE fnn_v_f32 fnn_v_round_to_int_f32(fnn_v_f32 a)
{ return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* x * 2^n for integer-valued n, rounded once (to a subnormal, 0 or inf as due). */
FNN_V_INLINE fnn_v_f32 fnn_v_scale_by_pow2_f32(fnn_v_f32 x, fnn_v_f32 n) { return _mm512_scalef_ps(x, n); }
/* x * 2^floor(n), rounded once: vscalefps floors n itself. */
FNN_V_INLINE fnn_v_f32 fnn_v_scale_by_pow2_floor_f32(fnn_v_f32 x, fnn_v_f32 n) { return _mm512_scalef_ps(x, n); }
/* table[i & 7] in each lane, i the integer in the low bits of the lane's
 * bit pattern (the exp adds a shifter to x / ln2 so that n sits there);
 * the eight entries are repeated so that bit 3 of i does not matter. */
FNN_V_INLINE fnn_v_f32 fnn_v_table8_f32(const float *table, fnn_v_f32 i)
{ return _mm512_permutexvar_ps(_mm512_castps_si512(i), _mm512_broadcast_f32x8(_mm256_loadu_ps(table))); }
FNN_V_INLINE fnn_m_f32 fnn_v_less_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
FNN_V_INLINE fnn_m_f32 fnn_v_equal_f32(fnn_v_f32 a, fnn_v_f32 b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
/* m ? a : b, lane by lane */
FNN_V_INLINE fnn_v_f32 fnn_v_select_f32(fnn_m_f32 m, fnn_v_f32 a, fnn_v_f32 b) { return _mm512_mask_blend_ps(m, b, a); }
FNN_V_INLINE float fnn_v_reduce_max_f32(fnn_v_f32 a) { return _mm512_reduce_max_ps(a); }
/* The low and high halves of a float vector, as double vectors. */
FNN_V_INLINE fnn_v_f64 fnn_v_low_to_f64(fnn_v_f32 a) { return _mm512_cvtps_pd(_mm512_castps512_ps256(a)); }
FNN_V_INLINE fnn_v_f64 fnn_v_high_to_f64(fnn_v_f32 a) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1)); }

/* ---- double ---- */
FNN_V_INLINE fnn_v_f64 fnn_v_set1_f64(double a) { return _mm512_set1_pd(a); }
FNN_V_INLINE fnn_v_f64 fnn_v_load_f64(const double *p) { return _mm512_loadu_pd(p); }
FNN_V_INLINE void fnn_v_store_f64(double *p, fnn_v_f64 v) { _mm512_storeu_pd(p, v); }
FNN_V_INLINE fnn_v_f64 fnn_v_load_partial_f64(const double *p, ptrdiff_t n, double fill)
{ return _mm512_mask_loadu_pd(_mm512_set1_pd(fill), (__mmask8)((1u << n) - 1), p); }
FNN_V_INLINE void fnn_v_store_partial_f64(double *p, fnn_v_f64 v, ptrdiff_t n)
{ _mm512_mask_storeu_pd(p, (__mmask8)((1u << n) - 1), v); }
FNN_V_INLINE void fnn_v_store_stream_f64(double *p, fnn_v_f64 v) { _mm512_stream_pd(p, v); }
FNN_V_INLINE fnn_v_f64 fnn_v_add_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm512_add_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_sub_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm512_sub_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_mul_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm512_mul_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_div_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm512_div_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_fma_f64(fnn_v_f64 a, fnn_v_f64 b, fnn_v_f64 c) { return _mm512_fmadd_pd(a, b, c); }
FNN_V_INLINE fnn_v_f64 fnn_v_fnma_f64(fnn_v_f64 a, fnn_v_f64 b, fnn_v_f64 c) { return _mm512_fnmadd_pd(a, b, c); }
FNN_V_INLINE fnn_v_f64 fnn_v_max_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm512_max_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_min_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm512_min_pd(a, b); }
FNN_V_INLINE fnn_v_f64 fnn_v_abs_f64(fnn_v_f64 a) { return _mm512_abs_pd(a); }
FNN_V_INLINE fnn_v_f64 fnn_v_round_to_int_f64(fnn_v_f64 a)
{ return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
FNN_V_INLINE fnn_v_f64 fnn_v_scale_by_pow2_f64(fnn_v_f64 x, fnn_v_f64 n) { return _mm512_scalef_pd(x, n); }
FNN_V_INLINE fnn_v_f64 fnn_v_scale_by_pow2_floor_f64(fnn_v_f64 x, fnn_v_f64 n) { return _mm512_scalef_pd(x, n); }
FNN_V_INLINE fnn_v_f64 fnn_v_table8_f64(const double *table, fnn_v_f64 i)
{ return _mm512_permutexvar_pd(_mm512_castpd_si512(i), _mm512_loadu_pd(table)); }
FNN_V_INLINE fnn_m_f64 fnn_v_less_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
FNN_V_INLINE fnn_m_f64 fnn_v_equal_f64(fnn_v_f64 a, fnn_v_f64 b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
FNN_V_INLINE fnn_v_f64 fnn_v_select_f64(fnn_m_f64 m, fnn_v_f64 a, fnn_v_f64 b) { return _mm512_mask_blend_pd(m, b, a); }
FNN_V_INLINE double fnn_v_reduce_max_f64(fnn_v_f64 a) { return _mm512_reduce_max_pd(a); }
/* Sum of the lanes, in a fixed order. */
FNN_V_INLINE double fnn_v_reduce_sum_f64(fnn_v_f64 a) { return _mm512_reduce_add_pd(a); }

#endif /* FASTNN_SIMD_LAYER_H */
