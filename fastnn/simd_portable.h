/*
 * fastnn's SIMD layer in plain C, for any CPU: the operations of
 * simd_avx512.h (read its header comment) on fixed-size arrays, one loop of
 * FNN_LANES_* iterations each, which the compiler unrolls and vectorises
 * with whatever the target has (SSE2 on baseline x86-64, NEON on aarch64).
 * Masks are arrays of 0 / -1 integers.  Each operation is written once for
 * both element types by FNN_PORTABLE_OPS below.
 */
#ifndef FASTNN_SIMD_LAYER_H
#define FASTNN_SIMD_LAYER_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FNN_SIMD_LAYER_NAME "portable"
#define FNN_LANES_f32 8
#define FNN_LANES_f64 4
/* Where fmaf is an instruction (aarch64), fma rounds once; elsewhere it is
 * a * b + c rounded twice (the exp's accuracy allows either). */
#if defined(__FP_FAST_FMAF) && defined(__FP_FAST_FMA)
#define FNN_PORTABLE_FMA_f32(a, b, c) fmaf(a, b, c)
#define FNN_PORTABLE_FMA_f64(a, b, c) fma(a, b, c)
#else
#define FNN_PORTABLE_FMA_f32(a, b, c) ((a) * (b) + (c))
#define FNN_PORTABLE_FMA_f64(a, b, c) ((a) * (b) + (c))
#endif
#define FNN_V_STREAM_ALIGN 1
/* No vector gather on SSE2 or NEON: a table lookup would be a load per lane,
 * so the exp keeps the reduction by ln2 here (see _simd_math.h), and this
 * layer has no table8 or scale_by_pow2_floor, which only the table uses. */
#define FNN_V_FAST_TABLE8 0

#if defined(__GNUC__) || defined(__clang__)
#define FNN_V_INLINE static inline __attribute__((always_inline))
#else
#define FNN_V_INLINE static inline
#endif

/* 1.5 * 2^(mantissa bits): adding it rounds to an integer, which then sits
 * in the low mantissa bits. */
#define FNN_PORTABLE_SHIFTER_f32 12582912.0f
#define FNN_PORTABLE_SHIFTER_f64 6755399441055744.0
#define FNN_PORTABLE_BIAS_f32 127
#define FNN_PORTABLE_BIAS_f64 1023
#define FNN_PORTABLE_MANT_f32 23
#define FNN_PORTABLE_MANT_f64 52

#define FNN_EACH(SUF) for (int i = 0; i < FNN_LANES_##SUF; i++)

