/* The f32 vector vocabulary of the kernel templates (*-tmpl.c), AVX2 +
 * FMA: 8 floats per vector, tail masks as integer vectors. */
#ifndef FV_SIMD_F32_AVX2_H
#define FV_SIMD_F32_AVX2_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>

#define FV_INLINE static inline __attribute__((always_inline))

/* Appended to every kernel name: fv_f32_<op>_ukernel_<tile>__avx2. */
#define FV_ISA_SUFFIX avx2
#define FV_VL 8

/* Tiles. GEMM: twelve accumulators hide the FMA latency (two FMA pipes x
 * 4 cycles) and leave room for two weight vectors and one broadcast in
 * 16 registers. */
#define FV_GEMM_MR 6
#define FV_GEMM_NR 16
#define FV_GEMM_TILE 6x16
#define FV_DWCONV_TILE 8        /* output pixels per 3x3 tile */
#define FV_DWCONV_CTILE c8
/* Conv: blocks of two vectors times six pixels; four vectors would leave
 * room for two pixels only, eight FMA chains, too few to cover the FMA
 * latency without a stall (MTCNN's 16->32 layer ran at 66 % of peak). */
#define FV_CONV_NV 2            /* vectors per block */
#define FV_CONV_PX 6            /* output pixels per step */
#define FV_CONV_ACC 12          /* accumulators of a narrower block */
#define FV_CONV_TILE 6x16
#define FV_DOTROWS_QMAX 2       /* queries per pass over the rows */
#define FV_DOTROWS_TILE r4q2

typedef __m256 fv_vf;
typedef __m256i fv_vmask;

/* Keeps v in a vector register (see dwconv-tmpl.c). */
#define FV_VKEEP(v) __asm__ ("" : "+v" (v))

static const int fv_avx2_tail_bits[16] = {
  -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
};

/* Lanes [0, n) set, n in 0..8. */
FV_INLINE fv_vmask
fv_vmask_tail (size_t n)
{
  return _mm256_loadu_si256 ((const __m256i *) (fv_avx2_tail_bits + 8 - n));
}

/* The masks of lanes [0, n) of two consecutive vectors, n in 0..16. */
FV_INLINE void
fv_vmask_tail2 (size_t n, fv_vmask * m0, fv_vmask * m1)
{
  *m0 = fv_vmask_tail (n < 8 ? n : 8);
  *m1 = fv_vmask_tail (n > 8 ? n - 8 : 0);
}

#define FV_VMASK_NONE _mm256_setzero_si256 ()
/* Whether a plain store may replace a masked one. */
#define FV_VMASK_FULL(m) \
  (_mm256_movemask_ps (_mm256_castsi256_ps (m)) == 0xff)

#define fv_vzero() _mm256_setzero_ps ()
#define fv_vset1(x) _mm256_set1_ps (x)
#define fv_vload(p) _mm256_load_ps (p)
/* VL aligned half floats (F16C), widened exactly. */
#define fv_vload_f16(p) _mm256_cvtph_ps (_mm_load_si128 ((const __m128i *) (p)))
#define fv_vloadu(p) _mm256_loadu_ps (p)
#define fv_vstoreu(p, v) _mm256_storeu_ps ((p), (v))
#define fv_vload_mask(p, m) _mm256_maskload_ps ((p), (m))
#define fv_vstore_mask(p, m, v) _mm256_maskstore_ps ((p), (m), (v))
#define fv_vadd(a, b) _mm256_add_ps ((a), (b))
#define fv_vfmadd(a, b, c) _mm256_fmadd_ps ((a), (b), (c))
#define fv_vmax(a, b) _mm256_max_ps ((a), (b))

/* x < 0 ? x * alpha : x, selected on the sign bit. */
FV_INLINE fv_vf
fv_vprelu (fv_vf v, fv_vf alpha)
{
  return _mm256_blendv_ps (v, _mm256_mul_ps (v, alpha), v);
}

/* [sum a, sum b, sum c, sum d], for fv_vstore4. */
FV_INLINE __m128
fv_vhsum4 (fv_vf a, fv_vf b, fv_vf c, fv_vf d)
{
  __m256 t = _mm256_hadd_ps (_mm256_hadd_ps (a, b), _mm256_hadd_ps (c, d));

  return _mm_add_ps (_mm256_castps256_ps128 (t), _mm256_extractf128_ps (t, 1));
}

FV_INLINE float
fv_vhsum (fv_vf a)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (a),
      _mm256_extractf128_ps (a, 1));

  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  s = _mm_add_ss (s, _mm_movehdup_ps (s));
  return _mm_cvtss_f32 (s);
}

#define fv_vstore4(p, v) _mm_storeu_ps ((p), (v))

#endif /* FV_SIMD_F32_AVX2_H */
