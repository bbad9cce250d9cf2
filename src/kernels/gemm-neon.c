/* AArch64 Advanced SIMD GEMM for 1x1 convolutions and fully connected
 * layers. An 8x8 tile keeps 16 accumulators, 8 A vectors (4 k steps of
 * 8 rows) and 2 weight vectors in the 32 vector registers; A is
 * broadcast by lane (fmla by element), so A needs no packing. The bias is
 * the accumulator's initial value, as in the scalar kernel, so the sums
 * are formed in the same order. */
#include "fv-kernels.h"

#include "neon.h"

#define NR 8                    /* panels of 8 output channels */

static FV_ALWAYS_INLINE void
store_row (const FvGemmParams * p, size_t m, size_t col0, size_t ncols,
    float32x4_t lo, float32x4_t hi)
{
  float *c = p->c + m * p->c_stride + col0;

  if (p->alpha) {
    lo = fv_neon_prelu (lo, vld1q_f32 (p->alpha + col0));
    hi = fv_neon_prelu (hi, vld1q_f32 (p->alpha + col0 + 4));
  }
  if (ncols == NR) {
    if (p->res) {
      const float *r = p->res + m * p->res_stride + col0;
      lo = vaddq_f32 (lo, vld1q_f32 (r));
      hi = vaddq_f32 (hi, vld1q_f32 (r + 4));
    }
    vst1q_f32 (c, lo);
    vst1q_f32 (c + 4, hi);
  } else {
    /* Last panel: neither c nor res extends past column n. */
    float tmp[NR];
    vst1q_f32 (tmp, lo);
    vst1q_f32 (tmp + 4, hi);
    if (p->res) {
      const float *r = p->res + m * p->res_stride + col0;
      for (size_t j = 0; j < ncols; j++)
        c[j] = tmp[j] + r[j];
    } else {
      for (size_t j = 0; j < ncols; j++)
        c[j] = tmp[j];
    }
  }
}

/* Rows [m, m + mr) with mr <= MR; MR is a constant at every call, so the
 * register arrays below are fully unrolled. Rows past mr repeat the last
 * row and are not stored. */
static FV_ALWAYS_INLINE void
gemm_tile (const FvGemmParams * p, size_t m, size_t mr, const int MR)
{
  const size_t k = p->k;
  const size_t panels = (p->n + NR - 1) / NR;
  const float *a[8];

#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
    a[i] = p->a + (m + ((size_t) i < mr ? (size_t) i : mr - 1)) * p->a_stride;

  for (size_t pn = 0; pn < panels; pn++) {
    const float *w = p->w + pn * NR * (k + 1);
    const size_t col0 = pn * NR;
    const size_t ncols = p->n - col0 < NR ? p->n - col0 : NR;
    float32x4_t lo[8], hi[8];
    size_t kk = 0;

    {
      const float32x4_t blo = vld1q_f32 (w), bhi = vld1q_f32 (w + 4);
#pragma GCC unroll 8
      for (int i = 0; i < MR; i++) {
        lo[i] = blo;
        hi[i] = bhi;
      }
    }
    w += NR;

    for (; kk + 4 <= k; kk += 4, w += 4 * NR) {
      float32x4_t va[8];
      float32x4_t wl, wh;

#pragma GCC unroll 8
      for (int i = 0; i < MR; i++)
        va[i] = vld1q_f32 (a[i] + kk);

#define FV_GEMM_STEP(l)                                                 \
      wl = vld1q_f32 (w + (l) * NR);                                    \
      wh = vld1q_f32 (w + (l) * NR + 4);                                \
      _Pragma ("GCC unroll 8")                                          \
      for (int i = 0; i < MR; i++) {                                    \
        lo[i] = vfmaq_laneq_f32 (lo[i], wl, va[i], (l));                \
        hi[i] = vfmaq_laneq_f32 (hi[i], wh, va[i], (l));                \
      }
      FV_GEMM_STEP (0);
      FV_GEMM_STEP (1);
      FV_GEMM_STEP (2);
      FV_GEMM_STEP (3);
#undef FV_GEMM_STEP
    }
    for (; kk < k; kk++, w += NR) {
      const float32x4_t wl = vld1q_f32 (w), wh = vld1q_f32 (w + 4);
#pragma GCC unroll 8
      for (int i = 0; i < MR; i++) {
        const float32x4_t va = vld1q_dup_f32 (a[i] + kk);
        lo[i] = vfmaq_f32 (lo[i], wl, va);
        hi[i] = vfmaq_f32 (hi[i], wh, va);
      }
    }

#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
      if ((size_t) i < mr)
        store_row (p, m + i, col0, ncols, lo[i], hi[i]);
  }
}

void
fv_f32_gemm_ukernel_8x8__neon (const FvGemmParams * p, size_t m0, size_t m1)
{
  size_t m = m0;

  for (; m + 8 <= m1; m += 8)
    gemm_tile (p, m, 8, 8);
  /* The rest with the smallest tile that holds it: a fully connected
   * layer on one image has a single row. */
  switch (m1 - m) {
    case 0:
      break;
    case 1:
      gemm_tile (p, m, 1, 1);
      break;
    case 2:
      gemm_tile (p, m, 2, 2);
      break;
    case 3:
    case 4:
      gemm_tile (p, m, m1 - m, 4);
      break;
    default:
      gemm_tile (p, m, m1 - m, 8);
      break;
  }
}
