/* AArch64 Advanced SIMD direct convolution (the stem and the MTCNN
 * layers) with fused bias and PReLU. A tile is 4 output pixels of a row
 * by 16 output channels: 16 accumulators, each weight vector used for 4
 * pixels. For a fixed kernel row, the taps (kx, ic) are contiguous both
 * in the input row and in the packed weights, so one loop covers them.
 * Pixels whose taps leave the image horizontally are done one at a time
 * with the tap range clipped, as the scalar kernel skips them; the sums
 * are formed in the same order. */
#include "fv-kernels.h"
#include "clip.h"

#include "neon.h"

/* Stores lanes [0, n) of v, n <= 4 (n may be 0 or negative: nothing). */
static FV_ALWAYS_INLINE void
store_partial (float *out, float32x4_t v, ptrdiff_t n)
{
  if (n >= 4) {
    vst1q_f32 (out, v);
    return;
  }
  if (n >= 2) {
    vst1_f32 (out, vget_low_f32 (v));
    if (n == 3)
      vst1q_lane_f32 (out + 2, v, 2);
  } else if (n == 1) {
    vst1q_lane_f32 (out, v, 0);
  }
}

/* NP pixels of one output row, starting at input column ix0 and then
 * every stride_w, output channels [ob, ob + 4 * NV). Kernel rows
 * [ky0, ky1) and columns [kx0, kx1) are inside the image. */
static FV_ALWAYS_INLINE void
conv_tile (const FvConvParams * p, const float *in, float *out,
    ptrdiff_t iy0, size_t ky0, size_t ky1, ptrdiff_t ix0, size_t kx0,
    size_t kx1, size_t ob, const int NP, const int NV)
{
  const size_t in_c = p->in_c, oc_pad = p->oc_pad;
  const size_t taps = (kx1 - kx0) * in_c;
  float32x4_t acc[4][4];

#pragma GCC unroll 4
  for (int v = 0; v < NV; v++) {
    const float32x4_t b = vld1q_f32 (p->bias + ob + 4 * v);
#pragma GCC unroll 4
    for (int px = 0; px < NP; px++)
      acc[px][v] = b;
  }

  for (size_t ky = ky0; ky < ky1; ky++) {
    const float *s = in + ((size_t) (iy0 + (ptrdiff_t) ky) * p->in_w
        + (size_t) (ix0 + (ptrdiff_t) kx0)) * in_c;
    const float *w = p->w + (ky * p->kw + kx0) * in_c * oc_pad + ob;
    const size_t px_step = p->stride_w * in_c;

    for (size_t t = 0; t < taps; t++, w += oc_pad) {
      float32x4_t wv[4];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++)
        wv[v] = vld1q_f32 (w + 4 * v);
#pragma GCC unroll 4
      for (int px = 0; px < NP; px++) {
        const float x = s[px * px_step + t];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
          acc[px][v] = vfmaq_n_f32 (acc[px][v], wv[v], x);
      }
    }
  }

  if (p->alpha) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      const float32x4_t a = vld1q_f32 (p->alpha + ob + 4 * v);
#pragma GCC unroll 4
      for (int px = 0; px < NP; px++)
        acc[px][v] = fv_neon_prelu (acc[px][v], a);
    }
  }

  if (ob + 4 * NV <= p->out_c) {
#pragma GCC unroll 4
    for (int px = 0; px < NP; px++) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++)
        vst1q_f32 (out + px * p->out_c + ob + 4 * v, acc[px][v]);
    }
  } else {
#pragma GCC unroll 4
    for (int px = 0; px < NP; px++) {
      float *o = out + px * p->out_c + ob;
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++)
        store_partial (o + 4 * v, acc[px][v],
            (ptrdiff_t) p->out_c - (ptrdiff_t) (ob + 4 * v));
    }
  }
}

void
fv_f32_conv_prelu_ukernel_4x16__neon (const FvConvParams * p, size_t r0,
    size_t r1)
{
  const size_t in_image = p->in_h * p->in_w * p->in_c;
  /* Packed weights, bias and slopes are padded to oc_pad >= this. */
  const size_t oc4 = (p->out_c + 3) & ~(size_t) 3;
  const ptrdiff_t in_w = (ptrdiff_t) p->in_w;
  const ptrdiff_t sw = (ptrdiff_t) p->stride_w;

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * p->out_c, p->stride_h, p->pad_top);
    const float *in = kr.in;
    float *out = kr.out;
    const ptrdiff_t iy0 = kr.iy0;
    const size_t ky0 = fv_clip_lo (iy0);
    const size_t ky1 = fv_clip_hi (iy0, p->kh, p->in_h);
    size_t ox = 0;

    while (ox < p->out_w) {
      const ptrdiff_t ix0 = (ptrdiff_t) ox * sw - (ptrdiff_t) p->pad_left;
      float *o = out + ox * p->out_c;
      size_t ob = 0;

      if (ox + 4 <= p->out_w && ix0 >= 0
          && ix0 + 3 * sw + (ptrdiff_t) p->kw <= in_w) {
        for (; ob + 16 <= oc4; ob += 16)
          conv_tile (p, in, o, iy0, ky0, ky1, ix0, 0, p->kw, ob, 4, 4);
        for (; ob < oc4; ob += 4)
          conv_tile (p, in, o, iy0, ky0, ky1, ix0, 0, p->kw, ob, 4, 1);
        ox += 4;
      } else {
        const size_t kx0 = fv_clip_lo (ix0);
        size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);
        if (kx1 < kx0)
          kx1 = kx0;
        for (; ob + 16 <= oc4; ob += 16)
          conv_tile (p, in, o, iy0, ky0, ky1, ix0, kx0, kx1, ob, 1, 4);
        for (; ob < oc4; ob += 4)
          conv_tile (p, in, o, iy0, ky0, ky1, ix0, kx0, kx1, ob, 1, 1);
        ox += 1;
      }
    }
  }
}