#define FNN_PORTABLE_OPS(T, SUF, IT, UT)                                                         \
typedef struct { T v[FNN_LANES_##SUF]; } fnn_v_##SUF;                                           \
typedef struct { IT v[FNN_LANES_##SUF]; } fnn_m_##SUF;                                          \
FNN_V_INLINE fnn_v_##SUF fnn_v_set1_##SUF(T a) { fnn_v_##SUF r; FNN_EACH(SUF) r.v[i] = a; return r; } \
FNN_V_INLINE fnn_v_##SUF fnn_v_load_##SUF(const T *p) { fnn_v_##SUF r; FNN_EACH(SUF) r.v[i] = p[i]; return r; } \
FNN_V_INLINE void fnn_v_store_##SUF(T *p, fnn_v_##SUF a) { FNN_EACH(SUF) p[i] = a.v[i]; }     \
FNN_V_INLINE fnn_v_##SUF fnn_v_load_partial_##SUF(const T *p, ptrdiff_t n, T fill)             \
{ fnn_v_##SUF r; FNN_EACH(SUF) r.v[i] = i < n ? p[i] : fill; return r; }                       \
FNN_V_INLINE void fnn_v_store_partial_##SUF(T *p, fnn_v_##SUF a, ptrdiff_t n)                  \
{ for (ptrdiff_t i = 0; i < n; i++) p[i] = a.v[i]; }                                            \
FNN_V_INLINE void fnn_v_store_stream_##SUF(T *p, fnn_v_##SUF a) { fnn_v_store_##SUF(p, a); }   \
FNN_V_INLINE fnn_v_##SUF fnn_v_add_##SUF(fnn_v_##SUF a, fnn_v_##SUF b) { FNN_EACH(SUF) a.v[i] = a.v[i] + b.v[i]; return a; } \
FNN_V_INLINE fnn_v_##SUF fnn_v_sub_##SUF(fnn_v_##SUF a, fnn_v_##SUF b) { FNN_EACH(SUF) a.v[i] = a.v[i] - b.v[i]; return a; } \
FNN_V_INLINE fnn_v_##SUF fnn_v_mul_##SUF(fnn_v_##SUF a, fnn_v_##SUF b) { FNN_EACH(SUF) a.v[i] = a.v[i] * b.v[i]; return a; } \
FNN_V_INLINE fnn_v_##SUF fnn_v_div_##SUF(fnn_v_##SUF a, fnn_v_##SUF b) { FNN_EACH(SUF) a.v[i] = a.v[i] / b.v[i]; return a; } \
FNN_V_INLINE fnn_v_##SUF fnn_v_fma_##SUF(fnn_v_##SUF a, fnn_v_##SUF b, fnn_v_##SUF c)          \
{ FNN_EACH(SUF) a.v[i] = FNN_PORTABLE_FMA_##SUF(a.v[i], b.v[i], c.v[i]); return a; }           \
FNN_V_INLINE fnn_v_##SUF fnn_v_fnma_##SUF(fnn_v_##SUF a, fnn_v_##SUF b, fnn_v_##SUF c)         \
{ FNN_EACH(SUF) a.v[i] = FNN_PORTABLE_FMA_##SUF(-a.v[i], b.v[i], c.v[i]); return a; }          \
FNN_V_INLINE fnn_v_##SUF fnn_v_max_##SUF(fnn_v_##SUF a, fnn_v_##SUF b) { FNN_EACH(SUF) a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i]; return a; } \
FNN_V_INLINE fnn_v_##SUF fnn_v_min_##SUF(fnn_v_##SUF a, fnn_v_##SUF b) { FNN_EACH(SUF) a.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i]; return a; } \
FNN_V_INLINE fnn_v_##SUF fnn_v_abs_##SUF(fnn_v_##SUF a)                                        \
{ FNN_EACH(SUF) { UT u; memcpy(&u, &a.v[i], sizeof u); u &= ~((UT)1 << (8 * sizeof(T) - 1)); memcpy(&a.v[i], &u, sizeof u); } return a; } \
/* Nearest integer, ties to even, for |x| < 2^(mantissa bits - 1): all the exp needs. */      \
FNN_V_INLINE fnn_v_##SUF fnn_v_round_to_int_##SUF(fnn_v_##SUF a)                               \
{ FNN_EACH(SUF) a.v[i] = (a.v[i] + FNN_PORTABLE_SHIFTER_##SUF) - FNN_PORTABLE_SHIFTER_##SUF; return a; } \
/* 2^k for integer-valued k, from the bits of k + bias + shifter shifted into the exponent. */ \
FNN_V_INLINE T fnn_v_pow2_##SUF(T k)                                                           \
{ T b = k + (FNN_PORTABLE_SHIFTER_##SUF + FNN_PORTABLE_BIAS_##SUF); UT u; memcpy(&u, &b, sizeof u); \
  u <<= FNN_PORTABLE_MANT_##SUF; memcpy(&b, &u, sizeof u); return b; }                           \
/* x * 2^n as x 2^(n/2) 2^(n - n/2), rounded once (see simd_avx2.h). */                           \
FNN_V_INLINE fnn_v_##SUF fnn_v_scale_by_pow2_##SUF(fnn_v_##SUF x, fnn_v_##SUF n)               \
{ FNN_EACH(SUF) { T h = n.v[i] * (T)0.5; T k1 = (h + FNN_PORTABLE_SHIFTER_##SUF) - FNN_PORTABLE_SHIFTER_##SUF; \
  x.v[i] = (x.v[i] * fnn_v_pow2_##SUF(k1)) * fnn_v_pow2_##SUF(n.v[i] - k1); } return x; }      \
FNN_V_INLINE fnn_m_##SUF fnn_v_less_##SUF(fnn_v_##SUF a, fnn_v_##SUF b) { fnn_m_##SUF m; FNN_EACH(SUF) m.v[i] = a.v[i] < b.v[i] ? -1 : 0; return m; } \
FNN_V_INLINE fnn_m_##SUF fnn_v_equal_##SUF(fnn_v_##SUF a, fnn_v_##SUF b) { fnn_m_##SUF m; FNN_EACH(SUF) m.v[i] = a.v[i] == b.v[i] ? -1 : 0; return m; } \
FNN_V_INLINE fnn_v_##SUF fnn_v_select_##SUF(fnn_m_##SUF m, fnn_v_##SUF a, fnn_v_##SUF b) { FNN_EACH(SUF) a.v[i] = m.v[i] ? a.v[i] : b.v[i]; return a; } \
FNN_V_INLINE T fnn_v_reduce_max_##SUF(fnn_v_##SUF a) { T m = a.v[0]; for (int i = 1; i < FNN_LANES_##SUF; i++) m = a.v[i] > m ? a.v[i] : m; return m; }

FNN_PORTABLE_OPS(float, f32, int32_t, uint32_t)
FNN_PORTABLE_OPS(double, f64, int64_t, uint64_t)

/* Sum of the lanes, pairwise in a fixed order. */
FNN_V_INLINE double fnn_v_reduce_sum_f64(fnn_v_f64 a) { return (a.v[0] + a.v[2]) + (a.v[1] + a.v[3]); }
/* The low and high halves of a float vector, as double vectors. */
FNN_V_INLINE fnn_v_f64 fnn_v_low_to_f64(fnn_v_f32 a) { fnn_v_f64 r; FNN_EACH(f64) r.v[i] = a.v[i]; return r; }
FNN_V_INLINE fnn_v_f64 fnn_v_high_to_f64(fnn_v_f32 a) { fnn_v_f64 r; FNN_EACH(f64) r.v[i] = a.v[i + FNN_LANES_f64]; return r; }

#endif /* FASTNN_SIMD_LAYER_H */
