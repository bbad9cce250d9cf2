/* AArch64 Advanced SIMD depthwise convolution with fused bias and PReLU.
 * The 3x3 kernel walks one output row per channel block of 8 (then 4)
 * with the 9 tap weights, bias and slopes held in registers; the generic
 * kernel (the 7x7 global depthwise, any size) loads weights per tap in
 * blocks of 16 channels. Channels past the last multiple of 4 are done
 * one at a time: rows are dense (stride c), so a vector load there could
 * run past the end of the tensor. Taps outside the image are skipped,
 * as in the scalar kernel, so the sums are formed in the same order. */
#include "fv-kernels.h"
#include "clip.h"

#include "neon.h"

/* Output channels [ch, c) of one pixel, one channel at a time. */
static void
dw_tail_pixel (const FvDwconvParams * p, const float *in, float *out,
    ptrdiff_t iy0, ptrdiff_t ix0, size_t ch)
{
  const size_t c = p->c;
  const size_t ky0 = fv_clip_lo (iy0), ky1 = fv_clip_hi (iy0, p->kh, p->in_h);
  const size_t kx0 = fv_clip_lo (ix0), kx1 = fv_clip_hi (ix0, p->kw, p->in_w);

  for (; ch < c; ch++) {
    float acc = p->bias[ch];
    for (size_t ky = ky0; ky < ky1; ky++) {
      const size_t iy = (size_t) (iy0 + (ptrdiff_t) ky);
      for (size_t kx = kx0; kx < kx1; kx++) {
        const size_t ix = (size_t) (ix0 + (ptrdiff_t) kx);
        acc += in[(iy * p->in_w + ix) * c + ch]
            * p->w[(ky * p->kw + kx) * p->c_pad + ch];
      }
    }
    if (p->alpha && !(acc >= 0.0f))
      acc *= p->alpha[ch];
    out[ch] = acc;
  }
}

/* ---- generic size ------------------------------------------------- */

/* Channels [ch, ch + 4 * NV) of one pixel; taps [ky0, ky1) x [kx0, kx1)
 * are inside the image. */
static FV_ALWAYS_INLINE void
dw_any_block (const FvDwconvParams * p, const float *in, float *out,
    ptrdiff_t iy0, ptrdiff_t ix0, size_t ky0, size_t ky1, size_t kx0,
    size_t kx1, size_t ch, const int NV)
{
  const size_t c = p->c, c_pad = p->c_pad;
  float32x4_t acc[4];

#pragma GCC unroll 4
  for (int v = 0; v < NV; v++)
    acc[v] = vld1q_f32 (p->bias + ch + 4 * v);
  for (size_t ky = ky0; ky < ky1; ky++) {
    const float *s = in + ((size_t) (iy0 + (ptrdiff_t) ky) * p->in_w
        + (size_t) (ix0 + (ptrdiff_t) kx0)) * c + ch;
    const float *w = p->w + (ky * p->kw + kx0) * c_pad + ch;
    for (size_t kx = kx0; kx < kx1; kx++, s += c, w += c_pad) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++)
        acc[v] = vfmaq_f32 (acc[v], vld1q_f32 (s + 4 * v),
            vld1q_f32 (w + 4 * v));
    }
  }
  if (p->alpha) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      acc[v] = fv_neon_prelu (acc[v], vld1q_f32 (p->alpha + ch + 4 * v));
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; v++)
    vst1q_f32 (out + ch + 4 * v, acc[v]);
}

void
fv_f32_dwconv_ukernel_c16__neon (const FvDwconvParams * p, size_t r0, size_t r1)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * c, p->stride_h, p->pad_top);
    const float *in = kr.in;
    float *out = kr.out;
    const ptrdiff_t iy0 = kr.iy0;
    const size_t ky0 = fv_clip_lo (iy0);
    const size_t ky1 = fv_clip_hi (iy0, p->kh, p->in_h);

    for (size_t ox = 0; ox < p->out_w; ox++, out += c) {
      const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
          - (ptrdiff_t) p->pad_left;
      const size_t kx0 = fv_clip_lo (ix0);
      const size_t kx1 = fv_clip_hi (ix0, p->kw, p->in_w);
      size_t ch = 0;

      for (; ch + 16 <= c; ch += 16)
        dw_any_block (p, in, out, iy0, ix0, ky0, ky1, kx0, kx1, ch, 4);
      for (; ch + 4 <= c; ch += 4)
        dw_any_block (p, in, out, iy0, ix0, ky0, ky1, kx0, kx1, ch, 1);
      dw_tail_pixel (p, in, out, iy0, ix0, ch);
    }
  }
}

