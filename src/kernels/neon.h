/* What the AArch64 Advanced SIMD kernels (<family>-neon.c) share: forced
 * inlining of their tile functions and the PReLU epilogue. */
#ifndef FV_KERNELS_NEON_H
#define FV_KERNELS_NEON_H

#include <arm_neon.h>

#if defined(__GNUC__)
#define FV_ALWAYS_INLINE inline __attribute__ ((always_inline))
#else
#define FV_ALWAYS_INLINE inline
#endif

/* v >= 0 ? v : v * alpha, with NaN taking the product, as in scalar. */
static FV_ALWAYS_INLINE float32x4_t
fv_neon_prelu (float32x4_t v, float32x4_t alpha)
{
  return vbslq_f32 (vcgeq_f32 (v, vdupq_n_f32 (0.0f)), v, vmulq_f32 (v, alpha));
}

#endif /* FV_KERNELS_NEON_H */
