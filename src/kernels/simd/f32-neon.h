/* The f32 vector vocabulary of the kernel templates (*-tmpl.c), AArch64
 * Advanced SIMD (part of the base ISA, no flags): 4 floats per vector.
 * There are no masked loads or stores: a tail mask is the lane count, and
 * a masked access goes lane by lane (only the last vector of a row that
 * is not a multiple of 4 takes that path). */
#ifndef FV_SIMD_F32_NEON_H
#define FV_SIMD_F32_NEON_H

#include <arm_neon.h>
#include <stdbool.h>
#include <stddef.h>

#define FV_INLINE static inline __attribute__((always_inline))

/* Appended to every kernel name: fv_f32_<op>_ukernel_<tile>__neon. */
#define FV_ISA_SUFFIX neon
#define FV_VL 4

/* Tiles, for 32 vector registers. GEMM: sixteen accumulators, two weight
 * vectors and the row broadcasts (fmla by element). */
#define FV_GEMM_MR 8
#define FV_GEMM_NR 8
#define FV_GEMM_TILE 8x8
#define FV_DWCONV_TILE 8        /* output pixels per 3x3 tile */
#define FV_DWCONV_CTILE c4
#define FV_CONV_PX 4            /* output pixels per step */
#define FV_CONV_ACC 24          /* accumulators of a narrower block */
#define FV_CONV_TILE 4x16
#define FV_DOTROWS_QMAX 4       /* queries per pass over the rows */
#define FV_DOTROWS_TILE r4q4

typedef float32x4_t fv_vf;
typedef size_t fv_vmask;        /* lanes [0, n) */

/* Keeps v in a vector register (see dwconv-tmpl.c). */
#define FV_VKEEP(v) __asm__ ("" : "+w" (v))

/* Lanes [0, n) set, n in 0..4. */
FV_INLINE fv_vmask
fv_vmask_tail (size_t n)
{
  return n;
}

/* The masks of lanes [0, n) of two consecutive vectors, n in 0..8. */
FV_INLINE void
fv_vmask_tail2 (size_t n, fv_vmask * m0, fv_vmask * m1)
{
  *m0 = n < 4 ? n : 4;
  *m1 = n > 4 ? n - 4 : 0;
}

#define FV_VMASK_NONE ((fv_vmask) 0)
/* Whether a plain store may replace a masked one. */
#define FV_VMASK_FULL(m) ((m) >= 4)

#define fv_vzero() vdupq_n_f32 (0.0f)
#define fv_vset1(x) vdupq_n_f32 (x)
#define fv_vload(p) vld1q_f32 (p)
/* VL half floats, widened exactly. */
#define fv_vload_f16(p) \
  vcvt_f32_f16 (vreinterpret_f16_u16 (vld1_u16 (p)))
#define fv_vloadu(p) vld1q_f32 (p)
#define fv_vstoreu(p, v) vst1q_f32 ((p), (v))
#define fv_vadd(a, b) vaddq_f32 ((a), (b))
#define fv_vfmadd(a, b, c) vfmaq_f32 ((c), (a), (b))
/* NaN semantics differ from the x86 max; the kernels feed it no NaN. */
#define fv_vmax(a, b) vmaxq_f32 ((a), (b))

/* Lanes [0, n) of p, the others zero; reads nothing past p + n. */
FV_INLINE fv_vf
fv_vload_mask (const float *p, fv_vmask n)
{
  const float32x4_t z = vdupq_n_f32 (0.0f);

  if (__builtin_expect (n >= 4, 1))
    return vld1q_f32 (p);
  if (n >= 2) {
    const float32x2_t lo = vld1_f32 (p);
    const float32x2_t hi = n == 3 ? vld1_lane_f32 (p + 2, vdup_n_f32 (0.0f),
        0) : vdup_n_f32 (0.0f);
    return vcombine_f32 (lo, hi);
  }
  return n == 1 ? vld1q_lane_f32 (p, z, 0) : z;
}

/* Stores lanes [0, n) of v; writes nothing past p + n. */
FV_INLINE void
fv_vstore_mask (float *p, fv_vmask n, fv_vf v)
{
  if (__builtin_expect (n >= 4, 1)) {
    vst1q_f32 (p, v);
  } else if (n >= 2) {
    vst1_f32 (p, vget_low_f32 (v));
    if (n == 3)
      vst1q_lane_f32 (p + 2, v, 2);
  } else if (n == 1) {
    vst1q_lane_f32 (p, v, 0);
  }
}

/* v >= 0 ? v : v * alpha, with NaN taking the product, as in scalar. */
FV_INLINE fv_vf
fv_vprelu (fv_vf v, fv_vf alpha)
{
  return vbslq_f32 (vcgeq_f32 (v, vdupq_n_f32 (0.0f)), v, vmulq_f32 (v, alpha));
}

/* [sum a, sum b, sum c, sum d], for fv_vstore4. */
FV_INLINE float32x4_t
fv_vhsum4 (fv_vf a, fv_vf b, fv_vf c, fv_vf d)
{
  return vpaddq_f32 (vpaddq_f32 (a, b), vpaddq_f32 (c, d));
}

#define fv_vstore4(p, v) vst1q_f32 ((p), (v))
#define fv_vhsum(a) vaddvq_f32 (a)

#endif /* FV_SIMD_F32_NEON_H */
