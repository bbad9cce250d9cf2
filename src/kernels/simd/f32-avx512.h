/* The f32 vector vocabulary of the kernel templates (*-tmpl.c), AVX-512
 * F/VL/DQ/BW: 16 floats per vector, tail masks as mask registers. */
#ifndef FV_SIMD_F32_AVX512_H
#define FV_SIMD_F32_AVX512_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FV_INLINE static inline __attribute__((always_inline))

/* Appended to every kernel name: fv_f32_<op>_ukernel_<tile>__avx512. */
#define FV_ISA_SUFFIX avx512
#define FV_VL 16

/* Tiles. GEMM: fourteen accumulators and two weight vectors; the row
 * broadcasts fold into the FMAs. Seven rows divide every spatial size of
 * MobileFaceNet (56x56, 28x28, 14x14, 7x7), so no layer ends in a partial
 * tile. */
#define FV_GEMM_MR 7
#define FV_GEMM_NR 32
#define FV_GEMM_TILE 7x32
/* 3x3 depthwise: sixteen output pixels per tile, sixteen FMA chains of
 * the 32 registers (eight measured 2-4 points of peak slower on the
 * stride-1 layers, the same at stride 2). */
#define FV_DWCONV_TILE 16
#define FV_DWCONV_CTILE c16
#define FV_CONV_PX 4            /* output pixels per step */
#define FV_CONV_ACC 24          /* accumulators of a narrower block */
#define FV_CONV_TILE 4x64
#define FV_DOTROWS_QMAX 4       /* queries per pass over the rows */
#define FV_DOTROWS_TILE r4q4

typedef __m512 fv_vf;
typedef __mmask16 fv_vmask;

/* Keeps v in a vector register (see dwconv-tmpl.c). */
#define FV_VKEEP(v) __asm__ ("" : "+v" (v))

/* Lanes [0, n) set, n in 0..16. */
FV_INLINE fv_vmask
fv_vmask_tail (size_t n)
{
  return (__mmask16) ((1u << n) - 1u);
}

/* The masks of lanes [0, n) of two consecutive vectors, n in 0..32. */
FV_INLINE void
fv_vmask_tail2 (size_t n, fv_vmask * m0, fv_vmask * m1)
{
  const __mmask32 all = (__mmask32) (((uint64_t) 1 << n) - 1);

  *m0 = (__mmask16) all;
  *m1 = (__mmask16) (all >> 16);
}

#define FV_VMASK_NONE ((__mmask16) 0)
/* Masked stores cost the same as plain ones here: never worth a test. */
#define FV_VMASK_FULL(m) 0

#define fv_vzero() _mm512_setzero_ps ()
#define fv_vset1(x) _mm512_set1_ps (x)
#define fv_vload(p) _mm512_load_ps (p)
/* VL aligned half floats, widened exactly. */
#define fv_vload_f16(p) \
  _mm512_cvtph_ps (_mm256_load_si256 ((const __m256i *) (p)))
#define fv_vloadu(p) _mm512_loadu_ps (p)
#define fv_vstoreu(p, v) _mm512_storeu_ps ((p), (v))
#define fv_vload_mask(p, m) _mm512_maskz_loadu_ps ((m), (p))
#define fv_vstore_mask(p, m, v) _mm512_mask_storeu_ps ((p), (m), (v))
#define fv_vadd(a, b) _mm512_add_ps ((a), (b))
#define fv_vfmadd(a, b, c) _mm512_fmadd_ps ((a), (b), (c))
#define fv_vmax(a, b) _mm512_max_ps ((a), (b))

/* x < 0 ? x * alpha : x, selected by comparison. */
FV_INLINE fv_vf
fv_vprelu (fv_vf v, fv_vf alpha)
{
  const __mmask16 neg = _mm512_cmp_ps_mask (v, _mm512_setzero_ps (),
      _CMP_LT_OQ);
  return _mm512_mask_mul_ps (v, neg, v, alpha);
}

FV_INLINE __m256
fv_avx512_fold (fv_vf a)
{
  return _mm256_add_ps (_mm512_castps512_ps256 (a),
      _mm512_extractf32x8_ps (a, 1));
}

/* [sum a, sum b, sum c, sum d], for fv_vstore4. */
FV_INLINE __m128
fv_vhsum4 (fv_vf a, fv_vf b, fv_vf c, fv_vf d)
{
  __m256 t = _mm256_hadd_ps (_mm256_hadd_ps (fv_avx512_fold (a),
          fv_avx512_fold (b)), _mm256_hadd_ps (fv_avx512_fold (c),
          fv_avx512_fold (d)));

  return _mm_add_ps (_mm256_castps256_ps128 (t), _mm256_extractf128_ps (t, 1));
}

#define fv_vhsum(a) _mm512_reduce_add_ps (a)
#define fv_vstore4(p, v) _mm_storeu_ps ((p), (v))

#endif /* FV_SIMD_F32_AVX512_H */