/* ---- 3x3 ---------------------------------------------------------- */

/* Channels [ch, ch + 4 * NV) of one output row. rows[ky] is input row
 * iy0 + ky, or NULL outside the image. */
static FV_ALWAYS_INLINE void
dw3x3_row_block (const FvDwconvParams * p, const float *const rows[3],
    float *out, size_t ch, const int NV)
{
  const size_t c = p->c, c_pad = p->c_pad;
  const ptrdiff_t in_w = (ptrdiff_t) p->in_w;
  float32x4_t w[9][2], bias[2], alpha[2];

#pragma GCC unroll 9
  for (int t = 0; t < 9; t++) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
      w[t][v] = vld1q_f32 (p->w + (size_t) (t) * c_pad + ch + 4 * v);
  }
#pragma GCC unroll 2
  for (int v = 0; v < NV; v++) {
    bias[v] = vld1q_f32 (p->bias + ch + 4 * v);
    alpha[v] = p->alpha ? vld1q_f32 (p->alpha + ch + 4 * v) : bias[v];
  }

  out += ch;
  for (size_t ox = 0; ox < p->out_w; ox++, out += c) {
    const ptrdiff_t ix0 = (ptrdiff_t) (ox * p->stride_w)
        - (ptrdiff_t) p->pad_left;
    float32x4_t acc[2];

#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
      acc[v] = bias[v];
    if (ix0 >= 0 && ix0 + 3 <= in_w) {
#pragma GCC unroll 3
      for (int ky = 0; ky < 3; ky++) {
        const float *s;
        if (!rows[ky])
          continue;
        s = rows[ky] + (size_t) ix0 *c + ch;
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
#pragma GCC unroll 2
          for (int v = 0; v < NV; v++)
            acc[v] = vfmaq_f32 (acc[v], vld1q_f32 (s + (size_t) (kx) * c
                    + 4 * v), w[ky * 3 + kx][v]);
        }
      }
    } else {
#pragma GCC unroll 3
      for (int ky = 0; ky < 3; ky++) {
        if (!rows[ky])
          continue;
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
          const ptrdiff_t ix = ix0 + kx;
          const float *s;
          if (ix < 0 || ix >= in_w)
            continue;
          s = rows[ky] + (size_t) ix *c + ch;
#pragma GCC unroll 2
          for (int v = 0; v < NV; v++)
            acc[v] = vfmaq_f32 (acc[v], vld1q_f32 (s + 4 * v),
                w[ky * 3 + kx][v]);
        }
      }
    }
    if (p->alpha) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++)
        acc[v] = fv_neon_prelu (acc[v], alpha[v]);
    }
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
      vst1q_f32 (out + 4 * v, acc[v]);
  }
}

void
fv_f32_dwconv3x3_prelu_ukernel_c8__neon (const FvDwconvParams * p, size_t r0,
    size_t r1)
{
  const size_t c = p->c;
  const size_t in_image = p->in_h * p->in_w * c;

  if (p->kh != 3 || p->kw != 3) {
    fv_f32_dwconv_ukernel_c16__neon (p, r0, r1);
    return;
  }

  for (size_t r = r0; r < r1; r++) {
    const FvKernelRow kr = fv_kernel_row (p->in, p->out, r, p->out_h,
        in_image, p->out_w * c, p->stride_h, p->pad_top);
    const float *in = kr.in;
    float *out = kr.out;
    const ptrdiff_t iy0 = kr.iy0;
    const float *rows[3];
    size_t ch = 0;

    for (int ky = 0; ky < 3; ky++) {
      const ptrdiff_t iy = iy0 + ky;
      rows[ky] = iy >= 0 && iy < (ptrdiff_t) p->in_h
          ? in + (size_t) iy *p->in_w * c : NULL;
    }
    for (; ch + 8 <= c; ch += 8)
      dw3x3_row_block (p, rows, out, ch, 2);
    for (; ch + 4 <= c; ch += 4)
      dw3x3_row_block (p, rows, out, ch, 1);
    if (ch < c)
      for (size_t ox = 0; ox < p->out_w; ox++)
        dw_tail_pixel (p, in, out + ox * c, iy0,
            (ptrdiff_t) (ox * p->stride_w) - (ptrdiff_t) p->pad_left, ch);
  }
}
